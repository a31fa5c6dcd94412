"""A small reader of the kernel's BTF (/sys/kernel/btf/vmlinux): struct member offsets and enums.

Probes read kernel structs at offsets taken from here, never from the installed headers
(which may belong to another kernel). Types are indexed in one pass over the type section;
a struct's members are decoded only when asked for.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

VMLINUX_BTF = Path("/sys/kernel/btf/vmlinux")
BTF_MAGIC = 0xEB9F

# BTF_KIND_* numbers (include/uapi/linux/btf.h) that this reader looks into
INT, PTR, ARRAY, STRUCT, UNION, ENUM, FWD, TYPEDEF = 1, 2, 3, 4, 5, 6, 7, 8
VOLATILE, CONST, RESTRICT, FUNC, FUNC_PROTO, VAR, DATASEC = 9, 10, 11, 12, 13, 14, 15
FLOAT, DECL_TAG, TYPE_TAG, ENUM64 = 16, 17, 18, 19
_MODIFIERS = {TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG}
_TYPE_HEAD = struct.Struct("<II")  # name_off, info
# bytes that follow the 12-byte btf_type header: fixed part, and per-vlen item
_EXTRA = {INT: (4, 0), ARRAY: (12, 0), STRUCT: (0, 12), UNION: (0, 12), ENUM: (0, 8),
          FUNC_PROTO: (0, 8), VAR: (4, 0), DATASEC: (0, 12), DECL_TAG: (4, 0), ENUM64: (0, 12)}


class BtfError(Exception):
    """BTF is missing, malformed, or lacks a type or member a probe needs."""


@dataclass(frozen=True)
class Member:
    name: str
    type_id: int
    bit_offset: int
    bitfield_size: int


@dataclass(frozen=True)
class FieldInfo:
    """Where a member path lives inside its outer struct: byte offset and size in bytes."""

    offset: int
    size: int


class Btf:
    """Parsed BTF blob. `offsetof("sk_buff", "dev")`, `enum("skb_drop_reason")`."""

    def __init__(self, blob: bytes) -> None:
        if len(blob) < 24:
            raise BtfError("BTF blob is too short")
        magic, _version, _flags, hdr_len = struct.unpack_from("<HBBI", blob, 0)
        if magic != BTF_MAGIC:
            raise BtfError("not a BTF blob (bad magic); is this a big-endian file?")
        type_off, type_len, str_off, str_len = struct.unpack_from("<IIII", blob, 8)
        self._blob = blob
        self._types_at = hdr_len + type_off
        self._strs_at = hdr_len + str_off
        self._strs_end = self._strs_at + str_len
        self._offsets: list[int] = [0]  # type id -> byte offset of its btf_type; id 0 is void
        self._by_name: dict[tuple[int, int], list[int]] = {}
        self._index(self._types_at, self._types_at + type_len)

    @classmethod
    def from_file(cls, path: Path = VMLINUX_BTF) -> Btf:
        try:
            return cls(path.read_bytes())
        except FileNotFoundError:
            raise BtfError(f"{path} is missing: this kernel was built without BTF "
                           "(CONFIG_DEBUG_INFO_BTF)") from None
        except PermissionError:
            raise BtfError(f"cannot read {path}: run netscope as root") from None

    def _index(self, pos: int, end: int) -> None:
        # the hot loop of attaching (126k types on 6.18): locals and a table, no lookups
        blob, unpack = self._blob, _TYPE_HEAD.unpack_from
        offsets, by_name = self._offsets, self._by_name
        append = offsets.append
        sizes = [(0, 0)] * 32
        for kind, extra in _EXTRA.items():
            sizes[kind] = extra
        named = {STRUCT, UNION, ENUM, ENUM64, TYPEDEF}
        type_id = 0
        while pos < end:
            name_off, info = unpack(blob, pos)
            kind = (info >> 24) & 0x1F
            append(pos)
            type_id += 1
            if name_off and kind in named:
                by_name.setdefault((kind, name_off), []).append(type_id)
            fixed, per = sizes[kind]
            pos += 12 + fixed + per * (info & 0xFFFF)

    def _str(self, off: int) -> str:
        end = self._blob.index(b"\0", self._strs_at + off)
        return self._blob[self._strs_at + off:end].decode()

    def _name_off(self, name: str) -> int | None:
        needle = b"\0" + name.encode() + b"\0"
        at = self._blob.find(needle, self._strs_at, self._strs_end)
        while at != -1:
            off = at + 1 - self._strs_at
            if any((k, off) in self._by_name for k in (STRUCT, UNION, ENUM, ENUM64, TYPEDEF)):
                return off
            at = self._blob.find(needle, at + 1, self._strs_end)
        return None

    def _header(self, type_id: int) -> tuple[int, int, int, int]:
        """(kind, vlen, kind_flag, size_or_type) of a type id."""
        _name_off, info, size_or_type = struct.unpack_from("<III", self._blob,
                                                          self._offsets[type_id])
        return (info >> 24) & 0x1F, info & 0xFFFF, info >> 31, size_or_type

    def find(self, name: str, kinds: tuple[int, ...] = (STRUCT, UNION)) -> int:
        """Type id of the first type of one of `kinds` called `name`."""
        off = self._name_off(name)
        for kind in kinds:
            ids = self._by_name.get((kind, off)) if off is not None else None
            if ids:
                return ids[0]
        raise BtfError(f"kernel BTF has no type named {name!r}")

    def members(self, type_id: int) -> list[Member]:
        kind, vlen, kind_flag, _size = self._header(type_id)
        if kind not in (STRUCT, UNION):
            raise BtfError(f"BTF type {type_id} is not a struct or union")
        out = []
        pos = self._offsets[type_id] + 12
        for _ in range(vlen):
            name_off, mtype, offset = struct.unpack_from("<III", self._blob, pos)
            bits, size = (offset & 0xFFFFFF, offset >> 24) if kind_flag else (offset, 0)
            out.append(Member(self._str(name_off) if name_off else "", mtype, bits, size))
            pos += 12
        return out

    def resolve(self, type_id: int) -> int:
        """Strip typedefs and qualifiers."""
        while True:
            kind, _vlen, _kf, ref = self._header(type_id)
            if kind not in _MODIFIERS:
                return type_id
            type_id = ref

    def sizeof(self, type_id: int) -> int:
        type_id = self.resolve(type_id)
        kind, _vlen, _kf, size = self._header(type_id)
        if kind in (INT, STRUCT, UNION, ENUM, ENUM64, FLOAT):
            return size
        if kind == PTR:
            return 8
        if kind == ARRAY:
            elem, _index, nelems = struct.unpack_from("<III", self._blob,
                                                      self._offsets[type_id] + 12)
            return self.sizeof(elem) * nelems
        raise BtfError(f"BTF type {type_id} (kind {kind}) has no size")

    def _member(self, type_id: int, name: str) -> tuple[int, int, int] | None:
        """(bit offset, type id, bitfield size) of `name` in a struct, looking through
        anonymous members."""
        for m in self.members(type_id):
            if m.name == name:
                return m.bit_offset, m.type_id, m.bitfield_size
        for m in self.members(type_id):
            inner = self.resolve(m.type_id)
            if not m.name and self._header(inner)[0] in (STRUCT, UNION):
                found = self._member(inner, name)
                if found:
                    return m.bit_offset + found[0], found[1], found[2]
        return None

    def field(self, struct_name: str, path: str) -> FieldInfo:
        """Offset and size of a dotted member path, e.g. field("net", "ns.inum")."""
        type_id = self.find(struct_name)
        bits = bitfield = 0
        for part in path.split("."):
            found = self._member(type_id, part)
            if found is None:
                raise BtfError(f"kernel struct {struct_name} has no member {path!r}")
            bits += found[0]
            type_id, bitfield = self.resolve(found[1]), found[2]
        if bits % 8 or bitfield:
            raise BtfError(f"{struct_name}.{path} is a bitfield; probes cannot read it")
        return FieldInfo(bits // 8, self.sizeof(type_id))

    def offsetof(self, struct_name: str, path: str) -> int:
        return self.field(struct_name, path).offset

    def enum(self, name: str) -> dict[int, str]:
        """Values of an enum (value -> enumerator name)."""
        type_id = self.find(name, (ENUM, ENUM64))
        kind, vlen, kind_flag, _size = self._header(type_id)
        pos = self._offsets[type_id] + 12
        out = {}
        for _ in range(vlen):
            if kind == ENUM:
                name_off, value = struct.unpack_from("<I" + ("i" if kind_flag else "I"),
                                                     self._blob, pos)
                pos += 8
            else:
                name_off, lo, hi = struct.unpack_from("<III", self._blob, pos)
                value = (hi << 32) | lo
                pos += 12
            out[value] = self._str(name_off)
        return out

    def has_typedef(self, name: str) -> bool:
        """True when a typedef called `name` exists (e.g. btf_trace_<tracepoint>)."""
        try:
            self.find(name, (TYPEDEF,))
        except BtfError:
            return False
        return True

"""The BTF reader: member offsets through anonymous structs/unions and typedefs, enums, and
clear errors; checked on a hand-built blob and, when readable, on this kernel's BTF."""

from __future__ import annotations

import os
import struct

import pytest

from netscope.trace.btf import (
    ARRAY,
    ENUM,
    ENUM64,
    INT,
    PTR,
    STRUCT,
    TYPEDEF,
    UNION,
    VMLINUX_BTF,
    Btf,
    BtfError,
)
from netscope.trace.kernel_names import reasons_from_btf
from netscope.trace.offsets import PROBE_OFFSETS, probe_offsets


class BlobBuilder:
    """Writes a little-endian BTF blob: types are added in id order starting at 1."""

    def __init__(self) -> None:
        self.strings = b"\0"
        self.types = b""

    def name(self, text: str) -> int:
        if not text:
            return 0
        off = len(self.strings)
        self.strings += text.encode() + b"\0"
        return off

    def add(self, kind: int, name: str, vlen: int, size_or_type: int, extra: bytes = b"",
            kind_flag: int = 0) -> None:
        info = (kind_flag << 31) | (kind << 24) | vlen
        self.types += struct.pack("<III", self.name(name), info, size_or_type) + extra

    def members(self, members, kind_flag=0) -> bytes:
        out = b""
        for name, type_id, bits, bitsize in members:
            offset = (bitsize << 24 | bits) if kind_flag else bits
            out += struct.pack("<III", self.name(name), type_id, offset)
        return out

    def blob(self) -> bytes:
        header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(self.types),
                             len(self.types), len(self.strings))
        return header + self.types + self.strings


@pytest.fixture(scope="module")
def small_btf() -> Btf:
    b = BlobBuilder()
    b.add(INT, "unsigned int", 0, 4, struct.pack("<I", 32))              # 1
    b.add(INT, "unsigned short", 0, 2, struct.pack("<I", 16))            # 2
    b.add(TYPEDEF, "u32", 0, 1)                                          # 3
    # 4: struct inner { u32 inum; }
    b.add(STRUCT, "inner", 1, 4, b.members([("inum", 3, 0, 0)]))
    # 5: union { struct inner ns; u16 alias; } (anonymous)
    b.add(UNION, "", 2, 4, b.members([("ns", 4, 0, 0), ("alias", 2, 0, 0)]))
    b.add(PTR, "", 0, 4)                                                 # 6: struct inner *
    b.add(ARRAY, "", 0, 0, struct.pack("<III", 2, 1, 3))                 # 7: u16[3]
    # 8: struct outer { u16 a; u16 flags:3 (bitfield); <anon union> @32; inner *p @64; u16 arr[3] }
    b.add(STRUCT, "outer", 5, 24, b.members([("a", 2, 0, 0), ("flags", 2, 16, 3),
                                             ("", 5, 32, 0), ("p", 6, 64, 0),
                                             ("arr", 7, 128, 0)], kind_flag=1), kind_flag=1)
    b.add(ENUM, "colour", 2, 4, struct.pack("<IiIi", b.name("RED"), 2, b.name("BLUE"), -1),
          kind_flag=1)                                                   # 9
    b.add(ENUM64, "big", 1, 8, struct.pack("<III", b.name("HUGE"), 1, 1))  # 10
    return Btf(b.blob())


def test_offsets_go_through_anonymous_unions_and_typedefs(small_btf):
    assert small_btf.field("outer", "ns.inum").offset == 4
    assert small_btf.field("outer", "ns.inum").size == 4
    assert small_btf.field("outer", "alias").offset == 4
    assert small_btf.field("outer", "p").size == 8
    assert small_btf.field("outer", "arr").size == 6


def test_bitfields_and_missing_members_are_clear_errors(small_btf):
    with pytest.raises(BtfError, match="bitfield"):
        small_btf.field("outer", "flags")
    with pytest.raises(BtfError, match="no member 'nope'"):
        small_btf.field("outer", "nope")
    with pytest.raises(BtfError, match="no type named 'missing'"):
        small_btf.field("missing", "x")


def test_enums_signed_and_64_bit(small_btf):
    assert small_btf.enum("colour") == {2: "RED", -1: "BLUE"}
    assert small_btf.enum("big") == {(1 << 32) | 1: "HUGE"}


def test_not_btf_is_refused():
    with pytest.raises(BtfError, match="bad magic"):
        Btf(b"\0" * 64)


needs_vmlinux = pytest.mark.skipif(not os.access(VMLINUX_BTF, os.R_OK),
                                   reason="no readable /sys/kernel/btf/vmlinux")


@needs_vmlinux
def test_this_kernel_gives_every_offset_the_probes_read():
    btf = Btf.from_file()
    offsets = probe_offsets(btf)
    assert set(offsets) == set(PROBE_OFFSETS)
    # head and data are neighbouring pointers in every sk_buff layout
    assert offsets["OFF_SKB_DATA"] == offsets["OFF_SKB_HEAD"] + 8


@needs_vmlinux
def test_this_kernel_names_its_drop_reasons():
    names = reasons_from_btf(Btf.from_file())
    assert names[2] == "NOT_SPECIFIED" and "NETFILTER_DROP" in names.values()

"""A read-only reader of bbolt (BoltDB) files: containerd's metadata store and Podman's state.

Runtimes keep what their APIs answer in these files (containerd's container labels in
`io.containerd.metadata.v1.bolt/meta.db`, Podman's containers, pods and port mappings in
`libpod/bolt_state.db`), so a host whose runtime is stopped, hung or misconfigured still
names its workloads. The file is read without bbolt's lock (the runtime holds it for as long as
it runs): bbolt writes copy-on-write pages and then one of its two meta pages, so the meta page
with the highest transaction id whose checksum holds points at a complete tree. A file changed
between that meta page and the pages read raises BoltError; the caller says so.

Layout (bbolt's page.go/db.go): a page starts with `id u64, flags u16, count u16, overflow
u32`; pages 0 and 1 are meta pages; a branch page holds `count` elements `pos u32, ksize u32,
pgid u64`, a leaf page `flags u32, pos u32, ksize u32, vsize u32`, `pos` counted from the
element itself; a leaf element with the bucket flag is a sub-bucket whose value starts with
`root pgid u64, sequence u64`, and root 0 means the bucket's page is inline in that value.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

MAGIC = 0xED0CDAED
PAGE_HEADER = struct.Struct("<QHHI")  # id, flags, count, overflow
# magic, version, page size, flags, root bucket (root pgid, sequence), freelist, pgid, txid,
# checksum (FNV-1a 64 of everything before it)
META = struct.Struct("<IIII QQ QQQ Q")
BRANCH_ELEMENT = struct.Struct("<IIQ")
LEAF_ELEMENT = struct.Struct("<IIII")
BUCKET_HEADER = struct.Struct("<QQ")
BRANCH_PAGE, LEAF_PAGE, META_PAGE = 0x01, 0x02, 0x04
BUCKET_LEAF = 0x01
MAX_DEPTH = 64  # a B+tree this deep is a corrupt file, not data
MAX_FILE = 1 << 30

FNV_OFFSET, FNV_PRIME = 0xCBF29CE484222325, 0x100000001B3


class BoltError(Exception):
    """The file is not a bbolt database, or changed while it was read (message says which)."""


def _fnv64a(data: bytes) -> int:
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


class Bucket:
    """A bucket: `values()` yields its (key, value) pairs, `bucket(name)` a sub-bucket."""

    def __init__(self, db: BoltFile, root: int, inline: bytes | None) -> None:
        self._db, self._root, self._inline = db, root, inline

    def _leaf_elements(self) -> Iterator[tuple[int, bytes, bytes]]:
        if self._inline is not None:
            yield from self._db.leaf(self._inline, 0, None)
        else:
            yield from self._db.walk(self._root, 0)

    def items(self) -> Iterator[tuple[bytes, bytes | Bucket]]:
        """Every key in order, with its value (bytes) or its sub-bucket."""
        for flags, key, value in self._leaf_elements():
            if flags & BUCKET_LEAF:
                yield key, self._db.sub_bucket(value)
            else:
                yield key, value

    def values(self) -> dict[bytes, bytes]:
        """The plain key/value pairs (sub-buckets left out)."""
        return {k: v for k, v in self.items() if isinstance(v, bytes)}

    def buckets(self) -> dict[bytes, Bucket]:
        """The sub-buckets by name."""
        return {k: v for k, v in self.items() if isinstance(v, Bucket)}

    def bucket(self, *path: bytes) -> Bucket | None:
        """The sub-bucket at `path` (names, outermost first), or None."""
        here: Bucket | None = self
        for name in path:
            if here is None:
                return None
            found = next((v for k, v in here.items() if k == name), None)
            here = found if isinstance(found, Bucket) else None
        return here

    def get(self, key: bytes) -> bytes | None:
        return next((v for k, v in self.items() if k == key and isinstance(v, bytes)), None)


class BoltFile:
    """A bbolt file read into memory; `root` is its top-level bucket."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        meta = self._newest_meta()
        self.page_size = meta[2]
        self.root = Bucket(self, meta[4], None)

    @classmethod
    def open(cls, path: str) -> BoltFile:
        """Read the file at `path`. Raises OSError, or BoltError for a file that is not bbolt."""
        with open(path, "rb") as f:
            data = f.read(MAX_FILE + 1)
        if len(data) > MAX_FILE:
            raise BoltError(f"{path} is larger than {MAX_FILE >> 20} MiB: not read")
        try:
            return cls(data)
        except BoltError as e:
            raise BoltError(f"{path}: {e}") from None

    def _newest_meta(self) -> tuple:
        if len(self.data) < PAGE_HEADER.size + META.size:
            raise BoltError("too short to be a bbolt file")
        metas = []
        first = META.unpack_from(self.data, PAGE_HEADER.size)
        page_size = first[2] if first[0] == MAGIC else 4096
        for page in (0, 1):
            offset = page * page_size + PAGE_HEADER.size
            if offset + META.size > len(self.data):
                continue
            meta = META.unpack_from(self.data, offset)
            checksum = _fnv64a(self.data[offset:offset + META.size - 8])
            if meta[0] == MAGIC and meta[9] == checksum and meta[2] >= 512:
                metas.append(meta)
        if not metas:
            raise BoltError("no valid meta page (not a bbolt file, or corrupt)")
        return max(metas, key=lambda m: m[8])

    def _page(self, pgid: int) -> tuple[int, int, int]:
        """(offset, flags, count) of page `pgid`."""
        offset = pgid * self.page_size
        if pgid < 2 or offset + PAGE_HEADER.size > len(self.data):
            raise BoltError(f"page {pgid} is outside the file (it changed while being read)")
        page_id, flags, count, _overflow = PAGE_HEADER.unpack_from(self.data, offset)
        if page_id != pgid:
            raise BoltError(f"page {pgid} says it is page {page_id} (changed while being read)")
        return offset, flags, count

    def walk(self, pgid: int, depth: int) -> Iterator[tuple[int, bytes, bytes]]:
        """The leaf elements (flags, key, value) under page `pgid`, in key order."""
        if depth > MAX_DEPTH:
            raise BoltError("tree deeper than any real database: corrupt")
        offset, flags, count = self._page(pgid)
        if flags & LEAF_PAGE:
            yield from self.leaf(self.data, offset, count)
        elif flags & BRANCH_PAGE:
            for i in range(count):
                at = offset + PAGE_HEADER.size + i * BRANCH_ELEMENT.size
                _pos, _ksize, child = BRANCH_ELEMENT.unpack_from(self.data, at)
                yield from self.walk(child, depth + 1)
        else:
            raise BoltError(f"page {pgid} is neither a branch nor a leaf (flags {flags:#x})")

    @staticmethod
    def leaf(buf: bytes, offset: int, count: int | None) -> Iterator[tuple[int, bytes, bytes]]:
        """The elements of the leaf page at `offset` in `buf` (`count` None: read it there)."""
        if count is None:
            if len(buf) < offset + PAGE_HEADER.size:
                raise BoltError("an inline bucket is truncated")
            _id, _flags, count, _overflow = PAGE_HEADER.unpack_from(buf, offset)
        for i in range(count):
            at = offset + PAGE_HEADER.size + i * LEAF_ELEMENT.size
            flags, pos, ksize, vsize = LEAF_ELEMENT.unpack_from(buf, at)
            start = at + pos
            if start + ksize + vsize > len(buf):
                raise BoltError("a leaf element runs past its page (changed while being read)")
            yield flags, buf[start:start + ksize], buf[start + ksize:start + ksize + vsize]

    def sub_bucket(self, value: bytes) -> Bucket:
        if len(value) < BUCKET_HEADER.size:
            raise BoltError("a bucket header is truncated")
        root, _sequence = BUCKET_HEADER.unpack_from(value, 0)
        if root == 0:
            return Bucket(self, 0, value[BUCKET_HEADER.size:])
        return Bucket(self, root, None)

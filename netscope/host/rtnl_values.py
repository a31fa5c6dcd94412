"""Values decoded from rtnetlink payloads, remembered by their bytes.

At 1,000 namespaces most payloads are the same few hundred byte strings over and over (the
loopback's link message, the default policy rules, a container's default route, the
per-interface sysctl arrays): decoding each distinct one once, and looking it up afterwards,
is the cheapest parse there is. Every cache is bounded; one that fills up starts again
(what recurs is back after one miss). Keys are exact bytes, so a hit is always right.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from typing import TypeVar

AF_INET, AF_INET6 = socket.AF_INET, socket.AF_INET6
U16, U32, S32, BE16 = (struct.Struct(f) for f in ("=H", "=I", "=i", ">H"))
CACHE_SIZE = 16384

K = TypeVar("K")
V = TypeVar("V")


class Memo(dict[K, V]):
    """A bounded dict that decodes what it misses: memo.get(key) or memo.decoded(key, fn)."""

    def decoded(self, key: K, decode: Callable[[K], V]) -> V:
        value = decode(key)
        if len(self) >= CACHE_SIZE:
            self.clear()
        self[key] = value
        return value


_text: Memo[bytes, str] = Memo()
_ips: Memo[bytes, str] = Memo()


def _decode_text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode(errors="replace")


def _decode_ip(raw: bytes) -> str:
    return socket.inet_ntop(AF_INET if len(raw) == 4 else AF_INET6, raw)


def cstr(raw: bytes) -> str:
    """A NUL-terminated string attribute."""
    return _text.get(raw) or _text.decoded(raw, _decode_text)


def ip(raw: bytes) -> str:
    """An IPv4 or IPv6 address attribute, as text."""
    return _ips.get(raw) or _ips.decoded(raw, _decode_ip)


def mac(raw: bytes) -> str:
    return raw.hex(":")


def u32(raw: bytes) -> int:
    return U32.unpack_from(raw)[0]


class Flags:
    """The names of the bits set in a flag word, in table order, one shared tuple per value:
    `iff_names = Flags(IFF_FLAGS)`, then `iff_names(flags)`."""

    def __init__(self, table: tuple[tuple[int, str], ...]) -> None:
        self.table = table
        self._names: Memo[int, tuple[str, ...]] = Memo()

    def _decode(self, value: int) -> tuple[str, ...]:
        return tuple(name for bit, name in self.table if value & bit)

    def __call__(self, value: int) -> tuple[str, ...]:
        names = self._names.get(value)
        return names if names is not None else self._names.decoded(value, self._decode)

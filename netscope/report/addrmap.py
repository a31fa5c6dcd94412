"""Keyed, consistent replacement of IP and MAC addresses for redaction.

`AddressMap` maps an IPv4/IPv6 address to another one so that the topology keeps its meaning:

- it is a bijection, and prefix-preserving down to every network the snapshot knows: two
  addresses share exactly as many leading bits after mapping as before (Crypto-PAn style:
  bit i is flipped by a keyed function of bits 0..i-1), so subnet membership, longest-prefix
  route matching and rule CIDR matches give the same answers;
- the class is kept: RFC 1918, CGNAT (100.64/10), link-local (169.254/16, fe80::/64), ULA
  (fc00::/7), documentation and benchmark ranges (the IANA special-purpose blocks) stay
  inside their block (their leading bits are never flipped), and public addresses stay
  public (a path that left every such block is never steered back into one);
- below the deepest known network of an address ("host territory") the host part is
  permuted by a keyed affine map that fixes all-zeros and all-ones, so network and broadcast
  addresses stay network and broadcast addresses, and EUI-64 interface ids are scrambled;
- a known network that is a whole class block (192.0.2.0/24 ...) keeps its network and
  broadcast address, as there is nothing else they could become;
- loopback, unspecified, multicast, 0/8 and 240/4 (netmasks, 255.255.255.255) are kept:
  they identify nothing and are protocol constants.

Address ranges ("a-b") are mapped end by end; which addresses fall inside may change.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math

_V4_KEPT = ("0.0.0.0/8", "127.0.0.0/8", "224.0.0.0/4", "240.0.0.0/4")
# the IANA special-purpose blocks (what Python's ipaddress calls private), plus CGNAT
_V4_CLASS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16",
             "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15", "198.51.100.0/24",
             "203.0.113.0/24")
_V6_KEPT = ("::/128", "::1/128", "ff00::/8")
_V6_CLASS = ("fc00::/7", "fe80::/64", "fe80::/10", "::ffff:0:0/96", "64:ff9b::/96",
             "100::/64", "2001::/23", "2001:db8::/32")


def _blocks(texts) -> list[tuple[int, int]]:
    """(prefix length, prefix value) of each CIDR."""
    out = []
    for text in texts:
        net = ipaddress.ip_network(text)
        out.append((net.prefixlen, int(net.network_address) >> (net.max_prefixlen - net.prefixlen)))
    return out


class _Family:
    """The map for one address family (32 or 128 bits)."""

    def __init__(self, bits: int, key: bytes, kept: tuple[str, ...], classes: tuple[str, ...],
                 networks: set[tuple[int, int]]) -> None:
        self.bits = bits
        self.key = key
        self.kept = _blocks(kept)
        self.known = networks
        # proper prefixes of a class or kept block: never flipped, so classes are kept
        self.class_paths = {(i, value >> (length - i))
                            for length, value in _blocks(kept) + _blocks(classes)
                            for i in range(length)}
        # proper prefixes of known networks: still network bits, flipped by the keyed function
        self.known_paths = {(i, value >> (length - i)) for length, value in networks
                            for i in range(length)}
        self._flips: dict[tuple[int, int], int] = {}
        self._cache: dict[int, int] = {}

    def _prf(self, *parts: int) -> int:
        data = b"/".join(str(p).encode() for p in parts)
        return int.from_bytes(hashlib.blake2b(data, key=self.key, digest_size=16).digest(), "big")

    def _flip(self, i: int, prefix: int) -> int:
        got = self._flips.get((i, prefix))
        if got is None:
            got = self._flips[(i, prefix)] = self._prf(self.bits, i, prefix) & 1
        return got

    def _host_perm(self, i: int, prefix: int, host: int) -> int:
        """A keyed bijection of the host part (bits i..) fixing all-zeros and all-ones."""
        width = self.bits - i
        n = (1 << width) - 2
        if n <= 1 or host in (0, n + 1):
            return host
        seed = self._prf(self.bits, i, prefix, 0xB0575)
        m = (seed >> 64) | 1
        while math.gcd(m, n) != 1:
            m += 2
        return ((host - 1) * m + seed % n) % n + 1

    def is_kept(self, a: int) -> bool:
        return any(a >> (self.bits - length) == value for length, value in self.kept)

    def map(self, a: int) -> int:
        got = self._cache.get(a)
        if got is not None:
            return got
        bits = self.bits
        if self.is_kept(a):
            self._cache[a] = a
            return a
        out, deepest = 0, None
        for i in range(bits):
            prefix = a >> (bits - i)
            if i and (i, prefix) in self.known:
                deepest = i
            bit = (a >> (bits - 1 - i)) & 1
            if (i, prefix) in self.class_paths:
                out = (out << 1) | bit
                continue
            if deepest is not None and (i, prefix) not in self.known_paths:
                host = a & ((1 << (bits - i)) - 1)
                out = (out << (bits - i)) | self._host_perm(i, prefix, host)
                break
            out = (out << 1) | (bit ^ self._flip(i, prefix))
        self._cache[a] = out
        return out


class AddressMap:
    """Maps address and CIDR strings; build it with every network the snapshot mentions."""

    def __init__(self, key: bytes, networks: set[str]) -> None:
        known: dict[int, set[tuple[int, int]]] = {4: set(), 6: set()}
        for text in networks:
            net = ipaddress.ip_network(text, strict=False)
            if 0 < net.prefixlen < net.max_prefixlen:
                shift = net.max_prefixlen - net.prefixlen
                known[net.version].add((net.prefixlen, int(net.network_address) >> shift))
        self.v4 = _Family(32, key[:32] + b"4", _V4_KEPT, _V4_CLASS, known[4])
        self.v6 = _Family(128, key[:32] + b"6", _V6_KEPT, _V6_CLASS, known[6])

    def is_kept(self, text: str) -> bool:
        """Loopback, unspecified, multicast ...: addresses that map to themselves."""
        addr = ipaddress.ip_address(text)
        fam = self.v4 if addr.version == 4 else self.v6
        return fam.is_kept(int(addr))

    def address(self, text: str) -> str:
        """The replacement of one address ("10.0.0.2", "fe80::1")."""
        addr = ipaddress.ip_address(text)
        fam = self.v4 if addr.version == 4 else self.v6
        return str(type(addr)(fam.map(int(addr))))

    def cidr(self, text: str) -> str:
        """The replacement of "address/len": a network maps to the image network (host bits
        zero), an interface address to the image address with the same length."""
        addr_text, length = text.split("/")
        addr = ipaddress.ip_address(addr_text)
        fam = self.v4 if addr.version == 4 else self.v6
        plen = int(length)
        mapped = fam.map(int(addr))
        host_mask = (1 << (fam.bits - plen)) - 1 if plen < fam.bits else 0
        if int(addr) & host_mask == 0:
            mapped &= ~host_mask
        return f"{type(addr)(mapped)}/{plen}"


_KEPT_MACS = {"00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"}


class MacMap:
    """Maps MAC addresses one to one, keeping the multicast and locally-administered bits;
    multicast MACs (protocol constants, or derived from kept multicast IPs) are kept."""

    def __init__(self, key: bytes, avoid: set[str] = frozenset()) -> None:
        self.key = key
        self._map: dict[str, str] = {}
        self._used: set[str] = {m.lower() for m in avoid}  # never produce an original MAC

    def mac(self, text: str) -> str:
        low = text.lower()
        got = self._map.get(low)
        if got is not None:
            return got
        first = int(low[:2], 16)
        if low in _KEPT_MACS or first & 1:
            self._map[low] = low
            return low
        counter = 0
        while True:
            raw = hashlib.blake2b(f"{low}/{counter}".encode(), key=self.key,
                                  digest_size=6).digest()
            octets = [(first & 0x03) | (raw[0] & 0xFC), *raw[1:]]
            got = ":".join(f"{o:02x}" for o in octets)
            if got not in self._used:
                break
            counter += 1
        self._map[low] = got
        self._used.add(got)
        return got

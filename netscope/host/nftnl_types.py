"""What nf_tables bytes mean, as nftables writes them: data types, header fields, meta and
ct keys, and the symbols nft prints for their values.

The tables are nftables' own (src/datatype.c, proto.c, meta.c, ct.c, fib.c of nftables
1.0.x): `nft -j` prints `tcp dport 22`, `ct state established,related`, `ip protocol
icmp`, and the netlink reader (host/nftnl.py) must print the same. Values are decoded from
the kernel's bytes into the JSON values `nft -j` would print.
"""

from __future__ import annotations

import functools
import ipaddress
import socket

BIG, HOST = "big", "little"  # byte orders of values (this reader runs on little-endian CPUs)

# datatype ids (nftables datatype.h) -> names, as sets' "type" prints them
TYPE_NAMES = {
    1: "verdict", 2: "nf_proto", 3: "bitmask", 4: "integer", 5: "string", 6: "ll_addr",
    7: "ipv4_addr", 8: "ipv6_addr", 9: "ether_addr", 10: "ether_type", 11: "arp_op",
    12: "inet_proto", 13: "inet_service", 14: "icmp_type", 15: "tcp_flag",
    16: "dccp_pkttype", 17: "mh_type", 18: "time", 19: "mark", 20: "iface_index",
    21: "iface_type", 22: "realm", 23: "classid", 24: "uid", 25: "gid", 26: "ct_state",
    27: "ct_dir", 28: "ct_status", 29: "icmpv6_type", 30: "ct_label", 31: "pkt_type",
    32: "icmp_code", 33: "icmpv6_code", 34: "icmpx_code", 35: "devgroup", 36: "dscp",
    37: "ecn", 38: "fib_addrtype", 39: "boolean", 40: "ct_event", 41: "ifname",
    42: "igmp_type", 43: "time", 44: "hour", 45: "day", 46: "cgroupsv2",
}
TYPE_IDS = {name: number for number, name in TYPE_NAMES.items()}
TYPE_BITS = 6  # a concatenation's type id holds one 6-bit id per component
NFT_DATA_VERDICT = 0xFFFFFF00

VERDICT_CODES = {0: "drop", 1: "accept", 2: "stolen", 3: "queue", 4: "repeat",
                 -1: "continue", -2: "break", -3: "jump", -4: "goto", -5: "return"}

ETHER_TYPES = {0x0800: "ip", 0x0806: "arp", 0x86DD: "ip6", 0x8100: "8021q", 0x88A8: "8021ad"}
NFPROTOS = {2: "ipv4", 10: "ipv6"}
CT_STATES = ((1, "invalid"), (2, "established"), (4, "related"), (8, "new"), (64, "untracked"))
CT_STATUS = ((1, "expected"), (2, "seen-reply"), (4, "assured"), (8, "confirmed"),
             (16, "snat"), (32, "dnat"), (512, "dying"))
CT_DIRS = {0: "original", 1: "reply"}
TCP_FLAGS = ((1, "fin"), (2, "syn"), (4, "rst"), (8, "psh"), (16, "ack"), (32, "urg"),
             (64, "ecn"), (128, "cwr"))
FIB_TYPES = ("unspec", "unicast", "local", "broadcast", "anycast", "multicast", "blackhole",
             "unreachable", "prohibit", "throw", "nat", "xresolve")
PKTTYPES = {0: "host", 1: "broadcast", 2: "multicast", 3: "other"}
ICMP_TYPES = {0: "echo-reply", 3: "destination-unreachable", 4: "source-quench",
              5: "redirect", 8: "echo-request", 9: "router-advertisement",
              10: "router-solicitation", 11: "time-exceeded", 12: "parameter-problem",
              13: "timestamp-request", 14: "timestamp-reply", 15: "info-request",
              16: "info-reply", 17: "address-mask-request", 18: "address-mask-reply"}
ICMP6_TYPES = {1: "destination-unreachable", 2: "packet-too-big", 3: "time-exceeded",
               4: "parameter-problem", 128: "echo-request", 129: "echo-reply",
               130: "mld-listener-query", 131: "mld-listener-report",
               132: "mld-listener-done", 133: "nd-router-solicit", 134: "nd-router-advert",
               135: "nd-neighbor-solicit", 136: "nd-neighbor-advert", 137: "nd-redirect",
               138: "router-renumbering", 141: "ind-neighbor-solicit",
               142: "ind-neighbor-advert", 143: "mld2-listener-report"}
ICMP_CODES = {0: "net-unreachable", 1: "host-unreachable", 2: "prot-unreachable",
              3: "port-unreachable", 4: "frag-needed", 9: "net-prohibited",
              10: "host-prohibited", 13: "admin-prohibited"}
ICMP6_CODES = {0: "no-route", 1: "admin-prohibited", 3: "addr-unreachable",
               4: "port-unreachable", 5: "policy-fail", 6: "reject-route"}
ICMPX_CODES = {0: "no-route", 1: "port-unreachable", 2: "host-unreachable",
               3: "admin-prohibited"}

# header fields: (protocol, (offset, length) in bytes) -> (field, datatype)
HEADER_FIELDS: dict[str, dict[tuple[int, int], tuple[str, str]]] = {
    "ether": {(0, 6): ("daddr", "ether_addr"), (6, 6): ("saddr", "ether_addr"),
              (12, 2): ("type", "ether_type")},
    "ip": {(2, 2): ("length", "integer"), (4, 2): ("id", "integer"),
           (6, 2): ("frag-off", "integer"), (8, 1): ("ttl", "integer"),
           (9, 1): ("protocol", "inet_proto"), (10, 2): ("checksum", "integer"),
           (12, 4): ("saddr", "ipv4_addr"), (16, 4): ("daddr", "ipv4_addr")},
    "ip6": {(4, 2): ("length", "integer"), (6, 1): ("nexthdr", "inet_proto"),
            (7, 1): ("hoplimit", "integer"), (8, 16): ("saddr", "ipv6_addr"),
            (24, 16): ("daddr", "ipv6_addr")},
    "arp": {(0, 2): ("htype", "integer"), (2, 2): ("ptype", "ether_type"),
            (4, 1): ("hlen", "integer"), (5, 1): ("plen", "integer"),
            (6, 2): ("operation", "arp_op")},
    "tcp": {(0, 2): ("sport", "inet_service"), (2, 2): ("dport", "inet_service"),
            (4, 4): ("sequence", "integer"), (8, 4): ("ackseq", "integer"),
            (13, 1): ("flags", "tcp_flag"), (14, 2): ("window", "integer"),
            (16, 2): ("checksum", "integer"), (18, 2): ("urgptr", "integer")},
    "udp": {(0, 2): ("sport", "inet_service"), (2, 2): ("dport", "inet_service"),
            (4, 2): ("length", "integer"), (6, 2): ("checksum", "integer")},
    "udplite": {(0, 2): ("sport", "inet_service"), (2, 2): ("dport", "inet_service")},
    "sctp": {(0, 2): ("sport", "inet_service"), (2, 2): ("dport", "inet_service"),
             (4, 4): ("vtag", "integer")},
    "dccp": {(0, 2): ("sport", "inet_service"), (2, 2): ("dport", "inet_service")},
    "icmp": {(0, 1): ("type", "icmp_type"), (1, 1): ("code", "icmp_code"),
             (2, 2): ("checksum", "integer"), (4, 2): ("id", "integer"),
             (6, 2): ("sequence", "integer")},
    "icmpv6": {(0, 1): ("type", "icmpv6_type"), (1, 1): ("code", "icmpv6_code"),
               (2, 2): ("checksum", "integer"), (4, 2): ("id", "integer"),
               (6, 2): ("sequence", "integer")},
    "th": {(0, 2): ("sport", "inet_service"), (2, 2): ("dport", "inet_service")},
}
# transport protocols by number, as their header is named
TRANSPORT = {6: "tcp", 17: "udp", 136: "udplite", 132: "sctp", 33: "dccp", 1: "icmp",
             58: "icmpv6"}
NETWORK = {"ipv4": "ip", "ipv6": "ip6", 0x0800: "ip", 0x86DD: "ip6", 0x0806: "arp"}
FAMILY_NETWORK = {"ip": "ip", "ip6": "ip6", "arp": "arp"}

# meta keys: number -> (name, datatype, length, byte order)
META_KEYS = {
    0: ("length", "integer", 4, HOST), 1: ("protocol", "ether_type", 2, BIG),
    2: ("priority", "classid", 4, HOST), 3: ("mark", "mark", 4, HOST),
    4: ("iif", "iface_index", 4, HOST), 5: ("oif", "iface_index", 4, HOST),
    6: ("iifname", "ifname", 16, HOST), 7: ("oifname", "ifname", 16, HOST),
    8: ("iiftype", "iface_type", 2, HOST), 9: ("oiftype", "iface_type", 2, HOST),
    10: ("skuid", "uid", 4, HOST), 11: ("skgid", "gid", 4, HOST),
    12: ("nftrace", "integer", 1, HOST), 15: ("nfproto", "nf_proto", 1, HOST),
    16: ("l4proto", "inet_proto", 1, HOST), 17: ("ibrname", "ifname", 16, HOST),
    18: ("obrname", "ifname", 16, HOST), 19: ("pkttype", "pkt_type", 1, HOST),
    20: ("cpu", "integer", 4, HOST), 21: ("iifgroup", "devgroup", 4, HOST),
    22: ("oifgroup", "devgroup", 4, HOST), 23: ("cgroup", "integer", 4, HOST),
}
META_MARK, META_NFPROTO, META_L4PROTO, META_PROTOCOL = 3, 15, 16, 1
# ct keys: number -> (name, datatype, length, byte order); addresses depend on the family
CT_KEYS = {
    0: ("state", "ct_state", 4, HOST), 1: ("direction", "ct_dir", 1, HOST),
    2: ("status", "ct_status", 4, HOST), 3: ("mark", "mark", 4, HOST),
    5: ("expiration", "time", 4, HOST), 7: ("l3proto", "nf_proto", 1, HOST),
    10: ("protocol", "inet_proto", 1, HOST), 11: ("proto-src", "inet_service", 2, BIG),
    12: ("proto-dst", "inet_service", 2, BIG), 17: ("zone", "integer", 2, HOST),
}
BITMASK_TYPES = {"ct_state": CT_STATES, "ct_status": CT_STATUS, "tcp_flag": TCP_FLAGS}
FIB_RESULTS = {1: "oif", 2: "oifname", 3: "type"}
FIB_RESULT_TYPES = {1: ("iface_index", 4, HOST), 2: ("ifname", 16, HOST),
                    3: ("fib_addrtype", 4, HOST)}
FIB_FLAGS = ((1, "saddr"), (2, "daddr"), (4, "mark"), (8, "iif"), (16, "oif"))


@functools.cache
def protocol_names() -> dict[int, str]:
    """IP protocol numbers -> the first name /etc/protocols gives (what nft prints)."""
    names: dict[int, str] = {}
    try:
        with open("/etc/protocols", encoding="utf-8", errors="replace") as f:
            for line in f:
                words = line.split("#", 1)[0].split()
                if len(words) >= 2 and words[1].isdigit():
                    names.setdefault(int(words[1]), words[0])
    except OSError:
        pass
    return names


def as_int(raw: bytes, order: str) -> int:
    return int.from_bytes(raw, order)


def flag_list(value: int, table: tuple[tuple[int, str], ...]) -> str | list[str]:
    """nft's bitmask value: one name, or the list of names (unknown bits as a number)."""
    names: list[str | int] = [name for bit, name in table if value & bit]
    rest = value & ~sum(bit for bit, _ in table)
    if rest:
        names.append(rest)
    if len(names) == 1:
        return names[0]  # type: ignore[return-value]
    return names  # type: ignore[return-value]


class Unsupported(ValueError):
    """Bytes this reader does not turn into what nft would print (the caller asks nft)."""


def value_of(dtype: str, raw: bytes, order: str = BIG, ifnames: dict[int, str] | None = None):
    """The JSON value `nft -j` prints for `raw` of type `dtype`."""
    if dtype == "ipv4_addr":
        if len(raw) != 4:
            raise Unsupported(f"ipv4_addr of {len(raw)} bytes")
        return socket.inet_ntop(socket.AF_INET, raw)
    if dtype == "ipv6_addr":
        if len(raw) != 16:
            raise Unsupported(f"ipv6_addr of {len(raw)} bytes")
        return str(ipaddress.IPv6Address(raw))
    if dtype == "ifname":
        text = raw.split(b"\0", 1)[0].decode(errors="replace")
        return text
    if dtype in ("ether_addr", "ll_addr"):
        return raw.hex(":")
    n = as_int(raw, order)
    if dtype == "inet_proto":
        return protocol_names().get(n, n)
    if dtype in ("inet_service", "integer", "mark", "uid", "gid", "devgroup", "classid",
                 "time", "boolean"):
        return n
    if dtype == "ether_type":
        return ETHER_TYPES.get(n, n)
    if dtype == "nf_proto":
        return NFPROTOS.get(n, n)
    if dtype == "ct_dir":
        return CT_DIRS.get(n, n)
    if dtype == "icmp_type":
        return ICMP_TYPES.get(n, n)
    if dtype == "icmpv6_type":
        return ICMP6_TYPES.get(n, n)
    if dtype == "icmp_code":
        return ICMP_CODES.get(n, n)
    if dtype == "icmpv6_code":
        return ICMP6_CODES.get(n, n)
    if dtype == "fib_addrtype":
        return FIB_TYPES[n] if n < len(FIB_TYPES) else n
    if dtype == "pkt_type":
        return PKTTYPES.get(n, n)
    if dtype in BITMASK_TYPES:
        return flag_list(n, BITMASK_TYPES[dtype])
    if dtype == "iface_index":
        if ifnames is None or n not in ifnames:
            raise Unsupported(f"interface index {n} without a name")
        return ifnames[n]
    raise Unsupported(f"values of type {dtype}")


def verdict_json(code: int, chain: str | None) -> dict:
    name = VERDICT_CODES.get(code)
    if name in ("jump", "goto"):
        return {name: {"target": chain}}
    if name is None or name in ("stolen", "repeat", "break"):
        raise Unsupported(f"verdict {code}")
    return {name: None}


@functools.cache
def protocol_numbers() -> dict[str, int]:
    """The inverse of protocol_names(): names nft prints -> protocol numbers."""
    return {name: number for number, name in protocol_names().items()}

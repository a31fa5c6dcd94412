"""rtnetlink messages as declarations: family headers, attribute numbers, and decoders.

Each `dump_*` reads one kind of object from an `RtnlSocket` and returns plain dicts whose keys
are the model's field names, with interfaces still as ifindex numbers (the collectors turn them
into ids). Numbers come from the kernel's uapi headers (linux/rtnetlink.h, if_link.h,
if_addr.h, neighbour.h, fib_rules.h, net_namespace.h).
"""

from __future__ import annotations

import socket
import struct

from netscope.host.netlink import (
    NetlinkError,
    RtnlSocket,
    attr,
    iter_attrs,
    parse_attrs,
)

AF_UNSPEC, AF_INET, AF_BRIDGE, AF_INET6 = 0, 2, 7, 10
FAMILY_NAMES = {AF_INET: "inet", AF_INET6: "inet6", AF_BRIDGE: "bridge"}

RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE = 18, 22, 26
RTM_GETNEIGH, RTM_GETRULE, RTM_GETNETCONF, RTM_GETNSID = 30, 34, 82, 90
NETCONFA_IFINDEX_ALL, NETCONFA_IFINDEX_DEFAULT = -1, -2

IFINFOMSG = struct.Struct("=BxHiII")
IFADDRMSG = struct.Struct("=BBBBI")
RTMSG = struct.Struct("=BBBBBBBBI")
NDMSG = struct.Struct("=BxxxiHBB")
U8, U16, U32, S32 = (struct.Struct(f) for f in ("=B", "=H", "=I", "=i"))
RTNEXTHOP = struct.Struct("=HBBi")

RTEXT_FILTER_SKIP_STATS = 1 << 3

IFF_FLAGS = (
    (0x1, "UP"), (0x2, "BROADCAST"), (0x8, "LOOPBACK"), (0x10, "POINTOPOINT"),
    (0x40, "RUNNING"), (0x80, "NOARP"), (0x100, "PROMISC"), (0x200, "ALLMULTI"),
    (0x400, "MASTER"), (0x800, "SLAVE"), (0x1000, "MULTICAST"), (0x10000, "LOWER_UP"),
    (0x20000, "DORMANT"),
)
OPERSTATES = ("UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP")
BRPORT_STATES = ("disabled", "listening", "learning", "forwarding", "blocking")
SCOPES = {0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere"}
ROUTE_TYPES = ("unspec", "unicast", "local", "broadcast", "anycast", "multicast", "blackhole",
               "unreachable", "prohibit", "throw", "nat", "xresolve")
ROUTE_PROTOCOLS = {0: "unspec", 1: "redirect", 2: "kernel", 3: "boot", 4: "static", 8: "gated",
                   9: "ra", 10: "mrt", 11: "zebra", 12: "bird", 16: "dhcp", 18: "keepalived",
                   42: "babel", 186: "bgp", 187: "isis", 188: "ospf", 189: "rip"}
RULE_ACTIONS = {1: "lookup", 2: "goto", 3: "nop", 6: "blackhole", 7: "unreachable",
                8: "prohibit"}
NUD_STATES = ((0x01, "INCOMPLETE"), (0x02, "REACHABLE"), (0x04, "STALE"), (0x08, "DELAY"),
              (0x10, "PROBE"), (0x20, "FAILED"), (0x40, "NOARP"), (0x80, "PERMANENT"))
NTF_FLAGS = ((0x01, "use"), (0x02, "self"), (0x04, "master"), (0x08, "proxy"),
             (0x10, "extern_learn"), (0x20, "offload"), (0x40, "sticky"), (0x80, "router"))
IFA_FLAGS = ((0x01, "secondary"), (0x02, "nodad"), (0x04, "optimistic"), (0x08, "dadfailed"),
             (0x20, "deprecated"), (0x40, "tentative"), (0x80, "permanent"),
             (0x200, "noprefixroute"))
RTNH_FLAGS = ((0x1, "dead"), (0x4, "onlink"), (0x10, "linkdown"))
MACVLAN_MODES = {1: "private", 2: "vepa", 4: "bridge", 8: "passthru", 16: "source"}
# sysctls carried in IFLA_AF_SPEC: (family attr, conf attr, {array index: sysctl name})
INET_DEVCONF = {0: "forwarding", 2: "proxy_arp", 5: "send_redirects", 7: "rp_filter",
                22: "accept_local", 25: "route_localnet"}
INET6_DEVCONF = {0: "forwarding", 26: "disable_ipv6"}


def flag_names(value: int, table: tuple[tuple[int, str], ...]) -> tuple[str, ...]:
    return tuple(name for bit, name in table if value & bit)


def mac(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def ip(raw: bytes) -> str:
    return socket.inet_ntop(AF_INET if len(raw) == 4 else AF_INET6, raw)


def cstr(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode(errors="replace")


def u32(raw: bytes) -> int:
    return U32.unpack_from(raw)[0]


# ---------------------------------------------------------------- links


def _link_kind_details(kind: str, data: bytes) -> dict[str, str | int | bool | None]:
    a = parse_attrs(data)
    if kind == "vxlan":
        # IFLA_VXLAN_ID 1, GROUP 2, LINK 3, LOCAL 4, PORT 15 (be16), GROUP6 16, LOCAL6 17
        out: dict[str, str | int | bool | None] = {}
        if 1 in a:
            out["vni"] = u32(a[1])
        for key, n in (("remote", 2), ("local", 4), ("remote", 16), ("local", 17)):
            if n in a and any(a[n]):
                out[key] = ip(a[n])
        if 3 in a:
            out["link_ifindex"] = u32(a[3])
        if 15 in a:
            out["dstport"] = struct.unpack(">H", a[15][:2])[0]
        return out
    if kind in ("macvlan", "macvtap", "ipvlan"):
        if 1 in a:
            mode = u32(a[1]) if len(a[1]) >= 4 else U16.unpack_from(a[1])[0]
            if kind == "ipvlan":
                return {"mode": ("l2", "l3", "l3s")[mode] if mode < 3 else str(mode)}
            return {"mode": MACVLAN_MODES.get(mode, str(mode))}
        return {}
    if kind == "bridge":
        # IFLA_BR_FORWARD_DELAY 1, STP_STATE 5, PRIORITY 6, VLAN_FILTERING 7, NF_CALL_IPTABLES 36
        out = {}
        if 5 in a:
            out["stp"] = bool(u32(a[5]))
        if 7 in a:
            out["vlan_filtering"] = bool(a[7][0])
        if 1 in a:
            out["forward_delay"] = u32(a[1])
        if 36 in a:
            out["nf_call_iptables"] = bool(a[36][0])
        return out
    if kind == "tun":
        # IFLA_TUN_TYPE 4 (1 tun, 2 tap), PERSIST 5
        out = {}
        if 4 in a:
            out["type"] = {1: "tun", 2: "tap"}.get(a[4][0], str(a[4][0]))
        if 5 in a:
            out["persist"] = bool(a[5][0])
        return out
    if kind == "vlan":
        return {"vlan_id": U16.unpack_from(a[1])[0]} if 1 in a else {}
    return {}


def _bridge_port(data: bytes) -> dict[str, object]:
    a = parse_attrs(data)
    state = a[1][0] if 1 in a else 0
    port: dict[str, object] = {
        "state": BRPORT_STATES[state] if state < len(BRPORT_STATES) else str(state),
    }
    if 2 in a:
        port["priority"] = U16.unpack_from(a[2])[0]
    if 3 in a:
        port["cost"] = u32(a[3])
    for key, n in (("hairpin", 4), ("learning", 8), ("flood", 9)):
        if n in a:
            port[key] = bool(a[n][0])
    return port


def _af_spec_sysctls(data: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for family, nested in iter_attrs(data):
        if family == AF_INET:
            conf = parse_attrs(nested).get(1)  # IFLA_INET_CONF
            prefix, table, fmt = "ipv4", INET_DEVCONF, "=I"
        elif family == AF_INET6:
            conf = parse_attrs(nested).get(2)  # IFLA_INET6_CONF
            prefix, table, fmt = "ipv6", INET6_DEVCONF, "=i"
        else:
            continue
        if not conf:
            continue
        for index, name in table.items():
            if 4 * index + 4 <= len(conf):
                out[f"{prefix}.{name}"] = str(struct.unpack_from(fmt, conf, 4 * index)[0])
    return out


def dump_links(sock: RtnlSocket) -> list[dict]:
    """Every interface: name, kind, state, flags, mtu, mac, master, peer pointers, details."""
    links = []
    header = IFINFOMSG.pack(AF_UNSPEC, 0, 0, 0, 0)
    ext_mask = attr(29, U32.pack(RTEXT_FILTER_SKIP_STATS))  # IFLA_EXT_MASK
    for body in sock.dump(RTM_GETLINK, header, ext_mask):
        _family, arphrd, ifindex, flags, _ = IFINFOMSG.unpack_from(body)
        a = parse_attrs(body, IFINFOMSG.size)
        kind, details, port = None, {}, None
        if 18 in a:  # IFLA_LINKINFO
            info = parse_attrs(a[18])
            if 1 in info:
                kind = cstr(info[1])
                if 2 in info:
                    details = _link_kind_details(kind, info[2])
            if 4 in info and cstr(info[4]) == "bridge" and 5 in info:
                port = _bridge_port(info[5])
        if kind is None:
            kind = "loopback" if flags & 0x8 else "device"
        operstate = a[16][0] if 16 in a else 0
        links.append({
            "ifindex": ifindex,
            "name": cstr(a[3]) if 3 in a else f"if{ifindex}",
            "kind": kind,
            "arphrd": arphrd,
            "operstate": OPERSTATES[operstate] if operstate < len(OPERSTATES) else "UNKNOWN",
            "flags": flag_names(flags, IFF_FLAGS),
            "mtu": u32(a[4]) if 4 in a else 0,
            "mac": mac(a[1]) if 1 in a and len(a[1]) == 6 else None,
            "master": u32(a[10]) if 10 in a else None,
            "alias": cstr(a[20]) if 20 in a else None,
            "link": S32.unpack_from(a[5])[0] if 5 in a else None,
            "link_netnsid": S32.unpack_from(a[37])[0] if 37 in a else None,
            "details": details,
            "bridge_port": port,
            "sysctls": _af_spec_sysctls(a[26]) if 26 in a else {},
        })
    return links


# ---------------------------------------------------------------- addresses


def dump_addrs(sock: RtnlSocket) -> list[dict]:
    """Every IPv4/IPv6 address with its prefix length, scope, label and flags."""
    out = []
    for body in sock.dump(RTM_GETADDR, IFADDRMSG.pack(AF_UNSPEC, 0, 0, 0, 0)):
        family, plen, flags8, scope, ifindex = IFADDRMSG.unpack_from(body)
        a = parse_attrs(body, IFADDRMSG.size)
        flags = u32(a[8]) if 8 in a else flags8  # IFA_FLAGS
        local, address = a.get(2), a.get(1)
        primary = local or address
        if primary is None:
            continue
        out.append({
            "family": FAMILY_NAMES.get(family, str(family)),
            "ifindex": ifindex,
            "address": ip(primary),
            "prefixlen": plen,
            "scope": SCOPES.get(scope, str(scope)),
            "label": cstr(a[3]) if 3 in a else None,
            "flags": flag_names(flags, IFA_FLAGS),
            "peer": ip(address) if local and address and local != address else None,
            "broadcast": ip(a[4]) if 4 in a else None,
        })
    return out


# ---------------------------------------------------------------- routes


def _nexthops(raw: bytes, family: int) -> list[dict]:
    hops, off = [], 0
    while off + RTNEXTHOP.size <= len(raw):
        length, flags, hops_weight, ifindex = RTNEXTHOP.unpack_from(raw, off)
        if length < RTNEXTHOP.size:
            break
        a = parse_attrs(raw, off + RTNEXTHOP.size, off + length)
        hops.append({"gateway": ip(a[5]) if 5 in a else None, "ifindex": ifindex,
                     "weight": hops_weight + 1, "flags": flag_names(flags, RTNH_FLAGS)})
        off += (length + 3) & ~3
    return hops


def dump_routes(sock: RtnlSocket) -> list[dict]:
    """Every IPv4 and IPv6 route in every table (main, local, and any other), in one dump."""
    out = []
    for body in sock.dump(RTM_GETROUTE, RTMSG.pack(AF_UNSPEC, 0, 0, 0, 0, 0, 0, 0, 0)):
        family, dst_len, _src_len, tos, table, proto, scope, rtype, flags = RTMSG.unpack_from(body)
        if family not in (AF_INET, AF_INET6):  # multicast routing, MPLS ...
            continue
        zero = "0.0.0.0" if family == AF_INET else "::"
        a = parse_attrs(body, RTMSG.size)
        if 15 in a:  # RTA_TABLE carries ids above 255
            table = u32(a[15])
        if 9 in a:
            nexthops = _nexthops(a[9], family)
        else:
            nexthops = [{"gateway": ip(a[5]) if 5 in a else None,
                         "ifindex": u32(a[4]) if 4 in a else None, "weight": 1,
                         "flags": flag_names(flags & 0xFF, RTNH_FLAGS)}]
            if nexthops[0]["gateway"] is None and nexthops[0]["ifindex"] is None:
                nexthops = []
        mtu = None
        if 8 in a:
            metrics = parse_attrs(a[8])
            if 2 in metrics:  # RTAX_MTU
                mtu = u32(metrics[2])
        out.append({
            "family": FAMILY_NAMES[family],
            "table": table,
            "type": ROUTE_TYPES[rtype] if rtype < len(ROUTE_TYPES) else str(rtype),
            "dst": f"{ip(a[1]) if 1 in a else zero}/{dst_len}",
            "protocol": ROUTE_PROTOCOLS.get(proto, str(proto)),
            "scope": SCOPES.get(scope, str(scope)),
            "metric": u32(a[6]) if 6 in a else None,
            "prefsrc": ip(a[7]) if 7 in a else None,
            "tos": tos,
            "nexthops": nexthops,
            "mtu": mtu,
        })
    return out


# ---------------------------------------------------------------- policy rules


def dump_rules(sock: RtnlSocket) -> list[dict]:
    """Every IPv4 and IPv6 policy-routing rule, each family in the kernel's priority order."""
    out = []
    for body in sock.dump(RTM_GETRULE, RTMSG.pack(AF_UNSPEC, 0, 0, 0, 0, 0, 0, 0, 0)):
        family, dst_len, src_len, tos, table, _r1, _r2, action, flags = RTMSG.unpack_from(body)
        if family not in (AF_INET, AF_INET6):
            continue
        a = parse_attrs(body, RTMSG.size)
        out.append({
            "family": FAMILY_NAMES[family],
            "priority": u32(a[6]) if 6 in a else 0,
            "action": RULE_ACTIONS.get(action, str(action)),
            "table": u32(a[15]) if 15 in a else (table or None),
            "src": f"{ip(a[2])}/{src_len}" if 2 in a else None,
            "dst": f"{ip(a[1])}/{dst_len}" if 1 in a else None,
            "iif": cstr(a[3]) if 3 in a else None,
            "oif": cstr(a[17]) if 17 in a else None,
            "fwmark": u32(a[10]) if 10 in a else None,
            "fwmask": u32(a[16]) if 16 in a else None,
            "tos": tos,
            "invert": bool(flags & 0x2),
            "goto": u32(a[4]) if 4 in a else None,
            "l3mdev": bool(a[19][0]) if 19 in a else False,
        })
    return out


# ---------------------------------------------------------------- neighbours and FDB


def dump_neighbours(sock: RtnlSocket, family: int = AF_UNSPEC) -> list[dict]:
    """ARP/NDP entries (AF_UNSPEC), or bridge/vxlan forwarding entries (AF_BRIDGE)."""
    out = []
    for body in sock.dump(RTM_GETNEIGH, NDMSG.pack(family, 0, 0, 0, 0)):
        fam, ifindex, state, flags, _ntype = NDMSG.unpack_from(body)
        a = parse_attrs(body, NDMSG.size)
        if family == AF_BRIDGE:
            if fam != AF_BRIDGE or 2 not in a:
                continue
            out.append({
                "ifindex": ifindex,
                "mac": mac(a[2]),
                "master": u32(a[9]) if 9 in a else None,
                "vlan": U16.unpack_from(a[5])[0] if 5 in a else None,
                "state": "permanent" if state & 0x80 else ("static" if state & 0x40 else ""),
                "flags": flag_names(flags, NTF_FLAGS),
                "dst": ip(a[1]) if 1 in a else None,
            })
            continue
        if fam not in (AF_INET, AF_INET6) or 1 not in a:
            continue
        out.append({
            "family": FAMILY_NAMES[fam],
            "ifindex": ifindex,
            "address": ip(a[1]),
            "lladdr": mac(a[2]) if 2 in a and len(a[2]) == 6 else None,
            "state": flag_names(state, NUD_STATES) or ("NONE",),
            "flags": flag_names(flags, NTF_FLAGS),
        })
    return out


# ---------------------------------------------------------------- netconf


NETCONF_ATTRS = {2: "forwarding", 3: "rp_filter", 5: "proxy_neigh"}


def dump_netconf(sock: RtnlSocket) -> dict[tuple[str, int], dict[str, int]]:
    """Forwarding/rp_filter per (family, ifindex); ifindex -1 is `all`, -2 is `default`.

    Reading these over netlink avoids /proc/sys, whose per-namespace lookups cost ~25 us each.
    """
    out: dict[tuple[str, int], dict[str, int]] = {}
    for body in sock.dump(RTM_GETNETCONF, struct.pack("=Bxxx", AF_UNSPEC)):
        family = body[0]
        if family not in (AF_INET, AF_INET6):
            continue
        a = parse_attrs(body, 4)
        if 1 not in a:
            continue
        values = {name: S32.unpack_from(a[n])[0] for n, name in NETCONF_ATTRS.items() if n in a}
        out[(FAMILY_NAMES[family], S32.unpack_from(a[1])[0])] = values
    return out


# ---------------------------------------------------------------- namespace ids


def get_nsid(sock: RtnlSocket, ns_fd: int) -> int | None:
    """The id the socket's namespace uses for the namespace behind `ns_fd`, or None.

    Read-only: the kernel answers -1 (None here) rather than allocating an id.
    """
    header = struct.pack("=Bxxx", AF_UNSPEC)
    try:
        # NETNSA_FD = 3; a plain request (no dump flag) answered by one RTM_NEWNSID
        for _, body in sock.request(RTM_GETNSID, header, attr(3, U32.pack(ns_fd)), flags=0):
            a = parse_attrs(body, 4)
            if 1 in a:  # NETNSA_NSID
                nsid = S32.unpack_from(a[1])[0]
                return nsid if nsid >= 0 else None
    except NetlinkError:
        return None
    return None

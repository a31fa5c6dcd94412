"""rtnetlink dumps decoded straight into model objects: addresses, routes, policy rules,
neighbours and FDB entries (links: rtnl_links), plus netconf and namespace ids.

Attribute numbers come from the declarations in `netscope.host.rtnl_attrs`. Each message is
decoded once per distinct byte string into a namespace-free template (rtnl_values.Memo), and
only the attributes a model field needs are copied out of it (`wanted_attrs`): at 1,000
namespaces the default rules, a container's routes and the loopback's addresses recur in
every namespace, byte for byte. Model objects are made with `made.maker()`, which skips the
frozen dataclass's per-field __setattr__.
"""

from __future__ import annotations

from netscope.host.netlink import NetlinkError, RtnlSocket, attr, parse_attrs, wanted_attrs
from netscope.host.rtnl_attrs import (
    AF_BRIDGE,
    AF_INET,
    AF_INET6,
    AF_UNSPEC,
    FIB_RULE_INVERT,
    FRA,
    IFA,
    IFA_FLAGS,
    IFADDRMSG,
    NDA,
    NDMSG,
    NETCONFA,
    NETNSA,
    NTF_FLAGS,
    NUD_NOARP,
    NUD_PERMANENT,
    NUD_STATES,
    ROUTE_PROTOCOLS,
    ROUTE_TYPES,
    RTA,
    RTAX,
    RTGENMSG,
    RTM_GETADDR,
    RTM_GETNEIGH,
    RTM_GETNETCONF,
    RTM_GETNSID,
    RTM_GETROUTE,
    RTM_GETRULE,
    RTMSG,
    RTNEXTHOP,
    RTNH_FLAGS,
    RULE_ACTIONS,
    SCOPES,
)
from netscope.host.rtnl_links import PEER_KINDS, dump_links, get_links
from netscope.host.rtnl_values import S32, U16, U32, Flags, Memo, cstr, ip, mac, u32
from netscope.model import Address, FdbEntry, Neighbour, Nexthop, Route, Rule
from netscope.model.made import maker

__all__ = ["PEER_KINDS", "dump_addrs", "dump_fdb", "dump_links", "dump_neighbours",
           "dump_netconf", "dump_routes", "dump_rules", "get_links", "get_nsid"]

FAMILY_NAMES = {AF_INET: "inet", AF_INET6: "inet6", AF_BRIDGE: "bridge"}
NETCONF_ATTRS = {NETCONFA.FORWARDING: "forwarding", NETCONFA.RP_FILTER: "rp_filter",
                 NETCONFA.PROXY_NEIGH: "proxy_neigh"}

_new_address, _new_route, _new_rule = maker(Address), maker(Route), maker(Rule)
_new_neighbour, _new_fdb, _new_nexthop = maker(Neighbour), maker(FdbEntry), maker(Nexthop)
_ifa_names, _rtnh_names = Flags(IFA_FLAGS), Flags(RTNH_FLAGS)
_nud_names, _ntf_names = Flags(NUD_STATES), Flags(NTF_FLAGS)


# ---------------------------------------------------------------- addresses


_ADDR_ATTRS = frozenset({IFA.ADDRESS, IFA.LOCAL, IFA.LABEL, IFA.BROADCAST, IFA.FLAGS})
_ADDR_REQUEST = IFADDRMSG.pack(AF_UNSPEC, 0, 0, 0, 0)
_addresses: Memo[bytes, tuple | None] = Memo()


def _address(body: bytes) -> tuple | None:
    """(ifindex, id tail, family, address, prefixlen, scope, label, flags, peer, broadcast)."""
    family, plen, flags8, scope, ifindex = IFADDRMSG.unpack_from(body)
    a = wanted_attrs(body, IFADDRMSG.size, len(body), _ADDR_ATTRS)
    local, address = a.get(IFA.LOCAL), a.get(IFA.ADDRESS)
    primary = local or address
    if primary is None:
        return None
    text = ip(primary)
    raw = a.get(IFA.FLAGS)
    label, broadcast = a.get(IFA.LABEL), a.get(IFA.BROADCAST)
    return (ifindex, f"{ifindex}/{text}/{plen}", FAMILY_NAMES.get(family, str(family)), text,
            plen, SCOPES.get(scope, str(scope)), cstr(label) if label else None,
            _ifa_names(u32(raw) if raw else flags8),
            ip(address) if local and address and local != address else None,
            ip(broadcast) if broadcast else None)


def dump_addrs(sock: RtnlSocket, inode: int) -> list[Address]:
    """Every IPv4/IPv6 address with its prefix length, scope, label and flags.

    Ids are `addr:<inode>/<ifindex>/<address>/<prefixlen>`."""
    netns = f"ns:{inode}"
    out = []
    get = _addresses.get
    for body in sock.dump(RTM_GETADDR, _ADDR_REQUEST):
        t = get(body, False)
        if t is False:
            t = _addresses.decoded(body, _address)
        if t is None:
            continue
        out.append(_new_address(f"addr:{inode}/{t[1]}", netns, f"link:{inode}/{t[0]}",
                                *t[2:]))
    return out


# ---------------------------------------------------------------- routes


def _nexthop_specs(raw: bytes) -> tuple[tuple, ...]:
    """(gateway, ifindex or None, weight, flags) of each hop of an RTA_MULTIPATH."""
    hops, off = [], 0
    while off + RTNEXTHOP.size <= len(raw):
        length, flags, hops_weight, ifindex = RTNEXTHOP.unpack_from(raw, off)
        if length < RTNEXTHOP.size:
            break
        a = parse_attrs(raw, off + RTNEXTHOP.size, off + length)
        gateway = a.get(RTA.GATEWAY)
        hops.append((ip(gateway) if gateway else None, ifindex if ifindex > 0 else None,
                     hops_weight + 1, _rtnh_names(flags)))
        off += (length + 3) & ~3
    return tuple(hops)


_ROUTE_ATTRS = frozenset({RTA.DST, RTA.OIF, RTA.GATEWAY, RTA.PRIORITY, RTA.PREFSRC,
                          RTA.METRICS, RTA.MULTIPATH, RTA.TABLE})
_ROUTE_REQUEST = RTMSG.pack(AF_UNSPEC, 0, 0, 0, 0, 0, 0, 0, 0)
_ZERO = {AF_INET: "0.0.0.0", AF_INET6: "::"}
_routes: Memo[bytes, tuple | None] = Memo()


def _route(body: bytes) -> tuple | None:
    """(id tail, hop specs, family, table, type, dst, protocol, scope, metric, prefsrc, tos,
    mtu), or None for what is not an IPv4/IPv6 route (multicast routing, MPLS ...)."""
    family, dst_len, _src_len, tos, table, proto, scope, rtype, flags = RTMSG.unpack_from(body)
    if family not in _ZERO:
        return None
    a = wanted_attrs(body, RTMSG.size, len(body), _ROUTE_ATTRS)
    get = a.get
    raw = get(RTA.TABLE)
    if raw:  # RTA_TABLE carries ids above 255
        table = u32(raw)
    raw = get(RTA.MULTIPATH)
    if raw:
        hops = _nexthop_specs(raw)
    else:
        gateway, oif = get(RTA.GATEWAY), get(RTA.OIF)
        ifindex = u32(oif) if oif else 0
        hops = ((ip(gateway) if gateway else None, ifindex if ifindex > 0 else None, 1,
                 _rtnh_names(flags & 0xFF)),) if gateway or oif else ()
    mtu = None
    raw = get(RTA.METRICS)
    if raw:
        metrics = parse_attrs(raw)
        if RTAX.MTU in metrics:
            mtu = u32(metrics[RTAX.MTU])
    raw = get(RTA.DST)
    dst = f"{ip(raw) if raw else _ZERO[family]}/{dst_len}"
    raw = get(RTA.PRIORITY)
    metric = u32(raw) if raw else None
    type_name = ROUTE_TYPES[rtype] if rtype < len(ROUTE_TYPES) else str(rtype)
    oif_text = hops[0][1] if hops and hops[0][1] else "-"
    raw = get(RTA.PREFSRC)
    return (f"/{table}/{type_name}/{dst}/{metric or 0}/{tos}/{oif_text}", hops,
            FAMILY_NAMES[family], table, type_name, dst,
            ROUTE_PROTOCOLS.get(proto) or str(proto), SCOPES.get(scope) or str(scope), metric,
            ip(raw) if raw else None, tos, mtu)


def dump_routes(sock: RtnlSocket, inode: int) -> list[Route]:
    """Every IPv4 and IPv6 route in every table (main, local, and any other), in one dump.

    Ids are `route:<inode>/<table>/<type>/<dst>/<metric>/<tos>/<oif ifindex or ->`, with
    `#n` added to the second and later routes that would share one.
    """
    netns = f"ns:{inode}"
    prefix = f"link:{inode}/"
    out = []
    seen: dict[str, int] = {}
    get = _routes.get
    for body in sock.dump(RTM_GETROUTE, _ROUTE_REQUEST):
        t = get(body, False)
        if t is False:
            t = _routes.decoded(body, _route)
        if t is None:
            continue
        base = f"route:{inode}{t[0]}"
        n = seen.get(base, 0)
        seen[base] = n + 1
        hops = tuple(_new_nexthop(g, f"{prefix}{i}" if i else None, w, f)
                     for g, i, w, f in t[1])
        (_, _, family, table, type_name, dst, protocol, scope, metric, prefsrc, tos,
         mtu) = t
        out.append(_new_route(base if n == 0 else f"{base}#{n}", netns, family, table,
                              type_name, dst, protocol, scope, metric, prefsrc, tos, hops, (),
                              mtu))
    return out


# ---------------------------------------------------------------- policy rules


_RULE_ATTRS = frozenset({FRA.DST, FRA.SRC, FRA.IIFNAME, FRA.GOTO, FRA.PRIORITY, FRA.FWMARK,
                         FRA.TABLE, FRA.FWMASK, FRA.OIFNAME, FRA.L3MDEV})
_rules: Memo[bytes, tuple | None] = Memo()


def _rule(body: bytes) -> tuple | None:
    """The Rule fields after id and netns (family first), or None if not IPv4/IPv6."""
    family, dst_len, src_len, tos, table, _r1, _r2, action, flags = RTMSG.unpack_from(body)
    if family not in _ZERO:
        return None
    a = wanted_attrs(body, RTMSG.size, len(body), _RULE_ATTRS)
    get = a.get
    raw = get(FRA.PRIORITY)
    priority = u32(raw) if raw else 0
    raw = get(FRA.TABLE)
    src, dst = get(FRA.SRC), get(FRA.DST)
    iif, oif = get(FRA.IIFNAME), get(FRA.OIFNAME)
    fwmark, fwmask, goto = get(FRA.FWMARK), get(FRA.FWMASK), get(FRA.GOTO)
    l3mdev = get(FRA.L3MDEV)
    return (FAMILY_NAMES[family], priority, RULE_ACTIONS.get(action, str(action)),
            u32(raw) if raw else (table or None),
            f"{ip(src)}/{src_len}" if src else None, f"{ip(dst)}/{dst_len}" if dst else None,
            cstr(iif) if iif else None, cstr(oif) if oif else None,
            u32(fwmark) if fwmark else None, u32(fwmask) if fwmask else None, tos,
            bool(flags & FIB_RULE_INVERT), u32(goto) if goto else None,
            bool(l3mdev[0]) if l3mdev else False)


def dump_rules(sock: RtnlSocket, inode: int) -> list[Rule]:
    """Every IPv4 and IPv6 policy-routing rule, each family in the kernel's priority order.

    Ids are `rule:<inode>/<family>/<priority>/<position in its family>`.
    """
    netns = f"ns:{inode}"
    out = []
    position: dict[str, int] = {}
    get = _rules.get
    for body in sock.dump(RTM_GETRULE, _ROUTE_REQUEST):
        t = get(body, False)
        if t is False:
            t = _rules.decoded(body, _rule)
        if t is None:
            continue
        family = t[0]
        n = position[family] = position.get(family, -1) + 1
        out.append(_new_rule(f"rule:{inode}/{family}/{t[1]}/{n}", netns, *t))
    return out


# ---------------------------------------------------------------- neighbours and FDB


_NEIGH_ATTRS = frozenset({NDA.DST, NDA.LLADDR})
_FDB_ATTRS = frozenset({NDA.DST, NDA.LLADDR, NDA.VLAN, NDA.MASTER})
_NEIGH_REQUEST = NDMSG.pack(AF_UNSPEC, 0, 0, 0, 0)
_FDB_REQUEST = NDMSG.pack(AF_BRIDGE, 0, 0, 0, 0)


def dump_neighbours(sock: RtnlSocket, inode: int) -> list[Neighbour]:
    """ARP/NDP entries, without the NOARP ones (multicast and loopback bookkeeping, which
    `ip neigh` hides too). Ids are `neigh:<inode>/<ifindex>/<address>`."""
    netns = f"ns:{inode}"
    out = []
    for body in sock.dump(RTM_GETNEIGH, _NEIGH_REQUEST):
        family, ifindex, state, flags, _ntype = NDMSG.unpack_from(body)
        if family not in _ZERO or state & NUD_NOARP:
            continue
        a = wanted_attrs(body, NDMSG.size, len(body), _NEIGH_ATTRS)
        if NDA.DST not in a:
            continue
        address = ip(a[NDA.DST])
        lladdr = a.get(NDA.LLADDR)
        out.append(_new_neighbour(
            f"neigh:{inode}/{ifindex}/{address}", netns, f"link:{inode}/{ifindex}",
            FAMILY_NAMES[family], address, mac(lladdr) if lladdr and len(lladdr) == 6 else None,
            _nud_names(state) or ("NONE",), _ntf_names(flags),
        ))
    return out


def dump_fdb(sock: RtnlSocket, inode: int) -> list[FdbEntry]:
    """Bridge and VXLAN forwarding entries. Entries flagged "self" on a plain device (its
    own multicast filter list, not forwarding state) are left out; those of bridges' ports
    and of vxlan devices are kept. Ids are `fdb:<inode>/<ifindex>/<mac>/<vlan>/<dst or ->`."""
    netns = f"ns:{inode}"
    prefix = f"link:{inode}/"
    out = []
    for body in sock.dump(RTM_GETNEIGH, _FDB_REQUEST):
        family, ifindex, state, flags, _ntype = NDMSG.unpack_from(body)
        if family != AF_BRIDGE:
            continue
        a = wanted_attrs(body, NDMSG.size, len(body), _FDB_ATTRS)
        lladdr, dst, master = a.get(NDA.LLADDR), a.get(NDA.DST), a.get(NDA.MASTER)
        if lladdr is None:
            continue
        master_index = u32(master) if master else 0
        if not master_index and dst is None:
            continue
        address, remote = mac(lladdr), ip(dst) if dst else None
        vlan = U16.unpack_from(a[NDA.VLAN])[0] if NDA.VLAN in a else None
        state_name = "permanent" if state & NUD_PERMANENT else (
            "static" if state & NUD_NOARP else "")
        out.append(_new_fdb(
            f"fdb:{inode}/{ifindex}/{address}/{vlan or 0}/{remote or '-'}", netns,
            f"{prefix}{ifindex}", address, f"{prefix}{master_index}" if master_index else None,
            vlan, state_name, _ntf_names(flags), remote,
        ))
    return out


# ---------------------------------------------------------------- netconf


_NETCONF_HEAD = U16.size * 2 + RTGENMSG.size  # where NETCONFA_IFINDEX's value sits when first


def dump_netconf(sock: RtnlSocket) -> dict[tuple[str, int], dict[str, int]]:
    """Forwarding/rp_filter of `all` (ifindex -1) and `default` (-2), per family.

    Reading these over netlink avoids /proc/sys, whose per-namespace lookups cost ~25 us
    each (far more with many namespaces). The dump also holds one entry per interface (two
    thousand in a namespace with a thousand veths): those are skipped on their ifindex,
    which the kernel writes first.
    """
    out: dict[tuple[str, int], dict[str, int]] = {}
    for body in sock.dump(RTM_GETNETCONF, RTGENMSG.pack(AF_UNSPEC)):
        family = body[0]
        if family not in _ZERO:
            continue
        if len(body) >= _NETCONF_HEAD + 4 and \
                U16.unpack_from(body, RTGENMSG.size + 2)[0] == NETCONFA.IFINDEX and \
                S32.unpack_from(body, _NETCONF_HEAD)[0] >= 0:
            continue
        a = parse_attrs(body, RTGENMSG.size)
        raw = a.get(NETCONFA.IFINDEX)
        if raw is None:
            continue
        ifindex = S32.unpack_from(raw)[0]
        if ifindex >= 0:
            continue
        values = {name: S32.unpack_from(a[n])[0] for n, name in NETCONF_ATTRS.items() if n in a}
        out[(FAMILY_NAMES[family], ifindex)] = values
    return out


# ---------------------------------------------------------------- namespace ids


def get_nsid(sock: RtnlSocket, ns_fd: int) -> int | None:
    """The id the socket's namespace uses for the namespace behind `ns_fd`, or None.

    Read-only: the kernel answers -1 (None here) rather than allocating an id.
    """
    header = RTGENMSG.pack(AF_UNSPEC)
    try:
        # a plain request (no dump flag) answered by one RTM_NEWNSID
        for _, body in sock.request(RTM_GETNSID, header, attr(NETNSA.FD, U32.pack(ns_fd)),
                                    flags=0):
            a = parse_attrs(body, RTGENMSG.size)
            if NETNSA.NSID in a:
                nsid = S32.unpack_from(a[NETNSA.NSID])[0]
                return nsid if nsid >= 0 else None
    except NetlinkError:
        return None
    return None

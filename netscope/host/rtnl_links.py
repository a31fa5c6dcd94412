"""Interfaces (RTM_GETLINK) decoded into Link objects: kind, state, peer pointers, details.

Only the attributes a Link field needs are copied out (wanted_attrs); the nests that recur
on most interfaces (link kind, sysctl arrays) are decoded once per distinct byte string
(rtnl_values.Memo). Whole messages are not remembered: every one differs (IPv6 cache info).
"""

from __future__ import annotations

import errno
import struct
from collections.abc import Iterable

from netscope.host.netlink import (
    NLA_HDR,
    NLA_TYPE_MASK,
    NetlinkError,
    RtnlSocket,
    attr,
    parse_attrs,
    wanted_attrs,
)
from netscope.host.rtnl_attrs import (
    AF_INET,
    AF_INET6,
    AF_UNSPEC,
    BRPORT_STATES,
    DEVCONF,
    IFF_FLAGS,
    IFF_LOOPBACK,
    IFINFOMSG,
    IFLA,
    IFLA_BR,
    IFLA_BRPORT,
    IFLA_INET,
    IFLA_INET6,
    IFLA_INFO,
    IFLA_IPVLAN,
    IFLA_MACVLAN,
    IFLA_TUN,
    IFLA_VLAN,
    IFLA_VXLAN,
    IFLA_XDP,
    IPV4_DEVCONF,
    IPVLAN_MODES,
    MACVLAN_MODES,
    OPERSTATES,
    RTEXT_FILTER_SKIP_STATS,
    RTM_GETLINK,
    TUN_TYPES,
    XDP_ATTACHED,
)
from netscope.host.rtnl_values import BE16, S32, U16, U32, Flags, Memo, cstr, ip, mac, u32
from netscope.model import BridgePort, Link, VethPeer
from netscope.model.made import maker

# kinds whose IFLA_LINK names their peer; for the others it names the lower (parent) device
PEER_KINDS = frozenset({"veth", "netkit"})
# the sysctls carried in IFLA_AF_SPEC: IFLA_INET_CONF index -> name (an array of u32 from
# IPV4_DEVCONF_FORWARDING = 1), IFLA_INET6_CONF index -> name (an array of s32 from 0)
INET_DEVCONF = {
    IPV4_DEVCONF.FORWARDING - 1: "forwarding", IPV4_DEVCONF.PROXY_ARP - 1: "proxy_arp",
    IPV4_DEVCONF.SEND_REDIRECTS - 1: "send_redirects", IPV4_DEVCONF.RP_FILTER - 1: "rp_filter",
    IPV4_DEVCONF.ACCEPT_LOCAL - 1: "accept_local",
    IPV4_DEVCONF.ROUTE_LOCALNET - 1: "route_localnet",
}
INET6_DEVCONF = {DEVCONF.FORWARDING: "forwarding", DEVCONF.DISABLE_IPV6: "disable_ipv6"}

_new_link = maker(Link)
_iff_names = Flags(IFF_FLAGS)


def _vxlan(a: dict[int, bytes]) -> dict[str, str | int | bool | None]:
    out: dict[str, str | int | bool | None] = {}
    if IFLA_VXLAN.ID in a:
        out["vni"] = u32(a[IFLA_VXLAN.ID])
    for key, n in (("remote", IFLA_VXLAN.GROUP), ("local", IFLA_VXLAN.LOCAL),
                   ("remote", IFLA_VXLAN.GROUP6), ("local", IFLA_VXLAN.LOCAL6)):
        if n in a and any(a[n]):
            out[key] = ip(a[n])
    if IFLA_VXLAN.LINK in a:
        out["link_ifindex"] = u32(a[IFLA_VXLAN.LINK])
    if IFLA_VXLAN.PORT in a:
        out["dstport"] = BE16.unpack_from(a[IFLA_VXLAN.PORT])[0]
    return out


def kind_details(kind: str, data: bytes) -> dict[str, str | int | bool | None]:
    """The IFLA_INFO_DATA nest of a link kind, as Link.details."""
    a = parse_attrs(data)
    if kind == "vxlan":
        return _vxlan(a)
    if kind in ("macvlan", "macvtap"):
        mode = a.get(IFLA_MACVLAN.MODE)
        return {"mode": MACVLAN_MODES.get(u32(mode), str(u32(mode)))} if mode else {}
    if kind == "ipvlan":
        mode = a.get(IFLA_IPVLAN.MODE)
        if not mode:
            return {}
        n = U16.unpack_from(mode)[0]
        return {"mode": IPVLAN_MODES[n] if n < len(IPVLAN_MODES) else str(n)}
    if kind == "bridge":
        out: dict[str, str | int | bool | None] = {}
        if IFLA_BR.STP_STATE in a:
            out["stp"] = bool(u32(a[IFLA_BR.STP_STATE]))
        if IFLA_BR.VLAN_FILTERING in a:
            out["vlan_filtering"] = bool(a[IFLA_BR.VLAN_FILTERING][0])
        if IFLA_BR.FORWARD_DELAY in a:
            out["forward_delay"] = u32(a[IFLA_BR.FORWARD_DELAY])
        if IFLA_BR.NF_CALL_IPTABLES in a:
            out["nf_call_iptables"] = bool(a[IFLA_BR.NF_CALL_IPTABLES][0])
        return out
    if kind == "tun":
        out = {}
        if IFLA_TUN.TYPE in a:
            n = a[IFLA_TUN.TYPE][0]
            out["type"] = TUN_TYPES.get(n, str(n))
        if IFLA_TUN.PERSIST in a:
            out["persist"] = bool(a[IFLA_TUN.PERSIST][0])
        return out
    if kind == "vlan":
        return {"vlan_id": U16.unpack_from(a[IFLA_VLAN.ID])[0]} if IFLA_VLAN.ID in a else {}
    return {}


_BRPORT_ATTRS = frozenset({IFLA_BRPORT.STATE, IFLA_BRPORT.PRIORITY, IFLA_BRPORT.COST,
                           IFLA_BRPORT.MODE, IFLA_BRPORT.LEARNING, IFLA_BRPORT.UNICAST_FLOOD})


def bridge_port(data: bytes) -> BridgePort:
    """The IFLA_INFO_SLAVE_DATA nest of a bridge port."""
    a = wanted_attrs(data, 0, len(data), _BRPORT_ATTRS)
    state = a[IFLA_BRPORT.STATE][0] if IFLA_BRPORT.STATE in a else 0
    return BridgePort(
        state=BRPORT_STATES[state] if state < len(BRPORT_STATES) else str(state),
        priority=U16.unpack_from(a[IFLA_BRPORT.PRIORITY])[0]
        if IFLA_BRPORT.PRIORITY in a else None,
        cost=u32(a[IFLA_BRPORT.COST]) if IFLA_BRPORT.COST in a else None,
        learning=bool(a[IFLA_BRPORT.LEARNING][0]) if IFLA_BRPORT.LEARNING in a else None,
        flood=bool(a[IFLA_BRPORT.UNICAST_FLOOD][0]) if IFLA_BRPORT.UNICAST_FLOOD in a else None,
        hairpin=bool(a[IFLA_BRPORT.MODE][0]) if IFLA_BRPORT.MODE in a else None,
    )


def _conf_arrays(spec: bytes) -> tuple[bytes, bytes]:
    """(IFLA_INET_CONF, IFLA_INET6_CONF) payloads of an IFLA_AF_SPEC nest (b"" if absent).

    The rest of the nest (IPv6 cache info: timestamps) differs on every interface; the
    arrays rarely do, so they are what the decoded sysctls are remembered by."""
    found = {AF_INET: b"", AF_INET6: b""}
    wanted = {AF_INET: IFLA_INET.CONF, AF_INET6: IFLA_INET6.CONF}
    unpack = NLA_HDR.unpack_from
    off, end = 0, len(spec)
    while off + 4 <= end:
        alen, family = unpack(spec, off)
        if alen < 4:
            break
        want = wanted.get(family & NLA_TYPE_MASK)
        if want is not None:
            inner, inner_end = off + 4, off + alen
            while inner + 4 <= inner_end:
                ilen, itype = unpack(spec, inner)
                if ilen < 4:
                    break
                if itype & NLA_TYPE_MASK == want:
                    found[family & NLA_TYPE_MASK] = spec[inner + 4 : inner + ilen]
                    break
                inner += (ilen + 3) & ~3
        off += (alen + 3) & ~3
    return found[AF_INET], found[AF_INET6]


def devconf_sysctls(arrays: tuple[bytes, bytes]) -> dict[str, str]:
    """The per-interface sysctls netscope keeps, from (IFLA_INET_CONF, IFLA_INET6_CONF)."""
    out: dict[str, str] = {}
    for conf, prefix, table, fmt in ((arrays[0], "ipv4", INET_DEVCONF, "=I"),
                                     (arrays[1], "ipv6", INET6_DEVCONF, "=i")):
        for index, name in table.items():
            if 4 * index + 4 <= len(conf):
                out[f"{prefix}.{name}"] = str(struct.unpack_from(fmt, conf, 4 * index)[0])
    return out


def af_spec_sysctls(spec: bytes) -> dict[str, str]:
    """The per-interface sysctls of an IFLA_AF_SPEC nest (shared between interfaces with the
    same settings: model objects are never changed)."""
    arrays = _conf_arrays(spec)
    return _sysctls.get(arrays) or _sysctls.decoded(arrays, devconf_sysctls)


def _link_info(raw: bytes) -> tuple[str | None, dict, BridgePort | None]:
    """(kind, details, bridge port) of an IFLA_LINKINFO nest."""
    info = parse_attrs(raw)
    kind = cstr(info[IFLA_INFO.KIND]) if IFLA_INFO.KIND in info else None
    details = kind_details(kind, info[IFLA_INFO.DATA]) \
        if kind is not None and IFLA_INFO.DATA in info else {}
    port = None
    if IFLA_INFO.SLAVE_KIND in info and cstr(info[IFLA_INFO.SLAVE_KIND]) == "bridge" and \
            IFLA_INFO.SLAVE_DATA in info:
        port = bridge_port(info[IFLA_INFO.SLAVE_DATA])
    return kind, details, port


_LINK_ATTRS = frozenset({IFLA.ADDRESS, IFLA.IFNAME, IFLA.MTU, IFLA.LINK, IFLA.MASTER,
                         IFLA.OPERSTATE, IFLA.LINKINFO, IFLA.IFALIAS, IFLA.AF_SPEC,
                         IFLA.LINK_NETNSID, IFLA.XDP})
_LINK_REQUEST = IFINFOMSG.pack(AF_UNSPEC, 0, 0, 0, 0)
_SKIP_STATS = attr(IFLA.EXT_MASK, U32.pack(RTEXT_FILTER_SKIP_STATS))
_NO_LINKINFO: tuple[None, dict, None] = (None, {}, None)
# decoded nests by bytes: the sysctl arrays and link kinds recur on most interfaces
_infos: Memo[bytes, tuple] = Memo()
_sysctls: Memo[tuple[bytes, bytes], dict[str, str]] = Memo()


def _template(body: bytes) -> tuple:
    """Everything of a Link but its namespace: (ifindex, name, kind, operstate, flags, mtu,
    mac, master ifindex, alias, IFLA_LINK, IFLA_LINK_NETNSID, details, port, sysctls)."""
    _family, _arphrd, ifindex, flags, _ = IFINFOMSG.unpack_from(body)
    a = wanted_attrs(body, IFINFOMSG.size, len(body), _LINK_ATTRS)
    get = a.get
    raw = get(IFLA.LINKINFO)
    kind, details, port = (_infos.get(raw) or _infos.decoded(raw, _link_info)) if raw \
        else _NO_LINKINFO
    if kind is None:
        kind = "loopback" if flags & IFF_LOOPBACK else "device"
    raw = get(IFLA.OPERSTATE)
    operstate = OPERSTATES[raw[0]] if raw and raw[0] < len(OPERSTATES) else "UNKNOWN"
    raw = get(IFLA.LINK)
    lower = S32.unpack_from(raw)[0] if raw else None
    raw = get(IFLA.LINK_NETNSID)
    nsid = S32.unpack_from(raw)[0] if raw else None
    raw = get(IFLA.MASTER)
    master = u32(raw) if raw else None
    raw = get(IFLA.ADDRESS)
    address = mac(raw) if raw and len(raw) == 6 else None
    raw = get(IFLA.IFNAME)
    name = cstr(raw) if raw else f"if{ifindex}"
    raw = get(IFLA.AF_SPEC)
    sysctls = af_spec_sysctls(raw) if raw else {}
    raw = get(IFLA.XDP)
    if raw and len(raw) > 8:  # more than IFLA_XDP_ATTACHED alone: a program is attached
        details = {**details, **xdp_details(raw)}
    raw = get(IFLA.MTU)
    alias = get(IFLA.IFALIAS)
    return (ifindex, name, kind, operstate, _iff_names(flags), u32(raw) if raw else 0,
            address, master, cstr(alias) if alias else None, lower, nsid, details, port,
            sysctls)


def xdp_details(raw: bytes) -> dict[str, str | int | bool | None]:
    """Link.details of an IFLA_XDP nest with a program: "xdp" (its mode: drv, skb, hw, or
    several with commas) and "xdp_prog_id" (several ids with commas in "xdp_prog_ids")."""
    a = parse_attrs(raw)
    attached = a.get(IFLA_XDP.ATTACHED, b"\0")[0]
    if not attached:
        return {}
    if attached != 4:  # one program, in one mode
        prog = a.get(IFLA_XDP.PROG_ID)
        return {"xdp": XDP_ATTACHED.get(attached, str(attached)),
                "xdp_prog_id": u32(prog) if prog else None}
    modes = [(mode, u32(a[n])) for mode, n in (("drv", IFLA_XDP.DRV_PROG_ID),
                                               ("skb", IFLA_XDP.SKB_PROG_ID),
                                               ("hw", IFLA_XDP.HW_PROG_ID)) if n in a]
    return {"xdp": ",".join(m for m, _ in modes), "xdp_prog_id": modes[0][1] if modes else None,
            "xdp_prog_ids": ",".join(str(p) for _, p in modes)}


def dump_links(sock: RtnlSocket, inode: int) -> list[Link]:
    """Every interface of the namespace `inode` the socket belongs to.

    `peer` is set for veth-like links (exact when the peer is in the same namespace, else
    only ifindex + nsid, for collect.links.resolve_peers), `parent` for lower devices in
    the same namespace; a lower device elsewhere is a `peer` too until resolved.
    """
    netns = f"ns:{inode}"
    prefix = f"link:{inode}/"
    return [_link(body, netns, prefix)
            for body in sock.dump(RTM_GETLINK, _LINK_REQUEST, _SKIP_STATS)]


def get_links(sock: RtnlSocket, inode: int, ifindexes: Iterable[int]) -> dict[int, Link | None]:
    """The interfaces `ifindexes` of the namespace `inode` the socket belongs to, asked one
    by one (RTM_GETLINK by index, as dump_links reads them); None for one that is gone."""
    netns = f"ns:{inode}"
    prefix = f"link:{inode}/"
    out: dict[int, Link | None] = {}
    for ifindex in ifindexes:
        try:
            answers = list(sock.request(RTM_GETLINK, IFINFOMSG.pack(AF_UNSPEC, 0, ifindex, 0, 0),
                                        _SKIP_STATS, flags=0))
        except NetlinkError as e:
            if e.errno != errno.ENODEV:
                raise
            answers = []
        out[ifindex] = _link(answers[0][1], netns, prefix) if answers else None
    return out


def _link(body: bytes, netns: str, prefix: str) -> Link:
    """One RTM_NEWLINK message as a Link (see dump_links for peer and parent)."""
    # not remembered whole: every link message differs (IPv6 cache info timestamps)
    (ifindex, name, kind, operstate, flags, mtu, address, master, alias, lower, nsid,
     details, port, sysctls) = _template(body)
    peer = parent = None
    if kind in PEER_KINDS and lower:
        # same namespace when no nsid is given: exact already
        peer = VethPeer(lower, nsid, f"{prefix}{lower}" if nsid is None else None)
    elif lower and lower != ifindex and nsid is None:
        parent = f"{prefix}{lower}"
    elif kind == "vxlan" and details.get("link_ifindex"):
        parent = f"{prefix}{details['link_ifindex']}"
    if lower and nsid is not None and kind not in PEER_KINDS:
        # a macvlan/ipvlan whose parent lives elsewhere: resolved like a peer
        peer = VethPeer(lower, nsid, None)
    return _new_link(
        f"{prefix}{ifindex}", netns, ifindex, name, kind, operstate, flags, mtu, address,
        f"{prefix}{master}" if master else None, alias, peer, parent, port, details, sysctls)

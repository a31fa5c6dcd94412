"""rtnetlink declarations: family headers and every attribute netscope reads, by name.

Numbers and names are the kernel's uapi (linux/if_link.h, if_addr.h, rtnetlink.h,
neighbour.h, fib_rules.h, netconf.h, net_namespace.h, ipv6.h/ip.h devconf), as pyroute2's
`nla_map` tables declare them. Parsers index attributes by number at run time; their source
reads `IFLA.LINK_NETNSID`. Attributes netscope does not decode are declared too (kind
"binary" or their encoding), so that a captured message can be printed attribute by name.
"""

from __future__ import annotations

import struct

from netscope.host.netlink import NlaSpace

AF_UNSPEC, AF_INET, AF_BRIDGE, AF_INET6 = 0, 2, 7, 10

RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE = 18, 22, 26
RTM_GETNEIGH, RTM_GETRULE, RTM_GETNETCONF, RTM_GETNSID = 30, 34, 82, 90

# family headers: struct ifinfomsg, ifaddrmsg, rtmsg (also fib_rule_hdr), ndmsg, netconfmsg
IFINFOMSG = struct.Struct("=BxHiII")    # family, type (ARPHRD), index, flags, change
IFADDRMSG = struct.Struct("=BBBBI")     # family, prefixlen, flags, scope, index
RTMSG = struct.Struct("=BBBBBBBBI")     # family, dst_len, src_len, tos, table, protocol,
#                                         scope (rules: res2), type (rules: action), flags
NDMSG = struct.Struct("=BxxxiHBB")      # family, ifindex, state, flags, type
RTGENMSG = struct.Struct("=Bxxx")       # family (netconfmsg, rtgenmsg for nsid)
RTNEXTHOP = struct.Struct("=HBBi")      # len, flags, hops (weight - 1), ifindex

RTEXT_FILTER_SKIP_STATS = 1 << 3
NETCONFA_IFINDEX_ALL, NETCONFA_IFINDEX_DEFAULT = -1, -2


def _space(prefix: str, rows: str) -> NlaSpace:
    """An NlaSpace from "number NAME kind" lines (the table form is easier to review)."""
    table = []
    for line in rows.strip().splitlines():
        number, name, kind = line.split()
        table.append((int(number), name, kind))
    return NlaSpace(prefix, tuple(table))


IFLA = _space("IFLA", """
    1  IFLA_ADDRESS                 l2addr
    2  IFLA_BROADCAST               l2addr
    3  IFLA_IFNAME                  asciiz
    4  IFLA_MTU                     u32
    5  IFLA_LINK                    s32
    6  IFLA_QDISC                   asciiz
    7  IFLA_STATS                   binary
    8  IFLA_COST                    binary
    9  IFLA_PRIORITY                binary
    10 IFLA_MASTER                  u32
    11 IFLA_WIRELESS                binary
    12 IFLA_PROTINFO                nested
    13 IFLA_TXQLEN                  u32
    14 IFLA_MAP                     binary
    15 IFLA_WEIGHT                  u32
    16 IFLA_OPERSTATE               u8
    17 IFLA_LINKMODE                u8
    18 IFLA_LINKINFO                nested
    19 IFLA_NET_NS_PID              u32
    20 IFLA_IFALIAS                 asciiz
    21 IFLA_NUM_VF                  u32
    22 IFLA_VFINFO_LIST             nested
    23 IFLA_STATS64                 binary
    24 IFLA_VF_PORTS                nested
    25 IFLA_PORT_SELF               nested
    26 IFLA_AF_SPEC                 nested
    27 IFLA_GROUP                   u32
    28 IFLA_NET_NS_FD               u32
    29 IFLA_EXT_MASK                u32
    30 IFLA_PROMISCUITY             u32
    31 IFLA_NUM_TX_QUEUES           u32
    32 IFLA_NUM_RX_QUEUES           u32
    33 IFLA_CARRIER                 u8
    34 IFLA_PHYS_PORT_ID            binary
    35 IFLA_CARRIER_CHANGES         u32
    36 IFLA_PHYS_SWITCH_ID          binary
    37 IFLA_LINK_NETNSID            s32
    38 IFLA_PHYS_PORT_NAME          asciiz
    39 IFLA_PROTO_DOWN              u8
    40 IFLA_GSO_MAX_SEGS            u32
    41 IFLA_GSO_MAX_SIZE            u32
    42 IFLA_PAD                     binary
    43 IFLA_XDP                     nested
    44 IFLA_EVENT                   u32
    45 IFLA_NEW_NETNSID             s32
    46 IFLA_TARGET_NETNSID          s32
    47 IFLA_CARRIER_UP_COUNT        u32
    48 IFLA_CARRIER_DOWN_COUNT      u32
    49 IFLA_NEW_IFINDEX             s32
    50 IFLA_MIN_MTU                 u32
    51 IFLA_MAX_MTU                 u32
    52 IFLA_PROP_LIST               nested
    53 IFLA_ALT_IFNAME              asciiz
    54 IFLA_PERM_ADDRESS            l2addr
    55 IFLA_PROTO_DOWN_REASON       nested
    56 IFLA_PARENT_DEV_NAME         asciiz
    57 IFLA_PARENT_DEV_BUS_NAME     asciiz
    58 IFLA_GRO_MAX_SIZE            u32
    59 IFLA_TSO_MAX_SIZE            u32
    60 IFLA_TSO_MAX_SEGS            u32
    61 IFLA_ALLMULTI                u32
    62 IFLA_DEVLINK_PORT            nested
    63 IFLA_GSO_IPV4_MAX_SIZE       u32
    64 IFLA_GRO_IPV4_MAX_SIZE       u32
    65 IFLA_DPLL_PIN                nested
    66 IFLA_MAX_PACING_OFFLOAD_HORIZON u32
    67 IFLA_NETNS_IMMUTABLE         u8
    68 IFLA_HEADROOM                u16
    69 IFLA_TAILROOM                u16
""")

# IFLA_XDP: the XDP program of an interface (linux/if_link.h); ATTACHED is XDP_ATTACHED_*
IFLA_XDP = _space("IFLA_XDP", """
    1  IFLA_XDP_FD                  s32
    2  IFLA_XDP_ATTACHED            u8
    3  IFLA_XDP_FLAGS               u32
    4  IFLA_XDP_PROG_ID             u32
    5  IFLA_XDP_DRV_PROG_ID         u32
    6  IFLA_XDP_SKB_PROG_ID         u32
    7  IFLA_XDP_HW_PROG_ID          u32
    8  IFLA_XDP_EXPECTED_FD         s32
""")
XDP_ATTACHED = {1: "drv", 2: "skb", 3: "hw", 4: "multi"}

IFLA_INFO = _space("IFLA_INFO", """
    1  IFLA_INFO_KIND               asciiz
    2  IFLA_INFO_DATA               nested
    3  IFLA_INFO_XSTATS             binary
    4  IFLA_INFO_SLAVE_KIND         asciiz
    5  IFLA_INFO_SLAVE_DATA         nested
""")

# IFLA_INFO_SLAVE_DATA of a bridge port
IFLA_BRPORT = _space("IFLA_BRPORT", """
    1  IFLA_BRPORT_STATE            u8
    2  IFLA_BRPORT_PRIORITY         u16
    3  IFLA_BRPORT_COST             u32
    4  IFLA_BRPORT_MODE             u8
    5  IFLA_BRPORT_GUARD            u8
    6  IFLA_BRPORT_PROTECT          u8
    7  IFLA_BRPORT_FAST_LEAVE       u8
    8  IFLA_BRPORT_LEARNING         u8
    9  IFLA_BRPORT_UNICAST_FLOOD    u8
    10 IFLA_BRPORT_PROXYARP         u8
    13 IFLA_BRPORT_ROOT_ID          binary
    14 IFLA_BRPORT_BRIDGE_ID        binary
    17 IFLA_BRPORT_ID               u16
    18 IFLA_BRPORT_NO               u16
    21 IFLA_BRPORT_MESSAGE_AGE_TIMER u64
    22 IFLA_BRPORT_FORWARD_DELAY_TIMER u64
    23 IFLA_BRPORT_HOLD_TIMER       u64
    27 IFLA_BRPORT_MCAST_FLOOD      u8
    30 IFLA_BRPORT_BCAST_FLOOD      u8
    32 IFLA_BRPORT_NEIGH_SUPPRESS   u8
    33 IFLA_BRPORT_ISOLATED         u8
    39 IFLA_BRPORT_LOCKED           u8
""")

# IFLA_INFO_DATA of each link kind netscope describes
IFLA_BR = _space("IFLA_BR", """
    1  IFLA_BR_FORWARD_DELAY        u32
    2  IFLA_BR_HELLO_TIME           u32
    3  IFLA_BR_MAX_AGE              u32
    4  IFLA_BR_AGEING_TIME          u32
    5  IFLA_BR_STP_STATE            u32
    6  IFLA_BR_PRIORITY             u16
    7  IFLA_BR_VLAN_FILTERING       u8
    8  IFLA_BR_VLAN_PROTOCOL        be16
    36 IFLA_BR_NF_CALL_IPTABLES     u8
    37 IFLA_BR_NF_CALL_IP6TABLES    u8
    38 IFLA_BR_NF_CALL_ARPTABLES    u8
""")

IFLA_VXLAN = _space("IFLA_VXLAN", """
    1  IFLA_VXLAN_ID                u32
    2  IFLA_VXLAN_GROUP             ipaddr
    3  IFLA_VXLAN_LINK              u32
    4  IFLA_VXLAN_LOCAL             ipaddr
    5  IFLA_VXLAN_TTL               u8
    6  IFLA_VXLAN_TOS               u8
    7  IFLA_VXLAN_LEARNING          u8
    8  IFLA_VXLAN_AGEING            u32
    15 IFLA_VXLAN_PORT              be16
    16 IFLA_VXLAN_GROUP6            ipaddr
    17 IFLA_VXLAN_LOCAL6            ipaddr
""")

IFLA_MACVLAN = _space("IFLA_MACVLAN", """
    1  IFLA_MACVLAN_MODE            u32
    2  IFLA_MACVLAN_FLAGS           u16
""")

IFLA_IPVLAN = _space("IFLA_IPVLAN", """
    1  IFLA_IPVLAN_MODE             u16
    2  IFLA_IPVLAN_FLAGS            u16
""")

IFLA_VLAN = _space("IFLA_VLAN", """
    1  IFLA_VLAN_ID                 u16
    2  IFLA_VLAN_FLAGS              binary
    5  IFLA_VLAN_PROTOCOL           be16
""")

IFLA_TUN = _space("IFLA_TUN", """
    1  IFLA_TUN_OWNER               u32
    2  IFLA_TUN_GROUP               u32
    3  IFLA_TUN_TYPE                u8
    4  IFLA_TUN_PI                  u8
    5  IFLA_TUN_VNET_HDR            u8
    6  IFLA_TUN_PERSIST             u8
    7  IFLA_TUN_MULTI_QUEUE         u8
    8  IFLA_TUN_NUM_QUEUES          u32
""")

# IFLA_AF_SPEC holds one nest per address family (AF_INET, AF_INET6), then these
IFLA_INET = _space("IFLA_INET", """
    1  IFLA_INET_CONF               binary
""")

IFLA_INET6 = _space("IFLA_INET6", """
    1  IFLA_INET6_FLAGS             u32
    2  IFLA_INET6_CONF              binary
    3  IFLA_INET6_STATS             binary
    4  IFLA_INET6_MCAST             binary
    5  IFLA_INET6_CACHEINFO         binary
    6  IFLA_INET6_ICMP6STATS        binary
    7  IFLA_INET6_TOKEN             ipaddr
    8  IFLA_INET6_ADDR_GEN_MODE     u8
    9  IFLA_INET6_RA_MTU            u32
""")

# IFLA_INET_CONF is an array of u32 indexed by IPV4_DEVCONF_<x> - 1; IFLA_INET6_CONF an
# array of s32 indexed by DEVCONF_<x> (linux/ipv6.h, from 0)
IPV4_DEVCONF = _space("IPV4_DEVCONF", """
    1  IPV4_DEVCONF_FORWARDING      u32
    3  IPV4_DEVCONF_PROXY_ARP       u32
    6  IPV4_DEVCONF_SEND_REDIRECTS  u32
    8  IPV4_DEVCONF_RP_FILTER       u32
    23 IPV4_DEVCONF_ACCEPT_LOCAL    u32
    26 IPV4_DEVCONF_ROUTE_LOCALNET  u32
""")

DEVCONF = _space("DEVCONF", """
    0  DEVCONF_FORWARDING           s32
    26 DEVCONF_DISABLE_IPV6         s32
""")

IFA = _space("IFA", """
    1  IFA_ADDRESS                  ipaddr
    2  IFA_LOCAL                    ipaddr
    3  IFA_LABEL                    asciiz
    4  IFA_BROADCAST                ipaddr
    5  IFA_ANYCAST                  ipaddr
    6  IFA_CACHEINFO                binary
    7  IFA_MULTICAST                ipaddr
    8  IFA_FLAGS                    u32
    9  IFA_RT_PRIORITY              u32
    10 IFA_TARGET_NETNSID           s32
    11 IFA_PROTO                    u8
""")

RTA = _space("RTA", """
    1  RTA_DST                      ipaddr
    2  RTA_SRC                      ipaddr
    3  RTA_IIF                      u32
    4  RTA_OIF                      u32
    5  RTA_GATEWAY                  ipaddr
    6  RTA_PRIORITY                 u32
    7  RTA_PREFSRC                  ipaddr
    8  RTA_METRICS                  nested
    9  RTA_MULTIPATH                binary
    11 RTA_FLOW                     u32
    12 RTA_CACHEINFO                binary
    15 RTA_TABLE                    u32
    16 RTA_MARK                     u32
    18 RTA_VIA                      binary
    20 RTA_PREF                     u8
    21 RTA_ENCAP_TYPE               u16
    22 RTA_ENCAP                    nested
    23 RTA_EXPIRES                  u32
    30 RTA_NH_ID                    u32
""")

# RTA_METRICS nest
RTAX = _space("RTAX", """
    1  RTAX_LOCK                    u32
    2  RTAX_MTU                     u32
    3  RTAX_WINDOW                  u32
    8  RTAX_ADVMSS                  u32
    10 RTAX_HOPLIMIT                u32
""")

FRA = _space("FRA", """
    1  FRA_DST                      ipaddr
    2  FRA_SRC                      ipaddr
    3  FRA_IIFNAME                  asciiz
    4  FRA_GOTO                     u32
    6  FRA_PRIORITY                 u32
    10 FRA_FWMARK                   u32
    11 FRA_FLOW                     u32
    12 FRA_TUN_ID                   binary
    13 FRA_SUPPRESS_IFGROUP         u32
    14 FRA_SUPPRESS_PREFIXLEN       u32
    15 FRA_TABLE                    u32
    16 FRA_FWMASK                   u32
    17 FRA_OIFNAME                  asciiz
    19 FRA_L3MDEV                   u8
    20 FRA_UID_RANGE                binary
    21 FRA_PROTOCOL                 u8
    22 FRA_IP_PROTO                 u8
    23 FRA_SPORT_RANGE              binary
    24 FRA_DPORT_RANGE              binary
""")

NDA = _space("NDA", """
    1  NDA_DST                      ipaddr
    2  NDA_LLADDR                   l2addr
    3  NDA_CACHEINFO                binary
    4  NDA_PROBES                   u32
    5  NDA_VLAN                     u16
    6  NDA_PORT                     be16
    7  NDA_VNI                      u32
    8  NDA_IFINDEX                  u32
    9  NDA_MASTER                   u32
    10 NDA_LINK_NETNSID             s32
    11 NDA_SRC_VNI                  u32
    12 NDA_PROTOCOL                 u8
    13 NDA_NH_ID                    u32
    15 NDA_FLAGS_EXT                u32
""")

NETCONFA = _space("NETCONFA", """
    1  NETCONFA_IFINDEX             s32
    2  NETCONFA_FORWARDING          s32
    3  NETCONFA_RP_FILTER           s32
    4  NETCONFA_MC_FORWARDING       s32
    5  NETCONFA_PROXY_NEIGH         s32
    6  NETCONFA_IGNORE_ROUTES_WITH_LINKDOWN s32
    7  NETCONFA_INPUT               s32
    8  NETCONFA_BC_FORWARDING       s32
""")

NETNSA = _space("NETNSA", """
    1  NETNSA_NSID                  s32
    2  NETNSA_PID                   u32
    3  NETNSA_FD                    u32
    4  NETNSA_TARGET_NSID           s32
    5  NETNSA_CURRENT_NSID          s32
""")

# flag words and enumerations carried in headers and attributes
IFF_FLAGS = (
    (0x1, "UP"), (0x2, "BROADCAST"), (0x8, "LOOPBACK"), (0x10, "POINTOPOINT"),
    (0x40, "RUNNING"), (0x80, "NOARP"), (0x100, "PROMISC"), (0x200, "ALLMULTI"),
    (0x400, "MASTER"), (0x800, "SLAVE"), (0x1000, "MULTICAST"), (0x10000, "LOWER_UP"),
    (0x20000, "DORMANT"),
)
IFF_LOOPBACK = 0x8
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
FIB_RULE_INVERT = 0x2
NUD_STATES = ((0x01, "INCOMPLETE"), (0x02, "REACHABLE"), (0x04, "STALE"), (0x08, "DELAY"),
              (0x10, "PROBE"), (0x20, "FAILED"), (0x40, "NOARP"), (0x80, "PERMANENT"))
NUD_NOARP, NUD_PERMANENT = 0x40, 0x80
NTF_FLAGS = ((0x01, "use"), (0x02, "self"), (0x04, "master"), (0x08, "proxy"),
             (0x10, "extern_learn"), (0x20, "offload"), (0x40, "sticky"), (0x80, "router"))
IFA_FLAGS = ((0x01, "secondary"), (0x02, "nodad"), (0x04, "optimistic"), (0x08, "dadfailed"),
             (0x20, "deprecated"), (0x40, "tentative"), (0x80, "permanent"),
             (0x200, "noprefixroute"))
RTNH_FLAGS = ((0x1, "dead"), (0x4, "onlink"), (0x10, "linkdown"))
MACVLAN_MODES = {1: "private", 2: "vepa", 4: "bridge", 8: "passthru", 16: "source"}
IPVLAN_MODES = ("l2", "l3", "l3s")
TUN_TYPES = {1: "tun", 2: "tap"}

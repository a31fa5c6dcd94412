"""nf_tables netlink declarations: message types, every attribute the reader decodes, by name.

The kind column says how the reader decodes a payload: be16/be32/be64 (network-order
integers), u8, asciiz, data (an NFTA_DATA nest: a value or a verdict), nested, binary.

Numbers are the kernel's uapi (linux/netfilter/nf_tables.h, nf_nat.h) and libnftnl's user
data TLVs (libnftnl/udata.h); names as the kernel spells them. Parsers index by number at
run time; their source reads NFTA_RULE.EXPRESSIONS.
"""

from __future__ import annotations

from netscope.host.netlink import NlaSpace


def _space(prefix: str, rows: str) -> NlaSpace:
    table = []
    for line in rows.strip().splitlines():
        number, name, kind = line.split()
        table.append((int(number), name, kind))
    return NlaSpace(prefix, tuple(table))


NFT_MSG_GETTABLE, NFT_MSG_GETCHAIN, NFT_MSG_GETRULE = 1, 4, 7
NFT_MSG_GETSET, NFT_MSG_GETSETELEM, NFT_MSG_GETGEN = 10, 13, 16

NFTA_TABLE = _space("NFTA_TABLE", """
    1  NFTA_TABLE_NAME          asciiz
    2  NFTA_TABLE_FLAGS         be32
    3  NFTA_TABLE_USE           be32
    4  NFTA_TABLE_HANDLE        be64
    6  NFTA_TABLE_USERDATA      binary
""")

NFTA_CHAIN = _space("NFTA_CHAIN", """
    1  NFTA_CHAIN_TABLE         asciiz
    2  NFTA_CHAIN_HANDLE        be64
    3  NFTA_CHAIN_NAME          asciiz
    4  NFTA_CHAIN_HOOK          nested
    5  NFTA_CHAIN_POLICY        be32
    6  NFTA_CHAIN_USE           be32
    7  NFTA_CHAIN_TYPE          asciiz
    8  NFTA_CHAIN_COUNTERS      nested
    10 NFTA_CHAIN_FLAGS         be32
    12 NFTA_CHAIN_USERDATA      binary
""")

NFTA_HOOK = _space("NFTA_HOOK", """
    1  NFTA_HOOK_HOOKNUM        be32
    2  NFTA_HOOK_PRIORITY       be32
    3  NFTA_HOOK_DEV            asciiz
    4  NFTA_HOOK_DEVS           nested
""")

NFTA_RULE = _space("NFTA_RULE", """
    1  NFTA_RULE_TABLE          asciiz
    2  NFTA_RULE_CHAIN          asciiz
    3  NFTA_RULE_HANDLE         be64
    4  NFTA_RULE_EXPRESSIONS    nested
    5  NFTA_RULE_COMPAT         nested
    6  NFTA_RULE_POSITION       be64
    7  NFTA_RULE_USERDATA       binary
""")

NFTA_EXPR = _space("NFTA_EXPR", """
    1  NFTA_EXPR_NAME           asciiz
    2  NFTA_EXPR_DATA           nested
""")

NFTA_SET = _space("NFTA_SET", """
    1  NFTA_SET_TABLE           asciiz
    2  NFTA_SET_NAME            asciiz
    3  NFTA_SET_FLAGS           be32
    4  NFTA_SET_KEY_TYPE        be32
    5  NFTA_SET_KEY_LEN         be32
    6  NFTA_SET_DATA_TYPE       be32
    7  NFTA_SET_DATA_LEN        be32
    8  NFTA_SET_POLICY          be32
    9  NFTA_SET_DESC            nested
    10 NFTA_SET_ID              be32
    11 NFTA_SET_TIMEOUT         be64
    12 NFTA_SET_GC_INTERVAL     be32
    13 NFTA_SET_USERDATA        binary
    15 NFTA_SET_OBJ_TYPE        be32
    16 NFTA_SET_HANDLE          be64
    17 NFTA_SET_EXPR            nested
    18 NFTA_SET_EXPRESSIONS     nested
""")

NFTA_SET_ELEM_LIST = _space("NFTA_SET_ELEM_LIST", """
    1  NFTA_SET_ELEM_LIST_TABLE     asciiz
    2  NFTA_SET_ELEM_LIST_SET       asciiz
    3  NFTA_SET_ELEM_LIST_ELEMENTS  nested
    4  NFTA_SET_ELEM_LIST_SET_ID    be32
""")

NFTA_SET_ELEM = _space("NFTA_SET_ELEM", """
    1  NFTA_SET_ELEM_KEY        nested
    2  NFTA_SET_ELEM_DATA       nested
    3  NFTA_SET_ELEM_FLAGS      be32
    4  NFTA_SET_ELEM_TIMEOUT    be64
    5  NFTA_SET_ELEM_EXPIRATION be64
    6  NFTA_SET_ELEM_USERDATA   binary
    7  NFTA_SET_ELEM_EXPR       nested
    8  NFTA_SET_ELEM_OBJREF     asciiz
    9  NFTA_SET_ELEM_KEY_END    nested
    10 NFTA_SET_ELEM_EXPRESSIONS nested
""")

NFTA_DATA = _space("NFTA_DATA", """
    1  NFTA_DATA_VALUE          binary
    2  NFTA_DATA_VERDICT        nested
""")

NFTA_VERDICT = _space("NFTA_VERDICT", """
    1  NFTA_VERDICT_CODE        be32
    2  NFTA_VERDICT_CHAIN       asciiz
    3  NFTA_VERDICT_CHAIN_ID    be32
""")

# expressions, one attribute space each (NFTA_EXPR_DATA of an expression of that name)
NFTA_IMMEDIATE = _space("NFTA_IMMEDIATE", """
    1  NFTA_IMMEDIATE_DREG      be32
    2  NFTA_IMMEDIATE_DATA      data
""")
NFTA_CMP = _space("NFTA_CMP", """
    1  NFTA_CMP_SREG            be32
    2  NFTA_CMP_OP              be32
    3  NFTA_CMP_DATA            data
""")
NFTA_PAYLOAD = _space("NFTA_PAYLOAD", """
    1  NFTA_PAYLOAD_DREG        be32
    2  NFTA_PAYLOAD_BASE        be32
    3  NFTA_PAYLOAD_OFFSET      be32
    4  NFTA_PAYLOAD_LEN         be32
    5  NFTA_PAYLOAD_SREG        be32
    6  NFTA_PAYLOAD_CSUM_TYPE   be32
    7  NFTA_PAYLOAD_CSUM_OFFSET be32
    8  NFTA_PAYLOAD_CSUM_FLAGS  be32
""")
NFTA_META = _space("NFTA_META", """
    1  NFTA_META_DREG           be32
    2  NFTA_META_KEY            be32
    3  NFTA_META_SREG           be32
""")
NFTA_BITWISE = _space("NFTA_BITWISE", """
    1  NFTA_BITWISE_SREG        be32
    2  NFTA_BITWISE_DREG        be32
    3  NFTA_BITWISE_LEN         be32
    4  NFTA_BITWISE_MASK        data
    5  NFTA_BITWISE_XOR         data
    6  NFTA_BITWISE_OP          be32
    7  NFTA_BITWISE_DATA        data
""")
NFTA_LOOKUP = _space("NFTA_LOOKUP", """
    1  NFTA_LOOKUP_SET          asciiz
    2  NFTA_LOOKUP_SREG         be32
    3  NFTA_LOOKUP_DREG         be32
    4  NFTA_LOOKUP_SET_ID       be32
    5  NFTA_LOOKUP_FLAGS        be32
""")
NFTA_RANGE = _space("NFTA_RANGE", """
    1  NFTA_RANGE_SREG          be32
    2  NFTA_RANGE_OP            be32
    3  NFTA_RANGE_FROM_DATA     data
    4  NFTA_RANGE_TO_DATA       data
""")
NFTA_COUNTER = _space("NFTA_COUNTER", """
    1  NFTA_COUNTER_BYTES       be64
    2  NFTA_COUNTER_PACKETS     be64
""")
NFTA_CT = _space("NFTA_CT", """
    1  NFTA_CT_DREG             be32
    2  NFTA_CT_KEY              be32
    3  NFTA_CT_DIRECTION        u8
    4  NFTA_CT_SREG             be32
""")
NFTA_NAT = _space("NFTA_NAT", """
    1  NFTA_NAT_TYPE            be32
    2  NFTA_NAT_FAMILY          be32
    3  NFTA_NAT_REG_ADDR_MIN    be32
    4  NFTA_NAT_REG_ADDR_MAX    be32
    5  NFTA_NAT_REG_PROTO_MIN   be32
    6  NFTA_NAT_REG_PROTO_MAX   be32
    7  NFTA_NAT_FLAGS           be32
""")
NFTA_MASQ = _space("NFTA_MASQ", """
    1  NFTA_MASQ_FLAGS          be32
    2  NFTA_MASQ_REG_PROTO_MIN  be32
    3  NFTA_MASQ_REG_PROTO_MAX  be32
""")
NFTA_REDIR = _space("NFTA_REDIR", """
    1  NFTA_REDIR_REG_PROTO_MIN be32
    2  NFTA_REDIR_REG_PROTO_MAX be32
    3  NFTA_REDIR_FLAGS         be32
""")
NFTA_REJECT = _space("NFTA_REJECT", """
    1  NFTA_REJECT_TYPE         be32
    2  NFTA_REJECT_ICMP_CODE    u8
""")
NFTA_FIB = _space("NFTA_FIB", """
    1  NFTA_FIB_DREG            be32
    2  NFTA_FIB_RESULT          be32
    3  NFTA_FIB_FLAGS           be32
""")
NFTA_NG = _space("NFTA_NG", """
    1  NFTA_NG_DREG             be32
    2  NFTA_NG_MODULUS          be32
    3  NFTA_NG_TYPE             be32
    4  NFTA_NG_OFFSET           be32
""")
NFTA_DYNSET = _space("NFTA_DYNSET", """
    1  NFTA_DYNSET_SET_NAME     asciiz
    2  NFTA_DYNSET_SET_ID       be32
    3  NFTA_DYNSET_OP           be32
    4  NFTA_DYNSET_SREG_KEY     be32
    5  NFTA_DYNSET_SREG_DATA    be32
    6  NFTA_DYNSET_TIMEOUT      be64
    7  NFTA_DYNSET_EXPR         nested
    9  NFTA_DYNSET_FLAGS        be32
    10 NFTA_DYNSET_EXPRESSIONS  nested
""")
NFTA_LOG = _space("NFTA_LOG", """
    1  NFTA_LOG_GROUP           be16
    2  NFTA_LOG_PREFIX          asciiz
    3  NFTA_LOG_SNAPLEN         be32
    4  NFTA_LOG_QTHRESHOLD      be16
    5  NFTA_LOG_LEVEL           be32
    6  NFTA_LOG_FLAGS           be32
""")
NFTA_LIMIT = _space("NFTA_LIMIT", """
    1  NFTA_LIMIT_RATE          be64
    2  NFTA_LIMIT_UNIT          be64
    3  NFTA_LIMIT_BURST         be32
    4  NFTA_LIMIT_TYPE          be32
    5  NFTA_LIMIT_FLAGS         be32
""")
NFTA_SOCKET = _space("NFTA_SOCKET", """
    1  NFTA_SOCKET_KEY          be32
    2  NFTA_SOCKET_DREG         be32
    3  NFTA_SOCKET_LEVEL        be32
""")
NFTA_MATCH = _space("NFTA_MATCH", """
    1  NFTA_MATCH_NAME          asciiz
    2  NFTA_MATCH_REV           be32
    3  NFTA_MATCH_INFO          binary
""")

# libnftnl user data: TLVs of one byte type, one byte length
NFTNL_UDATA_RULE_COMMENT = 0
NFTNL_UDATA_SET_KEYBYTEORDER, NFTNL_UDATA_SET_DATABYTEORDER = 0, 1
NFTNL_UDATA_SET_COMMENT = 7
NFTNL_UDATA_SET_ELEM_COMMENT = 0
NFTNL_UDATA_TABLE_COMMENT = 0
NFTNL_UDATA_CHAIN_COMMENT = 0

NFT_SET_ANONYMOUS, NFT_SET_CONSTANT, NFT_SET_INTERVAL, NFT_SET_MAP = 0x1, 0x2, 0x4, 0x8
NFT_SET_TIMEOUT, NFT_SET_EVAL, NFT_SET_OBJECT, NFT_SET_CONCAT = 0x10, 0x20, 0x40, 0x80
NFT_SET_ELEM_INTERVAL_END = 0x1
NFT_LOOKUP_F_INV = 0x1
NFT_REG_VERDICT = 0
NFT_REG32_00 = 8
NFT_DATA_VALUE_MAXLEN = 64

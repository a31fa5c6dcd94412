"""The kernel struct offsets netscope's probes read, taken from BTF and passed as -D flags."""

from __future__ import annotations

from netscope.trace.btf import Btf, BtfError

# -D name -> (struct, member path); every OFF_* used in probes/*.h and *.bpf.c is listed here
PROBE_OFFSETS: dict[str, tuple[str, str]] = {
    "OFF_SKB_DEV": ("sk_buff", "dev"),
    "OFF_SKB_SK": ("sk_buff", "sk"),
    "OFF_SKB_LEN": ("sk_buff", "len"),
    "OFF_SKB_PROTOCOL": ("sk_buff", "protocol"),
    "OFF_SKB_NETWORK_HEADER": ("sk_buff", "network_header"),
    "OFF_SKB_HEAD": ("sk_buff", "head"),
    "OFF_SKB_DATA": ("sk_buff", "data"),
    "OFF_DEV_IFINDEX": ("net_device", "ifindex"),
    "OFF_DEV_NET": ("net_device", "nd_net.net"),
    "OFF_NET_INUM": ("net", "ns.inum"),
    "OFF_SK_NET": ("sock_common", "skc_net.net"),
    "OFF_TASK_NSPROXY": ("task_struct", "nsproxy"),
    "OFF_NSPROXY_NET": ("nsproxy", "net_ns"),
    "OFF_FL4_OIF": ("flowi4", "__fl_common.flowic_oif"),
    "OFF_FL4_IIF": ("flowi4", "__fl_common.flowic_iif"),
    "OFF_FL4_PROTO": ("flowi4", "__fl_common.flowic_proto"),
    "OFF_FL4_SADDR": ("flowi4", "saddr"),
    "OFF_FL4_DADDR": ("flowi4", "daddr"),
    "OFF_FL4_SPORT": ("flowi4", "uli.ports.sport"),
    "OFF_FL4_DPORT": ("flowi4", "uli.ports.dport"),
    "OFF_NHC_DEV": ("fib_nh_common", "nhc_dev"),
    "OFF_SK_DADDR": ("sock_common", "skc_daddr"),
    "OFF_SK_SADDR": ("sock_common", "skc_rcv_saddr"),
    "OFF_SK_DPORT": ("sock_common", "skc_dport"),
    "OFF_SK_FAMILY": ("sock_common", "skc_family"),
    "OFF_SK_PROTOCOL": ("sock", "sk_protocol"),
}

# sizes the probes assume when they read a member (bytes)
EXPECTED_SIZES = {
    "OFF_SKB_LEN": 4, "OFF_SKB_PROTOCOL": 2, "OFF_SKB_NETWORK_HEADER": 2, "OFF_DEV_IFINDEX": 4,
    "OFF_NET_INUM": 4, "OFF_FL4_OIF": 4, "OFF_FL4_IIF": 4, "OFF_FL4_PROTO": 1,
    "OFF_FL4_SADDR": 4, "OFF_FL4_DADDR": 4, "OFF_FL4_SPORT": 2, "OFF_FL4_DPORT": 2,
    "OFF_SK_DADDR": 4, "OFF_SK_SADDR": 4, "OFF_SK_DPORT": 2, "OFF_SK_FAMILY": 2,
    "OFF_SK_PROTOCOL": 2,
}


def probe_offsets(btf: Btf) -> dict[str, int]:
    """Every OFF_* value for this kernel. Raises BtfError naming the member that is missing
    or has a size the probes do not expect."""
    out = {}
    for name, (struct_name, path) in PROBE_OFFSETS.items():
        info = btf.field(struct_name, path)
        want = EXPECTED_SIZES.get(name, 8)
        if info.size != want:
            raise BtfError(f"kernel {struct_name}.{path} is {info.size} bytes, probes read "
                           f"{want}: this kernel is not supported yet")
        out[name] = info.offset
    return out


def define_flags(values: dict[str, int | str]) -> list[str]:
    """bcc cflags for a set of -D values."""
    return [f"-D{name}={value}" for name, value in sorted(values.items())]

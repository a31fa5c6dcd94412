// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause (see NOTICE)
/* Reading kernel structs without the kernel's headers.
 *
 * The headers installed on a host may belong to another kernel, so every offset comes from
 * the running kernel's BTF and arrives as a -D flag (netscope/trace/offsets.py lists them).
 * Packet headers are declared here in the few bytes the probes read.
 */
#ifndef NETSCOPE_KERNEL_H
#define NETSCOPE_KERNEL_H

/* The licence these programs declare to the kernel: GPL-compatible, as the GPL-only helpers
 * they call (bpf_probe_read_kernel, bpf_get_current_task) require; bcc's footer turns it
 * into the program's license section. */
#define BPF_LICENSE Dual BSD/GPL

#if !defined(OFF_SKB_DEV) || !defined(OFF_NET_INUM)
#error "netscope probes need struct offsets from BTF as -D flags (netscope/trace/offsets.py)"
#endif

#define NS_ETH_P_IP   0x0008   /* htons(0x0800) as loaded on a little-endian CPU */
#define NS_ETH_P_IPV6 0xDD86   /* htons(0x86DD) */
#define NS_IPPROTO_ICMP   1
#define NS_IPPROTO_TCP    6
#define NS_IPPROTO_UDP    17
#define NS_IPPROTO_ICMPV6 58
#define NS_LOOPBACK_IFINDEX 1

/* A raw tracepoint hook. Not bcc's RAW_TRACEPOINT_PROBE: bcc attaches those as soon as the
 * program is compiled, and netscope compiles ahead (netscope/trace/loader.py: prepare, then
 * attach when asked, detach and attach again). The loader attaches every NS_RAW_TP(event)
 * it finds in the source to the tracepoint `event`. */
#define NS_RAW_TP(event) int ns_tp__##event(struct bpf_raw_tracepoint_args *ctx)

static __always_inline u64 ns_ptr(u64 base, u32 off)
{
    u64 v = 0;
    if (base)
        bpf_probe_read_kernel(&v, sizeof(v), (void *)(base + off));
    return v;
}

static __always_inline u32 ns_u32(u64 base, u32 off)
{
    u32 v = 0;
    if (base)
        bpf_probe_read_kernel(&v, sizeof(v), (void *)(base + off));
    return v;
}

static __always_inline u16 ns_u16(u64 base, u32 off)
{
    u16 v = 0;
    if (base)
        bpf_probe_read_kernel(&v, sizeof(v), (void *)(base + off));
    return v;
}

/* netns inode of a struct net */
static __always_inline u32 ns_net_inum(u64 net)
{
    return ns_u32(net, OFF_NET_INUM);
}

static __always_inline u32 ns_dev_netns(u64 dev)
{
    return ns_net_inum(ns_ptr(dev, OFF_DEV_NET));
}

static __always_inline u32 ns_dev_ifindex(u64 dev)
{
    return ns_u32(dev, OFF_DEV_IFINDEX);
}

static __always_inline u32 ns_sk_netns(u64 sk)
{
    return ns_net_inum(ns_ptr(sk, OFF_SK_NET));
}

/* the namespace of the task running now: right in process context only */
static __always_inline u32 ns_task_netns(void)
{
    u64 task = bpf_get_current_task();
    u64 nsproxy = ns_ptr(task, OFF_TASK_NSPROXY);
    return ns_net_inum(ns_ptr(nsproxy, OFF_NSPROXY_NET));
}

/* netns and ifindex of an skb: its device, else its socket, else the current task */
static __always_inline void ns_skb_place(u64 skb, u64 dev, u32 *netns, u32 *ifindex)
{
    if (!dev)
        dev = ns_ptr(skb, OFF_SKB_DEV);
    if (dev) {
        *netns = ns_dev_netns(dev);
        *ifindex = ns_dev_ifindex(dev);
        return;
    }
    u64 sk = ns_ptr(skb, OFF_SKB_SK);
    *netns = sk ? ns_sk_netns(sk) : ns_task_netns();
    *ifindex = 0;
}

struct ns_ip4_hdr {
    u8 ver_ihl;
    u8 tos;
    u16 tot_len;
    u16 id;
    u16 frag_off;
    u8 ttl;
    u8 protocol;
    u16 check;
    u32 saddr;
    u32 daddr;
};

struct ns_ip6_hdr {
    u32 ver_tc_flow;
    u16 payload_len;
    u8 nexthdr;
    u8 hop_limit;
    u8 saddr[16];
    u8 daddr[16];
};

/* the first 16 bytes of a TCP, UDP or ICMP header */
struct ns_l4_hdr {
    u16 sport;     /* icmp: type (low byte), code (high byte) */
    u16 dport;     /* icmp: checksum */
    u32 seq;       /* icmp: id (low 16 bits), sequence (high 16 bits) */
    u32 ack;
    u8 doff;
    u8 flags;
    u16 window;
};

static __always_inline void ns_parse_l4(u64 l4, u8 proto, struct ns_tuple *t)
{
    struct ns_l4_hdr h = {};
    if (bpf_probe_read_kernel(&h, sizeof(h), (void *)l4))
        return;
    if (proto == NS_IPPROTO_TCP || proto == NS_IPPROTO_UDP) {
        t->sport = __builtin_bswap16(h.sport);
        t->dport = __builtin_bswap16(h.dport);
        if (proto == NS_IPPROTO_TCP) {
            t->seq = __builtin_bswap32(h.seq);
            t->tcp_flags = h.flags;
        }
    } else if (proto == NS_IPPROTO_ICMP || proto == NS_IPPROTO_ICMPV6) {
        t->icmp_type = h.sport & 0xff;
        /* echo request/reply (v4: 8/0, v6: 128/129) carry an id and a sequence */
        if (t->icmp_type == 8 || t->icmp_type == 0 || t->icmp_type == 128 ||
            t->icmp_type == 129) {
            t->sport = t->dport = __builtin_bswap16(h.seq & 0xffff);
            t->seq = __builtin_bswap16(h.seq >> 16);
        }
    }
}

/* Parse the IP header at `l3` (and the ports/ids after it) into `t`. A program may define
 * NS_PREFILTER(t): called with addresses and protocol only; 0 means "not wanted, stop" and
 * the parse returns -2 without reading further. */
static __always_inline int ns_parse_l3(u64 l3, u16 protocol, struct ns_tuple *t)
{
    if (protocol == NS_ETH_P_IP) {
        struct ns_ip4_hdr ip = {};
        if (bpf_probe_read_kernel(&ip, sizeof(ip), (void *)l3) || (ip.ver_ihl >> 4) != 4)
            return -1;
        t->family = 4;
        t->proto = ip.protocol;
        t->ip_id = __builtin_bswap16(ip.id);
        __builtin_memcpy(t->saddr, &ip.saddr, 4);
        __builtin_memcpy(t->daddr, &ip.daddr, 4);
#ifdef NS_PREFILTER
        if (!NS_PREFILTER(t))
            return -2;
#endif
        if (!(ip.frag_off & 0xff1f))  /* first fragment or whole packet */
            ns_parse_l4(l3 + (ip.ver_ihl & 0xf) * 4, ip.protocol, t);
        return 0;
    }
    if (protocol == NS_ETH_P_IPV6) {
        struct ns_ip6_hdr ip6 = {};
        if (bpf_probe_read_kernel(&ip6, sizeof(ip6), (void *)l3))
            return -1;
        t->family = 6;
        t->proto = ip6.nexthdr;
        __builtin_memcpy(t->saddr, ip6.saddr, 16);
        __builtin_memcpy(t->daddr, ip6.daddr, 16);
#ifdef NS_PREFILTER
        if (!NS_PREFILTER(t))
            return -2;
#endif
        ns_parse_l4(l3 + sizeof(ip6), ip6.nexthdr, t);
        return 0;
    }
    return -1;
}

/* Where an skb's IP header is, or 0: at receive it is at skb->data (the MAC header was
 * pulled); elsewhere at head + network_header. */
static __always_inline u64 ns_skb_l3(u64 skb, int l3_at_data, u16 *protocol)
{
    /* every packet of the host passes here: one read where the layout allows it
     * (protocol, network_header, head and data within 48 bytes, as on 6.x kernels) */
#if OFF_SKB_NETWORK_HEADER > OFF_SKB_PROTOCOL && OFF_SKB_HEAD > OFF_SKB_NETWORK_HEADER && \
    OFF_SKB_DATA == OFF_SKB_HEAD + 8 && OFF_SKB_DATA + 8 - OFF_SKB_PROTOCOL <= 48
    u8 block[OFF_SKB_DATA + 8 - OFF_SKB_PROTOCOL];
    if (bpf_probe_read_kernel(block, sizeof(block), (void *)(skb + OFF_SKB_PROTOCOL)))
        return 0;
    u16 nh;
    u64 head, data;
    __builtin_memcpy(protocol, block, 2);
    __builtin_memcpy(&nh, block + (OFF_SKB_NETWORK_HEADER - OFF_SKB_PROTOCOL), 2);
    __builtin_memcpy(&head, block + (OFF_SKB_HEAD - OFF_SKB_PROTOCOL), 8);
    __builtin_memcpy(&data, block + (OFF_SKB_DATA - OFF_SKB_PROTOCOL), 8);
    if (*protocol != NS_ETH_P_IP && *protocol != NS_ETH_P_IPV6)
        return 0;
    if (l3_at_data)
        return data;
    return nh == 0xffff ? 0 : head + nh;
#else
#if OFF_SKB_NETWORK_HEADER == OFF_SKB_PROTOCOL + 4
    u64 words = 0;
    bpf_probe_read_kernel(&words, sizeof(words), (void *)(skb + OFF_SKB_PROTOCOL));
    *protocol = (u16)words;
    u16 nh = (u16)(words >> 32);
#else
    *protocol = ns_u16(skb, OFF_SKB_PROTOCOL);
    u16 nh = ns_u16(skb, OFF_SKB_NETWORK_HEADER);
#endif
    if (*protocol != NS_ETH_P_IP && *protocol != NS_ETH_P_IPV6)
        return 0;
    if (l3_at_data)
        return ns_ptr(skb, OFF_SKB_DATA);
    if (nh == 0xffff)
        return 0;
    return ns_ptr(skb, OFF_SKB_HEAD) + nh;
#endif
}

static __always_inline int ns_parse_skb(u64 skb, int l3_at_data, struct ns_tuple *t)
{
    u16 protocol;
    u64 l3 = ns_skb_l3(skb, l3_at_data, &protocol);
    return l3 ? ns_parse_l3(l3, protocol, t) : -1;
}

/* Just the IPv4 addresses and protocol (no ports): what a cheap first look needs.
 * Returns the family (4), 6 for IPv6 (addresses not read), 0 for anything else. */
static __always_inline int ns_peek_ip4(u64 skb, int l3_at_data, struct ns_tuple *t)
{
    u16 protocol;
    u64 l3 = ns_skb_l3(skb, l3_at_data, &protocol);
    if (!l3)
        return 0;
    if (protocol == NS_ETH_P_IPV6)
        return 6;
    struct ns_ip4_hdr ip = {};
    if (bpf_probe_read_kernel(&ip, sizeof(ip), (void *)l3) || (ip.ver_ihl >> 4) != 4)
        return 0;
    t->family = 4;
    t->proto = ip.protocol;
    __builtin_memcpy(t->saddr, &ip.saddr, 4);
    __builtin_memcpy(t->daddr, &ip.daddr, 4);
    return 4;
}

#endif

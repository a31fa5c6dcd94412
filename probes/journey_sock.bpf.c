// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause (see NOTICE)
/* Packet-journey tracer: local TCP sockets whose own addresses match the filter.
 *   sock:inet_sock_set_state(const struct sock *sk, int oldstate, int newstate)
 * A connect() from this host to an address that nat OUTPUT rewrites (a published port
 * reached from the host itself) is rewritten before any skb hook sees the packet. The
 * socket keeps the address the application asked for: on SYN_SENT it is remembered, and
 * its packets are then followed by skb->sk (journey_common.bpf.c), their rewritten tuple
 * learnt so that the replies are followed too. Needs journey_common.bpf.c before it.
 */

#define NS_TCP_SYN_SENT 2
#define NS_TCP_CLOSE    7
#define NS_AF_INET      2

NS_RAW_TP(inet_sock_set_state)
{
    u64 sk = ctx->args[0];
    int newstate = (int)ctx->args[2];
    if (newstate == NS_TCP_CLOSE) {
        if (ns_state(2))
            socks.delete(&sk);
        return 0;
    }
    if (newstate != NS_TCP_SYN_SENT || ns_u16(sk, OFF_SK_FAMILY) != NS_AF_INET ||
        ns_u16(sk, OFF_SK_PROTOCOL) != NS_IPPROTO_TCP)
        return 0;
    struct ns_event ev = {};
    struct ns_tuple *t = &ev.tuple;
    u32 saddr = ns_u32(sk, OFF_SK_SADDR), daddr = ns_u32(sk, OFF_SK_DADDR);
    t->family = 4;
    t->proto = NS_IPPROTO_TCP;
    __builtin_memcpy(t->saddr, &saddr, 4);
    __builtin_memcpy(t->daddr, &daddr, 4);
    t->dport = __builtin_bswap16(ns_u16(sk, OFF_SK_DPORT));
    t->tcp_flags = 0x02;
    /* the source port is not chosen yet: the filter sees sport 0 */
    if (ns_filter(t) != NS_DIR_FORWARD)
        return 0;
    u8 d = NS_DIR_FORWARD;
    socks.update(&sk, &d);
    ns_state_set(2);
    ev.ts_ns = bpf_ktime_get_ns();
    ev.hook = NS_HOOK_CONNECT;
    ev.flags = NS_F_TUPLE;
    ev.cpu = bpf_get_smp_processor_id();
    ev.netns = ns_sk_netns(sk);
    ns_output(&ev);
    return 0;
}

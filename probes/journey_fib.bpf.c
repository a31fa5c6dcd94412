// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause (see NOTICE)
/* Packet-journey tracer: routing decisions.
 *   fib:fib_table_lookup(u32 tb_id, const struct flowi4 *flp,
 *                        const struct fib_nh_common *nhc, int err)
 * One event per table looked up; -EAGAIN means "no match in this table, try the next rule".
 * The lookup has no skb and no namespace. An input lookup runs right after its packet's
 * receive event on the same CPU (last_rx); an output lookup that found a route is named by
 * the route's device; one that failed by the packet the stack is handling on this CPU
 * (softirq: ICMP replies and errors, SYN-ACKs), else by the sending task.
 * Needs journey_common.bpf.c before it.
 */

NS_RAW_TP(fib_table_lookup)
{
    u64 flp = ctx->args[1];
    u64 nhc = ctx->args[2];
    struct ns_event ev = {};
    struct ns_tuple *t = &ev.tuple;
    u32 saddr = ns_u32(flp, OFF_FL4_SADDR), daddr = ns_u32(flp, OFF_FL4_DADDR);
    u8 proto = 0;
    bpf_probe_read_kernel(&proto, 1, (void *)(flp + OFF_FL4_PROTO));
    t->family = 4;
    t->proto = proto;
    struct ns_filter_cfg *c = ns_cfg();
    /* an unbound socket's output lookup has no source yet (it is what the lookup picks):
     * filter it as if it had the filter's source; the event still says 0.0.0.0 */
    u32 unbound = !saddr;
    if (unbound && c && (c->set & NS_FLT_SRC4))
        saddr = c->src4;
    __builtin_memcpy(t->saddr, &saddr, 4);
    __builtin_memcpy(t->daddr, &daddr, 4);
    u32 zero = 0;
    struct ns_last_rx *rx = last_rx.lookup(&zero);
    /* most lookups are for packets nobody asked about: stop before reading more */
    if (!(rx && rx->selected) && !ns_prefilter(t))
        return 0;
    if (proto == NS_IPPROTO_TCP || proto == NS_IPPROTO_UDP) {
        t->sport = __builtin_bswap16(ns_u16(flp, OFF_FL4_SPORT));
        t->dport = __builtin_bswap16(ns_u16(flp, OFF_FL4_DPORT));
    }
    u32 iif = ns_u32(flp, OFF_FL4_IIF);
    /* an input lookup of the packet just received (its ports may not be in flp) */
    int input = rx && rx->selected && iif != NS_LOOPBACK_IFINDEX && rx->ifindex == iif;
    if (input) {
        ev.flags |= NS_F_TUPLE | rx->flags;
    } else if (!ns_select(0, t, &ev.flags)) {
        return 0;
    }
    ev.ts_ns = bpf_ktime_get_ns();
    ev.hook = NS_HOOK_FIB;
    ev.fib_table = (u32)ctx->args[0];
    ev.result = (s32)ctx->args[3];
    ev.cpu = bpf_get_smp_processor_id();
    if (nhc)
        ev.fib_oif = ns_dev_ifindex(ns_ptr(nhc, OFF_NHC_DEV));
    if (input) {
        ev.netns = rx->netns;
        ev.ifindex = iif;
        ev.skb = rx->skb;
    } else {
        /* still handling a received packet on this CPU (softirq: an ICMP reply or error,
         * a SYN-ACK)? A packet queued to a socket never says it left: bound it in time */
        int in_rx = rx && rx->selected && ev.ts_ns - rx->ts_ns < NS_RX_WINDOW_NS;
        if (in_rx) {
            ev.skb = rx->skb;
            ev.flags |= NS_F_IN_RX;
        }
        if (nhc) {
            /* a route was found: its device says which namespace looked it up */
            u64 dev = ns_ptr(nhc, OFF_NHC_DEV);
            ev.netns = ns_dev_netns(dev);
            ev.ifindex = ns_dev_ifindex(dev);
        } else if (in_rx) {
            ev.netns = rx->netns;
        } else {
            ev.netns = ns_task_netns();
            ev.flags |= NS_F_TASK_NS;
        }
    }
    ns_output(&ev);
    return 0;
}

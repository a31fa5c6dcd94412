// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause (see NOTICE)
/* Packet-journey tracer: the skb hooks (raw tracepoints, no kprobes needed).
 *   net:netif_receive_skb(skb)               a device hands the packet to the stack
 *   net:net_dev_queue(skb)                   queued for transmit on skb->dev
 *   net:net_dev_xmit(skb, rc, dev, len)      the driver took it (rc != 0: refused)
 *   skb:kfree_skb(skb, location, reason, sk) dropped
 *   skb:consume_skb(skb, location)           freed after normal use
 * Every hook only stores its arguments and tail-calls one worker (ns_skb_worker, put in
 * `skb_workers` by the loader): one compiled copy of the per-packet work instead of five
 * inlined ones halves the compile time, that is the attach time.
 * Needs journey_common.bpf.c before it.
 */

struct ns_hook_args {
    u64 skb;
    u64 dev;
    u64 location;
    u32 reason;
    s32 result;
    u8 hook;
    u8 l3_at_data;
};

BPF_PERCPU_ARRAY(hook_args, struct ns_hook_args, 1);
BPF_PROG_ARRAY(skb_workers, 1);


int ns_skb_worker(struct bpf_raw_tracepoint_args *ctx)
{
    u32 zero = 0;
    struct ns_hook_args *a = hook_args.lookup(&zero);
    if (!a)
        return 0;
    u64 skb = a->skb, dev = a->dev, location = a->location;
    u32 reason = a->reason;
    s32 result = a->result;
    u8 hook = a->hook;
    int l3_at_data = a->l3_at_data;
    struct ns_event ev = {};
    struct ns_last_rx *rx = hook == NS_HOOK_RECEIVE ? last_rx.lookup(&zero) : 0;
    if (ns_parse_skb(skb, l3_at_data, &ev.tuple) == -2)
        return 0;
    if (!ns_select(skb, &ev.tuple, &ev.flags))
        return 0;
    ev.ts_ns = bpf_ktime_get_ns();
    ev.skb = skb;
    ev.hook = hook;
    ev.reason = reason;
    ev.location = location;
    ev.result = result;
    ev.len = ns_u32(skb, OFF_SKB_LEN);
    ev.cpu = bpf_get_smp_processor_id();
    ns_skb_place(skb, dev, &ev.netns, &ev.ifindex);
    ns_output(&ev);
    if (rx) {
        rx->ts_ns = ev.ts_ns;
        rx->netns = ev.netns;
        rx->ifindex = ev.ifindex;
        rx->flags = ev.flags & NS_F_REPLY;
        rx->selected = 1;
    } else {
        if (hook == NS_HOOK_DROP || hook == NS_HOOK_CONSUME)
            followed.delete(&skb);
        /* the received packet left the stack's hands: later lookups are not about it */
        rx = last_rx.lookup(&zero);
        if (rx && rx->skb == skb)
            rx->selected = 0;
    }
    return 0;
}

/* Could this packet be wanted? Answered from its IP header alone while nothing is
 * followed: most packets on a busy host stop here, before any tail call. */
static __always_inline int ns_maybe_wanted(u64 skb, int l3_at_data)
{
    if (ns_state(NS_STATE_ANY))
        return 1;
    struct ns_tuple t = {};
    int family = ns_peek_ip4(skb, l3_at_data, &t);
    if (family == 4)
        return ns_prefilter(&t);
    if (family != 6)
        return 0;
    /* an IPv4 address filter never matches IPv6 */
    struct ns_filter_cfg *c = ns_cfg();
    return c && !(c->set & (NS_FLT_SRC4 | NS_FLT_DST4));
}

static __always_inline int ns_hook(struct bpf_raw_tracepoint_args *ctx, u8 hook, u64 dev,
                                   u64 location, u32 reason, s32 result)
{
    u32 zero = 0;
    u64 skb = ctx->args[0];
    if (hook == NS_HOOK_RECEIVE) {
        /* every receive resets this CPU's "packet being handled" (journey_fib.bpf.c) */
        struct ns_last_rx *rx = last_rx.lookup(&zero);
        if (rx) {
            rx->skb = skb;
            rx->selected = 0;
        }
    }
    if (!ns_maybe_wanted(skb, hook == NS_HOOK_RECEIVE))
        return 0;
    struct ns_hook_args *a = hook_args.lookup(&zero);
    if (!a)
        return 0;
    a->skb = skb;
    a->dev = dev;
    a->location = location;
    a->reason = reason;
    a->result = result;
    a->hook = hook;
    a->l3_at_data = hook == NS_HOOK_RECEIVE;
    skb_workers.call(ctx, 0);
    return 0;
}

NS_RAW_TP(netif_receive_skb)
{
    return ns_hook(ctx, NS_HOOK_RECEIVE, 0, 0, 0, 0);
}

NS_RAW_TP(net_dev_queue)
{
    return ns_hook(ctx, NS_HOOK_QUEUE, 0, 0, 0, 0);
}

NS_RAW_TP(net_dev_xmit)
{
    return ns_hook(ctx, NS_HOOK_XMIT, ctx->args[2], 0, 0, (s32)ctx->args[1]);
}

NS_RAW_TP(kfree_skb)
{
    return ns_hook(ctx, NS_HOOK_DROP, 0, ctx->args[1], (u32)ctx->args[2], 0);
}

NS_RAW_TP(consume_skb)
{
    return ns_hook(ctx, NS_HOOK_CONSUME, 0, ctx->args[1], 0, 0);
}

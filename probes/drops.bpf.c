// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause (see NOTICE)
/* Drop monitor: every skb:kfree_skb counted in the kernel per (netns, device, reason,
 * location), with the tuple of the latest packet dropped there.
 *
 * Raw tracepoint, so it needs neither tracefs nor kprobes:
 *   kfree_skb(struct sk_buff *skb, void *location, enum skb_drop_reason reason, ...)
 * -D flags: OFF_* (netscope/trace/offsets.py), DROP_KEYS (aggregation map size).
 */
#include "netscope_events.h"
#include "netscope_kernel.h"

BPF_HASH(drops, struct ns_drop_key, struct ns_drop_val, DROP_KEYS);
BPF_PERCPU_ARRAY(counters, u64, NS_CNT_SLOTS);

static __always_inline void ns_count(u32 slot)
{
    u64 *n = counters.lookup(&slot);
    if (n)
        (*n)++;
}

NS_RAW_TP(kfree_skb)
{
    u64 skb = ctx->args[0];
    struct ns_drop_key key = {};
    key.location = ctx->args[1];
    key.reason = (u32)ctx->args[2];
    ns_skb_place(skb, 0, &key.netns, &key.ifindex);

    struct ns_drop_val *val = drops.lookup(&key);
    if (!val) {
        struct ns_drop_val zero = {};
        drops.insert(&key, &zero);
        val = drops.lookup(&key);
        if (!val) {
            ns_count(NS_CNT_DROPKEYS);
            return 0;
        }
    }
    __sync_fetch_and_add(&val->count, 1);
    val->last_ts_ns = bpf_ktime_get_ns();
    struct ns_tuple t = {};
    ns_parse_skb(skb, 0, &t);
    __builtin_memcpy(&val->last, &t, sizeof(t));
    ns_count(NS_CNT_DROPS);
    return 0;
}

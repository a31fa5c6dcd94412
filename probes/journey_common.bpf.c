// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause (see NOTICE)
/* Packet-journey tracer, shared part: maps, the in-kernel filter and packet following.
 *
 * A packet is selected when its tuple matches the filter (-D FILTER_*) in either direction,
 * or a tuple learnt from a NAT rewrite, or when its skb is already followed. A followed skb
 * whose tuple changed was rewritten (DNAT/SNAT): the new tuple and its reverse are learnt, so
 * the rewritten packet and its replies stay followed.
 * -D flags: OFF_* (offsets.py), FOLLOW_MAX, LEARN_MAX, SOCK_MAX, RINGBUF_PAGES,
 *   FILTER_SRC4 / FILTER_DST4 (IPv4 as loaded from the packet), FILTER_PROTO, FILTER_PORT.
 */
#include "netscope_events.h"

static __always_inline int ns_prefilter(struct ns_tuple *t);
#define NS_PREFILTER(t) ns_prefilter(t)
#include "netscope_kernel.h"

#define NS_DIR_FORWARD 1
#define NS_DIR_REPLY   2
#define NS_RX_WINDOW_NS 1000000  /* the stack handles one received packet within 1 ms */

struct ns_flow {
    u8  saddr[16];
    u8  daddr[16];
    u16 sport;
    u16 dport;
    u8  proto;
    u8  pad[3];
};

struct ns_followed {
    struct ns_tuple tuple;
    u8 dir;
};

/* the latest packet received on this CPU: the fib lookups of a forwarded packet run right
 * after its receive, in the same softirq; netns/ifindex/flags are set when it was selected */
struct ns_last_rx {
    u64 skb;
    u64 ts_ns;
    u32 netns;
    u32 ifindex;
    u8 selected;
    u8 flags;
};

BPF_RINGBUF_OUTPUT(events, RINGBUF_PAGES);
BPF_PERCPU_ARRAY(counters, u64, NS_CNT_SLOTS);
BPF_TABLE("lru_hash", u64, struct ns_followed, followed, FOLLOW_MAX);
BPF_HASH(learnt, struct ns_flow, u8, LEARN_MAX);
BPF_PERCPU_ARRAY(last_rx, struct ns_last_rx, 1);
/* local TCP sockets whose own addresses match the filter (journey_sock.bpf.c) -> direction */
BPF_HASH(socks, u64, u8, SOCK_MAX);
/* [0]: some skb was ever followed, [1]: some tuple was ever learnt, [2]: some socket is
 * followed. While all are 0 the maps are empty, and a packet the filter rejects costs no
 * map lookup at all */
BPF_ARRAY(state, u32, 3);

static __always_inline u32 ns_state(u32 slot)
{
    u32 *v = state.lookup(&slot);
    return v ? *v : 0;
}

static __always_inline void ns_state_set(u32 slot)
{
    u32 *v = state.lookup(&slot);
    if (v && !*v)
        *v = 1;
}

static __always_inline void ns_count(u32 slot)
{
    u64 *n = counters.lookup(&slot);
    if (n)
        (*n)++;
}

static __always_inline void ns_output(struct ns_event *ev)
{
    if (events.ringbuf_output(ev, sizeof(*ev), 0))
        ns_count(NS_CNT_LOST);
    else
        ns_count(NS_CNT_EMITTED);
}

static __always_inline u32 ns_addr4(const u8 *a)
{
    u32 v;
    __builtin_memcpy(&v, a, 4);
    return v;
}

/* NS_DIR_FORWARD, NS_DIR_REPLY, or 0 */
static __always_inline int ns_filter(struct ns_tuple *t)
{
    int fwd = 1, rev = 1;
#ifdef FILTER_PROTO
    if (t->proto != FILTER_PROTO)
        return 0;
#endif
#if defined(FILTER_SRC4) || defined(FILTER_DST4)
    if (t->family != 4)
        return 0;
    u32 s = ns_addr4(t->saddr), d = ns_addr4(t->daddr);
#endif
#ifdef FILTER_SRC4
    fwd &= s == FILTER_SRC4;
    rev &= d == FILTER_SRC4;
#endif
#ifdef FILTER_DST4
    fwd &= d == FILTER_DST4;
    rev &= s == FILTER_DST4;
#endif
#ifdef FILTER_PORT
    fwd &= t->dport == FILTER_PORT;
    rev &= t->sport == FILTER_PORT;
#endif
    return fwd ? NS_DIR_FORWARD : (rev ? NS_DIR_REPLY : 0);
}

/* The packet's addresses and protocol cannot match and nothing is followed or learnt:
 * skip it before its ports are read. */
static __always_inline int ns_prefilter(struct ns_tuple *t)
{
    int fwd = 1, rev = 1;
#ifdef FILTER_PROTO
    fwd = rev = t->proto == FILTER_PROTO;
#endif
#if defined(FILTER_SRC4) || defined(FILTER_DST4)
    if (t->family != 4) {
        fwd = rev = 0;
    } else {
        u32 s = ns_addr4(t->saddr), d = ns_addr4(t->daddr);
#ifdef FILTER_SRC4
        fwd &= s == FILTER_SRC4;
        rev &= d == FILTER_SRC4;
#endif
#ifdef FILTER_DST4
        fwd &= d == FILTER_DST4;
        rev &= s == FILTER_DST4;
#endif
    }
#endif
    return fwd || rev || ns_state(0) || ns_state(1) || ns_state(2);
}

static __always_inline void ns_flow_of(struct ns_tuple *t, struct ns_flow *f, int reverse)
{
    if (reverse) {
        __builtin_memcpy(f->saddr, t->daddr, 16);
        __builtin_memcpy(f->daddr, t->saddr, 16);
        f->sport = t->dport;
        f->dport = t->sport;
    } else {
        __builtin_memcpy(f->saddr, t->saddr, 16);
        __builtin_memcpy(f->daddr, t->daddr, 16);
        f->sport = t->sport;
        f->dport = t->dport;
    }
    f->proto = t->proto;
}

static __always_inline int ns_same_end(const u8 *a, u16 ap, const u8 *b, u16 bp)
{
    u64 a0, a1, b0, b1;
    __builtin_memcpy(&a0, a, 8);
    __builtin_memcpy(&a1, a + 8, 8);
    __builtin_memcpy(&b0, b, 8);
    __builtin_memcpy(&b1, b + 8, 8);
    return a0 == b0 && a1 == b1 && ap == bp;
}

/* 0: unchanged, 1: rewritten by NAT (one end kept), 2: another packet reused the skb */
static __always_inline int ns_rewrite_kind(struct ns_tuple *old, struct ns_tuple *now)
{
    int src = ns_same_end(old->saddr, old->sport, now->saddr, now->sport);
    int dst = ns_same_end(old->daddr, old->dport, now->daddr, now->dport);
    if (src && dst)
        return 0;
    if (old->proto == now->proto && old->family == now->family && (src || dst))
        return 1;
    return 2;
}

static __always_inline void ns_learn(struct ns_tuple *t, u8 dir)
{
    struct ns_flow f = {};
    u8 back = dir == NS_DIR_FORWARD ? NS_DIR_REPLY : NS_DIR_FORWARD;
    ns_flow_of(t, &f, 0);
    learnt.update(&f, &dir);
    ns_flow_of(t, &f, 1);
    learnt.update(&f, &back);
    ns_state_set(1);
}

/* Decide whether to report this packet; sets NS_F_* in *flags. skb may be 0 (fib events). */
static __always_inline int ns_select(u64 skb, struct ns_tuple *t, u8 *flags)
{
    int dir = 0;
    if (t->family) {
        *flags |= NS_F_TUPLE;
        dir = ns_filter(t);
        if (!dir && ns_state(1)) {
            struct ns_flow f = {};
            ns_flow_of(t, &f, 0);
            u8 *learnt_dir = learnt.lookup(&f);
            if (learnt_dir)
                dir = *learnt_dir;
        }
    }
    if (!dir && skb && t->family && ns_state(2)) {
        /* sent by a followed socket: nat OUTPUT rewrote it before any hook saw it */
        u64 sk = ns_ptr(skb, OFF_SKB_SK);
        u8 *sock_dir = sk ? socks.lookup(&sk) : 0;
        if (sock_dir) {
            dir = *sock_dir;
            *flags |= NS_F_REWRITTEN;
            ns_learn(t, dir);
        }
    }
    struct ns_followed *fw = skb && ns_state(0) ? followed.lookup(&skb) : 0;
    if (fw && t->family) {
        int kind = ns_rewrite_kind(&fw->tuple, t);
        if (kind == 2) {
            /* a stale entry: this skb address now holds another packet (the last one was
             * freed where no tracepoint fires, as TCP does) */
            if (!dir) {
                followed.delete(&skb);
                return 0;
            }
            __builtin_memcpy(&fw->tuple, t, sizeof(*t));
            fw->dir = dir;
        }
        if (kind == 1) {
            *flags |= NS_F_REWRITTEN;
            if (!dir) {
                dir = fw->dir;
                ns_learn(t, fw->dir);
            }
            __builtin_memcpy(&fw->tuple, t, sizeof(*t));
        }
    }
    if (fw && !dir) {
        dir = fw->dir;
        *flags |= NS_F_FOLLOWED;
    }
    if (!dir)
        return 0;
    if (!fw && skb) {
        struct ns_followed nf = {};
        __builtin_memcpy(&nf.tuple, t, sizeof(*t));
        nf.dir = dir;
        followed.update(&skb, &nf);
        ns_state_set(0);
    }
    if (dir == NS_DIR_REPLY)
        *flags |= NS_F_REPLY;
    return 1;
}

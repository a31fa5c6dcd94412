// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause (see NOTICE)
/* Packet-journey tracer, shared part: maps, the in-kernel filter and packet following.
 *
 * A packet is selected when its tuple matches the filter (filter_cfg) in either direction,
 * or a tuple learnt from a NAT rewrite, or when its skb is already followed. A followed skb
 * whose tuple changed was rewritten (DNAT/SNAT): the new tuple and its reverse are learnt, so
 * the rewritten packet and its replies stay followed.
 * -D flags: OFF_* (offsets.py), FOLLOW_MAX, LEARN_MAX, SOCK_MAX, RINGBUF_PAGES.
 * The filter is not compiled in: user space writes it into `filter_cfg` before attaching
 * (netscope/trace/tracer.py), so one compiled program serves every trace of a session.
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
 * followed, [3]: any of these. While [3] is 0 the maps are empty, and a packet the filter
 * rejects costs one lookup of it */
BPF_ARRAY(state, u32, 4);
#define NS_STATE_ANY 3

/* the filter: which of its fields are set, then their values (user space writes it) */
#define NS_FLT_SRC4  0x1
#define NS_FLT_DST4  0x2
#define NS_FLT_PROTO 0x4
#define NS_FLT_PORT  0x8
struct ns_filter_cfg {
    u32 src4;   /* IPv4 addresses as loaded from the packet (network order bytes) */
    u32 dst4;
    u16 port;   /* destination port of the forward direction */
    u8 proto;
    u8 set;     /* NS_FLT_* */
};
BPF_ARRAY(filter_cfg, struct ns_filter_cfg, 1);

static __always_inline struct ns_filter_cfg *ns_cfg(void)
{
    u32 zero = 0;
    return filter_cfg.lookup(&zero);
}

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
    u32 any = NS_STATE_ANY;
    v = state.lookup(&any);
    if (v && !*v)
        *v = 1;
}

static __always_inline void ns_count(u32 slot)
{
    u64 *n = counters.lookup(&slot);
    if (n)
        (*n)++;
}

/* The reader is woken once every NS_WAKE_EVERY events a CPU emits, not whenever it has
 * caught up (the default): on a busy flow that was a wakeup every few events, ~6,000 a
 * second, each an irq_work here and an epoll return there (1.0-1.3 us a probe run instead
 * of ...). The reader polls with a timeout and reads what is there, so a trickle of events
 * waits at most that long. */
#define NS_WAKE_EVERY 256

static __always_inline void ns_output(struct ns_event *ev)
{
    u32 slot = NS_CNT_EMITTED;
    u64 *emitted = counters.lookup(&slot);
    u64 flags = emitted && (*emitted & (NS_WAKE_EVERY - 1)) == NS_WAKE_EVERY - 1
        ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
    if (events.ringbuf_output(ev, sizeof(*ev), flags))
        ns_count(NS_CNT_LOST);
    else if (emitted)
        (*emitted)++;
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
    struct ns_filter_cfg *c = ns_cfg();
    if (!c)
        return 0;
    u8 set = c->set;
    int fwd = 1, rev = 1;
    if ((set & NS_FLT_PROTO) && t->proto != c->proto)
        return 0;
    if (set & (NS_FLT_SRC4 | NS_FLT_DST4)) {
        if (t->family != 4)
            return 0;
        u32 s = ns_addr4(t->saddr), d = ns_addr4(t->daddr);
        if (set & NS_FLT_SRC4) {
            fwd &= s == c->src4;
            rev &= d == c->src4;
        }
        if (set & NS_FLT_DST4) {
            fwd &= d == c->dst4;
            rev &= s == c->dst4;
        }
    }
    if (set & NS_FLT_PORT) {
        fwd &= t->dport == c->port;
        rev &= t->sport == c->port;
    }
    /* both ways at once: a packet to its own address (src == dst, 127.0.0.1 included) has
     * no side the addresses can tell; an ICMP echo reply is the answer */
    if (fwd && rev && (t->proto == 1 || t->proto == 58))
        return t->icmp_type == 0 || t->icmp_type == 129 ? NS_DIR_REPLY : NS_DIR_FORWARD;
    return fwd ? NS_DIR_FORWARD : (rev ? NS_DIR_REPLY : 0);
}

/* The packet's addresses and protocol cannot match and nothing is followed or learnt:
 * skip it before its ports are read. */
static __always_inline int ns_prefilter(struct ns_tuple *t)
{
    struct ns_filter_cfg *c = ns_cfg();
    if (!c)
        return 0;
    u8 set = c->set;
    int fwd = 1, rev = 1;
    if (set & NS_FLT_PROTO)
        fwd = rev = t->proto == c->proto;
    if (set & (NS_FLT_SRC4 | NS_FLT_DST4)) {
        if (t->family != 4) {
            fwd = rev = 0;
        } else {
            u32 s = ns_addr4(t->saddr), d = ns_addr4(t->daddr);
            if (set & NS_FLT_SRC4) {
                fwd &= s == c->src4;
                rev &= d == c->src4;
            }
            if (set & NS_FLT_DST4) {
                fwd &= d == c->dst4;
                rev &= s == c->dst4;
            }
        }
    }
    return fwd || rev || ns_state(NS_STATE_ANY);
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

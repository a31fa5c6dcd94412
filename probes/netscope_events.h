// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause (see NOTICE)
/* Event structs shared by netscope's probes and mirrored by netscope/trace/events.py.
 *
 * Keep the field order, sizes and padding in step with events.py: the Python side decodes
 * these bytes with ctypes structures declared in the same order.
 */
#ifndef NETSCOPE_EVENTS_H
#define NETSCOPE_EVENTS_H

/* where in the stack an event was seen */
#define NS_HOOK_RECEIVE 1   /* net:netif_receive_skb: a device handed the packet to the stack */
#define NS_HOOK_QUEUE   2   /* net:net_dev_queue: queued for transmit on a device */
#define NS_HOOK_XMIT    3   /* net:net_dev_xmit: the device driver took it (rc in `result`) */
#define NS_HOOK_DROP    4   /* skb:kfree_skb: freed as a drop (reason, location) */
#define NS_HOOK_CONSUME 5   /* skb:consume_skb: freed after normal use (delivered, replied) */
#define NS_HOOK_FIB     6   /* fib:fib_table_lookup: one routing table looked up */
#define NS_HOOK_CONNECT 7   /* sock:inet_sock_set_state to SYN_SENT: a local TCP connect() */

/* event flags */
#define NS_F_REPLY     0x01 /* the packet runs from the filter's destination to its source */
#define NS_F_TUPLE     0x02 /* the tuple was parsed (IPv4/IPv6 header found) */
#define NS_F_FOLLOWED  0x04 /* matched only because this skb was already followed */
#define NS_F_REWRITTEN 0x08 /* the tuple differs from the one this skb had before (NAT) */
#define NS_F_TASK_NS   0x10 /* fib: netns is the current task's: right in process context only */
#define NS_F_IN_RX     0x20 /* fib: an output lookup made while the stack handled the received
                               packet `skb` (an ICMP reply, a SYN-ACK, an ICMP error) */

/* counters[] slots */
#define NS_CNT_LOST     0   /* events the ring buffer had no room for */
#define NS_CNT_EMITTED  1   /* events written */
#define NS_CNT_DROPS    2   /* drops counted by the drop monitor */
#define NS_CNT_DROPKEYS 3   /* drops not counted: aggregation map full */
#define NS_CNT_SLOTS    4

/* addresses are in network byte order; IPv4 uses the first 4 bytes; ports in host order;
 * for ICMP echo, sport = dport = echo id and seq = echo sequence; for TCP, seq = sequence */
struct ns_tuple {
    __u8  saddr[16];
    __u8  daddr[16];
    __u16 sport;
    __u16 dport;
    __u8  family;        /* 4 or 6, 0 when not parsed */
    __u8  proto;
    __u8  icmp_type;
    __u8  tcp_flags;
    __u16 ip_id;
    __u16 pad;
    __u32 seq;
};

struct ns_event {
    __u64 ts_ns;         /* bpf_ktime_get_ns */
    __u64 skb;           /* skb address: identity of the packet while it lives */
    __u64 location;      /* drop: kernel address that freed it */
    __u32 netns;         /* network namespace inode */
    __u32 ifindex;       /* device in that namespace, 0 when none */
    __u32 reason;        /* drop: enum skb_drop_reason */
    __u32 len;           /* skb->len */
    __s32 result;        /* xmit: driver rc; fib: lookup result (0 or -errno) */
    __u32 fib_table;     /* fib: table id */
    __u32 fib_oif;       /* fib: ifindex of the chosen next hop device */
    __u8  hook;          /* NS_HOOK_* */
    __u8  flags;         /* NS_F_* */
    __u16 cpu;
    struct ns_tuple tuple;
};

/* drop monitor: aggregated in the kernel per (netns, device, reason, location) */
struct ns_drop_key {
    __u32 netns;
    __u32 ifindex;
    __u32 reason;
    __u32 pad;
    __u64 location;
};

struct ns_drop_val {
    __u64 count;
    __u64 last_ts_ns;
    struct ns_tuple last;  /* tuple of the latest packet dropped here */
};

#endif

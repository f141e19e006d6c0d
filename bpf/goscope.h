/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one header shared by the BPF programs and the C++ user space:
 * ring-buffer record layouts, the counters BPF keeps, and the Go runtime
 * offsets handed to BPF at load time. Plain C, fixed-width types only, every
 * struct padded explicitly and its size asserted on both sides.
 */
#ifndef GOSCOPE_BPF_GOSCOPE_H
#define GOSCOPE_BPF_GOSCOPE_H

#include <linux/types.h>

#ifdef __cplusplus
#define GS_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define GS_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* Every ring-buffer record starts with this header; `type` says what follows. */
enum gs_event_type {
	GS_EV_INVALID = 0,
	GS_EV_PROBE_HIT = 1, /* a plain entry probe fired (goscope probe) */
	GS_EV__COUNT,
};

/* Counters kept by BPF in a per-CPU array, reported by user space: nothing is
 * lost silently. */
enum gs_counter {
	GS_CNT_EVENTS = 0,   /* records submitted */
	GS_CNT_DROP_RINGBUF, /* ring buffer full: record lost */
	GS_CNT_GOID_FAULT,   /* g pointer in R14 could not be read */
	GS_CNT__COUNT,
};

/* Integer argument registers of the Go register ABI on amd64, in order. */
#define GS_ABI_INT_REGS 9 /* RAX RBX RCX RDI RSI R8 R9 R10 R11 */

struct gs_event_header {
	__u32 type;	/* enum gs_event_type */
	__u32 size;	/* bytes of the whole record */
	__u64 ktime_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u32 tgid;
	__u32 tid;
	__u64 goid; /* 0 when unknown (not on a goroutine, or unreadable) */
};
GS_STATIC_ASSERT(sizeof(struct gs_event_header) == 32, "gs_event_header layout");

struct gs_probe_hit {
	struct gs_event_header hdr;
	__u64 cookie;	/* attach cookie: which probe of the plan fired */
	__u64 ip;	/* address of the probed instruction */
	__u64 sp;	/* stack pointer at the probe */
	__u64 ret_addr; /* [sp] at a function entry: the immediate caller */
	__u64 g;	/* R14: the current g (never an identity, only for debugging) */
	__u64 regs[GS_ABI_INT_REGS];
};
GS_STATIC_ASSERT(sizeof(struct gs_probe_hit) == 32 + 5 * 8 + GS_ABI_INT_REGS * 8,
		 "gs_probe_hit layout");

/* Go runtime structure offsets, from the target's DWARF or the generated
 * version table. Handed to BPF as read-only data before load. */
struct gs_go_offsets {
	__u32 g_goid;
	__u32 reserved;
};
GS_STATIC_ASSERT(sizeof(struct gs_go_offsets) == 8, "gs_go_offsets layout");

#define GS_RINGBUF_DEFAULT_BYTES (8u << 20)

#endif /* GOSCOPE_BPF_GOSCOPE_H */

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
	GS_EV_HOOK = 2,	     /* a runtime hook fired (goscope trace): struct gs_hook_event */
	GS_EV_CPU_SAMPLE = 3, /* a sampling tick found a thread of the process on a CPU */
	GS_EV_THREAD = 4,     /* the process created a thread: struct gs_thread_event */
	GS_EV_GOROUTINE_COUNTS = 5, /* counter deltas of one slice that found the map full */
	GS_EV__COUNT,
};

/* Counters kept by BPF in a per-CPU array, reported by user space: nothing is
 * lost silently. */
enum gs_counter {
	GS_CNT_EVENTS = 0,   /* records submitted */
	GS_CNT_DROP_RINGBUF, /* ring buffer full: record lost */
	GS_CNT_GOID_FAULT,   /* g pointer in R14 could not be read */
	GS_CNT_DATA_FAULT,   /* a field a hook reads could not be read (record still sent) */
	GS_CNT_STACK_FAULT,  /* a frame pointer could not be followed (stack cut short) */
	GS_CNT_BAD_SLOT,     /* a probe cookie named no configured site (a goscope bug) */
	GS_CNT_SAMPLES,	     /* CPU samples of the process taken */
	GS_CNT_SAMPLE_DROP,  /* CPU samples lost: ring buffer full or busy */
	GS_CNT_PMU_READ_FAULT, /* bpf_perf_event_read_value failed on a thread's counter */
	GS_CNT_SLICES,	     /* goroutine slices charged */
	GS_CNT_GOR_SPILL,    /* goroutine map full: a slice went out as GS_EV_GOROUTINE_COUNTS */
	GS_CNT_GOR_LOST,     /* ... and the ring buffer was full too: a slice lost */
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
	__u32 g_m;	     /* runtime.g.m */
	__u32 m_curg;	     /* runtime.m.curg: the user goroutine of a g0 */
	__u32 g_sched_pc;    /* runtime.g.sched.pc (gobuf), saved when it left its stack */
	__u32 g_sched_bp;    /* runtime.g.sched.bp */
	__u32 g_waiting;     /* runtime.g.waiting: sudogs it parks on */
	__u32 sudog_c;	     /* runtime.sudog.c: the channel */
	__u32 sudog_waitlink; /* runtime.sudog.waitlink: next in g.waiting */
	__u32 sudog_is_select; /* runtime.sudog.isSelect (a bool) */
	__u32 stack_depth;   /* frames to record per hook event, <= GS_MAX_FRAMES */
};
GS_STATIC_ASSERT(sizeof(struct gs_go_offsets) == 40, "gs_go_offsets layout");

/*
 * Runtime hooks (goscope trace). One BPF program serves every site; the
 * attach cookie says which site fired and how to read it:
 *   bits  0..7   slot: index into the site_config map (per hook and site kind)
 *   bits  8..15  register of an atomic site's memory operand (enum gs_reg)
 *   bits 16..31  the memory operand's displacement (signed 16 bits)
 *   bits 32..63  index of the site in user space's probe plan
 */
#define GS_COOKIE(slot, reg, disp, site)                                              \
	((__u64)(__u8)(slot) | ((__u64)(__u8)(reg) << 8) | ((__u64)(__u16)(disp) << 16) | \
	 ((__u64)(__u32)(site) << 32))
#define GS_COOKIE_SLOT(c) ((__u32)((c)&0xff))
#define GS_COOKIE_REG(c) ((__u32)(((c) >> 8) & 0xff))
#define GS_COOKIE_DISP(c) ((__s64)(__s16)(((c) >> 16) & 0xffff))
#define GS_COOKIE_SITE(c) ((__u32)((c) >> 32))

#define GS_MAX_SLOTS 64
#define GS_MAX_DEREFS 4
#define GS_MAX_DATA 16	 /* data words per record */
#define GS_MAX_FRAMES 64 /* frames per record */
#define GS_DEFAULT_FRAMES 32

/* Where in a function a site is; says what the stack looks like there. */
enum gs_site_kind {
	GS_SITE_ENTRY = 0,  /* after the stack-check prologue: [rsp] is the return address */
	GS_SITE_RET = 1,    /* a RET instruction: [rsp] is the return address */
	GS_SITE_ATOMIC = 2, /* after an inlined LOCK CMPXCHG / XADD: the frame is set up */
};

/* Registers a site can name (the pt_regs fields goscope reads). */
enum gs_reg {
	GS_REG_NONE = 0,
	GS_REG_RAX, GS_REG_RBX, GS_REG_RCX, GS_REG_RDX, GS_REG_RSI, GS_REG_RDI,
	GS_REG_RBP, GS_REG_RSP, GS_REG_R8, GS_REG_R9, GS_REG_R10, GS_REG_R11,
	GS_REG_R12, GS_REG_R13, GS_REG_R14, GS_REG_R15,
	GS_REG__COUNT,
};

/* Per-site behaviour (gs_site_config.flags). */
enum gs_site_flag {
	GS_SITE_NO_STACK = 1 << 0,     /* hot site: no frames */
	GS_SITE_WALK_WAITING = 1 << 1, /* data += g.waiting's channels (gopark) */
	GS_SITE_READ_SCASES = 1 << 2,  /* data += the select cases' channels (selectgo entry) */
	GS_SITE_READ_ATOMIC = 1 << 3,  /* data += operand address, eflags (atomic sites) */
};

/* A word read from the target: 8 bytes at (base + offset), base being saved
 * register `base` (0..5, see gs_hook_event.regs) or, from GS_DEREF_DATA on,
 * data word (base - GS_DEREF_DATA) read earlier. */
#define GS_DEREF_DATA 16
struct gs_deref {
	__u8 base;
	__u8 pad[3];
	__u32 offset;
};
GS_STATIC_ASSERT(sizeof(struct gs_deref) == 8, "gs_deref layout");

struct gs_site_config {
	__u16 hook;  /* user space's hook id, echoed in the record */
	__u8 site;   /* enum gs_site_kind */
	__u8 flags;  /* enum gs_site_flag */
	__u8 nderefs;
	__u8 pad[3];
	struct gs_deref derefs[GS_MAX_DEREFS];
};
GS_STATIC_ASSERT(sizeof(struct gs_site_config) == 8 + 8 * GS_MAX_DEREFS, "gs_site_config layout");

/* Record flags (gs_hook_event.flags). */
enum gs_record_flag {
	GS_REC_SYSTEM_STACK = 1 << 0, /* R14 was g0: goid and frames are m.curg's */
	GS_REC_DATA_FAULT = 1 << 1,   /* some data word could not be read (left 0) */
	GS_REC_STACK_CUT = 1 << 2,    /* the frame walk stopped at the depth limit or a bad pointer */
	GS_REC_MORE_DATA = 1 << 3,    /* more waiting sudogs / select cases than GS_MAX_DATA */
};

/* The argument registers saved in every hook record, in ABI order. */
#define GS_HOOK_REGS 6 /* RAX RBX RCX RDI RSI R8 */

struct gs_hook_event {
	struct gs_event_header hdr;
	__u64 cookie; /* the attach cookie (slot, site index) */
	__u16 hook;   /* from the site config */
	__u8 site;    /* enum gs_site_kind */
	__u8 flags;   /* enum gs_record_flag */
	__u8 ndata;   /* data words that follow */
	__u8 nframes; /* then this many PCs, innermost first */
	__u16 pad;
	__u64 ip;
	__u64 regs[GS_HOOK_REGS];
	__u64 words[GS_MAX_DATA + GS_MAX_FRAMES]; /* only ndata + nframes are sent */
};
#define GS_HOOK_EVENT_FIXED (32 + 8 + 8 + 8 + 8 * GS_HOOK_REGS)
GS_STATIC_ASSERT(sizeof(struct gs_hook_event) ==
			 GS_HOOK_EVENT_FIXED + 8 * (GS_MAX_DATA + GS_MAX_FRAMES),
		 "gs_hook_event layout");

/*
 * goscope stat / CPU profiles.
 *
 * Counters: user space opens one counting perf event per (thread, counter),
 * pid = tid, and stores its fd at index slot * GS_PMU_MAX_EVENTS + counter of
 * the pmu_counters perf event array; pmu_threads maps the tid to its slot.
 * Uprobes on runtime.execute (a goroutine starts running on this thread) and
 * runtime.schedule (the one that ran stopped) read the thread's counters with
 * bpf_perf_event_read_value and charge the difference since the last read to
 * the goroutine that ran in between (pmu_goroutines, keyed by goid).
 *
 * Samples: a perf_event program on one sampling event per CPU keeps the ticks
 * that land on the process, reads the running goroutine through the thread's
 * TLS slot for g (fs base + tls_g_offset), and sends its user stack.
 */
#define GS_PMU_MAX_EVENTS 12
#define GS_PMU_MAX_THREADS 2048
#define GS_PMU_MAX_GOROUTINES (1u << 17)
#define GS_MAX_SAMPLE_FRAMES 127 /* kernel.perf_event_max_stack's default */

/* Cookies of the scheduler uprobes (program gs_sched). */
enum gs_sched_point {
	GS_SCHED_EXECUTE = 1,  /* runtime.execute(gp *g, ...): RAX = the goroutine starting */
	GS_SCHED_SCHEDULE = 2, /* runtime.schedule(): the goroutine that ran has stopped */
};

/* Set by user space before load (with go_offsets). */
struct gs_pmu_config {
	__u32 tgid;	    /* the traced process; 0: sampling and counters off */
	__u32 nevents;	    /* counters per thread, <= GS_PMU_MAX_EVENTS */
	__s64 tls_g_offset; /* where g is relative to the thread's fs base (-8 for Go's own TLS) */
	__u32 g_gopc;	    /* runtime.g.gopc */
	__u32 g_startpc;    /* runtime.g.startpc */
	__u32 sample_frames; /* <= GS_MAX_SAMPLE_FRAMES */
	/* Offsets in the kernel's task_struct, from its BTF, looked up by user space only
	 * when sampling / thread events are on (0: unknown; the object has no CO-RE). */
	__u32 task_fsbase;   /* thread.fsbase */
	__u32 task_pid;	     /* pid */
	__u32 task_tgid;     /* tgid */
};
GS_STATIC_ASSERT(sizeof(struct gs_pmu_config) == 40, "gs_pmu_config layout");

/* pmu_threads value, written by user space when it opened the thread's counters. */
struct gs_pmu_slot {
	__u32 slot; /* index into pmu_counters / GS_PMU_MAX_EVENTS */
	__u32 gen;  /* bumped when a slot is reused for another thread */
};

/* What one goroutine used on CPUs, summed over its slices (pmu_goroutines value). */
struct gs_pmu_goroutine {
	__u64 gopc;	/* its go statement */
	__u64 startpc;	/* its function */
	__u64 slices;	/* times it started running on a thread */
	__u64 value[GS_PMU_MAX_EVENTS];
	__u64 enabled[GS_PMU_MAX_EVENTS];
	__u64 running[GS_PMU_MAX_EVENTS];
};
GS_STATIC_ASSERT(sizeof(struct gs_pmu_goroutine) == 24 + 3 * 8 * GS_PMU_MAX_EVENTS,
		 "gs_pmu_goroutine layout");

/* One slice that did not fit the goroutine map: hdr.goid is the goroutine. */
struct gs_goroutine_counts {
	struct gs_event_header hdr;
	struct gs_pmu_goroutine counts; /* slices = 1 */
};

/* hdr.tid is the thread that called clone; child_tid the new thread. */
struct gs_thread_event {
	struct gs_event_header hdr;
	__u32 child_tid;
	__u32 pad;
};
GS_STATIC_ASSERT(sizeof(struct gs_thread_event) == 40, "gs_thread_event layout");

/* Sample flags. */
enum gs_sample_flag {
	GS_SAMPLE_KERNEL = 1 << 0,	 /* the tick interrupted the kernel (user stack from its entry) */
	GS_SAMPLE_SYSTEM_STACK = 1 << 1, /* TLS g was g0: hdr.goid is m.curg's (0: none) */
	GS_SAMPLE_NO_G = 1 << 2,	 /* TLS g could not be read (not a Go thread yet?) */
};

struct gs_cpu_sample {
	struct gs_event_header hdr; /* goid: the goroutine running */
	__u32 cpu;
	__u16 flags; /* enum gs_sample_flag */
	__u16 nframes;
	__u64 period; /* the event's sample period (ns for cpu-clock, cycles for cycles) */
	__u64 frames[GS_MAX_SAMPLE_FRAMES]; /* user stack, innermost first; only nframes are sent */
};
#define GS_CPU_SAMPLE_FIXED (32 + 8 + 8)
GS_STATIC_ASSERT(sizeof(struct gs_cpu_sample) == GS_CPU_SAMPLE_FIXED + 8 * GS_MAX_SAMPLE_FRAMES,
		 "gs_cpu_sample layout");

#define GS_RINGBUF_DEFAULT_BYTES (8u << 20)

#endif /* GOSCOPE_BPF_GOSCOPE_H */

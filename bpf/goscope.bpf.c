// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * goscope's BPF side. It does as little as it can: read registers and a few
 * fields, reserve a ring-buffer record, submit. User space interprets.
 */
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "goscope.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Every shared record type must be in the object's BTF, where the ABI test
 * compares its layout with the C++ compiler's. */
const struct gs_event_header *gs_btf_event_header __attribute__((unused));
const struct gs_probe_hit *gs_btf_probe_hit __attribute__((unused));
const struct gs_hook_event *gs_btf_hook_event __attribute__((unused));
const struct gs_site_config *gs_btf_site_config __attribute__((unused));
const struct gs_cpu_sample *gs_btf_cpu_sample __attribute__((unused));
const struct gs_thread_event *gs_btf_thread_event __attribute__((unused));
const struct gs_pmu_goroutine *gs_btf_pmu_goroutine __attribute__((unused));
const struct gs_pmu_config *gs_btf_pmu_config __attribute__((unused));

/* Set by user space before load. */
const volatile struct gs_go_offsets go_offsets = {};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, GS_RINGBUF_DEFAULT_BYTES);
} events SEC(".maps");

/* Wake the consumer once per this many bytes waiting in the ring (0: the
 * kernel's default, about once per record). A wake-up is an interrupt and a
 * cross-CPU reschedule, which costs the traced thread more than the record
 * itself; user space polls with a short timeout and drains whatever is there. */
const volatile __u64 ring_wakeup_bytes = 0;

static __always_inline __u64 wakeup_flag_at(__u64 before, __u64 after)
{
	if (!ring_wakeup_bytes)
		return 0;
	/* One wake-up each time the waiting data grows past a multiple of the
	 * threshold: not one per record while the consumer lags behind (each is an
	 * interrupt, paid by the traced thread). A crossing two producers race past
	 * is caught by the consumer's poll timeout. */
	return before / ring_wakeup_bytes != after / ring_wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* For a record of `size` bytes about to be copied in (bpf_ringbuf_output). */
static __always_inline __u64 wakeup_flag(__u64 size)
{
	__u64 avail = ring_wakeup_bytes ? bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) : 0;

	return wakeup_flag_at(avail, avail + size);
}

/* For a reserved record of `size` bytes (already counted as waiting). */
static __always_inline __u64 wakeup_flag_reserved(__u64 size)
{
	__u64 avail = ring_wakeup_bytes ? bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) : 0;

	return wakeup_flag_at(avail > size ? avail - size : 0, avail);
}

/* What each site slot reads; written by user space before attaching. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GS_MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct gs_site_config);
} site_config SEC(".maps");

/* A record is built here, then copied into the ring at its real size. Its words
 * are indexed through a power-of-two mask the verifier can bound (WORD), so the
 * scratch value has room for GS_WORD_ROOM words although a record uses at most
 * GS_MAX_DATA + GS_MAX_FRAMES of them. */
#define GS_WORD_ROOM 128
_Static_assert(GS_MAX_DATA + GS_MAX_FRAMES <= GS_WORD_ROOM, "words fit the masked room");
struct gs_hook_scratch {
	struct gs_hook_event ev;
	__u64 room[GS_WORD_ROOM - (GS_MAX_DATA + GS_MAX_FRAMES)];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gs_hook_scratch);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GS_CNT__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(__u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &which);

	if (c)
		*c += 1;
}

/* The goroutine id of the g in R14 (valid inside Go code, not on g0). */
static __always_inline __u64 current_goid(struct pt_regs *ctx)
{
	__u64 goid = 0;
	__u64 g = ctx->r14;

	if (!g || bpf_probe_read_user(&goid, sizeof(goid), (void *)(g + go_offsets.g_goid))) {
		count(GS_CNT_GOID_FAULT);
		return 0;
	}
	return goid;
}

static __always_inline void fill_header(struct gs_event_header *hdr, __u32 type, __u32 size,
					__u64 goid)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	hdr->type = type;
	hdr->size = size;
	hdr->ktime_ns = bpf_ktime_get_ns();
	hdr->tgid = pid_tgid >> 32;
	hdr->tid = (__u32)pid_tgid;
	hdr->goid = goid;
}

/* The first n integer argument registers of the Go ABI, in order. */
static __always_inline void save_abi_args(struct pt_regs *ctx, __u64 *out, const int n)
{
	const __u64 r[GS_ABI_INT_REGS] = {ctx->rax, ctx->rbx, ctx->rcx, ctx->rdi, ctx->rsi,
					  ctx->r8,  ctx->r9,  ctx->r10, ctx->r11};

#pragma unroll
	for (int i = 0; i < GS_ABI_INT_REGS; i++)
		if (i < n)
			out[i] = r[i];
}

SEC("uprobe")
int gs_probe_hit(struct pt_regs *ctx)
{
	struct gs_probe_hit *ev;
	__u64 goid = current_goid(ctx);

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count(GS_CNT_DROP_RINGBUF);
		return 0;
	}
	fill_header(&ev->hdr, GS_EV_PROBE_HIT, sizeof(*ev), goid);
	ev->cookie = bpf_get_attach_cookie(ctx);
	ev->ip = ctx->rip;
	ev->sp = ctx->rsp;
	ev->g = ctx->r14;
	ev->ret_addr = 0;
	bpf_probe_read_user(&ev->ret_addr, sizeof(ev->ret_addr), (void *)ctx->rsp);
	save_abi_args(ctx, ev->regs, GS_ABI_INT_REGS);
	bpf_ringbuf_submit(ev, wakeup_flag_reserved(sizeof(*ev)));
	count(GS_CNT_EVENTS);
	return 0;
}

static __always_inline __u64 read_u64(__u64 addr, int *fault)
{
	__u64 v = 0;

	if (!addr || bpf_probe_read_user(&v, sizeof(v), (void *)addr)) {
		*fault = 1;
		return 0;
	}
	return v;
}

/* The register an atomic site names. The verifier refuses loads through a
 * ctx pointer the compiler offset by a variable, so read each field at its
 * constant offset into an array first. */
static __always_inline __u64 reg_value(struct pt_regs *ctx, __u32 reg)
{
	__u64 r[GS_REG__COUNT];

	r[GS_REG_NONE] = 0;
	r[GS_REG_RAX] = ctx->rax;
	r[GS_REG_RBX] = ctx->rbx;
	r[GS_REG_RCX] = ctx->rcx;
	r[GS_REG_RDX] = ctx->rdx;
	r[GS_REG_RSI] = ctx->rsi;
	r[GS_REG_RDI] = ctx->rdi;
	r[GS_REG_RBP] = ctx->rbp;
	r[GS_REG_RSP] = ctx->rsp;
	r[GS_REG_R8] = ctx->r8;
	r[GS_REG_R9] = ctx->r9;
	r[GS_REG_R10] = ctx->r10;
	r[GS_REG_R11] = ctx->r11;
	r[GS_REG_R12] = ctx->r12;
	r[GS_REG_R13] = ctx->r13;
	r[GS_REG_R14] = ctx->r14;
	r[GS_REG_R15] = ctx->r15;
	return reg < GS_REG__COUNT ? r[reg] : 0;
}

/* Word i of the record under construction. The mask is a power of two minus one
 * (80 words, GS_MAX_DATA + GS_MAX_FRAMES, are not a power of two: a mask of 79
 * dropped bits 4 and 5 and folded frame 16+ onto the data words); indices stay
 * below GS_MAX_DATA + GS_MAX_FRAMES by the loops' own bounds. */
#define WORD(ev, i) ((ev)->words[(i) & (GS_WORD_ROOM - 1)])

/* Stores a data-word count in the record and reads it back: to the verifier the
 * result is one unknown value in [0, GS_MAX_DATA] instead of a different constant
 * on every path through the loop before, so what follows is verified once, not
 * once per count. Between the read loops of gs_hook this took the verifier from
 * 310k processed instructions (126 ms of every attach here) to far fewer. */
static __always_inline __u32 opaque_count(struct gs_hook_event *ev, __u32 n)
{
	ev->ndata = n;
	n = *(volatile __u8 *)&ev->ndata;
	return n > GS_MAX_DATA ? GS_MAX_DATA : n;
}

/* Follows frame pointers from `bp`, appending return addresses. Callers live
 * at higher addresses: a pointer that does not go up ends the walk. */
static __always_inline void walk_frames(struct gs_hook_event *ev, __u32 base, __u32 n, __u64 bp)
{
	__u32 depth = go_offsets.stack_depth;

	if (depth > GS_MAX_FRAMES)
		depth = GS_MAX_FRAMES;
	for (int i = 0; i < GS_MAX_FRAMES; i++) {
		__u64 frame[2]; /* saved bp, return address */

		if (n >= depth) {
			ev->flags |= GS_REC_STACK_CUT;
			break;
		}
		if (!bp)
			break;
		if (bpf_probe_read_user(frame, sizeof(frame), (void *)bp)) {
			count(GS_CNT_STACK_FAULT);
			ev->flags |= GS_REC_STACK_CUT;
			break;
		}
		if (!frame[1])
			break;
		WORD(ev, base + n) = frame[1];
		n++;
		if (frame[0] <= bp)
			break;
		bp = frame[0];
	}
	ev->nframes = n;
}

static __always_inline int hook(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 slot = GS_COOKIE_SLOT(cookie);
	__u32 zero = 0;
	struct gs_site_config *cfg = bpf_map_lookup_elem(&site_config, &slot);
	struct gs_hook_scratch *sc = bpf_map_lookup_elem(&scratch, &zero);
	struct gs_hook_event *ev = sc ? &sc->ev : 0;
	int fault = 0;
	__u64 g, goid, pc0 = 0, bp;
	__u32 n = 0;

	if (!cfg || !ev || cfg->hook == 0) {
		count(GS_CNT_BAD_SLOT);
		return 0;
	}
	ev->cookie = cookie;
	ev->hook = cfg->hook;
	ev->site = cfg->site;
	ev->flags = 0;
	ev->ip = ctx->rip;
	save_abi_args(ctx, ev->regs, GS_HOOK_REGS);

	/* The goroutine: R14's, or, on the system stack (g0 has goid 0), m.curg's. */
	g = ctx->r14;
	goid = read_u64(g + go_offsets.g_goid, &fault);
	if (fault) {
		count(GS_CNT_GOID_FAULT);
		fault = 0;
	} else if (goid == 0) {
		__u64 m = read_u64(g + go_offsets.g_m, &fault);
		__u64 curg = m ? read_u64(m + go_offsets.m_curg, &fault) : 0;

		fault = 0;
		ev->flags |= GS_REC_SYSTEM_STACK;
		g = curg;
		if (curg)
			goid = read_u64(curg + go_offsets.g_goid, &fault);
		fault = 0;
	}

	/* Data words: fixed reads first, then the lists some sites walk. */
	for (int i = 0; i < GS_MAX_DEREFS; i++) {
		__u32 b;
		__u64 base;

		if (i >= cfg->nderefs)
			break;
		b = cfg->derefs[i].base;
		if (b < GS_HOOK_REGS)
			base = ev->regs[b];
		else if (b >= GS_DEREF_DATA && b - GS_DEREF_DATA < (__u32)i)
			base = WORD(ev, b - GS_DEREF_DATA);
		else
			base = 0;
		WORD(ev, n) = read_u64(base + cfg->derefs[i].offset, &fault);
		n++;
	}
	n = opaque_count(ev, n);
	if (cfg->flags & GS_SITE_READ_ATOMIC) {
		WORD(ev, n) = reg_value(ctx, GS_COOKIE_REG(cookie)) + GS_COOKIE_DISP(cookie);
		n++;
		WORD(ev, n) = ctx->eflags;
		n++;
	}
	n = opaque_count(ev, n);
	if ((cfg->flags & GS_SITE_WALK_WAITING) && !(ev->flags & GS_REC_SYSTEM_STACK)) {
		/* gopark: the sudogs of g.waiting name the channels (one per select case). */
		__u64 sg = read_u64(g + go_offsets.g_waiting, &fault);

		fault = 0;
		for (int i = 0; i < GS_MAX_DATA; i++) {
			__u64 c;
			__u8 is_select = 0;

			if (!sg)
				break;
			if (n >= GS_MAX_DATA) {
				ev->flags |= GS_REC_MORE_DATA;
				break;
			}
			c = read_u64(sg + go_offsets.sudog_c, &fault);
			bpf_probe_read_user(&is_select, 1, (void *)(sg + go_offsets.sudog_is_select));
			WORD(ev, n) = c | (is_select ? 1 : 0);
			n++;
			sg = read_u64(sg + go_offsets.sudog_waitlink, &fault);
		}
	}
	n = opaque_count(ev, n);
	if (cfg->flags & GS_SITE_READ_SCASES) {
		/* selectgo(cas0 *scase, order0, pc0, nsends, nrecvs, block): scase is {c, elem}. */
		__u64 cases = ev->regs[3] + ev->regs[4];

		for (int i = 0; i < GS_MAX_DATA; i++) {
			if (i >= cases)
				break;
			if (n >= GS_MAX_DATA) {
				ev->flags |= GS_REC_MORE_DATA;
				break;
			}
			WORD(ev, n) = read_u64(ev->regs[0] + 16 * i, &fault);
			n++;
		}
	}
	if (fault) {
		count(GS_CNT_DATA_FAULT);
		ev->flags |= GS_REC_DATA_FAULT;
	}
	if (n > GS_MAX_DATA)
		n = GS_MAX_DATA;
	n = opaque_count(ev, n);

	/* Frames. At an entry or RET site the frame is not set up: the caller is
	 * at [rsp] and rbp is still the caller's. On the system stack, the
	 * goroutine's frames start at its saved sched registers. */
	ev->nframes = 0;
	if (!(cfg->flags & GS_SITE_NO_STACK)) {
		__u32 f = 0;

		__u64 walk_bp = 0;
		int walk = 0;

		if (ev->flags & GS_REC_SYSTEM_STACK) {
			fault = 0;
			if (g) {
				pc0 = read_u64(g + go_offsets.g_sched_pc, &fault);
				bp = read_u64(g + go_offsets.g_sched_bp, &fault);
				if (!fault && pc0) {
					WORD(ev, n + f) = pc0;
					f++;
					walk_bp = bp;
					walk = 1;
				}
			}
		} else {
			WORD(ev, n + f) = ctx->rip;
			f++;
			if (cfg->site != GS_SITE_ATOMIC) {
				__u64 ret = 0;

				bpf_probe_read_user(&ret, sizeof(ret), (void *)ctx->rsp);
				if (ret) {
					WORD(ev, n + f) = ret;
					f++;
				}
			}
			walk_bp = ctx->rbp;
			walk = 1;
		}
		ev->nframes = f;
		if (walk) {
			/* One walk for both paths, from a frame count read back the same way. */
			f = *(volatile __u8 *)&ev->nframes;
			if (f > 2)
				f = 2;
			walk_frames(ev, n, f, walk_bp);
		}
	}

	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 words = ev->ndata + ev->nframes;
	__u32 size;

	if (words > GS_MAX_DATA + GS_MAX_FRAMES)
		words = GS_MAX_DATA + GS_MAX_FRAMES;
	size = GS_HOOK_EVENT_FIXED + 8 * words;
	ev->hdr.type = GS_EV_HOOK;
	ev->hdr.size = size;
	ev->hdr.ktime_ns = bpf_ktime_get_ns();
	ev->hdr.tgid = pid_tgid >> 32;
	ev->hdr.tid = (__u32)pid_tgid;
	ev->hdr.goid = goid;
	if (bpf_ringbuf_output(&events, ev, size, wakeup_flag(size))) {
		count(GS_CNT_DROP_RINGBUF);
		return 0;
	}
	count(GS_CNT_EVENTS);
	return 0;
}

/* The same program twice: attached one probe per link (any kernel), or all
 * sites through one uprobe_multi link (Linux 6.6+), which detaches in one
 * step instead of one kernel wait per probe. User space loads only one. */
SEC("uprobe")
int gs_hook(struct pt_regs *ctx)
{
	return hook(ctx);
}

SEC("uprobe")
int gs_hook_multi(struct pt_regs *ctx)
{
	return hook(ctx);
}

/* ---- goscope stat and CPU profiles (see "goscope stat / CPU profiles" in goscope.h) ---- */

/* No CO-RE relocation anywhere in this object: one would make libbpf parse the
 * kernel's whole BTF (~200 ms here) on every load, even for `trace`, which reads
 * no kernel structure. The one kernel field read (task_struct.thread.fsbase, for
 * CPU samples) comes at an offset user space looks up only when it samples. */

const volatile struct gs_pmu_config pmu_config = {};

/* Counting events of the process's threads: index slot * GS_PMU_MAX_EVENTS + counter. */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(max_entries, GS_PMU_MAX_THREADS * GS_PMU_MAX_EVENTS);
	__type(key, __u32);
	__type(value, __u32);
} pmu_counters SEC(".maps");

/* tid -> its slot in pmu_counters (written by user space). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GS_PMU_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct gs_pmu_slot);
} pmu_threads SEC(".maps");

/* What a thread is running and its counters at the last read (BPF's own). */
struct gs_pmu_thread {
	__u64 goid; /* 0: no goroutine (scheduler, or not seen switching yet) */
	__u32 gen;  /* the slot generation last[] belongs to */
	__u32 have; /* last[] is valid for gen */
	__u64 value[GS_PMU_MAX_EVENTS];
	__u64 enabled[GS_PMU_MAX_EVENTS];
	__u64 running[GS_PMU_MAX_EVENTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GS_PMU_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct gs_pmu_thread);
} pmu_thread_state SEC(".maps");

/* goid -> what it used; goid 0 collects what ran outside any goroutine. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GS_PMU_MAX_GOROUTINES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct gs_pmu_goroutine);
} pmu_goroutines SEC(".maps");

/* A slice's deltas are built here (a perf_event tick may interrupt a uprobe
 * program, so samples have their own scratch). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gs_goroutine_counts);
} pmu_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gs_cpu_sample);
} sample_scratch SEC(".maps");


/* Reads this thread's counters and leaves in d->counts what was used since the
 * last read. Returns 0 when there was nothing to charge. */
static __always_inline int pmu_delta(__u32 tid, struct gs_pmu_thread *st, struct gs_goroutine_counts *d)
{
	struct gs_pmu_slot *slot = bpf_map_lookup_elem(&pmu_threads, &tid);
	__u32 n = pmu_config.nevents;
	int any = 0;

	if (!slot)
		return 0;
	if (n > GS_PMU_MAX_EVENTS)
		n = GS_PMU_MAX_EVENTS;
	if (st->gen != slot->gen || !st->have) {
		/* A new slot: its counters were opened at 0, so all they hold is this slice's. */
		for (int i = 0; i < GS_PMU_MAX_EVENTS; i++) {
			st->value[i] = 0;
			st->enabled[i] = 0;
			st->running[i] = 0;
		}
		st->gen = slot->gen;
		st->have = 1;
	}
	for (int i = 0; i < GS_PMU_MAX_EVENTS; i++) {
		struct bpf_perf_event_value v = {};
		long err;

		d->counts.value[i] = 0;
		d->counts.enabled[i] = 0;
		d->counts.running[i] = 0;
		if (i >= n)
			continue;
		err = bpf_perf_event_read_value(&pmu_counters,
						(__u64)slot->slot * GS_PMU_MAX_EVENTS + i, &v, sizeof(v));
		if (err) {
			if (err != -2 /* ENOENT: a counter not supported here has no fd */)
				count(GS_CNT_PMU_READ_FAULT);
			continue;
		}
		if (v.counter >= st->value[i])
			d->counts.value[i] = v.counter - st->value[i];
		if (v.enabled >= st->enabled[i])
			d->counts.enabled[i] = v.enabled - st->enabled[i];
		if (v.running >= st->running[i])
			d->counts.running[i] = v.running - st->running[i];
		st->value[i] = v.counter;
		st->enabled[i] = v.enabled;
		st->running[i] = v.running;
		any = 1;
	}
	return any;
}

/* Adds a slice to its goroutine's totals, or sends it when the map is full. */
static __always_inline void pmu_charge(__u64 goid, struct gs_goroutine_counts *d)
{
	struct gs_pmu_goroutine *acc = bpf_map_lookup_elem(&pmu_goroutines, &goid);

	if (!acc) {
		struct gs_pmu_goroutine *zero = &d->counts; /* reuse: insert the slice itself */

		zero->gopc = 0;
		zero->startpc = 0;
		zero->slices = 0;
		if (!bpf_map_update_elem(&pmu_goroutines, &goid, zero, BPF_NOEXIST))
			return;
		acc = bpf_map_lookup_elem(&pmu_goroutines, &goid);
		if (!acc) {
			__u64 pid_tgid = bpf_get_current_pid_tgid();

			count(GS_CNT_GOR_SPILL);
			d->hdr.type = GS_EV_GOROUTINE_COUNTS;
			d->hdr.size = sizeof(*d);
			d->hdr.ktime_ns = bpf_ktime_get_ns();
			d->hdr.tgid = pid_tgid >> 32;
			d->hdr.tid = (__u32)pid_tgid;
			d->hdr.goid = goid;
			if (bpf_ringbuf_output(&events, d, sizeof(*d), wakeup_flag(sizeof(*d))))
				count(GS_CNT_GOR_LOST);
			return;
		}
	}
	for (int i = 0; i < GS_PMU_MAX_EVENTS; i++) {
		if (d->counts.value[i])
			__sync_fetch_and_add(&acc->value[i], d->counts.value[i]);
		if (d->counts.enabled[i])
			__sync_fetch_and_add(&acc->enabled[i], d->counts.enabled[i]);
		if (d->counts.running[i])
			__sync_fetch_and_add(&acc->running[i], d->counts.running[i]);
	}
}

/* runtime.execute (a goroutine starts on this thread) and runtime.schedule (the
 * one that ran has stopped): charge what the thread used since the last switch
 * to whatever ran, then note what runs now. */
SEC("uprobe")
int gs_sched(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	__u32 zero = 0;
	struct gs_pmu_thread *st = bpf_map_lookup_elem(&pmu_thread_state, &tid);
	struct gs_goroutine_counts *d = bpf_map_lookup_elem(&pmu_scratch, &zero);

	if (!d)
		return 0;
	if (!st) {
		struct gs_pmu_thread init = {};

		bpf_map_update_elem(&pmu_thread_state, &tid, &init, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&pmu_thread_state, &tid);
		if (!st)
			return 0;
	}
	if (pmu_delta(tid, st, d))
		pmu_charge(st->goid, d);
	count(GS_CNT_SLICES);

	if (cookie == GS_SCHED_EXECUTE) {
		int fault = 0;
		__u64 gp = ctx->rax;
		__u64 goid = read_u64(gp + go_offsets.g_goid, &fault);
		struct gs_pmu_goroutine *acc;

		if (fault) {
			count(GS_CNT_GOID_FAULT);
			st->goid = 0;
			return 0;
		}
		st->goid = goid;
		acc = bpf_map_lookup_elem(&pmu_goroutines, &goid);
		if (!acc) {
			struct gs_pmu_goroutine *init = &d->counts;

			for (int i = 0; i < GS_PMU_MAX_EVENTS; i++) {
				init->value[i] = 0;
				init->enabled[i] = 0;
				init->running[i] = 0;
			}
			init->slices = 0;
			/* 0: the offset is unknown (not g+0, the stack bounds) */
			init->gopc = pmu_config.g_gopc ? read_u64(gp + pmu_config.g_gopc, &fault) : 0;
			init->startpc = pmu_config.g_startpc ? read_u64(gp + pmu_config.g_startpc, &fault) : 0;
			bpf_map_update_elem(&pmu_goroutines, &goid, init, BPF_NOEXIST);
			acc = bpf_map_lookup_elem(&pmu_goroutines, &goid);
		}
		if (acc)
			__sync_fetch_and_add(&acc->slices, 1);
	} else {
		st->goid = 0;
	}
	return 0;
}

/* A thread of the process was created: user space opens its counters. */
static __always_inline __s32 task_field(__u64 task, __u32 offset)
{
	__s32 v = -1;

	if (offset)
		bpf_probe_read_kernel(&v, sizeof(v), (void *)(task + offset));
	return v;
}

SEC("tp_btf/sched_process_fork")
int gs_thread_fork(__u64 *ctx)
{
	__u64 parent = ctx[0], child = ctx[1];
	struct gs_thread_event *ev;
	__s32 child_tid;

	if (!pmu_config.tgid || task_field(parent, pmu_config.task_tgid) != (__s32)pmu_config.tgid ||
	    task_field(child, pmu_config.task_tgid) != (__s32)pmu_config.tgid)
		return 0;
	child_tid = task_field(child, pmu_config.task_pid);
	if (child_tid <= 0)
		return 0;
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count(GS_CNT_DROP_RINGBUF);
		return 0;
	}
	fill_header(&ev->hdr, GS_EV_THREAD, sizeof(*ev), 0);
	ev->child_tid = child_tid;
	ev->pad = 0;
	/* Rare, and late counters miss the thread's work: wake the consumer now. */
	bpf_ringbuf_submit(ev, BPF_RB_FORCE_WAKEUP);
	return 0;
}

/* The goroutine running on this thread, from the TLS slot the Go runtime keeps
 * g in (fs base + tls_g_offset): on g0 (scheduler, system stack) it is m.curg. */
static __always_inline __u64 tls_goid(__u16 *flags)
{
	__u64 task = bpf_get_current_task();
	__u64 fsbase = 0;
	int fault = 0;
	__u64 g, goid;

	if (pmu_config.task_fsbase)
		bpf_probe_read_kernel(&fsbase, sizeof(fsbase), (void *)(task + pmu_config.task_fsbase));
	if (!fsbase) {
		*flags |= GS_SAMPLE_NO_G;
		return 0;
	}
	g = read_u64(fsbase + pmu_config.tls_g_offset, &fault);
	if (fault || !g) {
		*flags |= GS_SAMPLE_NO_G;
		return 0;
	}
	goid = read_u64(g + go_offsets.g_goid, &fault);
	if (fault) {
		*flags |= GS_SAMPLE_NO_G;
		return 0;
	}
	if (goid == 0) {
		__u64 m = read_u64(g + go_offsets.g_m, &fault);
		__u64 curg = m ? read_u64(m + go_offsets.m_curg, &fault) : 0;

		*flags |= GS_SAMPLE_SYSTEM_STACK;
		goid = curg ? read_u64(curg + go_offsets.g_goid, &fault) : 0;
		if (fault)
			goid = 0;
	}
	return goid;
}

SEC("perf_event")
int gs_cpu_sample(struct bpf_perf_event_data *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 zero = 0;
	struct gs_cpu_sample *s;
	long bytes;
	__u32 size;

	if (!pmu_config.tgid || (pid_tgid >> 32) != pmu_config.tgid)
		return 0;
	s = bpf_map_lookup_elem(&sample_scratch, &zero);
	if (!s)
		return 0;
	s->flags = 0;
	if ((ctx->regs.cs & 3) != 3)
		s->flags |= GS_SAMPLE_KERNEL;
	s->hdr.goid = tls_goid(&s->flags);
	s->cpu = bpf_get_smp_processor_id();
	s->period = ctx->sample_period;
	bytes = bpf_get_stack(ctx, s->frames, sizeof(s->frames), BPF_F_USER_STACK);
	if (bytes < 0)
		bytes = 0;
	s->nframes = bytes / 8;
	if (s->nframes > pmu_config.sample_frames && pmu_config.sample_frames)
		s->nframes = pmu_config.sample_frames;
	if (s->nframes > GS_MAX_SAMPLE_FRAMES)
		s->nframes = GS_MAX_SAMPLE_FRAMES;
	size = GS_CPU_SAMPLE_FIXED + 8 * (__u32)s->nframes;
	s->hdr.type = GS_EV_CPU_SAMPLE;
	s->hdr.size = size;
	s->hdr.ktime_ns = bpf_ktime_get_ns();
	s->hdr.tgid = pid_tgid >> 32;
	s->hdr.tid = (__u32)pid_tgid;
	count(GS_CNT_SAMPLES);
	if (size > sizeof(*s))
		return 0;
	if (bpf_ringbuf_output(&events, s, size, wakeup_flag(size)))
		count(GS_CNT_SAMPLE_DROP);
	return 0;
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * goscope's BPF side. It does as little as it can: read registers and a few
 * fields, reserve a ring-buffer record, submit. User space interprets.
 */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "goscope.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Every shared record type must be in the object's BTF, where the ABI test
 * compares its layout with the C++ compiler's. */
const struct gs_event_header *gs_btf_event_header __attribute__((unused));
const struct gs_probe_hit *gs_btf_probe_hit __attribute__((unused));

/* Set by user space before load. */
const volatile struct gs_go_offsets go_offsets = {};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, GS_RINGBUF_DEFAULT_BYTES);
} events SEC(".maps");

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
	ev->regs[0] = ctx->rax;
	ev->regs[1] = ctx->rbx;
	ev->regs[2] = ctx->rcx;
	ev->regs[3] = ctx->rdi;
	ev->regs[4] = ctx->rsi;
	ev->regs[5] = ctx->r8;
	ev->regs[6] = ctx->r9;
	ev->regs[7] = ctx->r10;
	ev->regs[8] = ctx->r11;
	bpf_ringbuf_submit(ev, 0);
	count(GS_CNT_EVENTS);
	return 0;
}

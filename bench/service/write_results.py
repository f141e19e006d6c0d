#!/usr/bin/env python3
"""Writes bench/service/RESULTS.md and results.json from run.sh's rows (env BENCH_*).

Each row of BENCH_ROWS is one run (or one memory sample, or one inspect run): tab-separated
key=value fields, "-" when a value does not apply.
"""
import json
import os
import statistics

env = os.environ
TEXT = {"section", "mode", "binary", "dwarf"}


def parse(k, v):
    if v == "-" or v == "":
        return None
    if k in TEXT:
        return v
    f = float(v)
    return int(f) if f.is_integer() and "." not in v else f


rows = []
with open(env["BENCH_ROWS"]) as f:
    for line in f:
        fields = (kv.split("=", 1) for kv in line.rstrip("\n").split("\t") if kv)
        rows.append({k: parse(k, v) for k, v in fields})


def select(**kw):
    return [r for r in rows if all(r.get(k) == v for k, v in kw.items())]


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def rnd(x, nd=1):
    return None if x is None else round(x, nd)


def ratio(a, b):
    return None if a is None or not b else a / b


MIB = 1024.0  # the /proc/PID/status values are in KiB

# ---- 1. throughput
MODES = ["untraced", "trace", "all-ops", "record", "runtime-trace", "bpftrace", "bare"]
base = {r["rep"]: r["rps"] for r in select(section="throughput", mode="untraced")}
throughput = []
for mode in MODES:
    rs = select(section="throughput", mode=mode)
    if not rs:
        continue
    row = {
        "mode": mode,
        "requests_per_s_median": round(med(r["rps"] for r in rs)),
        # Paired by round: each run against the untraced run of the same round.
        "ratio_to_untraced_median": rnd(med(ratio(r["rps"], base.get(r["rep"])) for r in rs), 4),
        "requests_per_s_runs": [round(r["rps"]) for r in rs],
        "server_cpu_us_per_request_median": rnd(med(ratio(1e6 * r["server_cpu_s"], r["served"]) for r in rs)),
        "server_cpu_percent_median": rnd(med(100 * r["server_cpu_s"] / r["window_s"] for r in rs)),
        "wrk_errors_total": sum(r["wrk_errors"] or 0 for r in rs),
    }
    if mode in ("trace", "all-ops", "record"):
        row["events_per_request_median"] = rnd(med(ratio(r["events"], r["served"]) for r in rs), 2)
        row["lost_total"] = sum(r["lost"] for r in rs)
        if mode != "record":  # record prints only the total
            row["lost_ring_buffer_full_total"] = sum(r["lost_full"] or 0 for r in rs)
            row["lost_unpaired_total"] = sum(r["lost_unpaired"] or 0 for r in rs)
    if mode == "bare":
        row["uprobe_hits_per_request_median"] = rnd(med(ratio(r["hits"], r["served"]) for r in rs), 2)
    if mode not in ("untraced", "runtime-trace"):
        row["tracer_cpu_percent_median"] = rnd(med(100 * r["tracer_cpu_s"] / r["window_s"] for r in rs))
    if mode in ("record", "runtime-trace"):
        row["file_bytes_per_request_median"] = rnd(med(ratio(r["file_bytes"], r["served"]) for r in rs))
    throughput.append(row)

# ---- 2. memory over a long run
memory = []
for mode in ["trace", "record"]:
    rs = select(section="memory", mode=mode)
    if not rs:
        continue
    r = rs[0]
    samples = [s for s in select(section="memsample", mode=mode) if s["rss_kb"] is not None]
    at10 = min(samples, key=lambda s: abs(s["t_s"] - 10)) if samples else None
    if at10 is not None and abs(at10["t_s"] - 10) > 1.5:
        at10 = None  # the run was shorter than 10 s
    memory.append({
        "mode": mode,
        "seconds": rnd(r["window_s"]),
        "requests_per_s": round(r["rps"]),
        "events": r["events"],
        "lost": r["lost"],
        "lost_ring_buffer_full": r.get("lost_full"),
        "lost_unpaired": r.get("lost_unpaired"),
        "tracer_cpu_percent": rnd(100 * r["tracer_cpu_s"] / r["window_s"]),
        "peak_rss_mib": rnd(r["peak_rss_kb"] / MIB),
        "rss_at_attach_mib": rnd(samples[0]["rss_kb"] / MIB) if samples else None,
        "rss_at_10s_mib": rnd(at10["rss_kb"] / MIB) if at10 else None,
        "rss_at_end_mib": rnd(r["end_rss_kb"] / MIB),
        "gst_bytes": r.get("file_bytes"),
        # [seconds since wrk started, VmRSS MiB, VmHWM MiB], about once a second
        "samples": [[rnd(s["t_s"]), rnd(s["rss_kb"] / MIB), rnd(s["hwm_kb"] / MIB)] for s in samples],
    })

# ---- 3. trace size, goscope record and runtime/trace in one run
size = None
srs = select(section="size")
if srs:
    r = srs[0]
    size = {
        "requests_per_s": round(r["rps"]),
        "requests_served": r["served"],
        "goscope_events": r["events"],
        "goscope_lost": r["lost"],
        "goscope_bytes": r["gst_bytes"],
        "goscope_bytes_per_event": r["bytes_per_event"],
        "goscope_events_per_request": rnd(ratio(r["events"], r["served"]), 2),
        "goscope_bytes_per_request": rnd(ratio(r["gst_bytes"], r["served"])),
        "runtime_trace_bytes": r["rt_bytes"],
        "runtime_trace_events": r["rt_events"],
        "runtime_trace_bytes_per_event": rnd(ratio(r["rt_bytes"], r["rt_events"]), 2),
        "runtime_trace_events_per_request": rnd(ratio(r["rt_events"], r["served"]), 2),
        "runtime_trace_bytes_per_request": rnd(ratio(r["rt_bytes"], r["served"])),
        "runtime_trace_events_counted_with": ("go tool trace -d=parsed" if env["BENCH_RT_EVENTS_HOW"] == "parsed"
                                              else None),
    }

# ---- 4. inspect
inspect = []
for name in ["httpd", "compile"]:
    rs = select(section="inspect", binary=name)
    info = (select(section="inspect_info", binary=name) or [{}])[0]
    if rs:
        inspect.append({
            "binary": name,
            "binary_mb": round(rs[0]["bytes"] / 1e6, 1),
            "functions": info.get("functions"),
            "dwarf": info.get("dwarf"),
            "ms_median": rnd(med(r["ms"] for r in rs)),
            "ms_runs": [r["ms"] for r in rs],
        })

machine = {
    "nproc": int(env["BENCH_NPROC"]),
    "cpu": env["BENCH_CPU"],
    "memory_gb": round(int(env["BENCH_MEM_KB"]) / 1024 / 1024, 1),
    "kernel": env["BENCH_KERNEL"],
    "loadavg_1min_start_end": [float(x) for x in env["BENCH_LOAD"].split()],
    "pinning": "none",
}
doc = {
    "benchmark": "goscope on a net/http service under wrk: throughput per tracer, memory, trace size, "
                 "inspect time (bench/service/run.sh)",
    "command": env["BENCH_CMD"],
    "date": env["BENCH_DATE"],
    "duration_s": int(env["BENCH_SECS"]),
    "machine": machine,
    "go": env["BENCH_GO"],
    "goscope_commit": env["BENCH_COMMIT"],
    "goscope_binary_built": env["BENCH_BINARY_TIME"],
    "goscope_binary_sha256_12": env["BENCH_BINARY_SHA"],
    "load_generator": env["BENCH_WRK"] + " (" + env["BENCH_WRK_VERSION"] + ")",
    "bpftrace": env["BENCH_BPFTRACE"],
    "default_probe_sites": int(env["BENCH_PROBES"]),
    "default_probe_functions": int(env["BENCH_PROBE_FUNCS"]),
    "wrk_run_s": float(env["BENCH_DUR"]),
    "throughput_rounds": int(env["BENCH_REPS"]),
    "memory_run_s": float(env["BENCH_LONG"]),
    "inspect_runs": int(env["BENCH_INSPECT_REPS"]),
    "throughput": throughput,
    "memory": memory,
    "trace_size": size,
    "inspect": inspect,
    "runs": rows,
}
out = env["BENCH_OUT"]
with open(os.path.join(out, "results.json"), "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")


def fmt(x, spec=",.0f", none="–"):
    return none if x is None else format(x, spec)


def pct(r):
    return "–" if r is None else f"{100 * r:.3g}%"


probes, funcs = doc["default_probe_sites"], doc["default_probe_functions"]
LABEL = {
    "untraced": "untraced",
    "trace": "`goscope trace -q` (default probe set)",
    "all-ops": "`goscope trace -q --all-ops`",
    "record": "`goscope record` (default set, CPU samples at 99 Hz)",
    "runtime-trace": "Go's runtime/trace, in the server",
    "bpftrace": f"bpftrace, empty uprobes on the same {funcs} functions",
    "bare": f"bare uprobes at goscope's {probes} sites (no BPF)",
}

md = []
md.append("# goscope on a net/http service\n")
md.append("Written by `sudo bench/service/run.sh` (do not edit by hand; rerun it). "
          "Same data, with every run and memory sample, in [results.json](results.json).\n")
secs = doc["duration_s"]
md.append(f"- Date: {doc['date']}; the whole run took {secs // 60} min {secs % 60} s")
load = machine["loadavg_1min_start_end"]
shared = ("; other work shared the machine during the run, so expect noise of tens of percent"
          if max(load) >= 0.5 else "")
md.append(f"- Machine: {machine['nproc']} CPUs ({machine['cpu']}), {machine['memory_gb']} GB memory, nothing pinned "
          f"(server, wrk, the tracer and everything else float over the {machine['nproc']} CPUs); 1-minute load "
          f"average {load[0]:.2f} at the start, {load[1]:.2f} at the end{shared}")
md.append(f"- Kernel: {machine['kernel']}")
md.append(f"- Go (server and compile): {doc['go']}")
md.append(f"- goscope: commit {doc['goscope_commit']}, binary built {doc['goscope_binary_built']} "
          f"(sha256 {doc['goscope_binary_sha256_12']}…; commit and work-tree state are as of the run, "
          "the binary may predate them)")
md.append(f"- Load: `{env['BENCH_WRK']} http://127.0.0.1:PORT/x` ({env['BENCH_WRK_VERSION']}) on loopback, "
          f"{doc['wrk_run_s']:g} s per run; {env['BENCH_BPFTRACE']}")
rounds = doc["throughput_rounds"]
md.append(f"- Throughput: {rounds} round{'s' if rounds != 1 else ''}, every mode once per round (order rotated each round), "
          "a fresh server for every run; numbers are medians over the rounds")
md.append("")
md.append("The server is bench/trace/httpd: each request takes a `sync.Mutex`-protected hit counter, "
          "hands a small job to one of 4 worker goroutines over a channel and waits for the answer on "
          "another, then writes a 1 KiB body; net/http adds a goroutine per connection and its own "
          "network waits. It is small, so nearly all of its time is the runtime, net/http and the kernel: "
          "a tracer's cost per request shows more here than in a service doing real work per request.")
md.append("")

md.append("## 1. Throughput under each tracer\n")
md.append("| mode | requests/s | traced / untraced | events per request | server CPU µs per request "
          "| tracer CPU % | lost | trace bytes per request |")
md.append("|---|---:|---:|---:|---:|---:|---:|---:|")
for t in throughput:
    m = t["mode"]
    if m == "bare":
        ev = f"{fmt(t.get('uprobe_hits_per_request_median'), '.1f')} hits"
    else:
        ev = fmt(t.get("events_per_request_median"), ".1f")
    lost = "–"
    if "lost_total" in t:
        lost = f"{t['lost_total']:,}"
        if t.get("lost_total") and "lost_unpaired_total" in t:
            lost += (f" ({t['lost_ring_buffer_full_total']:,} dropped, "
                     f"{t['lost_unpaired_total']:,} unpaired)")
    md.append(f"| {LABEL[m]} | {fmt(t['requests_per_s_median'])} "
              f"| {'100%' if m == 'untraced' else pct(t['ratio_to_untraced_median'])} | {ev} "
              f"| {fmt(t['server_cpu_us_per_request_median'], '.0f')} "
              f"| {fmt(t.get('tracer_cpu_percent_median'), '.1f')} | {lost} "
              f"| {fmt(t.get('file_bytes_per_request_median'), '.0f')} |")
md.append("")
errors = sum(t["wrk_errors_total"] for t in throughput)
md.append(
    "\"requests/s\" is wrk's `Requests/sec` over its run, the median of the rounds. The tracer attaches "
    "to the running server before wrk starts (wrk starts once goscope has printed `goscope: tracing PID` "
    "or `recording PID`, once bpftrace has printed its BEGIN line, half a second after `perf stat` "
    "started) and is stopped with SIGINT after wrk ends; runtime/trace runs for the server's whole "
    "life (`-runtime-trace FILE`: `trace.Start` at startup, `trace.Stop` at SIGTERM). "
    "\"traced / untraced\" is the median, over the rounds, of each run's requests/s divided by the "
    "untraced run's of the same round (100% = no slowdown). "
    "\"events per request\" is the tracer's event count over the requests the server served while "
    "it was attached (its own `served requests=N` count, printed at exit): goscope's `N events` "
    "(for record: events written, CPU samples included — a few hundred per second at 99 Hz); for the "
    "bare uprobes the hits of all the sites counted by `perf stat -e 'GROUP:*'`. bpftrace's probes are "
    "empty and count nothing. "
    "\"server CPU µs per request\" is the server's user+system CPU time during the wrk run "
    "(from /proc/PID/stat) over the requests served: a uprobe hit is handled by the kernel in the "
    "thread that hits it, so the price of the probes themselves lands here, and the difference to the "
    "untraced row is what tracing costs the service per request. \"tracer CPU %\" is the tracer "
    "process's own user+system CPU during the wrk run, as a percentage of one CPU (goscope: reading "
    "the ring buffer, decoding, the state model, for record also compressing and writing; bpftrace "
    "and perf do nothing per hit in user space). \"lost\" is goscope's `M lost`: \"dropped\" are records "
    "the BPF side could not put in the full ring buffer; \"unpaired\" are halves of an operation "
    "(an entry without its return or the reverse) seen because goscope attached or detached while "
    "the operation was in flight, which the summary also counts as lost. \"trace bytes per request\" "
    "is the size of the trace file (goscope's .gst, runtime/trace's output) over the requests served. "
    f"wrk reported {errors} socket errors or non-2xx responses over all the runs. "
    f"On this {machine['nproc']}-CPU machine, wrk's two threads, the server and the tracer share the "
    "CPUs: the untraced server is held back by wrk too, and any CPU the tracer uses is taken from the "
    "server. The bpftrace and bare-uprobe rows attach goscope's own default plan "
    f"(`goscope trace --list-probes`: {probes} sites in {funcs} functions): bpftrace at the entries of "
    "those functions (where its uprobes go; goscope probes after the stack check and at some return "
    "instructions, which bpftrace cannot place safely on Go code), the bare uprobes at goscope's exact "
    "instructions through tracefs with no BPF program at all, only counted by `perf stat`: the "
    "kernel's floor for those probe hits.")
md.append("")

md.append("## 2. goscope's memory over a long run\n")
md.append("| command | seconds under load | requests/s | events | lost | goscope CPU % | RSS at attach "
          "| RSS at 10 s | RSS at the end | peak RSS | trace file |")
md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for m in memory:
    cmd = "`goscope trace -p PID -q`" if m["mode"] == "trace" else "`goscope record -p PID`"
    gst = "–" if m["gst_bytes"] is None else f"{m['gst_bytes'] / 2**20:.1f} MiB"
    md.append(f"| {cmd} | {m['seconds']:.0f} | {fmt(m['requests_per_s'])} | {fmt(m['events'])} | {fmt(m['lost'])} "
              f"| {fmt(m['tracer_cpu_percent'], '.1f')} | {fmt(m['rss_at_attach_mib'], '.1f')} MiB "
              f"| {fmt(m['rss_at_10s_mib'], '.1f')} MiB | {fmt(m['rss_at_end_mib'], '.1f')} MiB "
              f"| {fmt(m['peak_rss_mib'], '.1f')} MiB | {gst} |")
md.append("")
md.append(
    f"One fresh server each, under wrk for {doc['memory_run_s']:g} s with goscope attached (default probe "
    "set). RSS is goscope's `VmRSS` from /proc/PID/status, read right after it attached (\"at attach\", "
    "before wrk starts), then about once a second (\"at 10 s\": the sample nearest 10 s after wrk started) "
    "and just before the SIGINT (\"at the end\"); \"peak RSS\" is its `VmHWM` then, the most it held "
    "at any time, attach included. RSS counts the pages of goscope's own memory and of its "
    "binary that are resident, not the BPF ring buffer, which is kernel memory (8 MiB by default); "
    "RSS that stays flat from 10 s to the end means goscope's memory does not grow with the "
    "number of events or requests. Every sample is in results.json.")
md.append("")

md.append("## 3. Trace size: goscope record next to Go's runtime/trace, same run\n")
if size:
    rt_ev = size["runtime_trace_events"]
    md.append("| trace | file size | events | events per request | bytes per event | bytes per request |")
    md.append("|---|---:|---:|---:|---:|---:|")
    md.append(f"| `goscope record` (.gst) | {size['goscope_bytes'] / 2**20:.2f} MiB | {fmt(size['goscope_events'])} "
              f"| {fmt(size['goscope_events_per_request'], '.1f')} | {fmt(size['goscope_bytes_per_event'], '.1f')} "
              f"| {fmt(size['goscope_bytes_per_request'], '.0f')} |")
    md.append(f"| Go's runtime/trace | {size['runtime_trace_bytes'] / 2**20:.2f} MiB | {fmt(rt_ev)} "
              f"| {fmt(size['runtime_trace_events_per_request'], '.1f')} "
              f"| {fmt(size['runtime_trace_bytes_per_event'], '.1f')} "
              f"| {fmt(size['runtime_trace_bytes_per_request'], '.0f')} |")
    md.append("")
    how = ("runtime/trace's events are counted with `go tool trace -d=parsed FILE` (Go's trace tool "
           "prints every event its parser reads, one line each starting `M=`; these are the "
           "parser's events: a stack or string table entry is not one, a goroutine state change is)"
           if size["runtime_trace_events_counted_with"] else
           "runtime/trace's events are not counted: this Go's trace tool has no `-d=parsed` mode to print "
           "them, so only bytes per request compare")
    md.append(
        f"One server started with `-runtime-trace FILE` and `goscope record -p PID` attached to it at the "
        f"same time, under wrk for {doc['wrk_run_s']:g} s ({fmt(size['requests_per_s'])} requests/s, slowed "
        f"by both tracers); {fmt(size['requests_served'])} requests served in all (the server's count). "
        "goscope's events and bytes per event are from its own end line (`N events in X s to FILE: SIZE, "
        "B bytes per event`, CPU samples included); " + how + ". runtime/trace runs for the server's "
        "whole life, goscope from its attach (before wrk started) to the SIGINT after wrk ended: both "
        "cover every request. The two record different things: runtime/trace every goroutine state "
        "change, system call and heap-size change, with stacks; goscope's default set the blocking "
        "operations (park, wake-up, lock slow paths, goroutine creation and exit, make/close of channels, "
        "stop-the-world) with their objects and stacks, and the CPU samples. Bytes per request is the "
        "comparison that does not depend on what each calls an event. A .gst also holds, once, the "
        "goroutines at attach and the symbols of every address its events refer to (a few KiB here), "
        "so it opens without the binary.")
md.append("")

md.append("## 4. `goscope inspect` time\n")
md.append("| binary | size | functions | DWARF | wall time (median) | runs |")
md.append("|---|---:|---:|---|---:|---|")
names = {"httpd": "bench/trace/httpd", "compile": "compile (the Go toolchain's, the biggest Go binary at hand)"}
for i in inspect:
    md.append(f"| {names[i['binary']]} | {i['binary_mb']:.1f} MB | {fmt(i['functions'])} | {i['dwarf'] or '–'} "
              f"| {i['ms_median']:.0f} ms | {', '.join(f'{x:.0f}' for x in i['ms_runs'])} ms |")
md.append("")
md.append(
    "Wall time of `goscope inspect BINARY >/dev/null`, process start to exit: reading the ELF, the Go "
    "build info and the pclntab, the runtime's struct offsets (from DWARF when the binary has it, "
    "otherwise from goscope's table for that Go version), locating the runtime hooks, printing. "
    f"The median of {doc['inspect_runs']} runs, after one unmeasured run of each so the page cache is "
    "warm. \"functions\" is the pclntab's count, as inspect prints it. The toolchain's binaries are "
    "built without DWARF, so the bigger binary can take no longer than the small one: reading the "
    "DWARF is much of the small one's time.")
md.append("")
with open(os.path.join(out, "RESULTS.md"), "w") as f:
    f.write("\n".join(md))

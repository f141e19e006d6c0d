#!/usr/bin/env python3
"""Writes bench/dump/RESULTS.md and results.json from run.sh's rows (env BENCH_*)."""
import json
import os

env = os.environ
cols = ["n", "goroutines_seen", "text_median_s", "json_median_s", "peak_rss_kb", "read_median_ms",
        "go_sigquit_s", "go_sigquit_goroutines", "text_bytes", "go_sigquit_bytes", "target_rss_kb",
        "text_runs_s", "json_runs_s"]
rows = []
with open(env["BENCH_ROWS"]) as f:
    for line in f:
        v = dict(zip(cols, line.rstrip("\n").split("\t")))
        rows.append({
            "goroutines": int(v["n"]),
            "goroutines_seen_by_goscope": int(v["goroutines_seen"]),
            "goscope_dump_text_median_s": float(v["text_median_s"]),
            "goscope_dump_json_median_s": float(v["json_median_s"]),
            "goscope_peak_rss_mb": round(int(v["peak_rss_kb"]) / 1024, 1),
            "goscope_snapshot_read_median_ms": float(v["read_median_ms"]),
            "go_sigquit_dump_s": float(v["go_sigquit_s"]),
            "go_sigquit_goroutines_printed": int(v["go_sigquit_goroutines"]),
            "goscope_text_output_bytes": int(v["text_bytes"]),
            "go_sigquit_output_bytes": int(v["go_sigquit_bytes"]),
            "target_rss_mb": round(int(v["target_rss_kb"]) / 1024, 1),
            "goscope_dump_text_runs_s": [float(x) for x in v["text_runs_s"].split(",")],
            "goscope_dump_json_runs_s": [float(x) for x in v["json_runs_s"].split(",")],
        })

machine = {
    "nproc": int(env["BENCH_NPROC"]),
    "cpu": env["BENCH_CPU"],
    "memory_gb": round(int(env["BENCH_MEM_KB"]) / 1024 / 1024, 1),
    "kernel": env["BENCH_KERNEL"],
    "loadavg_1min_start_end": [float(x) for x in env["BENCH_LOAD"].split()],
}
doc = {
    "benchmark": "goscope dump on N parked goroutines (bench/dump/run.sh)",
    "date": env["BENCH_DATE"],
    "machine": machine,
    "go": env["BENCH_GO"],
    "goscope_commit": env["BENCH_COMMIT"],
    "goscope_binary_built": env["BENCH_BINARY_TIME"],
    "goscope_binary_sha256_12": env["BENCH_BINARY_SHA"],
    "runs_per_n": int(env["BENCH_REPS"]),
    "results": rows,
}
out = env["BENCH_OUT"]
with open(os.path.join(out, "results.json"), "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")

md = []
md.append("# `goscope dump` benchmark\n")
md.append("Written by `sudo bench/dump/run.sh` (do not edit by hand; rerun it). "
          "Same data as [results.json](results.json).\n")
md.append("| N goroutines | goscope dump text, median s | `--json`, median s | goscope peak RSS MB "
          "| Go SIGQUIT dump s | snapshot read, median ms | target RSS MB |")
md.append("|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    md.append(f"| {r['goroutines']:,} | {r['goscope_dump_text_median_s']:.3f} "
              f"| {r['goscope_dump_json_median_s']:.3f} | {r['goscope_peak_rss_mb']:.1f} "
              f"| {r['go_sigquit_dump_s']:.3f} | {r['goscope_snapshot_read_median_ms']:.1f} "
              f"| {r['target_rss_mb']:.1f} |")
md.append("")
md.append(f"- Date: {doc['date']}; {doc['runs_per_n']} runs per N and format, text and `--json` interleaved")
load = machine["loadavg_1min_start_end"]
shared = ("; other work shared the machine during the run, so expect noise of tens of percent"
          if max(load) >= 0.5 else "")
md.append(f"- Machine: {machine['nproc']} CPUs ({machine['cpu']}), {machine['memory_gb']} GB memory; "
          f"1-minute load average {load[0]:.2f} at the start, {load[1]:.2f} at the end{shared}")
md.append(f"- Kernel: {machine['kernel']}")
md.append(f"- Go (target): {doc['go']}")
md.append(f"- goscope: commit {doc['goscope_commit']}, build/src/cli/goscope built {doc['goscope_binary_built']} "
          f"(sha256 {doc['goscope_binary_sha256_12']}…; commit and work-tree state are as of the run, "
          "the binary may predate them)")
md.append("")
md.append("## How to read the numbers\n")
md.append(
    "Each time is wall-clock time of one whole `goscope dump -p PID` command (start to exit: "
    "loading the binary's symbols, reading every goroutine with process_vm_readv, the deadlock / leak "
    "verdict (lock holders inferred from stacks, who can still reach each channel through the "
    "process's memory, and a second look 200 ms later when something looks stuck), symbolizing and "
    "printing; text goes to a file, `--json` to /dev/null), the median of the runs listed in "
    "results.json; \"snapshot read\" is the part goscope itself reports for reading the goroutines "
    "(its stderr line `read N goroutines ... in X ms`), so the rest is startup, the verdict, "
    "symbolization and output. "
    "Peak RSS is the largest maximum resident set size of goscope over all its runs for that N "
    "(`/usr/bin/time %M`). The Go SIGQUIT column is the time from `kill -QUIT` to the exit of the "
    "target with `GOTRACEBACK=all` (the runtime stops the world, prints every goroutine to stderr and "
    "exits), i.e. what the usual alternative costs — and it kills the process, which goscope does not. "
    "The target (bench/dump/many) parks N goroutines: ~88% in channel receives at stack depths 0–7, "
    "the rest in channel sends, selects, a contended sync.Mutex, time.Sleep and WaitGroup.Wait; "
    "target RSS is its resident memory when ready. The machine has few cores shared with other jobs, so "
    "compare rows of one run with each other rather than with runs elsewhere."
)
md.append("")
last = rows[-1]
md.append(
    "Text and `--json` do different amounts of work: text uses the default grouping (`--group auto`: "
    "goroutines with identical stacks are printed once with a count above 100 goroutines), so its output "
    f"stays small ({last['goscope_text_output_bytes']:,} bytes at N={last['goroutines']:,}), while `--json` "
    "writes every goroutine with its stack. Go's SIGQUIT dump has no grouping: at "
    f"N={last['goroutines']:,} it printed {last['go_sigquit_goroutines_printed']:,} goroutines, "
    f"{last['go_sigquit_output_bytes'] / 1e6:.0f} MB, to a file on local disk, with many small write "
    "calls; into a terminal or a log pipeline it can be slower still."
)
md.append("")
with open(os.path.join(out, "RESULTS.md"), "w") as f:
    f.write("\n".join(md))

#!/usr/bin/env python3
"""Writes bench/RESULTS.md and bench/results.json from the parts' results
(bench/trace, bench/service, bench/dump), after bench/run.sh ran them all.
Env: BENCH_SECS (the whole run), BENCH_DATE."""
import json
import os
import re

here = os.path.dirname(os.path.abspath(__file__))
PARTS = ["trace", "service", "dump"]
docs = {}
texts = {}
for p in PARTS:
    with open(os.path.join(here, p, "results.json")) as f:
        docs[p] = json.load(f)
    with open(os.path.join(here, p, "RESULTS.md")) as f:
        texts[p] = f.read()

trace, service = docs["trace"], docs["service"]


def row(rows, **kw):
    return next((r for r in rows if all(r.get(k) == v for k, v in kw.items())), None)


# ---- the targets, read off the parts
targets = []
http = row(service.get("throughput", []), mode="trace")
if http:
    ratio = http.get("ratio_to_untraced_median")
    targets.append({
        "target": "`trace` (default set) keeps >= 95% of the HTTP server's requests/s",
        "measured": f"{100 * ratio:.1f}%" if ratio is not None else "–",
        "met": ratio is not None and ratio >= 0.95,
    })
pp = row(trace["slowdown"], workload="pingpong", mode="default")
if pp and pp.get("cost_vs_bpftrace") is not None:
    targets.append({
        "target": "`trace` (default set) on the ping-pong costs <= bpftrace's empty probes on the same hooks + 20%",
        "measured": f"{pp['cost_vs_bpftrace']:.2f}× bpftrace's added time per round trip",
        "met": pp["cost_vs_bpftrace"] <= 1.2,
    })
at200 = [c for c in trace["capacity"] if c["events_per_s_consumed_median"] >= 200000]
if at200:
    worst = max(c["lost_max"] for c in at200)
    fastest = max(c["events_per_s_consumed_median"] for c in at200)
    targets.append({
        "target": "no lost events at 200,000 events/s",
        "measured": f"{len(at200)} configurations at >= 200k events/s (up to {fastest:,}/s): "
                    f"at most {worst:,} lost in a run",
        "met": worst == 0,
    })
else:
    best = max(trace["capacity"], key=lambda c: c["events_per_s_consumed_median"])
    targets.append({
        "target": "no lost events at 200,000 events/s",
        "measured": f"the target never produced 200k events/s (at most {best['events_per_s_consumed_median']:,})",
        "met": False,
    })

machine = trace["machine"]
doc = {
    "benchmark": "goscope: every benchmark of bench/run.sh",
    "date": os.environ["BENCH_DATE"],
    "duration_s": int(os.environ["BENCH_SECS"]),
    "machine": machine,
    "go": trace["go"],
    "goscope_commit": trace["goscope_commit"],
    "targets": targets,
    **{p: docs[p] for p in PARTS},
}
with open(os.path.join(here, "results.json"), "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")


def demote(text, part):
    """A part's RESULTS.md one heading level down, its local links made relative to bench/."""
    out = []
    for line in text.splitlines():
        if line.startswith("#"):
            line = "#" + line
        line = re.sub(r"\]\((results\.json|RESULTS\.md)\)", rf"]({part}/\1)", line)
        out.append(line)
    return "\n".join(out)


md = ["# goscope benchmarks\n",
      "Written by `sudo bench/run.sh` (do not edit by hand; rerun it): every part below comes from the "
      "same run, on the same machine, one after the other. Same data in [results.json](results.json).\n",
      f"- Date: {doc['date']}; the whole run took {doc['duration_s'] // 60} min {doc['duration_s'] % 60} s",
      f"- Machine: {machine['nproc']} CPUs ({machine['cpu']}), {machine['memory_gb']} GB memory; "
      f"kernel {machine['kernel']}",
      f"- Go: {doc['go']}",
      f"- goscope: commit {doc['goscope_commit']}",
      "",
      "## How to read these numbers\n",
      "Every overhead is a ratio of two runs measured side by side in one run (interleaved, order rotated, "
      "medians), never an absolute time to compare across machines. The traced program pays for each "
      "uprobe hit with a trap into the kernel; on this machine (a PVM guest: every exception from user "
      "space goes through the hypervisor) one trap costs several microseconds, several times what it "
      "costs on bare metal, so every uprobe tool — goscope, bpftrace, perf — is slower here than it would "
      "be on a physical server. The rows that matter are the comparisons in the same table: goscope "
      "against bpftrace with empty probes on the same functions, against plain uprobes at goscope's own "
      "instructions with no BPF program (counted by perf: about the kernel's floor for those hooks), and "
      "against Go's runtime/trace.\n",
      "## Targets\n",
      "| target | measured | met |",
      "|---|---|---|"]
for t in targets:
    md.append(f"| {t['target']} | {t['measured']} | {'yes' if t['met'] else '**no**'} |")
md.append("")
bare = row(service.get("throughput", []), mode="bare")
if http and bare and http.get("ratio_to_untraced_median") is not None and http["ratio_to_untraced_median"] < 0.95:
    md.append(
        f"Why the HTTP target is not met here: the server does {http.get('events_per_request_median', 0):.0f} "
        f"probe hits per request in the default set, and each is a trap that costs the server's thread "
        f"several microseconds on this machine: together several times the "
        f"{row(service['throughput'], mode='untraced')['server_cpu_us_per_request_median']:.0f} µs of CPU an "
        f"untraced request takes. Plain uprobes at the same instructions with no BPF program at all keep "
        f"{100 * bare['ratio_to_untraced_median']:.1f}% of the throughput, goscope "
        f"{100 * http['ratio_to_untraced_median']:.1f}%: what is left is the kernel's price of the traps, not "
        "goscope's program or consumer. 95% would need under ~1.2 µs of probes per request.\n")
for p in PARTS:
    md.append(demote(texts[p], p))
    md.append("")
with open(os.path.join(here, "RESULTS.md"), "w") as f:
    f.write("\n".join(md))

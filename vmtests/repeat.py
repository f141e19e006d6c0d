#!/usr/bin/env python3
"""Runs vmtest cases many times and reports how often each verdict missed.

    sudo vmtests/repeat.py --goscope build/src/cli/goscope --runs 20 --jobs 2 \\
        detect_trace_bugs detect_dump_bugs [--go 1.21,1.23] [--only bug_sendleak,bug_rangeleak]

A flaky detection is a real defect (goscope found the bug in one run and not in the
next), so it is measured, not retried away: each (case, Go version) runs --runs times,
--jobs runs at once (CI runs ctest with -j2, and the detection cases run two traces
at a time inside each test: --jobs 2 reproduces CI's load). Every `VERDICT ...` line
the runs print is counted per (mode, go, variant, prog); the table gives, for each,
the runs, the true positives and the misses (anything else: FN, MISMATCH, +FP,
ERROR), with the notes of the misses. Exit status 1 when anything missed.

--only restricts the detection cases to some programs (GOSCOPE_DETECT_ONLY);
--keep DIR keeps each run's full output and findings (GOSCOPE_VMTEST_KEEP).
"""
import argparse
import collections
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
VERDICT = re.compile(r"VERDICT mode=(\S+) go=(\S+) variant=(\S+) prog=(\S+) verdict=(\S+)(?: note=(.*))?$")


def matrix():
    out = subprocess.run([os.path.join(REPO, "scripts/go-toolchains.sh"), "--print"], capture_output=True,
                         text=True, check=True).stdout.split()
    return out[0::2]


def one_run(args, case, go, i):
    env = dict(os.environ)
    if args.only:
        env["GOSCOPE_DETECT_ONLY"] = args.only
    keep = None
    if args.keep:
        keep = os.path.join(args.keep, f"{case}.go{go}.run{i:02d}")
        os.makedirs(keep, exist_ok=True)
        env["GOSCOPE_VMTEST_KEEP"] = keep
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, os.path.join(HERE, "run.py"), "--goscope", args.goscope, "--go", go, case],
                       capture_output=True, text=True, env=env)
    out = p.stdout + p.stderr
    if keep:
        with open(os.path.join(keep, "output.txt"), "w") as f:
            f.write(out)
    verdicts = []
    for line in out.splitlines():
        m = VERDICT.search(line)
        if m:
            mode, g, variant, prog, verdict, note = m.groups()
            verdicts.append(((mode, g, variant, prog), verdict, json.loads(note) if note else ""))
    return case, go, i, p.returncode, time.monotonic() - t0, verdicts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--goscope", required=True)
    ap.add_argument("--go", default="", help="comma-separated Go versions (default: the whole matrix)")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", default="", help="comma-separated test programs of the detection cases")
    ap.add_argument("--keep", default="", help="keep every run's output and findings in this folder")
    ap.add_argument("cases", nargs="+")
    args = ap.parse_args()
    args.goscope = os.path.abspath(args.goscope)
    versions = [v for v in args.go.split(",") if v] or matrix()
    work = [(c, g, i) for i in range(args.runs) for c in args.cases for g in versions]
    stats = collections.defaultdict(lambda: collections.Counter())
    misses = collections.defaultdict(list)
    failed_runs = 0
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(one_run, args, c, g, i) for c, g, i in work]
        for n, fut in enumerate(concurrent.futures.as_completed(futures), 1):
            case, go, i, rc, secs, verdicts = fut.result()
            bad = [v for v in verdicts if v[1] != "TP" and v[1] != "TN"]
            if rc != 0:
                failed_runs += 1
            print(f"[{n}/{len(work)}] {case} go{go} run {i}: exit {rc}, {len(verdicts)} verdicts, "
                  f"{len(bad)} missed, {secs:.0f}s", flush=True)
            if rc != 0 and not verdicts:
                misses[(case, go, "-", "-")].append(f"run {i}: exit {rc} without any verdict")
            for key, verdict, note in verdicts:
                stats[key][verdict] += 1
                if verdict not in ("TP", "TN"):
                    misses[key].append(f"run {i}: {verdict}: {note}")
    print(f"\n{len(work)} runs in {time.monotonic() - started:.0f}s, {failed_runs} failed (exit != 0)\n")
    print(f"{'mode':<12} {'go':<5} {'variant':<13} {'prog':<20} {'runs':>4} {'ok':>4} {'missed':>6}  rate")
    total = total_missed = 0
    for key in sorted(stats):
        c = stats[key]
        runs = sum(c.values())
        ok = c["TP"] + c["TN"]
        total += runs
        total_missed += runs - ok
        mode, go, variant, prog = key
        print(f"{mode:<12} {go:<5} {variant:<13} {prog:<20} {runs:>4} {ok:>4} {runs - ok:>6}  "
              f"{100.0 * (runs - ok) / runs:.1f}%")
    print(f"\nall: {total} verdicts, {total_missed} missed ({100.0 * total_missed / max(total, 1):.2f}%)")
    for key in sorted(misses):
        print(f"\nmissed {' '.join(key)}:")
        for m in misses[key]:
            print(f"  {m[:1500]}")
    return 1 if total_missed or failed_runs else 0


if __name__ == "__main__":
    sys.exit(main())

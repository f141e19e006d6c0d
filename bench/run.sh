#!/usr/bin/env bash
# Every goscope benchmark in one run, then bench/RESULTS.md and bench/results.json:
#   bench/trace    CPU-bound workloads (ping-pong, mutex, worker pool): slowdown under
#                  trace / --all-ops / record / Go runtime/trace / bpftrace / bare
#                  uprobes, loader capacity and loss up to 300k events/s, attach latency
#   bench/service  a net/http server under wrk: the same tracers, goscope's memory over
#                  a 1-minute trace, trace bytes per event vs runtime/trace, inspect time
#   bench/dump     goscope dump on 1,000 / 10,000 / 100,000 goroutines vs Go's SIGQUIT dump
# Each part also writes its own RESULTS.md and results.json in its folder.
#
#   sudo bench/run.sh            # everything (about 15 minutes); installs what it needs
#   sudo bench/run.sh --smoke    # each part's smoke run: checks it works, writes nothing
#
# Env: GO_VERSION (default 1.24) and each part's own knobs (see bench/*/run.sh --help);
#      GOSCOPE_BIN (default build/src/cli/goscope, built when missing).
# Exit 2 when it cannot run, 1 when a part fails.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"
# shellcheck source=lib.sh
source "$repo/bench/lib.sh"

smoke=()
for a in "$@"; do
  case $a in
    --smoke) smoke=(--smoke) ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $a (try --help)" >&2; exit 2 ;;
  esac
done
bench_require_root "goscope loads BPF and reads process memory" "$@"

# What the benchmarks need: the packages (bpftrace, perf, wrk among them), the Go
# toolchain, goscope itself.
scripts/setup.sh
export GO_VERSION=${GO_VERSION:-1.24}
scripts/go-toolchains.sh --versions "$GO_VERSION" >&2
if [[ -z ${GOSCOPE_BIN:-} && ! -x build/src/cli/goscope ]]; then
  [[ -f build/build.ninja ]] || cmake -S . -B build -G Ninja >&2
  cmake --build build --target goscope >&2
fi

t0=$(date +%s)
for part in trace service dump; do
  echo "bench: ---- $part" >&2
  "bench/$part/run.sh" "${smoke[@]}"
done
if [[ ${#smoke[@]} -eq 1 ]]; then
  echo "bench: smoke runs ok ($(($(date +%s) - t0)) s)" >&2
  exit 0
fi
BENCH_SECS=$(($(date +%s) - t0)) BENCH_DATE=$(date -u +%Y-%m-%dT%H:%MZ) python3 bench/write_results.py
echo "bench: wrote bench/RESULTS.md and bench/results.json" >&2

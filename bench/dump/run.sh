#!/usr/bin/env bash
# Times `goscope dump` on a Go process with 1,000 / 10,000 / 100,000 parked
# goroutines, next to Go's own SIGQUIT dump of the same process, and writes
# bench/dump/RESULTS.md and bench/dump/results.json.
#
#   sudo bench/dump/run.sh            # full run (a few minutes), writes the results
#   sudo bench/dump/run.sh --smoke    # N=1000 once, checks it works, writes nothing
#
# Env: GO_VERSION (toolchain of scripts/go-toolchains.sh, default 1.24),
#      REPS (runs per N and output format, default 5), NS (default "1000 10000 100000"),
#      GOSCOPE_BIN (the goscope to measure, default build/src/cli/goscope).
# Needs root: goscope reads the target's memory. Exit 2 when it cannot run, 1 when
# a check fails.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
# shellcheck source=../lib.sh
source "$repo/bench/lib.sh"

bench_parse_args 12 "$@"

bench_require_root "goscope dump reads the target's memory" "$@"

GO_VERSION=${GO_VERSION:-1.24}
REPS=${REPS:-5}
NS=${NS:-"1000 10000 100000"}
if [[ $smoke -eq 1 ]]; then REPS=1; NS=1000; fi

goroot=$(bench_goroot "$GO_VERSION")

work=$(mktemp -d /tmp/goscope-bench-dump.XXXXXX)
bench_stage_goscope "$work"
load_start=$(cut -d" " -f1 /proc/loadavg)
target_pid=
cleanup() {
  exec 3>&- 2>/dev/null || true
  if [[ -n $target_pid ]]; then kill -KILL "$target_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "run.sh: building bench/dump/many with Go $GO_VERSION" >&2
bench_go_build "$goroot" "$work" "$work/many" "$here/many/main.go"

# One goscope dump run: prints "seconds peak_rss_kb read_ms".
run_goscope() {  # pid out_file [args...]
  local pid=$1 out=$2; shift 2
  local t0 t1 rc=0
  t0=$(now_ns)
  /usr/bin/time -f "%M" -o "$work/time.txt" "$goscope" dump -p "$pid" "$@" >"$out" 2>"$work/gs.err" || rc=$?
  t1=$(now_ns)
  if [[ $rc -ge 2 ]]; then
    echo "run.sh: goscope dump -p $pid $* failed (exit $rc):" >&2
    cat "$work/gs.err" >&2
    exit 1
  fi
  local rss read_ms
  rss=$(tail -n 1 "$work/time.txt")
  read_ms=$(sed -n 's/.* in \([0-9.]*\) ms.*/\1/p' "$work/gs.err" | tail -n 1)
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }') $rss ${read_ms:-nan}"
}

rows=$work/rows.tsv
: >"$rows"
fail=0
for n in $NS; do
  echo "run.sh: N=$n: starting the target" >&2
  rm -f "$work/fifo"; mkfifo "$work/fifo"
  GOTRACEBACK=all MANY_N=$n "$work/many" <"$work/fifo" >"$work/many.out" 2>"$work/many.err" &
  target_pid=$!
  exec 3>"$work/fifo"  # the target holds until this closes
  for _ in $(seq 1 3000); do
    grep -q '^ready' "$work/many.out" 2>/dev/null && break
    kill -0 "$target_pid" 2>/dev/null || { echo "run.sh: the target died:" >&2; cat "$work/many.err" >&2; exit 1; }
    sleep 0.1
  done
  grep -q '^ready' "$work/many.out" || { echo "run.sh: the target never got ready" >&2; exit 1; }
  target_rss_kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$target_pid/status")

  : >"$work/text.tsv"; : >"$work/json.tsv"
  for _ in $(seq 1 "$REPS"); do  # interleaved, so drift hits both alike
    run_goscope "$target_pid" "$work/dump.txt" >>"$work/text.tsv"
    run_goscope "$target_pid" /dev/null --json >>"$work/json.tsv"
  done
  header=$(head -n 1 "$work/dump.txt")
  seen=$(sed -n '1s/.*): \([0-9]*\) goroutines.*/\1/p' "$work/dump.txt")
  text_bytes=$(stat -c %s "$work/dump.txt")
  if [[ -z $seen || $seen -lt $n ]]; then
    echo "run.sh: N=$n: goscope saw ${seen:-no} goroutines; header: $header" >&2
    fail=1
  fi
  echo "run.sh: N=$n: $header" >&2

  # Go's own dump, last: SIGQUIT makes the runtime print every goroutine and exit.
  # (stdin stays open until then: closing it would make the target exit by itself)
  t0=$(now_ns)
  kill -QUIT "$target_pid"
  wait "$target_pid" 2>/dev/null || true
  t1=$(now_ns)
  exec 3>&-
  target_pid=
  go_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
  go_bytes=$(stat -c %s "$work/many.err")
  go_gs=$(grep -c '^goroutine ' "$work/many.err" || true)

  text_med=$(cut -d' ' -f1 "$work/text.tsv" | median)
  json_med=$(cut -d' ' -f1 "$work/json.tsv" | median)
  rss_max=$(cat "$work/text.tsv" "$work/json.tsv" | cut -d' ' -f2 | sort -n | tail -n 1)
  read_med=$(cut -d' ' -f3 "$work/text.tsv" | median)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$n" "$seen" "$text_med" "$json_med" "$rss_max" "$read_med" "$go_secs" "$go_gs" \
    "$text_bytes" "$go_bytes" "$target_rss_kb" \
    "$(cut -d' ' -f1 "$work/text.tsv" | paste -sd,)" "$(cut -d' ' -f1 "$work/json.tsv" | paste -sd,)" >>"$rows"
  echo "run.sh: N=$n: text ${text_med}s, json ${json_med}s, peak RSS ${rss_max} kB, Go SIGQUIT ${go_secs}s" >&2
done

if [[ $smoke -eq 1 ]]; then
  [[ $fail -eq 0 ]] && echo "run.sh --smoke: ok" >&2
  exit "$fail"
fi
[[ $fail -eq 0 ]] || exit 1

# Everything about the run, for the results files.
BENCH_ROWS=$rows BENCH_OUT=$here BENCH_REPS=$REPS
BENCH_NPROC=$(nproc)
BENCH_CPU=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
BENCH_MEM_KB=$(awk '/^MemTotal/ { print $2 }' /proc/meminfo)
BENCH_KERNEL=$(uname -r)
BENCH_GO=$("$goroot/bin/go" version)
BENCH_COMMIT=$commit
[[ $dirty -eq 0 ]] || BENCH_COMMIT+=" (the work tree had uncommitted changes in src/ or bpf/)"
BENCH_BINARY_TIME=$binary_time BENCH_BINARY_SHA=$binary_sha
BENCH_DATE=$(date -u +%Y-%m-%dT%H:%MZ)
BENCH_LOAD="$load_start $(cut -d" " -f1 /proc/loadavg)"
export BENCH_ROWS BENCH_OUT BENCH_REPS BENCH_NPROC BENCH_CPU BENCH_MEM_KB BENCH_KERNEL BENCH_GO \
  BENCH_COMMIT BENCH_BINARY_TIME BENCH_BINARY_SHA BENCH_DATE BENCH_LOAD
python3 "$here/write_results.py"
echo "run.sh: wrote bench/dump/RESULTS.md and bench/dump/results.json" >&2

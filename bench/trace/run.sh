#!/usr/bin/env bash
# Measures goscope on three CPU-bound Go workloads (a channel ping-pong, a contended
# sync.Mutex counter, a worker pool): (1) the slowdown of each, side by side with
# interleaved repetitions, untraced / `goscope trace` default set / `trace --all-ops`
# / `goscope record` / Go's runtime/trace in-process / bpftrace with empty uprobes on
# the same runtime functions / bare uprobes at goscope's exact instructions (tracefs,
# no BPF: the kernel's floor), and on the ping-pong also the default set with a
# ring-buffer wake-up per record (how goscope ran before wake-ups were batched);
# (2) the events per second goscope consumes and the events it loses as the offered
# load grows (default set and --sched on the ping-pong, rate-limited and unlimited,
# once with a 64 MiB ring buffer); (3) attach latency and detach time on the load
# program and on the Go toolchain's compile binary. Writes bench/trace/RESULTS.md
# and bench/trace/results.json.
#
#   sudo bench/trace/run.sh            # full run (about 15 minutes), writes the results
#   sudo bench/trace/run.sh --smoke    # each mode once, short (about 2 minutes); checks
#                                      # that it works, writes nothing
#
# Env: GO_VERSION (toolchain of scripts/go-toolchains.sh, default 1.24),
#      REPS (interleaved repetitions of the slowdown runs, default 5), CAP_REPS (of the
#      capacity runs, default 2), ATTACH_REPS (compile attaches with the default set,
#      default 3; --all-ops once), DUR (seconds of each timed loop, default 2), RATES
#      (offered default-set events/s of the rate-limited runs, default "50000 100000 200000 300000"),
#      PAIRS (ping-pong pairs of the unlimited runs, default "1 2 4"), BIG_PAIRS (pairs
#      of the 64 MiB ring-buffer run, default 2), GOSCOPE_BIN (the goscope to measure,
#      default build/src/cli/goscope).
# Needs root: goscope loads BPF and reads the target's memory. Exit 2 when it cannot
# run, 1 when a check fails.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
# shellcheck source=../lib.sh
source "$repo/bench/lib.sh"

bench_parse_args 24 "$@"

bench_require_root "goscope trace loads BPF" "$@"

GO_VERSION=${GO_VERSION:-1.24}
REPS=${REPS:-5}
CAP_REPS=${CAP_REPS:-2}
ATTACH_REPS=${ATTACH_REPS:-3}
DUR=${DUR:-2}
RATES=${RATES:-"50000 100000 200000 300000"}
PAIRS=${PAIRS:-"1 2 4"}
BIG_PAIRS=${BIG_PAIRS:-2}
if [[ $smoke -eq 1 ]]; then REPS=1; CAP_REPS=1; ATTACH_REPS=1; DUR=1; fi

goroot=$(bench_goroot "$GO_VERSION")
compile_bin=$goroot/pkg/tool/linux_amd64/compile
[[ -x $compile_bin ]] || { echo "run.sh: $compile_bin not found" >&2; exit 2; }

work=$(mktemp -d /tmp/goscope-bench-trace.XXXXXX)
bench_stage_goscope "$work"
load_start=$(cut -d" " -f1 /proc/loadavg)
bench_t0=$(date +%s)
clk_tck=$(getconf CLK_TCK)
perf_group=gsbench$$
perf_probe=0  # tracefs uprobes of group $perf_group exist
declare -A kids=()  # processes this script started and has not waited for yet
cleanup() {
  { exec 3>&-; } 2>/dev/null || true
  local p
  for p in "${!kids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  # The tracefs uprobes can only go once no perf stat holds them open.
  for p in "${!kids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ $perf_probe -eq 1 ]]; then bench_bare_probes_remove "$perf_group"; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "run.sh: building bench/trace/load with Go $GO_VERSION" >&2
bench_go_build "$goroot" "$work" "$work/load" "$here/load/main.go"
for tool in bpftrace perf; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is not installed (scripts/setup.sh installs it)" >&2; exit 2; }
done
bench_plan_json "$goscope" "$work/load" >"$work/plan.json"
bench_bpftrace_script "$work/plan.json" "$work/empty.bt"

ms_since() { awk -v a="$1" -v b="$(now_ns)" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }
cpu_ticks() { { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null || true; } | awk '{ print $12 + $13 }'; }  # utime+stime
rows=$work/runs.tsv
: >"$rows"
run_no=0
fail=0
# One row per run, tab-separated ("-" when not applicable):
#  section workload mode config rep ops secs ops_per_s events lost probes attach_ms
#  to_tracing_ms stop_ms gs_cpu_s perf_hits rc trace_file_bytes
emit() { local IFS=$'\t'; echo "$*" >>"$rows"; }

# One run of the load program: untraced ("untraced"), under goscope ("default",
# "all-ops", "wake-each": trace; "record"; extra goscope args in $GS_EXTRA), with
# Go's runtime/trace ("runtime-trace"), under bpftrace's empty probes ("bpftrace")
# or under bare tracefs uprobes counted by perf ("bare-uprobe").
#   run_load section workload config rep mode load-args...
run_load() {
  local section=$1 workload=$2 config=$3 rep=$4 mode=$5; shift 5
  run_no=$((run_no + 1))
  local d=$work/run.$run_no  # fresh files: never read a previous run's output
  mkdir "$d"; mkfifo "$d/fifo"
  local extra_load=()
  [[ $mode == runtime-trace ]] && extra_load=(-runtime-trace "$d/rt.out")
  # Under timeout(1), so that this script can wait for it with a plain `wait`: polling
  # it every 10 ms (fork + sleep) took CPU from the timed loop on a 2-CPU machine.
  timeout -s KILL $((DUR + 120)) "$work/load" "$@" "${extra_load[@]}" <"$d/fifo" >"$d/load.out" 2>"$d/load.err" &
  local wp=$!; kids[$wp]=1
  exec 3>"$d/fifo"  # the program holds until a line arrives here
  wait_for_line "$d/load.out" '^ready' 10 "$wp" || die "the load program never got ready: $(cat "$d/load.err")"
  local lp; lp=$(sed -n 's/^ready pid=\([0-9]*\).*/\1/p' "$d/load.out")
  kids[$lp]=1  # killed with the rest if this script stops early

  local gp='' t0 to_tracing=- attach=- probes=- c0=0 c1=0 pp='' bp='' tsize=-
  case $mode in
    default|all-ops|wake-each|record)
      local args=(trace -p "$lp" -q) verb=tracing
      [[ $mode == all-ops ]] && args+=(--all-ops)
      [[ $mode == record ]] && { args=(record -p "$lp" -o "$d/run.gst"); verb=recording; }
      # shellcheck disable=SC2206
      args+=(${GS_EXTRA:-})
      local wake=batch
      [[ $mode == wake-each ]] && wake=each
      t0=$(now_ns)
      GOSCOPE_RING_WAKEUP=$wake "$goscope" "${args[@]}" >/dev/null 2>"$d/gs.err" &
      gp=$!; kids[$gp]=1
      wait_for_line "$d/gs.err" "^goscope: $verb PID $lp " 120 "$gp" || {
        echo "run.sh: goscope ${args[*]} did not start:" >&2; cat "$d/gs.err" >&2; exit 1; }
      to_tracing=$(ms_since "$t0")
      probes=$(sed -n "s/^goscope: $verb PID $lp .*: \([0-9]*\) probes\(, .*\)\{0,1\} in \([0-9.]*\) ms.*/\1/p" "$d/gs.err")
      attach=$(sed -n "s/^goscope: $verb PID $lp .*: \([0-9]*\) probes\(, .*\)\{0,1\} in \([0-9.]*\) ms.*/\3/p" "$d/gs.err")
      c0=$(cpu_ticks "$gp")
      ;;
    bare-uprobe)
      perf stat -x, -e "$perf_group:*" -p "$lp" -o "$d/perf.txt" 2>"$d/perf.err" &
      pp=$!; kids[$pp]=1
      sleep 0.5  # perf stat has no ready signal; opening its counters takes milliseconds
      ;;
    bpftrace)
      bpftrace -p "$lp" "$work/empty.bt" >"$d/bt.out" 2>"$d/bt.err" &
      bp=$!; kids[$bp]=1
      wait_for_line "$d/bt.out" '^ready' 120 "$bp" || {
        echo "run.sh: bpftrace did not attach:" >&2; cat "$d/bt.out" "$d/bt.err" >&2; exit 1; }
      ;;
    untraced|runtime-trace) ;;
    *) die "unknown mode $mode" ;;
  esac

  echo go >&3
  exec 3>&-
  local lrc=0
  wait "$wp" 2>/dev/null || lrc=$?
  unset "kids[$wp]" "kids[$lp]"
  local t_exit; t_exit=$(now_ns)
  local ops=- secs=- ops_per_s=- events=- lost=- stop=- cpu=- hits=- rc=0
  if [[ -n $gp ]]; then
    c1=$(cpu_ticks "$gp"); c1=${c1:-$c0}
    wait_child "$gp" 300
    rc=$waited_rc
    stop=$(ms_since "$t_exit")
    cpu=$(awk -v a="$c0" -v b="$c1" -v t="$clk_tck" 'BEGIN { printf "%.2f", (b - a) / t }')
    local end
    if [[ $mode == record ]]; then
      end=$(grep -E '^goscope: [0-9]+ events in ' "$d/gs.err" || true)
      events=$(grep -oE '^goscope: [0-9]+' <<<"$end" | grep -oE '[0-9]+' || true)
      lost=$(grep -oE '[0-9]+ lost' <<<"$end" | grep -oE '[0-9]+' || true)
      [[ -n $end && -z $lost ]] && lost=0
      tsize=$(stat -c %s "$d/run.gst" 2>/dev/null || echo -)
    else
      end=$(grep -E '^goscope trace summary:|^ *[0-9]+ lost' "$d/gs.err" | tr '\n' ' ' || true)
      events=$(grep -oE '[0-9]+ events' <<<"$end" | head -n 1 | grep -oE '[0-9]+' || true)
      lost=$(grep -oE '[0-9]+ lost' <<<"$end" | head -n 1 | grep -oE '[0-9]+' || true)
    fi
    if [[ $rc -ne 0 || -z $events || -z $lost ]]; then
      echo "run.sh: $section/$config/$mode: goscope exited $rc; its stderr:" >&2; cat "$d/gs.err" >&2
      fail=1; events=${events:--}; lost=${lost:--}
    elif [[ $events -eq 0 ]]; then
      echo "run.sh: $section/$config/$mode: goscope saw no events" >&2; fail=1
    fi
  fi
  if [[ -n $bp ]]; then
    kill -INT "$bp" 2>/dev/null || true
    wait_child "$bp" 30
  fi
  [[ $mode == runtime-trace ]] && tsize=$(stat -c %s "$d/rt.out" 2>/dev/null || echo -)
  if [[ -n $pp ]]; then
    wait_child "$pp" 30
    hits=$(awk -F, -v g="$perf_group:" 'index($3, g) == 1 && $1 ~ /^[0-9]+$/ { n += $1 } END { print n + 0 }' "$d/perf.txt")
    [[ $hits =~ ^[0-9]+$ && $hits -gt 0 ]] || { echo "run.sh: perf stat counted nothing:" >&2; cat "$d/perf.txt" "$d/perf.err" >&2; fail=1; hits=-; }
  fi
  local res; res=$(grep '^result ' "$d/load.out" || true)
  if [[ $lrc -ne 0 || -z $res ]]; then
    echo "run.sh: $section/$config/$mode: the load program did not finish (exit $lrc): $(cat "$d/load.err")" >&2
    fail=1
  else
    ops=$(sed 's/.* ops=\([0-9]*\).*/\1/' <<<"$res")
    secs=$(sed 's/.* secs=\([0-9.]*\).*/\1/' <<<"$res")
    ops_per_s=$(sed 's/.* ops_per_s=\([0-9.]*\).*/\1/' <<<"$res")
  fi
  emit "$section" "$workload" "$mode" "$config" "$rep" "$ops" "$secs" "$ops_per_s" "$events" "$lost" \
    "$probes" "$attach" "$to_tracing" "$stop" "$cpu" "$hits" "$rc" "$tsize"
  echo "run.sh: $section $config $mode #$rep: ${ops_per_s} ops/s, events ${events}, lost ${lost}, attach ${attach} ms, stop ${stop} ms" >&2
}

# One attach to the toolchain's compile while it blocks opening its source (a FIFO),
# then the source goes in and it compiles.   run_compile rep mode
run_compile() {
  local rep=$1 mode=$2
  run_no=$((run_no + 1))
  local d=$work/run.$run_no
  mkdir "$d"; mkfifo "$d/src.go"
  "$compile_bin" -p p -o "$d/p.o" "$d/src.go" >"$d/compile.out" 2>&1 &
  local cp=$!; kids[$cp]=1
  local i
  for ((i = 0; i < 100; i++)); do  # until it blocks in open(2) of the FIFO
    [[ $(cat "/proc/$cp/wchan" 2>/dev/null) == wait_for_partner ]] && break
    sleep 0.01
  done
  local args=(trace -p "$cp")
  [[ $mode == all-ops ]] && args+=(--all-ops)
  local t0; t0=$(now_ns)
  "$goscope" "${args[@]}" >/dev/null 2>"$d/gs.err" &
  local gp=$!; kids[$gp]=1
  wait_for_line "$d/gs.err" "^goscope: tracing PID $cp " 120 "$gp" || {
    echo "run.sh: goscope ${args[*]} on compile did not start tracing:" >&2; cat "$d/gs.err" >&2; exit 1; }
  local to_tracing; to_tracing=$(ms_since "$t0")
  local probes attach
  probes=$(sed -n "s/^goscope: tracing PID $cp .*: \([0-9]*\) probes in \([0-9.]*\) ms.*/\1/p" "$d/gs.err")
  attach=$(sed -n "s/^goscope: tracing PID $cp .*: \([0-9]*\) probes in \([0-9.]*\) ms.*/\2/p" "$d/gs.err")
  printf 'package p\n\nfunc F(c chan int) int { return <-c + 1 }\n' >"$d/src.go"
  wait_child "$cp" 120
  local crc=$waited_rc
  local t_exit; t_exit=$(now_ns)
  wait_child "$gp" 300
  local rc=$waited_rc
  local stop; stop=$(ms_since "$t_exit")
  local end events lost
  end=$(grep -E '^goscope trace summary:|^ *[0-9]+ lost' "$d/gs.err" | tr '\n' ' ' || true)
  events=$(grep -oE '[0-9]+ events' <<<"$end" | head -n 1 | grep -oE '[0-9]+' || true)
  lost=$(grep -oE '[0-9]+ lost' <<<"$end" | head -n 1 | grep -oE '[0-9]+' || true)
  if [[ $crc -ne 0 || ! -s $d/p.o ]]; then
    echo "run.sh: compile under goscope failed (exit $crc): $(cat "$d/compile.out")" >&2; fail=1
  fi
  if [[ $rc -ne 0 || -z $events || ${events:-0} -eq 0 ]]; then
    echo "run.sh: attach/compile/$mode: goscope exited $rc with ${events:-no} events:" >&2; cat "$d/gs.err" >&2; fail=1
  fi
  emit attach compile "$mode" "compile" "$rep" - - - "${events:--}" "${lost:--}" "$probes" "$attach" "$to_tracing" "$stop" - - "$rc" -
  echo "run.sh: attach compile $mode #$rep: $probes probes in $attach ms (start to tracing $to_tracing ms), stop $stop ms, events $events" >&2
}

# ---- 1. slowdown: every workload, every mode, interleaved (the order rotates per rep)
perf_probe=1  # from here on, cleanup removes whatever of the group was added
bench_bare_probes_add "$work/plan.json" "$perf_group" >/dev/null || die "cannot add tracefs uprobes for the bare-uprobe rows"
modes=(untraced default all-ops record runtime-trace bpftrace bare-uprobe)
pp_modes=("${modes[@]}" wake-each)
workloads=(
  "pingpong -mode pingpong -pairs 1"
  "mutex -mode mutex -workers 4"
  "pool -mode pool -workers 4"
)
for rep in $(seq 1 "$REPS"); do
  for w in "${workloads[@]}"; do
    read -r name wargs <<<"$w"
    if [[ $name == pingpong ]]; then ms=("${pp_modes[@]}"); else ms=("${modes[@]}"); fi
    for ((k = 0; k < ${#ms[@]}; k++)); do
      m=${ms[$(((k + rep - 1) % ${#ms[@]}))]}
      # shellcheck disable=SC2086
      GS_EXTRA='' run_load slowdown "$name" "$name" "$rep" "$m" $wargs -d "${DUR}s"
    done
  done
done
if [[ $perf_probe -eq 1 ]]; then bench_bare_probes_remove "$perf_group"; perf_probe=0; fi

# Default-set events per round trip, to turn offered events/s into round trips/s.
ev_per_rt=$(awk -F'\t' '$1 == "slowdown" && $2 == "pingpong" && $3 == "default" && $6 > 0 && $9 ~ /^[0-9]+$/ { print $9 / $6 }' "$rows" | median)
[[ $ev_per_rt != nan ]] || die "no default-set ping-pong run to calibrate the offered rates"
echo "run.sh: default-set ping-pong: $ev_per_rt events per round trip" >&2

# ---- 2. capacity: default set (and --sched) on the ping-pong at increasing offered load
cap_configs=()
if [[ $smoke -eq 1 ]]; then
  cap_configs=("rate 50000 2 64 default")
else
  for r in $RATES; do cap_configs+=("rate $r 2 8 default"); done
  for p in $PAIRS; do cap_configs+=("unlimited 0 $p 8 default"); done
  cap_configs+=("unlimited 0 $BIG_PAIRS 64 default" "unlimited 0 $BIG_PAIRS 8 sched")
fi
for rep in $(seq 1 "$CAP_REPS"); do
  for c in "${cap_configs[@]}"; do
    read -r kind rate pairs buf set <<<"$c"
    if [[ $kind == rate ]]; then
      rt=$(awk -v r="$rate" -v e="$ev_per_rt" 'BEGIN { printf "%.0f", r / e }')
      label="rate=$rate pairs=$pairs buffer=${buf}MiB set=$set"
    else
      rt=0
      label="unlimited pairs=$pairs buffer=${buf}MiB set=$set"
    fi
    extra=
    [[ $buf -ne 8 ]] && extra="--buffer-size $buf"
    [[ $set == sched ]] && extra+=" --sched"
    GS_EXTRA=$extra run_load capacity pingpong "$label" "$rep" default -mode pingpong -pairs "$pairs" -rate "$rt" -d "${DUR}s"
  done
done

# ---- 3. attach latency on the biggest Go binary at hand: the toolchain's compile
# (--all-ops once: detaching its hundreds of probes takes a minute or more)
for rep in $(seq 1 "$ATTACH_REPS"); do
  run_compile "$rep" default
  [[ $smoke -eq 1 || $rep -ne 1 ]] || run_compile "$rep" all-ops
done

bench_secs=$(($(date +%s) - bench_t0))
if [[ $smoke -eq 1 ]]; then
  [[ $fail -eq 0 ]] && echo "run.sh --smoke: ok (${bench_secs}s)" >&2
  exit "$fail"
fi
[[ $fail -eq 0 ]] || exit 1

# Everything about the run, for the results files.
BENCH_ROWS=$rows BENCH_OUT=$here BENCH_REPS=$REPS BENCH_CAP_REPS=$CAP_REPS BENCH_ATTACH_REPS=$ATTACH_REPS BENCH_DUR=$DUR
BENCH_EV_PER_RT=$ev_per_rt BENCH_SECS=$bench_secs
BENCH_NPROC=$(nproc)
BENCH_CPU=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
BENCH_MEM_KB=$(awk '/^MemTotal/ { print $2 }' /proc/meminfo)
BENCH_KERNEL=$(uname -r)
BENCH_GO=$("$goroot/bin/go" version)
BENCH_COMPILE_BYTES=$(stat -c %s "$compile_bin")
BENCH_LOAD_BYTES=$(stat -c %s "$work/load")
BENCH_COMMIT=$commit
[[ $dirty -eq 0 ]] || BENCH_COMMIT+=" (the work tree had uncommitted changes in src/ or bpf/)"
BENCH_BINARY_TIME=$binary_time BENCH_BINARY_SHA=$binary_sha
BENCH_DATE=$(date -u +%Y-%m-%dT%H:%MZ)
BENCH_LOAD="$load_start $(cut -d" " -f1 /proc/loadavg)"
BENCH_CMD="sudo bench/trace/run.sh"
export BENCH_ROWS BENCH_OUT BENCH_REPS BENCH_CAP_REPS BENCH_ATTACH_REPS BENCH_DUR BENCH_EV_PER_RT BENCH_SECS BENCH_NPROC \
  BENCH_CPU BENCH_MEM_KB BENCH_KERNEL BENCH_GO BENCH_COMPILE_BYTES BENCH_LOAD_BYTES BENCH_COMMIT \
  BENCH_BINARY_TIME BENCH_BINARY_SHA BENCH_DATE BENCH_LOAD BENCH_CMD
python3 "$here/write_results.py"
echo "run.sh: wrote bench/trace/RESULTS.md and bench/trace/results.json (${bench_secs}s)" >&2

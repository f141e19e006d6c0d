#!/usr/bin/env bash
# Measures goscope on a small net/http service (bench/trace/httpd) driven by wrk on
# loopback: (1) requests/s under each tracer -- untraced, `goscope trace` (default
# set and --all-ops), `goscope record`, Go's own runtime/trace, bpftrace with empty
# probes on the same runtime functions, and bare uprobes at goscope's exact
# instructions (perf, no BPF) -- in interleaved rounds; (2) goscope's memory (peak
# and current RSS) over a long trace and a long record; (3) the trace file size per
# event and per request, goscope record next to runtime/trace in the same run;
# (4) `goscope inspect` time on the httpd binary and on Go's compile. Writes
# bench/service/RESULTS.md and bench/service/results.json.
#
#   sudo bench/service/run.sh            # full run (about 7 minutes), writes the results
#   sudo bench/service/run.sh --smoke    # each mode once, 2 s (about 1 minute); checks
#                                        # that it works, writes nothing
#
# Env: GO_VERSION (toolchain of scripts/go-toolchains.sh, default 1.24),
#      REPS (interleaved rounds of the throughput runs, default 5), DUR (seconds of
#      each wrk run of sections 1 and 3, default 5), LONG (seconds of the memory runs,
#      default 60), INSPECT_REPS (runs of `goscope inspect` per binary, default 5),
#      WRK_THREADS / WRK_CONNS (wrk -t / -c, default 2 / 32), GOSCOPE_BIN (the goscope
#      to measure, default build/src/cli/goscope).
# Needs root (goscope and bpftrace load BPF, tracefs uprobes), wrk, bpftrace and perf.
# Exit 2 when it cannot run, 1 when a check fails.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
# shellcheck source=../lib.sh
source "$repo/bench/lib.sh"

bench_parse_args 23 "$@"

bench_require_root "goscope and bpftrace load BPF" "$@"
for tool in wrk bpftrace perf python3; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool not found (needed for this benchmark)" >&2; exit 2; }
done

GO_VERSION=${GO_VERSION:-1.24}
REPS=${REPS:-5}
DUR=${DUR:-5}
LONG=${LONG:-60}
INSPECT_REPS=${INSPECT_REPS:-5}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNS=${WRK_CONNS:-32}
if [[ $smoke -eq 1 ]]; then REPS=1; DUR=2; LONG=3; INSPECT_REPS=1; fi

goroot=$(bench_goroot "$GO_VERSION")
compile_bin=$goroot/pkg/tool/linux_amd64/compile
[[ -x $compile_bin ]] || { echo "run.sh: $compile_bin not found" >&2; exit 2; }

work=$(mktemp -d /tmp/goscope-bench-service.XXXXXX)
bench_stage_goscope "$work"
load_start=$(cut -d" " -f1 /proc/loadavg)
bench_t0=$(date +%s)
clk_tck=$(getconf CLK_TCK)
probe_group=gssvc$$  # tracefs group of the bare uprobes
probes_added=0
declare -A kids=()  # processes this script started and has not waited for yet
cleanup() {
  local p
  for p in "${!kids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${!kids[@]}"; do wait "$p" 2>/dev/null || true; done  # gone before their probes go
  if [[ $probes_added -eq 1 ]]; then bench_bare_probes_remove "$probe_group"; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "run.sh: building bench/trace/httpd with Go $GO_VERSION" >&2
httpd=$work/httpd
bench_go_build "$goroot" "$work" "$httpd" bench/trace/httpd/main.go

now_s() { awk -v a="$1" -v b="$(now_ns)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }  # seconds since $1 (ns)
cpu_ticks() { { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null || true; } | awk '{ print $12 + $13 }'; }  # utime+stime
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || true; }  # VmRSS, VmHWM...
cpu_s() { awk -v a="$1" -v b="$2" -v t="$clk_tck" 'BEGIN { printf "%.2f", (b - a) / t }'; }
rows=$work/rows.tsv
: >"$rows"
run_no=0
fail=0
# One row per run (or per memory sample, per inspect run), tab-separated key=value
# fields, "-" when a value does not apply; write_results.py reads them by key.
emit() { local IFS=$'\t'; echo "$*" >>"$rows"; }

# ---- building blocks of a run; each works in the run's own directory $d

# start_server D [httpd flags]: a fresh server; sets srv_pid and srv_addr.
start_server() {
  local d=$1; shift
  "$httpd" -addr 127.0.0.1:0 "$@" >"$d/httpd.out" 2>"$d/httpd.err" &
  srv_pid=$!; kids[$srv_pid]=1
  wait_for_line "$d/httpd.out" '^ready pid=' 10 "$srv_pid" || die "the server never got ready: $(cat "$d/httpd.err")"
  srv_addr=$(sed -n 's/^ready pid=[0-9]* addr=\(.*\)$/\1/p' "$d/httpd.out")
}

# stop_server D LABEL: SIGTERM, then checks it exited 0 and printed its count; sets served.
stop_server() {
  local d=$1 label=$2
  kill -TERM "$srv_pid" 2>/dev/null || true
  wait_child "$srv_pid" 60
  served=$(sed -n 's/^served requests=\([0-9]*\)$/\1/p' "$d/httpd.out")
  if [[ $waited_rc -ne 0 || -z $served ]]; then
    echo "run.sh: $label: the server did not finish (exit $waited_rc):" >&2; cat "$d/httpd.err" >&2
    fail=1; served=-
  fi
}

# start_tracer D MODE PID: attaches MODE's tracer to PID and waits until it is live;
# sets tr_pid (empty for the untraced and runtime/trace modes).
start_tracer() {
  local d=$1 mode=$2 pid=$3 args=()
  tr_pid=
  case $mode in
    untraced|runtime-trace) return 0 ;;
    trace|all-ops)
      args=(trace -p "$pid" -q)
      [[ $mode == all-ops ]] && args+=(--all-ops)
      "$goscope" "${args[@]}" >"$d/tracer.out" 2>"$d/tracer.err" &
      tr_pid=$!; kids[$tr_pid]=1
      wait_for_line "$d/tracer.err" "^goscope: tracing PID $pid " 120 "$tr_pid" || {
        echo "run.sh: goscope ${args[*]} did not start tracing:" >&2; cat "$d/tracer.err" >&2; exit 1; }
      ;;
    record)
      "$goscope" record -p "$pid" -o "$d/run.gst" >"$d/tracer.out" 2>"$d/tracer.err" &
      tr_pid=$!; kids[$tr_pid]=1
      wait_for_line "$d/tracer.err" "^goscope: recording PID $pid " 120 "$tr_pid" || {
        echo "run.sh: goscope record did not start recording:" >&2; cat "$d/tracer.err" >&2; exit 1; }
      ;;
    bpftrace)
      bpftrace -p "$pid" "$work/script.bt" >"$d/tracer.out" 2>"$d/tracer.err" &
      tr_pid=$!; kids[$tr_pid]=1
      # (its stderr has a harmless "couldn't set RLIMIT_MEMLOCK" line: it runs on BPF memcg accounting)
      wait_for_line "$d/tracer.out" '^ready' 120 "$tr_pid" || {
        echo "run.sh: bpftrace did not attach:" >&2; cat "$d/tracer.out" "$d/tracer.err" >&2; exit 1; }
      ;;
    bare)
      perf stat -x, -e "$probe_group:*" -p "$pid" -o "$d/perf.txt" >"$d/tracer.out" 2>"$d/tracer.err" &
      tr_pid=$!; kids[$tr_pid]=1
      sleep 0.5  # perf stat has no ready signal; opening its counters takes milliseconds
      kill -0 "$tr_pid" 2>/dev/null || { echo "run.sh: perf stat exited:" >&2; cat "$d/tracer.err" >&2; exit 1; }
      ;;
    *) die "unknown mode $mode" ;;
  esac
}

# stop_tracer D MODE LABEL: SIGINT to the tracer, then checks and parses what it
# printed; sets events, lost (lost_full, lost_unpaired), hits, gst_bytes, bytes_per_event
# ("-" when not its kind).
stop_tracer() {
  local d=$1 mode=$2 label=$3 rc end
  events=- lost=- lost_full=- lost_unpaired=- hits=- gst_bytes=- bytes_per_event=-
  [[ -n $tr_pid ]] || return 0
  kill -INT "$tr_pid" 2>/dev/null || true
  wait_child "$tr_pid" 300
  rc=$waited_rc
  case $mode in
    trace|all-ops)
      # "goscope trace summary: 4.72s, 404194 events (85616 events/s), 0 shown" and "  0 lost (...)"
      end=$(grep -E '^goscope trace summary:|^ *[0-9]+ lost' "$d/tracer.err" | tr '\n' ' ' || true)
      events=$(grep -oE '[0-9]+ events' <<<"$end" | head -n 1 | grep -oE '[0-9]+' || true)
      lost=$(grep -oE '[0-9]+ lost' <<<"$end" | head -n 1 | grep -oE '[0-9]+' || true)
      # of which: "ring buffer full N" (dropped) and "unpaired N" (an entry or return seen
      # alone: operations in flight at attach or detach)
      lost_full=$(sed -n 's/.* lost (ring buffer full \([0-9]*\),.*/\1/p' <<<"$end")
      lost_unpaired=$(sed -n 's/.* lost (.*, unpaired \([0-9]*\)).*/\1/p' <<<"$end")
      ;;
    record)
      # "goscope: 349856 events in 4.8 s to FILE: 2.09 MiB, 6.3 bytes per event[; N lost]"
      end=$(grep -E '^goscope: [0-9]+ events in ' "$d/tracer.err" || true)
      events=$(sed -n 's/^goscope: \([0-9]*\) events in .*/\1/p' <<<"$end")
      bytes_per_event=$(sed -n 's/.*, \([0-9.]*\) bytes per event.*/\1/p' <<<"$end")
      lost=0
      if grep -qE '; [0-9]+ lost' <<<"$end"; then lost=$(sed -n 's/.*; \([0-9]*\) lost.*/\1/p' <<<"$end"); fi
      gst_bytes=$(stat -c %s "$d/run.gst" 2>/dev/null || true)
      [[ -n $end && -n $gst_bytes ]] || events=
      ;;
    bpftrace)
      events=1 lost=0  # empty probes: bpftrace counts nothing; only its exit is checked
      ;;
    bare)
      rc=0  # perf stat exits with the signal's status; what counts is that it counted
      # perf stat -x, lines: "COUNT,,GROUP:sN,...": the hits of all the sites together
      hits=$(awk -F, -v g="$probe_group:" 'index($3, g) == 1 && $1 ~ /^[0-9]+$/ { n += $1 } END { print n + 0 }' "$d/perf.txt" 2>/dev/null || echo 0)
      events=$hits lost=0
      ;;
  esac
  if [[ $rc -ne 0 || -z $events || -z $lost ]]; then
    echo "run.sh: $label: the $mode tracer exited $rc; its output:" >&2; cat "$d/tracer.out" "$d/tracer.err" >&2
    [[ ! -f $d/perf.txt ]] || cat "$d/perf.txt" >&2
    fail=1; events=${events:--}; lost=${lost:--}
  elif [[ $events -eq 0 ]]; then
    echo "run.sh: $label: the $mode tracer saw no events; its output:" >&2; cat "$d/tracer.err" >&2
    [[ ! -f $d/perf.txt ]] || cat "$d/perf.txt" >&2
    fail=1
  fi
  if [[ $mode == bpftrace || $mode == bare ]]; then events=- lost=-; fi  # (they count none, lose none)
}

# wrk_start D SECS: wrk against the server in the background; sets wrk_pid.
# wrk_wait: waits for it (a blocking wait, not wait_child's polling: a sleep forked every
# 10 ms would take CPU from the server on a small machine; wrk stops at its -d); sets wrk_rc.
# wrk_result D LABEL: then sets rps, wrk_requests, wrk_errors (or fails).
wrk_start() {
  wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"$2"s "http://$srv_addr/x" >"$1/wrk.out" 2>"$1/wrk.err" &
  wrk_pid=$!; kids[$wrk_pid]=1
}
wrk_wait() {
  wrk_rc=0
  wait "$wrk_pid" 2>/dev/null || wrk_rc=$?
  unset "kids[$wrk_pid]"
}
wrk_result() {
  local d=$1 label=$2 rc=$wrk_rc
  rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\)$/\1/p' "$d/wrk.out")
  wrk_requests=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$d/wrk.out")
  # "Socket errors: connect 0, read 0, write 0, timeout 12" and "Non-2xx or 3xx responses: N"
  wrk_errors=$(awk '/^ *(Socket errors|Non-2xx)/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) n += $i } END { print n + 0 }' "$d/wrk.out")
  if [[ $rc -ne 0 || -z $rps || -z $wrk_requests ]]; then
    echo "run.sh: $label: wrk printed no Requests/sec (exit $rc):" >&2; cat "$d/wrk.out" "$d/wrk.err" >&2
    fail=1; rps=-; wrk_requests=-
  fi
}

new_run_dir() { run_no=$((run_no + 1)); d=$work/run.$run_no; mkdir "$d"; }

# ---- 1. throughput: every mode once per round, the order rotated each round
run_throughput() {
  local rep=$1 mode=$2 label="throughput/$2 #$1" d
  new_run_dir
  local srv_args=()
  [[ $mode == runtime-trace ]] && srv_args=(-runtime-trace "$d/rt.out")
  start_server "$d" "${srv_args[@]}"
  start_tracer "$d" "$mode" "$srv_pid"
  local c0=0 s0 t0
  [[ -z $tr_pid ]] || c0=$(cpu_ticks "$tr_pid")
  s0=$(cpu_ticks "$srv_pid"); t0=$(now_ns)
  wrk_start "$d" "$DUR"
  wrk_wait
  local window c1=0 s1 tr_cpu=-
  window=$(now_s "$t0")
  s1=$(cpu_ticks "$srv_pid")
  if [[ -n $tr_pid ]]; then c1=$(cpu_ticks "$tr_pid"); tr_cpu=$(cpu_s "$c0" "${c1:-$c0}"); fi
  wrk_result "$d" "$label"
  stop_tracer "$d" "$mode" "$label"
  stop_server "$d" "$label"
  local rt_bytes=-
  if [[ $mode == runtime-trace ]]; then
    rt_bytes=$(stat -c %s "$d/rt.out" 2>/dev/null || echo 0)
    [[ $rt_bytes -gt 0 ]] || { echo "run.sh: $label: runtime/trace wrote nothing: $(cat "$d/httpd.err")" >&2; fail=1; }
  fi
  emit section=throughput mode="$mode" rep="$rep" rps="$rps" wrk_requests="$wrk_requests" wrk_errors="$wrk_errors" \
    served="$served" window_s="$window" events="$events" lost="$lost" lost_full="${lost_full:--}" \
    lost_unpaired="${lost_unpaired:--}" hits="$hits" tracer_cpu_s="$tr_cpu" \
    server_cpu_s="$(cpu_s "$s0" "${s1:-$s0}")" file_bytes="$([[ $mode == record ]] && echo "$gst_bytes" || echo "$rt_bytes")"
  echo "run.sh: $label: $rps req/s, served $served, events $events, hits $hits, lost $lost, tracer CPU ${tr_cpu}s" >&2
}

# ---- 2. memory: goscope's RSS every second of a long run
run_memory() {
  local mode=$1 label="memory/$1" d
  new_run_dir
  start_server "$d"
  start_tracer "$d" "$mode" "$srv_pid"
  local t0 c0 t
  c0=$(cpu_ticks "$tr_pid"); t0=$(now_ns)
  emit section=memsample mode="$mode" t_s=0 rss_kb="$(status_kb "$tr_pid" VmRSS)" hwm_kb="$(status_kb "$tr_pid" VmHWM)"
  wrk_start "$d" "$LONG"
  while kill -0 "$wrk_pid" 2>/dev/null; do
    sleep 1
    t=$(now_s "$t0")
    emit section=memsample mode="$mode" t_s="$t" rss_kb="$(status_kb "$tr_pid" VmRSS)" hwm_kb="$(status_kb "$tr_pid" VmHWM)"
  done
  wrk_wait
  local window rss hwm c1
  window=$(now_s "$t0")
  rss=$(status_kb "$tr_pid" VmRSS); hwm=$(status_kb "$tr_pid" VmHWM); c1=$(cpu_ticks "$tr_pid")
  emit section=memsample mode="$mode" t_s="$window" rss_kb="$rss" hwm_kb="$hwm"
  wrk_result "$d" "$label"
  stop_tracer "$d" "$mode" "$label"
  stop_server "$d" "$label"
  emit section=memory mode="$mode" rps="$rps" wrk_requests="$wrk_requests" wrk_errors="$wrk_errors" served="$served" \
    window_s="$window" events="$events" lost="$lost" lost_full="${lost_full:--}" lost_unpaired="${lost_unpaired:--}" \
    tracer_cpu_s="$(cpu_s "$c0" "${c1:-$c0}")" \
    end_rss_kb="${rss:--}" peak_rss_kb="${hwm:--}" file_bytes="$gst_bytes"
  echo "run.sh: $label: $rps req/s, events $events, lost $lost, RSS at the end $((${rss:-0} / 1024)) MiB, peak $((${hwm:-0} / 1024)) MiB" >&2
}

# ---- 3. trace size: runtime/trace and goscope record on the same server, same run
run_size() {
  local label=size d
  new_run_dir
  start_server "$d" -runtime-trace "$d/rt.out"
  start_tracer "$d" record "$srv_pid"
  wrk_start "$d" "$DUR"
  wrk_wait
  wrk_result "$d" "$label"
  stop_tracer "$d" record "$label"
  stop_server "$d" "$label"
  local rt_bytes rt_events=-
  rt_bytes=$(stat -c %s "$d/rt.out" 2>/dev/null || echo 0)
  [[ $rt_bytes -gt 0 ]] || { echo "run.sh: $label: runtime/trace wrote nothing: $(cat "$d/httpd.err")" >&2; fail=1; }
  # Go's trace tool prints every parsed event with -d=parsed: one line starting "M=" each,
  # its stack on indented lines after it (piped: the text is about 130 bytes per event).
  if [[ $rt_events_how == parsed && $rt_bytes -gt 0 ]]; then
    if ! rt_events=$(env GOTOOLCHAIN=local GOROOT="$goroot" "$goroot/bin/go" tool trace -d=parsed "$d/rt.out" \
        2>"$d/parsed.err" | { grep -c '^M=' || true; }) || [[ ! $rt_events =~ ^[1-9][0-9]*$ ]]; then
      echo "run.sh: $label: go tool trace -d=parsed counted no events:" >&2; cat "$d/parsed.err" >&2
      fail=1; rt_events=-
    fi
  fi
  emit section=size rps="$rps" wrk_requests="$wrk_requests" wrk_errors="$wrk_errors" served="$served" \
    events="$events" lost="$lost" gst_bytes="$gst_bytes" bytes_per_event="$bytes_per_event" \
    rt_bytes="$rt_bytes" rt_events="$rt_events"
  echo "run.sh: $label: served $served, goscope $events events in $gst_bytes bytes, runtime/trace $rt_events events in $rt_bytes bytes" >&2
}

# ---- 4. goscope inspect, wall time
run_inspect() {
  local name=$1 bin=$2 rep=$3 t0 ms rc=0
  t0=$(now_ns)
  "$goscope" inspect "$bin" >/dev/null 2>"$work/inspect.err" || rc=$?
  ms=$(awk -v a="$t0" -v b="$(now_ns)" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
  if [[ $rc -ne 0 ]]; then echo "run.sh: goscope inspect $bin exited $rc:" >&2; cat "$work/inspect.err" >&2; fail=1; fi
  emit section=inspect binary="$name" rep="$rep" ms="$ms" bytes="$(stat -c %s "$bin")" rc="$rc"
  echo "run.sh: inspect $name #$rep: $ms ms" >&2
}

# What both the bpftrace and the bare-uprobe modes attach: goscope's default plan.
bench_plan_json "$goscope" "$httpd" >"$work/plan.json" || { echo "run.sh: goscope trace --list-probes failed" >&2; exit 2; }
bench_bpftrace_script "$work/plan.json" "$work/script.bt"
probes_added=1
n_bare=$(bench_bare_probes_add "$work/plan.json" "$probe_group") || { echo "run.sh: could not add the bare uprobes" >&2; exit 2; }
[[ $n_bare -gt 0 ]] || { echo "run.sh: no bare uprobes added" >&2; exit 2; }
n_funcs=$(grep -c '^uprobe:' "$work/script.bt")
echo "run.sh: goscope's default plan: $n_bare probe sites in $n_funcs functions" >&2

# Does this toolchain's trace tool print parsed events?
rt_events_how=none
trace_help=$(env GOTOOLCHAIN=local GOROOT="$goroot" "$goroot/bin/go" tool trace -h 2>&1 || true)  # (-h exits 2)
if grep -q 'parsed' <<<"$trace_help"; then
  rt_events_how=parsed
else
  echo "run.sh: this Go's trace tool has no -d=parsed: runtime/trace's events are not counted" >&2
fi

modes=(untraced trace all-ops record runtime-trace bpftrace bare)
for rep in $(seq 1 "$REPS"); do
  for ((k = 0; k < ${#modes[@]}; k++)); do
    run_throughput "$rep" "${modes[$(((k + rep - 1) % ${#modes[@]}))]}"
  done
done
bench_bare_probes_remove "$probe_group"; probes_added=0

run_memory trace
run_memory record
run_size

# One unmeasured run of each warms the page cache; its output says what the binary holds.
for b in "httpd $httpd" "compile $compile_bin"; do
  read -r name bin <<<"$b"
  "$goscope" inspect "$bin" >"$work/inspect.$name.txt" 2>&1 || true
  emit section=inspect_info binary="$name" \
    dwarf="$(awk '$1 == "dwarf" { print $2 }' "$work/inspect.$name.txt")" \
    functions="$(sed -n 's/^pclntab .*, \([0-9]*\) functions,.*/\1/p' "$work/inspect.$name.txt")"
done
for rep in $(seq 1 "$INSPECT_REPS"); do
  run_inspect httpd "$httpd" "$rep"
  run_inspect compile "$compile_bin" "$rep"
done

bench_secs=$(($(date +%s) - bench_t0))
if [[ $smoke -eq 1 ]]; then
  [[ $fail -eq 0 ]] && echo "run.sh --smoke: ok (${bench_secs}s)" >&2
  exit "$fail"
fi
[[ $fail -eq 0 ]] || exit 1

# Everything about the run, for the results files.
BENCH_ROWS=$rows BENCH_OUT=$here BENCH_REPS=$REPS BENCH_DUR=$DUR BENCH_LONG=$LONG BENCH_INSPECT_REPS=$INSPECT_REPS
BENCH_WRK="wrk -t$WRK_THREADS -c$WRK_CONNS" BENCH_WRK_VERSION=$(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2 || true)
BENCH_BPFTRACE=$(bpftrace --version 2>&1 | head -n 1) BENCH_PROBES=$n_bare BENCH_PROBE_FUNCS=$n_funcs
BENCH_RT_EVENTS_HOW=$rt_events_how BENCH_SECS=$bench_secs
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
BENCH_CMD="sudo bench/service/run.sh"
export BENCH_ROWS BENCH_OUT BENCH_REPS BENCH_DUR BENCH_LONG BENCH_INSPECT_REPS BENCH_WRK BENCH_WRK_VERSION BENCH_BPFTRACE \
  BENCH_PROBES BENCH_PROBE_FUNCS BENCH_RT_EVENTS_HOW BENCH_SECS BENCH_NPROC BENCH_CPU BENCH_MEM_KB BENCH_KERNEL BENCH_GO \
  BENCH_COMMIT BENCH_BINARY_TIME BENCH_BINARY_SHA BENCH_DATE BENCH_LOAD BENCH_CMD
python3 "$here/write_results.py"
echo "run.sh: wrote bench/service/RESULTS.md and bench/service/results.json (${bench_secs}s)" >&2

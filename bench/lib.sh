# Shared by the bench/*/run.sh scripts (sourced, from the repository root):
# root check, the Go toolchain, the goscope binary under test, small helpers.
# Each function exits 2 ("cannot run") with a message when it cannot do its part.

# bench_parse_args LAST ARGS...: a part's command line. --smoke sets smoke=1 (else 0);
# -h / --help prints the script's header comment (lines 2..LAST) and exits 0; anything
# else exits 2.
bench_parse_args() {
  local last=$1 a; shift
  smoke=0
  for a in "$@"; do
    case $a in
      --smoke) smoke=1 ;;
      -h|--help) sed -n "2,${last}p" "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
      *) echo "run.sh: unknown argument $a (try --help)" >&2; exit 2 ;;
    esac
  done
}

# bench_require_root WHY ARGS...: exit 2 unless root.
bench_require_root() {
  local why=$1; shift
  if [[ $(id -u) -ne 0 ]]; then
    echo "run.sh: needs root ($why); run: sudo $0 $*" >&2
    exit 2
  fi
}

# bench_goroot VERSION: prints the GOROOT of that matrix toolchain.
bench_goroot() {
  local goroot
  goroot=$(scripts/go-toolchains.sh --print 2>/dev/null | awk -v v="$1" '$1 == v { print $2 }')
  if [[ -z $goroot || ! -x $goroot/bin/go ]]; then
    echo "run.sh: Go $1 not found; fetch the matrix with scripts/go-toolchains.sh" >&2
    exit 2
  fi
  echo "$goroot"
}

# bench_stage_goscope WORK: builds goscope if needed ($GOSCOPE_BIN: one built elsewhere)
# and copies it to WORK/goscope, so every run uses one binary even if build/ is
# rebuilt meanwhile. Sets goscope, binary_time, binary_sha, commit and dirty.
bench_stage_goscope() {
  local built=${GOSCOPE_BIN:-$PWD/build/src/cli/goscope}
  if [[ ! -x $built ]]; then
    echo "run.sh: building goscope" >&2
    [[ -f build/build.ninja ]] || cmake -S . -B build -G Ninja >&2
    cmake --build build --target goscope >&2
  fi
  cp "$built" "$1/goscope"
  goscope=$1/goscope
  binary_time=$(date -u -r "$built" +%Y-%m-%dT%H:%M:%SZ)
  binary_sha=$(sha256sum "$goscope" | cut -c1-12)
  commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  dirty=$(git status --porcelain -- src bpf CMakeLists.txt 2>/dev/null | wc -l)
}

# bench_go_build GOROOT WORK OUT SOURCE: one Go file, offline, with a private cache.
bench_go_build() {
  env GOTOOLCHAIN=local GOFLAGS= GOPROXY=off GO111MODULE=off GOROOT="$1" \
    GOCACHE="$2/gocache" "$1/bin/go" build -o "$3" "$4"
}

now_ns() { date +%s%N; }
die() { echo "run.sh: $*" >&2; exit 1; }

# Waits until file $1 has a line matching $2; fails after $3 seconds or when process $4 is gone.
wait_for_line() {
  local file=$1 re=$2 secs=$3 pid=$4 i
  for ((i = 0; i < secs * 100; i++)); do
    grep -qE "$re" "$file" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { grep -qE "$re" "$file" 2>/dev/null && return 0; return 1; }
    sleep 0.01
  done
  return 1
}

# Waits for child process $1 for at most $2 seconds, then kills it; sets waited_rc
# to its exit code and drops it from the caller's associative array `kids` (the
# processes its cleanup kills). (Not in $(...): only this shell can wait for its children.)
waited_rc=0
wait_child() {
  local pid=$1 secs=$2 i
  for ((i = 0; i < secs * 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "run.sh: process $pid still running after ${secs}s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  waited_rc=0
  wait "$pid" 2>/dev/null || waited_rc=$?
  unset "kids[$pid]"
}
# The median of the numbers on stdin (other lines ignored); "nan" when there are none.
median() { { grep -E '^[0-9.]+$' || true; } | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# bench_plan_json GOSCOPE BINARY [trace flags...]: the probe sites `goscope trace`
# would attach to BINARY with those flags, as JSON (trace --list-probes --json).
bench_plan_json() {
  local gs=$1 bin=$2; shift 2
  "$gs" trace --list-probes --json "$@" -- "$bin"
}

# bench_bpftrace_script PLAN_JSON OUT: writes a bpftrace script with an empty uprobe
# at the entry of every function the plan probes -- what a hand-written bpftrace
# script on the same runtime functions attaches (bpftrace places uprobes at function
# entries; goscope probes after the stack check, and RET sites for return values,
# which bpftrace cannot do safely on Go code) -- printing "ready" once attached.
bench_bpftrace_script() {
  python3 - "$1" "$2" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))
funcs = sorted({s["function"] for s in plan["sites"]})
with open(sys.argv[2], "w") as out:
    out.write('BEGIN { printf("ready\\n"); }\n')
    for f in funcs:
        out.write('uprobe:%s:"%s" {}\n' % (plan["binary"], f))
PY
}

# bench_bare_probes_add PLAN_JSON GROUP: one tracefs uprobe event GROUP/sN per site of
# the plan, at its exact instruction (file offset), with no BPF program: counting them
# with `perf stat -e 'GROUP:*'` measures the kernel's own price of those uprobe hits.
# Prints how many were added. bench_bare_probes_remove GROUP removes them.
# A fresh machine often has tracefs unmounted (no /sys/kernel/tracing/uprobe_events):
# mount it there, as perf and bpftrace do, and say so. It stays mounted (others may
# use it by then); it is the kernel's standard place for it.
bench_tracefs() {
  local t
  for t in /sys/kernel/tracing /sys/kernel/debug/tracing; do
    [[ -w $t/uprobe_events ]] && { echo "$t"; return 0; }
  done
  t=/sys/kernel/tracing
  if [[ -d $t ]] && ! mountpoint -q "$t"; then
    if mount -t tracefs nodev "$t" 2>/dev/null && [[ -w $t/uprobe_events ]]; then
      echo "run.sh: tracefs was not mounted: mounted it on $t" >&2
      echo "$t"
      return 0
    fi
  fi
  echo "run.sh: no writable tracefs uprobe_events (tracefs is not mounted on /sys/kernel/tracing and" \
       "mounting it failed: needs root and a kernel with CONFIG_UPROBE_EVENTS)" >&2
  return 1
}
bench_bare_probes_add() {
  local plan=$1 group=$2 t want got
  t=$(bench_tracefs) || return 1
  # One write per probe: a line the kernel refuses fails the write, and we stop.
  python3 - "$plan" "$group" "$t/uprobe_events" <<'PY' || return 1
import json, os, sys
plan = json.load(open(sys.argv[1]))
fd = os.open(sys.argv[3], os.O_WRONLY | os.O_APPEND)  # tracefs: no seek (open(..., "a") seeks)
for i, s in enumerate(plan["sites"]):
    os.write(fd, b"p:%s/s%d %s:0x%x\n" % (sys.argv[2].encode(), i, plan["binary"].encode(), s["file_offset"]))
PY
  want=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["sites"]))' "$plan")
  got=$(grep -c "^p:$group/" "$t/uprobe_events" || true)
  if [[ $got -ne $want ]]; then
    echo "run.sh: $got of $want tracefs uprobes were added" >&2
    return 1
  fi
  echo "$got"
}
bench_bare_probes_remove() {
  local group=$1 t e
  t=$(bench_tracefs) || return 0
  for e in $(sed -n "s|^p:$group/\([^ ]*\) .*|\1|p" "$t/uprobe_events"); do
    echo "-:$group/$e" >>"$t/uprobe_events" 2>/dev/null || true
  done
}

# Shared by the bench/*/run.sh scripts (sourced, from the repository root):
# root check, the Go toolchain, the goscope binary under test, small helpers.
# Each function exits 2 ("cannot run") with a message when it cannot do its part.

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
# The median of the numbers on stdin (other lines ignored); "nan" when there are none.
median() { { grep -E '^[0-9.]+$' || true; } | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

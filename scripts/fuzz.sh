#!/usr/bin/env bash
# Fuzzes the trace reader for a bounded time: builds tests/fuzz with clang
# (libFuzzer, ASan, UBSan) into ${GOSCOPE_FUZZ_BUILD:-build-fuzz}, seeds it from
# tests/fuzz/corpus/trace_reader/ and runs it.
#
#   scripts/fuzz.sh [SECONDS]     default 60; exit status non-zero when it finds a crash
#
# A crash leaves its input in $GOSCOPE_FUZZ_BUILD/artifacts/; reproduce it with
#   $GOSCOPE_FUZZ_BUILD/trace_reader_fuzz ARTIFACT
# New inputs the fuzzer finds stay in a scratch copy of the corpus: the checked-in
# corpus only changes by hand (keep it small, minimized: -merge=1).
set -euo pipefail

seconds="${1:-60}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${GOSCOPE_FUZZ_BUILD:-$root/build-fuzz}"
cxx="${GOSCOPE_FUZZ_CXX:-clang++}"

if ! command -v "$cxx" >/dev/null; then
  echo "fuzz.sh: $cxx not found: install clang (scripts/setup.sh) or set GOSCOPE_FUZZ_CXX" >&2
  exit 2
fi

mkdir -p "$build"
cmake -S "$root/tests/fuzz" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build/configure.log" 2>&1 || {
  cat "$build/configure.log" >&2
  exit 2
}
ninja -C "$build" -j "${GOSCOPE_FUZZ_JOBS:-2}" trace_reader_fuzz

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/corpus" "$build/artifacts"
# Corpus files are whole trace files; the target reads a whole file when the first byte is even.
for f in "$root"/tests/fuzz/corpus/trace_reader/*; do
  [ -f "$f" ] || continue
  { printf '\0'; cat "$f"; } >"$scratch/corpus/$(basename "$f")"
done

echo "fuzz.sh: fuzzing the trace reader for ${seconds}s"
cd "$scratch"
"$build/trace_reader_fuzz" "$scratch/corpus" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -artifact_prefix="$build/artifacts/" -print_final_stats=1

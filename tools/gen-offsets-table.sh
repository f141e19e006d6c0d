#!/usr/bin/env bash
# gen-offsets-table.sh — regenerate src/symbolizer/offsets_table_generated.cpp.
#
# Builds tools/offsets-probe with every toolchain of the matrix
# (scripts/go-toolchains.sh --print), then runs the gen_offsets_table tool
# (built by CMake into BUILD_DIR/src/symbolizer/) on the binaries: offsets come
# from their DWARF, never from a hand-typed list.
#
# Usage: tools/gen-offsets-table.sh [BUILD_DIR]   (default: build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
gen=$build/src/symbolizer/gen_offsets_table
[[ -x $gen ]] || { echo "build $gen first: ninja -C $build gen_offsets_table" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
args=()
while read -r version goroot; do
  out=$work/$version/offsets-probe
  mkdir -p "$work/$version"
  (cd "$root/tools/offsets-probe" &&
    GOROOT=$goroot GOTOOLCHAIN=local GOFLAGS=-mod=mod GOCACHE=$work/cache-$version GOPATH=$work/gopath \
      "$goroot/bin/go" build -trimpath -o "$out" .)
  args+=("$version=$out")
done < <("$root/scripts/go-toolchains.sh" --print)
"$gen" "$root/src/symbolizer/offsets_table_generated.cpp" "${args[@]}"

#!/usr/bin/env bash
# The README's first command: installs what is needed, builds goscope, and
# runs it on the bundled example (tests/testprogs/example_deadlock), a small
# "bank" service that ends in an AB-BA mutex deadlock.
#
# What it shows: the example hangs (like a real service, it does not crash);
# `goscope dump -p PID` reads its goroutines from outside without stopping it
# and shows which goroutines wait on which mutex, from where. (The automatic
# deadlock verdict with the cycle comes with the detector.)
#
# Environment: GOSCOPE_DEMO_GO (Go version of the matrix, default 1.22).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "demo: goscope reads another process's memory and loads BPF: run this as root (sudo scripts/demo.sh)" >&2
  exit 2
fi

go_version=${GOSCOPE_DEMO_GO:-1.22}

scripts/setup.sh
scripts/go-toolchains.sh --versions "$go_version" >/dev/null
scripts/build-testprogs.sh --versions "$go_version" --variants default --progs example_deadlock
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target goscope

example="$(scripts/build-testprogs.sh --print-dir)/$go_version/default/example_deadlock"
goscope=build/src/cli/goscope
log=$(mktemp)
GOSCOPE_HOLD=60 "$example" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -f "$log"' EXIT

echo
echo "=== the bundled example (Go $go_version, PID $pid): a bank service that hangs ==="
for _ in $(seq 1 150); do
  grep -q "FACT stalled" "$log" && break
  sleep 0.1
done
grep -E "FACT (mutex|stalled)|WARNING" "$log" || true

echo
echo "=== sudo goscope dump -p $pid ==="
status=0
"$goscope" dump -p "$pid" || status=$?

echo
echo "Reading it: every goroutine first, then goscope's verdict: error[GS101"
echo "mutex-deadlock], two workers in main.transfer each holding the mutex the other"
echo "waits for (compare the addresses with the example's alice and bob), the other"
echo "workers queued behind them and the producer blocked on the full jobs channel"
echo "that only those workers could drain. The process kept running; goscope never"
echo "stopped it. goscope exited with $status (1: a finding at or above --fail-on)."
[ "$status" -eq 1 ]

#!/usr/bin/env bash
# The README's first command: installs what is needed, builds goscope, and
# runs it on the bundled example (tests/testprogs/example_deadlock), a small
# "bank" service that ends in an AB-BA mutex deadlock.
#
# What it shows today: `goscope probe` launches the example held before exec,
# attaches plain uprobes to the mutex slow path, and prints which goroutines
# contend on which mutex, from where. (The full deadlock report, with the
# cycle, comes with `goscope dump` / `trace`.)
#
# Environment: GOSCOPE_DEMO_GO (Go version of the matrix, default 1.22),
# GOSCOPE_DEMO_SECONDS (how long to watch, default 4).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "demo: goscope loads BPF programs: run this as root (sudo scripts/demo.sh)" >&2
  exit 2
fi

go_version=${GOSCOPE_DEMO_GO:-1.22}
seconds=${GOSCOPE_DEMO_SECONDS:-4}

scripts/setup.sh
scripts/go-toolchains.sh --versions "$go_version" >/dev/null
scripts/build-testprogs.sh --versions "$go_version" --variants default --progs example_deadlock
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target goscope

example="$(scripts/build-testprogs.sh --print-dir)/$go_version/default/example_deadlock"
goscope=build/src/cli/goscope

echo
echo "=== goscope probe on the bundled example (Go $go_version), for ${seconds}s ==="
echo "    The example prints FACT lines (its mutex addresses and goroutine ids)."
echo "    goscope prints each goroutine that finds a mutex already locked: the"
echo "    mutex (first argument register) and where in the program it happened."
echo
export GOSCOPE_HOLD=30  # the example exits by itself after this long
"$goscope" probe -d "${seconds}s" \
  -f 'sync.(*Mutex).lockSlow' -f 'internal/sync.(*Mutex).lockSlow' \
  -- "$example"
echo
echo "Reading it: two workers each wait for the mutex the other holds (their first"
echo "argument is alice's and bob's address, from main.transfer's second Lock), the"
echo "others queue behind them, and no transfer completes again: an AB-BA deadlock."

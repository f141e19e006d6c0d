#!/usr/bin/env bash
# Builds everything and runs every test: the unprivileged unit tests (tests/)
# and the privileged end-to-end tests (vmtests/) on every Go version of the
# matrix. Run as root (sudo) so the vmtests can load BPF; under CI=true a
# vmtest that cannot run fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
scripts/setup.sh
scripts/go-toolchains.sh >/dev/null
scripts/build-testprogs.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGOSCOPE_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"
set +e
ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 600
rc=$?
set -e
echo "test.sh: finished in $(( $(date +%s) - started ))s" >&2
exit $rc

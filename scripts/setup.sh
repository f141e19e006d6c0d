#!/usr/bin/env bash
# Installs everything goscope needs to build and test on Debian bookworm
# (or newer), with apt-get. Idempotent: when every package is present it
# returns at once without touching apt.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config git ca-certificates
  # BPF: clang with the BPF target, llvm-objdump for instruction counts, libbpf, bpftool
  clang llvm libbpf-dev bpftool linux-libc-dev
  # symbolizer: ELF and DWARF (elfutils), disassembler
  libelf-dev libdw-dev libcapstone-dev zlib1g-dev
  # command line, JSON
  libcli11-dev nlohmann-json3-dev
  # tests: GoogleTest, the vmtest runner, the Go toolchain cache (dpkg-deb, keys),
  # a headless browser that renders the HTML report
  libgtest-dev libgmock-dev python3 dpkg debian-archive-keyring xz-utils zstd chromium
  # benchmarks (bench/): what goscope is compared with and the HTTP load generator
  bpftrace linux-perf wrk
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present" >&2
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then
    as_root=(sudo)
  else
    echo "setup: missing packages (${missing[*]}) and not root; run this script as root" >&2
    exit 2
  fi
fi

echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q >&2
"${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
echo "setup: done" >&2

#!/usr/bin/env bash
# go-toolchains.sh — fetch the Go toolchain matrix used by goscope's tests.
#
# Every toolchain is a plain Debian package (golang-1.NN-go + golang-1.NN-src),
# fetched with a PRIVATE apt configuration (own sources list, lists dir, cache
# dir and empty dpkg status file, all under the cache) and unpacked with
# `dpkg-deb -x`. The Debian mirror is the machine's own: the URI of its first
# enabled `deb` entry with component main and a Debian suite (not *-security;
# one whose path ends in /debian preferred), read from /etc/apt/sources.list,
# sources.list.d/*.list and *.sources (scripts/lib/debian-mirror.sh). Nothing
# else of the machine's apt sources or dpkg state is read, and nothing of them
# is modified. Release files are verified against the Debian archive keyring
# (Signed-By), and .debs against the signed indexes.
#
#   version  suite (first one that has the package wins)
#   1.19     bookworm
#   1.21     bookworm-backports
#   1.22     bookworm-backports
#   1.23     bookworm-backports
#   1.24     trixie
#   1.26     sid, then trixie-backports, then experimental
#   (not in the default matrix, available with --versions: 1.25 from
#    trixie-backports, 1.27 from sid / trixie-backports)
#
# Layout:  $CACHE/go/<version>/root/usr/lib/go-<version>   <- GOROOT
#          $CACHE/go/<version>/stamp                       <- what was installed
# where CACHE=${GOSCOPE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/goscope}.
#
# Output: one line per version on stdout, "<version> <GOROOT>", in the order
# asked for. Progress and errors go to stderr.
#
# Usage: scripts/go-toolchains.sh [--versions "1.19 1.22"] [--print]
#   --versions LIST  subset (space or comma separated); default: the matrix
#                    (or $GOSCOPE_GO_VERSIONS)
#   --print          only print what is installed; exit 1 if any is missing
#
# Environment: GOSCOPE_CACHE, GOSCOPE_DEBIAN_MIRROR (overrides the mirror of
# the apt sources; when they have none, http://deb.debian.org/debian is used
# and a line on stderr says so), GOSCOPE_DEBIAN_KEYRING (default
# /usr/share/keyrings/debian-archive-keyring.gpg), GOSCOPE_KEEP_DEBS=1 keeps
# the downloaded .deb files next to the root.
#
# Re-runs are a no-op (a stamp file per version; apt-get is not even run).
set -euo pipefail

DEFAULT_VERSIONS="1.19 1.21 1.22 1.23 1.24 1.26"
KEYRING=${GOSCOPE_DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
CACHE=${GOSCOPE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/goscope}
GODIR=$CACHE/go
STAMP_FORMAT=1

# shellcheck source-path=SCRIPTDIR source=lib/debian-mirror.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/debian-mirror.sh"

die() { echo "go-toolchains: error: $*" >&2; exit 1; }
log() { echo "go-toolchains: $*" >&2; }

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; }

versions=${GOSCOPE_GO_VERSIONS:-$DEFAULT_VERSIONS}
print_only=0
while [ $# -gt 0 ]; do
    case $1 in
        --versions) [ $# -ge 2 ] || die "--versions needs an argument"; versions=$2; shift 2 ;;
        --versions=*) versions=${1#--versions=}; shift ;;
        --print) print_only=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage; die "unknown argument: $1" ;;
    esac
done
versions=$(echo "$versions" | tr ',' ' ')
[ -n "${versions// /}" ] || die "empty --versions"

# Ordered candidate suites per version.
suites_for() {
    case $1 in
        1.19) echo "bookworm" ;;
        1.21|1.22|1.23) echo "bookworm-backports" ;;
        1.24) echo "trixie" ;;
        1.25) echo "trixie-backports" ;;
        1.26|1.27) echo "sid trixie-backports experimental" ;;
        *) return 1 ;;
    esac
}

goroot_for() { echo "$GODIR/$1/root/usr/lib/go-$1"; }

# A version is installed when its stamp is complete and the go binary is there.
installed() {
    local v=$1 stamp=$GODIR/$1/stamp
    [ -f "$stamp" ] && grep -qx "stamp_format=$STAMP_FORMAT" "$stamp" &&
        grep -qx "goroot=$(goroot_for "$v")" "$stamp" && [ -x "$(goroot_for "$v")/bin/go" ]
}

for v in $versions; do
    suites_for "$v" >/dev/null || die "unknown Go version '$v' (known: 1.19 1.21 1.22 1.23 1.24 1.25 1.26 1.27)"
done

print_all() {
    local v
    for v in $versions; do echo "$v $(goroot_for "$v")"; done
}

missing() {
    local v out=""
    for v in $versions; do installed "$v" || out="$out $v"; done
    echo "${out# }"
}

# Fast path: everything present -> print and leave, without touching apt.
todo=$(missing)
if [ -z "$todo" ]; then print_all; exit 0; fi
if [ "$print_only" = 1 ]; then
    die "not installed: $todo (run scripts/go-toolchains.sh --versions \"$todo\")"
fi

for tool in apt-get apt-cache dpkg-deb flock sha256sum; do
    command -v "$tool" >/dev/null || die "'$tool' not found (this script needs a Debian-like system with apt and dpkg)"
done
[ -r "$KEYRING" ] || die "keyring $KEYRING not readable (install debian-archive-keyring or set GOSCOPE_DEBIAN_KEYRING)"

mkdir -p "$GODIR"
exec 9>"$GODIR/.lock"
if ! flock -n 9; then
    log "another go-toolchains.sh is running; waiting for it"
    flock 9
fi
todo=$(missing)   # somebody else may have installed them meanwhile
if [ -z "$todo" ]; then print_all; exit 0; fi

# ---- private apt configuration -------------------------------------------
debian_mirror_resolve /etc/apt   # GOSCOPE_DEBIAN_MIRROR, else the machine's apt sources
MIRROR=$DEBIAN_MIRROR
[ -z "$DEBIAN_MIRROR_NOTE" ] || log "$DEBIAN_MIRROR_NOTE"
APTDIR=$GODIR/.apt
mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial" "$APTDIR/etc"
: > "$APTDIR/status"
: > "$APTDIR/extended_states"
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)

suites=""
for v in $todo; do
    for s in $(suites_for "$v"); do
        case " $suites " in *" $s "*) ;; *) suites="$suites $s" ;; esac
    done
done
{
    for s in $suites; do
        echo "deb [signed-by=$KEYRING arch=$arch] $MIRROR $s main"
    done
} > "$APTDIR/etc/sources.list"

APT_OPTS=(
    -o "Dir::Etc::SourceList=$APTDIR/etc/sources.list"
    -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::Etc::Preferences=/dev/null"
    -o "Dir::Etc::PreferencesParts=/dev/null"
    -o "Dir::Etc::Trusted=$APTDIR/etc/no-trusted.gpg"
    -o "Dir::Etc::TrustedParts=$APTDIR/etc/no-trusted.d"
    -o "Dir::State::Lists=$APTDIR/lists"
    -o "Dir::State::status=$APTDIR/status"
    -o "Dir::State::extended_states=$APTDIR/extended_states"
    -o "Dir::Cache=$APTDIR/cache"
    -o "APT::Architecture=$arch"
    -o "APT::Architectures=$arch"
    -o "APT::Get::List-Cleanup=true"
    -o "Acquire::Languages=none"
    -o "Acquire::http::Timeout=30"
    -o "Acquire::Retries=2"
    -o "Debug::NoLocking=false"
)
# As root, apt drops to user _apt for downloads, which cannot write into a
# private cache under $HOME; the files are ours anyway.
if [ "$(id -u)" = 0 ]; then APT_OPTS+=(-o "APT::Sandbox::User=root"); fi

log "updating private package lists ($MIRROR:$suites; mirror from $DEBIAN_MIRROR_FROM)"
update_log=$APTDIR/update.log
if ! apt-get "${APT_OPTS[@]}" -q --error-on=any update >"$update_log" 2>&1; then
    sed 's/^/    /' "$update_log" | tail -n 15 >&2
    if grep -qiE "could not (resolve|connect)|connection (failed|timed out|refused)|temporary failure|network is unreachable|unable to connect" "$update_log"; then
        die "cannot reach the Debian mirror $MIRROR (from $DEBIAN_MIRROR_FROM; see above). Check the network or proxy, or set GOSCOPE_DEBIAN_MIRROR to a reachable mirror."
    fi
    die "apt-get update of the private package lists failed (see above; full log: $update_log)"
fi

field() { # field PKG/SUITE NAME -> value from the candidate record
    apt-cache "${APT_OPTS[@]}" show --no-all-versions "$1" 2>/dev/null | sed -n "s/^$2: //p" | head -n 1
}

rc=0
for v in $todo; do
    suite="" debver=""
    for s in $(suites_for "$v"); do
        gov=$(field "golang-$v-go/$s" Version)
        srcv=$(field "golang-$v-src/$s" Version)
        if [ -n "$gov" ] && [ "$gov" = "$srcv" ]; then suite=$s debver=$gov; break; fi
        [ -n "$gov$srcv" ] && log "go $v: $s has golang-$v-go '$gov' but golang-$v-src '$srcv'; skipping that suite"
    done
    if [ -z "$suite" ]; then
        log "go $v: golang-$v-go/-src not found in any of: $(suites_for "$v") (at $MIRROR)"
        rc=1; continue
    fi
    want=$(suites_for "$v" | cut -d' ' -f1)
    [ "$suite" = "$want" ] || log "go $v: not in $want any more, using $suite"
    log "go $v: downloading golang-$v-go and golang-$v-src $debver from $suite"

    vdir=$GODIR/$v
    mkdir -p "$vdir"
    rm -rf "$vdir/tmp" && mkdir -p "$vdir/tmp/debs" "$vdir/tmp/root"
    if ! (cd "$vdir/tmp/debs" && apt-get "${APT_OPTS[@]}" -q download \
            "golang-$v-go=$debver" "golang-$v-src=$debver") >"$vdir/tmp/download.log" 2>&1; then
        sed 's/^/    /' "$vdir/tmp/download.log" | tail -n 10 >&2
        log "go $v: download failed"; rc=1; continue
    fi
    debs=("$vdir"/tmp/debs/*.deb)
    [ "${#debs[@]}" = 2 ] || { log "go $v: expected 2 .deb files, got ${#debs[@]}"; rc=1; continue; }
    for d in "${debs[@]}"; do dpkg-deb -x "$d" "$vdir/tmp/root"; done

    tmproot=$vdir/tmp/root/usr/lib/go-$v
    if [ ! -x "$tmproot/bin/go" ] || [ ! -f "$tmproot/src/runtime/proc.go" ]; then
        log "go $v: unpacked tree lacks bin/go or src/runtime/proc.go (GOROOT/src symlink broken?)"; rc=1; continue
    fi

    # Move into place, then verify from the final path (symlinks are relative).
    rm -rf "$vdir/root"
    mv "$vdir/tmp/root" "$vdir/root"
    goroot=$(goroot_for "$v")
    if ! gv=$(env GOROOT="$goroot" GOTOOLCHAIN=local GOENV=off GOFLAGS= \
            "$goroot/bin/go" version 2>&1); then
        log "go $v: '$goroot/bin/go version' failed: $gv"; rc=1; continue
    fi
    case "$gv" in
        "go version go$v."*|"go version go$v "*) ;;
        *) log "go $v: unexpected 'go version' output: $gv"; rc=1; continue ;;
    esac
    exact=$(echo "$gv" | awk '{print $3}')

    {
        echo "stamp_format=$STAMP_FORMAT"
        echo "version=$v"
        echo "go_version=$exact"
        echo "go_version_line=$gv"
        echo "suite=$suite"
        echo "deb_version=$debver"
        echo "mirror=$MIRROR"
        echo "goroot=$goroot"
        for d in "${debs[@]}"; do echo "deb_sha256=$(sha256sum "$d" | awk '{print $1}') $(basename "$d")"; done
        echo "installed_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    } > "$vdir/stamp.tmp"
    if [ "${GOSCOPE_KEEP_DEBS:-0}" = 1 ]; then
        rm -rf "$vdir/debs"; mv "$vdir/tmp/debs" "$vdir/debs"
    fi
    rm -rf "$vdir/tmp"
    mv "$vdir/stamp.tmp" "$vdir/stamp"
    log "go $v: $exact ($suite $debver) -> $goroot"
done

[ "$rc" = 0 ] || die "some toolchains could not be installed (see above)"
print_all

#!/usr/bin/env bash
# build-testprogs.sh — build every Go test program with every toolchain of the matrix.
#
# Programs: tests/testprogs/<prog>/main.go, packages of the module in
# tests/testprogs/go.mod (stdlib only, plus the shared helpers in
# tests/testprogs/internal/tp); built as ./<prog> from the module root.
# Toolchains: from scripts/go-toolchains.sh (fetched on first use).
# Variants:
#   default       go build
#   stripped      -ldflags='-s -w'            (no .symtab, no DWARF; .gopclntab stays)
#   pie           -buildmode=pie
#   noinline      -gcflags=all=-l             (no inlining anywhere, runtime included)
#   pie-stripped  -buildmode=pie -ldflags='-s -w'
#
# Output:  $CACHE/testprogs/<version>/<variant>/<prog>      (version = matrix key, e.g. 1.19)
#          $CACHE/testprogs/<version>/<variant>/.<prog>.stamp  (build key; skip when it matches)
#          $CACHE/testprogs/manifest.tsv   version go_version variant prog path (all built so far)
# where CACHE=${GOSCOPE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/goscope}.
#
# Each build runs in a clean environment (env -i): GOROOT of the toolchain,
# GOTOOLCHAIN=local, GOFLAGS=-buildvcs=false (git may refuse a checkout owned by
# another user, as under sudo), GOPROXY=off, GO111MODULE=on, GOENV=off,
# CGO_ENABLED=0 (every binary is pure Go and statically linked),
# GOCACHE=$CACHE/gocache/<version>, GOPATH=$CACHE/gopath. Builds run in parallel
# (xargs -P, default nproc). A build is skipped when its stamp (toolchain version
# + variant flags + program name + source hash + script format) matches.
#
# Usage: scripts/build-testprogs.sh [--versions "1.19 1.26"] [--variants "default pie"]
#                                   [--progs "hello_probe bug_abba"] [--jobs N] [--force]
#        scripts/build-testprogs.sh --print-dir
# Exits non-zero, listing the failed builds and their compiler output, if any build fails.
set -euo pipefail

BUILD_FORMAT=1
ALL_VARIANTS="default stripped pie noinline pie-stripped"

SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF=$SCRIPTS/$(basename "${BASH_SOURCE[0]}")
REPO=$(cd "$SCRIPTS/.." && pwd)
PROGDIR=$REPO/tests/testprogs
CACHE=${GOSCOPE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/goscope}
mkdir -p "$CACHE" && CACHE=$(cd "$CACHE" && pwd)   # absolute: builds run from the module root
OUT=$CACHE/testprogs

die() { echo "build-testprogs: error: $*" >&2; exit 1; }
log() { echo "build-testprogs: $*" >&2; }

# set_flags VARIANT: sets the array FLAGS (go build flags) and FLAGSTR; no subshell.
set_flags() {
    case $1 in
        default) FLAGS=() ;;
        stripped) FLAGS=("-ldflags=-s -w") ;;
        pie) FLAGS=("-buildmode=pie") ;;
        noinline) FLAGS=("-gcflags=all=-l") ;;
        pie-stripped) FLAGS=("-buildmode=pie" "-ldflags=-s -w") ;;
        *) return 1 ;;
    esac
    FLAGSTR=${FLAGS[*]+"${FLAGS[*]}"}
}

# ---- one build (run by xargs): --build-one VERSION VARIANT PROG ------------
# The driver has already decided that this build is needed and left its stamp
# line in $JOBDIR/key.VERSION.VARIANT.PROG and the GOROOT in $JOBDIR/goroot.VERSION.
if [ "${1:-}" = "--build-one" ]; then
    v=$2 variant=$3 prog=$4
    read -r goroot < "$JOBDIR/goroot.$v"
    read -r key < "$JOBDIR/key.$v.$variant.$prog"
    set_flags "$variant"
    dir=$OUT/$v/$variant
    mkdir -p "$dir"
    stamp=$dir/.$prog.stamp
    rm -f "$stamp"
    tmp=$dir/.$prog.tmp.$$
    logf=$JOBDIR/log.$v.$variant.$prog
    cd "$PROGDIR"   # the module root (go -C needs Go 1.20)
    if ! env -i PATH=/usr/bin:/bin HOME="$HOME" TMPDIR="${TMPDIR:-/tmp}" \
            XDG_CONFIG_HOME="$CACHE/config" \
            GOROOT="$goroot" GOTOOLCHAIN=local GOFLAGS=-buildvcs=false GOPROXY=off GO111MODULE=on \
            GOENV=off CGO_ENABLED=0 GOCACHE="$CACHE/gocache/$v" GOPATH="$CACHE/gopath" \
            "$goroot/bin/go" build -o "$tmp" "${FLAGS[@]+"${FLAGS[@]}"}" "./$prog" >"$logf" 2>&1; then
        rm -f "$tmp"
        echo "$v $variant $prog" > "$JOBDIR/failed.$v.$variant.$prog"   # the driver prints $logf
        exit 1
    fi
    # Sanity: PIE variants must be ET_DYN (3), the others ET_EXEC (2).
    etype=$(od -An -t u2 -j 16 -N 2 "$tmp" | tr -d ' ')
    case $variant in pie|pie-stripped) want=3 ;; *) want=2 ;; esac
    if [ "$etype" != "$want" ]; then
        rm -f "$tmp"
        echo "ELF type $etype, expected $want" > "$logf"
        echo "$v $variant $prog" > "$JOBDIR/failed.$v.$variant.$prog"
        exit 1
    fi
    mv -f "$tmp" "$dir/$prog"
    printf '%s\n' "$key" > "$stamp"
    touch "$JOBDIR/built.$v.$variant.$prog"
    exit 0
fi

# ---- driver -----------------------------------------------------------------
versions="" variants=$ALL_VARIANTS progs="" jobs=$(nproc 2>/dev/null || echo 2) force=""
while [ $# -gt 0 ]; do
    case $1 in
        --versions) versions=$2; shift 2 ;;
        --versions=*) versions=${1#*=}; shift ;;
        --variants) variants=$2; shift 2 ;;
        --variants=*) variants=${1#*=}; shift ;;
        --progs) progs=$2; shift 2 ;;
        --progs=*) progs=${1#*=}; shift ;;
        --jobs|-j) jobs=$2; shift 2 ;;
        --force) force=1; shift ;;
        --print-dir) echo "$OUT"; exit 0 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
variants=$(echo "$variants" | tr ',' ' ')
progs=$(echo "$progs" | tr ',' ' ')
for var in $variants; do
    set_flags "$var" || die "unknown variant '$var' (known: $ALL_VARIANTS)"
done
if [ -z "${progs// /}" ]; then
    progs=$(cd "$PROGDIR" && for d in */; do [ -f "$d/main.go" ] && echo "${d%/}"; done | tr '\n' ' ')
fi
for p in $progs; do
    [ -f "$PROGDIR/$p/main.go" ] || die "no such test program: $PROGDIR/$p/main.go"
done
[ -n "${progs// /}" ] || die "no test programs under $PROGDIR"

JOBDIR=$(mktemp -d "${TMPDIR:-/tmp}/goscope-build.XXXXXX")
trap 'rm -rf "$JOBDIR"' EXIT
export JOBDIR PROGDIR OUT CACHE FORCE=$force

t_start=$EPOCHREALTIME
tc_args=()
[ -n "${versions// /}" ] && tc_args=(--versions "$versions")
"$SCRIPTS/go-toolchains.sh" "${tc_args[@]+"${tc_args[@]}"}" > "$JOBDIR/toolchains" ||
    die "could not get the Go toolchains (scripts/go-toolchains.sh failed)"
versions=$(cut -d' ' -f1 "$JOBDIR/toolchains" | tr '\n' ' ')

mkdir -p "$OUT"
exec 9>"$OUT/.lock"
if ! flock -n 9; then log "another build-testprogs.sh is running; waiting"; flock 9; fi

# Decide here, with shell builtins only (this is the whole warm path), which
# builds are out of date. The stamp line is the build key in clear text.
declare -A GOVER SRCSHA
while read -r v goroot; do
    gover="" debver=""
    while IFS='=' read -r k val; do
        case $k in go_version) gover=$val ;; deb_version) debver=$val ;; esac
    done < "$CACHE/go/$v/stamp"
    [ -n "$gover" ] || die "no go_version in $CACHE/go/$v/stamp"
    GOVER[$v]="go=$gover deb=$debver goroot=$goroot"
    printf '%s\n' "$goroot" > "$JOBDIR/goroot.$v"
done < "$JOBDIR/toolchains"
srcs=()
for p in $progs; do srcs+=("$PROGDIR/$p/main.go"); done
# Every program also depends on the module file and the shared helpers.
shared_sha=$(cat "$PROGDIR/go.mod" "$PROGDIR"/internal/tp/*.go | sha256sum | cut -d' ' -f1)
while read -r sha path; do
    p=${path%/main.go}; p=${p##*/}
    SRCSHA[$p]=$sha+$shared_sha
done < <(sha256sum "${srcs[@]}")

: > "$JOBDIR/jobs"
njobs=0 skipped=0
for v in $versions; do for var in $variants; do
    set_flags "$var"
    [ -d "$OUT/$v/$var" ] || mkdir -p "$OUT/$v/$var"
    gvline=${GOVER[$v]%% deb=*} old=""
    [ -f "$OUT/$v/$var/.go_version" ] && read -r old < "$OUT/$v/$var/.go_version"
    [ "$old" = "$gvline" ] || printf '%s\n' "$gvline" > "$OUT/$v/$var/.go_version"
    for p in $progs; do
        njobs=$((njobs + 1))
        # The checkout's path is not part of the key: CI clones afresh each run, and
        # a binary keeps the source path of whichever checkout built it (tests
        # compare goscope with the binary itself, never with the checkout path).
        key="format=$BUILD_FORMAT ${GOVER[$v]} variant=$var flags=[$FLAGSTR] prog=$p sha256=${SRCSHA[$p]}"
        stamp=$OUT/$v/$var/.$p.stamp
        line=""
        [ -f "$stamp" ] && read -r line < "$stamp"
        if [ -z "$force" ] && [ "$line" = "$key" ] && [ -x "$OUT/$v/$var/$p" ]; then
            skipped=$((skipped + 1))
            continue
        fi
        printf '%s\n' "$key" > "$JOBDIR/key.$v.$var.$p"
        printf '%s %s %s\n' "$v" "$var" "$p" >> "$JOBDIR/jobs"
    done
done; done
ntodo=$((njobs - skipped))
log "$njobs builds ($(wc -w <<< "$versions") toolchains x $(wc -w <<< "$variants") variants x $(wc -w <<< "$progs") programs): $skipped up to date, $ntodo to build, $jobs in parallel"

if [ "$ntodo" -gt 0 ]; then
    set +e
    xargs -P "$jobs" -L 1 bash "$SELF" --build-one < "$JOBDIR/jobs"
    set -e
fi

# Manifest of everything built so far (all versions/variants, not just this run).
{
    printf 'version\tgo_version\tvariant\tprog\tpath\n'
    for dir in "$OUT"/*/*/; do
        dir=${dir%/}
        [ -f "$dir/.go_version" ] || continue
        read -r gv < "$dir/.go_version"
        gv=${gv#go=}
        var=${dir##*/}; v=${dir%/*}; v=${v##*/}
        for st in "$dir"/.*.stamp; do
            [ -f "$st" ] || continue
            p=${st##*/.}; p=${p%.stamp}
            if [ -x "$dir/$p" ]; then
                printf '%s\t%s\t%s\t%s\t%s\n' "$v" "$gv" "$var" "$p" "$dir/$p"
            fi
        done
    done
} > "$OUT/manifest.tsv.tmp"
mv -f "$OUT/manifest.tsv.tmp" "$OUT/manifest.tsv"

count() { find "$JOBDIR" -maxdepth 1 -name "$1.*" | wc -l; }
built=$(count built) failed=$(count failed)
elapsed=$(awk -v a="$EPOCHREALTIME" -v b="$t_start" 'BEGIN{printf "%.1f", a-b}')
log "built $built, up to date $skipped, failed $failed, in ${elapsed}s; output in $OUT"
if [ "$failed" != 0 ] || [ $((built + skipped)) != "$njobs" ]; then
    for f in "$JOBDIR"/failed.*; do
        [ -f "$f" ] || continue
        read -r fv fvar fp < "$f"
        echo "FAILED: go $fv variant=$fvar prog=$fp" >&2
        if [ -f "$JOBDIR/log.$fv.$fvar.$fp" ]; then sed 's/^/    /' "$JOBDIR/log.$fv.$fvar.$fp" >&2; fi
    done
    die "$failed of $njobs builds failed (compiler output above)"
fi

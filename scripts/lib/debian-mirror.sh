# debian-mirror.sh — which Debian mirror to fetch packages from. Sourced, not
# run (by scripts/go-toolchains.sh; tested by tests/scripts/debian_mirror_test.sh).
#
# The mirror is the machine's own, read from its apt sources as apt reads them:
# APT_DIR/sources.list, then APT_DIR/sources.list.d/*.list and *.sources in
# byte order (names of letters, digits, '_', '-', '.' only; other files are
# ignored, as apt ignores them). Both formats:
#   one-line  deb [options] URI suite [component...]      ('#' starts a comment)
#   deb822    Types: / URIs: / Suites: / Components: / Enabled:   stanzas
#             separated by blank lines; '#' lines are comments; a line starting
#             with a blank continues the field before it
# An entry is usable when it is of type deb (not deb-src), enabled, has an
# http, https or file URI, the component main and at least one Debian suite:
# a codename or stable/testing/unstable/oldstable/oldoldstable/experimental,
# bare or with -updates, -backports, -backports-sloppy or -proposed-updates
# (never -security nor -debug: those archives lack backports and sid; nor an
# Ubuntu or third-party suite). Among usable URIs (every URI of a deb822 URIs:
# line counts) the first whose path ends in /debian wins, else the first one.
# Only coreutils and awk; safe under `set -euo pipefail`.
# shellcheck shell=bash

DEBIAN_MIRROR_FALLBACK=http://deb.debian.org/debian

# debian_mirror_from_apt_sources [APT_DIR]   (APT_DIR defaults to /etc/apt)
# Prints "URI<TAB>FILE:LINE" (URI without a trailing '/'; FILE:LINE is the
# one-line entry or the deb822 URIs: field it came from) and returns 0, or
# prints nothing and returns 1 when no entry is usable.
debian_mirror_from_apt_sources() (
    LC_ALL=C   # apt's byte order for the sources.list.d glob
    dir=${1:-/etc/apt}
    dir=${dir%/}
    files=()
    if [ -f "$dir/sources.list" ] && [ -r "$dir/sources.list" ]; then files+=("$dir/sources.list"); fi
    for f in "$dir"/sources.list.d/*; do
        b=${f##*/}
        case $b in
            *[!A-Za-z0-9_.-]*) continue ;;   # also the unexpanded '*' of an empty dir
            *.list|*.sources) ;;
            *) continue ;;
        esac
        if [ -f "$f" ] && [ -r "$f" ]; then files+=("$f"); fi
    done
    [ "${#files[@]}" -gt 0 ] || exit 1
    awk '
    function debian_suite(s,   base) {
        base = tolower(s)
        if (base ~ /-(security|debug)$/) return 0
        sub(/-(updates|backports|backports-sloppy|proposed-updates)$/, "", base)
        return base ~ /^(buzz|rex|bo|hamm|slink|potato|woody|sarge|etch|lenny|squeeze|wheezy|jessie|stretch|buster|bullseye|bookworm|trixie|forky|duke|sid|stable|testing|unstable|oldstable|oldoldstable|experimental)$/
    }
    function candidate(uri, suites, comps, origin,   n, a, i, has_main, has_suite, path) {
        if (uri !~ /^(https?:\/\/[^\/]|file:)/) return
        has_main = 0; n = split(comps, a)
        for (i = 1; i <= n; i++) if (tolower(a[i]) == "main") has_main = 1
        has_suite = 0; n = split(suites, a)
        for (i = 1; i <= n; i++) if (debian_suite(a[i])) has_suite = 1
        if (!has_main || !has_suite) return
        sub(/\/+$/, "", uri)
        path = uri; sub(/^[A-Za-z]+:(\/\/[^\/]*)?/, "", path)
        if (first == "") first = uri "\t" origin
        if (preferred == "" && path ~ /\/debian$/) preferred = uri "\t" origin
    }
    function is_false(v) {
        v = tolower(v); gsub(/[ \t]/, "", v)
        return v == "no" || v == "false" || v == "off" || v == "0" || v == "without" || v == "disable"
    }
    function flush_stanza(   n, a, i, t, is_deb) {
        if (!in_stanza) return
        in_stanza = 0
        is_deb = 0; n = split(field["types"], a)
        for (i = 1; i <= n; i++) if (a[i] == "deb") is_deb = 1
        if (is_deb && !is_false(field["enabled"])) {
            n = split(field["uris"], a)
            for (i = 1; i <= n; i++) candidate(a[i], field["suites"], field["components"], uris_origin)
        }
        for (t in field) delete field[t]
        last = ""
    }
    FILENAME != current {
        flush_stanza()
        current = FILENAME
        deb822 = (FILENAME ~ /\.sources$/)
    }
    { sub(/\r$/, "") }
    deb822 {
        if ($0 ~ /^[ \t]*$/) { flush_stanza(); next }
        if ($0 ~ /^[ \t]*#/) next
        if ($0 ~ /^[ \t]/) { if (last != "") field[last] = field[last] " " $0; next }
        if ($0 !~ /^[^:]+:/) next
        in_stanza = 1
        last = tolower($0); sub(/[ \t]*:.*/, "", last)
        value = $0; sub(/^[^:]*:/, "", value)
        field[last] = value
        if (last == "uris") uris_origin = FILENAME ":" FNR
        next
    }
    {
        line = $0
        sub(/^[ \t]+/, "", line)
        if (line !~ /^deb[ \t]/) next
        sub(/^deb[ \t]+/, "", line)
        if (line ~ /^\[/) {
            if (index(line, "]") == 0) next
            sub(/^\[[^]]*\][ \t]*/, "", line)
        }
        sub(/#.*/, "", line)
        n = split(line, a)
        if (n < 2) next
        comps = ""
        for (i = 3; i <= n; i++) comps = comps " " a[i]
        candidate(a[1], a[2], comps, FILENAME ":" FNR)
    }
    END {
        flush_stanza()
        if (preferred != "") print preferred
        else if (first != "") print first
        else exit 1
    }' "${files[@]}"
)

# debian_mirror_resolve [APT_DIR]
# Sets DEBIAN_MIRROR (no trailing '/'), DEBIAN_MIRROR_FROM (where it came from:
# "GOSCOPE_DEBIAN_MIRROR", "FILE:LINE", or "the built-in default") and
# DEBIAN_MIRROR_NOTE (one line for stderr when it fell back, else empty).
# GOSCOPE_DEBIAN_MIRROR, when set and not empty, wins over the apt sources.
# shellcheck disable=SC2034  # the three variables are this function's output
debian_mirror_resolve() {
    local dir=${1:-/etc/apt} found
    dir=${dir%/}
    DEBIAN_MIRROR_NOTE=""
    if [ -n "${GOSCOPE_DEBIAN_MIRROR:-}" ]; then
        DEBIAN_MIRROR=${GOSCOPE_DEBIAN_MIRROR%/}
        DEBIAN_MIRROR_FROM=GOSCOPE_DEBIAN_MIRROR
    elif found=$(debian_mirror_from_apt_sources "$dir"); then
        DEBIAN_MIRROR=${found%%$'\t'*}
        DEBIAN_MIRROR_FROM=${found#*$'\t'}
    else
        DEBIAN_MIRROR=$DEBIAN_MIRROR_FALLBACK
        DEBIAN_MIRROR_FROM="the built-in default"
        DEBIAN_MIRROR_NOTE="no Debian mirror in $dir/sources.list nor $dir/sources.list.d/*.list, *.sources (wanted: an enabled deb entry with component main and a Debian suite other than *-security); falling back to $DEBIAN_MIRROR (set GOSCOPE_DEBIAN_MIRROR to choose one)"
    fi
}

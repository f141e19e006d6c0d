#!/usr/bin/env bash
# Unprivileged test of scripts/lib/debian-mirror.sh (the Debian mirror that
# scripts/go-toolchains.sh takes from the machine's apt sources), against
# fixture apt directories written here; ctest: scripts.debian_mirror.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib/debian-mirror.sh
. "$here/../../scripts/lib/debian-mirror.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset GOSCOPE_DEBIAN_MIRROR
fails=0 checks=0

# fixture NAME FILE <<<CONTENT : writes $tmp/NAME/FILE (FILE relative to the apt dir)
fixture() { mkdir -p "$(dirname "$tmp/$1/$2")"; cat > "$tmp/$1/$2"; }

# expect NAME "URI<TAB>ORIGIN" | expect NAME none
expect() {
    local name=$1 want=$2 got rc=0
    checks=$((checks + 1))
    got=$(debian_mirror_from_apt_sources "$tmp/$name") || rc=$?
    if [ "$want" = none ]; then
        if [ "$rc" = 1 ] && [ -z "$got" ]; then echo "ok   $name: none"; return; fi
        echo "FAIL $name: wanted none (rc 1), got rc $rc: '$got'"
    else
        want=${want//@/$tmp/$name/}
        if [ "$rc" = 0 ] && [ "$got" = "$want" ]; then echo "ok   $name: $got"; return; fi
        echo "FAIL $name: wanted '$want', got rc $rc: '$got'"
    fi
    fails=$((fails + 1))
}
T=$'\t'

# deb822 as Debian 12 installs it: the security stanza is not the mirror.
fixture bookworm sources.list.d/debian.sources <<'X'
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
X
expect bookworm "http://deb.debian.org/debian${T}@sources.list.d/debian.sources:3"

# One-line: security first, deb-src, comments, [signed-by=... arch=...]
# options (with a blank inside), a trailing '/' and a trailing comment.
fixture oneline sources.list <<'X'
# deb http://commented.example/debian bookworm main
deb http://security.debian.org/debian-security bookworm-security main contrib
deb-src http://src.example/debian bookworm main

   deb [ signed-by=/usr/share/keyrings/debian-archive-keyring.gpg arch=amd64 ] http://ftp.example.org/debian/ bookworm main non-free-firmware # the mirror
deb http://later.example/debian bookworm main
X
expect oneline "http://ftp.example.org/debian${T}@sources.list:5"

# deb822: a disabled stanza, a deb-src-only one, one without main, then
# several URIs on one line (the one ending in /debian preferred), field names
# in any case, a folded Suites: field, an embedded key with " ." lines, CRLF.
fixture deb822 sources.list.d/mirrors.sources <<'X'
Types: deb
URIs: http://disabled.example/debian
Suites: trixie
Components: main
Enabled: no

Types: deb-src
URIs: http://src.example/debian
Suites: trixie
Components: main

Types: deb
URIs: http://nomain.example/debian
Suites: trixie
Components: contrib non-free

# comment between stanzas
types: deb deb-src
# comment inside a stanza
uris: http://proxy.example:3142/apt
  https://mirror.example/debian/
suites:
 trixie
 trixie-updates
components: main
signed-by:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mQINBGPL0BUBEADmW5NdOOHwPIJlgPu6JDcKw/NwQO+VFpTL8kpQV4ZOyD0JuXLt
 -----END PGP PUBLIC KEY BLOCK-----
X
sed -i 's/$/\r/' "$tmp/deb822/sources.list.d/mirrors.sources"
expect deb822 "https://mirror.example/debian${T}@sources.list.d/mirrors.sources:20"

# Several URIs, none ending in /debian: the first usable one.
fixture multi sources.list.d/a.sources <<'X'
Types: deb
URIs: http://cache.example:3142/deb http://other.example/pub
Suites: sid
Components: main
X
expect multi "http://cache.example:3142/deb${T}@sources.list.d/a.sources:2"

# A /debian URI in a later file wins over an earlier usable one; the files of
# sources.list.d sort in byte order ('Z' before 'a'); files apt ignores (other
# extensions, other characters in the name) are ignored.
fixture order sources.list <<'X'
deb http://proxy.example:3142/ bookworm main
X
fixture order sources.list.d/a.sources <<'X'
Types: deb
URIs: http://a.example/debian
Suites: stable
Components: main
X
fixture order sources.list.d/Z.list <<'X'
deb http://z.example/debian bookworm-backports main
X
fixture order sources.list.d/0.list.disabled <<'X'
deb http://disabled-file.example/debian bookworm main
X
fixture order "sources.list.d/0 space.list" <<'X'
deb http://bad-name.example/debian bookworm main
X
expect order "http://z.example/debian${T}@sources.list.d/Z.list:1"

# sources.list comes before sources.list.d.
fixture mainfirst sources.list <<'X'
deb http://main.example/debian bookworm main
X
fixture mainfirst sources.list.d/0.list <<'X'
deb http://part.example/debian bookworm main
X
expect mainfirst "http://main.example/debian${T}@sources.list:1"

# Only security, Ubuntu, debug, flat and cdrom entries: nothing usable.
fixture nothing sources.list <<'X'
deb http://security.debian.org/debian-security bookworm-security main
deb http://archive.ubuntu.com/ubuntu jammy main universe
deb http://debug.example/debian-debug bookworm-debug main
deb http://flat.example/repo ./
deb cdrom:[Debian GNU/Linux 12]/ bookworm main
deb [signed-by=/x.gpg http://unclosed.example/debian bookworm main
X
fixture nothing sources.list.d/node.sources <<'X'
Types: deb
URIs: https://deb.nodesource.com/node_20.x
Suites: nodistro
Components: main
X
expect nothing none

mkdir -p "$tmp/empty/sources.list.d"
expect empty none
expect missing-dir none

# debian_mirror_resolve: the variable wins; the fallback says where it looked.
checks=$((checks + 1))
GOSCOPE_DEBIAN_MIRROR=http://override.example/debian/ debian_mirror_resolve "$tmp/bookworm"
if [ "$DEBIAN_MIRROR $DEBIAN_MIRROR_FROM" = "http://override.example/debian GOSCOPE_DEBIAN_MIRROR" ] &&
   [ -z "$DEBIAN_MIRROR_NOTE" ]; then echo "ok   resolve: override"
else echo "FAIL resolve: override gave '$DEBIAN_MIRROR' from '$DEBIAN_MIRROR_FROM'"; fails=$((fails + 1)); fi

checks=$((checks + 1))
debian_mirror_resolve "$tmp/bookworm"
if [ "$DEBIAN_MIRROR $DEBIAN_MIRROR_FROM" = "http://deb.debian.org/debian $tmp/bookworm/sources.list.d/debian.sources:3" ] &&
   [ -z "$DEBIAN_MIRROR_NOTE" ]; then echo "ok   resolve: from the sources"
else echo "FAIL resolve: gave '$DEBIAN_MIRROR' from '$DEBIAN_MIRROR_FROM'"; fails=$((fails + 1)); fi

checks=$((checks + 1))
debian_mirror_resolve "$tmp/nothing/"
case $DEBIAN_MIRROR_NOTE in
    *"$tmp/nothing/sources.list "*"$tmp/nothing/sources.list.d/"*"http://deb.debian.org/debian"*)
        if [ "$DEBIAN_MIRROR" = http://deb.debian.org/debian ] && [ "$DEBIAN_MIRROR_FROM" = "the built-in default" ] &&
           [ "$(printf '%s' "$DEBIAN_MIRROR_NOTE" | wc -l)" = 0 ]; then echo "ok   resolve: fallback"
        else echo "FAIL resolve: fallback gave '$DEBIAN_MIRROR' from '$DEBIAN_MIRROR_FROM'"; fails=$((fails + 1)); fi ;;
    *) echo "FAIL resolve: fallback note: '$DEBIAN_MIRROR_NOTE'"; fails=$((fails + 1)) ;;
esac

# This machine, for the log only (its sources are whatever they are).
if here_mirror=$(debian_mirror_from_apt_sources); then
    echo "info this machine: ${here_mirror%%"$T"*} (from ${here_mirror#*"$T"})"
else
    echo "info this machine: no Debian mirror in /etc/apt (go-toolchains.sh would fall back)"
fi

echo "$((checks - fails))/$checks checks passed"
[ "$fails" = 0 ]

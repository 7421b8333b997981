#!/usr/bin/env bash
# Builds a local stand-in for the official python:3.10-slim-bookworm image, for machines that
# cannot pull from an image registry: Debian bookworm from debootstrap (Debian's package mirror
# is all it needs) plus an existing CPython 3.10 built with a shared libpython, moved to
# /usr/local as in the official image.
#
#   docker/build-base.sh [--python PREFIX] [--tag NAME] [--rebuild]
#
#   --python PREFIX  the CPython 3.10 installation to copy (its sys.prefix); default: the first
#                    python3.10 with a shared libpython on PATH or under pyenv. It must have been
#                    built on Debian bookworm or an older glibc (it runs inside bookworm).
#   --tag NAME       image name (default quantbridge-base:3.10-bookworm)
#   --rebuild        build even when an image of this recipe is already in the engine
#
# Needs root (debootstrap, chroot) and a running Docker engine. The result is cached in the
# engine under NAME-<recipe hash>, so a second run on the same machine takes a second.
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian).
# Prints the image name (NAME-<recipe hash>, also tagged NAME) on stdout; progress goes to stderr.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TAG="quantbridge-base:3.10-bookworm"
PREFIX=""
REBUILD=0
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# What the interpreter's extension modules link against (ssl, ctypes, sqlite3, bz2, lzma, curses,
# readline, uuid, zlib, pyexpat, nis), plus what the official image adds.
PACKAGES="ca-certificates,netbase,tzdata,libssl3,libffi8,libsqlite3-0,libbz2-1.0,liblzma5,libncursesw6,libreadline8,zlib1g,libuuid1,libexpat1,libnsl2,libtirpc3"

say() { printf 'build-base: %s\n' "$*" >&2; }
die() { printf 'build-base: error: %s\n' "$1" >&2; exit "${2:-2}"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --python) [ $# -ge 2 ] || die "--python needs a directory"; PREFIX="$2"; shift 2;;
    --tag) [ $# -ge 2 ] || die "--tag needs a name"; TAG="$2"; shift 2;;
    --rebuild) REBUILD=1; shift;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0;;
    *) die "unknown argument '$1' (expected --python PREFIX, --tag NAME or --rebuild)";;
  esac
done

shared_prefix() { # prints sys.prefix of a CPython 3.10 that has a shared libpython3.10
  "$1" - <<'PY' 2>/dev/null
import os, sys, sysconfig
libdir = sysconfig.get_config_var("LIBDIR") or ""
if sys.version_info[:2] != (3, 10) or sys.implementation.name != "cpython" \
        or not os.path.exists(os.path.join(libdir, "libpython3.10.so.1.0")):
    raise SystemExit(1)
print(sysconfig.get_config_var("prefix"))
PY
}

if [ -z "$PREFIX" ]; then
  for c in "$(command -v python3.10 2>/dev/null || true)" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10*/bin/python3.10; do
    [ -n "$c" ] && [ -x "$c" ] || continue
    PREFIX="$(shared_prefix "$c")" && break || PREFIX=""
  done
  [ -n "$PREFIX" ] || die "no CPython 3.10 with a shared libpython3.10.so.1.0 found; build one
  (PYTHON_CONFIGURE_OPTS=--enable-shared pyenv install 3.10.13) and pass --python \$(pyenv prefix 3.10.13)"
fi
[ -x "$PREFIX/bin/python3.10" ] || die "--python $PREFIX: no bin/python3.10 in it"
[ "$(shared_prefix "$PREFIX/bin/python3.10" || true)" = "$PREFIX" ] \
  || die "--python $PREFIX: not a CPython 3.10 whose sys.prefix is $PREFIX with lib/libpython3.10.so.1.0"
VERSION="$("$PREFIX/bin/python3.10" -c 'import platform; print(platform.python_version())')"

[ "$(id -u)" = 0 ] || die "debootstrap and chroot need root" 4
command -v debootstrap >/dev/null || die "debootstrap not found (apt-get install debootstrap)" 4
docker info >/dev/null 2>&1 || die "no Docker engine answers (docker info failed)" 4

RECIPE="$( { cat "$0"; echo "$VERSION $PACKAGES $MIRROR"; } | sha256sum | cut -c1-12)"
IMAGE="$TAG-$RECIPE"
if [ "$REBUILD" = 0 ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  docker tag "$IMAGE" "$TAG"
  say "cached: $IMAGE (CPython $VERSION)"; echo "$IMAGE"; exit 0
fi

start=$(date +%s)
WORK="$(mktemp -d "${TMPDIR:-/var/tmp}/quantbridge-base.XXXXXX")"
cleanup() { # debootstrap mounts proc and sys in the target while it runs
  grep -o " $WORK/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
ROOT="$WORK/rootfs"
say "debootstrap bookworm from $MIRROR (about 3 minutes)"
if ! debootstrap --variant=minbase --include="$PACKAGES" bookworm "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
  tail -n 20 "$WORK/debootstrap.log" >&2
  die "debootstrap failed (is $MIRROR reachable?)" 4
fi
cat >"$ROOT/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb ${MIRROR%/debian}/debian-security bookworm-security main
EOF
# As Debian's slim images: no documentation, manuals or translations from any package.
[ -d "$ROOT/etc/dpkg/dpkg.cfg.d" ] || die "debootstrap left no $ROOT/etc/dpkg/dpkg.cfg.d"
printf 'path-exclude /usr/share/%s\n' 'doc/*' 'info/*' 'locale/*' 'man/*' 'groff/*' 'lintian/*' \
  >"$ROOT/etc/dpkg/dpkg.cfg.d/docker"
echo 'path-include /usr/share/doc/*/copyright' >>"$ROOT/etc/dpkg/dpkg.cfg.d/docker"
(cd "$ROOT/usr/share" && find doc -mindepth 2 ! -name copyright ! -type d -delete \
   && rm -rf info/* locale/* man/* groff/* lintian/*)
(cd "$ROOT/var" && rm -rf lib/apt/lists/* cache/apt/*.bin cache/apt/archives/*.deb)

say "CPython $VERSION from $PREFIX -> /usr/local"
# As the official image: no test suites, no static libpython, no tkinter; site-packages gets
# only the pip and setuptools that ensurepip bundles.
tar -C "$PREFIX" -c --exclude='./lib/python3.10/site-packages/*' --exclude='test' --exclude='tests' \
    --exclude='idle_test' --exclude='libpython3.10.a' --exclude='_tkinter*' --exclude='__pycache__' . \
  | tar -C "$ROOT/usr/local" -x
# The build-time prefix is written into sysconfig, the Makefile (jep's build reads both) and
# the scripts' #! lines: point them at /usr/local.
grep -rlI --null -F "$PREFIX" "$ROOT/usr/local/bin" "$ROOT/usr/local/lib" \
  | xargs -0 -r sed -i "s#$PREFIX#/usr/local#g"
chroot "$ROOT" /sbin/ldconfig
chroot "$ROOT" /usr/local/bin/python3.10 -m ensurepip --default-pip >/dev/null
chroot "$ROOT" /usr/local/bin/python3.10 - <<'PY' || die "the copied CPython does not work inside bookworm" 4
import ssl, ctypes, sqlite3, bz2, lzma, readline, curses, uuid, zlib, pyexpat, hashlib, decimal, venv
import os, sysconfig
assert sysconfig.get_config_var("LIBDIR") == "/usr/local/lib", sysconfig.get_config_var("LIBDIR")
assert os.path.exists("/usr/local/lib/libpython3.10.so.1.0")
ctypes.CDLL("libpython3.10.so.1.0")
PY
ln -sf python3.10 "$ROOT/usr/local/bin/python"; ln -sf python3.10 "$ROOT/usr/local/bin/python3"

say "docker import $IMAGE"
tar -C "$ROOT" -c . | docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' --change "ENV PYTHON_VERSION=$VERSION" \
  --change 'CMD ["python3"]' - "$IMAGE" >/dev/null
docker tag "$IMAGE" "$TAG"
say "built $IMAGE in $(( $(date +%s) - start )) s ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
echo "$IMAGE"

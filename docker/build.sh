#!/usr/bin/env bash
# Builds the QuantBridge image from docker/Dockerfile and prints its name on stdout.
#
#   docker/build.sh [--tag NAME] [--base IMAGE|local] [--extra-ca FILE]
#
#   --tag NAME       image name (default quantbridge:latest)
#   --base IMAGE     the base image (default python:3.10-slim-bookworm when it is present or can be
#                    pulled); "local": always build one with docker/build-base.sh. Without a
#                    registry the local one is built (and cached in the engine) by itself.
#   --extra-ca FILE  a PEM file of extra CA certificates to trust while building (a TLS-inspecting
#                    proxy between you and PyPI, Maven Central and Debian); passed as a build
#                    secret, not kept in the image
#
# Builds with BuildKit and the host's network. Wheels and Maven artifacts are kept in BuildKit's
# cache between builds on the same engine, never in the repository.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
TAG="quantbridge:latest"
OFFICIAL="python:3.10-slim-bookworm"
BASE=""
EXTRA_CA=""

say() { printf 'build: %s\n' "$*" >&2; }
die() { printf 'build: error: %s\n' "$1" >&2; exit "${2:-2}"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --tag) [ $# -ge 2 ] || die "--tag needs a name"; TAG="$2"; shift 2;;
    --base) [ $# -ge 2 ] || die "--base needs an image name or 'local'"; BASE="$2"; shift 2;;
    --extra-ca) [ $# -ge 2 ] || die "--extra-ca needs a file"; EXTRA_CA="$2"; shift 2;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0;;
    *) die "unknown argument '$1' (expected --tag, --base or --extra-ca)";;
  esac
done
if [ -n "$EXTRA_CA" ]; then
  [ -r "$EXTRA_CA" ] || die "--extra-ca $EXTRA_CA: no such readable file"
  grep -q 'BEGIN CERTIFICATE' "$EXTRA_CA" || die "--extra-ca $EXTRA_CA: no PEM certificate (-----BEGIN CERTIFICATE-----) in it"
fi
docker info >/dev/null 2>&1 || die "no Docker engine answers (docker info failed)" 4

# A client that builds with BuildKit: the buildx plugin, or a client older than 23 (BuildKit
# built in, switched on by DOCKER_BUILDKIT=1). Newer clients without buildx cannot.
client_major() { "$1" version --format '{{.Client.Version}}' 2>/dev/null | sed 's/^\([0-9]*\).*/\1/'; }
if docker buildx version >/dev/null 2>&1; then
  BUILD=(docker buildx build --load)
else
  BUILD=()
  for c in "$(command -v docker)" /usr/bin/docker; do
    m="$(client_major "$c" || true)"
    if [ -n "$m" ] && [ "$m" -lt 23 ]; then BUILD=(env DOCKER_BUILDKIT=1 "$c" build); break; fi
  done
  [ ${#BUILD[@]} -gt 0 ] || die "this Docker client has no BuildKit: install the buildx plugin (docker-buildx-plugin)" 4
fi

if [ -z "$BASE" ]; then
  if docker image inspect "$OFFICIAL" >/dev/null 2>&1 || timeout 120 docker pull -q "$OFFICIAL" >/dev/null 2>&1; then
    BASE="$OFFICIAL"
  else
    say "$OFFICIAL cannot be pulled: building the local equivalent (docker/build-base.sh)"
    BASE=local
  fi
fi
if [ "$BASE" = local ]; then
  base_start=$(date +%s)
  BASE="$("$HERE/build-base.sh")"
  say "base image $BASE ready in $(( $(date +%s) - base_start )) s"
fi

args=(--network host -f "$HERE/Dockerfile" --build-arg "BASE_IMAGE=$BASE" -t "$TAG")
[ -n "$EXTRA_CA" ] && args+=(--secret "id=extra_ca,src=$EXTRA_CA")
say "building $TAG on $BASE"
start=$(date +%s)
log="$(mktemp "${TMPDIR:-/tmp}/quantbridge-docker-build.XXXXXX")"
if ! BUILDKIT_PROGRESS=plain "${BUILD[@]}" "${args[@]}" "$ROOT" >"$log" 2>&1; then
  tail -n 60 "$log" >&2
  die "docker build failed (full log: $log)" 1
fi
rm -f "$log"
size="$(docker image inspect -f '{{.Size}}' "$TAG" | awk '{printf "%.2f GB", $1/1e9}')"
say "built $TAG in $(( $(date +%s) - start )) s, image size $size"
echo "$TAG"

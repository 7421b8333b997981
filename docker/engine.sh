#!/usr/bin/env bash
# Makes sure a Docker engine answers, starting one when it is allowed to.
#
#   docker/engine.sh
#
# Exit 0: `docker info` works (an engine was running, or this script started one).
# Exit 4: no engine can be had here; the one line on stderr says why.
# When none is running and this runs as root, it installs what is missing (Debian's docker.io and
# debootstrap, with apt-get) and starts dockerd in the background without iptables or a bridge
# (containers use the host's network or none); its log is /var/log/quantbridge-dockerd.log.
set -euo pipefail

say() { printf 'engine: %s\n' "$*" >&2; }
no_engine() { printf 'engine: no Docker engine: %s\n' "$*" >&2; exit 4; }

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if docker info >/dev/null 2>&1 && [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { docker info >/dev/null 2>&1 && exit 0; no_engine "not root, and ${missing[*]} not installed"; }
  command -v apt-get >/dev/null || no_engine "${missing[*]} not installed and no apt-get to install them"
  say "installing ${missing[*]}"
  if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
           $(printf '%s\n' "${missing[@]}" | sort -u); } >/tmp/quantbridge-engine-apt.log 2>&1; then
    tail -n 5 /tmp/quantbridge-engine-apt.log >&2
    docker info >/dev/null 2>&1 && exit 0
    no_engine "installing ${missing[*]} failed (log /tmp/quantbridge-engine-apt.log)"
  fi
  docker info >/dev/null 2>&1 && exit 0
fi

[ "$(id -u)" = 0 ] || no_engine "none answers on ${DOCKER_HOST:-/var/run/docker.sock} and only root may start dockerd here"
pidfile=/var/run/docker.pid
if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  rm -f "$pidfile"   # left by an engine that is gone: dockerd refuses to start while it exists
fi
if ! [ -f "$pidfile" ]; then
  say "starting dockerd (log /var/log/quantbridge-dockerd.log)"
  nohup dockerd --iptables=false --ip6tables=false --bridge=none >>/var/log/quantbridge-dockerd.log 2>&1 </dev/null &
fi
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    say "dockerd ready (storage driver $(docker info -f '{{.Driver}}'))"
    exit 0
  fi
  sleep 1
done
tail -n 5 /var/log/quantbridge-dockerd.log >&2 || true
no_engine "dockerd did not answer within 60 s (log /var/log/quantbridge-dockerd.log)"

#!/usr/bin/env bash
# The CI step before the tests: a Docker engine (docker/engine.sh), then the image
# (docker/build.sh: on the official base when it can be pulled, else on the local one).
#
# Exit 0: quantbridge:latest is built, and the container tests must run.
# Exit 4: no engine can be had on this machine; the container tests skip and say so.
# Other:  the engine or the build failed.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

"$HERE/engine.sh" || exit $?

# The CA bundle this machine's package clients trust (a TLS-inspecting proxy's CA is in it).
ca=""
for f in "${QUANTBRIDGE_EXTRA_CA:-}" "${PIP_CERT:-}" "${SSL_CERT_FILE:-}" "${REQUESTS_CA_BUNDLE:-}"; do
  if [ -n "$f" ] && [ -r "$f" ] && grep -q 'BEGIN CERTIFICATE' "$f"; then ca="$f"; break; fi
done

start=$(date +%s)
"$HERE/build.sh" --tag quantbridge:latest ${ca:+--extra-ca "$ca"} >/dev/null
# The image this replaced (3.5 GB) would otherwise stay behind on every run.
docker image prune -f --filter dangling=true --filter label=org.opencontainers.image.title=QuantBridge >/dev/null
# So does the build cache of every earlier tree (several GB a run): keep the most recent 10 GB.
docker builder prune -f --keep-storage 10GB >/dev/null 2>&1 || true
printf 'ci: image quantbridge:latest ready in %d s\n' "$(( $(date +%s) - start ))" >&2

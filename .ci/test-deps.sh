#!/usr/bin/env bash
# `make test-deps`: the system tools the suites and benchmarks need beyond Python, from Debian's packages.
# Idempotent: packages already installed are left alone (no `apt-get update` when nothing is missing).
# Tests needing a tool that is still missing skip on a developer's machine and fail under CI=true.
set -euo pipefail

# wrk: make bench-serve. nginx, prometheus (promtool), buildah, mmdebstrap: the rollout, rules and image tests.
# gnupg (gpg): the signed promotion commit tests.
PACKAGES=(wrk nginx prometheus buildah mmdebstrap gnupg)
# With arguments, only those packages (`make rehearse-deps`: nginx prometheus) and no npm.
NEED_NPM=true
if [ $# -gt 0 ]; then PACKAGES=("$@"); NEED_NPM=false; fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# npm: the workflow tests fetch GitHub's OpenAPI description and example payloads (npm packages, cached
# under ~/.cache/rollgate). Any npm will do; Debian's package only when none is on PATH.
if $NEED_NPM; then command -v npm >/dev/null || missing+=(npm); fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "test-deps: all installed (${PACKAGES[*]})"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "test-deps: not root, so apt-get is skipped; missing: ${missing[*]} (run \`sudo make test-deps\`)" >&2
  [ "${CI:-}" != "true" ]  # CI runs as root: there a skip is a failure
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# The tests start nginx and Prometheus on their own ports: the packages' services must not start on install.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "test-deps: installed ${missing[*]}"

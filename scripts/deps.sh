#!/usr/bin/env bash
# Installs the Debian packages the interop tests need, when they are missing
# and we run as root; otherwise says exactly what to install. Never fails:
# the tests themselves skip loudly (or fail, under CI) without them.
set -u
# haproxy and postgresql: make cluster and the scale-out tests (PostgreSQL 15
# comes with the machine image; haproxy does not).
pkgs=(python3-zeep python3-spyne python3-lxml rpcsvc-proto libtirpc-dev rpcbind gcc libc6-dev tmux haproxy postgresql)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1 || echo "deps: apt-get update failed" >&2
  # rpcbind's postinst may try to start the service; policy-rc.d keeps it quiet in containers.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || echo "deps: apt-get install ${missing[*]} failed; interop tests will say what is missing" >&2
else
  echo "deps: interop tests need these Debian packages: ${missing[*]}" >&2
  echo "deps:   sudo apt-get install ${missing[*]}" >&2
  echo "deps: without them those tests SKIP with a loud message." >&2
fi
exit 0

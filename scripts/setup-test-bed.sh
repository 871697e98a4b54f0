#!/usr/bin/env bash
# Installs everything the test suite and the local flow need on a fresh Debian machine with Node 20,
# Python 3 and root: Debian packages of the real peers, npm packages, and moto server in a private venv.
# Safe to run again: each step is skipped when what it installs is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION="5.2.5"
SCHEMATHESIS_VERSION="4.32.5"
DEBIAN_PACKAGES=(postgresql openssh-server openssh-client nmap wireguard-tools wireguard-go busybox iproute2 curl util-linux procps nftables shellcheck)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  python3 -m venv --help >/dev/null 2>&1 && python3 -c 'import ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages (${missing[*]}); run this script as root or install them" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian starts a cluster on install; the tests start their own servers, so the packaged one is left alone.

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

if [ ! -x .venv/bin/moto_server ]; then
  echo "setup: installing moto[server] ${MOTO_VERSION} into .venv"
  rm -rf .venv
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "moto[server]==${MOTO_VERSION}" 2> >(grep -v "is ignored: it is neither" >&2)
fi

# Schemathesis fuzzes the controller's API in the suite (test/controller-fuzz.test.ts); pinned, so that a
# fixed seed keeps generating the same requests.
if ! .venv/bin/schemathesis --version 2>/dev/null | grep -qx "schemathesis, version ${SCHEMATHESIS_VERSION}"; then
  echo "setup: installing schemathesis ${SCHEMATHESIS_VERSION} into .venv"
  .venv/bin/pip install --quiet --disable-pip-version-check "schemathesis==${SCHEMATHESIS_VERSION}" 2> >(grep -v "is ignored: it is neither" >&2)
fi

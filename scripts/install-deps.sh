#!/usr/bin/env bash
# Installs every Debian 12 package Gyre's build and tests need. Run as root (or with sudo).
# redis-server is for the Redis engine's tests, which start their own instances on free
# ports: the service the package enables is stopped and disabled again here. Its redis-tools
# dependency brings redis-cli (the cluster test's `redis-cli --cluster create`); the Sentinel
# test runs `redis-server <conf> --sentinel`, which is all Debian's redis-sentinel package
# runs, so that package is not needed. The openssl CLI makes the TLS test's throwaway CA and
# certificates (tests/compat/tls.test.mjs).
# chromium is the headless browser of the admin UI test (tests/compat/admin.test.mjs, driven by
# puppeteer-core from npm, which downloads no browser of its own).
# With --ci also the packages of .ci/run's sanitizer and fuzz stages.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git curl ca-certificates
  libboost1.81-dev libsimdjson-dev libspdlog-dev libfmt-dev libyaml-cpp-dev
  libtomlplusplus-dev libcli11-dev libssl-dev libre2-dev zlib1g-dev libnghttp2-dev
  libgtest-dev libbenchmark-dev
  libhiredis-dev redis-server
  openssl chromium
)
# --ci: what .ci/run needs beyond the build and tests: clang 16 and its runtimes (libFuzzer,
# sanitizers) for scripts/fuzz; prlimit (util-linux) for the descriptor-exhaustion test.
if [[ ${1:-} == --ci ]]; then
  packages+=(clang-16 libclang-rt-16-dev util-linux)
fi
# The compatibility tests run the official npm SDK under Node.js (>= 18; 20 preferred).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} > 0)); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [[ " ${missing[*]:-} " == *" redis-server "* ]] && command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
echo "install-deps: all packages present"

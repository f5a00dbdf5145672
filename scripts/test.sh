#!/usr/bin/env bash
# Builds Gyre with its tests and runs them all: GoogleTest units (ctest), then the
# integration and compatibility suite that drives build/gyre with the npm `centrifuge` SDK,
# cent.js and raw HTTP/WebSocket clients (tests/compat).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/build.sh -DGYRE_BUILD_TESTS=ON

echo "== docs/configuration.md is generated from the schema"
build/gyre configdoc | diff -u docs/configuration.md - || {
  echo "docs/configuration.md is stale: run build/gyre configdoc > docs/configuration.md"
  exit 1
}

# pebble (Let's Encrypt's ACME test server) is the CA of the autocert unit test and of
# tests/compat/tls_autocert.test.mjs; without Go or the module proxy they skip and say why.
echo "== building pebble (scripts/build-pebble.sh)"
scripts/build-pebble.sh || echo "pebble not built: the ACME autocert tests will be skipped"

echo "== unit tests"
(cd build && ctest --output-on-failure -j"$(nproc)")

# The real Centrifugo v5.4.9 is the peer of the mixed-cluster test; without Go or the module
# proxy that test is skipped and says why.
if [[ -z ${CENTRIFUGO_BIN:-} ]]; then
  echo "== building the Centrifugo v5.4.9 peer (scripts/build-centrifugo.sh)"
  if bin=$(scripts/build-centrifugo.sh); then
    export CENTRIFUGO_BIN=$bin
  else
    echo "Centrifugo peer not built: the mixed-cluster test will be skipped"
  fi
fi

echo "== integration and compatibility tests"
cd tests/compat
npm ci --no-audit --no-fund --loglevel=error
GYRE_BIN="$root/build/gyre" npm test

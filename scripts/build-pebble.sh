#!/usr/bin/env bash
# Builds pebble (Let's Encrypt's ACME test server) and pebble-challtestsrv v2.10.3 from their Go
# module (the Go module proxy serves it) into build/peers/, the ACME server of the autocert test
# (tests/unit/tls/autocert_pebble_test.cc). Reuses existing binaries. Prints the directory on
# success; exits non-zero (with the reason) when Go or the module proxy is unavailable.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${PEBBLE_OUT:-$PWD/build/peers}
if [[ -x $out/pebble && -x $out/pebble-challtestsrv && -f $out/pebble-certs/cert.pem ]]; then
  echo "$out"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "build-pebble: go is not installed" >&2
  exit 1
fi
mkdir -p "$out"
dir=$(go mod download -json github.com/letsencrypt/pebble/v2@v2.10.3 |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
(cd "$dir" && GOFLAGS=-mod=mod go build -o "$out/pebble" ./cmd/pebble &&
  GOFLAGS=-mod=mod go build -o "$out/pebble-challtestsrv" ./cmd/pebble-challtestsrv) >&2
# The certificate pebble's ACME API serves (localhost, 127.0.0.1) and the CA that signed it:
# the test passes the CA as tls_autocert_directory_ca.
mkdir -p "$out/pebble-certs"
cp "$dir/test/certs/localhost/cert.pem" "$dir/test/certs/localhost/key.pem" \
  "$dir/test/certs/pebble.minica.pem" "$out/pebble-certs/"
chmod u+w "$out"/pebble-certs/*
echo "$out"

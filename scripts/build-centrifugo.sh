#!/usr/bin/env bash
# Builds the real Centrifugo v5.4.9 from its Go module (the Go module proxy serves it) into
# build/peers/centrifugo, the peer of the mixed-cluster test (tests/compat/redis_mixed.test.mjs:
# a Gyre node and a Centrifugo node on one Redis). Reuses an existing binary. Prints the path
# on success; exits non-zero (with the reason) when Go or the module proxy is unavailable.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${CENTRIFUGO_OUT:-$PWD/build/peers/centrifugo}
if [[ -x $out ]]; then
  echo "$out"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "build-centrifugo: go is not installed" >&2
  exit 1
fi
mkdir -p "$(dirname "$out")"
dir=$(go mod download -json github.com/centrifugal/centrifugo/v5@v5.4.9 |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
(cd "$dir" && GOFLAGS=-mod=mod go build -o "$out" .) >&2
echo "$out"

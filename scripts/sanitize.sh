#!/usr/bin/env bash
# Builds Gyre and its unit tests with a sanitizer into build-<mode>/ and runs them, then runs
# integration tests against the instrumented binary (docs/reliability.md):
#
#   scripts/sanitize.sh asan    ASan+UBSan: every unit test and the whole tests/compat suite
#   scripts/sanitize.sh tsan    TSan: every unit test and the concurrency subset of tests/compat
#                               (concurrency, shutdown, auth (JWKS single flight across
#                               shards, SIGHUP reload), semantics; gomaxprocs >= 2)
#
# Environment: BUILD_JOBS (nproc), COMPAT_TESTS (override the compat file list, e.g.
# "raw.test.mjs"), SKIP_UNIT=1 / SKIP_COMPAT=1. Any sanitizer report fails the run: the
# runtime aborts, so a unit test fails or the server exits non-zero / stops answering.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mode=${1:?usage: scripts/sanitize.sh asan|tsan}
case $mode in
  asan | tsan) ;;
  *)
    echo "sanitize: unknown mode '$mode' (asan or tsan)" >&2
    exit 2
    ;;
esac
BUILD_DIR=build-$mode
jobs=${BUILD_JOBS:-$(nproc)}

# ASan+UBSan at -O0 with assertions on: GCC compiles UBSan-instrumented -O2 code ~5x slower
# than a plain build (-O0: 1.4x), which alone would blow CI's 45-minute budget on 2 cores, and
# the suite is I/O-bound. TSan builds at -O1 (TSan at -O0 is needlessly slow at run time).
if [[ $mode == asan ]]; then
  build_flags=(-DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O0 -g1")
else
  # TSan wants -O1 or more; -O1 -g1 (line tables) compiles ~a quarter faster than -O2 -g and
  # reports races with file:line all the same.
  build_flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG")
fi
t0=$(date +%s)
cmake -S . -B "$BUILD_DIR" -G Ninja "${build_flags[@]}" -DGYRE_BUILD_TESTS=ON \
  -DGYRE_SANITIZE="$mode" >/dev/null
cmake --build "$BUILD_DIR" -j"$jobs"
echo "== $mode: build $(($(date +%s) - t0)) s"

# halt_on_error: a report is a failure, not a line in a log nobody reads. LeakSanitizer runs
# at exit of every unit test binary and of the server.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:halt_on_error=1:detect_stack_use_after_return=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1:suppressions=$root/tests/sanitizers/ubsan.supp}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:second_deadlock_stack=1}

# pebble is the ACME CA of tests/unit/tls/autocert_pebble_test.cc and of
# tests/compat/tls_autocert.test.mjs (both skip without it): built for either stage.
scripts/build-pebble.sh >/dev/null || echo "pebble not built: the ACME autocert tests will be skipped"

if [[ -z ${SKIP_UNIT:-} ]]; then
  t0=$(date +%s)
  (cd "$BUILD_DIR" && ctest --output-on-failure -j"$jobs")
  echo "== $mode: unit tests $(($(date +%s) - t0)) s"
fi

if [[ -z ${SKIP_COMPAT:-} ]]; then
  t0=$(date +%s)
  cd tests/compat
  [[ -d node_modules ]] || npm ci --no-audit --no-fund --loglevel=error
  if [[ -n ${COMPAT_TESTS:-} ]]; then
    files=($COMPAT_TESTS)
  elif [[ $mode == tsan ]]; then
    files=(concurrency.test.mjs shutdown.test.mjs auth.test.mjs semantics.test.mjs)
  else
    files=(./*.test.mjs)
  fi
  # GYRE_SANITIZED tells timing assertions that the binary is several times slower.
  GYRE_SANITIZED=$mode GYRE_BIN="$root/$BUILD_DIR/gyre" \
    node --test --test-concurrency=1 --test-timeout=180000 "${files[@]}"
  echo "== $mode: compat tests $(($(date +%s) - t0)) s"
fi

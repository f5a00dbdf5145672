#!/usr/bin/env bash
# Configures and builds Gyre (Release) into build/: the server is build/gyre. Extra arguments
# go to CMake (scripts/test.sh adds -DGYRE_BUILD_TESTS=ON). BUILD_JOBS: parallel jobs (nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-Release} -DGYRE_BUILD_TESTS=OFF "$@"
cmake --build "$BUILD_DIR" -j"${BUILD_JOBS:-$(nproc)}"

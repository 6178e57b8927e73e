#!/usr/bin/env bash
# The test command: installs what is missing, builds everything, runs every test.
# Usage: scripts/test.sh [build-dir]   (default: build)
#   ACTATLAS_SANITIZE_ALL=1: the sanitizer run takes the whole CPU test runner, not only
#   its file and input tests (about 4 more minutes on 2 cores; docs/reliability.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}

"$root/scripts/setup.sh" browser

jobs=$(nproc)
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DACTATLAS_BUILD_TESTS=ON
cmake --build "$build" -j "$jobs"
(cd "$build" && ctest --output-on-failure -j "$jobs" --timeout 3600)

# Under AddressSanitizer and UndefinedBehaviorSanitizer, without LibTorch, in a tree of its
# own: the file, image and fault tests (actatlas_tests_io) and every fuzz target's seed
# corpus and regression inputs (fuzz/). Any report fails the run (-fno-sanitize-recover).
san="$build/sanitize"
cmake -S "$root" -B "$san" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O1 \
  "-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
  -DACTATLAS_WITH_TORCH=OFF -DACTATLAS_BUILD_EXAMPLES=OFF -DACTATLAS_BUILD_BENCH=OFF -DACTATLAS_INSTALL=OFF \
  -DACTATLAS_BUILD_TESTS=ON -DACTATLAS_BUILD_FUZZ=ON -DACTATLAS_FUZZ_ENGINE=replay
targets=(actatlas_tests_io fuzz_npy fuzz_safetensors fuzz_image fuzz_provenance fuzz_records)
tests='^(io|fuzz_replay\..*)$'
if [[ "${ACTATLAS_SANITIZE_ALL:-0}" == 1 ]]; then
  targets+=(actatlas_tests_cpu)
  tests='^(io|cpu|fuzz_replay\..*)$'
fi
cmake --build "$san" -j "$jobs" --target "${targets[@]}"
(cd "$san" && ctest --output-on-failure -j "$jobs" --timeout 1800 -R "$tests")

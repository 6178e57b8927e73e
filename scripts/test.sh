#!/usr/bin/env bash
# The test command: installs what is missing, builds everything, runs every test.
# Usage: scripts/test.sh [build-dir]   (default: build)
#   ACTATLAS_SANITIZE=cpu (default): the sanitizer stage runs every CPU test and the fuzz corpora
#   ACTATLAS_SANITIZE=io: only the file and input tests (actatlas_tests_io) and the fuzz corpora
#   ACTATLAS_SANITIZE=off: no sanitizer stage (docs/reliability.md has what each costs)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}

"$root/scripts/setup.sh" browser

jobs=$(nproc)
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DACTATLAS_BUILD_TESTS=ON
cmake --build "$build" -j "$jobs"
(cd "$build" && ctest --output-on-failure -j "$jobs" --timeout 3600)

# Under AddressSanitizer and UndefinedBehaviorSanitizer, without LibTorch, in a tree of its
# own: every CPU test (actatlas_tests_cpu) and every fuzz target's seed corpus and regression
# inputs (fuzz/). Any report fails the run (-fno-sanitize-recover).
sanitize=${ACTATLAS_SANITIZE:-cpu}
[[ "$sanitize" == off ]] && exit 0
san="$build/sanitize"
cmake -S "$root" -B "$san" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O1 \
  "-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
  -DACTATLAS_WITH_TORCH=OFF -DACTATLAS_BUILD_EXAMPLES=OFF -DACTATLAS_BUILD_BENCH=OFF -DACTATLAS_INSTALL=OFF \
  -DACTATLAS_BUILD_TESTS=ON -DACTATLAS_BUILD_FUZZ=ON -DACTATLAS_FUZZ_ENGINE=replay
targets=(fuzz_npy fuzz_safetensors fuzz_image fuzz_provenance fuzz_records)
case "$sanitize" in
  cpu) targets+=(actatlas_tests_cpu); tests='^(cpu|fuzz_replay\..*)$' ;;
  io) targets+=(actatlas_tests_io); tests='^(io|fuzz_replay\..*)$' ;;
  *) echo "test.sh: ACTATLAS_SANITIZE is cpu, io or off, not '$sanitize'" >&2; exit 2 ;;
esac
cmake --build "$san" -j "$jobs" --target "${targets[@]}"
(cd "$san" && ctest --output-on-failure -j "$jobs" --timeout 1800 -R "$tests")

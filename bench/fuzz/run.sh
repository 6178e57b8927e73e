#!/usr/bin/env bash
# Fuzzes one parser for a given time with libFuzzer (clang, ASan + UBSan) and reports the
# executions and what was found. Run one at a time on a shared machine; it runs under nice -n 19, one worker.
#
# Usage: bench/fuzz/run.sh TARGET SECONDS [build-dir]
#   TARGET: npy | safetensors | image | provenance | records   (fuzz/*.cpp)
#   build-dir: default build-fuzz beside the repository; configured here when absent
#   CLANG: the compiler suffix to use (default: -14 when clang++-14 exists)
# Needs clang and its libFuzzer runtime: scripts/setup.sh fuzz (Debian's clang-14, libclang-rt-14-dev).
# Output under <build-dir>/fuzz-runs/TARGET/: log.txt (libFuzzer's), corpus/ (what it
# grew, starting from fuzz/corpus/TARGET, which stays untouched) and crash-*/oom-*/timeout-*
# (inputs that failed; copy each, once fixed, into fuzz/regressions/TARGET/).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
target=${1:?usage: run.sh TARGET SECONDS [build-dir]}
seconds=${2:?usage: run.sh TARGET SECONDS [build-dir]}
build=${3:-"$root/../build-fuzz"}
suffix=${CLANG-$(command -v clang++-14 >/dev/null && echo -14 || echo "")}

if [[ ! -f "$build/build.ninja" ]]; then
  CC=clang$suffix CXX=clang++$suffix cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DACTATLAS_WITH_TORCH=OFF -DACTATLAS_BUILD_TESTS=OFF -DACTATLAS_BUILD_EXAMPLES=OFF -DACTATLAS_BUILD_BENCH=OFF \
    -DACTATLAS_INSTALL=OFF -DACTATLAS_BUILD_FUZZ=ON -DACTATLAS_FUZZ_ENGINE=libfuzzer \
    -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
fi
nice -n 19 cmake --build "$build" --target "fuzz_$target" -j 2

out="$build/fuzz-runs/$target"
mkdir -p "$out/corpus"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# fork=1: one worker process at a time; a crash, OOM or timeout is saved and the run goes on,
# so a long unattended run finds more than its first bug. Limits: 2 GB RSS, 1 GB per malloc
# (a bigger one is a finding: no parser may allocate what a file merely claims), 10 s per input.
ACTATLAS_FUZZ_TMP="$scratch" UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  nice -n 19 "$build/fuzz/fuzz_$target" -max_total_time="$seconds" -fork=1 -ignore_crashes=1 -ignore_ooms=1 \
  -ignore_timeouts=1 -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 -print_final_stats=1 \
  -artifact_prefix="$out/" "$out/corpus" "$root/fuzz/corpus/$target" >"$out/log.txt" 2>&1 || true

last=$(grep -E '^#[0-9]+' "$out/log.txt" | tail -1 || true)
execs=$(sed -nE 's/^#([0-9]+):.*/\1/p' <<<"$last")
[[ -z "$execs" ]] && execs=$(sed -nE 's/^#([0-9]+)[[:space:]].*/\1/p' <<<"$last")
found=$(find "$out" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) | wc -l)
echo "fuzz $target: ${seconds} s, ${execs:-?} executions, $found failing inputs saved in $out"
echo "  last status: $last"

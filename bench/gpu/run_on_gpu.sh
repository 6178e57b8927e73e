#!/usr/bin/env bash
# Runs on a GPU machine (CUDA PyTorch with CMake and ninja, none of Debian's -dev packages):
# builds against the pip LibTorch with the headers carried in .devcarry (bench/gpu/prepare_carry.sh),
# runs the LibTorch tests, the inversion / collection / InceptionV1 benchmarks on CUDA and the
# demo end to end on CUDA. Everything it prints goes to $OUT/gpu.log.
set -uo pipefail
OUT=${OUT:-/tmp/actatlas-gpu-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu.log") 2>&1
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
phase() { echo; echo "=== $* ($(date +%T))"; }

phase environment
nvidia-smi -L; nproc; g++ --version | head -1; cmake --version | head -1
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'

phase configure
P="$root/.devcarry/prefix"
TP=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
export LD_LIBRARY_PATH="$P/lib/blas:${LD_LIBRARY_PATH:-}"
export ACTATLAS_CACHE="$root/.devcarry/cache"
cmake -S . -B /tmp/b -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$P;$TP" \
  -DBLA_VENDOR=OpenBLAS -DCMAKE_LIBRARY_PATH="$P/lib/blas" -DACTATLAS_INSTALL=OFF \
  -DTORCH_CUDA_ARCH_LIST=9.0 -DCMAKE_CUDA_ARCHITECTURES=90 2>&1 | tail -25

phase build
time ninja -C /tmp/b -j "$(nproc)" actatlas_tests_torch actatlas_cli bench_inversion bench_collect bench_inception_v1 2>&1 | grep -E "error|FAILED|warning: unused" | head -40

phase "torch tests (CPU paths and the CUDA cases)"
time timeout 200 /tmp/b/actatlas_tests_torch --durations yes 2>&1 | tail -60

phase "demo end to end on CUDA (20,000 samples, 2 levels)"
time timeout 200 /tmp/b/bin/actatlas demo --out /tmp/demo --device cuda 2>&1 | tr '\r' '\n' | grep -v "^\s*$" | grep -E "took|demo:|atlas|viewer|error" | head -40
cp /tmp/demo/atlas/atlas.png "$OUT/demo_atlas_cuda.png" 2>/dev/null

phase "inversion benchmark on CUDA"
time timeout 120 /tmp/b/bin/bench_inversion --device cuda --steps 64 --batches 1,8,32,64 --models demo,inception 2>&1 | tail -30

phase "InceptionV1 speed on CUDA"
timeout 40 /tmp/b/bin/bench_inception_v1 --device cuda --batch 64 --repeats 10 2>&1 | tail -12

phase "collection benchmark (device auto = CUDA)"
timeout 90 /tmp/b/bin/bench_collect --images 512 --batch 64 --small 20000 --large 200000 2>&1 | tail -25
phase done

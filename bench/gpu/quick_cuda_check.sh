#!/usr/bin/env bash
# The shortest useful CUDA check (a few minutes of device time): build the actatlas program
# against the machine's pip LibTorch (headers carried in .devcarry by prepare_carry.sh) and
# run a small demo end to end on CUDA: collection with attribution, UMAP, icons.
set -uo pipefail
OUT=${OUT:-/tmp/actatlas-gpu-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/quick.log") 2>&1
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
P="$root/.devcarry/prefix"
TP=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
export LD_LIBRARY_PATH="$P/lib/blas:${LD_LIBRARY_PATH:-}" ACTATLAS_CACHE="$root/.devcarry/cache"
nvidia-smi -L; date +%T
cmake -S . -B /tmp/b -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$P;$TP" -DBLA_VENDOR=OpenBLAS \
  -DCMAKE_LIBRARY_PATH="$P/lib/blas" -DACTATLAS_BUILD_TESTS=OFF -DACTATLAS_INSTALL=OFF -DTORCH_CUDA_ARCH_LIST=9.0 > /tmp/cfg.log 2>&1 \
  || { tail -30 /tmp/cfg.log; exit 1; }
date +%T
ninja -C /tmp/b -j "$(nproc)" actatlas_cli 2>&1 | grep -E "error|FAILED" | head -20
date +%T
/tmp/b/bin/actatlas demo --device cuda --out /tmp/demo --per-class 60 --samples 2000 --grid 12 --steps 96 --icon-size 48 \
  --icon-batch 64 2>&1 | tr '\r' '\n' | grep -E "took|demo:|error|atlas" | head -30
cp /tmp/demo/atlas/atlas.png "$OUT/cuda_demo_atlas.png" 2>/dev/null
date +%T

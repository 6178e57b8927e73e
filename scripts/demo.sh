#!/usr/bin/env bash
# The main job: installs what is missing, builds the actatlas program (cli/; only that
# target, three translation units), and runs the embedded demo end to end (procedural
# images → demo CNN, trained once and cached → 20,000 samples → UMAP → 10×10 and 20×20
# grids → icons → atlas PNG, cells JSON, viewer).
# Usage: scripts/demo.sh [output-dir] [extra actatlas demo options...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"
out=${1:-"$root/actatlas-demo"}
shift || true

"$root/scripts/setup.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" --target actatlas_cli -j "$(nproc)"
"$build/bin/actatlas" demo --out "$out" "$@"
echo "Open the viewer: $out/atlas/index.html (in a browser, e.g. chromium $out/atlas/index.html)"

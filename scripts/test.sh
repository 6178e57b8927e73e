#!/usr/bin/env bash
# The test command: installs what is missing, builds everything, runs every test.
# Usage: scripts/test.sh [build-dir]   (default: build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}

# browser: the viewer's test; python: Debian's PyTorch + torchvision for the exporter's test.
"$root/scripts/setup.sh" browser python

jobs=$(nproc)
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DACTATLAS_BUILD_TESTS=ON
cmake --build "$build" -j "$jobs"
cd "$build"
ctest --output-on-failure -j "$jobs" --timeout 3600

#!/usr/bin/env bash
# Copies the header-only dependencies (and OpenBLAS, which xtensor-blas needs) from this
# Debian machine into .devcarry/prefix, a CMake prefix that travels to a GPU machine whose
# image has CUDA, PyTorch, CMake and ninja but none of Debian's -dev packages.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
p="$root/.devcarry/prefix"
rm -rf "$root/.devcarry"
mkdir -p "$p/include/boost" "$p/lib/x86_64-linux-gnu/cmake" "$p/share/cmake" "$p/lib/blas"
for d in xtensor xtl xtensor-blas xflens hnswlib stb catch2 nlohmann; do cp -r "/usr/include/$d" "$p/include/"; done
cp -r /usr/include/boost/hana /usr/include/boost/hana.hpp /usr/include/boost/config /usr/include/boost/config.hpp \
      /usr/include/boost/core /usr/include/boost/version.hpp "$p/include/boost/"
cp /usr/include/xtensor.hpp "$p/include/" 2>/dev/null || true
for d in xtensor xtensor-blas Boost-1.74.0 boost_headers-1.74.0; do
  cp -r "/usr/lib/x86_64-linux-gnu/cmake/$d" "$p/lib/x86_64-linux-gnu/cmake/"
done
cp /usr/lib/x86_64-linux-gnu/cmake/BoostDetectToolset-1.74.0.cmake "$p/lib/x86_64-linux-gnu/cmake/"
for d in nlohmann_json xtl; do cp -r "/usr/share/cmake/$d" "$p/share/cmake/"; done
mkdir -p "$p/lib/cmake" && cp -r /usr/lib/cmake/Catch2 "$p/lib/cmake/"
# OpenBLAS with LAPACK, and the Fortran runtime it links.
cp -L /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0 "$p/lib/blas/libopenblas.so.0"
ln -s libopenblas.so.0 "$p/lib/blas/libopenblas.so"
cp -L /usr/lib/x86_64-linux-gnu/libgfortran.so.5 /usr/lib/x86_64-linux-gnu/libquadmath.so.0 "$p/lib/blas/"
grep -q '^/.devcarry/' "$root/.git/info/exclude" 2>/dev/null || echo '/.devcarry/' >> "$root/.git/info/exclude"
du -sh "$root/.devcarry"

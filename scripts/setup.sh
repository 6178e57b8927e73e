#!/usr/bin/env bash
# Installs what actatlas needs to build and test on Debian 12, as root.
# Idempotent: packages already present are skipped by apt; nothing is downloaded
# from outside Debian's archive except playwright-core from the npm registry
# (pinned by package-lock.json), and no browser is downloaded (Debian's chromium).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libtorch-dev
  libgloo-dev   # the headers of LibTorch's ProcessGroupGloo (jobs of several processes)
  libxtensor-dev libxtensor-blas-dev libopenblas-dev liblapack-dev
  libboost-dev libstb-dev catch2 nlohmann-json3-dev libhnswlib-dev
  libcli11-dev  # the actatlas program's parser (header-only)
)
# Optional groups, asked for by the caller: "browser" for the viewer test.
for group in "$@"; do
  case "$group" in
    browser) packages+=(chromium)
             # Node may come from elsewhere (e.g. NodeSource); take Debian's only when absent.
             command -v npm >/dev/null 2>&1 || packages+=(nodejs npm) ;;
    peers) packages+=(umap-learn python3-sklearn r-cran-uwot r-cran-rtsne python3-numpy time) ;;
    python) packages+=(python3-torch python3-torchvision python3-numpy) ;;
    fuzz) packages+=(clang-14 libclang-rt-14-dev) ;;  # bench/fuzz/run.sh: libFuzzer, ASan, UBSan
    *) echo "setup.sh: unknown group '$group' (known: browser, peers, python, fuzz)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup.sh: all packages present" >&2
fi

# playwright-core for the viewer's browser test, pinned by tests/browser/package-lock.json.
# No browser is downloaded: the test drives Debian's chromium.
for group in "$@"; do
  if [[ "$group" == browser ]]; then
    browser_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
    if [[ ! -d "$browser_dir/node_modules/playwright-core" ]]; then
      echo "setup.sh: npm ci in tests/browser" >&2
      (cd "$browser_dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --prefer-offline)
    fi
  fi
done

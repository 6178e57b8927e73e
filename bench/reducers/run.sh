#!/usr/bin/env bash
# The reducer benchmark: actatlas's UMAP and t-SNE against umap-learn, uwot, Rtsne and
# scikit-learn's t-SNE, on the same data, with the same number of threads, scored by
# one evaluator (evaluate.py). Prints one table (and writes it to WORK/results.md).
#
#   bench/reducers/run.sh                       # everything: digits, 10k, 50k, 100k, real sets
#   bench/reducers/run.sh --sizes 10000 --methods "actatlas-umap umap-learn uwot"
#   bench/reducers/run.sh --sizes "" --digits 0  # the real-activation sets alone
#
# Real-activation sets (make_real.py): activations of the realdata MobileNetV2 on the
# realdata photos (../shared/realdata beside the repository; skipped when it or
# torchvision is absent). UMAP methods run on real17all, real14all (every position of
# features.17 / .14, 49,000 rows) and real13one (one position per photo, 1,000 rows);
# t-SNE methods on real17t20k (20,000 rows of real17all) and real13one.
#
# Options:
#   --sizes "N ..."     Gaussian-mixture sizes (default "10000 50000 100000"; "" for none)
#   --digits 0|1        include sklearn's digits (default 1)
#   --real 0|1          include the real-activation sets (default 1)
#   --methods "..."     any of actatlas-umap actatlas-tsne umap-learn uwot rtsne sklearn-tsne,
#                       and the variants actatlas-umap-pca (PCA to 50 first) and
#                       actatlas-tsne-nopca (without t-SNE's default PCA to 50)
#   --threads N         threads for every implementation (default 2)
#   --timeout S         per-run limit in seconds (default 900); a run over it shows "> S"
#   --work DIR          data, layouts and logs (default /tmp/actatlas-reducers)
#   --bin PATH          run actatlas-* through this actatlas program instead of
#                       bench_reducer_layout (built in build-bench/; the same reducers
#                       and defaults, without the model code)
#   --queries N         query rows of the evaluator for large N (default 5000)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
sizes="10000 50000 100000"
digits=1
real=1
methods="actatlas-umap actatlas-tsne umap-learn uwot rtsne sklearn-tsne"
threads=2
timeout_s=900
work=/tmp/actatlas-reducers
bin=""
queries=5000
# Debian's interpreter: the peers are Debian packages, and a pyenv or venv python3 on PATH
# would not see them.
py=/usr/bin/python3
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    --digits) digits="$2"; shift 2 ;;
    --real) real="$2"; shift 2 ;;
    --methods) methods="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --timeout) timeout_s="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    --queries) queries="$2"; shift 2 ;;
    -h|--help) sed -n '2,34p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

# 1. Peers from Debian, when missing.
need=()
for pkg in umap-learn python3-sklearn r-cran-uwot r-cran-rtsne python3-numpy time; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}" >&2
  if [ "$(id -u)" = 0 ]; then apt-get install -y -q "${need[@]}" >&2; else sudo apt-get install -y -q "${need[@]}" >&2; fi
fi

# 2. Our program: bench_reducer_layout (or the actatlas program given by --bin).
layout_bin="${LAYOUT_BIN:-$root/build-bench/bin/bench_reducer_layout}"
if [ -z "$bin" ] && [ ! -x "$layout_bin" ]; then
  cmake -S "$root" -B "$root/build-bench" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
  ninja -C "$root/build-bench" -j"$threads" bench_reducer_layout >&2
fi

# 3. Data.
mkdir -p "$work"
# The real sets run first: they are the slow and the telling ones (issue 19).
sets=()
synthetic=()
[ "$digits" = 1 ] && synthetic+=(digits)
for n in $sizes; do synthetic+=("gauss$n"); done
for s in "${synthetic[@]}"; do "$py" "$here/make_data.py" "$work" "$s"; done
if [ "$real" = 1 ]; then
  for s in real17all real17t20k real13one real14all; do
    rc=0
    OMP_NUM_THREADS="$threads" "$py" "$here/make_real.py" "$work" "$s" || rc=$?
    if [ "$rc" = 0 ]; then sets+=("$s")
    elif [ "$rc" = 3 ]; then echo "run.sh: real-activation sets skipped" >&2; break
    else exit "$rc"; fi
  done
fi
sets+=("${synthetic[@]}")

# 4. Runs.
results="$work/results-$(date +%Y%m%d-%H%M%S).tsv"  # one file per run: runs may share a work folder
: > "$results"
echo "load before: $(uptime)" >&2
run_one() {  # set method
  local set="$1" method="$2" data="$work/$1" out="$work/$1/$2"
  mkdir -p "$out"
  rm -f "$out/Y.npy" "$out/Y.f32"
  local cmd=()
  case "$set:$method" in  # the real sets: UMAP on the 49,000-row sets, t-SNE on 20,000 rows
    real*all:*tsne*|real17t20k:*umap*|real17t20k:uwot) return ;;
  esac
  local ours=("$layout_bin" "$data/X.npy" "$out/Y.npy" --threads "$threads" --method)
  case "$method" in
    actatlas-umap) if [ -n "$bin" ]; then cmd=("$bin" layout --in "$data/X.npy" --method umap --threads "$threads" --out "$out/Y.npy"); else cmd=("${ours[@]}" umap); fi ;;
    actatlas-tsne) if [ -n "$bin" ]; then cmd=("$bin" layout --in "$data/X.npy" --method tsne --threads "$threads" --out "$out/Y.npy"); else cmd=("${ours[@]}" tsne); fi ;;
    actatlas-umap-pca) cmd=("${ours[@]}" umap --pca 50) ;;
    actatlas-tsne-nopca) cmd=("${ours[@]}" tsne --pca 0) ;;
    umap-learn|sklearn-tsne) cmd=(env NUMBA_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads" "$py" "$here/run_peer.py" "$method" "$data" "$out/Y.npy" "$threads") ;;
    uwot|rtsne) cmd=(env OMP_NUM_THREADS="$threads" Rscript "$here/run_peer.R" "$method" "$data" "$out/Y.f32" "$threads") ;;
    *) echo "run.sh: unknown method $method" >&2; return ;;
  esac
  echo "== $set $method" >&2
  local rc=0
  timeout "$timeout_s" /usr/bin/time -v -o "$out/time.txt" "${cmd[@]}" > "$out/log.txt" 2>&1 || rc=$?
  if [ -f "$out/Y.f32" ]; then
    "$py" -c "import numpy as np,sys; n=int(open('$data/shape.txt').read().split()[0]); np.save('$out/Y.npy', np.fromfile('$out/Y.f32', dtype=np.float32).reshape(n, -1))"
  fi
  local wall rss score
  if [ "$rc" = 124 ]; then
    wall="> $timeout_s"; rss="-"; score="- - - -"
  elif [ "$rc" != 0 ] || [ ! -f "$out/Y.npy" ]; then
    wall="failed ($rc)"; rss="-"; score="- - - -"
    tail -3 "$out/log.txt" >&2
  else
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; printf "%.1f", s}' "$out/time.txt")
    rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$out/time.txt")
    score=$("$py" "$here/evaluate.py" "$data" "$out/Y.npy" --queries "$queries")
  fi
  printf "%s\t%s\t%s\t%s\t%s\n" "$set" "$method" "$wall" "$rss" "$score" >> "$results"
  printf "%s\t%s\t%s\t%s\t%s\n" "$set" "$method" "$wall" "$rss" "$score" >&2
}
for s in "${sets[@]}"; do
  for m in $methods; do run_one "$s" "$m"; done
done
echo "load after: $(uptime)" >&2

# 5. The table.
{
  echo "| data | method | wall s | peak RSS MiB | trust@10 | 10-NN preservation | 10-NN label acc. | trust@10, 5k subsample |"
  echo "|---|---|---|---|---|---|---|---|"
  while IFS=$'\t' read -r set method wall rss score; do
    read -r t p l u <<< "$score"
    echo "| $set | $method | $wall | $rss | $t | $p | $l | $u |"
  done < "$results"
  echo
  echo "$threads threads; $(nproc) cores; load at the end: $(uptime | sed 's/.*load average: //')"
} | tee "$work/results.md"

#!/usr/bin/env bash
# Icons of one grid of the demo by one process and by a job of two ranks, each of one
# thread (OMP_NUM_THREADS=1), on localhost with Gloo: wall time of each, the speed-up, and
# whether the two atlas folders are byte-identical (docs/distributed.md has the figures).
# The CPU time of each process is printed too (GNU time, when installed): on a machine
# shared with other work, wall times say little, CPU times still show the split.
#
# usage: bench/distributed/run.sh ACTATLAS MODEL IMAGES WORK [render flags...]
#   e.g. bench/distributed/run.sh build/bin/actatlas ~/.cache/actatlas/demo_cnn_seed1.pt \
#          actatlas-demo/images /tmp/bench-distributed
# Default render flags: the demo's 10×10 grid, 48 px icons of 256 steps, 8 icons per batch
# (so that the batches split evenly over two ranks).
set -euo pipefail
actatlas=$1 model=$2 images=$3 work=$4
shift 4
render=("$@")
((${#render[@]})) || render=(--grid 10 --levels 1 --min-count 2 --steps 256 --attempts 1 --icon-size 48 --icon-batch 8)

rm -rf "$work"
mkdir -p "$work"
export OMP_NUM_THREADS=1
common=(--model "$model" --quiet)

# The collection and layout, once, shared by both renders.
"$actatlas" collect "${common[@]}" --images "$images" --layer conv2 --samples 2400 --out "$work/run" 2>/dev/null
"$actatlas" layout --quiet --in "$work/run/activations.npy" --out "$work/run/layout.npy" 2>/dev/null

seconds() { date +%s.%N; }
timed=()
[[ -x /usr/bin/time ]] && timed=(/usr/bin/time -f "%U s user + %S s system CPU" -a -o)
cpu_of() { ((${#timed[@]})) && echo "$1: $(tail -n 1 "$2")" || true; }

t0=$(seconds)
${timed[@]:+"${timed[@]}" "$work/one.cpu"} "$actatlas" render "${common[@]}" --run "$work/run" --out "$work/one" "${render[@]}" >/dev/null 2>"$work/one.log"
t1=$(seconds)

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
pids=()
for rank in 0 1; do
  RANK=$rank WORLD_SIZE=2 LOCAL_RANK=$rank LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
    ${timed[@]:+"${timed[@]}" "$work/two.$rank.cpu"} "$actatlas" render "${common[@]}" --run "$work/run" --out "$work/two" "${render[@]}" >/dev/null 2>"$work/two.$rank.log" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
t2=$(seconds)

icons=$(find "$work/one/icons" -name '*.png' | wc -l)
if diff -r "$work/one" "$work/two" >/dev/null; then same="byte-identical"; else same="DIFFERENT"; fi
python3 - "$t0" "$t1" "$t2" "$icons" "$same" <<'PY'
import sys
t0, t1, t2 = map(float, sys.argv[1:4])
one, two = t1 - t0, t2 - t1
print(f"icons: {sys.argv[4]}; one process: {one:.1f} s; two ranks: {two:.1f} s; speed-up {one / two:.2f}x; folders {sys.argv[5]}")
PY
cpu_of "one process" "$work/one.cpu"
cpu_of "rank 0" "$work/two.0.cpu"
cpu_of "rank 1" "$work/two.1.cpu"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

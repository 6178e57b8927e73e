#!/usr/bin/env python3
"""A job of several processes makes the bytes one process makes (docs/distributed.md).

On localhost, with Gloo, the demo model and the demo images:
  1. one process: the reference atlas (collection with a sample target, layout, two levels);
  2. two ranks (torch.distributed's variables set by hand): every file equal to the reference;
  3. two ranks under torchrun (--no_python), when a Python with torch is found: equal again;
  4. two ranks, rank 1 killed (SIGKILL) during the collection: rank 0 stops within a bounded
     time, non-zero, with one line naming rank 1; then three ranks resume the folder and
     every file equals the reference;
  5. rank 1 given a broken model file: both ranks stop with exit 2 and that file's error.

usage: distributed_job.py ACTATLAS MODEL IMAGES WORK
"""
import filecmp
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

actatlas, model, images, work = sys.argv[1:5]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)

FLAGS = ["--model", model, "--images", images, "--layer", "conv2", "--samples", "500", "--batch", "8",
         "--shard-batches", "2", "--neighbors", "8", "--epochs", "40", "--grid", "4", "--levels", "2",
         "--min-count", "2", "--steps", "12", "--attempts", "1", "--icon-size", "16", "--cell-px", "16",
         "--icon-batch", "3", "--quiet"]
PEER_TIMEOUT = 3  # seconds of silence after which a rank is lost (ACTATLAS_PEER_TIMEOUT)


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(rank=None, world=None, port=None):
    env = dict(os.environ)
    # One thread per process, as in the benchmark: the bytes must not depend on the ranks.
    env["OMP_NUM_THREADS"] = "1"
    env["ACTATLAS_PEER_TIMEOUT"] = str(PEER_TIMEOUT)
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(k, None)
    if world is not None:
        env.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE=str(world),
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    return env


def start_job(world, out, flags_of=lambda rank: FLAGS):
    port = free_port()
    procs = []
    for r in range(world):
        args = [actatlas, "atlas"] + flags_of(r) + ["--out", out]
        procs.append(subprocess.Popen(args, env=environment(r, world, port), stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    return procs


def finish(procs, limit=600):
    results = []
    for p in procs:
        out, err = p.communicate(timeout=limit)
        results.append((p.returncode, err))
    return results


def files_under(root):
    found = []
    for d, _, names in os.walk(root):
        for n in names:
            found.append(os.path.relpath(os.path.join(d, n), root))
    return sorted(found)


def same_files(a, b, what):
    fa, fb = files_under(a), files_under(b)
    if fa != fb:
        fail("%s: the files differ: only in one process's run %s, only in the job's %s"
             % (what, sorted(set(fa) - set(fb))[:5], sorted(set(fb) - set(fa))[:5]))
    differ = [f for f in fa if not filecmp.cmp(os.path.join(a, f), os.path.join(b, f), shallow=False)]
    if differ:
        fail("%s: %d of %d files differ in their bytes, e.g. %s" % (what, len(differ), len(fa), differ[:5]))
    print("%s: all %d files equal the one-process run" % (what, len(fa)))


# 1. The reference.
one = os.path.join(work, "one")
r = subprocess.run([actatlas, "atlas"] + FLAGS + ["--out", one], env=environment(), capture_output=True, text=True)
if r.returncode != 0:
    fail("one process: exit %d\n%s" % (r.returncode, r.stderr))
icons = [f for f in files_under(one) if f.startswith("atlas/icons/") and f.endswith(".png")]
if len(icons) < 6:
    fail("the reference atlas has %d icons: too few to split across ranks" % len(icons))

# 2. Two ranks, variables by hand.
two = os.path.join(work, "two")
results = finish(start_job(2, two))
for rank, (code, err) in enumerate(results):
    if code != 0:
        fail("two ranks: rank %d exit %d\n%s" % (rank, code, err))
if results[1][1].strip():
    fail("two ranks: rank 1 printed something; only rank 0 reports:\n" + results[1][1])
same_files(one, two, "two ranks")

# 3. Two ranks under torchrun, with its agent's store.
python = None
for candidate in (sys.executable, "/usr/bin/python3"):
    if candidate and subprocess.run([candidate, "-c", "import torch.distributed.run"], capture_output=True).returncode == 0:
        python = candidate
        break
if python:
    run = os.path.join(work, "torchrun")
    # --redirects/--tee as a per-rank mapping: Debian 12's torchrun (PyTorch 1.13 on Python
    # 3.11) fails on its own default "0" (IntFlag no longer lists NONE); a mapping works
    # everywhere. Stderr is teed to the console and to torchrun's log folder.
    args = [python, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
            "--redirects", "0:2,1:2", "--tee", "0:2,1:2", "--log_dir", os.path.join(work, "torchrun-logs"),
            "--no_python", actatlas, "atlas"] + FLAGS + ["--out", run]
    r = subprocess.run(args, env=environment(), capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        fail("torchrun: exit %d\n%s" % (r.returncode, r.stderr[-3000:]))
    same_files(one, run, "torchrun, two ranks")
else:
    print("torchrun: skipped (no Python with torch.distributed)")

# 4. A rank killed during the collection; then three ranks resume the folder.
killed = os.path.join(work, "killed")
procs = start_job(2, killed)
shards = os.path.join(killed, "run", "shards")
deadline = time.time() + 300
while time.time() < deadline:
    if os.path.isdir(shards) and sum(n.endswith(".json") for n in os.listdir(shards)) >= 2:
        break
    if procs[1].poll() is not None:
        fail("rank 1 ended before it could be killed: exit %s\n%s" % (procs[1].returncode, procs[1].communicate()[1]))
    time.sleep(0.01)
else:
    fail("no shard was committed in 300 s")
procs[1].send_signal(signal.SIGKILL)
killed_at = time.time()
try:
    _, err0 = procs[0].communicate(timeout=10 * PEER_TIMEOUT + 30)
except subprocess.TimeoutExpired:
    procs[0].kill()
    fail("rank 0 did not stop within %d s of rank 1's death" % (10 * PEER_TIMEOUT + 30))
procs[1].communicate()
stopped_after = time.time() - killed_at
lines = [l for l in err0.splitlines() if l.startswith("actatlas")]
if procs[0].returncode == 0 or not any("rank 1" in l and "lost" in l for l in lines):
    fail("rank 0 after rank 1's death: exit %d, lines %s" % (procs[0].returncode, lines))
print("killed rank: rank 0 stopped %.1f s later, exit %d: %s" % (stopped_after, procs[0].returncode, lines[-1]))
results = finish(start_job(3, killed))
for rank, (code, err) in enumerate(results):
    if code != 0:
        fail("three ranks resuming: rank %d exit %d\n%s" % (rank, code, err))
same_files(one, killed, "killed with two ranks, resumed with three")

# 5. Bad input on one rank stops all of them with its error.
broken = os.path.join(work, "broken.pt")
with open(broken, "wb") as f:
    f.write(b"this is not a model")
bad = os.path.join(work, "bad")
results = finish(start_job(2, bad, lambda r: [broken if (r == 1 and a == model) else a for a in FLAGS]), limit=120)
for rank, (code, err) in enumerate(results):
    if code != 2 or "broken.pt" not in err:
        fail("bad input on rank 1: rank %d exit %d (want 2, naming broken.pt)\n%s" % (rank, code, err))
print("bad input on rank 1: both ranks exit 2 naming it; rank 0 said: " + results[0][1].strip().splitlines()[-1])
print("PASS")

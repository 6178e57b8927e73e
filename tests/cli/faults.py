#!/usr/bin/env python3
"""The program's answers to faults (docs/reliability.md), end to end on the demo model.

Usage: faults.py ACTATLAS MODEL SCRATCH   (the images: `actatlas make-images`, 12 per class)

1. A run folder locked by another process (an flock held here, as a second actatlas would
   hold it): `collect` ends with exit 2 and one line naming the folder; nothing is written.
2. An output folder that cannot be created (under a regular file): exit 2, one line.
3. SIGINT, then SIGTERM, during a collection, sent once its first shard is committed (a
   condition, not a clock): exit 130 / 143, the last line says "interrupted", no temporary
   is left, and the same command resumes ("resumed after N samples") and finishes with the
   samples of an uninterrupted collection.
"""
import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

actatlas, model, scratch = sys.argv[1:4]
scratch = Path(scratch) / f"faults-{os.getpid()}"
images = str(scratch / "images")
subprocess.run([actatlas, "make-images", "--out", images, "--per-class", "12", "--quiet"], check=True, timeout=1800)
problems = []


def collect(out, *extra):
    return [actatlas, "collect", "--model", model, "--images", images, "--layer", "conv2", "--out", str(out),
            "--batch", "4", "--shard-batches", "1", "--quiet", *extra]


def last_line(text):
    lines = [l for l in text.strip().splitlines() if l.strip()]
    return lines[-1] if lines else ""


def expect(cond, what):
    if not cond:
        problems.append(what)


# 1. Locked run folder.
locked = scratch / "locked"
locked.mkdir(parents=True)
with open(locked / ".actatlas.lock", "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    r = subprocess.run(collect(locked), capture_output=True, text=True, timeout=1800)
    line = last_line(r.stderr)
    expect(r.returncode == 2, f"locked: exit {r.returncode}, expected 2 ({r.stderr})")
    expect(line.startswith("actatlas collect: ") and "in use by another actatlas process" in line and str(locked) in line,
           f"locked: last line {line!r}")
    expect(sorted(p.name for p in locked.iterdir()) == [".actatlas.lock"], f"locked: wrote {list(locked.iterdir())}")

# 2. Output folder under a regular file.
(scratch / "a-file").write_text("x")
r = subprocess.run(collect(scratch / "a-file" / "run"), capture_output=True, text=True, timeout=1800)
line = last_line(r.stderr)
expect(r.returncode == 2, f"unwritable: exit {r.returncode}, expected 2 ({r.stderr})")
expect(line.startswith("actatlas collect: ") and "cannot create the folder" in line, f"unwritable: last line {line!r}")

# 3. Signals during a collection, then the resume.
reference = scratch / "reference"
r = subprocess.run(collect(reference), capture_output=True, text=True, timeout=3600)
expect(r.returncode == 0, f"reference collection failed: {r.stderr}")
for sig, status in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
    run = scratch / f"run-{sig.name}"
    p = subprocess.Popen(collect(run), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = run / "shards" / "000000.json"
    while not first.exists() and p.poll() is None:
        time.sleep(0.05)
    if p.poll() is not None:
        problems.append(f"{sig.name}: the collection ended before its first shard was seen ({p.returncode})")
        continue
    p.send_signal(sig)
    out, err = p.communicate(timeout=600)
    line = last_line(err)
    expect(p.returncode == status, f"{sig.name}: exit {p.returncode}, expected {status} ({err})")
    expect(line.startswith("actatlas collect: interrupted by " + sig.name), f"{sig.name}: last line {line!r}")
    leftovers = [str(q) for q in run.rglob("*") if ".tmp-" in q.name]
    expect(not leftovers, f"{sig.name}: temporaries left: {leftovers}")
    r = subprocess.run(collect(run)[:-1], capture_output=True, text=True, timeout=3600)  # without --quiet
    expect(r.returncode == 0, f"{sig.name}: the resume failed: {r.stderr}")
    expect("resumed after" in r.stderr, f"{sig.name}: the rerun did not resume: {r.stderr}")
    expect((run / "activations.npy").read_bytes() == (reference / "activations.npy").read_bytes(),
           f"{sig.name}: the resumed activations differ from an uninterrupted collection's")
    expect((run / "provenance.csv").read_bytes() == (reference / "provenance.csv").read_bytes(),
           f"{sig.name}: the resumed provenance differs from an uninterrupted collection's")

if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
print("faults: locked folder, unwritable folder, SIGINT and SIGTERM with resume: ok")

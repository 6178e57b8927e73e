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
4. SIGINT inherited as ignored (as `nohup` and background jobs start programs): the reference
   collection runs so, gets a SIGINT after its first shard and must finish normally.
5. A collection.json of the right format whose entries have the wrong JSON types ("complete":
   "yes", a result that is a number): collected anew (not resumed, no internal error), to the
   reference's bytes, exit 0.
6. SIGINT during the icons of `render` (one icon per batch), once the first icon is cached:
   exit 130, the last line says "interrupted", no temporary; the same command resumes, reuses
   the icons cached before the signal (bytes unchanged) and draws every cell of the reference.
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

# 3. Signals during a collection, then the resume. The reference collection runs with
# SIGINT ignored (4.): a SIGINT sent after its first shard must change nothing.
reference = scratch / "reference"
p = subprocess.Popen(collect(reference), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
while not (reference / "shards" / "000000.json").exists() and p.poll() is None:
    time.sleep(0.05)
ignored_sent = p.poll() is None
if ignored_sent:
    p.send_signal(signal.SIGINT)
out, err = p.communicate(timeout=3600)
expect(p.returncode == 0, f"reference collection (SIGINT ignored, sent: {ignored_sent}) failed: exit {p.returncode} {err}")
expect("interrupted" not in err, f"SIGINT ignored: the collection said {err!r}")
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

# 5. collection.json with entries of the wrong JSON types.
wrong = scratch / "wrong-types"
wrong.mkdir()
(wrong / "collection.json").write_text('{"format": "actatlas-collection/1", "layer": "conv2", "complete": "yes", "result": 3}')
r = subprocess.run(collect(wrong)[:-1], capture_output=True, text=True, timeout=3600)
expect(r.returncode == 0, f"wrong types: exit {r.returncode} ({r.stderr})")
expect("collect: done" in r.stderr and "resumed after" not in r.stderr, f"wrong types: not collected anew: {r.stderr}")
if r.returncode == 0:
    expect((wrong / "activations.npy").read_bytes() == (reference / "activations.npy").read_bytes(),
           "wrong types: the new collection differs from the reference")

# 6. SIGINT during the icons of render.
r = subprocess.run([actatlas, "layout", "--quiet", "--in", str(reference / "activations.npy"), "--out",
                    str(reference / "layout.npy"), "--neighbors", "8", "--epochs", "50"], capture_output=True, text=True,
                   timeout=1800)
expect(r.returncode == 0, f"layout failed: {r.stderr}")


def render(out):
    return [actatlas, "render", "--model", model, "--run", str(reference), "--out", str(out), "--grid", "3",
            "--levels", "1", "--min-count", "1", "--steps", "160", "--attempts", "1", "--icon-size", "16",
            "--cell-px", "16", "--icon-batch", "1", "--quiet"]


r = subprocess.run(render(scratch / "atlas-reference"), capture_output=True, text=True, timeout=3600)
expect(r.returncode == 0, f"reference render failed: {r.stderr}")
reference_icons = sorted(q.name for q in (scratch / "atlas-reference" / "icons").rglob("*.png"))
expect(len(reference_icons) >= 3, f"reference render: {len(reference_icons)} icons, too few for this test")
atlas = scratch / "atlas-SIGINT"
p = subprocess.Popen(render(atlas), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
while not list((atlas / "icons").rglob("*.json")) and p.poll() is None:
    time.sleep(0.02)
if p.poll() is not None:
    problems.append(f"icons: the render ended before its first icon was seen ({p.returncode})")
else:
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=600)
    line = last_line(err)
    expect(p.returncode == 130, f"icons: exit {p.returncode}, expected 130 ({err})")
    expect(line.startswith("actatlas render: interrupted by SIGINT"), f"icons: last line {line!r}")
    leftovers = [str(q) for q in atlas.rglob("*") if ".tmp-" in q.name]
    expect(not leftovers, f"icons: temporaries left: {leftovers}")
    cached = {q: q.read_bytes() for q in (atlas / "icons").rglob("*.png")}
    expect(0 < len(cached) < len(reference_icons), f"icons: {len(cached)} of {len(reference_icons)} cached at the signal")
    expect(not (atlas / "atlas.png").exists(), "icons: atlas.png was drawn by the interrupted render")
    r = subprocess.run(render(atlas), capture_output=True, text=True, timeout=3600)
    expect(r.returncode == 0, f"icons: the resume failed: {r.stderr}")
    expect(all(q.read_bytes() == b for q, b in cached.items()), "icons: the resume rewrote an icon cached before the signal")
    resumed_icons = sorted(q.name for q in (atlas / "icons").rglob("*.png"))
    expect(resumed_icons == reference_icons, f"icons: resumed {resumed_icons}, reference {reference_icons}")
    expect((atlas / "atlas.png").exists(), "icons: the resumed render drew no atlas.png")

if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
print("faults: locked folder, unwritable folder, SIGINT and SIGTERM with resume, SIGINT ignored, wrong-typed "
      "collection.json, SIGINT during icons with resume: ok")

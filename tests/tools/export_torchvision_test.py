#!/usr/bin/env python3
"""tools/export_torchvision.py, end to end: a torchvision MobileNetV2 (random weights,
10 classes, 64-pixel input) exported with two layers given out of graph order, loaded
back with torch.jit.load, and checked against the contract of docs/models.md:
forward's dictionary, and the early-stopping `features` method (same values as forward,
no node after the deepest asked layer).

Needs PyTorch and torchvision (Debian: scripts/setup.sh python); exits 77 (skipped)
without them."""
import os
import subprocess
import sys
import tempfile

try:
    import torch
    import torchvision  # noqa: F401  (the exporter needs it)
except ImportError as e:
    print("SKIPPED: %s (scripts/setup.sh python installs Debian's python3-torchvision)" % e)
    sys.exit(77)

here = os.path.dirname(os.path.abspath(__file__))
exporter = os.path.join(here, "..", "..", "tools", "export_torchvision.py")
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "mobilenet_v2.pt")
    subprocess.run([sys.executable, exporter, "--model", "mobilenet_v2", "--num-classes", "10", "--input-size", "64",
                    "--layers", "features.7", "features.3", "--out", out], check=True)
    m = torch.jit.load(out)
    meta = {"actatlas.json": ""}
    torch.jit.load(out, _extra_files=meta)
    check(b'"features.7"' in meta["actatlas.json"], "actatlas.json lists the layers")
    check(list(m.order) == ["features.3", "features.7"], "layers sorted into graph order: %s" % list(m.order))

    torch.manual_seed(0)
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        full = m(x)
        check(full["logits"].shape == (2, 10), "forward's logits are [2, 10]")
        for layer in ["features.3", "features.7"]:
            early = m.features(x, [layer])
            check(list(early.keys()) == [layer], "features(x, [%s]) returns that layer alone" % layer)
            check(torch.allclose(early[layer], full[layer], rtol=1e-5, atol=1e-6),
                  "features(x, [%s]) equals forward's (max diff %.2e)" % (layer, (early[layer] - full[layer]).abs().max()))
        both = m.features(x, ["features.7", "features.3"])
        check(sorted(both.keys()) == ["features.3", "features.7"], "two layers at once")
        check(m.features(x, []) == {}, "no layers: nothing")
        try:
            m.features(x, ["features.5"])
            check(False, "a layer not exported is refused")
        except Exception as e:  # torch.jit.Error
            check("no exposed layer named features.5" in str(e), "a layer not exported is refused")

    # Stopping early: the graph behind features.3 holds no node of the classifier head and
    # none of block 4 or later; the full graph does.
    shallow = m.cuts.upto_0.code
    check("classifier" in m.extractor.code, "the full graph reaches the classifier")
    check("classifier" not in shallow and "classifier" not in m.cuts.upto_1.code, "no cut reaches the classifier")
    check('"4")' not in shallow and '"7")' not in shallow, "the cut for features.3 ends at block 3")

print("%d failure(s)" % len(failures))
sys.exit(1 if failures else 0)

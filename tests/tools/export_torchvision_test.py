#!/usr/bin/env python3
"""tools/export_torchvision.py, end to end: a torchvision MobileNetV2 (random weights and
batch-norm statistics, 10 classes, 64-pixel input) exported with two layers given out of
graph order, loaded back with torch.jit.load, and checked against torchvision's own
outputs and the contract of docs/models.md: forward's dictionary, batch norms folded into
the convolutions (or kept, on request) without changing the outputs, and the
early-stopping `features` method (same values as forward, no node after the deepest
asked layer).

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


def batch_norms(module):
    return sum(1 for _, sub in module.named_modules() if sub.original_name == "BatchNorm2d")


with tempfile.TemporaryDirectory() as tmp:
    # Weights with batch-norm statistics far from the initial (0, 1), so that folding them
    # into the convolutions is a real change of weights.
    torch.manual_seed(3)
    eager = torchvision.models.mobilenet_v2(num_classes=10)
    for sub in eager.modules():
        if isinstance(sub, torch.nn.BatchNorm2d):
            sub.running_mean.uniform_(-0.5, 0.5)
            sub.running_var.uniform_(0.5, 2.0)
            sub.weight.data.uniform_(0.5, 1.5)
            sub.bias.data.uniform_(-0.2, 0.2)
    eager.eval()
    weights = os.path.join(tmp, "weights.pth")
    torch.save(eager.state_dict(), weights)
    out = os.path.join(tmp, "mobilenet_v2.pt")
    unfolded = os.path.join(tmp, "unfolded.pt")
    common = [sys.executable, exporter, "--model", "mobilenet_v2", "--num-classes", "10", "--input-size", "64",
              "--weights", weights, "--layers", "features.7", "features.3"]
    subprocess.run(common + ["--out", out], check=True)
    subprocess.run(common + ["--no-fold-batchnorm", "--out", unfolded], check=True)
    m = torch.jit.load(out)
    plain = torch.jit.load(unfolded)
    check(batch_norms(m) == 0 and batch_norms(plain) > 0,
          "batch norms folded by default (%d left), kept with --no-fold-batchnorm (%d)" % (batch_norms(m), batch_norms(plain)))
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        x = torch.rand(3, 3, 64, 64)
        reference = eager((x - mean) / std)
        for name, exported in [("folded", m), ("unfolded", plain)]:
            logits = exported(x)["logits"]
            err = ((logits - reference).abs().max() / reference.abs().max()).item()
            check(err < 1e-4, "%s file's logits equal torchvision's (relative error %.1e)" % (name, err))
        f3, p3 = m(x)["features.3"], plain(x)["features.3"]
        err = ((f3 - p3).abs().max() / p3.abs().max()).item()
        check(err < 1e-4, "folded and unfolded features.3 agree (relative error %.1e)" % err)
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

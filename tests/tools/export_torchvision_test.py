#!/usr/bin/env python3
"""tools/export_torchvision.py, end to end: a torchvision MobileNetV2 (random weights and
batch-norm statistics, 10 classes, 64-pixel input) exported with two layers given out of
graph order, loaded back with torch.jit.load, and checked against torchvision's own
outputs and the contract of docs/models.md: forward's dictionary, batch norms folded into
the convolutions (or kept, on request) without changing the outputs, and the
early-stopping `features` method (same values as forward, no node after the deepest
asked layer). Then a small torchvision ViT and Swin: token and channels-last metadata,
outputs equal to torchvision's, a fixed input size.

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

# Transformers: a small torchvision ViT and Swin (the real ones are 88-300 M parameters),
# exported through the same function as the command line, block by block.
sys.path.insert(0, os.path.join(here, "..", "..", "tools"))
import export_torchvision  # noqa: E402

with tempfile.TemporaryDirectory() as tmp:
    torch.manual_seed(5)
    vit = torchvision.models.VisionTransformer(image_size=32, patch_size=8, num_layers=3, num_heads=2, hidden_dim=16,
                                               mlp_dim=32, num_classes=5)
    torch.nn.init.normal_(vit.heads.head.weight)  # torchvision starts it at zero: all logits would be 0
    vit.eval()
    out = os.path.join(tmp, "vit.pt")
    layers = ["encoder.layers.encoder_layer_2", "encoder.layers.encoder_layer_0"]
    meta = export_torchvision.export_model(vit, "vit_tiny", layers, out)
    m = torch.jit.load(out)
    entry = {l["name"]: l for l in meta["layers"]}["encoder.layers.encoder_layer_0"]
    check(entry == {"name": "encoder.layers.encoder_layer_0", "channels": 16, "layout": "tokens", "leading_tokens": 1,
                    "patch_grid": [4, 4], "map_size": [4, 4]}, "ViT token metadata: %s" % entry)
    check(meta["fixed_input_size"] is True and meta["input_size"] == [32, 32], "ViT: fixed input size 32x32")
    seen = {}
    hooks = [vit.encoder.layers.get_submodule(n.split(".")[-1]).register_forward_hook(
        lambda mod, i, o, n=n: seen.__setitem__(n, o)) for n in layers]
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        reference = vit((x - mean) / std)
        full = m(x)
        err = ((full["logits"] - reference).abs().max() / reference.abs().max()).item()
        check(err < 1e-5, "ViT logits equal torchvision's (relative error %.1e)" % err)
        for n in layers:
            check(full[n].shape == (2, 17, 16) and torch.allclose(full[n], seen[n], rtol=1e-5, atol=1e-6),
                  "ViT %s: tokens [2,17,16] equal the encoder block's output" % n)
            early = m.features(x, [n])
            check(list(early.keys()) == [n] and torch.allclose(early[n], full[n], rtol=1e-5, atol=1e-6),
                  "ViT features(x, [%s]) equals forward's" % n)
        check(list(m.order) == ["encoder.layers.encoder_layer_0", "encoder.layers.encoder_layer_2"],
              "ViT layers in block order: %s" % list(m.order))
        try:
            m.features(x, ["encoder.layers.encoder_layer_1"])
            check(False, "a ViT block not exported is refused")
        except Exception as e:  # torch.jit.Error
            check("no exposed layer named encoder.layers.encoder_layer_1" in str(e), "a ViT block not exported is refused")
    try:
        export_torchvision.export_model(vit, "vit_tiny", layers, out, input_size=[48])
        check(False, "a ViT at another input size is refused")
    except export_torchvision.ExportError as e:
        check("takes 32x32 images only" in str(e), "a ViT at another input size is refused: %s" % e)

    swin = torchvision.models.SwinTransformer(patch_size=[4, 4], embed_dim=8, depths=[1, 1], num_heads=[1, 2],
                                              window_size=[4, 4], num_classes=5).eval()
    out = os.path.join(tmp, "swin.pt")
    meta = export_torchvision.export_model(swin, "swin_tiny", ["features.1", "norm"], out, input_size=[32])
    s = torch.jit.load(out)
    entry = meta["layers"][0]
    check(entry == {"name": "features.1", "channels": 8, "layout": "channels_last", "patch_grid": [8, 8],
                    "map_size": [8, 8]}, "Swin channels-last metadata: %s" % entry)
    check("fixed_input_size" not in meta, "Swin: input size not fixed")
    with torch.no_grad():
        reference = swin((x - mean) / std)
        full = s(x)
        err = ((full["logits"] - reference).abs().max() / reference.abs().max()).item()
        check(err < 1e-5, "Swin logits equal torchvision's (relative error %.1e)" % err)
        check(full["norm"].shape == (2, 4, 4, 16), "Swin norm is [2,4,4,16] channels last: %s" % list(full["norm"].shape))

print("%d failure(s)" % len(failures))
sys.exit(1 if failures else 0)

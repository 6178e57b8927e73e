#!/usr/bin/python3
"""Writes the real-activation benchmark sets: activations of the realdata MobileNetV2
(../shared/realdata, torchvision's mobilenet_v2 with Coral's weights) on the 1000
realdata photos (one per ImageNet class), in the same layout as make_data.py (X.npy,
X.f32, labels.npy, shape.txt).

Sets (the name says layer and sampling):
  real17all   features.17 (320 ch, 7×7), every position of every photo: 49,000 × 320;
              label = the photo (its 49 positions form one label)
  real17t20k  20,000 rows of real17all drawn at random (seed 0): the t-SNE set
  real14all   features.14 (160 ch, 7×7), every position: 49,000 × 160; label = the photo
  real13one   features.13 (96 ch, 14×14), one random interior position per photo:
              1,000 × 96; label = the ImageNet class index // 100 (a coarse group: the
              class index is roughly ordered by WordNet, 0–397 animals; one photo per
              class leaves no finer label with neighbours)

Exits with status 3 (and a line on stderr) when the realdata folder or torchvision is
absent, so that run.sh can skip the real sets cleanly.

usage: make_real.py WORK_DIR SET [--realdata DIR]
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_REALDATA = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "realdata"))
SETS = {"real17all", "real17t20k", "real14all", "real13one"}


def skip(why):
    print(f"make_real.py: skipped: {why}", file=sys.stderr)
    raise SystemExit(3)


def write(folder, x, labels):
    os.makedirs(folder, exist_ok=True)
    x = np.ascontiguousarray(x, dtype=np.float32)
    np.save(os.path.join(folder, "X.npy"), x)
    x.tofile(os.path.join(folder, "X.f32"))
    np.save(os.path.join(folder, "labels.npy"), np.asarray(labels, dtype=np.int64))
    with open(os.path.join(folder, "shape.txt"), "w") as f:
        f.write(f"{x.shape[0]} {x.shape[1]}\n")


def activations(realdata, cache):
    """features.13, .14 and .17 of every photo, cached as one .npz in the work folder."""
    if os.path.exists(cache):
        z = np.load(cache)
        return {k: z[k] for k in z.files}
    try:
        import torch
        import torchvision
        from PIL import Image
    except ImportError as e:
        skip(f"no torch/torchvision ({e}); scripts/setup.sh python installs them")
    torch.manual_seed(0)
    torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", "2"))))
    model = torchvision.models.mobilenet_v2(num_classes=1000)
    model.load_state_dict(torch.load(os.path.join(realdata, "mobilenet_v2_imagenet_torchvision.pth"), map_location="cpu"))
    model.eval()
    layers = {13: "f13", 14: "f14", 17: "f17"}
    out = {v: [] for v in layers.values()}
    files = sorted(os.listdir(os.path.join(realdata, "images")))
    if len(files) == 0:
        skip("realdata/images is empty")
    tf = torchvision.transforms.Compose([
        torchvision.transforms.Resize(256),
        torchvision.transforms.CenterCrop(224),
        torchvision.transforms.ToTensor(),
        torchvision.transforms.Normalize([0.5] * 3, [0.5] * 3),  # the Coral network's [-1, 1] input
    ])
    with torch.no_grad():
        for start in range(0, len(files), 50):
            batch = torch.stack([tf(Image.open(os.path.join(realdata, "images", f)).convert("RGB"))
                                 for f in files[start:start + 50]])
            h = batch
            for i, block in enumerate(model.features):
                h = block(h)
                if i in layers:
                    out[layers[i]].append(h.permute(0, 2, 3, 1).contiguous().numpy())  # B, h, w, C
                if i == max(layers):
                    break
    res = {k: np.concatenate(v) for k, v in out.items()}
    np.savez(cache, **res)
    return res


def main():
    args = sys.argv[1:]
    realdata = DEFAULT_REALDATA
    if "--realdata" in args:
        i = args.index("--realdata")
        realdata = args[i + 1]
        del args[i:i + 2]
    work, name = args[0], args[1]
    if name not in SETS:
        raise SystemExit(f"unknown real set {name} (known: {' '.join(sorted(SETS))})")
    folder = os.path.join(work, name)
    if os.path.exists(os.path.join(folder, "shape.txt")):
        return
    if not os.path.isdir(os.path.join(realdata, "images")):
        skip(f"{realdata} is absent")
    a = activations(realdata, os.path.join(work, "realdata-mobilenetv2.npz"))
    if name in ("real17all", "real17t20k", "real14all"):
        act = a["f14" if name == "real14all" else "f17"]
        b, h, w, c = act.shape
        x = act.reshape(b * h * w, c)
        labels = np.repeat(np.arange(b), h * w)
        if name == "real17t20k":
            rows = np.sort(np.random.default_rng(0).choice(len(x), 20000, replace=False))
            x, labels = x[rows], labels[rows]
        write(folder, x, labels)
    else:  # real13one
        act = a["f13"]
        b, h, w, c = act.shape
        rng = np.random.default_rng(0)
        ys = rng.integers(1, h - 1, size=b)  # edges excluded, as the sampler's random_position
        xs = rng.integers(1, w - 1, size=b)
        write(folder, act[np.arange(b), ys, xs], np.arange(b) // 100)


if __name__ == "__main__":
    main()

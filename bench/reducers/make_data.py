#!/usr/bin/python3
"""Writes the benchmark data sets, the same for every implementation.

gauss<N>: N×512 float32, a mixture of 30 anisotropic Gaussian clusters passed through
ReLU (non-negative, sparse-ish, like a CNN layer's activations); digits: sklearn's 8×8
digits (1797×64). Each set is written as X.npy, X.f32 (raw row-major float32, for R),
labels.npy (int64) and shape.txt ("N D").
"""
import os
import sys

import numpy as np


def gaussian_mixture(n, dims=512, clusters=30, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 1.0, size=(clusters, dims))
    labels = rng.integers(0, clusters, size=n)
    x = np.empty((n, dims), dtype=np.float32)
    for c in range(clusters):
        rows = np.flatnonzero(labels == c)
        # anisotropic: a random rank-16 direction set with large, decaying scales plus
        # per-dimension noise of varied scale
        basis = np.linalg.qr(rng.normal(size=(dims, 16)))[0]
        scales = 2.0 * np.exp(-np.arange(16) / 4.0)
        noise = 0.25 + 0.5 * rng.random(dims)
        z = rng.normal(size=(len(rows), 16)) * scales
        x[rows] = centres[c] + z @ basis.T + rng.normal(size=(len(rows), dims)) * noise
    np.maximum(x, 0.0, out=x)
    return x, labels.astype(np.int64)


def write(folder, x, labels):
    os.makedirs(folder, exist_ok=True)
    x = np.ascontiguousarray(x, dtype=np.float32)
    np.save(os.path.join(folder, "X.npy"), x)
    x.tofile(os.path.join(folder, "X.f32"))
    np.save(os.path.join(folder, "labels.npy"), labels)
    with open(os.path.join(folder, "shape.txt"), "w") as f:
        f.write(f"{x.shape[0]} {x.shape[1]}\n")


def main():
    out, name = sys.argv[1], sys.argv[2]
    folder = os.path.join(out, name)
    if os.path.exists(os.path.join(folder, "shape.txt")):
        return
    if name == "digits":
        from sklearn.datasets import load_digits
        d = load_digits()
        write(folder, d.data.astype(np.float32), d.target.astype(np.int64))
    elif name.startswith("gauss"):
        n = int(name[len("gauss"):])
        write(folder, *gaussian_mixture(n))
    else:
        raise SystemExit(f"unknown data set {name}")


if __name__ == "__main__":
    main()

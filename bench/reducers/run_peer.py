#!/usr/bin/python3
"""Runs one Python peer on DATA_DIR/X.npy and saves the N×2 layout as OUT.npy.
usage: run_peer.py umap-learn|sklearn-tsne DATA_DIR OUT.npy THREADS"""
import os
import sys

import numpy as np


def main():
    method, data, out, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    x = np.load(os.path.join(data, "X.npy"))
    if method == "umap-learn":
        import umap  # defaults: 15 neighbours, min_dist 0.1, euclidean; no random_state so it runs in parallel
        y = umap.UMAP(n_jobs=threads).fit_transform(x)
    elif method == "sklearn-tsne":
        from sklearn.manifold import TSNE  # 1.2 defaults: perplexity 30, init pca, learning_rate auto
        y = TSNE(n_components=2, init="pca", learning_rate="auto", n_jobs=threads, random_state=0).fit_transform(x)
    else:
        raise SystemExit(f"unknown method {method}")
    np.save(out, np.asarray(y, dtype=np.float32))


if __name__ == "__main__":
    main()

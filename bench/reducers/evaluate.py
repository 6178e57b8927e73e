#!/usr/bin/python3
"""One evaluator for every implementation: trustworthiness at k, k-NN preservation and
k-NN label accuracy of a layout, exact and euclidean in both spaces. For N above
--queries the measures average over a fixed random subsample of query rows (seed 0, the
same rows for every method); neighbours are always searched among all N rows.

Trustworthiness is sklearn.manifold.trustworthiness's formula with the query count in
place of N in the normaliser: 1 - 2/(q k (2N - 3k - 1)) sum (rank_input - k) over layout
neighbours that are not input neighbours.

A fourth figure, "subsample trustworthiness", is scikit-learn's trustworthiness at k
computed on --queries rows alone (the same rows for every method: both spaces restricted
to them, so neighbours are searched among the subsample). With a 10% subsample its 10
neighbours stand for about the 100 nearest in the whole set: it scores the layout at a
coarser scale than the first figure (whose neighbours are searched among all N rows).
For N ≤ --queries both trustworthiness figures are the same.

usage: evaluate.py DATA_DIR LAYOUT.npy [--k 10] [--queries 5000]
prints: trust preservation label_accuracy subsample_trust
"""
import argparse
import os

import numpy as np


def main():
    p = argparse.ArgumentParser()
    p.add_argument("data")
    p.add_argument("layout")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--queries", type=int, default=5000)
    a = p.parse_args()
    x = np.load(os.path.join(a.data, "X.npy"), mmap_mode="r")
    labels = np.load(os.path.join(a.data, "labels.npy"))
    y = np.load(a.layout).astype(np.float64)
    n, k = x.shape[0], a.k
    if y.shape[0] != n or not np.all(np.isfinite(y)):
        raise SystemExit("layout has the wrong row count or non-finite values")
    rng = np.random.default_rng(0)
    q = np.arange(n) if n <= a.queries else np.sort(rng.choice(n, a.queries, replace=False))
    x = np.asarray(x, dtype=np.float32)
    xsq = np.einsum("ij,ij->i", x, x)
    ysq = np.einsum("ij,ij->i", y, y)
    penalty = 0.0
    kept = 0
    same = 0
    for start in range(0, len(q), 64):
        rows = q[start:start + 64]
        din = xsq[rows, None] + xsq[None, :] - 2.0 * (x[rows] @ x.T)
        dout = ysq[rows, None] + ysq[None, :] - 2.0 * (y[rows] @ y.T)
        r = np.arange(len(rows))
        din[r, rows] = np.inf
        dout[r, rows] = np.inf
        nn_in = np.argpartition(din, k, axis=1)[:, :k]
        nn_out = np.argpartition(dout, k, axis=1)[:, :k]
        for i in range(len(rows)):
            member = np.isin(nn_out[i], nn_in[i])
            kept += int(member.sum())
            outside = nn_out[i][~member]
            if len(outside):
                ranks = (din[i][None, :] < din[i][outside][:, None]).sum(axis=1) + 1
                penalty += float((ranks - k).sum())
        same += int((labels[nn_out] == labels[rows][:, None]).sum())
    trust = 1.0 - 2.0 / (len(q) * k * (2.0 * n - 3.0 * k - 1.0)) * penalty
    from sklearn.manifold import trustworthiness
    sub = trustworthiness(x[q], y[q], n_neighbors=k)
    print(f"{trust:.4f} {kept / (len(q) * k):.4f} {same / (len(q) * k):.4f} {sub:.4f}")


if __name__ == "__main__":
    main()

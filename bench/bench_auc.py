"""Per-user AUC of full rankings: rf.metrics.auc beside scikit-learn's roc_auc_score per user
and a numpy rank formula, on the same rankings, in interleaved rounds.

    python bench/bench_auc.py [--users 3000] [--items 2000] [--repeats 3]
"""

from __future__ import annotations

import argparse

import numpy as np
import recforge as rf
import scipy.sparse as sp
from harness import measure_rounds, table


def numpy_auc(ranked: np.ndarray, test: sp.csr_matrix) -> float:
    """Mann-Whitney from positions: every candidate is listed (a full ranking)."""
    n = ranked.shape[1]
    position = np.empty_like(ranked)
    np.put_along_axis(position, ranked, np.arange(n)[None, :].repeat(len(ranked), 0), 1)
    values = []
    for u in range(len(ranked)):
        pos = test.indices[test.indptr[u] : test.indptr[u + 1]]
        p, q = pos.size, n - pos.size
        if p and q:
            below = (n - 1 - position[u, pos]).sum() - p * (p - 1) / 2  # negatives ranked below
            values.append(below / (p * q))
    return float(np.mean(values))


def sklearn_auc(ranked: np.ndarray, test: sp.csr_matrix) -> float:
    from sklearn.metrics import roc_auc_score

    n = ranked.shape[1]
    score = np.empty(n)
    values = []
    for u in range(len(ranked)):
        score[ranked[u]] = -np.arange(n)
        label = np.zeros(n)
        label[test.indices[test.indptr[u] : test.indptr[u + 1]]] = 1
        if 0 < label.sum() < n:
            values.append(roc_auc_score(label, score))
    return float(np.mean(values))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    ranked = np.argsort(rng.random((args.users, args.items)), axis=1).astype(np.int64)
    test = sp.random(args.users, args.items, density=0.01, format="csr", random_state=1)
    counts = np.full(args.users, args.items)
    timings, results = measure_rounds(
        {
            "recforge metrics.auc": lambda: rf.metrics.auc(ranked, test, counts)["auc"],
            "numpy rank formula (per user)": lambda: numpy_auc(ranked, test),
            "scikit-learn roc_auc_score (per user)": lambda: sklearn_auc(ranked, test),
        },
        repeats=args.repeats,
        warmup=0,
        track_memory=False,
    )
    print(
        f"{args.users:,} users x {args.items:,} ranked items; AUCs: " + ", ".join(f"{v:.6f}" for v in results.values())
    )
    print(table(timings, "recforge metrics.auc"))


if __name__ == "__main__":
    main()

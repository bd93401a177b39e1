"""Ranking metrics for 1M users at k=10: recforge.metrics.ranking_metrics beside vectorised numpy.

    python bench/bench_metrics.py [--repeats 5] [--users 1000000]

Data: 1M users x 50k items, 1-9 held-out items per user (about 5M), top-10 lists that hit
about a fifth of the time, no repeated ids (so the numpy version's shortcuts are valid).
numpy: searchsorted membership of every (user, item) pair in the test keys, then every metric
as array arithmetic over the n_users x k hit matrix. 2 threads for recforge; BLAS unused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import recforge as rf  # noqa: E402
from harness import measure_rounds, table  # noqa: E402

THREADS = 2
K = 10


def numpy_metrics(rec, test, k):
    n, n_items = test.shape
    rec = rec[:, :k]
    sizes = np.diff(test.indptr)
    keys_test = np.repeat(np.arange(n, dtype=np.int64), sizes) * n_items + test.indices
    keys_rec = np.arange(n, dtype=np.int64)[:, None] * n_items + rec
    pos = np.minimum(np.searchsorted(keys_test, keys_rec), keys_test.size - 1)
    hit = (keys_test[pos] == keys_rec) & (rec >= 0)
    hits = hit.sum(axis=1)
    ok = sizes > 0
    depth = np.minimum(sizes, k)
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.concatenate([[1.0], np.cumsum(disc)])
    precision = hits / k
    recall = hits / np.maximum(sizes, 1)
    f1 = np.where(hits > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-300), 0.0)
    ndcg = (hit * disc).sum(axis=1) / ideal[depth]
    ap = (hit * np.cumsum(hit, axis=1) / np.arange(1, k + 1)).sum(axis=1) / np.maximum(depth, 1)
    rr = np.where(hits > 0, 1.0 / (np.argmax(hit, axis=1) + 1), 0.0)
    return {
        name: float(v[ok].mean())
        for name, v in (
            ("precision", precision),
            ("recall", recall),
            ("f1", f1),
            ("ndcg", ndcg),
            ("map", ap),
            ("hit_rate", (hits > 0).astype(float)),
            ("mrr", rr),
        )
    }


def data(n_users, n_items=50_000, seed=0):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 10, size=n_users)
    indptr = np.concatenate([[0], np.cumsum(sizes)])
    items = rng.integers(0, n_items, size=indptr[-1])
    test = sp.csr_matrix((np.ones(items.size, np.float32), items, indptr), shape=(n_users, n_items))
    test.sum_duplicates()
    # Lists: distinct ids per row; about a fifth of the slots are a held-out item.
    rec = np.argsort(rng.random((n_users, 40)), axis=1)[:, :K] * (n_items // 40) + rng.integers(
        0, n_items // 40, (n_users, 1)
    )
    first = test.indices[test.indptr[:-1]]
    swap = (rng.random((n_users, K)) < 0.2) & ~(rec == first[:, None]).any(axis=1, keepdims=True)
    rec = np.where(swap & (np.arange(K) == rng.integers(0, K, (n_users, 1))), first[:, None], rec)
    rec = np.ascontiguousarray(rec, dtype=np.int64)
    return rec, test


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--users", type=int, default=1_000_000)
    args = parser.parse_args()
    rec, test = data(args.users)
    rows, results = measure_rounds(
        {
            "recforge metrics.ranking_metrics": lambda: rf.metrics.ranking_metrics(rec, test, K, n_threads=THREADS),
            "numpy vectorised (searchsorted + array metrics)": lambda: numpy_metrics(rec, test, K),
        },
        args.repeats,
        track_memory=False,
    )
    ours, theirs = results.values()
    gap = max(abs(ours[name] - theirs[name]) for name in theirs)
    print(f"\n{rec.shape[0]:,} users, {test.nnz:,} held-out items, k={K}\n")
    print(table(rows, rows[0].name))
    print(
        f"\nlargest difference between the two on any metric: {gap:.1e}; recforge: "
        + ", ".join(f"{name} {ours[name]:.4f}" for name in theirs)
    )


if __name__ == "__main__":
    main()

"""One customer's recommend against a large fitted model: the latency a website sees.

ItemKNN with about 4M stored similarities (80,000 items x k = 50), fitted on a synthetic
power-law matrix; then ``recommend([u], X[u], k=10)`` for many single customers in turn.
Before the trusted internal path every call re-validated the cached 4M-entry similarity
(O(nnz)); now the structure is checked once, when the model is fitted or loaded.

    python bench/bench_one_customer.py [--items 80000] [--calls 500]

Prints p50 / p90 / p99 latency in milliseconds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import recforge as rf
import scipy.sparse as sp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=80_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    nnz = 30 * args.users
    users = rng.integers(0, args.users, nnz)
    # Half power-law popular, half uniform: every item has its 50 neighbours (about 4M entries).
    items = np.where(rng.random(nnz) < 0.5, (rng.zipf(1.3, nnz) - 1) % args.items, rng.integers(0, args.items, nnz))
    X = sp.csr_matrix((np.ones(nnz, np.float32), (users, items)), shape=(args.users, args.items))
    model = rf.ItemKNN(neighbours=50, metric="cosine").fit(X)
    print(f"ItemKNN: {model.similarity_.nnz:,} stored similarities, {X.nnz:,} interactions")
    asked = rng.integers(0, args.users, args.calls)
    model.recommend([0], X[[0]], k=10)  # warm caches
    times = []
    for u in asked:
        row = X[[u]]
        t = time.perf_counter()
        model.recommend([u], row, k=10)
        times.append(time.perf_counter() - t)
    ms = np.array(times) * 1e3
    print(
        f"one-customer recommend over {args.calls} calls: p50 {np.percentile(ms, 50):.3f} ms, "
        f"p90 {np.percentile(ms, 90):.3f} ms, p99 {np.percentile(ms, 99):.3f} ms"
    )


if __name__ == "__main__":
    main()

"""``python -m recforge``: a short working example on a small synthetic purchase log."""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

import recforge as rf


def purchase_log(n_customers: int = 20_000, n_products: int = 2_000, n_events: int = 300_000, seed: int = 0):
    """Customers x products purchase counts with power-law popularity on both sides."""
    rng = np.random.default_rng(seed)
    pc = 1.0 / np.arange(1, n_customers + 1) ** 0.5
    pp = 1.0 / np.arange(1, n_products + 1) ** 0.8
    users = rng.choice(n_customers, size=n_events, p=pc / pc.sum())
    items = rng.choice(n_products, size=n_events, p=pp / pp.sum())
    X = sp.csr_matrix((np.ones(n_events, dtype=np.float32), (users, items)), shape=(n_customers, n_products))
    X.sum_duplicates()
    return X


def main() -> None:
    info = rf.config()
    print(f"recforge {info['version']} | {info['compiler']} | OpenMP {'on' if info['openmp'] else 'off'} "
          f"| {info['threads']} threads")
    X = purchase_log()
    print(f"purchase log: {X.shape[0]:,} customers x {X.shape[1]:,} products, {X.nnz:,} (customer, product) pairs")
    item_rows = X.T.tocsr()
    for metric in ("cosine", "bm25", "jaccard"):
        start = time.perf_counter()
        S = rf.similarity(item_rows, k=20, metric=metric)
        took = time.perf_counter() - start
        top = ", ".join(f"{j} ({s:.3f})" for j, s in zip(S[10].indices[:5], S[10].data[:5]))
        print(f"  {metric:<8} item-item top-20 in {took * 1000:7.1f} ms | product 10 goes with: {top}")
    start = time.perf_counter()
    U = rf.similarity(X, k=20, metric="cosine")
    print(f"  cosine   customer-customer top-20 in {(time.perf_counter() - start) * 1000:7.1f} ms "
          f"({U.nnz:,} neighbour pairs)")


if __name__ == "__main__":
    main()

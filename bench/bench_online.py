"""One customer's update + recommend on rf.realtime.OnlineRecommender: the latency a website
sees after a click, beside implicit's recommend(..., recalculate_user=True) for one user.

Synthetic power-law purchases (100k customers, 20k products, about 2.9M pairs); ALS with 64
factors (recforge and implicit, same settings) and ItemKNN (50 neighbours). Each call: one event
for a random known customer, then that customer's top 10. One thread each, as a web worker
would run them.

    OMP_NUM_THREADS=1 python bench/bench_online.py [--calls 2000]

Prints p50 / p99 latency in milliseconds per model, then the top-10 kernel alone for one
query (recforge with the catalogue packed once, as factor models keep it, and without; numpy).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import recforge as rf
import scipy.sparse as sp
from synthetic import power_law_interactions


def latencies(call, n: int) -> np.ndarray:
    out = np.empty(n)
    for j in range(n):
        start = time.perf_counter()
        call(j)
        out[j] = time.perf_counter() - start
    return out * 1e3


def report(name: str, ms: np.ndarray) -> None:
    print(f"| {name} | {np.median(ms):.3f} | {np.percentile(ms, 99):.3f} |", flush=True)


def one_query_kernels(model, X, who, calls: int) -> list:
    """One customer's top 10 from their folded-in factors: recforge's kernel with the catalogue
    packed once (what a factor model does for a few queries), without it, and numpy."""
    from recforge.kernels.topk import dense_topk_parts, pack_items

    Y = model.item_factors_
    queries = model.fold_in_users(X[who[:calls]])
    packed = pack_items(Y)
    rows = []
    for name, run in (
        ("recforge topk_dense, packed catalogue", lambda q: dense_topk_parts(q, Y, 10, None, None, 1, packed=packed)),
        ("recforge topk_dense, tiles packed per call", lambda q: dense_topk_parts(q, Y, 10, None, None, 1)),
        ("numpy Y @ q + argpartition + sort", lambda q: numpy_top10(Y, q[0])),
    ):
        latencies(lambda j, run=run: run(queries[j % calls : j % calls + 1]), 50)
        rows.append((name, latencies(lambda j, run=run: run(queries[j : j + 1]), calls)))
    return rows


def numpy_top10(Y, q):
    scores = Y @ q
    top = np.argpartition(-scores, 10)[:10]
    return top[np.argsort(-scores[top], kind="stable")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    X = power_law_interactions()
    n_users, n_items = X.shape
    inter = rf.Interactions(X, np.arange(n_users), np.arange(n_items))
    rng = np.random.default_rng(1)
    who = rng.integers(0, n_users, args.calls)
    what = rng.integers(0, n_items, args.calls)
    print(f"{n_users:,} customers, {n_items:,} products, {X.nnz:,} pairs; {args.calls:,} calls each")
    print("| model | p50 ms | p99 ms |")
    print("|---|---:|---:|")
    for name, model in (
        ("recforge ALS 64 factors (fold-in)", rf.ALS(factors=64, iterations=5, random_state=0)),
        ("recforge ItemKNN 50 neighbours", rf.ItemKNN(neighbours=50, metric="cosine")),
    ):
        online = rf.realtime.OnlineRecommender(model.fit(inter), inter)
        if isinstance(model, rf.ALS):
            kernel_rows = one_query_kernels(model, X, who, args.calls)

        def call(j, online=online):
            online.update([who[j]], [what[j]])
            online.recommend(who[j], k=10)

        latencies(call, 50)  # warm up
        report(name, latencies(call, args.calls))
    try:
        import implicit
        from threadpoolctl import threadpool_limits
    except ImportError:
        print("implicit is not installed (pip install '.[bench]'): no comparison")
        print_kernels(kernel_rows)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        als = implicit.cpu.als.AlternatingLeastSquares(factors=64, iterations=5, random_state=0, num_threads=1)
        als.fit(X, show_progress=False)
    rows = X.tolil()

    def implicit_call(j):  # the same event, then implicit's fold-in for one user
        u = int(who[j])
        rows[u, int(what[j])] = 1.0
        als.recommend(u, sp.csr_matrix(rows[u]), N=10, recalculate_user=True)

    with threadpool_limits(1):
        latencies(implicit_call, 50)
        report("implicit ALS 64 factors, recommend(recalculate_user=True)", latencies(implicit_call, args.calls))
    print_kernels(kernel_rows)


def print_kernels(rows: list) -> None:
    print("\nThe top-10 kernel alone, one query against the 20k x 64 item factors:")
    print("| kernel | p50 ms | p99 ms |")
    print("|---|---:|---:|")
    for name, ms in rows:
        report(name, ms)


if __name__ == "__main__":
    main()

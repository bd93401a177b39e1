"""Batch top-k: recforge.topk beside implicit.cpu.topk.topk and numpy, on ALS factors.

    pip install ".[bench]"
    python bench/bench_topk.py [--repeats 5] [--users 100000]

Factors: implicit's ALS (64 factors) on the synthetic set of DESIGN.md §6; top-10 for every
user with the items they interacted with excluded; 2 threads, BLAS held to 1 thread.
Contenders run in interleaved rounds; numpy (block matmul + mask + argpartition) runs once.
Peak memory of the 100k-user run: bench/peak_memory.py (fresh processes; bench_recommend.py
prints it).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
import recforge as rf  # noqa: E402
from harness import exec_with_returning_malloc, measure, measure_rounds, table  # noqa: E402
from synthetic import power_law_interactions  # noqa: E402

THREADS = 2
K = 10


def numpy_topk(U, V, seen, k, block=4096):
    ids = np.empty((U.shape[0], k), dtype=np.int64)
    for start in range(0, U.shape[0], block):
        S = U[start : start + block] @ V.T
        rows = seen[start : start + block]
        S[np.repeat(np.arange(S.shape[0]), np.diff(rows.indptr)), rows.indices] = -np.inf
        part = np.argpartition(-S, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(S, part, axis=1), axis=1, kind="stable")
        ids[start : start + block] = np.take_along_axis(part, order, axis=1)
    return ids


def main():
    exec_with_returning_malloc()
    warnings.filterwarnings("ignore", module="implicit")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--users", type=int, default=100_000)
    args = parser.parse_args()
    from implicit.als import AlternatingLeastSquares
    from implicit.cpu.topk import topk as implicit_topk

    with threadpool_limits(1):
        X = power_law_interactions().tocsr()
        start = time.perf_counter()
        als = AlternatingLeastSquares(factors=64, iterations=10, random_state=0, num_threads=THREADS)
        als.fit(X, show_progress=False)
        print(f"implicit ALS (64 factors, 10 iterations) trained in {time.perf_counter() - start:.1f} s")
        U = np.ascontiguousarray(als.user_factors[: args.users], dtype=np.float32)
        V = np.ascontiguousarray(als.item_factors, dtype=np.float32)
        seen = X[: args.users]
        rows, results = measure_rounds(
            {
                "recforge topk (exclude seen)": lambda: rf.topk(U, V, K, exclude=seen, n_threads=THREADS),
                "implicit.cpu.topk.topk (filter_query_items)": lambda: implicit_topk(
                    V, U, K, filter_query_items=seen, num_threads=THREADS
                ),
            },
            args.repeats,
            track_memory=False,
        )
        t, ref = measure(
            "numpy block matmul + mask + argpartition (BLAS 1 thread)", lambda: numpy_topk(U, V, seen, K), 1, warmup=0
        )
        rows.append(t)
    (ids, scores), (their_ids, _) = results.values()
    flops = 2.0 * U.shape[0] * V.shape[0] * U.shape[1]
    ours = rows[0].median
    S_kth = np.einsum("ij,ij->i", U, V[ref[:, -1]])
    rel = np.abs(scores[:, -1] - S_kth) / np.maximum(np.abs(S_kth), 1e-12)
    seen_hit = seen[np.repeat(np.arange(ids.shape[0]), K), ids.ravel()].sum()
    print(f"\n{U.shape[0]:,} users x {V.shape[0]:,} items, {U.shape[1]} factors, top-{K}\n")
    print(table(rows, rows[0].name))
    print(
        f"\nrecforge effective {flops / ours / 1e9:.1f} GFLOP/s (brute-force flops / time); "
        f"k-th score vs numpy: max relative gap {rel.max():.1e}; seen items returned: {int(seen_hit)}; "
        f"same top-10 sets as implicit: {np.mean(np.sort(ids, 1) == np.sort(their_ids, 1)):.4%}"
    )


if __name__ == "__main__":
    main()

"""Batch top-k: recforge.topk beside implicit.cpu.topk.topk and numpy, on ALS factors, or on
factors with an item bias.

    pip install ".[bench]"
    python bench/bench_topk.py [--repeats 5] [--users 100000] [--factors als|bpr|biasedmf]

Factors: implicit's ALS (64 factors; default) or implicit's BPR (64 factors and its item bias
as a last column, the users' last column 1: what its recommend scores) on the synthetic set of
DESIGN.md §6; or recforge's BiasedMF (32 factors, its item bias the same way), fitted as
``recforge train --model biasedmf`` fits an event log without ratings (the events of a pair
summed), on bench_interactions.py's log of 1M events (515k customers x 49k products). Top-10
for every user with the items they interacted with excluded; 2 threads, BLAS held to 1 thread.
With a bias column recforge's kernel bounds scores with the bias shifted to its low end
(``kernels.topk.bias_shift``): the same answer, bit for bit, as without the shift, which runs
beside it. Contenders run in interleaved rounds; numpy
(block matmul + mask + argpartition) runs once. Peak memory of the 100k-user run:
bench/peak_memory.py (fresh processes; bench_recommend.py prints it).
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
from recforge.kernels.topk import bias_shift  # noqa: E402
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


def trained_factors(kind: str):
    """(user side, item side) float32 of the model ``kind``, the vectors whose inner products it
    ranks by, and the users x items matrix it was fitted on."""
    start = time.perf_counter()
    X = power_law_interactions().tocsr()
    if kind == "als":
        from implicit.als import AlternatingLeastSquares

        model = AlternatingLeastSquares(factors=64, iterations=10, random_state=0, num_threads=THREADS)
        model.fit(X, show_progress=False)
        U, V = model.user_factors, model.item_factors
    elif kind == "bpr":
        from implicit.bpr import BayesianPersonalizedRanking

        model = BayesianPersonalizedRanking(factors=63, iterations=100, random_state=0, num_threads=THREADS)
        model.fit(X, show_progress=False)  # implicit adds the bias: 64 columns, the users' last 1
        U, V = model.user_factors, model.item_factors
    else:
        # `recforge train --model biasedmf` on an event log without ratings: each pair's events
        # summed (1M events of bench_interactions.py's log); the biases carry the ranking
        from bench_interactions import event_log

        log = event_log(1_000_000)
        X = rf.Interactions.from_arrays(log["user"], log["item"]).matrix
        model = rf.BiasedMF(random_state=0, n_threads=THREADS, show_progress=False).fit(X)
        U, _ = model.queries(np.arange(X.shape[0]), None)  # [p_u, 1]; mu + b_u is a per-user offset
        V = model.item_vectors()  # [q_i, b_i]
    print(f"{type(model).__name__} trained in {time.perf_counter() - start:.1f} s")
    return np.asarray(U, dtype=np.float32), np.asarray(V, dtype=np.float32), X


def main():
    exec_with_returning_malloc()
    warnings.filterwarnings("ignore", module="implicit")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--factors", choices=("als", "bpr", "biasedmf"), default="als")
    args = parser.parse_args()
    from implicit.cpu.topk import topk as implicit_topk

    with threadpool_limits(1):
        U, V, X = trained_factors(args.factors)
        U, V = np.ascontiguousarray(U[: args.users]), np.ascontiguousarray(V)
        seen = X[: args.users]
        contenders = {
            "recforge topk (exclude seen)": lambda: rf.topk(U, V, K, exclude=seen, n_threads=THREADS),
            "implicit.cpu.topk.topk (filter_query_items)": lambda: implicit_topk(
                V, U, K, filter_query_items=seen, num_threads=THREADS
            ),
        }
        shift = bias_shift(U, V)
        if shift != 0.0:
            print(f"bias column: the bound's shift {shift:.4f}")
            E = seen.astype(np.float32)
            contenders["recforge kernel, bound unshifted"] = lambda: rf._core.topk_dense(
                U, V, E.indptr, E.indices, E.data, None, K, False, THREADS
            )
        rows, results = measure_rounds(contenders, args.repeats, track_memory=False)
        if shift != 0.0:
            (ids, scores), _, (plain_ids, plain_scores) = results.values()
            same = np.array_equal(ids, plain_ids) and np.array_equal(scores, plain_scores)
            print(f"shifted and unshifted bound: the same lists and scores bit for bit: {same}")
        t, ref = measure(
            "numpy block matmul + mask + argpartition (BLAS 1 thread)", lambda: numpy_topk(U, V, seen, K), 1, warmup=0
        )
        rows.append(t)
    (ids, scores), (their_ids, _), *_ = results.values()
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

"""Lists from one global ranking (popularity, ColdStart's trending fallback): recforge's
``ranked_topk`` (the catalogue ranked once, each row walks it past its exclusions) beside the
dense top-k kernel with a constant query (what Popularity used before: it sorts the catalogue by
norm on every call) and numpy (the ranking once; per call, a mask of each row's excluded items
among the first k + its history, and the first k unmasked).

    python bench/bench_popular.py [--rows 87] [--calls 258] [--repeats 5]

The data: bench_interactions.py's log of 1M events (515k customers x 49k products); each call
takes the next ``--rows`` customers, their histories excluded. The defaults are what `recforge
recommend` with an ItemKNN model asks of the trending fallback on that log: 258 calls of about 87
customers whose neighbours gave short lists. The lists of every contender are checked equal.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import recforge as rf  # noqa: E402
from bench_interactions import event_log  # noqa: E402
from harness import measure_rounds, table  # noqa: E402
from recforge._sparse import check_sparse  # noqa: E402
from recforge.kernels.topk import dense_topk_parts, ranked_topk_parts  # noqa: E402

THREADS = 2


def numpy_ranked(order, position, score, H, k):
    """The first k items of ``order`` each row of H does not hold, vectorised over the rows."""
    lengths = np.diff(H.indptr)
    width = min(k, order.size)
    L = min(order.size, width + int(lengths.max(initial=0)))
    banned = np.zeros((H.shape[0], L), dtype=bool)
    at = position[H.indices]
    rows = np.repeat(np.arange(H.shape[0]), lengths)
    inside = at < L
    banned[rows[inside], at[inside]] = True
    first = np.argsort(banned, axis=1, kind="stable")[:, :width]  # unbanned positions, in order
    ids = order[first]
    missing = np.take_along_axis(banned, first, axis=1)
    ids[missing] = -1
    return ids, np.where(missing, -np.inf, score[np.maximum(ids, 0)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=87)
    parser.add_argument("--calls", type=int, default=258)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    log = event_log(1_000_000)
    X = rf.Interactions.from_arrays(log["user"], log["item"]).matrix
    score = np.bincount(X.indices, minlength=X.shape[1]).astype(np.float64)
    order = np.argsort(-score, kind="stable")
    position = np.empty_like(order)
    position[order] = np.arange(order.size)
    calls = [check_sparse(X[i * args.rows : (i + 1) * args.rows], "H") for i in range(args.calls)]
    items = score.reshape(-1, 1)
    print(f"{args.calls} calls of {args.rows} customers, top-{args.k} of {X.shape[1]:,} products")

    timings, results = measure_rounds(
        {
            "recforge ranked_topk": lambda: [
                ranked_topk_parts(order, score, H.shape[0], args.k, H, None, THREADS) for H in calls
            ],
            "dense top-k, constant query (before)": lambda: [
                dense_topk_parts(np.ones((H.shape[0], 1)), items, args.k, H, None, THREADS) for H in calls
            ],
            "numpy (ranking once, mask per call)": lambda: [
                numpy_ranked(order, position, score, H.to_scipy(), args.k) for H in calls
            ],
        },
        repeats=args.repeats,
        track_memory=False,
    )
    first, *others = results.values()
    same = all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for r in others for a, b in zip(first, r))
    print(f"the same lists and scores: {same}")
    print(table(timings, "recforge ranked_topk"))


if __name__ == "__main__":
    main()

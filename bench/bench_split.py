"""Per-customer splits: rf.split.per_user_split (each customer's entries ranked in C++,
``csr.hpp`` rank_within_rows) beside the numpy way (one lexsort of every entry by (row, random
key, position), which recforge used before), on the same matrix with the same random keys;
the whole split is timed beside them.

    python bench/bench_split.py [--repeats 3] [--nnz 10000000]
    python bench/bench_split.py --events [--rows 5000000]

Data: the synthetic generator's power-law interactions, 500k customers x 20k products. The two
rankings are checked equal.

--events: an Interactions with its event log (bench_interactions' log: 1M customers x 50k
products, with times); a split sends each event with its pair: ``_core.contains_pairs`` (one
search in the event's row, in C++) beside numpy's searchsorted over every pair's key (what
recforge used before), and the whole ``per_user_split``. The two masks are checked equal.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import recforge as rf  # noqa: E402
from harness import measure_rounds, table  # noqa: E402
from synthetic import power_law_interactions  # noqa: E402


def numpy_ranks(X, key):
    """Each entry's rank in its row by (key, position), from one lexsort of every entry."""
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    order = np.lexsort((np.arange(rows.size), key, rows))
    rank = np.empty(rows.size, dtype=np.int64)
    rank[order] = np.arange(rows.size) - X.indptr[rows[order]]
    return rank


def numpy_in_pairs(events, matrix):
    """Which events' (user, item) pairs ``matrix`` stores: a sorted search of every event's key
    among the pairs' keys."""
    n_items = np.int64(matrix.shape[1])
    rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
    stored = rows * n_items + matrix.indices
    key = events.user.astype(np.int64) * n_items + events.item
    at = np.searchsorted(stored, key)
    return (at < stored.size) & (stored[np.minimum(at, max(stored.size - 1, 0))] == key)


def bench_events(args) -> None:
    from bench_interactions import event_log

    df = event_log(args.rows)
    inter = rf.Interactions.from_pandas(df, "user", "item", weight_col="quantity", time_col="time")
    print(f"{inter}, {len(inter.events):,} events")
    from recforge import _core

    train, _ = rf.split.per_user_split(inter, 0.2, seed=0)
    M, ev = train.matrix, inter.events
    threads = rf.config()["threads"]
    timings, results = measure_rounds(
        {
            "rf.split.per_user_split (with the events)": lambda: rf.split.per_user_split(inter, 0.2, seed=0),
            "_core.contains_pairs": lambda: _core.contains_pairs(
                M.indptr, M.indices, M.data, *M.shape, ev.user.astype(np.int64), ev.item.astype(np.int64), threads
            ),
            "numpy searchsorted of pair keys": lambda: numpy_in_pairs(ev, M),
        },
        repeats=args.repeats,
    )
    same = np.array_equal(results["_core.contains_pairs"], results["numpy searchsorted of pair keys"])
    print(f"identical masks: {same}")
    print(table(timings, "_core.contains_pairs"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--nnz", type=int, default=10_000_000)
    parser.add_argument("--events", action="store_true", help="a split of an Interactions with its event log")
    parser.add_argument("--rows", type=int, default=5_000_000, help="--events: event rows")
    args = parser.parse_args()
    if args.events:
        return bench_events(args)
    X = power_law_interactions(500_000, 20_000, args.nnz, seed=0)
    print(f"{X.shape[0]:,} x {X.shape[1]:,}, {X.nnz:,} entries")
    from recforge import _core

    key = np.random.default_rng(0).random(X.indices.size)
    timings, results = measure_rounds(
        {
            "rf.split.per_user_split": lambda: rf.split.per_user_split(X, 0.2, seed=0),
            "_core.rank_within_rows (the ranking alone)": lambda: _core.rank_within_rows(
                X.indptr, key, rf.config()["threads"]
            ),
            "numpy lexsort ranking": lambda: numpy_ranks(X, key),
        },
        repeats=args.repeats,
    )
    same = np.array_equal(results["_core.rank_within_rows (the ranking alone)"], results["numpy lexsort ranking"])
    print(f"identical ranks: {same}")
    print(table(timings, "_core.rank_within_rows (the ranking alone)"))


if __name__ == "__main__":
    main()

"""Per-customer splits: rf.split.per_user_split (each customer's entries ranked in C++,
``csr.hpp`` rank_within_rows) beside the numpy way (one lexsort of every entry by (row, random
key, position), which recforge used before), on the same matrix with the same random keys;
the whole split is timed beside them.

    python bench/bench_split.py [--repeats 3] [--nnz 10000000]

Data: the synthetic generator's power-law interactions, 500k customers x 20k products. The two
rankings are checked equal.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--nnz", type=int, default=10_000_000)
    args = parser.parse_args()
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

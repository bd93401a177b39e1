"""Building the users x items matrix from an event log with string ids:
rf.Interactions.from_pandas beside pandas.factorize + scipy COO -> CSR on the same columns.

    python bench/bench_interactions.py [--repeats 5] [--rows 10000000]

Data: ``--rows`` purchase events (default 10M) by 1M customers ("C0000042") on 50k products
("P01234"), both drawn with power-law popularity, a float64 quantity per event, in a pandas
DataFrame with pandas' default string columns. Both contenders produce a float32 CSR with
duplicate (customer, product) pairs summed and both id maps; recforge also checks for missing
ids and non-finite weights and writes the drop report. Peak memory is each contender's first
run's peak RSS above the RSS before it (the script re-executes itself with glibc returning
freed blocks at once, so earlier runs do not hide it). Needs pandas.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import recforge as rf  # noqa: E402
from harness import exec_with_returning_malloc, measure_rounds, table  # noqa: E402


def event_log(n_rows: int, n_users: int = 1_000_000, n_items: int = 50_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)

    def power_law(n, size, exponent):
        p = 1.0 / np.arange(1, n + 1) ** exponent
        return rng.choice(n, size=size, p=p / p.sum())

    users = np.char.add("C", np.char.zfill(power_law(n_users, n_rows, 0.6).astype(str), 7))
    items = np.char.add("P", np.char.zfill(power_law(n_items, n_rows, 0.9).astype(str), 5))
    return pd.DataFrame(
        {
            "user": pd.Series(users, dtype="str"),
            "item": pd.Series(items, dtype="str"),
            "quantity": rng.integers(1, 13, n_rows).astype(np.float64),
        }
    )


def pandas_scipy(df: pd.DataFrame):
    u, user_ids = pd.factorize(df["user"])
    i, item_ids = pd.factorize(df["item"])
    M = sp.coo_matrix((df["quantity"].to_numpy(dtype=np.float32), (u, i)), shape=(len(user_ids), len(item_ids))).tocsr()
    return M, user_ids, item_ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    exec_with_returning_malloc()
    df = event_log(args.rows)
    print(f"{len(df):,} events, pandas {pd.__version__}, id columns of dtype {df['user'].dtype}")
    timings, results = measure_rounds(
        {
            "rf.Interactions.from_pandas": lambda: rf.Interactions.from_pandas(
                df, "user", "item", weight_col="quantity"
            ),
            "pandas.factorize x2 + scipy COO->CSR": lambda: pandas_scipy(df),
        },
        repeats=args.repeats,
    )
    inter = results["rf.Interactions.from_pandas"]
    M, user_ids, item_ids = results["pandas.factorize x2 + scipy COO->CSR"]
    same = (
        np.array_equal(inter.user_ids, np.asarray(user_ids))
        and np.array_equal(inter.item_ids, np.asarray(item_ids))
        and abs(inter.matrix - M).max() == 0
    )
    print(f"{inter}: identical matrix and id maps: {same}")
    out_mib = sum(a.nbytes for a in (inter.matrix.data, inter.matrix.indices, inter.matrix.indptr)) / 2**20
    print(f"output CSR {out_mib:.0f} MiB")
    print(table(timings, "rf.Interactions.from_pandas"))


if __name__ == "__main__":
    main()

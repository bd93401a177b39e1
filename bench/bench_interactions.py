"""Building the users x items matrix from an event log with string ids:
rf.Interactions.from_pandas beside pandas.factorize + scipy COO -> CSR on the same columns.

    python bench/bench_interactions.py [--repeats 5] [--rows 10000000] [--times | --csv]

Data: ``--rows`` purchase events (default 10M) by 1M customers ("C0000042") on 50k products
("P01234"), both drawn with power-law popularity, a float64 quantity per event, in a pandas
DataFrame with pandas' default string columns. Both contenders produce a float32 CSR with
duplicate (customer, product) pairs summed and both id maps; recforge also checks for missing
ids and non-finite weights and writes the drop report. Peak memory is each contender's first
run's peak RSS above the RSS before it (the script re-executes itself with glibc returning
freed blocks at once, so earlier runs do not hide it). Needs pandas.

--times: each event also has a time (epoch seconds over a year), and both contenders also give
each pair's latest time as a second CSR: the numpy/scipy contender factorizes, groups the rows
by pair with a lexsort on (time, pair) and merges them with reduceat (what Interactions did
before its C++ pass), and pandas groupby([user, item]).agg(sum, max) is timed beside them.

--csv: the same log written once to a CSV file (user, item, quantity, time); from the file,
rf.Interactions.from_csv beside pandas.read_csv (ids as text) + the factorize/COO contender.
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
            "time": 1.29e9 + rng.integers(0, 365 * 86400, n_rows).astype(np.float64),
        }
    )


def pandas_scipy(df: pd.DataFrame):
    u, user_ids = pd.factorize(df["user"])
    i, item_ids = pd.factorize(df["item"])
    M = sp.coo_matrix((df["quantity"].to_numpy(dtype=np.float32), (u, i)), shape=(len(user_ids), len(item_ids))).tocsr()
    return M, user_ids, item_ids


def _csr_of_pairs(u, i, values, shape, dtype=np.float32):
    """CSR of pairs already sorted by (row, column), one per pair."""
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(u, minlength=shape[0]), out=indptr[1:])
    return sp.csr_matrix((values.astype(dtype), i.astype(np.int32), indptr), shape=shape)


def numpy_lexsort(df: pd.DataFrame):
    """Factorize, group each pair's rows by (pair, time) with a lexsort, merge with reduceat."""
    u, user_ids = pd.factorize(df["user"])
    i, item_ids = pd.factorize(df["item"])
    shape = (len(user_ids), len(item_ids))
    key = u.astype(np.int64) * shape[1] + i
    t = df["time"].to_numpy()
    order = np.lexsort((t, key))
    key = key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    ends = np.r_[starts[1:], key.size] - 1
    values = np.add.reduceat(df["quantity"].to_numpy()[order], starts)
    pairs = key[starts]
    rows, cols = pairs // shape[1], pairs % shape[1]
    return _csr_of_pairs(rows, cols, values, shape), _csr_of_pairs(rows, cols, t[order][ends], shape, np.float64)


def pandas_groupby(df: pd.DataFrame):
    """Factorize, then pandas' groupby on the codes: summed quantity and latest time per pair."""
    u, user_ids = pd.factorize(df["user"])
    i, item_ids = pd.factorize(df["item"])
    shape = (len(user_ids), len(item_ids))
    frame = pd.DataFrame({"u": u, "i": i, "w": df["quantity"].to_numpy(), "t": df["time"].to_numpy()})
    g = frame.groupby(["u", "i"], sort=True).agg(w=("w", "sum"), t=("t", "max"))
    rows, cols = g.index.get_level_values(0).to_numpy(), g.index.get_level_values(1).to_numpy()
    return _csr_of_pairs(rows, cols, g["w"].to_numpy(), shape), _csr_of_pairs(
        rows, cols, g["t"].to_numpy(), shape, np.float64
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--times", action="store_true", help="events with times; each pair's latest kept")
    parser.add_argument("--csv", action="store_true", help="from a CSV file: reading included")
    args = parser.parse_args()
    exec_with_returning_malloc()
    df = event_log(args.rows)
    print(f"{len(df):,} events, pandas {pd.__version__}, id columns of dtype {df['user'].dtype}")
    if args.csv:
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "events.csv"
            df.to_csv(path, index=False)
            print(f"{path.stat().st_size / 2**20:,.0f} MiB of CSV")
            timings, results = measure_rounds(
                {
                    "rf.Interactions.from_csv": lambda: rf.Interactions.from_csv(
                        path, "user", "item", weight_col="quantity"
                    ),
                    "pandas.read_csv + factorize + COO": lambda: pandas_scipy(
                        pd.read_csv(path, dtype={"user": str, "item": str}, usecols=["user", "item", "quantity"])
                    ),
                },
                repeats=args.repeats,
            )
        inter = results["rf.Interactions.from_csv"]
        M = results["pandas.read_csv + factorize + COO"][0]
        print(f"{inter}: identical matrix: {abs(inter.matrix - M).max() == 0}")
        print(table(timings, "rf.Interactions.from_csv"))
        return
    if args.times:
        timings, results = measure_rounds(
            {
                "rf.Interactions.from_pandas": lambda: rf.Interactions.from_pandas(
                    df, "user", "item", weight_col="quantity", time_col="time"
                ),
                "numpy lexsort + reduceat": lambda: numpy_lexsort(df),
                "pandas groupby(sum, max)": lambda: pandas_groupby(df),
            },
            repeats=args.repeats,
        )
        inter = results["rf.Interactions.from_pandas"]
        same = all(
            abs(inter.matrix - M).max() == 0 and abs(inter.times - T).max() == 0
            for M, T in (results["numpy lexsort + reduceat"], results["pandas groupby(sum, max)"])
        )
        print(f"{inter}: identical matrices and latest times: {same}")
        print(table(timings, "rf.Interactions.from_pandas"))
        return
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

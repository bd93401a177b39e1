"""Writing a campaign list as CSV: recforge's writer (``_csv_out``, formatted in C++ by
``csv_text.hpp``), which every ``recforge`` command's ``--out x.csv`` uses, beside pandas'
``to_csv(index=False, float_format="%.6g")``, which wrote the same bytes before, and Arrow's CSV
writer (which writes other text: every string quoted, floats in full), on the same table.

    python bench/bench_csv_out.py [--customers 200000] [--k 10] [--repeats 3] [--gzip]

The table is what ``recforge recommend`` writes: customer id (text), rank, product id (text),
score (float32); recforge also writes it with the ids as codes into the customers and products
(``_csv_out.Coded``, how the commands hand their lists over). The files are checked byte for
byte against pandas' (decompressed with --gzip).
"""

from __future__ import annotations

import argparse
import gzip
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import measure_rounds, table  # noqa: E402
from recforge import _csv_out  # noqa: E402


def campaign_list(n_customers: int, k: int, seed: int = 0, coded: bool = False) -> dict:
    """The list's columns; with ``coded``, the ids as codes into the customers and products
    (``_csv_out.Coded``, what the commands hand the writer), the same text."""
    rng = np.random.default_rng(seed)
    n = n_customers * k
    customers = np.char.add("C", np.char.zfill(np.arange(n_customers).astype(str), 8)).astype(object)
    products = np.char.add("P", np.char.zfill(np.arange(50_000).astype(str), 5)).astype(object)
    user, item = np.repeat(np.arange(n_customers), k), rng.integers(0, products.size, n)
    return {
        "user": _csv_out.Coded(user, customers) if coded else customers[user],
        "rank": np.tile(np.arange(1, k + 1), n_customers),
        "item": _csv_out.Coded(item, products) if coded else products[item],
        "score": np.sort(rng.random(n).astype(np.float32))[::-1].copy(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--gzip", action="store_true", help="write .csv.gz")
    args = parser.parse_args()
    lists = campaign_list(args.customers, args.k)
    coded = campaign_list(args.customers, args.k, coded=True)
    suffix = ".csv.gz" if args.gzip else ".csv"
    print(f"{len(lists['user']):,} rows ({args.customers:,} customers x {args.k}), {suffix}")
    with tempfile.TemporaryDirectory() as folder:
        ours, theirs, arrow, codes = (
            str(Path(folder) / f"{name}{suffix}") for name in ("rf", "pandas", "arrow", "coded")
        )

        def with_arrow():
            frame = pa.table({c: pa.array(v) for c, v in lists.items()})
            sink = pa.CompressedOutputStream(arrow, "gzip") if args.gzip else arrow
            pa_csv.write_csv(frame, sink)
            if args.gzip:
                sink.close()

        timings, _ = measure_rounds(
            {
                "recforge (_csv_out.save_csv)": lambda: _csv_out.save_csv(lists, ours),
                "recforge, ids as codes (Coded)": lambda: _csv_out.save_csv(coded, codes),
                "pandas to_csv": lambda: pd.DataFrame(lists).to_csv(
                    theirs, index=False, float_format="%.6g", compression="gzip" if args.gzip else None
                ),
                "pyarrow.csv.write_csv (other text)": with_arrow,
            },
            repeats=args.repeats,
        )
        read = gzip.open if args.gzip else open
        with read(ours, "rb") as a, read(theirs, "rb") as b, read(codes, "rb") as c:
            text = b.read()
            print(f"identical text to pandas: {a.read() == text}; with the ids as codes: {c.read() == text}")
        sizes = {name: Path(p).stat().st_size / 2**20 for name, p in (("recforge", ours), ("pandas", theirs))}
        print("file sizes: " + ", ".join(f"{name} {mib:,.1f} MiB" for name, mib in sizes.items()))
    print(table(timings, "recforge (_csv_out.save_csv)"))


if __name__ == "__main__":
    main()

"""What a campaign's lists hold of what its customers then bought, by --exclude-seen: the
Online Retail log cut at 2011-11-01, `recforge campaign` run on the lines before the cut
(EASE, its defaults), and each list line checked against the customers' purchases in the
month after (the customers who bought then).

    python bench/bench_exclude_seen.py [--shared ../shared/datasets] [--cut 2011-11-01]

A wholesaler's customers buy the same products again: lists that leave out everything a
customer bought before miss most of what they buy next.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
from pathlib import Path

import pandas as pd
from bench_quality import SHARED
from recforge.cli import main as recforge


def run(shared: Path, cut: str) -> None:
    lines = pd.read_csv(shared / "online-retail" / "online_retail.csv.gz", dtype={"CustomerID": str, "StockCode": str})
    lines = lines[lines.CustomerID.notna()]
    when = pd.to_datetime(lines.InvoiceDate)
    end = pd.Timestamp(cut) + pd.DateOffset(months=1)
    before, after = lines[when < pd.Timestamp(cut)], lines[(when >= pd.Timestamp(cut)) & (when < end)]
    after = after[after.Quantity > 0]
    bought, seen = set(zip(after.CustomerID, after.StockCode)), set(zip(before.CustomerID, before.StockCode))
    print("| --exclude-seen | list lines | bought in the month after | of those, bought before the cut too |")
    print("|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "before.csv"
        before.to_csv(data, index=False)
        for how in ("all", "none"):  # the log has no event types: "purchases" is "all" here
            out = Path(folder) / f"{how}.csv"
            argv = ["campaign", "--data", str(data), "--user-col", "CustomerID", "--item-col", "StockCode"]
            argv += ["--weight-col", "Quantity", "--aggregate", "count", "--exclude-seen", how, "--out", str(out)]
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                assert recforge([*argv, "--quiet"]) == 0
            lists = pd.read_csv(out, dtype=str)
            lists = lists[lists.customer.isin(set(after.CustomerID))]
            pairs = list(zip(lists.customer, lists["item"]))
            hits = [p in bought for p in pairs]
            again = [p in seen for p, hit in zip(pairs, hits) if hit]
            print(f"| {how} | {len(pairs):,} | {sum(hits) / len(pairs):.1%} | {sum(again) / max(len(again), 1):.1%} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--cut", default="2011-11-01")
    args = parser.parse_args()
    run(args.shared, args.cut)


if __name__ == "__main__":
    main()

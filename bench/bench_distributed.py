"""recforge.distributed.recommend on a LocalCluster of 2 single-threaded worker processes beside
one process with 2 threads scoring the same events in memory: the cost of distribution on one
machine, and that the lists are identical.

The model and events as bench/bench_out_of_core.py: ColdStart(ALS, 64 factors) on the synthetic
set; --customers customers with about 5 events each in one Parquet file.

    python bench/bench_distributed.py [--customers 1000000]

Distributed: read_parquet -> shuffle by customer -> each partition scored on a worker (the model
scattered once) -> Parquet. Single process: the whole file read, one Interactions, recommend in
batches of 20k -> Parquet. Seconds are wall time from the file to the written lists.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time

import numpy as np
import pandas as pd
import recforge as rf
from bench_out_of_core import write_events
from synthetic import power_law_interactions


def single_process(model, events: str, out: str) -> None:
    frame = pd.read_parquet(events)
    table, _ = rf.batch.BlockScorer(model, 10, list(frame.columns)).score(frame)
    table.to_parquet(out, index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=16)
    args = parser.parse_args()
    import distributed
    from recforge import distributed as rfd

    logging.getLogger("distributed.shuffle").setLevel(logging.ERROR)
    X = power_law_interactions()
    inter = rf.Interactions(X, np.arange(X.shape[0]), np.arange(X.shape[1]))
    model = rf.ColdStart(rf.ALS(factors=64, iterations=5, random_state=0)).fit(inter)
    with tempfile.TemporaryDirectory() as tmp:
        events = os.path.join(tmp, "events.parquet")
        rows = write_events(events, args.customers, X.shape[1])
        print(f"{args.customers:,} customers, {rows:,} events; top 10 each")
        start = time.perf_counter()
        single_process(model, events, os.path.join(tmp, "single.parquet"))
        single = time.perf_counter() - start
        with distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster, distributed.Client(cluster) as client:  # fmt: skip
            start = time.perf_counter()
            rfd.recommend(model, events, k=10, out=os.path.join(tmp, "dist"), npartitions=args.partitions,
                          client=client)  # fmt: skip
            spread = time.perf_counter() - start
        key = ["user", "rank"]
        a = pd.read_parquet(os.path.join(tmp, "single.parquet")).sort_values(key).reset_index(drop=True)
        b = pd.read_parquet(os.path.join(tmp, "dist")).sort_values(key).reset_index(drop=True)
        same = a[["user", "rank", "item"]].equals(b[["user", "rank", "item"]]) and np.array_equal(a.score, b.score)
        print("| run | seconds | vs single process |")
        print("|---|---:|---:|")
        print(f"| one process, 2 threads | {single:.1f} | 1.00x |")
        print(f"| LocalCluster, 2 workers x 1 thread | {spread:.1f} | {spread / single:.2f}x |")
        print(f"lists identical: {same} ({len(a):,} rows)")


if __name__ == "__main__":
    main()

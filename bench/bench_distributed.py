"""recforge.distributed on a LocalCluster of 2 single-threaded worker processes beside one
process with 2 threads doing the same work: the cost of distribution on one machine, and that
the outputs are identical.

    python bench/bench_distributed.py [--parts scoring,similarity,als] [--customers 1000000]

- scoring: the model and events as bench/bench_out_of_core.py: ColdStart(ALS, 64 factors) on the
  synthetic set; --customers customers with about 5 events each in one Parquet file.
  Distributed: read_parquet -> shuffle by customer (Dask's p2p, its default on a cluster, and
  its in-memory tasks shuffle) -> each partition scored on a worker (the model shipped once)
  -> Parquet. Single process: the whole file read, one Interactions,
  recommend in batches of 20k -> Parquet. Seconds are wall time from the file to the lists.
- similarity: item-item cosine top-50 of the synthetic set, rf.similarity against
  recforge.distributed.similarity (median of --repeats runs each). --scale N: the synthetic
  generator with N times the customers and events (similarity and ALS only).
- als: 64 factors on the synthetic set, rf.ALS against recforge.distributed.ALS: seconds per
  iteration (median over the iterations, from the fit callback) and the whole fit.
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


def row(name: str, seconds: float, single: float) -> str:
    return f"| {name} | {seconds:.2f} | {seconds / single:.2f}x |"


def bench_similarity(X, client, repeats: int) -> None:
    from recforge import distributed as rfd

    single, spread = [], []
    for _ in range(repeats):  # interleaved: the machine's load drifts
        start = time.perf_counter()
        want = rf.similarity(X.T, k=50, n_threads=2)
        single.append(time.perf_counter() - start)
        start = time.perf_counter()
        got = rfd.similarity(X.T, k=50, client=client)
        spread.append(time.perf_counter() - start)
    same = all(np.array_equal(getattr(got, a), getattr(want, a)) for a in ("indptr", "indices", "data"))
    one, two = float(np.median(single)), float(np.median(spread))
    print(f"\nItem-item cosine top-50, {X.shape[1]:,} items (median of {repeats})")
    print("| run | seconds | vs single process |\n|---|---:|---:|")
    print(row("one process, 2 threads", one, one))
    print(row("LocalCluster, 2 workers x 1 thread", two, one))
    print(f"identical: {same} ({want.nnz:,} entries)")


def bench_als(X, client, iterations: int, repeats: int) -> None:
    from recforge import distributed as rfd

    def timed(model):
        per_iteration = []
        start = time.perf_counter()
        model.fit(X, callback=lambda it, seconds, loss: per_iteration.append(seconds))
        return model, time.perf_counter() - start, float(np.median(per_iteration))

    params = dict(factors=64, iterations=iterations, random_state=0)
    runs = []
    for _ in range(repeats):  # interleaved: the machine's load drifts
        want, fit_one, it_one = timed(rf.ALS(n_threads=2, **params))
        got, fit_two, it_two = timed(rfd.ALS(client=client, **params))
        runs.append((it_one, it_two, fit_one, fit_two))
    it_one, it_two, fit_one, fit_two = np.median(np.array(runs), axis=0)
    ratio = float(np.median([two / one for one, two, _, _ in runs]))
    same = np.array_equal(got.user_factors_, want.user_factors_) and np.array_equal(
        got.item_factors_, want.item_factors_
    )
    print(
        f"\nALS, 64 factors, {iterations} iterations, {X.shape[0]:,} x {X.shape[1]:,}, {X.nnz:,} interactions "
        f"(medians of {repeats} interleaved fits; ratio: median of the fits' ratios)"
    )
    print("| run | s / iteration | vs single process | whole fit s |\n|---|---:|---:|---:|")
    print(f"| one process, 2 threads | {it_one:.2f} | 1.00x | {fit_one:.2f} |")
    print(f"| LocalCluster, 2 workers x 1 thread | {it_two:.2f} | {ratio:.2f}x | {fit_two:.2f} |")
    print(f"factors identical bit for bit: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="scoring,similarity,als")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument(
        "--scale",
        type=int,
        default=1,
        help="similarity and ALS on the synthetic set with this many times its customers",
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    import distributed

    logging.getLogger("distributed.shuffle").setLevel(logging.ERROR)
    X = power_law_interactions()
    if parts & {"similarity", "als"}:
        if args.scale != 1:  # the same generator, more customers (and events in proportion)
            X = power_law_interactions(n_users=100_000 * args.scale, nnz=2_870_000 * args.scale)
        with distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster, distributed.Client(cluster) as client:  # fmt: skip
            if "similarity" in parts:
                bench_similarity(X, client, args.repeats)
            if "als" in parts:
                bench_als(X, client, args.iterations, args.repeats)
    if "scoring" in parts:
        bench_scoring(X, args)


def bench_scoring(X, args) -> None:
    import distributed
    from recforge import distributed as rfd

    inter = rf.Interactions(X, np.arange(X.shape[0]), np.arange(X.shape[1]))
    model = rf.ColdStart(rf.ALS(factors=64, iterations=5, random_state=0)).fit(inter)
    with tempfile.TemporaryDirectory() as tmp:
        events = os.path.join(tmp, "events.parquet")
        rows = write_events(events, args.customers, X.shape[1])
        print(f"{args.customers:,} customers, {rows:,} events; top 10 each")
        single, spread = [], {"p2p": [], "tasks": []}  # Dask's default on a cluster; in memory
        with distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster, distributed.Client(cluster) as client:  # fmt: skip
            threads = os.environ.pop("OMP_NUM_THREADS", None)  # LocalCluster set it to 1 here too
            for _ in range(args.repeats):  # interleaved: the machine's load drifts
                start = time.perf_counter()
                single_process(model, events, os.path.join(tmp, "single.parquet"))
                single.append(time.perf_counter() - start)
                for method, seconds in spread.items():
                    start = time.perf_counter()
                    rfd.recommend(model, events, k=10, out=os.path.join(tmp, method), npartitions=args.partitions,
                                  client=client, shuffle_method=method, overwrite=True)  # fmt: skip
                    seconds.append(time.perf_counter() - start)
            if threads is not None:
                os.environ["OMP_NUM_THREADS"] = threads
        key = ["user", "rank"]
        a = pd.read_parquet(os.path.join(tmp, "single.parquet")).sort_values(key).reset_index(drop=True)
        single = float(np.median(single))
        print(f"(medians of {args.repeats}, interleaved)")
        print("| run | seconds | vs single process |")
        print("|---|---:|---:|")
        print(f"| one process, 2 threads | {single:.1f} | 1.00x |")
        for method, runs in spread.items():
            seconds = float(np.median(runs))
            b = pd.read_parquet(os.path.join(tmp, method)).sort_values(key).reset_index(drop=True)
            same = a[["user", "rank", "item"]].equals(b[["user", "rank", "item"]]) and np.array_equal(a.score, b.score)
            print(f"| LocalCluster, 2 workers x 1 thread, {method} shuffle | {seconds:.1f} | {seconds / single:.2f}x |")
            print(f"lists identical: {same} ({len(a):,} rows)")


if __name__ == "__main__":
    main()

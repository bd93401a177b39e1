"""Out-of-core batch scoring (rf.batch.recommend) beside in-memory scoring of the same events:
throughput and peak resident memory, each in a fresh process.

The model: ColdStart(ALS, 64 factors) fitted on the synthetic set (100k customers, 20k
products), so every customer gets a list (the first 100k from their fitted factors, the others
from their events). The events: --customers customers with about 5 power-law events each,
written as Parquet in the customers' random order (so every block gathers its customers from
the whole file).

    python bench/bench_out_of_core.py [--customers 1000000] [--no-memory] [--table]

In memory: the whole file read with pandas and scored at once by the same BlockScorer (one
Interactions, recommend in batches of 20k), one Parquet output of the same columns. Out of
core: `rf.batch.recommend` into a folder of blocks of 2M events. Peak RSS: ru_maxrss of each
child process.

--table: the model is fitted with a customer attribute (a region, 8 values), and out of core
runs twice, without and with a customer table (every customer with events and 10% more
without, each with a region: `customers=`), for what the table costs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def write_events(path: str, n_customers: int, n_items: int, seed: int = 1) -> int:
    """About 5 events per customer, items power-law, rows shuffled; written 1M customers at a
    time (memory stays bounded however many customers)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, n_items + 1) ** 0.8
    p /= p.sum()
    order = rng.permutation(n_customers)
    rows = 0
    with pq.ParquetWriter(
        path, pa.schema([("user", pa.int64()), ("item", pa.int64()), ("weight", pa.float32())])
    ) as writer:
        for start in range(0, n_customers, 1_000_000):
            customers = order[start : start + 1_000_000]
            counts = rng.poisson(4.0, customers.size) + 1
            users = np.repeat(customers, counts)
            items = rng.choice(n_items, size=users.size, p=p)
            shuffle = rng.permutation(users.size)
            weight = np.ones(users.size, dtype=np.float32)
            writer.write_table(pa.table({"user": users[shuffle], "item": items[shuffle], "weight": weight}))
            rows += users.size
    return rows


def child(mode: str, model_path: str, events: str, out: str) -> None:
    import pandas as pd
    import recforge as rf

    model = rf.load(model_path)
    start = time.perf_counter()
    if mode in ("batch", "batch-table"):
        table = {"customers": table_path(events), "customer_key": "user"} if mode == "batch-table" else {}
        report = rf.batch.recommend(model, events, out, k=10, **table)
        customers = report["customers"]
    else:  # the same scorer over the whole file at once
        frame = pd.read_parquet(events)
        table, counts = rf.batch.BlockScorer(model, 10, list(frame.columns)).score(frame)
        del frame
        table.to_parquet(out, index=False)
        customers = counts["customers"]
    seconds = time.perf_counter() - start
    print(f"{customers} {seconds}", flush=True)


def table_path(events: str) -> str:
    return events + ".customers.parquet"


REGIONS = 8


def write_table(path: str, n_customers: int, seed: int = 2) -> None:
    """Every customer 0..n-1 and 10% more (without events), each with a region, in random order."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    ids = rng.permutation(n_customers + n_customers // 10)
    with pq.ParquetWriter(path, pa.schema([("user", pa.int64()), ("region", pa.string())])) as writer:
        for start in range(0, ids.size, 1_000_000):
            part = ids[start : start + 1_000_000]
            writer.write_table(pa.table({"user": part, "region": [f"r{r}" for r in part % REGIONS]}))


def run_child(mode: str, model_path: str, events: str, out: str) -> tuple[int, float, float]:
    """customers, seconds and the child's own peak RSS (GiB, from wait4)."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", mode, model_path, events, out], stdout=subprocess.PIPE, text=True
    )
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    if proc.returncode:
        raise SystemExit(f"{mode} child failed ({proc.returncode})")
    customers, seconds = output.split()
    return int(customers), float(seconds), usage.ru_maxrss / 2**20  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--no-memory", action="store_true", help="skip the in-memory run (too large for RAM)")
    parser.add_argument("--table", action="store_true", help="also out of core with a customer table")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    import recforge as rf
    from synthetic import power_law_interactions

    X = power_law_interactions()
    inter = rf.Interactions(X, np.arange(X.shape[0]), np.arange(X.shape[1]))
    users = None
    if args.table:
        regions = {"user": np.arange(X.shape[0]), "region": [f"r{r}" for r in np.arange(X.shape[0]) % REGIONS]}
        users = rf.features(regions, ids=inter.user_ids, id_col="user", categorical="region")
    model = rf.ColdStart(rf.ALS(factors=64, iterations=5, random_state=0)).fit(inter, user_features=users)
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        model_path, events = os.path.join(tmp, "model.npz"), os.path.join(tmp, "events.parquet")
        model.save(model_path)
        rows = write_events(events, args.customers, X.shape[1])
        if args.table:
            write_table(table_path(events), args.customers)
        print(
            f"{args.customers:,} customers, {rows:,} events ({os.path.getsize(events) / 2**20:,.0f} MiB Parquet); "
            f"model file {os.path.getsize(model_path) / 2**20:,.0f} MiB"
        )
        print("| run | customers | seconds | customers/s | peak RSS GiB |")
        print("|---|---:|---:|---:|---:|")
        modes = ("batch",) if args.no_memory else ("memory", "batch")
        modes += ("batch-table",) if args.table else ()
        names = {
            "memory": "in memory",
            "batch": "rf.batch.recommend (out of core)",
            "batch-table": "rf.batch.recommend, customers= table",
        }
        for mode in modes:
            out = os.path.join(tmp, "out-" + mode + (".parquet" if mode == "memory" else ""))
            customers, seconds, rss = run_child(mode, model_path, events, out)
            name = names[mode]
            print(f"| {name} | {customers:,} | {seconds:.1f} | {customers / seconds:,.0f} | {rss:.2f} |", flush=True)


if __name__ == "__main__":
    main()

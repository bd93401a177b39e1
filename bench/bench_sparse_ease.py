"""Sparse approximate EASE: its accuracy against exact EASE where both fit, its fit on a large
synthetic catalogue (time and peak memory), and batch top-10 for every customer beside ItemKNN.

    python bench/bench_sparse_ease.py quality [--shared ../shared/datasets]
    python bench/bench_sparse_ease.py scale [--items 200000] [--users 500000] [--nnz 14350000]
                                            [--neighbours 200] [--min-support 2]
    python bench/bench_sparse_ease.py batch [--items 20000] [--users 100000] [--nnz 2870000]

quality: per-user 80/20 split (seed 0), precision@10 and NDCG@10 of exact EASE and of SparseEASE
at several neighbourhood sizes, same regularization (the tuned one of bench_quality.py).
scale: the synthetic generator (bench/synthetic.py) with more items; one fit, its time and its
peak resident memory above the process's before the fit (the input matrix excluded) and in all.
batch: top-10 for every customer of DESIGN.md's synthetic set (100k x 20k), seen items
excluded: exact EASE, pruned EASE, SparseEASE and ItemKNN, interleaved rounds, medians.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import recforge as rf
from bench_quality import SHARED, load
from harness import _status_kib, exec_with_returning_malloc, measure_rounds, table
from synthetic import power_law_interactions

DATASETS = {"ml-100k": 500.0, "ml-100k-4": 500.0, "ml-latest-small": 100.0, "online-retail": 100.0}


def quality(shared: Path) -> None:
    print("| data | model | P@10 | NDCG@10 | P@10 / exact | fit s |")
    print("|---|---|---:|---:|---:|---:|")
    for name, lam in DATASETS.items():
        train, test = rf.split.per_user_split(load(name, shared), 0.2, seed=0)
        models = {f"EASE({lam:g})": rf.EASE(regularization=lam)}
        for m in (50, 100, 200, 400):
            models[f"SparseEASE({lam:g}, neighbours={m})"] = rf.SparseEASE(regularization=lam, neighbours=m)
        models[f"SparseEASE({lam:g}, neighbours=200, min_support=2)"] = rf.SparseEASE(
            regularization=lam, neighbours=200, min_support=2
        )
        exact = None
        for label, model in models.items():
            start = time.perf_counter()
            model.fit(train)
            seconds = time.perf_counter() - start
            r = rf.evaluate(model, train, test, k=10)
            exact = exact or r["precision"]
            print(
                f"| {name} | {label} | {r['precision']:.4f} | {r['ndcg']:.4f} | {r['precision'] / exact:.3f} | "
                f"{seconds:.2f} |",
                flush=True,
            )


def scale(args) -> None:
    X = power_law_interactions(args.users, args.items, args.nnz)
    print(f"synthetic: {X.shape[0]:,} customers x {X.shape[1]:,} items, {X.nnz:,} interactions", flush=True)
    model = rf.SparseEASE(regularization=500.0, neighbours=args.neighbours, min_support=args.min_support)
    timings, results = measure_rounds({"SparseEASE fit": lambda: model.fit(X)}, repeats=1, warmup=0)
    W = results["SparseEASE fit"].weights_
    print(table(timings, "SparseEASE fit"))
    print(
        f"peak RSS of the whole process: {_status_kib('VmHWM') / 2**20:.2f} GiB; "
        f"B: {W.nnz:,} weights ({(W.data.nbytes + W.indices.nbytes + W.indptr.nbytes) / 2**30:.2f} GiB)"
    )


def batch(args) -> None:
    X = power_law_interactions(args.users, args.items, args.nnz)
    users = np.arange(X.shape[0])
    models = {
        "EASE exact": rf.EASE(regularization=500.0, max_memory=64).fit(X),
        "EASE pruned to 200": rf.EASE(regularization=500.0, neighbours=200, max_memory=64).fit(X),
        "SparseEASE(neighbours=200)": rf.SparseEASE(regularization=500.0, neighbours=200).fit(X),
        "ItemKNN(neighbours=50)": rf.ItemKNN(neighbours=50, metric="cosine").fit(X),
        "ItemKNN(neighbours=200)": rf.ItemKNN(neighbours=200, metric="cosine").fit(X),
    }
    timings, _ = measure_rounds(
        {name: (lambda m=m: m.recommend(users, X, k=10)) for name, m in models.items()}, repeats=3, warmup=1
    )
    print(f"top-10 for all {X.shape[0]:,} customers, {X.shape[1]:,} items; weights per model:")
    for name, m in models.items():
        W = m.weights_ if hasattr(m, "weights_") else m.similarity_
        print(f"  {name}: {W.nnz:,}")
    print(table(timings, "ItemKNN(neighbours=50)"))


def main():
    exec_with_returning_malloc()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["quality", "scale", "batch"])
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--items", type=int)
    parser.add_argument("--users", type=int)
    parser.add_argument("--nnz", type=int)
    parser.add_argument("--neighbours", type=int, default=200)
    parser.add_argument("--min-support", type=int, default=2)
    args = parser.parse_args()
    if args.part == "quality":
        quality(args.shared)
        return
    big = args.part == "scale"
    args.items = args.items or (200_000 if big else 20_000)
    args.users = args.users or (500_000 if big else 100_000)
    args.nnz = args.nnz or (14_350_000 if big else 2_870_000)
    scale(args) if big else batch(args)


if __name__ == "__main__":
    main()

"""Sparse approximate EASE: its accuracy against exact EASE where both fit, its fit on a large
synthetic catalogue (time and peak memory), and batch top-10 for every customer beside ItemKNN.

    python bench/bench_sparse_ease.py quality [--shared ../shared/datasets]
    python bench/bench_sparse_ease.py scale [--items 200000] [--users 500000] [--nnz 14350000]
                                            [--neighbours 200] [--min-support 2]
    python bench/bench_sparse_ease.py batch [--items 20000] [--users 100000] [--nnz 2870000]
    python bench/bench_sparse_ease.py numpy [--customers 10000]

quality: per-user 80/20 split (seed 0), precision@10 and NDCG@10 of exact EASE and of SparseEASE
at several neighbourhood sizes, same regularization (the tuned one of bench_quality.py).
scale: the synthetic generator (bench/synthetic.py) with more items; one fit, its time and its
peak resident memory above the process's before the fit (the input matrix excluded) and in all.
batch: top-10 for every customer of DESIGN.md's synthetic set (100k x 20k), seen items
excluded: exact EASE, pruned EASE, SparseEASE and ItemKNN, interleaved rounds, medians.
numpy: exact EASE's top-10 for the first --customers customers beside scipy's sparse @ dense
weights and numpy's argpartition (the plain way), interleaved rounds, lists compared.
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


def numpy_topk(X, B, k: int, batch: int = 1000):
    """Top-k of X @ B with the seen items excluded, as plain scipy/numpy do it: the 0/1
    history rows of a batch times the dense weights (scipy's sparse @ dense), the seen items set
    to -inf, argpartition, then a sort of the k."""
    ids = np.empty((X.shape[0], k), dtype=np.int64)
    for start in range(0, X.shape[0], batch):
        H = X[start : start + batch]
        H = H.copy()
        H.data[:] = 1.0
        S = np.asarray(H @ B)
        S[H.nonzero()] = -np.inf
        top = np.argpartition(-S, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(S, top, 1), axis=1, kind="stable")
        ids[start : start + batch] = np.take_along_axis(top, order, 1)
    return ids


def ease_numpy(args) -> None:
    """Exact EASE's top-10 for the first --customers customers of the synthetic set: recforge's
    kernel beside scipy/numpy on the same dense weights, interleaved rounds, lists compared."""
    X = power_law_interactions(args.users, args.items, args.nnz)
    model = rf.EASE(regularization=500.0, max_memory=64).fit(X)
    B = model.weights_.toarray()  # the same weights, dense (the diagonal is 0)
    part = X[: args.customers]
    users = np.arange(part.shape[0])
    timings, results = measure_rounds(
        {
            "rf.EASE.recommend (2 threads)": lambda: model.set_params(n_threads=2).recommend(users, part, k=10)[0],
            "rf.EASE.recommend (1 thread)": lambda: model.set_params(n_threads=1).recommend(users, part, k=10)[0],
            "scipy sparse @ dense B + numpy argpartition": lambda: numpy_topk(part, B, 10),
        },
        repeats=3,
        warmup=0,
        track_memory=False,
    )
    model.set_params(n_threads=0)
    ours, theirs = results["rf.EASE.recommend (2 threads)"], results["scipy sparse @ dense B + numpy argpartition"]
    same = np.mean([set(a) == set(b) for a, b in zip(ours.tolist(), theirs.tolist())])
    print(f"exact EASE top-10 for {part.shape[0]:,} customers, {X.shape[1]:,} items", end="")
    print(f" (lists with the same items: {same:.1%}; numpy is single-threaded)")
    print(table(timings, "rf.EASE.recommend (2 threads)"))


def main():
    exec_with_returning_malloc()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["quality", "scale", "batch", "numpy"])
    parser.add_argument("--customers", type=int, default=10_000, help="numpy: customers scored")
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
    if args.part == "numpy":
        args.items, args.users, args.nnz = args.items or 20_000, args.users or 100_000, args.nnz or 2_870_000
        ease_numpy(args)
        return
    big = args.part == "scale"
    args.items = args.items or (200_000 if big else 20_000)
    args.users = args.users or (500_000 if big else 100_000)
    args.nnz = args.nnz or (14_350_000 if big else 2_870_000)
    scale(args) if big else batch(args)


if __name__ == "__main__":
    main()

"""Explicit rating prediction beside scikit-surprise: rf.BiasedMF and rf.KNNRegressor on
MovieLens 100K, 5-fold cross-validation, the same folds for every model.

    pip install ".[bench]"
    python bench/bench_explicit.py [--movielens ../shared/datasets/ml-100k] [--svdpp]

Folds: the 100,000 ratings shuffled with seed 0 and dealt into 5 folds. Every model is fitted
on 4 folds and scored (RMSE, predictions clipped to [1, 5] as Surprise does) on the fifth.
Times are per fold: fit, and predict on the held-out fold; a recforge model's speed-up is the
median over folds of (Surprise's time / recforge's time) for its counterpart (BiasedMF <-> SVD,
KNNRegressor <-> KNNBaseline with the same similarity). recforge runs 2 threads; Surprise is
single-threaded Cython. SVD++ (about 20 s a fold in Surprise) runs with --svdpp.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import recforge as rf
import scipy.sparse as sp

DEFAULT_MOVIELENS = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "ml-100k"
THREADS = 2
FOLDS = 5

RECFORGE = {
    "rf.BiasedMF() defaults": (lambda: rf.BiasedMF(random_state=0, n_threads=THREADS), "SVD defaults"),
    "rf.BiasedMF tuned (100 f, 40 epochs)": (
        lambda: rf.BiasedMF(
            factors=100,
            iterations=40,
            learning_rate=0.015,
            regularization=0.07,
            learning_rate_decay=0.98,
            random_state=0,
            n_threads=THREADS,
        ),
        "SVD defaults",
    ),
    "rf.BiasedMF(solver='als', 50 f)": (
        lambda: rf.BiasedMF(
            solver="als", factors=50, regularization=0.1, iterations=15, init_std=0.1, random_state=0, n_threads=THREADS
        ),
        "SVD defaults",
    ),
    "rf.KNNRegressor() (item pearson_baseline)": (
        lambda: rf.KNNRegressor(n_threads=THREADS),
        "KNNBaseline item pearson_baseline",
    ),
}


def surprise_models(svdpp: bool) -> dict:
    import surprise

    models = {
        "SVD defaults": lambda: surprise.SVD(random_state=0),
        "KNNBaseline item pearson_baseline": lambda: surprise.KNNBaseline(
            k=40, sim_options={"name": "pearson_baseline", "user_based": False}, verbose=False
        ),
    }
    if svdpp:
        models["SVDpp defaults"] = lambda: surprise.SVDpp(random_state=0)
    return models


def load(path: Path):
    d = np.loadtxt(path / "u.data", dtype=np.int64)
    return d[:, 0] - 1, d[:, 1] - 1, d[:, 2].astype(np.float64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movielens", type=Path, default=DEFAULT_MOVIELENS)
    parser.add_argument("--svdpp", action="store_true")
    args = parser.parse_args()
    if not (args.movielens / "u.data").exists():
        sys.exit(f"MovieLens 100K not found at {args.movielens} (pass --movielens DIR)")
    import pandas as pd
    import surprise

    u, i, r = load(args.movielens)
    n_users, n_items = u.max() + 1, i.max() + 1
    fold = np.random.default_rng(0).permutation(r.size) % FOLDS
    frame = pd.DataFrame({"user": u, "item": i, "rating": r})
    data = surprise.Dataset.load_from_df(frame, surprise.Reader(rating_scale=(1, 5)))
    contenders = {name: (make, None) for name, make in surprise_models(args.svdpp).items()}
    contenders.update(RECFORGE)
    results = {name: {"rmse": [], "fit": [], "predict": []} for name in contenders}
    for k in range(FOLDS):
        train, test = fold != k, fold == k
        R = sp.csr_matrix((r[train], (u[train], i[train])), shape=(n_users, n_items))
        raw_train = list(zip(u[train], i[train], r[train], [None] * int(train.sum())))
        raw_test = list(zip(u[test], i[test], r[test], [None] * int(test.sum())))
        trainset, testset = data.construct_trainset(raw_train), data.construct_testset(raw_test)
        for name, (make, counterpart) in contenders.items():
            model = make()
            start = time.perf_counter()
            if counterpart is None:
                model.fit(trainset)
            else:
                model.fit(R)
            fitted = time.perf_counter()
            if counterpart is None:
                pred = np.array([p.est for p in model.test(testset)])
            else:
                pred = model.predict(u[test], i[test])
            done = time.perf_counter()
            res = results[name]
            res["rmse"].append(float(np.sqrt(np.mean((pred - r[test]) ** 2))))
            res["fit"].append(fitted - start)
            res["predict"].append(done - fitted)
        print(f"fold {k + 1}/{FOLDS} done", file=sys.stderr, flush=True)

    print(f"MovieLens 100K, {FOLDS}-fold CV (same folds), recforge {rf.__version__} at {THREADS} threads\n")
    print("| model | RMSE (mean ± sd) | fit s (median) | predict s (median) | fit speed-up | fit+predict speed-up |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (_, counterpart) in contenders.items():
        res = results[name]
        cells = ["", ""]
        if counterpart is not None:
            ref = results[counterpart]
            cells[0] = f"{statistics.median(a / b for a, b in zip(ref['fit'], res['fit'])):.1f}× vs {counterpart}"
            total = [a + b for a, b in zip(ref["fit"], ref["predict"])]
            ours = [a + b for a, b in zip(res["fit"], res["predict"])]
            cells[1] = f"{statistics.median(a / b for a, b in zip(total, ours)):.1f}×"
        print(
            f"| {name} | {np.mean(res['rmse']):.4f} ± {np.std(res['rmse']):.4f} | "
            f"{statistics.median(res['fit']):.3f} | "
            f"{statistics.median(res['predict']):.4f} | {cells[0]} | {cells[1]} |"
        )


if __name__ == "__main__":
    main()

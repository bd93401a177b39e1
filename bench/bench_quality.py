"""Accuracy of the best model, recforge beside implicit, each tuned the same way: parameters
chosen on a validation split carved out of the training part only (rf.tune's split, the same
for every model), then measured once on the test part.

    python bench/bench_quality.py [--datasets ml-100k,ml-100k-4,ml-latest-small,online-retail]
                                   [--trials 8] [--shared ../shared/datasets]
    python bench/bench_quality.py --weights [--datasets ...] [--only RP3beta,...]

--weights: EASE, SparseEASE, ItemKNN, UserKNN and RP3beta on the data as loaded (ratings 1-5, purchase
counts) with binary=True (0/1) and binary=False (the weights as given), at their defaults and at
the parameters chosen on validation (WEIGHTS_SPACES), where the table above binarises every data
set first.

Per-user 80/20 split (seed 0), precision@10 and NDCG@10, seen items excluded; implicit's models
ranked through its own recommend (filter_already_liked_items).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import recforge as rf
import scipy.sparse as sp

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"


def load(name: str, shared: Path, binary: bool = True) -> sp.csr_matrix:
    if name.startswith("ml-100k"):
        X = rf.datasets.load_movielens("100k", shared / "ml-100k").interactions.matrix.copy()
        if name == "ml-100k-4":
            X.data = (X.data >= 4).astype(X.data.dtype)
            X.eliminate_zeros()
    elif name == "ml-latest-small":
        X = rf.datasets.load_movielens("latest-small", shared / "ml-latest-small").interactions.matrix.copy()
    else:
        X = rf.datasets.load_online_retail(shared / "online-retail" / "online_retail.csv.gz").interactions.matrix.copy()
    if binary:
        X.data[:] = 1.0
    X = X[np.diff(X.indptr) > 0]
    return sp.csr_matrix(X, dtype=np.float32)


class Implicit:
    """An implicit model behind recforge's recommend interface (for rf.evaluate)."""

    def __init__(self, make, **params):
        self.make, self.params = make, params

    def fit(self, X):
        self.model = self.make(**self.params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model.fit(sp.csr_matrix(X), show_progress=False)
        return self

    def recommend(self, user_ids, user_items, k=10, exclude_seen=True, allow=None, **_):
        ids, scores = self.model.recommend(
            np.asarray(user_ids), sp.csr_matrix(user_items), N=k, filter_already_liked_items=exclude_seen
        )
        return ids.astype(np.int64), scores


# ALS is badly under-regularized below ~1 on these data (precision@10 on MovieLens 100K: 0.29 at
# 0.05, 0.37 at 30, both libraries alike): the grid must reach well above implicit's default.
ALS_REGULARIZATION = [0.01, 0.1, 1.0, 10.0, 30.0, 100.0]
ALS_ALPHA = [1.0, 5.0, 10.0, 20.0]


def implicit_space():
    from implicit.als import AlternatingLeastSquares
    from implicit.bpr import BayesianPersonalizedRanking
    from implicit.nearest_neighbours import BM25Recommender, CosineRecommender, TFIDFRecommender

    return {
        "implicit ALS": (
            lambda **p: AlternatingLeastSquares(random_state=0, **p),
            {"factors": [64, 128], "regularization": ALS_REGULARIZATION, "alpha": ALS_ALPHA, "iterations": [15]},
        ),
        "implicit BPR": (
            lambda **p: BayesianPersonalizedRanking(random_state=0, **p),
            {"factors": [64, 128], "learning_rate": [0.01, 0.05], "regularization": [0.001, 0.01], "iterations": [100]},
        ),
        "implicit ItemKNN cosine": (lambda **p: CosineRecommender(**p), {"K": [20, 50, 100, 200]}),
        "implicit ItemKNN bm25": (
            lambda **p: BM25Recommender(**p),
            {"K": [20, 50, 100, 200], "K1": [1.2], "B": [0.5, 0.75]},
        ),
        "implicit ItemKNN tfidf": (lambda **p: TFIDFRecommender(**p), {"K": [20, 50, 100, 200]}),
    }


RECFORGE = {
    "recforge EASE": (rf.EASE, {"regularization": [50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0]}),
    "recforge SparseEASE": (
        rf.SparseEASE,
        {"regularization": [50.0, 100.0, 200.0, 500.0, 1000.0], "neighbours": [50, 100, 200]},
    ),
    "recforge RP3beta": (
        rf.RP3beta,
        {"alpha": [0.4, 0.5, 0.6, 0.7, 0.8, 1.0], "beta": [0.3, 0.4, 0.5, 0.6, 0.7], "neighbours": [50, 100, 200]},
    ),
    "recforge ALS": (
        rf.ALS,
        # implicit's confidence alpha * r is recforge's 1 + alpha * r: the same grid, shifted by one
        {
            "factors": [64, 128],
            "regularization": ALS_REGULARIZATION,
            "alpha": [a - 1 for a in ALS_ALPHA],
            "random_state": [0],
        },
    ),
    "recforge ItemKNN": (rf.ItemKNN, {"neighbours": [20, 50, 100, 200], "metric": ["cosine", "bm25", "tfidf"]}),
}


def choose(make, space, fit_part, held, trials, rng):
    """The best of ``trials`` random draws from ``space`` on the validation split."""
    keys = list(space)
    combos = [
        dict(zip(keys, c))
        for c in np.array(np.meshgrid(*[range(len(space[k])) for k in keys])).T.reshape(-1, len(keys))
    ]
    picks = rng.permutation(len(combos))[:trials]
    best, best_score = None, -1.0
    for i in picks:
        params = {k: space[k][int(combos[i][k])] for k in keys}
        score = rf.evaluate(make(**params).fit(fit_part), fit_part, held, k=10)["ndcg"]
        if score > best_score:
            best, best_score = params, score
    return best


# What --weights chooses on validation, per model (the whole grid: every combination).
WEIGHTS_SPACES = {
    rf.EASE: {"regularization": [100.0, 300.0, 1000.0, 3000.0, 10000.0]},
    rf.SparseEASE: {"regularization": [100.0, 300.0, 1000.0, 3000.0, 10000.0]},
    rf.ItemKNN: {"neighbours": [20, 50, 100, 200], "metric": ["cosine", "bm25", "tfidf"]},
    rf.UserKNN: {"neighbours": [20, 50, 100, 200], "metric": ["cosine", "bm25", "tfidf"]},
    rf.RP3beta: {"alpha": [0.5, 0.7, 1.0], "beta": [0.3, 0.5, 0.7], "neighbours": [100, 200]},
}


def weights_table(args) -> None:
    """Each model on the weights as given against binary=True, on the data as loaded."""
    print("| data | model | weights | parameters | precision@10 | vs 0/1 |")
    print("|---|---|---|---|---:|---:|")
    for name in args.datasets.split(","):
        X = load(name, args.shared, binary=False)
        train, test = rf.split.per_user_split(X, 0.2, seed=0)
        fit_part, held = rf.split.per_user_split(train, 0.2, seed=0)
        for cls, space in WEIGHTS_SPACES.items():
            if args.only and cls.__name__ not in args.only.split(","):
                continue
            size = int(np.prod([len(v) for v in space.values()]))
            rows = {}
            for binary in (True, False):

                def make(cls=cls, binary=binary, **p):
                    return cls(binary=binary, **p)

                chosen = choose(make, space, fit_part, held, size, np.random.default_rng(0))
                for params, how in (({}, "default"), (chosen, "chosen")):
                    p = rf.evaluate(make(**params).fit(train), train, test, k=10)["precision"]
                    rows[binary, how] = (params, p)
            for binary in (True, False):
                for how in ("default", "chosen"):
                    params, p = rows[binary, how]
                    shown = ", ".join(f"{k}={v}" for k, v in params.items()) or "defaults"
                    print(
                        f"| {name} | {cls.__name__} | {'0/1' if binary else 'as given'} | {shown} ({how}) | "
                        f"{p:.4f} | {p / rows[True, how][1] - 1:+.1%} |",
                        flush=True,
                    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="ml-100k,ml-100k-4,ml-latest-small,online-retail")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument(
        "--defaults-only", action="store_true", help="only recforge's models at their default parameters (no tuning)"
    )
    parser.add_argument("--weights", action="store_true", help="models on the weights as given against binary=True")
    parser.add_argument("--only", default="", help="with --weights: these models only (class names, comma-separated)")
    args = parser.parse_args()
    if args.weights:
        weights_table(args)
        return
    try:
        contenders = implicit_space()
    except ImportError:
        contenders = {}
    print("| data | model | parameters (chosen on validation) | fit s | precision@10 | NDCG@10 |")
    print("|---|---|---|---:|---:|---:|")
    for name in args.datasets.split(","):
        X = load(name, args.shared)
        train, test = rf.split.per_user_split(X, 0.2, seed=0)
        fit_part, held = rf.split.per_user_split(train, 0.2, seed=0)  # rf.tune's validation split
        best = {f"{label} (defaults)": (cls, {}) for label, (cls, _) in RECFORGE.items()}
        if args.defaults_only:
            contenders = {}
        for label, (cls, space) in ({} if args.defaults_only else RECFORGE).items():
            params = choose(cls, space, fit_part, held, args.trials, np.random.default_rng(0))
            best[label] = (lambda cls=cls, params=params: cls(**params), params)
        for label, (make, space) in contenders.items():
            params = choose(
                lambda make=make, **p: Implicit(make, **p), space, fit_part, held, args.trials, np.random.default_rng(0)
            )
            best[label] = (lambda make=make, params=params: Implicit(make, **params), params)
        for label, (build, params) in best.items():
            start = time.perf_counter()
            model = build().fit(train)
            seconds = time.perf_counter() - start
            m = rf.evaluate(model, train, test, k=10)
            shown = ", ".join(f"{k}={v}" for k, v in params.items() if k != "random_state")
            print(
                f"| {name} | {label} | {shown} | {seconds:.2f} | {m['precision']:.4f} | {m['ndcg']:.4f} |", flush=True
            )


if __name__ == "__main__":
    main()

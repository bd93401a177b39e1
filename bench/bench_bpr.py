"""rf.BPR beside implicit's BayesianPersonalizedRanking: seconds per epoch and ranking quality.

    pip install ".[bench]"
    python bench/bench_bpr.py [--repeats 5] [--movielens ../shared/datasets/ml-100k]

Speed: the synthetic set of DESIGN.md §6 (100k users x 20k items, 2.87M interactions), 64,
100 and 128 factors, verified negatives, 2 threads each, BLAS held to 1 thread. Both make one
draw per interaction per epoch. recforge runs both negative laws: "popularity" is the law
implicit uses (the item of a random interaction), "uniform" is recforge's default. Each round
fits every contender once with 4 epochs, in interleaved order; a contender's figure for the round
is the median of its per-epoch times (each library's own callback `elapsed`), and the speed-up
is the median of the round-by-round ratios.

Quality: MovieLens 100K, every rating an interaction of value 1, 80/20 per-user split,
precision@10 and NDCG@10 with the training items excluded, mean of 3 seeds: implicit at its
defaults and at the best of a small grid, recforge at the same hyperparameters with either law,
and recforge's defaults.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import recforge as rf  # noqa: E402
from harness import Timing, callback_rounds, factor_bench_main, movielens_interactions  # noqa: E402

THREADS = 2
EPOCHS = 4
DEFAULT_MOVIELENS = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "ml-100k"


def speed(X, factors: int, repeats: int) -> list[Timing]:
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    def ours(negatives):
        def fit(callback):
            rf.BPR(
                factors=factors,
                iterations=EPOCHS,
                learning_rate=0.01,
                negatives=negatives,
                random_state=0,
                n_threads=THREADS,
            ).fit(X, callback=callback)

        return fit

    def theirs(callback):
        BayesianPersonalizedRanking(factors=factors, iterations=EPOCHS, num_threads=THREADS, random_state=0).fit(
            X, show_progress=False, callback=callback
        )

    contenders = {
        f"recforge BPR popularity, {factors} factors": ours("popularity"),
        f"recforge BPR uniform, {factors} factors": ours("uniform"),
        f"implicit BPR, {factors} factors": theirs,
    }
    return callback_rounds(contenders, repeats)


def quality(path: Path, seeds=range(3)) -> str:
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    train, test = movielens_interactions(path)
    users = np.arange(train.shape[0])

    def implicit_ids(seed, factors, learning_rate, regularization, iterations):
        model = BayesianPersonalizedRanking(
            factors=factors,
            learning_rate=learning_rate,
            regularization=regularization,
            iterations=iterations,
            num_threads=THREADS,
            random_state=seed,
        )
        model.fit(train, show_progress=False)
        return model.recommend(users, train, N=10, filter_already_liked_items=True)[0]

    def recforge_ids(seed, **params):
        model = rf.BPR(random_state=seed, n_threads=THREADS, **params)
        return model.fit(train).recommend(users, train, k=10)[0]

    def score(ids_of, **params):
        results = [
            rf.metrics.ranking_metrics(np.asarray(ids_of(seed, **params), dtype=np.int64), test, k=10) for seed in seeds
        ]
        return np.mean([r["precision"] for r in results]), np.mean([r["ndcg"] for r in results])

    implicit_defaults = dict(factors=100, learning_rate=0.01, regularization=0.01, iterations=100)
    grid = [
        dict(implicit_defaults, **change)
        for change in ({}, {"iterations": 50}, {"learning_rate": 0.005}, {"regularization": 0.03}, {"factors": 64})
    ]
    implicit_scores = [(params, score(implicit_ids, **params)) for params in grid]
    best_params, best = max(implicit_scores, key=lambda item: item[1][0])
    rows = [
        ("implicit, its defaults", implicit_defaults, implicit_scores[0][1]),
        ("implicit, best of grid", best_params, best),
    ]
    for negatives in ("popularity", "uniform"):
        rows.append(
            (
                f"recforge {negatives}, implicit's defaults",
                implicit_defaults,
                score(recforge_ids, negatives=negatives, **implicit_defaults),
            )
        )
    rows.append(("recforge, its defaults", rf.BPR().get_params(), score(recforge_ids)))
    changes = [{k: v for k, v in p.items() if implicit_defaults[k] != v} for p in grid]
    out = [
        f"\nMovieLens 100K, {train.nnz + test.nnz:,} ratings as 0/1 interactions, per-user 80/20 split, "
        f"mean of seeds {list(seeds)}; implicit's grid: {changes}\n",
        "| model | factors | learning_rate | regularization | iterations | precision@10 | NDCG@10 | vs implicit best |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, p, (precision, ndcg) in rows:
        out.append(
            f"| {name} | {p['factors']} | {p['learning_rate']} | {p['regularization']} | {p['iterations']} | "
            f"{precision:.4f} | {ndcg:.4f} | {precision / best[0] - 1:+.1%} |"
        )
    return "\n".join(out)


def main():
    def tables(X, factors, repeats):
        return [speed(X, factors, repeats)]

    factor_bench_main(__doc__, tables, quality, (64, 100, 128), "epoch", THREADS, DEFAULT_MOVIELENS)


if __name__ == "__main__":
    main()

"""rf.ALS beside implicit's AlternatingLeastSquares: speed per iteration and ranking quality.

    pip install ".[bench]"
    python bench/bench_als.py [--repeats 5] [--movielens ../shared/datasets/ml-100k]

Speed: the synthetic set of DESIGN.md §6 (100k users x 20k items, 2.87M interactions), 64 and
128 factors, both solvers (implicit's use_cg=True/False), 2 threads each, BLAS held to 1 thread.
Each round fits every contender once with 3 iterations, in interleaved order; a contender's
figure for the round is the median of its per-iteration times (each library's own callback
`elapsed`), and the speed-up is the median of the round-by-round ratios.

Quality: MovieLens 100K, every rating as an interaction of value 1, 80/20 per-user split,
precision@10 (and NDCG@10) with the training items excluded, the same hyperparameters for both
(implicit's confidence alpha * r is this model's 1 + alpha' * r, so alpha' = alpha - 1 on 0/1
data), both solvers of both libraries, at a low and a high regularization, averaged over 5 seeds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import recforge as rf  # noqa: E402
from harness import Timing, callback_rounds, factor_bench_main, movielens_interactions  # noqa: E402

THREADS = 2
ITERATIONS = 3
DEFAULT_MOVIELENS = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "ml-100k"


def speed(X, factors: int, solver: str, repeats: int) -> list[Timing]:
    from implicit.cpu.als import AlternatingLeastSquares

    def ours(callback):
        rf.ALS(factors=factors, iterations=ITERATIONS, solver=solver, random_state=0, n_threads=THREADS).fit(
            X, callback=callback
        )

    def theirs(callback):
        model = AlternatingLeastSquares(
            factors=factors,
            iterations=ITERATIONS,
            use_cg=solver == "cg",
            calculate_training_loss=False,
            num_threads=THREADS,
            random_state=0,
        )
        model.fit(X, show_progress=False, callback=callback)

    contenders = {
        f"recforge ALS {solver}, {factors} factors": ours,
        f"implicit ALS {'cg' if solver == 'cg' else 'cholesky'}, {factors} factors": theirs,
    }
    return callback_rounds(contenders, repeats)


def quality(path: Path, regularizations=(0.05, 10.0), seeds=range(5)) -> str:
    from implicit.cpu.als import AlternatingLeastSquares

    train, test = movielens_interactions(path)
    users = np.arange(train.shape[0])
    factors, alpha, iterations = 64, 10.0, 15

    def implicit_ids(solver, regularization, seed):
        model = AlternatingLeastSquares(
            factors=factors,
            regularization=regularization,
            alpha=alpha,
            iterations=iterations,
            use_cg=solver == "cg",
            num_threads=THREADS,
            random_state=seed,
        )
        model.fit(train, show_progress=False)
        return model.recommend(users, train, N=10, filter_already_liked_items=True)[0]

    def recforge_ids(solver, regularization, seed):
        model = rf.ALS(
            factors=factors,
            regularization=regularization,
            alpha=alpha - 1,
            iterations=iterations,
            solver=solver,
            random_state=seed,
            n_threads=THREADS,
        )
        return model.fit(train).recommend(users, train, k=10)[0]

    out = [
        f"\nMovieLens 100K, {train.nnz + test.nnz:,} ratings as 0/1 interactions, per-user 80/20 split; "
        f"factors={factors}, "
        f"implicit alpha={alpha} (recforge alpha={alpha - 1}), {iterations} iterations, mean of seeds "
        f"{list(seeds)}\n",
        "| regularization | model | precision@10 | NDCG@10 | vs implicit cg | vs implicit cholesky |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for regularization in regularizations:
        rows = []
        for library, ids_of in (("implicit", implicit_ids), ("recforge", recforge_ids)):
            for solver in ("cg", "cholesky"):
                results = [
                    rf.metrics.ranking_metrics(
                        np.asarray(ids_of(solver, regularization, seed), dtype=np.int64), test, k=10
                    )
                    for seed in seeds
                ]
                rows.append(
                    (
                        f"{library} {solver}",
                        np.mean([r["precision"] for r in results]),
                        np.mean([r["ndcg"] for r in results]),
                    )
                )
        for name, p, n in rows:
            out.append(
                f"| {regularization} | {name} | {p:.4f} | {n:.4f} | {p / rows[0][1] - 1:+.2%} | "
                f"{p / rows[1][1] - 1:+.2%} |"
            )
    return "\n".join(out)


def main():
    def tables(X, factors, repeats):
        return [speed(X, factors, solver, repeats) for solver in ("cg", "cholesky")]

    factor_bench_main(__doc__, tables, quality, (64, 128), "iteration", THREADS, DEFAULT_MOVIELENS)


if __name__ == "__main__":
    main()

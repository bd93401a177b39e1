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

import argparse
import statistics
import sys
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
import recforge as rf  # noqa: E402
from harness import Timing, table  # noqa: E402
from synthetic import power_law_interactions  # noqa: E402

THREADS = 2
ITERATIONS = 3
DEFAULT_MOVIELENS = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "ml-100k"


def per_iteration(fit) -> float:
    """Median seconds per iteration of one fit, from the callback's elapsed times."""
    elapsed = []
    fit(lambda iteration, seconds, loss: elapsed.append(seconds))
    return statistics.median(elapsed)


def speed(X, factors: int, solver: str, repeats: int) -> list[Timing]:
    from implicit.cpu.als import AlternatingLeastSquares

    def ours(callback):
        rf.ALS(factors=factors, iterations=ITERATIONS, solver=solver, random_state=0, n_threads=THREADS).fit(
            X, callback=callback)

    def theirs(callback):
        model = AlternatingLeastSquares(factors=factors, iterations=ITERATIONS, use_cg=solver == "cg",
                                        calculate_training_loss=False, num_threads=THREADS, random_state=0)
        model.fit(X, show_progress=False, callback=callback)

    contenders = {f"recforge ALS {solver}, {factors} factors": ours,
                  f"implicit ALS {'cg' if solver == 'cg' else 'cholesky'}, {factors} factors": theirs}
    timings = [Timing(name) for name in contenders]
    for round_ in range(repeats + 1):  # the first round warms up
        for timing, fit in zip(timings, contenders.values()):
            seconds = per_iteration(fit)
            if round_:
                timing.seconds.append(seconds)
    return timings


def quality(path: Path, regularizations=(0.05, 10.0), seeds=range(5)) -> str:
    from implicit.cpu.als import AlternatingLeastSquares

    inter = rf.datasets.load_movielens("100k", path=path).interactions
    X = inter.matrix.tocsr().astype(np.float32)
    X.data[:] = 1.0
    train, test = rf.split.per_user_split(X, frac=0.2, seed=0)
    train, test = train.tocsr(), test.tocsr()
    users = np.arange(X.shape[0])
    factors, alpha, iterations = 64, 10.0, 15

    def implicit_ids(solver, regularization, seed):
        model = AlternatingLeastSquares(factors=factors, regularization=regularization, alpha=alpha,
                                        iterations=iterations, use_cg=solver == "cg", num_threads=THREADS,
                                        random_state=seed)
        model.fit(train, show_progress=False)
        return model.recommend(users, train, N=10, filter_already_liked_items=True)[0]

    def recforge_ids(solver, regularization, seed):
        model = rf.ALS(factors=factors, regularization=regularization, alpha=alpha - 1, iterations=iterations,
                       solver=solver, random_state=seed, n_threads=THREADS)
        return model.fit(train).recommend(users, train, k=10)[0]

    out = [f"\nMovieLens 100K, {X.nnz:,} ratings as 0/1 interactions, per-user 80/20 split; factors={factors}, "
           f"implicit alpha={alpha} (recforge alpha={alpha - 1}), {iterations} iterations, mean of seeds "
           f"{list(seeds)}\n",
           "| regularization | model | precision@10 | NDCG@10 | vs implicit cg | vs implicit cholesky |",
           "|---:|---|---:|---:|---:|---:|"]
    for regularization in regularizations:
        rows = []
        for library, ids_of in (("implicit", implicit_ids), ("recforge", recforge_ids)):
            for solver in ("cg", "cholesky"):
                results = [rf.metrics.ranking_metrics(np.asarray(ids_of(solver, regularization, seed), dtype=np.int64),
                                                      test, k=10) for seed in seeds]
                rows.append((f"{library} {solver}", np.mean([r["precision"] for r in results]),
                             np.mean([r["ndcg"] for r in results])))
        for name, p, n in rows:
            out.append(f"| {regularization} | {name} | {p:.4f} | {n:.4f} | {p / rows[0][1] - 1:+.2%} | "
                       f"{p / rows[1][1] - 1:+.2%} |")
    return "\n".join(out)


def main():
    warnings.filterwarnings("ignore", module="implicit")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--movielens", type=Path, default=DEFAULT_MOVIELENS)
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    with threadpool_limits(1, "blas"):
        if not args.skip_speed:
            X = power_law_interactions().tocsr()
            print(f"{X.shape[0]:,} users x {X.shape[1]:,} items, {X.nnz:,} interactions; seconds per iteration, "
                  f"{THREADS} threads, medians of {args.repeats} rounds\n")
            for factors in (64, 128):
                for solver in ("cg", "cholesky"):
                    timings = speed(X, factors, solver, args.repeats)
                    print(table(timings, timings[0].name), "\n")
        if args.movielens.is_dir():
            print(quality(args.movielens))
        else:
            print(f"(quality skipped: no MovieLens 100K at {args.movielens})")


if __name__ == "__main__":
    main()

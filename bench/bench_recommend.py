"""Neighbourhood recommend for every user: rf.ItemKNN beside implicit's CosineRecommender.

    pip install ".[bench]"
    python bench/bench_recommend.py [--repeats 3]

Data: the synthetic set of DESIGN.md §6 (100k users x 20k items). Both models are fitted
first (cosine, 50 neighbours per item besides the item itself); timed is the top-10 for all 100k users with the seen
items excluded, one batch call each, 2 threads, BLAS held to 1 thread. Contenders run in
interleaved rounds. Then the peak memory of the 100k-user runs (bench/peak_memory.py, fresh
processes).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
import recforge as rf  # noqa: E402
from harness import measure_rounds, table  # noqa: E402
from peak_memory import measure_all  # noqa: E402
from synthetic import power_law_interactions  # noqa: E402

THREADS = 2
K = 10


def main():
    warnings.filterwarnings("ignore", module="implicit")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from implicit.nearest_neighbours import CosineRecommender

    with threadpool_limits(1):
        X = power_law_interactions().tocsr()
        users = np.arange(X.shape[0])
        ours = rf.ItemKNN(neighbours=50, metric="cosine", n_threads=THREADS).fit(X)
        # implicit counts each item as its own first neighbour; K=51 gives it the same 50 others
        # (the self entry only scores seen items, which are excluded).
        theirs = CosineRecommender(K=51, num_threads=THREADS)
        theirs.fit(X, show_progress=False)
        rows, results = measure_rounds(
            {
                "recforge ItemKNN.recommend (all users)": lambda: ours.recommend(users, X, k=K),
                "implicit CosineRecommender.recommend (all users)": lambda: theirs.recommend(
                    users, X, N=K, filter_already_liked_items=True
                ),
            },
            args.repeats,
            track_memory=False,
        )
    (ids, scores), (their_ids, their_scores) = results.values()
    seen_hit = X[np.repeat(users, K), np.maximum(ids.ravel(), 0)].A1[ids.ravel() >= 0].sum()
    same_sets = np.mean([len(set(a) & set(b)) / K for a, b in zip(ids.tolist(), their_ids.tolist())])
    print(f"\n{X.shape[0]:,} users x {X.shape[1]:,} items, {X.nnz:,} interactions; top-{K}, seen excluded\n")
    print(table(rows, rows[0].name))
    print(
        f"\nseen items returned: {int(seen_hit)}; top-10 items shared with implicit: {same_sets:.4%}; "
        f"max |score difference| where both return the same item at the same rank: "
        f"{np.abs(scores - their_scores)[(ids == their_ids) & (ids >= 0)].max():.2e}"
    )
    print("\npeak memory of the 100k-user runs (fresh processes; budget: inputs + outputs + 256 MiB):")
    for r in measure_all():
        print(
            f"  {r['job']}: inputs {r['inputs_mib']} MiB, outputs {r['outputs_mib']} MiB, peak above "
            f"baseline {r['peak_above_baseline_mib']} MiB (working {r['working_mib']} MiB): "
            f"{'within' if r['within_budget'] else 'OVER'} budget"
        )


if __name__ == "__main__":
    main()

"""Medians of the main kernels of the installed build, as one JSON line: run it under two
builds in alternating rounds to compare them (a build change that must not slow anything).

    python bench/kernel_timings.py [--repeats 3]

ALS (Cholesky and CG) and BPR / BiasedMF fits on a 6,000 x 4,000 random matrix (1% dense),
64 factors, 2 threads; dense batch top-10 of 3,000 queries against 20,000 items, 64 factors.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import recforge as rf
import scipy.sparse as sp


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = sp.random(6000, 4000, density=0.01, random_state=1, format="csr", dtype=np.float32)
    X.data[:] = rng.integers(1, 6, X.nnz)
    Q = rng.standard_normal((3000, 64)).astype(np.float32)
    items = rng.standard_normal((20000, 64)).astype(np.float32)
    r = args.repeats
    print(
        json.dumps(
            {
                "als_fit": median_seconds(
                    lambda: rf.ALS(factors=64, iterations=5, n_threads=2, random_state=0).fit(X), r
                ),
                "als_cg_fit": median_seconds(
                    lambda: rf.ALS(factors=64, iterations=5, solver="cg", n_threads=2, random_state=0).fit(X), r
                ),
                "bpr_fit": median_seconds(
                    lambda: rf.BPR(factors=64, iterations=10, n_threads=2, random_state=0).fit(X), r
                ),
                "mf_fit": median_seconds(
                    lambda: rf.BiasedMF(factors=64, iterations=10, n_threads=2, random_state=0).fit(X), r
                ),
                "topk_dense": median_seconds(lambda: rf.topk(Q, items, k=10, n_threads=2), r),
            }
        )
    )


if __name__ == "__main__":
    main()

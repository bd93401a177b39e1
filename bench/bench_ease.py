"""EASE fit: rf.EASE beside the closed form in plain numpy on the same synthetic data, in
interleaved rounds, with peak memory.

    python bench/bench_ease.py [--items 10000] [--users 50000] [--nnz 1500000] [--repeats 3]

numpy: G = X'X densified, np.linalg.inv (LU) in float64, B = -P / diag(P) (Steck's reference
code); float32 numpy beside it. cornac (bench extra): cornac.models.EASE, its own numpy code in
float64, fitted on a cornac Dataset built beforehand (not timed), posB=False so that B is the
same matrix. recforge: Cholesky inverse in place through LAPACK (potrf + potri), float32, B kept
whole (exact). --skip-float32 leaves numpy float32 out (at 20k items each numpy run takes
minutes).
"""

from __future__ import annotations

import argparse

import numpy as np
import recforge as rf
from harness import exec_with_returning_malloc, measure_rounds, table
from synthetic import power_law_interactions


def numpy_ease(X, lam: float, dtype):
    G = (X.T @ X).toarray().astype(dtype)
    G[np.diag_indices_from(G)] += lam
    P = np.linalg.inv(G)
    B = P / (-np.diag(P))
    np.fill_diagonal(B, 0.0)
    return B


def cornac_fit(X, lam: float):
    """cornac's EASE on X (users x items), with the Dataset built outside the timing."""
    from cornac.data import Dataset
    from cornac.models import EASE

    coo = X.tocoo()
    data = Dataset.build(list(zip(coo.row.astype(str), coo.col.astype(str), coo.data.astype(float))), seed=0)
    # cornac orders ids by first appearance and drops items nobody took (their exact weights are
    # all 0): map its rows and columns back to X's
    order = np.array([int(i) for i in data.item_ids])

    def fit():
        model = EASE(lamb=lam, posB=False, verbose=False).fit(data)
        B = np.zeros((X.shape[1], X.shape[1]))
        B[np.ix_(order, order)] = model.B
        return B

    return fit


def main():
    exec_with_returning_malloc()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--nnz", type=int, default=1_500_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-float32", action="store_true")
    args = parser.parse_args()
    X = power_law_interactions(args.users, args.items, args.nnz)
    lam = 500.0
    contenders = {
        "recforge EASE float32": lambda: rf.EASE(regularization=lam, max_memory=64).fit(X),
        "numpy float64 (reference code)": lambda: numpy_ease(X, lam, np.float64),
    }
    if not args.skip_float32:
        contenders["numpy float32"] = lambda: numpy_ease(X, lam, np.float32)
    try:
        contenders["cornac EASE (float64)"] = cornac_fit(X, lam)
    except ImportError:
        print("(cornac not installed: pip install '.[bench]')")
    timings, results = measure_rounds(contenders, repeats=args.repeats, warmup=0)
    ours = results["recforge EASE float32"].weights_.toarray()
    ref = results["numpy float64 (reference code)"]
    print(f"{args.users:,} users x {args.items:,} items, {X.nnz:,} interactions, regularization {lam:g}")
    print(table(timings, "recforge EASE float32"))
    print(f"\nlargest |B - B_numpy64|: {np.abs(ours - ref).max():.2e} (weights up to {np.abs(ref).max():.2e})")
    if "cornac EASE (float64)" in results:
        print(f"largest |B_cornac - B_numpy64|: {np.abs(results['cornac EASE (float64)'] - ref).max():.2e}")


if __name__ == "__main__":
    main()

"""Sparse similarity: recforge beside implicit, sparse_dot_topn, scipy and scikit-surprise.

    pip install ".[bench]"
    python bench/bench_similarity.py [--repeats 5] [--shared ../shared/datasets]

Everything runs in one process on identical data, 2 threads for every parallel contender and
BLAS held to 1 thread. Contenders run in interleaved rounds, so the machine's other load hits
them alike; the speed-up is the median of the round-by-round ratios. Prints markdown tables
plus agreement checks (same neighbours / same values).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
import recforge as rf  # noqa: E402
from harness import exec_with_returning_malloc, measure, measure_rounds, table  # noqa: E402
from synthetic import power_law_interactions  # noqa: E402

THREADS = 2
K = 50


def neighbour_sets(S, k, drop_self=True):
    S = S.tocsr()
    out = []
    for i in range(S.shape[0]):
        idx = S.indices[S.indptr[i] : S.indptr[i + 1]]
        val = S.data[S.indptr[i] : S.indptr[i + 1]]
        keep = idx != i if drop_self else np.ones(len(idx), bool)
        idx, val = idx[keep], val[keep]
        order = np.lexsort((idx, -val))[:k]
        out.append((idx[order], val[order]))
    return out


def agreement(a, b, k):
    """Share of neighbour slots that agree, and the largest value gap on common neighbours."""
    A, B = neighbour_sets(a, k), neighbour_sets(b, k)
    same = total = 0
    gap = 0.0
    for (ia, va), (ib, vb) in zip(A, B):
        total += max(len(ia), len(ib))
        common, pa, pb = np.intersect1d(ia, ib, return_indices=True)
        same += len(common)
        if len(common):
            gap = max(gap, float(np.max(np.abs(va[pa].astype(float) - vb[pb].astype(float)))))
    return same / max(total, 1), gap


def scipy_topk(XT_normalised, k):
    """scipy sparse product, then a per-row top-k by argpartition (the hand-written baseline)."""
    P = (XT_normalised @ XT_normalised.T).tocsr()
    P.setdiag(0)
    P.eliminate_zeros()
    indptr = [0]
    indices, data = [], []
    for i in range(P.shape[0]):
        lo, hi = P.indptr[i], P.indptr[i + 1]
        v = P.data[lo:hi]
        if hi - lo > k:
            sel = np.argpartition(-v, k)[:k]
        else:
            sel = np.arange(hi - lo)
        indices.append(P.indices[lo:hi][sel])
        data.append(v[sel])
        indptr.append(indptr[-1] + len(sel))
    return sp.csr_matrix((np.concatenate(data), np.concatenate(indices), indptr), shape=P.shape)


def normalise_rows(X):
    X = X.tocsr(copy=True)
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    X.data /= np.repeat(np.where(norms > 0, norms, 1), np.diff(X.indptr))
    return X


def bench_cosine(X, repeats):
    from implicit.nearest_neighbours import CosineRecommender
    from sparse_dot_topn import sp_matmul_topn

    XT = X.T.tocsr()
    XTn = normalise_rows(XT)
    XTn_T = XTn.T.tocsr()

    def implicit_fit():
        m = CosineRecommender(K=K + 1, num_threads=THREADS)  # implicit counts the item itself
        m.fit(X, show_progress=False)
        return m.similarity

    # recforge gets what a user writes, X.T (users x items in CSC form), implicit gets X.
    rows, results = measure_rounds(
        {
            "recforge similarity(X.T, metric='cosine')": lambda: rf.similarity(X.T, k=K, n_threads=THREADS),
            "implicit CosineRecommender.fit(X)": implicit_fit,
            "sparse_dot_topn sp_matmul_topn (pre-normalised rows)": lambda: sp_matmul_topn(
                XTn, XTn_T, top_n=K + 1, n_threads=THREADS, sort=True
            ),
        },
        repeats,
    )
    ours, theirs, topn = results.values()
    t, _ = measure("scipy X·Xᵀ + per-row top-50 (1 thread)", lambda: scipy_topk(XTn, K), max(1, repeats // 2))
    rows.append(t)
    out_mib = (ours.data.nbytes + ours.indices.nbytes + ours.indptr.nbytes) / 2**20
    in_mib = (XT.data.nbytes + XT.indices.nbytes + XT.indptr.nbytes) / 2**20
    agree_i, gap_i = agreement(ours, theirs, K)
    agree_t, gap_t = agreement(ours, topn, K)
    notes = (
        f"input {in_mib:.1f} MiB, output {out_mib:.1f} MiB; neighbours shared with implicit "
        f"{agree_i:.4%} (max value gap {gap_i:.1e}), with sparse_dot_topn {agree_t:.4%} (gap {gap_t:.1e})"
    )
    return rows, notes


def bench_bm25(X, repeats, track_memory):
    from implicit.nearest_neighbours import BM25Recommender

    def implicit_fit():
        m = BM25Recommender(K=K + 1, K1=1.2, B=0.75, num_threads=THREADS)
        m.fit(X, show_progress=False)
        return m.similarity

    rows, results = measure_rounds(
        {
            "recforge similarity(X.T, metric='bm25')": lambda: rf.similarity(
                X.T, k=K, metric="bm25", k1=1.2, b=0.75, n_threads=THREADS
            ),
            "implicit BM25Recommender.fit(X)": implicit_fit,
        },
        repeats,
        track_memory=track_memory,
    )
    ours, theirs = results.values()
    agree, gap = agreement(ours, theirs, K)
    return rows, f"neighbours shared with implicit {agree:.4%} (max value gap {gap:.1e}, float32 vs implicit's float64)"


def bench_pearson(shared: Path, repeats, track_memory):
    from surprise import similarities

    ratings = np.loadtxt(shared / "ml-100k" / "u.data", dtype=np.int64)
    users, items, r = ratings[:, 0] - 1, ratings[:, 1] - 1, ratings[:, 2].astype(np.float64)
    X = sp.csr_matrix((r, (users, items)), shape=(943, 1682))
    # Surprise's user-based input: for each item, the (user, rating) pairs that rated it.
    yr = {}
    for u, i, v in zip(users.tolist(), items.tolist(), r.tolist()):
        yr.setdefault(i, []).append((u, v))
    rows, results = measure_rounds(
        {
            "recforge similarity(metric='pearson'), k = all users": lambda: rf.similarity(
                X, k=943, metric="pearson", n_threads=THREADS
            ),
            "scikit-surprise similarities.pearson": lambda: similarities.pearson(943, yr, 1),
        },
        repeats,
        track_memory=track_memory,
    )
    ours, theirs = results.values()
    theirs = np.array(theirs)
    np.fill_diagonal(theirs, 0)
    gap = float(np.max(np.abs(ours.toarray() - theirs)))
    return rows, f"ML-100K user-user, 943 x 943: max |recforge - surprise| over all pairs = {gap:.1e}"


def main():
    exec_with_returning_malloc()
    # implicit warns about its own internal COO -> CSR conversion; the time is its own either way
    warnings.filterwarnings("ignore", module="implicit")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--shared",
        type=Path,
        default=Path(os.environ.get("RECFORGE_SHARED", Path(__file__).resolve().parents[2] / "shared")) / "datasets",
    )
    parser.add_argument("--only", choices=["cosine", "bm25", "pearson"], action="append")
    args = parser.parse_args()
    only = set(args.only or ["cosine", "bm25", "pearson"])
    print(f"recforge {rf.__version__}: {rf.config()['compiler']}, {THREADS} threads, BLAS limited to 1 thread\n")
    with threadpool_limits(1):
        if only & {"cosine", "bm25"}:
            X = power_law_interactions()
            print(
                f"synthetic set (DESIGN.md §6): {X.shape[0]:,} users x {X.shape[1]:,} items, {X.nnz:,} nnz; "
                f"item-item, k = {K}\n"
            )
        if "cosine" in only:
            rows, notes = bench_cosine(X, args.repeats)
            print("### cosine\n\n" + table(rows, rows[0].name) + f"\n\n{notes}\n")
        # Peak memory only for the process's first section: later ones reuse memory that the
        # earlier ones freed (thread arenas), which hides their own peak (it read 0 MiB).
        if "bm25" in only:
            rows, notes = bench_bm25(X, args.repeats, track_memory="cosine" not in only)
            print("### bm25 (k1 = 1.2, b = 0.75)\n\n" + table(rows, rows[0].name) + f"\n\n{notes}\n")
        if "pearson" in only:
            if not (args.shared / "ml-100k" / "u.data").exists():
                print(f"### pearson\n\nskipped: {args.shared}/ml-100k not found\n")
            else:
                rows, notes = bench_pearson(args.shared, args.repeats, track_memory=only == {"pearson"})
                print("### pearson (MovieLens 100K, user-user)\n\n" + table(rows, rows[0].name) + f"\n\n{notes}\n")


if __name__ == "__main__":
    main()

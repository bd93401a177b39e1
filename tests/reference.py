"""Plain numpy float64 references for the similarity metrics (dense, O(n^2): small inputs only).

Written from the published definitions (scikit-surprise's similarities module, implicit's
weighting functions, Sarwar et al. 2001) independently of recforge's implementation.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def dense_parts(X) -> tuple[np.ndarray, np.ndarray]:
    """(values, pattern) as float64 dense arrays; duplicates summed, explicit zeros kept in the pattern."""
    X = sp.csr_matrix(X, copy=True)
    X.sum_duplicates()
    D = X.toarray().astype(np.float64)
    P = sp.csr_matrix((np.ones_like(X.data, dtype=np.float64), X.indices, X.indptr), shape=X.shape).toarray()
    return D, P


def _safe_div(a, b):
    return np.divide(a, b, out=np.zeros_like(a), where=b != 0)


def _idf(P):
    # implicit's log(n_rows) - log1p(df), as the log of one ratio: exactly 0 when df = n_rows - 1
    n_rows = P.shape[0]
    return np.log(max(n_rows, 1) / (1.0 + P.sum(axis=0)))


def similarity_matrix(X, metric: str, *, k1: float = 1.2, b: float = 0.75):
    """(sim, support): n x n similarity before shrinkage, and shared-column counts."""
    D, P = dense_parts(X)
    support = P @ P.T
    if metric == "tfidf":
        D = np.sqrt(D) * _idf(P) * P
        metric = "cosine"
    elif metric == "bm25":
        row_sums = D.sum(axis=1)
        mean = row_sums.mean() if row_sums.size else 0.0
        norm = (1 - b) + b * row_sums / (mean if mean > 0 else 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            W = D * (k1 + 1.0) / (k1 * norm[:, None] + D) * _idf(P)
        D = np.where(P > 0, W, 0.0)
        metric = "dot"
    elif metric == "centered_cosine":
        means = _safe_div(D.sum(axis=1), P.sum(axis=1))
        D = (D - means[:, None]) * P
        metric = "cosine"
    elif metric == "adjusted_cosine":
        means = _safe_div(D.sum(axis=0), P.sum(axis=0))
        D = (D - means[None, :]) * P
        metric = "corated_cosine"

    if metric == "dot":
        return D @ D.T, support
    if metric == "cosine":
        norms = np.sqrt((D * D).sum(axis=1))
        return _safe_div(D @ D.T, np.outer(norms, norms)), support
    if metric == "jaccard":
        lengths = P.sum(axis=1)
        return _safe_div(support, lengths[:, None] + lengths[None, :] - support), support
    # co-rated statistics over shared columns
    n = support
    sxy = D @ D.T
    sx = D @ P.T  # sum over shared columns of row i's values
    sy = sx.T
    sxx = (D * D) @ P.T
    syy = sxx.T
    if metric == "pearson":
        vx = n * sxx - sx**2
        vy = n * syy - sy**2
        ok = (vx > 0) & (vy > 0)
        return np.where(ok, _safe_div(n * sxy - sx * sy, np.sqrt(np.where(ok, vx * vy, 1.0))), 0.0), support
    if metric == "corated_cosine":
        d = sxx * syy
        return np.where(d > 0, _safe_div(sxy, np.sqrt(np.where(d > 0, d, 1.0))), 0.0), support
    if metric == "msd":
        sq = sxx + syy - 2 * sxy
        return np.where(n > 0, 1.0 / (_safe_div(sq, n) + 1.0), 0.0), support
    raise ValueError(metric)


def expected_candidates(sim, support, *, shrinkage=0.0, min_support=1):
    """Similarity after shrinkage, and the mask of pairs allowed to appear."""
    s = sim * (support / (support + shrinkage)) if shrinkage > 0 else sim.copy()
    allowed = support >= max(min_support, 1)
    np.fill_diagonal(allowed, False)
    return s, allowed


RANK_TOL = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}


def check_ranked(S, ok, k, ids, scores, dtype, n_candidates=None):
    """Check a fixed-width top-k result (ids, scores) against dense reference scores S (float64)
    and a candidate mask ok: right shape (min(k, n_candidates) columns: the allowed items, all
    columns of S by default) and dtypes, only candidates, scores equal to S within rounding,
    descending with ties in increasing id, nothing better left out, padding (-1, -inf) exactly
    where fewer than k candidates exist."""
    tol = RANK_TOL[np.dtype(dtype).type]
    k = min(k, S.shape[1] if n_candidates is None else n_candidates)
    assert ids.shape == scores.shape == (S.shape[0], k)
    assert ids.dtype == np.int64 and scores.dtype == dtype
    scale = max(1.0, float(np.abs(S[ok]).max()) if ok.any() else 1.0)
    for q in range(S.shape[0]):
        m = min(k, int(ok[q].sum()))
        got, val = ids[q, :m], scores[q, :m].astype(np.float64)
        assert np.all(ids[q, m:] == -1) and np.all(np.isneginf(scores[q, m:])), "padding"
        assert np.all(got >= 0) and len(set(got.tolist())) == m, "duplicate or padding inside the top"
        assert np.all(ok[q, got]), "an excluded, not-allowed or unreached item was returned"
        np.testing.assert_allclose(val, S[q, got], rtol=tol["rtol"], atol=tol["atol"] * scale)
        assert np.all(np.diff(val) <= 0)
        tied = np.diff(val) == 0
        assert np.all(np.diff(got)[tied] > 0), "equal scores must come in increasing id"
        rest = ok[q].copy()
        rest[got] = False
        if m and rest.any():
            assert S[q, rest].max() <= val[-1] + tol["atol"] * scale + tol["rtol"] * abs(val[-1])


def same_for_any_thread_count(run, threads=(2, 5)):
    """run(n_threads) -> tuple of arrays; asserts every thread count gives identical arrays and
    returns the single-thread result."""
    one = run(1)
    for n in threads:
        for a, b in zip(one, run(n)):
            np.testing.assert_array_equal(a, b)
    return one

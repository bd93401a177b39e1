"""Row weightings and centrings applied before a similarity kernel (all O(nnz), numpy).

Each function takes canonical CSR parts (see ``_sparse.check_sparse``) and returns new values
for the same sparsity pattern; the caller's arrays are never modified.
"""

from __future__ import annotations

import numpy as np

from ._sparse import CsrParts


def row_ids(X: CsrParts) -> np.ndarray:
    """Row id of every stored entry."""
    return np.repeat(np.arange(X.shape[0], dtype=np.int64), np.diff(X.indptr))


def _require_nonnegative(X: CsrParts, metric: str) -> None:
    if X.data.size and X.data.min() < 0:
        raise ValueError(f"metric={metric!r} needs non-negative values in X (counts or weights)")


def idf(X: CsrParts) -> np.ndarray:
    """implicit's inverse document frequency per column: log(n_rows) - log1p(column count)."""
    df = np.bincount(X.indices, minlength=X.shape[1]).astype(np.float64)
    return np.log(max(X.shape[0], 1)) - np.log1p(df)


def tfidf(X: CsrParts) -> np.ndarray:
    """sqrt(x) * idf(column), exactly as implicit's ``tfidf_weight``."""
    _require_nonnegative(X, "tfidf")
    return (np.sqrt(X.data, dtype=np.float64) * idf(X)[X.indices]).astype(X.data.dtype)


def bm25(X: CsrParts, k1: float, b: float) -> np.ndarray:
    """Okapi BM25 weights of each row (a document) over its columns (terms), as implicit's
    ``bm25_weight``: x (k1 + 1) / (k1 * norm(row) + x) * idf(column), with
    norm(row) = (1 - b) + b * rowsum / mean(rowsum)."""
    _require_nonnegative(X, "bm25")
    x = X.data.astype(np.float64)
    rows = row_ids(X)
    sums = np.bincount(rows, weights=x, minlength=X.shape[0]).astype(np.float64)
    mean = sums.mean() if sums.size else 0.0
    length_norm = (1.0 - b) + b * sums / (mean if mean > 0 else 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):  # 0/0 only for k1 = 0 and x = 0
        w = x * (k1 + 1.0) / (k1 * length_norm[rows] + x) * idf(X)[X.indices]
    w[~np.isfinite(w)] = 0.0
    return w.astype(X.data.dtype)


def center_rows(X: CsrParts) -> np.ndarray:
    """Each stored value minus its row's mean over the row's stored entries."""
    counts = np.diff(X.indptr)
    sums = np.bincount(row_ids(X), weights=X.data, minlength=X.shape[0]).astype(np.float64)
    means = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    return (X.data - means[row_ids(X)]).astype(X.data.dtype)


def center_columns(X: CsrParts) -> np.ndarray:
    """Each stored value minus its column's mean over the column's stored entries."""
    counts = np.bincount(X.indices, minlength=X.shape[1])
    sums = np.bincount(X.indices, weights=X.data, minlength=X.shape[1]).astype(np.float64)
    means = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    return (X.data - means[X.indices]).astype(X.data.dtype)

"""Centrings applied before a similarity kernel (O(nnz), numpy). The tfidf and bm25
weightings run inside the C++ kernel (cpp/include/recforge/weighting.hpp).

Each function takes canonical CSR parts (see ``_sparse.check_sparse``) and returns new values
for the same sparsity pattern; the caller's arrays are never modified.
"""

from __future__ import annotations

import numpy as np

from .._sparse import CsrParts, row_ids


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

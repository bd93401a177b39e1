"""Row selectors the models share when they rank rows of a matrix they hold (neighbours of
given items or users): as CSR parts for the top-k kernels."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._sparse import CsrParts, check_sparse


def selector(n: int, dtype) -> CsrParts:
    """The n x n identity: as ``history`` with ``rows=ids`` it makes topk_sparse return rows of
    the similarity matrix itself, ranked and padded, with no Python loop."""
    return check_sparse(sp.identity(n, dtype=dtype, format="csr"), "identity")


def self_exclusion(ids: np.ndarray, n: int) -> CsrParts:
    """One banned entry per row: the asked id itself."""
    E = sp.csr_matrix((np.ones(len(ids)), ids, np.arange(len(ids) + 1)), shape=(len(ids), n))
    return check_sparse(E, "exclude")


def pad_empty_histories(ids: np.ndarray, scores: np.ndarray, history: CsrParts):
    """Top-k results with the rows of users whose history is empty turned into padding (-1,
    -inf): a model answering from a history has nothing to answer from there, and must not
    return an arbitrary list (the first items by index) as if it knew."""
    empty = np.diff(history.indptr) == 0
    if empty.any():
        ids, scores = ids.copy(), scores.copy()
        ids[empty], scores[empty] = -1, -np.inf
    return ids, scores


def top_rows(ids: np.ndarray, scores: np.ndarray, n_cols: int) -> sp.csr_matrix:
    """A top-k result (ids padded with -1) as a sparse matrix of its scores, one row per query:
    neighbour lists as a similarity matrix."""
    kept = ids >= 0
    indptr = np.concatenate([[0], np.cumsum(kept.sum(axis=1))])
    return sp.csr_matrix((scores[kept], ids[kept], indptr), shape=(ids.shape[0], n_cols))

"""Exact top-k by inner product: ``recforge.topk``."""

from __future__ import annotations

import numpy as np

from . import _core
from ._checks import check_int
from ._config import resolve_threads
from ._sparse import check_sparse


def _dense(a, name: str) -> np.ndarray:
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(a).__module__}.{type(a).__name__}")
    if a.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64, got {a.dtype}")
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D (rows x factors), got {a.ndim} dimensions")
    if not a.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous; pass numpy.ascontiguousarray({name}) (a copy)")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} holds NaN or inf")
    return a


def topk(queries, items, k: int = 10, exclude=None, allow=None, n_threads: int = 0, *, cosine: bool = False):
    """The k items with the highest inner product for every query row, exactly.

    Scores are never materialised as an n_queries x n_items matrix: items are tiled and each
    tile's scores go straight into per-query top-k buffers. Items are visited in decreasing norm
    order, and a query stops as soon as ``|q| * |item|`` cannot beat its k-th best score
    (Cauchy-Schwarz), which is exact.

    Parameters
    ----------
    queries : numpy.ndarray, shape (n_queries, n_factors)
        float32 or float64, C-contiguous, finite (e.g. user factors).
    items : numpy.ndarray, shape (n_items, n_factors)
        Same dtype as ``queries``, C-contiguous, finite (e.g. item factors).
    k : int, default 10
        Items returned per query (>= 0).
    exclude : scipy.sparse matrix or array, shape (n_queries, n_items), optional
        Stored entries are items banned for that query (e.g. what the customer already bought);
        values are ignored.
    allow : array-like of int, optional
        Candidate item ids for every query (duplicates ignored). Combined with ``exclude``,
        an item must be allowed and not excluded.
    n_threads : int, default 0
        Threads; 0 means every CPU this process may use. Results do not depend on it.

    cosine : bool, default False, keyword-only
        Rank by cosine similarity instead (queries and items normalised; zero vectors score 0).
    Returns
    -------
    ids : numpy.ndarray of int64, shape (n_queries, k)
        Row q holds the best items for query q by descending score, equal scores in increasing
        id. Rows with fewer than k candidates are padded with -1.
    scores : numpy.ndarray, shape (n_queries, k), dtype of ``queries``
        The matching scores; padding is -inf.

    Raises
    ------
    TypeError
        Non-array or non-float inputs, mismatched dtypes, non-integer ``k`` or ``allow``.
    ValueError
        Wrong dimensions or shapes, NaN/inf, negative ``k``, ids in ``allow`` out of range,
        malformed ``exclude``.

    Examples
    --------
    >>> import numpy as np, recforge as rf
    >>> rng = np.random.default_rng(0)
    >>> users, items = rng.normal(size=(5, 8)), rng.normal(size=(100, 8))
    >>> ids, scores = rf.topk(users, items, k=3)
    >>> ids.shape
    (5, 3)
    """
    queries = _dense(queries, "queries")
    items = _dense(items, "items")
    if items.dtype != queries.dtype:
        raise TypeError(f"items must have the dtype of queries ({queries.dtype}), got {items.dtype}")
    if items.shape[1] != queries.shape[1]:
        raise ValueError(f"queries and items must have the same number of columns (factors), got "
                         f"{queries.shape[1]} and {items.shape[1]}")
    k = check_int(k, "k", minimum=0)
    threads = resolve_threads(n_threads)
    n_queries, n_items = queries.shape[0], items.shape[0]
    ex_indptr = ex_indices = ex_data = None
    index_dtype = np.int64
    if exclude is not None:
        ex = check_sparse(exclude, "exclude")
        if ex.shape != (n_queries, n_items):
            raise ValueError(f"exclude must have shape (n_queries, n_items) = {(n_queries, n_items)}, got {ex.shape}")
        ex_indptr, ex_indices = ex.indptr, ex.indices
        ex_data = ex.data.astype(queries.dtype, copy=False)
        index_dtype = ex.indices.dtype
    allowed = None
    if allow is not None:
        allowed = np.asarray(allow)
        if allowed.ndim != 1:
            raise ValueError(f"allow must be 1-D, got {allowed.ndim} dimensions")
        if allowed.size and not np.issubdtype(allowed.dtype, np.integer):
            raise TypeError(f"allow must hold integer item ids, got {allowed.dtype}")
        if allowed.size and (allowed.min() < 0 or allowed.max() >= n_items):
            bad = allowed[(allowed < 0) | (allowed >= n_items)][0]
            raise ValueError(f"allow holds item id {bad}, outside [0, {n_items})")
        allowed = np.unique(allowed).astype(index_dtype)
    return _core.topk_dense(queries, items, ex_indptr, ex_indices, ex_data, allowed, k, cosine, threads)

"""Exact top-k by inner product: ``recforge.topk``."""

from __future__ import annotations

import numpy as np

from .. import _core
from .._checks import check_bool, check_int
from .._config import resolve_threads
from .._sparse import CsrParts, check_sparse


def _dense(a, name: str) -> np.ndarray:
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(a).__module__}.{type(a).__name__}")
    if a.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64, got {a.dtype}")
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D (rows x factors), got {a.ndim} dimensions")
    return a


def _usable(a: np.ndarray, name: str) -> np.ndarray:
    """After the shapes are known to fit (a slice with the wrong columns is told so first)."""
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
        Items returned per query (>= 0). The output has min(k, number of candidate items)
        columns (the allowed items, else all): a huge k never allocates beyond the catalogue.
    exclude : scipy.sparse matrix or array, shape (n_queries, n_items), optional
        Stored entries are items banned for that query (e.g. what the customer already bought);
        values are ignored.
    allow : array-like of int, optional
        Candidate item ids for every query (duplicates ignored). Combined with ``exclude``,
        an item must be allowed and not excluded.
    n_threads : int, default 0
        Threads; 0 means every CPU this process may use; larger counts are capped at that number.
        Results do not depend on it.

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
    cosine = check_bool(cosine, "cosine")
    queries = _dense(queries, "queries")
    items = _dense(items, "items")
    if items.dtype != queries.dtype:
        raise TypeError(f"items must have the dtype of queries ({queries.dtype}), got {items.dtype}")
    if items.shape[1] != queries.shape[1]:
        raise ValueError(
            f"queries and items must have the same number of columns (factors), got "
            f"{queries.shape[1]} and {items.shape[1]}"
        )
    queries, items = _usable(queries, "queries"), _usable(items, "items")
    k = check_int(k, "k", minimum=0)
    ex = check_sparse(exclude, "exclude") if exclude is not None else None
    return dense_topk_parts(queries, items, k, ex, allow, resolve_threads(n_threads), cosine)


# Calls with at most this many queries score tile by tile without packing the catalogue first
# (topk_dense.hpp, kDirectQueries); a packed copy kept beside the items spares them that too.
DIRECT_QUERIES = 8


def pack_items(items: np.ndarray, cosine: bool = False) -> np.ndarray:
    """``items`` in the dense top-k kernel's tile layout, for ``dense_topk_parts(packed=)``: a
    caller answering one customer at a time (a web service) packs its catalogue once. Same size
    as ``items`` (plus padding to 32 rows)."""
    return _core.pack_items(np.ascontiguousarray(items), cosine)


def dense_topk_parts(
    queries: np.ndarray,
    items: np.ndarray,
    k: int,
    ex: CsrParts | None,
    allow,
    threads: int,
    cosine: bool = False,
    packed: np.ndarray | None = None,
):
    """:func:`topk` on validated arrays and exclusion parts; ``packed``: :func:`pack_items` of
    ``items`` (with the same ``cosine``), used by calls of at most DIRECT_QUERIES queries
    without ``allow``."""
    n_queries, n_items = queries.shape[0], items.shape[0]
    index_dtype = ex.indices.dtype if ex is not None else np.dtype(np.int64)
    ex_arrays = _exclusion(ex, (n_queries, n_items), index_dtype, queries.dtype, "n_queries")
    allowed = allowed_items(allow, n_items, index_dtype)
    # The exclusion is CsrParts: validated at the public boundary, so the core only checks sizes.
    return _core.topk_dense(
        queries,
        items,
        *ex_arrays,
        allowed,
        k,
        cosine,
        threads,
        trusted=True,
        packed=packed,
        shift=0.0 if cosine else bias_shift(queries, items),
    )


def ranked_topk_parts(
    order: np.ndarray, score: np.ndarray, n_rows: int, k: int, ex: CsrParts | None, allow, threads: int
):
    """Every row's top ``k`` of one global ranking: ``order`` (item ids, best first, ties to the
    lower id; e.g. a stable argsort of ``-score``) past the row's exclusions, restricted to
    ``allow``. The answer of :func:`dense_topk_parts` for a constant query against ``score`` as
    a one-column item matrix, without sorting the catalogue on every call (ranked_topk.hpp)."""
    n_items = score.shape[0]
    index_dtype = ex.indices.dtype if ex is not None else np.dtype(np.int64)
    indptr, indices, data = _exclusion(ex, (n_rows, n_items), index_dtype, score.dtype, "n_rows")
    allowed = allowed_items(allow, n_items, index_dtype)
    if allowed is not None:
        kept = np.zeros(n_items, dtype=bool)
        kept[allowed] = True
        order = order[kept[order]]
    return _core.ranked_topk(order, score, indptr, indices, data, n_rows, k, threads, trusted=True)


def bias_shift(queries: np.ndarray, items: np.ndarray) -> float:
    """Where the dense kernel's pruning bound puts the zero of the items' last column: when
    every query weighs that column alike, it is a bias (``[p, 1] . [f, b]``: BPR, BiasedMF,
    implicit's BPR factors), and its 5th percentile (95th for a negative weight), else 0.

    The kernel bounds a score by ``|q| |i|`` and scores items in decreasing ``|i|``: a large
    negative bias makes an item's norm large though it scores low, and where the factors are
    small beside the biases nearly every item gets scored. Shifted, the bound ranks the items
    by bias and stays tight (BiasedMF's top-10 of 100k customers over 49k products: 2.79 s ->
    0.054 s, ``bench/bench_topk.py --factors biasedmf``). The answer does not depend on the
    shift, bit for bit (topk_dense.hpp)."""
    if queries.shape[0] <= DIRECT_QUERIES or queries.shape[1] < 2 or items.shape[0] == 0:
        return 0.0  # a few queries score every item (no pruning), or no bias column
    weight = queries[:, -1]
    if weight[0] == 0 or not np.all(weight == weight[0]):
        return 0.0
    return float(np.percentile(items[:, -1], 5 if weight[0] > 0 else 95))


def _exclusion(ex, shape: tuple[int, int], index_dtype, value_dtype, rows: str):
    """Exclusion CSR arrays in the kernel's dtypes (indptr, indices, data), or three Nones.
    Values are never read, so converting them costs one small copy at most; index arrays are
    converted only when their dtype differs from the other inputs' (a documented copy)."""
    if ex is None:
        return None, None, None
    if ex.shape != shape:
        raise ValueError(f"exclude must have shape ({rows}, n_items) = {shape}, got {ex.shape}")
    return (
        ex.indptr.astype(index_dtype, copy=False),
        ex.indices.astype(index_dtype, copy=False),
        ex.data.astype(value_dtype, copy=False),
    )


def allowed_items(allow, n_items: int, index_dtype=np.int64):
    """``allow`` (candidate item ids) checked and made sorted and distinct, as ``index_dtype``;
    None stays None. ValueError/TypeError naming ``allow`` otherwise."""
    if allow is None:
        return None
    allowed = np.asarray(allow)
    if allowed.ndim != 1:
        raise ValueError(f"allow must be 1-D, got {allowed.ndim} dimensions")
    if allowed.size and not np.issubdtype(allowed.dtype, np.integer):
        raise TypeError(f"allow must hold integer item ids, got {allowed.dtype}")
    if allowed.size and (allowed.min() < 0 or allowed.max() >= n_items):
        bad = allowed[(allowed < 0) | (allowed >= n_items)][0]
        raise ValueError(f"allow holds item id {bad}, outside [0, {n_items})")
    return np.unique(allowed).astype(index_dtype)


def topk_sparse(history, similarity, k: int = 10, exclude=None, allow=None, n_threads: int = 0):
    """Top-k items of every row of ``history @ similarity``: neighbourhood scoring.

    For item-based scoring, ``history`` is users x items (interaction weights) and
    ``similarity`` items x items, e.g. ``rf.similarity(X.T)``: an item scores the sum, over the
    user's items, of weight times similarity. For user-based scoring, pass the users' rows of a
    user-user similarity as ``history`` and the interactions (users x items) as ``similarity``.
    The product is never formed: each row is accumulated in a per-thread dense array and only
    the items it reaches are ranked, in parallel over rows.

    Parameters
    ----------
    history : scipy.sparse matrix or array, shape (n_rows, m)
        Any sparse format (validated as by :func:`recforge.as_csr`). Its values are converted to
        the value dtype of ``similarity`` (a copy of ``history.data`` when they differ).
    similarity : scipy.sparse matrix or array, shape (m, n_items)
        float32 or float64 values; sets the dtype of the returned scores.
    k : int, default 10
        Items returned per row (>= 0); the output has min(k, number of candidate items) columns.
    exclude : scipy.sparse matrix or array, shape (n_rows, n_items), optional
        Stored entries are items banned for that row (e.g. ``history`` itself for item-based
        scoring, to drop what the customer already has); values are ignored.
    allow : array-like of int, optional
        Candidate item ids for every row; combined with ``exclude``, an item must be allowed
        and not excluded.
    n_threads : int, default 0
        Threads; 0 means every CPU this process may use; larger counts are capped at that number.
        Results do not depend on it.

    Returns
    -------
    ids : numpy.ndarray of int64, shape (n_rows, k)
        Row u holds its best items by descending score, equal scores in increasing id. Only
        items the product reaches are candidates (an item no history entry links to has no
        score); rows with fewer than k candidates are padded with -1.
    scores : numpy.ndarray, shape (n_rows, k), dtype of ``similarity``
        The matching scores, summed in double precision in a fixed order; padding is -inf.

    Raises
    ------
    TypeError
        Non-sparse or non-numeric matrices, non-integer ``k`` or ``allow``.
    ValueError
        Malformed or non-finite matrices, mismatched shapes, negative ``k``, ids in ``allow``
        out of range.

    Notes
    -----
    When ``history``, ``similarity`` and ``exclude`` differ in index dtype (int32/int64), the
    int32 ones are converted to int64 (a copy of their index arrays).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, recforge as rf
    >>> X = sp.random(50, 20, density=0.2, format="csr", random_state=0)
    >>> S = rf.similarity(X.T, k=5)
    >>> ids, scores = rf.topk_sparse(X, S, k=3, exclude=X)
    >>> ids.shape
    (50, 3)
    """
    sim = check_sparse(similarity, "similarity")
    hist = check_sparse(history, "history")
    if hist.shape[1] != sim.shape[0]:
        raise ValueError(
            f"history has {hist.shape[1]} columns but similarity has {sim.shape[0]} rows; "
            "they must match (history @ similarity)"
        )
    k = check_int(k, "k", minimum=0)
    ex = check_sparse(exclude, "exclude") if exclude is not None else None
    return sparse_topk_parts(hist, sim, k, ex, allow, resolve_threads(n_threads))


def sparse_topk_parts(
    hist: CsrParts, sim: CsrParts, k: int, ex: CsrParts | None, allow, threads: int, rows: np.ndarray | None = None
):
    """:func:`topk_sparse` on validated parts; ``rows`` (int64) selects and orders history rows
    without copying them (the exclusion then has one row per selected row). The parts are
    trusted: the O(nnz) structure check ran when they were made (check_sparse), so a one-row
    call against a large cached similarity costs what the row needs, not a re-validation."""
    # The similarity's index dtype whenever the other operands' indices fit it: converting a
    # one-customer row costs nothing, converting a cached similarity costs O(nnz) per call.
    small = np.iinfo(np.int32).max
    fits = hist.shape[1] <= small and hist.indptr[-1] <= small and (ex is None or ex.indptr[-1] <= small)
    index_dtype = sim.indices.dtype if fits else np.dtype(np.int64)
    value_dtype = sim.data.dtype
    n_rows, n_items = (hist.shape[0] if rows is None else len(rows)), sim.shape[1]
    ex_arrays = _exclusion(ex, (n_rows, n_items), index_dtype, value_dtype, "n_rows")
    allowed = allowed_items(allow, n_items, index_dtype)
    return _core.topk_sparse(
        hist.indptr.astype(index_dtype, copy=False),
        hist.indices.astype(index_dtype, copy=False),
        hist.data.astype(value_dtype, copy=False),
        hist.shape[0],
        hist.shape[1],
        sim.indptr.astype(index_dtype, copy=False),
        sim.indices.astype(index_dtype, copy=False),
        sim.data,
        n_items,
        *ex_arrays,
        allowed,
        k,
        threads,
        rows,
        trusted=True,
    )

"""Sparse row-row similarity: ``recforge.similarity``."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .. import _core
from .._checks import check_choice, check_int, check_real
from .._config import resolve_threads
from .._sparse import CsrParts, check_sparse, check_sparse_transpose
from . import weighting

METRICS = (
    "cosine",
    "dot",
    "jaccard",
    "pearson",
    "centered_cosine",
    "adjusted_cosine",
    "corated_cosine",
    "msd",
    "tfidf",
    "bm25",
)


def _kernel_input(parts: CsrParts, metric: str, transposed: bool) -> tuple[np.ndarray, str]:
    """Values handed to the kernel and the kernel metric that finishes the job (tfidf and
    bm25 weight inside the kernel). ``parts`` holds X, or X.T when ``transposed``: X's rows
    are then its columns."""
    rows, columns = (
        (weighting.center_columns, weighting.center_rows)
        if transposed
        else (weighting.center_rows, weighting.center_columns)
    )
    if metric == "centered_cosine":
        return rows(parts), "cosine"
    if metric == "adjusted_cosine":
        return columns(parts), "corated_cosine"
    return parts.data, metric


def similarity(
    X,
    k: int = 50,
    metric: str = "cosine",
    shrinkage: float = 0.0,
    min_support: int = 1,
    n_threads: int = 0,
    *,
    k1: float = 1.2,
    b: float = 0.75,
):
    """Top-k most similar rows for every row of a sparse matrix.

    Similarity is computed between the **rows** of ``X``: pass ``X`` (users x items) for
    user-user similarity and ``X.T`` for item-item similarity. No dense n x n matrix is ever
    formed: memory is O(n * k) for the output plus O(n) per thread.

    Parameters
    ----------
    X : scipy.sparse matrix or array, shape (n_rows, n_cols)
        Any sparse format; validated and canonicalised as by :func:`recforge.as_csr`
        (float32 stays float32). Every *stored* entry counts as an observation, explicit
        zeros included (they matter for jaccard, support counts and the co-rated metrics).
    k : int, default 50
        Neighbours kept per row (>= 0). Rows with fewer candidates keep fewer.
    metric : str, default "cosine"
        - ``"cosine"``: x.y / (||x|| ||y||), norms over all stored entries of each row.
        - ``"dot"``: x.y.
        - ``"jaccard"``: |A & B| / |A | B| on the sparsity pattern.
        - ``"pearson"``: Pearson correlation over the columns both rows hold (co-rated),
          exactly scikit-surprise's ``pearson`` (0 where a variance is 0).
        - ``"centered_cosine"``: each row centred by the mean of its stored entries, then cosine.
        - ``"adjusted_cosine"``: Sarwar et al. (2001) for item rows: each entry centred by its
          column (user) mean, then cosine with all sums over the co-rated columns.
        - ``"corated_cosine"``: cosine with all sums over the co-rated columns
          (scikit-surprise's ``cosine``).
        - ``"msd"``: 1 / (mean squared difference over co-rated columns + 1) (scikit-surprise).
        - ``"tfidf"``: implicit's TF-IDF weighting (sqrt(x) * idf of the column), then cosine,
          as ``implicit.nearest_neighbours.TFIDFRecommender``.
        - ``"bm25"``: implicit's BM25 weighting with ``k1`` and ``b``, then the dot product of
          the weighted rows, exactly as ``implicit.nearest_neighbours.BM25Recommender`` (which
          does not normalise after weighting).
    shrinkage : float, default 0.0
        Multiply each similarity by n / (n + shrinkage), n = number of shared columns.
    min_support : int, default 1
        Pairs sharing fewer than ``min_support`` columns get no entry.
    n_threads : int, default 0
        Threads to use; 0 means every CPU this process may run on (see :func:`recforge.config`), and
        larger counts are capped at that number.
        The result is identical for every thread count.
    k1, b : float, keyword-only
        BM25 parameters (implicit's ``K1`` and ``B``), used by ``metric="bm25"``.

    Returns
    -------
    scipy.sparse.csr_matrix or csr_array, shape (n_rows, n_rows)
        Same flavour and value dtype as ``X``. Row i holds at most k entries: the rows j != i
        sharing at least ``max(1, min_support)`` columns with i and whose similarity is
        non-zero, sorted by descending similarity, equal similarities in increasing j. Rows
        with no neighbour are empty. Similarities may be negative (pearson, centred metrics).

    Raises
    ------
    TypeError
        ``X`` is not sparse or not real; a scalar argument has the wrong type.
    ValueError
        Malformed ``X`` (see :func:`recforge.as_csr`), unknown metric, negative ``k``,
        ``shrinkage`` or ``min_support``, negative values with ``tfidf``/``bm25``.

    Examples
    --------
    >>> import scipy.sparse as sp, recforge as rf
    >>> user_items = sp.random(1000, 200, density=0.05, format="csr", random_state=0)
    >>> item_item = rf.similarity(user_items.T, k=10)            # items x items
    >>> item_item.shape
    (200, 200)
    """
    return _similarity(X, k, metric, shrinkage, min_support, n_threads, k1, b, None)


def check_options(k, metric, shrinkage, min_support, k1, b) -> dict:
    """:func:`similarity`'s scalar arguments, validated (``ValueError``/``TypeError`` naming the
    argument), as keyword arguments for it."""
    b = check_real(b, "b", minimum=0.0)
    if b > 1:
        raise ValueError(f"b must be in [0, 1], got {b}")
    return {
        "k": check_int(k, "k", minimum=0),
        "metric": check_choice(metric, "metric", METRICS),
        "shrinkage": check_real(shrinkage, "shrinkage", minimum=0.0),
        "min_support": check_int(min_support, "min_support", minimum=0),
        "k1": check_real(k1, "k1", minimum=0.0),
        "b": b,
    }


# similarity_part's walk= as the kernel's receiver_walk.
_WALKS = {"auto": -1, "rows": 0, "receivers": 1}


def _similarity(X, k, metric, shrinkage, min_support, n_threads, k1, b, rows, walk="auto"):
    options = check_options(k, metric, shrinkage, min_support, k1, b)
    k, metric, shrinkage, min_support, k1, b = (
        options[key] for key in ("k", "metric", "shrinkage", "min_support", "k1", "b")
    )
    threads = resolve_threads(n_threads)
    # X in CSC form (user_items.T for item-item) is X.T in CSR form: the kernel takes it as it
    # is, sparing scipy's conversion (the kernel needs both orientations anyway).
    transposed = sp.issparse(X) and X.format == "csc" and X.ndim == 2
    parts = check_sparse_transpose(X, "X") if transposed else check_sparse(X, "X")
    data, kernel_metric = _kernel_input(parts, metric, transposed)
    n = parts.shape[1] if transposed else parts.shape[0]
    start, stop = (0, n) if rows is None else _row_range(rows, n)
    indptr, indices, values = _core.similarity(
        parts.indptr,
        parts.indices,
        data,
        *parts.shape,
        k,
        kernel_metric,
        shrinkage,
        min_support,
        threads,
        k1,
        b,
        transposed,
        rows_begin=start,
        rows_end=stop,
        receiver_walk=_WALKS[walk],
    )
    cls = sp.csr_array if parts.is_array else sp.csr_matrix
    return cls((values, indices, indptr), shape=(n, n))


def _row_range(rows, n: int) -> tuple[int, int]:
    if not isinstance(rows, tuple) or len(rows) != 2:
        raise TypeError(f"rows must be a (start, stop) tuple, got {rows!r}")
    start = check_int(rows[0], "rows start", minimum=0)
    stop = check_int(rows[1], "rows stop", minimum=0)
    if not start <= stop <= n:
        raise ValueError(f"rows must satisfy 0 <= start <= stop <= {n} (the rows of X), got {rows}")
    return start, stop


def similarity_part(
    X,
    rows: tuple[int, int],
    k: int = 50,
    metric: str = "cosine",
    shrinkage: float = 0.0,
    min_support: int = 1,
    n_threads: int = 0,
    *,
    k1: float = 1.2,
    b: float = 0.75,
    walk: str = "auto",
):
    """The share of :func:`similarity` owned by a range of rows.

    A pair of rows belongs to its lower row. This computes the pairs of the rows
    ``start <= i < stop`` with every row after them and offers each to both of its rows, so row
    r of the result holds the top k of the part's pairs that involve r. Parts whose ranges
    partition ``[0, n_rows)`` compute every pair once, with the arithmetic of
    :func:`similarity`; :func:`merge_similarity_parts` turns them into ``similarity(X, ...)``
    bit for bit. This is how :func:`recforge.distributed.similarity` splits the work
    (:func:`pair_work` gives each row's share). The parts together take longer than
    :func:`similarity` (two parts 1.2-1.45x on the benchmark's synthetic set): each row's top k
    is selected once in every part that has pairs of it, and each part prepares all of ``X``.

    Parameters
    ----------
    X
        As for :func:`similarity`; every part needs all of ``X`` (its rows pair with all after).
    rows : (int, int)
        ``(start, stop)``, ``0 <= start <= stop <= n_rows``.
    k, metric, shrinkage, min_support, n_threads, k1, b
        As for :func:`similarity`.
    walk : {"auto", "rows", "receivers"}, default "auto"
        How the pairs of the range's rows with the rows after ``stop`` are walked: from the
        range's rows (each later row then admits offers one by one, under its lock, before it
        has enough to compare them with), or from the later rows (each selects from all of its
        candidates at once, at the cost of a lookup per stored entry). "auto" estimates which
        is cheaper. The result is the same either way, bit for bit.

    Returns
    -------
    scipy.sparse.csr_matrix or csr_array, shape (n_rows, n_rows)
        Rows sorted as :func:`similarity`'s; rows before ``start`` are empty.
    """
    if walk not in _WALKS:
        raise ValueError(f"walk must be one of {sorted(_WALKS)}, got {walk!r}")
    return _similarity(X, k, metric, shrinkage, min_support, n_threads, k1, b, rows, walk)


def merge_similarity_parts(parts, k: int, n_threads: int = 0):
    """Row by row, the best ``k`` entries of the parts (:func:`similarity_part`) of ranges that
    partition the rows: ``similarity(X, ...)``, entries, order and dtypes alike.

    Parameters
    ----------
    parts : sequence of scipy.sparse CSR, one shape, value dtype and flavour
        No pair may be in two parts (true of parts over disjoint ranges).
    k : int
        As given to the parts.
    n_threads : int, default 0
        As for :func:`similarity`.

    Returns
    -------
    scipy.sparse.csr_matrix or csr_array
    """
    k = check_int(k, "k", minimum=0)
    parts = list(parts)
    if not parts:
        raise ValueError("parts must hold at least one matrix")
    first = parts[0]
    if any(not sp.issparse(p) or p.format != "csr" or p.shape != first.shape or p.dtype != first.dtype for p in parts):
        raise ValueError("parts must be CSR matrices of one shape and value dtype")
    union = first
    for part in parts[1:]:  # each pair is in one part: the sum is the union of the entries
        union = union + part
    indices = union.indices.astype(first.indices.dtype, copy=False)
    indptr, indices, values = _core.topk_of_rows(
        union.indptr.astype(indices.dtype), indices, union.data, union.shape[1], k, resolve_threads(n_threads)
    )
    cls = sp.csr_array if isinstance(first, getattr(sp, "sparray", ())) else sp.csr_matrix
    return cls((values, indices, indptr), shape=first.shape)


def pair_work(X) -> np.ndarray:
    """For each row of ``X``, the work it brings to its :func:`similarity_part`: the sum over its
    columns of the rows after it holding that column. To cut the rows into ranges of equal
    work."""
    # The CSR whose rows are X's columns, rows of X in increasing order in each: X.T's (for a
    # CSC X its own arrays).
    by_column = check_sparse_transpose(X, "X")
    return _core.pair_work(by_column.indptr, by_column.indices, by_column.data, *by_column.shape, trusted=True)


def symmetric(similarity, n_items: int, dtype=np.float64, n_threads: int = 0) -> sp.csr_matrix:
    """``similarity`` as a canonical n_items x n_items CSR of ``dtype``, made symmetric by the
    larger of S[a, b] and S[b, a] (top-k neighbour lists are not symmetric: b may be among a's
    neighbours and not the other way round), an entry on one side only against 0, without its
    diagonal and without zeros: scipy's ``S.maximum(S.T)`` less the diagonal, built in C++
    (``symmetric.hpp``: 2M entries in 15 ms against scipy's 33 ms)."""
    S = check_sparse(similarity, "similarity")
    if S.shape != (n_items, n_items):
        raise ValueError(f"similarity must be n_items x n_items ({n_items}), got {S.shape}")
    indptr, indices, data = S.indptr, S.indices, S.data.astype(dtype, copy=False)
    if indices.dtype == np.int32 and 2 * indices.size >= 2**31 - 1:  # the result's entries in int64
        indptr, indices = indptr.astype(np.int64), indices.astype(np.int64)
    parts = _core.symmetric_max(indptr, indices, data, n_items, resolve_threads(n_threads), trusted=True)
    return sp.csr_matrix(parts[::-1], shape=(n_items, n_items))

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
    k = check_int(k, "k", minimum=0)
    metric = check_choice(metric, "metric", METRICS)
    shrinkage = check_real(shrinkage, "shrinkage", minimum=0.0)
    min_support = check_int(min_support, "min_support", minimum=0)
    k1 = check_real(k1, "k1", minimum=0.0)
    b = check_real(b, "b", minimum=0.0)
    if b > 1:
        raise ValueError(f"b must be in [0, 1], got {b}")
    threads = resolve_threads(n_threads)
    # X in CSC form (user_items.T for item-item) is X.T in CSR form: the kernel takes it as it
    # is, sparing scipy's conversion (the kernel needs both orientations anyway).
    transposed = sp.issparse(X) and X.format == "csc" and X.ndim == 2
    parts = check_sparse_transpose(X, "X") if transposed else check_sparse(X, "X")
    data, kernel_metric = _kernel_input(parts, metric, transposed)
    n = parts.shape[1] if transposed else parts.shape[0]
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
    )
    cls = sp.csr_array if parts.is_array else sp.csr_matrix
    return cls((values, indices, indptr), shape=(n, n))


def symmetric(similarity, n_items: int, dtype=np.float64) -> sp.csr_matrix:
    """``similarity`` as a canonical n_items x n_items CSR of ``dtype``, made symmetric by the
    larger of S[a, b] and S[b, a] (top-k neighbour lists are not symmetric: b may be among a's
    neighbours and not the other way round), without its diagonal."""
    S = check_sparse(similarity, "similarity").to_scipy()
    if S.shape != (n_items, n_items):
        raise ValueError(f"similarity must be n_items x n_items ({n_items}), got {S.shape}")
    S = sp.csr_matrix(S.maximum(S.T), dtype=dtype)
    S = sp.csr_matrix(S - sp.diags(S.diagonal(), format="csr"), dtype=dtype)
    S.eliminate_zeros()
    S.sort_indices()
    return S

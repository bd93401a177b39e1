"""Item-item (or user-user) similarity on a Dask cluster.

The rows are cut into ranges of equal work (:func:`recforge.kernels.similarity.pair_work`); each
task computes the pairs its range owns (:func:`recforge.kernels.similarity.similarity_part`)
against the whole matrix, sent to every worker once (:func:`~.shipping.ship`), keeping the top k of what it saw for
every row; the client merges the parts row by row. Every pair is computed once, with the
single-machine arithmetic, so the result equals :func:`recforge.similarity` bit for bit.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from distributed import get_client

from ..kernels.similarity import check_options, merge_similarity_parts, pair_work, similarity_part
from .shipping import ship


def _aligned(X):
    """X with index and value arrays at addresses their dtypes may be read from: a small matrix
    unpickled from a task message can sit at any byte offset (a copy only then)."""
    if sp.issparse(X) and X.format in ("csr", "csc"):
        parts = (X.data, X.indices, X.indptr)
        if not all(a.flags.aligned for a in parts):
            X = type(X)(tuple(np.require(a, requirements=["A"]) for a in parts), shape=X.shape)
    return X


def _part(X, rows: tuple[int, int], options: dict, n_threads: int):
    return similarity_part(_aligned(X), rows, n_threads=n_threads, **options)


# A row's cost in a part, in units of one pair accumulated in the kernel's sparse mode (which
# tracks the rows it touches): in its dense mode (a popular row) a pair costs DENSE_PAIR_COST
# and each row after it scanned DENSE_SCAN_COST. Fitted so that the cut between two parts
# gives equal measured times on the synthetic set and on 4x its customers (cuts at rows 1225
# and 850 of 20,000; the dense scans weigh more as the popular rows multiply).
DENSE_PAIR_COST = 0.36
DENSE_SCAN_COST = 0.185


def part_costs(work: np.ndarray) -> np.ndarray:
    """Each row's estimated cost in a part, from its :func:`pair_work`: the kernel takes its dense
    mode where the pairs reach a quarter of the rows after it."""
    work = np.asarray(work, dtype=np.float64)
    after = len(work) - np.arange(len(work)) - 1
    return np.where(4 * work >= after, DENSE_PAIR_COST * work + DENSE_SCAN_COST * after, work)


def equal_work_ranges(work: np.ndarray, count: int) -> list[tuple[int, int]]:
    """Cut ``[0, len(work))`` into at most ``count`` contiguous non-empty ranges of about equal
    total ``work`` (each row counts 1 more, for its fixed cost)."""
    n = len(work)
    cumulative = np.cumsum(np.asarray(work, dtype=np.float64) + 1.0)
    total = cumulative[-1] if n else 0.0
    cuts = np.searchsorted(cumulative, total * np.arange(1, count) / count, side="right")
    edges = np.unique(np.concatenate(([0], cuts, [n])))
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def similarity(
    X,
    k: int = 50,
    metric: str = "cosine",
    shrinkage: float = 0.0,
    min_support: int = 1,
    *,
    k1: float = 1.2,
    b: float = 0.75,
    parts: int | None = None,
    n_threads: int = 1,
    client=None,
):
    """Top-k most similar rows of ``X`` (as :func:`recforge.similarity`), computed on a cluster.

    Parameters
    ----------
    X : scipy.sparse matrix or array
        As for :func:`recforge.similarity` (``user_items.T`` for item-item). It is validated
        here and sent to every worker once: each row pairs with all the others.
    k, metric, shrinkage, min_support, k1, b
        As for :func:`recforge.similarity`.
    parts : int, optional
        Ranges of rows of equal estimated cost (:func:`part_costs`) the pairs are cut into, one
        task each. Default: the cluster's worker threads (each part costs a pass over X and an
        n_rows x k result).
    n_threads : int, default 1
        Threads of each task's kernel (0: every CPU the worker may use). Dask already runs one
        task per worker thread.
    client : distributed.Client, optional
        Default: the current client.

    Returns
    -------
    scipy.sparse.csr_matrix or csr_array, shape (n_rows, n_rows)
        Exactly ``recforge.similarity(X, k, metric, ...)``: entries, order, dtypes and flavour,
        whatever the number of parts or workers.

    Notes
    -----
    Each pair is computed once, by the part of its lower row, and offered to both rows. The
    parts together cost 1.2-1.5x one process's kernel on the synthetic benchmark set (each part
    prepares all of ``X``, and each row's top k is selected in every part that has pairs of
    it), and every worker holds all of ``X``: distribution pays where the pair work, not the
    matrix, outgrows a machine (user-user similarity over many customers), not on data one
    process handles.

    Examples
    --------
    >>> from distributed import Client                                      # doctest: +SKIP
    >>> client = Client("tcp://scheduler:8786")                             # doctest: +SKIP
    >>> item_item = recforge.distributed.similarity(user_items.T, k=50)     # doctest: +SKIP
    """
    client = client or get_client()
    options = check_options(k, metric, shrinkage, min_support, k1, b)
    work = pair_work(X)  # validates X
    n = len(work)
    if parts is None:
        parts = max(1, sum(client.nthreads().values()))
    if isinstance(parts, bool) or not isinstance(parts, (int, np.integer)) or parts < 1:
        raise ValueError(f"parts must be a positive integer, got {parts!r}")
    if isinstance(n_threads, bool) or not isinstance(n_threads, (int, np.integer)) or n_threads < 0:
        raise ValueError(f"n_threads must be an integer >= 0, got {n_threads!r}")
    ranges = equal_work_ranges(part_costs(work), int(parts)) or [(0, n)]
    shipped = ship(client, X, every_worker=True)
    computed = client.gather([client.submit(_part, shipped, r, options, int(n_threads), pure=False) for r in ranges])
    return merge_similarity_parts(computed, options["k"])

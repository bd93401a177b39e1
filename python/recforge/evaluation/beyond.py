"""Beyond-accuracy measures of recommendation lists, computed in one parallel C++ pass
(``beyond_accuracy.hpp``): what a list does to the catalogue and to the customer besides being
right.

Conventions:

- coverage: distinct recommended items / catalogue size.
- gini: Gini index of the items' exposure (times recommended) over the whole catalogue; 0 is
  every item equally exposed, 1 one item in every list.
- novelty: mean self-information -log2(popularity share) of the recommended items, where an
  item's popularity share is the fraction of training customers who interacted with it (items
  nobody bought count as bought once).
- mean_popularity: mean popularity share of the recommended items (popularity bias: compare it
  with the catalogue's or another model's).
- intra_list_diversity: 1 - mean pairwise similarity of a list's items (the similarity given,
  made symmetric by the larger direction), averaged over lists with at least two items.
- personalisation: 1 - mean Jaccard overlap between two customers' lists, over every pair when
  there are at most ``n_pairs`` pairs, else over ``n_pairs`` pairs drawn with ``seed``
  (pairs of two empty lists are skipped).

A measure with nothing to average over (no recommended item; no pair of lists; no list of two
items) is NaN.
"""

from __future__ import annotations

import numpy as np

from .. import _core
from .._checks import check_int
from .._config import resolve_threads
from .._params import renamed_argument
from .._sparse import check_sparse

BEYOND_METRICS = (
    "coverage",
    "gini",
    "novelty",
    "mean_popularity",
    "intra_list_diversity",
    "personalisation",
)


def beyond_accuracy(
    recommended,
    train,
    *,
    similarity=None,
    n_pairs: int = 100_000,
    seed: int = 0,
    n_threads: int = 0,
    random_state: int | None = None,
) -> dict:
    """Coverage, Gini of exposure, novelty, popularity, intra-list diversity and
    personalisation of a batch of lists (conventions in the module docstring).

    Parameters
    ----------
    recommended : numpy.ndarray of int, shape (n_customers, k)
        Item ids per list, -1 padding (``model.recommend(...)[0]``).
    train : scipy.sparse matrix or Interactions, shape (n_train_customers, n_items)
        The interactions popularity is counted on.
    similarity : scipy.sparse matrix, shape (n_items, n_items), optional
        Item-item similarity for intra-list diversity (left out without it).
    n_pairs : int, default 100000
        Pairs of lists compared for personalisation (all pairs when there are fewer).
    seed : int, default 0
        Seeds the drawn pairs (as ``seed`` seeds every function's draws; objects take
        ``random_state``).
    n_threads : int, default 0
        Results do not depend on it.
    random_state : int, optional
        Former name of ``seed`` (a FutureWarning).

    Returns
    -------
    dict
        The measures of ``BEYOND_METRICS`` (without ``intra_list_diversity`` when no
        similarity is given), plus ``recommended`` (items in all lists) and ``pairs_compared``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, recforge as rf
    >>> train = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 0, 1, 0]]))
    >>> r = rf.evaluation.beyond_accuracy(np.array([[0, 1], [0, 2]]), train)
    >>> r["coverage"], round(r["personalisation"], 3)
    (0.75, 0.667)
    """
    ids = np.asarray(recommended)
    if ids.ndim != 2 or ids.dtype.kind not in "iu":
        raise TypeError(f"recommended must be a 2-D integer array (customers x k), got {ids.dtype} {ids.shape}")
    X = check_sparse(train, "train")
    n_users, n_items = X.shape
    n_pairs = check_int(n_pairs, "n_pairs", minimum=0)
    seed = renamed_argument(
        seed, random_state, "random_state", "seed", 0, check=lambda v, n: check_int(v, n, minimum=0)
    )
    threads = resolve_threads(n_threads)
    # canonical: one entry per (customer, item); a parallel bincount (np.bincount took 8% of the call)
    buyers = _core.column_counts(X.indices, n_items, threads).astype(np.float64)
    share = buyers / max(n_users, 1)
    information = -np.log2(np.maximum(buyers, 1.0) / max(n_users, 1))
    if similarity is None:
        sim = (np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
    else:
        # Made symmetric (the larger direction) inside the kernel, row by row as it is read: a
        # symmetric copy built here with scipy made the call slower (1M lists of 10: 0.236 s
        # against 0.196).
        S = check_sparse(similarity, "similarity")
        if S.shape != (n_items, n_items):
            raise ValueError(f"similarity must be n_items x n_items ({n_items}), got {S.shape}")
        sim = (S.indptr, S.indices, S.data)
    out = _core.beyond_accuracy(
        np.ascontiguousarray(ids, dtype=np.int64),
        n_items,
        np.ascontiguousarray(information),
        np.ascontiguousarray(share),
        *sim,
        n_pairs,
        seed,
        threads,
        trusted=True,  # validated above (an absent similarity is three empty arrays)
    )
    # A measure with nothing to average over is undefined (NaN, as ranking_metrics gives for
    # no customers), not 0: a novelty or personalisation of 0 would read as a measured extreme.
    if out["recommended"] == 0:
        for name in ("gini", "novelty", "mean_popularity"):
            out[name] = float("nan")
    if out["pairs_compared"] == 0:
        out["personalisation"] = float("nan")
    if out["lists_with_pairs"] == 0:
        out["intra_list_diversity"] = float("nan")
    if similarity is None:
        del out["intra_list_diversity"]
    del out["lists_with_pairs"]
    return out

"""Offline evaluation metrics: ranking quality of top-k lists, coverage, rating errors.

Ranking conventions, per user u with held-out set T_u (the stored entries of test row u) and the
first k recommended ids (-1 padding is never a hit; a repeated id counts once):

- precision@k = hits / k;  recall@k = hits / |T_u|;
- F1@k = the per-user harmonic mean of the two, then averaged;
- NDCG@k: binary gain, discount 1 / log2(rank + 1), ideal ranking over min(|T_u|, k) positions;
- MAP@k: sum of the precision at each hit's rank, divided by min(|T_u|, k);
- hit rate@k: share of users with at least one hit;  MRR@k: mean of 1 / rank of the first hit.

Users with an empty test set are left out of the averages (``empty="skip"``, the default, and
``n_users`` says how many were evaluated); ``empty="zero"`` scores them as zeros, which
reproduces Spark's RankingMetrics.
"""

from __future__ import annotations

import numpy as np

from .. import _core
from .._checks import as_numbers, check_bool, check_choice, check_int
from .._config import resolve_threads
from .._sparse import check_sparse

__all__ = ["RANKING_METRICS", "auc", "coverage", "mae", "ranking_metrics", "rmse"]

RANKING_METRICS = ("precision", "recall", "f1", "ndcg", "map", "hit_rate", "mrr")


def _recommended(recommended_ids) -> np.ndarray:
    rec = np.asarray(recommended_ids)
    if rec.ndim != 2:
        raise ValueError(f"recommended_ids must be 2-D (users x ranks), got {rec.ndim} dimensions")
    if rec.size and not np.issubdtype(rec.dtype, np.integer):
        raise TypeError(f"recommended_ids must hold integer item ids, got dtype {rec.dtype}")
    return np.ascontiguousarray(rec, dtype=np.int64)


def auc(recommended_ids, test, n_candidates, *, per_user: bool = False, n_threads: int = 0) -> dict:
    """Per-user ROC AUC of rankings, averaged over users: the probability that a held-out item
    ranks above an item the user did not take (ties count one half), computed in C++.

    Parameters
    ----------
    recommended_ids : array-like of int, shape (n_users, width)
        Row u ranks candidates for user u (best first), -1 padding. It need not list every
        candidate: the ones it leaves out rank below all listed ones, tied with each other (so
        a top-k list gives a lower bound of the full ranking's AUC; rank every candidate, e.g.
        ``k=n_items``, for the exact value).
    test : scipy.sparse matrix or array, shape (n_users, n_items)
        Held-out items (the positives) per user.
    n_candidates : int or array-like of int, one per user
        How many items each ranking was drawn from, positives included (e.g. n_items minus the
        user's training items when those are excluded).
    per_user : bool, default False
        Also return each user's AUC (NaN where undefined) under ``"per_user"``.
    n_threads : int, default 0

    Returns
    -------
    dict
        ``auc`` (mean over the users with at least one positive and one negative; NaN when
        none) and ``n_users`` (how many).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, recforge as rf
    >>> test = sp.csr_matrix(np.array([[0, 1, 0, 0]]))
    >>> rf.metrics.auc(np.array([[2, 1, 0, 3]]), test, n_candidates=4)["auc"]  # 2 of 3 negatives below
    0.6666666666666666
    """
    rec = _recommended(recommended_ids)
    per_user = check_bool(per_user, "per_user")
    T = check_sparse(test, "test")
    if rec.shape[0] != T.shape[0]:
        raise ValueError(f"recommended_ids has {rec.shape[0]} rows but test has {T.shape[0]}")
    counts = np.asarray(n_candidates)
    if counts.ndim == 0:
        counts = np.full(rec.shape[0], counts)
    if counts.shape != (rec.shape[0],) or (counts.size and not np.issubdtype(counts.dtype, np.integer)):
        raise ValueError(f"n_candidates must be an integer or one integer per user ({rec.shape[0]})")
    counts = np.ascontiguousarray(counts, dtype=np.int64)
    values = _core.auc(rec, T.indptr, T.indices, T.data, T.shape[1], counts, resolve_threads(n_threads))
    defined = ~np.isnan(values)
    out = {"auc": float(values[defined].mean()) if defined.any() else float("nan"), "n_users": int(defined.sum())}
    if per_user:
        out["per_user"] = values
    return out


def ranking_metrics(
    recommended_ids, test, k: int = 10, *, empty: str = "skip", per_user: bool = False, n_threads: int = 0
) -> dict:
    """Precision, recall, F1, NDCG, MAP, hit rate and MRR at k, computed in C++ over users.

    Parameters
    ----------
    recommended_ids : array-like of int, shape (n_users, >= k)
        Row u ranks items for user u (best first), aligned with the rows of ``test``; -1 is
        padding. Only the first k columns are used.
    test : scipy.sparse matrix or array, shape (n_users, n_items)
        The held-out interactions: the stored entries of row u are user u's relevant items.
    k : int, default 10
    empty : {"skip", "zero"}, default "skip"
        Users with no test items: left out of the averages, or counted as zeros (Spark).
    per_user : bool, default False
        Also return each metric per user (NaN for skipped users) under ``"per_user"``.
    n_threads : int, default 0
        Threads; 0 means every CPU this process may use; larger counts are capped at that number.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1``, ``ndcg``, ``map``, ``hit_rate``, ``mrr`` (floats; NaN
        when no user is evaluated), ``n_users`` (users averaged over) and, with ``per_user``,
        ``per_user``: a dict of float64 arrays of length n_users.

    Raises
    ------
    ValueError, TypeError
        Row counts that differ, ids outside [-1, n_items), k outside [1, columns], a malformed
        ``test`` matrix, an unknown ``empty``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, recforge as rf
    >>> test = sp.csr_matrix(np.array([[0, 1, 1, 0], [1, 0, 0, 0]]))
    >>> rf.metrics.ranking_metrics(np.array([[1, 3], [0, 2]]), test, k=2)["precision"]
    0.5
    """
    rec = _recommended(recommended_ids)
    per_user = check_bool(per_user, "per_user")
    T = check_sparse(test, "test")
    if rec.shape[0] != T.shape[0]:
        raise ValueError(
            f"recommended_ids has {rec.shape[0]} rows but test has {T.shape[0]}; row u of both must be the same user"
        )
    k = check_int(k, "k", minimum=1)
    if k > rec.shape[1]:
        raise ValueError(f"k={k} but recommended_ids has only {rec.shape[1]} columns")
    check_choice(empty, "empty", ("skip", "zero"))
    block_sums, values, evaluated = _core.ranking_metrics(
        rec, T.indptr, T.indices, T.data, T.shape[1], k, resolve_threads(n_threads), per_user
    )
    # Sums come per fixed block of users and are added here in block order: the averages do not
    # depend on the thread count.
    totals = block_sums.sum(axis=0)
    n = int(totals[-1]) if empty == "skip" else rec.shape[0]
    out = {name: (float(totals[m] / n) if n else float("nan")) for m, name in enumerate(RANKING_METRICS)}
    out["n_users"] = n
    if per_user:
        counted = evaluated.astype(bool) if empty == "skip" else np.ones(rec.shape[0], dtype=bool)
        out["per_user"] = {name: np.where(counted, values[m], np.nan) for m, name in enumerate(RANKING_METRICS)}
    return out


def coverage(recommended_ids, n_items: int) -> float:
    """Share of the catalogue that appears in at least one list (-1 padding ignored)."""
    rec = _recommended(recommended_ids)
    n_items = check_int(n_items, "n_items", minimum=1)
    ids = rec[rec >= 0]
    if ids.size and ids.max() >= n_items:
        raise ValueError(f"recommended_ids holds {ids.max()}, outside [0, {n_items})")
    return float(np.unique(ids).size / n_items)


def _errors(y_true, y_pred) -> np.ndarray:
    t, p = as_numbers(y_true, "y_true"), as_numbers(y_pred, "y_pred")
    if t.shape != p.shape or t.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D of the same length, got shapes {t.shape} and {p.shape}")
    if not (np.isfinite(t).all() and np.isfinite(p).all()):
        raise ValueError("y_true and y_pred must be finite")
    if t.size == 0:
        raise ValueError("y_true and y_pred are empty")
    return p - t


def rmse(y_true, y_pred) -> float:
    """Root mean squared error of rating predictions."""
    e = _errors(y_true, y_pred)
    return float(np.sqrt(np.mean(e * e)))


def mae(y_true, y_pred) -> float:
    """Mean absolute error of rating predictions."""
    return float(np.mean(np.abs(_errors(y_true, y_pred))))

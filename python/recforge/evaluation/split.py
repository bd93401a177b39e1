"""Train/test splits of an interaction matrix: every split returns two CSR matrices of the
input's shape (so user and item ids mean the same in both) whose stored entries partition the
input's. Given an :class:`~recforge.Interactions`, they return two ``Interactions`` with the
same id maps (and its times split alongside). Seeded splits are reproducible."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .. import _core
from .._checks import check_choice, check_int, check_real
from .._config import resolve_threads
from .._sparse import CsrParts, check_aligned, check_sparse, row_ids
from .._times import as_moment
from ..data import Interactions

__all__ = ["cold_items", "cold_users", "leave_k_out", "partition", "per_user_split", "random_split", "temporal_split"]


def partition(user_items, in_test: np.ndarray):
    """Split the stored entries of ``user_items`` by a mask: the building block of every split.

    Parameters
    ----------
    user_items : scipy.sparse matrix or Interactions
    in_test : numpy.ndarray of bool, one per stored entry (in CSR order)

    Returns
    -------
    train, test
        Two matrices of the input's shape (two Interactions with its id maps and times when
        given one): the entries where ``in_test`` is False, and where it is True.
    """
    X, source = _source(user_items)
    in_test = np.asarray(in_test, dtype=bool)
    if in_test.shape != X.data.shape:
        raise ValueError(f"in_test must hold one flag per stored entry ({X.data.size}), got shape {in_test.shape}")
    return _partition(X, in_test, source)


def _partition(X: CsrParts, in_test: np.ndarray, source=None):
    """Two CSR matrices of X's shape: entries where in_test is False, and where it is True.
    With ``source`` (the Interactions X came from): two Interactions, times split alike."""
    rows = row_ids(X)

    def pick(mask, data):
        counts = np.bincount(rows[mask], minlength=X.shape[0])
        indptr = np.concatenate([[0], np.cumsum(counts)]).astype(X.indptr.dtype)
        M = sp.csr_matrix((data[mask], X.indices[mask], indptr), shape=X.shape)
        return sp.csr_array(M) if X.is_array else M

    if source is None:
        return pick(~in_test, X.data), pick(in_test, X.data)
    times = None if source.times is None else source.times.data
    return tuple(
        source.with_matrix(pick(mask, X.data), None if times is None else pick(mask, times))
        for mask in (~in_test, in_test)
    )


def _source(user_items):
    """The validated matrix, and the Interactions it came from (or None)."""
    return check_sparse(user_items, "user_items"), user_items if isinstance(user_items, Interactions) else None


def _times_or_own(times, source):
    if times is None and source is not None and source.times is not None:
        return source.times
    return times


def _rank_within_rows(X: CsrParts, key: np.ndarray) -> np.ndarray:
    """For each entry, its 0-based rank within its row when the row is ordered by key (ties by
    position): each row sorted on its own in C++, in parallel (a lexsort of every entry took
    4.5 s for 10M)."""
    return _core.rank_within_rows(X.indptr, np.ascontiguousarray(key, dtype=np.float64), resolve_threads(0))


def _ties_at_random(X: CsrParts, t: np.ndarray, rng) -> np.ndarray:
    """A key per entry that orders each row as ``t`` does, equal times in a random order: the
    rank of the first entry of the entry's run of equal times in its row, plus a draw in [0, 1)."""
    ascending = _rank_within_rows(X, t)  # equal times by position, for now
    start = X.indptr[:-1][row_ids(X)]  # each place's (and each entry's) row start
    at = start + ascending  # each entry's place in its row's ascending order
    ordered = np.empty_like(t)
    ordered[at] = t
    first = np.ones(t.size, dtype=bool)  # where a run of equal times starts (rows start one too)
    first[1:] = ordered[1:] != ordered[:-1]
    first[start] = True
    run_start = np.maximum.accumulate(np.where(first, np.arange(t.size), 0)) - start
    return run_start[at].astype(np.float64) + rng.random(t.size)


def _stored_in(X: CsrParts, other: CsrParts) -> np.ndarray:
    """Per stored entry of X, whether ``other`` (same shape) stores its (row, column) too."""
    return _core.contains_pairs(
        other.indptr,
        other.indices,
        other.data,
        *other.shape,
        np.ascontiguousarray(row_ids(X), dtype=np.int64),
        np.ascontiguousarray(X.indices, dtype=np.int64),
        resolve_threads(0),
    )


def _times(times, X: CsrParts) -> np.ndarray:
    return check_aligned(times, X).data.astype(np.float64)


def _fraction(frac) -> float:
    frac = check_real(frac, "frac", minimum=0.0)
    if frac > 1:
        raise ValueError(f"frac must be in [0, 1], got {frac}")
    return frac


def random_split(user_items, frac: float = 0.2, seed: int = 0):
    """Each interaction goes to test with probability ``frac`` (exactly round(frac * nnz) of them).

    Returns
    -------
    train, test : scipy.sparse csr, same shape as ``user_items``
    """
    (X, source), frac = _source(user_items), _fraction(frac)
    nnz = X.indices.size
    chosen = np.random.default_rng(check_int(seed, "seed", minimum=0)).permutation(nnz)[: int(round(frac * nnz))]
    in_test = np.zeros(nnz, dtype=bool)
    in_test[chosen] = True
    return _partition(X, in_test, source)


def per_user_split(user_items, frac: float = 0.2, seed: int = 0, min_train: int = 1):
    """For every user, round(frac * n_u) of their interactions (chosen at random) go to test,
    keeping at least ``min_train`` in train, so every user with history can be evaluated.

    Returns
    -------
    train, test : scipy.sparse csr, same shape as ``user_items``
    """
    (X, source), frac = _source(user_items), _fraction(frac)
    min_train = check_int(min_train, "min_train", minimum=0)
    n_u = np.diff(X.indptr)
    n_test = np.minimum(np.round(frac * n_u).astype(np.int64), np.maximum(n_u - min_train, 0))
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    rank = _rank_within_rows(X, rng.random(X.indices.size))
    return _partition(X, rank < n_test[row_ids(X)], source)


def _held_out(owner: np.ndarray, n: int, frac: float, seed) -> np.ndarray:
    """Per stored entry, whether its owner (row or column id) is among round(frac * owners
    with entries) owners drawn at random."""
    active = np.flatnonzero(np.bincount(owner, minlength=n) > 0)
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    chosen = np.zeros(n, dtype=bool)
    chosen[rng.permutation(active)[: int(round(frac * active.size))]] = True
    return chosen[owner]


def cold_users(user_items, frac: float = 0.2, seed: int = 0):
    """Hold out whole customers: round(frac * customers with interactions) of them, chosen at
    random, have all their interactions in test and none in train (new customers).

    Returns
    -------
    train, test : same shape as ``user_items`` (Interactions when given one)
        The held-out customers are the non-empty rows of ``test``.
    """
    (X, source), frac = _source(user_items), _fraction(frac)
    return _partition(X, _held_out(row_ids(X), X.shape[0], frac, seed), source)


def cold_items(user_items, frac: float = 0.2, seed: int = 0):
    """Hold out whole products: round(frac * products with interactions) of them, chosen at
    random, have all their interactions in test and none in train (new products).

    Returns
    -------
    train, test : same shape as ``user_items`` (Interactions when given one)
        The held-out products are the non-empty columns of ``test``.
    """
    (X, source), frac = _source(user_items), _fraction(frac)
    return _partition(X, _held_out(X.indices, X.shape[1], frac, seed), source)


def leave_k_out(user_items, k: int = 1, by: str = "random", times=None, seed: int = 0):
    """For every user with more than k interactions, k of them go to test: the latest
    (``by="time"``, using ``times``; equal times in an order drawn with ``seed``) or random ones.

    Equal times are common (every line of an invoice carries its time). They went to the
    later stored position, the product first seen latest in the data: on Online Retail the
    held-out product of each customer's last invoice was its newest, and EASE's hit rate@10
    read 0.154 where a random product of that invoice gives 0.299.

    Parameters
    ----------
    user_items : scipy.sparse matrix or array, or Interactions, shape (n_users, n_items)
    k : int, default 1
    by : {"random", "time"}
    times : scipy.sparse matrix, same positions as ``user_items``; required for ``by="time"``
        unless ``user_items`` is an Interactions with times.
    seed : int, default 0
        The random draw (``by="random"``), or the order of equal times (``by="time"``).

    Returns
    -------
    train, test : scipy.sparse csr, same shape as ``user_items``
    """
    X, source = _source(user_items)
    k = check_int(k, "k", minimum=1)
    check_choice(by, "by", ("random", "time"))
    times = _times_or_own(times, source)
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    if by == "time":
        if times is None:
            raise ValueError('times is required for by="time"')
        # Latest first: the reverse of the ascending rank, so the rank counts back from the row's end.
        ascending = _rank_within_rows(X, _ties_at_random(X, _times(times, X), rng))
        rank = np.diff(X.indptr)[row_ids(X)] - 1 - ascending
    else:
        rank = _rank_within_rows(X, rng.random(X.indices.size))
    n_u = np.diff(X.indptr)
    return _partition(X, (rank < k) & (n_u[row_ids(X)] > k), source)


def temporal_split(user_items, times=None, cutoff=None, *, repeats: str = "drop"):
    """Events before ``cutoff`` go to train, later ones to test: the honest split for a campaign
    (train on the past, measure on the future).

    With an :class:`~recforge.Interactions` that keeps its event log (the default), the events
    are split: train is what happened before ``cutoff`` (every pair it touches, aggregated as
    the Interactions was), test the pairs with an event at or after it. A product bought on
    both sides stays in train. Splitting whole pairs by their latest event instead took it out
    of train and measured the model on predicting a customer's habitual purchases it was not
    shown: on Online Retail (cutoff 2011-11-01) EASE's precision@10 read 0.146 where the
    campaign would see 0.064. A plain matrix, or an Interactions without events, has one time
    per pair (its latest event) and is split by pair.

    Parameters
    ----------
    user_items : scipy.sparse matrix or array, or Interactions, shape (n_users, n_items)
    times : scipy.sparse matrix, same positions as ``user_items`` (numbers, e.g. epoch seconds)
        Default: the times of an Interactions (then its events' times when it keeps them).
    cutoff : float, or (with an Interactions) a date such as "2011-11-01"
        In the unit of ``times``.
    repeats : {"drop", "keep"}, default "drop"
        For an event split, the test pairs a customer had already bought before ``cutoff``:
        left out (a list that excludes what the customer has, as recommend and evaluate do
        by default, could never hold them) or kept (to measure lists of repeat purchases, with
        ``exclude_seen=False``).

    Returns
    -------
    train, test : scipy.sparse csr, same shape as ``user_items``
        (two Interactions when given one)
    """
    X, source = _source(user_items)
    if times is not None and cutoff is None and not hasattr(times, "shape"):
        # temporal_split(inter, "2011-11-01"): the cutoff given where the times go
        raise TypeError(
            f"times got {times!r}, which is not a matrix of times: give the date as cutoff= "
            "(temporal_split(user_items, cutoff=...); an Interactions' own times are used)"
        )
    check_choice(repeats, "repeats", ("drop", "keep"))
    by_event = times is None and source is not None and source.events is not None and source.events.time is not None
    times = _times_or_own(times, source)
    if times is None:
        raise ValueError("times is required (or an Interactions built with times)")
    if cutoff is None:
        raise ValueError("cutoff is required")
    cutoff = as_moment(cutoff, "cutoff") if source is not None else check_real(cutoff, "cutoff")
    if by_event:
        later = source.events.time >= cutoff
        train, after = source.select_events(~later), source.select_events(later)
        if repeats == "keep":
            return train, after
        bought = check_sparse(after, "test")
        return train, _partition(bought, _stored_in(bought, check_sparse(train, "train")), after)[0]
    return _partition(X, _times(times, X) >= cutoff, source)

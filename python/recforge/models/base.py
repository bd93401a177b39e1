"""The recommender base class every model shares: batch recommend, similar items and users,
parameters, save/load and pickling. Models implement the scoring hooks only."""

from __future__ import annotations

import os
import warnings

import numpy as np
import scipy.sparse as sp

from .._checks import NotFittedError, check_bool, check_int
from .._config import resolve_threads
from .._factorize import check_numbered_as, rows_of_requested
from .._params import Parametrised, renamed_argument  # noqa: F401 (the models' import of it)
from .._sparse import CsrParts, check_sparse, positive_pattern, require_distinct_columns
from ..data import Interactions
from .persistence import save

ANY_ID = np.iinfo(np.int64).max  # the range bound of ids that are labels, not row numbers


def raw_id_hint(arr: np.ndarray, kind: str) -> str:
    """For ids given as text (a customer "12347" from the file): the models take row numbers,
    and the Interactions they were fitted on gives them."""
    if arr.dtype.kind not in "USO":
        return ""
    return f" (row numbers of the {kind}s: the training Interactions' {kind}_index([...]) gives them for raw ids)"


def check_ids(ids, name: str, n: int, kind: str) -> tuple[np.ndarray, bool]:
    """Ids as int64 1-D array and whether a single scalar id was given; range-checked."""
    single = np.ndim(ids) == 0
    arr = np.asarray(ids)
    if arr.ndim > 1:
        raise ValueError(f"{name} must be an integer or a 1-D array of integers, got {arr.ndim} dimensions")
    arr = arr.reshape(-1)
    if arr.dtype == np.bool_ or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"{name} must hold integer {kind} ids, got dtype {arr.dtype}{raw_id_hint(arr, kind)}")
    arr = arr.astype(np.int64, copy=False)
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        bad = arr[(arr < 0) | (arr >= n)][0]
        # customer numbers are integers too: 17850 is a raw id far more often than a bad row
        hint = (
            f"; row numbers, not raw ids: the training Interactions' {kind}_index([...]) maps raw ids"
            if bad >= n
            else ""
        )
        raise ValueError(f"{name} holds {kind} id {bad}, outside the {n} {kind}s the model knows [0, {n}){hint}")
    return arr, single


def _unwrap(result: tuple[np.ndarray, np.ndarray], single: bool):
    """(ids, scores) of a batch, or their one row when a scalar id was asked."""
    ids, scores = result
    return (ids[0], scores[0]) if single else (ids, scores)


def union_pattern(a: CsrParts, b: CsrParts) -> CsrParts:
    """CSR whose stored entries are those of a or b (values 1; only the pattern is used)."""

    def ones(p: CsrParts):
        return sp.csr_matrix((np.ones(p.indices.size, dtype=p.data.dtype), p.indices, p.indptr), shape=p.shape)

    return check_sparse(ones(a) + ones(b), "exclude")


class Recommender(Parametrised):
    """Base class of recforge models.

    Every model is fitted on a sparse ``user_items`` matrix (users x items; stored entries are
    interactions, values their weights) and answers the same questions with the same
    arguments: :meth:`recommend`, :meth:`similar_items`, :meth:`similar_users`, :meth:`save`.
    Results are batch-first: arrays of shape (n_ids, k), padded with id -1 and score -inf where
    fewer than k candidates exist; a single scalar id gives 1-D arrays.

    Subclasses set ``_state`` (names of the fitted attributes to save) and implement
    ``_fit``, ``_scores_topk`` and, where meaningful, ``_similar_items`` / ``_similar_users``.
    """

    # The raw-id maps of the data the model was fitted on (see bind_ids); None: row numbers only.
    user_ids_: np.ndarray | None = None
    item_ids_: np.ndarray | None = None
    events_spec_: dict | None = None

    @property
    def _threads(self) -> int:
        """The kernels' thread count for this model's ``n_threads`` (every model has one)."""
        return resolve_threads(self.n_threads)

    # -- fitted state -------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit(user_items) first")

    def __getstate__(self) -> dict:
        # Lazily built caches (names starting with "_cache") are rebuilt on demand, not pickled.
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_cache")}

    def __setstate__(self, state: dict) -> None:
        # a pickle of an earlier version: its missing parameters and fitted state get their defaults
        self.__dict__.update({**self._absent_before, **self._state_absent_before, **state})

    # -- fitting ------------------------------------------------------------------------------
    def fit(self, user_items, **kwargs):
        """Fit the model on ``user_items`` (users x items, any scipy.sparse format, or an
        :class:`~recforge.Interactions`, whose raw-id maps the model then keeps: see
        :meth:`bind_ids`); returns self."""
        X = check_sparse(user_items, "user_items")
        before = dict(self.__dict__)
        for name in [n for n in self.__dict__ if n in self._state or n.startswith("_cache")]:
            del self.__dict__[name]  # a refit starts from nothing
        try:
            self._fit(X, **kwargs)
            self.bind_ids(*self._fitted_ids(user_items, **kwargs))
        except BaseException:
            # Interrupted (Ctrl-C) or failed: the model is left exactly as it was before fit.
            self.__dict__.clear()
            self.__dict__.update(before)
            raise
        return self

    def _fitted_ids(self, user_items, **fit_options):
        """(user_ids, item_ids, events_spec) to bind after fitting on ``user_items``: an
        Interactions' maps, or nothing. Models whose catalogue is not the matrix's columns
        (content models: the feature rows) override it."""
        if isinstance(user_items, Interactions):
            return user_items.user_ids, user_items.item_ids, user_items.spec
        return None, None, None

    def bind_ids(self, user_ids=None, item_ids=None, events_spec: dict | None = None):
        """Attach the raw-id maps of the data this model was fitted on: row ``u`` is customer
        ``user_ids[u]``, column ``i`` product ``item_ids[i]``. :meth:`fit` does it when given an
        :class:`~recforge.Interactions`; model files keep them (``recforge recommend`` reads
        them back), so a model file alone can answer for raw ids.

        Parameters
        ----------
        user_ids, item_ids : array-like or None
            One distinct id per user / item the model knows (``n_users_`` / ``n_items_``);
            None leaves that side unmapped.
        events_spec : dict or None
            The event columns of the data (:attr:`Interactions.spec`), for reading new events
            with the same columns.

        Returns
        -------
        self
        """
        self._check_fitted()
        maps = {}
        for side, ids in (("user", user_ids), ("item", item_ids)):
            if ids is not None:
                ids = np.asarray(ids)
                n = getattr(self, f"n_{side}s_", None)
                if ids.ndim != 1 or (n is not None and ids.size != n):
                    raise ValueError(
                        f"{side}_ids must hold one id per {side} of the model ({n}), got shape {ids.shape}"
                    )
            maps[side] = ids
        if events_spec is not None and not isinstance(events_spec, dict):
            raise TypeError(f"events_spec must be a dict, got {type(events_spec).__name__}")
        self.user_ids_, self.item_ids_ = maps["user"], maps["item"]
        self.events_spec_ = None if events_spec is None else dict(events_spec)
        return self

    def _grew(self, side: str) -> None:
        """The model gained rows (partial fit) past its raw-id map on ``side``: the map no longer
        names every row, so it is dropped, and the caller told."""
        ids = getattr(self, f"{side}_ids_")
        if ids is not None and ids.size != getattr(self, f"n_{side}s_"):
            setattr(self, f"{side}_ids_", None)
            warnings.warn(
                f"the model grew to {getattr(self, f'n_{side}s_')} {side}s, past its {side} id map "
                f"({ids.size}); the map was dropped: bind a complete one with bind_ids",
                UserWarning,
                stacklevel=3,
            )

    def _fit(self, X: CsrParts, **kwargs) -> None:
        raise NotImplementedError

    def _values(self, X: CsrParts) -> CsrParts:
        """The interactions a model with a ``binary`` parameter fits and scores: 0/1 when it is
        set (every positive weight counts 1, the others 0), the weights as given otherwise."""
        return positive_pattern(X) if getattr(self, "binary", False) else X

    # -- questions ----------------------------------------------------------------------------
    def recommend(
        self,
        user_ids,
        user_items,
        k: int = 10,
        exclude_seen: bool = True,
        exclude=None,
        allow=None,
        recalculate_user: bool = False,
    ):
        """Top-k items for each user.

        Parameters
        ----------
        user_ids : int or array-like of int
            Users (row ids of the training matrix). A scalar gives 1-D results. With
            ``recalculate_user=True`` they are labels only (any non-negative integers).
        user_items : scipy.sparse matrix or array, shape (len(user_ids), n_items), or Interactions
            One row per requested user, in the same order: their interactions (e.g.
            ``X[user_ids]``). An :class:`~recforge.Interactions` (the training one, or its
            ``transform`` of newer events) gives its own rows of ``user_ids`` instead: its row u
            is customer u. Neighbourhood models score from these rows; every model uses them for
            ``exclude_seen``.
        k : int, default 10
            Items per user (>= 0). The output has min(k, number of candidate items) columns
            (the allowed items, else the catalogue); rows with fewer candidates are padded.
        exclude_seen : bool, default True
            Never return an item stored in the user's row of ``user_items``.
        exclude : scipy.sparse matrix or array, shape (len(user_ids), n_items), or Interactions, optional
            More items banned per user (stored entries; values ignored); rows as ``user_items``.
        allow : array-like of int, optional
            Candidate items for every user; others are never returned.
        recalculate_user : bool, default False
            Answer from each row of ``user_items`` alone, not from what the model learned about
            ``user_ids``: for customers the model has not seen, or whose history changed since
            training. Factor models fold the row in (solve the user's factors against the
            fitted item factors), neighbour models score from it, popularity ignores it. A row
            with no interactions gets no items (padding): there is nothing to answer from; see
            :class:`recforge.ColdStart` for the fallbacks. Models that cannot answer from a
            history (rating predictors) raise ``ValueError``.

        Returns
        -------
        ids : numpy.ndarray of int64, shape (n_users, min(k, n_items)) or that row
            Best items first; equal scores in increasing id; padded with -1.
        scores : numpy.ndarray, shape (n_users, k) or (k,)
            The model's scores; padding is -inf.

        Raises
        ------
        NotFittedError
            The model is not fitted.
        ValueError, TypeError
            Ids out of range or not integers, ``user_items`` / ``exclude`` with the wrong
            number of rows or items, negative ``k``, ids in ``allow`` out of range.
        """
        recalculate_user = check_bool(recalculate_user, "recalculate_user")
        exclude_seen = check_bool(exclude_seen, "exclude_seen")
        return self._recommend(
            user_ids,
            user_items,
            k,
            exclude_seen,
            exclude,
            allow,
            known_users=not recalculate_user,
            recalculate_user=recalculate_user,
        )

    def _recommend(self, user_ids, user_items, k, exclude_seen, exclude, allow, known_users: bool = True, **options):
        """recommend() with model-specific ``options`` passed on to ``_scores_topk``; with
        ``known_users=False`` the ids are labels only (any non-negative integer), for models
        that score from the ``user_items`` rows alone."""
        self._check_fitted()
        users, single = check_ids(user_ids, "user_ids", self.n_users_ if known_users else ANY_ID, "user")
        k = min(check_int(k, "k", minimum=0), self.n_items_)  # never wider than the catalogue
        # An Interactions gives its rows of the requested users; the model's user map must then
        # name the same customers where the ids are the model's own rows.
        known = self.user_ids_ if known_users else None
        history = self._user_rows(user_items, "user_items", len(users), users, known)
        banned = None
        if exclude is not None:
            banned = self._user_rows(exclude, "exclude", len(users), users, known)
        if exclude_seen:
            banned = history if banned is None else union_pattern(history, banned)
        return _unwrap(self._scores_topk(users, history, k, banned, allow, **options), single)

    def similar_items(self, item_ids, k: int = 10):
        """The k items most similar to each given item (itself excluded).

        Parameters
        ----------
        item_ids : int or array-like of int
            Items in [0, n_items). A scalar gives 1-D results.
        k : int, default 10

        Returns
        -------
        ids, scores : numpy.ndarray, shape (n_items_asked, min(k, n_items)) or that row
            Most similar first; padded with -1 / -inf. What "similar" means is the model's
            (see its class docstring).
        """
        return self._similar(item_ids, k, "item", self._similar_items)

    def similar_users(self, user_ids, k: int = 10):
        """The k users most similar to each given user (themselves excluded).

        Parameters
        ----------
        user_ids : int or array-like of int
            Users in [0, n_users). A scalar gives 1-D results.
        k : int, default 10

        Returns
        -------
        ids, scores : numpy.ndarray, shape (n_users_asked, min(k, n_users)) or that row
            Most similar first; padded with -1 / -inf.
        """
        return self._similar(user_ids, k, "user", self._similar_users)

    def _similar(self, asked, k, kind: str, find):
        """similar_items / similar_users: check the ids (of ``kind``) and k, then ``find``."""
        self._check_fitted()
        n = getattr(self, f"n_{kind}s_")
        asked, single = check_ids(asked, f"{kind}_ids", n, kind)
        return _unwrap(find(asked, min(check_int(k, "k", minimum=0), n)), single)

    def _scores_topk(self, users, history: CsrParts, k: int, banned: CsrParts | None, allow, recalculate_user=False):
        raise NotImplementedError

    def _similar_items(self, items: np.ndarray, k: int):
        raise NotImplementedError(f"{type(self).__name__} has no notion of item similarity")

    def _similar_users(self, users: np.ndarray, k: int):
        raise NotImplementedError(f"{type(self).__name__} has no notion of user similarity")

    def _user_rows(self, M, name: str, n_rows: int, users=None, known=None) -> CsrParts:
        """M's rows of the requested ``users`` (:func:`rows_of_requested`; ``known``: the model's
        user map where the ids are its rows) over the model's items."""
        if users is not None:
            check_numbered_as(M, self.item_ids_, name, "item")  # before the rows lose their ids
            M = rows_of_requested(M, users, name, known)
        return self._rows(M, name, n_rows, self.n_items_, "items", per="requested user")

    def _rows(self, M, name: str, n_rows: int | None, n_cols: int, cols: str, per: str = "id") -> CsrParts:
        """M as CSR parts with ``n_rows`` rows (any number when None) of ``n_cols`` columns
        (``cols``: "items" or "users"), numbered as the model's where both carry raw ids."""
        check_numbered_as(M, getattr(self, f"{cols[:-1]}_ids_", None), name, cols[:-1])
        parts = check_sparse(M, name)
        if n_rows is not None and parts.shape[0] != n_rows:
            raise ValueError(f"{name} must have one row per {per} ({n_rows}), got {parts.shape[0]} rows")
        if parts.shape[1] != n_cols:
            raise ValueError(f"{name} has {parts.shape[1]} columns but the model knows {n_cols} {cols}")
        return parts

    def _validate_state(self) -> None:
        """Check state read from a file before any kernel sees it (a damaged or hand-made file
        must give a ValueError, never a crash): sizes are non-negative integers, matrices are
        well-formed CSR. Subclasses add their shape checks."""
        for name in self._state:
            value = getattr(self, name)
            if name.startswith("n_"):
                if not isinstance(value, int) or value < 0:
                    raise ValueError(f"model state {name} must be a non-negative integer, got {value!r}")
            elif isinstance(value, float):
                if not np.isfinite(value):
                    raise ValueError(f"model state {name} must be finite, got {value}")
            elif sp.issparse(value):
                require_distinct_columns(value, name)  # as strict as fresh input: no silent repair
            elif isinstance(value, Parametrised):
                pass  # a model (or encoder) it holds: validated by its own _validate_state as it was read
            elif value is None or isinstance(value, (dict, list, str)):
                pass  # settings (JSON in the file); the subclass checks their meaning
            elif isinstance(value, np.ndarray) and value.dtype.kind in "OU":
                if value.ndim != 1:
                    raise ValueError(f"model state {name} must be a 1-D array of labels")
            elif not isinstance(value, np.ndarray) or not np.isfinite(value).all():
                raise ValueError(f"model state {name} must be a finite array")

    def _require_shape(self, name: str, shape: tuple) -> None:
        if getattr(self, name).shape != shape:
            raise ValueError(f"model state {name} has shape {getattr(self, name).shape}, expected {shape}")

    def _cached(self, name: str, build, source=None):
        """A derived object (not saved, not pickled), built on first use; with ``source`` (the
        array it is derived from), built again once that attribute has been replaced."""
        key = "_cache_" + name
        held = self.__dict__.get(key)
        if held is None or held[0] is not source:
            held = self.__dict__[key] = (source, build())
        return held[1]

    # -- files --------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted model to ``path`` (an ``.npz`` file, exactly that name; no pickle),
        with its raw-id maps (:meth:`bind_ids`) and any models it holds. Read it back with
        :func:`recforge.load`."""
        self._check_fitted()
        save(self, path)

"""Every customer and every product gets an answer: a wrapper that routes each request to the
best source there is, and says which one answered.

- customers the wrapped model knows: the model ("model");
- customers it does not know but who have events: the model, from their history alone
  ("history": fold-in for factor models, history x similarity for neighbour models);
- customers with no events but attributes (country, channel, segment...): the items their
  groups buy most, time-decayed and shrunk towards the whole shop ("group_popular");
- customers with nothing: what is trending, time-decayed popularity ("popular");
- new products (rows of the item features past the interaction matrix's columns) enter the
  lists of customers with a history, scored from their features ("content"): by factors mapped
  from features for factor models (attribute-to-feature mapping, Gantner et al. 2010), by
  content neighbours of the customer's items for the others; at most ``max_new_items`` per list.

Each path is one batched kernel call over all the customers it serves; lists are merged with
array operations, not a loop over customers.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._checks import check_bool, check_int, check_real
from .._factorize import check_numbered_as, rows_of_requested, same_ids
from .._sparse import CsrParts, check_sparse, unit_rows
from ..data import FeatureEncoder, Features
from ..kernels.topk import allowed_items, dense_topk_parts, sparse_topk_parts
from .base import Recommender, raw_id_hint
from .content import check_feature_rows, similar_by_features, unit_columns
from .factors import FactorModel
from .new_items import content_neighbours, fit_score_map, on_model_scale
from .popularity import Popularity
from .rows import self_exclusion

PATHS = ("model", "history", "content", "group_popular", "popular")
_MODEL, _HISTORY, _CONTENT, _GROUP, _POPULAR = range(len(PATHS))
DAY = 86400.0


def _rows_of(features, n_known: int, ids_known, name: str):
    """(CSR float32 rows, encoder or None) of a Features or matrix for ``n_known`` known ids."""
    if isinstance(features, Features):
        if ids_known is not None and not same_ids(features.ids[:n_known], ids_known):
            raise ValueError(f"{name} rows do not follow the interactions' ids: build them with ids=...")
        return sp.csr_matrix(features.matrix, dtype=np.float32), features.encoder
    return sp.csr_matrix(check_sparse(features, name).to_scipy(), dtype=np.float32), None


def merge_lists(first, second, k: int, cap: int | None = None):
    """Per row, the best ``k`` of two ranked lists (ids -1 padded), by one ranking key each:
    ``first``'s and ``second``'s entries interleave by their ``key`` arrays (higher first);
    an id in both keeps its better entry; at most ``cap`` entries come from ``second``.

    Parameters are (ids, keys, scores, paths) tuples of arrays with one row per query.
    Returns (ids, scores, paths) of width ``k``."""
    ids = np.hstack([first[0], second[0]])
    keys = np.hstack([first[1], second[1]]).astype(np.float64)
    scores = np.hstack([first[2], second[2]]).astype(np.float64)
    paths = np.hstack([first[3], second[3]]).astype(np.int8)
    from_second = np.zeros(ids.shape, dtype=bool)
    from_second[:, first[0].shape[1] :] = True
    keys = np.where(ids < 0, -np.inf, keys)
    # An id listed twice in a row keeps its best entry: sort each row by (id, -key).
    order = np.lexsort((-keys, ids), axis=1)
    sorted_ids = np.take_along_axis(ids, order, 1)
    repeat = np.zeros(ids.shape, dtype=bool)
    repeat[:, 1:] = (sorted_ids[:, 1:] == sorted_ids[:, :-1]) & (sorted_ids[:, 1:] >= 0)
    dropped = np.zeros(ids.shape, dtype=bool)
    np.put_along_axis(dropped, order, repeat, 1)
    keys = np.where(dropped, -np.inf, keys)
    if cap is not None:
        # Only the best ``cap`` of the second list's entries compete.
        second_keys = np.where(from_second, keys, -np.inf)
        rank = np.argsort(np.argsort(-second_keys, axis=1, kind="stable"), axis=1, kind="stable")
        keys = np.where(from_second & (rank >= cap), -np.inf, keys)
    best = np.argsort(-keys, axis=1, kind="stable")[:, :k]
    out_ids = np.take_along_axis(ids, best, 1)
    valid = np.isfinite(np.take_along_axis(keys, best, 1))
    return _fit_width(
        np.where(valid, out_ids, -1),
        np.where(valid, np.take_along_axis(scores, best, 1), -np.inf),
        np.where(valid, np.take_along_axis(paths, best, 1), -1).astype(np.int8),
        k,
    )


class ColdStart(Recommender):
    """Wrap a model so every customer gets an answer and new products can be recommended.

    Parameters
    ----------
    model : Recommender
        The model that answers known customers (fitted or not: ``fit`` fits it when needed).
        It must answer from a history (``recalculate_user``): every model but KNNRegressor.
    half_life : float or None, default 30 days (in seconds)
        Half-life of the time decay of the "popular" and "group_popular" paths: an event
        ``half_life`` older than the latest one counts half. None: plain counts.
    max_new_items : int, default 2
        Exposure control: at most this many new products per list (0: never).
    new_item_weight : float, default 1.0
        Multiplies new products' scores before they compete with the model's: above 1 favours
        new products, below 1 the model's. Their scores are on the model's scale already (mapped
        features for factor models, the fitted score map for neighbour models).
    group_items : int, default 200
        Items kept per customer attribute for the "group_popular" path.
    group_prior : float, default 10.0
        Shrinkage of a group's item shares towards the whole shop's, in events: a group with few
        events ranks mostly like the shop.
    mapping_regularization : float, default 10.0
        Ridge penalty of the mapping from item features to the wrapped factor model's item
        vectors.
    content_neighbours : int, default 50
        Known products kept per new product by feature cosine (neighbour models): a customer's
        content score for a new product sums the cosines of those among their products.
    n_threads : int, default 0

    Attributes
    ----------
    model_ : Recommender
        The fitted wrapped model.
    trending_ : Popularity
        Time-decayed popularity of the known items.
    group_items_ : scipy.sparse csr or None, shape (n_user_features, n_items)
        Per customer attribute, its best items and their smoothed shares.
    new_item_vectors_ : numpy.ndarray or None
        New products in the factor model's item space.
    new_item_neighbours_ : scipy.sparse csr or None, shape (n_known_items, n_new_items)
        For neighbour models: column j holds new product j's ``content_neighbours`` most similar
        known products (feature cosine).
    new_item_score_map_ : numpy.ndarray or None, shape (2, n_points)
        For neighbour models: increasing content scores (row 0) and the wrapped model's scores
        they map to (row 1), fitted on known products scored both ways
        (:mod:`recforge.models.new_items`); new products' scores pass through it (linear
        between the points), so they compete with the model's on its scale. None where the
        sample had too little content evidence (then content scores are used as they are).
    item_features_ : scipy.sparse csr or None
        The item features (all items), for similar items of new products.
    item_encoder_, user_encoder_ : FeatureEncoder or None
        Encoders of the Features given to fit: ``recommend(user_features=table)`` uses them.
    user_features_ : scipy.sparse csr or None, shape (n_users, n_user_features)
        The training customers' attributes (used when a request gives none).
    user_events_ : numpy.ndarray of int64
        Events per training customer: a customer with none is answered by the fallbacks.

    Notes
    -----
    Scores of different paths are on different scales; compare them within a path only.
    """

    _state = (
        "model_",
        "trending_",
        "group_items_",
        "new_item_vectors_",
        "new_item_neighbours_",
        "new_item_score_map_",
        "item_features_",
        "item_encoder_",
        "user_encoder_",
        "user_features_",
        "user_events_",
        "n_users_",
        "n_items_",
        "n_known_items_",
    )
    PATHS = PATHS
    # files of before the score map: new products' content scores as they are
    _state_absent_before = {"new_item_score_map_": None}

    def __init__(
        self,
        model: Recommender | None = None,
        *,
        half_life: float | None = 30 * DAY,
        max_new_items: int = 2,
        new_item_weight: float = 1.0,
        group_items: int = 200,
        group_prior: float = 10.0,
        mapping_regularization: float = 10.0,
        content_neighbours: int = 50,
        n_threads: int = 0,
    ):
        if model is not None and not isinstance(model, Recommender):
            raise TypeError(f"model must be a recforge model, got {type(model).__name__}")
        self.model = model
        self.half_life = None if half_life is None else check_real(half_life, "half_life", minimum=0.0)
        if self.half_life == 0.0:
            raise ValueError("half_life must be > 0 (or None for no decay)")
        self.max_new_items = check_int(max_new_items, "max_new_items", minimum=0)
        self.new_item_weight = check_real(new_item_weight, "new_item_weight", minimum=0.0)
        self.group_items = check_int(group_items, "group_items", minimum=1)
        self.group_prior = check_real(group_prior, "group_prior", minimum=0.0)
        self.mapping_regularization = check_real(mapping_regularization, "mapping_regularization", minimum=0.0)
        self.content_neighbours = check_int(content_neighbours, "content_neighbours", minimum=1)
        self.n_threads = check_int(n_threads, "n_threads", minimum=0)

    def file_params(self) -> dict:
        params = self.get_params(deep=False)
        del params["model"]  # saved as the nested model_ (its own class, parameters and state)
        return params

    # -- fitting --------------------------------------------------------------------------------
    def fit(self, user_items, item_features=None, user_features=None, times=None):
        """Fit the wrapped model (unless already fitted) and the fallbacks.

        Parameters
        ----------
        user_items : Interactions or scipy.sparse matrix, shape (n_users, n_known_items)
        item_features : Features or sparse matrix, optional
            One row per item; rows past ``n_known_items`` are new products.
        user_features : Features or sparse matrix, optional
            One row per customer of ``user_items`` (more rows are ignored): attributes that
            define the groups of the "group_popular" path, and answer for those customers
            when they have no events.
        times : sparse matrix, optional
            Each pair's time, for the decay (default: an Interactions' times).

        Returns
        -------
        self
        """
        if self.model is None:
            raise ValueError("ColdStart needs a model to wrap: ColdStart(rf.ALS(), ...)")
        if times is None and hasattr(user_items, "times"):
            times = user_items.times
        for side, features in (("user", user_features), ("item", item_features)):
            check_feature_rows(features, user_items, side)
        return super().fit(user_items, item_features=item_features, user_features=user_features, times=times)

    def _fitted_ids(self, user_items, item_features=None, user_features=None, times=None):
        user_ids, item_ids, spec = super()._fitted_ids(user_items)
        if isinstance(item_features, Features):
            item_ids = item_features.ids  # a bare matrix has no rows past user_items' ids (fit)
        return user_ids, item_ids, spec

    def _fit(self, X: CsrParts, item_features=None, user_features=None, times=None) -> None:
        model = self.model
        if not model.is_fitted:
            model.fit(X.to_scipy())
        # A content model's catalogue may run past the matrix's columns (its new products).
        if model.n_users_ != X.shape[0] or model.n_items_ < X.shape[1]:
            raise ValueError(
                f"the wrapped model knows {model.n_users_} users x {model.n_items_} items, user_items is {X.shape}"
            )
        if model.n_items_ > X.shape[1]:
            S = X.to_scipy()
            X = check_sparse(sp.csr_matrix((S.data, S.indices, S.indptr), shape=(X.shape[0], model.n_items_)), "X")
        probe = check_sparse(sp.csr_matrix((1, model.n_items_), dtype=X.data.dtype), "probe")
        try:
            model._scores_topk(np.zeros(1, dtype=np.int64), probe, 1, None, None, recalculate_user=True)
        except ValueError as e:
            raise ValueError(f"ColdStart cannot wrap {type(model).__name__}: {e}") from None
        self.model_ = model
        n_known = model.n_items_
        self.n_users_, self.n_known_items_ = X.shape[0], n_known
        weights = np.ones(X.data.size)
        if self.half_life is not None and times is not None:
            t = np.asarray(check_sparse(times, "times").data, dtype=np.float64)
            if t.shape != weights.shape:
                raise ValueError("times must have one entry per stored entry of user_items")
            weights = np.exp2(-(t.max(initial=0.0) - t) / self.half_life)  # trending: recent events weigh more
        decayed = sp.csr_matrix((weights, X.indices, X.indptr), shape=X.shape)
        self.trending_ = Popularity(n_threads=self.n_threads, use_weights=True).fit(decayed)
        self._fit_groups(X, decayed, user_features)
        self._fit_new_items(item_features, n_known, X)

    def _fit_groups(self, X: CsrParts, decayed: sp.csr_matrix, user_features) -> None:
        self.group_items_, self.user_encoder_, self.user_features_ = None, None, None
        self.user_events_ = np.diff(X.indptr).astype(np.int64)
        if user_features is None:
            return
        U, self.user_encoder_ = _rows_of(user_features, X.shape[0], None, "user_features")
        if U.shape[0] < X.shape[0]:
            raise ValueError(f"user_features has {U.shape[0]} rows but user_items has {X.shape[0]} customers")
        U = U[: X.shape[0]]
        self.user_features_ = U
        shop = self.trending_.popularity_  # decayed weight of each item
        G = sp.csr_matrix(U.T.astype(np.float64) @ decayed)  # attribute x item, decayed events
        # share of group f's (decayed) events on item i, shrunk towards the shop's shares
        prior = shop / max(shop.sum(), 1e-300)
        totals = np.asarray(G.sum(axis=1)).ravel()
        rows, cols, vals = [], [], []
        top_shop = np.argsort(-prior, kind="stable")[: self.group_items]
        for f in range(G.shape[0]):  # one pass per attribute value, not per customer
            own = G.indices[G.indptr[f] : G.indptr[f + 1]]
            cand = np.union1d(own, top_shop)
            g = np.zeros(cand.size)
            g[np.searchsorted(cand, own)] = G.data[G.indptr[f] : G.indptr[f + 1]]
            share = (g + self.group_prior * prior[cand]) / (totals[f] + self.group_prior)
            keep = np.argsort(-share, kind="stable")[: self.group_items]
            rows.append(np.full(keep.size, f))
            cols.append(cand[keep])
            vals.append(share[keep])
        n_items = X.shape[1]
        self.group_items_ = sp.csr_matrix(
            (np.concatenate(vals).astype(np.float32), (np.concatenate(rows), np.concatenate(cols))),
            shape=(G.shape[0], n_items),
        )

    def _fit_new_items(self, item_features, n_known: int, X: CsrParts) -> None:
        self.new_item_vectors_ = self.new_item_neighbours_ = self.item_features_ = self.item_encoder_ = None
        self.new_item_score_map_ = None
        self.n_items_ = n_known
        if item_features is None:
            return
        known_ids = self.model_.item_ids_ if self.model_.item_ids_ is not None else None
        F, self.item_encoder_ = _rows_of(item_features, n_known, known_ids, "item_features")
        if F.shape[0] < n_known:
            raise ValueError(f"item_features has {F.shape[0]} rows but the model knows {n_known} items")
        self.item_features_, self.n_items_ = F, F.shape[0]
        if self.group_items_ is not None:
            self.group_items_ = sp.csr_matrix(
                (self.group_items_.data, self.group_items_.indices, self.group_items_.indptr),
                shape=(self.group_items_.shape[0], self.n_items_),
            )
        n_new = F.shape[0] - n_known
        if n_new == 0:
            return
        known, new = F[:n_known], F[n_known:]
        if isinstance(self.model_, FactorModel):
            # Attribute-to-feature mapping: ridge from features to the item vectors of the warm
            # products, applied to the new ones.
            V = self.model_.item_vectors().astype(np.float64)
            A = (known.T @ known).toarray().astype(np.float64) + self.mapping_regularization * np.eye(F.shape[1])
            W = np.linalg.solve(A, np.asarray(known.T @ V))
            self.new_item_vectors_ = np.ascontiguousarray(new @ W, dtype=V.dtype).astype(
                self.model_.item_vectors().dtype
            )
        else:
            # Each new product's nearest known ones; the content score they give a customer is
            # put on the model's scale by the map fitted on known products posing as new ones.
            self.new_item_neighbours_ = content_neighbours(known, new, self.content_neighbours, self._threads)
            self.new_item_score_map_ = fit_score_map(self.model_, X, known, self.content_neighbours, self._threads)

    # -- answering ------------------------------------------------------------------------------
    def recommend(
        self,
        user_ids,
        user_items,
        k: int = 10,
        exclude_seen: bool = True,
        exclude=None,
        allow=None,
        recalculate_user: bool = False,
        user_features=None,
        return_paths: bool = False,
    ):
        """Top-k items for every customer, whatever is known about them.

        Parameters
        ----------
        user_ids : int or array-like of int
            Rows of the training matrix for known customers; -1 for a customer the model has
            not seen (then their row of ``user_items``, or of ``user_features``, answers).
        user_items : sparse matrix, shape (len(user_ids), n_known_items or n_items), or Interactions
            Each customer's events (empty rows for customers without any). An
            :class:`~recforge.Interactions` gives its own rows of ``user_ids`` (row u: customer
            u): the training one or its ``transform`` of newer events, whose appended customers
            (``new_users="append"``) are answered from their rows with ``recalculate_user=True``.
        k, exclude_seen, exclude, allow
            As for every model; ``allow`` and ``exclude`` may name new products.
        recalculate_user : bool, default False
            Answer every customer with a history from that history (known ones too).
        user_features : sparse matrix or table, optional
            Attributes of each customer (rows as ``user_ids``): used for those without events.
            A table (DataFrame or mapping) is encoded with the encoder of the fitted Features.
        return_paths : bool, default False
            Also return, per item, which path produced it (codes into ``ColdStart.PATHS``).

        Returns
        -------
        ids : numpy.ndarray of int64, shape (n, min(k, n_items))
        scores : numpy.ndarray of float64
        paths : numpy.ndarray of int8, only with ``return_paths``
            Index into ``PATHS`` ("model", "history", "content", "group_popular", "popular"); -1
            for padding.
        """
        self._check_fitted()
        recalculate_user = check_bool(recalculate_user, "recalculate_user")
        return_paths = check_bool(return_paths, "return_paths")
        exclude_seen = check_bool(exclude_seen, "exclude_seen")
        single = np.ndim(user_ids) == 0
        ids = np.asarray(user_ids).reshape(-1)
        if ids.size and not np.issubdtype(ids.dtype, np.integer):
            raise TypeError(
                f"user_ids must hold integer ids (-1: not a training customer), got {ids.dtype}"
                + raw_id_hint(ids, "user")
            )
        ids = ids.astype(np.int64)
        if ids.size and (ids.min() < -1 or (not recalculate_user and ids.max() >= self.n_users_)):
            bad = ids[(ids < -1) | ((ids >= self.n_users_) & (not recalculate_user))][0]
            raise ValueError(f"user_ids holds {bad}: give rows of the training matrix [0, {self.n_users_}) or -1")
        n = ids.size
        k = min(check_int(k, "k", minimum=0), self.n_items_)
        known = None if recalculate_user else self.user_ids_
        H = self._wide(user_items, "user_items", n, ids, known)
        banned = None if exclude is None else self._wide(exclude, "exclude", n, ids, known)
        if exclude_seen:
            banned = H if banned is None else check_sparse((_binary(H) + _binary(banned)).tocsr(), "exclude")
        allowed = None if allow is None else allowed_items(allow, self.n_items_)
        UF = None if user_features is None else self._user_rows_of(user_features, n)

        has_history = np.diff(H.indptr) > 0
        in_range = (ids >= 0) & (ids < self.n_users_)
        if UF is None and self.user_features_ is not None and in_range.any():
            # training customers' own attributes, where the request gives none
            UF = sp.csr_matrix((n, self.user_features_.shape[1]), dtype=np.float32)
            UF = sp.vstack([UF, self.user_features_], format="csr")[np.where(in_range, ids + n, np.arange(n))]
        # A training customer without events is as new as an unseen one: the model learned nothing.
        active = np.zeros(n, dtype=bool)
        active[in_range] = self.user_events_[ids[in_range]] > 0
        known = in_range & active & (not recalculate_user)
        route = np.full(n, _POPULAR, dtype=np.int8)
        route[known] = _MODEL
        route[~known & has_history] = _HISTORY
        if UF is not None:
            route[(route == _POPULAR) & (np.diff(UF.indptr) > 0)] = _GROUP

        out_ids = np.full((n, k), -1, dtype=np.int64)
        out_scores = np.full((n, k), -np.inf)
        out_paths = np.full((n, k), -1, dtype=np.int8)
        for path in (_MODEL, _HISTORY, _GROUP, _POPULAR):
            rows = np.flatnonzero(route == path)
            if rows.size == 0:
                continue
            got = self._answer(path, rows, ids, H, banned, allowed, UF, k)
            out_ids[rows], out_scores[rows], out_paths[rows] = got
        result = (out_ids, out_scores, out_paths) if return_paths else (out_ids, out_scores)
        return tuple(r[0] for r in result) if single else result

    def _answer(self, path, rows, ids, H, banned, allowed, UF, k):
        n_known = self.n_known_items_
        sub_h = _take(H, rows)
        sub_b = None if banned is None else _take(banned, rows)
        if path in (_MODEL, _HISTORY):
            known_h = _narrow(sub_h, n_known)
            known_b = None if sub_b is None else _narrow(sub_b, n_known)
            known_allow = None if allowed is None else allowed[allowed < n_known]
            users = ids[rows] if path == _MODEL else np.zeros(rows.size, dtype=np.int64)
            m_ids, m_scores = self.model_._scores_topk(
                users, known_h, min(k, n_known), known_b, known_allow, recalculate_user=path == _HISTORY
            )
            first = (m_ids, m_scores, m_scores, np.full(m_ids.shape, path, dtype=np.int8))
            second = self._new_items(users, known_h, sub_b, allowed, path == _HISTORY, rows.size)
            if second is None:
                out = _fit_width(first[0], first[2], first[3], k)
            else:
                out = merge_lists(first, second, k, cap=self.max_new_items)
            return self._filled(out, sub_b, allowed, k)
        trending = self.trending_._ranked(
            rows.size, min(k, n_known), _narrow_opt(sub_b, n_known), _known(allowed, n_known)
        )
        popular = (trending[0], trending[1], trending[1], np.full(trending[0].shape, _POPULAR, dtype=np.int8))
        if path == _POPULAR:
            return _fit_width(popular[0], popular[2], popular[3], k)
        g_ids, g_scores = sparse_topk_parts(
            check_sparse(sp.csr_matrix(UF[rows]).astype(np.float32), "user_features"),
            self._cached("group_parts", lambda: check_sparse(self.group_items_, "group_items_")),
            k,
            sub_b,
            allowed,
            self._threads,
        )
        group = (g_ids, np.full(g_ids.shape, 1.0), g_scores, np.full(g_ids.shape, _GROUP, dtype=np.int8))
        # the group's items first (in their order), then trending items to fill the list
        g_rank = -np.arange(g_ids.shape[1], dtype=np.float64)[None, :] + 1e9
        t_rank = -np.arange(popular[0].shape[1], dtype=np.float64)[None, :]
        return merge_lists(
            (g_ids, np.broadcast_to(g_rank, g_ids.shape), g_scores, group[3]),
            (popular[0], np.broadcast_to(t_rank, popular[0].shape), popular[2], popular[3]),
            k,
        )

    def _filled(self, lists, sub_b, allowed, k):
        """Lists whose model ran out of candidates (a neighbour model scores only the neighbours
        of a short history) completed with trending items, so every list is as long as the
        candidates allow; the added items say "popular"."""
        ids, scores, paths = lists
        n_known = self.n_known_items_
        short = _fillable(ids, sub_b, allowed, n_known)
        if short.size == 0:
            return lists
        banned = None if sub_b is None else _take(sub_b, short)
        t_ids, t_scores = self.trending_._ranked(
            short.size, min(k, n_known), _narrow_opt(banned, n_known), _known(allowed, n_known)
        )
        width = ids.shape[1]
        rank = -np.arange(width, dtype=np.float64)[None, :]
        own = (ids[short], np.broadcast_to(rank + 1e9, (short.size, width)), scores[short], paths[short])
        trend_rank = -np.arange(t_ids.shape[1], dtype=np.float64)[None, :]
        trend = (
            t_ids,
            np.broadcast_to(trend_rank, t_ids.shape),
            t_scores,
            np.full(t_ids.shape, _POPULAR, dtype=np.int8),
        )
        ids, scores, paths = ids.copy(), scores.copy(), paths.copy()
        ids[short], scores[short], paths[short] = merge_lists(own, trend, k)
        return ids, scores, paths

    def _new_items(self, users, known_h: CsrParts, sub_b, allowed, recalculate: bool, n_rows: int):
        n_known, n_new = self.n_known_items_, self.n_items_ - self.n_known_items_
        if n_new == 0 or self.max_new_items == 0:
            return None
        width = min(self.max_new_items, n_new)
        new_b = None if sub_b is None else _shifted(sub_b, n_known, n_new)
        new_allow = None if allowed is None else allowed[allowed >= n_known] - n_known
        if new_allow is not None and new_allow.size == 0:
            return None
        if self.new_item_vectors_ is not None:
            queries, offset = self.model_.queries(users, known_h, recalculate)
            ids, scores = dense_topk_parts(queries, self.new_item_vectors_, width, new_b, new_allow, self._threads)
            scores = np.where(ids >= 0, scores + offset[:, None], scores)
        else:  # the history as the model scores it (0/1 for a binary model): keys on one scale
            ids, scores = sparse_topk_parts(
                self.model_._values(known_h),
                self._cached("new_parts", lambda: check_sparse(self.new_item_neighbours_, "new_item_neighbours_")),
                width,
                new_b,
                new_allow,
                self._threads,
            )
            scores = on_model_scale(scores, ids, self.new_item_score_map_)
        if recalculate:
            empty = np.diff(known_h.indptr) == 0
            ids[empty] = -1
        ids = np.where(ids >= 0, ids + n_known, -1)
        keys = np.where(ids >= 0, scores * self.new_item_weight, -np.inf)
        return ids, keys, scores, np.full(ids.shape, _CONTENT, dtype=np.int8)

    # -- inputs ---------------------------------------------------------------------------------
    def _wide(self, M, name: str, n_rows: int, users: np.ndarray, known=None) -> CsrParts:
        """Rows over the known items or the whole catalogue, as CSR parts of the catalogue; an
        Interactions gives its rows of ``users`` (:func:`rows_of_requested`)."""
        ids = getattr(M, "item_ids", None)
        if ids is not None and self.item_ids_ is not None:  # an Interactions: numbered as the model?
            check_numbered_as(M, np.asarray(self.item_ids_)[: len(ids)], name, "item")
        M = rows_of_requested(M, users, name, known)
        parts = check_sparse(M, name)
        if parts.shape[0] != n_rows:
            raise ValueError(f"{name} has {parts.shape[0]} rows but user_ids has {n_rows}")
        if parts.shape[1] not in (self.n_known_items_, self.n_items_):
            raise ValueError(
                f"{name} has {parts.shape[1]} columns but the model knows {self.n_known_items_} items "
                f"({self.n_items_} with new products)"
            )
        if parts.shape[1] == self.n_items_:
            return parts
        S = parts.to_scipy()
        return check_sparse(sp.csr_matrix((S.data, S.indices, S.indptr), shape=(n_rows, self.n_items_)), name)

    def _user_rows_of(self, user_features, n_rows: int) -> sp.csr_matrix:
        if self.group_items_ is None:
            raise ValueError("user_features given, but the model was fitted without user_features")
        if not sp.issparse(user_features) and not hasattr(user_features, "indptr"):
            if self.user_encoder_ is None:
                raise ValueError("a user_features table needs a model fitted with rf.features(...) for customers")
            user_features = self.user_encoder_.transform(user_features)
        U = sp.csr_matrix(check_sparse(user_features, "user_features").to_scipy(), dtype=np.float32)
        if U.shape != (n_rows, self.group_items_.shape[0]):
            raise ValueError(f"user_features must have shape ({n_rows}, {self.group_items_.shape[0]}), got {U.shape}")
        return U

    def _similar_items(self, items, k):
        # Known products are answered by the model and new ones by their features, each
        # alone: a known product's neighbours do not change with the company it is asked in.
        known = items < self.n_known_items_
        if known.all():
            return self.model_._similar_items(items, k)
        if self.item_features_ is None:
            raise ValueError("similar items of new products need item_features")
        F = self._cached(
            "unit_items", lambda: check_sparse(unit_rows(self.item_features_, np.float32), "item_features")
        )
        FT = self._cached("unit_items_t", lambda: unit_columns(self.item_features_))
        new = items[~known]
        new_ids, new_scores = sparse_topk_parts(F, FT, k, self_exclusion(new, self.n_items_), None, self._threads, new)
        if not known.any():
            return new_ids, new_scores
        known_ids, known_scores = self.model_._similar_items(items[known], k)
        ids = np.full((items.size, k), -1, dtype=np.result_type(new_ids, known_ids))
        scores = np.full((items.size, k), -np.inf, dtype=np.result_type(new_scores, known_scores))
        for rows, part_ids, part_scores in ((known, known_ids, known_scores), (~known, new_ids, new_scores)):
            ids[rows, : part_ids.shape[1]] = part_ids
            scores[rows, : part_scores.shape[1]] = part_scores
        return ids, scores

    def _similar_users(self, users, k):
        return self.model_._similar_users(users, k)

    def similar_to(self, table, k: int = 10):
        """The items most similar (cosine of features) to products described by ``table`` (the
        columns the item features were built from; missing ones count as empty): for a product
        not in the catalogue at all. Needs item features from :func:`recforge.features`.

        Returns
        -------
        ids : numpy.ndarray of int64, shape (n_rows, min(k, n_items))
        scores : numpy.ndarray of float32
        """
        self._check_fitted()
        if self.item_features_ is None:
            raise ValueError("similar_to needs item features: fit with item_features=rf.features(...)")
        catalogue = self._cached("unit_items_t", lambda: unit_columns(self.item_features_))
        return similar_by_features(self.item_encoder_, catalogue, table, k, self._threads)

    def _validate_state(self) -> None:
        super()._validate_state()
        if not isinstance(self.model_, Recommender) or not isinstance(self.trending_, Popularity):
            raise ValueError("model state model_ / trending_ must be fitted models")
        if self.n_known_items_ > self.n_items_ or self.model_.n_items_ != self.n_known_items_:
            raise ValueError("model state n_known_items_ does not match the wrapped model")
        for name in ("item_encoder_", "user_encoder_"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, FeatureEncoder):
                raise ValueError(f"model state {name} must be a FeatureEncoder or None")
        n_new = self.n_items_ - self.n_known_items_
        if self.new_item_vectors_ is not None:
            self._require_shape("new_item_vectors_", (n_new, self.model_.item_vectors().shape[1]))
        if self.new_item_neighbours_ is not None:
            self._require_shape("new_item_neighbours_", (self.n_known_items_, n_new))
        score_map = self.new_item_score_map_
        if score_map is not None and not (
            isinstance(score_map, np.ndarray)
            and score_map.ndim == 2
            and score_map.shape[0] == 2
            and score_map.shape[1] > 0
            and np.isfinite(score_map).all()
            and (np.diff(score_map[0]) > 0).all()
        ):
            raise ValueError("model state new_item_score_map_ must be 2 rows of finite points, increasing in row 0")
        self._require_shape("user_events_", (self.n_users_,))
        if self.user_features_ is not None and self.user_features_.shape[0] != self.n_users_:
            raise ValueError("model state user_features_ must have one row per customer")
        if self.group_items_ is not None and self.group_items_.shape[1] != self.n_items_:
            raise ValueError("model state group_items_ must have one column per item")
        if self.model is None:
            self.model = self.model_  # read from a file: the wrapped model is the fitted one


def _binary(M) -> sp.csr_matrix:
    S = M.to_scipy() if isinstance(M, CsrParts) else sp.csr_matrix(M)
    return sp.csr_matrix((np.ones(S.indices.size), S.indices, S.indptr), shape=S.shape)


def _take(M: CsrParts, rows: np.ndarray) -> CsrParts:
    return check_sparse(M.to_scipy()[rows], "rows")


def _narrow(M: CsrParts, n_cols: int) -> CsrParts:
    """The first n_cols columns of M (the known items)."""
    if M.shape[1] == n_cols:
        return M
    return check_sparse(M.to_scipy()[:, :n_cols], "rows")


def _narrow_opt(M, n_cols: int):
    return None if M is None else _narrow(M, n_cols)


def _shifted(M: CsrParts, start: int, width: int) -> CsrParts:
    """Columns [start, start + width) of M, renumbered from 0 (the new products)."""
    return check_sparse(M.to_scipy()[:, start : start + width], "rows")


def _known(allowed, n_known: int):
    return None if allowed is None else allowed[allowed < n_known]


def _fillable(ids: np.ndarray, banned: CsrParts | None, allowed, n_known: int) -> np.ndarray:
    """Rows of ``ids`` with a free slot that trending can fill: fewer known items listed than the
    row has known candidates (allowed, not banned). A list as long as its candidates allow (k
    above them: a whole ranking for AUC) has nothing to gain from a merge that costs O(k log k)."""
    free = (ids < 0).any(axis=1)
    listed = ((ids >= 0) & (ids < n_known)).sum(axis=1)
    known = np.ones(n_known, dtype=bool)
    if allowed is not None:
        known[:] = False
        known[allowed[allowed < n_known]] = True
    candidates = np.full(ids.shape[0], np.count_nonzero(known), dtype=np.int64)
    if banned is not None:
        row = np.repeat(np.arange(banned.shape[0]), np.diff(banned.indptr))
        column = np.asarray(banned.indices, dtype=np.int64)
        hit = column < n_known
        hit[hit] = known[column[hit]]
        candidates -= np.bincount(row[hit], minlength=banned.shape[0])
    return np.flatnonzero(free & (listed < candidates))


def _fit_width(ids, keys, paths, k):
    """A list of width <= k padded to exactly k (a path's list is narrower when it has fewer
    candidates than the catalogue)."""
    if ids.shape[1] == k:
        return ids, keys.astype(np.float64), paths
    pad = k - ids.shape[1]
    return (
        np.hstack([ids, np.full((ids.shape[0], pad), -1)]),
        np.hstack([keys.astype(np.float64), np.full((ids.shape[0], pad), -np.inf)]),
        np.hstack([paths, np.full((ids.shape[0], pad), -1, dtype=np.int8)]),
    )

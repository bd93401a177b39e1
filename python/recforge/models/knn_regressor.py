"""Neighbourhood rating prediction: scikit-surprise's KNNBaseline / KNNWithMeans / KNNBasic."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .. import _core
from .._checks import check_bool, check_choice, check_int, check_real
from .._sparse import CsrParts, check_sparse, row_ids
from ..kernels.topk import allowed_items, sparse_topk_parts
from .base import Recommender, renamed_argument
from .ratings import RatingPredictor
from .rows import selector

RATING_METRICS = ("pearson_baseline", "pearson", "corated_cosine", "msd")
_FORMER_METRIC_NAMES = {"cosine": "corated_cosine"}
BASELINES = ("als", "mean", "none")
# recforge kernel metric computing each metric (all co-rated, as scikit-surprise computes them)
_KERNEL_METRIC = {
    "pearson_baseline": "corated_cosine",
    "pearson": "pearson",
    "corated_cosine": "corated_cosine",
    "msd": "msd",
}
_BLOCK = 256  # users scored per block by recommend


def baseline_biases(
    X: CsrParts, mu: float, iterations: int, user_regularization: float, item_regularization: float
) -> tuple[np.ndarray, np.ndarray]:
    """User and item biases of r ~ mu + b_u + b_i by alternating least squares, exactly as
    scikit-surprise's ``baseline_only`` ALS: items first, b_i = sum(r - mu - b_u) / (reg_i + n_i)."""
    users, items = row_ids(X), X.indices
    r = X.data.astype(np.float64) - mu
    n_u = np.bincount(users, minlength=X.shape[0])
    n_i = np.bincount(items, minlength=X.shape[1])
    b_u, b_i = np.zeros(X.shape[0]), np.zeros(X.shape[1])
    for _ in range(iterations):
        b_i = np.bincount(items, weights=r - b_u[users], minlength=X.shape[1]) / (item_regularization + n_i)
        b_u = np.bincount(users, weights=r - b_i[items], minlength=X.shape[0]) / (user_regularization + n_u)
    return b_u, b_i


class KNNRegressor(RatingPredictor, Recommender):
    """Rating prediction from the most similar items (or users) the customer rated, as
    scikit-surprise's ``KNNBaseline`` (``baseline="als"``), ``KNNWithMeans`` (``"mean"``) and
    ``KNNBasic`` (``"none"``).

    Item-based (the default), the prediction for (u, i) is

        r^_ui = b_ui + sum_j s_ij (r_uj - b_uj) / sum_j s_ij

    over the ``neighbours`` items j most similar to i among those u rated, keeping those with
    s_ij > 0; with fewer than ``min_neighbours`` of them (or none), r^_ui = b_ui. The baseline b_ui is mu + b_u + b_i
    (ALS biases, ``"als"``), the mean rating of i (``"mean"``) or mu (``"none"``, which is
    algebraically KNNBasic's sum s r / sum s). User-based swaps the roles.

    Similarities are computed once at fit by :func:`recforge.similarity` over co-rated entries,
    exactly as scikit-surprise defines them:

    - ``"pearson_baseline"``: cosine of the baseline residuals r - (mu + b_u + b_i) over the
      co-rated users, times (n - 1) / (n - 1 + shrinkage) with n the number of co-rated users
      (the ALS biases are computed for it whatever ``baseline`` is);
    - ``"pearson"``: Pearson correlation over the co-rated users;
    - ``"corated_cosine"``: cosine over the co-rated users (scikit-surprise's ``"cosine"``; that
      name is still accepted, with a FutureWarning: in :func:`recforge.similarity` "cosine" is
      the cosine over all columns);
    - ``"msd"``: 1 / (mean squared difference + 1).

    ``shrinkage`` applies to ``"pearson_baseline"`` only (as in scikit-surprise). The
    similarity is kept sparse: each item keeps its ``stored_neighbours`` most similar items (all
    with a non-zero similarity when None), and prediction runs in C++ over pairs in parallel
    (pairs grouped by item: the item's similarity row is scattered once, then each user's rated
    items are looked up in it).

    Parameters
    ----------
    neighbours : int, default 40
        Neighbours used per prediction (scikit-surprise's ``k``; formerly ``k`` here too).
    metric : {"pearson_baseline", "pearson", "corated_cosine", "msd"}, default "pearson_baseline"
    user_based : bool, default False
        Similar users instead of similar items.
    min_neighbours : int, default 1
        Fewer neighbours than this: the baseline alone (Surprise's ``min_k``; formerly ``min_k``).
    shrinkage : float, default 100
    baseline : {"als", "mean", "none"}, default "als"
    baseline_iterations : int, default 10
    user_regularization, item_regularization : float, default 15 and 10
        The ALS baseline's penalties (scikit-surprise's ``reg_u``, ``reg_i``).
    stored_neighbours : int, optional
        Similar entities stored per entity (memory O(n_entities * stored_neighbours)); None keeps
        every non-zero similarity (exactly scikit-surprise's neighbour choice). Formerly
        ``neighbourhood``.
    n_threads : int, default 0

    Attributes
    ----------
    similarity_ : scipy.sparse.csr_matrix, shape (n_items, n_items) (or users when user-based)
    user_bias_, item_bias_ : numpy.ndarray of float64
        Baseline terms (the entity means minus mu with ``"mean"``; zeros with ``"none"``).
    global_mean_ : float
    rating_range_ : numpy.ndarray, shape (2,)

    Notes
    -----
    ``recommend`` ranks every allowed item by its predicted rating (O(n_items * walk) per user,
    from the training ratings; ``user_items`` serves for exclusion only). ``similar_items``
    (item-based) and ``similar_users`` (user-based) read ``similarity_``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, recforge as rf
    >>> rng = np.random.default_rng(0)
    >>> R = sp.random(100, 40, density=0.2, format="csr", random_state=0, data_rvs=lambda n: rng.integers(1, 6, n))
    >>> rf.KNNRegressor().fit(R).predict([0, 1], [3, 4]).shape
    (2,)
    """

    _state = (
        "similarity_",
        "deviations_",
        "user_bias_",
        "item_bias_",
        "global_mean_",
        "rating_range_",
        "n_users_",
        "n_items_",
    )

    _renamed = {"k": "neighbours", "min_k": "min_neighbours", "neighbourhood": "stored_neighbours"}

    def __init__(
        self,
        neighbours: int = 40,
        metric: str = "pearson_baseline",
        user_based: bool = False,
        min_neighbours: int = 1,
        shrinkage: float = 100.0,
        baseline: str = "als",
        baseline_iterations: int = 10,
        user_regularization: float = 15.0,
        item_regularization: float = 10.0,
        stored_neighbours: int | None = None,
        n_threads: int = 0,
        *,
        k: int | None = None,
        min_k: int | None = None,
        neighbourhood: int | None = None,
    ):
        self.neighbours = renamed_argument(
            neighbours, k, "k", "neighbours", 40, check=lambda v, name: check_int(v, name, minimum=1)
        )
        if metric in _FORMER_METRIC_NAMES:
            metric = renamed_argument(
                None,
                _FORMER_METRIC_NAMES[metric],
                f"metric={metric!r}",
                f"metric={_FORMER_METRIC_NAMES[metric]!r}",
                None,
            )
        self.metric = check_choice(metric, "metric", RATING_METRICS)
        self.user_based = check_bool(user_based, "user_based")
        self.min_neighbours = renamed_argument(
            min_neighbours, min_k, "min_k", "min_neighbours", 1, check=lambda v, name: check_int(v, name, minimum=0)
        )
        self.shrinkage = check_real(shrinkage, "shrinkage", minimum=0.0)
        self.baseline = check_choice(baseline, "baseline", BASELINES)
        self.baseline_iterations = check_int(baseline_iterations, "baseline_iterations", minimum=0)
        self.user_regularization = check_real(user_regularization, "user_regularization", minimum=0.0)
        self.item_regularization = check_real(item_regularization, "item_regularization", minimum=0.0)
        self.stored_neighbours = renamed_argument(
            stored_neighbours,
            neighbourhood,
            "neighbourhood",
            "stored_neighbours",
            None,
            check=lambda v, name: None if v is None else check_int(v, name, minimum=1),
        )
        self.n_threads = check_int(n_threads, "n_threads", minimum=0)

    # -- fitting ------------------------------------------------------------------------------
    def _fit(self, X: CsrParts) -> None:
        X = X._replace(data=X.data.astype(np.float64))
        self._start_ratings(X)
        n_users, n_items = X.shape
        mu = float(X.data.mean()) if X.data.size else 0.0
        users, items = row_ids(X), X.indices
        zeros_u, zeros_i = np.zeros(n_users), np.zeros(n_items)
        if self.baseline == "als" or self.metric == "pearson_baseline":
            als_u, als_i = baseline_biases(
                X, mu, self.baseline_iterations, self.user_regularization, self.item_regularization
            )
        if self.baseline == "als":
            b_u, b_i = als_u, als_i
        elif self.baseline == "mean":  # the entity's mean rating, as a bias over mu
            side, n = (users, n_users) if self.user_based else (items, n_items)
            counts = np.bincount(side, minlength=n)
            means = (
                np.divide(np.bincount(side, weights=X.data, minlength=n), counts, out=np.full(n, mu), where=counts > 0)
                - mu
            )
            b_u, b_i = (means, zeros_i) if self.user_based else (zeros_u, means)
        else:
            b_u, b_i = zeros_u, zeros_i
        self.global_mean_, self.user_bias_, self.item_bias_ = mu, b_u, b_i
        self.n_users_, self.n_items_ = n_users, n_items

        # Similarity between entities (rows of the entity x context matrix).
        values = X.data
        if self.metric == "pearson_baseline":
            values = X.data - (mu + als_u[users] + als_i[items])
        M = sp.csr_matrix((values, X.indices, X.indptr), shape=X.shape)
        E = check_sparse(M if self.user_based else M.T.tocsr(), "ratings")
        shrink = self.shrinkage if self.metric == "pearson_baseline" else 0.0
        k = E.shape[0] if self.stored_neighbours is None else self.stored_neighbours
        indptr, indices, data = _core.similarity(
            E.indptr,
            E.indices,
            E.data,
            *E.shape,
            k,
            _KERNEL_METRIC[self.metric],
            shrink,
            1,
            self._threads,
            shrinkage_offset=1.0 if shrink else 0.0,
            sorted_rows=False,
        )  # prediction scatters rows: no order needed
        self.similarity_ = sp.csr_matrix((data, indices, indptr), shape=(E.shape[0],) * 2)
        # Deviations of every rating from its baseline, contexts x entities.
        D = sp.csr_matrix((X.data - (mu + b_u[users] + b_i[items]), X.indices, X.indptr), shape=X.shape)
        self.deviations_ = D.T.tocsr() if self.user_based else D

    # -- prediction ---------------------------------------------------------------------------
    def _predict(self, user_ids, item_ids):
        contexts, entities = (item_ids, user_ids) if self.user_based else (user_ids, item_ids)
        S, D = self._cached(
            "parts",
            lambda: (_int64_parts(self.similarity_, "similarity_"), _int64_parts(self.deviations_, "deviations_")),
        )
        order = np.argsort(entities, kind="stable")  # one scatter of each entity's similarity row
        delta, _ = _core.knn_predict(
            S.indptr,
            S.indices,
            S.data,
            D.indptr,
            D.indices,
            D.data,
            D.shape[0],
            contexts,
            entities,
            order,
            self.neighbours,
            self.min_neighbours,
            self._threads,
        )
        out = delta + self.global_mean_
        for ids, bias in ((user_ids, self.user_bias_), (item_ids, self.item_bias_)):
            known = (ids >= 0) & (ids < bias.size)
            out[known] += bias[ids[known]]
        return out

    def _scores_topk(self, users, history, k, banned, allow, recalculate_user=False):
        if recalculate_user:
            raise ValueError(
                "KNNRegressor predicts the ratings of the customers it was trained on (their biases "
                "and rated neighbours); it cannot answer from a new history (recalculate_user=True): "
                "use ItemKNN, a factor model, or rf.ColdStart for new customers"
            )
        n_items = self.n_items_
        candidates = np.arange(n_items) if allow is None else allowed_items(allow, n_items)
        k = min(k, candidates.size)  # as the kernels: never wider than the candidates
        ids = np.full((len(users), k), -1, dtype=np.int64)
        scores = np.full((len(users), k), -np.inf)
        B = (
            None
            if banned is None
            else sp.csr_matrix(  # the pattern only: values (even 0) are ignored
                (np.ones(banned.indices.size), banned.indices, banned.indptr), shape=banned.shape
            )
        )
        for start in range(0, len(users), _BLOCK):
            block = users[start : start + _BLOCK]
            pred = self._predict(np.repeat(block, candidates.size), np.tile(candidates, len(block)))
            pred = pred.reshape(len(block), candidates.size)
            if B is not None:
                stored = B[start : start + len(block)][:, candidates].tocoo()
                pred[stored.row, stored.col] = -np.inf
            order = np.argsort(-pred, axis=1, kind="stable")[:, :k]  # ties: lower item id first
            top = np.take_along_axis(pred, order, axis=1)
            m = order.shape[1]
            ids[start : start + len(block), :m] = np.where(np.isfinite(top), candidates[order], -1)
            scores[start : start + len(block), :m] = np.where(np.isfinite(top), top, -np.inf)
        return ids, scores

    def _neighbours(self, ids, k):
        S = self._cached("similarity", lambda: check_sparse(self.similarity_, "similarity_"))
        return sparse_topk_parts(selector(S.shape[0], S.data.dtype), S, k, None, None, self._threads, ids)

    def _similar_items(self, items, k):
        if self.user_based:
            raise NotImplementedError("a user-based KNNRegressor has no item similarity: use user_based=False")
        return self._neighbours(items, k)

    def _similar_users(self, users, k):
        if not self.user_based:
            raise NotImplementedError("an item-based KNNRegressor has no user similarity: use user_based=True")
        return self._neighbours(users, k)

    def _validate_state(self) -> None:
        super()._validate_state()
        n_entities, n_contexts = (self.n_users_, self.n_items_) if self.user_based else (self.n_items_, self.n_users_)
        self._require_shape("similarity_", (n_entities, n_entities))
        self._require_shape("deviations_", (n_contexts, n_entities))
        self._require_shape("user_bias_", (self.n_users_,))
        self._require_shape("item_bias_", (self.n_items_,))
        self._validate_ratings()


def _int64_parts(M, name: str) -> CsrParts:
    """M's arrays with int64 indptr and indices (the prediction kernel takes one index type). Not
    canonicalised: the similarity rows stay in rank order, and the kernel validates the arrays."""
    M = sp.csr_matrix(M)
    return CsrParts(
        M.indptr.astype(np.int64, copy=False),
        M.indices.astype(np.int64, copy=False),
        M.data.astype(np.float64, copy=False),
        M.shape,
        False,
    )

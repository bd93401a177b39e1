"""Biased matrix factorisation for explicit ratings (Koren, Bell & Volinsky 2009)."""

from __future__ import annotations

import numpy as np

from .. import _core
from .._checks import check_choice, check_int, check_positive, check_real
from .._sparse import CsrParts, check_sparse, row_ids
from .factors import ItemBiasFactorModel
from .ratings import RatingPredictor

MF_SOLVERS = ("sgd", "als")
GROUPS = 32  # user and item groups of stratified SGD: its parallelism (see sgd_mf.hpp)
SGD_RATINGS_PER_THREAD = 250_000  # below this much work per thread the strata's barriers dominate


class BiasedMF(RatingPredictor, ItemBiasFactorModel):
    """Rating prediction by biased matrix factorisation: r^_ui = mu + b_u + b_i + q_i . p_u
    (the "SVD" of the Netflix prize, scikit-surprise's ``SVD``).

    The factors minimise, over the stored ratings (u, i, r),

        sum (r - r^_ui)^2 + regularization (|p_u|^2 + |q_i|^2) + bias_regularization (b_u^2 + b_i^2),

    the penalties counted once per rating (so an active user's vector is held as strongly as
    its data warrant: "weighted-lambda").

    - ``solver="sgd"`` (default): stochastic gradient descent, one rating at a time in a fresh
      random order every epoch, learning rates shrinking by ``learning_rate_decay`` per epoch.
      Threads run *stratified* SGD (Gemulla et al. 2011): users and items are dealt into 32
      groups each, and blocks that share no user and no item are updated in parallel without
      locks. This replaces Hogwild: the result is **bit-identical for any** ``n_threads`` (Hogwild
      runs are not reproducible, and on small data its threads fight over the same factor rows).
      At most 32 threads are used, and at most one per 250,000 ratings: every epoch ends 32
      strata at a barrier, and on less work the threads wait more than they compute (measured on
      this project's 2-core machine: MovieLens 100K fits 1.5x faster on one thread than on two,
      1.6M ratings 1.5x faster on two; see ``bench/bench_busy.py``).
    - ``solver="als"``: alternating least squares of the same objective: every item's
      (q_i, b_i) exactly given the users, then every user's (p_u, b_u) given the items (the
      learning rates, decay and ``init_std`` of SGD do not apply, except ``init_std`` for the
      first user factors).

    The defaults are tuned on MovieLens 100K (5-fold RMSE about 0.905, where scikit-surprise's
    SVD with its defaults scores 0.934); more factors and epochs with a slower decay (for
    example ``factors=100, iterations=40, learning_rate=0.015, regularization=0.07,
    learning_rate_decay=0.98``) reach about 0.901.

    Parameters
    ----------
    factors : int, default 32
        Length of the user and item vectors.
    iterations : int, default 20
        Epochs (SGD: passes over the ratings) or sweeps (ALS).
    learning_rate : float, default 0.03
        SGD step for the factors in the first epoch.
    regularization : float, default 0.05
        Penalty on the factor vectors.
    bias_learning_rate : float, optional
        SGD step for the biases; default ``learning_rate``.
    bias_regularization : float, default 0.05
        Penalty on the biases.
    learning_rate_decay : float, default 0.95
        Both learning rates are multiplied by this after every epoch (1 keeps them constant).
    init_std : float, default 0.01
        Standard deviation of the normal initial factors (biases start at 0).
    solver : {"sgd", "als"}, default "sgd"
    dtype : {"float32", "float64"}, default "float32"
    random_state : int, optional
        Seed of the initial factors, the groups and the visiting order. Same seed and data give
        bit-identical models for any ``n_threads``.
    n_threads : int, default 0
        Threads; 0 means every CPU this process may use; larger counts are capped at that number.
    show_progress : bool, default False
        A tqdm progress bar over the epochs.

    Attributes
    ----------
    user_factors_, item_factors_ : numpy.ndarray, shape (n_users | n_items, factors)
    user_bias_, item_bias_ : numpy.ndarray, shape (n_users,) | (n_items,)
    global_mean_ : float
        mu, the mean training rating.
    rating_range_ : numpy.ndarray of float64, shape (2,)
        The lowest and highest training rating (predictions are clipped to it).
    loss_ : float
        Training RMSE of the last epoch (SGD: over the epoch as it went; ALS: after it).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, recforge as rf
    >>> rng = np.random.default_rng(0)
    >>> R = sp.random(100, 40, density=0.2, format="csr", random_state=0, data_rvs=lambda n: rng.integers(1, 6, n))
    >>> model = rf.BiasedMF(random_state=0).fit(R)
    >>> model.predict([0, 1, 500], [3, 4, 5]).shape    # user 500 is unknown: mu + b_i
    (3,)
    """

    _state = ItemBiasFactorModel._state + ("user_bias_", "global_mean_", "rating_range_")

    def __init__(
        self,
        factors: int = 32,
        iterations: int = 20,
        learning_rate: float = 0.03,
        regularization: float = 0.05,
        bias_learning_rate: float | None = None,
        bias_regularization: float = 0.05,
        learning_rate_decay: float = 0.95,
        init_std: float = 0.01,
        solver: str = "sgd",
        dtype: str = "float32",
        random_state: int | None = None,
        n_threads: int = 0,
        show_progress: bool = False,
    ):
        self.factors = check_int(factors, "factors", minimum=1)
        self.iterations = check_int(iterations, "iterations", minimum=1)
        self.learning_rate = check_positive(learning_rate, "learning_rate")
        self.regularization = check_real(regularization, "regularization", minimum=0.0)
        self.bias_learning_rate = (
            None if bias_learning_rate is None else check_positive(bias_learning_rate, "bias_learning_rate")
        )
        self.bias_regularization = check_real(bias_regularization, "bias_regularization", minimum=0.0)
        self.learning_rate_decay = check_positive(learning_rate_decay, "learning_rate_decay")
        if self.learning_rate_decay > 1:
            raise ValueError(f"learning_rate_decay must be in (0, 1], got {self.learning_rate_decay}")
        self.init_std = check_real(init_std, "init_std", minimum=0.0)
        self.solver = check_choice(solver, "solver", MF_SOLVERS)
        self._set_run_options(dtype, random_state, n_threads, show_progress)

    # -- fitting ------------------------------------------------------------------------------
    def fit(self, user_items, callback=None):
        """Fit on ratings; returns self.

        Parameters
        ----------
        user_items : scipy.sparse matrix or array, shape (n_users, n_items)
            Every stored entry is a rating (an explicit 0 is a rating of 0).
        callback : callable, optional
            ``callback(iteration, elapsed_seconds, training_rmse)`` after every epoch.

        Raises
        ------
        FloatingPointError
            Training diverged (factors not finite); the message names what to change (a
            learning rate, a penalty whose product with its rate reaches 1, or ``init_std``).
        """
        return self._fit_watched(user_items, callback)

    def _fit(self, X: CsrParts, callback=None) -> None:
        n_users, n_items = X.shape
        rng = np.random.default_rng(self.random_state)
        ratings = X.data.astype(self.dtype)  # a copy: the kernel shuffles it in place
        self._cache_value_range = (float(ratings.min()), float(ratings.max())) if ratings.size else (0.0, 0.0)
        self._start_ratings(X)
        mu = float(ratings.mean(dtype=np.float64)) if ratings.size else 0.0
        users = self._normal_factors(rng, n_users, self.init_std)
        items = self._normal_factors(rng, n_items, self.init_std)
        user_bias, item_bias = np.zeros(n_users, self.dtype), np.zeros(n_items, self.dtype)
        self.global_mean_ = mu
        fit = self._fit_sgd if self.solver == "sgd" else self._fit_als
        fit(X, ratings, users, items, user_bias, item_bias, rng, callback)
        self.n_users_, self.n_items_ = n_users, n_items
        self.user_factors_, self.item_factors_ = users, items
        self.user_bias_, self.item_bias_ = user_bias, item_bias

    def _divergence_advice(self) -> str:
        low, high = self.__dict__.get("_cache_value_range", (0.0, 0.0))
        if high - low > 20:
            # Quantities or amounts, not ratings: no learning rate fixes squared errors of 10^6.
            return (
                f"the values span [{low:g}, {high:g}], far from a rating scale; BiasedMF fits ratings: "
                "bring them to a small scale first (e.g. numpy.log1p of quantities, or clip them to 1-5), "
                "or use an implicit-feedback model (rf.ALS, rf.BPR, rf.ItemKNN) for purchase counts"
            )
        if self.solver == "als":
            return f"raise regularization (now {self.regularization})"
        return super()._divergence_advice()

    def _step_sizes(self) -> list[tuple[str, float, str, float]]:
        rate, name = self.learning_rate, "learning_rate"
        if self.bias_learning_rate is not None:
            rate, name = self.bias_learning_rate, "bias_learning_rate"
        return [*super()._step_sizes(), (name, rate, "bias_regularization", self.bias_regularization)]

    def _fit_sgd(self, X, ratings, users, items, user_bias, item_bias, rng, callback):
        n_users, n_items = X.shape
        user_ids = row_ids(X).astype(X.indices.dtype)
        group_of_user, group_of_item = rng.permutation(n_users) % GROUPS, rng.permutation(n_items) % GROUPS
        block = group_of_user[user_ids] * GROUPS + group_of_item[X.indices]
        order = np.argsort(block, kind="stable")
        block_ptr = np.zeros(GROUPS * GROUPS + 1, dtype=np.int64)
        np.cumsum(np.bincount(block, minlength=GROUPS * GROUPS), out=block_ptr[1:])
        user_ids, item_ids, ratings = user_ids[order], X.indices[order], ratings[order]
        seed = int(rng.integers(2**63))
        lr_bias = self.learning_rate if self.bias_learning_rate is None else self.bias_learning_rate
        threads = max(1, min(self._threads, ratings.size // SGD_RATINGS_PER_THREAD))  # same result, any count

        def run(first, count):
            errors = _core.mf_sgd_epochs(
                user_ids,
                item_ids,
                ratings,
                block_ptr,
                users,
                items,
                user_bias,
                item_bias,
                self.global_mean_,
                self.learning_rate,
                self.regularization,
                lr_bias,
                self.bias_regularization,
                self.learning_rate_decay,
                seed,
                first,
                count,
                threads,
            )
            return self._rmse(errors)

        self._run_epochs(run, callback)

    def _fit_als(self, X, ratings, users, items, user_bias, item_bias, rng, callback):
        n_users, n_items = X.shape
        XT = check_sparse(X.to_scipy().T.tocsr(), "user_items.T")
        lam = np.array([self.regularization] * self.factors + [self.bias_regularization])
        mu, f = self.global_mean_, self.factors

        def half_step(R: CsrParts, fixed, fixed_bias, solved, solved_bias):
            # Unknowns (x, b) against features (y, 1): targets are r - mu - the fixed side's bias.
            features = np.empty((fixed.shape[0], f + 1), dtype=self.dtype)
            features[:, :f], features[:, f] = fixed, 1
            targets = (R.data - mu - fixed_bias[R.indices]).astype(self.dtype)
            out = np.empty((R.shape[0], f + 1), dtype=self.dtype)
            bad = _core.ridge_rows(R.indptr, R.indices, targets, fixed.shape[0], features, lam, out, self._threads)
            if bad:
                raise FloatingPointError(
                    f"{bad} rows of the BiasedMF ALS step are singular or not finite: raise regularization"
                )
            solved[:], solved_bias[:] = out[:, :f], out[:, f]

        def run(first, count):
            errors = np.empty(count)
            for k in range(count):
                half_step(XT, users, user_bias, items, item_bias)
                half_step(X, items, item_bias, users, user_bias)
                residual = X.data - self._scores(
                    users, items, user_bias, item_bias, row_ids(X), X.indices.astype(np.int64)
                )
                errors[k] = float(np.square(residual, dtype=np.float64).sum())
            return self._rmse(errors)

        self._run_epochs(run, callback)

    def _rmse(self, squared_errors: np.ndarray) -> np.ndarray:
        return np.sqrt(squared_errors / max(self._n_ratings, 1))

    # -- scoring ------------------------------------------------------------------------------
    def _scores(self, users, items, user_bias, item_bias, user_ids, item_ids):
        """mu + b_u + b_i + p_u . q_i for pairs; out-of-range ids drop their terms."""
        known_u = (user_ids >= 0) & (user_ids < users.shape[0])
        known_i = (item_ids >= 0) & (item_ids < items.shape[0])
        out = _core.pair_dots(users, items, user_ids, item_ids, self._threads).astype(np.float64)
        out += self.global_mean_
        out[known_u] += user_bias[user_ids[known_u]]
        out[known_i] += item_bias[item_ids[known_i]]
        return out

    def _predict(self, user_ids, item_ids):
        return self._scores(
            self.user_factors_, self.item_factors_, self.user_bias_, self.item_bias_, user_ids, item_ids
        )

    def queries(self, users, history, recalculate_user: bool = False):
        # mu + b_u + b_i + p_u . q_i is [p_u, 1] . [q_i, b_i] plus the per-user offset mu + b_u.
        if recalculate_user:
            factors, bias = self._fold_in_ratings(history)
        else:
            factors, bias = self.user_factors_[users], self.user_bias_[users]
        queries = np.ones((len(users), self.factors + 1), dtype=self.dtype)
        queries[:, : self.factors] = factors
        return queries, self.global_mean_ + bias.astype(np.float64)

    def _fold_in_ratings(self, history: CsrParts):
        """Factors and bias of users from their ratings alone: the user half-step of the ALS
        solver, r - mu - b_i ~ p . q_i + b_u over the rated items, ridge with the model's
        regularization and bias_regularization times the row's number of ratings (weighted
        lambda, as in training)."""
        f = self.factors
        ones = np.ones((self.n_items_, 1), dtype=self.dtype)
        features = self._cached("fold_in_features", lambda: np.hstack([self.item_factors_, ones]))
        targets = (history.data - self.global_mean_ - self.item_bias_[history.indices]).astype(self.dtype)
        lam = np.array([self.regularization] * f + [self.bias_regularization])
        out = np.zeros((history.shape[0], f + 1), dtype=self.dtype)
        _core.ridge_rows(history.indptr, history.indices, targets, self.n_items_, features, lam, out, self._threads)
        return out[:, :f], out[:, f]

    def _validate_state(self) -> None:
        super()._validate_state()
        self._check_dtype_state("user_bias_", (self.n_users_,))
        self._validate_ratings()

"""What every latent-factor model shares: user and item factor matrices, scores as their inner
products (fused top-k in C++), similarity as cosine between factors, and the state checks."""

from __future__ import annotations

import time

import numpy as np

from .._checks import check_bool, check_int, check_seed
from .._sparse import CsrParts
from ..kernels.topk import DIRECT_QUERIES, dense_topk_parts, pack_items
from .base import Recommender
from .rows import pad_empty_histories, self_exclusion

DTYPES = ("float32", "float64")


def check_dtype(dtype) -> str:
    """``dtype`` as one of the names in DTYPES (numpy dtypes and types are accepted)."""
    try:
        name = np.dtype(dtype).name
    except TypeError:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if name not in DTYPES:
        raise ValueError(f"dtype must be float32 or float64, got {name}")
    return dtype if isinstance(dtype, str) and dtype == name else name  # the same object: sklearn's clone checks


class FactorModel(Recommender):
    """Base of the models whose score for (u, i) is ``user_factors_[u] . item_factors_[i]``.

    Subclasses set ``factors``, ``dtype`` and ``n_threads`` in ``__init__`` and fill
    ``user_factors_`` / ``item_factors_`` in ``_fit``. ``similar_items`` / ``similar_users``
    rank by cosine between factor vectors (a vector of zeros scores 0 against everything).
    """

    _state = ("user_factors_", "item_factors_", "n_users_", "n_items_")

    def _set_run_options(self, dtype, random_state, n_threads, show_progress) -> None:
        """Check and set the constructor arguments every trained factor model shares."""
        self.dtype = check_dtype(dtype)
        self.random_state = check_seed(random_state)
        self.n_threads = check_int(n_threads, "n_threads", minimum=0)
        self.show_progress = check_bool(show_progress, "show_progress")

    def _normal_factors(self, rng: np.random.Generator, n_rows: int, std: float) -> np.ndarray:
        """n_rows x factors, normal with standard deviation ``std``, in the model's dtype."""
        return (rng.standard_normal((n_rows, self.factors)) * std).astype(self.dtype)

    def _query_vectors(self, users: np.ndarray, history, recalculate_user: bool) -> np.ndarray:
        """The vectors scored against ``_item_vectors()`` for these users."""
        return self._fold_in_history(history) if recalculate_user else self.user_factors_[users]

    def _fold_in_history(self, history: CsrParts) -> np.ndarray:
        """User factors from interaction rows alone: the one-class ridge solution
        p = (Q'Q + lambda I)^-1 Q' h, h the row's weights over all items (missing = 0), with
        lambda = ``regularization`` x the mean eigenvalue of Q'Q (so the shrinkage does not
        depend on the factors' scale). O(nnz f + f^3) for the whole batch, in float64."""
        Q = self.item_factors_.astype(np.float64)
        gram = self._cached("item_gram", lambda: Q.T @ Q)
        rhs = history.to_scipy().astype(np.float64) @ Q
        scale = float(np.trace(gram)) / self.factors or 1.0
        lam = max(float(self.regularization), 1e-6) * scale
        return np.linalg.solve(gram + lam * np.eye(self.factors), rhs.T).T.astype(self.dtype)

    def _item_vectors(self) -> np.ndarray:
        return self.item_factors_

    def queries(self, users, history: CsrParts, recalculate_user: bool = False):
        """What the model scores items with, for wrappers that score more items the same way
        (:class:`~recforge.ColdStart` scores new products): ``(queries, offset)`` such that
        the score of item vector v (a row of ``item_vectors()``) is ``queries[r] . v +
        offset[r]``."""
        return np.ascontiguousarray(self._query_vectors(users, history, recalculate_user)), np.zeros(len(users))

    def item_vectors(self) -> np.ndarray:
        """The item side of :meth:`queries`: one row per item."""
        return self._item_vectors()

    def _scores_topk(self, users, history, k, banned, allow, recalculate_user: bool = False):
        queries, offset = self.queries(users, history, recalculate_user)
        items, packed = self._item_vectors(), None
        if queries.shape[0] <= DIRECT_QUERIES and allow is None:  # one customer at a time: pack once
            packed = self._cached("packed_items", lambda: pack_items(items), source=items)
        ids, scores = dense_topk_parts(queries, items, k, banned, allow, self._threads, packed=packed)
        if offset.any():
            scores = np.where(ids >= 0, scores + offset.astype(scores.dtype)[:, None], scores)
        return pad_empty_histories(ids, scores, history) if recalculate_user else (ids, scores)

    def _similar_items(self, items, k):
        return self._cosine_neighbours(self.item_factors_, items, k)

    def _similar_users(self, users, k):
        return self._cosine_neighbours(self.user_factors_, users, k)

    def _cosine_neighbours(self, F: np.ndarray, ids: np.ndarray, k: int):
        queries = np.ascontiguousarray(F[ids])
        ex = self_exclusion(ids, F.shape[0])
        return dense_topk_parts(queries, F, k, ex, None, self._threads, cosine=True)

    def _fit_watched(self, user_items, callback):
        """fit() with an optional ``callback(iteration, elapsed, loss)``, checked before anything runs."""
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable, got {type(callback).__name__}")
        return Recommender.fit(self, user_items, callback=callback)

    def _run_epochs(self, run, callback, postfix=None) -> None:
        """Train by ``run(first, count) -> loss of each epoch`` over ``self.iterations`` epochs:
        one epoch per call when someone watches (``callback(iteration, elapsed, loss)``, the
        progress bar, which shows ``postfix()``), else all in one call (the kernels give the same
        result either way). Sets ``loss_`` to the last epoch's loss (None when ``run`` computes
        none); a loss that is not finite means divergence."""
        from tqdm.auto import tqdm

        self.loss_ = None
        watched = callback is not None or self.show_progress
        steps = range(self.iterations) if watched else ([0] if self.iterations else [])
        bar = tqdm(steps, desc=type(self).__name__, unit="epoch", disable=not self.show_progress)
        for t in bar:
            start = time.perf_counter()
            losses = run(t, 1 if watched else self.iterations)
            if losses is not None and not np.isfinite(losses).all():
                raise FloatingPointError(
                    f"{type(self).__name__} diverged in epoch {t + len(losses)}: {self._divergence_advice()}"
                )
            self.loss_ = float(losses[-1]) if losses is not None and len(losses) else None
            if self.show_progress and self.loss_ is not None:
                bar.set_postfix(postfix() if postfix else {"loss": f"{self.loss_:.4f}"})
            if callback is not None:
                callback(t, time.perf_counter() - start, self.loss_)

    def _divergence_advice(self) -> str:
        """What to change when training diverges (models override with what works for them)."""
        return f"raise regularization (now {self.regularization})"

    def _check_dtype_state(self, name: str, shape: tuple) -> None:
        value = getattr(self, name)
        if value.dtype != np.dtype(self.dtype) or not value.flags.c_contiguous:
            raise ValueError(f"model state {name} must be a C-contiguous {self.dtype} array, got {value.dtype}")
        self._require_shape(name, shape)

    def _validate_state(self) -> None:
        super()._validate_state()
        self._check_dtype_state("user_factors_", (self.n_users_, self.factors))
        self._check_dtype_state("item_factors_", (self.n_items_, self.factors))


class ItemBiasFactorModel(FactorModel):
    """A factor model whose scores add an item bias, ``p_u . q_i + b_i`` (``item_bias_``): ranked
    by the fused dense top-k as ``[p_u, 1] . [q_i, b_i]`` (the item side built once, cached)."""

    _state = FactorModel._state + ("item_bias_",)

    def _step_sizes(self) -> list[tuple[str, float, str, float]]:
        """Each SGD step size with the penalty it multiplies: (rate name, rate, penalty name,
        penalty). Models with more than one (BiasedMF's biases) add theirs."""
        return [("learning_rate", self.learning_rate, "regularization", self.regularization)]

    def _divergence_advice(self) -> str:
        """What to change when training diverges: the parameter that overshoots, not always
        the learning rate (models override with what works for them)."""
        steps = self._step_sizes()
        for rate_name, rate, penalty_name, penalty in steps:
            # a step moves a factor by -rate * penalty * itself: at 1 it passes zero, above 2
            # it grows every step, whatever the data
            if rate * penalty >= 1:
                return (
                    f"{rate_name} x {penalty_name} = {rate * penalty:g} >= 1, so each step's penalty overshoots: "
                    f"lower {rate_name} (now {rate:g}) or {penalty_name} (now {penalty:g})"
                )
        spread = self.init_std**2 * np.sqrt(self.factors)
        if spread > 1:  # the starting predictions' spread: q.p of two N(0, init_std^2) vectors
            return (
                f"init_std={self.init_std:g} starts {self.factors} factors with predictions of about +-{spread:.3g}: "
                "lower it (default 0.01)"
            )
        rates = sorted({(rate, name) for name, rate, *_ in steps}, reverse=True)
        return "lower " + " or ".join(f"{name} (now {rate:g})" for rate, name in rates)

    def _query_vectors(self, users, history, recalculate_user):
        queries = np.ones((len(users), self.factors + 1), dtype=self.dtype)
        queries[:, : self.factors] = super()._query_vectors(users, history, recalculate_user)
        return queries

    def _item_vectors(self):
        def build():
            items = np.empty((self.n_items_, self.factors + 1), dtype=self.dtype)
            items[:, : self.factors], items[:, self.factors] = self.item_factors_, self.item_bias_
            return items

        return self._cached("item_vectors", build)

    def _validate_state(self) -> None:
        super()._validate_state()
        self._check_dtype_state("item_bias_", (self.n_items_,))

"""Implicit-feedback alternating least squares (Hu, Koren & Volinsky 2008)."""

from __future__ import annotations

import numpy as np

from .. import _core
from .._checks import check_bool, check_choice, check_int, check_real
from .._factorize import check_numbered_as, rows_of_requested, same_ids
from .._sparse import CsrParts, check_sparse
from .base import ANY_ID, check_ids
from .factors import FactorModel

ALS_SOLVERS = ("cg", "cholesky")


class ALS(FactorModel):
    """Matrix factorisation for implicit feedback (purchases, clicks, views) by alternating least
    squares, as in Hu, Koren & Volinsky, "Collaborative Filtering for Implicit Feedback
    Datasets" (2008).

    Every (user, item) pair is a preference p (1 if the user interacted, else 0) held with a
    confidence c; the factors minimise

        sum over all pairs  c_ui (p_ui - x_u . y_i)^2  +  regularization (|X|^2 + |Y|^2).

    Confidence follows the paper: **c = 1 + alpha * r** for a stored value r > 0 (p = 1), and
    c = 1 for pairs not stored (p = 0). A stored negative value marks a dislike: p = 0 with
    c = 1 + alpha * |r|. (implicit's ``AlternatingLeastSquares`` uses c = alpha * r instead;
    on 0/1 data its ``alpha=a`` is this model's ``alpha=a - 1``.)

    Each iteration solves every item given the users, then every user given the items, in
    parallel in C++. Each half-step whitens the fixed side once (B = Y^T Y + regularization I =
    L L^T), so that

    - ``solver="cg"``: ``cg_steps`` steps of conjugate gradient per row, warm-started from the
      previous iteration and preconditioned by B (the same fixed point as implicit's CG, reached
      in fewer steps, and a step costs O(n_u f) rather than O(f^2 + n_u f));
    - ``solver="cholesky"``: the exact solution, by an n_u x n_u Woodbury system for rows with
      fewer than ``factors`` entries and an f x f Cholesky factorisation otherwise.

    Parameters
    ----------
    factors : int, default 64
        Length of the user and item vectors.
    regularization : float, default 30.0
        lambda, applied to every user and item vector (not scaled by activity). Below ~1 ALS is
        badly under-regularized on MovieLens and Online Retail: precision@10 on MovieLens 100K
        is 0.30 at 0.01 (implicit's default, and recforge 0.1.0's), 0.367 at 30 (64 factors);
        30 was the tuned optimum on all four data sets of ``bench/bench_quality.py``. Raise it
        with the data's size.
    alpha : float, default 4.0
        Confidence slope (>= 0): c = 1 + alpha * r (implicit's alpha=5 on 0/1 data; the tuned
        optimum there; recforge 0.1.0's default was 1). On ratings of 1-5 taken as they are the
        confidence climbs to 21: a lower alpha suits them (about 1 on the MovieLens sets);
        ``rf.tune(rf.ALS, None, train)`` searches 0-19.
    iterations : int, default 15
        Full sweeps (items then users).
    solver : {"cg", "cholesky"}, default "cg"
    cg_steps : int, default 3
        Conjugate-gradient steps per row and half-step (solver "cg").
    init_std : float, default 0.01
        Standard deviation of the normal initial user factors (the item factors are solved
        first), as ``init_std`` of :class:`BPR` and :class:`BiasedMF`.
    dtype : {"float32", "float64"}, default "float32"
        Precision of the factors and of the solves (small systems are always factored in double).
    calculate_loss : bool, default False
        Compute the training objective after every iteration (divided by the total confidence,
        n_users * n_items + alpha * sum |r|, as implicit reports it): passed to ``callback``,
        shown by the progress bar, and kept in ``loss_``. Costs O(n_users f^2 + nnz f).
    random_state : int, optional
        Seed of the initial user factors (normal, standard deviation ``init_std``). Fits with the same
        seed and data give bit-identical factors for any ``n_threads``.
    n_threads : int, default 0
        Threads; 0 means every CPU this process may use; larger counts are capped at that number.
        Results do not depend on it.
    show_progress : bool, default False
        A tqdm progress bar over the iterations.

    Attributes
    ----------
    user_factors_ : numpy.ndarray, shape (n_users, factors)
    item_factors_ : numpy.ndarray, shape (n_items, factors)
    loss_ : float or None
        The training objective after the last iteration (with ``calculate_loss``).

    Notes
    -----
    Items are solved before users in every iteration, so the fitted user factors are exactly
    the solution for the final item factors: with ``solver="cholesky"``, :meth:`fold_in_users`
    on a training user's row reproduces its factors. Scores are ``x_u . y_i``;
    ``similar_items`` / ``similar_users`` rank by cosine between factors. Memory during fit:
    the factors, a transposed copy of ``user_items`` and one whitened copy of the fixed side.

    Examples
    --------
    >>> import scipy.sparse as sp, recforge as rf
    >>> X = sp.random(200, 50, density=0.05, format="csr", random_state=0)
    >>> model = rf.ALS(factors=8, iterations=5, random_state=0).fit(X)
    >>> ids, scores = model.recommend([0, 1], X[[0, 1]], k=5)
    >>> ids.shape
    (2, 5)
    """

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 30.0,
        alpha: float = 4.0,
        iterations: int = 15,
        solver: str = "cg",
        cg_steps: int = 3,
        init_std: float = 0.01,
        dtype: str = "float32",
        calculate_loss: bool = False,
        random_state: int | None = None,
        n_threads: int = 0,
        show_progress: bool = False,
    ):
        self.factors = check_int(factors, "factors", minimum=1)
        self.regularization = check_real(regularization, "regularization", minimum=0.0)
        self.alpha = check_real(alpha, "alpha", minimum=0.0)
        self.iterations = check_int(iterations, "iterations", minimum=1)
        self.solver = check_choice(solver, "solver", ALS_SOLVERS)
        self.cg_steps = check_int(cg_steps, "cg_steps", minimum=1)
        self.init_std = check_real(init_std, "init_std", minimum=0.0)
        self.calculate_loss = check_bool(calculate_loss, "calculate_loss")
        self._set_run_options(dtype, random_state, n_threads, show_progress)

    # -- fitting ------------------------------------------------------------------------------
    def fit(self, user_items, callback=None):
        """Factorise ``user_items`` (users x items, any scipy.sparse format or an Interactions);
        returns self.

        Parameters
        ----------
        user_items : scipy.sparse matrix or array, shape (n_users, n_items)
            Stored values are interaction strengths r (counts, weights); see the class notes.
        callback : callable, optional
            ``callback(iteration, elapsed_seconds, loss)`` after every iteration (loss is None
            unless ``calculate_loss``).

        Raises
        ------
        FloatingPointError
            The factors became non-finite (divergence): lower ``alpha`` or raise
            ``regularization``.
        """
        return self._fit_watched(user_items, callback)

    def _fit(self, X: CsrParts, callback=None) -> None:
        C = self._confidence_rows(X, "user_items")
        CT = check_sparse(C.to_scipy().T.tocsr(), "user_items.T")
        n_users, n_items = X.shape
        rng = np.random.default_rng(self.random_state)
        users = self._normal_factors(rng, n_users, self.init_std)
        items = np.zeros((n_items, self.factors), dtype=self.dtype)
        total_confidence = n_users * n_items + self.alpha * float(np.abs(C.data, dtype=np.float64).sum())

        def run(first, count):
            losses = []
            for iteration in range(first, first + count):
                self._half_step(CT, users, items, "item", iteration)
                loss_rows = self._half_step(C, items, users, "user", iteration, want_loss=self.calculate_loss)
                if loss_rows is not None:
                    penalty = self.regularization * float(np.square(items, dtype=np.float64).sum())
                    losses.append((float(loss_rows.sum()) + penalty) / max(total_confidence, 1.0))
            return np.array(losses) if self.calculate_loss else None

        self._run_epochs(run, callback)
        self.n_users_, self.n_items_ = n_users, n_items
        self.user_factors_, self.item_factors_ = users, items

    def _confidence_rows(self, X: CsrParts, name: str) -> CsrParts:
        """X with values in the factors' dtype (one copy of the values when they differ)."""
        data = X.data.astype(self.dtype, copy=False)
        if self.alpha * float(np.abs(data).max(initial=0)) > float(np.finfo(self.dtype).max):
            raise ValueError(f"alpha * |{name}| overflows {self.dtype}: scale the values down")
        return X._replace(data=data)

    def _half_step(
        self,
        C: CsrParts,
        fixed,
        solved,
        side: str,
        iteration: int | None,
        want_loss: bool = False,
        whitening=None,
        solver: str | None = None,
    ):
        """Solve every row of C for ``solved`` (in place) given the ``fixed`` factors."""
        if whitening is None:
            whitening = _core.als_whiten(fixed, self.regularization, self._threads)
        bad, loss = _core.als_solve(
            C.indptr,
            C.indices,
            C.data,
            fixed.shape[0],
            fixed,
            *whitening,
            solved,
            self.alpha,
            ALS_SOLVERS.index(solver or self.solver),
            self.cg_steps,
            self._threads,
            want_loss,
        )
        if bad:
            when = f"at iteration {iteration + 1}" if iteration is not None else "while folding in"
            largest = self.alpha * float(np.abs(C.data).max(initial=0))
            scale = (
                f"; the largest confidence alpha * |r| is {largest:.3g}: bring the values to a small scale "
                "(e.g. numpy.log1p of quantities or amounts)"
                if largest > 1e6
                else ""
            )
            raise FloatingPointError(
                f"ALS diverged {when}: {bad} {side} factor vectors are not finite; "
                f"lower alpha (now {self.alpha}) or raise regularization (now {self.regularization}){scale}"
            )
        return loss

    # -- new users and items ------------------------------------------------------------------
    def _whitening(self, side: str):
        factors = self.item_factors_ if side == "item" else self.user_factors_
        return self._cached(side + "_whitening", lambda: _core.als_whiten(factors, self.regularization, self._threads))

    def _fold_in(self, rows: CsrParts, side: str) -> np.ndarray:
        """Exact factors for each row of ``rows`` given the fitted factors of ``side``."""
        fixed = self.item_factors_ if side == "item" else self.user_factors_
        solved = np.zeros((rows.shape[0], self.factors), dtype=self.dtype)
        C = self._confidence_rows(rows, "user_items" if side == "item" else "item_users")
        self._half_step(C, fixed, solved, "new", None, whitening=self._whitening(side), solver="cholesky")
        return solved

    def fold_in_users(self, user_items) -> np.ndarray:
        """Factors for customers from their interactions, without retraining.

        Solves each row exactly against the fitted item factors (the user half-step of
        training), so a training user's row gives back its fitted factors (exactly with
        ``solver="cholesky"``; CG training stops ``cg_steps`` short of that solution).

        Parameters
        ----------
        user_items : scipy.sparse matrix or array, shape (n, n_items)

        Returns
        -------
        numpy.ndarray, shape (n, factors)
        """
        self._check_fitted()
        return self._fold_in(self._rows(user_items, "user_items", None, self.n_items_, "items"), "item")

    def _fold_in_history(self, history: CsrParts) -> np.ndarray:
        return self._fold_in(history, "item")

    def partial_fit_users(self, user_ids, user_items):
        """Set the factors of ``user_ids`` from their interactions (as :meth:`fold_in_users`);
        ids at or past ``n_users_`` grow the model (users in between get zero vectors).
        ``user_items`` may be an Interactions whose user map extends the model's (its
        ``transform(events, new_users="append")``): its rows of ``user_ids`` are read and the
        model's map grows with it; with a plain matrix (one row per id) a grown model drops its
        map (a warning says so). Returns self."""
        return self._partial_fit("user", user_ids, user_items)

    def partial_fit_items(self, item_ids, item_users):
        """Set the factors of ``item_ids`` from the users who interacted with them (rows of
        ``item_users``, shape (len(item_ids), n_users)), solved against the fitted user factors;
        ids at or past ``n_items_`` grow the model. Returns self."""
        return self._partial_fit("item", item_ids, item_users)

    def _partial_fit(self, side: str, ids, M):
        """Fold in rows of M for the ``side`` ("user" or "item") ids, growing that side."""
        self._check_fitted()
        other = "item" if side == "user" else "user"
        ids, _ = check_ids(ids, f"{side}_ids", ANY_ID, side)
        extended = None
        if side == "user":  # an Interactions (new customers appended by transform): its rows of ids
            check_numbered_as(M, self.item_ids_, "user_items", "item")
            known, given = self.user_ids_, getattr(M, "user_ids", None)
            extended = _extended_map(known, given)
            if extended is None and given is not None and known is not None and given.size > known.size:
                # New rows are named by the Interactions only where it numbers the known ones alike.
                raise ValueError(
                    "user_items numbers its users differently from the Interactions the model was fitted on: "
                    "build it with that Interactions' transform(events, new_users='append')"
                )
            M = rows_of_requested(M, ids, "user_items", self.user_ids_)
        rows = self._rows(M, f"{side}_{other}s", len(ids), getattr(self, f"n_{other}s_"), other + "s")
        factors = _grown(getattr(self, f"{side}_factors_"), ids, self._fold_in(rows, other))
        setattr(self, f"{side}_factors_", factors)
        setattr(self, f"n_{side}s_", factors.shape[0])
        if extended is not None and extended.size >= factors.shape[0]:
            # The Interactions' map starts with the model's customers (transform's appended
            # rows): it names the new rows too, so the model keeps raw ids.
            self.user_ids_ = extended[: factors.shape[0]]
        for name in [n for n in self.__dict__ if n.startswith("_cache")]:
            del self.__dict__[name]  # built from the old factors (whitening, packed items, ...)
        self._grew(side)
        return self

    # -- explanations -------------------------------------------------------------------------
    def explain(self, user_id, user_items, item_id, k: int = 10):
        """Which items of the user's history make ``item_id`` score as it does.

        With W = (Y^T C_u Y + regularization I)^-1 the user's exact solve, the score is
        sum_j c_uj p_uj (y_item^T W y_j): one term per history item j (section 5 of Hu et al.).

        Parameters
        ----------
        user_id : int
            The user (only checked; the history comes from ``user_items``).
        user_items : scipy.sparse matrix or array, shape (1, n_items) or (n_users, n_items)
            The user's row, or the whole matrix (row ``user_id`` is taken).
        item_id : int
        k : int, default 10
            History items returned.

        Returns
        -------
        score : float
            The explained score (that of :meth:`fold_in_users` factors for this history).
        item_ids : numpy.ndarray of int64, shape (<= k,)
            The largest contributions first (ties by increasing id).
        contributions : numpy.ndarray of float64
            Their terms of the score.
        """
        import scipy.linalg  # here, not at `import recforge`

        self._check_fitted()
        user, _ = check_ids(user_id, "user_id", ANY_ID, "user")
        item, _ = check_ids(item_id, "item_id", self.n_items_, "item")
        k = check_int(k, "k", minimum=0)
        rows = self._rows(user_items, "user_items", None, self.n_items_, "items")
        if rows.shape[0] != 1:
            if rows.shape[0] != self.n_users_ or user[0] >= self.n_users_:
                raise ValueError("user_items must be the user's row (1 row) or the n_users x n_items matrix")
            start, end = rows.indptr[user[0]], rows.indptr[user[0] + 1]
        else:
            start, end = 0, rows.indptr[1]
        history = rows.indices[start:end].astype(np.int64)
        r = rows.data[start:end].astype(np.float64)
        Y = self.item_factors_.astype(np.float64)
        G = self._whitening("item")[3]
        Yh = Y[history]
        W = scipy.linalg.cho_factor(G + (Yh.T * (self.alpha * np.abs(r))) @ Yh)
        contributions = (Yh @ scipy.linalg.cho_solve(W, Y[item[0]])) * np.where(r > 0, 1.0 + self.alpha * r, 0.0)
        order = np.lexsort((history, -contributions))[:k]
        return float(contributions.sum()), history[order], contributions[order]


def _extended_map(known, given):
    """``given`` where it extends the map ``known`` (the same ids first, in the same order), else None."""
    if known is None or given is None or given.size <= known.size:
        return None
    return given if same_ids(given[: known.size], known) else None


def _grown(F: np.ndarray, ids: np.ndarray, new: np.ndarray) -> np.ndarray:
    """F with rows ``ids`` set to ``new`` (the last of repeated ids wins), grown with zero rows
    to hold the largest id."""
    n = max(F.shape[0], int(ids.max()) + 1) if ids.size else F.shape[0]
    out = np.zeros((n, F.shape[1]), dtype=F.dtype)
    out[: F.shape[0]] = F
    out[ids] = new
    return out

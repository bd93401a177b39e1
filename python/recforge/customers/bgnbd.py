"""BG/NBD: how many purchases will each customer make, and are they still a customer? (Fader,
Hardie & Lee, "Counting your customers the easy way: an alternative to the Pareto/NBD model",
Marketing Science 2005.)"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import special

from .. import _core
from .._checks import as_numbers, check_fitted, check_int, check_real
from .._config import resolve_threads
from .._params import Parametrised
from ._mle import maximise
from .summary import summary_columns

PARAMS = ("r", "alpha", "a", "b")
# The share of customers dropping out at a purchase, a / (a + b), below which the fit stands on
# the likelihood's ridge to "nobody ever drops out" (a -> 0, with b -> inf or alone): every
# P(alive) is 1. On Online Retail to 2011-11-01 the search stops there at a = 1e-6, b = 9849 (a share of
# 1e-10), short of either bound, and lifetimes stops at a = 2e-6, b = 6760.
NO_DROPOUT = 1e-6


def repeat_columns(frequency, recency, T):
    """(x, t_x, T) checked, from three arrays or a :class:`CustomerSummary` given alone: the
    input of every repeat-purchase model."""
    frequency, recency, T = summary_columns(frequency, (recency, T), ("frequency", "recency", "T"))
    x = as_numbers(frequency, "frequency")
    t_x = as_numbers(recency, "recency")
    T = as_numbers(T, "T")
    if not (x.shape == t_x.shape == T.shape) or x.ndim != 1:
        raise ValueError(f"frequency, recency and T must be 1-D of one length, got {x.shape}, {t_x.shape}, {T.shape}")
    for name, v in (("frequency", x), ("recency", t_x), ("T", T)):
        if not np.all(np.isfinite(v)) or np.any(v < 0):
            raise ValueError(f"{name} must be finite and >= 0")
    if np.any(x != np.round(x)):
        raise ValueError("frequency must hold whole numbers (repeat transactions)")
    if np.any(t_x > T + 1e-9):
        raise ValueError("recency must not exceed T (a purchase after the end of observation)")
    if np.any((x == 0) & (t_x != 0)):
        raise ValueError("recency must be 0 for customers without repeat purchases (frequency 0)")
    return x, t_x, T


def fitting_rows(frequency, recency, T, model_name: str, without_repeats: str | None) -> Rows:
    """The customers a fit reads (:func:`repeat_columns`, collapsed into :class:`Rows`), refused
    where they hold nothing to fit: no customer, nobody observed for any time, or (where the
    model needs one to ``without_repeats``, what it then cannot do) no repeat purchase."""
    x, t_x, T = repeat_columns(frequency, recency, T)
    if x.size == 0:
        raise ValueError("no customers to fit on")
    if not np.any(T > 0):  # the likelihood is 1 whatever the parameters: a fit is the start or the penalty's
        raise ValueError("every customer's T is 0: nobody was observed for any time, there is nothing to fit")
    if without_repeats is not None and not np.any(x > 0):
        raise ValueError(
            f"no customer of {x.size} has a repeat purchase (frequency > 0): {model_name} cannot {without_repeats}; "
            "give the model a longer history, or a penalizer (e.g. penalizer=0.001)"
        )
    return Rows(x, t_x, T)


class Rows:
    """Customers' (x, t_x, T) prepared for repeated likelihood evaluations: identical rows
    collapsed into weights (C++ hashing, first-appearance order), and each row's distinct
    frequency, so that the Gamma functions of x are computed once per distinct x."""

    def __init__(self, x, t_x, T, weights=None, collapse: bool = True):
        w = np.ones(x.size) if weights is None else as_numbers(weights, "weights")
        if collapse:
            first, inverse = _core.distinct_rows(np.column_stack([x, t_x, T]))
            w = np.bincount(inverse, weights=w, minlength=first.size)
            x, t_x, T = x[first], t_x[first], T[first]
        self.x, self.t_x, self.T = (np.ascontiguousarray(v, dtype=np.float64) for v in (x, t_x, T))
        self.weights = np.ascontiguousarray(w, dtype=np.float64)
        self.total = float(self.weights.sum())
        self.xu, xi = np.unique(self.x, return_inverse=True)
        self.x_index = np.ascontiguousarray(xi.ravel(), dtype=np.int64)
        self.ages, at = np.unique(np.r_[self.T, self.t_x], return_inverse=True)
        at = at.ravel().astype(np.int64)
        self.T_index, self.t_index = at[: self.x.size].copy(), at[self.x.size :].copy()


def _table(r: float, a: float, b: float, xu: np.ndarray, modified: bool) -> np.ndarray:
    """The kernel's six columns per distinct frequency (customer_base.hpp): the Gamma-function
    parts of each model's log-likelihood and their derivatives."""
    if modified:  # MBG/NBD: x + 1 in the Beta terms, ln(b + x) and D' = a / (b + x) for every x
        b_x = b + xu
        return np.column_stack(
            [
                special.gammaln(r + xu) + special.gammaln(b_x) - special.gammaln(a + b_x + 1) + np.log(b_x),
                special.digamma(r + xu),
                special.digamma(b_x) + 1 / b_x,
                special.digamma(a + b_x + 1),
                np.log(b_x),
                1 / b_x,
            ]
        )
    repeat = xu > 0
    b_x = np.where(repeat, b + xu - 1, 1.0)  # b + x - 1: the D term exists only for x > 0
    return np.column_stack(
        [
            special.gammaln(r + xu) + special.gammaln(b + xu) - special.gammaln(a + b + xu),
            special.digamma(r + xu),
            special.digamma(b + xu),
            special.digamma(a + b + xu),
            np.where(repeat, np.log(b_x), 0.0),
            np.where(repeat, 1 / b_x, 0.0),
        ]
    )


def log_likelihood(params, rows: Rows, n_threads: int = 1, modified: bool = False) -> tuple[float, np.ndarray]:
    """The weighted BG/NBD (``modified``: MBG/NBD) log-likelihood of ``rows`` at ``params``
    (r, alpha, a, b) and its gradient: the row parts summed by the C++ kernel (bit-identical for
    any thread count), the parts of the parameters alone added here."""
    r, alpha, a, b = params
    sums = _core.bgnbd_row_sums(
        rows.x,
        rows.weights,
        rows.x_index,
        _table(r, a, b, rows.xu, modified),
        rows.T_index,
        rows.t_index,
        np.log(alpha + rows.ages),
        1 / (alpha + rows.ages),
        float(r),
        float(a),
        n_threads,
        dropout_at_start=modified,
    )
    W, psi_ab = rows.total, special.digamma(a + b)
    ll = sums[0] + W * (-special.gammaln(r) + r * np.log(alpha) - special.gammaln(b) + special.gammaln(a + b))
    grad = sums[1:] + W * np.array(
        [-special.digamma(r) + np.log(alpha), r / alpha, psi_ab, -special.digamma(b) + psi_ab]
    )
    return float(ll), grad


def _hyp2f1_by_x_and_T(x, T, z, r, b, c) -> np.ndarray:
    """hyp2f1(r + x, b + x, c + x, z) per customer. The Gauss hypergeometric function is the
    costly part of the expected purchases and depends on (x, T) alone: evaluated once per
    distinct pair (a few thousand among a million customers)."""
    first, inverse = _core.distinct_rows(np.column_stack([x, T]))
    xf = x[first]
    return special.hyp2f1(r + xf, b + xf, c + xf, z[first])[inverse]


def _survival_term(x, T, t: float, r: float, alpha: float, b0: float, c0: float) -> np.ndarray:
    """w^(r + x) hyp2f1(r + x, b0 + x, c0 + x, z) per customer, with w = (alpha + T) / (alpha +
    T + t) and z = 1 - w: the term of the expected purchases in ``t`` periods.

    Evaluated as written where that is finite. Over long horizons the power underflows while
    the hypergeometric function overflows (NaN for heavy buyers at a 1000-day horizon); there
    Euler's transformation, hyp2f1(A, B, C, z) = (1 - z)^(C-A-B) hyp2f1(C - A, C - B, C, z),
    gives the product as w^(c0 - b0) hyp2f1(c0 - r, c0 - b0, c0 + x, z) (Abramowitz & Stegun
    15.3.3). Where scipy's hyp2f1 fails on both (a fit with r and alpha in the millions, whose
    gamma has collapsed to one purchase rate), the product is summed as its series, in logs."""
    w = (alpha + T) / (alpha + T + t)
    with np.errstate(invalid="ignore", over="ignore"):
        term = w ** (r + x) * _hyp2f1_by_x_and_T(x, T, t / (alpha + T + t), r, b0, c0)
    far = np.flatnonzero(~np.isfinite(term))
    if far.size:
        term = term.copy()
        with np.errstate(invalid="ignore", over="ignore"):
            term[far] = w[far] ** (c0 - b0) * special.hyp2f1(c0 - r, c0 - b0, c0 + x[far], 1 - w[far])
    left = far[~np.isfinite(term[far])]
    if left.size:
        term[left] = _series_term(r + x[left], b0 + x[left], c0 + x[left], w[left], t)
    return term


def per_horizon(t, one):
    """``one(t)`` for a number of periods ``t`` >= 0, or for an array of them the array of
    ``one`` at each (each horizon is a scalar computation of its own: the fallbacks of
    :func:`_survival_term` are per horizon)."""
    if np.ndim(t) == 0:
        return one(check_real(t.item() if isinstance(t, np.ndarray) else t, "t", minimum=0.0))
    horizons = np.asarray(t)
    if horizons.dtype.kind not in "iuf":
        raise TypeError(f"t must be a number of periods or an array of them, got dtype {horizons.dtype}")
    values = [one(check_real(h, "t", minimum=0.0)) for h in horizons.ravel().tolist()]
    return np.array(values, dtype=np.float64).reshape(horizons.shape)


_SERIES_TERMS = 20_000  # terms of the series fallback at most; past that the horizon is refused


def _series_term(A, B, C, w, t: float) -> np.ndarray:
    """w^A sum_n (A)_n (B)_n / ((C)_n n!) (1 - w)^n, per entry, the terms' logs and signs
    accumulated from their ratios so that no factor overflows; more terms until the last ones
    vanish beside the sum."""
    z = 1 - w
    n_terms = int(np.ceil(np.max(A * z + 12 * np.sqrt(A * z)))) + 64
    while n_terms <= _SERIES_TERMS:
        n = np.arange(n_terms - 1, dtype=np.float64)[None, :]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # a pole (C = 0) fails the check below
            ratio = (A[:, None] + n) * (B[:, None] + n) / ((C[:, None] + n) * (n + 1)) * z[:, None]
            logs = np.concatenate([np.zeros((A.size, 1)), np.cumsum(np.log(np.abs(ratio)), axis=1)], axis=1)
            signs = np.concatenate([np.ones((A.size, 1)), np.cumprod(np.sign(ratio), axis=1)], axis=1)
            logs = logs + (A * np.log(w))[:, None]
            top = logs.max(axis=1, keepdims=True)
            total = np.sum(signs * np.exp(logs - top), axis=1) * np.exp(top[:, 0])
        if np.isfinite(total).all() and (logs[:, -1] < top[:, 0] - 40).all():
            return total
        n_terms *= 2
    raise ValueError(
        f"t={t:g} periods is beyond what the expected purchases can be computed for; give a shorter horizon"
    )


class BetaGeoFitter(Parametrised):
    """The BG/NBD model of repeat purchasing, fitted by maximum likelihood.

    While active, a customer buys at Poisson rate lambda ~ Gamma(r, alpha); after each purchase
    they become inactive with probability p ~ Beta(a, b). ``fit`` maximises the exact
    log-likelihood of (frequency, recency, T) over the log-parameters with analytic gradients
    (L-BFGS-B), customers with identical rows collapsed into weights (a million customers with
    whole-period data have a few thousand distinct rows).

    Parameters
    ----------
    penalizer : float, default 0.0
        Adds ``penalizer * sum(params^2)`` to the mean negative log-likelihood (as ``lifetimes``'s
        ``penalizer_coef``): pulls the parameters towards 0 when the likelihood is flat.
    n_threads : int, default 0
        Threads of the likelihood kernel (0: all available CPUs). The fit does not depend on it:
        the kernel sums in a fixed order.

    Attributes
    ----------
    params_ : dict
        r, alpha, a, b.
    log_likelihood_ : float
        The summed log-likelihood at ``params_`` (without the penalty).
    n_customers_ : int
    model_name : str
        "BG/NBD" (class attribute; "MBG/NBD" for :class:`ModifiedBetaGeoFitter`).

    Examples
    --------
    >>> import recforge as rf
    >>> bg = rf.customers.BetaGeoFitter().fit([2, 1, 0, 0, 7, 3, 0, 1, 4, 0, 1, 2],
    ...                                       [30.4, 1.7, 0, 0, 29.4, 20.1, 0, 5.0, 35.2, 0, 2.2, 10.0], [38.9] * 12)
    >>> sorted(bg.params_)
    ['a', 'alpha', 'b', 'r']
    >>> bool(0 < bg.probability_alive([2], [30.4], [38.9])[0] <= 1)
    True
    """

    _state = ("params_", "log_likelihood_", "n_customers_")  # what fit sets (is_fitted)

    _modified = False  # the MBG/NBD likelihood (ModifiedBetaGeoFitter)
    model_name = "BG/NBD"  # how outputs name it

    def __init__(self, penalizer: float = 0.0, n_threads: int = 0):
        self.penalizer = check_real(penalizer, "penalizer", minimum=0.0)
        self.n_threads = check_int(n_threads, "n_threads", minimum=0)

    def fit(self, frequency, recency=None, T=None, *, initial=None, max_iterations: int = 1000, strict: bool = True):
        """Fit on (frequency, recency, T), or on a :class:`CustomerSummary` passed alone.

        ``strict=False`` accepts an optimum where a parameter runs to its bound (e^-30 or e^30:
        e.g. a -> 0, nobody ever drops out), which is the limit of the likelihood; its
        predictions are finite and usable as features. An optimum short of the bounds on the
        ridge to that limit (a share of customers dropping out at a purchase, a / (a + b), below
        ``NO_DROPOUT``: every P(alive) is 1) is returned with a warning unless ``strict=False``.

        Raises
        ------
        RuntimeError
            When the optimiser stops without converging, or (``strict``) at a bound; the
            message gives the reason and the way out (a ``penalizer``, other ``initial`` values).
        """
        # BG/NBD's dropout happens at repeat purchases: without one, the likelihood does not
        # depend on a and b, which stay where the search starts (a = 1: infinite predictions)
        needs_repeats = not self._modified and self.penalizer == 0
        rows = fitting_rows(frequency, recency, T, self.model_name, "estimate dropout" if needs_repeats else None)
        threads = resolve_threads(self.n_threads)

        def mean_log_likelihood(params):
            ll, grad = log_likelihood(params, rows, threads, self._modified)
            return ll / rows.total, grad / rows.total

        start = np.ones(4) if initial is None else initial
        params = maximise(mean_log_likelihood, start, PARAMS, self.penalizer, max_iterations, self.model_name, strict)
        a, b = params[2], params[3]
        if strict and a / (a + b) < NO_DROPOUT:
            # said, not refused: short logs often show no dropout, and the purchase predictions
            # stay sound; only P(alive) says nothing
            if b > 1:  # b running off as a falls: a penalty on b^2 stops the ridge (Online Retail: 9849)
                way_out = (
                    "a penalizer holds b back and estimates a dropout "
                    f"({'raise it from ' + repr(self.penalizer) if self.penalizer else 'e.g. penalizer=0.001'})"
                )
            else:  # a alone runs to 0, which a penalty on a^2 cannot stop
                way_out = "a longer history may show customers leaving"
            warnings.warn(
                f"{self.model_name} stands on its limit a -> 0 (a = {a:.3g}, b = {b:.3g}: a customer drops out at one "
                f"purchase in {(a + b) / a:.3g}): nobody seems to drop out, and every P(alive) is 1; {way_out}; fit "
                "with strict=False to accept the limit without this warning",
                UserWarning,
                stacklevel=2,
            )
        self.params_ = dict(zip(PARAMS, params.tolist()))
        self.log_likelihood_ = log_likelihood(params, rows, threads, self._modified)[0]
        self.n_customers_ = int(rows.total)
        return self

    def _params(self):
        check_fitted(self, "params_")
        return (self.params_[p] for p in PARAMS)

    def probability_alive(self, frequency, recency=None, T=None) -> np.ndarray:
        """P(still active | frequency, recency, T) for each customer (or a
        :class:`CustomerSummary` given alone)."""
        r, alpha, a, b = self._params()
        x, t_x, T = repeat_columns(frequency, recency, T)
        log_ratio = np.log(a) - np.log(np.where(x > 0, b + x - 1, 1.0)) + (r + x) * np.log((alpha + T) / (alpha + t_x))
        return np.where(x > 0, special.expit(-log_ratio), 1.0)

    def expected_purchases(self, t, frequency, recency=None, T=None) -> np.ndarray:
        """E[purchases in the next ``t`` periods | frequency, recency, T] (eq. 10 of the paper),
        for each customer (or a :class:`CustomerSummary` given alone)."""
        r, alpha, a, b = self._params()
        t = check_real(t, "t", minimum=0.0)
        x, t_x, T = repeat_columns(frequency, recency, T)
        head = (a + b + x - 1) / (a - 1) * (1 - _survival_term(x, T, t, r, alpha, b, a + b - 1))
        alive_odds = np.where(
            x > 0, a / np.where(x > 0, b + x - 1, 1.0) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0
        )
        return head / (1 + alive_odds)

    def expected_purchases_new(self, t) -> float | np.ndarray:
        """E[purchases in ``t`` periods] of a customer just acquired (eq. 7 of the paper): a
        float, or for an array of horizons the array of them (a cohort's expected cumulative
        purchases, as lifetimes' ``expected_number_of_purchases_up_to_time`` takes)."""
        r, alpha, a, b = self._params()

        def one(t: float) -> float:
            term = _survival_term(np.zeros(1), np.zeros(1), t, r, alpha, b, a + b - 1)[0]  # x = 0 at age 0
            return float((a + b - 1) / (a - 1) * (1 - term))

        return per_horizon(t, one)


class ModifiedBetaGeoFitter(BetaGeoFitter):
    """The MBG/NBD model: BG/NBD in which a customer may also drop out at the first purchase
    (Batislam, Denizel & Filiztekin, "Empirical validation and comparison of models for customer
    base analysis", IJRM 2007), fitted by maximum likelihood as :class:`BetaGeoFitter` is.

    In BG/NBD a customer who bought once is alive with probability 1 however long ago that was:
    a churn score of 0 for every one-time buyer. Here P(alive) falls with the time since their
    purchase too. Same parameters (r, alpha, a, b), methods and attributes as
    :class:`BetaGeoFitter`, whose ``lifetimes`` counterpart is ``ModifiedBetaGeoFitter``.

    Examples
    --------
    >>> import recforge as rf
    >>> mbg = rf.customers.ModifiedBetaGeoFitter().fit([2, 1, 0, 0, 7, 3, 0, 1, 4, 0, 1, 2],
    ...                                                [30.4, 1.7, 0, 0, 29.4, 20.1, 0, 5.0, 35.2, 0, 2.2, 10.0],
    ...                                                [38.9] * 12)
    >>> bool(mbg.probability_alive([0], [0], [38.9])[0] < 1)
    True
    """

    _modified = True
    model_name = "MBG/NBD"

    def probability_alive(self, frequency, recency=None, T=None) -> np.ndarray:
        """P(still active | frequency, recency, T) for each customer (or a
        :class:`CustomerSummary` given alone)."""
        r, alpha, a, b = self._params()
        x, t_x, T = repeat_columns(frequency, recency, T)
        return special.expit(-(np.log(a) - np.log(b + x) + (r + x) * np.log((alpha + T) / (alpha + t_x))))

    def expected_purchases(self, t, frequency, recency=None, T=None) -> np.ndarray:
        """E[purchases in the next ``t`` periods | frequency, recency, T] for each customer (or a
        :class:`CustomerSummary` given alone)."""
        r, alpha, a, b = self._params()
        t = check_real(t, "t", minimum=0.0)
        x, t_x, T = repeat_columns(frequency, recency, T)
        head = (a + b + x) / (a - 1) * (1 - _survival_term(x, T, t, r, alpha, b + 1, a + b))
        return head / (1 + a / (b + x) * ((alpha + T) / (alpha + t_x)) ** (r + x))

    def expected_purchases_new(self, t) -> float | np.ndarray:
        """E[purchases in ``t`` periods] of a customer just acquired: a float, or for an array
        of horizons the array of them."""
        r, alpha, a, b = self._params()

        def one(t: float) -> float:
            return float(b / (a - 1) * (1 - _survival_term(np.zeros(1), np.zeros(1), t, r, alpha, b + 1, a + b)[0]))

        return per_horizon(t, one)

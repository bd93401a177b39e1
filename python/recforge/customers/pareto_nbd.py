"""Pareto/NBD: how many purchases will each customer make, and are they still a customer?
(Schmittlein, Morrison & Colombo, "Counting your customers: who are they and what will they do
next?", Management Science 1987; the likelihood and predictions as Fader & Hardie derive them in
"A note on deriving the Pareto/NBD model and related expressions", 2005.)"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import special

from .. import _core
from .._checks import check_fitted, check_real
from .._params import Parametrised
from ._mle import maximise
from .bgnbd import NO_DROPOUT, fitting_rows, per_horizon, repeat_columns

PARAMS = ("r", "alpha", "s", "beta")
# Step of the central differences of the log-likelihood, per log-parameter: its error (h^2 of
# the third derivative, about 1e-10) and its rounding (1e-16 / h of the mean log-likelihood)
# both stay below the optimiser's gradient tolerance. The hypergeometric function's derivatives
# in its parameters have no closed form scipy evaluates.
STEP = 1e-5


def _log_hyp2f1_next(a, b, z) -> np.ndarray:
    """log 2F1(a, b; a + 1; z) for z in [0, 1), as (1 - b) log(1 - z) + log 2F1(1, a + 1 - b;
    a + 1; z) (Euler's transformation, Abramowitz & Stegun 15.3.3). Evaluated as written, the
    function passes 1e308 for heavy buyers (b = r + x: a few hundred purchases, alpha < beta)
    and inf - inf made their likelihood NaN, as in lifetimes; the transformed one stays below
    (a + 1 - b) / (b - 1) + 1 where it converges at z = 1, and scipy evaluates it faster near 1.
    Against mpmath on 4,000 draws of heavy buyers, rates and times: 3e-14 relative at worst."""
    return (1.0 - b) * np.log1p(-z) + np.log(special.hyp2f1(1.0, a + 1.0 - b, a + 1.0, z))


def log_a0(params, x, t_x, T) -> np.ndarray:
    """log A0 of each customer (equations 19-20 of Fader & Hardie's note): the part of the
    likelihood where the customer dropped out between the last purchase and ``T``. -inf where
    ``t_x == T`` (nothing left between them)."""
    r, alpha, s, beta = params
    if alpha >= beta:
        top, second = alpha, s + 1.0
    else:
        top, second = beta, r + x
    gap = abs(alpha - beta)

    def at(age) -> np.ndarray:  # once per distinct (x, age): Online Retail's 4,339 customers hold 1,580 (x, t_x)
        first, inverse = _core.distinct_rows(np.column_stack([x, age]).astype(np.float64))
        rsx = r + s + x[first]
        b = second if np.ndim(second) == 0 else second[first]
        return (_log_hyp2f1_next(rsx, b, gap / (top + age[first])) - rsx * np.log(top + age[first]))[inverse]

    at_last, at_end = at(t_x), at(T)
    with np.errstate(divide="ignore"):
        # log(e^at_last - e^at_end), at_end <= at_last: exact to the last bits where they are close
        return at_last + np.log(-np.expm1(np.minimum(at_end - at_last, 0.0)))


def _alive_term(params, x, T) -> np.ndarray:
    """log of the likelihood's part where the customer is still active at ``T``, A1 aside."""
    r, alpha, s, beta = params
    return -(r + x) * np.log(alpha + T) - s * np.log(beta + T)


def _head(params, x) -> np.ndarray:
    """A1: the part of the log-likelihood shared by both ways of the customer's story."""
    r, alpha, s, beta = params
    return special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)


def row_log_likelihood(params, x, t_x, T) -> np.ndarray:
    """The Pareto/NBD log-likelihood of each customer's (x, t_x, T) at ``params`` (r, alpha, s,
    beta): equation 18 of Fader & Hardie's note."""
    r, alpha, s, beta = params
    gone = np.log(s) + log_a0(params, x, t_x, T) - np.log(r + s + x)
    return _head(params, x) + np.logaddexp(_alive_term(params, x, T), gone)


def _log_alive_odds(params, x, t_x, T) -> np.ndarray:
    """log P(dropped out) / P(active) of each customer (equation 36 of the note)."""
    r, alpha, s, beta = params
    return np.log(s) - np.log(r + s + x) + log_a0(params, x, t_x, T) - _alive_term(params, x, T)


def _mean_survival(s: float, w) -> np.ndarray:
    """(1 - w^(s-1)) / (s - 1) for w in (0, 1]: the expected part of a horizon a customer stays
    active, in units of beta + T. -log(w) at s = 1, its limit; expm1 keeps it exact near 1."""
    log_w = np.log(w)
    if s == 1.0:
        return -log_w
    return -np.expm1((s - 1.0) * log_w) / (s - 1.0)


class ParetoNBDFitter(Parametrised):
    """The Pareto/NBD model of repeat purchasing, fitted by maximum likelihood.

    While active, a customer buys at Poisson rate lambda ~ Gamma(r, alpha); their lifetime is
    exponential with rate mu ~ Gamma(s, beta), so they may drop out at any moment, not only at a
    purchase as in :class:`BetaGeoFitter`. ``fit`` maximises the exact log-likelihood of
    (frequency, recency, T) over the log-parameters (L-BFGS-B; the gradient by central
    differences, as the hypergeometric function's has no closed form), customers with identical
    rows collapsed into weights. Same methods and attributes as :class:`BetaGeoFitter`, whose
    ``lifetimes`` counterpart is ``ParetoNBDFitter``.

    Parameters
    ----------
    penalizer : float, default 0.0
        Adds ``penalizer * sum(params^2)`` to the mean negative log-likelihood (as
        ``lifetimes``'s ``penalizer_coef``).

    Attributes
    ----------
    params_ : dict
        r, alpha, s, beta (alpha and beta in the summary's unit of time).
    log_likelihood_ : float
        The summed log-likelihood at ``params_`` (without the penalty).
    n_customers_ : int
    model_name : str
        "Pareto/NBD" (class attribute).

    Examples
    --------
    >>> import recforge as rf
    >>> pnbd = rf.customers.ParetoNBDFitter().fit([2, 1, 0, 0, 7, 3, 0, 1, 4, 0, 1, 2],
    ...                                           [30.4, 1.7, 0, 0, 29.4, 20.1, 0, 5.0, 35.2, 0, 2.2, 10.0],
    ...                                           [38.9] * 12)
    >>> sorted(pnbd.params_)
    ['alpha', 'beta', 'r', 's']
    >>> bool(pnbd.probability_alive([0], [0], [38.9])[0] < 1)
    True
    """

    _state = ("params_", "log_likelihood_", "n_customers_")
    model_name = "Pareto/NBD"

    def __init__(self, penalizer: float = 0.0):
        self.penalizer = check_real(penalizer, "penalizer", minimum=0.0)

    def fit(self, frequency, recency=None, T=None, *, initial=None, max_iterations: int = 1000, strict: bool = True):
        """Fit on (frequency, recency, T), or on a :class:`CustomerSummary` passed alone.

        ``initial``: starting (r, alpha, s, beta); by default 1 for the shapes and a tenth of
        the longest ``T`` for the scales (``lifetimes`` starts from the same point, in its
        rescaled time). ``strict=False`` accepts an optimum where a parameter runs to its bound
        (e^-30 or e^30: e.g. s -> 0, nobody drops out), the likelihood's limit.

        Raises
        ------
        RuntimeError
            When the optimiser stops without converging, or (``strict``) at a bound; the
            message gives the reason and the way out (a ``penalizer``, other ``initial`` values).
        """
        # without a repeat purchase, a customer who left and one who buys rarely look alike: the
        # search ran off to a split of them that P(alive) = 0 for everybody read as fact
        without = "tell who dropped out from who buys rarely" if self.penalizer == 0 else None
        rows = fitting_rows(frequency, recency, T, self.model_name, without)

        def mean(params) -> float:
            with np.errstate(invalid="ignore", over="ignore", divide="ignore"):  # non-finite: the search backs off
                return float(np.dot(rows.weights, row_log_likelihood(params, rows.x, rows.t_x, rows.T)) / rows.total)

        def mean_log_likelihood(params):
            value = mean(params)
            if not np.isfinite(value):
                return value, np.zeros(4)
            slopes = np.empty(4)
            for i in range(4):  # d/dlog(param), then d/dparam
                up, down = params.copy(), params.copy()
                up[i] *= np.exp(STEP)
                down[i] *= np.exp(-STEP)
                slopes[i] = (mean(up) - mean(down)) / (2 * STEP) / params[i]
            return value, slopes

        scale = float(rows.T.max()) / 10.0
        start = np.array([1.0, scale, 1.0, scale]) if initial is None else initial
        params = maximise(mean_log_likelihood, start, PARAMS, self.penalizer, max_iterations, self.model_name, strict)
        r, alpha, s, beta = params
        # the share of customers dropping out within the longest T: where it is all but 0, the
        # search stands on the ridge to "nobody ever drops out" (s -> 0, beta -> inf): on Online
        # Retail's year it stops at s = 9e-7, beta = 78,000 days (lifetimes at beta = 1,400)
        leaving = -np.expm1(-s * np.log1p(rows.T.max() / beta))
        if strict and leaving < NO_DROPOUT:
            warnings.warn(
                f"{self.model_name} stands on its limit s -> 0 (s = {s:.3g}, beta = {beta:.3g}: a customer drops out "
                f"within the longest T with probability {leaving:.2g}): nobody seems to drop out, and every P(alive) "
                "is about 1 (a penalizer does not help: it pulls s and beta to 0 together); a longer history may "
                "show customers leaving, and BG/NBD's dropout at a purchase may fit where this does not; fit with "
                "strict=False to accept the limit without this warning",
                UserWarning,
                stacklevel=2,
            )
        self.params_ = dict(zip(PARAMS, params.tolist()))
        self.log_likelihood_ = float(np.dot(rows.weights, row_log_likelihood(params, rows.x, rows.t_x, rows.T)))
        self.n_customers_ = int(rows.total)
        return self

    def _params(self) -> tuple:
        check_fitted(self, "params_")
        return tuple(self.params_[p] for p in PARAMS)

    def probability_alive(self, frequency, recency=None, T=None) -> np.ndarray:
        """P(still active | frequency, recency, T) for each customer (or a
        :class:`CustomerSummary` given alone)."""
        params = self._params()
        x, t_x, T = repeat_columns(frequency, recency, T)
        return special.expit(-_log_alive_odds(params, x, t_x, T))

    def expected_purchases(self, t, frequency, recency=None, T=None) -> np.ndarray:
        """E[purchases in the next ``t`` periods | frequency, recency, T] (equation 41 of the
        note), for each customer (or a :class:`CustomerSummary` given alone)."""
        params = self._params()
        r, alpha, s, beta = params
        t = check_real(t, "t", minimum=0.0)
        x, t_x, T = repeat_columns(frequency, recency, T)
        alive = special.expit(-_log_alive_odds(params, x, t_x, T))
        return alive * (r + x) / (alpha + T) * (beta + T) * _mean_survival(s, (beta + T) / (beta + T + t))

    def expected_purchases_new(self, t) -> float | np.ndarray:
        """E[purchases in ``t`` periods] of a customer just acquired (equation 27 of the note):
        a float, or for an array of horizons the array of them."""
        r, alpha, s, beta = self._params()

        def one(t: float) -> float:
            return float(r / alpha * beta * _mean_survival(s, beta / (beta + t)))

        return per_horizon(t, one)

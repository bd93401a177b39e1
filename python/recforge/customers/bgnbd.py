"""BG/NBD: how many purchases will each customer make, and are they still a customer? (Fader,
Hardie & Lee, "Counting your customers the easy way: an alternative to the Pareto/NBD model",
Marketing Science 2005.)"""

from __future__ import annotations

import numpy as np
from scipy import special

from .._checks import check_real
from ._mle import maximise
from .summary import CustomerSummary

PARAMS = ("r", "alpha", "a", "b")


def _columns(frequency, recency, T):
    x = np.asarray(frequency, dtype=np.float64)
    t_x = np.asarray(recency, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
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


def _log_likelihood(params, x, t_x, T, groups=None):
    """Per-customer log-likelihood and its gradient in (r, alpha, a, b). ``groups``: the
    distinct frequencies and each row's position among them (np.unique's values and inverse),
    so the Gamma functions of x are computed once per distinct x, not once per customer."""
    r, alpha, a, b = params
    xu, xi = np.unique(x, return_inverse=True) if groups is None else groups
    xi = np.ravel(xi)

    def of_x(f, shift):
        return f(shift + xu)[xi]

    repeat = x > 0
    # ln L = ln G(r+x) - ln G(r) + r ln(alpha) + ln B(a, b+x) - ln B(a, b) + ln(A + D) with
    # A = (alpha+T)^-(r+x), D = [x > 0] a / (b+x-1) (alpha+t_x)^-(r+x), summed in log space
    log_alpha_T, log_alpha_t = np.log(alpha + T), np.log(alpha + t_x)
    log_A = -(r + x) * log_alpha_T
    b_x = np.where(xu > 0, b + xu - 1, 1.0)  # b + x - 1 (1 where x = 0: that term is absent)
    log_D = np.where(repeat, np.log(a) - np.log(b_x)[xi] - (r + x) * log_alpha_t, -np.inf)
    log_sum = np.logaddexp(log_A, log_D)
    w_A = np.exp(log_A - log_sum)
    w_D = np.exp(log_D - log_sum)
    constant = -special.gammaln(r) + r * np.log(alpha) - special.gammaln(b) + special.gammaln(a + b)
    ll = of_x(special.gammaln, r) + of_x(special.gammaln, b) - of_x(special.gammaln, a + b) + constant + log_sum
    psi_abx, psi_ab = of_x(special.digamma, a + b), special.digamma(a + b)
    d_r = of_x(special.digamma, r) - special.digamma(r) + np.log(alpha) - w_A * log_alpha_T - w_D * log_alpha_t
    d_alpha = r / alpha - (r + x) * (w_A / (alpha + T) + w_D / (alpha + t_x))
    d_a = -psi_abx + psi_ab + w_D / a
    d_b = of_x(special.digamma, b) - psi_abx - special.digamma(b) + psi_ab - np.where(repeat, w_D / b_x[xi], 0.0)
    return ll, np.stack([d_r, d_alpha, d_a, d_b])


class BetaGeoFitter:
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

    Attributes
    ----------
    params_ : dict
        r, alpha, a, b.
    log_likelihood_ : float
        The summed log-likelihood at ``params_`` (without the penalty).
    n_customers_ : int

    Examples
    --------
    >>> import recforge as rf
    >>> bg = rf.customers.BetaGeoFitter().fit([2, 1, 0, 0, 7], [30.4, 1.7, 0, 0, 29.4], [38.9] * 5)
    >>> sorted(bg.params_)
    ['a', 'alpha', 'b', 'r']
    >>> bool(0 < bg.probability_alive([2], [30.4], [38.9])[0] <= 1)
    True
    """

    def __init__(self, penalizer: float = 0.0):
        self.penalizer = check_real(penalizer, "penalizer", minimum=0.0)

    def fit(self, frequency, recency=None, T=None, *, initial=None, max_iterations: int = 1000, strict: bool = True):
        """Fit on (frequency, recency, T), or on a :class:`CustomerSummary` passed alone.

        ``strict=False`` accepts an optimum where a parameter runs to its bound (e^-30 or e^30:
        e.g. a -> 0, nobody ever drops out), which is the limit of the likelihood; its
        predictions are finite and usable as features.

        Raises
        ------
        RuntimeError
            When the optimiser stops without converging, or (``strict``) at a bound; the
            message gives the reason and the way out (a ``penalizer``, other ``initial`` values).
        """
        if isinstance(frequency, CustomerSummary):
            frequency, recency, T = frequency.frequency, frequency.recency, frequency.T
        x, t_x, T = _columns(frequency, recency, T)
        if x.size == 0:
            raise ValueError("no customers to fit on")
        # identical (x, t_x, T) rows collapsed into weights; np.unique(axis=0) sorts structured
        # rows and is 20x slower than a lexsort
        order = np.lexsort((T, t_x, x))
        xs, ts, Ts = x[order], t_x[order], T[order]
        starts = np.flatnonzero(np.r_[True, (np.diff(xs) != 0) | (np.diff(ts) != 0) | (np.diff(Ts) != 0)])
        weights = np.diff(np.r_[starts, xs.size]).astype(np.float64)
        xs, ts, Ts = xs[starts], ts[starts], Ts[starts]
        total = weights.sum()
        groups = np.unique(xs, return_inverse=True)

        def mean_log_likelihood(params):
            ll, grad = _log_likelihood(params, xs, ts, Ts, groups)
            return (weights @ ll) / total, (grad @ weights) / total

        start = np.ones(4) if initial is None else initial
        params = maximise(mean_log_likelihood, start, PARAMS, self.penalizer, max_iterations, "BG/NBD", strict)
        self.params_ = dict(zip(PARAMS, params.tolist()))
        self.log_likelihood_ = float(weights @ _log_likelihood(params, xs, ts, Ts)[0])
        self.n_customers_ = int(total)
        return self

    def _params(self):
        if not hasattr(self, "params_"):
            raise RuntimeError("BetaGeoFitter is not fitted: call fit first")
        return (self.params_[p] for p in PARAMS)

    def probability_alive(self, frequency, recency, T) -> np.ndarray:
        """P(still active | frequency, recency, T) for each customer."""
        r, alpha, a, b = self._params()
        x, t_x, T = _columns(frequency, recency, T)
        log_ratio = np.log(a) - np.log(np.where(x > 0, b + x - 1, 1.0)) + (r + x) * np.log((alpha + T) / (alpha + t_x))
        return np.where(x > 0, special.expit(-log_ratio), 1.0)

    def expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """E[purchases in the next ``t`` periods | frequency, recency, T] (eq. 10 of the paper)."""
        r, alpha, a, b = self._params()
        t = check_real(t, "t", minimum=0.0)
        x, t_x, T = _columns(frequency, recency, T)
        z = t / (alpha + T + t)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
        head = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
        alive_odds = np.where(
            x > 0, a / np.where(x > 0, b + x - 1, 1.0) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0
        )
        return head / (1 + alive_odds)

    def expected_purchases_new(self, t) -> float:
        """E[purchases in ``t`` periods] of a customer just acquired (eq. 7 of the paper)."""
        r, alpha, a, b = self._params()
        t = check_real(t, "t", minimum=0.0)
        z = t / (alpha + t)
        return float((a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b, a + b - 1, z)))

"""Gamma-Gamma: what is a customer's average transaction worth? (Fader, Hardie & Lee, "RFM and
CLV: using iso-value curves for customer base analysis", JMR 2005; Colombo & Jiang 1999.)"""

from __future__ import annotations

import numpy as np
from scipy import special

from .._checks import check_real
from ._mle import maximise
from .summary import CustomerSummary

PARAMS = ("p", "q", "v")


def _columns(frequency, monetary_value, repeat_only: bool = True):
    x = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary_value, dtype=np.float64)
    if x.shape != m.shape or x.ndim != 1:
        raise ValueError(f"frequency and monetary_value must be 1-D of one length, got {x.shape} and {m.shape}")
    if not np.all(np.isfinite(x)) or np.any(x < 0) or not np.all(np.isfinite(m)):
        raise ValueError("frequency must be finite and >= 0, monetary_value finite")
    zero = int(np.count_nonzero((x > 0) & (m <= 0)))
    if repeat_only and zero:
        raise ValueError(
            f"monetary_value must be > 0 for customers with repeat purchases; {zero} are <= 0 (free or fully "
            "returned): leave them out, e.g. summary.select(summary.monetary_value > 0)"
        )
    return x, m


def _log_likelihood(params, x, m, groups=None):
    """Per-customer log-likelihood of the mean spend m over x transactions, and its gradient;
    ``groups`` (np.unique's values and inverse of x) computes the Gamma functions once per
    distinct x."""
    p, q, v = params
    xu, xi = np.unique(x, return_inverse=True) if groups is None else groups
    xi = np.ravel(xi)
    px = p * x
    log_vm = np.log(v + m * x)
    log_m, log_x = np.log(m), np.log(x)
    ll = (
        special.gammaln(p * xu + q)[xi]
        - special.gammaln(p * xu)[xi]
        - special.gammaln(q)
        + q * np.log(v)
        + (px - 1) * log_m
        + px * log_x
        - (px + q) * log_vm
    )
    psi = special.digamma(p * xu + q)[xi]
    d_p = x * (psi - special.digamma(p * xu)[xi] + log_m + log_x - log_vm)
    d_q = psi - special.digamma(q) + np.log(v) - log_vm
    d_v = q / v - (px + q) / (v + m * x)
    return ll, np.stack([d_p, d_q, d_v])


class GammaGammaFitter:
    """The Gamma-Gamma model of spend per transaction, fitted by maximum likelihood.

    A customer's transaction values are Gamma(p, nu) with nu ~ Gamma(q, v) across customers;
    fitted on the customers with repeat purchases (frequency > 0) from their mean repeat value.
    The model assumes spend does not depend on purchase frequency: check
    ``np.corrcoef(frequency, monetary_value)`` is near 0 before relying on it.

    Parameters
    ----------
    penalizer : float, default 0.0
        Adds ``penalizer * sum(params^2)`` to the mean negative log-likelihood.

    Attributes
    ----------
    params_ : dict
        p, q, v.
    log_likelihood_ : float
    n_customers_ : int
        The repeat customers it was fitted on.

    Examples
    --------
    >>> import recforge as rf
    >>> x, spend = [1, 2, 3, 1, 4, 2], [20.0, 35.5, 18.0, 40.0, 25.0, 30.0]
    >>> rf.customers.GammaGammaFitter().fit(x, spend)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    RuntimeError: Gamma-Gamma fit did not converge (...); try penalizer=0.001 or other initial values
    >>> gg = rf.customers.GammaGammaFitter(penalizer=0.001).fit(x, spend)
    >>> round(float(gg.expected_average_value([2], [35.5])[0]), 2)
    34.79
    """

    def __init__(self, penalizer: float = 0.0):
        self.penalizer = check_real(penalizer, "penalizer", minimum=0.0)

    def fit(self, frequency, monetary_value=None, *, initial=None, max_iterations: int = 1000):
        """Fit on (frequency, monetary_value) of every customer (those without repeat purchases are
        left out), or on a :class:`CustomerSummary` passed alone."""
        if isinstance(frequency, CustomerSummary):
            frequency, monetary_value = frequency.frequency, frequency.monetary_value
        x, m = _columns(frequency, monetary_value)
        repeat = x > 0
        if repeat.sum() < 3:
            raise ValueError(f"Gamma-Gamma needs customers with repeat purchases: {int(repeat.sum())} found")
        x, m = x[repeat], m[repeat]

        groups = np.unique(x, return_inverse=True)

        def mean_log_likelihood(params):
            ll, grad = _log_likelihood(params, x, m, groups)
            return ll.mean(), grad.mean(axis=1)

        start = np.ones(3) if initial is None else initial
        params = maximise(mean_log_likelihood, start, PARAMS, self.penalizer, max_iterations, "Gamma-Gamma")
        self.params_ = dict(zip(PARAMS, params.tolist()))
        self.log_likelihood_ = float(_log_likelihood(params, x, m)[0].sum())
        self.n_customers_ = int(x.size)
        return self

    def expected_average_value(self, frequency, monetary_value) -> np.ndarray:
        """E[value of a transaction | frequency, mean repeat value]; the population mean
        p v / (q - 1) for customers without repeat purchases."""
        if not hasattr(self, "params_"):
            raise RuntimeError("GammaGammaFitter is not fitted: call fit first")
        p, q, v = (self.params_[k] for k in PARAMS)
        x, m = _columns(frequency, monetary_value, repeat_only=False)
        m = np.where(x > 0, m, 0.0)
        return p * (v + m * x) / (p * x + q - 1)

"""Gamma-Gamma: what is a customer's average transaction worth? (Fader, Hardie & Lee, "RFM and
CLV: using iso-value curves for customer base analysis", JMR 2005; Colombo & Jiang 1999.)"""

from __future__ import annotations

import numpy as np
from scipy import special

from .. import _core
from .._checks import as_numbers, check_fitted, check_int, check_real
from .._config import resolve_threads
from .._params import Parametrised
from ._mle import DRIFT, maximise
from .summary import summary_columns

PARAMS = ("p", "q", "v")


def _columns(frequency, monetary_value, repeat_only: bool = True):
    """(x, m) checked, from two arrays or a :class:`CustomerSummary` given alone."""
    frequency, monetary_value = summary_columns(frequency, (monetary_value,), ("frequency", "monetary_value"))
    x = as_numbers(frequency, "frequency")
    m = as_numbers(monetary_value, "monetary_value")
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


class Rows:
    """Repeat customers' (x, m) prepared for repeated likelihood evaluations: ln m and ln x
    computed once, and each row's distinct frequency (Gamma functions once per distinct x)."""

    def __init__(self, x, m):
        self.x, self.m = np.ascontiguousarray(x, dtype=np.float64), np.ascontiguousarray(m, dtype=np.float64)
        self.log_m, self.log_x = np.log(self.m), np.log(self.x)
        self.xu, xi = np.unique(self.x, return_inverse=True)
        self.x_index = np.ascontiguousarray(xi.ravel(), dtype=np.int64)


def log_likelihood(params, rows: Rows, n_threads: int = 1) -> tuple[float, np.ndarray]:
    """The Gamma-Gamma log-likelihood of ``rows`` at ``params`` (p, q, v) and its gradient: the
    row parts summed by the C++ kernel (bit-identical for any thread count), the parts of the
    parameters alone added here."""
    p, q, v = params
    pxu = p * rows.xu
    table = np.column_stack(
        [special.gammaln(pxu + q) - special.gammaln(pxu), special.digamma(pxu + q), special.digamma(pxu)]
    )
    sums = _core.gamma_gamma_row_sums(
        rows.x, rows.m, rows.log_m, rows.log_x, rows.x_index, table, float(p), float(q), float(v), n_threads
    )
    n = rows.x.size
    ll = sums[0] + n * (-special.gammaln(q) + q * np.log(v))
    grad = sums[1:] + n * np.array([0.0, -special.digamma(q) + np.log(v), q / v])
    return float(ll), grad


class GammaGammaFitter(Parametrised):
    """The Gamma-Gamma model of spend per transaction, fitted by maximum likelihood.

    A customer's transaction values are Gamma(p, nu) with nu ~ Gamma(q, v) across customers;
    fitted on the customers with repeat purchases (frequency > 0) from their mean repeat value.
    The model assumes spend does not depend on purchase frequency: check
    ``np.corrcoef(frequency, monetary_value)`` is near 0 before relying on it.

    Parameters
    ----------
    penalizer : float, default 0.0
        Adds ``penalizer * sum(params^2)`` to the mean negative log-likelihood.
    n_threads : int, default 0
        Threads of the likelihood kernel (0: all available CPUs). The fit does not depend on it.

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
    RuntimeError: Gamma-Gamma fit did not converge (...); q, v -> infinity, which a penalizer holds back (...)
    >>> gg = rf.customers.GammaGammaFitter(penalizer=0.001).fit(x, spend)
    >>> round(float(gg.expected_average_value([2], [35.5])[0]), 2)
    34.79
    """

    _state = ("params_", "log_likelihood_", "n_customers_")  # what fit sets (is_fitted)

    def __init__(self, penalizer: float = 0.0, n_threads: int = 0):
        self.penalizer = check_real(penalizer, "penalizer", minimum=0.0)
        self.n_threads = check_int(n_threads, "n_threads", minimum=0)

    def fit(self, frequency, monetary_value=None, *, initial=None, max_iterations: int = 1000):
        """Fit on (frequency, monetary_value) of every customer (those without repeat purchases are
        left out), or on a :class:`CustomerSummary` passed alone."""
        x, m = _columns(frequency, monetary_value)
        repeat = x > 0
        if repeat.sum() < 3:
            raise ValueError(f"Gamma-Gamma needs customers with repeat purchases: {int(repeat.sum())} found")
        x, m = x[repeat], m[repeat]

        rows = Rows(x, m)
        threads = resolve_threads(self.n_threads)
        # The model is equivariant in the currency: spend c times larger is the fit with v c
        # times larger. Without a penalizer the search runs on spend in units of its mean (from
        # v = 1: a start a million times off found another optimum for spend in millions, and
        # v ran past the search's bounds for spend in yen-cents); a penalizer acts on v as given,
        # so there the search only starts from v = the mean spend.
        unit = float(m.mean()) if self.penalizer == 0 else 1.0
        searched = Rows(x, m / unit) if unit != 1.0 else rows

        def mean_log_likelihood(params):
            ll, grad = log_likelihood(params, searched, threads)
            return ll / x.size, grad / x.size

        start = (
            np.array([1.0, 1.0, float(m.mean()) / unit])
            if initial is None
            else np.asarray(initial, dtype=np.float64) / [1.0, 1.0, unit]
        )
        # q -> infinity (v with it): spend hardly varies between customers, no maximum; the
        # penalizer holds it back. Read on the searched scale, where healthy fits keep q small.
        params = maximise(
            mean_log_likelihood, start, PARAMS, self.penalizer, max_iterations, "Gamma-Gamma",
            ridge=lambda theta: self.penalizer == 0 and theta[1] > DRIFT,
        )  # fmt: skip
        params = params * [1.0, 1.0, unit]
        if params[1] <= 1:
            # the spend per transaction has no finite mean: a customer without repeat purchases,
            # valued at p v / (q - 1), would be given a negative or infinite spend (on Online
            # Retail with penalizer=0.001, q = 0.82 and -666.52 for each of 1,594 one-time buyers)
            cause = (
                f"; the penalizer acts on v in the currency's units ({params[2]:.4g}): fit with a smaller one or none"
                if self.penalizer
                else ""
            )
            raise RuntimeError(
                f"Gamma-Gamma fit gives q = {params[1]:.4g} <= 1 ({dict(zip(PARAMS, params.tolist()))}): the spend "
                f"per transaction has no finite mean, and customers without repeat purchases no expected spend{cause}"
            )
        self.params_ = dict(zip(PARAMS, params.tolist()))
        self.log_likelihood_ = log_likelihood(params, rows, threads)[0]
        self.n_customers_ = int(x.size)
        return self

    def expected_average_value(self, frequency, monetary_value=None) -> np.ndarray:
        """E[value of a transaction | frequency, mean repeat value] for each customer (or a
        :class:`CustomerSummary` given alone); the population mean p v / (q - 1) for customers
        without repeat purchases."""
        check_fitted(self, "params_")
        p, q, v = (self.params_[k] for k in PARAMS)
        x, m = _columns(frequency, monetary_value, repeat_only=False)
        negative = int(np.count_nonzero((x > 0) & (m < 0)))
        if negative:  # the weighted mean would pull the population's value below it
            raise ValueError(
                f"monetary_value must be >= 0 for customers with repeat purchases; {negative} are below 0 "
                "(returns beyond purchases): clip them at 0 or leave them out"
            )
        m = np.where(x > 0, m, 0.0)
        return p * (v + m * x) / (p * x + q - 1)

"""Customer lifetime value: BG/NBD's expected purchases times Gamma-Gamma's expected spend,
discounted period by period."""

from __future__ import annotations

import numpy as np

from .._checks import check_int, check_real
from .summary import summary_columns

MAX_HORIZON = 10_000  # steps: each is a pass over every customer


def lifetime_value(
    purchases,
    spend,
    frequency,
    recency=None,
    T=None,
    monetary_value=None,
    *,
    horizon: int = 12,
    step: float = 30.0,
    discount_rate: float = 0.01,
) -> np.ndarray:
    """Discounted value of each customer's purchases over the next ``horizon`` steps.

    CLV = sum over i = 1..horizon of  E[spend] (E[X(i step)] - E[X((i-1) step)]) / (1 + d)^i,
    with E[X(t)] from ``purchases`` (a fitted :class:`BetaGeoFitter`, :class:`ModifiedBetaGeoFitter`
    or :class:`ParetoNBDFitter`) and E[spend] from ``spend`` (a fitted :class:`GammaGammaFitter`),
    as ``lifetimes``' customer_lifetime_value.

    Parameters
    ----------
    purchases : BetaGeoFitter, ModifiedBetaGeoFitter or ParetoNBDFitter
    spend : GammaGammaFitter
    frequency, recency, T, monetary_value : array-like
        The customers' summary, in the unit the models were fitted in; or a
        :class:`CustomerSummary` as ``frequency``, alone.
    horizon : int, default 12
        Steps ahead (1 to 10,000).
    step : float, default 30.0
        Length of a step in the summary's unit (30 days: months).
    discount_rate : float, default 0.01
        Per step (>= 0).

    Returns
    -------
    numpy.ndarray of float64, one value per customer.
    """
    # duck-typed (any model with these methods), but named: swapped arguments are an easy slip
    for name, model, method, kind in (
        ("purchases", purchases, "expected_purchases", "BetaGeoFitter"),
        ("spend", spend, "expected_average_value", "GammaGammaFitter"),
    ):
        if not callable(getattr(model, method, None)):
            raise TypeError(f"{name} must be a fitted {kind} (with {method}), got {type(model).__name__}")
    horizon = check_int(horizon, "horizon", minimum=1)
    if horizon > MAX_HORIZON:  # one pass over every customer per step: 1e8 months ran for hours
        raise ValueError(f"horizon must be <= {MAX_HORIZON:,} steps (833 years of months), got {horizon:,}")
    step = check_real(step, "step", minimum=0.0)
    discount_rate = check_real(discount_rate, "discount_rate", minimum=0.0)
    frequency, recency, T, monetary_value = summary_columns(
        frequency, (recency, T, monetary_value), ("frequency", "recency", "T", "monetary_value")
    )
    value = spend.expected_average_value(frequency, monetary_value)
    total = np.zeros_like(value)
    before = np.zeros_like(value)
    for i in range(1, horizon + 1):
        after = purchases.expected_purchases(i * step, frequency, recency, T)
        # as exp(-i log(1 + d)): (1 + d) ** i raised OverflowError past 1e308 (--months 1e8)
        total += value * (after - before) * np.exp(-i * np.log1p(discount_rate))
        before = after
    return total

"""Control groups: which customers a campaign holds out, and what the campaign changed, measured
on them afterwards.

A campaign's effect is the difference between the customers who received it and comparable
ones who did not. Customers are held out at random, by a keyed hash of their id: the same
customer is in the same group in every run and whatever the other customers (a universal
control group stays fixed as the customer base grows), and another seed draws another group.
"""

from __future__ import annotations

import hashlib

import numpy as np

from .._checks import check_int, check_real
from .._factorize import id_texts

_SPAN = float(2**64)


def holdout(ids, fraction: float, *, seed: int = 0) -> np.ndarray:
    """Which customers are held out of a campaign (the control group).

    Each id is hashed as its text (``str(id)``, UTF-8; 5 and "5" alike, 17850.0 as 17850, as
    :func:`pseudonymise` does) with BLAKE2b keyed by ``seed``, and held out where the hash,
    read as a number in [0, 1), is below ``fraction``. So each customer is held out with
    probability ``fraction``, independently of the others: the group's share of a given set of
    customers is ``fraction`` up to sampling noise (binomial), not exactly.

    Parameters
    ----------
    ids : array-like
        Customer ids (any values with a text form).
    fraction : float
        Share held out, in [0, 1).
    seed : int, default 0
        Another seed, another group (non-negative).

    Returns
    -------
    numpy.ndarray of bool
        The shape of ``ids``; True: held out. A missing id (None, NaN) raises ValueError.

    Examples
    --------
    >>> import recforge as rf
    >>> held = rf.campaign.holdout([f"c{i}" for i in range(10_000)], 0.1, seed=7)
    >>> bool(0.09 < held.mean() < 0.11)
    True
    >>> bool((rf.campaign.holdout(["c5", "c4"], 0.1, seed=7) == held[[5, 4]]).all())
    True
    """
    fraction = check_real(fraction, "fraction", minimum=0.0)
    if fraction >= 1.0:
        raise ValueError(f"fraction must be below 1 (someone must receive the campaign), got {fraction}")
    seed = check_int(seed, "seed", minimum=0)
    texts = id_texts(ids)
    key = f"recforge holdout {seed}".encode()
    draws = np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(t.encode("utf-8"), digest_size=8, key=key).digest(), "little")
            for t in texts.ravel().tolist()
        ),
        dtype=np.float64,
        count=texts.size,
    )
    return (draws / _SPAN < fraction).reshape(texts.shape)


def _groups(treated, control, confidence, kinds: str, valid, what: str):
    """``confidence`` and the two groups as 1-D arrays, checked: dtype kinds among ``kinds`` and
    ``valid(array)`` true, else ValueError naming the group and ``what`` it must hold."""
    confidence = check_real(confidence, "confidence", minimum=0.0)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    groups = []
    for name, values in (("treated", treated), ("control", control)):
        array = np.asarray(values)
        if array.ndim != 1 or array.dtype.kind not in kinds or not valid(array):
            raise ValueError(f"{name} must be a 1-D array of {what}, one per customer")
        groups.append(array)
    return confidence, groups[0], groups[1]


def lift(treated, control, confidence: float = 0.95) -> dict:
    """What a campaign changed: the conversion of the customers who received it beside the
    control group's, with an interval and a test for their difference.

    Parameters
    ----------
    treated, control : array-like of bool
        For each customer of the group, whether they converted (bought, or bought the
        campaign's products) in the window after the campaign.
    confidence : float, default 0.95
        Of the interval, in (0, 1).

    Returns
    -------
    dict
        ``treated`` and ``control`` (conversion rates), ``n_treated``, ``n_control``, ``lift``
        (the difference of the rates) with ``low`` and ``high``: Newcombe's hybrid score
        interval (Newcombe, Statistics in Medicine 1998, method 10: from the Wilson interval of
        each rate), which stays within [-1, 1] and keeps a width where a rate is 0 or 1 (the
        Wald interval's is 0 there: 0 of 5 against 0 of 5 read as a certain lift of 0),
        ``relative_lift`` (lift / control rate; NaN when the control group never converted)
        and ``p_value``: the two-sided two-proportion z-test of equal rates (pooled; the
        chi-square test of the 2 x 2 table without continuity correction). NaN where a group is
        empty.

    Examples
    --------
    >>> import numpy as np, recforge as rf
    >>> result = rf.campaign.lift(np.r_[np.ones(120), np.zeros(880)] > 0, np.r_[np.ones(9), np.zeros(91)] > 0)
    >>> round(result["treated"], 3), round(result["control"], 3), round(result["lift"], 3)
    (0.12, 0.09, 0.03)
    """
    from scipy import stats  # here, not at import

    confidence, treated, control = _groups(
        treated,
        control,
        confidence,
        "bui",
        lambda a: not a.size or np.isin(a, (0, 1)).all(),
        "booleans (converted or not)",
    )
    (x_t, n_t), (x_c, n_c) = ((int(np.count_nonzero(a)), int(a.size)) for a in (treated, control))
    nan = float("nan")
    p_t = x_t / n_t if n_t else nan
    p_c = x_c / n_c if n_c else nan
    out = {"treated": p_t, "control": p_c, "n_treated": n_t, "n_control": n_c, "lift": p_t - p_c}
    out["relative_lift"] = out["lift"] / p_c if n_c and p_c > 0 else nan
    if not (n_t and n_c):
        return {**out, "low": nan, "high": nan, "p_value": nan}
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    (l_t, u_t), (l_c, u_c) = _wilson(x_t, n_t, z), _wilson(x_c, n_c, z)
    low = out["lift"] - np.sqrt((p_t - l_t) ** 2 + (u_c - p_c) ** 2)
    high = out["lift"] + np.sqrt((u_t - p_t) ** 2 + (p_c - l_c) ** 2)
    pooled = (x_t + x_c) / (n_t + n_c)
    spread = np.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))
    # equal rates in groups that all converted, or none did: nothing to tell apart
    p_value = float(2 * stats.norm.sf(abs(p_t - p_c) / spread)) if spread > 0 else 1.0
    return {**out, "low": float(max(low, -1.0)), "high": float(min(high, 1.0)), "p_value": p_value}


def _wilson(x: int, n: int, z: float) -> tuple[float, float]:
    """The Wilson score interval of the rate x / n."""
    p = x / n
    center = (x + z * z / 2) / (n + z * z)
    half = z * np.sqrt(n) / (n + z * z) * np.sqrt(p * (1 - p) + z * z / (4 * n))
    return center - half, center + half


def mean_lift(treated, control, confidence: float = 0.95) -> dict:
    """What a campaign changed in a quantity per customer (spend, orders), the customers who
    received it beside the control group: the difference of the means with Welch's interval and
    t-test (unequal variances; scipy's ``ttest_ind(equal_var=False)``).

    Parameters
    ----------
    treated, control : array-like of float
        The quantity for each customer of the group in the window after the campaign, 0 for
        those who did nothing (every customer of the group counts).
    confidence : float, default 0.95

    Returns
    -------
    dict
        The keys of :func:`lift`, with means in place of rates: ``treated``, ``control``,
        ``lift`` (their difference), ``low``, ``high``, ``relative_lift``, ``p_value``,
        ``n_treated``, ``n_control``. NaN where a group has fewer than two customers.

    Examples
    --------
    >>> import numpy as np, recforge as rf
    >>> result = rf.campaign.mean_lift(np.r_[np.full(100, 12.0), np.zeros(900)], np.r_[np.full(9, 12.0), np.zeros(91)])
    >>> round(result["treated"], 2), round(result["control"], 2), round(result["lift"], 2)
    (1.2, 1.08, 0.12)
    """
    from scipy import stats  # here, not at import

    confidence, t, c = _groups(treated, control, confidence, "biuf", lambda a: np.isfinite(a).all(), "finite numbers")
    t, c = t.astype(np.float64), c.astype(np.float64)
    nan = float("nan")
    out = {"treated": float(t.mean()) if t.size else nan, "control": float(c.mean()) if c.size else nan}
    out.update(n_treated=int(t.size), n_control=int(c.size), lift=out["treated"] - out["control"])
    out["relative_lift"] = out["lift"] / out["control"] if c.size and out["control"] != 0 else nan
    if t.size < 2 or c.size < 2:
        return {**out, "low": nan, "high": nan, "p_value": nan}
    if t.var() == 0 and c.var() == 0:  # no spread: the means are the answer, exactly
        same = out["lift"] == 0
        return {**out, "low": out["lift"], "high": out["lift"], "p_value": 1.0 if same else 0.0}
    test = stats.ttest_ind(t, c, equal_var=False)
    interval = test.confidence_interval(confidence)
    return {**out, "low": float(interval.low), "high": float(interval.high), "p_value": float(test.pvalue)}


__all__ = ["holdout", "lift", "mean_lift"]

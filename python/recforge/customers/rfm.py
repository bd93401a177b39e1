"""RFM: recency, frequency and monetary scores by quantiles, and the usual named segments."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import as_numbers, check_choice, check_int
from .summary import CustomerSummary, check_summary

# (segment, recency scores, frequency scores), first match wins; on 1-5 scores these ten rules
# cover all 25 cells exactly once. The grid of the widely used RFM segment map (R against F;
# M is reported beside it): recent and frequent buyers are Champions, frequent buyers who have
# not come back are At Risk or Can't Lose Them, and so on.
SEGMENTS: tuple[tuple[str, tuple[int, int], tuple[int, int]], ...] = (
    ("Champions", (5, 5), (4, 5)),
    ("Loyal Customers", (3, 4), (4, 5)),
    ("Potential Loyalist", (4, 5), (2, 3)),
    ("New Customers", (5, 5), (1, 1)),
    ("Promising", (4, 4), (1, 1)),
    ("Need Attention", (3, 3), (3, 3)),
    ("About To Sleep", (3, 3), (1, 2)),
    ("Can't Lose Them", (1, 2), (5, 5)),
    ("At Risk", (1, 2), (3, 4)),
    ("Lost", (1, 2), (1, 2)),
)
MONETARY = ("total", "mean")


def quantile_scores(values, bins: int = 5) -> np.ndarray:
    """Scores 1..bins by quantile, higher value = higher score. Ties share the score of their
    lowest rank, so the result depends on the values only, never on their order."""
    bins = check_int(bins, "bins", minimum=2)
    v = as_numbers(values, "values")
    if v.ndim != 1 or not np.all(np.isfinite(v)):
        raise ValueError("values must be 1-D and finite")
    if v.size == 0:
        return np.zeros(0, dtype=np.int8)
    ordered = np.sort(v)
    below = np.searchsorted(ordered, v, side="left")  # the lowest 0-based rank of each value
    return (1 + (below * bins) // v.size).astype(np.int8)


def _check_rules(rules, bins: int | None) -> list:
    """``rules`` as a list of (name, (r_low, r_high), (f_low, f_high)), each range of whole
    scores low <= high within 1..bins (when known): a rule no score can meet is a mistake (the
    rules of 5 bins on 3 or 10), not a segment that stays empty."""
    try:
        rules = list(rules)
    except TypeError:
        raise TypeError(
            f"rules must be a sequence of (name, (r_low, r_high), (f_low, f_high)), got {rules!r}"
        ) from None
    top = "" if bins is None else f" and <= bins ({bins})"
    for rule in rules:
        ok = isinstance(rule, (tuple, list)) and len(rule) == 3 and isinstance(rule[0], str)
        ranges = rule[1:] if ok else ()
        ok = ok and all(
            isinstance(b, (tuple, list))
            and len(b) == 2
            and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in b)
            for b in ranges
        )
        if not ok:
            raise ValueError(
                f"each rule must be (name, (r_low, r_high), (f_low, f_high)) with whole scores, got {rule!r}"
            )
        for low, high in ranges:
            if not 1 <= low <= high or (bins is not None and high > bins):
                raise ValueError(f"rule {rule[0]!r}: a score range must have 1 <= low <= high{top}, got {(low, high)}")
    return rules


def segment(recency_score, frequency_score, rules=SEGMENTS, default: str = "Other") -> np.ndarray:
    """Segment names from recency and frequency scores by ``rules`` (first match wins;
    ``default`` where none matches)."""
    r = np.asarray(recency_score)
    f = np.asarray(frequency_score)
    if r.shape != f.shape:
        raise ValueError("recency_score and frequency_score must have one shape")
    for name, score in (("recency_score", r), ("frequency_score", f)):
        numbers = as_numbers(score, name)
        if np.any(~np.isfinite(numbers) | (numbers < 1) | (numbers != np.round(numbers))):
            raise ValueError(f"{name} must hold whole scores >= 1")
    rules = _check_rules(rules, None)
    names = [name for name, _, _ in rules]
    out = np.full(r.shape, len(names), dtype=np.int64)
    for i, (_, (r_low, r_high), (f_low, f_high)) in reversed(list(enumerate(rules))):  # first wins
        out[(r >= r_low) & (r <= r_high) & (f >= f_low) & (f <= f_high)] = i
    return np.asarray([*names, default], dtype=object)[out]


@dataclass
class RFM:
    """RFM scores and segments, one row per customer of the summary.

    Attributes
    ----------
    customer_ids : numpy.ndarray
    recency, frequency, monetary : numpy.ndarray of int8
        Scores 1..bins (higher is better: more recent, more transactions, more money).
    segment : numpy.ndarray of str
    bins : int
    """

    customer_ids: np.ndarray
    recency: np.ndarray
    frequency: np.ndarray
    monetary: np.ndarray
    segment: np.ndarray
    bins: int

    def code(self) -> np.ndarray:
        """The "RFM cell" as a three-digit number (e.g. 545)."""
        return self.recency.astype(np.int64) * 100 + self.frequency * 10 + self.monetary

    def to_pandas(self):
        import pandas as pd

        frame = pd.DataFrame(
            {"R": self.recency, "F": self.frequency, "M": self.monetary, "RFM": self.code(), "segment": self.segment}
        )
        frame.index = pd.Index(self.customer_ids, name="customer")
        return frame


def rfm(summary: CustomerSummary, bins: int = 5, monetary: str = "total", rules=SEGMENTS) -> RFM:
    """RFM scores of every customer of ``summary`` and their named segments.

    Parameters
    ----------
    summary : CustomerSummary
    bins : int, default 5
        Score range 1..bins, by quantiles (ties share a score, see :func:`quantile_scores`).
    monetary : {"total", "mean"}, default "total"
        Score the customer's total spend or the mean value of their transactions.
    rules : sequence of (name, (r_low, r_high), (f_low, f_high)), default SEGMENTS
        Segment rules on the recency and frequency scores, within 1..bins. The default is for
        ``bins=5``; with other bins give your own (``rules=()``: scores only, every customer
        "Other").

    Examples
    --------
    >>> import recforge as rf
    >>> s = rf.customers.summary(["a", "a", "b", "c", "c", "c"],
    ...     ["2024-01-01", "2024-03-01", "2024-01-02", "2024-02-01", "2024-03-01", "2024-03-05"],
    ...     [10.0, 30.0, 5.0, 8.0, 9.0, 12.0], as_of="2024-03-10")
    >>> r = rf.customers.rfm(s, bins=3, rules=(("best", (3, 3), (3, 3)),))
    >>> r.recency.tolist(), r.frequency.tolist(), r.segment.tolist()
    ([2, 1, 3], [2, 1, 3], ['Other', 'Other', 'best'])
    """
    check_summary(summary)
    check_choice(monetary, "monetary", MONETARY)
    bins = check_int(bins, "bins", minimum=2)
    if rules is SEGMENTS and bins != 5:
        raise ValueError(
            f"the default segment rules are for bins=5: with bins={bins}, give rules= for 1..{bins} "
            "(rules=() for scores without named segments)"
        )
    _check_rules(rules, bins)
    value = summary.total_value if monetary == "total" else summary.total_value / summary.transactions
    r = quantile_scores(-summary.since_last, bins)
    f = quantile_scores(summary.transactions, bins)
    m = quantile_scores(value, bins)
    return RFM(summary.customer_ids, r, f, m, segment(r, f, rules), bins)

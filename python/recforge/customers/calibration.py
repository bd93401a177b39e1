"""Is the lifetime-value model any good on this log? Cut the log at a date, fit on the customers'
past (calibration) and set the model's predictions of what they buy next against what they
bought after the cut (holdout): the check of Fader, Hardie & Lee's BG/NBD paper, by number of
repeat purchases in calibration, as ``lifetimes``' ``calibration_and_holdout_data`` prepares it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import check_int
from .._factorize import arrow_strings, lookup
from .._times import as_moment, as_seconds, moment_text
from .summary import UNITS, CustomerSummary, periods, summary


@dataclass
class HoldoutCheck:
    """Predicted against actual holdout purchases, by repeat purchases in calibration.

    Attributes
    ----------
    frequency : numpy.ndarray of int64
        Repeat purchases in calibration, 0 .. ``max_frequency``; the last row holds every
        customer with ``max_frequency`` or more.
    customers : numpy.ndarray of int64
        Customers in each row.
    actual, predicted : numpy.ndarray of float64
        Mean purchases (transactions) in the holdout per customer of the row: as bought, and as
        the model expected from the calibration summary.
    total_actual, total_predicted : float
        Holdout purchases of all calibration customers.
    mean_absolute_error, root_mean_squared_error : float
        Per customer, over all calibration customers.
    spend_customers : int
        Customers with repeat purchases in calibration and purchases in the holdout (0 without a
        spend model): those whose spend per purchase is compared.
    spend_actual, spend_predicted : float
        Their mean holdout spend per purchase, and the spend model's expectation of it (NaN
        without a spend model or such customers).
    duration : float
        Holdout length, in ``unit`` s.
    unit : str
    """

    frequency: np.ndarray
    customers: np.ndarray
    actual: np.ndarray
    predicted: np.ndarray
    total_actual: float
    total_predicted: float
    mean_absolute_error: float
    root_mean_squared_error: float
    spend_customers: int
    spend_actual: float
    spend_predicted: float
    duration: float
    unit: str

    def to_pandas(self):
        """The table, one row per calibration frequency (needs pandas)."""
        import pandas as pd

        rows = {"customers": self.customers, "actual": self.actual, "predicted": self.predicted}
        return pd.DataFrame(rows, index=pd.Index(self._labels(), name="repeat_purchases"))

    def _labels(self) -> list[str]:
        last = len(self.frequency) - 1
        return [f"{f}+" if i == last and i > 0 else str(f) for i, f in enumerate(self.frequency.tolist())]

    def __str__(self) -> str:
        lines = [
            f"holdout of {self.duration:g} {self.unit}s: {self.total_actual:,.0f} purchases, "
            f"{self.total_predicted:,.0f} predicted ({self.total_predicted / self.total_actual - 1:+.1%})"
            if self.total_actual
            else f"holdout of {self.duration:g} {self.unit}s: no purchase, {self.total_predicted:,.1f} predicted",
            f"per customer: mean absolute error {self.mean_absolute_error:.3f}, "
            f"root mean squared error {self.root_mean_squared_error:.3f}",
            "",
            "| repeat purchases in calibration | customers | holdout purchases per customer | predicted |",
            "|---|---:|---:|---:|",
        ]
        for label, n, a, p in zip(self._labels(), self.customers, self.actual, self.predicted):
            lines.append(f"| {label} | {n:,} | {a:.3f} | {p:.3f} |")
        if self.spend_customers:
            lines.append(
                f"\nspend per purchase in the holdout ({self.spend_customers:,} repeat customers who bought): "
                f"{self.spend_actual:,.2f}, predicted {self.spend_predicted:,.2f}"
            )
        return "\n".join(lines)


@dataclass
class CalibrationHoldout:
    """A transaction log cut at ``cutoff``: the summary of the lines up to it, and what each of
    its customers bought after it, up to ``end``.

    Attributes
    ----------
    calibration : CustomerSummary
        Customers with a purchase up to the cutoff, ``as_of`` the cutoff: what a model is
        fitted on.
    purchases : numpy.ndarray of int64
        Each calibration customer's transactions in the holdout, counted as the summary counts
        them (one per ``period`` with purchases).
    value : numpy.ndarray of float64
        Their total value.
    duration : float
        Holdout length in ``calibration.unit`` s: whole periods from the cutoff's to the end's.
    end : float
        Epoch seconds of the end of the holdout.
    report : dict
        Holdout lines read, and customers first seen in the holdout (who have no calibration
        summary and no prediction).
    """

    calibration: CustomerSummary
    purchases: np.ndarray
    value: np.ndarray
    duration: float
    end: float
    report: dict

    def check(self, purchases, spend=None, *, max_frequency: int = 7) -> HoldoutCheck:
        """Set a model fitted on ``calibration`` against the holdout.

        Parameters
        ----------
        purchases : BetaGeoFitter, ModifiedBetaGeoFitter or ParetoNBDFitter
            Fitted on ``calibration``: its expected purchases over ``duration``, given each
            customer's calibration summary.
        spend : GammaGammaFitter, optional
            Fitted on ``calibration``: its expected spend per purchase against the mean value of
            the holdout purchases of the customers with repeat purchases in both.
        max_frequency : int, default 7
            The table's last row: this many repeat purchases or more.

        Returns
        -------
        HoldoutCheck
        """
        for name, model, method, kind in (
            ("purchases", purchases, "expected_purchases", "BetaGeoFitter"),
            ("spend", spend, "expected_average_value", "GammaGammaFitter"),
        ):
            if (model is not None or name == "purchases") and not callable(getattr(model, method, None)):
                raise TypeError(f"{name} must be a fitted {kind} (with {method}), got {type(model).__name__}")
        max_frequency = check_int(max_frequency, "max_frequency", minimum=1)
        s = self.calibration
        predicted = np.asarray(purchases.expected_purchases(self.duration, s.frequency, s.recency, s.T), np.float64)
        actual = self.purchases.astype(np.float64)
        row = np.minimum(s.frequency, max_frequency).astype(np.int64)
        customers = np.bincount(row, minlength=max_frequency + 1)
        shown = np.flatnonzero(customers)  # rows with no customer say nothing
        shown = np.arange(shown.max() + 1) if shown.size else shown
        mean = np.divide(
            np.stack([np.bincount(row, weights=v, minlength=max_frequency + 1) for v in (actual, predicted)]),
            customers,
            out=np.full((2, max_frequency + 1), np.nan),
            where=customers > 0,
        )
        error = predicted - actual
        spend_n, spend_actual, spend_predicted = 0, np.nan, np.nan
        if spend is not None:
            both = (s.frequency > 0) & (self.purchases > 0)
            spend_n = int(both.sum())
            if spend_n:
                expected = spend.expected_average_value(s.frequency[both], s.monetary_value[both])
                spend_predicted = float(np.mean(expected))
                spend_actual = float(np.mean(self.value[both] / self.purchases[both]))
        return HoldoutCheck(
            frequency=shown.astype(np.int64),
            customers=customers[shown],
            actual=mean[0][shown],
            predicted=mean[1][shown],
            total_actual=float(actual.sum()),
            total_predicted=float(predicted.sum()),
            mean_absolute_error=float(np.mean(np.abs(error))) if error.size else np.nan,
            root_mean_squared_error=float(np.sqrt(np.mean(error**2))) if error.size else np.nan,
            spend_customers=spend_n,
            spend_actual=spend_actual,
            spend_predicted=spend_predicted,
            duration=self.duration,
            unit=s.unit,
        )


def calibration_holdout(
    customers,
    times,
    amounts=None,
    *,
    cutoff,
    end=None,
    unit: str = "day",
    period: str = "day",
    returns: str = "drop",
    n_threads: int = 0,
) -> CalibrationHoldout:
    """Cut a transaction log at ``cutoff``: the calibration summary and the holdout purchases.

    Parameters
    ----------
    customers, times, amounts
        The log, as for :func:`summary`.
    cutoff : time
        Lines up to the end of its period (its day, or week) are the calibration, lines of later
        periods the holdout: ``cutoff="1997-09-30"`` puts 30 September in the calibration.
    end : time, optional
        End of the holdout, whose period is in it as ``as_of``'s is in :func:`summary`'s
        (default: the last line's time); lines of later periods are left out.
    unit, period, returns, n_threads
        As for :func:`summary`; the holdout's purchases are counted the same way.

    Returns
    -------
    CalibrationHoldout
        Fit a model on its ``calibration`` and call its ``check``.

    Raises
    ------
    ValueError
        ``end`` is not after ``cutoff``, or the cutoff is before every line.

    Examples
    --------
    >>> import recforge as rf
    >>> cut = rf.customers.calibration_holdout(customers, times, amounts, cutoff="1997-09-30")  # doctest: +SKIP
    >>> bg = rf.customers.BetaGeoFitter().fit(cut.calibration)                               # doctest: +SKIP
    >>> print(cut.check(bg))                                                                 # doctest: +SKIP
    """
    text = arrow_strings(customers)
    customers = text if text is not None else np.asarray(customers)
    t = as_seconds(times, "times", wall_clock=True)
    if customers.ndim != 1 or t.shape != (customers.shape[0],):
        raise ValueError(f"customers and times must be 1-D of one length, got {customers.shape} and {t.shape}")
    money = None if amounts is None else np.asarray(amounts)
    start = as_moment(cutoff, "cutoff", wall_clock=True)
    if end is None:
        finite = t[np.isfinite(t)]
        stop = float(finite.max()) if finite.size else start
    else:
        stop = as_moment(end, "end", wall_clock=True)
    # Whole periods, as the summaries count them: a cut inside a day once put the day's
    # purchases after it in the holdout while the holdout's duration started the day after
    first, last = periods(start, period), periods(stop, period)
    if not last > first:
        if end is None:
            raise ValueError(
                f"cutoff {moment_text(start)} must fall on a {period} before the last line's ({moment_text(stop)}): "
                "the holdout holds no time"
            )
        raise ValueError(
            f"end {moment_text(stop)} must fall on a {period} after cutoff {moment_text(start)}'s: "
            "the holdout holds no time"
        )
    options = dict(unit=unit, period=period, returns=returns, n_threads=n_threads)
    calibration = summary(customers, t, money, as_of=start, **options)
    slot = periods(t, period)
    later = (slot > first) & (slot <= last)
    purchases = np.zeros(len(calibration), dtype=np.int64)
    value = np.zeros(len(calibration))
    report = {"holdout_lines": int(later.sum()), "new_customers": 0}
    if later.any():
        try:
            held = summary(customers[later], t[later], None if money is None else money[later], as_of=stop, **options)
        except ValueError:  # no holdout line counts (every one a return, or without an id)
            held = None
        if held is not None:
            row = lookup(calibration.customer_ids, held.customer_ids)
            known = row >= 0
            purchases[row[known]] = held.transactions[known]
            value[row[known]] = held.total_value[known]
            report["new_customers"] = int((~known).sum())
    duration = (last - first) * UNITS[period] / UNITS[unit]
    return CalibrationHoldout(calibration, purchases, value, float(duration), stop, report)

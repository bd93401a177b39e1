"""Per-customer transaction summary (frequency, recency, T, monetary value), the input of RFM
scores and of the BG/NBD and Gamma-Gamma models, from a transaction log in one vectorised pass."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import _core
from .._checks import as_numbers, check_choice
from .._config import resolve_threads
from .._factorize import arrow_strings, factorize_ids, whole_ids
from .._times import as_moment, as_seconds, moment_text, warn_ahead

RETURNS = ("drop", "net")
UNITS = {"day": 86400.0, "week": 7 * 86400.0}
# Where each period starts, in epoch seconds: days at midnight UTC, weeks on Mondays
# (1970-01-05), as pandas' "W" periods and lifetimes' freq="W" count them. Epoch arithmetic
# alone starts weeks on Thursdays (1970-01-01), which split and merged other orders into
# transactions than lifetimes did.
PERIOD_START = {"day": 0.0, "week": 4 * 86400.0}


def periods(t, period: str) -> np.ndarray:
    """Whole ``period`` s (days, or weeks from Monday) since the epoch's first one, of epoch
    seconds ``t``."""
    return np.floor((np.asarray(t, dtype=np.float64) - PERIOD_START[period]) / UNITS[period])


@dataclass
class CustomerSummary:
    """One row per customer with at least one transaction (parallel arrays).

    A *transaction* is everything a customer bought in one ``period`` (a calendar day by
    default: several lines or orders on one day are one transaction, as in Fader, Hardie & Lee
    and the ``lifetimes`` package). Times are in ``unit`` s.

    Attributes
    ----------
    customer_ids : numpy.ndarray
    frequency : numpy.ndarray of float64
        Repeat transactions: transactions - 1.
    recency : numpy.ndarray of float64
        Age of the customer at the last transaction (last - first); 0 without repeats.
    T : numpy.ndarray of float64
        Age of the customer at ``as_of`` (as_of - first).
    since_last : numpy.ndarray of float64
        Time from the last transaction to ``as_of`` (T - recency): RFM's recency.
    monetary_value : numpy.ndarray of float64
        Mean value of the repeat transactions (0 without repeats): Gamma-Gamma's input.
    total_value : numpy.ndarray of float64
        Value of all transactions, the first included.
    transactions : numpy.ndarray of int64
    first_purchase, last_purchase : numpy.ndarray of float64
        Epoch seconds of the first and last transaction's period start.
    as_of : float
        Epoch seconds of the end of observation.
    unit : str
    report : dict
        Lines read and lines dropped, by reason (returns, after ``as_of``, missing values).
    """

    customer_ids: np.ndarray
    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    since_last: np.ndarray
    monetary_value: np.ndarray
    total_value: np.ndarray
    transactions: np.ndarray
    first_purchase: np.ndarray
    last_purchase: np.ndarray
    as_of: float
    unit: str
    report: dict = field(default_factory=dict)

    COLUMNS = (
        "customer_ids",
        "frequency",
        "recency",
        "T",
        "since_last",
        "monetary_value",
        "total_value",
        "transactions",
        "first_purchase",
        "last_purchase",
    )

    def __len__(self) -> int:
        return int(self.customer_ids.size)

    def __repr__(self) -> str:
        return f"CustomerSummary({len(self):,} customers, unit={self.unit!r}, report={self.report})"

    def to_pandas(self):
        """A DataFrame indexed by customer id (needs pandas)."""
        import pandas as pd

        frame = pd.DataFrame({c: getattr(self, c) for c in self.COLUMNS[1:]})
        frame.index = pd.Index(self.customer_ids, name="customer")
        for c in ("first_purchase", "last_purchase"):
            frame[c] = pd.to_datetime(frame[c], unit="s")
        return frame

    def select(self, rows) -> CustomerSummary:
        """The customers at ``rows`` (a boolean mask or positions), as a new summary."""
        n = len(self)
        rows = np.asarray(rows)
        if rows.dtype == bool:
            if rows.shape != (n,):
                raise ValueError(f"rows as a mask must hold one bool per customer ({n}), got shape {rows.shape}")
        elif rows.ndim != 1 or rows.dtype.kind not in "iu" and rows.size:
            raise TypeError(f"rows must be a boolean mask or 1-D positions, got {rows.dtype} of shape {rows.shape}")
        elif rows.size and not (-n <= rows.min() and rows.max() < n):
            raise ValueError(f"rows holds positions outside 0..{n - 1}")
        else:
            rows = rows.astype(np.int64)  # [] is float64 to numpy
        picked = {c: getattr(self, c)[rows] for c in self.COLUMNS}
        return CustomerSummary(**picked, as_of=self.as_of, unit=self.unit, report=dict(self.report))


def summary_columns(first, others: tuple, names: tuple) -> tuple:
    """The columns ``names`` of a :class:`CustomerSummary` given alone as ``first``, or
    ``(first, *others)`` as given: the customer models take either."""
    if isinstance(first, CustomerSummary):
        if any(v is not None for v in others):
            raise TypeError(f"give a CustomerSummary alone, or {_listed(names)}")
        return tuple(getattr(first, name) for name in names)
    missing = [name for name, v in zip(names[1:], others) if v is None]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise TypeError(f"{_listed(missing)} {verb} needed, unless {names[0]} is a CustomerSummary")
    return (first, *others)


def _listed(names) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def check_summary(value, name: str = "summary") -> CustomerSummary:
    """``value`` if it is a :class:`CustomerSummary`, else a TypeError saying how to make one."""
    if not isinstance(value, CustomerSummary):
        raise TypeError(
            f"{name} must be a CustomerSummary (from rf.customers.summary(customers, times, amounts)), "
            f"got {type(value).__name__}"
        )
    return value


def summary(
    customers,
    times,
    amounts=None,
    *,
    as_of=None,
    unit: str = "day",
    period: str = "day",
    returns: str = "drop",
    n_threads: int = 0,
) -> CustomerSummary:
    """Summarise a transaction log per customer.

    Parameters
    ----------
    customers : array-like, shape (n_lines,)
        Customer id of each line (any hashable ids; lines with a missing id, None or NaN, are
        dropped and counted).
    times : array-like, shape (n_lines,)
        Epoch seconds, datetimes or date strings. A time-zone aware column is counted in its
        zone's calendar days (a shop's days, as lifetimes counts them), not in UTC's; so is an
        aware ``as_of``.
    amounts : array-like, shape (n_lines,), optional
        Money of each line (negative for a return). None: 0 (no monetary columns).
    as_of : time, optional
        End of observation (default: the last line's time). Its whole period is observed, as
        lifetimes' ``observation_period_end`` has it: with ``period="day"``, ``as_of="2011-12-09"``
        counts the lines of 9 December, the day its ``T`` counts. Lines of later periods are
        dropped and counted.
    unit : {"day", "week"}, default "day"
        Unit of recency, T and since_last.
    period : {"day", "week"}, default "day"
        Lines of one customer in the same period (UTC calendar day, or week from Monday to
        Sunday as pandas' ``"W"`` periods and lifetimes' ``freq="W"``) form one transaction. Times with a zone or an
        offset are taken in UTC, naive ones as they are: for a shop far from UTC whose times
        carry an offset (an evening order at 20:00-05:00 is 01:00 UTC the next day), give local
        wall-clock times, e.g. ``times.dt.tz_convert("America/New_York").dt.tz_localize(None)``,
        so that one evening's orders are one transaction.
    returns : {"drop", "net"}, default "drop"
        Lines with a negative amount: "drop" leaves them out; "net" subtracts them from the
        customer's transaction of the same period, and a period whose net value is <= 0 is not a
        transaction. Either way ``report`` counts them.
    n_threads : int, default 0
        Threads of the summary kernel (0: all available CPUs). Results do not depend on it.

    Returns
    -------
    CustomerSummary

    Examples
    --------
    >>> import recforge as rf
    >>> s = rf.customers.summary(["a", "a", "a", "b"], ["2024-01-01", "2024-01-01", "2024-01-08", "2024-01-05"],
    ...                          [10.0, 5.0, 20.0, 7.0], as_of="2024-01-11")
    >>> s.customer_ids.tolist(), s.frequency.tolist(), s.recency.tolist(), s.T.tolist()
    (['a', 'b'], [1.0, 0.0], [7.0, 0.0], [10.0, 6.0])
    >>> s.monetary_value.tolist(), s.total_value.tolist()
    ([20.0, 0.0], [35.0, 7.0])
    """
    check_choice(unit, "unit", tuple(UNITS))
    check_choice(period, "period", tuple(UNITS))
    check_choice(returns, "returns", RETURNS)
    text = arrow_strings(customers)  # Arrow strings (from_csv's, Parquet's) stay so: no Python string per line
    customers = text if text is not None else np.asarray(customers)
    t = as_seconds(times, "times", wall_clock=True)
    warn_ahead(t, "times", stacklevel=3)
    n = customers.shape[0] if customers.ndim == 1 else -1
    if customers.ndim != 1 or t.shape != (n,):
        raise ValueError(f"customers and times must be 1-D of one length, got {customers.shape} and {t.shape}")
    if amounts is None:
        money = np.zeros(n)
    else:
        money = as_numbers(amounts, "amounts")
        if money.shape != (n,):
            raise ValueError(f"amounts must hold one value per line ({n}), got shape {money.shape}")
    report = {"lines": n}
    keep = np.isfinite(t)
    report["missing_time"] = int(n - keep.sum())
    codes, uniques = customer_codes(customers)
    # Customer numbers in a column with gaps are read as floats (pandas' read_csv): 12347, not
    # 12347.0, as Interactions keeps them, so the two meet and outputs say what the file says.
    uniques = whole_ids(uniques)
    no_id = keep & (codes < 0)
    report["missing_customer"] = int(no_id.sum())
    keep &= ~no_id
    bad_money = ~np.isfinite(money) & keep
    report["missing_amount"] = int(bad_money.sum())
    keep &= ~bad_money
    if not keep.any():  # say what the lines lacked, not a generic list
        lacked = {k: v for k, v in report.items() if k != "lines" and v}
        what = f" ({', '.join(f'{k} {v:,}' for k, v in lacked.items())})" if lacked else ""
        needs = "a customer, a time and an amount" if amounts is not None else "a customer and a time"
        raise ValueError(f"no line of {n:,} has {needs}{what}: nothing to summarise" if n else "no line to summarise")
    end = float(np.max(t, where=keep, initial=-np.inf)) if as_of is None else as_moment(as_of, "as_of", wall_clock=True)
    # T counts as_of's period as observed, so its lines count too: a cut at its moment (midnight
    # for a date) aged every customer a day without letting anyone buy in it
    slot = periods(t, period)
    late = keep & (slot > periods(end, period))
    report["after_as_of"] = int(late.sum())
    keep &= ~late
    if not keep.any():
        raise ValueError(f"as_of {moment_text(end)} is before every line: nothing to summarise")
    negative = keep & (money < 0)
    report["returns"] = int(negative.sum())
    if returns == "drop":
        keep &= ~negative
    if not keep.any():
        raise ValueError("every line is a return (a negative amount): nothing to summarise; returns='net' nets them")
    if not keep.all():  # most logs lose no line: no copies then
        codes, slot, money = codes[keep], slot[keep], money[keep]
    ids, code = sorted_codes(codes, uniques)
    step = UNITS[period]
    slot = slot.astype(np.int64)
    # one transaction per (customer, period), each period's lines summed in line order (C++)
    counts, first_slot, last_slot, first_value, total, netted = _core.summarise_customers(
        code, slot, np.ascontiguousarray(money), ids.size, returns == "net", resolve_threads(n_threads)
    )
    if returns == "net":
        report["periods_netted_away"] = int(netted)
    present = counts > 0
    report["customers_without_transactions"] = int((~present).sum())
    frequency = (counts - 1).astype(np.float64)
    repeat_value = total - first_value
    scale = step / UNITS[unit]
    first_time = first_slot * step + PERIOD_START[period]
    recency = (last_slot - first_slot) * scale
    T = (periods(end, period) - first_slot) * scale  # whole periods to as_of's, as lifetimes counts
    out = CustomerSummary(
        customer_ids=ids,
        frequency=frequency,
        recency=recency,
        T=T,
        since_last=T - recency,
        monetary_value=np.divide(repeat_value, frequency, out=np.zeros(ids.size), where=frequency > 0),
        total_value=total,
        transactions=counts.astype(np.int64),
        first_purchase=first_time.astype(np.float64),
        last_purchase=(last_slot * step + PERIOD_START[period]).astype(np.float64),
        as_of=end,
        unit=unit,
        report=report,
    )
    return out.select(present) if not present.all() else out


def customer_codes(customers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each line's code (-1: missing id) into the distinct ids. Whole-number ids over a range
    not much wider than the log (customer numbers) index a table directly, sorted by
    construction; any other ids are hashed (first-appearance order)."""
    if customers.dtype.kind in "iu" and customers.size:
        low, high = int(customers.min()), int(customers.max())
        if high - low <= 4 * customers.size + 1024:
            return customers.astype(np.int64) - low, np.arange(low, high + 1, dtype=customers.dtype)
    return factorize_ids(customers, "customers")


def is_sorted(values: np.ndarray) -> bool:
    try:
        return bool(np.all(values[1:] > values[:-1]))
    except TypeError:
        return False


def _argsort(values: np.ndarray) -> np.ndarray:
    """A stable argsort; text ids by Arrow's sort (UTF-8 byte order is code-point order, so the
    same order as Python's; 1M ids: 0.2 s against numpy's 1.3 s on Python strings)."""
    if values.dtype == object and values.size > 1000:
        try:
            import pyarrow as pa
            import pyarrow.compute as pc
        except ImportError:
            return np.argsort(values, kind="stable")
        try:
            return pc.array_sort_indices(pa.array(values, type=pa.string())).to_numpy()
        except (pa.ArrowException, TypeError):
            pass  # not all text (numbers among them: numpy says whether they compare)
    return np.argsort(values, kind="stable")


def sorted_codes(codes: np.ndarray, uniques: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ids among ``codes`` (first-appearance codes into ``uniques``), sorted, and
    each line's position among them. Ids that cannot be compared (a mix of numbers and strings)
    keep their first-appearance order."""
    seen = np.zeros(uniques.size, dtype=bool)
    seen[codes] = True
    kept = np.flatnonzero(seen)
    if kept.size == uniques.size and is_sorted(uniques):  # the whole-number table: nothing to do
        return uniques, codes
    try:
        kept = kept[_argsort(uniques[kept])]
    except TypeError:
        pass
    position = np.empty(uniques.size, dtype=np.int64)
    position[kept] = np.arange(kept.size)
    return uniques[kept], position[codes]

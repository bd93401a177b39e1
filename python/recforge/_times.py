"""Event times as float64 seconds since the Unix epoch (NaN where missing), whatever the input:
numbers (taken as seconds already, except dates written as the number YYYYMMDD, spreadsheet
serial dates, and epoch milliseconds, microseconds or nanoseconds, below), numpy
datetime64, pandas or Python datetimes (time-zone aware ones converted to UTC; naive ones taken as
UTC) or ISO 8601 strings (with or without an offset)."""

from __future__ import annotations

import datetime
import re
import time
import warnings

import numpy as np

from ._checks import as_numbers
from ._factorize import arrow_strings, pd, to_numpy


def _numbers_in_text(values, name: str) -> np.ndarray | None:
    """Epoch seconds written as text (a CSV column read as strings), else None."""
    text = arrow_strings(values)
    if text is not None:  # Arrow strings: Arrow's parser, 35x pandas' on them
        import pyarrow as pa
        import pyarrow.compute as pc

        try:
            return pc.cast(pa.array(text), pa.float64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass  # dates, or numbers as Python writes them that Arrow does not read: below
    if not _first_text_is_number(values):
        # dates: pandas would convert every field to a Python string before failing (1 s of a
        # 5M-line log's 7 s in recforge customers)
        return None
    try:
        if pd is not None:
            return np.asarray(pd.to_numeric(values), dtype=np.float64)
        return np.array([np.nan if v is None or v != v or v == "" else float(v) for v in to_numpy(values).tolist()])
    except (ValueError, TypeError):
        return None
    except OverflowError:  # an integer beyond float64's range (10**400): +-inf, as its text would read
        return as_numbers(to_numpy(values), name)


# Dates written as the number YYYYMMDD (CDNOW's log, many warehouse exports), as integers or
# digit text. Read as epoch seconds, every one of them falls between 9 and 31 August 1970, a
# window no real log sits in: a log whose every time is such a valid date is read as dates.
_YYYYMMDD_RANGE = (18000101.0, 22001231.0)


def _dates_from_yyyymmdd(numbers: np.ndarray) -> np.ndarray | None:
    """Epoch seconds (midnight UTC) of ``numbers`` (float64, NaN where missing) if every present
    one is a valid date written YYYYMMDD, else None."""
    present = numbers[~np.isnan(numbers)]
    low, high = _YYYYMMDD_RANGE
    if not present.size or present.min() < low or present.max() > high or np.any(present != np.floor(present)):
        return None
    whole = present.astype(np.int64)
    year, month, day = whole // 10000, whole // 100 % 100, whole % 100
    if np.any((month < 1) | (month > 12) | (day < 1)):
        return None
    first = (year - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (month - 1).astype("timedelta64[M]")
    date = first.astype("datetime64[D]") + (day - 1).astype("timedelta64[D]")
    if np.any(date.astype("datetime64[M]") != first):  # 31 April, 29 February of 2023
        return None
    seconds = np.full(numbers.shape, np.nan)
    seconds[~np.isnan(numbers)] = date.astype("datetime64[s]").astype(np.int64).astype(np.float64)
    return seconds


# Epoch seconds from 1e11 on are past the year 5000: no log holds such times, but epoch
# milliseconds (JavaScript's Date.now(), Java's currentTimeMillis, Kafka), microseconds and
# nanoseconds (an int64 datetime column) of any date since 1973 are that large. Read as seconds,
# they put every event millennia ahead: a live service's trending clock jumped there and every
# later event counted for nothing. Each unit spans its own three orders of magnitude.
_SUBSECOND_FROM = 1e11
_SUBSECOND_UNITS = ((1e14, 1e3, "milliseconds"), (1e17, 1e6, "microseconds"), (np.inf, 1e9, "nanoseconds"))


# Spreadsheet serial dates (Excel, LibreOffice, Google Sheets: days since 1899-12-30, the time
# of day as the fraction) of 1954-10-03 to 2119-01-10. Read as epoch seconds, every one falls
# between 05:33 and 22:13 on 1 January 1970: a year of purchases became one day, and every
# customer one transaction. A column whose every time is in that window is read as such dates.
_SERIAL_RANGE = (20000.0, 80000.0)
_SERIAL_EPOCH = 25569.0  # the serial of 1970-01-01
AHEAD = 86400.0  # seconds an event's time may lie after this machine's clock: clocks differ, local times pass as UTC


def ahead_of_clock(seconds: np.ndarray, now: float | None = None) -> np.ndarray:
    """Which times lie more than :data:`AHEAD` after ``now`` (default: this machine's clock):
    the one rule for events from the future, said where logs are read and refused by the
    service. A missing time (NaN) is not ahead."""
    with np.errstate(invalid="ignore"):
        return np.asarray(seconds) > (time.time() if now is None else now) + AHEAD


def warn_ahead(seconds: np.ndarray, name: str, stacklevel: int = 4) -> None:
    """Warn where events are dated more than :data:`AHEAD` after this machine's clock. An event
    log records the past, and trending, recency and temporal splits measure from its latest
    time: one line dated 9999-12-31 (a warehouse's "no date") among Online Retail's made the
    time-decayed popular list one product long, every other product decayed to 0."""
    ahead = ahead_of_clock(seconds)
    if ahead.any():
        n = int(ahead.sum())
        warnings.warn(
            f"{name}: {n:,} {'row is' if n == 1 else 'rows are'} dated after today (the latest "
            f"{moment_text(float(seconds[ahead].max()))}): trending, recency and temporal splits measure from the "
            "latest time, so such a row makes every other event look old; fix or drop it",
            UserWarning,
            stacklevel=stacklevel,
        )


def _dates_from_serials(numbers: np.ndarray, name: str) -> np.ndarray | None:
    """Epoch seconds of ``numbers`` if every present one is a spreadsheet serial date of
    :data:`_SERIAL_RANGE` (said in a warning), else None."""
    present = numbers[~np.isnan(numbers)]
    low, high = _SERIAL_RANGE
    if not present.size or present.min() < low or present.max() > high:
        return None
    warnings.warn(
        f"{name}: numbers such as {present.max():g} would all fall on 1 January 1970 as epoch seconds; "
        "read as spreadsheet serial dates (days since 1899-12-30, as Excel writes them). Export the "
        "dates as text (YYYY-MM-DD) to be sure",
        UserWarning,
        stacklevel=4,
    )
    return (numbers - _SERIAL_EPOCH) * 86400.0


def _seconds_or_dates(numbers: np.ndarray, name: str = "times", column: bool = True) -> np.ndarray:
    dates = _dates_from_yyyymmdd(numbers)
    if dates is None and column:  # a lone moment in that window is more likely a small epoch time
        dates = _dates_from_serials(numbers, name)
    return _in_seconds(numbers, name) if dates is None else dates


def _in_seconds(numbers: np.ndarray, name: str) -> np.ndarray:
    """``numbers`` as epoch seconds: unchanged, or divided down when every present one is epoch
    milliseconds, microseconds or nanoseconds (said in a warning); ValueError for a mix."""
    size = np.abs(numbers[np.isfinite(numbers)])
    large = size >= _SUBSECOND_FROM
    if not large.any():
        return numbers
    bands = np.searchsorted([limit for limit, _, _ in _SUBSECOND_UNITS], size[large], side="right")
    if not large.all() or bands.min() != bands.max():
        most = float(size[large].max())
        raise ValueError(
            f"{name} mixes epoch seconds with larger numbers (such as {most:.0f}, {moment_text(most)} in seconds, "
            'past the year 5000): milliseconds, or a far-future date standing for "no date"? Give every time in '
            "one unit, seconds, and leave a missing one empty"
        )
    _, per_second, unit = _SUBSECOND_UNITS[int(bands[0])]
    warnings.warn(
        f"{name}: numbers such as {size.max():.0f} are past the year 5000 as epoch seconds; read as {unit} "
        "since the epoch",
        UserWarning,
        stacklevel=4,
    )
    return numbers / per_second


def _parsed(values, name: str) -> np.ndarray:
    """Strings or datetime objects as naive UTC datetime64."""
    if pd is None:
        array = to_numpy(values)
        try:
            if array.dtype == object:
                return np.array([None if v is None or v != v else v for v in array.tolist()], dtype="datetime64[ns]")
            return array.astype("datetime64[ns]")
        except (ValueError, TypeError) as e:
            raise ValueError(f"{name} holds values that are not times: {e}") from None
    values = values if isinstance(values, (pd.Series, pd.Index)) else to_numpy(values)
    try:
        # utc=True: aware values (offsets in the text, tz-aware objects, mixed zones) convert
        # to UTC and naive ones are taken as UTC, instead of numpy's silent dropping of zones.
        with warnings.catch_warnings():  # "could not infer format": each value then parses alone
            warnings.simplefilter("ignore", UserWarning)
            parsed = pd.to_datetime(values, utc=True)
        if _warn_if_both_orders_read(values, name):  # dotted dates: day first
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                parsed = pd.to_datetime(values, utc=True, dayfirst=True)
    except (ValueError, TypeError) as first:
        # pandas infers one format from the first value: ISO 8601 text may vary in precision, and
        # a day-first log whose first date reads both ways ("01/02/2024") was taken month-first.
        # Either order is accepted when it reads every value, so the rows' order does not matter.
        # Day first is no reading of year-first dates: dateutil would read 2020-01-02 as 1 February
        # once another value (2020-13-01) fails month first.
        readings = ({"format": "ISO8601"},) if _year_first(values) else ({"format": "ISO8601"}, {"dayfirst": True})
        for other in readings:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    parsed = pd.to_datetime(values, utc=True, **other)
                break
            except (ValueError, TypeError):
                continue
        else:
            reason = (str(first).splitlines() or [type(first).__name__])[0].split(". You might")[0]
            raise ValueError(
                f"{name} holds values that are not times: {reason} "
                "(dates must be ISO 8601, or day and month in one order throughout)"
            ) from None
    return _naive_utc(parsed)


_DAY_MONTH = re.compile(r"\s*\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")
# 01.02.2011 is written day first wherever dates are written with dots (Germany, Russia,
# Scandinavia...); nowhere month first
_DOTTED = re.compile(r"\s*\d{1,2}\.\d{1,2}\.\d{2,4}")


def _warn_if_both_orders_read(values, name: str) -> bool:
    """Warn where every date of a day/month column reads both month first and day first to
    other dates: a European log of the first twelve days of a month (01/12 .. 12/12) is read as
    twelve months, and nothing else could tell. Slashes and dashes are read month first (as
    pandas does); dots day first, as they are written: True then, for the caller to reread."""
    array = to_numpy(values)
    first = _first_text(array)
    if first is None or not _DAY_MONTH.match(first):  # ISO text, the common case: nothing to ask
        return False
    spread = [v for v in array[:: max(1, array.size // 1000)].tolist() if isinstance(v, str)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:  # a thousand dates spread over the column first: a day past 12 among them settles it
            pd.to_datetime(spread, utc=True, dayfirst=True)
            text = [v for v in pd.unique(pd.Series(array, dtype=object).dropna()).tolist() if isinstance(v, str)]
            if not all(_DAY_MONTH.match(v) for v in text):
                return
            day_first = pd.to_datetime(text, utc=True, dayfirst=True)
        except (ValueError, TypeError):
            return False  # only one order reads every date
        month_first = pd.to_datetime(text, utc=True)
    differ = np.flatnonzero(np.asarray(month_first != day_first))
    dotted = _DOTTED.match(first) is not None
    if differ.size:
        example = text[int(differ[0])]
        taken = "day first, as dates written with dots are" if dotted else "month first"
        warnings.warn(
            f"{name}: every date reads both month first and day first ({example!r}: "
            f"{month_first[differ[0]]:%Y-%m-%d} or {day_first[differ[0]]:%Y-%m-%d}); read {taken}. "
            "Write the dates as ISO 8601 (YYYY-MM-DD) to be sure",
            UserWarning,
            stacklevel=4,
        )
    return dotted and differ.size > 0


_YEAR_FIRST = re.compile(r"\s*\d{4}[-/.]")


def _year_first(values) -> bool:
    """Whether the first text value present starts with a four-digit year (2020-01-02,
    2020/01/02)."""
    first = _first_text(to_numpy(values))
    return first is not None and _YEAR_FIRST.match(first) is not None


def _first_text_is_number(values) -> bool:
    """Whether the first text value present (among the first thousand) reads as a number, or
    there is none: a column whose first date fails can only be numbers if that one is."""
    head = values[:1000] if hasattr(values, "__getitem__") and not isinstance(values, dict) else values
    first = _first_text(to_numpy(head))
    if first is None:
        return True
    try:
        float(first)
    except ValueError:
        return False
    return True


def _first_text(array: np.ndarray) -> str | None:
    """The first non-blank text among the first thousand values: the column's format."""
    return next((v for v in array[:1000].tolist() if isinstance(v, str) and v.strip()), None)


def _naive_utc(values) -> np.ndarray:
    """A tz-aware pandas Series / Index / DatetimeArray as naive UTC datetime64."""
    if isinstance(values, pd.Series):
        return values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    return pd.DatetimeIndex(values).tz_convert("UTC").tz_localize(None).to_numpy()


def _zone_of(values):
    """The time zone of a time-zone aware pandas column (its own dtype or Arrow's), else None."""
    dtype = getattr(values, "dtype", None)
    if isinstance(dtype, pd.DatetimeTZDtype):
        return dtype.tz
    if isinstance(dtype, pd.ArrowDtype) and getattr(dtype.pyarrow_dtype, "tz", None):
        return dtype.pyarrow_dtype.tz
    return None


def _missing(value) -> bool:
    """None, NaN, NaT or pandas' NA (whose comparisons have no truth value)."""
    try:
        return value is None or not bool(value == value)
    except TypeError:
        return True


def _wall_clock_objects(array: np.ndarray) -> np.ndarray:
    """An object array's aware datetimes without their zones (the times their clocks showed);
    the array itself where it holds none."""
    # the first present value says (missing ones aside): a column of text is not scanned
    first = next((v for v in array.flat if not _missing(v)), None)
    if not isinstance(first, datetime.datetime) or first.tzinfo is None:
        return array
    return np.array(
        [v.replace(tzinfo=None) if isinstance(v, datetime.datetime) else v for v in array.tolist()], dtype=object
    )


def as_seconds(values, name: str, *, wall_clock: bool = False) -> np.ndarray:
    """``values`` as float64 epoch seconds, NaN where missing; ValueError (naming ``name``) for
    values that are not times, TypeError for a dtype that cannot hold them. Numbers are epoch
    seconds, unless every present one is a valid date written YYYYMMDD (19970101, as a number
    or as text): then they are those dates, at midnight UTC.

    A time-zone aware column is taken in UTC, or with ``wall_clock`` as the times its zone's
    clocks showed (as seconds of a naive time): the customer's calendar days, which the
    customer-base models count, as lifetimes counts them (a Sydney shop's purchases at 9:00 and
    23:00 of one day were two days in UTC)."""
    zone = _zone_of(values) if pd is not None else None
    # aware datetime objects (a list, an object column): each as its own clock showed it; a
    # column of text (Arrow's, or pandas' own) is never copied into Python objects for this
    if wall_clock and zone is None and getattr(values, "dtype", np.dtype(object)) == np.dtype(object):
        values = _wall_clock_objects(to_numpy(values))
    if zone is not None:
        # Before the text path: pandas reads an aware column as numbers in its own unit.
        series = pd.Series(values, copy=False)
        if not isinstance(series.dtype, pd.DatetimeTZDtype):  # Arrow's timestamps with a zone
            series = series.astype(pd.DatetimeTZDtype(unit="ns", tz=zone))
        array = series.dt.tz_localize(None).to_numpy() if wall_clock else _naive_utc(series)
    elif pd is not None and pd.api.types.is_string_dtype(getattr(values, "dtype", None)):
        # before any numpy copy: an object array of Arrow strings is a Python string per field
        numbers = _numbers_in_text(values, name)
        if numbers is not None:
            return _seconds_or_dates(numbers, name)
        array = _parsed(values, name)
    else:
        array = to_numpy(values)
        if array.dtype.kind in "OUS":
            numbers = _numbers_in_text(values, name)
            if numbers is not None:
                return _seconds_or_dates(numbers, name)
            array = _parsed(values, name)
    if array.dtype.kind in "iuf":
        return _seconds_or_dates(array.astype(np.float64), name)
    if array.dtype.kind != "M":
        raise TypeError(
            f"{name} must hold numbers (epoch seconds), datetimes or ISO 8601 strings, got dtype {array.dtype}"
        )
    seconds = (array - np.datetime64(0, "s")) / np.timedelta64(1, "s")
    return np.where(np.isnat(array), np.nan, seconds).astype(np.float64)


def as_moment(value, name: str, *, wall_clock: bool = False) -> float:
    """One time (``now``, ``cutoff``...) as epoch seconds: a number as it is, a datetime, numpy
    datetime64 or ISO 8601 text read as :func:`as_seconds` reads a column (``wall_clock``: an
    aware datetime as its zone's clocks showed it)."""
    if wall_clock and isinstance(value, datetime.datetime) and value.tzinfo is not None:
        value = value.replace(tzinfo=None)  # pandas' Timestamp is a datetime too
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        seconds = float(_seconds_or_dates(np.array([value], dtype=np.float64), name, column=False)[0])
    else:
        seconds = float(as_seconds(np.array([value], dtype=object), name)[0])
    if not np.isfinite(seconds):
        raise ValueError(f"{name} must be a time, got {value!r}")
    return seconds


def moment_text(seconds: float) -> str:
    """Epoch seconds as an ISO 8601 date-time (UTC) for messages: "2011-12-09T12:49:00", or
    the number itself where it is no date numpy can write (NaN, far outside its range)."""
    try:
        return str(np.datetime64(int(seconds), "s"))
    except (ValueError, OverflowError):
        return f"{seconds:g}"

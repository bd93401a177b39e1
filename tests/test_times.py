"""Event times in every form a user holds them become the same epoch seconds: time-zone aware
columns are converted to UTC (not read as pandas' internal integers), offsets in text count,
naive times are UTC, and text that is not a time is refused by name. The customer models count
an aware column's days in its own zone (as lifetimes does)."""

import datetime as dt
import time
import warnings

import numpy as np
import pytest
import recforge as rf
from recforge._times import as_seconds

pd = pytest.importorskip("pandas")

NAIVE_UTC = pd.Series(
    pd.to_datetime(["2024-01-01 00:30", "2024-01-03 12:00", "2024-02-10 23:30", "2024-03-01"], format="ISO8601")
)
CUSTOMERS = ["a", "a", "b", "a"]
AMOUNTS = [10.0, 5.0, 7.0, 3.0]


def _summary(times, **kwargs):
    return rf.customers.summary(CUSTOMERS, times, AMOUNTS, **kwargs)


def _same(s, t):
    np.testing.assert_array_equal(s.customer_ids, t.customer_ids)
    for name in ("frequency", "recency", "T", "monetary_value"):
        np.testing.assert_array_equal(getattr(s, name), getattr(t, name), err_msg=name)


@pytest.mark.parametrize("zone", ["UTC", "Europe/London", "America/New_York", "Asia/Kolkata"])
@pytest.mark.parametrize("form", ["series", "index", "array", "objects"])
def test_aware_times_are_converted_to_utc(zone, form):
    local = NAIVE_UTC.dt.tz_localize("UTC").dt.tz_convert(zone)
    times = {
        "series": local,
        "index": pd.DatetimeIndex(local),
        "array": local.array,
        "objects": np.array(local.tolist(), dtype=object),
    }[form]
    np.testing.assert_array_equal(as_seconds(times, "times"), as_seconds(NAIVE_UTC, "times"))
    # the customer models count the zone's own days: the times its clocks showed
    np.testing.assert_array_equal(
        as_seconds(times, "times", wall_clock=True), as_seconds(local.dt.tz_localize(None), "times")
    )
    _same(_summary(times), _summary(local.dt.tz_localize(None)))
    # T is in days: a reading as nanoseconds or microseconds would give ~1e8 days
    assert _summary(times).T.max() < 100


def test_offsets_in_text_and_mixed_zones():
    text = ["2024-01-01T05:30:00+05:00", "2024-01-03T07:00:00-05:00", "2024-02-10 23:30", "2024-03-01"]
    _same(_summary(text), _summary(NAIVE_UTC))
    objects = [
        dt.datetime(2024, 1, 1, 0, 30),
        dt.datetime(2024, 1, 3, 13, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        pd.Timestamp("2024-02-10 23:30"),
        pd.Timestamp("2024-03-01", tz="UTC"),
    ]
    _same(_summary(objects), _summary(NAIVE_UTC))


def test_iso_text_of_varying_precision():
    # pandas infers one format from the first value; a column mixing dates and date-times is
    # still ISO 8601
    text = ["2024-01-01 00:30", "2024-01-03 12:00:00", "2024-02-10T23:30", "2024-03-01"]
    _same(_summary(text), _summary(NAIVE_UTC))


@pytest.mark.parametrize("order", [[0, 1, 2, 3], [1, 0, 2, 3], [3, 2, 1, 0]])
def test_day_first_dates_read_alike_whatever_the_rows_order(order):
    # pandas infers the order from the first value: "01/02/2024" first was read month-first and
    # the log refused at "13/02/2024"; a log that reads one way throughout is read that way
    text = np.array(["01/02/2024", "13/02/2024", "25/03/2024", "05/04/2024"], dtype=object)[order]
    s = rf.customers.summary(np.array(list("abcd"))[order], text)
    days = dict(zip(s.customer_ids, s.T))  # each customer's one line: days before the last one
    assert [days[c] for c in "abcd"] == [64.0, 52.0, 11.0, 0.0]
    with pytest.raises(ValueError, match="one order throughout"):  # both orders in one column
        _summary(["01/02/2024", "13/02/2024", "02/13/2024", "03/01/2024"])


def test_year_first_dates_are_never_read_day_first():
    """With one impossible month among them (2024-13-01), pandas' day-first retry read every
    ISO date as year-day-month: 2024-01-02 became 1 February."""
    with pytest.raises(ValueError, match="2024-13-01"):
        as_seconds(np.array(["2024-01-02", "2024-13-01", "2024-01-05"], dtype=object), "time")
    slashes = as_seconds(np.array(["2024/01/02", "2024/12/31"], dtype=object), "time")
    assert pd.to_datetime(slashes, unit="s").strftime("%Y-%m-%d").tolist() == ["2024-01-02", "2024-12-31"]


def test_dotted_dates_that_read_both_ways_are_read_day_first():
    """01.02.2011 is written day first wherever dates are written with dots (Germany, Russia,
    Scandinavia), nowhere month first: a German shop's log of the first twelve days of its months
    was read as January 2nd and so on, with a warning but against every reader's sense."""
    dotted = ["01.02.2011 10:00", "03.04.2011 11:00", "12.05.2011 09:30"]
    with pytest.warns(UserWarning, match=r"'01.02.2011 10:00': 2011-01-02 or 2011-02-01\); read day first"):
        inter = rf.Interactions.from_arrays(["a", "b", "c"], ["x", "y", "z"], times=dotted)
    got = pd.to_datetime(np.sort(inter.times.data), unit="s").strftime("%Y-%m-%d %H:%M").tolist()
    assert got == ["2011-02-01 10:00", "2011-04-03 11:00", "2011-05-12 09:30"]
    # a day past 12 settles it without a word, in either order of the rows
    for times in (dotted + ["13.05.2011 08:00"], ["13.05.2011 08:00"] + dotted):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            seconds = as_seconds(np.array(times, dtype=object), "time")
        assert sorted(pd.to_datetime(seconds, unit="s").strftime("%Y-%m-%d"))[0] == "2011-02-01"


def test_a_column_every_date_of_which_reads_both_ways_is_warned_of():
    """A European log of 1-12 December (01/12/2024 .. 12/12/2024) reads month first as twelve
    months, and nothing in it says otherwise: read as before, with a warning naming both
    readings. A day past 12 anywhere settles the order without one."""
    import warnings

    december = [f"{d:02d}/12/2024 10:00" for d in range(1, 13)]
    with pytest.warns(UserWarning, match=r"'01/12/2024 10:00': 2024-01-12 or 2024-12-01"):
        inter = rf.Interactions.from_arrays(["a"] * 12, [f"p{i}" for i in range(12)], times=december)
    assert inter.times.data.max() - inter.times.data.min() > 300 * 86400  # read month first, as before
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rf.Interactions.from_arrays(["a"] * 13, [f"p{i}" for i in range(13)], times=[*december, "13/12/2024 10:00"])
        rf.Interactions.from_arrays(["a"] * 2, ["p", "q"], times=["2024-01-02", "2024-02-01"])


def test_aware_as_of_and_cutoff():
    aware_end = pd.Timestamp("2024-03-10 23:00", tz="America/New_York")  # 04:00 UTC on the 11th
    s = _summary(NAIVE_UTC, as_of=aware_end)
    t = _summary(NAIVE_UTC, as_of="2024-03-10")  # the summary counts New York's 10 March
    _same(s, t)
    X = rf.Interactions.from_pandas(
        pd.DataFrame({"user": CUSTOMERS, "item": ["x", "y", "x", "z"], "time": NAIVE_UTC.dt.tz_localize("Asia/Tokyo")}),
        time_col="time",
    )
    train, test = rf.split.temporal_split(X, cutoff=pd.Timestamp("2024-02-10 10:00", tz="Asia/Tokyo"))
    # 2024-02-10 23:30 Tokyo is after the cut; the two January events are before it
    assert train.nnz == 2 and test.nnz == 2


def test_text_that_is_not_a_time_is_named():
    with pytest.raises(ValueError, match=r"^times holds values that are not times: [^\n]*$"):
        _summary(["2024-01-01", "soon", "2024-01-02", "2024-01-03"])


def test_popularity_now_may_be_a_date():
    """``now`` took only numbers ("now must be a real number" for a date), unlike every other
    time argument."""
    rng = np.random.default_rng(0)
    events = pd.DataFrame(
        {
            "user": rng.integers(0, 30, 400),
            "item": rng.integers(0, 20, 400),
            "time": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 90, 400), unit="D"),
        }
    )
    inter = rf.Interactions.from_pandas(events, time_col="time")
    seconds = rf.Popularity(half_life=7 * 86400).fit(inter, now=pd.Timestamp("2024-04-01").timestamp())
    for now in ("2024-04-01", pd.Timestamp("2024-04-01 02:00", tz="Europe/Paris"), np.datetime64("2024-04-01")):
        dated = rf.Popularity(half_life=7 * 86400).fit(inter, now=now)
        np.testing.assert_allclose(dated.popularity_, seconds.popularity_, rtol=1e-12)
    with pytest.raises(ValueError, match="now holds values that are not times"):
        rf.Popularity(half_life=7 * 86400).fit(inter, now="soon")


def test_dates_written_yyyymmdd_are_dates():
    """CDNOW's log writes dates as 19970101: read as epoch seconds they all fell in August 1970,
    a few seconds apart, so every customer's purchases were one day's and `recforge clv` said
    "Gamma-Gamma needs customers with repeat purchases: 0 found"."""
    written = ["19970101", "19970112", "19980630", "20000229"]
    want = pd.to_datetime(written, format="%Y%m%d").as_unit("s").astype(np.int64).to_numpy().astype(float)
    for form in (
        written,
        [int(w) for w in written],
        np.array(written, dtype=float),
        pd.Series(written, dtype="string"),
    ):
        s = rf.customers.summary(["a", "a", "b", "a"], form, AMOUNTS, as_of=20000301)
        t = rf.customers.summary(["a", "a", "b", "a"], want, AMOUNTS, as_of=pd.Timestamp("2000-03-01"))
        _same(s, t)
    frame = pd.DataFrame({"user": CUSTOMERS, "item": ["x", "y", "z", "w"], "time": written})
    inter = rf.Interactions.from_pandas(frame, time_col="time")
    np.testing.assert_array_equal(np.sort(inter.times.data), np.sort(want))
    # with a gap; and the cutoff written the same way
    gappy = pd.Series([19970101.0, np.nan, 19970201.0, 19970301.0])
    train, _ = rf.split.temporal_split(
        rf.Interactions.from_pandas(frame.assign(time=gappy), time_col="time"),
        cutoff="19970215",
    )
    assert train.nnz == 2


@pytest.mark.parametrize(
    "numbers",
    [
        [19970101, 19970231],  # 31 February is no date: seconds, as before
        [19970101, 19971301],  # month 13
        [19970100, 19970101],  # day 0
        [19970101, 1.5e9],  # one present value outside the dates' range
        [19970101.5, 19970102],  # not whole
        [0, 86400, 172800],
        [19999, 30000, 70000],  # one below the spreadsheet serials' window
    ],
)
def test_numbers_that_are_not_all_yyyymmdd_dates_stay_seconds(numbers):
    s = rf.customers.summary(["a"] * len(numbers), numbers, [1.0] * len(numbers))
    assert s.T[0] == pytest.approx((max(numbers) - min(numbers)) / 86400, abs=1)


def test_spreadsheet_serial_dates_are_dates():
    """A spreadsheet export writes dates as serial numbers (44197.5: 2021-01-01 12:00). Read as
    epoch seconds a year of them fell within 1 January 1970: every customer had one transaction
    and `recforge customers` called all of them Lost."""
    when = pd.to_datetime(["2021-01-01 12:00", "2021-03-15 00:00", "2021-12-31 18:00", "2021-06-01 06:00"])
    want = when.as_unit("s").astype(np.int64).to_numpy().astype(float)
    serials = (want / 86400 + 25569).round(6)
    for form in (serials, [f"{v:.6f}" for v in serials], np.floor(serials).astype(np.int64)):
        with pytest.warns(UserWarning, match="read as spreadsheet serial dates"):
            s = rf.customers.summary(CUSTOMERS, form, AMOUNTS)
        days = np.floor(want / 86400) * 86400  # whole serials are those days' midnights
        expect = want if isinstance(form, list) or form.dtype.kind == "f" else days
        _same(s, rf.customers.summary(CUSTOMERS, expect, AMOUNTS))
    with pytest.warns(UserWarning, match="serial dates"):
        inter = rf.Interactions.from_arrays(CUSTOMERS, ["x", "y", "z", "w"], times=serials)
    np.testing.assert_allclose(np.sort(inter.times.data), np.sort(want), atol=0.1)
    # a lone moment stays seconds (a small epoch time, as tests and simulations write them)
    assert rf.customers.summary(["a", "a"], [0.0, 30000.0], [1.0, 1.0], as_of=40000).T[0] == 0


@pytest.mark.parametrize("unit, per_second", [("milliseconds", 1e3), ("microseconds", 1e6), ("nanoseconds", 1e9)])
def test_epoch_milliseconds_micro_and_nanoseconds_are_read_as_such(unit, per_second):
    """JavaScript's Date.now(), Java's currentTimeMillis and Kafka write epoch milliseconds; an
    int64 datetime column holds nanoseconds. Read as seconds they were millennia ahead: decays
    measured from them erased everything else (a live service's trending counters counted every
    later event for nothing) and a 30-day half-life lasted 43 minutes."""
    seconds = NAIVE_UTC.astype("datetime64[s]").astype(np.int64).to_numpy().astype(float)
    scaled = seconds * per_second
    for form in (scaled, scaled.astype(np.int64), [f"{v:.0f}" for v in scaled]):
        with pytest.warns(UserWarning, match=f"read as {unit} since the epoch"):
            s = _summary(form)
        _same(s, _summary(seconds))
    with pytest.warns(UserWarning, match=unit):
        inter = rf.Interactions.from_arrays(CUSTOMERS, ["x", "y", "z", "w"], times=scaled)
    np.testing.assert_allclose(np.sort(inter.times.data), np.sort(seconds))


def test_epoch_seconds_beside_milliseconds_are_refused():
    with pytest.raises(ValueError, match="mixes epoch seconds with larger numbers"):
        _summary([1.7e9, 1.7e9, 1.7e12, 1.7e9])
    with pytest.raises(ValueError, match="mixes"):  # milliseconds beside microseconds
        _summary([1.7e12, 1.7e12, 1.7e15, 1.7e12])
    with warnings.catch_warnings():  # below 1e11 (the year 5138): seconds, as always
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=".*dated after today")  # the year 5107 is, though
        s = _summary([1.7e9, 1.7e9 + 86400, 9.9e10, 1.7e9], as_of=9.9e10)
    assert s.T[list(s.customer_ids).index("b")] == 0.0 and s.recency[0] == pytest.approx(1.0)


def test_a_time_after_today_is_said():
    """One line dated 9999-12-31 (a warehouse's "no date") among Online Retail's made the
    time-decayed popular list one product long: every other event decayed from it to nothing.
    Such a date is said where events are read; a "no date" past the year 5000 beside real dates
    is named as one where the mixed units are refused."""
    tomorrow = str(np.datetime64(int(time.time()), "s") + np.timedelta64(20, "h"))
    times = ["2011-11-01", "2011-11-02", "2099-12-31", "2100-01-01"]
    for build in (
        lambda t: rf.Interactions.from_arrays(CUSTOMERS, ["x", "y", "z", "w"], times=t),
        lambda t: rf.customers.summary(CUSTOMERS, t),
    ):
        with pytest.warns(UserWarning, match=r"2 rows are dated after today \(the latest 2100-01-01T00:00:00\)"):
            build(times)
        with warnings.catch_warnings():  # a clock a few hours behind the data's is no mistake
            warnings.simplefilter("error")
            build(times[:2] + [tomorrow, tomorrow])
    with pytest.raises(ValueError, match=r'253402214400, 9999-12-31T00:00:00 in seconds.*"no date"'):
        _summary([1.7e9, 1.7e9, 253402214400.0, 1.7e9])

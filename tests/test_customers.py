"""Customer summaries, BG/NBD and Gamma-Gamma against plain-Python references, finite
differences, simulations of the models, and the published CDNOW figures."""

from __future__ import annotations

import datetime
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import recforge as rf
from recforge import _core
from recforge.customers import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter, lifetime_value, summary
from recforge.customers import bgnbd as bgnbd_module
from recforge.customers import gamma_gamma as gg_module
from scipy import special

CDNOW = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "cdnow"
DAY = 86400.0


def period_start(t, period) -> int:
    """The ordinal of the UTC date that starts ``t``'s period: its day, or the Monday of its
    week (datetime's calendar, as pandas' "W" periods and lifetimes' freq="W")."""
    day = datetime.datetime.fromtimestamp(t, datetime.timezone.utc).date()
    return (day - datetime.timedelta(days=day.weekday() if period == "week" else 0)).toordinal()


def reference_summary(customers, times, amounts, as_of, unit, period, returns):
    """Customer by customer in plain Python; periods from the calendar, in days. The whole of
    as_of's period is observed, as lifetimes' observation_period_end."""
    step, scale = 1, {"day": 1, "week": 7}[unit]
    per = {}
    for c, t, a in zip(customers, times, amounts):
        if period_start(t, period) > period_start(as_of, period) or (returns == "drop" and a < 0):
            continue
        per.setdefault(c, {}).setdefault(period_start(t, period), 0.0)
        per[c][period_start(t, period)] += a
    out = {}
    for c, slots in per.items():
        kept = sorted(s for s, v in slots.items() if returns == "drop" or v > 0)
        if not kept:
            continue
        values = [slots[s] for s in kept]
        x = len(kept) - 1
        out[c] = dict(
            frequency=x,
            recency=(kept[-1] - kept[0]) * step / scale,
            T=(period_start(as_of, period) - kept[0]) * step / scale,
            monetary_value=sum(values[1:]) / x if x else 0.0,
            total_value=sum(values),
        )
    return out


@pytest.mark.parametrize("unit, period", [("day", "day"), ("week", "day"), ("week", "week")])
@pytest.mark.parametrize("returns", ["drop", "net"])
def test_summary_matches_plain_python(unit, period, returns):
    rng = np.random.default_rng(len(unit) + len(period) + len(returns))
    n = 400
    customers = rng.choice([f"c{i}" for i in range(40)], n)
    times = 1.6e9 + rng.uniform(0, 200 * DAY, n)
    amounts = np.round(rng.normal(20, 15, n), 2)  # some negative: returns
    as_of = 1.6e9 + 180 * DAY
    s = summary(customers, times, amounts, as_of=as_of, unit=unit, period=period, returns=returns)
    want = reference_summary(customers, times, amounts, as_of, unit, period, returns)
    assert s.customer_ids.tolist() == sorted(want)
    for name in ("frequency", "recency", "T", "monetary_value", "total_value"):
        np.testing.assert_allclose(getattr(s, name), [want[c][name] for c in s.customer_ids], atol=1e-9)
    np.testing.assert_allclose(s.since_last, s.T - s.recency)
    seen = np.array([period_start(t, period) <= period_start(as_of, period) for t in times])
    assert ((times > as_of) & seen).any()  # as_of falls inside a period with lines after it
    assert s.report["after_as_of"] == int((~seen).sum())
    assert s.report["returns"] == int(((amounts < 0) & seen).sum())


def test_summary_example_and_the_lines_it_drops():
    s = summary(
        ["a", "a", "a", "b", "b", "c"],
        ["2024-01-01", "2024-01-01", "2024-01-08", "2024-01-05", None, "2024-02-01"],
        [10.0, 5.0, 20.0, 7.0, 1.0, 3.0],
        as_of="2024-01-11",
    )
    assert s.customer_ids.tolist() == ["a", "b"]
    assert s.frequency.tolist() == [1.0, 0.0] and s.T.tolist() == [10.0, 6.0]
    assert s.report["missing_time"] == 1 and s.report["after_as_of"] == 1
    frame = s.to_pandas()
    assert list(frame.index) == ["a", "b"] and frame.loc["a", "total_value"] == 35.0


@pytest.mark.parametrize("ids", ["narrow ints", "wide ints", "strings"])
def test_summary_same_for_every_kind_of_id_and_thread_count(ids):
    rng = np.random.default_rng(3)
    n = 5000
    number = rng.integers(0, 300, n)
    customers = {"narrow ints": number + 1000, "wide ints": number * 10**12, "strings": number.astype(str)}[ids]
    times = 1.6e9 + rng.uniform(0, 400 * DAY, n)
    amounts = rng.normal(20, 15, n)
    plain = summary(number, times, amounts, returns="net", n_threads=1)
    for threads in (1, 3):
        s = summary(customers, times, amounts, returns="net", n_threads=threads)
        order = np.argsort(s.customer_ids if ids != "strings" else s.customer_ids.astype(int), kind="stable")
        for name in ("frequency", "recency", "T", "monetary_value", "total_value", "first_purchase"):
            np.testing.assert_array_equal(getattr(s, name)[order], getattr(plain, name), err_msg=name)
        assert s.report == plain.report


def test_summary_of_arrow_strings_equals_the_summary_of_python_strings():
    """Customer ids as Arrow strings (a CSV read by Arrow, a Parquet column) are summarised
    without a Python string per line, and their distinct ids sorted by Arrow: the same table as
    from Python strings, non-ASCII ids and missing ones included; ids that are not all text keep
    numpy's order."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    import importlib

    summary_module = importlib.import_module("recforge.customers.summary")

    rng = np.random.default_rng(4)
    n = 20_000
    names = np.array([f"{p}{k}" for p, k in zip(rng.choice(["a", "Z", "é", "日", "b"], 3000), range(3000))])
    customers = names[rng.integers(0, names.size, n)].astype(object)
    customers[rng.random(n) < 0.01] = None
    times = (1.6e9 + rng.uniform(0, 400 * DAY, n)).astype(int).astype(str)
    amounts = rng.normal(20, 15, n)
    plain = summary(customers, times.astype(object), amounts)
    import pyarrow as pa

    def as_arrow(values):
        return pd.arrays.ArrowExtensionArray(pa.array(list(values), pa.string()))

    arrow = summary(as_arrow(customers), as_arrow(times), amounts)
    assert arrow.customer_ids.tolist() == plain.customer_ids.tolist() == sorted(plain.customer_ids.tolist())
    for name in ("frequency", "recency", "T", "monetary_value", "total_value", "first_purchase"):
        np.testing.assert_array_equal(getattr(arrow, name), getattr(plain, name), err_msg=name)
    assert arrow.report == plain.report and plain.report["missing_customer"] > 0
    mixed = np.array([*range(600), *map(str, range(600))], dtype=object)
    np.testing.assert_array_equal(summary_module._argsort(mixed[600:]), np.argsort(mixed[600:], kind="stable"))
    with pytest.raises(TypeError):
        summary_module._argsort(mixed)  # numbers and text do not compare: the caller keeps first-appearance order


def test_summary_kernel_refuses_codes_out_of_range():
    one = np.zeros(3, dtype=np.int64)
    with pytest.raises(ValueError, match="out of range"):
        _core.summarise_customers(np.array([0, 2, 1]), one, np.ones(3), 2, False, 1)
    with pytest.raises(TypeError, match="int64"):
        _core.summarise_customers(np.zeros(3, dtype=np.int32), one, np.ones(3), 2, False, 1)
    counts, *_ = _core.summarise_customers(one[:0], one[:0], np.ones(0), 2, False, 1)
    assert counts.tolist() == [0, 0]


def test_summary_counts_lines_without_a_customer():
    s = summary(["a", None, "b", np.nan], [1e9, 1e9, 1e9 + DAY, 1e9], [1.0, 2.0, 3.0, 4.0])
    assert s.customer_ids.tolist() == ["a", "b"] and s.report["missing_customer"] == 2
    assert s.total_value.tolist() == [1.0, 3.0]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"customers": ["a", "b"], "times": [1.0]}, ValueError, "one length"),
        ({"customers": ["a"], "times": [1.0], "amounts": [1.0, 2.0]}, ValueError, "amounts"),
        ({"customers": ["a"], "times": [1e9], "as_of": 1.0}, ValueError, "before every line"),
        (
            {"customers": ["a"], "times": [1.0], "amounts": [np.nan]},
            ValueError,
            r"no line of 1 has a customer, a time "
            r"and an amount \(missing_amount 1\): nothing to summarise",
        ),
        ({"customers": [None], "times": [1.0]}, ValueError, r"a customer and a time \(missing_customer 1\)"),
        ({"customers": [], "times": []}, ValueError, "no line to summarise"),
        ({"customers": ["a"], "times": [1.0], "unit": "month"}, ValueError, "unit"),
        ({"customers": ["a"], "times": [1.0], "returns": "keep"}, ValueError, "returns"),
        ({"customers": ["a"], "times": ["not a date"]}, ValueError, "times"),
    ],
)
def test_summary_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        summary(**kwargs)


def reference_bgnbd_ll(params, x, t_x, T):
    """Equation (6) of Fader, Hardie & Lee (2005), one customer at a time, with Beta functions."""
    from scipy.special import beta as B

    r, alpha, a, b = params
    out = []
    for xi, ti, Ti in zip(x, t_x, T):
        gam = math.exp(math.lgamma(r + xi) - math.lgamma(r)) * alpha**r
        L = B(a, b + xi) / B(a, b) * gam / (alpha + Ti) ** (r + xi)
        if xi > 0:
            L += B(a + 1, b + xi - 1) / B(a, b) * gam / (alpha + ti) ** (r + xi)
        out.append(math.log(L))
    return np.array(out)


def simulate_bgnbd(n, params, T, seed):
    """Customers drawn from the BG/NBD process itself (Poisson purchases, dropout after each)."""
    r, alpha, a, b = params
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    x, t_x = np.zeros(n), np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T:
                break
            x[i] += 1
            t_x[i] = t
            if rng.random() < p[i]:
                break
    return x, t_x, np.full(n, float(T))


@pytest.mark.parametrize("collapse", [False, True])
def test_bgnbd_likelihood_and_gradient(collapse):
    x, t_x, T = simulate_bgnbd(300, (0.5, 5.0, 0.8, 2.0), 40, 0)
    x, t_x, T = np.r_[x, x[:40]], np.r_[t_x, t_x[:40]], np.r_[T, T[:40]]  # duplicate rows to collapse
    weights = np.random.default_rng(0).uniform(0.5, 2.0, x.size)
    rows = bgnbd_module.Rows(x, t_x, T, weights, collapse=collapse)
    params = np.array([0.4, 3.0, 0.7, 2.5])
    ll, grad = bgnbd_module.log_likelihood(params, rows)
    np.testing.assert_allclose(ll, weights @ reference_bgnbd_ll(params, x, t_x, T), rtol=1e-10)
    for i in range(4):
        e = np.zeros(4)
        e[i] = 1e-6 * params[i]
        up = bgnbd_module.log_likelihood(params + e, rows)[0]
        down = bgnbd_module.log_likelihood(params - e, rows)[0]
        np.testing.assert_allclose(grad[i], (up - down) / (2 * e[i]), rtol=1e-5)
    # the kernel sums in a fixed order: bit-identical for any thread count
    big = bgnbd_module.Rows(np.tile(x, 40), np.tile(t_x, 40), np.tile(T, 40), collapse=False)
    one = bgnbd_module.log_likelihood(params, big, 1)
    many = bgnbd_module.log_likelihood(params, big, 3)
    assert one[0] == many[0] and np.array_equal(one[1], many[1])


def reference_mbgnbd_ll(params, x, t_x, T):
    """MBG/NBD (Batislam et al. 2007), one customer at a time, with Beta functions: dropout may
    happen at the first purchase too, so the second term exists for every customer."""
    from scipy.special import beta as B

    r, alpha, a, b = params
    out = []
    for xi, ti, Ti in zip(x, t_x, T):
        gam = math.exp(math.lgamma(r + xi) - math.lgamma(r)) * alpha**r
        L = B(a, b + xi + 1) / B(a, b) * gam / (alpha + Ti) ** (r + xi)
        L += B(a + 1, b + xi) / B(a, b) * gam / (alpha + ti) ** (r + xi)
        out.append(math.log(L))
    return np.array(out)


def simulate_mbgnbd(n, params, T, seed):
    """The MBG/NBD process: a customer may leave at acquisition, then after each purchase."""
    r, alpha, a, b = params
    rng = np.random.default_rng(seed)
    lam, p = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    x, t_x = np.zeros(n), np.zeros(n)
    for i in range(n):
        t = 0.0
        while rng.random() >= p[i]:  # still active after the last purchase (or acquisition)
            t += rng.exponential(1 / lam[i])
            if t > T:
                break
            x[i] += 1
            t_x[i] = t
    return x, t_x, np.full(n, float(T))


@pytest.mark.parametrize("collapse", [False, True])
def test_mbgnbd_likelihood_and_gradient(collapse):
    x, t_x, T = simulate_mbgnbd(300, (0.5, 5.0, 0.8, 2.0), 40, 0)
    x, t_x, T = np.r_[x, x[:40]], np.r_[t_x, t_x[:40]], np.r_[T, T[:40]]
    weights = np.random.default_rng(1).uniform(0.5, 2.0, x.size)
    rows = bgnbd_module.Rows(x, t_x, T, weights, collapse=collapse)
    params = np.array([0.4, 3.0, 0.7, 2.5])
    ll, grad = bgnbd_module.log_likelihood(params, rows, modified=True)
    np.testing.assert_allclose(ll, weights @ reference_mbgnbd_ll(params, x, t_x, T), rtol=1e-10)
    for i in range(4):
        e = np.zeros(4)
        e[i] = 1e-6 * params[i]
        up = bgnbd_module.log_likelihood(params + e, rows, modified=True)[0]
        down = bgnbd_module.log_likelihood(params - e, rows, modified=True)[0]
        np.testing.assert_allclose(grad[i], (up - down) / (2 * e[i]), rtol=1e-5)
    big = bgnbd_module.Rows(np.tile(x, 40), np.tile(t_x, 40), np.tile(T, 40), collapse=False)
    one = bgnbd_module.log_likelihood(params, big, 1, modified=True)
    many = bgnbd_module.log_likelihood(params, big, 3, modified=True)
    assert one[0] == many[0] and np.array_equal(one[1], many[1])


def test_mbgnbd_recovers_simulated_parameters_and_predicts_by_its_definitions():
    truth = (0.6, 4.0, 0.9, 3.0)
    x, t_x, T = simulate_mbgnbd(20_000, truth, 52, 1)
    model = ModifiedBetaGeoFitter(n_threads=1).fit(x, t_x, T)
    for name, value in zip(("r", "alpha", "a", "b"), truth):
        assert abs(model.params_[name] / value - 1) < 0.15, (name, model.params_[name], value)
    assert ModifiedBetaGeoFitter(n_threads=3).fit(x, t_x, T).params_ == model.params_  # bit for bit
    model.params_ = dict(zip(("r", "alpha", "a", "b"), truth))
    r, alpha, a, b = truth
    x, t_x, T = np.array([0.0, 1.0, 5.0]), np.array([0.0, 10.0, 30.0]), np.array([40.0, 40.0, 40.0])
    want = 1 / (1 + a / (b + x) * ((alpha + T) / (alpha + t_x)) ** (r + x))  # every x, 0 included
    np.testing.assert_allclose(model.probability_alive(x, t_x, T), want, rtol=1e-12)
    assert model.probability_alive([0], [0], [400])[0] < model.probability_alive([0], [0], [40])[0] < 1
    np.testing.assert_allclose(
        model.expected_purchases(20, [0], [0], [0]), model.expected_purchases_new(20), rtol=1e-12
    )
    xs, _, _ = simulate_mbgnbd(40_000, truth, 20, 2)
    assert abs(xs.mean() / model.expected_purchases_new(20) - 1) < 0.03
    # the same purchases, the last one recent against long ago: more expected of the recent buyer
    recent, lapsed = (model.expected_purchases(30, [3], [t], [40.0])[0] for t in (35.0, 5.0))
    assert recent > lapsed + 0.1


@pytest.mark.skipif(not CDNOW.is_dir(), reason="needs ../shared/datasets/cdnow (the shared data sets)")
def test_mbgnbd_equals_lifetimes_on_the_cdnow_sample():
    pd = pytest.importorskip("pandas")
    lifetimes = pytest.importorskip("lifetimes", reason="lifetimes is the reference (test extra)")
    data = pd.read_csv(CDNOW / "cdnow_customers_summary.csv")
    x, t_x, T = data.frequency, data.recency, data["T"]
    ours = ModifiedBetaGeoFitter().fit(x, t_x, T)
    theirs = lifetimes.ModifiedBetaGeoFitter().fit(x, t_x, T)
    for name in ("r", "alpha", "a", "b"):
        assert ours.params_[name] == pytest.approx(theirs.params_[name], rel=1e-4)
    assert ours.log_likelihood_ > BetaGeoFitter().fit(x, t_x, T).log_likelihood_  # -9582.1 against -9582.4
    ours.params_ = theirs.params_.to_dict()  # the predictions at the same parameters
    np.testing.assert_allclose(ours.probability_alive(x, t_x, T), theirs.conditional_probability_alive(x, t_x, T))
    np.testing.assert_allclose(
        ours.expected_purchases(39, x, t_x, T),
        theirs.conditional_expected_number_of_purchases_up_to_time(39, x, t_x, T),
        rtol=1e-10,
    )
    assert ours.expected_purchases_new(39) == pytest.approx(theirs.expected_number_of_purchases_up_to_time(39))
    # a cohort's curve: an array of horizons, as lifetimes takes (it raised "t must be a real number")
    weeks = np.arange(1, 79.0)
    for mine, reference in ((ours, theirs), (BetaGeoFitter(), lifetimes.BetaGeoFitter())):
        mine.params_ = reference.fit(x, t_x, T).params_.to_dict()
        np.testing.assert_allclose(
            mine.expected_purchases_new(weeks), reference.expected_number_of_purchases_up_to_time(weeks), rtol=1e-10
        )
        grid = mine.expected_purchases_new([[1, 2], [3, 4]])
        assert grid.shape == (2, 2) and grid[1, 1] == mine.expected_purchases_new(4)
        assert isinstance(mine.expected_purchases_new(np.float64(4)), float)
        with pytest.raises(ValueError, match="t must be >= 0"):
            mine.expected_purchases_new([3, -1])
        with pytest.raises(TypeError, match="array of them"):
            mine.expected_purchases_new(["3"])


def test_distinct_rows_against_numpy():
    rng = np.random.default_rng(5)
    rows = rng.integers(0, 4, (500, 3)).astype(np.float64)
    rows[::7, 1] = -0.0  # -0.0 and 0.0 are one value
    first, inverse = _core.distinct_rows(rows)
    np.testing.assert_array_equal(rows[first][inverse], rows)
    assert len(first) == len(np.unique(rows, axis=0))
    assert np.all(np.diff(first) > 0)  # first-appearance order
    first, inverse = _core.distinct_rows(np.empty((0, 2)))
    assert first.size == 0 and inverse.size == 0


def test_bgnbd_recovers_simulated_parameters():
    truth = (0.6, 4.0, 0.9, 3.0)
    x, t_x, T = simulate_bgnbd(20_000, truth, 52, 1)
    fitted = BetaGeoFitter(n_threads=1).fit(x, t_x, T).params_
    for name, value in zip(("r", "alpha", "a", "b"), truth):
        assert abs(fitted[name] / value - 1) < 0.15, (name, fitted[name], value)
    assert BetaGeoFitter(n_threads=3).fit(x, t_x, T).params_ == fitted  # bit for bit


@pytest.mark.skipif(not CDNOW.is_dir(), reason="needs ../shared/datasets/cdnow (the shared data sets)")
def test_bgnbd_reproduces_the_published_cdnow_fit():
    import pandas as pd

    data = pd.read_csv(CDNOW / "cdnow_customers_summary.csv")
    bg = BetaGeoFitter().fit(data.frequency, data.recency, data["T"])
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert f"{bg.params_[name]:.3g}" == f"{value:.3g}", (name, bg.params_[name])
    assert round(bg.log_likelihood_, 1) == -9582.4  # the paper's maximum
    # the paper's worked example: x = 2, t_x = 30.43, T = 38.86 buys 1.226 times in 39 weeks
    assert round(float(bg.expected_purchases(39, [2], [30.43], [38.86])[0]), 3) == 1.226


@pytest.mark.skipif(not CDNOW.is_dir(), reason="needs ../shared/datasets/cdnow (the shared data sets)")
def test_the_cdnow_log_as_shipped_gives_lifetimes_summary_and_fit(tmp_path, capsys):
    """CDNOW_master.txt as it comes (indented columns split by runs of spaces, dates written
    19970101), straight into `recforge customers` and `recforge clv`: `--sep ' '` could not
    split it, and the dates were read as epoch seconds in August 1970, so `clv` found no repeat
    buyer. The table and the BG/NBD fit now equal lifetimes' on the same log (days)."""
    pd = pytest.importorskip("pandas")
    lifetimes = pytest.importorskip("lifetimes", reason="lifetimes is the reference (test extra)")
    from lifetimes.utils import summary_data_from_transaction_data
    from recforge.cli import main

    log = str(CDNOW / "CDNOW_master.txt")
    columns = ["--user-col", "customer_id", "--time-col", "date", "--amount-col", "dollar_value", "--quiet"]
    assert main(["customers", "--data", log, "--sep", "whitespace", *columns, "--out", str(tmp_path / "c.csv")]) == 0
    table = pd.read_csv(tmp_path / "c.csv", dtype={"customer": str}).set_index("customer")
    frame = pd.read_csv(log, sep=r"\s+", dtype={"customer_id": str, "date": str})
    want = summary_data_from_transaction_data(frame, "customer_id", "date", datetime_format="%Y%m%d", freq="D")
    assert len(table) == len(want) == 23_570
    table = table.loc[want.index]
    np.testing.assert_array_equal(table["transactions"], want["frequency"] + 1)
    np.testing.assert_array_equal(table["days_since_last"], want["T"] - want["recency"])
    assert main(["clv", "--data", log, "--sep", r"\s+", *columns[:-1], "--out", str(tmp_path / "v.csv")]) == 0
    printed = capsys.readouterr().out
    fitted = lifetimes.BetaGeoFitter().fit(want["frequency"], want["recency"], want["T"]).params_
    assert f"BG/NBD: r={fitted['r']:.4g} alpha={fitted['alpha']:.4g} a={fitted['a']:.4g} b={fitted['b']:.4g}" in printed


def test_weekly_transactions_are_lifetimes_weeks_from_monday():
    """period="week" cut weeks from Thursday (1970-01-01, epoch arithmetic), lifetimes' and
    pandas' "W" from Monday: on CDNOW 7% of the customers had another frequency than
    lifetimes' freq="W", 57% another T."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("lifetimes", reason="lifetimes is the reference (test extra)")
    from lifetimes.utils import summary_data_from_transaction_data

    if not (CDNOW / "CDNOW_master.txt").exists():
        pytest.skip("../shared/datasets/cdnow is absent")
    frame = pd.read_csv(CDNOW / "CDNOW_master.txt", sep=r"\s+", dtype={"customer_id": str, "date": str})
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    want = summary_data_from_transaction_data(
        frame, "customer_id", "date", monetary_value_col="dollar_value", observation_period_end="1998-06-30", freq="W"
    )
    got = summary(frame.customer_id, frame.date, frame.dollar_value, as_of="1998-06-30", unit="week", period="week")
    got = got.to_pandas().loc[want.index]
    for column in ("frequency", "recency", "T"):
        np.testing.assert_array_equal(got[column], want[column], err_msg=column)
    np.testing.assert_allclose(got["monetary_value"], want["monetary_value"], rtol=1e-12)
    assert (pd.to_datetime(got["first_purchase"], unit="s").dt.dayofweek == 0).all()  # Mondays


def lifetimes_datasets() -> Path | None:
    """The CDNOW files the lifetimes package ships (MIT), found without importing lifetimes."""
    import importlib.util

    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(spec.submodule_search_locations[0]) / "datasets"
    return folder if (folder / "cdnow_customers_summary_with_transactions.csv").is_file() else None


@pytest.mark.skipif(lifetimes_datasets() is None, reason="needs the lifetimes package's CDNOW files (test extra)")
def test_gamma_gamma_reproduces_the_published_cdnow_fit():
    import pandas as pd

    data = pd.read_csv(lifetimes_datasets() / "cdnow_customers_summary_with_transactions.csv")
    repeat = data[data.x > 0]  # the 946 repeat buyers of the 2,357-customer sample
    gg = GammaGammaFitter().fit(repeat.x, repeat.zbar)
    # Fader, Hardie & Lee, "RFM and CLV" (2005): p = 6.25, q = 3.74, gamma = 15.44 (15.45 in lifetimes)
    for name, value in {"p": 6.25, "q": 3.74, "v": 15.44}.items():
        assert f"{gg.params_[name]:.3g}" == f"{value:.3g}", (name, gg.params_[name])
    assert gg.n_customers_ == 946 and round(gg.log_likelihood_, 1) == -4055.9


def test_bgnbd_predictions_against_their_definitions():
    bg = BetaGeoFitter()
    bg.params_ = {"r": 0.3, "alpha": 4.0, "a": 0.8, "b": 2.5}
    r, alpha, a, b = 0.3, 4.0, 0.8, 2.5
    x, t_x, T = np.array([0.0, 1.0, 5.0]), np.array([0.0, 10.0, 30.0]), np.array([40.0, 40.0, 40.0])
    # P(alive) = 1 / (1 + a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x)) for x > 0
    want = [1.0] + [
        1 / (1 + a / (b + xi - 1) * ((alpha + Ti) / (alpha + ti)) ** (r + xi))
        for xi, ti, Ti in zip(x[1:], t_x[1:], T[1:])
    ]
    np.testing.assert_allclose(bg.probability_alive(x, t_x, T), want, rtol=1e-12)
    # a customer with no history at age 0 is a new customer
    np.testing.assert_allclose(bg.expected_purchases(20, [0], [0], [0]), bg.expected_purchases_new(20), rtol=1e-12)
    # E[X(t)] of a new customer by simulation of the process
    xs, _, _ = simulate_bgnbd(40_000, (r, alpha, a, b), 20, 2)
    assert abs(xs.mean() / bg.expected_purchases_new(20) - 1) < 0.03


@pytest.mark.parametrize("model", [BetaGeoFitter, ModifiedBetaGeoFitter])
def test_expected_purchases_of_heavy_buyers_and_long_horizons_are_finite(model):
    """w^(r+x) hyp2f1(...) was evaluated as written: for a customer with 300 purchases the power
    underflows and the hypergeometric function overflows, NaN at a 1000-day horizon. Euler's
    transformation gives the product; values of lifetimes (0.11.3) for BG/NBD."""
    m = model()
    m.params_ = {"r": 0.2, "alpha": 10.0, "a": 0.5, "b": 0.5}
    x, t_x, T = np.array([300.0, 30.0, 3.0]), np.array([29.0, 25.0, 10.0]), np.array([30.0, 30.0, 30.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "invalid value" on the way
        got = {t: m.expected_purchases(t, x, t_x, T) for t in (10.0, 1000.0, 1e5)}
    assert all(np.isfinite(v).all() and (v > 0).all() for v in got.values())
    assert (got[10.0] < got[1000.0]).all() and (got[1000.0] < got[1e5]).all()
    if model is BetaGeoFitter:
        np.testing.assert_allclose(got[1000.0], [567.27145868, 126.23465052, 9.03264693], rtol=1e-8)
        np.testing.assert_allclose(got[1e5], [6782.19296441, 1508.43998635, 107.3653748], rtol=1e-8)
    # where both forms are finite they agree (the transformation is an identity)
    m.params_ = {"r": 0.3, "alpha": 4.0, "a": 0.8, "b": 2.5}
    small = np.array([0.0, 1.0, 5.0]), np.array([0.0, 10.0, 30.0]), np.array([40.0, 40.0, 40.0])
    r, alpha, a, b = 0.3, 4.0, 0.8, 2.5
    b0, c0 = (b, a + b - 1) if model is BetaGeoFitter else (b + 1, a + b)
    xs, Ts = small[0], small[2]
    w = (alpha + Ts) / (alpha + Ts + 50.0)
    direct = w ** (r + xs) * special.hyp2f1(r + xs, b0 + xs, c0 + xs, 1 - w)
    euler = w ** (c0 - b0) * special.hyp2f1(c0 - r, c0 - b0, c0 + xs, 1 - w)
    np.testing.assert_allclose(direct, euler, rtol=1e-10)
    with pytest.raises(ValueError, match="beyond what the expected purchases can be computed"):
        m.params_ = {"r": 0.888, "alpha": 75.7, "a": 2.6e-07, "b": 25902.7}
        m.expected_purchases(365000.0, [0.0], [0.0], [325.0])


@pytest.mark.parametrize(
    "params", [(0.3, 4.0, 0.8, 2.5, 50.0), (0.2, 10.0, 0.5, 0.7, 100.0), (2.0, 30.0, 3.0, 8.0, 200.0)]
)
def test_the_series_fallback_equals_scipys_hypergeometric_where_that_works(params):
    r, alpha, a, b, t = params
    x, T = np.array([0.0, 1.0, 5.0, 30.0]), np.array([40.0, 40.0, 40.0, 38.0])
    w = (alpha + T) / (alpha + T + t)
    want = w ** (r + x) * special.hyp2f1(r + x, b + x, a + b - 1 + x, 1 - w)
    np.testing.assert_allclose(bgnbd_module._series_term(r + x, b + x, a + b - 1 + x, w, t), want, rtol=1e-12)


def test_a_fit_whose_gamma_collapsed_to_one_rate_predicts_that_rate():
    """Propensity's early cutoffs fit r and alpha in the millions: scipy's hyp2f1 fails on both
    forms (the features were NaN); the series gives lambda t P(alive), lambda = r / alpha."""
    bg = BetaGeoFitter()
    b = 19878.070265156
    bg.params_ = {"r": 82763171.71170714, "alpha": 1384955922.2444088, "a": 19877.070298403374 - b + 1, "b": b}
    x, t_x, T = np.array([4.0, 5.0, 0.0, 1.0]), np.array([40.0, 90.0, 0.0, 10.0]), np.array([53.0, 100.0, 60.0, 90.0])
    rate = bg.params_["r"] / bg.params_["alpha"]
    got = bg.expected_purchases(30.0, x, t_x, T)
    np.testing.assert_allclose(got, rate * 30.0 * bg.probability_alive(x, t_x, T), rtol=1e-6)


@pytest.mark.parametrize(
    "columns, match",
    [
        (([1, 2], [1, 2], [1]), "one length"),
        (([1], [5], [2]), "exceed T"),
        (([1.5], [1], [2]), "whole numbers"),
        (([0], [1], [2]), "recency must be 0"),
        (([-1], [0], [2]), ">= 0"),
        (([1], [np.nan], [2]), "finite"),
        (([], [], []), "no customers"),
    ],
)
def test_bgnbd_bad_input(columns, match):
    with pytest.raises(ValueError, match=match):
        BetaGeoFitter().fit(*columns)


def test_bgnbd_reports_non_convergence():
    x, t_x, T = simulate_bgnbd(500, (0.5, 5.0, 0.8, 2.0), 40, 3)
    with pytest.raises(RuntimeError, match="did not converge.*penalizer"):
        BetaGeoFitter().fit(x, t_x, T, max_iterations=1)
    with pytest.raises(rf.NotFittedError, match="not fitted"):
        BetaGeoFitter().probability_alive([1], [1], [2])


def test_bgnbd_without_dropout_names_the_limit_and_accepts_it_on_request():
    """Customers who all keep buying: a -> 0. The error says which way it runs and what helps (a
    penalizer holds back only parameters running to infinity); strict=False accepts the limit,
    in which every customer is alive."""
    rng = np.random.default_rng(0)  # 50 customers buying on uniformly random days of 300
    customers = rng.integers(0, 50, 400)
    rng.integers(0, 30, 400), rng.random(400)  # (products and quantities of that log: unused)
    s = summary(customers, 1.7e9 + rng.integers(0, 300, 400) * 86400.0)
    x, t_x, T = s.frequency, s.recency, s.T
    with pytest.raises(RuntimeError, match=r"a -> 0, which a penalizer cannot hold back: fit with strict=False"):
        BetaGeoFitter(penalizer=0.001).fit(x, t_x, T)
    limit = BetaGeoFitter(penalizer=0.001).fit(x, t_x, T, strict=False)
    assert limit.params_["a"] < 1e-4
    np.testing.assert_allclose(limit.probability_alive(x, t_x, T), 1.0, atol=1e-3)


def simulate_spend(n, params, seed):
    p, q, v = params
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 8, n).astype(float)
    nu = rng.gamma(q, 1 / v, n)
    m = np.array([rng.gamma(p, 1 / nu[i], int(x[i])).mean() for i in range(n)])
    return x, m


def test_gamma_gamma_likelihood_gradient_and_recovery():
    x, m = simulate_spend(20_000, (6.0, 4.0, 15.0), 4)
    params = np.array([5.0, 3.0, 12.0])
    rows = gg_module.Rows(x, m)
    ll, grad = gg_module.log_likelihood(params, rows)
    p, q, v = params
    want = [
        math.lgamma(p * xi + q)
        - math.lgamma(p * xi)
        - math.lgamma(q)
        + q * math.log(v)
        + (p * xi - 1) * math.log(mi)
        + p * xi * math.log(xi)
        - (p * xi + q) * math.log(v + mi * xi)
        for xi, mi in zip(x, m)
    ]
    np.testing.assert_allclose(ll, math.fsum(want), rtol=1e-10)
    for i in range(3):
        e = np.zeros(3)
        e[i] = 1e-6 * params[i]
        num = (gg_module.log_likelihood(params + e, rows)[0] - gg_module.log_likelihood(params - e, rows)[0]) / (
            2 * e[i]
        )
        np.testing.assert_allclose(grad[i], num, rtol=1e-5)
    one, many = gg_module.log_likelihood(params, rows, 1), gg_module.log_likelihood(params, rows, 3)
    assert one[0] == many[0] and np.array_equal(one[1], many[1])
    fitted = GammaGammaFitter().fit(x, m).params_
    for name, value in zip(("p", "q", "v"), (6.0, 4.0, 15.0)):
        assert abs(fitted[name] / value - 1) < 0.15, (name, fitted[name])


@pytest.mark.parametrize("currency", [1e-6, 1e-3, 1e3, 1e6, 1e12])
def test_gamma_gamma_fits_spend_in_any_currency_unit_alike(currency):
    """Spend c times larger is the fit with v c times larger (the model is equivariant). From
    v = 1 the search found another optimum for spend in millions (q = 2e6, a lower likelihood)
    and ran past its bounds for spend a trillion times larger."""
    rng = np.random.default_rng(0)
    x, m = rng.integers(1, 20, 500).astype(float), rng.gamma(2.0, 10.0, 500)
    base = GammaGammaFitter().fit(x, m)
    scaled = GammaGammaFitter().fit(x, m * currency)
    np.testing.assert_allclose(
        [scaled.params_["p"], scaled.params_["q"]], [base.params_["p"], base.params_["q"]], rtol=1e-5
    )
    assert scaled.params_["v"] / currency == pytest.approx(base.params_["v"], rel=1e-5)
    # the same likelihood, up to the change of unit's Jacobian (ln c per repeat customer's mean spend)
    jacobian = base.n_customers_ * math.log(currency)
    assert scaled.log_likelihood_ == pytest.approx(base.log_likelihood_ - jacobian, rel=1e-8)
    np.testing.assert_allclose(
        scaled.expected_average_value(x, m * currency), base.expected_average_value(x, m) * currency, rtol=1e-5
    )


def test_gamma_gamma_without_heterogeneity_points_to_the_penalizer():
    """Spend that hardly varies between customers has no maximum (q, v -> infinity together);
    where the search stops on that ridge is chance, so it is refused with the way out."""
    x, spend = [1, 2, 3, 1, 4, 2], [20.0, 35.5, 18.0, 40.0, 25.0, 30.0]
    with pytest.raises(RuntimeError, match="q, v -> infinity, which a penalizer holds back"):
        GammaGammaFitter().fit(x, spend)
    GammaGammaFitter(penalizer=0.001).fit(x, spend)


def test_gamma_gamma_refuses_a_spend_without_a_finite_mean():
    """q <= 1 leaves the spend per transaction without a finite mean: one-time buyers, valued at
    p v / (q - 1), got a negative spend (-666.52 on Online Retail, where a penalizer of 0.001 on
    v in pounds took q to 0.82) and negative lifetime values."""
    rng = np.random.default_rng(0)
    x = rng.integers(1, 12, 400)
    spend = rng.gamma(3.0, 20.0, 400)
    GammaGammaFitter(penalizer=0.001).fit(x, spend)  # q well above 1
    with pytest.raises(RuntimeError, match=r"q = 0\.\d+ <= 1 .*no finite mean.*acts on v in the currency's units"):
        GammaGammaFitter(penalizer=0.001).fit(x, spend * 100)  # the same spend in cents


def test_bgnbd_says_when_it_stands_on_the_ridge_to_nobody_dropping_out(datasets_dir):
    """On Online Retail up to 2011-11-01 the likelihood rises towards a -> 0, b -> infinity and the
    search stopped at a = 6e-7, b = 9849, short of either bound: every P(alive) was 1, with no
    word. It says so now (the purchase predictions stay sound), and not with strict=False."""
    pd = pytest.importorskip("pandas")
    log = pd.read_csv(datasets_dir / "online-retail" / "online_retail.csv.gz", dtype={"CustomerID": str})
    log = log[log["CustomerID"].notna() & (pd.to_datetime(log["InvoiceDate"]) < "2011-11-01")]
    s = summary(log["CustomerID"], log["InvoiceDate"], log["Quantity"] * log["UnitPrice"])
    with pytest.warns(
        UserWarning, match=r"stands on its limit a -> 0 .*every P\(alive\) is 1; a penalizer holds b back"
    ):
        said = BetaGeoFitter().fit(s)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        limit = BetaGeoFitter().fit(s, strict=False)
    assert limit.params_ == said.params_ and limit.probability_alive(s).min() > 0.999999
    held = BetaGeoFitter(penalizer=0.001).fit(s)  # the way out the message gives
    assert held.params_["a"] / (held.params_["a"] + held.params_["b"]) > 0.01


def test_clv_penalizes_each_model_apart(datasets_dir, tmp_path, capsys):
    """--penalizer 0.001, the way out BG/NBD's warning gives on Online Retail, went to Gamma-Gamma
    too, where it acts on v in pounds: q fell to 0.82, and each of the 1,594 one-time buyers was
    written an expected spend of -666.52 and a negative lifetime value, exit 0."""
    pd = pytest.importorskip("pandas")
    from recforge.cli import main

    log = pd.read_csv(datasets_dir / "online-retail" / "online_retail.csv.gz", dtype={"CustomerID": str})
    log[pd.to_datetime(log["InvoiceDate"]) < "2011-11-01"].to_csv(tmp_path / "log.csv", index=False)
    argv = ["clv", "--data", str(tmp_path / "log.csv"), "--user-col", "CustomerID", "--time-col", "InvoiceDate"]
    argv += ["--amount-col", "Quantity*UnitPrice", "--quiet", "--out", str(tmp_path / "clv.csv")]
    assert main([*argv, "--penalizer", "0.001"]) == 0
    values = pd.read_csv(tmp_path / "clv.csv")
    assert (values["expected_spend"] > 0).all() and (values["clv"] >= 0).all() and values["p_alive"].min() < 0.5
    assert "Gamma-Gamma: p=2.102 q=3.386 v=485.7" in capsys.readouterr().out  # as without a penalizer
    assert main([*argv, "--spend-penalizer", "0.001", "--accept-bounds"]) == 2
    assert "q = 0.8165 <= 1" in capsys.readouterr().err


def test_gamma_gamma_expected_value_and_bad_input():
    gg = GammaGammaFitter()
    gg.params_ = {"p": 6.0, "q": 4.0, "v": 15.0}
    got = gg.expected_average_value([0, 2], [0.0, 30.0])
    np.testing.assert_allclose(got, [6 * 15 / 3, 6 * (15 + 60) / (12 + 3)])
    with pytest.raises(ValueError, match="leave them out"):
        GammaGammaFitter().fit([1, 2, 3], [10.0, 0.0, 5.0])
    with pytest.raises(ValueError, match="repeat purchases"):
        GammaGammaFitter().fit([0, 0, 1], [0.0, 0.0, 5.0])


def test_lifetime_value_is_the_discounted_sum():
    bg = BetaGeoFitter()
    bg.params_ = {"r": 0.3, "alpha": 4.0, "a": 0.8, "b": 2.5}
    gg = GammaGammaFitter()
    gg.params_ = {"p": 6.0, "q": 4.0, "v": 15.0}
    f, rec, T, m = [0.0, 3.0], [0.0, 20.0], [30.0, 30.0], [0.0, 25.0]
    got = lifetime_value(bg, gg, f, rec, T, m, horizon=3, step=4.0, discount_rate=0.1)
    value = gg.expected_average_value(f, m)
    want = sum(
        value * (bg.expected_purchases(4.0 * i, f, rec, T) - bg.expected_purchases(4.0 * (i - 1), f, rec, T)) / 1.1**i
        for i in (1, 2, 3)
    )
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # a long horizon: (1 + d) ** i raised OverflowError (a traceback from `recforge clv --months`),
    # and a horizon of 1e8 steps ran a pass over every customer for each
    far = lifetime_value(bg, gg, f, rec, T, m, horizon=10_000, step=4.0, discount_rate=0.1)
    assert np.isfinite(far).all() and (far >= got).all()
    with pytest.raises(ValueError, match="horizon must be <= 10,000 steps"):
        lifetime_value(bg, gg, f, rec, T, m, horizon=10**8)


def test_public_names():
    assert rf.customers.summary is summary and rf.customers.BetaGeoFitter is BetaGeoFitter


@pytest.mark.parametrize("bins", [2, 3, 5, 10])
@pytest.mark.parametrize("n", [1, 7, 100])
def test_quantile_scores_against_ranks_and_independent_of_order(bins, n):
    from scipy.stats import rankdata

    rng = np.random.default_rng(n * bins)
    values = rng.integers(0, 6, n).astype(float)  # many ties
    got = rf.customers.quantile_scores(values, bins)
    want = 1 + ((rankdata(values, method="min") - 1) * bins) // n
    np.testing.assert_array_equal(got, want)
    perm = rng.permutation(n)
    np.testing.assert_array_equal(rf.customers.quantile_scores(values[perm], bins), got[perm])
    assert got.min() >= 1 and got.max() <= bins


def test_default_segments_cover_every_cell_once():
    r, f = np.meshgrid(np.arange(1, 6), np.arange(1, 6))
    names = rf.customers.segment(r.ravel(), f.ravel())
    assert "Other" not in set(names)
    for cell_r, cell_f in zip(r.ravel(), f.ravel()):
        hits = [name for name, (a, b), (c, d) in rf.customers.SEGMENTS if a <= cell_r <= b and c <= cell_f <= d]
        assert len(hits) == 1, (cell_r, cell_f, hits)
    assert len({name for name, _, _ in rf.customers.SEGMENTS}) == 10
    got = dict(zip(zip(r.ravel(), f.ravel()), names))
    assert got[(5, 5)] == "Champions" and got[(1, 5)] == "Can't Lose Them" and got[(1, 1)] == "Lost"


def test_rfm_scores_of_a_summary():
    rng = np.random.default_rng(9)
    n = 300
    customers = rng.choice([f"c{i:03d}" for i in range(60)], n)
    times = 1.6e9 + rng.uniform(0, 100 * DAY, n)
    s = summary(customers, times, rng.uniform(1, 50, n))
    r = rf.customers.rfm(s)
    np.testing.assert_array_equal(r.recency, rf.customers.quantile_scores(-s.since_last))
    np.testing.assert_array_equal(r.frequency, rf.customers.quantile_scores(s.transactions))
    np.testing.assert_array_equal(r.monetary, rf.customers.quantile_scores(s.total_value))
    np.testing.assert_array_equal(r.segment, rf.customers.segment(r.recency, r.frequency))
    mean = rf.customers.rfm(s, monetary="mean")
    np.testing.assert_array_equal(mean.monetary, rf.customers.quantile_scores(s.total_value / s.transactions))
    frame = r.to_pandas()
    assert list(frame.columns) == ["R", "F", "M", "RFM", "segment"] and len(frame) == len(s)
    with pytest.raises(ValueError, match="monetary"):
        rf.customers.rfm(s, monetary="median")
    with pytest.raises(ValueError, match="bins"):
        rf.customers.rfm(s, bins=1)


def planted_groups(seed=0, per_group=150):
    """Three behaviour groups far apart: rare cheap lapsed, regular mid, frequent big recent."""
    rng = np.random.default_rng(seed)
    customers, times, amounts, truth = [], [], [], {}
    for g, (n_buys, spend, last_day) in enumerate([(1, 5.0, 20), (6, 40.0, 200), (25, 400.0, 360)]):
        for c in range(per_group):
            name = f"g{g}-{c:03d}"
            truth[name] = g
            days = np.sort(rng.uniform(0, last_day, n_buys))
            customers += [name] * n_buys
            times += list(1.6e9 + days * DAY)
            amounts += list(rng.gamma(20.0, spend / 20.0, n_buys))
    s = summary(customers, times, amounts, as_of=1.6e9 + 365 * DAY)
    return s, np.array([truth[c] for c in s.customer_ids])


def test_segmenter_finds_planted_groups_and_numbers_them_by_size():
    from sklearn.metrics import adjusted_rand_score

    s, truth = planted_groups()
    seg = rf.customers.Segmenter(k_range=(2, 6)).fit(s)
    assert seg.n_segments_ == 3 and set(seg.silhouettes_) == {2, 3, 4, 5, 6}
    assert max(seg.silhouettes_, key=seg.silhouettes_.get) == 3
    assert adjusted_rand_score(truth, seg.labels_) == 1.0
    sizes = np.bincount(seg.labels_)
    assert np.all(np.diff(sizes) <= 0)
    np.testing.assert_array_equal(seg.predict(s), seg.labels_)
    again = rf.customers.Segmenter(k_range=(2, 6)).fit(s)
    np.testing.assert_array_equal(again.labels_, seg.labels_)  # seeded


def test_segmenter_weighs_taste_against_behaviour():
    s, _ = planted_groups(1, 40)
    taste = np.random.default_rng(2).normal(size=(len(s), 32))
    X = rf.customers.Segmenter(taste_weight=0.5).features(s, taste)
    assert X.shape == (len(s), 35)
    np.testing.assert_allclose(X[:, 3:].var(axis=0).sum() / X[:, :3].var(axis=0).sum(), 0.5)
    with pytest.raises(ValueError, match="one row per customer"):
        rf.customers.Segmenter().features(s, taste[:-1])
    with pytest.raises(ValueError, match="k_range"):
        rf.customers.Segmenter(k_range=(5, 3))
    with pytest.raises(rf.NotFittedError, match="not fitted"):
        rf.customers.Segmenter().predict(s)


def test_profile_lift_against_plain_python():
    rng = np.random.default_rng(5)
    n, items = 120, 15
    s = summary([f"c{i:03d}" for i in range(n)], 1.6e9 + rng.uniform(0, 1e6, n), rng.uniform(1, 9, n))
    labels = rng.integers(0, 3, n)
    X = sp_random(n, items, rng)
    prof = rf.customers.profile(labels, s, X, item_ids=[f"i{j}" for j in range(items)], top=4, min_buyers=2)
    bought = X.toarray() > 0
    for seg_index, seg in enumerate(prof.segment):
        members = labels == seg
        assert prof.customers[seg_index] == members.sum()
        lifts = {}
        for j in range(items):
            inside = bought[members, j].sum()
            if inside >= 2:
                lifts[f"i{j}"] = ((inside / members.sum()) / (bought[:, j].sum() / n), inside)
        # equal lifts: more buyers in the segment first, then the item's order
        want = sorted(lifts.items(), key=lambda kv: (-round(kv[1][0], 9), -kv[1][1], int(kv[0][1:])))[:4]
        got = [(item, lift) for item, lift, _ in prof.top_items[seg_index]]
        assert [g[0] for g in got] == [w[0] for w in want]
        np.testing.assert_allclose([g[1] for g in got], [w[1][0] for w in want])
    np.testing.assert_allclose(prof.revenue_share.sum(), 1.0)
    np.testing.assert_allclose(prof.customer_share.sum(), 1.0)
    hidden = rf.customers.profile(labels, s, X, min_size=n)  # every segment below the minimum size
    assert all(t == [] for t in hidden.top_items)
    assert "| segment |" in str(prof)
    with pytest.raises(ValueError, match="one segment per customer"):
        rf.customers.profile(labels[:-1], s)


def test_equal_lifts_go_to_the_product_more_of_the_segment_bought():
    """On Online Retail's two segments, every product bought only by one segment's customers has
    the largest lift there is: the 5 buyers of a bracelet came before the 13 of a basket, by id
    order. Equal lifts now go to the product with more buyers in the segment."""
    import scipy.sparse as sp

    n = 40
    s = summary([f"c{i:02d}" for i in range(n)], np.full(n, 1.6e9), np.ones(n))
    labels = np.repeat([0, 1], n // 2)
    X = np.zeros((n, 3), dtype=np.float32)
    X[:5, 0] = 1  # "a": 5 buyers, all in segment 0
    X[:15, 1] = 1  # "b": 15 buyers, all in segment 0
    X[:, 2] = 1  # "c": everyone
    prof = rf.customers.profile(labels, s, sp.csr_matrix(X), item_ids=["a", "b", "c"], top=3)
    assert [(item, buyers) for item, _, buyers in prof.top_items[0]] == [("b", 15), ("a", 5), ("c", 20)]


def sp_random(n, items, rng):
    import scipy.sparse as sp

    return sp.csr_matrix((rng.random((n, items)) < 0.3).astype(np.float32))


def random_log(seed=0, n=600, customers=50, days=200):
    rng = np.random.default_rng(seed)
    who = rng.choice([f"c{i:02d}" for i in range(customers)], n)
    when = 1.6e9 + rng.uniform(0, days * DAY, n)
    money = rng.gamma(2.0, 10.0, n)
    items = rng.choice([f"p{i}" for i in range(12)], n)
    return who, when, money, items


def test_propensity_features_see_nothing_after_the_cutoff():
    who, when, money, items = random_log(1)
    cutoff = 1.6e9 + 120 * DAY
    segmenter = rf.customers.Segmenter(n_segments=3).fit(rf.customers.summary_before(who, when, money, cutoff=cutoff))
    ids, X = rf.customers.features_at(who, when, money, items, cutoff=cutoff, target=["p1", "p2"], segmenter=segmenter)
    # change everything after the cutoff: new lines, other amounts, other products
    late = when > cutoff
    rng = np.random.default_rng(2)
    money2, items2 = money.copy(), items.copy()
    money2[late] = rng.gamma(5.0, 50.0, late.sum())
    items2[late] = "p1"
    extra_who = np.r_[who, ["c00", "new"] * 20]
    extra_when = np.r_[when, cutoff + rng.uniform(1, 80 * DAY, 40)]
    ids2, X2 = rf.customers.features_at(
        extra_who,
        extra_when,
        np.r_[money2, np.ones(40)],
        np.r_[items2, ["p2"] * 40],
        cutoff=cutoff,
        target=["p1", "p2"],
        segmenter=segmenter,
    )
    np.testing.assert_array_equal(ids, ids2)
    np.testing.assert_array_equal(X, X2)
    assert X.shape == (len(ids), len(rf.customers.FEATURES) + 1)
    assert set(X[:, -1]) <= {0.0, 1.0, 2.0}


def test_propensity_segment_feature_is_fitted_on_the_earliest_cutoffs_past():
    who, when, money, items = random_log(4, n=3000, customers=300, days=300)
    cutoff = 1.6e9 + 200 * DAY
    model = rf.customers.Propensity(window=30, history=3, segmenter=rf.customers.Segmenter(n_segments=3))
    model.fit(who, when, money, cutoff=cutoff)
    assert model.feature_names_[-1] == "segment" and len(model.feature_names_) == len(rf.customers.FEATURES) + 1
    earliest = rf.customers.summary_before(who, when, money, cutoff=cutoff - 2 * 30 * DAY)
    assert model.segmenter_.labels_.size == len(earliest)  # fitted on that past, not later
    assert not hasattr(model.segmenter, "labels_")  # the given segmenter stays unfitted
    result = model.evaluate(who, when, money, cutoff=cutoff + 30 * DAY)
    assert 0.0 <= result["auc"] <= 1.0 and result["lift"].decile.size == 10
    with pytest.raises(TypeError, match="Segmenter"):
        rf.customers.Propensity(segmenter="rfm")


def test_propensity_features_and_labels_against_plain_python():
    who, when, money, items = random_log(3)
    cutoff, window = 1.6e9 + 100 * DAY, 30.0
    ids, X = rf.customers.features_at(who, when, money, items, cutoff=cutoff, window=window, target=["p3"])
    y = rf.customers.labels_after(ids, who, when, items, cutoff=cutoff, window=window, target=["p3"])
    column = {name: X[:, i] for i, name in enumerate(rf.customers.FEATURES)}
    for k, c in enumerate(ids):
        mine = (who == c) & (when <= cutoff)
        target = mine & (items == "p3")
        assert column["target_purchases"][k] == target.sum()
        if target.any():
            assert column["days_since_target"][k] == pytest.approx((cutoff - when[target].max()) / DAY)
        assert column["total_value"][k] == pytest.approx(money[mine].sum())
        after = (who == c) & (when > cutoff) & (when <= cutoff + window * DAY) & (items == "p3")
        assert y[k] == after.any()
    assert set(ids) == set(who[when <= cutoff])


def test_target_history_baseline_orders_by_own_purchases_then_recency():
    """evaluate compared a product target's model with recency and BG/NBD only; the rule a
    marketer would use (who bought it most, then most recently) beat the model on 7 of the 8
    best sellers of Online Retail (top-100 hits), and evaluate did not say so."""
    who, when, money, items = random_log(7, n=4000, customers=300, days=300)
    cutoff = 1.6e9 + 240 * DAY
    ids, X = rf.customers.features_at(who, when, money, items, cutoff=cutoff, target=["p3"])
    score = rf.customers.target_history_score(X)
    column = {name: X[:, i] for i, name in enumerate(rf.customers.FEATURES)}
    count, since = column["target_purchases"], column["days_since_target"]
    # plain python: sort by (count descending, days since descending -> recency ascending)
    order = sorted(range(ids.size), key=lambda k: (-count[k], since[k]))
    for a, b in zip(order, order[1:]):
        same = count[a] == count[b] and since[a] == since[b]
        assert score[a] == score[b] if same else score[a] > score[b]
    model = rf.customers.Propensity(window=30, target=["p3"]).fit(who, when, money, items, cutoff=cutoff - 30 * DAY)
    result = model.evaluate(who, when, money, items, cutoff=cutoff)
    from sklearn.metrics import roc_auc_score

    np.testing.assert_array_equal(result["customer_ids"], ids)
    assert result["auc_target_history"] == pytest.approx(roc_auc_score(result["bought"], score))
    assert result["lift_target_history"].buyers.sum() == result["bought"].sum()
    anything = rf.customers.Propensity(window=30).fit(who, when, money, cutoff=cutoff - 30 * DAY)
    assert "auc_target_history" not in anything.evaluate(who, when, money, cutoff=cutoff)


def test_propensity_classifier_orders_customers_beyond_the_training_range():
    """At a later cutoff a product's best customers have bought it more often than anyone had
    at the training cutoffs: trees alone scored them all alike (the last cut), and lost to the
    customers' own past purchases; the linear half keeps ordering them."""
    from sklearn.base import clone

    rng = np.random.default_rng(0)
    names = rf.customers.feature_names()
    X = np.column_stack([rng.gamma(2.0, 3.0, 4000) for _ in names])
    count = names.index("target_purchases")
    X[:, count] = rng.poisson(1.0, 4000).clip(max=5)
    y = rng.random(4000) < 1 / (1 + np.exp(3.0 - 0.8 * X[:, count]))
    later = np.tile(np.median(X, axis=0), (20, 1))
    later[:, count] = np.arange(6, 26)  # more purchases than any training customer
    both = rf.customers.propensity.make_classifier(names).fit(X, y)
    p = both.predict_proba(later)[:, 1]
    assert np.all(np.diff(p) > 0)
    trees = clone(both.estimators[0][1]).fit(X, y).predict_proba(later)[:, 1]
    assert np.unique(trees).size == 1  # what the trees alone did: every one of them alike
    assert 0.0 < p.min() and p.max() < 1.0


def test_lift_table_by_hand():
    scores = np.arange(20, 0, -1, dtype=float)  # customer 0 best
    labels = np.zeros(20, dtype=bool)
    labels[[0, 1, 2, 10]] = True
    t = rf.customers.lift_table(scores, labels, bins=4)
    assert t.customers.tolist() == [5, 5, 5, 5] and t.buyers.tolist() == [3, 0, 1, 0]
    np.testing.assert_allclose(t.lift, [3 / 5 / 0.2, 0, 1 / 5 / 0.2, 0])
    np.testing.assert_allclose(t.cumulative_gain, [0.75, 0.75, 1.0, 1.0])
    with pytest.raises(ValueError, match="one length"):
        rf.customers.lift_table(scores[:3], labels[:4], bins=4)


def test_propensity_bad_input():
    who, when, money, items = random_log(4)
    with pytest.raises(ValueError, match="before every line"):
        rf.customers.features_at(who, when, money, cutoff=1.0)
    with pytest.raises(ValueError, match="need items"):
        rf.customers.features_at(who, when, money, cutoff=1.6e9 + 100 * DAY, target=["p1"])
    with pytest.raises(ValueError, match="window"):
        rf.customers.Propensity(window=0)
    with pytest.raises(ValueError, match="nothing to learn|too few"):
        rf.customers.Propensity(window=1).fit(who, when, money, cutoff=1.6e9 + 300 * DAY)
    with pytest.raises(rf.NotFittedError, match="not fitted"):
        rf.customers.Propensity().predict(who, when, money, as_of=1.6e9 + 100 * DAY)


@pytest.mark.parametrize("n, sample_size", [(400, 10_000), (1500, 600)])
def test_silhouettes_of_every_k_equal_scikit_learns(n, sample_size):
    """The sample's distances are computed once for every k (scikit-learn computed them again
    for each: 12 s of `recforge customers --segments auto`'s 14 on CDNOW); the scores are
    scikit-learn's, a lone customer in its segment included."""
    from recforge.customers.segments import silhouette_scores
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(n)
    X = rng.standard_normal((n, 3))
    X[: n // 3] += 3
    labelings = {k: KMeans(k, n_init=2, random_state=0).fit_predict(X) for k in range(2, 7)}
    labelings[9] = np.r_[np.zeros(n - 1, dtype=np.int64), 5]  # one customer alone (and label gaps)
    ours = silhouette_scores(X, labelings, sample_size, 7)
    assert set(ours) == set(labelings)
    for k, labels in labelings.items():
        theirs = silhouette_score(X, labels, sample_size=min(sample_size, n), random_state=7)
        assert ours[k] == pytest.approx(theirs, abs=1e-9), k
    # a sample holding one segment only is left out, as scikit-learn refuses it
    sampled = np.random.RandomState(0).permutation(n)[:10]
    apart = np.zeros(n, dtype=np.int64)
    apart[np.setdiff1d(np.arange(n), sampled)[0]] = 1
    assert silhouette_scores(X, {2: apart}, 10, 0) == {}


def test_segmenter_refuses_more_segments_than_customers():
    """Not silently fewer: one segment per customer would profile individuals."""
    s, _ = planted_groups(3, 4)
    with pytest.raises(ValueError, match=rf"n_segments \(13\) is more than the customers \({len(s)}\)"):
        rf.customers.Segmenter(n_segments=13).fit(s)
    assert rf.customers.Segmenter(n_segments=len(s)).fit(s).n_segments_ == len(s)


def test_charts_are_png_files_written_atomically(tmp_path):
    pytest.importorskip("matplotlib", reason="charts need the plot extra")  # in the test extra
    from recforge.customers import charts

    s, _ = planted_groups(3, 30)
    seg = rf.customers.Segmenter(n_segments=3).fit(s)
    charts.segment_chart(rf.customers.profile(seg.labels_, s), tmp_path / "segments.png")
    scores = np.linspace(1, 0, 100)
    labels = np.random.default_rng(0).random(100) < scores
    charts.lift_chart({"model": rf.customers.lift_table(scores, labels)}, tmp_path / "lift.png")
    charts.alive_chart(np.random.default_rng(1).random(500), tmp_path / "alive.png")
    for name in ("segments.png", "lift.png", "alive.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alive.png", "lift.png", "segments.png"]  # no leftovers
    with pytest.raises(ValueError, match="PNG"):
        charts.alive_chart([0.5], tmp_path / "alive.jpg")
    assert not (tmp_path / "alive.jpg").exists()


def test_charts_name_the_segments_and_the_purchase_model(tmp_path, monkeypatch):
    """The segments chart labelled its bars 0..k-1 where the profile knows each segment's RFM
    name ("Champions 57%"); the P(alive) chart said BG/NBD for MBG/NBD's."""
    pytest.importorskip("matplotlib", reason="charts need the plot extra")
    from recforge.customers import charts

    drawn = []
    monkeypatch.setattr(charts, "_save", lambda fig, path: drawn.append(fig))
    s, _ = planted_groups(3, 30)
    profile = rf.customers.profile(rf.customers.Segmenter(n_segments=3).fit(s).labels_, s)
    charts.segment_chart(profile, tmp_path / "segments.png")
    ticks = [t.get_text() for t in drawn[-1].axes[0].get_xticklabels()]
    want = [
        f"{seg}\n{name}\n{share:.0%}".split("\n") for seg, (name, share) in zip(profile.segment, profile.rfm_segment)
    ]
    assert [t.replace("\n", " ").split(" ") for t in ticks] == [" ".join(w).split(" ") for w in want]
    # long names side by side ran into each other ("Loyal Customers 36%Potential Loyalist 38%")
    s, _ = planted_groups(5, 30)
    profile = rf.customers.profile(rf.customers.Segmenter(n_segments=5).fit(s).labels_, s)
    names = ["Lost", "Loyal Customers", "Potential Loyalist", "Can't Lose Them", "Champions"]
    profile.rfm_segment[:] = [(name, 0.38) for name in names]
    charts.segment_chart(profile, tmp_path / "segments.png")
    fig = drawn[-1]
    fig.canvas.draw()
    boxes = sorted((t.get_window_extent() for t in fig.axes[0].get_xticklabels()), key=lambda b: b.x0)
    assert all(left.x1 < right.x0 for left, right in zip(boxes, boxes[1:])), [(b.x0, b.x1) for b in boxes]
    charts.alive_chart([0.5, 0.9], tmp_path / "alive.png", model="MBG/NBD")
    assert drawn[-1].axes[0].get_title().endswith("(MBG/NBD)")


def test_segments_feed_the_cold_start_path_for_new_customers():
    """A new customer with only a segment label gets that segment's best sellers."""
    rng = np.random.default_rng(11)
    users = [f"u{i:03d}" for i in range(120)]
    segment_of = {u: ("big" if i < 60 else "small") for i, u in enumerate(users)}
    who, what = [], []
    for u in users:  # "big" customers buy items 0-4, "small" ones items 5-9
        base = 0 if segment_of[u] == "big" else 5
        for item in rng.choice(5, 3, replace=False) + base:
            who.append(u)
            what.append(f"i{item}")
    inter = rf.Interactions.from_arrays(who, what)
    table = {"customer": list(segment_of), "segment": list(segment_of.values())}
    people = rf.features(table, ids=inter.user_ids, id_col="customer", categorical="segment")
    model = rf.ColdStart(rf.ItemKNN(neighbours=5)).fit(inter, user_features=people)
    import scipy.sparse as sp

    ids, _, paths = model.recommend(
        [-1, -1], sp.csr_matrix((2, inter.n_items)), k=3, return_paths=True, user_features={"segment": ["big", "small"]}
    )
    names = inter.item_ids[ids]
    assert set(names[0]) <= {f"i{j}" for j in range(5)} and set(names[1]) <= {f"i{j}" for j in range(5, 10)}
    assert (paths == rf.ColdStart.PATHS.index("group_popular")).all()


def test_recommendation_score_feature_comes_from_the_past_only():
    who, when, money, items = random_log(6, n=800)
    cutoff = 1.6e9 + 120 * DAY
    knn = rf.ItemKNN(neighbours=5)
    ids, X = rf.customers.features_at(who, when, money, items, cutoff=cutoff, target=["p1"], recommender=knn)
    assert X.shape[1] == len(rf.customers.FEATURES) + 1
    # by hand: the same model fitted on the past pairs, each customer's score of p1 with nothing excluded
    before = when <= cutoff
    past = rf.Interactions.from_arrays(who[before], items[before])
    model = rf.ItemKNN(neighbours=5).fit(past)
    p1 = int(np.flatnonzero(past.item_ids == "p1")[0])
    for k, c in enumerate(ids[:20]):
        row = int(np.flatnonzero(past.user_ids == c)[0])
        got, scores = model.recommend([row], past.matrix[[row]], k=1, exclude_seen=False, allow=[p1])
        want = scores[0, 0] if got[0, 0] >= 0 else 0.0
        assert X[k, -1] == pytest.approx(want)
    late = ~before
    items2 = items.copy()
    items2[late] = "p1"  # the future changes; the feature must not
    _, X2 = rf.customers.features_at(who, when, money, items2, cutoff=cutoff, target=["p1"], recommender=knn)
    np.testing.assert_array_equal(X, X2)
    with pytest.raises(ValueError, match="target"):
        rf.customers.Propensity(recommender=knn)


def test_target_features_and_labels_count_purchases_of_the_population_only():
    """Target purchases were matched to customers by a sorted search: a line of a customer
    outside the population (only returns before the cutoff) went to the next customer in
    order, and a line without a customer raised TypeError. A return of a target product is not
    a purchase of it, before the cutoff or in the label window."""
    c = np.array(["a", "a", "b", "c", "c", None, "a", "b", "c", None], dtype=object)
    t = np.array(
        ["2011-01-01", "2011-02-01", "2011-01-05", "2011-01-03", "2011-02-03", "2011-01-04", "2011-02-10"]
        + ["2011-03-05", "2011-03-06", "2011-03-07"]
    )
    amount = np.array([10.0, 5.0, -3.0, 7.0, 8.0, 4.0, 3.0, 6.0, -2.0, 1.0])
    items = np.array(["x", "y", "T", "x", "T", "T", "T", "x", "x", "x"])
    ids, X = rf.customers.features_at(c, t, amount, items, cutoff="2011-03-01", target=["T"])
    assert ids.tolist() == ["a", "c"]  # b has only a return before the cutoff
    count = X[:, rf.customers.FEATURES.index("target_purchases")]
    assert count.tolist() == [1.0, 1.0]  # a: one T; c: one T (b's returned T is nobody's)
    # c returned something in the window and bought nothing: not a buyer; b bought
    y = rf.customers.labels_after(["a", "b", "c"], c, t, cutoff="2011-03-01", amounts=amount)
    assert y.tolist() == [False, True, False]
    assert rf.customers.labels_after(["a", "b", "c"], c, t, cutoff="2011-03-01").tolist() == [False, True, True]


def test_target_products_and_buyers_are_matched_whole():
    """Target products were matched with numpy's isin after casting the target to the items'
    dtype: against a fixed-width text column ("<U2"), "T12" was cut to "T1" and T1's lines
    counted as the target's. Object ids were compared line by line against every buyer (1M
    lines, 2 minutes for ``recforge target``); now looked up in a hash table, the same answer."""
    c = np.array(["a", "b", "a", "b", "a", "b"], dtype=object)
    t = np.array(["2011-01-01", "2011-01-02", "2011-01-03", "2011-02-01", "2011-02-02", "2011-02-03"])
    items = np.array(["T1", "T1", "x", "T1", "x", "x"])  # dtype <U2
    ids, X = rf.customers.features_at(c, t, None, items, cutoff="2011-01-31", target=["T12"])
    assert X[:, rf.customers.FEATURES.index("target_purchases")].tolist() == [0.0, 0.0]
    y = rf.customers.labels_after(["a", "b"], c, t, items, cutoff="2011-01-31", target=["T12"])
    assert y.tolist() == [False, False]
    y = rf.customers.labels_after(["a", "b", "z"], c, t, items, cutoff="2011-01-31", target=["T1"])
    assert y.tolist() == [False, True, False]


def test_isin_against_numpy():
    from recforge._factorize import isin

    rng = np.random.default_rng(0)
    for values, ids in (
        (rng.integers(0, 50, 300), rng.integers(0, 80, 20)),
        (np.array([f"c{i}" for i in rng.integers(0, 50, 300)], dtype=object), [f"c{i}" for i in range(0, 80, 3)]),
        (np.array([f"c{i}" for i in rng.integers(0, 50, 300)]), np.array([], dtype=object)),
    ):
        np.testing.assert_array_equal(isin(values, ids), np.isin(values, np.asarray(ids, dtype=values.dtype)))
    # one id whether text or number; a missing id matches nothing
    assert isin(np.array(["7", "8", None], dtype=object), [7, None]).tolist() == [True, False, False]


def test_recommendation_score_feature_is_the_best_target_score():
    """With several target products the feature is each customer's best score among them (one
    top-1 list over the targets, not a ranking of all of them)."""
    who, when, money, items = random_log(7, n=800)
    cutoff = 1.6e9 + 120 * DAY
    targets = ["p1", "p2", "p3", "p4"]
    ids, X = rf.customers.features_at(
        who, when, money, items, cutoff=cutoff, target=targets, recommender=rf.ItemKNN(neighbours=5)
    )
    before = when <= cutoff
    past = rf.Interactions.from_arrays(who[before], items[before])
    model = rf.ItemKNN(neighbours=5).fit(past)
    columns = [int(np.flatnonzero(past.item_ids == t)[0]) for t in targets]
    for k, c in enumerate(ids):
        row = int(np.flatnonzero(past.user_ids == c)[0])
        each = []
        for j in columns:
            got, scores = model.recommend([row], past.matrix[[row]], k=1, exclude_seen=False, allow=[j])
            each.append(scores[0, 0] if got[0, 0] >= 0 else -np.inf)
        want = max(each)
        assert X[k, -1] == pytest.approx(want if np.isfinite(want) else 0.0)


@pytest.mark.parametrize(
    "call",
    [
        lambda x: rf.customers.rfm(x),
        lambda x: rf.customers.Segmenter().fit(x),
        lambda x: rf.customers.behaviour(x),
        lambda x: rf.customers.profile(np.zeros(1), x),
    ],
)
def test_summary_arguments_must_be_summaries(call):
    """An Interactions (or None) where a CustomerSummary belongs: a TypeError saying how to make
    one, not an AttributeError from inside."""
    for wrong in (rf.Interactions.from_arrays(["a"], ["x"]), None):
        with pytest.raises(TypeError, match="summary must be a CustomerSummary"):
            call(wrong)


def test_lift_table_and_propensity_name_their_bad_arguments():
    """numpy's "number sections must be larger than 0.", a NaN score sorted anywhere (shifting
    every decile without a word), and a cutoff error naming "as_of"."""
    labels = np.arange(20) % 2 == 0
    with pytest.raises(ValueError, match="bins must be >= 1, got 0"):
        rf.customers.lift_table(np.arange(20.0), labels, bins=0)
    with pytest.raises(ValueError, match="scores must be finite numbers: position 3"):
        rf.customers.lift_table(np.where(np.arange(20) == 3, np.nan, np.arange(20.0)), labels)
    rng = np.random.default_rng(0)
    who, when = rng.integers(0, 100, 3000), 1.7e9 + rng.uniform(0, 3e7, 3000)
    with pytest.raises(ValueError, match="cutoff holds values that are not times"):
        rf.customers.Propensity(window=30).fit(who, when, cutoff="soon")


def test_value_predictions_refuse_negative_spend_and_swapped_models():
    x, m = simulate_spend(500, (6.0, 4.0, 15.0), 1)
    gg = GammaGammaFitter().fit(x, m)
    with pytest.raises(ValueError, match="monetary_value must be >= 0 for customers with repeat purchases; 1 are"):
        gg.expected_average_value([1, 2], [-3.0, 5.0])
    assert gg.expected_average_value([0], [-3.0])[0] > 0  # no repeat purchase: the mean is not read
    bx, bt, bT = simulate_bgnbd(500, (0.5, 5.0, 0.8, 2.0), 40, 3)
    bg = BetaGeoFitter().fit(bx, bt, bT)
    with pytest.raises(TypeError, match="purchases must be a fitted BetaGeoFitter .* got GammaGammaFitter"):
        lifetime_value(gg, bg, [1.0], [1.0], [2.0], [5.0])


def test_segments_never_outnumber_the_distinct_customers():
    """Twenty customers with one profile: asked for 3 segments, k-means warned and returned one
    segment labelled as three; the automatic choice leaked scikit-learn's warnings."""
    import warnings

    customers, times, money = [f"c{i}" for i in range(20)], ["2024-01-01"] * 20, [10.0] * 20
    same = rf.customers.summary(customers, times, money, as_of="2024-02-01")
    with pytest.raises(ValueError, match=r"n_segments \(3\) is more than the customers' distinct profiles \(1\)"):
        rf.customers.Segmenter(n_segments=3).fit(same)
    with pytest.raises(ValueError, match="every customer has the same features"):
        rf.customers.Segmenter().fit(same)
    three = rf.customers.summary(
        customers + ["x", "x", "y"],
        times + ["2024-01-10", "2024-01-20", "2024-01-15"],
        money + [50.0, 70.0, 5.0],
        as_of="2024-02-01",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning from k-means on duplicate points
        fitted = rf.customers.Segmenter().fit(three)
    assert set(fitted.silhouettes_) == {2, 3} and len(np.unique(fitted.labels_)) == fitted.n_segments_


def test_profile_matches_an_interactions_rows_to_the_summarys_customers():
    """The summary lists customers by sorted id, an Interactions by first appearance: given its
    bare matrix (as many rows), profile() paired every segment with other customers' products,
    silently. An Interactions is matched by id; customers it does not hold have no products."""
    import scipy.sparse as sp

    rng = np.random.default_rng(11)
    n, items = 90, 12
    ids = np.array([f"c{i:03d}" for i in range(n)])
    s = summary(ids, 1.6e9 + rng.uniform(0, 1e6, n), rng.uniform(1, 9, n))
    labels = rng.integers(0, 3, n)
    X = sp_random(n, items, rng)  # row r: customer ids[r]
    order = rng.permutation(n)[:80]  # the Interactions holds 80 of them, in another order
    inter = rf.Interactions(X[order], ids[order], [f"i{j}" for j in range(items)])
    want_rows = X.toarray()
    want_rows[np.setdiff1d(np.arange(n), order)] = 0  # customers without interactions: no products
    want = rf.customers.profile(labels, s, sp.csr_matrix(want_rows), item_ids=inter.item_ids, top=4, min_buyers=2)
    got = rf.customers.profile(labels, s, inter, top=4, min_buyers=2)
    assert got.top_items == want.top_items and any(got.top_items)
    apart = rf.Interactions(X, [f"x{i}" for i in range(n)], inter.item_ids)
    with pytest.raises(ValueError, match="none of the summary's customers"):
        rf.customers.profile(labels, s, apart)


def test_customer_models_take_a_summary_wherever_they_take_its_columns():
    """fit took a CustomerSummary alone; the predictions and lifetime_value wanted its columns
    (a TypeError about missing arguments)."""
    s = summary(*random_log(5)[:3])
    bg = BetaGeoFitter(penalizer=0.01).fit(s)
    cols = (s.frequency, s.recency, s.T)
    np.testing.assert_array_equal(bg.probability_alive(s), bg.probability_alive(*cols))
    np.testing.assert_array_equal(bg.expected_purchases(30, s), bg.expected_purchases(30, *cols))
    gg = GammaGammaFitter(penalizer=0.01).fit(s)
    np.testing.assert_array_equal(
        gg.expected_average_value(s), gg.expected_average_value(s.frequency, s.monetary_value)
    )
    np.testing.assert_array_equal(lifetime_value(bg, gg, s), lifetime_value(bg, gg, *cols, s.monetary_value))
    with pytest.raises(TypeError, match="recency and T are needed, unless frequency is a CustomerSummary"):
        bg.probability_alive(s.frequency)
    with pytest.raises(TypeError, match="give a CustomerSummary alone"):
        bg.expected_purchases(30, s, s.recency, s.T)
    with pytest.raises(TypeError, match="monetary_value is needed"):
        gg.expected_average_value(s.frequency)
    with pytest.raises(TypeError, match="monetary_value is needed, unless frequency is a CustomerSummary"):
        lifetime_value(bg, gg, s.frequency, s.recency, s.T)


def test_every_customer_model_unfitted_raises_not_fitted_error():
    """One exception for every unfitted object (was RuntimeError here, NotFittedError for the
    recommenders, a plain ValueError for the encoder)."""
    who, when, money, _ = random_log(2)
    s = summary(who, when, money)
    calls = [
        lambda: BetaGeoFitter().probability_alive(s),
        lambda: ModifiedBetaGeoFitter().expected_purchases(10, s),
        lambda: BetaGeoFitter().expected_purchases_new(10),
        lambda: GammaGammaFitter().expected_average_value(s),
        lambda: rf.customers.Segmenter().predict(s),
        lambda: rf.customers.Propensity().predict(who, when, money, as_of=1.6e9 + 100 * DAY),
        lambda: rf.customers.Propensity().evaluate(who, when, money, cutoff=1.6e9 + 100 * DAY),
        lambda: rf.FeatureEncoder(categorical="g").transform({"g": ["x"]}),
    ]
    for call in calls:
        with pytest.raises(rf.NotFittedError, match="is not fitted yet: call fit"):
            call()
    assert not BetaGeoFitter().is_fitted and BetaGeoFitter(penalizer=0.01).fit(s).is_fitted


def test_customer_models_show_and_clone_their_parameters():
    """repr, get_params/set_params and scikit-learn's clone, as for the recommenders."""
    from sklearn.base import clone

    models = [
        BetaGeoFitter(penalizer=0.1),
        ModifiedBetaGeoFitter(n_threads=1),
        GammaGammaFitter(penalizer=0.5),
        rf.customers.Segmenter(n_segments=3, k_range=(2, 5)),
        rf.customers.Propensity(window=14, target=["p1", "p2"], recommender=rf.ItemKNN(neighbours=5)),
    ]
    for model in models:
        copy = clone(model)
        assert repr(copy) == repr(model) and copy is not model
    assert repr(models[0]) == "BetaGeoFitter(penalizer=0.1, n_threads=0)"
    assert models[4].get_params()["recommender__neighbours"] == 5
    with pytest.raises(ValueError, match="penalizer must be >= 0.0"):
        models[0].set_params(penalizer=-1.0)


def test_mle_options_are_checked():
    """max_iterations=0 or -1 reported "did not converge, try a penalizer"; "5" a TypeError
    from a comparison inside scipy."""
    x, t_x, T = simulate_bgnbd(200, (0.5, 5.0, 0.8, 2.0), 40, 3)
    for bad, error, match in [
        (dict(max_iterations=0), ValueError, "max_iterations must be >= 1, got 0"),
        (dict(max_iterations="5"), TypeError, "max_iterations must be an integer"),
        (dict(strict=1), TypeError, "strict must be a bool"),
    ]:
        with pytest.raises(error, match=match):
            BetaGeoFitter().fit(x, t_x, T, **bad)
    with pytest.raises(ValueError, match="max_iterations must be >= 1"):
        GammaGammaFitter().fit([1, 2, 3, 4], [5.0, 6.0, 7.0, 8.0], max_iterations=-1)


def test_bgnbd_without_repeat_purchases_refuses_instead_of_infinite_predictions():
    """Nobody bought twice: the likelihood does not depend on a and b, which stayed at their
    start (a = 1), and expected_purchases returned inf with a divide-by-zero warning."""
    x, t_x, T = [0, 0, 0, 0], [0, 0, 0, 0], [5.0, 6.0, 7.0, 9.0]
    with pytest.raises(ValueError, match="no customer of 4 has a repeat purchase .* penalizer"):
        BetaGeoFitter().fit(x, t_x, T)
    penalised = BetaGeoFitter(penalizer=0.001).fit(x, t_x, T)
    assert np.all(np.isfinite(penalised.expected_purchases(10, x, t_x, T)))
    assert np.all(np.isfinite(ModifiedBetaGeoFitter().fit(x, t_x, T).expected_purchases(10, x, t_x, T)))


@pytest.mark.parametrize("model", ["bgnbd_penalised", "mbgnbd", "paretonbd_penalised"])
def test_customers_never_observed_for_any_time_are_refused(model):
    """Every T 0: the likelihood is 1 whatever the parameters. BG/NBD with a penalizer returned
    the penalty's optimum (r, alpha, a, b all 6e-4) and predicted 5 purchases in 10 periods from
    nothing; MBG/NBD returned its start (1, 1, 1, 1) as a fit."""
    fitter = {
        "bgnbd_penalised": BetaGeoFitter(penalizer=0.001),
        "mbgnbd": ModifiedBetaGeoFitter(),
        "paretonbd_penalised": rf.customers.ParetoNBDFitter(penalizer=0.001),
    }[model]
    with pytest.raises(ValueError, match="every customer's T is 0: nobody was observed for any time"):
        fitter.fit(np.zeros(5), np.zeros(5), np.zeros(5))


def test_propensity_at_the_logs_start_warns_of_nothing():
    """A cutoff a day after the first line: the BG/NBD features of that day (nobody repeats)
    were tried at a = 1 and leaked numpy's divide-by-zero warnings before the next fit."""
    import warnings

    who, when, money, _ = random_log(3, n=3000, customers=300)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ids, X = rf.customers.features_at(who, when, money, cutoff=float(np.min(when)) + DAY)
    assert np.all(np.isfinite(X)) and ids.size > 0


def test_propensity_target_is_one_product_or_a_list_and_must_be_in_the_log():
    """A product id given as text was split into its characters (a target of "8", "5", "1",
    ...); an empty target, or ids of another type than the log's, said "no customer bought"."""
    who, when, money, items = random_log(6, n=3000, customers=150)
    cutoff = 1.6e9 + 150 * DAY
    assert rf.customers.Propensity(target="p1").target == ["p1"]
    one = rf.customers.features_at(who, when, money, items, cutoff=cutoff, target="p1")[1]
    listed = rf.customers.features_at(who, when, money, items, cutoff=cutoff, target=["p1"])[1]
    np.testing.assert_array_equal(one, listed)
    with pytest.raises(ValueError, match="target must name at least one product"):
        rf.customers.Propensity(target=[])
    with pytest.raises(TypeError, match="target must be a product id or a list of product ids"):
        rf.customers.Propensity(target=object())
    with pytest.raises(ValueError, match=r"target \(1, 2\) names no product of items"):
        rf.customers.Propensity(target=[1, 2]).fit(who, when, money, items, cutoff=cutoff)


def test_a_failed_propensity_refit_leaves_the_model_as_it_was():
    """The segmenter and feature names were replaced before the fit could fail, and a
    set_params(segmenter=None) refit still added the old segmenter's column."""
    who, when, money, _ = random_log(7, n=4000, customers=200)
    cutoff, later = 1.6e9 + 120 * DAY, 1.6e9 + 150 * DAY
    model = rf.customers.Propensity(segmenter=rf.customers.Segmenter(n_segments=2)).fit(who, when, money, cutoff=cutoff)
    before = model.predict(who, when, money, as_of=later)[1]
    names, segmenter = model.feature_names_, model.segmenter_
    with pytest.raises(ValueError, match="nothing to learn|too few"):
        model.fit(who, when, money, cutoff=1.6e9 + 400 * DAY)
    assert model.feature_names_ is names and model.segmenter_ is segmenter
    np.testing.assert_array_equal(model.predict(who, when, money, as_of=later)[1], before)
    model.set_params(segmenter=None).fit(who, when, money, cutoff=cutoff)
    assert model.segmenter_ is None and "segment" not in model.feature_names_
    assert model.predict(who, when, money, as_of=later)[1].shape == before.shape


def test_lift_table_labels_are_bought_or_not():
    """Labels were cast to bool: 2, 0.5 or "no" counted as buyers; and a table with fewer
    customers than bins said the lengths differed."""
    scores = np.arange(20.0)
    for labels in ([2] * 10 + [0] * 10, [0.5] * 20):
        with pytest.raises(ValueError, match="labels must be True/False or 1/0"):
            rf.customers.lift_table(scores, labels)
    with pytest.raises(ValueError, match="labels must hold numbers"):
        rf.customers.lift_table(scores, ["no"] * 20)
    ones = rf.customers.lift_table(scores, (np.arange(20) % 3 == 0).astype(int), bins=4)
    flags = rf.customers.lift_table(scores, np.arange(20) % 3 == 0, bins=4)
    assert ones.buyers.tolist() == flags.buyers.tolist()
    with pytest.raises(ValueError, match="10 bins need at least 10 customers, got 3"):
        rf.customers.lift_table(scores[:3], [0, 1, 0])


def test_rfm_rules_must_fit_the_scores():
    """The default rules (for 5 bins) on 3 bins named the best customers "Need Attention", and on
    10 bins left the top scores to "Other"; a rule no score can meet was silently empty."""
    s = summary(*random_log(8)[:3])
    for bins in (3, 10):
        with pytest.raises(ValueError, match=f"default segment rules are for bins=5: with bins={bins}, give rules="):
            rf.customers.rfm(s, bins=bins)
    assert set(rf.customers.rfm(s, bins=10, rules=()).segment) == {"Other"}
    for rules, match in [
        (
            (("x", (6, 7), (1, 1)),),
            r"rule 'x': a score range must have 1 <= low <= high and <= bins \(5\), got \(6, 7\)",
        ),
        ((("x", (3, 1), (1, 1)),), r"got \(3, 1\)"),
        ((("x", (1,), (1, 1)),), "each rule must be"),
        (((5, (1, 5), (1, 5)),), "each rule must be"),
        ((("x", (1.5, 2), (1, 1)),), "whole scores"),
    ]:
        with pytest.raises(ValueError, match=match):
            rf.customers.rfm(s, rules=rules)
    with pytest.raises(ValueError, match="recency_score must hold whole scores >= 1"):
        rf.customers.segment([0, 1], [1, 1])
    with pytest.raises(ValueError, match="frequency_score must hold whole scores >= 1"):
        rf.customers.segment([1], [1.5])


def test_summary_select_names_a_bad_selection():
    s = summary(*random_log(9)[:3])
    assert len(s.select(s.frequency > 0)) == int((s.frequency > 0).sum())
    assert s.select([0, -1]).customer_ids.tolist() == [s.customer_ids[0], s.customer_ids[-1]]
    assert len(s.select([])) == 0
    with pytest.raises(ValueError, match=rf"rows as a mask must hold one bool per customer \({len(s)}\)"):
        s.select(np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="positions outside"):
        s.select([len(s)])
    with pytest.raises(TypeError, match="rows must be a boolean mask or 1-D positions"):
        s.select("c01")


def test_calibration_holdout_names_its_dates():
    who, when, money, _ = random_log(10)
    with pytest.raises(ValueError, match=r"cutoff 2021-\S+ must fall on a day before the last line's \(2021-\S+\)"):
        rf.customers.calibration_holdout(who, when, money, cutoff=float(when.max()) + DAY)
    with pytest.raises(ValueError, match=r"end 2020-\S+ must fall on a day after cutoff 2020-\S+"):
        rf.customers.calibration_holdout(who, when, money, cutoff=1.6e9 + 100 * DAY, end=1.6e9 + 50 * DAY)


def test_profile_reports_only_the_size_of_a_segment_below_min_size():
    """The means of a segment of one are that customer's own figures: min_size hid the products
    and printed the rest."""
    who, when, money, _ = random_log(11)
    s = summary(who, when, money)
    labels = np.where(np.arange(len(s)) < 3, 1, 0)  # a segment of three
    prof = rf.customers.profile(labels, s, min_size=5)
    assert prof.customers.tolist() == [len(s) - 3, 3]
    for figures in (prof.revenue_share, prof.mean_since_last, prof.mean_transactions, prof.mean_total_value):
        assert np.isfinite(figures[0]) and np.isnan(figures[1])
    assert str(prof).splitlines()[-1] == "| 1 | 3 | " + f"{3 / len(s):.1%}" + " | suppressed | | | | | |"
    assert prof.rfm_segment[1] is None
    shown = rf.customers.profile(labels, s, min_size=3)
    np.testing.assert_allclose(shown.mean_total_value[1], s.total_value[:3].mean())


def test_profile_reads_each_segment_in_the_named_rfm_segments():
    """k-means segments are numbers: each is read in the marketing names too, as the most common
    named RFM segment among its customers and its share (ties to the first name in order)."""
    who, when, money, _ = random_log(13, n=2000, customers=120)
    s = summary(who, when, money)
    labels = np.random.default_rng(3).integers(0, 4, len(s))
    prof = rf.customers.profile(labels, s)
    named = rf.customers.rfm(s).segment
    for i, seg in enumerate(prof.segment):
        counts = {}
        for name in named[labels == seg].tolist():
            counts[name] = counts.get(name, 0) + 1
        top = max(sorted(counts), key=lambda name: counts[name])
        assert prof.rfm_segment[i] == (top, pytest.approx(counts[top] / (labels == seg).sum()))
        assert f"| {top} {counts[top] / (labels == seg).sum():.0%} |" in str(prof).splitlines()[i + 2]


def test_the_recommender_feature_never_fits_the_callers_model():
    """A copy of the recommender is fitted at each cutoff; for a wrapper (ColdStart) the copy
    shared the wrapped model, which was refitted on the cutoff's past: the caller's fitted
    model changed under them."""
    who, when, money, items = random_log(12, n=3000, customers=150)
    inner = rf.ItemKNN(neighbours=5)
    wrapper = rf.ColdStart(inner)
    rf.customers.features_at(who, when, money, items, cutoff=1.6e9 + 150 * DAY, target=["p1"], recommender=wrapper)
    assert not inner.is_fitted and not wrapper.is_fitted
    with pytest.raises(TypeError, match="recommender must be a recforge model .* got the class ItemKNN"):
        rf.customers.Propensity(target=["p1"], recommender=rf.ItemKNN)


def test_segmenter_predict_names_a_taste_unlike_the_fits():
    """Fitted with taste, predicted without (or with other columns): scikit-learn's "X has 3
    features, but KMeans is expecting 7 features as input"."""
    rng = np.random.default_rng(3)
    s = summary(*random_log(13, n=3000, customers=200)[:3])
    seg = rf.customers.Segmenter(n_segments=3).fit(s, taste=rng.random((len(s), 4)))
    for taste in (None, rng.random((len(s), 5))):
        with pytest.raises(ValueError, match="fitted with taste of 4 columns: give predict the same"):
            seg.predict(s, taste=taste)
    assert seg.predict(s, taste=rng.random((len(s), 4))).shape == (len(s),)
    with pytest.raises(ValueError, match="fitted with no taste"):
        rf.customers.Segmenter(n_segments=3).fit(s).predict(s, taste=rng.random((len(s), 2)))
    with pytest.raises(TypeError, match="taste must be a matrix of numbers"):
        rf.customers.Segmenter(n_segments=3).fit(s, taste="factors")
    with pytest.raises(ValueError, match="taste has no columns"):
        rf.customers.Segmenter(n_segments=3).fit(s, taste=np.ones((len(s), 0)))


def test_propensity_features_net_returns_on_request():
    """recforge target --returns net was ignored: the features' summaries always dropped returns."""
    import pickle

    who = ["a", "a", "a", "b", "b"]
    when = [1.6e9, 1.6e9 + 3600, 1.6e9 + 10 * DAY, 1.6e9, 1.6e9 + 5 * DAY]
    money = [50.0, -20.0, 10.0, 5.0, 5.0]
    cutoff = 1.6e9 + 20 * DAY
    total = rf.customers.FEATURES.index("total_value")
    dropped = rf.customers.features_at(who, when, money, cutoff=cutoff)[1][:, total]
    netted = rf.customers.features_at(who, when, money, cutoff=cutoff, returns="net")[1][:, total]
    assert dropped.tolist() == [60.0, 10.0] and netted.tolist() == [40.0, 10.0]
    assert rf.customers.Propensity(returns="net").returns == "net"
    with pytest.raises(ValueError, match="returns must be one of 'drop', 'net'"):
        rf.customers.Propensity(returns="keep")
    old = rf.customers.Propensity()
    del old.__dict__["returns"]  # a pickle of a model made before the parameter
    assert pickle.loads(pickle.dumps(old)).returns == "drop" and "returns='drop'" in repr(old)


def test_an_as_of_far_after_the_log_is_said(tmp_path, capsys):
    """CDNOW (1997-01-01 to 1998-06-30) measured as of 2011-09-01: 13 years of silence for every
    customer, read as such by BG/NBD (r 0.13, a 3.33 against 0.27, 0.48 at the last line),
    without a word. An --as-of further after the last transaction than the log is long is said;
    one a few days after it, or none, is not."""
    from recforge.cli import main

    rng = np.random.default_rng(0)
    days = np.sort(rng.integers(0, 200, 600))
    who = rng.integers(0, 80, days.size)
    spend = rng.gamma(4.0, rng.gamma(2.0, 10.0, 80)[who] / 4)  # customers spend on their own scales
    lines = [f"C{c},{np.datetime64('2020-01-01') + d},{m:.2f}" for c, d, m in zip(who, days, spend)]
    log = tmp_path / "log.csv"
    log.write_text("customer,date,amount\n" + "\n".join(lines) + "\n")
    argv = ["--data", str(log), "--user-col", "customer", "--time-col", "date", "--amount-col", "amount", "--quiet"]
    for command in ("customers", "clv"):
        for as_of, said in ((["--as-of", "2021-06-01"], True), (["--as-of", "2020-07-25"], False), ([], False)):
            steady = ["--penalizer", "0.01", "--spend-penalizer", "0.01", "--accept-bounds"] if command == "clv" else []
            assert main([command, *argv, *as_of, *steady, "--out", str(tmp_path / f"{command}.csv")]) == 0
            err = capsys.readouterr().err
            assert ("days after the log's last transaction" in err) == said, (command, as_of, err)
            if said:
                assert "--as-of 2021-06-01T00:00:00 is " in err and "leave --as-of out" in err


def test_a_log_where_every_customer_ties_is_said(tmp_path, capsys):
    """One day of Online Retail made every customer R 1 F 1, "Lost", without a word: the scores
    rank tied customers at the lowest score. A log where everyone ties on recency or frequency
    is said; one where they differ is not."""
    from recforge.cli import main

    one_day = "customer,date,amount\n" + "".join(f"C{i},2010-12-01,{i + 1}.5\n" for i in range(30))
    (tmp_path / "day.csv").write_text(one_day)
    two_days = one_day + "C0,2010-12-02,3.0\n"
    (tmp_path / "days.csv").write_text(two_days)
    argv = ["customers", "--user-col", "customer", "--time-col", "date", "--amount-col", "amount", "--quiet"]
    assert main([*argv, "--data", str(tmp_path / "day.csv"), "--out", str(tmp_path / "c.csv")]) == 0
    out, err = capsys.readouterr()
    assert "Lost 30" in out
    assert "every customer has the same recency (0 days since the last purchase) and frequency (1 transaction)" in err
    assert main([*argv, "--data", str(tmp_path / "days.csv"), "--out", str(tmp_path / "c.csv")]) == 0
    assert "every customer has the same" not in capsys.readouterr().err


def test_clv_does_not_read_an_item_column_it_has_no_use_for(tmp_path, capsys):
    """recforge clv shared customers' --item-col ("for the segments' top products"): it read the
    column, used it nowhere, and failed on a log without it. It is taken, so that one set of
    options serves customers, clv and target, and not read; its help says so."""
    from recforge.cli import main

    ev = rf.datasets.sample().interactions.events  # the shipped shop's purchases, without products
    log = tmp_path / "log.csv"
    lines = (f"{c},{int(t)},{float(m)!r}" for c, t, m in zip(ev.user_ids[ev.user], ev.time, ev.amount))
    log.write_text("customer,time,amount\n" + "\n".join(lines) + "\n")
    out = tmp_path / "v.csv"
    argv = ["clv", "--data", str(log), "--user-col", "customer", "--amount-col", "amount", "--accept-bounds"]
    assert main([*argv, "--quiet", "--item-col", "sku", "--out", str(out)]) == 0, capsys.readouterr().err
    assert out.exists()
    with pytest.raises(SystemExit):
        main(["clv", "--help"])
    assert "not read: lifetime value is per customer" in " ".join(capsys.readouterr().out.split())


def test_the_returns_hint_names_a_customer_as_the_table_writes_them(tmp_path, capsys):
    """A Parquet customer column with a gap is a float column: the hint named "12346.0" while
    the customer table wrote 12346."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    from recforge.cli import main

    log = pd.DataFrame(
        {
            "customer": [12346.0, 12346.0, 12347.0, None, 12347.0],
            "date": pd.to_datetime(["2011-01-18", "2011-01-18", "2011-01-20", "2011-01-21", "2011-02-01"]),
            "amount": [77183.6, -77183.6, 20.0, 5.0, 30.0],
        }
    )
    log.to_parquet(tmp_path / "log.parquet")
    out = tmp_path / "c.csv"
    argv = ["customers", "--data", str(tmp_path / "log.parquet"), "--user-col", "customer", "--time-col", "date"]
    assert main([*argv, "--amount-col", "amount", "--out", str(out), "--quiet"]) == 0
    said = capsys.readouterr()
    assert "(e.g. 12346: 77,183.60 of 77,183.60)" in said.out + said.err
    assert pd.read_csv(out, dtype=str)["customer"].tolist() == ["12346", "12347"]


def test_a_segments_products_are_what_its_customers_bought_not_returned(tmp_path, capsys):
    """recforge customers --segments read every line with a product as bought: Online Retail's
    "Discount" lines (negative amounts) headed a segment's top products. With --amount-col, a
    line of negative amount (a return, a cancellation, a discount) names no product bought."""
    from recforge.cli import main

    rng = np.random.default_rng(4)
    lines = []
    for c in range(60):
        heavy = c < 20  # a segment of frequent, big spenders
        for d in range(12 if heavy else 2):
            lines.append(
                f"C{c},2011-0{1 + d % 9}-1{d % 9},{'P1' if heavy else 'P2'},{rng.uniform(50, 90) if heavy else 5:.2f}"
            )
        if heavy:
            lines += [f"C{c},2011-03-0{1 + k},DISCOUNT,-10.00" for k in range(3)]  # only "bought" back
    (tmp_path / "log.csv").write_text("customer,date,sku,amount\n" + "\n".join(lines) + "\n")
    argv = ["customers", "--data", str(tmp_path / "log.csv"), "--user-col", "customer", "--time-col", "date"]
    argv += ["--amount-col", "amount", "--item-col", "sku", "--segments", "2", "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "c.csv")]) == 0
    out = capsys.readouterr().out
    assert "DISCOUNT" not in out and "P1 (" in out


def test_as_of_a_date_counts_that_whole_day(tmp_path, capsys):
    """--as-of 2020-03-10 counts 10 March: T counts it, so its purchases count, as lifetimes'
    observation_period_end has it. The cut at its midnight dropped the day's lines, aged every
    customer a day without a purchase, and target scored as of a midnight."""
    import pandas as pd
    from recforge.cli import main

    lifetimes_utils = pytest.importorskip("lifetimes.utils", reason="lifetimes is the reference (test extra)")

    rng = np.random.default_rng(3)
    n = 500
    when = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 100 * 86400, n), unit="s")
    log = pd.DataFrame({"customer": rng.integers(0, 60, n), "time": when, "amount": rng.gamma(2.0, 10.0, n).round(2)})
    log["product"] = np.where(rng.random(n) < 0.3, "P1", "P2")
    path = tmp_path / "log.csv"
    log.to_csv(path, index=False)
    day = log.time.dt.floor("D") == pd.Timestamp("2020-03-10")
    later = log.time.dt.floor("D") > pd.Timestamp("2020-03-10")
    assert day.sum() > 0 and later.sum() > 0
    argv = ["--data", str(path), "--user-col", "customer", "--amount-col", "amount", "--as-of", "2020-03-10"]
    assert main(["customers", *argv, "--out", str(tmp_path / "c.csv")]) == 0
    assert f"after_as_of {later.sum()}" in capsys.readouterr().out
    got = pd.read_csv(tmp_path / "c.csv").set_index("customer").sort_index()
    want = lifetimes_utils.summary_data_from_transaction_data(
        log, "customer", "time", observation_period_end="2020-03-10"
    )
    np.testing.assert_array_equal(got.transactions, want.frequency + 1)
    np.testing.assert_array_equal(got.days_since_last, want["T"] - want.recency)
    out = tmp_path / "t.csv"
    assert main(["target", *argv, "--item-col", "product", "--item", "P1", "--window", "20", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert f"after_as_of {later.sum()}" in said and "in the 20 days after 2020-03-10 (of" in said


@pytest.mark.filterwarnings("ignore:Converting to Period")  # lifetimes' own, on aware times
def test_aware_times_are_counted_in_their_own_calendar_days():
    """A time-zone aware column was taken in UTC: a Sydney shop's purchases at 9:00 and 23:00 of
    one day fell on two UTC days, two transactions, and on random logs in Sydney, Los Angeles
    and Kolkata 189 to 289 of 300 customers' frequency, recency or T differed from lifetimes'
    (which counts the zone's own days, as a shop does). They are counted in the zone's days."""
    pd = pytest.importorskip("pandas")
    times = pd.Series(pd.to_datetime(["2011-01-03 09:00", "2011-01-03 23:00", "2011-01-10 09:00", "2011-01-03 12:00"]))
    local = times.dt.tz_localize("Australia/Sydney")
    s = summary(
        ["a", "a", "a", "b"], local, [1.0, 2.0, 3.0, 4.0], as_of=pd.Timestamp("2011-01-31", tz="Australia/Sydney")
    )
    naive = summary(["a", "a", "a", "b"], times, [1.0, 2.0, 3.0, 4.0], as_of="2011-01-31")
    for column in ("frequency", "recency", "T", "monetary_value"):
        np.testing.assert_array_equal(getattr(s, column), getattr(naive, column))
    assert s.frequency.tolist() == [1, 0] and s.T.tolist() == [28, 28]
    # the same instants in UTC are other days: as the library takes epoch seconds (UTC)
    utc = summary(["a", "a", "a", "b"], local.dt.tz_convert("UTC"), [1.0] * 4, as_of="2011-01-31")
    assert utc.frequency.tolist() == [2, 0]
    lifetimes = pytest.importorskip("lifetimes", reason="lifetimes is the reference (test extra)")
    rng = np.random.default_rng(0)
    for zone in ("America/Los_Angeles", "Asia/Kolkata"):
        moments = pd.Timestamp("2011-01-01") + pd.to_timedelta(rng.uniform(0, 300 * 86400, 2000), unit="s")
        log = pd.DataFrame({"c": rng.integers(0, 200, 2000), "t": moments, "v": rng.uniform(1, 50, 2000)})
        log["t"] = log.t.dt.tz_localize(zone, nonexistent="shift_forward", ambiguous="NaT")
        log = log.dropna()
        end = pd.Timestamp("2011-11-30", tz=zone)
        ours = summary(log.c, log.t, log.v, as_of=end).to_pandas()
        theirs = lifetimes.utils.summary_data_from_transaction_data(
            log, "c", "t", monetary_value_col="v", observation_period_end=end
        )
        for column in ("frequency", "recency", "T"):
            np.testing.assert_array_equal(ours[column].to_numpy(), theirs.loc[ours.index, column].to_numpy())

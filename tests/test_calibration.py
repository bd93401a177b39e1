"""rf.customers.calibration_holdout and its check: the holdout purchases against a plain-Python
count, the table against a hand computation with a stub model, and both against lifetimes'
calibration_and_holdout_data on CDNOW's log."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import recforge as rf
from recforge.cli import main

DAY = 86400.0
CDNOW = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "cdnow"


def random_log(seed: int, n: int = 600, customers: int = 50):
    rng = np.random.default_rng(seed)
    who = rng.choice([f"c{i}" for i in range(customers)], n)
    times = 1.6e9 + rng.uniform(0, 300 * DAY, n)
    amounts = np.round(rng.normal(20, 15, n), 2)  # some negative: returns
    return who, times, amounts


def reference_holdout(customers, times, amounts, cutoff, end, returns):
    """Per calibration customer: transactions (days with purchases) and value in the days after
    the cutoff's, up to the end's (whole days, as the summaries count them)."""
    day = lambda t: math.floor(t / DAY)  # noqa: E731
    before = {c for c, t, a in zip(customers, times, amounts) if day(t) <= day(cutoff) and (returns == "net" or a >= 0)}
    days = {}
    for c, t, a in zip(customers, times, amounts):
        if day(cutoff) < day(t) <= day(end) and (returns == "net" or a >= 0):
            days.setdefault(c, {}).setdefault(math.floor(t / DAY), 0.0)
            days[c][math.floor(t / DAY)] += a
    out = {}
    for c, slots in days.items():
        kept = [v for v in slots.values() if returns == "drop" or v > 0]
        out[c] = (len(kept), sum(kept))
    return before, out


@pytest.mark.parametrize("returns", ["drop", "net"])
def test_holdout_purchases_match_plain_python(returns):
    customers, times, amounts = random_log(3)
    cutoff, end = 1.6e9 + 200 * DAY, 1.6e9 + 280 * DAY
    cut = rf.customers.calibration_holdout(customers, times, amounts, cutoff=cutoff, end=end, returns=returns)
    np.testing.assert_array_equal(
        cut.calibration.customer_ids,
        rf.customers.summary(customers, times, amounts, as_of=cutoff, returns=returns).customer_ids,
    )
    before, want = reference_holdout(customers, times, amounts, cutoff, end, returns)
    ids = cut.calibration.customer_ids.tolist()
    assert cut.purchases.tolist() == [want.get(c, (0, 0.0))[0] for c in ids]
    np.testing.assert_allclose(cut.value, [want.get(c, (0, 0.0))[1] for c in ids], atol=1e-9)
    assert cut.duration == math.floor(end / DAY) - math.floor(cutoff / DAY) and cut.end == end
    assert cut.report["new_customers"] == len(set(want) - set(ids))
    days = np.floor(times / DAY)
    assert cut.report["holdout_lines"] == int(
        ((days > math.floor(cutoff / DAY)) & (days <= math.floor(end / DAY))).sum()
    )
    # the cut falls inside a day: that day's lines after its moment are the calibration's too
    assert ((times > cutoff) & (days == math.floor(cutoff / DAY))).any()


class Stub:
    """A purchases model whose expectation is known: duration / 100 per repeat purchase + 0.1."""

    def expected_purchases(self, t, frequency, recency, T):
        return t / 100 * np.asarray(frequency) + 0.1


class StubSpend:
    def expected_average_value(self, frequency, monetary_value):
        return np.asarray(monetary_value) * 2.0


def test_the_check_table_by_calibration_frequency():
    customers, times, amounts = random_log(4, n=2000, customers=400)
    cut = rf.customers.calibration_holdout(customers, times, amounts, cutoff=1.6e9 + 150 * DAY)
    check = cut.check(Stub(), StubSpend(), max_frequency=3)
    s = cut.calibration
    predicted = cut.duration / 100 * s.frequency + 0.1
    row = np.minimum(s.frequency, 3)
    assert check.frequency.tolist() == [0, 1, 2, 3] and check._labels()[-1] == "3+"
    for r in range(4):
        mine = row == r
        assert check.customers[r] == mine.sum()
        assert check.actual[r] == pytest.approx(cut.purchases[mine].mean())
        assert check.predicted[r] == pytest.approx(predicted[mine].mean())
    assert check.total_actual == cut.purchases.sum() and check.total_predicted == pytest.approx(predicted.sum())
    assert check.mean_absolute_error == pytest.approx(np.abs(predicted - cut.purchases).mean())
    assert check.root_mean_squared_error == pytest.approx(np.sqrt(((predicted - cut.purchases) ** 2).mean()))
    both = (s.frequency > 0) & (cut.purchases > 0)
    assert check.spend_customers == both.sum() > 0
    assert check.spend_predicted == pytest.approx((2 * s.monetary_value[both]).mean())
    assert check.spend_actual == pytest.approx((cut.value[both] / cut.purchases[both]).mean())
    text = str(check)
    assert "| 3+ |" in text and "spend per purchase" in text and "predicted" in text
    assert list(check.to_pandas().index) == ["0", "1", "2", "3+"]
    without = cut.check(Stub())
    assert without.spend_customers == 0 and math.isnan(without.spend_actual) and "spend" not in str(without)


def test_refusals_and_an_empty_holdout():
    customers, times, amounts = random_log(5)
    with pytest.raises(ValueError, match="must fall on a day before the last line"):
        rf.customers.calibration_holdout(customers, times, amounts, cutoff=times.max())
    with pytest.raises(ValueError, match="end .* must fall on a day after cutoff"):
        rf.customers.calibration_holdout(customers, times, amounts, cutoff=1.6e9 + 10 * DAY, end=1.6e9)
    with pytest.raises(ValueError, match="end .* must fall on a day after cutoff"):  # later, but that same day
        rf.customers.calibration_holdout(customers, times, amounts, cutoff=1.6e9 + 10 * DAY, end=1.6e9 + 10.2 * DAY)
    cut = rf.customers.calibration_holdout(customers, times, amounts, cutoff=1.6e9 + 100 * DAY)
    with pytest.raises(TypeError, match="purchases must be a fitted BetaGeoFitter"):
        cut.check(StubSpend())
    with pytest.raises(TypeError, match="spend must be a fitted GammaGammaFitter"):
        cut.check(Stub(), Stub())
    with pytest.raises(ValueError, match="max_frequency"):
        cut.check(Stub(), max_frequency=0)
    # every holdout line a return: nobody bought in the holdout
    late = np.floor(times / DAY) > math.floor((1.6e9 + 100 * DAY) / DAY)
    cut = rf.customers.calibration_holdout(
        customers, times, np.where(late, -5.0, np.abs(amounts)), cutoff=1.6e9 + 100 * DAY
    )
    assert cut.purchases.sum() == 0 and cut.report["holdout_lines"] == late.sum()
    assert "no purchase" in str(cut.check(Stub()))


@pytest.mark.skipif(not CDNOW.is_dir(), reason="needs ../shared/datasets/cdnow (the shared data sets)")
def test_cdnow_check_equals_lifetimes():
    """The paper's design on the whole CDNOW log: calibration to 1997-09-30, holdout to
    1998-06-30; lifetimes' calibration_and_holdout_data, fit and conditional expectations."""
    pd = pytest.importorskip("pandas")
    lifetimes = pytest.importorskip("lifetimes", reason="lifetimes is the reference (test extra)")
    from lifetimes.utils import calibration_and_holdout_data

    log = pd.read_csv(CDNOW / "CDNOW_master.txt", sep=r"\s+", dtype={"customer_id": str, "date": str})
    cut = rf.customers.calibration_holdout(
        log.customer_id, log.date, log.dollar_value, cutoff="19970930", end="19980630"
    )
    want = calibration_and_holdout_data(
        log, "customer_id", "date", calibration_period_end="19970930", observation_period_end="19980630",
        datetime_format="%Y%m%d", freq="D", monetary_value_col="dollar_value",
    )  # fmt: skip
    want = want.loc[cut.calibration.customer_ids]
    np.testing.assert_array_equal(cut.calibration.frequency, want.frequency_cal)
    np.testing.assert_array_equal(cut.calibration.T, want.T_cal)
    np.testing.assert_array_equal(cut.purchases, want.frequency_holdout)
    assert cut.duration == want.duration_holdout.iloc[0] == 273
    bg = rf.customers.BetaGeoFitter().fit(cut.calibration)
    theirs = lifetimes.BetaGeoFitter().fit(want.frequency_cal, want.recency_cal, want.T_cal)
    for name in ("r", "alpha", "a", "b"):
        assert bg.params_[name] == pytest.approx(theirs.params_[name], rel=1e-4)
    expected = theirs.conditional_expected_number_of_purchases_up_to_time(
        want.duration_holdout, want.frequency_cal, want.recency_cal, want.T_cal
    )
    table = pd.DataFrame({"f": want.frequency_cal.clip(upper=7), "a": want.frequency_holdout, "p": expected})
    table = table.groupby("f").mean()
    check = cut.check(bg)
    np.testing.assert_allclose(check.actual, table["a"], rtol=1e-12)
    np.testing.assert_allclose(check.predicted, table["p"], rtol=1e-4)
    assert check.total_actual == 19_684


def test_clv_checks_on_a_holdout_first(tmp_path, capsys):
    out = tmp_path / "clv.csv"
    assert main(["clv", "--data", "sample", "--calibration-end", "2011-09-01", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "check: fitted on " in printed and "lines up to 2011-09-01" in printed
    assert "| repeat purchases in calibration |" in printed and "| 7+ |" in printed
    assert "customers first bought after it" in printed and out.exists()
    for date, message in (
        ("2099-01-01", "must fall on a day before the last line"),
        ("soon", "--calibration-end: cutoff"),
    ):
        assert main(["clv", "--data", "sample", "--calibration-end", date, "--quiet"]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1


@pytest.mark.skipif(not CDNOW.is_dir(), reason="needs ../shared/datasets/cdnow (the shared data sets)")
def test_clv_with_mbgnbd_gives_one_time_buyers_a_chance_of_having_left(tmp_path, capsys):
    """Under BG/NBD a customer who bought once is alive with probability 1, however long ago:
    p_alive, read as 1 - churn risk, was 1 for CDNOW's 60% of one-time buyers, and as a score of
    who buys again it ranked worse than chance. --model mbgnbd fits MBG/NBD."""
    pd = pytest.importorskip("pandas")
    log = str(CDNOW / "CDNOW_master.txt")
    columns = ["--sep", "whitespace", "--user-col", "customer_id", "--time-col", "date", "--amount-col", "dollar_value"]
    tables = {}
    for model in ("bgnbd", "mbgnbd"):
        out = tmp_path / f"{model}.csv"
        assert main(["clv", "--data", log, *columns, "--model", model, "--out", str(out), "--quiet"]) == 0
        tables[model] = pd.read_csv(out, dtype={"customer": str})
    printed = capsys.readouterr().out
    assert "\nMBG/NBD: r=" in printed and "\nBG/NBD: r=" in printed
    frame = pd.read_csv(log, sep=r"\s+", dtype={"customer_id": str, "date": str})
    once = tables["bgnbd"].customer.isin(frame.customer_id.value_counts().index[frame.customer_id.value_counts() == 1])
    assert once.mean() > 0.4 and (tables["bgnbd"].p_alive[once] == 1).all()
    assert (tables["mbgnbd"].p_alive[once] < 0.5).all()
    with pytest.raises(SystemExit) as stopped:
        main(["clv", "--data", "sample", "--model", "pareto"])
    assert stopped.value.code == 2 and "invalid choice: 'pareto'" in capsys.readouterr().err

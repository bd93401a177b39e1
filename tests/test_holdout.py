"""Control groups (rf.campaign.holdout) and the lift measured on them (rf.campaign.lift):
membership is a property of the customer and the seed alone, the share is the fraction up to
binomial noise, and the lift's test and interval agree with scipy's and cover as they claim."""

from __future__ import annotations

import numpy as np
import pytest
import recforge as rf
from scipy import stats


def ids(n: int, start: int = 0) -> np.ndarray:
    return np.array([f"C{i:08d}" for i in range(start, start + n)], dtype=object)


def test_membership_depends_on_the_customer_and_the_seed_only():
    everyone = ids(5000)
    held = rf.campaign.holdout(everyone, 0.2, seed=3)
    order = np.random.default_rng(0).permutation(everyone.size)
    np.testing.assert_array_equal(rf.campaign.holdout(everyone[order], 0.2, seed=3), held[order])
    # a customer base that grows keeps everyone's group (a universal control group)
    grown = np.concatenate([everyone, ids(3000, start=10**6)])
    np.testing.assert_array_equal(rf.campaign.holdout(grown, 0.2, seed=3)[: everyone.size], held)
    # hashed as text, as pseudonyms are: 5 and "5" are one customer; the shape is kept
    assert rf.campaign.holdout([5, 17, 23], 0.5).tolist() == rf.campaign.holdout(["5", "17", "23"], 0.5).tolist()
    assert rf.campaign.holdout(everyone[:12].reshape(3, 4), 0.2, seed=3).tolist() == held[:12].reshape(3, 4).tolist()
    # a larger fraction holds out a superset: the draw is one number per customer
    assert not (held & ~rf.campaign.holdout(everyone, 0.3, seed=3)).any()
    assert not rf.campaign.holdout(everyone, 0.0).any()


def test_the_share_is_the_fraction_and_seeds_draw_independent_groups():
    n, f = 200_000, 0.1
    everyone = ids(n)
    a = rf.campaign.holdout(everyone, f, seed=0)
    b = rf.campaign.holdout(everyone, f, seed=1)
    sd = np.sqrt(f * (1 - f) / n)
    assert abs(a.mean() - f) < 5 * sd and abs(b.mean() - f) < 5 * sd
    both = f * f
    assert abs((a & b).mean() - both) < 5 * np.sqrt(both * (1 - both) / n)  # independent draws


@pytest.mark.parametrize(
    "args, kwargs, error, message",
    [
        ((["a"], 1.0), {}, ValueError, "below 1"),
        ((["a"], -0.1), {}, ValueError, "fraction"),
        ((["a"], float("nan")), {}, ValueError, "fraction"),
        ((["a"], "0.1"), {}, TypeError, "fraction"),
        ((["a"], 0.1), {"seed": -1}, ValueError, "seed"),
        ((["a", None], 0.1), {}, ValueError, "missing id"),
        ((["a", float("nan")], 0.1), {}, ValueError, "missing id"),
    ],
)
def test_holdout_refuses_what_it_cannot_draw(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        rf.campaign.holdout(*args, **kwargs)


@pytest.mark.parametrize(
    "x_t, n_t, x_c, n_c", [(120, 1000, 9, 100), (5, 40, 30, 60), (0, 50, 3, 70), (333, 3000, 33, 300)]
)
def test_lift_agrees_with_the_chi_square_test_of_the_table(x_t, n_t, x_c, n_c):
    treated = np.arange(n_t) < x_t
    control = np.arange(n_c) < x_c
    got = rf.campaign.lift(treated, control)
    assert got["treated"] == x_t / n_t and got["control"] == x_c / n_c
    assert got["n_treated"] == n_t and got["n_control"] == n_c
    assert got["lift"] == pytest.approx(x_t / n_t - x_c / n_c)
    assert got["relative_lift"] == pytest.approx((x_t / n_t) / (x_c / n_c) - 1)
    table = np.array([[x_t, n_t - x_t], [x_c, n_c - x_c]])
    want = stats.chi2_contingency(table, correction=False)[1]
    assert got["p_value"] == pytest.approx(want, rel=1e-9)
    assert got["low"] < got["lift"] < got["high"]


@pytest.mark.parametrize(
    "x_t, n_t, x_c, n_c, low, high",
    [  # Newcombe (1998), Table II, method 10: the published limits
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (6, 7, 2, 7, 0.0582, 0.8062),
        (5, 56, 0, 29, -0.0381, 0.1926),
        (0, 10, 0, 20, -0.1611, 0.2775),
        (0, 10, 0, 10, -0.2775, 0.2775),
        (10, 10, 0, 10, 0.6075, 1.0),
    ],
)
def test_lift_interval_is_newcombes_hybrid_score_interval(x_t, n_t, x_c, n_c, low, high):
    """The Wald interval had width 0 where no one (or everyone) converted, 0 of 10 against 0
    of 10 read as a certain lift of 0, and went past 1 for small groups."""
    got = rf.campaign.lift(np.arange(n_t) < x_t, np.arange(n_c) < x_c)
    assert (round(got["low"], 4), round(got["high"], 4)) == (low, high)


def test_lift_intervals_cover_the_true_difference_as_often_as_they_claim():
    rng = np.random.default_rng(0)
    p_t, p_c, covered, rejected, runs = 0.12, 0.10, 0, 0, 2000
    for _ in range(runs):
        got = rf.campaign.lift(rng.random(3000) < p_t, rng.random(1000) < p_c)
        covered += got["low"] <= p_t - p_c <= got["high"]
        null = rf.campaign.lift(rng.random(3000) < p_c, rng.random(1000) < p_c)
        rejected += null["p_value"] < 0.05
    assert 0.93 <= covered / runs <= 0.965  # 95% nominal
    assert 0.035 <= rejected / runs <= 0.065  # 5% false alarms under equal rates


def test_lift_edges():
    nan = rf.campaign.lift(np.array([True, False]), np.zeros(0, dtype=bool))
    assert np.isnan(nan["control"]) and np.isnan(nan["p_value"]) and nan["n_control"] == 0
    same = rf.campaign.lift(np.ones(10, dtype=bool), np.ones(5, dtype=bool))
    assert same["p_value"] == 1.0 and same["lift"] == 0.0
    assert np.isnan(rf.campaign.lift(np.ones(3, dtype=bool), np.zeros(3, dtype=bool))["relative_lift"])
    assert rf.campaign.lift([1, 0, 1], [0, 0])["treated"] == pytest.approx(2 / 3)  # 0/1 integers
    for bad in ([0, 2], [[True]], ["yes"], [0.5]):
        with pytest.raises(ValueError, match="treated must be a 1-D array of booleans"):
            rf.campaign.lift(bad, [True])
    with pytest.raises(ValueError, match="confidence"):
        rf.campaign.lift([True], [False], confidence=1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mean_lift_is_welchs_test_and_interval(seed):
    rng = np.random.default_rng(seed)
    treated = np.where(rng.random(700) < 0.3, rng.gamma(2.0, 40.0, 700), 0.0)
    control = np.where(rng.random(150) < 0.25, rng.gamma(2.0, 40.0, 150), 0.0)
    got = rf.campaign.mean_lift(treated, control, confidence=0.9)
    want = stats.ttest_ind(treated, control, equal_var=False)
    interval = want.confidence_interval(0.9)
    assert got["treated"] == pytest.approx(treated.mean()) and got["control"] == pytest.approx(control.mean())
    assert got["lift"] == pytest.approx(treated.mean() - control.mean())
    assert got["p_value"] == pytest.approx(want.pvalue, rel=1e-12)
    assert (got["low"], got["high"]) == pytest.approx((interval.low, interval.high), rel=1e-12)
    assert got["relative_lift"] == pytest.approx(treated.mean() / control.mean() - 1)
    assert (got["n_treated"], got["n_control"]) == (700, 150)


def test_mean_lift_edges():
    one = rf.campaign.mean_lift([5.0], [1.0, 2.0])
    assert one["lift"] == 3.5 and np.isnan(one["p_value"]) and np.isnan(one["low"])
    flat = rf.campaign.mean_lift([2.0, 2.0], [1.0, 1.0, 1.0])  # no spread: the difference is exact
    assert (flat["low"], flat["high"], flat["p_value"]) == (1.0, 1.0, 0.0)
    assert rf.campaign.mean_lift([0, 0], [0, 0])["p_value"] == 1.0
    assert np.isnan(rf.campaign.mean_lift([1.0, 2.0], [0.0, 0.0])["relative_lift"])
    for bad in ([1.0, np.nan], [[1.0]], ["a"], [np.inf, 1.0]):
        with pytest.raises(ValueError, match="treated must be a 1-D array of finite numbers"):
            rf.campaign.mean_lift(bad, [1.0, 2.0])

"""Pareto/NBD against its defining integral (numerical quadrature), simulations of the model,
lifetimes' ParetoNBDFitter and the published CDNOW fit."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import recforge as rf
from recforge.customers import ParetoNBDFitter
from recforge.customers import pareto_nbd as pnbd
from scipy import integrate, special

CDNOW = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "cdnow"
NAMES = ("r", "alpha", "s", "beta")


def simulate(n: int, params, T, seed: int):
    """(x, t_x, T) of ``n`` customers drawn from the model itself: a purchase rate and a dropout
    rate per customer from their gammas, an exponential lifetime, Poisson purchases while alive."""
    r, alpha, s, beta = params
    rng = np.random.default_rng(seed)
    T = np.broadcast_to(np.asarray(T, dtype=np.float64), (n,)).copy()
    rate = rng.gamma(r, 1 / alpha, n)
    lifetime = rng.exponential(1 / rng.gamma(s, 1 / beta, n))
    active = np.minimum(lifetime, T)
    x = rng.poisson(rate * active).astype(np.float64)
    # the last of x uniform purchase times on (0, active]
    t_x = np.where(x > 0, active * rng.random(n) ** (1 / np.maximum(x, 1)), 0.0)
    return x, t_x, T


def likelihood_by_quadrature(params, x, t_x, T) -> tuple[float, float]:
    """(log-likelihood, log of its part where the customer is still active at T) of one
    customer, from the model's definition: Gamma(r, alpha) purchase rates and Gamma(s, beta)
    dropout rates integrated out, and the dropout moment integrated numerically over (t_x, T]
    (the integrand scaled by its value at t_x, so that heavy buyers' do not underflow)."""
    r, alpha, s, beta = params
    head = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    scale = -(r + x) * np.log(alpha + t_x) - (s + 1) * np.log(beta + t_x)
    scaled, _ = integrate.quad(
        lambda tau: np.exp(-(r + x) * np.log(alpha + tau) - (s + 1) * np.log(beta + tau) - scale),
        t_x,
        T,
        epsabs=0,
        epsrel=1e-13,
        limit=200,
    )
    gone = np.log(s * scaled) + scale if scaled > 0 else -np.inf
    return head + np.logaddexp(alive, gone), head + alive


CASES = [  # (params, x, t_x, T): both branches of alpha against beta, ties, heavy buyers
    ((0.55, 10.6, 0.61, 11.7), 2, 30.4, 38.9),
    ((0.55, 10.6, 0.61, 11.7), 0, 0.0, 38.9),
    ((0.55, 10.6, 0.61, 11.7), 5, 38.9, 38.9),
    ((1.2, 40.0, 0.3, 8.0), 7, 12.0, 60.0),
    ((0.8, 5.0, 2.5, 5.0), 3, 10.0, 20.0),
    ((0.9, 3.0, 0.8, 150.0), 120, 300.0, 365.0),
]


@pytest.mark.parametrize("params, x, t_x, T", CASES)
def test_likelihood_and_p_alive_equal_the_defining_integral(params, x, t_x, T):
    want, alive = likelihood_by_quadrature(params, x, t_x, T)
    got = pnbd.row_log_likelihood(params, np.array([x], float), np.array([t_x]), np.array([T]))[0]
    assert got == pytest.approx(want, rel=1e-11)
    model = ParetoNBDFitter()
    model.params_ = dict(zip(NAMES, params))
    assert model.probability_alive([x], [t_x], [T])[0] == pytest.approx(np.exp(alive - want), rel=1e-9)


def test_heavy_buyers_stay_finite_where_the_plain_formula_overflows():
    """hyp2f1 as written passes 1e308 for a few hundred purchases where alpha < beta (lifetimes'
    likelihood and predictions are NaN there); the transformed function is exact."""
    params = (0.9, 3.0, 0.8, 150.0)
    x, t_x, T = np.array([1500.0, 2000.0]), np.array([100.0, 365.0]), np.array([365.0, 365.0])
    with np.errstate(all="ignore"):  # as written: 2F1(r + s + x, r + x; r + s + x + 1; z) at t_x
        plain = special.hyp2f1(0.9 + 0.8 + x, 0.9 + x, 0.9 + 0.8 + x + 1, 147 / (150 + t_x))
    assert not np.isfinite(plain[0])
    ll = pnbd.row_log_likelihood(params, x, t_x, T)
    for i in range(2):
        assert ll[i] == pytest.approx(likelihood_by_quadrature(params, x[i], t_x[i], T[i])[0], rel=1e-11)
    model = ParetoNBDFitter()
    model.params_ = dict(zip(NAMES, params))
    alive = model.probability_alive(x, t_x, T)
    assert alive[0] < 1e-6 and alive[1] == pytest.approx(1.0)  # silent for 265 days against buying to the end
    assert np.isfinite(model.expected_purchases(30, x, t_x, T)).all()


def test_predictions_by_their_definitions_and_the_limit_s_to_1():
    model = ParetoNBDFitter()
    r, alpha, s, beta = 0.7, 12.0, 1.6, 20.0
    model.params_ = dict(zip(NAMES, (r, alpha, s, beta)))
    # a new customer: E[rate] times the expected time alive within t, by quadrature of the survival
    for t in (1.0, 30.0, 400.0):
        survival, _ = integrate.quad(lambda u: (beta / (beta + u)) ** s, 0, t, epsrel=1e-13)
        assert model.expected_purchases_new(t) == pytest.approx(r / alpha * survival, rel=1e-10)
    assert model.expected_purchases(0, [3], [10.0], [20.0])[0] == 0.0
    # x = 0 at age 0 is a customer just acquired
    assert model.expected_purchases(25, [0], [0], [0])[0] == pytest.approx(model.expected_purchases_new(25))
    # a customer of history (x, t_x, T): P(alive) x posterior rate x posterior expected time alive
    x, t_x, T, t = 4.0, 15.0, 30.0, 40.0
    alive = model.probability_alive([x], [t_x], [T])[0]
    survival, _ = integrate.quad(lambda u: ((beta + T) / (beta + T + u)) ** s, 0, t, epsrel=1e-13)
    assert model.expected_purchases(t, [x], [t_x], [T])[0] == pytest.approx(alive * (r + x) / (alpha + T) * survival)
    # s = 1 exactly is the limit of its neighbours (no division by s - 1 = 0)
    at, near = [], []
    for value, into in ((1.0, at), (1.0 + 1e-9, near)):
        model.params_["s"] = value
        into += [model.expected_purchases_new(50.0), model.expected_purchases(50.0, [2], [8.0], [30.0])[0]]
    np.testing.assert_allclose(at, near, rtol=1e-7)
    assert np.isfinite(at).all()
    grid = model.expected_purchases_new([[1, 2], [3, 4]])
    assert grid.shape == (2, 2) and grid[1, 1] == model.expected_purchases_new(4)


def test_recovers_simulated_parameters_and_its_own_expectations():
    truth = (0.8, 15.0, 0.7, 30.0)
    x, t_x, T = simulate(30_000, truth, 60.0, 1)
    model = ParetoNBDFitter().fit(x, t_x, T)
    for name, value in zip(NAMES, truth):
        assert abs(model.params_[name] / value - 1) < 0.15, (name, model.params_, truth)
    assert model.n_customers_ == 30_000
    assert model.log_likelihood_ == pytest.approx(
        pnbd.row_log_likelihood(list(model.params_.values()), x, t_x, T).sum()
    )
    # the fit is the maximum: every parameter moved by 1% lowers the likelihood
    best = np.array(list(model.params_.values()))
    for i in range(4):
        for step in (0.99, 1.01):
            moved = best.copy()
            moved[i] *= step
            assert pnbd.row_log_likelihood(moved, x, t_x, T).sum() < model.log_likelihood_
    model.params_ = dict(zip(NAMES, truth))
    drawn, _, _ = simulate(60_000, truth, 30.0, 2)
    assert abs(drawn.mean() / model.expected_purchases_new(30.0) - 1) < 0.03
    # a CustomerSummary alone, as the other customer models take it
    s = rf.customers.summary(["a", "a", "b", "c", "c", "c"], [0, 5 * 86400, 0, 0, 2 * 86400, 9 * 86400],
                             [1.0] * 6, as_of=20 * 86400)  # fmt: skip
    np.testing.assert_array_equal(model.probability_alive(s), model.probability_alive(s.frequency, s.recency, s.T))


def test_says_where_nobody_drops_out_and_refuses_what_it_cannot_fit():
    rng = np.random.default_rng(0)
    x = rng.integers(1, 6, 400).astype(np.float64)
    T = rng.uniform(20, 60, 400).round()
    with pytest.warns(UserWarning, match=r"s -> 0.*nobody seems to drop out"):
        model = ParetoNBDFitter().fit(x, T, T)  # every customer bought at the end: nobody left
    assert model.probability_alive(x, T, T).min() > 0.999
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ParetoNBDFitter().fit(x, T, T, strict=False)
    with pytest.raises(ValueError, match="no customer of 50 has a repeat purchase"):
        ParetoNBDFitter().fit(np.zeros(50), np.zeros(50), np.full(50, 30.0))
    with pytest.raises(ValueError, match="T is 0"):
        ParetoNBDFitter().fit([0, 0], [0, 0], [0, 0])
    with pytest.raises(ValueError, match="recency must not exceed T"):
        ParetoNBDFitter().fit([1], [5.0], [3.0])
    with pytest.raises(ValueError, match="penalizer"):
        ParetoNBDFitter(penalizer=-1)
    with pytest.raises(rf.NotFittedError):
        ParetoNBDFitter().probability_alive([1], [1], [2])


@pytest.mark.skipif(not CDNOW.is_dir(), reason="needs ../shared/datasets/cdnow (the shared data sets)")
def test_equals_lifetimes_and_the_published_fit_on_the_cdnow_sample():
    pd = pytest.importorskip("pandas")
    lifetimes = pytest.importorskip("lifetimes", reason="lifetimes is the reference (test extra)")
    data = pd.read_csv(CDNOW / "cdnow_customers_summary.csv")
    x, t_x, T = (data[c].to_numpy(np.float64) for c in ("frequency", "recency", "T"))
    ours = ParetoNBDFitter().fit(x, t_x, T)
    # Fader & Hardie's published fit: r = 0.55, alpha = 10.58, s = 0.61, beta = 11.67, LL -9594.98
    for name, value in zip(NAMES, (0.55, 10.58, 0.61, 11.67)):
        assert ours.params_[name] == pytest.approx(value, abs=0.006)
    assert ours.log_likelihood_ == pytest.approx(-9594.98, abs=0.01)
    theirs = lifetimes.ParetoNBDFitter().fit(x, t_x, T)
    at_theirs = pnbd.row_log_likelihood(theirs.params_[list(NAMES)].to_numpy(), x, t_x, T).sum()
    assert ours.log_likelihood_ >= at_theirs - 1e-6
    ours.params_ = theirs.params_[list(NAMES)].to_dict()  # the predictions at the same parameters
    np.testing.assert_allclose(ours.probability_alive(x, t_x, T), theirs.conditional_probability_alive(x, t_x, T))
    for t in (1.0, 39.0, 100.0):
        np.testing.assert_allclose(
            ours.expected_purchases(t, x, t_x, T),
            theirs.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, T),
            rtol=1e-10,
        )
    weeks = np.arange(1, 79.0)
    np.testing.assert_allclose(
        ours.expected_purchases_new(weeks), theirs.expected_number_of_purchases_up_to_time(weeks), rtol=1e-10
    )


def test_clv_command_fits_pareto_nbd(tmp_path, capsys):
    from recforge.cli import main

    pytest.importorskip("pandas")
    out = tmp_path / "clv.csv"
    assert main(["clv", "--data", "sample", "--model", "paretonbd", "--accept-bounds", "--out", str(out)]) in (0, None)
    printed = capsys.readouterr().out
    assert "Pareto/NBD: r=" in printed and " s=" in printed and " beta=" in printed
    import pandas as pd

    table = pd.read_csv(out)
    assert list(table.columns) == ["customer", "p_alive", "purchases_next_30d", "expected_spend", "clv"]
    assert table.p_alive.between(0, 1).all() and np.isfinite(table.clv).all()

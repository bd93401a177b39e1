"""Exploration policies and off-policy estimators against hand computations and simulation."""

from __future__ import annotations

import numpy as np
import pytest
from recforge.realtime import EpsilonGreedy, ThompsonSampling, ips, replay, snips


def test_feedback_updates_the_beta_posteriors_per_product_and_segment():
    ts = ThompsonSampling(prior_alpha=2.0, prior_beta=3.0, by_segment=True, random_state=0)
    ts.feedback([4, 4, 7], [1.0, 0.0, 0.25], segment="vip")
    ts.feedback([4], [1.0], segment="new")
    a, b = ts.posterior([4, 7, 9], segment="vip")
    np.testing.assert_array_equal(a, [2 + 1 + 0, 2 + 0.25, 2])
    np.testing.assert_array_equal(b, [3 + 0 + 1, 3 + 0.75, 3])
    a, b = ts.posterior([4], segment="new")
    assert (a[0], b[0]) == (3.0, 3.0)
    assert ts.posterior([4], segment="unseen")[0][0] == 2.0
    pooled = ThompsonSampling(random_state=0)  # by_segment=False: one table
    pooled.feedback([1], [1.0], segment="x")
    assert pooled.posterior([1], segment="y")[0][0] == 2.0


def test_a_prior_mean_per_candidate_is_worth_prior_strength_requests():
    eg = EpsilonGreedy(epsilon=0.0, prior_strength=10.0)
    eg.feedback([2], [1.0])
    a, b = eg.posterior([1, 2], prior_mean=[0.3, 0.05])
    np.testing.assert_allclose(a, [3.0, 0.5 + 1.0])
    np.testing.assert_allclose(b, [7.0, 9.5])
    # the greedy order follows the prior means until feedback moves them (-1 padding skipped)
    assert eg.greedy([1, 2, -1], k=2, prior_mean=[0.3, 0.05, 0.5]).tolist() == [1, 2]
    with pytest.raises(ValueError, match="prior_mean"):
        eg.greedy([1, 2], prior_mean=[0.3])
    with pytest.raises(ValueError, match="prior_mean"):
        eg.posterior([1], prior_mean=[1.5])


def test_thompson_shows_the_k_largest_draws_and_estimates_their_propensity():
    ts = ThompsonSampling(n_propensity_draws=400, random_state=1)
    ts.feedback(
        np.repeat([0, 1, 2, 3], 50),
        np.r_[np.ones(45), np.zeros(5), np.ones(25), np.zeros(25), np.ones(5), np.zeros(45), np.ones(25), np.zeros(25)],
    )
    shown, p = ts.choose([0, 1, 2, 3], k=2)
    assert shown.size == 2 and len(set(shown.tolist())) == 2
    # the estimated propensities against the empirical frequency over many choices
    counts = np.zeros(4)
    props = {i: [] for i in range(4)}
    for _ in range(3000):
        s, p = ts.choose([0, 1, 2, 3], k=2)
        counts[s] += 1
        for i, q in zip(s.tolist(), p.tolist()):
            props[i].append(q)
    frequency = counts / 3000
    assert frequency[0] > 0.95 and frequency[2] < 0.02  # the clear winner and loser
    for i in (0, 1, 3):
        assert np.mean(props[i]) == pytest.approx(frequency[i], abs=0.05)


def test_epsilon_greedy_propensities_are_exact():
    eg = EpsilonGreedy(epsilon=0.2, random_state=0)
    eg.feedback([5, 6], [0.0, 1.0])
    candidates = [3, 5, 6, 8]
    assert eg.greedy(candidates, k=2).tolist() == [6, 3]  # 6 learned best; 3 before 8 (model order)
    p = eg.propensity(candidates, np.array([3, 5, 6, 8]), k=2)
    np.testing.assert_allclose(p, [0.8 + 0.1, 0.1, 0.8 + 0.1, 0.1])
    assert p.sum() == pytest.approx(2.0)  # k products per request
    counts = np.zeros(9)
    for _ in range(4000):
        shown, q = eg.choose(candidates, k=2)
        counts[shown] += 1
        np.testing.assert_allclose(q, eg.propensity(candidates, shown, k=2))
    np.testing.assert_allclose(counts[candidates] / 4000, p, atol=0.03)


def test_ips_and_snips_on_a_tiny_log_by_hand():
    requests = ["r1", "r1", "r2", "r2", "r3"]
    rewards = [1, 0, 0, 1, 1]
    mu = [0.5, 0.8, 0.5, 0.2, 1.0]
    pi = [1.0, 0.0, 0.5, 1.0, 1.0]
    # weights 2, 0, 1, 5, 1; rewarded: 2 + 5 + 1 = 8 over 3 requests
    assert ips(requests, rewards, mu, pi) == pytest.approx(8 / 3)
    # normaliser (2 + 0 + 1 + 5 + 1) / (k=2 * 3) = 1.5
    assert snips(requests, rewards, mu, pi, k=2) == pytest.approx(8 / 3 / 1.5)
    assert replay(requests, rewards, [True, False, False, True, True], k=2) == pytest.approx(2.0)


def test_ips_recovers_a_policys_value_in_simulation():
    # products with known click rates; log by epsilon-greedy (epsilon 0.5), evaluate the greedy
    rng = np.random.default_rng(0)
    ctr = np.array([0.30, 0.05, 0.20, 0.10, 0.02, 0.15])
    candidates = np.arange(6)
    logger = EpsilonGreedy(epsilon=0.5, random_state=1)
    target = EpsilonGreedy(epsilon=0.0)
    target.feedback(np.repeat(candidates, 100), rng.random(600) < np.repeat(ctr, 100))
    true_value = ctr[target.greedy(candidates, k=2)].sum()
    rows = {"request": [], "reward": [], "mu": [], "pi": []}
    for req in range(20_000):
        shown, mu = logger.choose(candidates, k=2)
        rows["request"] += [req] * 2
        rows["reward"] += (rng.random(2) < ctr[shown]).tolist()
        rows["mu"] += mu.tolist()
        rows["pi"] += target.propensity(candidates, shown, k=2).tolist()
    for estimate in (
        ips(rows["request"], rows["reward"], rows["mu"], rows["pi"]),
        snips(rows["request"], rows["reward"], rows["mu"], rows["pi"], k=2),
    ):
        assert estimate == pytest.approx(true_value, rel=0.05)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: ips([1, 2], [1.0], [0.5, 0.5], [1.0, 1.0]), "rewards"),
        (lambda: ips([1], [1.0], [0.0], [1.0]), "logging_propensity must be > 0"),
        (lambda: ips([1], [1.0], [1.5], [1.0]), r"logging_propensity must be in \(0, 1\]"),
        (lambda: ips([1], [1.0], [0.5], [1.5]), "target_propensity"),
        (lambda: ips([], [], [], []), "empty"),
        (lambda: snips([1], [1.0], [0.5], [1.0], k=0), "k must be >= 1"),
        (lambda: replay([1], [1.0], [False], k=1), "none of the logged"),
        # a request without an id counted as a request of its own; replay's k=0 gave 0.0, and a
        # "2" among the target's answers read as True
        (lambda: ips([1, None], [1.0, 0.0], [0.5, 0.5], [1.0, 1.0]), "requests holds a missing id .* at row 1"),
        (lambda: replay([1], [1.0], [True], k=0), "k must be >= 1"),
        (lambda: replay([1, 2], [1.0, 0.0], [1, 2], k=1), "target_shows must hold True/False"),
        (lambda: EpsilonGreedy(epsilon=1.5), "epsilon"),
        (lambda: ThompsonSampling(prior_alpha=0), "prior_alpha"),
        (lambda: ThompsonSampling().feedback([1], [2.0]), "rewards in"),
        (lambda: ThompsonSampling().choose([1, 1, 2]), "distinct"),
    ],
)
def test_bad_input_is_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_thompson_is_reproducible_with_a_seed():
    a = [ThompsonSampling(random_state=7).choose(np.arange(20), k=5) for _ in range(2)]
    np.testing.assert_array_equal(a[0][0], a[1][0])
    np.testing.assert_array_equal(a[0][1], a[1][1])
    b = ThompsonSampling(random_state=8).choose(np.arange(20), k=5)
    assert not np.array_equal(a[0][0], b[0])


@pytest.mark.parametrize("policy", [lambda **kw: ThompsonSampling(**kw), lambda **kw: EpsilonGreedy(0.1, **kw)])
def test_a_bad_seed_is_named(policy):
    """numpy's own messages ("expected non-negative integer", "SeedSequence expects int") named
    no argument."""
    with pytest.raises(ValueError, match="random_state must be >= 0, got -1"):
        policy(random_state=-1)
    with pytest.raises(TypeError, match="random_state must be an integer"):
        policy(random_state="seven")


@pytest.mark.parametrize("make", [lambda: ThompsonSampling(random_state=3), lambda: EpsilonGreedy(0.5, random_state=3)])
def test_a_policy_pickles_with_its_counts_and_its_random_state(make):
    """A policy saved with pickle or joblib, or sent to a worker, raised "cannot pickle
    '_thread.lock'". A copy keeps the posteriors and draws what the original would have drawn."""
    import pickle

    policy = make()
    policy.feedback([1, 2, 5], [1.0, 0.0, 1.0])
    policy.choose(np.arange(10), k=3)
    copy = pickle.loads(pickle.dumps(policy))
    np.testing.assert_array_equal(copy.posterior([1, 2, 5])[0], policy.posterior([1, 2, 5])[0])
    for _ in range(3):
        a, b = policy.choose(np.arange(10), k=3), copy.choose(np.arange(10), k=3)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    copy.feedback([7], [1.0])  # its own lock and counts
    assert copy.posterior([7])[0][0] == policy.posterior([7])[0][0] + 1


def test_by_segment_is_a_bool():
    """by_segment="no" kept a posterior per segment (any non-empty text is true)."""
    for policy in (ThompsonSampling, EpsilonGreedy):
        with pytest.raises(TypeError, match="by_segment must be a bool"):
            policy(by_segment="no")


def test_policies_show_their_parameters():
    """As the models do (they printed as <... object at 0x...>)."""
    assert repr(EpsilonGreedy(0.2, random_state=3)) == (
        "EpsilonGreedy(epsilon=0.2, prior_alpha=1.0, prior_beta=1.0, prior_strength=20.0, by_segment=False, "
        "random_state=3)"
    )
    assert repr(ThompsonSampling()).startswith("ThompsonSampling(prior_alpha=1.0,")

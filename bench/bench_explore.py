"""Exploration on a simulated shop: cumulative clicks of Thompson sampling, epsilon-greedy and the
model's own top k over many requests, and the off-policy estimates of a policy against its true
value.

The shop: 2,000 products with true click rates drawn from Beta(0.5, 12) (mean 4%). The model
knows them only roughly: its score is the true rate times log-normal noise (sigma 1), so its
top k is often wrong. Each request offers the 50 candidates of a popularity draw, ranked by the
model; a policy shows 5 and every shown product is clicked with its true rate. The exploring
policies start from the model's score as their prior mean (prior worth 20 requests).

    python bench/bench_explore.py [--requests 100000] [--seed 0]

Then, from the epsilon-greedy log, IPS / SNIPS / replay estimates of the model's own top 5
against its simulated value on the same requests.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from recforge.realtime import EpsilonGreedy, ThompsonSampling, ips, replay, snips

N_ITEMS, N_CANDIDATES, K = 2000, 50, 5


def shop(seed: int):
    rng = np.random.default_rng(seed)
    ctr = rng.beta(0.5, 12.0, N_ITEMS)
    score = ctr * rng.lognormal(0.0, 1.0, N_ITEMS)
    popularity = rng.pareto(1.2, N_ITEMS) + 1
    return ctr, score, popularity / popularity.sum()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    ctr, score, popularity = shop(args.seed)
    prior = np.clip(score, 1e-4, 0.5)
    rng = np.random.default_rng(args.seed + 1)
    requests = [
        (lambda c: c[np.argsort(-score[c], kind="stable")])(
            rng.choice(N_ITEMS, N_CANDIDATES, replace=False, p=popularity)
        )
        for _ in range(args.requests)
    ]
    clicks_rng = np.random.default_rng(args.seed + 2)
    uniforms = clicks_rng.random((args.requests, K))  # the same click draws for every policy
    policies = {
        "model's top 5 (greedy)": None,
        "epsilon-greedy 0.1": EpsilonGreedy(0.1, random_state=3),
        "epsilon-greedy 0.3": EpsilonGreedy(0.3, random_state=3),
        "Thompson sampling": ThompsonSampling(n_propensity_draws=50, random_state=3),
    }
    print(f"{args.requests:,} requests, {N_CANDIDATES} candidates, {K} shown; clicks per request:")
    print("| policy | clicks / request | last 10% of requests | seconds |")
    print("|---|---:|---:|---:|")
    log = None
    for name, policy in policies.items():
        start = time.perf_counter()
        total = np.zeros(args.requests)
        rows = {"request": [], "reward": [], "mu": [], "shown": [], "greedy": []}
        for r, candidates in enumerate(requests):
            if policy is None:
                shown, mu = candidates[:K], np.ones(K)
            else:
                shown, mu = policy.choose(candidates, K, prior_mean=prior[candidates])
            reward = (uniforms[r, : shown.size] < ctr[shown]).astype(float)
            total[r] = reward.sum()
            if policy is not None:
                policy.feedback(shown, reward)
            if name == "epsilon-greedy 0.3":
                rows["request"] += [r] * shown.size
                rows["reward"] += reward.tolist()
                rows["mu"] += mu.tolist()
                rows["greedy"] += np.isin(shown, candidates[:K]).tolist()
        tail = total[-args.requests // 10 :].mean()
        print(f"| {name} | {total.mean():.4f} | {tail:.4f} | {time.perf_counter() - start:.1f} |", flush=True)
        if name == "epsilon-greedy 0.3":
            log = rows
    true_value = np.mean([ctr[c[:K]].sum() for c in requests])
    pi = np.asarray(log["greedy"], dtype=float)  # the model's top 5 shows a product with probability 0 or 1
    print("\nthe model's top 5, estimated from the epsilon-greedy 0.3 log (which learned as it went):")
    print(f"| true value | {true_value:.4f} |")
    print(f"| IPS | {ips(log['request'], log['reward'], log['mu'], pi):.4f} |")
    print(f"| SNIPS | {snips(log['request'], log['reward'], log['mu'], pi, K):.4f} |")
    print(f"| replay (biased: the log is not uniform) | {replay(log['request'], log['reward'], pi > 0, K):.4f} |")


if __name__ == "__main__":
    main()

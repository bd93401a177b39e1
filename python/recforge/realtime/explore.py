"""Exploration over each request's candidates, learning from feedback on what was shown.

A model proposes each request's top-N candidates; a policy chooses the k to show and says, for
each shown product, the probability that the policy shows it in this request (its propensity),
so that logged feedback can evaluate other policies offline (:mod:`recforge.realtime.evaluate`).

Rewards are per shown product, in [0, 1] (a click, a purchase). Posteriors are Beta-Bernoulli,
per product or per (segment, product).
"""

from __future__ import annotations

import copy
import inspect
import threading

import numpy as np

from .._checks import as_numbers, check_bool, check_int, check_real, check_seed


class _CountTable:
    """Rewards (successes) and their complements (failures) per (segment, product), grown on
    demand; the prior is added when a posterior is read."""

    def __init__(self):
        self.segment_of: dict = {}
        self.success = np.zeros((0, 0))
        self.failure = np.zeros((0, 0))

    def row(self, segment, n_items: int) -> int:
        s = self.segment_of.setdefault(segment, len(self.segment_of))
        shape = (max(self.success.shape[0], s + 1), max(self.success.shape[1], n_items))
        if shape != self.success.shape:
            success, failure = np.zeros(shape), np.zeros(shape)
            success[: self.success.shape[0], : self.success.shape[1]] = self.success
            failure[: self.failure.shape[0], : self.failure.shape[1]] = self.failure
            self.success, self.failure = success, failure
        return s

    def get(self, segment, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = self.segment_of.get(segment, -1)
        won, lost = np.zeros(items.size), np.zeros(items.size)
        if s >= 0:
            known = items < self.success.shape[1]
            won[known], lost[known] = self.success[s, items[known]], self.failure[s, items[known]]
        return won, lost


class _Policy:
    """Shared by the policies: posteriors, feedback, argument checks."""

    def __init__(self, prior_alpha: float, prior_beta: float, prior_strength: float, by_segment: bool, random_state):
        for name, value in (
            ("prior_alpha", prior_alpha),
            ("prior_beta", prior_beta),
            ("prior_strength", prior_strength),
        ):
            if check_real(value, name, minimum=0.0) <= 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        self.prior_alpha, self.prior_beta = float(prior_alpha), float(prior_beta)
        self.prior_strength = float(prior_strength)
        self.by_segment = check_bool(by_segment, "by_segment")  # "no" is not False
        self.random_state = random_state
        self._rng = np.random.default_rng(check_seed(random_state))
        self._table = _CountTable()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        """The policy and its parameters, as the models show theirs (the counts are not shown)."""
        names = [n for n in inspect.signature(type(self).__init__).parameters if n != "self"]
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in names)})"

    # The lock guards the counts between threads of one process; a copy (pickle: saved with
    # joblib, sent to a worker) takes the counts and the random generator's state, and its own
    # lock.
    def __getstate__(self) -> dict:
        with self._lock:
            state = dict(self.__dict__)
            state["_table"] = copy.deepcopy(self._table)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _segment(self, segment):
        return segment if self.by_segment else None

    @staticmethod
    def _candidates(candidates, k: int, prior_mean=None) -> tuple[np.ndarray, int, np.ndarray | None]:
        c = np.asarray(candidates)
        if c.ndim != 1 or (c.size and c.dtype.kind not in "iu"):
            raise TypeError(f"candidates must be a 1-D array of product ids (integers), got {c.dtype} {c.shape}")
        valid = c >= 0
        if prior_mean is not None:
            prior_mean = as_numbers(prior_mean, "prior_mean")
            if prior_mean.shape != c.shape:
                raise ValueError(f"prior_mean must have one entry per candidate ({c.size}), got {prior_mean.shape}")
            prior_mean = prior_mean[valid]
        c = c[valid].astype(np.int64)
        if np.unique(c).size != c.size:
            raise ValueError("candidates must be distinct")
        return c, min(check_int(k, "k", minimum=0), c.size), prior_mean

    def posterior(self, items, segment=None, prior_mean=None) -> tuple[np.ndarray, np.ndarray]:
        """Beta parameters (alpha, beta) of ``items`` (in the segment, with ``by_segment``):
        the prior plus the rewards (alpha) and their complements (beta) fed back. The prior is
        (prior_alpha, prior_beta), or with ``prior_mean`` (per item, in (0, 1): e.g. the
        model's calibrated click probability) prior_strength * (mean, 1 - mean)."""
        items = np.asarray(items, dtype=np.int64)
        with self._lock:
            won, lost = self._table.get(self._segment(segment), items)
        if prior_mean is None:
            return self.prior_alpha + won, self.prior_beta + lost
        m = as_numbers(prior_mean, "prior_mean")
        if m.shape != items.shape or not np.all((m > 0) & (m < 1)):
            raise ValueError(f"prior_mean must hold one number in (0, 1) per item ({items.size})")
        return self.prior_strength * m + won, self.prior_strength * (1.0 - m) + lost

    def feedback(self, items, rewards, segment=None) -> None:
        """Rewards in [0, 1] of shown products: alpha += reward, beta += 1 - reward."""
        items = np.asarray(items, dtype=np.int64).ravel()
        r = as_numbers(rewards, "rewards").ravel()
        if r.size != items.size:
            raise ValueError(f"rewards must have one entry per item ({items.size}), got {r.size}")
        if items.size and (items.min() < 0 or not np.all((r >= 0) & (r <= 1))):
            raise ValueError("items must be product ids >= 0 and rewards in [0, 1]")
        with self._lock:
            s = self._table.row(self._segment(segment), int(items.max()) + 1 if items.size else 0)
            np.add.at(self._table.success[s], items, r)
            np.add.at(self._table.failure[s], items, 1.0 - r)


class ThompsonSampling(_Policy):
    """Thompson sampling over each request's candidates (Beta-Bernoulli).

    Each call draws theta ~ Beta(alpha, beta) for every candidate and shows the k largest.

    Parameters
    ----------
    prior_alpha, prior_beta : float > 0, default 1, 1
        The prior of every product's reward rate (when ``choose`` gets no ``prior_mean``).
    prior_strength : float > 0, default 20
        With ``prior_mean``: the prior is worth this many observed requests.
    by_segment : bool, default False
        Posteriors per (segment, product) instead of per product.
    n_propensity_draws : int, default 200
        Draws that estimate each shown product's propensity (the probability that it is among
        the k largest draws): Thompson sampling has no closed form for it.
    random_state : int or None
    """

    def __init__(
        self,
        prior_alpha: float = 1.0,
        prior_beta: float = 1.0,
        *,
        prior_strength: float = 20.0,
        by_segment: bool = False,
        n_propensity_draws: int = 200,
        random_state=None,
    ):
        super().__init__(prior_alpha, prior_beta, prior_strength, by_segment, random_state)
        self.n_propensity_draws = check_int(n_propensity_draws, "n_propensity_draws", minimum=1)

    def choose(self, candidates, k: int = 10, segment=None, prior_mean=None) -> tuple[np.ndarray, np.ndarray]:
        """The k products to show (best draw first) and their propensities.

        Parameters
        ----------
        candidates : array-like of int
            The request's candidate products (e.g. a model's top N; -1 padding ignored).
        k : int, default 10
        segment : hashable, optional
            The customer's segment (with ``by_segment``).
        prior_mean : array-like of float in (0, 1), optional
            Per candidate, the prior reward rate (the model's calibrated estimate).

        Returns
        -------
        shown : numpy.ndarray of int64
        propensity : numpy.ndarray of float
            Per shown product, the estimated probability that this policy shows it here.
        """
        c, k, m = self._candidates(candidates, k, prior_mean)
        a, b = self.posterior(c, segment, m)
        with self._lock:  # one generator, many threads
            theta = self._rng.beta(a, b)
            draws = self._rng.beta(a[:, None], b[:, None], size=(c.size, self.n_propensity_draws))
        order = np.argsort(-theta, kind="stable")[:k]
        if k == 0:
            return c[order], np.zeros(0)
        kth = -np.partition(-draws, k - 1, axis=0)[k - 1]  # per draw, the k-th largest
        inclusion = (draws >= kth).mean(axis=1)
        # the realised draw counts once more, so a shown product never gets propensity 0
        n = self.n_propensity_draws
        return c[order], (inclusion[order] * n + 1.0) / (n + 1.0)


class EpsilonGreedy(_Policy):
    """Epsilon-greedy over each request's candidates.

    With probability 1 - epsilon the k candidates of highest posterior mean reward (ties: the
    model's order, so with no feedback yet it is the model's top k), else k candidates drawn
    uniformly without replacement. Propensities are exact:
    (1 - epsilon) * [in the greedy k] + epsilon * k / n_candidates.

    Parameters
    ----------
    epsilon : float in [0, 1], default 0.1
    prior_alpha, prior_beta, prior_strength : float > 0, default 1, 1, 20
        As :class:`ThompsonSampling`.
    by_segment : bool, default False
    random_state : int or None
    """

    def __init__(
        self,
        epsilon: float = 0.1,
        prior_alpha: float = 1.0,
        prior_beta: float = 1.0,
        *,
        prior_strength: float = 20.0,
        by_segment: bool = False,
        random_state=None,
    ):
        super().__init__(prior_alpha, prior_beta, prior_strength, by_segment, random_state)
        self.epsilon = check_real(epsilon, "epsilon", minimum=0.0)
        if self.epsilon > 1:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")

    def greedy(self, candidates, k: int = 10, segment=None, prior_mean=None) -> np.ndarray:
        """The k candidates of highest posterior mean (ties: candidate order)."""
        c, k, m = self._candidates(candidates, k, prior_mean)
        a, b = self.posterior(c, segment, m)
        return c[np.argsort(-(a / (a + b)), kind="stable")[:k]]

    def choose(self, candidates, k: int = 10, segment=None, prior_mean=None) -> tuple[np.ndarray, np.ndarray]:
        """The k products to show and their exact propensities (see the class docstring);
        arguments as :meth:`ThompsonSampling.choose`."""
        c, k, m = self._candidates(candidates, k, prior_mean)
        best = self.greedy(c, k, segment, m)
        with self._lock:
            explore = self._rng.random() < self.epsilon
            shown = self._rng.choice(c, size=k, replace=False) if explore else best
        return shown, self.propensity(c, shown, k, segment, greedy=best)

    def propensity(self, candidates, items, k: int = 10, segment=None, prior_mean=None, greedy=None) -> np.ndarray:
        """The probability that this policy shows each of ``items`` among ``candidates``."""
        c, k, m = self._candidates(candidates, k, prior_mean)
        best = self.greedy(c, k, segment, m) if greedy is None else greedy
        uniform = self.epsilon * k / c.size if c.size else 0.0
        return (1.0 - self.epsilon) * np.isin(items, best) + uniform

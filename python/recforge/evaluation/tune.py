"""Hyper-parameter search that does not cheat: candidates are compared on a validation split
carved out of the training data only; the test split is never seen (``tune`` does not take one).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .._checks import check_bool, check_choice, check_int, check_real
from .._params import model_factory, no_such_parameter
from .._sparse import check_sparse
from ..kernels.metrics import RANKING_METRICS
from .evaluate import evaluate
from .ratings import RATING_METRICS
from .spaces import default_space
from .split import per_user_split

SEARCHES = ("random", "grid")
TUNE_METRICS = (*RANKING_METRICS, "coverage", *RATING_METRICS)


def higher_is_better(metric: str) -> bool:
    """Whether a larger ``metric`` is better: every ranking metric; not a rating error."""
    return metric not in RATING_METRICS


@dataclass
class TuneResult:
    """What :func:`tune` found.

    Attributes
    ----------
    best_params : dict
        The parameters of the best trial (``fixed`` included).
    best_score : float
        Its validation ``metric``.
    metric : str
    k : int
    trials : list of dict
        One per trial, in the order run: ``params``, ``score``, ``fit_seconds``.
    model : Recommender or None
        A model of the best parameters refitted on all of ``train`` (None with ``refit=False``).
    validation_users : int
        Customers the validation metric averages over.
    stopped : str
        Why the search ended: "space" (every combination tried), "n_trials" or "budget".
    at_edge : dict of str -> str
        Numeric parameters searched over a list of at least three values whose best value is
        the list's "largest" or "smallest": the optimum may lie beyond the space, which is
        worth widening (``print(result)`` says so).
    """

    best_params: dict
    best_score: float
    metric: str
    k: int
    trials: list = field(default_factory=list)
    model: object = None
    validation_users: int = 0
    stopped: str = ""
    at_edge: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The metric as tables name it: ``ndcg@10``, or ``rmse`` (over the held-out ratings)."""
        return self.metric if self.metric in RATING_METRICS else f"{self.metric}@{self.k}"

    def __str__(self) -> str:
        lines = [f"| {self.label} | fit s | parameters |", "|---:|---:|---|"]
        sign = -1.0 if higher_is_better(self.metric) else 1.0
        for t in sorted(self.trials, key=lambda t: sign * t["score"]):
            params = ", ".join(f"{name}={value!r}" for name, value in t["params"].items())
            lines.append(f"| {t['score']:.4f} | {t['fit_seconds']:.2f} | {params} |")
        lines.append(
            f"\n{len(self.trials)} trials on a validation split of the training data "
            f"({self.validation_users} customers); stopped: {self.stopped}"
        )
        lines += [self.edge_note(name) for name in self.at_edge]
        return "\n".join(lines)

    def to_frame(self):
        """The trials as a pandas DataFrame, one row per trial in the order run: a column per
        parameter, then the validation metric (named as ``metric``, e.g. ``ndcg``) and
        ``fit_seconds``.

        Returns
        -------
        pandas.DataFrame
            Index: the trial's number (named "trial").
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("TuneResult.to_frame needs pandas: pip install 'recforge[io]'") from None
        rows = [{**t["params"], self.metric: t["score"], "fit_seconds": t["fit_seconds"]} for t in self.trials]
        return pd.DataFrame(rows, index=pd.RangeIndex(len(rows), name="trial"))

    def edge_note(self, name: str) -> str:
        """The sentence saying that ``name``'s best value is at the edge of its search space."""
        if name not in self.at_edge:
            raise ValueError(f"{name!r} is not at the edge of its space; those that are: {sorted(self.at_edge)}")
        return (
            f"{name}: the best value ({self.best_params[name]!r}) is the {self.at_edge[name]} tried; "
            "the optimum may lie beyond the space searched"
        )


def edges(space: dict, best: dict) -> dict:
    """The numeric list parameters (three values or more) whose best value is the largest or the
    smallest of the list: where the optimum may lie outside the space."""
    out = {}
    for name, values in space.items():
        if hasattr(values, "rvs") or len(values) < 3 or name not in best:
            continue
        if any(isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) for v in values):
            continue
        numbers = [float(v) for v in values]
        if len(set(numbers)) < 3:
            continue
        if float(best[name]) == max(numbers):
            out[name] = "largest"
        elif float(best[name]) == min(numbers):
            out[name] = "smallest"
    return out


def _candidates(space: dict, search: str, rng: np.random.Generator, start: dict | None = None):
    """Parameter dicts: every combination (grid, in order) or independent draws (random),
    ``start`` (the model's own values, where the space holds them) drawn first."""
    names = list(space)
    for name, values in space.items():
        if not hasattr(values, "rvs") and (isinstance(values, (str, bytes)) or not hasattr(values, "__len__")):
            raise TypeError(f"space[{name!r}] must be a list of values or a scipy.stats distribution")
        if hasattr(values, "__len__") and len(values) == 0:
            raise ValueError(f"space[{name!r}] is empty")
    lists = not any(hasattr(values, "rvs") for values in space.values())
    if search == "grid":
        if not lists:
            raise ValueError('search="grid" needs lists of values, not distributions')
        for combo in itertools.product(*(space[n] for n in names)):
            yield dict(zip(names, combo))
        return
    if start is not None:
        yield dict(start)
    sizes = [len(space[n]) for n in names] if lists else []
    if lists and int(np.prod(sizes, dtype=np.float64)) <= 1_000_000:
        # A finite grid: draws without replacement (no trial repeats another), then "space".
        for flat in rng.permutation(int(np.prod(sizes))):
            position = np.unravel_index(int(flat), sizes)
            draw = {n: _plain(space[n][int(i)]) for n, i in zip(names, position)}
            if draw != start:
                yield draw
        return
    while True:
        yield {
            n: (
                _plain(space[n].rvs(random_state=rng))
                if hasattr(space[n], "rvs")
                else _plain(space[n][rng.integers(len(space[n]))])
            )
            for n in names
        }


def _starting_point(own: dict, space: dict) -> dict | None:
    """The model's own values of the searched parameters where the space holds every one of
    them (in its list, or its distribution's support), else None: tried first, a random search
    never ends below where it started (2 draws from ALS's space scored NDCG 0.183 on the
    sample's validation split, its defaults 0.212)."""
    start = {}
    for name, values in space.items():
        if name not in own:
            return None
        value = own[name]
        if not hasattr(values, "rvs") and (isinstance(values, (str, bytes)) or not hasattr(values, "__len__")):
            return None  # not a space: _candidates says so
        if hasattr(values, "rvs"):
            low, high = values.support()
            if not (
                isinstance(value, (int, float, np.number)) and not isinstance(value, bool) and low <= value <= high
            ):
                return None
        elif not any(_same_value(value, v) for v in values):
            return None
        start[name] = _plain(value)
    return start


def _same_value(a, b) -> bool:
    """Whether two parameter values are one (64 and 64.0 alike; "cosine" and True never)."""
    if isinstance(a, (bool, np.bool_)) or isinstance(b, (bool, np.bool_)):
        return isinstance(a, (bool, np.bool_)) and isinstance(b, (bool, np.bool_)) and bool(a) == bool(b)
    if isinstance(a, (int, float, np.number)) and isinstance(b, (int, float, np.number)):
        return float(a) == float(b)
    return type(a) is type(b) and a == b


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _seeded(make, names, space: dict, fixed: dict, seed) -> dict:
    """``random_state=seed`` for the models' seeds left at None (an unseeded ALS or BPR draws
    other initial factors in every trial, and in every run of the same search)."""
    defaults = make().get_params(deep=True)
    return {
        name: check_int(seed, "seed", minimum=0)
        for name in ("random_state", "model__random_state")
        if name in names and name not in space and name not in fixed and defaults.get(name) is None
    }


def tune(
    model_class,
    space: dict | None,
    train,
    k: int = 10,
    metric: str = "ndcg",
    *,
    search: str = "random",
    n_trials: int = 20,
    budget: float | None = None,
    validation: float = 0.2,
    fixed: dict | None = None,
    refit: bool = True,
    seed: int = 0,
    relevant=None,
):
    """Search parameters of ``model_class`` on a validation split of ``train``.

    ``train`` is split once (per customer, ``validation`` of each customer's interactions held
    out, seeded); every candidate is fitted on the rest and scored on the held-out part by the
    C++ metrics (:func:`recforge.evaluate`). The best parameters are refitted on all of
    ``train``. Keep your test split out of ``train``: it is what the returned model is then
    measured on.

    Parameters
    ----------
    model_class : a recforge model class (e.g. ``rf.EASE``) or a model
        A model is copied (:meth:`set_params` on a clone) for each trial, so fixed settings
        and a wrapped model's parameters (``"model__factors"`` for :class:`~recforge.ColdStart`)
        can be searched; it is never fitted itself.
    space : dict of str -> list of values or scipy.stats distribution, or None
        The parameters to search. None: the model's default space
        (``recforge.evaluation.spaces.SPACES``, ranges that held each model's optimum on
        MovieLens and Online Retail).
    train : scipy.sparse matrix or Interactions
    k : int, default 10
    metric : str, default "ndcg"
        One of precision, recall, f1, ndcg, map, hit_rate, mrr, coverage (higher is better), or,
        for a model that predicts ratings (BiasedMF, KNNRegressor), rmse or mae of its
        predictions of the held-out ratings (lower is better).
    search : {"random", "grid"}, default "random"
        Random draws from ``space`` (without repeats when every entry is a list), or every
        combination in order. A random search tries the model's own parameters first where
        the space holds them (its defaults, or the values of a model given), so that it never
        ends below where it started.
    n_trials : int, default 20
        Most trials (random search; a grid stops at its end or here, whichever comes first).
    budget : float, optional
        Seconds: no trial starts after this much time has passed (at least one runs).
    validation : float, default 0.2
        Share of each customer's training interactions held out for validation.
    fixed : dict, optional
        Parameters passed to every trial unchanged (e.g. ``{"random_state": 0}``).
    refit : bool, default True
        Refit the best parameters on all of ``train`` (``result.model``).
    seed : int, default 0
        Seeds the validation split and the random draws, and every trial's model where its
        ``random_state`` (or a wrapped model's, ``model__random_state``) is left at None and
        neither ``space`` nor ``fixed`` sets it: the same call gives the same trials.
    relevant : scipy.sparse matrix, shape of ``train``, optional
        The pairs that count as hits: held-out pairs outside it are not measured, and
        customers with none inside it are left out. A log of views and purchases tuned for
        what customers buy: its purchases (the models still learn from every event).

    Returns
    -------
    TuneResult
        ``print(result)`` gives the table of trials.

    Examples
    --------
    >>> import scipy.sparse as sp, recforge as rf
    >>> X = sp.random(300, 60, density=0.1, format="csr", random_state=0)
    >>> result = rf.tune(rf.EASE, {"regularization": [1.0, 10.0, 100.0]}, X, search="grid")
    >>> len(result.trials), result.model.regularization == result.best_params["regularization"]
    (3, True)
    """
    check_choice(search, "search", SEARCHES)
    check_choice(metric, "metric", TUNE_METRICS)
    k = check_int(k, "k", minimum=1)
    n_trials = check_int(n_trials, "n_trials", minimum=1)
    budget = None if budget is None else check_real(budget, "budget", minimum=0.0)
    validation = check_real(validation, "validation", minimum=0.0)
    if not 0 < validation < 1:
        raise ValueError(f"validation must be in (0, 1), got {validation}")
    make, cls, names = model_factory(model_class, "model_class")
    if space is None:
        space = default_space(cls)
        if not space:
            raise ValueError(f"{cls.__name__} has no default search space: pass space=")
    if not isinstance(space, dict) or not space:
        raise TypeError("space must be a non-empty dict of parameter name -> values")
    fixed = dict(fixed or {})
    unknown = sorted((set(space) | set(fixed)) - set(names))
    if unknown:
        raise ValueError(no_such_parameter(cls, list(names), unknown[0]))
    both = sorted(set(space) & set(fixed))
    if both:
        raise ValueError(f"space and fixed both set {both}: a parameter is searched or fixed, not both")
    refit = check_bool(refit, "refit")
    fixed = {**_seeded(make, names, space, fixed, seed), **fixed}
    fit_part, held_out = per_user_split(train, validation, seed=seed)
    if relevant is not None:
        held_out = relevant_part(held_out, relevant)
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    start = time.perf_counter()
    trials, stopped = [], "space"
    own = _starting_point(make().get_params(deep=True), space) if search == "random" else None
    for n, params in enumerate(_candidates(space, search, rng, own)):
        if n == n_trials:
            stopped = "n_trials"
            break
        if budget is not None and trials and time.perf_counter() - start > budget:
            stopped = "budget"
            break
        t0 = time.perf_counter()
        model = make(**fixed, **params).fit(fit_part)
        fit_seconds = time.perf_counter() - t0
        scores = evaluate(model, fit_part, held_out, k)
        if metric not in scores:  # a rating error of a model that ranks only
            raise ValueError(f"metric {metric!r} measures predicted ratings, and {cls.__name__} does not predict them")
        trials.append({"params": {**fixed, **params}, "score": float(scores[metric]), "fit_seconds": fit_seconds})
        users = scores["n_users"]
    best = (max if higher_is_better(metric) else min)(trials, key=lambda t: t["score"])
    return TuneResult(
        best_params=best["params"],
        best_score=best["score"],
        metric=metric,
        k=k,
        trials=trials,
        model=make(**best["params"]).fit(train) if refit else None,
        validation_users=users,
        stopped=stopped,
        at_edge=edges(space, best["params"]),
    )


def relevant_part(test, relevant) -> sp.csr_matrix:
    """The pairs of ``test`` that are in ``relevant`` (same shape; its stored entries, whatever
    their values, mark them): a test set of what customers bought, from one of every event."""
    T = check_sparse(test, "test").to_scipy()
    R = check_sparse(relevant, "relevant").to_scipy()
    if R.shape != T.shape:
        raise ValueError(f"relevant must have the shape of the data {T.shape}, got {R.shape}")
    marked = sp.csr_matrix((np.ones(R.nnz, dtype=np.float32), R.indices, R.indptr), shape=R.shape)
    kept = sp.csr_matrix(T.multiply(marked))
    kept.eliminate_zeros()
    return kept

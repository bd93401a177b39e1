"""Offline evaluation of models: one model on a split, k-fold cross-validation, and a paired
comparison of several models on the same users (the offline A/B test before a campaign)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from .._checks import check_int
from .._sparse import check_sparse
from ..kernels.metrics import RANKING_METRICS, coverage, ranking_metrics
from .split import partition


def _evaluated_users(test) -> np.ndarray:
    return np.flatnonzero(np.diff(test.indptr) > 0)


def _per_user(model, users, history, held_out, k, exclude_seen):
    """Recommend to ``users`` from their ``history`` rows and score against ``held_out`` rows."""
    ids, _ = model.recommend(users, history, k=k, exclude_seen=exclude_seen)
    if ids.shape[1] < k:  # k beyond the catalogue: lists stay k long for the @k denominators
        ids = np.pad(ids, ((0, 0), (0, k - ids.shape[1])), constant_values=-1)
    return ids, ranking_metrics(ids, held_out, k, per_user=True)


def _check_pair(train, test):
    tr, te = check_sparse(train, "train").to_scipy(), check_sparse(test, "test").to_scipy()
    if tr.shape != te.shape:
        raise ValueError(f"train and test must have the same shape (same id maps), got {tr.shape} and {te.shape}")
    return tr, te


def evaluate(model, train, test, k: int = 10, *, exclude_seen: bool = True) -> dict:
    """Ranking quality of a fitted model: recommend k items to every user with a non-empty test
    row (their train rows as history) and score them against test.

    Returns
    -------
    dict
        The metrics of :func:`recforge.metrics.ranking_metrics` (averaged over the users with
        test items; ``n_users`` says how many) plus ``coverage`` (share of items recommended).
    """
    train, test = _check_pair(train, test)
    k = check_int(k, "k", minimum=1)
    users = _evaluated_users(test)
    ids, res = _per_user(model, users, train[users], test[users], k, exclude_seen)
    res.pop("per_user")
    res["coverage"] = coverage(ids, train.shape[1]) if len(users) else 0.0
    return res


def _interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    values = values[~np.isnan(values)]
    n = values.size
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(values.mean())
    if n < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * values.std(ddof=1) / np.sqrt(n))
    return mean, mean - half, mean + half


@dataclass
class Comparison:
    """Result of :func:`compare`: per model and metric, (mean, low, high) of the 95% confidence
    interval over users; per model after the first, the paired t-test p-value against the first."""

    k: int
    n_users: int
    metrics: dict = field(default_factory=dict)  # model -> metric -> (mean, low, high)
    p_values: dict = field(default_factory=dict)  # model -> metric -> p-value vs the baseline
    baseline: str = ""

    def __str__(self) -> str:
        head = "| model | " + " | ".join(f"{m}@{self.k}" for m in RANKING_METRICS) + " |"
        lines = [head, "|---|" + "---:|" * len(RANKING_METRICS)]
        for name, per_metric in self.metrics.items():
            cells = []
            for m in RANKING_METRICS:
                mean, low, high = per_metric[m]
                cell = f"{mean:.4f} ±{(high - low) / 2:.4f}"
                if name in self.p_values:
                    cell += f" (p={self.p_values[name][m]:.2g})"
                cells.append(cell)
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append(
            f"\n{self.n_users} users; ± is the half-width of the 95% interval; p: paired t-test "
            f"against {self.baseline}."
        )
        return "\n".join(lines)


def compare(models: dict, train, test, k: int = 10, *, exclude_seen: bool = True) -> Comparison:
    """Evaluate fitted models on the same users and test whether they differ.

    Parameters
    ----------
    models : dict of str -> fitted model
        The first is the baseline the others are tested against (e.g. ``rf.Popularity()``).
    train, test : scipy.sparse, same shape
    k : int, default 10

    Returns
    -------
    Comparison
        Means with 95% confidence intervals (Student t over users) and paired t-test p-values
        against the baseline; ``print(result)`` gives a table.
    """
    if not isinstance(models, dict) or not models:
        raise TypeError("models must be a non-empty dict of name -> fitted model")
    train, test = _check_pair(train, test)
    k = check_int(k, "k", minimum=1)
    users = _evaluated_users(test)
    history, held_out = train[users], test[users]  # sliced once for every model
    per_user = {
        name: _per_user(model, users, history, held_out, k, exclude_seen)[1]["per_user"]
        for name, model in models.items()
    }
    baseline = next(iter(models))
    out = Comparison(k=k, n_users=len(users), baseline=baseline)
    for name, values in per_user.items():
        out.metrics[name] = {m: _interval(values[m]) for m in RANKING_METRICS}
        if name != baseline:
            out.p_values[name] = {}
            for m in RANKING_METRICS:
                diff = values[m] - per_user[baseline][m]
                out.p_values[name][m] = (
                    float(stats.ttest_rel(values[m], per_user[baseline][m]).pvalue)
                    if len(users) > 1 and np.any(diff != 0)
                    else 1.0
                )
    return out


def cross_validate(make_model, user_items, folds: int = 5, k: int = 10, seed: int = 0) -> dict:
    """k-fold cross-validation over interactions: each interaction is in exactly one test fold;
    ``make_model()`` returns a fresh unfitted model, fitted on the other folds.

    Returns
    -------
    dict
        ``folds``: the :func:`evaluate` dict of each fold; and per metric, (mean, low, high) of
        the 95% interval over folds.
    """
    X = check_sparse(user_items, "user_items")
    folds = check_int(folds, "folds", minimum=2)
    fold_of = np.random.default_rng(check_int(seed, "seed")).permutation(X.indices.size) % folds
    results = []
    for f in range(folds):
        train, test = partition(user_items, fold_of == f)
        results.append(evaluate(make_model().fit(train), train, test, k))
    out = {"folds": results}
    for m in (*RANKING_METRICS, "coverage"):
        out[m] = _interval(np.array([r[m] for r in results]))
    return out

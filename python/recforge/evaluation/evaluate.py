"""Offline evaluation of models: one model on a split, k-fold cross-validation, and a paired
comparison of several models on the same users (the offline A/B test before a campaign)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .._checks import check_bool, check_int, check_model
from .._factorize import same_ids
from .._params import Parametrised, model_factory
from .._sparse import check_sparse, indptr_where
from ..kernels.metrics import RANKING_METRICS, coverage, ranking_metrics
from ..kernels.metrics import auc as auc_metric
from .beyond import BEYOND_METRICS, beyond_accuracy
from .ratings import RATING_METRICS, error_intervals, paired_errors, predicts_ratings, rating_errors
from .split import partition


def _evaluated_users(test) -> np.ndarray:
    return np.flatnonzero(np.diff(test.indptr) > 0)


def _per_user(model, users, history, held_out, k, exclude_seen, allow=None):
    """Recommend to ``users`` from their ``history`` rows and score against ``held_out`` rows."""
    ids = _top(model, users, history, k, exclude_seen, allow)
    return ids, ranking_metrics(ids, held_out, k, per_user=True)


def _top(model, users, history, k, exclude_seen, allow) -> np.ndarray:
    """The top-k lists; among restricted candidates (``allow``) with the model's ties in each
    customer's own order (:func:`_ranked`). The whole ranking is asked only for the customers
    whose tie runs past the k-th place (one more entry tells), block by block: an informed
    model has few, one that scores every candidate alike has them all."""
    if allow is None:
        return _ranked(model, users, history, k, exclude_seen, None)
    ids, scores = _lists(model, users, history, k + 1, exclude_seen, allow)
    crossing = np.flatnonzero((ids[:, k] >= 0) & (scores[:, k] == scores[:, k - 1]))
    ids = _in_tie_order(users, ids, scores)[:, :k]
    width = max(allow.size, k)
    step = max(1, AUC_BLOCK_ENTRIES // width)
    for start in range(0, crossing.size, step):
        rows = crossing[start : start + step]
        ids[rows] = _ranked(model, users[rows], history[rows], width, exclude_seen, allow)[:, :k]
    return ids


def tie_keys(users: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """A pseudo-random key per (customer, product) (splitmix64's finaliser over both numbers):
    the order of a model's ties among restricted candidates, different for each customer, the
    same in every block and run."""
    x = (users.astype(np.uint64)[:, None] * np.uint64(0x9E3779B97F4A7C15)) ^ ids.astype(np.uint64)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _ranked(model, users, history, width, exclude_seen, allow) -> np.ndarray:
    """The model's lists, ``width`` long (-1 padded: k beyond the catalogue keeps the @k
    denominators). With ``allow`` (the new-products group) products the model scores alike are
    put in a pseudo-random order of their own for each customer (:func:`tie_keys`): a model
    that knows nothing of new products scores them all alike, and its ties broken by product
    number (the models' rule) measured the catalogue's numbering (on a temporal split of
    MovieLens, every model "found" new films with hit rate 0.66; in this order 0.24, what
    chance gives: 0.25). ``width`` must then reach past every tie that matters."""
    ids, scores = _lists(model, users, history, width, exclude_seen, allow)
    return ids if allow is None else _in_tie_order(users, ids, scores)


def _lists(model, users, history, width, exclude_seen, allow):
    ids, scores = model.recommend(users, history, k=width, exclude_seen=exclude_seen, allow=allow)
    if ids.shape[1] < width:
        pad = ((0, 0), (0, width - ids.shape[1]))
        ids, scores = np.pad(ids, pad, constant_values=-1), np.pad(scores, pad, constant_values=-np.inf)
    return ids, scores


def _in_tie_order(users, ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Each row by score, ties by :func:`tie_keys` (padding last)."""
    if not ids.size:
        return ids
    keys = tie_keys(np.asarray(users), ids)
    order = np.lexsort((keys, -np.where(ids >= 0, scores, -np.inf)), axis=1)
    return np.take_along_axis(ids, order, 1)


def _check_pair(train, test, models=()):
    """train and test as scipy CSR of one shape; where they (and the models) carry raw ids,
    the same ids in the same order: two Interactions built apart number their customers and
    products by first appearance, so equal shapes alone could pair different products."""
    for label, model in models:
        check_model(model, label, "a fitted recforge model (e.g. rf.EASE().fit(train))")
    tr, te = check_sparse(train, "train").to_scipy(), check_sparse(test, "test").to_scipy()
    if tr.shape != te.shape:
        raise ValueError(f"train and test must have the same shape (same id maps), got {tr.shape} and {te.shape}")
    for side in ("user", "item"):
        held = [
            (name, ids)
            for name, ids in [("train", _ids(train, side)), ("test", _ids(test, side))]
            + [(label, _ids(model, side, "_")) for label, model in models]
            if ids is not None
        ]
        for name, ids in held[1:]:
            if not same_ids(held[0][1], ids):
                way_out = (
                    "fit it on train"
                    if name.startswith("model")
                    else "build test with train.transform(test_events), or split one Interactions with rf.split"
                )
                raise ValueError(f"{held[0][0]} and {name} number their {side}s differently (built apart): {way_out}")
    return tr, te


def _flags(**flags) -> tuple:
    """The boolean options, checked: "no" would be true."""
    return tuple(check_bool(value, name) for name, value in flags.items())


def _ids(holder, side: str, suffix: str = ""):
    ids = getattr(holder, f"{side}_ids{suffix}", None)
    return None if ids is None else np.asarray(ids)


def evaluate(
    model,
    train,
    test,
    k: int = 10,
    *,
    exclude_seen: bool = True,
    auc: bool = False,
    groups: bool = False,
    beyond: bool = False,
    similarity=None,
):
    """Ranking quality of a fitted model: recommend k items to every customer with a held-out
    item (their train rows as history) and score them against test.

    Who is measured, explicitly: every customer with at least one test item, whether or not
    they have training history (a customer without any gets what the model answers for an
    empty history: padding for most models, the fallbacks for :class:`~recforge.ColdStart`).
    ``groups=True`` reports returning and new customers, and new products, apart.

    Parameters
    ----------
    model : fitted model
    train, test : scipy.sparse matrices or Interactions, same shape
    k : int, default 10
    exclude_seen : bool, default True
    auc : bool, default False
        Also the mean per-customer ROC AUC over every candidate (each customer's whole ranking
        is computed: O(n_items) per customer).
    groups : bool, default False
        Also ``groups``: the same metrics for ``"returning"`` customers (with training
        history), ``"new_customers"`` (without) and ``"new_products"`` (products without
        training interactions: each customer with such a product in test ranks only those
        products, products the model scores alike in an order of the customer's own, so that
        a model without content features finds what chance finds; their share of the
        catalogue is ``groups["new_products"]["candidates"]``).
    beyond : bool, default False
        Also the beyond-accuracy measures of the same lists (:func:`beyond_accuracy`: Gini of
        exposure, novelty, mean popularity, personalisation, and intra-list diversity when
        ``similarity`` is given), popularity counted on ``train``.
    similarity : scipy.sparse matrix, shape (n_items, n_items), optional
        Item-item similarity for intra-list diversity.

    Returns
    -------
    dict
        The metrics of :func:`recforge.metrics.ranking_metrics` (averaged over the customers
        with test items; ``n_users`` says how many), ``coverage`` (share of items
        recommended), ``auc`` when asked, ``groups`` when asked, the beyond-accuracy measures
        when asked. For a model that predicts ratings (BiasedMF, KNNRegressor) also ``rmse``
        and ``mae`` of its predictions of the test's ratings, over ``n_ratings`` pairs
        (:mod:`recforge.evaluation.ratings`).
    """
    train, test = _check_pair(train, test, [("model", model)])
    k = check_int(k, "k", minimum=1)
    exclude_seen, auc, groups, beyond = _flags(exclude_seen=exclude_seen, auc=auc, groups=groups, beyond=beyond)
    users = _evaluated_users(test)
    lists = {}
    res = _measure(model, users, train[users], test[users], k, exclude_seen, auc, None, train.shape[1], lists)
    if beyond:
        res.update(beyond_accuracy(lists["ids"], train, similarity=similarity))
    if predicts_ratings(model) and test.nnz:
        errors = rating_errors(model, test)
        res.update({m: values[0] for m, values in error_intervals(errors, _interval).items()}, n_ratings=errors.size)
    if groups:
        returning = np.diff(train.indptr)[users] > 0
        out = {}
        for name, chosen in (("returning", users[returning]), ("new_customers", users[~returning])):
            out[name] = _measure(model, chosen, train[chosen], test[chosen], k, exclude_seen, auc, None, train.shape[1])
        cold, chosen, held = _new_products(train, test)
        if chosen.size:
            out["new_products"] = _measure(
                model, chosen, train[chosen], held, k, exclude_seen, auc, cold, train.shape[1]
            )
        else:
            out["new_products"] = {"n_users": 0}
        out["new_products"]["candidates"] = int(cold.size)
        res["groups"] = out
    return res


def _new_products(train, test) -> tuple[np.ndarray, np.ndarray, sp.csr_matrix]:
    """The products without training interactions, the customers with a test item among them,
    and these customers' test rows cut to those products. Entries of other products are left
    out, not stored as zeros (a stored entry is a relevant item: as zeros, every customer with
    a test item joined the group, and recall counted products the group cannot rank)."""
    cold = np.flatnonzero(np.bincount(train.indices, minlength=train.shape[1]) == 0)
    keep = np.zeros(train.shape[1], dtype=bool)
    keep[cold] = True
    inside = keep[test.indices]
    indptr = indptr_where(test, inside)
    held = sp.csr_matrix((test.data[inside], test.indices[inside], indptr), shape=test.shape)
    chosen = np.flatnonzero(np.diff(indptr) > 0)
    return cold, chosen, held[chosen]


# With auc=True every customer's whole ranking is computed: customers go in blocks of about
# this many ranked entries (ids and scores: ~64 MiB), so memory does not grow as customers x
# products (138k x 27k on MovieLens 20M would be 60 GB at once).
AUC_BLOCK_ENTRIES = 1 << 22


def _measure(model, users, history, held_out, k, exclude_seen, auc, allow, n_items, lists=None) -> dict:
    """Ranking metrics (and AUC) of ``model`` for ``users``; ``allow`` restricts the candidates;
    the top-k lists go to ``lists["ids"]`` when a dict is given."""
    if users.size == 0:
        if lists is not None:
            lists["ids"] = np.zeros((0, k), dtype=np.int64)
        return {"n_users": 0}
    n_candidates = n_items if allow is None else allow.size
    full = auc  # the whole ranking, for the AUC
    width = max(n_candidates, k) if full else k
    if auc and exclude_seen:
        H = sp.csr_matrix(history)
        seen = np.diff((H if allow is None else H[:, allow]).tocsr().indptr)
    else:
        seen = np.zeros(len(users), dtype=np.int64)
    step = max(1, AUC_BLOCK_ENTRIES // width) if full else users.size
    tops, aucs = [], []
    for start in range(0, users.size, step):
        block = slice(start, start + step)
        if full:
            ids = _ranked(model, users[block], history[block], width, exclude_seen, allow)
        else:
            ids = _top(model, users[block], history[block], k, exclude_seen, allow)
        tops.append(ids[:, :k].copy() if full else ids)  # a view would keep the whole ranking alive
        if auc:
            aucs.append(auc_metric(ids, held_out[block], n_candidates - seen[block], per_user=True)["per_user"])
    ids = tops[0] if len(tops) == 1 else np.vstack(tops)
    res = ranking_metrics(ids, held_out, k)
    res["coverage"] = coverage(ids, n_items)
    if lists is not None:
        lists["ids"] = ids
    if auc:
        per_user = np.concatenate(aucs)
        defined = per_user[~np.isnan(per_user)]
        res["auc"] = float(defined.mean()) if defined.size else float("nan")
    return res


def _interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    values = values[~np.isnan(values)]
    n = values.size
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(values.mean())
    if n < 2:
        return mean, float("nan"), float("nan")
    from scipy import stats  # here, not at import (a third of `import recforge`)

    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * values.std(ddof=1) / np.sqrt(n))
    return mean, mean - half, mean + half


def _p_text(p: float) -> str:
    """A p-value as a table shows it: below 0.001 as "p<0.001" (the t-test underflows to 0 for
    large differences, and "p=0" is never true)."""
    return "p<0.001" if p < 0.001 else f"p={p:.2g}"


@dataclass
class Comparison:
    """Result of :func:`compare`: per model and metric, (mean, low, high) of the 95% confidence
    interval over users; per model after the first, the paired t-test p-value against the first."""

    k: int
    n_users: int
    metrics: dict = field(default_factory=dict)  # model -> metric -> (mean, low, high)
    p_values: dict = field(default_factory=dict)  # model -> metric -> p-value vs the baseline
    baseline: str = ""
    # With compare(groups=True): "returning", "new_customers", "new_products" -> Comparison
    groups: dict = field(default_factory=dict)
    # With compare(beyond=True): model -> beyond-accuracy measures of its lists
    beyond: dict = field(default_factory=dict)
    # Models that predict ratings: model -> "rmse" / "mae" -> (value, low, high) over the test's
    # n_ratings pairs, and the paired t-test p-value against the first such model
    ratings: dict = field(default_factory=dict)
    rating_p_values: dict = field(default_factory=dict)
    n_ratings: int = 0
    # The "new_products" group: how many products without training interactions it ranks
    candidates: int | None = None
    lists: dict = field(default_factory=dict, repr=False)  # internal: top-k lists while measuring

    def __str__(self) -> str:
        head = "| model | " + " | ".join(f"{m}@{self.k}" for m in RANKING_METRICS) + " |"
        lines = [head, "|---|" + "---:|" * len(RANKING_METRICS)]
        for name, per_metric in self.metrics.items():
            cells = []
            for m in RANKING_METRICS:
                mean, low, high = per_metric[m]
                cell = f"{mean:.4f} ±{(high - low) / 2:.4f}"
                if name in self.p_values:
                    cell += f" ({_p_text(self.p_values[name][m])})"
                cells.append(cell)
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append(
            f"\n{self.n_users} users; ± is the half-width of the 95% interval; p: paired t-test "
            f"against {self.baseline}."
        )
        if self.beyond:
            names = [m for m in BEYOND_METRICS if m in next(iter(self.beyond.values()))]
            lines.append("\n| model | " + " | ".join(names) + " |")
            lines.append("|---|" + "---:|" * len(names))
            for name, measures in self.beyond.items():
                lines.append(f"| {name} | " + " | ".join(_measure_text(measures[m]) for m in names) + " |")
            if any(np.isnan(measures.get("intra_list_diversity", 0.0)) for measures in self.beyond.values()):
                lines.append("n/a: intra-list diversity needs lists of two or more products.")
        if self.ratings:
            lines.append("\n| model | " + " | ".join(RATING_METRICS) + " |")
            lines.append("|---|" + "---:|" * len(RATING_METRICS))
            for name, errors in self.ratings.items():
                cells = []
                for m in RATING_METRICS:
                    value, low, high = errors[m]
                    p = self.rating_p_values.get(name, {}).get(m)
                    cells.append(f"{value:.4f} [{low:.4f}, {high:.4f}]" + ("" if p is None else f" ({_p_text(p)})"))
                lines.append(f"| {name} | " + " | ".join(cells) + " |")
            first = next(iter(self.ratings))
            tested = f"; p: paired t-test against {first}" if len(self.ratings) > 1 else ""
            lines.append(f"\nRating error over {self.n_ratings:,} test ratings, with its 95% interval{tested}.")
        if self.candidates is not None and self.n_users:
            lines.append(
                f"Each customer's new products ranked among the {self.candidates:,} products without training "
                "interactions: a model without product features ranks them alike, as chance would."
            )
        for name, group in self.groups.items():
            lines.append(f"\n{name}:\n" + (str(group) if group.n_users else "no customers"))
        return "\n".join(lines)

    def to_frame(self):
        """The table as a pandas DataFrame, one row per model (in the order compared): for each
        ranking metric its mean and the 95% interval's ends (``ndcg``, ``ndcg_low``,
        ``ndcg_high``) and the paired t-test's p-value against the baseline (``ndcg_p``; NaN
        for the baseline itself), then the beyond-accuracy measures when measured, then
        ``rmse`` and ``mae`` the same way for the models that predict ratings (NaN for the
        others). A group's table is ``comparison.groups[name].to_frame()``.

        Returns
        -------
        pandas.DataFrame
            Index: the models' names (named "model").
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("Comparison.to_frame needs pandas: pip install 'recforge[io]'") from None
        rows = []
        for name, per_metric in self.metrics.items():
            row = {}
            for m in RANKING_METRICS:
                row[m], row[f"{m}_low"], row[f"{m}_high"] = per_metric[m]
                row[f"{m}_p"] = self.p_values.get(name, {}).get(m, float("nan"))
            row.update(self.beyond.get(name, {}))
            for m, (value, low, high) in self.ratings.get(name, {}).items():
                row.update({m: value, f"{m}_low": low, f"{m}_high": high})
                row[f"{m}_p"] = self.rating_p_values.get(name, {}).get(m, float("nan"))
            rows.append(row)
        return pd.DataFrame(rows, index=pd.Index(list(self.metrics), name="model"))


def compare(
    models: dict,
    train,
    test,
    k: int = 10,
    *,
    exclude_seen: bool = True,
    groups: bool = False,
    beyond: bool = False,
    similarity=None,
) -> Comparison:
    """Evaluate fitted models on the same users and test whether they differ.

    Every customer with a test item is measured (as in :func:`evaluate`); ``groups=True``
    adds the same comparison for returning customers, new customers and new products.

    Parameters
    ----------
    models : dict of str -> fitted model
        The first is the baseline the others are tested against (e.g. ``rf.Popularity()``).
    train, test : scipy.sparse, same shape
    k : int, default 10
    groups : bool, default False
        Also ``result.groups``: a Comparison for ``"returning"`` customers (with training
        history), ``"new_customers"`` (without) and ``"new_products"`` (customers with a test
        item among the products without training interactions, ranking only those).
    beyond : bool, default False
        Also ``result.beyond``: each model's beyond-accuracy measures on the same lists
        (:func:`beyond_accuracy`; measures of the whole batch, so without intervals).
    similarity : scipy.sparse matrix, shape (n_items, n_items), optional
        Item-item similarity for intra-list diversity.

    Returns
    -------
    Comparison
        Means with 95% confidence intervals (Student t over users) and paired t-test p-values
        against the baseline; ``print(result)`` gives a table. Models that predict ratings
        (BiasedMF, KNNRegressor) also get ``result.ratings``: RMSE and MAE of the test's
        ratings with their intervals, tested against the first such model on the same pairs.
    """
    if not isinstance(models, dict) or not models:
        raise TypeError("models must be a non-empty dict of name -> fitted model")
    train, test = _check_pair(train, test, [(f"model {name!r}", m) for name, m in models.items()])
    k = check_int(k, "k", minimum=1)
    exclude_seen, groups, beyond = _flags(exclude_seen=exclude_seen, groups=groups, beyond=beyond)
    users = _evaluated_users(test)
    out = _compare(models, users, train[users], test[users], k, exclude_seen, lists={} if beyond else None)
    if beyond:
        out.beyond = {name: beyond_accuracy(ids, train, similarity=similarity) for name, ids in out.lists.items()}
    out.lists = {}
    _rating_errors(out, models, test)
    if groups:
        returning = np.diff(train.indptr)[users] > 0
        for name, chosen in (("returning", users[returning]), ("new_customers", users[~returning])):
            out.groups[name] = _compare(models, chosen, train[chosen], test[chosen], k, exclude_seen)
        cold, chosen, held = _new_products(train, test)
        out.groups["new_products"] = _compare(models, chosen, train[chosen], held, k, exclude_seen, cold)
        out.groups["new_products"].candidates = int(cold.size)
    return out


def _compare(models, users, history, held_out, k, exclude_seen, allow=None, lists=None) -> Comparison:
    """The Comparison of ``models`` on ``users`` (rows of history / held_out); with ``lists`` (a
    dict) each model's top-k lists are kept in ``out.lists``."""
    baseline = next(iter(models))
    out = Comparison(k=k, n_users=len(users), baseline=baseline)
    per_user = {}
    for name, model in models.items():
        if len(users) == 0:
            ids = np.zeros((0, k), dtype=np.int64)
        else:
            ids, measured = _per_user(model, users, history, held_out, k, exclude_seen, allow)
            per_user[name] = measured["per_user"]
        if lists is not None:
            out.lists[name] = ids[:, :k]
    if len(users) == 0:
        return out
    for name, values in per_user.items():
        out.metrics[name] = {m: _interval(values[m]) for m in RANKING_METRICS}
        if name != baseline:
            out.p_values[name] = {}
            for m in RANKING_METRICS:
                out.p_values[name][m] = _paired_p(values[m], per_user[baseline][m])
    return out


def _measure_text(value: float) -> str:
    """A beyond-accuracy measure in the table: "n/a" where it is undefined (NaN: the diversity of
    lists of one product), not "nan"."""
    return "n/a" if np.isnan(value) else f"{value:.4f}"


def _paired_p(mine: np.ndarray, theirs: np.ndarray) -> float:
    """The paired t-test's p-value of two models' per-user (or per-pair) values: 1 where they
    never differ, 0 where they differ by one constant (no spread: the difference is certain),
    and scipy's otherwise, without its warning about nearly constant differences (the p-value
    stands; the warning reached the command line as a recforge one)."""
    from scipy import stats  # here, not at import (a third of `import recforge`)

    diff = np.asarray(mine, dtype=np.float64) - np.asarray(theirs, dtype=np.float64)
    if diff.size < 2 or not np.any(diff != 0):
        return 1.0
    if np.all(diff == diff[0]):
        return 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.ttest_rel(mine, theirs).pvalue)


def _rating_errors(out: Comparison, models: dict, test) -> None:
    """``out.ratings`` of the models that predict ratings, over every pair of ``test``."""
    errors = {name: rating_errors(m, test) for name, m in models.items() if predicts_ratings(m) and test.nnz}
    if not errors:
        return
    out.n_ratings = int(test.nnz)
    first = next(iter(errors))
    for name, e in errors.items():
        out.ratings[name] = error_intervals(e, _interval)
        if name != first:
            mine, theirs = paired_errors(e), paired_errors(errors[first])
            out.rating_p_values[name] = {m: _paired_p(mine[m], theirs[m]) for m in RATING_METRICS}


def cross_validate(make_model, user_items, folds: int = 5, k: int = 10, seed: int = 0) -> dict:
    """k-fold cross-validation over interactions: each interaction is in exactly one test fold;
    ``make_model`` (a model class, a function returning a fresh unfitted model, or a model,
    copied for each fold and never fitted itself) gives the model fitted on the other folds.

    Returns
    -------
    dict
        ``folds``: the :func:`evaluate` dict of each fold; and per metric, (mean, low, high) of
        the 95% interval over folds (``rmse`` and ``mae`` too for a model that predicts ratings:
        scikit-surprise's ``cross_validate`` measures).
    """
    if isinstance(make_model, Parametrised):
        make_model = model_factory(make_model, "make_model")[0]
    elif not callable(make_model):
        raise TypeError(
            f"make_model must be a model class, a function returning a model, or a model; got {make_model!r}"
        )
    X = check_sparse(user_items, "user_items")
    folds = check_int(folds, "folds", minimum=2)
    if folds > X.indices.size:  # folds without a test interaction, each one more fit: a typo ran for hours
        raise ValueError(
            f"folds must be at most the {X.indices.size:,} interactions (one per fold at least), got {folds:,}"
        )
    fold_of = np.random.default_rng(check_int(seed, "seed", minimum=0)).permutation(X.indices.size) % folds
    results = []
    for f in range(folds):
        train, test = partition(user_items, fold_of == f)
        results.append(evaluate(make_model().fit(train), train, test, k))
    out = {"folds": results}
    rated = RATING_METRICS if "rmse" in results[0] else ()  # a model that predicts ratings
    for m in (*RANKING_METRICS, "coverage", *rated):
        out[m] = _interval(np.array([r[m] for r in results]))
    return out

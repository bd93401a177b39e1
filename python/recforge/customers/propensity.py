"""Purchase propensity: who will buy (anything, or one of a set of products) in the next N days?
Features at a cutoff from the log before it, labels from the window after it, a scikit-learn
gradient-boosting classifier, and evaluation at a later cutoff (honest temporal validation)."""

from __future__ import annotations

import copy
import numbers
from dataclasses import dataclass

import numpy as np

from .._checks import as_numbers, check_choice, check_fitted, check_int, check_model, check_real, check_seed
from .._factorize import isin, lookup
from .._params import Parametrised, clone
from .._times import as_moment, as_seconds, moment_text
from .bgnbd import BetaGeoFitter
from .segments import Segmenter
from .summary import RETURNS, UNITS, summary

DAY = UNITS["day"]
FEATURES = (
    "transactions",
    "days_since_last",
    "age_days",
    "total_value",
    "mean_value",
    "p_alive",
    "expected_purchases",
    "target_purchases",
    "days_since_target",
)
RECOMMENDER_FEATURE = "recommendation_score"  # the next column, with a recommender
SEGMENT_FEATURE = "segment"  # the last column, with a segmenter (categorical)


def feature_names(recommender=None, segmenter=None) -> tuple:
    """The columns :func:`features_at` returns for these options, in order."""
    return (
        FEATURES
        + ((RECOMMENDER_FEATURE,) if recommender is not None else ())
        + ((SEGMENT_FEATURE,) if segmenter is not None else ())
    )


def _lines(customers, times, amounts, items):
    customers = np.asarray(customers)
    t = as_seconds(times, "times", wall_clock=True)
    n = customers.shape[0] if customers.ndim == 1 else -1
    if customers.ndim != 1 or t.shape != (n,):
        raise ValueError(f"customers and times must be 1-D of one length, got {customers.shape} and {t.shape}")
    money = np.zeros(n) if amounts is None else as_numbers(amounts, "amounts")
    if money.shape != (n,):
        raise ValueError(f"amounts must hold one value per line ({n})")
    items = None if items is None else np.asarray(items)
    if items is not None and items.shape != (n,):
        raise ValueError(f"items must hold one value per line ({n})")
    return customers, t, money, items


def _target_list(target) -> list | None:
    """``target`` as a list of product ids: one id (text or a number) is a target of one
    product, not a sequence of characters; an empty target is a mistake, not "no purchase"."""
    if target is None:
        return None
    if isinstance(target, (str, bytes, numbers.Number)):
        return [target]
    try:
        out = target if isinstance(target, list) else list(target)  # a list kept: sklearn's clone checks it
    except TypeError:
        raise TypeError(f"target must be a product id or a list of product ids, got {target!r}") from None
    if not out:
        raise ValueError("target must name at least one product")
    return out


def _in_target(items, target) -> np.ndarray | None:
    target = _target_list(target)
    if target is None:
        return None
    if items is None:
        raise ValueError("target products need items= (the product of each line)")
    return isin(items, target)


def summary_before(customers, times, amounts=None, *, cutoff, returns: str = "drop"):
    """The customer summary at ``cutoff`` from the lines up to it (the population propensity
    describes); ``returns`` as for :func:`summary`."""
    customers, t, money, _ = _lines(customers, times, amounts, None)
    end = as_moment(cutoff, "cutoff", wall_clock=True)
    before = t <= end
    if not before.any():
        raise ValueError(f"cutoff {moment_text(end)} is before every line: no customer to describe")
    return summary(customers[before], t[before], money[before], as_of=end, returns=returns)


def features_at(
    customers,
    times,
    amounts=None,
    items=None,
    *,
    cutoff,
    window: float = 30.0,
    target=None,
    recommender=None,
    segmenter=None,
    returns: str = "drop",
):
    """Each customer's features at ``cutoff`` from the lines up to it, and only those.

    Returns (customer_ids, X) with the columns of ``FEATURES``: transactions, days since the
    last one, days since the first, total and mean value, BG/NBD's P(alive) and expected
    purchases in ``window`` days (fitted on the same lines), purchases of the target products and
    days since the last one (a large number for never). Customers with no purchase up to the
    cutoff are not in the population.

    With ``recommender`` (an unfitted recforge model, e.g. ``rf.ItemKNN()``) and ``target``, a
    copy of it is fitted on the (customer, product) pairs up to the cutoff and each customer's
    best score among the target products is one more column: what the recommender thinks of
    the target for this customer, from the same past only.

    With ``segmenter`` (a fitted :class:`Segmenter`), the last column is each customer's segment
    at the cutoff (its ``predict`` on the summary up to the cutoff): a category, not a number.
    Columns in order: :func:`feature_names`. ``returns`` ("drop" or "net") is how the
    summary's features treat lines with a negative amount, as for :func:`summary`; a return is
    never a purchase of a target product.
    """
    customers, t, money, items = _lines(customers, times, amounts, items)
    end = as_moment(cutoff, "cutoff", wall_clock=True)
    before = t <= end
    s = summary_before(customers, t, money, cutoff=end, returns=returns)
    ids = s.customer_ids
    hit = _in_target(items, target)
    target_count = np.zeros(len(s))
    since_target = np.full(len(s), 10_000.0)
    if hit is not None:
        # A return of a target product is not a purchase of it (nor is a line without an
        # amount); lines of customers outside the population (no id, only returns) count for
        # no one: a sorted search would have given them to the next customer in order.
        mine = np.flatnonzero(before & hit & (money >= 0))
        row = lookup(ids, customers[mine])
        mine, row = mine[row >= 0], row[row >= 0]
        target_count = np.bincount(row, minlength=len(s)).astype(np.float64)
        last = np.full(len(s), -np.inf)
        np.maximum.at(last, row, t[mine])
        since_target = np.where(np.isfinite(last), (end - last) / DAY, 10_000.0)
    columns = [
        s.transactions.astype(np.float64),
        s.since_last,
        s.T,
        s.total_value,
        s.total_value / s.transactions,
        *_bgnbd_features(s, window),
        target_count,
        since_target,
    ]
    if recommender is not None:
        if target is None:
            raise ValueError("recommender scores need target products")
        columns.append(_recommendation_scores(recommender, ids, customers[before], items[before], target))
    if segmenter is not None:
        columns.append(segmenter.predict(s).astype(np.float64))
    return ids, np.column_stack(columns)


def _recommendation_scores(recommender, ids, customers, items, target) -> np.ndarray:
    """Each of ``ids``' best score among the target products, from a copy of ``recommender``
    fitted on these lines (0 where no target product gets a score)."""
    from ..data import Interactions

    past = Interactions.from_arrays(customers, items)
    model = clone(recommender).fit(past)  # a wrapped model cloned too: the caller's is never refitted
    allow = np.flatnonzero(isin(past.item_ids, _target_list(target)))
    out = np.zeros(ids.size)
    if allow.size == 0:
        return out
    rows = lookup(past.user_ids, ids)  # every customer of the population has lines here
    # The best of the targets is a top-1 list over them: k=1, not k=len(target) (a category of
    # 1,000 products for 1M customers would rank 16 GB of lists to keep one score each).
    got, scores = model.recommend(rows, past.matrix[rows], k=1, exclude_seen=False, allow=allow)
    best = np.where(got[:, 0] >= 0, scores[:, 0], -np.inf)
    return np.where(np.isfinite(best), best, 0.0)


def _bgnbd_features(s, window: float) -> tuple[np.ndarray, np.ndarray]:
    """P(alive) and expected purchases in ``window`` days from the maximum likelihood BG/NBD fit,
    or, where the likelihood has no maximum (short or uniform logs) or its limit gives no finite
    prediction, from the least penalised fit that does."""
    for penalizer in (0.0, 0.001, 0.01):
        try:
            bg = BetaGeoFitter(penalizer=penalizer).fit(s, strict=False)
        except (RuntimeError, ValueError) as e:  # no maximum, or (no repeat purchase) no dropout to fit
            failure = str(e)
            continue
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # non-finite: tried next
            alive = bg.probability_alive(s)
            expected = bg.expected_purchases(window, s)
        if np.all(np.isfinite(alive)) and np.all(np.isfinite(expected)):
            return alive, expected
        failure = f"non-finite predictions at {bg.params_}"
    raise RuntimeError(f"BG/NBD features at this cutoff: {failure}")


def labels_after(
    customer_ids, customers, times, items=None, *, cutoff, window: float = 30.0, target=None, amounts=None
):
    """True for each of ``customer_ids`` who bought (a target product) in (cutoff, cutoff + window days].

    With ``amounts``, a line with a negative amount (a return) or none (NaN) is not a purchase,
    as :func:`summary` counts purchases: a customer who only returned something in the window
    did not buy."""
    customers, t, money, items = _lines(customers, times, amounts, items)
    start = as_moment(cutoff, "cutoff", wall_clock=True)
    inside = (t > start) & (t <= start + window * DAY) & (money >= 0)
    hit = _in_target(items, target)
    if hit is not None:
        inside &= hit
    return isin(customer_ids, customers[inside])


def target_history_score(X) -> np.ndarray:
    """The rule a marketer would use without a model, from :func:`features_at`'s columns: who
    bought the target products most often, and among equals most recently, buys them again.
    One number that sorts as that pair does (the count first, the recency among equal counts).
    """
    count = X[:, FEATURES.index("target_purchases")]
    since = X[:, FEATURES.index("days_since_target")]
    # Ranks of the recency within [0, 1): they never outweigh one purchase more.
    recency = np.unique(since, return_inverse=True)[1].astype(np.float64)
    return count - recency / (recency.max() + 1.0)


@dataclass
class LiftTable:
    """Customers ranked by score, cut into deciles (10 rows, best first)."""

    decile: np.ndarray
    customers: np.ndarray
    buyers: np.ndarray
    rate: np.ndarray
    lift: np.ndarray
    cumulative_gain: np.ndarray  # share of all buyers found in this decile and the ones above

    def __str__(self) -> str:
        lines = ["| decile | customers | buyers | rate | lift | cumulative gain |", "|---:|---:|---:|---:|---:|---:|"]
        for i in range(self.decile.size):
            lines.append(
                f"| {self.decile[i]} | {self.customers[i]:,} | {self.buyers[i]:,} | {self.rate[i]:.1%} | "
                f"{self.lift[i]:.2f} | {self.cumulative_gain[i]:.1%} |"
            )
        return "\n".join(lines)


def lift_table(scores, labels, bins: int = 10) -> LiftTable:
    """Deciles (or ``bins``) of customers by descending score, ties broken by position."""
    bins = check_int(bins, "bins", minimum=1)
    scores = as_numbers(scores, "scores")
    labels = np.asarray(labels)
    if scores.shape != labels.shape or scores.ndim != 1:
        raise ValueError(f"scores and labels must be 1-D of one length, got {scores.shape} and {labels.shape}")
    if scores.size < bins:
        raise ValueError(f"{bins} bins need at least {bins} customers, got {scores.size}")
    if labels.dtype != bool:  # 2 or 0.5 or "no" are not "bought": a cast would call them True
        numbers_ = as_numbers(labels, "labels")
        if not np.all((numbers_ == 0) | (numbers_ == 1)):
            raise ValueError("labels must be True/False or 1/0 (bought or not)")
        labels = numbers_ == 1
    if not np.all(np.isfinite(scores)):  # a NaN would sort anywhere and shift every decile
        raise ValueError(f"scores must be finite numbers: position {int(np.argmax(~np.isfinite(scores)))} is not")
    order = np.lexsort((np.arange(scores.size), -scores))
    groups = np.array_split(labels[order], bins)
    customers = np.array([g.size for g in groups])
    buyers = np.array([int(g.sum()) for g in groups])
    overall = labels.mean()
    rate = buyers / customers
    return LiftTable(
        decile=np.arange(1, bins + 1),
        customers=customers,
        buyers=buyers,
        rate=rate,
        lift=rate / overall if overall > 0 else np.zeros(bins),
        cumulative_gain=np.cumsum(buyers) / max(labels.sum(), 1),
    )


def signed_log(X) -> np.ndarray:
    """log(1 + |x|) with the sign of x: counts, days and money span orders of magnitude, and a
    linear model weighs them on their logarithm."""
    X = np.asarray(X, dtype=np.float64)
    return np.sign(X) * np.log1p(np.abs(X))


def make_classifier(names, random_state=0):
    """The classifier :class:`Propensity` fits on columns ``names`` (:func:`feature_names`): the
    mean of the probabilities of gradient-boosted trees (calibrated) and of a logistic
    regression on the signed logarithms of the numbers (the segment one-hot encoded).

    The trees cut the features where the training cutoffs' customers fall and cannot tell
    apart those beyond the last cut: at a later cutoff the best customers of a product have
    bought it more often than any customer had before, and the trees ranked them alike. The
    linear model keeps ordering them. On Online Retail, the means over evaluation cutoffs
    2011-09-01, 10-01 and 11-01 (each fitted on the three months before it): AUC for "buys
    anything" 0.7303 with the trees alone, 0.7365 with the mean; for each of the 8 best sellers
    0.8272 and 0.8358 (their own past purchases, :func:`target_history_score`: 0.8213), and of
    the next month's buyers of each 29.5 and 31.8 in the top 100 (own past purchases: 31.5).
    ``python bench/bench_propensity.py --classifiers``.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, VotingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    segment = [name == SEGMENT_FEATURE for name in names]
    trees = HistGradientBoostingClassifier(
        max_iter=100,
        learning_rate=0.05,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        l2_regularization=1.0,
        categorical_features=segment,
        random_state=random_state,
    )
    numbers = [j for j, is_segment in enumerate(segment) if not is_segment]
    columns = [("numbers", make_pipeline(FunctionTransformer(signed_log), StandardScaler()), numbers)]
    if any(segment):
        columns.append(("segment", OneHotEncoder(handle_unknown="ignore"), [segment.index(True)]))
    linear = make_pipeline(ColumnTransformer(columns), LogisticRegression(max_iter=2000))
    return VotingClassifier(
        [("trees", CalibratedClassifierCV(trees, method="sigmoid", cv=3)), ("linear", linear)], voting="soft"
    )


class Propensity(Parametrised):
    """Will a customer buy (anything, or one of ``target``) within ``window`` days?

    ``fit`` builds :func:`features_at` the cutoff from the lines before it and labels from the
    ``window`` days after it, at ``history`` cutoffs one window apart (the given one and the
    ones before it: more examples of the same question), and trains the mean of two
    scikit-learn classifiers' probabilities (:func:`classifier`): a
    ``HistGradientBoostingClassifier`` (small leaves, L2: a few thousand customers overfit a
    default one) calibrated by ``CalibratedClassifierCV`` (sigmoid, 3 folds, which keeps the
    ranking), and a logistic regression on the features' signed logarithms. ``evaluate`` does the same at a
    later cutoff with the fitted model: the honest check, since nothing of the evaluation window
    reached the fit. ``predict`` scores customers at any date (the window after it unknown).

    Parameters
    ----------
    window : float, default 30.0
        Days after the cutoff the label looks at.
    target : iterable of product ids, optional
        Only purchases of these count (a product, or a category's products); None: any purchase.
    history : int, default 3
        Training cutoffs (>= 1). On Online Retail (fitted at 2011-10-09, evaluated a month
        later) 3 gave AUC 0.743 against 0.739 for 1 for any purchase, 0.740 against 0.733 for
        Christmas products; on the shipped sample (2,169 customers) 0.728 against 0.731.
    recommender : recforge model, optional
        With ``target``: adds each customer's recommendation score for the target products, from
        a copy fitted on the past of each cutoff (see :func:`features_at`).
    segmenter : Segmenter, optional
        Adds each customer's segment as a categorical feature: a copy is fitted on the summary
        at the earliest training cutoff (the past of every example), and every cutoff's
        customers are assigned to its segments.
    random_state : int or None, default 0
        Seed of the classifier (None: a different one each run).
    returns : {"drop", "net"}, default "drop"
        Lines with a negative amount in the features' summaries, as for :func:`summary`.

    Examples
    --------
    >>> import recforge as rf
    >>> log = rf.datasets.sample().interactions.events
    >>> who, when, money = log.user_ids[log.user], log.time, log.amount
    >>> model = rf.customers.Propensity(window=30).fit(who, when, money, cutoff="2011-10-01")
    >>> result = model.evaluate(who, when, money, cutoff="2011-11-01")
    >>> bool(result["auc"] > 0.7), result["lift"].decile.size
    (True, 10)
    """

    _state = ("classifier_", "feature_names_")  # what fit sets (is_fitted)
    returns = "drop"  # pickles of models made before the parameter read it from here

    def __init__(
        self,
        window: float = 30.0,
        target=None,
        history: int = 3,
        recommender=None,
        segmenter=None,
        random_state: int = 0,
        returns: str = "drop",
    ):
        self.window = check_real(window, "window", minimum=0.0)
        if self.window == 0:
            raise ValueError("window must be > 0 days")
        self.target = _target_list(target)
        self.history = check_int(history, "history", minimum=1)
        if recommender is not None and self.target is None:
            raise ValueError("recommender scores need target products: give target=")
        if recommender is not None:
            check_model(recommender, "recommender", "a recforge model (e.g. rf.ItemKNN())")
        self.recommender = recommender
        if segmenter is not None and not isinstance(segmenter, Segmenter):
            raise TypeError(f"segmenter must be a rf.customers.Segmenter, got {type(segmenter).__name__}")
        self.segmenter = segmenter
        self.random_state = check_seed(random_state)
        self.returns = check_choice(returns, "returns", RETURNS)

    def _features(self, customers, times, amounts, items, cutoff, segmenter):
        return features_at(
            customers,
            times,
            amounts,
            items,
            cutoff=cutoff,
            window=self.window,
            target=self.target,
            recommender=self.recommender,
            segmenter=segmenter,
            returns=self.returns,
        )

    def _data(self, customers, times, amounts, items, cutoff, segmenter):
        ids, X = self._features(customers, times, amounts, items, cutoff, segmenter)
        y = labels_after(
            ids, customers, times, items, cutoff=cutoff, window=self.window, target=self.target, amounts=amounts
        )
        return ids, X, y

    def fit(self, customers, times, amounts=None, items=None, *, cutoff) -> Propensity:
        times = as_seconds(times, "times", wall_clock=True)  # once: every cutoff below reuses the seconds
        hit = _in_target(items, self.target)
        if hit is not None and not hit.any():  # e.g. ids given as numbers where the log's are text
            shown = ", ".join(repr(t) for t in self.target[:3]) + (", ..." if len(self.target) > 3 else "")
            raise ValueError(f"target ({shown}) names no product of items (the lines' products)")
        names = feature_names(self.recommender, self.segmenter)
        end = as_moment(cutoff, "cutoff", wall_clock=True)
        first = float(np.nanmin(times))
        cutoffs = [end - i * self.window * DAY for i in range(self.history)]
        cutoffs = [at for at in cutoffs if at > first]  # before the first line: no customer yet
        if not cutoffs:
            raise ValueError(
                f"cutoff {moment_text(end)} is not after the first line ({moment_text(first)}): no customer to describe"
            )
        segmenter = None
        if self.segmenter is not None:  # on the past of every training example
            past = summary_before(customers, times, amounts, cutoff=cutoffs[-1], returns=self.returns)
            segmenter = copy.deepcopy(self.segmenter).fit(past)
        blocks = [self._data(customers, times, amounts, items, at, segmenter)[1:] for at in cutoffs]
        X = np.vstack([b[0] for b in blocks])
        y = np.concatenate([b[1] for b in blocks])
        if y.all() or not y.any():
            raise ValueError(
                f"{'every customer' if y.all() else 'no customer'} bought {'' if self.target is None else 'a target '}"
                f"in the {self.window:g} days after cutoff {moment_text(end)}: nothing to learn; move the cutoff or "
                "change window"
            )
        if min(y.sum(), (~y).sum()) < 6:
            raise ValueError(f"too few buyers or non-buyers after cutoff {moment_text(end)} to fit and calibrate")
        classifier = make_classifier(names, self.random_state).fit(X, y)
        # set together, after every step that can fail: a failed refit leaves the model as it was
        self.classifier_, self.feature_names_, self.segmenter_ = classifier, names, segmenter
        self.n_examples_, self.cutoffs_used_, self.base_rate_ = int(y.size), len(blocks), float(y.mean())
        return self

    def predict(self, customers, times, amounts=None, items=None, *, as_of):
        """(customer_ids, probability of buying within ``window`` days after ``as_of``)."""
        check_fitted(self, "classifier_")
        ids, X = self._features(customers, times, amounts, items, as_of, getattr(self, "segmenter_", None))
        return ids, self.classifier_.predict_proba(X)[:, 1]

    def evaluate(self, customers, times, amounts=None, items=None, *, cutoff) -> dict:
        """AUC, the lift table and the base rate at ``cutoff`` (a later one than the fit's), beside
        baselines on the same customers: recency alone (``auc_recency``, ``lift_recency``),
        BG/NBD's expected purchases (``_bgnbd``) and, with ``target``, the customers' own
        purchases of the target products, most first and then most recent
        (``_target_history``, :func:`target_history_score`): a model that does not beat the
        last is not worth its fit for that target."""
        from sklearn.metrics import roc_auc_score

        check_fitted(self, "classifier_")
        segmenter = getattr(self, "segmenter_", None)  # the fit's (older pickles lack it without one)
        ids, X, y = self._data(
            customers, as_seconds(times, "times", wall_clock=True), amounts, items, cutoff, segmenter
        )
        if y.all() or not y.any():
            at = moment_text(as_moment(cutoff, "cutoff", wall_clock=True))
            raise ValueError(f"the {self.window:g} days after cutoff {at} hold only one class: no AUC")
        p = self.classifier_.predict_proba(X)[:, 1]
        recency, expected = -X[:, FEATURES.index("days_since_last")], X[:, FEATURES.index("expected_purchases")]
        baselines = {"recency": recency, "bgnbd": expected}
        if self.target is not None:
            baselines["target_history"] = target_history_score(X)
        return {
            "auc": float(roc_auc_score(y, p)),
            **{f"auc_{name}": float(roc_auc_score(y, score)) for name, score in baselines.items()},
            "lift": lift_table(p, y),
            **{f"lift_{name}": lift_table(score, y) for name, score in baselines.items()},
            "base_rate": float(y.mean()),
            "customers": int(ids.size),
            "customer_ids": ids,
            "probability": p,
            "bought": y,
        }

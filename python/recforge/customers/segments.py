"""Customer segments: k-means (scikit-learn) on RFM behaviour plus taste, k chosen by silhouette,
and segment profiles with the products each segment over-buys."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .. import _core
from .._checks import check_fitted, check_int, check_real, check_seed
from .._params import Parametrised
from .rfm import rfm
from .summary import CustomerSummary, check_summary


def silhouette_scores(X: np.ndarray, labelings: dict, sample_size: int, random_state) -> dict:
    """scikit-learn's ``silhouette_score(X, labels, sample_size=..., random_state=...)`` of each
    of ``labelings`` (k -> labels), on one sample of the customers for every k (the one
    scikit-learn draws with an integer ``random_state``). The sample's distances are computed
    once, by blocks of rows, for all k: scikit-learn computes them again for each, which made
    choosing k among 2..10 for 23,570 CDNOW customers take 12 s of the command's 14. A k whose
    sample holds a single segment is left out."""
    from sklearn.metrics.pairwise import euclidean_distances
    from sklearn.utils import check_random_state

    n = X.shape[0]
    if not labelings:
        return {}
    rows = check_random_state(random_state).permutation(n)[:sample_size] if sample_size < n else np.arange(n)
    sample = X[rows]
    m = rows.size
    codes = {}
    for k, labels in labelings.items():
        kept, code = np.unique(labels[rows], return_inverse=True)
        if kept.size >= 2:
            codes[k] = code.ravel()
    if not codes:
        return {}
    onehot = {k: np.eye(int(c.max()) + 1)[c] for k, c in codes.items()}  # m x k, small k
    sums = {k: np.empty_like(h) for k, h in onehot.items()}  # each customer's summed distance to each segment
    block = max(1, (1 << 22) // max(m, 1))  # rows of distances at a time: 32 MiB of float64
    for start in range(0, m, block):
        D = euclidean_distances(sample[start : start + block], sample)
        for k, h in onehot.items():
            sums[k][start : start + block] = D @ h
    out = {}
    for k, code in codes.items():
        size = np.bincount(code).astype(np.float64)
        own = size[code]
        total = sums[k]
        a = np.take_along_axis(total, code[:, None], axis=1).ravel() / np.maximum(own - 1, 1)
        mean = total / size
        mean[np.arange(m), code] = np.inf
        b = mean.min(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            score = (b - a) / np.maximum(a, b)
        score[own == 1] = 0.0  # a customer alone in its segment scores 0, as in scikit-learn
        out[k] = float(np.mean(np.nan_to_num(score)))
    return out


def behaviour(summary: CustomerSummary) -> np.ndarray:
    """Recency, frequency and monetary columns on scales k-means can compare: log1p of days since
    the last purchase, of transactions and of total value (all skewed), then z-scores."""
    check_summary(summary)
    X = np.column_stack(
        [
            np.log1p(summary.since_last),
            np.log1p(summary.transactions.astype(np.float64)),
            np.log1p(np.maximum(summary.total_value, 0.0)),
        ]
    )
    return _standardise(X)


def _standardise(X: np.ndarray) -> np.ndarray:
    scale = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(scale > 0, scale, 1.0)


class Segmenter(Parametrised):
    """k-means segments of customers on behaviour (RFM) and, optionally, taste.

    Features: :func:`behaviour` (3 standardised RFM columns) and, when ``taste`` is given to
    ``fit`` (ALS user factors, category shares: one row per customer of the summary, in its
    order, ``summary.customer_ids``, sorted: ``factors[inter.user_index(summary.customer_ids)]``
    for a model fitted on an Interactions, whose rows follow first appearance), its
    standardised columns scaled so the taste block weighs ``taste_weight`` times the behaviour
    block in total variance. k-means is scikit-learn's ``KMeans``; with ``n_segments=None`` it
    is run for every k in ``k_range`` and the k with the best silhouette on a sample of
    ``sample_size`` customers is kept.

    Parameters
    ----------
    n_segments : int or None, default None
        None: chosen by silhouette from ``k_range``. More than the customers fitted on raises
        ValueError.
    k_range : tuple of int, default (2, 10)
        Smallest and largest k tried (inclusive).
    taste_weight : float, default 1.0
    sample_size : int, default 10000
        Customers the silhouette is computed on (it is quadratic in them).
    random_state : int or None, default 0
        Seed of k-means and the silhouette's sample (None: a different draw each run).

    Attributes
    ----------
    labels_ : numpy.ndarray of int64
        Segment of each customer, numbered by decreasing size.
    n_segments_ : int
    silhouettes_ : dict of int -> float
        The silhouette of each k tried (empty when ``n_segments`` was given).
    kmeans_ : sklearn.cluster.KMeans

    Examples
    --------
    >>> import numpy as np, recforge as rf
    >>> rng = np.random.default_rng(0)
    >>> s = rf.customers.summary(rng.integers(0, 200, 2000), 1.7e9 + rng.uniform(0, 2e7, 2000),
    ...                          rng.gamma(2.0, 20.0, 2000))
    >>> seg = rf.customers.Segmenter(n_segments=4).fit(s)
    >>> seg.labels_.shape, seg.n_segments_
    ((200,), 4)
    """

    _state = ("kmeans_", "labels_")  # what fit sets (is_fitted)

    def __init__(
        self,
        n_segments: int | None = None,
        k_range: tuple[int, int] = (2, 10),
        taste_weight: float = 1.0,
        sample_size: int = 10_000,
        random_state: int = 0,
    ):
        self.n_segments = None if n_segments is None else check_int(n_segments, "n_segments", minimum=1)
        if not isinstance(k_range, (tuple, list)) or len(k_range) != 2:
            raise TypeError(f"k_range must be a pair (low, high), got {k_range!r}")
        low, high = (check_int(k, "k_range", minimum=2) for k in k_range)
        if low > high:
            raise ValueError(f"k_range must be (low, high) with low <= high, got {k_range}")
        same = isinstance(k_range, tuple) and all(type(k) is int for k in k_range)
        self.k_range = k_range if same else (low, high)  # kept as given where it is one: sklearn's clone checks
        self.taste_weight = check_real(taste_weight, "taste_weight", minimum=0.0)
        self.sample_size = check_int(sample_size, "sample_size", minimum=10)
        self.random_state = check_seed(random_state)

    def features(self, summary: CustomerSummary, taste=None) -> np.ndarray:
        """The matrix k-means runs on."""
        X = behaviour(summary)
        if taste is None or self.taste_weight == 0:
            return X
        try:
            T = np.asarray(taste.toarray() if sp.issparse(taste) else taste, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(
                f"taste must be a matrix of numbers (customers x factors), got {type(taste).__name__}"
            ) from None
        if T.ndim != 2 or T.shape[0] != len(summary):
            raise ValueError(f"taste must have one row per customer of the summary ({len(summary)}), got {T.shape}")
        if T.shape[1] == 0:
            raise ValueError("taste has no columns: give None for behaviour alone")
        if not np.all(np.isfinite(T)):
            raise ValueError("taste must be finite")
        # standardised, then scaled to equal total variance per block times taste_weight (32
        # factors must not drown 3 RFM columns); written once into the matrix k-means reads
        out = np.empty((X.shape[0], X.shape[1] + T.shape[1]))
        out[:, : X.shape[1]] = X
        taste_part = out[:, X.shape[1] :]
        scale = T.std(axis=0)
        np.subtract(T, T.mean(axis=0), out=taste_part)
        taste_part *= np.sqrt(self.taste_weight * X.shape[1] / max(T.shape[1], 1)) / np.where(scale > 0, scale, 1.0)
        return out

    def fit(self, summary: CustomerSummary, taste=None) -> Segmenter:
        from sklearn.cluster import KMeans

        X = self.features(summary, taste)
        n = X.shape[0]
        if n < 2:
            raise ValueError(f"segmenting needs at least 2 customers, got {n}")
        silhouettes = {}
        # k-means cannot make more groups than distinct points: customers with the same features
        # are one point (it would warn and return fewer segments than asked)
        distinct = len(_core.distinct_rows(np.ascontiguousarray(X))[0])  # hashed: numpy's sort took 10x longer
        if self.n_segments is not None:
            if self.n_segments > n:
                raise ValueError(f"n_segments ({self.n_segments}) is more than the customers ({n})")
            if self.n_segments > distinct:
                raise ValueError(
                    f"n_segments ({self.n_segments}) is more than the customers' distinct profiles ({distinct}): "
                    "customers with the same features cannot be told apart"
                )
            k = self.n_segments
        else:
            low, high = self.k_range[0], min(self.k_range[1], n - 1, distinct)
            if distinct < 2:
                raise ValueError("every customer has the same features: the customers do not separate")
            if low > high:
                raise ValueError(f"k_range {self.k_range} leaves no k for {n} customers ({distinct} distinct)")
            labelings = {}
            for k in range(low, high + 1):
                labels = KMeans(k, n_init=3, random_state=self.random_state).fit_predict(X)
                if len(np.unique(labels)) >= 2:
                    labelings[k] = labels
            silhouettes = silhouette_scores(X, labelings, self.sample_size, self.random_state)
            if not silhouettes:
                raise ValueError("every k in k_range gave a single segment: the customers do not separate")
            k = max(silhouettes, key=lambda c: (silhouettes[c], -c))
        self.kmeans_ = KMeans(k, n_init=10, random_state=self.random_state).fit(X)
        # renumber by decreasing size (ties by the lower k-means label): segment 0 is the largest
        sizes = np.bincount(self.kmeans_.labels_, minlength=k)
        rank = np.empty(k, dtype=np.int64)
        rank[np.lexsort((np.arange(k), -sizes))] = np.arange(k)
        self.labels_ = rank[self.kmeans_.labels_]
        self.n_segments_ = int(k)
        self.silhouettes_ = silhouettes
        self._rank = rank
        return self

    def predict(self, summary: CustomerSummary, taste=None) -> np.ndarray:
        """Segments of other customers (features scaled on their own summary: pass the same
        population's summary, e.g. at a later date)."""
        check_fitted(self, "kmeans_")
        X = self.features(summary, taste)
        given = (
            0
            if taste is None or self.taste_weight == 0
            else (taste.shape if hasattr(taste, "shape") else np.shape(taste))[1]
        )
        fitted = self.kmeans_.n_features_in_ - (X.shape[1] - given)  # taste columns of the fit
        if X.shape[1] != self.kmeans_.n_features_in_:
            told = f"taste of {fitted} columns" if fitted else "no taste"
            raise ValueError(f"this Segmenter was fitted with {told}: give predict the same")
        return self._rank[self.kmeans_.predict(X)]


@dataclass
class SegmentProfile:
    """One row per segment (parallel arrays), and each segment's top products; NaN figures
    and no products for segments below :func:`profile`'s ``min_size``."""

    segment: np.ndarray
    customers: np.ndarray
    customer_share: np.ndarray
    revenue_share: np.ndarray
    mean_since_last: np.ndarray
    mean_transactions: np.ndarray
    mean_total_value: np.ndarray
    top_items: list  # per segment: list of (item, lift, buyers in the segment)
    # per segment: (its most common named RFM segment, the share of its customers in it), or
    # None below min_size: a k-means segment read in the marketing names ("Champions 81%")
    rfm_segment: list = field(default_factory=list)

    def __str__(self) -> str:
        lines = [
            "| segment | customers | share | revenue share | since last | transactions | value | mostly (RFM) "
            "| top products (lift) |",
            "|---:|---:|---:|---:|---:|---:|---:|---|---|",
        ]
        for i, s in enumerate(self.segment):
            top = ", ".join(f"{item} ({lift:.1f})" for item, lift, _ in self.top_items[i][:3])
            if np.isnan(self.mean_total_value[i]):  # below profile's min_size: its size alone
                lines.append(f"| {s} | {self.customers[i]:,} | {self.customer_share[i]:.1%} | suppressed | | | | | |")
                continue
            named = self.rfm_segment[i] if i < len(self.rfm_segment) else None
            mostly = "" if named is None else f"{named[0]} {named[1]:.0%}"
            lines.append(
                f"| {s} | {self.customers[i]:,} | {self.customer_share[i]:.1%} | {self.revenue_share[i]:.1%} | "
                f"{self.mean_since_last[i]:.0f} | {self.mean_transactions[i]:.1f} | {self.mean_total_value[i]:,.0f} | "
                f"{mostly} | {top} |"
            )
        return "\n".join(lines)


def _rows_of_customers(inter, customer_ids) -> sp.csr_matrix:
    """The rows of an Interactions for ``customer_ids``, in their order; empty for a customer it
    does not hold."""
    rows = inter.user_index(customer_ids, missing="ignore")
    if len(customer_ids) and (rows < 0).all():
        raise ValueError(
            "user_items holds none of the summary's customers: its user ids are not the summary's "
            f"(e.g. {customer_ids[0]!r} against {inter.user_ids[0] if inter.n_users else None!r})"
        )
    M = sp.csr_matrix(inter.matrix)
    padded = sp.vstack([M, sp.csr_matrix((1, M.shape[1]), dtype=M.dtype)], format="csr")
    return padded[np.where(rows >= 0, rows, M.shape[0])]


def profile(
    labels,
    summary: CustomerSummary,
    user_items=None,
    item_ids=None,
    top: int = 5,
    min_buyers: int = 5,
    min_size: int = 1,
) -> SegmentProfile:
    """Size, revenue share, mean behaviour and the products each segment over-buys.

    Lift of item j in segment s = (share of s's customers who bought j) / (share of all
    customers who bought j); items with fewer than ``min_buyers`` buyers in the segment are left
    out (a lift from two customers is noise), and equal lifts go to the item with more buyers
    in the segment. ``user_items``: an :class:`~recforge.Interactions`,
    whose rows are matched to the summary's customers by id (customers without interactions
    have none; its item ids name the products unless ``item_ids`` does), or a customers x items
    matrix whose rows are the summary's customers in its order (``summary.customer_ids``: sorted,
    not an Interactions' first-appearance order); ``item_ids`` names the columns. Segments
    smaller than ``min_size`` are reported with their size only: revenue share and means are
    NaN, products none (privacy: the mean of a segment of one is that customer's own figure).
    Each segment is also read in the named RFM segments of :func:`rfm`: the most common one
    among its customers and its share (``rfm_segment``; "mostly (RFM)" in the table).
    """
    check_summary(summary)
    labels = np.asarray(labels)
    if labels.shape != (len(summary),):
        raise ValueError(f"labels must hold one segment per customer of the summary ({len(summary)})")
    top = check_int(top, "top", minimum=0)
    min_buyers = check_int(min_buyers, "min_buyers", minimum=1)
    min_size = check_int(min_size, "min_size", minimum=1)
    segments, code = np.unique(labels, return_inverse=True)
    k = segments.size
    count = np.bincount(code, minlength=k)
    revenue = np.bincount(code, weights=np.maximum(summary.total_value, 0.0), minlength=k)
    tops: list = [[] for _ in range(k)]
    if user_items is not None and top > 0:
        if hasattr(user_items, "user_index") and hasattr(user_items, "matrix"):  # an Interactions
            item_ids = user_items.item_ids if item_ids is None else item_ids
            user_items = _rows_of_customers(user_items, summary.customer_ids)
        B = sp.csr_matrix(user_items, copy=False)
        if B.shape[0] != len(summary):
            raise ValueError(f"user_items must have one row per customer of the summary ({len(summary)})")
        bought = sp.csr_matrix((np.ones(B.nnz), B.indices, B.indptr), shape=B.shape)
        bought.sum_duplicates()
        bought.data[:] = 1.0
        membership = sp.csr_matrix((np.ones(code.size), (code, np.arange(code.size))), shape=(k, code.size))
        per_segment = (membership @ bought).toarray()  # buyers of each item in each segment
        overall = per_segment.sum(axis=0) / code.size
        names = np.arange(B.shape[1]) if item_ids is None else np.asarray(item_ids)
        for s in range(k):
            if count[s] < min_size:
                continue
            share = per_segment[s] / count[s]
            lift = np.divide(share, overall, out=np.zeros_like(share), where=overall > 0)
            lift[per_segment[s] < min_buyers] = 0.0
            # equal lifts (every buyer of a product in this segment: the largest lift there is,
            # often for many products) are ranked by their buyers in the segment, not by id
            # order: 5 buyers of a bracelet came before 300 of a tea set
            best = np.lexsort((np.arange(lift.size), -per_segment[s], -np.round(lift, 9)))[:top]
            tops[s] = [(names[j], float(lift[j]), int(per_segment[s, j])) for j in best if lift[j] > 0]

    small = count < min_size

    def shown(values):
        return np.where(small, np.nan, values)

    def mean(values):
        return shown(np.bincount(code, weights=values, minlength=k) / count)

    total_revenue = revenue.sum()
    names, named = np.unique(rfm(summary).segment, return_inverse=True)
    together = np.bincount(code * names.size + named.ravel(), minlength=k * names.size).reshape(k, names.size)
    best = together.argmax(axis=1)  # ties: the first name in order
    mostly = [
        None if count[s] < min_size else (str(names[best[s]]), float(together[s, best[s]] / count[s])) for s in range(k)
    ]
    return SegmentProfile(
        segment=segments,
        customers=count,
        customer_share=count / code.size,
        revenue_share=shown(revenue / total_revenue if total_revenue > 0 else np.zeros(k)),
        mean_since_last=mean(summary.since_last),
        mean_transactions=mean(summary.transactions.astype(np.float64)),
        mean_total_value=mean(summary.total_value),
        top_items=tops,
        rfm_segment=mostly,
    )

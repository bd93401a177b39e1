"""Each product's categories (one, several or none) as the re-ranking and calibration read
them: a membership matrix of Steck's p(g|i), a customer's category mix, and the prepared form
a campaign re-ranked in batches builds once."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._factorize import factorize
from .._sparse import check_sparse

SEVERAL = (list, tuple, set, frozenset, np.ndarray)  # an item's several categories


def category_membership(categories, n_items: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """Each item's categories as a matrix (n_items x n_categories, float64): weight 1 where an
    item has one category, 1/n in each of an item's n categories (a film of two genres: Steck's
    p(g|i)), an empty row for an item without; and the category labels.

    ``categories`` holds, per item, a label, None / NaN (none), or a list, tuple or set of
    labels (several; missing and repeated labels in it are ignored)."""
    if isinstance(categories, (list, tuple)):  # lists of equal length would make a 2-D array
        values = np.fromiter(categories, dtype=object, count=len(categories))
    else:
        values = categories.to_numpy() if hasattr(categories, "to_numpy") else np.asarray(categories)
    if values.ndim != 1 or values.shape[0] != n_items:
        raise ValueError(f"categories must hold one label per item ({n_items}), got shape {values.shape}")
    several = None
    if values.dtype == object:
        several = np.fromiter((isinstance(v, SEVERAL) for v in values.tolist()), dtype=bool, count=values.size)
    if several is None or not several.any():
        codes, labels = factorize(values, "categories")
        items = np.flatnonzero(codes >= 0)
        codes = codes[items]
    else:
        sizes = np.ones(values.size, dtype=np.int64)
        members = []
        for i, v in enumerate(values.tolist()):
            if several[i]:
                v = list(v.tolist() if isinstance(v, np.ndarray) else v)
                sizes[i] = len(v)
                members.extend(v)
            else:
                members.append(v)
        flat = np.empty(len(members), dtype=object)
        flat[:] = members
        codes, labels = factorize(flat, "categories")
        items = np.repeat(np.arange(values.size), sizes)
        present = codes >= 0
        items, codes = items[present], codes[present]
    # one entry per (item, category): a label repeated in an item's list counts once
    M = sp.csr_matrix((np.ones(items.size), (items, codes)), shape=(n_items, labels.size))
    M.sum_duplicates()
    M.data[:] = 1.0
    per_item = np.diff(M.indptr)
    M.data /= np.repeat(per_item, per_item)
    return M, labels


def category_mix(history, categories) -> tuple[sp.csr_matrix, np.ndarray]:
    """Each customer's category shares in their history: the target mix calibration follows.

    Parameters
    ----------
    history : scipy.sparse matrix, shape (n_customers, n_items)
        The customers' interactions (weights count, by absolute value).
    categories : array-like, shape (n_items,), or PreparedCategories
        Per item, a category label, None / NaN (none), or a list of labels (several, each
        weighing 1/n of the item, as Steck's genre distribution p(g|i)).

    Returns
    -------
    mix : scipy.sparse.csr_matrix, shape (n_customers, n_categories)
        Rows summing to 1 (empty where the history has no categorised item).
    labels : numpy.ndarray
        The category of each column.
    """
    H = check_sparse(history, "history")
    membership, labels = membership_of(categories, H.shape[1])
    return mix_of_membership(H.to_scipy(), membership), labels


def mix_of_membership(history, membership: sp.csr_matrix, dtype=np.float64) -> sp.csr_matrix:
    """:func:`category_mix` from :func:`category_membership`'s matrix."""
    H = check_sparse(history, "history").to_scipy()
    if H.shape[1] != membership.shape[0]:
        raise ValueError(f"history must have one column per item ({membership.shape[0]}), got {H.shape[1]}")
    mix = sp.csr_matrix(abs(H) @ membership, dtype=np.float64)
    totals = np.asarray(mix.sum(axis=1)).ravel()
    mix = sp.diags(np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0)) @ mix
    mix = sp.csr_matrix(mix, dtype=dtype)
    mix.sort_indices()
    return mix


class PreparedCategories:
    """Each item's categories made ready for :func:`rerank` and :func:`category_mix` once. A
    campaign of millions of customers is re-ranked in batches that fit in memory; given the
    labels, every call would read them and build the membership matrix again (a catalogue of
    a million products of two categories each: 0.7 s a call, against about 0.03 s to re-rank
    a batch of 20,000 customers). Given this, the calls share that work.

    Parameters
    ----------
    categories : array-like, shape (n_items,)
        As :func:`rerank`'s ``categories``: per item a label, None / NaN (none), or a list of
        labels.

    Attributes
    ----------
    membership : scipy.sparse.csr_matrix, shape (n_items, n_categories)
        1/n in each of an item's n categories (Steck's p(g|i)); an empty row for an item
        without.
    labels : numpy.ndarray
        The category of each column.
    shape : tuple
        (n_items, n_categories).

    Examples
    --------
    >>> import numpy as np, recforge as rf
    >>> prepared = rf.campaign.PreparedCategories(["a", ["a", "b"], None])
    >>> prepared.membership.toarray().tolist(), prepared.labels.tolist()
    ([[1.0, 0.0], [0.5, 0.5], [0.0, 0.0]], ['a', 'b'])
    >>> ids, scores = np.array([[0, 1, 2]]), np.array([[3.0, 2.0, 1.0]])
    >>> rf.campaign.rerank(ids, scores, k=2, categories=prepared, caps=1)[0].tolist()
    [[0, 2]]
    """

    def __init__(self, categories):
        if isinstance(categories, PreparedCategories):
            self.membership, self.labels = categories.membership, categories.labels
        else:
            values = categories.to_numpy() if hasattr(categories, "to_numpy") else categories
            try:
                n = -1 if isinstance(values, (str, bytes)) else len(values)
            except TypeError:  # a number, a 0-d array
                n = -1
            if n < 0:
                raise TypeError(f"categories must hold one value per item, got {type(categories).__name__}")
            self.membership, self.labels = category_membership(values, n)
        self.shape = self.membership.shape

    def __len__(self) -> int:
        return self.shape[0]


def membership_of(categories, n_items: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """(membership, labels) of ``categories`` over ``n_items`` items: a :class:`PreparedCategories`
    as it was prepared, anything else as :func:`category_membership` reads it."""
    if isinstance(categories, PreparedCategories):
        if categories.shape[0] != n_items:
            raise ValueError(f"categories must hold one value per item ({n_items}), got {categories.shape[0]} items")
        return categories.membership, categories.labels
    return category_membership(categories, n_items)

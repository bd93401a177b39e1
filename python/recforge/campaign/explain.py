"""Why an item was recommended: each customer's own items that contributed most to it, for every
model, in one parallel C++ pass (``explain.hpp``).

The contribution of a history item i (the customer's weight x_ui, 1 for a model fitted on 0/1
histories) to a recommended item j is what the model's score adds up where it has such a sum:
x_ui * W[i, j] with W the item-item weights of EASE / SparseEASE (``weights_``) or the item
similarity of ItemKNN, RP3beta and ContentKNN (``similarity_``): those contributions sum to the
model's score. Factor models (ALS,
BPR, BiasedMF) have no such sum: x_ui * cos(y_i, y_j) over their item vectors ranks the history
by how close each item is to the recommendation (Hu, Koren & Volinsky's exact ALS explanation
needs a k x k solve per customer). UserKNN explains through the items' cosine similarity over
the training customers. Popularity explains nothing from a history: its reason is its path.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .. import _core
from .._checks import check_int
from .._config import resolve_threads
from .._factorize import check_numbered_as
from .._sparse import check_sparse, positive_pattern
from ..kernels.similarity import similarity
from ..models import ColdStart, ItemKNN, UserKNN
from ..models.factors import FactorModel


def explanation_basis(model):
    """("weights", W) or ("factors", unit item vectors) that explain ``model``'s lists."""
    if isinstance(model, ColdStart):
        model = model.model
    weights = getattr(model, "weights_", None)
    if weights is not None:
        return "weights", weights
    if isinstance(model, ItemKNN):
        return "weights", model.similarity_
    if isinstance(model, FactorModel):
        return "factors", _unit_rows(model.item_vectors())
    if isinstance(model, UserKNN):
        return "weights", similarity(sp.csr_matrix(model.user_items_.T), k=100, metric="cosine")
    raise ValueError(
        f"{type(model).__name__} does not score from a customer's items: nothing in a history explains its "
        "lists (ColdStart's path says which fallback answered)"
    )


def _unit_rows(Y) -> np.ndarray:
    Y = np.asarray(Y, dtype=np.float64)
    norms = np.linalg.norm(Y, axis=1, keepdims=True)
    return np.ascontiguousarray(np.divide(Y, norms, out=np.zeros_like(Y), where=norms > 0))


def with_new_products(model: ColdStart, kind: str, basis):
    """The basis over a ColdStart model's whole catalogue, its new products (no interactions;
    numbered after the known ones) included: a new product is scored from the history through
    its content neighbours among the known products (neighbour models:
    ``new_item_neighbours_``, known x new) or through the item vector its features map to
    (factor models: ``new_item_vectors_``), so those explain it the way the model's own
    weights or vectors explain a known one. A neighbour model's new product's contributions
    add up to its content score, which its score map puts on the model's scale (increasing:
    the largest contributions are the reasons either way)."""
    n_known, n_all = model.n_known_items_, model.n_items_
    if n_all == n_known:
        return basis
    n_new = n_all - n_known
    if kind == "weights":
        W = sp.csr_matrix(check_sparse(basis, "weights").to_scipy())
        N = model.new_item_neighbours_
        N = sp.csr_matrix((n_known, n_new), dtype=W.dtype) if N is None else sp.csr_matrix(N, dtype=W.dtype)
        return sp.vstack([sp.hstack([W, N]), sp.csr_matrix((n_new, n_all), dtype=W.dtype)], format="csr")
    V = model.new_item_vectors_
    new = np.zeros((n_new, basis.shape[1])) if V is None else _unit_rows(V)
    return np.ascontiguousarray(np.vstack([basis, new]))


def explain(model, user_items, recommended, top: int = 3, *, n_threads: int = 0):
    """The ``top`` history items that contributed most to each recommended item.

    Parameters
    ----------
    model : fitted model (or a ColdStart around one)
    user_items : scipy.sparse matrix, shape (n_customers, n_items)
        The histories the lists were computed from (rows aligned with ``recommended``). For a
        ColdStart model with new products, over its known products or its whole catalogue: a
        new product is explained by the customer's items its content neighbours (or, for a
        factor model, the item vector its features map to) tie it to. Explaining customers
        in batches, use one :class:`Explainer` for them all: the same answers, the model's
        basis prepared once.
    recommended : numpy.ndarray of int, shape (n_customers, k)
        The lists (-1 padding), e.g. after :func:`rerank`.
    top : int, default 3
    n_threads : int, default 0
        Results do not depend on it.

    Returns
    -------
    items : numpy.ndarray of int64, shape (n_customers, k, top)
        History items by decreasing contribution (-1 where fewer contributed: only positive
        contributions count).
    contributions : numpy.ndarray, same shape
        x_ui * W[i, j], or x_ui * cos(y_i, y_j) for factor models (0 padding).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, recforge as rf
    >>> X = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 1, 1, 1], [0, 0, 1, 1.0]]))
    >>> model = rf.ItemKNN(metric="cosine").fit(X)
    >>> ids, _ = model.recommend([0], X[[0]], k=1)
    >>> items, _ = rf.campaign.explain(model, X[[0]], ids, top=2)
    >>> ids.tolist(), items.tolist()
    ([[2]], [[[1, 0]]])
    """
    return Explainer(model).explain(user_items, recommended, top, n_threads=n_threads)


class Explainer:
    """:func:`explain` for one model, its basis prepared once: the item-item weights validated
    and in the kernel's layout, or the unit item vectors, over the whole catalogue (a
    ColdStart model's new products included). A campaign explained in batches of customers
    shares that work instead of repeating it per call (ItemKNN on 50k products: about 0.1 s a
    call, as much as the explanations themselves).

    Parameters
    ----------
    model : fitted model (or a ColdStart around one)

    Attributes
    ----------
    model
        As given.
    kind : {"weights", "factors"}
        What explains the lists (:func:`explanation_basis`).
    n_items : int
        The catalogue the histories cover (a ColdStart model's new products included).

    Raises
    ------
    ValueError
        The model does not score from a customer's items (Popularity).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, recforge as rf
    >>> X = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 1, 1, 1], [0, 0, 1, 1.0]]))
    >>> model = rf.ItemKNN(metric="cosine").fit(X)
    >>> explainer = rf.campaign.Explainer(model)
    >>> explainer.explain(X[[0]], np.array([[2]]), top=2)[0].tolist()
    [[[1, 0]]]
    """

    def __init__(self, model):
        self.model = model
        kind, basis = explanation_basis(model)
        self._n_known = model.n_known_items_ if isinstance(model, ColdStart) else None
        if isinstance(model, ColdStart):
            basis = with_new_products(model, kind, basis)
        if kind == "weights":
            W = check_sparse(basis, "weights").to_scipy()
            if W.shape[0] != W.shape[1]:
                raise ValueError(f"the model's item weights must be square, got {W.shape}")
            basis = sp.csr_matrix(W)
        self.kind, self.n_items = kind, basis.shape[0]
        self._basis, self._layouts = basis, {}
        self._weight_entries = basis.nnz if kind == "weights" else 0
        # A model that scores 0/1 histories (EASE's binary) is explained from the same 0/1.
        self._binary = bool(getattr(model.model if isinstance(model, ColdStart) else model, "binary", False))

    def _arrays(self, dtype, index) -> tuple:
        """The kernel's (weights, factors) arguments in ``dtype`` and ``index`` (the histories'
        value and index types, which the kernel shares with the weights), made once per pair:
        the weights' own arrays where they are of those types (EASE's exact B over 20k items
        has 400M int32 column indices: an int64 copy would be 3.2 GB more)."""
        key = (np.dtype(dtype), np.dtype(index))
        if key not in self._layouts:
            if self.kind == "weights":
                W = sp.csr_matrix(self._basis, dtype=dtype)  # the same arrays where dtype matches
                weights = (W.indptr.astype(index, copy=False), W.indices.astype(index, copy=False), W.data)
                factors = None
            else:
                weights = (np.zeros(1, dtype=index), np.zeros(0, dtype=index), np.zeros(0, dtype=dtype))
                factors = np.ascontiguousarray(self._basis, dtype=dtype)
            self._layouts[key] = (weights, factors)
        return self._layouts[key]

    def explain(self, user_items, recommended, top: int = 3, *, n_threads: int = 0):
        """:func:`explain`'s answer for these customers (same parameters and returns)."""
        top = check_int(top, "top", minimum=1)
        ids = np.asarray(recommended)
        if ids.ndim != 2 or ids.dtype.kind not in "iu":
            raise TypeError(f"recommended must be a 2-D integer array (customers x k), got {ids.dtype} {ids.shape}")
        check_numbered_as(user_items, getattr(self.model, "item_ids_", None), "user_items", "item")
        H = check_sparse(user_items, "user_items")
        if H.shape[0] != ids.shape[0]:
            raise ValueError(f"user_items must have one row per list ({ids.shape[0]}), got {H.shape[0]}")
        if self._n_known is not None and self.n_items != self._n_known:
            if H.shape[1] not in (self._n_known, self.n_items):
                raise ValueError(
                    f"user_items has {H.shape[1]} items, the model {self._n_known} known and {self.n_items} in all"
                )
            if H.shape[1] == self._n_known:  # nobody has bought a new product yet: no columns for them
                H = check_sparse(sp.csr_matrix(H.to_scipy(), shape=(H.shape[0], self.n_items)), "user_items")
        if H.shape[1] != self.n_items:
            raise ValueError(f"user_items has {H.shape[1]} items, the model {self.n_items}")
        if self._binary:
            H = positive_pattern(H)
        # 32-bit indices where both the histories and the weights fit them (the weights keep
        # theirs), else 64-bit
        small = max(int(H.indptr[-1]), self._weight_entries, self.n_items) < 2**31
        index = np.int32 if small else np.int64
        weights, factors = self._arrays(H.data.dtype, index)
        return _core.explain(
            H.indptr.astype(index, copy=False),
            H.indices.astype(index, copy=False),
            H.data,
            self.n_items,
            np.ascontiguousarray(ids, dtype=np.int64),
            *weights,
            factors,
            top,
            resolve_threads(n_threads),
        )

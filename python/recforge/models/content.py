"""Content-based recommendation: item-item neighbours from product features (descriptions,
genres, categories, price bands) instead of from who bought what, so a product nobody has
bought yet has neighbours, can be recommended, and can be asked for similar products."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._factorize import rows_of_requested, same_ids
from .._sparse import CsrParts, check_sparse, unit_rows
from ..data import FeatureEncoder, Features
from ..kernels.topk import sparse_topk_parts
from .knn import ItemKNN


class ContentKNN(ItemKNN):
    """Item-based k-nearest neighbours over item features.

    ``fit(user_items, item_features)`` keeps, for every item, its ``neighbours`` most similar
    items under ``metric`` computed on the rows of the feature matrix (see
    :func:`recforge.similarity`; cosine by default), in C++. Scoring is ItemKNN's: a customer's
    score for item j is ``sum_i w(u, i) * sim(i, j)`` over the items of their history. The
    catalogue is the feature matrix's rows, which may go beyond the interaction matrix's columns:
    products with features and no interactions yet (rows ``n_known`` on of a
    :class:`~recforge.Features`) are recommended and have similar items like any other.

    Parameters
    ----------
    neighbours, metric, shrinkage, min_support, k1, b, n_threads
        As for :class:`ItemKNN`, over features instead of users.

    Attributes
    ----------
    similarity_ : scipy.sparse csr, shape (n_items, n_items)
    item_features_ : scipy.sparse csr of float32, shape (n_items, n_features)
    encoder_ : FeatureEncoder or None
        The encoder of the :class:`~recforge.Features` it was fitted with (None for a bare
        matrix): :meth:`similar_to` encodes new products with it.
    user_items_ : scipy.sparse csr, shape (n_users, n_items)
        The training interactions, padded with empty columns for items without interactions.

    Examples
    --------
    >>> import recforge as rf
    >>> inter = rf.Interactions.from_arrays(["ann", "ann", "bob"], ["tea", "mug", "tea"])
    >>> table = {"sku": ["tea", "mug", "cup"], "kind": ["drink", "kitchen|drinkware", "drinkware"]}
    >>> F = rf.features(table, ids=inter.item_ids, id_col="sku", categorical="kind")
    >>> model = rf.ContentKNN(neighbours=5).fit(inter, F)
    >>> model.item_ids_[model.similar_items(model.item_ids_.tolist().index("cup"), k=1)[0]].tolist()
    ['mug']
    """

    _state = ItemKNN._state + ("item_features_", "encoder_", "n_known_items_")

    def __init__(
        self,
        neighbours: int = 50,
        metric: str = "cosine",  # features are already weighted (tf-idf text, scaled numbers)
        shrinkage: float = 0.0,
        min_support: int = 1,
        k1: float = 1.2,
        b: float = 0.75,
        n_threads: int = 0,
        *,
        k: int | None = None,
    ):
        super().__init__(neighbours, metric, shrinkage, min_support, k1, b, n_threads, k=k)

    def fit(self, user_items, item_features):
        """Fit on interactions and item features.

        Parameters
        ----------
        user_items : scipy.sparse matrix or Interactions, shape (n_users, n_known)
        item_features : Features or scipy.sparse matrix, shape (n_items, n_features)
            One row per item, n_items >= n_known: the first n_known rows are the columns of
            ``user_items``, the rest are items without interactions. A :class:`Features` built
            for an Interactions must have been aligned with its ``item_ids``.

        Returns
        -------
        self
        """
        F, encoder, ids = _feature_rows(item_features)
        check_feature_rows(F if ids is None else item_features, user_items, "item")
        return super().fit(user_items, item_features=(F, encoder, ids))

    def _fitted_ids(self, user_items, item_features=None):
        user_ids, item_ids, spec = super()._fitted_ids(user_items)
        # the catalogue is the feature rows; a bare matrix's rows are user_items' products
        return user_ids, item_ids if item_features[2] is None else item_features[2], spec

    def _fit(self, X: CsrParts, item_features=None) -> None:
        F, encoder, _ = item_features
        if F.shape[0] < X.shape[1]:
            raise ValueError(
                f"item_features has {F.shape[0]} rows but user_items has {X.shape[1]} items: "
                "every item needs a row (an empty one if it has no features)"
            )
        self.item_features_, self.encoder_ = F, encoder
        self.n_users_, self.n_items_, self.n_known_items_ = X.shape[0], F.shape[0], X.shape[1]
        self.user_items_ = _padded(X.to_scipy(), self.n_items_)
        self.similarity_ = self._similarity_of_rows(F)

    def _user_rows(self, M, name: str, n_rows: int, users=None, known=None) -> CsrParts:
        # Rows over the interaction matrix's items (n_known_items_ columns, as the training
        # matrix) are padded to the catalogue; any other width is refused as for every model.
        if users is not None:
            M = rows_of_requested(M, users, name, known)
        M = getattr(M, "matrix", M)
        if sp.issparse(M) and M.shape[1] == self.n_known_items_ != self.n_items_:
            M = _padded(sp.csr_matrix(M), self.n_items_)
        return super()._user_rows(M, name, n_rows)

    def similar_to(self, table, k: int = 10):
        """The items most similar (cosine of features) to products described by ``table`` (a
        DataFrame or mapping with the columns the features were built from): for a product not
        in the catalogue at all, e.g. one being written now.

        Returns
        -------
        ids : numpy.ndarray of int64, shape (n_rows, min(k, n_items))
        scores : numpy.ndarray of float32
        """
        self._check_fitted()
        catalogue = self._cached("unit_features_t", lambda: unit_columns(self.item_features_))
        return similar_by_features(self.encoder_, catalogue, table, k, self._threads)

    def _validate_state(self) -> None:
        super()._validate_state()
        self._require_shape("item_features_", (self.n_items_, self.item_features_.shape[1]))
        if self.n_known_items_ > self.n_items_:
            raise ValueError("model state n_known_items_ exceeds n_items_")
        if self.encoder_ is not None and not isinstance(self.encoder_, FeatureEncoder):
            raise ValueError("model state encoder_ must be a FeatureEncoder or None")
        if self.encoder_ is not None and self.encoder_.names_.size != self.item_features_.shape[1]:
            raise ValueError("model state encoder_ does not match item_features_'s columns")


def unit_columns(F) -> CsrParts:
    """The transpose of F with rows scaled to unit length: the catalogue side of a cosine
    between feature rows, as the sparse top-k kernel reads it."""
    return check_sparse(unit_rows(F, np.float32).T.tocsr(), "item_features.T")


def similar_by_features(encoder: FeatureEncoder | None, catalogue: CsrParts, table, k: int, threads: int):
    """Top-k catalogue items by feature cosine for the products described by ``table``
    (encoded with ``encoder``); ``catalogue`` from :func:`unit_columns`."""
    from .._checks import check_int

    if encoder is None:
        raise ValueError("similar_to needs a model fitted with rf.features(...) (it encodes the table)")
    k = min(check_int(k, "k", minimum=0), catalogue.shape[1])
    columns = encoder.text + encoder.categorical + encoder.numeric
    given = [c for c in columns if c in table]
    if not given:
        raise ValueError(f"the table names none of the feature columns {columns}")
    n = len(table[given[0]])
    # A description may give some columns only (e.g. the text of a product being written).
    table = {c: (table[c] if c in given else [None] * n) for c in columns}
    queries = check_sparse(unit_rows(encoder.transform(table), np.float32), "table")
    return sparse_topk_parts(queries, catalogue, k, None, None, threads)


def check_feature_rows(features, user_items, side: str) -> None:
    """Features fitted beside an Interactions follow its ids (``side``: "item" or "user"): a
    :class:`Features` starts with them, a bare matrix has no rows beyond them (rows past the
    interactions' products or customers would have no name)."""
    ids = getattr(user_items, f"{side}_ids", None)
    if features is None or ids is None:
        return
    way_out = f"rf.features(table, ids=interactions.{side}_ids, ...)"
    if isinstance(features, Features):
        if not same_ids(features.ids[: len(ids)], ids):
            raise ValueError(f"{side}_features rows do not follow user_items' {side} ids: build them with {way_out}")
    elif getattr(features, "shape", (0,))[0] > len(ids):  # not a matrix at all: refused where it is read
        whom = "products" if side == "item" else "customers"
        raise ValueError(
            f"{side}_features has {features.shape[0]:,} rows for {len(ids):,} {whom} of user_items: name the "
            f"{whom} without interactions with {way_out}"
        )


def _feature_rows(item_features):
    """(CSR float32, encoder or None, ids or None) of a Features or a sparse matrix."""
    if isinstance(item_features, Features):
        return sp.csr_matrix(item_features.matrix, dtype=np.float32), item_features.encoder, item_features.ids
    parts = check_sparse(item_features, "item_features")
    return sp.csr_matrix(parts.to_scipy(), dtype=np.float32), None, None


def _padded(M: sp.csr_matrix, n_cols: int) -> sp.csr_matrix:
    M = sp.csr_matrix(M)
    if M.shape[1] == n_cols:
        return M
    return sp.csr_matrix((M.data, M.indices, M.indptr), shape=(M.shape[0], n_cols))

"""What every latent-factor model shares: user and item factor matrices, scores as their inner
products (fused top-k in C++), similarity as cosine between factors, and the state checks."""

from __future__ import annotations

import numpy as np

from .._checks import check_int
from .._config import resolve_threads
from ..topk import dense_topk_parts
from .base import Recommender
from .knn import _self_exclusion

DTYPES = ("float32", "float64")


def check_dtype(dtype) -> str:
    """``dtype`` as one of the names in DTYPES (numpy dtypes and types are accepted)."""
    try:
        name = np.dtype(dtype).name
    except TypeError:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if name not in DTYPES:
        raise ValueError(f"dtype must be float32 or float64, got {name}")
    return name


def check_seed(random_state) -> int | None:
    """A seed for numpy.random.default_rng: None or a non-negative int (saved with the model)."""
    return None if random_state is None else check_int(random_state, "random_state", minimum=0)


class FactorModel(Recommender):
    """Base of the models whose score for (u, i) is ``user_factors_[u] . item_factors_[i]``.

    Subclasses set ``factors``, ``dtype`` and ``n_threads`` in ``__init__`` and fill
    ``user_factors_`` / ``item_factors_`` in ``_fit``. ``similar_items`` / ``similar_users``
    rank by cosine between factor vectors (a vector of zeros scores 0 against everything).
    """

    _state = ("user_factors_", "item_factors_", "n_users_", "n_items_")

    @property
    def _threads(self) -> int:
        return resolve_threads(self.n_threads)

    def _query_vectors(self, users: np.ndarray, history, recalculate_user: bool) -> np.ndarray:
        """The vectors scored against ``_item_vectors()`` for these users."""
        return self.user_factors_[users]

    def _item_vectors(self) -> np.ndarray:
        return self.item_factors_

    def _scores_topk(self, users, history, k, banned, allow, recalculate_user: bool = False):
        queries = np.ascontiguousarray(self._query_vectors(users, history, recalculate_user))
        return dense_topk_parts(queries, self._item_vectors(), k, banned, allow, self._threads)

    def _similar_items(self, items, k):
        return self._cosine_neighbours(self.item_factors_, items, k)

    def _similar_users(self, users, k):
        return self._cosine_neighbours(self.user_factors_, users, k)

    def _cosine_neighbours(self, F: np.ndarray, ids: np.ndarray, k: int):
        queries = np.ascontiguousarray(F[ids])
        ex = _self_exclusion(ids, F.shape[0])
        return dense_topk_parts(queries, F, k, ex, None, self._threads, cosine=True)

    def _validate_state(self) -> None:
        super()._validate_state()
        for name, n in (("user_factors_", self.n_users_), ("item_factors_", self.n_items_)):
            value = getattr(self, name)
            if value.dtype != np.dtype(self.dtype) or not value.flags.c_contiguous:
                raise ValueError(f"model state {name} must be a C-contiguous {self.dtype} array, got {value.dtype}")
            self._require_shape(name, (n, self.factors))

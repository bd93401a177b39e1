"""recforge: a high-performance recommendation engine.

A C++17 core over CSR matrices (OpenMP, pybind11) under a thin Python layer. Start with
:func:`similarity` and :func:`config`; see the README for a tour.
"""

from . import datasets, metrics, split
from ._config import config
from ._sparse import as_csr
from ._version import __version__
from .data import Interactions
from .evaluation import Comparison, compare, cross_validate, evaluate
from .models import ALS, BPR, BiasedMF, ItemKNN, KNNRegressor, NotFittedError, Popularity, Recommender, UserKNN, load
from .similarity import METRICS, similarity
from .topk import topk, topk_sparse

__all__ = [
    "__version__",
    "as_csr",
    "config",
    "Interactions",
    "datasets",
    "similarity",
    "topk",
    "topk_sparse",
    "METRICS",
    "metrics",
    "split",
    "evaluate",
    "compare",
    "cross_validate",
    "Comparison",
    "Recommender",
    "ALS",
    "BPR",
    "BiasedMF",
    "KNNRegressor",
    "ItemKNN",
    "UserKNN",
    "Popularity",
    "NotFittedError",
    "load",
]

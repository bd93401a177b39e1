"""recforge: a high-performance recommendation engine.

A C++17 core over CSR matrices (OpenMP, pybind11) under a thin Python layer. Start with
:func:`similarity` and :func:`config`; see the README for a tour.
"""

import importlib as _importlib
import sys as _sys

from . import batch, campaign, customers, data, datasets, evaluation, kernels, models, realtime
from ._config import config
from ._sparse import as_csr
from ._version import __version__
from .data import FeatureEncoder, Features, Interactions, features
from .evaluation import Comparison, TuneResult, compare, cross_validate, evaluate, split, tune
from .kernels import METRICS, metrics, similarity, topk, topk_sparse
from .models import (
    ALS,
    BPR,
    EASE,
    BiasedMF,
    ColdStart,
    ContentKNN,
    ItemKNN,
    KNNRegressor,
    NotFittedError,
    Popularity,
    Recommender,
    RP3beta,
    SparseEASE,
    UserKNN,
    load,
)

# The modules of the flat layout before 0.2 stay importable under their old paths
# (``import recforge.split``, ``from recforge.metrics import ranking_metrics``): each old path
# is the same module object as its new home, not a copy.
# (``recforge.similarity`` and ``recforge.topk`` as attributes are the functions, as before.)
for _old, _home in {
    "split": "evaluation.split",
    "metrics": "kernels.metrics",
    "similarity": "kernels.similarity",
    "topk": "kernels.topk",
    "weighting": "kernels.weighting",
}.items():
    _sys.modules[f"{__name__}.{_old}"] = _importlib.import_module(f"{__name__}.{_home}")
del _old, _home

__all__ = [
    "__version__",
    "as_csr",
    "config",
    "Interactions",
    "FeatureEncoder",
    "Features",
    "features",
    "campaign",
    "customers",
    "data",
    "datasets",
    "kernels",
    "evaluation",
    "models",
    "realtime",
    "batch",
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
    "tune",
    "TuneResult",
    "Recommender",
    "ALS",
    "BPR",
    "BiasedMF",
    "ContentKNN",
    "ColdStart",
    "EASE",
    "RP3beta",
    "SparseEASE",
    "KNNRegressor",
    "ItemKNN",
    "UserKNN",
    "Popularity",
    "NotFittedError",
    "load",
]

"""recforge models: every one fits a users x items matrix and answers through the shared
:class:`~recforge.models.base.Recommender` interface."""

from .als import ALS
from .base import NotFittedError, Recommender
from .biased_mf import BiasedMF
from .bpr import BPR
from .knn import ItemKNN, UserKNN
from .knn_regressor import KNNRegressor
from .persistence import load
from .popularity import Popularity
from .registry import register

MODELS = (ItemKNN, UserKNN, Popularity, ALS, BPR, BiasedMF, KNNRegressor)
for _cls in MODELS:
    register(_cls)  # rf.load finds a file's class by its name
del _cls

__all__ = [
    "ALS",
    "BPR",
    "BiasedMF",
    "ItemKNN",
    "KNNRegressor",
    "MODELS",
    "NotFittedError",
    "Popularity",
    "Recommender",
    "UserKNN",
    "load",
]

"""recforge models: every one fits a users x items matrix and answers through the shared
:class:`~recforge.models.base.Recommender` interface."""

from ..data import FeatureEncoder
from .als import ALS
from .base import NotFittedError, Recommender
from .biased_mf import BiasedMF
from .bpr import BPR
from .cold_start import ColdStart
from .content import ContentKNN
from .ease import EASE
from .knn import ItemKNN, UserKNN
from .knn_regressor import KNNRegressor
from .persistence import load
from .popularity import Popularity
from .registry import register
from .rp3beta import RP3beta
from .sparse_ease import SparseEASE

MODELS = (ItemKNN, UserKNN, Popularity, ALS, BPR, BiasedMF, KNNRegressor, EASE, SparseEASE, RP3beta)
for _cls in MODELS:
    register(_cls)  # rf.load finds a file's class by its name
del _cls
# Models that also fit on features (not among MODELS, whose members fit on interactions alone,
# as the command line trains them).
FEATURE_MODELS = (ContentKNN, ColdStart)
for _cls in FEATURE_MODELS:
    register(_cls)
del _cls
register(FeatureEncoder)  # encoders travel inside model files (content and cold-start models)

__all__ = [
    "ALS",
    "BPR",
    "BiasedMF",
    "ColdStart",
    "ContentKNN",
    "EASE",
    "ItemKNN",
    "KNNRegressor",
    "FEATURE_MODELS",
    "MODELS",
    "NotFittedError",
    "Popularity",
    "RP3beta",
    "Recommender",
    "SparseEASE",
    "UserKNN",
    "load",
]

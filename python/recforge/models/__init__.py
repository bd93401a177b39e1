"""recforge models: every one fits a users x items matrix and answers through the shared
:class:`~recforge.models.base.Recommender` interface."""

from .als import ALS
from .base import NotFittedError, Recommender
from .knn import ItemKNN, UserKNN
from .persistence import load
from .popularity import Popularity

MODELS = (ItemKNN, UserKNN, Popularity, ALS)

__all__ = ["ALS", "ItemKNN", "MODELS", "NotFittedError", "Popularity", "Recommender", "UserKNN", "load"]

"""Rating error of the models that predict ratings (:class:`~recforge.BiasedMF`,
:class:`~recforge.KNNRegressor`): RMSE and MAE over the held-out ratings, as scikit-surprise
reports them, beside the ranking metrics that every model gets.

A ranking metric alone misjudges these models: they are fitted to predict the rating a
customer gives, not to rank, and on MovieLens 100K BiasedMF's precision@10 is a fifth of
EASE's while its RMSE (0.905 over 5 folds) beats scikit-surprise's SVD. Each error is taken
over the test's pairs, every pair once (customers who rated more weigh more, as RMSE is
defined); the intervals are Student t intervals over the pairs (RMSE's: the mean squared
error's, square-rooted), and models are compared by paired t-tests on the same pairs.
"""

from __future__ import annotations

import numpy as np

from .._sparse import CsrParts, row_ids

RATING_METRICS = ("rmse", "mae")


def _predictor(model):
    """What predicts ``model``'s ratings: itself (BiasedMF, KNNRegressor once fitted), the model
    a :class:`~recforge.ColdStart` wraps (its fallbacks rank; the model rates), or None."""
    for candidate in (model, getattr(model, "model_", None)):
        if callable(getattr(candidate, "predict", None)) and hasattr(candidate, "rating_range_"):
            return candidate
    return None


def predicts_ratings(model) -> bool:
    """Whether ``model`` predicts ratings (``predict`` of (user, item) pairs on the training
    scale), as BiasedMF and KNNRegressor do once fitted, alone or inside ColdStart."""
    return _predictor(model) is not None


def rating_errors(model, test: CsrParts) -> np.ndarray:
    """Predicted minus held-out rating of every stored pair of ``test`` (CSR order); a
    customer or product the model has not seen is predicted from the biases it has."""
    users, items = row_ids(test), np.asarray(test.indices, dtype=np.int64)
    return _predictor(model).predict(users, items) - np.asarray(test.data, dtype=np.float64)


def error_intervals(errors: np.ndarray, interval) -> dict:
    """RMSE and MAE of ``errors`` as (value, low, high), from ``interval`` (a function giving a
    mean's (mean, low, high)) over the squared and the absolute errors."""
    squared = interval(errors * errors)
    low = squared[1] if np.isnan(squared[1]) else max(squared[1], 0.0)
    return {
        "rmse": (float(np.sqrt(squared[0])), float(np.sqrt(low)), float(np.sqrt(squared[2]))),
        "mae": interval(np.abs(errors)),
    }


def paired_errors(errors: np.ndarray) -> dict:
    """What the paired tests compare, pair by pair: squared errors for RMSE, absolute for MAE."""
    return {"rmse": errors * errors, "mae": np.abs(errors)}

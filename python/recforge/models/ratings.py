"""What the rating-prediction models share: ``predict`` for (user, item) pairs in bulk, with
unknown ids falling back instead of raising, and clipping to the training scale."""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np

from .._checks import check_bool
from .._sparse import CsrParts
from .base import raw_id_hint


def _pair_ids(ids, name: str) -> np.ndarray:
    arr = np.asarray(ids)
    if arr.ndim > 1:
        raise ValueError(f"{name} must be an integer or a 1-D array of integers, got {arr.ndim} dimensions")
    if arr.dtype == np.bool_ or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"{name} must hold integer ids, got dtype {arr.dtype}{raw_id_hint(arr, name[:4])}")
    return np.ascontiguousarray(arr.reshape(-1), dtype=np.int64)


class RatingPredictor:
    """Mixin of models that predict ratings: subclasses implement ``_predict(user_ids,
    item_ids)`` on int64 arrays (any values: ids outside the model are unknown) and call
    ``_start_ratings`` in ``_fit``."""

    def predict(self, user_ids, item_ids, clip: bool = True) -> np.ndarray:
        """Predicted ratings of (user, item) pairs, in bulk and in parallel.

        Parameters
        ----------
        user_ids, item_ids : int or array-like of int
            Pairs (user_ids[e], item_ids[e]); a scalar is repeated to the other's length.
            Ids outside the fitted model (new customers or products, negative ids) never raise:
            their terms are left out, so an unknown user gets mu + b_i, an unknown item
            mu + b_u, and both unknown the global mean.
        clip : bool, default True
            Clip to the lowest and highest training rating (``rating_range_``), as
            scikit-surprise does.

        Returns
        -------
        numpy.ndarray of float64, shape (n_pairs,)

        Raises
        ------
        NotFittedError
            The model is not fitted.
        TypeError, ValueError
            Ids that are not integers; arrays of different lengths.
        """
        self._check_fitted()
        users, items = _pair_ids(user_ids, "user_ids"), _pair_ids(item_ids, "item_ids")
        clip = check_bool(clip, "clip")
        if users.size != items.size:
            if users.size == 1 and np.ndim(user_ids) == 0:
                users = np.full(items.size, users[0])
            elif items.size == 1 and np.ndim(item_ids) == 0:
                items = np.full(users.size, items[0])
            else:
                raise ValueError(f"user_ids and item_ids must have the same length, got {users.size} and {items.size}")
        out = self._predict(users, items)
        if clip:
            np.clip(out, self.rating_range_[0], self.rating_range_[1], out=out)
        return out

    def _predict(self, user_ids: np.ndarray, item_ids: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _start_ratings(self, X: CsrParts) -> None:
        data = X.data
        self.rating_range_ = np.array([data.min(), data.max()] if data.size else [0.0, 0.0], dtype=np.float64)
        self._n_ratings = data.size
        if data.size > 1 and self.rating_range_[0] == self.rating_range_[1]:
            # Implicit data (every event weighs 1): the model fits the constant, and its lists
            # follow whatever its initial noise favours: on MovieLens latest-small BiasedMF's
            # precision@10 was 0.0007, a fifth of chance, and nothing said why.
            warnings.warn(
                f"{type(self).__name__} predicts ratings, and every rating here is {self.rating_range_[0]:g}: "
                "it has nothing to learn or rank by. Fit it on ratings (recforge: --weight-col), or use ALS, "
                "BPR or EASE for purchases and clicks",
                UserWarning,
                stacklevel=_caller_level(),
            )

    def _validate_ratings(self) -> None:
        if not isinstance(self.global_mean_, float):
            raise ValueError(f"model state global_mean_ must be a float, got {self.global_mean_!r}")
        self._require_shape("rating_range_", (2,))
        if self.rating_range_[0] > self.rating_range_[1]:
            raise ValueError("model state rating_range_ must be (lowest, highest)")


def _caller_level() -> int:
    """The ``stacklevel`` (for a warning raised by the function calling this) of the first frame
    outside recforge: the user's ``fit``, however many layers the model's fit passes through."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package + os.sep):
        frame, level = frame.f_back, level + 1
    return level

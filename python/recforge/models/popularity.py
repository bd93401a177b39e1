"""The popularity baseline: the same ranking for everyone, minus what each customer has."""

from __future__ import annotations

import numpy as np

from .._checks import check_bool, check_int, check_real
from .._sparse import CsrParts, check_aligned
from .._times import as_moment
from ..kernels.topk import ranked_topk_parts
from .base import Recommender
from .rows import self_exclusion


class Popularity(Recommender):
    """Most popular items first: the baseline every model must beat, and the fallback for
    customers with no history.

    An item's popularity is the number of users who interacted with it (``use_weights=False``)
    or the sum of the interaction values (``use_weights=True``). With ``half_life``, each
    interaction counts ``0.5 ** ((now - t) / half_life)``, t being its time, so recent activity
    weighs more (trending items).

    Parameters
    ----------
    use_weights : bool, default False
        Sum interaction values instead of counting interactions.
    half_life : float, optional
        Time for an interaction's weight to halve, in the unit of the ``times`` given to
        :meth:`fit`. None: no decay.
    n_threads : int, default 0
        Threads for queries; 0 means every CPU this process may use; larger counts are capped at that number.

    Attributes
    ----------
    popularity_ : numpy.ndarray of float64, shape (n_items,)
        Each item's score.

    Notes
    -----
    ``similar_items`` returns the most popular other items (this model has no notion of
    similarity; it is the "bestsellers" baseline); ``similar_users`` is not available.

    Examples
    --------
    >>> import scipy.sparse as sp, recforge as rf
    >>> X = sp.random(100, 40, density=0.1, format="csr", random_state=0)
    >>> ids, scores = rf.Popularity().fit(X).recommend(0, X[0], k=3)
    >>> ids.shape
    (3,)
    """

    _state = ("popularity_", "n_users_", "n_items_")

    def __init__(self, use_weights: bool = False, half_life: float | None = None, n_threads: int = 0):
        self.use_weights = check_bool(use_weights, "use_weights")
        self.half_life = None if half_life is None else check_real(half_life, "half_life", minimum=0.0)
        if self.half_life == 0.0:
            raise ValueError("half_life must be > 0 (or None for no decay)")
        self.n_threads = check_int(n_threads, "n_threads", minimum=0)

    def fit(self, user_items, times=None, now=None):
        """Count (or sum) each item's interactions; returns self.

        Parameters
        ----------
        user_items : scipy.sparse matrix or array, shape (n_users, n_items)
        times : scipy.sparse matrix or array, shape (n_users, n_items), optional
            The time of each interaction, stored at the same positions as ``user_items``
            (one entry per user-item pair, e.g. the latest). Required with ``half_life``;
            default the times of an Interactions ``user_items``.
        now : float or time, optional
            The time decay is measured from; default the latest time in ``times``.
        """
        from ..data import Interactions

        if times is None and self.half_life is not None and isinstance(user_items, Interactions):
            times = user_items.times  # an Interactions carries each pair's latest time
        return super().fit(user_items, times=times, now=now)

    def _fit(self, X: CsrParts, times=None, now=None) -> None:
        weights = X.data.astype(np.float64) if self.use_weights else np.ones(X.data.size)
        if self.half_life is not None:
            if times is None:
                raise ValueError("times is required when half_life is set")
            t = check_aligned(times, X).data.astype(np.float64)
            now = float(t.max()) if now is None and t.size else as_moment(0.0 if now is None else now, "now")
            weights = weights * np.exp2(-(now - t) / self.half_life)
        elif times is not None or now is not None:
            raise ValueError("times and now are only used with half_life; set half_life or leave them out")
        self.n_users_, self.n_items_ = X.shape
        self.popularity_ = np.bincount(X.indices, weights=weights, minlength=X.shape[1]).astype(np.float64)

    def _validate_state(self) -> None:
        super()._validate_state()
        self._require_shape("popularity_", (self.n_items_,))

    def _ranked(self, n_rows: int, k: int, banned: CsrParts | None, allow):
        # Every row ranks the same scores: the catalogue is ranked once (ties to the lower id,
        # as every kernel ranks them) and each row takes the first k items it does not exclude.
        popularity = self.popularity_
        order = self._cached("order", lambda: np.argsort(-popularity, kind="stable"), source=popularity)
        return ranked_topk_parts(order, popularity, n_rows, k, banned, allow, self._threads)

    def _scores_topk(self, users, history, k, banned, allow, recalculate_user=False):
        # The same list for everyone, new customers included: the history only excludes.
        return self._ranked(len(users), k, banned, allow)

    def _similar_items(self, items, k):
        return self._ranked(len(items), k, self_exclusion(items, self.n_items_), None)

"""Bayesian personalised ranking for implicit feedback (Rendle et al. 2009)."""

from __future__ import annotations

import numpy as np

from .. import _core
from .._checks import check_bool, check_choice, check_int, check_positive, check_real
from .._sparse import CsrParts, row_ids
from .factors import ItemBiasFactorModel

NEGATIVES = ("uniform", "popularity")


class BPR(ItemBiasFactorModel):
    """Implicit-feedback ranking by BPR matrix factorisation: score(u, i) = p_u . q_i + b_i.

    Stochastic gradient ascent on the BPR criterion

        sum over draws (u, i, j) of ln sigma(x_uij) - regularization (|p_u|^2 + |q_i|^2 + |q_j|^2 + b_i^2 + b_j^2),
        x_uij = score(u, i) - score(u, j),

    where (u, i) is one of the stored interactions, drawn uniformly with replacement (an epoch
    makes as many draws as there are interactions), and j a negative item:

    - ``negatives="uniform"`` (default): every item equally likely, as in the paper;
    - ``negatives="popularity"``: items in proportion to their number of interactions (the item of
      another drawn interaction, which is what implicit's BayesianPersonalizedRanking does):
      popular items are pushed down harder.

    With ``verify_negatives=True`` a negative the user has interacted with is redrawn (up to 16
    draws, after which the sample is skipped); a negative equal to i is always redrawn. Only the
    pattern of ``user_items`` is used: stored values, whatever they are, count as interactions.

    **Threads and reproducibility.** Training is Hogwild (lock-free parallel SGD, Niu et al.
    2011): every thread makes its share of an epoch's draws and updates the shared factors
    without locks. With ``n_threads=1`` a seeded fit is bit-reproducible. With several threads
    the draws are still a function of the seed and ``n_threads``, but the order in which threads'
    updates of the same row interleave is not, so results differ slightly from run to run (the
    quality does not). The draws depend on the thread count used, which is ``n_threads`` capped
    at the CPUs this process may use (one in a process forked after recforge ran threads): fix
    ``n_threads`` at or below the CPU count to compare runs across machines.

    Users without interactions keep zero factors (they are ranked by the item bias, a learned
    popularity); items without interactions start at zero.

    Parameters
    ----------
    factors : int, default 64
        Length of the user and item vectors (the item bias comes on top).
    iterations : int, default 100
        Epochs; each makes one draw per stored interaction.
    learning_rate : float, default 0.02
        SGD step.
    regularization : float, default 0.01
        Penalty on every updated vector and bias, per update.
    negatives : {"uniform", "popularity"}, default "uniform"
        How negative items are drawn.
    verify_negatives : bool, default True
        Redraw negatives the user has interacted with (a binary search in the user's row).
    init_std : float, default 0.01
        Standard deviation of the normal initial factors (biases start at 0).
    dtype : {"float32", "float64"}, default "float32"
    random_state : int, optional
        Seed of the initial factors and of the draws.
    n_threads : int, default 0
        Threads; 0 means every CPU this process may use; larger counts are capped at that number.
    show_progress : bool, default False
        A tqdm progress bar over the epochs, with the training loss and AUC.

    Attributes
    ----------
    user_factors_, item_factors_ : numpy.ndarray, shape (n_users | n_items, factors)
    item_bias_ : numpy.ndarray, shape (n_items,)
    loss_ : float
        Mean of -ln sigma(x_uij) over the last epoch's updates (before each update).
    train_auc_ : float
        Fraction of the last epoch's draws ranked correctly (x_uij > 0) before their update.

    Examples
    --------
    >>> import scipy.sparse as sp, recforge as rf
    >>> X = sp.random(200, 50, density=0.1, format="csr", random_state=0)
    >>> model = rf.BPR(factors=16, iterations=20, random_state=0, n_threads=1).fit(X)
    >>> ids, scores = model.recommend([0, 1], X[[0, 1]], k=5)
    >>> ids.shape
    (2, 5)
    """

    def __init__(
        self,
        factors: int = 64,
        iterations: int = 100,
        learning_rate: float = 0.02,
        regularization: float = 0.01,
        negatives: str = "uniform",
        verify_negatives: bool = True,
        init_std: float = 0.01,
        dtype: str = "float32",
        random_state: int | None = None,
        n_threads: int = 0,
        show_progress: bool = False,
    ):
        self.factors = check_int(factors, "factors", minimum=1)
        self.iterations = check_int(iterations, "iterations", minimum=1)
        self.learning_rate = check_positive(learning_rate, "learning_rate")
        self.regularization = check_real(regularization, "regularization", minimum=0.0)
        self.negatives = check_choice(negatives, "negatives", NEGATIVES)
        self.verify_negatives = check_bool(verify_negatives, "verify_negatives")
        self.init_std = check_real(init_std, "init_std", minimum=0.0)
        self._set_run_options(dtype, random_state, n_threads, show_progress)

    def fit(self, user_items, callback=None):
        """Fit on interactions; returns self.

        Parameters
        ----------
        user_items : scipy.sparse matrix or array, shape (n_users, n_items)
            Stored entries are interactions (their values are not used).
        callback : callable, optional
            ``callback(iteration, elapsed_seconds, loss)`` after every epoch (``loss`` as ``loss_``).

        Raises
        ------
        FloatingPointError
            Training diverged (factors not finite); the message names what to change (a
            learning rate, a penalty whose product with its rate reaches 1, or ``init_std``).
        """
        return self._fit_watched(user_items, callback)

    def _fit(self, X: CsrParts, callback=None) -> None:
        n_users, n_items = X.shape
        rng = np.random.default_rng(self.random_state)
        users = self._normal_factors(rng, n_users, self.init_std)
        items = self._normal_factors(rng, n_items, self.init_std)
        # Nobody ever draws a user without interactions: zero factors rank them by the item bias.
        users[np.diff(X.indptr) == 0] = 0
        items[np.bincount(X.indices, minlength=n_items) == 0] = 0
        item_bias = np.zeros(n_items, dtype=self.dtype)
        user_of = row_ids(X).astype(X.indices.dtype)
        seed = int(rng.integers(2**63))
        self.train_auc_ = None

        def run(first, count):
            loss, correct, skipped = _core.bpr_epochs(
                X.indptr,
                X.indices,
                X.data,
                n_items,
                user_of,
                users,
                items,
                item_bias,
                self.learning_rate,
                self.regularization,
                self.negatives == "popularity",
                self.verify_negatives,
                seed,
                first,
                count,
                self._threads,
            )
            updated = np.maximum(X.indices.size - skipped, 1)
            self.train_auc_ = float(correct[-1] / updated[-1]) if count else None
            return loss / updated

        self._run_epochs(run, callback, lambda: {"loss": f"{self.loss_:.4f}", "auc": f"{self.train_auc_:.3f}"})
        if not (np.isfinite(users).all() and np.isfinite(items).all() and np.isfinite(item_bias).all()):
            raise FloatingPointError(f"BPR diverged: {self._divergence_advice()}")
        self.n_users_, self.n_items_ = n_users, n_items
        self.user_factors_, self.item_factors_, self.item_bias_ = users, items, item_bias

"""RP3beta: item-item similarity from a three-step random walk item -> user -> item, with
popular destinations penalised (Paudel et al., "Updatable, accurate, diverse, and scalable
recommendations for interactive applications", TiiS 2017; the strong baseline of Dacrema et al.,
RecSys 2019)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._checks import check_bool, check_int, check_real
from .._sparse import CsrParts, check_sparse
from ..kernels.topk import sparse_topk_parts
from .knn import ItemKNN
from .rows import self_exclusion, top_rows


def _l1_rows(M: sp.csr_matrix) -> sp.csr_matrix:
    sums = np.asarray(M.sum(axis=1), dtype=np.float64).ravel()
    return sp.csr_matrix(sp.diags(np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0)) @ M)


class RP3beta(ItemKNN):
    """Item-based kNN whose similarity is a random walk with a popularity penalty.

    W[i, j] = sum_u P(i -> u)^alpha P(u -> j)^alpha / pop(j)^beta, where P(i -> u) is 1 / (users
    of item i) for each user of i, P(u -> j) is x_uj / (sum of u's row) (x 0/1 unless
    ``binary=False``) and pop(j) the number of users of j; each item keeps its ``neighbours``
    largest W (itself excluded). Computed by the fused sparse top-k kernel (no n_items x n_items
    matrix). Scoring is ItemKNN's: history x W (0/1 unless ``binary=False``).

    Parameters
    ----------
    alpha : float, default 0.7
        Exponent of the transition probabilities (>= 0). 0.7 with the other defaults came within
        5% of the best validation NDCG@10 of alpha 0.4-1.0, beta 0.3-0.7 and 100 or 200
        neighbours on the shipped sample, MovieLens 100K, latest-small and Online Retail; on
        their test parts it is within 3.3% of the precision@10 of the parameters chosen on
        validation (``bench/bench_quality.py --weights --only RP3beta``). 1.0, recforge 0.1.0's
        default, was 26% below the best on the sample and 17% on latest-small.
    beta : float, default 0.5
        Popularity penalty (>= 0): 0 is the plain random walk P3alpha. Above about 0.7 rare
        products take over the lists (NDCG@10 on the shipped sample falls by three quarters at
        0.8).
    neighbours : int, default 100
        Neighbours kept per item.
    n_threads : int, default 0
    binary : bool, default True
        Walk and score on whether each customer interacted with each item (every positive weight
        counts 1, zero and net-negative ones 0), as Paudel et al.'s walk on implicit feedback
        does. Purchase counts taken as they are steer each customer's step to their bulk
        products: at the defaults precision@10 is 18% lower on Online Retail's counts and on the
        shipped sample's, 2.6% lower on MovieLens 100K's ratings and 1.1% higher on
        latest-small's; at parameters chosen on validation, 0/1 is ahead by 1.9-3.3% on all
        three (``bench/bench_quality.py --weights --only RP3beta``). False: the weights as given.

    Examples
    --------
    >>> import scipy.sparse as sp, recforge as rf
    >>> X = sp.random(100, 40, density=0.1, format="csr", random_state=0)
    >>> model = rf.RP3beta(alpha=0.7, beta=0.5, neighbours=20).fit(X)
    >>> model.recommend([0], X[[0]], k=3)[0].shape
    (1, 3)
    """

    _absent_before = {"binary": False}  # files and pickles of before binary=True: weights as given

    def __init__(
        self,
        alpha: float = 0.7,
        beta: float = 0.5,
        neighbours: int = 100,
        n_threads: int = 0,
        *,
        binary: bool = True,
    ):
        self.alpha = check_real(alpha, "alpha", minimum=0.0)
        self.beta = check_real(beta, "beta", minimum=0.0)
        self.neighbours = check_int(neighbours, "neighbours", minimum=1)
        self.n_threads = check_int(n_threads, "n_threads", minimum=0)
        self.binary = check_bool(binary, "binary")

    def _fit(self, X: CsrParts) -> None:
        M = self._values(X).to_scipy()
        n_items = M.shape[1]
        binary = sp.csr_matrix((np.ones(M.indices.size), M.indices, M.indptr), shape=M.shape)
        to_user = _l1_rows(binary.T.tocsr())  # item -> user
        to_item = _l1_rows(sp.csr_matrix(abs(M), dtype=np.float64))  # user -> item, by weight
        to_user.data **= self.alpha
        to_item.data **= self.alpha
        popularity = np.asarray(binary.sum(axis=0), dtype=np.float64).ravel()
        with np.errstate(over="ignore"):  # a large beta: popularity^beta is inf, its reciprocal 0
            penalty = np.divide(1.0, popularity**self.beta, out=np.zeros_like(popularity), where=popularity > 0)
        walk = check_sparse(sp.csr_matrix(to_item @ sp.diags(penalty), dtype=np.float32), "walk")
        start = check_sparse(sp.csr_matrix(to_user, dtype=np.float32), "walk")
        width = min(self.neighbours, n_items)
        ids, scores = sparse_topk_parts(
            start, walk, width, self_exclusion(np.arange(n_items), n_items), None, self._threads
        )
        self.similarity_ = top_rows(ids, scores, n_items)
        self.user_items_ = M
        self.n_users_, self.n_items_ = M.shape

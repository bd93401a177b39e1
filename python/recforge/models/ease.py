"""EASE: an item-item model learned in closed form (Steck, "Embarrassingly Shallow Autoencoders
for Sparse Data", WWW 2019). B = argmin ||X - X B||^2 + lambda ||B||^2 with diag(B) = 0 is
B = I - P diag(1/diag(P)), P = (X'X + lambda I)^-1; a customer's scores are their history times B.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from .._checks import check_bool, check_int, check_real
from .._off_diagonal import from_off_diagonal, is_off_diagonal
from .._sparse import CsrParts, check_sparse
from ..kernels.topk import sparse_topk_parts
from .base import Recommender
from .factors import check_dtype
from .rows import selector


class _OffDiagonalValues(NamedTuple):
    """An exact B in a pickle: its off-diagonal values, row by row, and its size."""

    values: np.ndarray
    n: int


def _inverse_spd(A: np.ndarray) -> np.ndarray:
    """The inverse of a symmetric positive definite matrix (Fortran order), in place (LAPACK
    potrf + potri through scipy: half the work of a general inverse, no second n x n copy).
    Returned as the C-order view of A's memory, both triangles filled."""
    from scipy.linalg import lapack

    potrf, potri = (lapack.spotrf, lapack.spotri) if A.dtype == np.float32 else (lapack.dpotrf, lapack.dpotri)
    c, info = potrf(A, lower=True, overwrite_a=True, clean=False)
    if info != 0:
        wider = "" if A.dtype == np.float64 else " or use dtype='float64'"
        raise FloatingPointError(
            f"X'X + regularization I is not positive definite at {A.dtype} precision (LAPACK info {info}; items "
            f"that always occur together?): raise regularization{wider}"
        )
    inv, info = potri(c, lower=True, overwrite_c=True)
    if info != 0:
        raise FloatingPointError(f"inverting X'X + regularization I failed (LAPACK info {info})")
    # potri fills the lower triangle of the Fortran-order matrix: the upper one of its C-order
    # view. Mirrored by blocks of rows: index arrays of a whole triangle (triu_indices) would
    # take 8 bytes x n^2 more memory than the matrix itself, four times it in float32.
    P = inv.T
    n = P.shape[0]
    for start in range(0, n, _MIRROR_ROWS):
        stop = min(n, start + _MIRROR_ROWS)
        P[stop:, start:stop] = P[start:stop, stop:].T
        block = P[start:stop, start:stop]
        lower = np.tril_indices(stop - start, -1)
        block[lower] = block.T[lower]
    return P


_MIRROR_ROWS = 256  # rows per block of the mirror: a block's copy is 256 x n values


def _dense_gram(M: sp.csr_matrix, dtype) -> np.ndarray:
    """X'X as a dense array, built a block of columns at a time: the sparse product of the whole
    matrix would hold an almost dense n x n matrix in CSR form (three times the memory) first."""
    n = M.shape[1]
    MT = M.T.tocsr()
    C = M.tocsc()
    out = np.empty((n, n), dtype=dtype, order="F")
    step = max(1, min(n, (64 * 2**20) // max(n * 12, 1)))  # about 64 MiB of sparse block at a time
    for start in range(0, n, step):
        stop = min(n, start + step)
        out[:, start:stop] = (MT @ C[:, start:stop]).toarray()
    return out


def gram_overflow(dtype: str, weights: np.ndarray) -> FloatingPointError:
    """The error for a Gram matrix X'X whose entries overflow ``dtype``."""
    return FloatingPointError(
        f"X'X overflows {dtype} (the largest weight is {np.abs(weights).max():.3g}): scale the weights down "
        "(e.g. log1p, or counts instead of amounts) or use dtype='float64'"
    )


def check_regularization(value) -> float:
    """EASE's lambda: a number > 0 (X'X alone is singular for most data)."""
    value = check_real(value, "regularization", minimum=0.0)
    if value == 0.0:
        raise ValueError("regularization must be > 0 (X'X alone is singular for most data)")
    return value


def _index_size(n: int) -> int:
    """Bytes of a column index of an n x n CSR matrix holding every entry (scipy's int32 while
    the entry count fits it)."""
    return 4 if n * n < 2**31 else 8


def _fit_bytes(n: int, itemsize: int, neighbours) -> int:
    """Peak bytes of an EASE fit over ``n`` items: the dense solve, whose memory becomes the
    exact B's values, and their column indices (a pruned B is small beside the solve)."""
    return n * n * (itemsize if neighbours else itemsize + _index_size(n))


def _ways_out(n: int, itemsize: int, neighbours, max_memory: float) -> str:
    """What would let an EASE fit over ``n`` items fit in ``max_memory`` GiB: only the options
    that do (the dense solve alone, n^2 x 4 bytes in float32, may already be too much)."""
    ways = []
    if itemsize > 4 and _fit_bytes(n, 4, neighbours) / 2**30 <= max_memory:
        ways.append("use dtype='float32'")
    if not neighbours and n * n * itemsize / 2**30 <= max_memory:
        ways.append("set neighbours=... (a sparse B)")
    elif not neighbours and itemsize > 4 and n * n * 4 / 2**30 <= max_memory:
        ways.append("set neighbours=... with dtype='float32'")
    ways += ["use SparseEASE (memory grows with the co-occurrences, not n_items^2)", "keep fewer items"]
    return ", ".join(ways) + ", or raise max_memory"


class EASE(Recommender):
    """Embarrassingly Shallow Autoencoder: exact item-item weights in closed form.

    ``fit`` solves B = I - P diag(1/diag(P)) with P = (X'X + regularization I)^-1 (X the
    interaction matrix, 0/1 unless ``binary=False``) through LAPACK's Cholesky inverse; a
    customer's score for item j is ``sum_i x_ui B_ij`` over their history, computed in C++ by the
    sparse top-k kernel. It answers new customers from their history like the neighbour models.

    Parameters
    ----------
    regularization : float, default 300.0
        lambda, added to the diagonal of X'X (> 0). Larger for denser data. 300 is within 3% of
        the tuned precision@10 on MovieLens 100K, ratings >= 4, latest-small and Online Retail.
        Weights scale X'X by their square: with ``binary=False`` on ratings 1-5 the optimum
        moves to about 3000.
    neighbours : int or None, default None
        Keep, for every item, only its ``neighbours`` largest weights (a sparse B: less memory,
        faster scoring, slightly lower accuracy); None keeps all of them (exact).
    dtype : {"float32", "float64"}, default "float32"
        Precision of the n_items x n_items solve and of B.
    max_memory : float, default 8.0
        GiB the fit may take (the dense n_items x n_items matrix, and the exact B's column
        indices); above it ``fit`` refuses
        before allocating anything, naming the ways out that fit (``neighbours``, float32,
        :class:`SparseEASE`, fewer items).
    n_threads : int, default 0
        Threads for scoring (the solve uses LAPACK's own threads).
    binary : bool, default True
        Fit and score on whether each customer interacted with each item (every positive weight
        counts 1; zero and negative net weights, returns, count 0), as Steck's EASE does. Counts
        and ratings taken as they are cost precision@10 at the default regularization: -15% on
        MovieLens 100K's ratings, -13% on Online Retail's purchase counts, and still -2% and -15%
        at their own best regularization (``bench/bench_quality.py --weights``). False: the
        weights as given.

    Attributes
    ----------
    weights_ : scipy.sparse csr, shape (n_items, n_items)
        Row i: item i's weights B[i, :] (the diagonal is 0 and not stored).

    Notes
    -----
    Memory: the fit holds one dense n_items x n_items matrix (n_items^2 x 4 bytes in float32: 1.6
    GB for 20,000 items). The exact B is stored as CSR in that matrix's memory plus one 4-byte
    column index per weight (8 bytes from 46,341 items): 3.2 GB in float32 for 20,000 items,
    which is the fit's peak too. Results do not depend on ``n_threads``.

    Examples
    --------
    >>> import scipy.sparse as sp, recforge as rf
    >>> X = sp.random(200, 50, density=0.1, format="csr", random_state=0)
    >>> model = rf.EASE(regularization=10.0).fit(X)
    >>> ids, scores = model.recommend([0, 1], X[[0, 1]], k=5)
    >>> ids.shape
    (2, 5)
    """

    _state = ("weights_", "n_users_", "n_items_")
    _absent_before = {"binary": False}  # files and pickles of before binary=True: weights as given

    def __init__(
        self,
        regularization: float = 300.0,
        neighbours: int | None = None,
        dtype: str = "float32",
        max_memory: float = 8.0,
        n_threads: int = 0,
        binary: bool = True,
    ):
        self.regularization = check_regularization(regularization)
        self.neighbours = None if neighbours is None else check_int(neighbours, "neighbours", minimum=1)
        self.dtype = check_dtype(dtype)
        self.max_memory = check_real(max_memory, "max_memory", minimum=0.0)
        self.n_threads = check_int(n_threads, "n_threads", minimum=0)
        self.binary = check_bool(binary, "binary")

    def _fit(self, X: CsrParts) -> None:
        X = self._values(X)
        n = X.shape[1]
        itemsize = np.dtype(self.dtype).itemsize
        need = _fit_bytes(n, itemsize, self.neighbours) / 2**30
        if need > self.max_memory:
            exact = f" for the solve, +{_index_size(n)} bytes each for the exact B's column indices"
            raise MemoryError(
                f"EASE over {n:,} items needs about {need:.1f} GiB (n_items^2 x {itemsize} bytes"
                f"{'' if self.neighbours else exact}), above max_memory="
                f"{self.max_memory:g}: {_ways_out(n, itemsize, self.neighbours, self.max_memory)}"
            )
        self.n_users_, self.n_items_ = X.shape
        if n < 2:  # no pair of items: B has no off-diagonal weight (and LAPACK refuses n = 0)
            self.weights_ = sp.csr_matrix((n, n), dtype=self.dtype)
            return
        A = _dense_gram(X.to_scipy().astype(self.dtype), self.dtype)
        if not np.isfinite(A).all():
            raise gram_overflow(self.dtype, X.data)
        A[np.diag_indices(n)] += self.regularization
        P = _inverse_spd(A)  # C order: B's rows are contiguous, and become CSR rows in place
        d = np.diag(P).copy()
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            P /= -d[None, :]  # B = -P diag(1/diag(P)) off the diagonal
        np.fill_diagonal(P, 0.0)
        # A Cholesky factor can succeed on a matrix singular at working precision (items that
        # always occur together, a tiny regularization) and leave weights of inf or NaN: every
        # score would be meaningless, so say so here (an O(n^2) pass beside the O(n^3) solve,
        # by blocks of rows: no n x n mask).
        finite = all(np.isfinite(P[r : r + _MIRROR_ROWS]).all() for r in range(0, n, _MIRROR_ROWS))
        if not (np.isfinite(d).all() and (d > 0).all() and finite):
            wider = "" if self.dtype == "float64" else " or use dtype='float64'"
            raise FloatingPointError(
                f"X'X + regularization I is singular at {self.dtype} precision (items that always occur "
                f"together?): the weights are not finite; raise regularization (now {self.regularization:g}){wider}"
            )
        self.weights_ = self._as_rows(P)

    def _as_rows(self, B: np.ndarray) -> sp.csr_matrix:
        """B (C order) as CSR rows: every off-diagonal weight, or each row's ``neighbours``
        largest."""
        n = B.shape[0]
        if self.neighbours is None or self.neighbours >= n - 1:
            # Every weight, B's own memory as the CSR values (no copy) beside one column index
            # per value; dropping the zero diagonal compacts both in place (scipy's
            # eliminate_zeros). The fit's peak is the n x n values and their indices.
            index = np.int32 if n * n < 2**31 else np.int64  # scipy's choice for these indptr values
            W = sp.csr_matrix(
                (B.reshape(-1), np.tile(np.arange(n, dtype=index), n), np.arange(0, n * n + 1, n, dtype=index)),
                shape=(n, n),
            )
            W.eliminate_zeros()
            return W
        m = self.neighbours
        np.fill_diagonal(B, -np.inf)  # never keep the diagonal
        cols = np.empty((n, m), dtype=np.int32 if n < 2**31 else np.int64)
        vals = np.empty((n, m), dtype=B.dtype)
        for start in range(0, n, 1024):  # rows in blocks: argpartition's int64 positions stay small
            block = B[start : start + 1024]
            top = np.sort(np.argpartition(-block, m - 1, axis=1)[:, :m], axis=1)
            cols[start : start + 1024] = top
            vals[start : start + 1024] = np.take_along_axis(block, top, 1)
        W = sp.csr_matrix((vals.ravel(), cols.ravel(), np.arange(0, n * m + 1, m)), shape=(n, n))
        W.eliminate_zeros()
        return W

    def _parts(self) -> CsrParts:
        return self._cached("weights", lambda: check_sparse(self.weights_, "weights_"))

    def __getstate__(self) -> dict:
        # Pickles (a model sent to Dask workers) carry an exact B's values alone: its indices
        # follow from the shape (1.6 GB less at 20k items)
        state = super().__getstate__()
        W = state.get("weights_")
        if W is not None and is_off_diagonal(W):
            state["weights_"] = _OffDiagonalValues(W.data, W.shape[0])
        return state

    def __setstate__(self, state: dict) -> None:
        W = state.get("weights_")
        if isinstance(W, _OffDiagonalValues):
            state = {**state, "weights_": from_off_diagonal(W.values, W.n)}
        super().__setstate__(state)

    def _scores_topk(self, users, history, k, banned, allow, recalculate_user=False):
        history = self._values(history)
        history = (
            history
            if history.data.dtype == self._parts().data.dtype
            else check_sparse(history.to_scipy().astype(self._parts().data.dtype), "user_items")
        )
        return sparse_topk_parts(history, self._parts(), k, banned, allow, self._threads)

    def _similar_items(self, items, k):
        W = self._parts()
        return sparse_topk_parts(selector(W.shape[0], W.data.dtype), W, k, None, None, self._threads, items)

    def _validate_state(self) -> None:
        super()._validate_state()
        self._require_shape("weights_", (self.n_items_, self.n_items_))

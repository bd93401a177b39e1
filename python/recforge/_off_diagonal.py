"""Square CSR matrices that store every entry but the diagonal (EASE's exact B): their column
indices follow from the shape, so model files and pickles carry the values alone, half the
bytes of values and int32 indices (1.6 GB less at 20k items in float32).

Checked and rebuilt by blocks of rows: the n x n index pattern is never formed beside the
matrix's own.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

_ROWS = 256  # rows per block: a block's pattern is 256 x n indices


def _pattern(start: int, stop: int, n: int, dtype) -> np.ndarray:
    """Rows start..stop of the column indices: row i holds 0..n-1 but i."""
    columns = np.arange(n - 1, dtype=dtype)
    rows = np.arange(start, stop, dtype=dtype)[:, None]
    return columns[None, :] + (columns[None, :] >= rows)


def is_off_diagonal(W) -> bool:
    """Whether ``W`` (scipy CSR) is square and stores exactly its off-diagonal entries, in
    order."""
    if not sp.issparse(W) or W.format != "csr" or W.shape[0] != W.shape[1]:
        return False
    n = W.shape[0]
    if n < 2 or W.nnz != n * (n - 1) or W.indptr[-1] != n * (n - 1):
        return False
    if not np.array_equal(W.indptr, np.arange(0, n * (n - 1) + 1, n - 1)):
        return False
    for start in range(0, n, _ROWS):
        stop = min(n, start + _ROWS)
        block = W.indices[start * (n - 1) : stop * (n - 1)].reshape(stop - start, n - 1)
        if not np.array_equal(block, _pattern(start, stop, n, W.indices.dtype)):
            return False
    return True


def from_off_diagonal(values: np.ndarray, n: int) -> sp.csr_matrix:
    """The n x n CSR whose off-diagonal entries are ``values`` (row by row), built as scipy
    would keep it: int32 indices while n * n fits them."""
    values = np.asarray(values)
    if values.ndim != 1 or values.size != n * (n - 1):
        raise ValueError(f"an off-diagonal {n} x {n} matrix holds {n * (n - 1)} values, got {values.shape}")
    index = np.int32 if n * n < 2**31 else np.int64
    indices = np.empty(values.size, dtype=index)
    for start in range(0, n, _ROWS):
        stop = min(n, start + _ROWS)
        indices[start * (n - 1) : stop * (n - 1)] = _pattern(start, stop, n, index).ravel()
    indptr = np.arange(n + 1, dtype=index) * index(max(n - 1, 0))
    return sp.csr_matrix((values, indices, indptr), shape=(n, n))

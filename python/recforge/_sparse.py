"""The CSR boundary: every sparse input enters recforge through :func:`as_csr`.

What it guarantees to the kernels: a 2-D CSR structure whose indptr is monotone and ends at
nnz, whose indices lie in range and are sorted and unique within each row, whose values are
finite float32/float64, and whose indices are int32 or int64 (the same for indptr and indices).
What it promises the caller: its object is never modified, and nothing is copied when it is
already such a matrix. Conversions that must copy (another format, another dtype, unsorted or
duplicate indices) happen once, here, and are documented.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from . import _core

# Integer and small float types whose values float32 holds exactly; everything else real -> float64.
_EXACT_IN_FLOAT32 = {np.dtype(t) for t in (np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.float16)}
_VALUE_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_INDEX_DTYPES = (np.dtype(np.int32), np.dtype(np.int64))


class CsrParts(NamedTuple):
    """A validated, canonical CSR matrix as raw arrays (what the kernels take)."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    shape: tuple[int, int]
    is_array: bool  # the caller used the sparse *array* API (csr_array) rather than csr_matrix

    def to_scipy(self):
        """Wrap the arrays in a scipy CSR of the caller's flavour (no copy of the values)."""
        cls = sp.csr_array if self.is_array else sp.csr_matrix
        return cls((self.data, self.indices, self.indptr), shape=self.shape, copy=False)


def value_dtype(dtype: np.dtype, name: str) -> np.dtype:
    """The float dtype recforge computes in for values of ``dtype``."""
    dtype = np.dtype(dtype)
    if dtype in _VALUE_DTYPES:
        return dtype
    if dtype in _EXACT_IN_FLOAT32:
        return np.dtype(np.float32)
    if dtype.kind in "iuf":
        return np.dtype(np.float64)
    raise TypeError(f"{name} must hold real numbers, got dtype {dtype}")


def _is_sparse_array(X) -> bool:
    sparray = getattr(sp, "sparray", None)
    return sparray is not None and isinstance(X, sparray)


def _index_arrays(*arrays: np.ndarray) -> list[np.ndarray]:
    """int32/int64 C-contiguous index arrays with one common dtype (copies only if needed)."""
    common = np.dtype(np.int64) if any(a.dtype != np.int32 for a in arrays) else np.dtype(np.int32)
    out = []
    for a in arrays:
        if a.dtype.kind not in "iu":
            raise TypeError(f"sparse index arrays must be integers, got dtype {a.dtype}")
        out.append(np.ascontiguousarray(a, dtype=common))
    return out


def _check_coo_bounds(X, name: str) -> None:
    # scipy's COO -> CSR conversion writes through the row ids: an out-of-range id would corrupt
    # memory, so bounds are checked here first.
    for ids, axis, extent in ((X.row, "row", X.shape[0]), (X.col, "column", X.shape[1])):
        if ids.size and (ids.min() < 0 or ids.max() >= extent):
            bad = ids[(ids < 0) | (ids >= extent)][0]
            raise ValueError(f"{name} has {axis} index {bad} outside [0, {extent})")


def _compressed(indptr, indices, data, shape: tuple[int, int], dtype, name: str, is_array: bool) -> CsrParts:
    """Raw compressed arrays read as a CSR of ``shape``: checked before anything reads them (no
    scipy constructor sees them first: it would silently prune or cast a malformed structure),
    then brought to canonical form on a copy when needed."""
    indptr, indices = _index_arrays(indptr, indices)
    data = np.ascontiguousarray(data, dtype=dtype)
    n_rows, n_cols = shape
    canonical = _core.check_csr(indptr, indices, data, n_rows, n_cols, name)
    if not canonical:
        # Sort and merge duplicates on a copy: the caller's object is never touched. Flags are
        # reset by hand because scipy trusts cached ones that may be stale.
        Y = sp.csr_matrix((data.copy(), indices.copy(), indptr.copy()), shape=shape)
        Y.has_sorted_indices = False
        Y._has_canonical_format = False
        Y.sum_duplicates()
        indptr, indices = _index_arrays(Y.indptr, Y.indices)
        data = Y.data
        if not _core.check_csr(indptr, indices, data, n_rows, n_cols, name):
            raise ValueError(f"{name} could not be brought to canonical form")  # defensive; scipy bug
    return CsrParts(indptr, indices, data, shape, is_array)


def _not_sparse(X, name: str):
    kind = f"{type(X).__module__}.{type(X).__name__}"
    if type(X).__name__ == "DataFrame":  # pandas, polars ...: most likely a table of events, one per row
        way_out = (
            "for a table of events (one per row), pass rf.Interactions.from_pandas(df, user_col=..., item_col=...)"
        )
    else:
        way_out = "wrap dense data with scipy.sparse.csr_array(...)"
    return TypeError(f"{name} must be a scipy.sparse matrix or array, got {kind}; {way_out}")


def row_ids(X) -> np.ndarray:
    """Row id of every stored entry of a CSR (CsrParts or scipy)."""
    return np.repeat(np.arange(X.shape[0], dtype=np.int64), np.diff(X.indptr))


def indptr_where(X, keep: np.ndarray) -> np.ndarray:
    """The indptr of X's rows cut to the stored entries where ``keep`` is True (the structure
    alone: a stored zero that is kept stays, one that is not goes)."""
    indptr = np.zeros(X.shape[0] + 1, dtype=X.indptr.dtype)
    np.cumsum(np.bincount(row_ids(X)[keep], minlength=X.shape[0]), out=indptr[1:])
    return indptr


def positive_pattern(X: CsrParts) -> CsrParts:
    """X with every positive entry set to 1 and the others (0, net returns) dropped: "bought it"
    in place of how often or how much. Values keep X's dtype; an X that is already so is returned
    as it is (no copy)."""
    data = X.data
    if data.size == 0:
        return X
    low, high = data.min(), data.max()  # two reductions: a single customer's row costs ~2 us
    if low > 0:
        return X if low == high == 1 else X._replace(data=np.ones_like(data))
    positive = data > 0
    indptr = indptr_where(X, positive)
    return X._replace(indptr=indptr, indices=X.indices[positive], data=np.ones(int(positive.sum()), dtype=data.dtype))


def unit_rows(M, dtype=None) -> sp.csr_matrix:
    """Rows of M (scipy sparse or CsrParts) scaled to unit Euclidean length; empty rows stay
    empty. The norms are taken in float64; the result has ``dtype`` (default M's)."""
    M = sp.csr_matrix(M.to_scipy() if isinstance(M, CsrParts) else M)
    norms = np.sqrt(np.asarray(M.multiply(M).sum(axis=1), dtype=np.float64).ravel())
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return sp.csr_matrix(sp.diags(scale) @ M, dtype=dtype or M.dtype)


def check_sparse(X, name: str = "X") -> CsrParts:
    """Validate ``X`` and return it as canonical CSR parts; see :func:`as_csr`."""
    if isinstance(X, CsrParts):
        return X  # made by this module's checks, or by recforge from arrays it keeps canonical
    if not sp.issparse(X):
        # An Interactions (or any object that carries its matrix as ``matrix``): its matrix.
        # Duck-typed so that this module, which everything imports, imports nothing of recforge's.
        matrix = getattr(X, "matrix", None)
        if sp.issparse(matrix):
            return check_sparse(matrix, name)
        raise _not_sparse(X, name)
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got {X.ndim} dimensions")
    is_array = _is_sparse_array(X)
    n_rows, n_cols = (int(s) for s in X.shape)
    dtype = value_dtype(X.dtype, name)
    if X.format == "csr":
        return _compressed(X.indptr, X.indices, X.data, (n_rows, n_cols), dtype, name, is_array)
    if X.format == "csc":
        # X's arrays are the CSR of X.T: checked as such, then transposed from checked arrays.
        T = _compressed(X.indptr, X.indices, X.data, (n_cols, n_rows), dtype, name, is_array)
        Y = sp.csr_matrix((T.data, T.indices, T.indptr), shape=T.shape).T.tocsr()
        return _compressed(Y.indptr, Y.indices, Y.data, (n_rows, n_cols), dtype, name, is_array)
    if X.format == "coo":
        _check_coo_bounds(X, name)
    Y = X.tocsr()
    return _compressed(Y.indptr, Y.indices, Y.data, (n_rows, n_cols), dtype, name, is_array)


def check_sparse_transpose(X, name: str = "X") -> CsrParts:
    """``X.T`` as canonical CSR parts: for a CSC ``X`` its own arrays, checked, without a copy
    (what ``user_items.T`` gives for item-item work); any other input through :func:`check_sparse`."""
    if sp.issparse(X) and X.format == "csc" and X.ndim == 2:
        n_rows, n_cols = (int(s) for s in X.shape)
        return _compressed(
            X.indptr, X.indices, X.data, (n_cols, n_rows), value_dtype(X.dtype, name), name, _is_sparse_array(X)
        )
    parts = check_sparse(X, name)
    Y = parts.to_scipy().T.tocsr()
    return _compressed(
        Y.indptr, Y.indices, Y.data, (parts.shape[1], parts.shape[0]), parts.data.dtype, f"{name}.T", parts.is_array
    )


def check_aligned(times, X: CsrParts, of: str = "user_items") -> CsrParts:
    """``times`` validated as a matrix with an entry at exactly the positions of ``X`` (each
    stored interaction's time), as CSR parts; ValueError naming ``of`` otherwise."""
    T = check_sparse(times, "times")
    if T.shape != X.shape or not (np.array_equal(T.indptr, X.indptr) and np.array_equal(T.indices, X.indices)):
        raise ValueError(f"times must have an entry at exactly the positions {of} has")
    return T


def require_distinct_columns(X, name: str) -> None:
    """Raise ValueError unless ``X`` is a valid CSR whose rows never repeat a column (rows may
    be in any order: models store neighbours ranked). For state read from files, which must be
    checked as strictly as fresh input and never silently repaired."""
    if not sp.issparse(X) or X.format != "csr":
        raise ValueError(f"{name} must be a CSR matrix")
    indptr, indices = _index_arrays(X.indptr, X.indices)
    data = np.ascontiguousarray(X.data, dtype=value_dtype(X.dtype, name))
    n_rows, n_cols = int(X.shape[0]), int(X.shape[1])
    if _core.check_csr(indptr, indices, data, n_rows, n_cols, name):
        return  # sorted and unique
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(indptr))
    keys = np.sort(rows * np.int64(n_cols) + indices)
    if keys.size and (np.diff(keys) == 0).any():
        row = int(keys[np.flatnonzero(np.diff(keys) == 0)[0]] // max(n_cols, 1))
        raise ValueError(f"{name} repeats a column in row {row}")


def as_csr(X, name: str = "X"):
    """Validate a sparse matrix and return it as canonical CSR.

    Parameters
    ----------
    X : scipy.sparse matrix or array
        Any format (CSR, CSC, COO, ...). Values of another real dtype are converted once:
        bool/int8/uint8/int16/uint16/float16 to float32, other integers to float64.
    name : str, default "X"
        Name used in error messages.

    Returns
    -------
    scipy.sparse.csr_matrix or scipy.sparse.csr_array
        Same flavour (matrix/array) as ``X``. ``X`` itself when it already is canonical CSR
        with float32/float64 values; otherwise a new matrix. ``X`` is never modified.

    Raises
    ------
    TypeError
        ``X`` is not a scipy.sparse object, or holds non-real values.
    ValueError
        ``X`` is not 2-D, holds NaN or inf, or its structure is malformed (indptr of the wrong
        length, not starting at 0, decreasing, or not ending at nnz; indices out of range).
    """
    parts = check_sparse(X, name)
    if (
        sp.issparse(X)
        and X.format == "csr"
        and X.indptr is parts.indptr
        and X.indices is parts.indices
        and X.data is parts.data
    ):
        return X
    return parts.to_scipy()

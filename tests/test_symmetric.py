"""recforge.kernels.similarity.symmetric (symmetric.hpp) against scipy's S.maximum(S.T)."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from recforge import _core

similarity_module = importlib.import_module("recforge.kernels.similarity")  # the module, not rf.similarity


def reference(S, dtype):
    """scipy's four passes: maximum with the transpose, the diagonal off, zeros out, sorted."""
    S = sp.csr_matrix(S)
    M = sp.csr_matrix(S.maximum(S.T), dtype=dtype)
    M = sp.csr_matrix(M - sp.diags(M.diagonal(), format="csr"), dtype=dtype)
    M.eliminate_zeros()
    M.sort_indices()
    return M


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    n=st.integers(0, 40),
    density=st.floats(0.0, 1.0),
    signed=st.booleans(),
    zeros=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64]),
    index=st.sampled_from([np.int32, np.int64]),
)
def test_symmetric_equals_scipy_for_any_thread_count(seed, n, density, signed, zeros, dtype, index):
    S = sp.random(n, n, density=density, random_state=seed % 2**32, format="csr", dtype=dtype)
    if signed:  # one-sided negatives count against the other side's 0
        S.data -= dtype(0.5)
    if zeros and S.nnz:  # stored zeros, and an empty row and column
        S.data[:: max(1, S.nnz // 3)] = 0
    if n > 2:
        S = sp.csr_matrix(S.multiply(np.r_[np.ones(n - 1), 0][:, None]))
    S.indices, S.indptr = S.indices.astype(index), S.indptr.astype(index)
    want = reference(S, dtype)
    for threads in (1, 3):
        got = similarity_module.symmetric(S, n, dtype, n_threads=threads)
        assert got.dtype == dtype and got.shape == (n, n)
        np.testing.assert_array_equal(got.indptr, want.indptr)
        np.testing.assert_array_equal(got.indices, want.indices)
        np.testing.assert_array_equal(got.data, want.data)


def test_the_result_is_symmetric_canonical_and_has_no_diagonal():
    rng = np.random.default_rng(0)
    S = sp.random(200, 200, density=0.05, random_state=1, format="csr")
    S.setdiag(rng.random(200))
    M = similarity_module.symmetric(S, 200)
    assert (M != M.T).nnz == 0 and M.diagonal().sum() == 0 and M.has_canonical_format
    assert np.all(M.data != 0)


def test_a_value_type_conversion_and_the_shape_check():
    S = sp.csr_matrix(np.array([[0, 2], [1, 0]], dtype=np.float64))
    M = similarity_module.symmetric(S, 2, np.float32)
    assert M.dtype == np.float32 and M.toarray().tolist() == [[0, 2], [2, 0]]
    with pytest.raises(ValueError, match=r"similarity must be n_items x n_items \(3\)"):
        similarity_module.symmetric(S, 3)


def test_the_kernel_checks_its_matrix_unless_trusted():
    indptr, indices, data = np.array([0, 1, 1]), np.array([5]), np.array([1.0])
    with pytest.raises(ValueError, match="similarity.indices"):
        _core.symmetric_max(indptr, indices, data, 2, 1)
    unsorted = (np.array([0, 2, 2]), np.array([1, 0]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="not canonical"):
        _core.symmetric_max(*unsorted, 2, 1)
    with pytest.raises(ValueError, match="structure its shape"):
        _core.symmetric_max(np.array([0, 1]), indices, data, 2, 1, trusted=True)

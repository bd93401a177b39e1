"""recforge._core.column_counts: the parallel bincount of a sparse matrix's column indices."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from recforge import _core


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    # past 2 x 65536 entries the count runs in several blocks
    nnz=st.sampled_from([0, 1, 7, 1000, 70_000, 200_003]),
    n_cols=st.integers(1, 3000),
    index=st.sampled_from([np.int32, np.int64]),
)
def test_column_counts_equal_bincount_for_any_thread_count(seed, nnz, n_cols, index):
    rng = np.random.default_rng(seed)
    # skewed, so some columns are empty and a few are long
    indices = (rng.pareto(1.0, nnz) * n_cols / 20).astype(np.int64) % n_cols
    indices = indices.astype(index)
    want = np.bincount(indices, minlength=n_cols)
    for threads in (1, 2, 3):
        got = _core.column_counts(indices, n_cols, threads)
        assert got.dtype == np.int64 and got.shape == (n_cols,)
        np.testing.assert_array_equal(got, want)


def test_no_columns_and_no_entries():
    assert _core.column_counts(np.zeros(0, dtype=np.int32), 0, 2).shape == (0,)
    np.testing.assert_array_equal(_core.column_counts(np.zeros(0, dtype=np.int64), 3, 2), [0, 0, 0])


@pytest.mark.parametrize("bad", [-1, 5, 2**31 - 1])
@pytest.mark.parametrize("nnz", [10, 150_000])
def test_an_index_outside_the_columns_is_a_value_error(bad, nnz):
    indices = np.zeros(nnz, dtype=np.int64)
    indices[nnz // 2] = bad
    with pytest.raises(ValueError, match=r"indices holds 1 entries outside \[0, 5\)"):
        _core.column_counts(indices, 5, 2)


def test_wrong_arrays_are_rejected():
    with pytest.raises(TypeError, match="indices must be int32 or int64, got float64"):
        _core.column_counts(np.zeros(3), 2, 1)
    with pytest.raises(ValueError, match="indices must be 1-D"):
        _core.column_counts(np.zeros((2, 2), dtype=np.int32), 2, 1)
    with pytest.raises(ValueError, match="n_cols must be >= 0"):
        _core.column_counts(np.zeros(2, dtype=np.int32), -1, 1)

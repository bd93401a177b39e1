"""_core.aggregate_pairs (the pair matrix of every Interactions) against a plain Python reference:
sum, max, count and last by (time, row), each pair's latest time, columns sorted, int32 and
int64 indices, and the same result for any thread count."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from recforge import _core

MODES = ("sum", "max", "count", "last")


def reference(user, item, weight, time, n_users, mode):
    """{(u, j): (value, latest)}: rows of a pair in (time, row) order."""
    rows = sorted(range(len(user)), key=lambda r: (user[r], item[r], 0.0 if time is None else time[r], r))
    out = {}
    for r in rows:
        key = (int(user[r]), int(item[r]))
        value, latest = out.get(key, (None, None))
        w = float(weight[r])
        value = {
            "sum": w if value is None else value + w,
            "max": w if value is None else max(value, w),
            "count": 1.0 if value is None else value + 1.0,
            "last": w,
        }[mode]
        out[key] = (value, None if time is None else float(time[r]))
    return out


def as_dict(indptr, indices, values, latest):
    out = {}
    for u in range(len(indptr) - 1):
        cols = indices[indptr[u] : indptr[u + 1]]
        assert np.all(np.diff(cols) > 0)  # sorted, one entry per pair
        for k in range(indptr[u], indptr[u + 1]):
            out[(u, int(indices[k]))] = (float(values[k]), None if latest is None else float(latest[k]))
    return out


@settings(max_examples=60, deadline=None)
@given(
    n_users=st.integers(1, 8),
    n_items=st.integers(1, 6),
    n=st.integers(0, 60),
    mode=st.sampled_from(MODES),
    with_time=st.booleans(),
    wide=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_pairs_match_the_reference(n_users, n_items, n, mode, with_time, wide, seed):
    rng = np.random.default_rng(seed)
    user = rng.integers(0, n_users, n).astype(np.int64)
    item = rng.integers(0, n_items, n).astype(np.int64)
    weight = rng.integers(-3, 6, n).astype(np.float64) / 2
    time = rng.integers(0, 5, n).astype(np.float64) if with_time else None  # many ties
    indptr, indices, values, latest = _core.aggregate_pairs(
        user, item, weight, time, n_users, n_items, MODES.index(mode), wide, 1
    )
    assert indptr.dtype == indices.dtype == (np.int64 if wide else np.int32) and values.dtype == np.float32
    assert indptr.shape == (n_users + 1,) and (latest is None) == (time is None)
    want = reference(user, item, weight, time, n_users, mode)
    got = as_dict(indptr, indices, values, latest)
    assert got.keys() == want.keys()
    for key, (value, when) in want.items():
        assert got[key][0] == pytest.approx(value) and got[key][1] == when


def test_the_thread_count_changes_nothing():
    rng = np.random.default_rng(0)
    n, n_users, n_items = 200_000, 30_000, 500
    user = (rng.pareto(1.0, n) * 50).astype(np.int64) % n_users  # a few customers with many rows
    item = rng.integers(0, n_items, n).astype(np.int64)
    weight = rng.random(n)
    time = rng.integers(0, 1000, n).astype(np.float64)
    for mode in range(4):
        one = _core.aggregate_pairs(user, item, weight, time, n_users, n_items, mode, False, 1)
        many = _core.aggregate_pairs(user, item, weight, time, n_users, n_items, mode, False, 4)
        for a, b in zip(one, many):
            np.testing.assert_array_equal(a, b)


def test_empty_input_and_codes_out_of_range():
    empty = np.zeros(0, dtype=np.int64)
    indptr, indices, values, latest = _core.aggregate_pairs(empty, empty, np.zeros(0), None, 3, 2, 0, False, 2)
    assert indptr.tolist() == [0, 0, 0, 0] and indices.size == values.size == 0 and latest is None
    ok = np.array([0, 1], dtype=np.int64)
    with pytest.raises(ValueError, match="user code out of range at row 1"):
        _core.aggregate_pairs(np.array([0, 5], dtype=np.int64), ok, np.ones(2), None, 3, 2, 0, False, 1)
    with pytest.raises(ValueError, match="item code out of range at row 0"):
        _core.aggregate_pairs(ok, np.array([-1, 0], dtype=np.int64), np.ones(2), None, 3, 2, 0, False, 1)
    with pytest.raises(ValueError, match="mode must be"):
        _core.aggregate_pairs(ok, ok, np.ones(2), None, 3, 2, 7, False, 1)
    with pytest.raises(TypeError, match="weight must be float64"):
        _core.aggregate_pairs(ok, ok, np.ones(2, dtype=np.float32), None, 3, 2, 0, False, 1)


@settings(max_examples=60, deadline=None)
@given(
    n_rows=st.integers(1, 12),
    n_cols=st.integers(1, 10),
    density=st.floats(0.0, 1.0),
    n=st.integers(0, 200),
    wide=st.booleans(),
    double=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_contains_pairs_matches_a_set_of_the_stored_pairs(n_rows, n_cols, density, n, wide, double, seed):
    """_core.contains_pairs (which events a split keeps with its pairs) against Python's set of
    the matrix's (row, column) pairs: empty rows and columns, int32 and int64 indices, float32 and
    float64 values, one thread against many."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    M = sp.random(
        n_rows, n_cols, density=density, format="csr", random_state=seed, dtype=np.float64 if double else np.float32
    )
    M.sort_indices()
    index = np.int64 if wide else np.int32
    rows, cols = rng.integers(0, n_rows, n), rng.integers(0, n_cols, n)
    stored = set(zip(*M.nonzero()))
    want = np.array([(r, c) in stored for r, c in zip(rows, cols)], dtype=bool)
    for threads in (1, 3):
        got = _core.contains_pairs(
            M.indptr.astype(index), M.indices.astype(index), M.data, n_rows, n_cols, rows, cols, threads
        )
        assert got.dtype == bool
        np.testing.assert_array_equal(got, want)


def test_contains_pairs_refuses_queries_outside_and_unsorted_rows():
    import scipy.sparse as sp

    M = sp.csr_matrix(np.array([[1.0, 0, 2.0], [0, 0, 0]]))
    args = (M.indptr, M.indices, M.data, 2, 3)
    with pytest.raises(ValueError, match=r"query 1 \(2, 0\) is outside"):
        _core.contains_pairs(*args, np.array([0, 2]), np.array([0, 0]), 1)
    with pytest.raises(ValueError, match=r"query 0 \(0, 3\) is outside"):
        _core.contains_pairs(*args, np.array([0]), np.array([3]), 1)
    with pytest.raises(ValueError, match="not canonical"):
        _core.contains_pairs(M.indptr, M.indices[::-1].copy(), M.data, 2, 3, np.array([0]), np.array([0]), 1)
    with pytest.raises(ValueError, match="cols must have 2 entries"):
        _core.contains_pairs(*args, np.array([0, 1]), np.array([0]), 1)

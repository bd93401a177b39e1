"""SparseEASE and its Gram kernel against plain numpy: X'X, each item's neighbourhood regression
written out with np.linalg.solve, and exact EASE where every pair of items co-occurs."""

from __future__ import annotations

import numpy as np
import pytest
import recforge as rf
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from model_behaviour import ModelBehaviour
from recforge._sparse import check_sparse
from recforge.models.sparse_ease import gram
from test_ease import reference_b


class TestSparseEASE(ModelBehaviour):
    supports_similar_users = False

    def make(self, **kwargs):
        return rf.SparseEASE(regularization=5.0, neighbours=6, **kwargs)


def random_matrix(n_users, n_items, density, seed, dtype=np.float64, index=np.int32):
    rng = np.random.default_rng(seed)
    X = sp.random(n_users, n_items, density=density, format="lil", random_state=seed, dtype=np.float64)
    if n_items > 2:
        X[:, 1] = 0  # an item nobody took
    if n_users > 2:
        X[2, :] = 0  # a customer with no history
    X = sp.csr_matrix(X)
    X.data = rng.integers(1, 4, X.nnz).astype(dtype)
    X.indices = X.indices.astype(index)
    X.indptr = X.indptr.astype(index)
    return X


def reference_columns(X: np.ndarray, lam: float, neighbours: int, min_support: int = 1) -> np.ndarray:
    """B column by column as the docstring defines it, in float64."""
    G = X.T @ X
    support = (X != 0).astype(np.int64).T @ (X != 0).astype(np.int64)
    G_kept = np.where((support >= min_support) | np.eye(len(G), dtype=bool), G, 0.0)
    n = len(G)
    B = np.zeros((n, n))
    d = np.diag(G)
    for j in range(n):
        cand = [b for b in range(n) if b != j and G_kept[j, b] != 0 and d[b] > 0]
        cand.sort(key=lambda b: (-abs(G_kept[j, b]) / np.sqrt(d[b]), b))
        N = np.array(sorted(cand[:neighbours]), dtype=np.int64)
        if N.size == 0:
            continue
        A = G_kept[np.ix_(N, N)] + lam * np.eye(N.size)
        B[N, j] = np.linalg.solve(A, G_kept[N, j])
    return B


@pytest.mark.parametrize("shape", [(40, 12), (30, 25), (80, 9), (5, 1), (0, 4)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index", [np.int32, np.int64])
@pytest.mark.parametrize("min_support", [1, 2])
def test_gram_matches_numpy(shape, dtype, index, min_support):
    X = random_matrix(*shape, 0.3, shape[0] + shape[1], dtype, index)
    D = X.toarray().astype(np.float64)
    support = (D != 0).astype(np.int64).T @ (D != 0).astype(np.int64)
    want = np.where((support >= min_support) | np.eye(shape[1], dtype=bool), D.T @ D, 0.0)
    for threads in (1, 3):
        G = gram(check_sparse(X), min_support, threads, 8.0)
        assert G.dtype == dtype and G.has_sorted_indices
        np.testing.assert_allclose(G.toarray(), want, rtol=1e-6)
        # every pair with support is stored (even where the weighted sum could be 0)
        assert G.nnz == np.count_nonzero((support >= min_support) & ((support > 0) | np.eye(shape[1], dtype=bool)))


def test_gram_refuses_above_max_memory_before_allocating():
    X = random_matrix(50, 30, 0.3, 0)
    with pytest.raises(MemoryError, match="min_support"):
        gram(check_sparse(X), 1, 1, 1e-9)
    with pytest.raises(MemoryError, match="max_memory"):
        rf.SparseEASE(max_memory=1e-9).fit(X)


@pytest.mark.parametrize("shape", [(40, 12), (30, 25), (80, 9)])
@pytest.mark.parametrize("neighbours", [1, 3, 8, 100])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("binary", [False, True])
def test_weights_match_the_neighbourhood_regressions(shape, neighbours, dtype, binary):
    X = random_matrix(*shape, 0.25, shape[0] * neighbours)
    if binary:
        X.data[::5] = -1.0  # net returns: not bought
    model = rf.SparseEASE(regularization=3.0, neighbours=neighbours, dtype=dtype, binary=binary).fit(X)
    want = reference_columns((X.toarray() > 0).astype(float) if binary else X.toarray(), 3.0, neighbours)
    tol = 1e-6 if dtype == "float64" else 2e-4
    np.testing.assert_allclose(model.weights_.toarray(), want, rtol=tol, atol=tol)
    assert np.count_nonzero(model.weights_.toarray(), axis=0).max() <= neighbours
    assert np.all(model.weights_.diagonal() == 0)


def test_min_support_drops_pairs_from_the_regressions():
    X = random_matrix(60, 15, 0.3, 4)
    model = rf.SparseEASE(regularization=3.0, neighbours=6, min_support=2, dtype="float64", binary=False).fit(X)
    np.testing.assert_allclose(model.weights_.toarray(), reference_columns(X.toarray(), 3.0, 6, 2), atol=1e-8)


@pytest.mark.parametrize("shape", [(60, 10), (200, 30)])
def test_equals_exact_ease_when_every_pair_co_occurs(shape):
    X = sp.random(*shape, density=0.6, format="csr", random_state=1, dtype=np.float64)
    D = (X.toarray() != 0).astype(int)
    assert np.all(D.T @ D > 0)
    model = rf.SparseEASE(regularization=4.0, neighbours=shape[1], dtype="float64", binary=False).fit(X)
    np.testing.assert_allclose(model.weights_.toarray(), reference_b(X.toarray(), 4.0), atol=1e-10)


def test_scores_are_history_times_weights():
    X = random_matrix(50, 20, 0.3, 7)
    X.data[::6] = -1.0  # net returns: not bought, and still seen
    model = rf.SparseEASE(regularization=2.0, neighbours=5, dtype="float64").fit(X)
    ids, scores = model.recommend(np.arange(50), X, k=4)
    want = (X.toarray() > 0) @ model.weights_.toarray()
    for u in range(50):
        got = ids[u][ids[u] >= 0]
        np.testing.assert_allclose(scores[u][: got.size], want[u, got], atol=1e-9)
        assert not set(got) & set(X[u].indices)


@settings(max_examples=25, deadline=None)
@given(
    n_users=st.integers(0, 30),
    n_items=st.integers(1, 12),
    density=st.floats(0.05, 0.9),
    neighbours=st.integers(1, 14),
    seed=st.integers(0, 10_000),
)
def test_any_small_input_matches_the_reference_and_any_thread_count(n_users, n_items, density, neighbours, seed):
    X = sp.random(n_users, n_items, density=density, format="csr", random_state=seed, dtype=np.float64)
    one = rf.SparseEASE(regularization=1.5, neighbours=neighbours, dtype="float64", n_threads=1, binary=False).fit(X)
    many = rf.SparseEASE(regularization=1.5, neighbours=neighbours, dtype="float64", n_threads=3, binary=False).fit(X)
    np.testing.assert_allclose(one.weights_.toarray(), reference_columns(X.toarray(), 1.5, neighbours), atol=1e-8)
    assert (one.weights_ != many.weights_).nnz == 0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"regularization": 0.0}, "regularization"),
        ({"neighbours": 0}, "neighbours"),
        ({"min_support": 0}, "min_support"),
        ({"dtype": "int8"}, "dtype"),
        ({"max_memory": -1.0}, "max_memory"),
    ],
)
def test_bad_parameters_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        rf.SparseEASE(**kwargs)


def test_kernel_refuses_inconsistent_row_pointers():
    from recforge import _core

    X = check_sparse(random_matrix(20, 6, 0.4, 2))
    T = check_sparse(X.to_scipy().T.tocsr())
    args = (X.indptr, X.indices, X.data, T.indptr, T.indices, T.data, 20, 6, 1)
    counts = _core.gram_counts(*args, 1)
    indptr = np.zeros(7, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    indptr[3:] += 1  # row 2 claims one entry too many
    with pytest.raises(ValueError, match="does not match"):
        _core.gram_fill(*args, indptr, 1)


def test_weights_that_overflow_the_gram_matrix_are_refused():
    big = sp.csr_matrix(np.array([[1e30, 1.0], [1.0, 1e-30], [1.0, 1.0]]))
    # before: "gram.data has a non-finite value (inf)", naming internal state
    with pytest.raises(FloatingPointError, match="X'X overflows float32 .* dtype='float64'"):
        rf.SparseEASE(binary=False).fit(big)
    assert rf.SparseEASE(dtype="float64", binary=False).fit(big).is_fitted

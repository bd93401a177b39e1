"""recforge.similarity against the dense numpy references in reference.py."""

from __future__ import annotations

import numpy as np
import pytest
import recforge as rf
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from reference import expected_candidates, similarity_matrix

NONNEGATIVE_ONLY = {"tfidf", "bm25"}
TOL = {np.float32: dict(rtol=3e-5, atol=3e-6), np.float64: dict(rtol=1e-9, atol=1e-12)}


def random_sparse(
    rng,
    n_rows,
    n_cols,
    density,
    *,
    dtype=np.float64,
    index_dtype=np.int32,
    values="ratings",
    empty_rows=(),
    empty_cols=(),
):
    """Random CSR with chosen dtypes; rows/columns listed in empty_* hold nothing."""
    mask = rng.random((n_rows, n_cols)) < density
    if n_rows and n_cols:
        mask[list(empty_rows), :] = False
        mask[:, list(empty_cols)] = False
    if values == "ratings":
        vals = rng.integers(1, 6, size=mask.sum()).astype(np.float64)
    elif values == "binary":
        vals = np.ones(mask.sum())
    else:  # real values of both signs, never exactly zero
        vals = rng.uniform(0.1, 2.0, size=mask.sum()) * rng.choice([-1, 1], size=mask.sum())
    r, c = np.nonzero(mask)
    X = sp.csr_matrix((vals.astype(dtype), (r, c)), shape=(n_rows, n_cols))
    X.indices = X.indices.astype(index_dtype)
    X.indptr = X.indptr.astype(index_dtype)
    return X


def check_against_reference(X, S, *, k, metric, shrinkage=0.0, min_support=1, **kw):
    """S must hold, per row, a valid top-k of the reference similarities (with tolerance)."""
    dtype = X.dtype.type if X.dtype in (np.float32, np.float64) else np.float64
    tol = TOL[dtype]
    sim, support = similarity_matrix(X, metric, **kw)
    s, allowed = expected_candidates(sim, support, shrinkage=shrinkage, min_support=min_support)
    n = X.shape[0]
    assert S.shape == (n, n)
    assert S.dtype == dtype
    scale = max(1.0, float(np.abs(s).max()) if s.size else 1.0)
    near_zero = np.abs(s) <= 50 * (tol["atol"] + tol["rtol"] * scale)
    for i in range(n):
        idx = S.indices[S.indptr[i] : S.indptr[i + 1]]
        val = S.data[S.indptr[i] : S.indptr[i + 1]].astype(np.float64)
        strict = allowed[i] & ~near_zero[i]
        maybe = allowed[i] & near_zero[i]
        assert len(idx) <= k
        assert len(set(idx.tolist())) == len(idx), "duplicate neighbour"
        assert i not in idx, "self returned"
        assert np.all(allowed[i, idx] | False), "a pair below min_support or without shared columns"
        assert min(k, strict.sum()) <= len(idx) <= min(k, strict.sum() + maybe.sum())
        np.testing.assert_allclose(val, s[i, idx], **tol)
        assert np.all(val != 0)
        # rank order: descending, ties to the lower index
        assert np.all(np.diff(val) <= 0)
        ties = np.diff(val) == 0
        assert np.all(np.diff(idx)[ties] > 0)
        # optimality: nothing left out beats what was kept
        rest = strict.copy()
        rest[idx] = False
        if len(idx) and rest.any():
            assert s[i, rest].max() <= val.min() + tol["atol"] + tol["rtol"] * abs(val.min()) + 1e-12


@pytest.mark.parametrize("metric", rf.METRICS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_each_metric_matches_reference(metric, dtype, index_dtype, rng):
    values = "ratings" if metric in NONNEGATIVE_ONLY or metric in ("pearson", "msd") else "signed"
    X = random_sparse(
        rng, 40, 25, 0.3, dtype=dtype, index_dtype=index_dtype, values=values, empty_rows=[3, 17], empty_cols=[0, 9]
    )
    for k in (1, 5, 60):  # 60 > any row's candidate count
        S = rf.similarity(X, k=k, metric=metric)
        assert S.indices.dtype.kind == "i"
        check_against_reference(X, S, k=k, metric=metric)


@given(
    n_rows=st.integers(0, 14),
    n_cols=st.integers(0, 10),
    density=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(0, 16),
    metric=st.sampled_from(rf.METRICS),
    dtype=st.sampled_from([np.float32, np.float64]),
    index_dtype=st.sampled_from([np.int32, np.int64]),
    shrinkage=st.sampled_from([0.0, 0.5, 10.0]),
    min_support=st.integers(0, 4),
)
def test_random_inputs_match_reference(
    n_rows, n_cols, density, seed, k, metric, dtype, index_dtype, shrinkage, min_support
):
    rng = np.random.default_rng(seed)
    values = "ratings" if metric in NONNEGATIVE_ONLY or rng.random() < 0.5 else "signed"
    X = random_sparse(rng, n_rows, n_cols, density, dtype=dtype, index_dtype=index_dtype, values=values)
    S = rf.similarity(X, k=k, metric=metric, shrinkage=shrinkage, min_support=min_support)
    check_against_reference(X, S, k=k, metric=metric, shrinkage=shrinkage, min_support=min_support)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("metric", ["dot", "jaccard"])
def test_exact_values_and_tie_break(dtype, metric, rng):
    # Integer dot products and Jaccard ratios are exact, so the output is fully determined:
    # descending similarity, equal similarities in increasing column order.
    X = random_sparse(rng, 60, 12, 0.4, dtype=dtype, values="binary")
    sim, support = similarity_matrix(X, metric)
    k = 7
    S = rf.similarity(X, k=k, metric=metric)
    for i in range(X.shape[0]):
        cand = [j for j in range(X.shape[0]) if j != i and support[i, j] > 0 and sim[i, j] != 0]
        expect = sorted(cand, key=lambda j: (-dtype(sim[i, j]), j))[:k]
        got = S.indices[S.indptr[i] : S.indptr[i + 1]].tolist()
        assert got == expect
        np.testing.assert_array_equal(S.data[S.indptr[i] : S.indptr[i + 1]], sim[i, expect].astype(dtype))


def power_law(rng, n_rows, n_cols, nnz, dtype=np.float64):
    """Rows with popularity-skewed columns: exercises both traversal modes of the kernel."""
    p = 1.0 / np.arange(1, n_cols + 1) ** 0.9
    r = rng.integers(0, n_rows, size=nnz)
    c = rng.choice(n_cols, size=nnz, p=p / p.sum())
    v = rng.integers(1, 6, size=nnz).astype(dtype)
    X = sp.csr_matrix((v, (r, c)), shape=(n_rows, n_cols))
    X.sum_duplicates()
    return X


@pytest.mark.parametrize("metric", rf.METRICS)
@pytest.mark.parametrize("k", [10, 299])  # 299 = every other row: the kernel keeps all pairs
def test_thread_count_does_not_change_result(metric, k, rng):
    X = power_law(rng, 700, 300, 12000).T.tocsr()  # 300 item rows, popular ones dense
    kw = dict(k=k, metric=metric, shrinkage=2.0 if metric == "cosine" else 0.0)
    one = rf.similarity(X, n_threads=1, **kw)
    for threads in (2, 5):
        many = rf.similarity(X, n_threads=threads, **kw)
        np.testing.assert_array_equal(one.indptr, many.indptr)
        np.testing.assert_array_equal(one.indices, many.indices)
        np.testing.assert_array_equal(one.data, many.data)
    check_against_reference(X, one, **kw)


def test_item_item_and_user_user_orientation(rng):
    X = power_law(rng, 80, 30, 600)
    items = rf.similarity(X.T, k=5)
    users = rf.similarity(X, k=5)
    assert items.shape == (30, 30) and users.shape == (80, 80)
    check_against_reference(X.T.tocsr(), items, k=5, metric="cosine")


def test_result_flavour_follows_input(rng):
    X = random_sparse(rng, 10, 8, 0.5)
    assert isinstance(rf.similarity(X, k=3), sp.csr_matrix)
    assert isinstance(rf.similarity(sp.csr_array(X), k=3), sp.csr_array)


def test_other_formats_and_dtypes_are_accepted(rng):
    X = random_sparse(rng, 20, 10, 0.4)
    expect = rf.similarity(X, k=4)
    for other in (X.tocsc(), X.tocoo(), X.tolil(), sp.csr_matrix(X.astype(np.int64)), X.astype(np.int8)):
        got = rf.similarity(other, k=4)
        np.testing.assert_array_equal(got.indices, expect.indices)
        np.testing.assert_allclose(got.data, expect.data, rtol=1e-6)


def test_duplicates_are_summed_and_unsorted_rows_sorted(rng):
    X = random_sparse(rng, 15, 6, 0.5)
    coo = X.tocoo()
    # the same matrix written with every entry split in two halves, rows shuffled
    order = rng.permutation(coo.nnz)
    rows = np.concatenate([coo.row[order], coo.row[order]])
    cols = np.concatenate([coo.col[order], coo.col[order]])
    vals = np.concatenate([coo.data[order] / 2, coo.data[order] / 2])
    messy = sp.csr_matrix((vals, cols, np.searchsorted(rows, np.arange(16))), shape=X.shape)
    messy_sorted = np.argsort(rows, kind="stable")
    messy = sp.csr_matrix(
        (vals[messy_sorted], cols[messy_sorted], np.searchsorted(rows[messy_sorted], np.arange(16))),
        shape=X.shape,
    )
    before = (messy.data.copy(), messy.indices.copy(), messy.indptr.copy())
    got = rf.similarity(messy, k=5, metric="pearson")
    expect = rf.similarity(X, k=5, metric="pearson")
    np.testing.assert_array_equal(got.indices, expect.indices)
    np.testing.assert_allclose(got.data, expect.data, rtol=1e-12)
    for a, b in zip(before, (messy.data, messy.indices, messy.indptr)):
        np.testing.assert_array_equal(a, b)  # caller's object untouched


def test_empty_and_degenerate_shapes():
    for shape in [(0, 0), (0, 5), (5, 0), (1, 1), (3, 4)]:
        S = rf.similarity(sp.csr_matrix(shape, dtype=np.float64), k=3)
        assert S.shape == (shape[0], shape[0]) and S.nnz == 0
    S = rf.similarity(sp.csr_matrix(np.ones((4, 3))), k=0)
    assert S.nnz == 0


def test_bm25_and_tfidf_parameters_change_weights(rng):
    X = power_law(rng, 200, 40, 2000)
    a = rf.similarity(X.T, k=5, metric="bm25", k1=1.2, b=0.75)
    c = rf.similarity(X.T, k=5, metric="bm25", k1=100.0, b=0.8)
    check_against_reference(X.T.tocsr(), c, k=5, metric="bm25", k1=100.0, b=0.8)
    assert not np.allclose(a.data, c.data)


def test_surprise_pearson_hand_computed():
    # Two users sharing three items: ratings (1, 2, 3) and (2, 4, 5). Surprise's formula gives
    # (n*Sxy - Sx*Sy) / sqrt((n*Sxx - Sx^2) * (n*Syy - Sy^2))
    #   = (3*25 - 6*11) / sqrt((3*14 - 36) * (3*45 - 121)) = 9 / sqrt(6 * 14).
    X = sp.csr_matrix(np.array([[1.0, 2, 3, 0], [2, 4, 5, 1], [0, 0, 0, 3]]))
    S = rf.similarity(X, k=2, metric="pearson")
    assert S[0, 1] == pytest.approx(9 / np.sqrt(84), rel=1e-12)
    assert S[2, 0] == 0 and S[2, 1] == 0  # one shared column: variance 0, so no entry
    M = rf.similarity(X, k=2, metric="msd")
    assert M[0, 1] == pytest.approx(1 / ((1 + 4 + 4) / 3 + 1))
    assert M[1, 2] == pytest.approx(1 / ((1 - 3) ** 2 + 1))


@pytest.mark.shared_data
def test_movielens_user_user_pearson_matches_reference(datasets_dir):
    ratings = np.loadtxt(datasets_dir / "ml-100k" / "u.data", dtype=np.int64)
    X = sp.csr_matrix((ratings[:, 2].astype(np.float64), (ratings[:, 0] - 1, ratings[:, 1] - 1)))
    assert X.shape == (943, 1682) and X.nnz == 100_000
    S = rf.similarity(X, k=943, metric="pearson")
    sim, support = similarity_matrix(X, "pearson")
    np.fill_diagonal(sim, 0)
    dense = S.toarray()
    np.testing.assert_allclose(dense, sim, rtol=1e-9, atol=1e-12)
    check_against_reference(X, rf.similarity(X, k=40, metric="pearson"), k=40, metric="pearson")


@pytest.mark.parametrize("metric", rf.METRICS)
def test_csc_input_takes_the_transposed_path_with_identical_results(metric, rng):
    # X.tocsc() is X.T in CSR form: the kernel transposes it instead of scipy converting it.
    X = power_law(rng, 120, 40, 900)
    kw = dict(k=6, metric=metric, shrinkage=1.0 if metric == "jaccard" else 0.0)
    expect = rf.similarity(X, **kw)
    for csc in (X.tocsc(), sp.csc_array(X), X.T.tocsr().T):
        got = rf.similarity(csc, **kw)
        assert type(got) is (sp.csr_array if isinstance(csc, sp.sparray) else sp.csr_matrix)
        np.testing.assert_array_equal(got.indptr, expect.indptr)
        np.testing.assert_array_equal(got.indices, expect.indices)
        np.testing.assert_array_equal(got.data, expect.data)


def test_non_canonical_csc_input(rng):
    X = random_sparse(rng, 30, 12, 0.4)
    C = X.tocsc()
    # reverse each column's row order: valid CSC, not canonical
    order = np.concatenate([np.arange(C.indptr[c], C.indptr[c + 1])[::-1] for c in range(C.shape[1])])
    messy = sp.csc_matrix((C.data[order], C.indices[order], C.indptr), shape=C.shape)
    before = messy.indices.copy()
    np.testing.assert_array_equal(rf.similarity(messy, k=4).toarray(), rf.similarity(X, k=4).toarray())
    np.testing.assert_array_equal(messy.indices, before)


@pytest.mark.parametrize("metric", ["tfidf", "bm25"])
def test_zero_idf_is_exactly_zero(metric):
    # 3 documents, one term held by 2 of them: idf = log 3 - log1p 2 = 0 exactly, so no pair
    # has a similarity (an idf an ulp off 0 would make the tfidf cosine 1).
    X = sp.csr_matrix(np.array([[5.0], [0.0], [5.0]], dtype=np.float32))
    assert rf.similarity(X, k=2, metric=metric).nnz == 0


@pytest.mark.parametrize("metric", ["corated_cosine", "pearson", "cosine"])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_unsorted_rows_hold_the_same_pairs_in_column_order(metric, index_dtype, rng):
    from recforge import _core

    X = power_law(rng, 300, 120, 5000).T.tocsr()  # 120 rows: every neighbour kept below
    X.indices, X.indptr = X.indices.astype(index_dtype), X.indptr.astype(index_dtype)
    X.data -= 3.0  # both signs, as KNNRegressor's baseline residuals
    n = X.shape[0]
    for k in (n, 10):  # every neighbour (the dense table), then a top-k (always sorted)
        args = (X.indptr, X.indices, X.data, *X.shape, k, metric, 5.0, 1, 2)
        indptr, indices, data = _core.similarity(*args, shrinkage_offset=1.0)
        for threads in (1, 3):
            u_indptr, u_indices, u_data = _core.similarity(*args[:-1], threads, shrinkage_offset=1.0, sorted_rows=False)
            np.testing.assert_array_equal(u_indptr, indptr)
            for r in range(n):
                got = slice(u_indptr[r], u_indptr[r + 1])
                want = slice(indptr[r], indptr[r + 1])
                if k == n:
                    assert np.all(np.diff(u_indices[got]) > 0)
                    order = np.argsort(indices[want], kind="stable")
                    np.testing.assert_array_equal(u_indices[got], indices[want][order])
                    np.testing.assert_array_equal(u_data[got], data[want][order])
                else:
                    np.testing.assert_array_equal(u_indices[got], indices[want])
                    np.testing.assert_array_equal(u_data[got], data[want])
        assert indptr[-1] > n  # rows are not empty: the test compares something


def huge_negative_products(rng, n):
    """Rows 0 .. n/2 - 1 share columns only with rows n/2 .. n - 1, with the opposite sign, and
    |values| are 2^55 .. 2^62: each of the first rows has only negative similarities, down to
    -2^125, near the end of float32's range (the histogram's buckets next to -inf)."""
    half, per_row, per_column = n // 2, 8, 8
    n_cols = half * per_row
    rows, cols = [], []
    for c in range(n_cols):
        rows += [c // per_row, *rng.choice(np.arange(half, n), per_column, replace=False)]
        cols += [c] * (per_column + 1)
    rows = np.array(rows)
    vals = np.exp2(rng.integers(55, 63, size=len(rows))) * np.where(rows < half, 1.0, -1.0)
    X = sp.csr_matrix((vals, (rows, cols)), shape=(n, n_cols))
    X.sum_duplicates()
    return X


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "metric, values",
    [
        ("dot", "wide"),
        ("dot", "signed"),
        ("dot", "binary"),
        ("jaccard", "binary"),
        ("centered_cosine", "signed"),
        ("centered_cosine", "wide"),
        ("dot", "huge"),
    ],
)
def test_selected_rows_are_the_head_of_the_full_ranking(dtype, metric, values, rng):
    # Rows of a few hundred candidates each, selected down to k: the kernel picks an admission
    # floor from a histogram of each row's values before selecting. Values spread over more
    # octaves than the histogram spans ("wide"), of both signs, or all tied ("binary") must
    # still give exactly the first k of the full ranking (k = n - 1 keeps every pair unselected).
    n = 600
    if values == "huge":
        X = huge_negative_products(rng, n)
    else:
        X = random_sparse(rng, n, 1500, 0.012, dtype=np.float64, values="binary" if values == "binary" else "signed")
    if values == "wide":  # 2^-30 .. 2^30: products span 120 octaves, never overflowing float32
        X.data *= np.exp2(rng.integers(-30, 31, size=X.nnz))
    X = X.astype(dtype)
    full = rf.similarity(X, k=n - 1, metric=metric)
    assert np.diff(full.indptr).mean() > 100  # most rows hold far more than 2k candidates
    for k in (1, 4, 25):
        for threads in (1, 2):
            top = rf.similarity(X, k=k, metric=metric, n_threads=threads)
            for i in range(n):
                head = slice(full.indptr[i], min(full.indptr[i] + k, full.indptr[i + 1]))
                got = slice(top.indptr[i], top.indptr[i + 1])
                np.testing.assert_array_equal(top.indices[got], full.indices[head])
                np.testing.assert_array_equal(top.data[got], full.data[head])


@pytest.mark.parametrize("metric", sorted(NONNEGATIVE_ONLY))
def test_negative_values_for_weightings_are_counted_with_the_way_out(metric):
    """Online Retail's quantities summed per pair go below zero where returns outweigh purchases:
    the refusal says how many values are negative and what to do, not only that it failed."""
    X = sp.csr_matrix(np.array([[1.0, -2.0, 0.0], [3.0, 1.0, -1.0], [0.0, 2.0, 1.0]]))
    with pytest.raises(ValueError, match=r"but 2 are negative \(returns netted below zero\?\).*metric='cosine'"):
        rf.similarity(X, k=2, metric=metric)
    with pytest.raises(ValueError, match="2 are negative"):
        rf.ItemKNN(metric=metric).fit(X)

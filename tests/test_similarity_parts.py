"""Similarity computed in parts (what recforge.distributed spreads over workers): each part
against a dense reference, parts merged equal to recforge.similarity bit for bit, the merge
kernel against numpy, the work estimate, and bad arguments."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import recforge as rf
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from recforge import _core
from recforge.kernels.similarity import merge_similarity_parts, pair_work, similarity_part
from reference import similarity_matrix
from test_similarity import NONNEGATIVE_ONLY, power_law, random_sparse


def assert_same(a, b):
    assert type(a) is type(b) and a.shape == b.shape and a.dtype == b.dtype
    assert a.indices.dtype == b.indices.dtype
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.data, b.data)


def parts_of(X, cuts, **kw):
    return [similarity_part(X, (a, b), **kw) for a, b in zip(cuts[:-1], cuts[1:])]


@settings(max_examples=150, deadline=None)
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
    min_support=st.integers(0, 3),
    csc=st.booleans(),
    walk=st.sampled_from(["auto", "rows", "receivers"]),
    data=st.data(),
)
def test_merged_parts_equal_the_whole(
    n_rows, n_cols, density, seed, k, metric, dtype, index_dtype, shrinkage, min_support, csc, walk, data
):
    rng = np.random.default_rng(seed)
    values = "ratings" if metric in NONNEGATIVE_ONLY or rng.random() < 0.5 else "signed"
    X = random_sparse(rng, n_rows, n_cols, density, dtype=dtype, index_dtype=index_dtype, values=values)
    X = sp.csc_matrix(X) if csc else X
    inner = data.draw(st.lists(st.integers(0, n_rows), max_size=4))
    cuts = [0, *sorted(inner), n_rows]
    kw = dict(k=k, metric=metric, shrinkage=shrinkage, min_support=min_support)
    whole = rf.similarity(X, **kw)
    assert_same(merge_similarity_parts(parts_of(X, cuts, walk=walk, **kw), k), whole)


@pytest.mark.parametrize("metric", ["dot", "jaccard"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_each_part_holds_the_top_k_of_the_pairs_its_range_owns(metric, dtype, rng):
    # Integer dot products and Jaccard ratios are exact: every part is fully determined.
    X = random_sparse(rng, 50, 12, 0.35, dtype=dtype, values="binary", empty_rows=[4, 30])
    sim, support = similarity_matrix(X, metric)
    k = 6
    for (start, stop), walk in itertools.product([(0, 7), (7, 30), (30, 50), (20, 20)], ["rows", "receivers"]):
        part = similarity_part(X, (start, stop), k=k, metric=metric, walk=walk)
        assert part.shape == (50, 50)
        for i in range(50):
            owned = [j for j in range(50) if j != i and start <= min(i, j) < stop]
            cand = [j for j in owned if support[i, j] > 0 and sim[i, j] != 0]
            expect = sorted(cand, key=lambda j: (-dtype(sim[i, j]), j))[:k]
            got = part.indices[part.indptr[i] : part.indptr[i + 1]].tolist()
            assert got == expect, (start, stop, walk, i)
            np.testing.assert_array_equal(part.data[part.indptr[i] : part.indptr[i + 1]], sim[i, expect].astype(dtype))


@pytest.mark.parametrize("metric", ["cosine", "pearson", "bm25", "adjusted_cosine"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_popular_rows_and_thread_counts(metric, dtype, rng):
    # Popular rows take the kernel's dense mode, the others its sparse mode; float32 cosine
    # rounds asymmetrically, so only the same operands give the same bits.
    X = power_law(rng, 600, 250, 9000, dtype=dtype).T.tocsr()
    kw = dict(k=12, metric=metric, shrinkage=1.0 if metric == "cosine" else 0.0)
    whole = rf.similarity(X, n_threads=2, **kw)
    cuts = [0, 5, 40, 120, 250]
    for threads, walk in itertools.product((1, 3), ("rows", "receivers")):
        parts = parts_of(X, cuts, n_threads=threads, walk=walk, **kw)
        assert_same(merge_similarity_parts(parts, 12, n_threads=threads), whole)


def test_every_neighbour_kept_and_sparse_arrays(rng):
    X = sp.csr_array(random_sparse(rng, 30, 9, 0.4))
    whole = rf.similarity(X, k=100)  # k >= n - 1: the kernel's table sink
    for walk in ("rows", "receivers"):
        merged = merge_similarity_parts(parts_of(X, [0, 11, 12, 30], k=100, walk=walk), 100)
        assert_same(merged, whole)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_pair_work_counts_the_pairs_after_each_row(dtype, index_dtype, rng):
    X = random_sparse(rng, 40, 15, 0.3, dtype=dtype, index_dtype=index_dtype, empty_rows=[2])
    B = (X != 0).astype(np.int64)
    shared = (B @ B.T).toarray()
    expect = np.triu(shared, 1).sum(axis=1)
    for form in (X, sp.csc_matrix(X), sp.csr_array(X)):
        got = pair_work(form)
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, expect)
    assert pair_work(sp.csr_matrix((0, 3))).shape == (0,)
    assert pair_work(sp.csr_matrix((3, 0))).tolist() == [0, 0, 0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("k", [0, 1, 3, 50])
def test_topk_of_rows_matches_numpy(dtype, index_dtype, k, rng):
    n_rows, n_cols = 30, 20
    rows, cols, vals = [], [], []
    for r in range(n_rows):
        m = int(rng.integers(0, n_cols))
        cols += rng.permutation(n_cols)[:m].tolist()  # any order within the row
        rows += [r] * m
        vals += rng.integers(-3, 4, size=m).tolist()  # many ties
    indptr = np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=n_rows)))).astype(index_dtype)
    indices, data = np.array(cols, dtype=index_dtype), np.array(vals, dtype=dtype)
    got_ptr, got_idx, got_val = _core.topk_of_rows(indptr, indices, data, n_cols, k, 2)
    assert got_idx.dtype == index_dtype and got_val.dtype == dtype
    for r in range(n_rows):
        seg = slice(indptr[r], indptr[r + 1])
        order = np.lexsort((indices[seg], -data[seg]))[:k]
        np.testing.assert_array_equal(got_idx[got_ptr[r] : got_ptr[r + 1]], indices[seg][order])
        np.testing.assert_array_equal(got_val[got_ptr[r] : got_ptr[r + 1]], data[seg][order])
    one = _core.topk_of_rows(indptr, indices, data, n_cols, k, 1)
    for a, b in zip(one, (got_ptr, got_idx, got_val)):
        np.testing.assert_array_equal(a, b)


def test_bad_arguments(rng):
    X = random_sparse(rng, 10, 5, 0.5)
    for rows, error in [((3, 2), ValueError), ((0, 11), ValueError), ((-1, 2), ValueError), ([0, 2], TypeError)]:
        with pytest.raises(error, match="rows"):
            similarity_part(X, rows)
    with pytest.raises(ValueError, match="metric"):
        similarity_part(X, (0, 2), metric="nope")
    with pytest.raises(ValueError, match="walk"):
        similarity_part(X, (0, 2), walk="both")
    # A direct kernel call validates its matrix (an index past the columns here).
    bad = (np.array([0, 2], dtype=np.int32), np.array([0, 7], dtype=np.int32), np.ones(2))
    with pytest.raises(ValueError, match="X.T"):
        _core.pair_work(*bad, 1, 5)
    with pytest.raises(ValueError, match="at least one"):
        merge_similarity_parts([], 5)
    with pytest.raises(ValueError, match="one shape"):
        merge_similarity_parts([sp.csr_matrix((3, 3)), sp.csr_matrix((4, 4))], 5)
    with pytest.raises(ValueError, match="k"):
        merge_similarity_parts([sp.csr_matrix((3, 3))], -1)

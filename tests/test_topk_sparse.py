"""recforge.topk_sparse against a dense numpy reference (form history @ similarity, mask, sort)."""

from __future__ import annotations

import numpy as np
import pytest
import recforge as rf
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from reference import check_ranked, same_for_any_thread_count


def pattern(X) -> np.ndarray:
    """Dense bool mask of the stored entries (explicit zeros included)."""
    X = sp.csr_matrix(X)
    mask = np.zeros(X.shape, dtype=bool)
    mask[np.repeat(np.arange(X.shape[0]), np.diff(X.indptr)), X.indices] = True
    return mask


def check(H, S, k, ids, scores, *, exclude=None, allow=None):
    dense = sp.csr_matrix(H).astype(np.float64).toarray() @ sp.csr_matrix(S).astype(np.float64).toarray()
    # reached by the product (a sparse product of the patterns: a dense one of integers is slow)
    ok = (sp.csr_matrix(pattern(H).astype(np.int64)) @ sp.csr_matrix(pattern(S).astype(np.int64))).toarray() > 0
    if allow is not None:
        allowed = np.zeros(S.shape[1], dtype=bool)
        allowed[np.asarray(allow, dtype=np.int64)] = True
        ok &= allowed
    if exclude is not None:
        ok &= ~pattern(exclude)
    check_ranked(
        dense, ok, k, ids, scores, np.dtype(S.dtype), None if allow is None else np.unique(np.asarray(allow)).size
    )


def random_csr(rng, shape, density, dtype, index_dtype=np.int32, signed=True):
    X = sp.random(*shape, density=density, format="csr", random_state=rng.integers(2**31), dtype=np.float64)
    if signed:
        X.data = X.data * 2 - 1
    X = X.astype(dtype)
    X.indices = X.indices.astype(index_dtype)
    X.indptr = X.indptr.astype(index_dtype)
    return X


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_matches_reference_with_exclude_and_allow(dtype, index_dtype, rng):
    H = random_csr(rng, (41, 60), 0.1, dtype, index_dtype, signed=False)
    H = sp.lil_matrix(H)
    H[3, :] = 0  # an empty history
    H = sp.csr_matrix(H)
    H.indices, H.indptr = H.indices.astype(index_dtype), H.indptr.astype(index_dtype)
    S = random_csr(rng, (60, 75), 0.15, dtype, index_dtype)
    S = sp.lil_matrix(S)
    S[:, 7] = 0  # an item nothing reaches
    S = sp.csr_matrix(S)
    exclude = random_csr(rng, (41, 75), 0.2, dtype, index_dtype)
    allow = rng.choice(75, size=40, replace=False)
    for kw in (dict(), dict(exclude=exclude), dict(allow=allow), dict(exclude=exclude, allow=allow)):
        for k in (1, 5, 30, 90):  # 90 > every candidate count: padding
            ids, scores = rf.topk_sparse(H, S, k, **kw)
            check(H, S, k, ids, scores, **kw)
            assert not np.any(ids == 7)


@given(
    n_rows=st.integers(0, 15),
    m=st.integers(0, 40),
    n_items=st.integers(0, 50),
    k=st.integers(0, 60),
    seed=st.integers(0, 2**32 - 1),
    dtype=st.sampled_from([np.float32, np.float64]),
    density=st.sampled_from([0.0, 0.1, 0.5]),
    exclude_density=st.sampled_from([0.0, 0.3]),
    use_allow=st.booleans(),
)
def test_random_shapes_match_reference(n_rows, m, n_items, k, seed, dtype, density, exclude_density, use_allow):
    rng = np.random.default_rng(seed)
    H = random_csr(rng, (n_rows, m), density, dtype, signed=False)
    S = random_csr(rng, (m, n_items), density, dtype)
    exclude = random_csr(rng, (n_rows, n_items), exclude_density, dtype)
    allow = rng.choice(n_items, size=n_items // 2, replace=False) if use_allow and n_items else None
    ids, scores = rf.topk_sparse(H, S, k, exclude=exclude, allow=allow)
    check(H, S, k, ids, scores, exclude=exclude, allow=allow)


def test_item_knn_scoring_with_seen_items_excluded(rng):
    # The use it is built for: history = interactions, similarity = rf.similarity(X.T).
    X = random_csr(rng, (200, 80), 0.08, np.float32, signed=False)
    S = rf.similarity(X.T, k=10)
    ids, scores = rf.topk_sparse(X, S, 10, exclude=X)
    check(X, S, 10, ids, scores, exclude=X)
    seen = pattern(X)
    assert not any(seen[u, i] for u in range(200) for i in ids[u] if i >= 0)


def test_ties_go_to_the_lower_id():
    rng = np.random.default_rng(5)
    H = sp.csr_matrix(rng.integers(0, 2, size=(30, 12)).astype(np.float64))
    S = sp.csr_matrix(rng.integers(-1, 2, size=(12, 200)).astype(np.float64))
    ids, scores = rf.topk_sparse(H, S, k=25)
    check(H, S, 25, ids, scores)
    dense = H.toarray() @ S.toarray()
    reached = (pattern(H).astype(int) @ pattern(S).astype(int)) > 0
    for u in range(30):
        expect = sorted(np.flatnonzero(reached[u]), key=lambda i: (-dense[u, i], i))[:25]
        assert ids[u, : len(expect)].tolist() == expect


def test_thread_count_does_not_change_result(rng):
    H = random_csr(rng, (700, 300), 0.05, np.float32, signed=False)
    S = random_csr(rng, (300, 400), 0.05, np.float32)
    exclude = random_csr(rng, (700, 400), 0.02, np.float32)
    one = same_for_any_thread_count(lambda n: rf.topk_sparse(H, S, 10, exclude=exclude, n_threads=n))
    check(H, S, 10, *one, exclude=exclude)


def test_mixed_dtypes_are_reconciled(rng):
    H = random_csr(rng, (20, 30), 0.2, np.float64, np.int64, signed=False)
    S = random_csr(rng, (30, 25), 0.2, np.float32, np.int32)
    exclude = random_csr(rng, (20, 25), 0.2, np.float64, np.int32)
    ids, scores = rf.topk_sparse(H, S, 6, exclude=exclude)
    assert scores.dtype == np.float32  # the similarity's dtype
    check(H.astype(np.float32), S, 6, ids, scores, exclude=exclude)


def test_empty_inputs():
    H = sp.csr_matrix((0, 5))
    ids, scores = rf.topk_sparse(H, sp.identity(5, format="csr"), 3)
    assert ids.shape == (0, 3)
    ids, scores = rf.topk_sparse(sp.csr_matrix((4, 5)), sp.identity(5, format="csr"), 3)
    assert np.all(ids == -1) and np.all(np.isneginf(scores))
    ids, scores = rf.topk_sparse(sp.identity(5, format="csr"), sp.identity(5, format="csr"), 0)
    assert ids.shape == (5, 0)


def good():
    return sp.identity(3, format="csr"), sp.random(3, 4, density=0.5, format="csr", random_state=0)


@pytest.mark.parametrize(
    "args, kwargs, exc, match",
    [
        ((np.eye(3), good()[1]), {}, TypeError, "history must be a scipy.sparse"),
        ((good()[0], np.ones((3, 4))), {}, TypeError, "similarity must be a scipy.sparse"),
        ((sp.identity(2, format="csr"), good()[1]), {}, ValueError, "history has 2 columns but similarity has 3 rows"),
        ((good()[0], sp.csr_matrix(np.full((3, 4), np.nan))), {}, ValueError, "similarity"),
        ((sp.csr_matrix(np.full((3, 3), np.inf)), good()[1]), {}, ValueError, "history"),
        (good(), dict(k=-2), ValueError, "k must be >= 0"),
        (good(), dict(k="3"), TypeError, "k must be an integer"),
        (
            good(),
            dict(exclude=sp.csr_matrix((3, 3))),
            ValueError,
            r"exclude must have shape \(n_rows, n_items\) = \(3, 4\)",
        ),
        (good(), dict(allow=[4]), ValueError, r"allow holds item id 4, outside \[0, 4\)"),
        (good(), dict(allow=[1.5]), TypeError, "allow must hold integer item ids"),
        (good(), dict(n_threads=-1), ValueError, "n_threads must be >= 0"),
    ],
)
def test_bad_input(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        rf.topk_sparse(*args, **kwargs)


def test_malformed_similarity_is_rejected():
    H = sp.identity(3, format="csr")
    bad = sp.csr_matrix((np.ones(1), np.array([9]), np.array([0, 1, 1, 1])), shape=(3, 4), copy=False)
    with pytest.raises(ValueError, match="similarity"):
        rf.topk_sparse(H, bad, 2)
    decreasing = sp.csr_matrix((np.ones(1), np.array([0]), np.array([0, 1, 0, 1])), shape=(3, 4), copy=False)
    with pytest.raises(ValueError, match="similarity"):
        rf.topk_sparse(H, decreasing, 2)


def test_kernel_boundary_rejects_mismatched_dtypes():
    # The C++ side re-checks what it relies on, whatever the Python layer passes.
    from recforge import _core

    p = np.array([0, 1], np.int32)
    i = np.array([0], np.int32)
    d = np.ones(1, np.float32)
    with pytest.raises(TypeError, match="similarity must have the value and index dtypes of history"):
        _core.topk_sparse(p, i, d, 1, 1, p.astype(np.int64), i.astype(np.int64), d, 1, None, None, None, None, 1, 1)
    with pytest.raises(TypeError, match="exclude has dtypes"):
        _core.topk_sparse(p, i, d, 1, 1, p, i, d, 1, p.astype(np.int64), i, d, None, 1, 1)
    with pytest.raises(ValueError, match="allow must hold sorted distinct"):
        _core.topk_sparse(p, i, d, 1, 1, p, i, d, 1, None, None, None, np.array([0, 0], np.int32), 1, 1)


def test_selected_rows_match_scoring_the_sliced_history(rng):
    # Models score their stored rows for a batch of user ids without slicing (copying) them.
    from recforge._sparse import check_sparse
    from recforge.topk import sparse_topk_parts

    H = random_csr(rng, (50, 30), 0.2, np.float64, signed=False)
    S = random_csr(rng, (30, 40), 0.2, np.float64)
    rows = np.array([7, 0, 7, 49, 3], dtype=np.int64)  # repeats and any order
    exclude = random_csr(rng, (5, 40), 0.2, np.float64)
    got = sparse_topk_parts(check_sparse(H), check_sparse(S), 8, check_sparse(exclude), None, 2, rows)
    want = rf.topk_sparse(H[rows], S, 8, exclude=exclude)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    with pytest.raises(ValueError, match=r"rows holds 50, outside \[0, 50\)"):
        sparse_topk_parts(check_sparse(H), check_sparse(S), 8, None, None, 1, np.array([50]))


def csr_of_rows(rng, rows: list, dtype, index_dtype) -> sp.csr_matrix:
    """A square CSR whose row i holds the sorted columns rows[i], with values of both signs."""
    indptr = np.concatenate([[0], np.cumsum([len(c) for c in rows])])
    indices = np.concatenate(rows).astype(index_dtype)
    data = (rng.standard_normal(indices.size) * 2).astype(dtype)
    return sp.csr_matrix((data, indices, indptr.astype(index_dtype)), shape=(len(rows), len(rows)))


def similarity_of_shapes(rng, n_items: int, shapes, dtype, index_dtype, n_rows_used=None) -> sp.csr_matrix:
    """Item i's row holds the items ``shapes[i % len(shapes)](i)`` (drawn in item order), for the
    first ``n_rows_used`` items (default all); the other items' rows are empty."""
    used = n_items if n_rows_used is None else n_rows_used
    rows = [shapes[i % len(shapes)](i) if i < used else np.array([], dtype=np.int64) for i in range(n_items)]
    return csr_of_rows(rng, rows, dtype, index_dtype)


def run_structured_similarity(rng, n_items: int, dtype, index_dtype) -> sp.csr_matrix:
    """Rows of every shape the dense mode's run-by-run adds tell apart: all items but the row's
    own (EASE's weights: two runs), one block of consecutive items, a block with one gap, a block
    with two gaps (scattered), a single item, the first and last items, an empty row, and a
    sparse random row; values of both signs."""

    def block(i):
        start = rng.integers(0, n_items // 2)
        return np.arange(start, start + n_items // 2)

    shapes = [
        lambda i: np.delete(np.arange(n_items), i),
        block,
        lambda i: np.delete(np.arange(n_items), [0, rng.integers(1, n_items - 1)])[: n_items - 3],
        lambda i: np.delete(np.arange(n_items), [5, 9]),
        lambda i: np.array([rng.integers(n_items)]),
        lambda i: np.array([0, n_items - 1]),
        lambda i: np.array([], dtype=np.int64),
        lambda i: np.sort(rng.choice(n_items, n_items // 5, replace=False)),
    ]
    return similarity_of_shapes(rng, n_items, shapes, dtype, index_dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_dense_rows_added_run_by_run_match_reference(dtype, index_dtype, rng):
    """Histories whose product reaches a quarter of the items or more take the dense mode, and
    rows of consecutive items are added run by run: the reference, for any thread count, with
    exclusions and allowed items; with integer-valued weights (exact sums) the very numbers."""
    n_items = 64
    S = run_structured_similarity(rng, n_items, dtype, index_dtype)
    H = random_csr(rng, (30, n_items), 0.08, dtype, index_dtype, signed=False)
    exclude = random_csr(rng, (30, n_items), 0.1, dtype, index_dtype)
    allow = rng.choice(n_items, size=40, replace=False)
    for kw in (dict(), dict(exclude=exclude), dict(allow=allow)):
        for k in (1, 10, 70):
            ids, scores = same_for_any_thread_count(lambda n, k=k, kw=kw: rf.topk_sparse(H, S, k, n_threads=n, **kw))
            check(H, S, k, ids, scores, **kw)
    # integer-valued weights: every sum is exact, so both modes must give these very numbers
    S_int = S.copy()
    S_int.data = np.round(S_int.data * 4).astype(dtype)
    H_int = H.copy()
    H_int.data = np.ceil(H_int.data * 3).astype(dtype)
    ids, scores = rf.topk_sparse(H_int, S_int, n_items)
    want = (H_int.astype(np.float64) @ S_int.astype(np.float64)).toarray()
    for u in range(H_int.shape[0]):
        got = ids[u] >= 0
        np.testing.assert_array_equal(scores[u][got], want[u, ids[u][got]].astype(dtype))


def test_unsorted_rows_are_never_added_as_runs():
    """A row whose first and last ids bound a block ([3, 5, 4, 6]) is not a run unless sorted:
    unchecked input comes through the kernel's own check, which says whether rows are sorted."""
    from recforge import _core

    n_items = 8
    indptr = np.array([0, 4], dtype=np.int64)
    indices = np.array([3, 5, 4, 6], dtype=np.int64)
    data = np.array([1.0, 2.0, 3.0, 4.0])
    h = (np.array([0, 1], dtype=np.int64), np.array([0], dtype=np.int64), np.array([1.0]))
    ids, scores = _core.topk_sparse(*h, 1, 1, indptr, indices, data, n_items, None, None, None, None, 4, 1)
    assert ids.tolist() == [[6, 4, 5, 3]] and scores.tolist() == [[4.0, 3.0, 2.0, 1.0]]


def many_tile_similarity(rng, n_items: int, n_rows_used: int, dtype, index_dtype) -> sp.csr_matrix:
    """run_structured_similarity's row shapes for the first n_rows_used items of a catalogue of
    n_items (runs that cross the dense mode's tiles of 2,048 items, gaps at tile edges, scattered
    rows walked across tiles); the other items' rows are empty."""
    edge = 2048
    shapes = [
        lambda i: np.delete(np.arange(n_items), i),
        lambda i: np.arange(edge - 3, n_items - edge // 2),
        lambda i: np.delete(np.arange(n_items), edge),  # the gap opens a tile
        lambda i: np.delete(np.arange(n_items), [edge - 1, 2 * edge + 7])[1:],
        lambda i: np.array([edge * (i % 3) + i % 5]),
        lambda i: np.array([0, edge - 1, edge, n_items - 1]),
        lambda i: np.array([], dtype=np.int64),
        lambda i: np.sort(rng.choice(n_items, n_items // 7, replace=False)),
    ]
    return similarity_of_shapes(rng, n_items, shapes, dtype, index_dtype, n_rows_used)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_dense_mode_over_several_tiles_gives_the_exact_sums(dtype, index_dtype, rng):
    """Over a catalogue of several of the dense mode's tiles, every score is the float64 sum in
    history order that scipy's product forms, cast to the dtype, bit for bit: the dense mode's
    vector adds (compiled per instruction set) never fuse a product into its add, and each
    tile walks every row's part of it. Rankings, exclusions and allowed items as the reference."""
    n_items, used = 2 * 2048 + 300, 40
    S = many_tile_similarity(rng, n_items, used, dtype, index_dtype)
    H = sp.lil_matrix((12, n_items), dtype=dtype)
    for u in range(10):  # mostly run rows: the dense mode
        items = rng.choice(used, size=rng.integers(3, 12), replace=False)
        H[u, items] = rng.uniform(0.1, 3.0, size=len(items))
    H[10, [4, 7, 15, 23, 300]] = [1.5, 0.25, 2.0, 1.0, 1.0]  # scattered rows only: the sparse mode
    H = sp.csr_matrix(H)  # row 11: an empty history
    H.indices = H.indices.astype(index_dtype)
    H.indptr = H.indptr.astype(index_dtype)
    exact = (H.astype(np.float64) @ S.astype(np.float64)).toarray().astype(dtype)
    exclude = random_csr(rng, H.shape, 0.05, dtype, index_dtype)
    allow = rng.choice(n_items, size=n_items // 2, replace=False)
    for kw in (dict(), dict(exclude=exclude), dict(allow=allow)):
        for k in (1, 25, n_items + 5):
            ids, scores = same_for_any_thread_count(lambda n, k=k, kw=kw: rf.topk_sparse(H, S, k, n_threads=n, **kw))
            check(H, S, k, ids, scores, **kw)
            for u in range(H.shape[0]):
                got = ids[u] >= 0
                np.testing.assert_array_equal(scores[u][got], exact[u, ids[u][got]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_dense_mode_with_short_runs_gives_the_exact_sums(dtype, index_dtype, rng):
    """Histories that reach the dense mode through many short runs (a banded similarity: each
    item's next 8) take it in one tile of every item, long rows in tiles, a mix by its average
    run: the float64 sums of scipy's product either way, bit for bit."""
    n_items = 2 * 2048 + 300
    rows = [
        np.delete(np.arange(n_items), i) if i < 4 else np.arange(i + 1, min(i + 9, n_items)) for i in range(n_items)
    ]
    S = csr_of_rows(rng, rows, dtype, index_dtype)
    H = sp.lil_matrix((4, n_items), dtype=dtype)
    H[0, :] = rng.uniform(0.5, 2.0, size=n_items)  # every item: short runs on average
    H[1, :4] = 1.0  # long rows only: tiles
    H[2, np.r_[0, 10:110]] = 2.0  # one long row among a hundred short ones
    H[3, np.r_[0:4, 200:260]] = 0.5  # four long rows among sixty short ones: tiles
    H = sp.csr_matrix(H)
    H.indices = H.indices.astype(index_dtype)
    H.indptr = H.indptr.astype(index_dtype)
    exact = (H.astype(np.float64) @ S.astype(np.float64)).toarray().astype(dtype)
    for k in (7, n_items):
        ids, scores = same_for_any_thread_count(lambda n, k=k: rf.topk_sparse(H, S, k, n_threads=n))
        check(H, S, k, ids, scores)
        for u in range(H.shape[0]):
            got = ids[u] >= 0
            np.testing.assert_array_equal(scores[u][got], exact[u, ids[u][got]])

"""recforge.topk against a dense numpy reference (score everything, mask, sort)."""

from __future__ import annotations

import numpy as np
import pytest
import recforge as rf
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from reference import check_ranked, same_for_any_thread_count


def reference_scores(Q, V, cosine=False):
    Q64, V64 = Q.astype(np.float64), V.astype(np.float64)
    if cosine:
        qn, vn = np.linalg.norm(Q64, axis=1), np.linalg.norm(V64, axis=1)
        Q64 = Q64 / np.where(qn > 0, qn, 1)[:, None]
        V64 = V64 / np.where(vn > 0, vn, 1)[:, None]
    return Q64 @ V64.T


def candidates(n_queries, n_items, exclude, allow):
    ok = np.ones((n_queries, n_items), dtype=bool)
    if allow is not None:
        ok[:] = False
        ok[:, np.asarray(allow, dtype=np.int64)] = True
    if exclude is not None:
        E = sp.csr_matrix(exclude)
        banned = np.zeros((n_queries, n_items), dtype=bool)
        banned[np.repeat(np.arange(n_queries), np.diff(E.indptr)), E.indices] = True  # stored = banned
        ok &= ~banned
    return ok


def check(Q, V, k, ids, scores, *, exclude=None, allow=None, cosine=False):
    ok = candidates(Q.shape[0], V.shape[0], exclude, allow)
    check_ranked(
        reference_scores(Q, V, cosine),
        ok,
        k,
        ids,
        scores,
        Q.dtype,
        None if allow is None else np.unique(np.asarray(allow)).size,
    )


def factors(rng, n, f, dtype, spread=True):
    X = rng.normal(size=(n, f))
    if spread:  # realistic factor norms vary a lot: pruning has something to prune
        X *= rng.lognormal(0.0, 0.8, size=(n, 1))
    return X.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("cosine", [False, True])
def test_matches_reference_with_exclude_and_allow(dtype, index_dtype, cosine, rng):
    Q, V = factors(rng, 37, 16, dtype), factors(rng, 203, 16, dtype)
    exclude = sp.random(37, 203, density=0.2, format="lil", random_state=1, dtype=np.float64)
    exclude[5, :] = 0  # a query with nothing excluded
    exclude = exclude.tocsr()
    exclude.indices = exclude.indices.astype(index_dtype)
    exclude.indptr = exclude.indptr.astype(index_dtype)
    allow = rng.choice(203, size=120, replace=False)
    for kw in (dict(), dict(exclude=exclude), dict(allow=allow), dict(exclude=exclude, allow=allow)):
        for k in (1, 10, 150, 250):  # 250 > every candidate count: padding
            ids, scores = rf.topk(Q, V, k, cosine=cosine, **kw)
            check(Q, V, k, ids, scores, cosine=cosine, **kw)


@given(
    n_queries=st.integers(0, 12),
    n_items=st.integers(0, 90),
    f=st.integers(1, 40),
    k=st.integers(0, 100),
    seed=st.integers(0, 2**32 - 1),
    dtype=st.sampled_from([np.float32, np.float64]),
    exclude_density=st.sampled_from([0.0, 0.3, 0.9]),
    use_allow=st.booleans(),
    cosine=st.booleans(),
)
def test_random_shapes_match_reference(n_queries, n_items, f, k, seed, dtype, exclude_density, use_allow, cosine):
    rng = np.random.default_rng(seed)
    Q, V = factors(rng, n_queries, f, dtype), factors(rng, n_items, f, dtype)
    exclude = sp.random(n_queries, n_items, density=exclude_density, format="csr", random_state=seed % 2**31)
    allow = rng.choice(n_items, size=n_items // 2, replace=False) if use_allow and n_items else None
    ids, scores = rf.topk(Q, V, k, exclude=exclude, allow=allow, cosine=cosine)
    check(Q, V, k, ids, scores, exclude=exclude, allow=allow, cosine=cosine)


def test_ties_go_to_the_lower_id():
    # Integer-valued factors: exact arithmetic, many equal scores.
    rng = np.random.default_rng(3)
    Q = rng.integers(-2, 3, size=(40, 4)).astype(np.float64)
    V = rng.integers(-2, 3, size=(300, 4)).astype(np.float64)
    ids, scores = rf.topk(Q, V, k=20)
    S = Q @ V.T
    for q in range(40):
        expect = sorted(range(300), key=lambda i: (-S[q, i], i))[:20]
        assert ids[q].tolist() == expect
        np.testing.assert_array_equal(scores[q], S[q, expect])


@pytest.mark.parametrize("cosine", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_few_queries_score_exactly_as_a_batch_does(rng, dtype, cosine):
    # up to 8 queries take the direct path (no catalogue-wide packing): the same ids and the
    # same scores bit for bit as the packed path of a large batch, ties included
    Q, V = factors(rng, 40, 24, dtype), factors(rng, 700, 24, dtype)
    V[350:] = V[:350]  # every score tied with another item's
    exclude = sp.random(40, 700, density=0.05, format="csr", random_state=4)
    allow = np.sort(rng.choice(700, 500, replace=False))
    batch = rf.topk(Q, V, 30, exclude=exclude, allow=allow, cosine=cosine)
    for first, width in ((0, 1), (1, 3), (4, 5), (9, 8)):
        rows = slice(first, first + width)
        few = rf.topk(Q[rows], V, 30, exclude=exclude[rows], allow=allow, cosine=cosine)
        np.testing.assert_array_equal(few[0], batch[0][rows])
        np.testing.assert_array_equal(few[1], batch[1][rows])
    check(Q, V, 30, *batch, exclude=exclude, allow=allow, cosine=cosine)


@pytest.mark.parametrize("cosine", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("n_items", [1, 31, 32, 700])
def test_a_packed_catalogue_scores_exactly_as_a_batch_does(rng, dtype, index_dtype, cosine, n_items):
    # pack_items once, then few-query calls read its tiles: bit for bit the batch's answers
    from recforge._sparse import check_sparse
    from recforge.kernels.topk import dense_topk_parts, pack_items

    Q, V = factors(rng, 40, 20, dtype), factors(rng, n_items, 20, dtype)
    V[0] = 0  # a zero vector (cosine: scores 0)
    V[n_items // 2 :] = V[: n_items - n_items // 2]  # ties
    E = sp.random(40, n_items, density=0.1, format="csr", random_state=4)
    E.indptr, E.indices = E.indptr.astype(index_dtype), E.indices.astype(index_dtype)
    packed = pack_items(V, cosine)
    assert packed.shape == (-(-n_items // 32) * 20, 32) and packed.dtype == dtype
    batch = rf.topk(Q, V, 30, exclude=E, cosine=cosine)
    for first, width in ((0, 1), (1, 3), (4, 5), (9, 8)):
        rows = slice(first, first + width)
        got = dense_topk_parts(Q[rows], V, 30, check_sparse(E[rows]), None, 2, cosine, packed=packed)
        np.testing.assert_array_equal(got[0], batch[0][rows])
        np.testing.assert_array_equal(got[1], batch[1][rows])
    check(Q, V, 30, *batch, exclude=E, cosine=cosine)
    with pytest.raises(ValueError, match="packed"):
        dense_topk_parts(Q[:1], V, 5, None, None, 1, cosine, packed=packed[:-1])
    with pytest.raises(TypeError, match="packed"):
        dense_topk_parts(Q[:1], V, 5, None, None, 1, cosine, packed=packed.astype(np.float16))


def test_factor_models_repack_when_their_item_factors_change(rng):
    X = sp.random(60, 50, density=0.2, format="csr", random_state=1)
    model = rf.ALS(factors=6, iterations=2, random_state=0).fit(X)
    row = X[3]
    before = model.recommend(0, row, k=5, recalculate_user=True)
    model.partial_fit_items([10], sp.csr_matrix(np.ones((1, 60))))  # item 10: everyone's favourite
    after = model.recommend(0, row, k=5, recalculate_user=True)
    fresh = rf.topk(model.fold_in_users(row), model.item_factors_, 5, exclude=row)
    np.testing.assert_array_equal(after[0], fresh[0][0])
    assert not np.array_equal(before[0], after[0])
    model.item_factors_ = model.item_factors_[:, ::-1].copy()  # replaced by hand: packed again too
    again = model.recommend(0, row, k=5, recalculate_user=True)
    np.testing.assert_array_equal(
        again[0], rf.topk(model.fold_in_users(row), model.item_factors_, 5, exclude=row)[0][0]
    )


def test_thread_count_does_not_change_result(rng):
    Q, V = factors(rng, 301, 24, np.float32), factors(rng, 2000, 24, np.float32)
    exclude = sp.random(301, 2000, density=0.02, format="csr", random_state=2)
    one = same_for_any_thread_count(lambda n: rf.topk(Q, V, 10, exclude=exclude, n_threads=n))
    check(Q, V, 10, *one, exclude=exclude)


def test_pruning_stays_exact_when_the_best_items_have_small_norms(rng):
    # Adversarial for norm pruning: the large-norm items point away from every query.
    f = 8
    Q = np.abs(rng.normal(size=(20, f)))
    big = -np.abs(rng.normal(size=(500, f))) * 100
    small = np.abs(rng.normal(size=(500, f))) * 0.01
    V = np.vstack([big, small])
    ids, scores = rf.topk(Q, V, 5)
    check(Q, V, 5, ids, scores)
    assert np.all(ids >= 500)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(4))
def test_a_shifted_bound_gives_the_same_answer_bit_for_bit(dtype, seed):
    """Bias-column data ([p, w] . [f, b], f small beside b) where the bound |q| |i| prunes
    nothing: the kernel's shift of the last column may only change which tiles it scores. A
    bound that forgot the shift's own term (w * shift) or its rounding would drop best items."""
    from recforge import _core

    rng = np.random.default_rng(seed)
    n_q, n_items, f = 150, 700, 6
    Q = np.hstack([rng.normal(scale=0.05, size=(n_q, f)), np.ones((n_q, 1))])
    Q[::7, -1] = rng.normal(size=Q[::7].shape[0])  # some queries weigh the bias otherwise, or negatively
    b = rng.normal(scale=0.5, size=n_items) - 0.3
    b[rng.random(n_items) < 0.05] -= 5.0  # a tail of very negative biases: large norms, low scores
    V = np.hstack([rng.normal(scale=0.05, size=(n_items, f)), b[:, None]])
    Q, V = Q.astype(dtype), V.astype(dtype)
    exclude = sp.random(n_q, n_items, density=0.05, format="csr", random_state=seed, dtype=dtype)
    allow = np.sort(rng.choice(n_items, 500, replace=False)).astype(exclude.indices.dtype)
    for k, allowed in ((10, None), (10, allow), (n_items + 5, None)):
        args = (Q, V, exclude.indptr, exclude.indices, exclude.data, allowed, k, False)
        plain = _core.topk_dense(*args, 2)
        check(Q, V, min(k, n_items), *plain, exclude=exclude, allow=allowed)
        for shift in (np.percentile(b, 5), b.min(), b.max(), -50.0, 50.0, 1e-3):
            for threads in (1, 2):
                ids, scores = _core.topk_dense(*args, threads, shift=float(shift))
                np.testing.assert_array_equal(ids, plain[0])
                np.testing.assert_array_equal(scores, plain[1])
    with pytest.raises(ValueError, match="shift must be finite"):
        _core.topk_dense(Q, V, None, None, None, None, 3, False, 1, shift=float("nan"))


def test_the_shift_is_a_bias_columns_low_end():
    from recforge.kernels.topk import bias_shift

    rng = np.random.default_rng(3)
    V = rng.normal(size=(200, 5))
    Q = np.hstack([rng.normal(size=(50, 4)), np.ones((50, 1))])
    assert bias_shift(Q, V) == np.percentile(V[:, -1], 5)
    Q[:, -1] = -2.0
    assert bias_shift(Q, V) == np.percentile(V[:, -1], 95)
    Q[3, -1] = 1.0  # not a bias column: the queries weigh it differently
    assert bias_shift(Q, V) == 0.0
    assert bias_shift(np.ones((5, 5)), V) == 0.0  # a few queries: no pruning, no shift
    # BiasedMF's lists on data where the biases dwarf the factors: the numpy reference's
    rng = np.random.default_rng(3)
    X = sp.random(400, 300, density=0.05, format="csr", random_state=3)
    X.data = rng.integers(1, 6, X.nnz).astype(np.float32)
    model = rf.BiasedMF(factors=4, iterations=3, random_state=0, show_progress=False).fit(X)
    users = np.arange(400)
    ids, scores = model.recommend(users, X, k=10)
    queries, offset = model.queries(users, None)
    assert bias_shift(queries, model.item_vectors()) == np.percentile(model.item_bias_, 5)
    check(queries, model.item_vectors(), 10, ids, scores - offset[:, None].astype(scores.dtype), exclude=X)


def test_zero_vectors_and_empty_inputs():
    Q = np.zeros((3, 4))
    V = np.vstack([np.zeros(4), np.ones(4)])
    ids, scores = rf.topk(Q, V, 3)
    assert ids.tolist() == [[0, 1]] * 3  # k beyond the 2 items: capped at the catalogue
    ids, scores = rf.topk(Q, V, 2, cosine=True)
    np.testing.assert_array_equal(scores, np.zeros((3, 2)))
    ids, scores = rf.topk(np.zeros((0, 4)), V, 2)
    assert ids.shape == (0, 2)
    ids, scores = rf.topk(Q, np.zeros((0, 4)), 2)
    assert ids.shape == (3, 0)
    ids, scores = rf.topk(Q, V, 0)
    assert ids.shape == (3, 0)


def good():
    return np.ones((3, 4), np.float32), np.ones((5, 4), np.float32)


@pytest.mark.parametrize(
    "args, kwargs, exc, match",
    [
        ((np.ones((3, 4)).tolist(), good()[1]), {}, TypeError, "queries must be a numpy array"),
        ((good()[0].astype(np.int64), good()[1]), {}, TypeError, "queries must be float32 or float64"),
        ((good()[0], good()[1].astype(np.float64)), {}, TypeError, "items must have the dtype of queries"),
        ((np.ones(4, np.float32), good()[1]), {}, ValueError, "queries must be 2-D"),
        ((good()[0], np.ones((5, 3), np.float32)), {}, ValueError, "same number of columns"),
        ((np.asfortranarray(np.ones((3, 4), np.float32)), good()[1]), {}, ValueError, "C-contiguous"),
        # a slice with the wrong columns was told to be copied first ("C-contiguous")
        ((good()[0], np.ones((5, 6), np.float32)[:, :3]), {}, ValueError, "same number of columns"),
        ((np.full((3, 4), np.nan, np.float32), good()[1]), {}, ValueError, "queries holds NaN or inf"),
        ((good()[0], np.full((5, 4), np.inf, np.float32)), {}, ValueError, "items holds NaN or inf"),
        (good(), dict(k=-1), ValueError, "k must be >= 0"),
        (good(), dict(k=2.5), TypeError, "k must be an integer"),
        (good(), dict(exclude=sp.csr_matrix((3, 4))), ValueError, r"exclude must have shape \(n_queries, n_items\)"),
        (good(), dict(exclude=np.zeros((3, 5))), TypeError, "exclude must be a scipy.sparse"),
        (good(), dict(allow=[0, 5]), ValueError, r"allow holds item id 5, outside \[0, 5\)"),
        (good(), dict(allow=[-1]), ValueError, "allow holds item id -1"),
        (good(), dict(allow=[0.5]), TypeError, "allow must hold integer item ids"),
        (good(), dict(allow=[[0]]), ValueError, "allow must be 1-D"),
        (good(), dict(n_threads=-1), ValueError, "n_threads must be >= 0"),
    ],
)
def test_bad_input(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        rf.topk(*args, **kwargs)


def test_malformed_exclude_is_rejected():
    Q, V = good()
    bad = sp.csr_matrix((np.ones(1), np.array([7]), np.array([0, 1, 1, 1])), shape=(3, 5), copy=False)
    with pytest.raises(ValueError, match="exclude"):
        rf.topk(Q, V, 2, exclude=bad)


def _ranked_reference(score, banned, allow, k):
    """Every row's top k of one score vector by a plain sort: higher first, ties to the lower id."""
    n_rows, n_items = banned.shape
    ok = candidates(n_rows, n_items, banned, allow)
    width = min(k, n_items if allow is None else np.unique(allow).size)
    ids = np.full((n_rows, width), -1, dtype=np.int64)
    scores = np.full((n_rows, width), -np.inf, dtype=score.dtype)
    order = sorted(range(n_items), key=lambda j: (-float(score[j]), j))
    for r in range(n_rows):
        kept = [j for j in order if ok[r, j]][:width]
        ids[r, : len(kept)], scores[r, : len(kept)] = kept, score[kept]
    return ids, scores


@given(
    n_rows=st.integers(0, 30),
    n_items=st.integers(1, 60),
    k=st.integers(0, 70),
    density=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
    use_allow=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64]),
    index_dtype=st.sampled_from([np.int32, np.int64]),
    seed=st.integers(0, 2**16),
)
def test_ranked_topk_against_a_sort(n_rows, n_items, k, density, use_allow, dtype, index_dtype, seed):
    """Popularity's lists: one ranking walked past each row's exclusions, the same as sorting,
    and as the dense kernel's answer for a constant query (what Popularity used before)."""
    from recforge._sparse import check_sparse
    from recforge.kernels.topk import dense_topk_parts, ranked_topk_parts

    rng = np.random.default_rng(seed)
    score = rng.integers(-3, 4, n_items).astype(dtype)  # many ties, negatives
    score[rng.random(n_items) < 0.2] = -0.0  # -0 ties +0
    banned = sp.random(n_rows, n_items, density=density, format="csr", random_state=seed, dtype=dtype)
    banned.indices, banned.indptr = banned.indices.astype(index_dtype), banned.indptr.astype(index_dtype)
    ex = check_sparse(banned, "banned")
    allow = np.sort(rng.choice(n_items, rng.integers(1, n_items + 1), replace=False)) if use_allow else None
    order = np.argsort(-score, kind="stable")
    expected = _ranked_reference(score, banned, allow, k)
    for threads in (1, 2, 5):
        ids, scores = ranked_topk_parts(order, score, n_rows, k, ex, allow, threads)
        np.testing.assert_array_equal(ids, expected[0])
        np.testing.assert_array_equal(scores, expected[1])
        assert scores.dtype == dtype
    queries = np.ones((n_rows, 1), dtype=dtype)
    dense = dense_topk_parts(queries, score.reshape(-1, 1), k, ex, allow, 2)
    np.testing.assert_array_equal(dense[0], expected[0])


def test_ranked_topk_refuses_a_bad_ranking():
    from recforge import _core

    score = np.array([0.5, 0.1, 0.9])
    for order, match in ((np.array([2, 0, 3]), "distinct item ids in"), (np.array([2, 2, 1]), "distinct item ids")):
        with pytest.raises(ValueError, match=match):
            _core.ranked_topk(order, score, None, None, None, 2, 2, 1)
    with pytest.raises(TypeError, match="order must be int64"):
        _core.ranked_topk(np.array([2, 0, 1], dtype=np.int32), score, None, None, None, 2, 2, 1)
    with pytest.raises(TypeError, match="score must be float32 or float64"):
        _core.ranked_topk(np.array([2, 0, 1]), score.astype(np.int64), None, None, None, 2, 2, 1)
    with pytest.raises(ValueError, match="k must be >= 0"):
        _core.ranked_topk(np.array([2, 0, 1]), score, None, None, None, 2, -1, 1)
    E = sp.csr_matrix(np.array([[0, 0, 0, 1.0]]))  # a row of 4 items against 3 scores
    with pytest.raises(ValueError):
        _core.ranked_topk(np.array([2, 0, 1]), score, E.indptr, E.indices, E.data, 1, 2, 1)

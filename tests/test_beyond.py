"""rf.evaluation.beyond_accuracy against plain numpy/Python definitions."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import recforge as rf
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st


def reference(ids, train, S=None):
    """Every measure from its definition, every pair of lists."""
    X = sp.csr_matrix(train)
    n_users, n_items = X.shape
    buyers = np.asarray((X != 0).sum(axis=0)).ravel().astype(float)
    exposure = np.zeros(n_items)
    info, pop, ild = [], [], []
    for row in ids:
        items = [int(i) for i in row if i >= 0]
        for i in items:
            exposure[i] += 1
            info.append(-math.log2(max(buyers[i], 1) / n_users))
            pop.append(buyers[i] / n_users)
        if S is not None and len(items) >= 2:
            sims = [max(S[a, b], S[b, a]) for a, b in itertools.combinations(items, 2)]
            ild.append(1 - np.mean(sims))
    c = np.sort(exposure)
    n = n_items
    nan = float("nan")  # nothing to average over: undefined, as ranking metrics of no customers
    gini = np.sum((2 * np.arange(1, n + 1) - n - 1) * c) / (n * c.sum()) if c.sum() else nan
    jac = []
    for a, b in itertools.combinations(range(len(ids)), 2):
        A, B = {int(i) for i in ids[a] if i >= 0}, {int(i) for i in ids[b] if i >= 0}
        if A or B:
            jac.append(len(A & B) / len(A | B))
    out = {
        "coverage": float((exposure > 0).mean()),
        "gini": float(gini),
        "novelty": float(np.mean(info)) if info else nan,
        "mean_popularity": float(np.mean(pop)) if pop else nan,
        "personalisation": 1 - float(np.mean(jac)) if jac else nan,
    }
    if S is not None:
        out["intra_list_diversity"] = float(np.mean(ild)) if ild else nan
    return out


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(0, 12),
    k=st.integers(0, 6),
    n_items=st.integers(1, 15),
    dtype=st.sampled_from([np.float32, np.float64]),
    index=st.sampled_from([np.int32, np.int64]),
    with_similarity=st.booleans(),
    signed=st.booleans(),
)
def test_beyond_accuracy_matches_the_definitions(seed, n, k, n_items, dtype, index, with_similarity, signed):
    rng = np.random.default_rng(seed)
    ids = np.full((n, k), -1, dtype=np.int64)
    for u in range(n):
        m = rng.integers(0, min(k, n_items) + 1)
        ids[u, :m] = rng.choice(n_items, m, replace=False)
    train = sp.random(8, n_items, density=0.3, random_state=seed, format="csr", dtype=dtype)
    S = None
    if with_similarity:
        # Not symmetric, with a diagonal; signed: an entry stored on one side only, and
        # negative, counts as the missing side's 0 (scipy's S.maximum(S.T)).
        S = sp.random(n_items, n_items, density=0.5, random_state=seed + 1, format="csr", dtype=dtype)
        if signed:
            S.data -= dtype(0.5)
        S.indices, S.indptr = S.indices.astype(index), S.indptr.astype(index)
    got = rf.evaluation.beyond_accuracy(ids, train, similarity=S, n_threads=3)
    want = reference(ids, train, None if S is None else S.toarray().astype(np.float64))
    for name, value in want.items():
        assert got[name] == pytest.approx(value, rel=1e-6, abs=1e-9, nan_ok=True), name
    assert set(got) == set(want) | {"recommended", "pairs_compared"}
    one_thread = rf.evaluation.beyond_accuracy(ids, train, similarity=S, n_threads=1)
    assert got.keys() == one_thread.keys()
    np.testing.assert_array_equal(list(got.values()), list(one_thread.values()))  # NaN where NaN


@pytest.mark.parametrize("n_items", [32_767, 32_768, 70_000])
def test_item_ids_past_the_narrow_id_types_are_read_whole(n_items):
    """Lists are packed in the narrowest item id type (int16 below 32768 items): ids at the
    edges of each type."""
    rng = np.random.default_rng(n_items)
    pool = np.unique(np.r_[0, 1, n_items // 2, n_items - 2, n_items - 1, rng.integers(0, n_items, 8)])
    ids = np.full((30, 5), -1, dtype=np.int64)
    for u in range(30):
        m = rng.integers(0, 6)
        ids[u, :m] = rng.choice(pool, m, replace=False)
    a, b = np.meshgrid(pool, pool)
    keep = a != b
    S = sp.csr_matrix((rng.random(keep.sum()), (a[keep], b[keep])), shape=(n_items, n_items))
    train = sp.csr_matrix((np.ones(pool.size), (np.arange(pool.size) % 3, pool)), shape=(3, n_items))
    got = rf.evaluation.beyond_accuracy(ids, train, similarity=S, n_threads=2)
    want = reference(ids, train, S.tolil())
    for name, value in want.items():
        assert got[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name


def test_sampled_pairs_estimate_personalisation_and_are_reproducible():
    rng = np.random.default_rng(0)
    ids = np.array([rng.choice(30, 5, replace=False) for _ in range(300)])
    train = sp.random(50, 30, density=0.2, random_state=0, format="csr")
    exact = rf.evaluation.beyond_accuracy(ids, train, n_pairs=10**6)
    assert exact["pairs_compared"] == 300 * 299 // 2
    sampled = rf.evaluation.beyond_accuracy(ids, train, n_pairs=5000, seed=3)
    assert sampled["pairs_compared"] == 5000
    assert abs(sampled["personalisation"] - exact["personalisation"]) < 0.01
    assert sampled == rf.evaluation.beyond_accuracy(ids, train, n_pairs=5000, seed=3, n_threads=1)
    assert sampled != rf.evaluation.beyond_accuracy(ids, train, n_pairs=5000, seed=4)
    with pytest.warns(FutureWarning, match="random_state is deprecated and will be removed: use seed"):
        assert sampled == rf.evaluation.beyond_accuracy(ids, train, n_pairs=5000, random_state=3)


def test_one_item_everywhere_is_the_extreme():
    train = sp.csr_matrix(np.eye(4))
    r = rf.evaluation.beyond_accuracy(np.zeros((6, 1), dtype=np.int64), train)
    assert r["coverage"] == 0.25 and r["gini"] == pytest.approx(0.75) and r["personalisation"] == 0.0
    r = rf.evaluation.beyond_accuracy(np.arange(4).reshape(4, 1), train)
    assert r["gini"] == 0.0 and r["personalisation"] == 1.0


def test_measures_with_nothing_to_average_are_nan():
    """No list, one list, lists of one item: novelty, popularity, Gini, personalisation and
    intra-list diversity were 0.0, which reads as a measured extreme."""
    train = sp.csr_matrix(np.eye(4))
    similar = sp.csr_matrix(np.ones((4, 4)))
    none = rf.evaluation.beyond_accuracy(np.zeros((0, 3), dtype=np.int64), train, similarity=similar)
    assert none["coverage"] == 0.0 and none["recommended"] == 0
    assert all(
        np.isnan(none[m]) for m in ("gini", "novelty", "mean_popularity", "personalisation", "intra_list_diversity")
    )
    one = rf.evaluation.beyond_accuracy(np.array([[0, 1]]), train, similarity=similar)
    assert np.isnan(one["personalisation"]) and one["intra_list_diversity"] == 0.0 and one["novelty"] == 2.0
    singles = rf.evaluation.beyond_accuracy(np.array([[0, -1], [1, -1]]), train, similarity=similar)
    assert np.isnan(singles["intra_list_diversity"]) and singles["personalisation"] == 1.0


def test_beyond_accuracy_refuses_bad_input():
    train = sp.csr_matrix(np.eye(3))
    with pytest.raises(TypeError, match="recommended"):
        rf.evaluation.beyond_accuracy(np.array([[0.5]]), train)
    with pytest.raises(ValueError, match="recommended holds 3, outside"):
        rf.evaluation.beyond_accuracy(np.array([[3]]), train)
    with pytest.raises(ValueError, match="similarity"):
        rf.evaluation.beyond_accuracy(np.array([[0]]), train, similarity=sp.eye(2, format="csr"))


def test_evaluate_and_compare_report_the_same_lists_measures():
    X = sp.random(80, 30, density=0.2, random_state=1, format="csr")
    train, test = rf.split.per_user_split(X, 0.3, seed=0)
    knn, pop = rf.ItemKNN().fit(train), rf.Popularity().fit(train)
    S = knn.similarity_
    result = rf.evaluate(knn, train, test, beyond=True, similarity=S)
    users = np.flatnonzero(np.diff(test.indptr) > 0)
    ids, _ = knn.recommend(users, train[users], k=10)
    want = rf.evaluation.beyond_accuracy(ids, train, similarity=S)
    for name in rf.evaluation.BEYOND_METRICS:
        assert result[name] == want[name], name
    assert "gini" not in rf.evaluate(knn, train, test)
    compared = rf.compare({"pop": pop, "knn": knn}, train, test, beyond=True, similarity=S)
    assert compared.beyond["knn"] == want and compared.lists == {}
    assert "| knn | " in str(compared) and "intra_list_diversity" in str(compared)


def test_lists_wider_than_the_narrow_id_type_hold_their_valid_count():
    """A packed list carries its valid count in its id type: a width past int16 with a small
    catalogue takes the wider type."""
    width, n_items = 33_000, 6
    ids = np.full((3, width), -1, dtype=np.int64)
    ids[0, [5, 20_000, 32_999]] = [0, 3, 5]
    ids[1, :2] = [1, 2]
    ids[2, -1] = 4
    rng = np.random.default_rng(1)
    S = sp.csr_matrix(rng.random((n_items, n_items)) * (1 - np.eye(n_items)))
    train = sp.csr_matrix(np.ones((2, n_items)))
    got = rf.evaluation.beyond_accuracy(ids, train, similarity=S, n_threads=2)
    want = reference(ids, train, S.toarray())
    for name, value in want.items():
        assert got[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name


@pytest.mark.parametrize("first", [99, -2, 2**63 - 1, -(2**63)])
@pytest.mark.parametrize("with_similarity", [False, True])
def test_the_first_id_outside_the_catalogue_is_named_whatever_the_threads(first, with_similarity):
    """The kernel checks the ids in its pass over them; the message names the first bad one."""
    ids = np.zeros((50_000, 4), dtype=np.int64)  # past the size where the check runs in threads
    ids[:, 1] = 1
    ids[30_000, 1], ids[45_000, 2] = first, -7
    train = sp.csr_matrix(np.ones((2, 10)))
    S = sp.csr_matrix(np.ones((10, 10))) if with_similarity else None
    for threads in (1, 2):
        with pytest.raises(ValueError, match=f"recommended holds {first}, outside the catalogue"):
            rf.evaluation.beyond_accuracy(ids, train, similarity=S, n_threads=threads)

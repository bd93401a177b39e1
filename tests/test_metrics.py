"""recforge.metrics against Spark's published fixture and a per-user numpy reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import recforge as rf
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from recforge.metrics import RANKING_METRICS


def reference(rec, test, k):
    """Per-user metrics by the definitions in recforge.metrics, in plain Python (float64)."""
    test = sp.csr_matrix(test)
    out = {name: [] for name in RANKING_METRICS}
    evaluated = []
    for u in range(rec.shape[0]):
        T = set(test.indices[test.indptr[u] : test.indptr[u + 1]].tolist())
        evaluated.append(bool(T))
        hits, dcg, psum, rr, counted = 0, 0.0, 0.0, 0.0, set()
        for r, i in enumerate(rec[u, :k].tolist()):
            if i in T and i not in counted:
                counted.add(i)
                hits += 1
                dcg += 1 / math.log2(r + 2)
                psum += hits / (r + 1)
                rr = rr or 1 / (r + 1)
        if not T:
            vals = dict.fromkeys(RANKING_METRICS, 0.0)
        else:
            p, rc = hits / k, hits / len(T)
            depth = min(len(T), k)
            vals = dict(
                precision=p,
                recall=rc,
                f1=2 * p * rc / (p + rc) if hits else 0.0,
                ndcg=dcg / sum(1 / math.log2(r + 2) for r in range(depth)),
                map=psum / depth,
                hit_rate=float(hits > 0),
                mrr=rr,
            )
        for name in RANKING_METRICS:
            out[name].append(vals[name])
    return {name: np.array(v) for name, v in out.items()}, np.array(evaluated, dtype=bool)


SPARK_REC = np.array([[1, 6, 2, 7, 8, 3, 9, 10, 4, 5], [4, 1, 5, 6, 2, 7, 3, 8, 9, 10], [1, 2, 3, 4, 5] + [-1] * 5])
SPARK_TEST = sp.csr_matrix((np.ones(8), [1, 2, 3, 4, 5, 1, 2, 3], [0, 5, 8, 8]), shape=(3, 11))


@pytest.mark.parametrize(
    "k, metric, value",
    [  # Spark's RankingMetricsSuite; its third user has an empty set, so empty="zero"
        (1, "precision", 1 / 3),
        (2, "precision", 1 / 3),
        (3, "precision", 1 / 3),
        (4, "precision", 0.75 / 3),
        (5, "precision", 0.8 / 3),
        (10, "precision", 0.8 / 3),
        (1, "recall", 1 / 15),
        (2, "recall", 8 / 45),
        (3, "recall", 11 / 45),
        (5, "recall", 16 / 45),
        (10, "recall", 2 / 3),
        (1, "map", 1 / 3),
        (2, "map", 0.25),
        (3, "map", 0.240741),
        (10, "map", 0.355026),
        (3, "ndcg", 1 / 3),
        (5, "ndcg", 0.328788),
        (10, "ndcg", 0.487913),
    ],
)
def test_spark_fixture(k, metric, value):
    got = rf.metrics.ranking_metrics(SPARK_REC, SPARK_TEST, k, empty="zero")
    assert got[metric] == pytest.approx(value, abs=1e-6)
    assert got["n_users"] == 3


def test_empty_users_are_skipped_by_default():
    zero = rf.metrics.ranking_metrics(SPARK_REC, SPARK_TEST, 10, empty="zero")
    skip = rf.metrics.ranking_metrics(SPARK_REC, SPARK_TEST, 10, per_user=True)
    assert skip["n_users"] == 2
    assert skip["precision"] == pytest.approx(zero["precision"] * 3 / 2)
    assert np.isnan(skip["per_user"]["ndcg"][2])


@given(
    n_users=st.integers(0, 30),
    n_items=st.integers(1, 40),
    width=st.integers(1, 15),
    seed=st.integers(0, 2**32 - 1),
    density=st.sampled_from([0.0, 0.1, 0.4]),
    index_dtype=st.sampled_from([np.int32, np.int64]),
    value_dtype=st.sampled_from([np.float32, np.float64]),
)
def test_random_lists_match_reference(n_users, n_items, width, seed, density, index_dtype, value_dtype):
    rng = np.random.default_rng(seed)
    rec = rng.integers(-1, n_items, size=(n_users, width))  # padding and repeats included
    test = sp.random(n_users, n_items, density=density, format="csr", random_state=seed % 2**31, dtype=value_dtype)
    test.indices, test.indptr = test.indices.astype(index_dtype), test.indptr.astype(index_dtype)
    for k in {1, width, max(1, width // 2)}:
        want, evaluated = reference(rec, test, k)
        got = rf.metrics.ranking_metrics(rec, test, k, per_user=True)
        assert got["n_users"] == evaluated.sum()
        for name in RANKING_METRICS:
            np.testing.assert_allclose(got["per_user"][name][evaluated], want[name][evaluated], rtol=1e-12)
            if evaluated.any():
                assert got[name] == pytest.approx(want[name][evaluated].mean(), rel=1e-12)
            else:
                assert math.isnan(got[name])


def test_duplicate_test_entries_count_once():
    rec = np.array([[2, 2, 0]])
    test = sp.csr_matrix((np.ones(3), [2, 2, 5], [0, 3]), shape=(1, 6))  # non-canonical: item 2 twice
    got = rf.metrics.ranking_metrics(rec, test, 3)
    assert got["recall"] == pytest.approx(0.5) and got["precision"] == pytest.approx(1 / 3)


def test_thread_count_does_not_change_results():
    rng = np.random.default_rng(1)
    rec = rng.integers(-1, 500, size=(20000, 10))
    test = sp.random(20000, 500, density=0.02, format="csr", random_state=1)
    one = rf.metrics.ranking_metrics(rec, test, 10, per_user=True, n_threads=1)
    many = rf.metrics.ranking_metrics(rec, test, 10, per_user=True, n_threads=4)
    for name in RANKING_METRICS:
        np.testing.assert_array_equal(one["per_user"][name], many["per_user"][name])
        assert one[name] == many[name]


def test_coverage_and_rating_errors():
    assert rf.metrics.coverage(np.array([[0, 1, -1], [1, 3, -1]]), 8) == pytest.approx(3 / 8)
    assert rf.metrics.rmse([1, 2, 3], [1, 2, 5]) == pytest.approx(math.sqrt(4 / 3))
    assert rf.metrics.mae([1, 2, 3], [2, 2, 5]) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (
            lambda: rf.metrics.ranking_metrics(SPARK_REC[:2], SPARK_TEST),
            ValueError,
            "recommended_ids has 2 rows but test has 3",
        ),
        (
            lambda: rf.metrics.ranking_metrics(SPARK_REC, SPARK_TEST, k=11),
            ValueError,
            "k=11 but recommended_ids has only 10 columns",
        ),
        (lambda: rf.metrics.ranking_metrics(SPARK_REC, SPARK_TEST, k=0), ValueError, "k must be >= 1"),
        (
            lambda: rf.metrics.ranking_metrics(SPARK_REC + 1, SPARK_TEST),
            ValueError,
            r"recommended_ids holds 11 \(user row 0\), outside \[-1, 11\)",
        ),
        (
            lambda: rf.metrics.ranking_metrics(SPARK_REC - 2, SPARK_TEST),
            ValueError,
            r"recommended_ids holds -3 \(user row 2\)",
        ),
        (
            lambda: rf.metrics.ranking_metrics(SPARK_REC * 1.0, SPARK_TEST),
            TypeError,
            "recommended_ids must hold integer",
        ),
        (lambda: rf.metrics.ranking_metrics(SPARK_REC[0], SPARK_TEST), ValueError, "recommended_ids must be 2-D"),
        (lambda: rf.metrics.ranking_metrics(SPARK_REC, SPARK_TEST.toarray()), TypeError, "test must be a scipy.sparse"),
        (lambda: rf.metrics.ranking_metrics(SPARK_REC, SPARK_TEST, empty="drop"), ValueError, "empty must be one of"),
        (lambda: rf.metrics.coverage(np.array([[9]]), 5), ValueError, r"outside \[0, 5\)"),
        (lambda: rf.metrics.rmse([1, 2], [1]), ValueError, "same length"),
        (lambda: rf.metrics.mae([1, np.nan], [1, 2]), ValueError, "finite"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_kernel_boundary_rejects_malformed_test_rows():
    # The kernel checks test rows as it reads them; the Python layer's checks are bypassed here.
    from recforge import _core

    rec = np.zeros((2, 1), dtype=np.int64)
    data = np.ones(2)
    with pytest.raises(ValueError, match="test row 0 is malformed"):
        _core.ranking_metrics(rec, np.array([0, 2, 2]), np.array([0, 9]), data, 5, 1, 1, False)
    with pytest.raises(ValueError, match="test row 0 is malformed"):
        _core.ranking_metrics(rec, np.array([0, 3, 2]), np.array([0, 1]), data, 5, 1, 1, False)
    with pytest.raises(ValueError, match="end at nnz"):
        _core.ranking_metrics(rec, np.array([0, 1, 1]), np.array([0, 1]), data, 5, 1, 1, False)


# -- AUC ---------------------------------------------------------------------------------------------
def auc_reference(ranked_row, positives, candidates):
    """Plain definition: score = position from the top for listed candidates, one common lowest
    score for the unlisted ones; P(positive above negative) with ties 1/2."""
    listed = []
    for i in ranked_row:
        if i >= 0 and i not in listed:
            listed.append(i)
    score = {i: len(listed) - r for r, i in enumerate(listed)}
    pos = [i for i in candidates if i in positives]
    neg = [i for i in candidates if i not in positives]
    if not pos or not neg:
        return np.nan
    total = 0.0
    for p in pos:
        for q in neg:
            a, b = score.get(p, 0), score.get(q, 0)
            total += 1.0 if a > b else 0.5 if a == b else 0.0
    return total / (len(pos) * len(neg))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_auc_matches_the_pairwise_definition(seed, index_dtype):
    rng = np.random.default_rng(seed)
    n_users, n_items = 15, 12
    test = sp.random(n_users, n_items, density=0.2, format="csr", random_state=seed)
    test.indices = test.indices.astype(index_dtype)
    test.indptr = test.indptr.astype(index_dtype)
    width = rng.integers(1, n_items + 3)
    rec = np.full((n_users, width), -1, dtype=np.int64)
    counts = np.empty(n_users, dtype=np.int64)
    want = []
    for u in range(n_users):
        banned = set(rng.choice(n_items, rng.integers(0, 3), replace=False)) - set(test[u].indices)
        candidates = [i for i in range(n_items) if i not in banned]
        order = list(rng.permutation(candidates))[: rng.integers(0, width + 1)]
        if order and rng.random() < 0.3:
            order.append(order[0])  # a repeated id counts once
        rec[u, : min(len(order), width)] = order[:width]
        counts[u] = len(candidates)
        want.append(auc_reference(rec[u], set(test[u].indices.tolist()), candidates))
    got = rf.metrics.auc(rec, test, counts, per_user=True)
    np.testing.assert_allclose(got["per_user"], want, rtol=1e-12)
    one = rf.metrics.auc(rec, test, counts, n_threads=1)
    many = rf.metrics.auc(rec, test, counts, n_threads=4)
    assert one["auc"] == many["auc"] and one["n_users"] == int(np.sum(~np.isnan(want)))


def test_auc_bad_input():
    test = sp.csr_matrix(np.eye(3))
    with pytest.raises(ValueError, match="outside"):
        rf.metrics.auc(np.array([[0, 5], [0, 1], [1, 2]]), test, 3)
    with pytest.raises(ValueError, match="n_candidates"):
        rf.metrics.auc(np.array([[0], [1], [2]]), test, [3, 3])
    with pytest.raises(ValueError, match="rows"):
        rf.metrics.auc(np.array([[0], [1]]), test, 3)

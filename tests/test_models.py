"""The models of recforge.models: the shared behaviour, then each model against a numpy reference."""

from __future__ import annotations

import numpy as np
import pytest
import recforge as rf
import scipy.sparse as sp
from model_behaviour import ModelBehaviour, interactions
from reference import check_ranked


def reached(A, B) -> np.ndarray:
    """Which entries of A @ B the sparse product reaches (stored entries, zeros included)."""
    pa = sp.csr_matrix((np.ones(A.nnz), A.indices, A.indptr), shape=A.shape)
    pb = sp.csr_matrix((np.ones(B.nnz), B.indices, B.indptr), shape=B.shape)
    return (pa @ pb).toarray() > 0


class TestItemKNN(ModelBehaviour):
    def make(self, **kwargs):
        return rf.ItemKNN(neighbours=10, **kwargs)


class TestUserKNN(ModelBehaviour):
    def make(self, **kwargs):
        return rf.UserKNN(neighbours=10, **kwargs)


class TestPopularity(ModelBehaviour):
    supports_similar_users = False

    def make(self, **kwargs):
        return rf.Popularity(**kwargs)


@pytest.mark.parametrize("metric", ["cosine", "bm25", "pearson", "jaccard"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_item_knn_scores_are_history_times_similarity(metric, dtype):
    X = interactions(seed=2).astype(dtype)
    X.data *= np.random.default_rng(0).integers(1, 4, size=X.nnz)  # counts as weights
    model = rf.ItemKNN(neighbours=8, metric=metric).fit(X)
    S = rf.similarity(X.T.tocsr(), k=8, metric=metric)
    np.testing.assert_array_equal(model.similarity_.toarray(), S.toarray())
    ids, scores = model.recommend(np.arange(X.shape[0]), X, k=12)
    ok = reached(X, S) & ~(X.toarray() != 0)
    check_ranked(X.toarray().astype(np.float64) @ S.toarray().astype(np.float64), ok, 12, ids, scores, np.dtype(dtype))
    ids, scores = model.similar_items(np.arange(X.shape[1]), k=12)
    for i in range(X.shape[1]):
        row = S[i]
        m = row.nnz
        assert ids[i, : min(m, 12)].tolist() == row.indices[:12].tolist()  # rows are stored ranked


@pytest.mark.parametrize("metric", ["cosine", "pearson"])
def test_user_knn_scores_are_neighbours_times_interactions(metric):
    X = interactions(seed=3)
    model = rf.UserKNN(neighbours=6, metric=metric).fit(X)
    S = rf.similarity(X, k=6, metric=metric)
    users = np.array([3, 0, 59, 3])
    ids, scores = model.recommend(users, X[users], k=9)
    dense = S.toarray()[users] @ X.toarray()
    ok = reached(S[users], X) & ~(X[users].toarray() != 0)
    check_ranked(dense, ok, 9, ids, scores, np.dtype(np.float64))


def test_similar_users_and_items_by_cosine_of_interactions():
    X = interactions(seed=4)
    Xd = X.toarray()
    norms = np.linalg.norm(Xd, axis=1, keepdims=True)
    C = (Xd / np.where(norms > 0, norms, 1)) @ (Xd / np.where(norms > 0, norms, 1)).T
    ok = (Xd != 0).astype(int) @ (Xd != 0).astype(int).T > 0
    np.fill_diagonal(ok, False)
    ids, scores = rf.ItemKNN(neighbours=5).fit(X).similar_users(np.arange(X.shape[0]), k=7)
    check_ranked(C, ok, 7, ids, scores, np.dtype(np.float64))
    ids_u, scores_u = rf.UserKNN(neighbours=5).fit(X.T.tocsr()).similar_items(np.arange(X.shape[0]), k=7)
    np.testing.assert_array_equal(ids, ids_u)
    np.testing.assert_allclose(scores, scores_u, rtol=1e-12)


def test_popularity_counts_weights_and_decay():
    X = sp.csr_matrix(np.array([[1, 0, 3, 0], [2, 0, 0, 0], [0, 0, 5, 1]], dtype=np.float64))
    counts = rf.Popularity().fit(X)
    np.testing.assert_array_equal(counts.popularity_, [2, 0, 2, 1])
    ids, scores = counts.recommend([0, 1], X[[0, 1]], k=4)
    assert ids.tolist() == [[3, 1, -1, -1], [2, 3, 1, -1]]  # ties to the lower id; seen removed
    weights = rf.Popularity(use_weights=True).fit(X)
    np.testing.assert_array_equal(weights.popularity_, [3, 0, 8, 1])
    times = X.copy()
    times.data = np.array([10.0, 30.0, 20.0, 30.0, 40.0])  # positions in CSR order
    decayed = rf.Popularity(half_life=10.0).fit(X, times=times)
    np.testing.assert_allclose(decayed.popularity_, [2**-3 + 2**-2, 0, 2**-1 + 2**-1, 1])
    later = rf.Popularity(half_life=10.0).fit(X, times=times, now=50.0)
    np.testing.assert_allclose(later.popularity_, decayed.popularity_ / 2)
    ids, _ = decayed.similar_items([2], k=3)
    assert ids.tolist() == [[3, 0, 1]]


@pytest.mark.parametrize(
    "make, exc, match",
    [
        (lambda: rf.ItemKNN(neighbours=-1), ValueError, "neighbours must be >= 0"),
        (lambda: rf.ItemKNN(metric="euclid"), ValueError, "metric must be one of"),
        (lambda: rf.UserKNN(shrinkage=-1), ValueError, "shrinkage must be >= 0"),
        (lambda: rf.UserKNN(n_threads=-2), ValueError, "n_threads must be >= 0"),
        (lambda: rf.Popularity(half_life=0), ValueError, "half_life must be > 0"),
        (lambda: rf.Popularity(use_weights="yes"), TypeError, "use_weights must be a bool"),
    ],
)
def test_bad_parameters(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_popularity_fit_checks_times():
    X = interactions()
    with pytest.raises(ValueError, match="times is required when half_life is set"):
        rf.Popularity(half_life=5.0).fit(X)
    with pytest.raises(ValueError, match="times must have an entry at exactly the positions"):
        rf.Popularity(half_life=5.0).fit(X, times=X[:, ::-1])
    with pytest.raises(ValueError, match="only used with half_life"):
        rf.Popularity().fit(X, times=X)


def test_damaged_state_in_a_file_is_rejected(tmp_path):
    X = interactions()
    path = tmp_path / "m.npz"
    rf.ItemKNN(neighbours=5).fit(X).save(path)
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["state.similarity_.indices"] = arrays["state.similarity_.indices"] + 1000
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="similarity_"):
        rf.load(tmp_path / "bad.npz")
    arrays = {k: v for k, v in arrays.items() if not k.startswith("state.user_items_")}
    np.savez(tmp_path / "missing.npz", **arrays)
    with pytest.raises(ValueError, match="damaged or truncated"):
        rf.load(tmp_path / "missing.npz")

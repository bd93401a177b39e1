"""The models of recforge.models: the shared behaviour, then each model against a numpy reference."""

from __future__ import annotations

import warnings

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
@pytest.mark.parametrize("binary", [True, False])
def test_user_knn_scores_are_neighbours_times_interactions(metric, binary):
    X = interactions(seed=3)
    assert len(np.unique(X.data)) > 1  # weights that binary=True turns into 0/1
    model = rf.UserKNN(neighbours=6, metric=metric, binary=binary).fit(X)
    P = sp.csr_matrix((X > 0).astype(X.dtype)) if binary else X  # what the model sees
    S = rf.similarity(P, k=6, metric=metric)
    users = np.array([3, 0, 59, 3])
    ids, scores = model.recommend(users, X[users], k=9)
    dense = S.toarray()[users] @ P.toarray()
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
    ids_u, scores_u = rf.UserKNN(neighbours=5, binary=False).fit(X.T.tocsr()).similar_items(np.arange(X.shape[0]), k=7)
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
        (lambda: rf.ItemKNN(neighbours=-1), ValueError, "neighbours must be >= 1"),
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


@pytest.mark.parametrize("model", [rf.EASE(), rf.ALS(factors=2, iterations=1), rf.ItemKNN()])
def test_a_table_of_events_given_to_fit_points_to_interactions(model):
    """A pandas table of events was told to "wrap dense data with scipy.sparse.csr_array", which
    would make a matrix of its columns, not of customers and products."""
    import pandas as pd

    events = pd.DataFrame({"user": ["a", "b"], "item": ["x", "y"]})
    with pytest.raises(TypeError, match=r"got pandas.DataFrame; for a table of events .*Interactions.from_pandas"):
        model.fit(events)
    with pytest.raises(TypeError, match="wrap dense data"):
        model.fit(np.ones((2, 2)))


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


# -- new customers: each model's fold-in against numpy ---------------------------------------------
def _history(seed=3, n=6, n_items=35):
    rng = np.random.default_rng(seed)
    H = (rng.random((n, n_items)) < 0.15) * rng.integers(1, 5, (n, n_items))
    H[-1] = 0  # an empty history
    return sp.csr_matrix(H.astype(np.float32))


def _ranked(scores, banned, k):
    scores = np.where(banned, -np.inf, scores)
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def test_bpr_folds_a_history_in_by_one_class_ridge():
    X = interactions()
    model = rf.BPR(factors=6, iterations=5, random_state=0).fit(X)
    H = _history()
    Q = model.item_factors_.astype(np.float64)
    G = Q.T @ Q
    lam = model.regularization * np.trace(G) / model.factors
    P = np.linalg.solve(G + lam * np.eye(6), (H.toarray() @ Q).T).T
    want = P @ Q.T + model.item_bias_
    ids, scores = model.recommend(np.arange(6), H, k=8, recalculate_user=True)
    ref = _ranked(want[:-1], H.toarray()[:-1] != 0, 8)
    np.testing.assert_array_equal(ids[:-1], ref)
    np.testing.assert_allclose(scores[:-1], np.take_along_axis(want[:-1], ref, 1), rtol=1e-4, atol=1e-5)
    assert (ids[-1] == -1).all()


def test_biased_mf_folds_ratings_in_by_ridge_with_a_bias():
    X = interactions()
    X.data = np.random.default_rng(1).integers(1, 6, X.nnz).astype(np.float64)
    model = rf.BiasedMF(factors=4, iterations=10, random_state=0, dtype="float64").fit(X)
    H = _history()
    Q = model.item_factors_
    want = np.zeros((H.shape[0], X.shape[1]))
    for r in range(H.shape[0] - 1):
        row = H[r]
        A = np.hstack([Q[row.indices], np.ones((row.nnz, 1))])
        t = row.data - model.global_mean_ - model.item_bias_[row.indices]
        # weighted-lambda, as the ALS solver: the penalty grows with the row's ratings
        lam = row.nnz * np.diag([model.regularization] * 4 + [model.bias_regularization])
        x = np.linalg.solve(A.T @ A + lam, A.T @ t)
        want[r] = model.global_mean_ + x[4] + model.item_bias_ + Q @ x[:4]
    ids, scores = model.recommend(np.arange(6), H, k=8, recalculate_user=True)
    ref = _ranked(want[:-1], H.toarray()[:-1] != 0, 8)
    np.testing.assert_array_equal(ids[:-1], ref)
    np.testing.assert_allclose(scores[:-1], np.take_along_axis(want[:-1], ref, 1), rtol=1e-8)


@pytest.mark.parametrize("binary", [False, True])
def test_user_knn_finds_a_new_historys_neighbours_by_cosine(binary):
    X = interactions()
    model = rf.UserKNN(neighbours=7, binary=binary).fit(X)
    H = _history()
    D, Hd = X.toarray(), H.toarray()
    if binary:  # whether each was bought, for the neighbours and for the new history alike
        D, Hd = (D > 0).astype(float), (Hd > 0).astype(float)

    def unit(M):
        norms = np.linalg.norm(M, axis=1, keepdims=True)
        return np.divide(M, norms, out=np.zeros_like(M), where=norms > 0)

    sims = unit(Hd) @ unit(D).T
    want = np.zeros((H.shape[0], X.shape[1]))
    for r in range(H.shape[0] - 1):
        order = np.argsort(-sims[r], kind="stable")
        top = [v for v in order[:7] if sims[r, v] > 0]
        want[r] = sims[r, top] @ D[top]
    ids, scores = model.recommend(np.arange(6), H, k=5, recalculate_user=True)
    for r in range(H.shape[0] - 1):
        got = ids[r][ids[r] >= 0]
        np.testing.assert_allclose(scores[r][: got.size], want[r, got], rtol=1e-5)
        assert not (Hd[r, got] != 0).any()
        candidates = np.where((Hd[r] == 0) & (want[r] > 0), want[r], -np.inf)
        np.testing.assert_allclose(
            np.sort(scores[r][: got.size])[::-1], np.sort(candidates)[::-1][: got.size], rtol=1e-5
        )
    assert (ids[-1] == -1).all()


@pytest.mark.parametrize(
    "make",
    [rf.ItemKNN, rf.EASE, lambda: rf.ALS(factors=8, iterations=2, random_state=0), lambda: rf.ColdStart(rf.ItemKNN())],
)
def test_histories_numbered_apart_from_the_training_interactions_are_refused(make):
    """An Interactions built apart numbers its products by its own first appearance: read as
    the model's columns, every history was other products and the lists silently wrong."""
    rng = np.random.default_rng(3)
    users, items = rng.integers(0, 40, 3000), rng.integers(0, 50, 3000)
    train = rf.Interactions.from_arrays(users[:2400], items[:2400])
    apart = rf.Interactions.from_arrays(users[2400:][::-1], items[2400:][::-1])
    assert apart.shape == train.shape
    model = make().fit(train)
    with pytest.raises(ValueError, match="user_items numbers its items differently"):
        model.recommend(np.arange(40), apart, k=3)
    with pytest.raises(ValueError, match="exclude numbers its items differently"):
        model.recommend(np.arange(40), train, k=3, exclude=apart)
    aligned = train.transform({"user": users[2400:], "item": items[2400:]})
    model.recommend(np.arange(40), aligned, k=3)  # one numbering: answered
    model.recommend(np.arange(40), apart.matrix, k=3)  # a bare matrix carries no ids to compare


@pytest.mark.parametrize(
    "make",
    [
        rf.ItemKNN,
        rf.EASE,
        rf.Popularity,
        lambda: rf.ALS(factors=8, iterations=2, random_state=0),
        lambda: rf.ColdStart(rf.ItemKNN()),
    ],  # fmt: skip
)
def test_an_interactions_gives_the_rows_of_the_requested_users(make):
    """Row u of an Interactions is customer u: read row by row as the requested customers,
    recommend([2, 1, 0], inter) scored and filtered customer 2 from customer 0's history."""
    rng = np.random.default_rng(4)
    train = rf.Interactions.from_arrays(rng.integers(0, 30, 600), rng.integers(0, 40, 600))
    model = make().fit(train)
    for users in ([2, 1, 0], list(range(train.n_users))[::-1], [5, 5, 7], [11]):
        want = model.recommend(users, train.matrix[users], k=5, exclude=train.matrix[users])
        got = model.recommend(users, train, k=5, exclude=train)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
        seen = train.matrix[users].toarray() != 0
        assert not np.take_along_axis(seen, np.maximum(got[0], 0), axis=1)[got[0] >= 0].any()
    with pytest.raises(ValueError, match="user_ids holds"):
        model.recommend([train.n_users], train, k=3, recalculate_user=True)
    # The same products, the customers in another order: row u is no longer the model's user u.
    shuffled = rf.Interactions(train.matrix[::-1], train.user_ids[::-1], train.item_ids)
    with pytest.raises(ValueError, match="numbers its users differently"):
        model.recommend([0], shuffled, k=3)
    model.recommend([0], shuffled, k=3, recalculate_user=True)  # a history alone: any numbering of customers


def test_partial_fit_users_takes_the_appended_rows_of_an_interactions():
    rng = np.random.default_rng(5)
    train = rf.Interactions.from_arrays(rng.integers(0, 30, 600), rng.integers(0, 40, 600))
    grown = train.transform({"user": [100, 100, 101], "item": train.item_ids[[0, 1, 2]]}, new_users="append")
    new = [train.n_users + 1, train.n_users]

    def fitted():
        return rf.ALS(factors=4, iterations=2, random_state=0).fit(train)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the Interactions' map names the new rows: nothing dropped
        a = fitted().partial_fit_users(new, grown)
    assert a.user_ids_.tolist() == grown.user_ids.tolist()
    assert a.recommend(train.n_users, grown, k=3)[0].size == 3  # raw-id checks pass on the grown map
    with pytest.warns(UserWarning, match="grew"):
        b = fitted().partial_fit_users(new, grown.matrix[new])
    assert b.user_ids_ is None
    np.testing.assert_array_equal(a.user_factors_, b.user_factors_)
    # a map that does not extend the model's (other customers first) is not taken
    other = rf.Interactions(grown.matrix, grown.user_ids[::-1].copy(), grown.item_ids)
    with pytest.raises(ValueError, match="numbers its users differently"):
        fitted().partial_fit_users([train.n_users], other)


@pytest.mark.parametrize("make", [lambda **p: rf.ItemKNN(neighbours=8, **p), lambda **p: rf.UserKNN(neighbours=8, **p)])
def test_binary_neighbour_models_are_the_models_of_the_0_1_pattern(make):
    """binary=True fits and scores whether each item was bought: the same lists as binary=False
    on that pattern (net returns, negative weights, not bought), whatever the counts."""
    rng = np.random.default_rng(12)
    X = sp.random(70, 25, density=0.25, format="csr", random_state=12, dtype=np.float64)
    X.data = rng.integers(1, 9, X.nnz).astype(np.float64)
    X.data[::7] = -1.0
    P = sp.csr_matrix((X > 0).astype(np.float64))
    users = np.arange(70)
    got = make(binary=True).fit(X)
    want = make(binary=False).fit(P)
    np.testing.assert_allclose(got.similarity_.toarray(), want.similarity_.toarray(), rtol=1e-12)
    for recalculate in (False, True):
        a = got.recommend(users, X, k=5, recalculate_user=recalculate)
        b = want.recommend(users, P, k=5, exclude=X, recalculate_user=recalculate)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_allclose(a[1], b[1], rtol=1e-6)
    counts = abs(X)  # the weights matter without binary (tf-idf refuses negative ones)
    assert not np.array_equal(make(binary=False).fit(counts).recommend(users, counts, k=5)[0], a[0])


@pytest.mark.parametrize(
    "make",
    [
        lambda: rf.UserKNN(neighbours=5, binary=False),
        lambda: rf.EASE(regularization=4.0, binary=False),
        lambda: rf.SparseEASE(regularization=4.0, neighbours=5, binary=False),
    ],
)
def test_files_and_pickles_from_before_binary_keep_the_weights_as_given(make, tmp_path):
    """A model saved before its binary parameter existed (whose default is now True) was fitted
    on the weights as given, and keeps scoring from them: binary=False when the file or the
    pickle does not name it."""
    import json
    import pickle

    X = interactions(seed=9)
    assert len(np.unique(X.data)) > 1
    model = make().fit(X)
    want = model.recommend([0, 1], X[[0, 1]], k=3)[0]
    model.save(tmp_path / "old.npz")
    with np.load(tmp_path / "old.npz") as npz:
        entries = dict(npz)
    params = json.loads(str(entries["__params__"]))
    del params["binary"]
    entries["__params__"] = np.array(json.dumps(params))
    np.savez(tmp_path / "old.npz", **entries)
    loaded = rf.load(tmp_path / "old.npz")
    state = model.__getstate__()
    del state["binary"]
    unpickled = type(model).__new__(type(model))
    unpickled.__setstate__(pickle.loads(pickle.dumps(state)))
    for old in (loaded, unpickled):
        assert old.binary is False and old.get_params()["binary"] is False
        np.testing.assert_array_equal(old.recommend([0, 1], X[[0, 1]], k=3)[0], want)
    assert type(model)().binary is True  # the default a new model gets

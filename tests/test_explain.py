"""rf.campaign.explain against a numpy reference, and against the models' own scores."""

from __future__ import annotations

import numpy as np
import pytest
import recforge as rf
import scipy.sparse as sp


def reference(H, ids, link, top):
    """Every (customer, recommended item): all positive contributions, sorted by (-value, item)."""
    n, k = ids.shape
    items = np.full((n, k, top), -1)
    values = np.zeros((n, k, top))
    H = sp.csr_matrix(H)
    for u in range(n):
        row = H[u]
        for r in range(k):
            j = ids[u, r]
            if j < 0:
                continue
            found = sorted(
                ((-(x * link(i, j)), i) for i, x in zip(row.indices, row.data) if i != j and x * link(i, j) > 0)
            )[:top]
            for t, (negative, i) in enumerate(found):
                items[u, r, t], values[u, r, t] = i, -negative
    return items, values


def data(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(60, 25, density=0.2, random_state=seed, format="csr", dtype=dtype)
    X.data = rng.integers(1, 4, X.nnz).astype(dtype)
    keep = np.ones((X.shape[0], 1), dtype=dtype)
    keep[3] = 0  # an empty history
    X = sp.csr_matrix(X.multiply(keep), dtype=dtype)
    X.eliminate_zeros()
    return X


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "make",
    [
        lambda: rf.ItemKNN(metric="cosine"),
        lambda: rf.EASE(regularization=10.0),
        lambda: rf.EASE(regularization=10.0, binary=False),
        lambda: rf.ColdStart(rf.EASE(regularization=10.0)),
    ],
)
def test_neighbour_and_ease_explanations_sum_to_the_score(make, dtype):
    X = data(dtype)
    model = make().fit(X)
    users = np.arange(X.shape[0])
    ids, scores = model.recommend(users, X, k=5)
    items, contributions = rf.campaign.explain(model, X, ids, top=X.shape[1], n_threads=3)
    kind, W = rf.campaign.explanation_basis(model)
    W = sp.csr_matrix(W).toarray().astype(np.float64)
    # a model fitted on 0/1 histories (EASE's binary) scores, and is explained, from them
    H = sp.csr_matrix((X > 0).astype(dtype)) if getattr(getattr(model, "model", model), "binary", False) else X
    assert (H is X) == (make().get_params().get("binary", make().get_params().get("model__binary")) in (None, False))
    want_items, want_values = reference(H, ids, lambda i, j: W[i, j], X.shape[1])
    np.testing.assert_array_equal(items, want_items)
    np.testing.assert_allclose(contributions, want_values, rtol=1e-5)
    # where no weight is negative, the contributions add up to the model's score
    if W.min() >= 0:
        full = np.where(ids >= 0, contributions.sum(axis=2), -np.inf)
        np.testing.assert_allclose(full, scores, rtol=1e-4)
    one = rf.campaign.explain(model, X, ids, top=2, n_threads=1)
    np.testing.assert_array_equal(one[0], items[:, :, :2])


def test_factor_models_explain_by_cosine_of_item_vectors():
    X = data()
    model = rf.ALS(factors=8, iterations=3, random_state=0).fit(X)
    ids, _ = model.recommend(np.arange(X.shape[0]), X, k=4)
    items, values = rf.campaign.explain(rf.ColdStart(model).fit(X), X, ids, top=3)
    Y = model.item_vectors().astype(np.float64)
    Y = Y / np.linalg.norm(Y, axis=1, keepdims=True)
    want_items, want_values = reference(X, ids, lambda i, j: Y[i] @ Y[j], 3)
    np.testing.assert_array_equal(items, want_items)
    np.testing.assert_allclose(values, want_values, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("base", ["knn", "als"])
def test_a_cold_start_models_new_products_are_explained(base):
    """A ColdStart model recommends new products (no interactions, numbered after the known
    ones) from their features; explain refused them as "outside the catalogue". A neighbour
    model's new product is tied to the history by its content neighbours (their contributions
    add up to its score), a factor model's by the item vector its features map to."""
    X = data()
    n_known, n_new = X.shape[1], 6
    rng = np.random.default_rng(1)
    F = sp.random(n_known + n_new, 12, density=0.4, random_state=2, format="csr")
    F.data = rng.random(F.nnz) + 0.1
    inner = rf.ItemKNN(metric="cosine") if base == "knn" else rf.ALS(factors=6, iterations=3, random_state=0)
    model = rf.ColdStart(inner, max_new_items=2, new_item_weight=100.0).fit(X, item_features=F)
    users = np.arange(X.shape[0])
    ids, scores, paths = model.recommend(users, X, k=5, return_paths=True)
    new = ids >= n_known
    assert new.sum() > 20  # the weight puts them in the lists
    items, values = rf.campaign.explain(model, X, ids, top=n_known)
    if base == "knn":
        N = sp.csr_matrix(model.new_item_neighbours_).toarray()
        link = lambda i, j: N[i, j - n_known] if j >= n_known else model.model_.similarity_[i, j]  # noqa: E731
    else:
        Y = model.model_.item_vectors().astype(np.float64)
        Y = np.vstack([Y, model.new_item_vectors_])
        Y = Y / np.linalg.norm(Y, axis=1, keepdims=True)
        link = lambda i, j: Y[i] @ Y[j]  # noqa: E731
    want_items, want_values = reference(X, ids, link, n_known)
    np.testing.assert_array_equal(items[new], want_items[new])
    np.testing.assert_allclose(values[new], want_values[new], rtol=1e-5, atol=1e-7)
    if base == "knn":  # a new product's score is its content neighbours' sum, on the model's scale
        M = model.new_item_score_map_
        on_scale = values[new].sum(axis=1) if M is None else np.interp(values[new].sum(axis=1), M[0], M[1])
        np.testing.assert_allclose(on_scale, scores[new], rtol=1e-4)
    wide = sp.csr_matrix(X, shape=(X.shape[0], n_known + n_new))  # histories over the whole catalogue
    np.testing.assert_array_equal(rf.campaign.explain(model, wide, ids, top=n_known)[0], items)


def test_padding_ties_and_refusals():
    X = sp.csr_matrix(np.array([[1.0, 1.0, 0, 0]]))
    W = np.array([[0, 0, 0.5, 0], [0, 0, 0.5, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    model = rf.EASE(regularization=1.0).fit(sp.csr_matrix(np.ones((3, 4))))
    model.weights_ = sp.csr_matrix(W)
    items, values = rf.campaign.explain(model, X, np.array([[2, -1, 3]]), top=3)
    assert items[0].tolist() == [[0, 1, -1], [-1, -1, -1], [-1, -1, -1]]  # a tie: the lower id first
    assert values[0, 0].tolist() == [0.5, 0.5, 0.0]
    with pytest.raises(ValueError, match="does not score from a customer's items"):
        rf.campaign.explain(rf.Popularity().fit(X), X, np.array([[2]]))
    with pytest.raises(ValueError, match="one row per list"):
        rf.campaign.explain(model, X, np.array([[2], [3]]))
    with pytest.raises(ValueError, match="recommended holds 9"):
        rf.campaign.explain(model, X, np.array([[9]]))
    with pytest.raises(ValueError, match="top"):
        rf.campaign.explain(model, X, np.array([[2]]), top=0)


def test_histories_numbered_apart_are_refused():
    """A history Interactions built apart from the training one was read as the model's
    columns: the reasons named other products."""
    rng = np.random.default_rng(3)
    users, items = rng.integers(0, 40, 3000), rng.integers(0, 50, 3000)
    train = rf.Interactions.from_arrays(users[:2400], items[:2400])
    apart = rf.Interactions.from_arrays(users[2400:][::-1], items[2400:][::-1])
    model = rf.ItemKNN().fit(train)
    lists = model.recommend(np.arange(40), train, k=3)[0]
    with pytest.raises(ValueError, match="user_items numbers its items differently"):
        rf.campaign.explain(model, apart, lists)
    rf.campaign.explain(model, train, lists)


@pytest.mark.parametrize("base", ["knn", "als", "cold knn", "cold als"])
def test_one_explainer_gives_explain_s_answers_batch_by_batch(base):
    """An Explainer prepares the model's basis once; its answers for batches of customers (in
    float32 and float64 histories, over the known products or the whole catalogue) are
    explain's for the same customers."""
    X = data()
    n_known, n_new = X.shape[1], 6
    inner = rf.ItemKNN(metric="cosine") if base.endswith("knn") else rf.ALS(factors=6, iterations=3, random_state=0)
    if base.startswith("cold"):
        F = sp.random(n_known + n_new, 12, density=0.4, random_state=2, format="csr")
        model = rf.ColdStart(inner, max_new_items=2, new_item_weight=100.0).fit(X, item_features=F)
    else:
        model = inner.fit(X)
    users = np.arange(X.shape[0])
    ids = model.recommend(users, X, k=5)[0]
    explainer = rf.campaign.Explainer(model)
    for H in (X, sp.csr_matrix(X, dtype=np.float32), sp.csr_matrix(X, shape=(X.shape[0], model.n_items_))):
        want = rf.campaign.explain(model, H, ids, top=3)
        for first in range(0, X.shape[0], 17):
            rows = slice(first, first + 17)
            got = explainer.explain(H[rows], ids[rows], top=3)
            np.testing.assert_array_equal(got[0], want[0][rows])
            np.testing.assert_array_equal(got[1], want[1][rows])
    with pytest.raises(ValueError, match="user_items has 3 items"):
        explainer.explain(X[:, :3], ids, top=1)
    with pytest.raises(ValueError, match="does not score from a customer's items"):
        rf.campaign.Explainer(rf.Popularity().fit(X))


def test_weights_of_every_other_item_are_read_by_position_and_near_misses_searched():
    """EASE's exact B (every row holds every item but its own) is read at j - (j > i) without a
    search; matrices as long whose rows miss another item, or hold their own, must not be."""
    from types import SimpleNamespace

    rng = np.random.default_rng(5)
    n = 9
    dense = rng.uniform(0.1, 1.0, (n, n))
    full = ~np.eye(n, dtype=bool)
    near_miss = full.copy()
    near_miss[2, 2], near_miss[2, 3] = True, False  # row 2 holds itself, not item 3: n(n-1) entries still
    shifted = full.copy()
    shifted[4, 5], shifted[6, 6] = False, True  # one row short, another one long
    X = sp.random(40, n, density=0.4, random_state=1, format="csr")
    X.data = rng.integers(1, 4, X.nnz).astype(np.float64)
    lists = np.array([rng.permutation(n) for _ in range(X.shape[0])])
    lists[::7, -2:] = -1  # padding
    for mask in (full, near_miss, shifted):
        assert mask.sum() == n * (n - 1)
        M = np.where(mask, dense, 0.0)
        W = sp.csr_matrix(M)
        for dtype in (np.float32, np.float64):
            model = SimpleNamespace(weights_=W.astype(dtype))
            got = rf.campaign.explain(model, X.astype(dtype), lists, top=4, n_threads=2)
            want = reference(X, lists, lambda i, j, M=M: M[i, j], 4)
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_allclose(got[1], want[1], rtol=1e-6)


def test_an_explainer_uses_the_weights_own_arrays():
    """The kernel got int64 copies of the weights' indices: 3.2 GB more beside EASE's exact B
    over 20k items."""
    X = data(np.float32)
    model = rf.EASE(regularization=10.0).fit(X)
    explainer = rf.campaign.Explainer(model)
    ids, _ = model.recommend(np.arange(X.shape[0]), X, k=4)
    first = explainer.explain(X, ids, top=2)
    weights, _ = next(iter(explainer._layouts.values()))
    assert np.shares_memory(weights[1], model.weights_.indices) and np.shares_memory(weights[2], model.weights_.data)
    wide = sp.csr_matrix(X)
    wide.indptr, wide.indices = wide.indptr.astype(np.int64), wide.indices.astype(np.int64)
    again = explainer.explain(wide, ids, top=2)  # int64 histories: the same answer
    np.testing.assert_array_equal(first[0], again[0])

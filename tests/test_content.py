"""ContentKNN against dense numpy references: neighbours by feature cosine, history scores,
products without interactions, products not in the catalogue."""

from __future__ import annotations

import numpy as np
import pytest
import recforge as rf
import scipy.sparse as sp
from model_behaviour import ModelBehaviour
from recforge.models.registry import register


def random_features(n_items: int, seed: int = 0, n_features: int = 12) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    D = (rng.random((n_items, n_features)) < 0.25) * rng.random((n_items, n_features))
    D[3:4] = 0  # an item without features (where there are four)
    return sp.csr_matrix(D.astype(np.float32))


class ContentOnRandomFeatures(rf.ContentKNN):
    """Test-only: ContentKNN whose features are drawn for the matrix it is fitted on, so the
    shared behaviour tests can call fit(X) (products beyond X's columns are tested below)."""

    def fit(self, user_items, item_features=None):
        if item_features is None:
            item_features = random_features(user_items.shape[1])
        return super().fit(user_items, item_features)


register(ContentOnRandomFeatures)


class TestContentKNN(ModelBehaviour):
    supports_similar_users = True

    def make(self, **kwargs):
        return ContentOnRandomFeatures(**kwargs)


def cosine_neighbours(F: np.ndarray, neighbours: int) -> np.ndarray:
    norms = np.linalg.norm(F, axis=1, keepdims=True)
    U = np.divide(F, norms, out=np.zeros_like(F), where=norms > 0)
    S = U @ U.T
    np.fill_diagonal(S, 0)
    out = np.zeros_like(S)
    for i in range(S.shape[0]):
        order = np.argsort(-S[i], kind="stable")[:neighbours]
        keep = order[S[i, order] > 0]
        out[i, keep] = S[i, keep]
    return out


@pytest.mark.parametrize("neighbours", [2, 5, 40])
def test_similarity_and_scores_match_numpy(neighbours):
    F = random_features(25, seed=neighbours)
    X = sp.random(30, 20, density=0.15, format="csr", random_state=1, dtype=np.float32)
    model = rf.ContentKNN(neighbours=neighbours).fit(X, F)
    assert model.n_items_ == 25 and model.user_items_.shape == (30, 25)
    S = cosine_neighbours(F.toarray().astype(np.float64), neighbours)
    np.testing.assert_allclose(model.similarity_.toarray(), S, rtol=1e-5, atol=1e-6)
    users = np.arange(30)
    ids, scores = model.recommend(users, X, k=6)  # histories over the 20 known items: padded
    H = np.hstack([X.toarray(), np.zeros((30, 5))])
    want = H @ S
    for u in users:
        got = ids[u][ids[u] >= 0]
        np.testing.assert_allclose(scores[u][: got.size], want[u, got], rtol=1e-5)
        assert not (H[u, got] != 0).any()
        possible = np.sort(np.where((H[u] == 0) & (want[u] > 0), want[u], -np.inf))[::-1][: got.size]
        np.testing.assert_allclose(np.sort(scores[u][: got.size])[::-1], possible, rtol=1e-5)


def test_products_without_interactions_are_recommended_and_have_neighbours():
    table = {
        "sku": ["tea", "mug", "cup", "pot", "NEW"],
        "kind": ["drink|leaf", "kitchen|drinkware", "drinkware", "kitchen", "drinkware|leaf"],
    }
    inter = rf.Interactions.from_arrays(["a", "a", "b", "c"], ["tea", "mug", "tea", "cup"])
    F = rf.features(table, ids=inter.item_ids, id_col="sku", categorical="kind")
    model = rf.ContentKNN().fit(inter, F)
    assert model.item_ids_.tolist() == ["tea", "mug", "cup", "pot", "NEW"]
    assert model.user_ids_.tolist() == inter.user_ids.tolist()
    new = model.item_ids_.tolist().index("NEW")
    ids, _ = model.similar_items(new, k=2)
    assert set(model.item_ids_[ids].tolist()) == {"cup", "tea"}
    ids, _ = model.recommend(inter.user_index("b"), inter.matrix[inter.user_index("b")], k=5)
    assert "NEW" in model.item_ids_[ids[ids >= 0]].tolist()


def test_a_product_not_in_the_catalogue_finds_similar_ones():
    table = {"sku": ["a", "b", "c"], "title": ["red tea mug", "blue glass", "red glass cup"], "kind": ["x", "y", "y"]}
    F = rf.features(table, id_col="sku", text="title", categorical="kind")
    model = rf.ContentKNN().fit(sp.csr_matrix((2, 3), dtype=np.float32), F)
    ids, scores = model.similar_to({"title": ["red glass"], "kind": ["y"]}, k=3)
    D = F.matrix.toarray().astype(float)
    q = F.encoder.transform({"title": ["red glass"], "kind": ["y"]}).toarray()[0]
    cos = D @ q / (np.linalg.norm(D, axis=1) * np.linalg.norm(q))
    np.testing.assert_array_equal(ids[0], np.argsort(-cos, kind="stable"))
    np.testing.assert_allclose(scores[0], np.sort(cos)[::-1], rtol=1e-5)
    bare = rf.ContentKNN().fit(sp.csr_matrix((2, 3), dtype=np.float32), F.matrix)
    with pytest.raises(ValueError, match="needs a model fitted with rf.features"):
        bare.similar_to({"title": ["x"], "kind": ["y"]})


def test_misaligned_or_short_features_are_refused():
    inter = rf.Interactions.from_arrays(["a", "b"], ["x", "y"])
    F = rf.features({"sku": ["y", "x"], "g": ["p", "q"]}, id_col="sku", categorical="g")  # table order
    with pytest.raises(ValueError, match="do not follow user_items' item ids"):
        rf.ContentKNN().fit(inter, F)
    with pytest.raises(ValueError, match="item_features has 1 rows but user_items has 2 items"):
        rf.ContentKNN().fit(inter.matrix, sp.csr_matrix(np.ones((1, 3), dtype=np.float32)))


def test_a_bare_feature_matrix_beside_an_interactions_keeps_its_ids():
    """ContentKNN and ColdStart fitted on an Interactions and a bare matrix lost the item ids
    (item_ids_ None: no raw ids out, no 'recforge recommend'); a matrix with rows past the
    products gave products without a name. The rows are the Interactions' products now, and
    extra rows are refused with the way out."""
    inter = rf.Interactions.from_arrays(["u1", "u1", "u2", "u3"], ["a", "b", "b", "c"])
    F = sp.random(3, 5, density=0.6, format="csr", random_state=0, dtype=np.float32)
    for model in (rf.ContentKNN(neighbours=2), rf.ColdStart(rf.ItemKNN())):
        assert model.fit(inter, item_features=F).item_ids_.tolist() == ["a", "b", "c"]
        with pytest.raises(ValueError, match="item_features has 4 rows for 3 products of user_items: name the"):
            model.fit(inter, item_features=sp.vstack([F, F[:1]]).tocsr())
    with pytest.raises(ValueError, match="user_features has 4 rows for 3 customers"):
        rf.ColdStart(rf.ItemKNN()).fit(inter, user_features=sp.vstack([F, F[:1]]).tocsr())
    assert rf.ColdStart(rf.ItemKNN()).fit(inter.matrix, item_features=sp.vstack([F, F[:1]]).tocsr()).n_items_ == 4

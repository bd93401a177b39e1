"""rf.ColdStart: each path against a numpy reference, the path labels, exposure control,
exclusions, files and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import recforge as rf
import scipy.sparse as sp

DAY = 86400.0
PATHS = {name: code for code, name in enumerate(rf.ColdStart.PATHS)}


@pytest.fixture(scope="module")
def shop():
    rng = np.random.default_rng(0)
    n = 900
    users = np.array([f"u{i}" for i in rng.integers(0, 60, n)], dtype=object)
    items = np.array([f"i{i}" for i in (rng.zipf(1.6, n) % 40)], dtype=object)
    times = rng.integers(0, 200 * int(DAY), n).astype(float)
    inter = rf.Interactions.from_arrays(users, items, times=times)
    n_known = inter.n_items
    table = {
        "sku": list(inter.item_ids) + ["NEW1", "NEW2", "NEW3"],
        "kind": [rng.choice(["tea", "mug", "cup", "tea|cup"]) for _ in range(n_known + 3)],
    }
    F = rf.features(table, ids=inter.item_ids, id_col="sku", categorical="kind")
    people = {"cust": list(inter.user_ids), "country": [rng.choice(["UK", "FR", "DE"]) for _ in inter.user_ids]}
    U = rf.features(people, ids=inter.user_ids, id_col="cust", categorical="country")
    return inter, F, U


def empty_rows(n, n_cols):
    return sp.csr_matrix((n, n_cols), dtype=np.float32)


def decayed(inter, half_life):
    t = inter.times.data
    w = np.exp2(-(t.max() - t) / half_life)
    return sp.csr_matrix((w, inter.matrix.indices, inter.matrix.indptr), shape=inter.shape)


def test_each_customer_takes_the_right_path(shop):
    inter, F, U = shop
    model = rf.ALS(factors=8, iterations=5, random_state=0)
    cs = rf.ColdStart(model, max_new_items=0).fit(inter, item_features=F, user_features=U)
    X = inter.matrix
    H = sp.vstack([X[[0, 1]], X[[2, 3]], empty_rows(2, X.shape[1])]).tocsr()
    uf = U.encoder.transform({"country": ["UK"] * 4 + ["FR", None]})
    ids, scores, paths = cs.recommend([0, 1, -1, -1, -1, -1], H, k=5, user_features=uf, return_paths=True)
    want = [PATHS["model"]] * 2 + [PATHS["history"]] * 2
    assert (paths[:4] == np.array(want)[:, None]).all()
    # known customers: exactly the wrapped model
    m_ids, m_scores = model.recommend([0, 1], X[[0, 1]], k=5)
    np.testing.assert_array_equal(ids[:2], m_ids)
    np.testing.assert_allclose(scores[:2], m_scores, rtol=1e-6)
    # new customers with events: the model from their history alone
    h_ids, _ = model.recommend([0, 0], X[[2, 3]], k=5, recalculate_user=True)
    np.testing.assert_array_equal(ids[2:4], h_ids)
    assert (paths[4] == PATHS["group_popular"]).all()  # an attribute, no events
    assert (paths[5] == PATHS["popular"]).all()  # nothing at all
    # the same with recalculate_user: every customer with events is answered from them
    _, _, again = cs.recommend(
        [0, 1, -1, -1, -1, -1], H, k=5, user_features=uf, return_paths=True, recalculate_user=True
    )
    assert (again[:4] == PATHS["history"]).all()


def test_popular_is_time_decayed_popularity(shop):
    inter, F, U = shop
    cs = rf.ColdStart(rf.ItemKNN(), half_life=20 * DAY).fit(inter)
    pop = np.asarray(decayed(inter, 20 * DAY).sum(axis=0)).ravel()
    ids, scores = cs.recommend([-1, -1], empty_rows(2, inter.n_items), k=8)
    want = np.argsort(-pop, kind="stable")[:8]
    np.testing.assert_array_equal(ids[0], want)
    np.testing.assert_allclose(scores[0], pop[want], rtol=1e-6)
    # plain counts without a half-life
    plain = rf.ColdStart(rf.ItemKNN(), half_life=None).fit(inter)
    counts = np.bincount(inter.matrix.indices, minlength=inter.n_items)
    got, _ = plain.recommend(-1, empty_rows(1, inter.n_items), k=8)
    np.testing.assert_array_equal(got, np.argsort(-counts, kind="stable")[:8])


def test_group_popular_is_the_groups_smoothed_share(shop):
    inter, F, U = shop
    prior_weight = 5.0
    cs = rf.ColdStart(rf.ItemKNN(), half_life=30 * DAY, group_prior=prior_weight).fit(inter, user_features=U)
    D = decayed(inter, 30 * DAY).toarray()
    UF = U.matrix[: inter.n_users].toarray()
    shop_share = D.sum(axis=0) / D.sum()
    G = UF.T @ D
    shares = (G + prior_weight * shop_share) / (G.sum(axis=1, keepdims=True) + prior_weight)
    row = U.encoder.transform({"country": ["FR"]})
    want = row.toarray()[0] @ shares
    ids, scores, paths = cs.recommend(-1, empty_rows(1, inter.n_items), k=6, user_features=row, return_paths=True)
    np.testing.assert_array_equal(ids, np.argsort(-want, kind="stable")[:6])
    np.testing.assert_allclose(scores, np.sort(want)[::-1][:6], rtol=1e-5)
    assert (paths == PATHS["group_popular"]).all()
    # a table is encoded with the fitted encoder
    by_table, _ = cs.recommend(-1, empty_rows(1, inter.n_items), k=6, user_features={"country": ["FR"]})
    np.testing.assert_array_equal(by_table, ids)


def test_new_products_from_mapped_factors_with_a_cap(shop):
    inter, F, U = shop
    model = rf.ALS(factors=6, iterations=5, random_state=1).fit(inter)
    cs = rf.ColdStart(model, max_new_items=1, new_item_weight=1e6, mapping_regularization=2.0).fit(inter, F)
    n_known = inter.n_items
    D = F.matrix.toarray().astype(np.float64)
    V = model.item_factors_.astype(np.float64)
    W = np.linalg.solve(D[:n_known].T @ D[:n_known] + 2.0 * np.eye(D.shape[1]), D[:n_known].T @ V)
    np.testing.assert_allclose(cs.new_item_vectors_, D[n_known:] @ W, rtol=1e-4, atol=1e-6)
    users = np.arange(10)
    ids, scores, paths = cs.recommend(users, inter.matrix[users], k=6, return_paths=True)
    new = ids >= n_known
    assert (new.sum(axis=1) == 1).all()  # weight 1e6: a new product always wins, but only one
    assert (paths[new] == PATHS["content"]).all() and (paths[~new] == PATHS["model"]).all()
    q = model.user_factors_[users].astype(np.float64)
    best_new = n_known + np.argmax(q @ cs.new_item_vectors_.T, axis=1)
    np.testing.assert_array_equal(ids[new], best_new)
    none, _ = rf.ColdStart(model, max_new_items=0).fit(inter, F).recommend(users, inter.matrix[users], k=6)
    assert (none < n_known).all()
    # a new product can be the only one allowed
    only, _ = cs.recommend(users, inter.matrix[users], k=3, allow=[n_known + 2])
    assert (only[:, 0] == n_known + 2).all() and (only[:, 1:] == -1).all()


def unit_rows(D):
    norms = np.linalg.norm(D, axis=1, keepdims=True)
    return np.divide(D, norms, out=np.zeros_like(D), where=norms > 0)


def nearest_known(C, width):
    """Column j: query j's ``width`` largest positive cosines in C (known x queries), ties to the lower row."""
    kept = np.zeros_like(C)
    for j in range(C.shape[1]):
        top = np.argsort(-C[:, j], kind="stable")[:width]
        kept[top, j] = C[top, j] * (C[top, j] > 0)
    return kept


def isotonic_points(x, y):
    """Pool-adjacent-violators in plain Python (equal x averaged first), as (centre, level) points:
    each constant piece's mean x and its level."""
    ux, at = np.unique(x, return_inverse=True)
    w = np.bincount(at).astype(float)
    blocks = []  # [sum of w*y, sum of w, distinct x values]
    for mean, weight in zip(np.bincount(at, weights=y) / w, w):
        blocks.append([mean * weight, weight, 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] >= blocks[-1][0] / blocks[-1][1]:
            last = blocks.pop()
            blocks[-1] = [a + b for a, b in zip(blocks[-1], last)]
    fitted = np.repeat([b[0] / b[1] for b in blocks], [b[2] for b in blocks])[at]
    levels, piece = np.unique(fitted, return_inverse=True)
    return np.bincount(piece, weights=x) / np.bincount(piece), levels


@pytest.mark.parametrize("binary", [False, True])
def test_new_products_for_neighbour_models_come_from_content_neighbours(shop, binary):
    inter, F, U = shop
    assert len(np.unique(inter.matrix.data)) > 1  # counts, which a binary model reads as 0/1
    model = rf.ItemKNN(neighbours=10, binary=binary)
    cs = rf.ColdStart(model, max_new_items=3, content_neighbours=2).fit(inter, F)
    n_known = inter.n_items
    D = unit_rows(F.matrix.toarray().astype(np.float64))
    kept = nearest_known(D[:n_known] @ D[n_known:].T, 2)  # each new product's 2 nearest known ones
    np.testing.assert_allclose(cs.new_item_neighbours_.toarray(), kept, rtol=1e-5, atol=1e-7)
    M = cs.new_item_score_map_
    assert M is not None and (np.diff(M[0]) > 0).all() and (np.diff(M[1]) > 0).all()
    users = np.arange(8)
    H = inter.matrix[users].toarray()
    if binary:  # the history as the model scores it, for its new products as for the known ones
        H = (H > 0).astype(np.float64)
    ids, scores, paths = cs.recommend(users, inter.matrix[users], k=n_known + 3, return_paths=True)
    for r in range(len(users)):
        new_scores = H[r] @ kept
        listed = ids[r][paths[r] == PATHS["content"]]
        np.testing.assert_allclose(  # on the model's scale, through the map
            np.sort(scores[r][paths[r] == PATHS["content"]]),
            np.sort(np.interp(new_scores[listed - n_known], M[0], M[1])),
            rtol=1e-5,
        )
        assert set(listed - n_known) == set(np.flatnonzero(new_scores > 0))


@pytest.mark.parametrize("inner", ["itemknn", "ease"])
def test_the_score_map_is_the_isotonic_regression_of_the_models_scores_on_content_scores(inner):
    """Known products posing as new ones: their content score (the sum of their nearest known
    products' cosines over a customer's history) against the model's own score for them, a
    product the model does not reach scoring 0, the customer's own products left out. Every
    customer and product of this small shop is in the sample."""
    rng = np.random.default_rng(3)
    X = sp.random(50, 30, density=0.15, format="csr", random_state=4, dtype=np.float64)
    X.data[:] = 1.0
    F = sp.random(33, 6, density=0.6, format="csr", random_state=5)
    F.data = rng.random(F.nnz) + 0.05  # continuous: no ties between content scores
    model = rf.ItemKNN(neighbours=5) if inner == "itemknn" else rf.EASE(regularization=5.0)
    cs = rf.ColdStart(model, content_neighbours=3).fit(X, F)
    D = unit_rows(F.toarray())[:30]
    C = D @ D.T
    np.fill_diagonal(C, -np.inf)  # a product is not its own neighbour
    N = nearest_known(C, 3)
    N[~np.isfinite(N)] = 0
    users = np.flatnonzero(np.diff(X.indptr) > 0)
    content = X[users].toarray() @ N
    ids, scores = cs.model_.recommend(users, X[users], k=30)
    y = np.zeros(content.shape)
    for r in range(users.size):
        ok = ids[r] >= 0
        y[r, ids[r][ok]] = scores[r][ok]
    pairs = (X[users].toarray() == 0) & (content > 0)
    centres, levels = isotonic_points(content[pairs], y[pairs])
    np.testing.assert_allclose(cs.new_item_score_map_[0], centres, rtol=1e-5)
    np.testing.assert_allclose(cs.new_item_score_map_[1], levels, rtol=1e-5, atol=1e-7)


def test_content_scores_are_put_on_the_models_scale():
    """Without the map, a new product's content score (a sum over the history) outgrew EASE's
    scores: every list of a long history opened with max_new_items new products."""
    rng = np.random.default_rng(7)
    X = sp.random(300, 60, density=0.3, format="csr", random_state=8, dtype=np.float64)
    X.data[:] = 1.0
    F = sp.random(65, 10, density=0.5, format="csr", random_state=9)
    F.data = rng.random(F.nnz) + 0.05
    cs = rf.ColdStart(rf.EASE(regularization=20.0)).fit(X, F)
    ids, scores, paths = cs.recommend(np.arange(300), X, k=10, return_paths=True)
    model_scores = scores[paths == PATHS["model"]]
    content = (X.toarray() @ cs.new_item_neighbours_.toarray()).max()
    assert content > 10 * model_scores.max()  # the raw content scale
    new_scores = scores[paths == PATHS["content"]]
    assert new_scores.size == 0 or new_scores.max() <= cs.new_item_score_map_[1].max() + 1e-9
    assert (paths == PATHS["content"]).mean() < 0.05  # 20% (2 of 10, every list) before the map


def test_seen_and_excluded_items_never_come_back_on_any_path(shop):
    inter, F, U = shop
    cs = rf.ColdStart(rf.ALS(factors=4, random_state=0), max_new_items=3).fit(inter, F, U)
    X = inter.matrix
    H = sp.vstack([X[[0]], X[[5]], empty_rows(2, X.shape[1])]).tocsr()
    ban = sp.csr_matrix(np.eye(4, cs.n_items_, k=1, dtype=np.float32) + np.eye(4, cs.n_items_, k=cs.n_items_ - 2))
    uf = U.encoder.transform({"country": ["UK", "UK", "DE", None]})
    ids, _ = cs.recommend([0, -1, -1, -1], H, k=cs.n_items_, exclude=ban, user_features=uf)
    for r in range(4):
        banned = set(H[r].indices) | set(ban[r].indices)
        assert not banned & set(ids[r][ids[r] >= 0].tolist())


def test_a_file_holds_the_wrapper_its_model_and_its_encoders(shop, tmp_path):
    inter, F, U = shop
    cs = rf.ColdStart(rf.BPR(factors=4, iterations=3, random_state=0)).fit(inter, F, U)
    cs.save(tmp_path / "cs.npz")
    back = rf.load(tmp_path / "cs.npz")
    assert type(back.model_) is rf.BPR and back.model is back.model_
    assert back.item_ids_.tolist() == F.ids.tolist() and back.user_ids_.tolist() == inter.user_ids.tolist()
    H = sp.vstack([inter.matrix[[3]], empty_rows(2, inter.n_items)]).tocsr()
    args = ([3, -1, -1], H)
    kw = {"k": 7, "user_features": {"country": ["UK", "FR", None]}, "return_paths": True}
    for a, b in zip(cs.recommend(*args, **kw), back.recommend(*args, **kw)):
        np.testing.assert_array_equal(a, b)


def test_similar_items_of_a_new_product_by_features(shop):
    inter, F, U = shop
    cs = rf.ColdStart(rf.ItemKNN()).fit(inter, F)
    new = inter.n_items + 1
    ids, scores = cs.similar_items(new, k=4)
    D = F.matrix.toarray().astype(np.float64)
    norms = np.linalg.norm(D, axis=1)
    cos = D @ D[new] / np.where(norms > 0, norms, 1) / norms[new]
    cos[new] = -np.inf
    np.testing.assert_allclose(scores, np.sort(cos)[::-1][:4], rtol=1e-5)


@pytest.mark.parametrize("k", [3, 100])
def test_a_known_products_neighbours_do_not_depend_on_the_company_it_is_asked_in(shop, k):
    """Asked beside a new product (as recforge similar --all asks), a known product still gets
    the model's neighbours, not its features' ones; the new product gets the features' ones."""
    inter, F, U = shop
    cs = rf.ColdStart(rf.ItemKNN()).fit(inter, F)
    new = inter.n_items + 1
    ids, scores = cs.similar_items([0, new, 2], k=k)
    for row, item in ((0, 0), (1, new), (2, 2)):
        want_ids, want_scores = cs.similar_items(item, k=k)
        np.testing.assert_array_equal(ids[row, : want_ids.size], want_ids)
        np.testing.assert_array_equal(scores[row, : want_scores.size], want_scores)
        assert (ids[row, want_ids.size :] == -1).all()


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda cs, X: cs.recommend([-2], X[[0]]), ValueError, "user_ids holds -2"),
        (lambda cs, X: cs.recommend([10**6], X[[0]]), ValueError, r"user_ids holds 1000000"),
        (lambda cs, X: cs.recommend([0.5], X[[0]]), TypeError, "integer ids"),
        (lambda cs, X: cs.recommend([0, 1], X[[0]]), ValueError, "user_items has 1 rows but user_ids has 2"),
        (lambda cs, X: cs.recommend([0], X[[0]][:, :3]), ValueError, "user_items has 3 columns"),
        (
            lambda cs, X: cs.recommend([-1], X[[0]], user_features=sp.csr_matrix((1, 2))),
            ValueError,
            "without user_features",
        ),
    ],
)
def test_bad_requests_are_clear_errors(shop, call, exc, match):
    inter, F, U = shop
    cs = rf.ColdStart(rf.ItemKNN()).fit(inter, F)
    with pytest.raises(exc, match=match):
        call(cs, inter.matrix)


def test_bad_fits_are_clear_errors(shop):
    inter, F, U = shop
    with pytest.raises(ValueError, match="needs a model to wrap"):
        rf.ColdStart().fit(inter)
    with pytest.raises(TypeError, match="model must be a recforge model"):
        rf.ColdStart("ALS")
    with pytest.raises(ValueError, match="cannot wrap KNNRegressor"):
        rf.ColdStart(rf.KNNRegressor()).fit(inter)
    with pytest.raises(ValueError, match="user_features rows do not follow"):
        shuffled = rf.features(
            {"c": inter.user_ids[::-1].tolist(), "x": ["a"] * inter.n_users}, id_col="c", categorical="x"
        )
        rf.ColdStart(rf.ItemKNN()).fit(inter, user_features=shuffled)
    # item rows in another order were taken as they came (the wrapped model is fitted on the
    # bare matrix, so the check against its ids never ran): new products got others' features
    with pytest.raises(ValueError, match="item_features rows do not follow"):
        shuffled = rf.features(
            {"sku": inter.item_ids[::-1].tolist(), "x": ["a"] * inter.n_items}, id_col="sku", categorical="x"
        )
        rf.ColdStart(rf.ItemKNN()).fit(inter, item_features=shuffled)
    with pytest.raises(ValueError, match="knows 5 users"):
        rf.ColdStart(rf.Popularity().fit(inter.matrix[:5])).fit(inter)


def test_short_lists_are_completed_with_trending_items(shop):
    inter, F, U = shop
    cs = rf.ColdStart(rf.ItemKNN(neighbours=2), half_life=None).fit(inter)
    bare = rf.ItemKNN(neighbours=2).fit(inter)
    X = inter.matrix
    user = int(np.argmin(np.diff(X.indptr) + (np.diff(X.indptr) == 0) * 10**6))  # a short history
    k = 15
    b_ids, _ = bare.recommend(user, X[user], k=k)
    own = b_ids[b_ids >= 0]
    assert own.size < k  # the bare model runs out of neighbours
    ids, scores, paths = cs.recommend(user, X[user], k=k, return_paths=True)
    np.testing.assert_array_equal(ids[: own.size], own)
    assert (paths[: own.size] == PATHS["model"]).all() and (paths[own.size :] == PATHS["popular"]).all()
    counts = np.bincount(X.indices, minlength=inter.n_items).astype(float)
    counts[X[user].indices] = -1
    counts[own] = -1
    np.testing.assert_array_equal(ids[own.size :], np.argsort(-counts, kind="stable")[: k - own.size])
    assert len(set(ids.tolist())) == k and not set(ids.tolist()) & set(X[user].indices.tolist())


def test_nested_parameters_reach_the_wrapped_model():
    base = pytest.importorskip("sklearn.base")
    cs = rf.ColdStart(rf.ALS(factors=4, random_state=0), half_life=86400.0)
    params = cs.get_params()
    assert params["model__factors"] == 4 and "model__factors" not in cs.get_params(deep=False)
    twin = base.clone(cs)
    assert twin.model is not cs.model and twin.model.factors == 4
    twin.set_params(model__factors=16, half_life=3600.0)
    assert twin.model.factors == 16 and twin.half_life == 3600.0 and cs.model.factors == 4
    with pytest.raises(ValueError, match="holds no parameters"):
        twin.set_params(half_life__days=1)
    with pytest.raises(ValueError, match="factors"):
        twin.set_params(model__factors=0)
    assert repr(twin).startswith("ColdStart(model=ALS(factors=16")


def test_files_and_pickles_from_before_the_score_map_score_new_products_as_they_did(shop, tmp_path):
    """A ColdStart model saved before new_item_score_map_ existed loads (the file lacks it) and
    keeps its content scores as they are; a damaged map is refused."""
    import pickle

    inter, F, _ = shop
    cs = rf.ColdStart(rf.ItemKNN(neighbours=10), max_new_items=3).fit(inter, F)
    cs.save(tmp_path / "cs.npz")
    with np.load(tmp_path / "cs.npz") as npz:
        entries = {k: v for k, v in npz.items() if not k.startswith("state.new_item_score_map_")}
    assert len(entries) < len(np.load(tmp_path / "cs.npz").files)
    np.savez(tmp_path / "old.npz", **entries)
    state = cs.__getstate__()
    del state["new_item_score_map_"]
    unpickled = rf.ColdStart.__new__(rf.ColdStart)
    unpickled.__setstate__(pickle.loads(pickle.dumps(state)))
    users = np.arange(6)
    for old in (rf.load(tmp_path / "old.npz"), unpickled):
        assert old.new_item_score_map_ is None
        ids, scores, paths = old.recommend(users, inter.matrix[users], k=inter.n_items + 3, return_paths=True)
        content = inter.matrix[users].toarray() @ old.new_item_neighbours_.toarray()
        for r in range(users.size):
            listed = ids[r][paths[r] == PATHS["content"]]
            np.testing.assert_allclose(
                scores[r][paths[r] == PATHS["content"]], content[r, listed - inter.n_items], rtol=1e-5
            )
    entries["state.new_item_score_map_"] = np.array([[1.0, 0.5], [0.0, 1.0]])  # not increasing
    np.savez(tmp_path / "bad.npz", **entries)
    with pytest.raises(ValueError, match="new_item_score_map_"):
        rf.load(tmp_path / "bad.npz")

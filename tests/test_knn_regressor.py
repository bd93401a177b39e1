"""rf.KNNRegressor against a dense numpy reference of scikit-surprise's KNNBaseline /
KNNWithMeans / KNNBasic, the shared model behaviour, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import recforge as rf
from model_behaviour import ModelBehaviour
from test_biased_mf import ratings


class TestKNNRegressor(ModelBehaviour):
    answers_new_histories = False  # a rating predictor of its training customers
    supports_similar_users = False

    def make(self, **kwargs):
        return rf.KNNRegressor(**{"neighbours": 10, **kwargs})


def reference_biases(R, mu, iterations=10, reg_u=15.0, reg_i=10.0):
    dense, mask = R.toarray(), R.toarray() != 0
    b_u, b_i = np.zeros(R.shape[0]), np.zeros(R.shape[1])
    for _ in range(iterations):
        b_i = np.array(
            [
                sum(dense[u, i] - mu - b_u[u] for u in np.nonzero(mask[:, i])[0]) / (reg_i + mask[:, i].sum())
                for i in range(R.shape[1])
            ]
        )
        b_u = np.array(
            [
                sum(dense[u, i] - mu - b_i[i] for i in np.nonzero(mask[u])[0]) / (reg_u + mask[u].sum())
                for u in range(R.shape[0])
            ]
        )
    return b_u, b_i


def reference_similarity(values, mask, metric, shrinkage):
    """Entity x entity similarity over co-rated contexts (rows of values are entities)."""
    n = values.shape[0]
    S = np.zeros((n, n))
    for a in range(n):
        for b in range(n):
            common = mask[a] & mask[b]
            m = common.sum()
            if a == b or m == 0:
                continue
            x, y = values[a, common], values[b, common]
            if metric in ("pearson_baseline", "corated_cosine"):
                den = np.sqrt((x * x).sum() * (y * y).sum())
                s = (x * y).sum() / den if den else 0.0
                if metric == "pearson_baseline":
                    s *= (m - 1) / (m - 1 + shrinkage)
            elif metric == "pearson":
                xc, yc = x - x.mean(), y - y.mean()
                den = np.sqrt((xc * xc).sum() * (yc * yc).sum())
                s = (xc * yc).sum() / den if den else 0.0
            else:
                s = 1.0 / (np.mean((x - y) ** 2) + 1)
            S[a, b] = s
    return S


def reference_predict(R, metric, baseline, k, min_k, shrinkage, user_based, pairs):
    dense, mask = R.toarray(), R.toarray() != 0
    mu = dense[mask].mean()
    b_u, b_i = reference_biases(R, mu)
    resid = np.where(mask, dense - mu - b_u[:, None] - b_i[None, :], 0)
    values = resid if metric == "pearson_baseline" else dense
    if not user_based:
        values, m_ent = values.T, mask.T
    else:
        m_ent = mask
    S = reference_similarity(values, m_ent, metric, shrinkage)
    if baseline == "als":
        base = mu + b_u[:, None] + b_i[None, :]
    elif baseline == "mean":
        counts = m_ent.sum(1)
        means = np.where(
            counts > 0, (np.where(m_ent, dense.T if not user_based else dense, 0)).sum(1) / np.maximum(counts, 1), mu
        )
        base = np.broadcast_to(means[None, :] if not user_based else means[:, None], dense.shape)
    else:
        base = np.full(dense.shape, mu)
    out = []
    for u, i in pairs:
        c, x = (i, u) if user_based else (u, i)
        rated = np.nonzero(mask[:, c] if user_based else mask[c])[0]
        sims = S[x, rated]
        order = np.lexsort((rated, -sims))[:k]
        order = order[sims[order] > 0]
        est = base[u, i]
        if len(order) >= max(min_k, 1):
            pairs_uv = [(r, i) if user_based else (u, r) for r in rated[order]]
            devs = np.array([dense[a, b] - base[a, b] for a, b in pairs_uv])
            est += (sims[order] * devs).sum() / sims[order].sum()
        out.append(est)
    return np.array(out)


@pytest.mark.parametrize(
    "metric, baseline, user_based, k, min_k",
    [
        ("pearson_baseline", "als", False, 5, 1),
        ("pearson_baseline", "als", True, 3, 2),
        ("pearson", "mean", False, 4, 1),
        ("corated_cosine", "none", False, 40, 1),
        ("msd", "als", True, 6, 1),
    ],
)
@pytest.mark.parametrize("index", [np.int32, np.int64])
def test_predict_matches_the_dense_reference(metric, baseline, user_based, k, min_k, index):
    R = ratings(3, 30, 20, 0.3, index=index)
    rng = np.random.default_rng(0)
    pairs = np.stack([rng.integers(0, 30, 80), rng.integers(0, 20, 80)], axis=1)
    model = rf.KNNRegressor(
        neighbours=k, metric=metric, baseline=baseline, user_based=user_based, min_neighbours=min_k, shrinkage=7.0
    ).fit(R)
    got = model.predict(pairs[:, 0], pairs[:, 1], clip=False)
    want = reference_predict(R, metric, baseline, k, min_k, 7.0, user_based, pairs)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def test_neighbourhood_keeps_the_most_similar_and_threads_do_not_matter():
    R = ratings(4, 60, 40, 0.3)
    full = rf.KNNRegressor(neighbours=5).fit(R)
    small = rf.KNNRegressor(neighbours=5, stored_neighbours=39, n_threads=1).fit(R)
    users, items = np.repeat(np.arange(60), 40), np.tile(np.arange(40), 60)
    np.testing.assert_allclose(full.predict(users, items), small.predict(users, items), rtol=1e-12)
    assert np.diff(rf.KNNRegressor(stored_neighbours=3).fit(R).similarity_.indptr).max() <= 3
    many = rf.KNNRegressor(neighbours=5, n_threads=3).fit(R)
    np.testing.assert_array_equal(full.predict(users, items), many.predict(users, items))


def test_unknown_ids_fall_back_to_the_baseline():
    R = ratings(5, 30, 20, 0.3)
    m = rf.KNNRegressor().fit(R)
    got = m.predict([30, 0, -1], [0, 25, 99], clip=False)
    np.testing.assert_allclose(
        got, [m.global_mean_ + m.item_bias_[0], m.global_mean_ + m.user_bias_[0], m.global_mean_]
    )


def test_recommend_ranks_by_prediction():
    R = ratings(6, 30, 20, 0.3)
    m = rf.KNNRegressor(neighbours=5).fit(R)
    ids, scores = m.recommend(np.arange(30), R, k=4)
    for u in range(30):
        unseen = np.setdiff1d(np.arange(20), R[u].indices)
        pred = m.predict(u, unseen, clip=False)
        want = unseen[np.lexsort((unseen, -pred))][:4]
        np.testing.assert_array_equal(ids[u][: len(want)], want)
        np.testing.assert_allclose(scores[u][: len(want)], np.sort(pred)[::-1][:4])


def test_user_based_similar_users_and_not_items():
    R = ratings(7, 30, 20, 0.3)
    m = rf.KNNRegressor(user_based=True).fit(R)
    ids, _ = m.similar_users([0, 1], k=3)
    assert ids.shape == (2, 3)
    with pytest.raises(NotImplementedError, match="no item similarity"):
        m.similar_items([0])


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"neighbours": 0}, ValueError, "neighbours must be >= 1"),
        ({"metric": "jaccard"}, ValueError, "metric must be one of"),
        ({"baseline": "sgd"}, ValueError, "baseline must be one of"),
        ({"shrinkage": -1}, ValueError, "shrinkage must be >= 0"),
        ({"min_neighbours": -1}, ValueError, "min_neighbours must be >= 0"),
        ({"stored_neighbours": 0}, ValueError, "stored_neighbours must be >= 1"),
        ({"user_based": 1}, TypeError, "user_based must be a bool"),
    ],
)
def test_bad_parameters(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        rf.KNNRegressor(**kwargs)


def test_bad_input_and_files(tmp_path):
    R = ratings(8, 30, 20, 0.3)
    bad = R.copy()
    bad.data[0] = np.inf
    with pytest.raises(ValueError, match="non-finite value"):
        rf.KNNRegressor().fit(bad)
    m = rf.KNNRegressor().fit(R)
    with pytest.raises(TypeError, match="item_ids must hold integer ids"):
        m.predict([0], ["a"])
    m.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["state.user_bias_"] = arrays["state.user_bias_"][:3]
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="user_bias_ has shape"):
        rf.load(tmp_path / "bad.npz")
    np.testing.assert_array_equal(rf.load(tmp_path / "m.npz").predict([1, 2], [3, 4]), m.predict([1, 2], [3, 4]))


def test_former_argument_names_still_work_with_a_warning(tmp_path):
    R = ratings(5, 30, 20, 0.3)
    with pytest.warns(FutureWarning) as said:
        old = rf.KNNRegressor(k=7, min_k=2, neighbourhood=10)
    assert sorted(str(w.message).split(":")[1].strip() for w in said) == [
        "use min_neighbours",
        "use neighbours",
        "use stored_neighbours",
    ]
    assert (old.neighbours, old.min_neighbours, old.stored_neighbours) == (7, 2, 10)
    assert "k" not in old.get_params() and old.get_params()["neighbours"] == 7
    with pytest.warns(FutureWarning, match="corated_cosine"):
        assert rf.KNNRegressor(metric="cosine").metric == "corated_cosine"
    with pytest.raises(TypeError, match="give neighbours only"):
        rf.KNNRegressor(neighbours=5, k=7)
    with pytest.warns(FutureWarning):
        assert rf.ItemKNN(k=12).neighbours == 12
    # a bad value is named as the caller wrote it ("neighbours must be >= 0" answered k=-1)
    for make, match in [
        (lambda: rf.ItemKNN(k=-1), "k must be >= 1, got -1"),
        (lambda: rf.KNNRegressor(min_k=-1), "min_k must be >= 0"),
        (lambda: rf.KNNRegressor(neighbourhood=0), "neighbourhood must be >= 1"),
    ]:
        with pytest.warns(FutureWarning), pytest.raises(ValueError, match=match):
            make()
    with pytest.raises(ValueError, match="neighbours must be >= 1"):
        rf.KNNRegressor(neighbours=0)
    # no neighbour at all recommended nothing to anyone, without a word: refused, as by every
    # model with neighbours (rf.similarity(k=0) stays an empty matrix)
    for model in (rf.ItemKNN, rf.UserKNN, rf.RP3beta):
        with pytest.raises(ValueError, match="neighbours must be >= 1, got 0"):
            model(neighbours=0)
    # A model file written with the former names still loads.
    from test_data_faults import rewrite

    path = tmp_path / "m.npz"
    rf.KNNRegressor(neighbours=7).fit(R).save(path)
    params = rf.KNNRegressor(neighbours=7).get_params()
    params = {("k" if n == "neighbours" else n): v for n, v in params.items()}
    import json

    rewrite(path, __params__=json.dumps(params))
    with pytest.warns(FutureWarning):
        assert rf.load(path).neighbours == 7

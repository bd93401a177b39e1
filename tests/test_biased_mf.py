"""rf.BiasedMF: stratified SGD and ALS against numpy references, prediction fallbacks, the shared
model behaviour, reproducibility and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import recforge as rf
import scipy.sparse as sp
from model_behaviour import ModelBehaviour
from recforge import _core


def ratings(seed=0, n_users=50, n_items=30, density=0.3, dtype=np.float64, index=np.int32):
    rng = np.random.default_rng(seed)
    R = sp.random(
        n_users,
        n_items,
        density=density,
        format="csr",
        random_state=seed,
        data_rvs=lambda n: rng.integers(1, 6, n).astype(float),
    )
    R = sp.csr_matrix((R.data.astype(dtype), R.indices.astype(index), R.indptr.astype(index)), shape=R.shape)
    return R


def low_rank(seed=0, n_users=200, n_items=100, share=0.3):
    """Ratings 3 + U V^T / 2 (rank 3), a share of them stored; returns (train, full, mask)."""
    rng = np.random.default_rng(seed)
    U, V = rng.normal(size=(n_users, 3)), rng.normal(size=(n_items, 3))
    full = 3 + U @ V.T * 0.5
    mask = rng.random(full.shape) < share
    return sp.csr_matrix(np.where(mask, full, 0)), full, mask


def rmse(model, R):
    C = R.tocoo()
    return np.sqrt(np.mean((model.predict(C.row, C.col, clip=False) - C.data) ** 2))


class TestBiasedMF(ModelBehaviour):
    def make(self, **kwargs):
        return rf.BiasedMF(**{"factors": 6, "iterations": 5, "random_state": 0, **kwargs})


class TestBiasedMFALS(ModelBehaviour):
    def make(self, **kwargs):
        return rf.BiasedMF(**{"factors": 6, "iterations": 3, "solver": "als", "random_state": 0, **kwargs})


def numpy_sgd_step(P, Q, bu, bi, mu, u, i, r, lr, reg, lr_b, reg_b):
    err = r - (mu + bu[u] + bi[i] + P[u] @ Q[i])
    bu[u] += lr_b * (err - reg_b * bu[u])
    bi[i] += lr_b * (err - reg_b * bi[i])
    p, q = P[u].copy(), Q[i].copy()
    P[u] = p + lr * (err * q - reg * p)
    Q[i] = q + lr * (err * p - reg * q)
    return err**2


@pytest.mark.parametrize("dtype, index", [(np.float64, np.int32), (np.float32, np.int64)])
def test_sgd_epoch_matches_numpy_when_order_cannot_matter(dtype, index):
    # Every rating has its own user and item, so the visiting order cannot change the result.
    rng = np.random.default_rng(1)
    n, f = 40, 5
    users, items = rng.permutation(n).astype(index), rng.permutation(n).astype(index)
    r = rng.integers(1, 6, n).astype(dtype)
    P, Q = rng.standard_normal((n, f)).astype(dtype) * 0.3, rng.standard_normal((n, f)).astype(dtype) * 0.3
    bu, bi = rng.standard_normal(n).astype(dtype) * 0.1, rng.standard_normal(n).astype(dtype) * 0.1
    want = [a.astype(np.float64) for a in (P, Q, bu, bi)]
    sse = sum(
        numpy_sgd_step(*want, 3.0, int(u), int(i), float(v), 0.05, 0.02, 0.03, 0.1) for u, i, v in zip(users, items, r)
    )
    block_ptr = np.array([0, n], dtype=np.int64)
    got = _core.mf_sgd_epochs(
        users.copy(), items.copy(), r.copy(), block_ptr, P, Q, bu, bi, 3.0, 0.05, 0.02, 0.03, 0.1, 1.0, 7, 0, 1, 2
    )
    tol = 1e-12 if dtype == np.float64 else 1e-5
    for a, b in zip((P, Q, bu, bi), want):
        np.testing.assert_allclose(a, b, atol=tol)
    np.testing.assert_allclose(got[0], sse, rtol=tol * 10)


@pytest.mark.parametrize("solver", ["sgd", "als"])
def test_training_error_decreases(solver):
    R, _, _ = low_rank()
    seen = []
    rf.BiasedMF(
        factors=3, iterations=12, solver=solver, random_state=0, learning_rate=0.02, learning_rate_decay=1.0
    ).fit(R, callback=lambda t, s, loss: seen.append(loss))
    assert len(seen) == 12 and seen[-1] < 0.8 * seen[0]
    assert all(b <= a * (1 + 1e-9) for a, b in zip(seen, seen[1:]))


def test_learns_a_low_rank_rating_matrix():
    train, full, mask = low_rank()
    test_rows, test_cols = np.nonzero(~mask)
    for solver in ("sgd", "als"):
        model = rf.BiasedMF(
            factors=3,
            iterations=60,
            solver=solver,
            learning_rate=0.02,
            learning_rate_decay=1.0,
            regularization=0.01,
            bias_regularization=0.0,
            random_state=0,
        ).fit(train)
        err = np.sqrt(np.mean((model.predict(test_rows, test_cols, clip=False) - full[~mask]) ** 2))
        assert err < 0.15 * full.std(), solver


def test_ridge_rows_matches_numpy():
    rng = np.random.default_rng(3)
    for index, dtype in [(np.int32, np.float64), (np.int64, np.float32)]:
        T = sp.random(25, 40, density=0.2, format="csr", random_state=4, dtype=np.float64)
        T = sp.csr_matrix((T.data.astype(dtype), T.indices.astype(index), T.indptr.astype(index)), shape=T.shape)
        F = rng.standard_normal((40, 5)).astype(dtype)
        lam = np.array([0.3, 0.3, 0.3, 0.3, 0.05])
        X = np.full((25, 5), np.nan, dtype=dtype)
        assert _core.ridge_rows(T.indptr, T.indices, T.data, 40, F, lam, X, 3) == 0
        for r in range(25):
            cols, y = T[r].indices, T[r].data.astype(np.float64)
            if cols.size == 0:
                np.testing.assert_array_equal(X[r], 0)
                continue
            A = F[cols].astype(np.float64).T @ F[cols] + cols.size * np.diag(lam)
            want = np.linalg.solve(A, F[cols].astype(np.float64).T @ y)
            np.testing.assert_allclose(X[r], want, rtol=1e-4 if dtype == np.float32 else 1e-9, atol=1e-5)


def test_als_fit_is_the_objective_minimiser_for_each_side():
    # After a sweep the users are exactly the ridge solutions given the items (the last step).
    R = ratings(5, 40, 25, 0.3)
    m = rf.BiasedMF(
        factors=4,
        iterations=3,
        solver="als",
        dtype="float64",
        regularization=0.1,
        bias_regularization=0.02,
        random_state=0,
    ).fit(R)
    lam = np.array([0.1] * 4 + [0.02])
    F = np.hstack([m.item_factors_, np.ones((25, 1))])
    for u in range(40):
        cols, r = R[u].indices, R[u].data
        if cols.size == 0:
            continue
        A = F[cols].T @ F[cols] + cols.size * np.diag(lam)
        x = np.linalg.solve(A, F[cols].T @ (r - m.global_mean_ - m.item_bias_[cols]))
        np.testing.assert_allclose(np.append(m.user_factors_[u], m.user_bias_[u]), x, atol=1e-9)


def test_predict_is_mu_plus_biases_plus_dot_and_unknown_ids_fall_back():
    R = ratings(6)
    m = rf.BiasedMF(factors=4, iterations=4, random_state=0, dtype="float64").fit(R)
    users, items = np.array([0, 3, 49, 50, -1, 0, 1000]), np.array([1, 29, 0, 2, 5, 30, -7])
    got = m.predict(users, items, clip=False)
    mu, P, Q, bu, bi = m.global_mean_, m.user_factors_, m.item_factors_, m.user_bias_, m.item_bias_
    want = [
        mu + bu[0] + bi[1] + P[0] @ Q[1],
        mu + bu[3] + bi[29] + P[3] @ Q[29],
        mu + bu[49] + bi[0] + P[49] @ Q[0],
        mu + bi[2],
        mu + bi[5],
        mu + bu[0],
        mu,
    ]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    clipped = m.predict(users, items)
    assert clipped.min() >= 1 and clipped.max() <= 5
    np.testing.assert_allclose(m.predict(3, [0, 1], clip=False), m.predict([3, 3], [0, 1], clip=False))
    assert m.predict([], []).shape == (0,)


def test_recommend_ranks_by_the_full_prediction():
    R = ratings(7)
    m = rf.BiasedMF(factors=4, iterations=4, random_state=0, dtype="float64").fit(R)
    ids, scores = m.recommend(np.arange(10), R[:10], k=5)
    for u in range(10):
        np.testing.assert_allclose(scores[u], m.predict(u, ids[u], clip=False), rtol=1e-12)
        unseen = np.setdiff1d(np.arange(30), R[u].indices)
        best = np.sort(m.predict(u, unseen, clip=False))[::-1][:5]
        np.testing.assert_allclose(scores[u][: len(best)], best, rtol=1e-12)


@pytest.mark.parametrize("solver", ["sgd", "als"])
def test_seeded_fits_are_identical_for_any_thread_count_and_with_a_callback(solver, monkeypatch):
    # Small data would run on one thread whatever n_threads says: lift the work floor so that
    # several threads really run the strata.
    from recforge.models import biased_mf

    monkeypatch.setattr(biased_mf, "SGD_RATINGS_PER_THREAD", 1)
    R = ratings(8, 300, 200, 0.1)
    kw = dict(factors=8, iterations=4, solver=solver, random_state=3)
    a = rf.BiasedMF(n_threads=1, **kw).fit(R)
    b = rf.BiasedMF(n_threads=3, **kw).fit(R, callback=lambda *args: None)
    for name in ("user_factors_", "item_factors_", "user_bias_", "item_bias_"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    c = rf.BiasedMF(n_threads=2, **{**kw, "random_state": 4}).fit(R)
    assert not np.array_equal(a.user_factors_, c.user_factors_)


def test_defaults_fit_rated_data_better_than_the_global_mean():
    R = ratings(9, 200, 80, 0.2)
    m = rf.BiasedMF(random_state=0).fit(R)
    assert rmse(m, R) < R.data.std()


@pytest.mark.parametrize("model", [rf.BiasedMF, rf.KNNRegressor])
def test_rating_models_say_when_every_rating_is_the_same(model, recwarn):
    """Purchases or clicks (every weight 1) fitted as ratings: nothing to learn, and the lists
    followed initial noise (BiasedMF's precision@10 on MovieLens latest-small: 0.0007, a fifth
    of chance), without a word."""
    R = ratings(3)
    model().fit(R)
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]  # ratings: silent
    R.data[:] = 1.0
    with pytest.warns(UserWarning, match=f"{model.__name__} predicts ratings, and every rating here is 1"):
        model().fit(R)


def test_divergence_raises_with_advice_that_fits_the_data():
    R = ratings(10)
    with pytest.raises(FloatingPointError, match="lower learning_rate"):  # ratings: the step is too big
        rf.BiasedMF(learning_rate=50.0, learning_rate_decay=1.0, iterations=30, random_state=0).fit(R)
    R.data *= 1e3
    with pytest.raises(FloatingPointError, match="rating scale"):  # amounts: rescale them
        rf.BiasedMF(learning_rate=5.0, learning_rate_decay=1.0, iterations=30, random_state=0).fit(R)


@pytest.mark.parametrize(
    "model, kwargs, advice",
    [
        # every divergence said "lower learning_rate (now 0.03)", whichever parameter overshot
        (rf.BiasedMF, {"regularization": 1e7}, r"learning_rate x regularization = 300000 >= 1.*or regularization"),
        (rf.BiasedMF, {"bias_regularization": 1e7}, r"learning_rate x bias_regularization = 300000 >= 1"),
        (rf.BiasedMF, {"bias_learning_rate": 1.5}, r"lower bias_learning_rate \(now 1.5\) or learning_rate"),
        (rf.BiasedMF, {"init_std": 1.5}, r"init_std=1.5 starts 32 factors with predictions of about \+-12.7"),
        (rf.BPR, {"regularization": 1e7}, r"BPR diverged.*learning_rate x regularization = 200000 >= 1"),
    ],
)
def test_divergence_names_the_parameter_that_overshoots(model, kwargs, advice):
    R = ratings(10)
    with pytest.raises(FloatingPointError, match=advice):
        model(random_state=0, **kwargs).fit(R)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"factors": 0}, ValueError, "factors must be >= 1"),
        ({"iterations": 0}, ValueError, "iterations must be >= 1"),  # random factors posed as a model
        ({"learning_rate": 0}, ValueError, "learning_rate must be > 0"),
        ({"learning_rate": -1}, ValueError, "learning_rate must be >= 0"),
        ({"regularization": -0.1}, ValueError, "regularization must be >= 0"),
        ({"learning_rate_decay": 1.5}, ValueError, r"learning_rate_decay must be in \(0, 1\]"),
        ({"solver": "adam"}, ValueError, "solver must be one of"),
        ({"dtype": "int8"}, ValueError, "dtype must be float32 or float64"),
        ({"random_state": -1}, ValueError, "random_state must be >= 0"),
        ({"iterations": 2.5}, TypeError, "iterations must be an integer"),
    ],
)
def test_bad_parameters(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        rf.BiasedMF(**kwargs)


def test_bad_input():
    R = ratings(11)
    bad = R.copy()
    bad.data[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        rf.BiasedMF().fit(bad)
    m = rf.BiasedMF(iterations=2).fit(R)
    with pytest.raises(TypeError, match="user_ids must hold integer ids"):
        m.predict([0.5], [1])
    with pytest.raises(ValueError, match="same length"):
        m.predict([0, 1], [1, 2, 3])
    with pytest.raises(TypeError, match="callback must be callable"):
        rf.BiasedMF().fit(R, callback=3)
    with pytest.raises(rf.NotFittedError):
        rf.BiasedMF().predict([0], [0])


def test_load_rejects_wrong_state(tmp_path):
    m = rf.BiasedMF(iterations=2).fit(ratings(12))
    path = tmp_path / "m.npz"
    m.save(path)
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["state.item_bias_"] = arrays["state.item_bias_"][:-1]
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="item_bias_ has shape"):
        rf.load(tmp_path / "bad.npz")
    loaded = rf.load(path)
    np.testing.assert_array_equal(loaded.predict([0, 1], [2, 3]), m.predict([0, 1], [2, 3]))
    assert isinstance(loaded.global_mean_, float)

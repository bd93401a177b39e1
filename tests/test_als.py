"""rf.ALS against numpy references: the exact half-step (dense solve), preconditioned CG step by
step, the training objective; fold-in, growth, explanations; bad input."""

from __future__ import annotations

import numpy as np
import pytest
import recforge as rf
import scipy.sparse as sp
from model_behaviour import ModelBehaviour, interactions


class TestALS(ModelBehaviour):
    def make(self, **kwargs):
        return rf.ALS(factors=6, iterations=4, random_state=0, **kwargs)


class TestALSCholesky(ModelBehaviour):
    def make(self, **kwargs):
        return rf.ALS(factors=12, iterations=3, solver="cholesky", random_state=1, **kwargs)


# -- references ---------------------------------------------------------------------------------
def confidence(R: np.ndarray, alpha: float):
    """Dense confidence minus one (d) and confidence x preference (w) of a dense value matrix."""
    return alpha * np.abs(R), np.where(R > 0, 1.0 + alpha * R, 0.0)


def exact_half_step(R: np.ndarray, Y: np.ndarray, lam: float, alpha: float) -> np.ndarray:
    """Every row of R solved exactly: (Y^T Y + lam I + Y^T D_u Y) x = Y^T w_u."""
    d, w = confidence(R, alpha)
    B = Y.T @ Y + lam * np.eye(Y.shape[1])
    return np.array([np.linalg.solve(B + (Y.T * d[u]) @ Y, Y.T @ w[u]) for u in range(R.shape[0])])


def pcg_half_step(R, Y, lam, alpha, X0, steps):
    """CG preconditioned by B = Y^T Y + lam I, written plainly: CG on L^-1 A L^-T from L^T x0."""
    d, w = confidence(R, alpha)
    B = Y.T @ Y + lam * np.eye(Y.shape[1])
    L = np.linalg.cholesky(B)
    Linv = np.linalg.inv(L)
    out = np.empty_like(X0)
    for u in range(R.shape[0]):
        A = Linv @ (B + (Y.T * d[u]) @ Y) @ Linv.T  # the whitened system
        z = Linv @ (Y.T @ w[u])
        x = L.T @ X0[u]
        r = z - A @ x
        p = r.copy()
        rs = r @ r
        for _ in range(steps):
            if not rs > 1e-20:
                break
            Ap = A @ p
            a = rs / (p @ Ap)
            x += a * p
            r -= a * Ap
            rs_new = r @ r
            if not rs_new > 1e-20:
                break
            p = r + rs_new / rs * p
            rs = rs_new
        out[u] = Linv.T @ x
    return out


def initial_users(n_users, factors, seed, dtype):
    return (np.random.default_rng(seed).standard_normal((n_users, factors)) * 0.01).astype(dtype)


def data(seed=0, n_users=40, n_items=25, density=0.2, negatives=False, index_dtype=np.int32, dtype=np.float64):
    X = sp.random(n_users, n_items, density=density, format="csr", random_state=seed)
    X.data = np.round(X.data * 5 + 0.5)
    if negatives:
        X.data[::4] *= -1
    X = sp.lil_matrix(X)
    X[1, :] = 0  # an empty user
    X[:, 2] = 0  # an unused item
    X = sp.csr_matrix(X, dtype=dtype)
    X.eliminate_zeros()
    X.indptr, X.indices = X.indptr.astype(index_dtype), X.indices.astype(index_dtype)
    return X


# -- the solvers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("shape, factors", [((40, 25), 5), ((30, 90), 16), ((12, 7), 9)])
def test_cholesky_is_the_exact_alternating_solve(dtype, index_dtype, shape, factors):
    # Rows shorter and longer than `factors` (both exact paths), dislikes, an empty row and column.
    X = data(shape[0] + shape[1], *shape, density=0.35, negatives=True, index_dtype=index_dtype)
    lam, alpha = 0.5, 3.0
    model = rf.ALS(
        factors=factors, regularization=lam, alpha=alpha, iterations=2, solver="cholesky", dtype=dtype, random_state=7
    ).fit(X)
    R = X.toarray()
    U = initial_users(shape[0], factors, 7, dtype).astype(np.float64)
    for _ in range(2):
        V = exact_half_step(R.T, U, lam, alpha)
        U = exact_half_step(R, V, lam, alpha)
    tol = 2e-3 if dtype == np.float32 else 1e-9
    np.testing.assert_allclose(model.item_factors_, V, rtol=tol, atol=tol * np.abs(V).max())
    np.testing.assert_allclose(model.user_factors_, U, rtol=tol, atol=tol * np.abs(U).max())
    assert model.user_factors_.dtype == dtype
    assert np.all(model.item_factors_[2] == 0) and np.all(model.user_factors_[1] == 0)


@pytest.mark.parametrize("steps", [1, 3])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_cg_steps_are_preconditioned_cg(steps, index_dtype):
    X = data(3, 30, 50, density=0.3, negatives=True, index_dtype=index_dtype)
    lam, alpha, f = 0.1, 2.0, 7
    model = rf.ALS(
        factors=f, regularization=lam, alpha=alpha, iterations=1, cg_steps=steps, dtype="float64", random_state=3
    ).fit(X)
    R = X.toarray()
    U0 = initial_users(30, f, 3, np.float64)
    V = pcg_half_step(R.T, U0, lam, alpha, np.zeros((50, f)), steps)
    U = pcg_half_step(R, V, lam, alpha, U0, steps)
    np.testing.assert_allclose(model.item_factors_, V, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(model.user_factors_, U, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cg_converges_to_the_cholesky_solution(dtype):
    X = data(5, 50, 40, density=0.25)
    exact = rf.ALS(factors=8, iterations=6, solver="cholesky", dtype=dtype, random_state=0).fit(X)
    cg = rf.ALS(factors=8, iterations=6, cg_steps=8, dtype=dtype, random_state=0).fit(X)  # f steps: exact
    tol = 1e-3 if dtype == np.float32 else 1e-8
    scale = np.abs(exact.user_factors_).max()
    np.testing.assert_allclose(cg.user_factors_, exact.user_factors_, atol=tol * scale)


def objective(R, U, V, lam, alpha):
    d, _ = confidence(R, alpha)
    P = (R > 0).astype(float)
    S = U.astype(float) @ V.astype(float).T
    total = ((1 + d) * (P - S) ** 2).sum() + lam * ((U.astype(float) ** 2).sum() + (V.astype(float) ** 2).sum())
    return total / (R.size + d.sum())


@pytest.mark.parametrize("solver", ["cg", "cholesky"])
def test_training_loss_is_the_objective_and_decreases(solver):
    X = data(6, 60, 30, density=0.2, negatives=True)
    seen = []
    model = rf.ALS(
        factors=5,
        regularization=0.2,
        alpha=4.0,
        iterations=6,
        solver=solver,
        calculate_loss=True,
        dtype="float64",
        random_state=2,
    )
    model.fit(X, callback=lambda it, elapsed, loss: seen.append((it, elapsed, loss)))
    assert [s[0] for s in seen] == list(range(6)) and all(s[1] >= 0 for s in seen)
    losses = [s[2] for s in seen]
    assert model.loss_ == losses[-1]
    np.testing.assert_allclose(
        losses[-1], objective(X.toarray(), model.user_factors_, model.item_factors_, 0.2, 4.0), rtol=1e-10
    )
    assert all(b <= a + 1e-12 for a, b in zip(losses, losses[1:]))  # ALS never increases it
    quiet = []
    rf.ALS(factors=5, iterations=2).fit(X, callback=lambda *args: quiet.append(args[2]))
    assert quiet == [None, None]


@pytest.mark.parametrize("solver", ["cg", "cholesky"])
def test_factors_do_not_depend_on_threads_and_follow_the_seed(solver):
    X = interactions(seed=5, n_users=300, n_items=80)
    one = rf.ALS(factors=16, iterations=3, solver=solver, random_state=4, n_threads=1).fit(X)
    many = rf.ALS(factors=16, iterations=3, solver=solver, random_state=4, n_threads=3).fit(X)
    np.testing.assert_array_equal(one.user_factors_, many.user_factors_)
    np.testing.assert_array_equal(one.item_factors_, many.item_factors_)
    other = rf.ALS(factors=16, iterations=3, solver=solver, random_state=5).fit(X)
    assert not np.array_equal(one.user_factors_, other.user_factors_)


def test_seeded_fits_are_identical_whatever_the_heap(factors=8):
    """Refitting with the seed and thread count gave factors differing in the last bit: the CG
    step's working vectors came from malloc at addresses (mod 64 bytes) that differ by run and
    by thread, and GCC's vectorised loops round differently in their scalar prologue up to
    such a boundary. Heap blocks of random sizes are taken between the fits to move them."""
    X = rf.datasets.sample().interactions.matrix
    rng = np.random.default_rng(0)
    held, fits = [], []
    for threads in (1, 2, 2, 3, 2):
        held += [np.empty(int(n), np.uint8) for n in rng.integers(1, 5000, int(rng.integers(1, 20)))]
        model = rf.ALS(factors=factors, iterations=2, random_state=0, n_threads=threads).fit(X)
        fits.append((model.user_factors_, model.item_factors_))
    for users, items in fits[1:]:
        np.testing.assert_array_equal(users, fits[0][0])
        np.testing.assert_array_equal(items, fits[0][1])


def test_recommend_scores_are_factor_products():
    X = interactions(seed=6)
    model = rf.ALS(factors=6, iterations=3, random_state=0).fit(X)
    users = np.arange(X.shape[0])
    ids, scores = model.recommend(users, X, k=5)
    full = model.user_factors_ @ model.item_factors_.T
    full[X.toarray() != 0] = -np.inf
    want = np.argsort(-full, axis=1, kind="stable")[:, :5]
    np.testing.assert_allclose(scores, np.take_along_axis(full, want, axis=1), rtol=1e-5)


# -- new users and items --------------------------------------------------------------------------
def test_fold_in_reproduces_the_trained_users():
    X = data(8, 50, 30, density=0.3, negatives=True)
    model = rf.ALS(factors=6, iterations=3, solver="cholesky", alpha=2.0, random_state=0).fit(X)
    np.testing.assert_allclose(model.fold_in_users(X), model.user_factors_, rtol=1e-5, atol=1e-7)
    ids, scores = model.recommend(np.arange(50), X, k=4)
    new_ids, new_scores = model.recommend(np.arange(50), X, k=4, recalculate_user=True)
    active = np.diff(X.indptr) > 0
    assert not active.all()  # the data has customers without interactions
    np.testing.assert_array_equal(ids[active], new_ids[active])
    np.testing.assert_allclose(scores[active], new_scores[active], rtol=1e-5)
    # From an empty history there is nothing to answer from: padding, not the first items.
    assert (new_ids[~active] == -1).all() and np.isneginf(new_scores[~active]).all()
    # New customers: ids are labels only.
    ids, _ = model.recommend([1000, 1001], X[[3, 4]], k=4, recalculate_user=True)
    np.testing.assert_array_equal(ids, new_ids[[3, 4]])


def test_partial_fit_grows_the_model():
    X = data(9, 50, 30, density=0.3)
    model = rf.ALS(factors=6, iterations=3, solver="cholesky", random_state=0).fit(X[:40])
    V = model.item_factors_.copy()
    model.partial_fit_users([45, 3], X[[45, 3]])
    assert model.n_users_ == 46 and model.user_factors_.shape == (46, 6)
    np.testing.assert_allclose(model.user_factors_[[45, 3]], model.fold_in_users(X[[45, 3]]), rtol=1e-6)
    assert np.all(model.user_factors_[40:45] == 0)
    np.testing.assert_array_equal(model.item_factors_, V)
    items = sp.csr_matrix(np.ones((2, 46)))
    model.partial_fit_items([31, 0], items)
    assert model.n_items_ == 32 and model.item_factors_.shape == (32, 6)
    ids, _ = model.recommend([45], sp.csr_matrix((1, 32)), k=32)
    assert set(ids[0][ids[0] >= 0]) == set(range(32))
    with pytest.raises(ValueError, match="has 30 columns but the model knows 32 items"):
        model.fold_in_users(X[:2])


def test_explain_splits_the_score_over_the_history():
    X = data(10, 50, 30, density=0.3, negatives=True)
    model = rf.ALS(factors=6, iterations=3, solver="cholesky", alpha=2.0, random_state=0).fit(X)
    u = int(np.argmax(np.diff(X.indptr)))
    score, ids, contributions = model.explain(u, X, 5, k=100)
    assert score == pytest.approx(float(model.user_factors_[u] @ model.item_factors_[5]), rel=1e-4)
    assert contributions.sum() == pytest.approx(score, rel=1e-9, abs=1e-12)
    assert set(ids) == {i for i, r in zip(X[u].indices, X[u].data) if r > 0} | set(ids)
    assert np.all(np.diff(contributions) <= 0)
    top_score, top_ids, top = model.explain(u, X[u], 5, k=2)
    assert top_score == pytest.approx(score) and top_ids.tolist() == ids[:2].tolist()


# -- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"factors": 0}, ValueError, "factors must be >= 1"),
        ({"regularization": -0.1}, ValueError, "regularization must be >= 0"),
        ({"alpha": -1.0}, ValueError, "alpha must be >= 0"),
        ({"alpha": float("nan")}, ValueError, "alpha must be finite"),
        ({"iterations": -1}, ValueError, "iterations must be >= 1"),
        # 0 fitted nothing: the random starting factors answered as a model, without a word
        ({"iterations": 0}, ValueError, "iterations must be >= 1"),
        ({"solver": "lu"}, ValueError, "solver must be one of 'cg', 'cholesky'"),
        ({"solver": "cholesk"}, ValueError, r"got 'cholesk' \(did you mean 'cholesky'\?\)"),  # the one meant
        ({"cg_steps": 0}, ValueError, "cg_steps must be >= 1"),
        ({"dtype": "float16"}, ValueError, "dtype must be float32 or float64"),
        ({"dtype": "bogus"}, TypeError, "dtype must be float32 or float64"),
        ({"random_state": -1}, ValueError, "random_state must be >= 0"),
        ({"random_state": "x"}, TypeError, "random_state must be an integer"),
        ({"calculate_loss": 1}, TypeError, "calculate_loss must be a bool"),
    ],
)
def test_bad_parameters(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        rf.ALS(**kwargs)


def test_bad_fit_input_and_divergence():
    X = data(11)
    bad = X.copy()
    bad.data[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        rf.ALS().fit(bad)
    with pytest.raises(TypeError, match="callback must be callable"):
        rf.ALS().fit(X, callback=3)
    with pytest.raises(ValueError, match="overflows float32"):
        rf.ALS(alpha=1e38).fit(X * 10)
    with pytest.raises(FloatingPointError, match=r"ALS diverged at iteration 1: .* alpha \* \|r\| is .*log1p"):
        rf.ALS(alpha=1e36, factors=4, random_state=0).fit(X * 10)
    huge = X.copy()
    huge.data[:5] = 1e25  # amounts where counts belong: the message says so
    with pytest.raises(FloatingPointError, match=r"the largest confidence alpha \* \|r\| is 4e\+25"):
        rf.ALS(iterations=2, random_state=0).fit(huge)
    with pytest.raises(ValueError, match="not positive definite"):
        rf.ALS(regularization=0.0, factors=8).fit(sp.csr_matrix((3, 2)))  # rank 0 < 8 factors


def test_bad_fold_in_and_explain_input():
    X = data(12)
    model = rf.ALS(factors=4, iterations=2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="one row per id"):
        model.partial_fit_users([1, 2], X[[1]])
    with pytest.raises(ValueError, match="user_ids holds user id -1"):
        model.partial_fit_users([-1], X[[1]])
    with pytest.raises(ValueError, match="item_users has 39 columns but the model knows 40 users"):
        model.partial_fit_items([0], sp.csr_matrix((1, 39)))
    with pytest.raises(ValueError, match="item_id holds item id 25"):
        model.explain(0, X, 25)
    with pytest.raises(ValueError, match="user's row"):
        model.explain(0, X[:3], 1)
    with pytest.raises(TypeError, match="recalculate_user must be a bool"):
        model.recommend([0], X[[0]], recalculate_user="yes")


def test_load_rejects_factors_of_the_wrong_shape(tmp_path):
    model = rf.ALS(factors=4, iterations=1, random_state=0).fit(data(13))
    path = tmp_path / "m.npz"
    model.save(path)
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["state.item_factors_"] = arrays["state.item_factors_"][:, :3].copy()
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="item_factors_ has shape"):
        rf.load(path)
    arrays["state.item_factors_"] = np.zeros((25, 4), dtype=np.float64)
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="C-contiguous float32"):
        rf.load(path)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, f", [(0, 4), (5, 3), (1500, 8), (70_000, 5)])
def test_whitening_steps_compose_to_als_whiten_bit_for_bit(dtype, n, f):
    # What recforge.distributed's ALS runs where the factor blocks live: the Gram of each
    # fixed row chunk, their sum in chunk order, the factorisation, then each row whitened.
    from recforge import _core

    Y = np.random.default_rng(n).standard_normal((n, f)).astype(dtype)
    Yt, L, Linv, G = _core.als_whiten(Y, 0.7, 2)
    edges = _core.als_gram_chunk_edges(n)
    assert edges[0] == 0 and edges[-1] == n and len(edges) <= 65
    np.testing.assert_array_equal(edges, np.sort(edges))
    middle = edges[len(edges) // 2]  # two blocks of whole chunks, computed apart
    chunks = [
        _core.als_gram_chunks(Y[:middle], edges[edges <= middle], 1),
        _core.als_gram_chunks(Y[middle:], edges[edges >= middle] - middle, 2),
    ]
    total = np.zeros((f, f))
    for block in chunks:
        for partial in block:
            total += partial
    L2, Linv2, G2 = _core.als_factor(total, 0.7, np.dtype(dtype).name)
    np.testing.assert_array_equal(G2, G)
    np.testing.assert_array_equal(L2, L)
    np.testing.assert_array_equal(Linv2, Linv)
    cut = n // 3 + 1 if n else 0  # rows whitened in blocks that do not follow the chunks
    Yt2 = np.concatenate([_core.als_whiten_rows(Y[:cut], Linv2, 1), _core.als_whiten_rows(Y[cut:], Linv2, 2)])
    np.testing.assert_array_equal(Yt2, Yt)
    ref = Y.astype(np.float64).T @ Y.astype(np.float64) + 0.7 * np.eye(f)
    scale = max(1.0, float(np.abs(ref).max()))  # float32 factors: Gram sums in float32 blocks
    np.testing.assert_allclose(G2, ref, rtol=0, atol=(1e-5 if dtype == np.float32 else 1e-12) * scale)


def test_whitening_steps_reject_bad_input():
    from recforge import _core

    Y = np.ones((10, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="edges"):
        _core.als_gram_chunks(Y, np.array([0, 11]), 1)
    with pytest.raises(ValueError, match="edges"):
        _core.als_gram_chunks(Y, np.array([5, 2]), 1)
    with pytest.raises(ValueError, match="positive definite"):
        _core.als_factor(np.zeros((3, 3)), 0.0, "float32")
    with pytest.raises(TypeError, match="dtype"):
        _core.als_factor(np.eye(3), 1.0, "int8")
    with pytest.raises(ValueError, match="Linv"):
        _core.als_whiten_rows(Y, np.eye(4, dtype=np.float32), 1)

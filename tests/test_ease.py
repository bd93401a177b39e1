"""EASE against the closed form in plain numpy (Steck 2019)."""

from __future__ import annotations

import numpy as np
import pytest
import recforge as rf
import scipy.sparse as sp
from model_behaviour import ModelBehaviour


class TestEASE(ModelBehaviour):
    supports_similar_users = False

    def make(self, **kwargs):
        return rf.EASE(regularization=5.0, **kwargs)


class TestEASEPruned(ModelBehaviour):
    supports_similar_users = False

    def make(self, **kwargs):
        return rf.EASE(regularization=5.0, neighbours=8, **kwargs)


def reference_b(X: np.ndarray, lam: float) -> np.ndarray:
    G = X.T @ X + lam * np.eye(X.shape[1])
    P = np.linalg.inv(G)
    B = -P / np.diag(P)[None, :]
    np.fill_diagonal(B, 0.0)
    return B


def zero_one(D: np.ndarray) -> np.ndarray:
    """What binary=True fits on: 1 where a weight is positive, else 0 (returns included)."""
    return (D > 0).astype(np.float64)


@pytest.mark.parametrize("shape", [(40, 12), (30, 25), (60, 7)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("binary", [False, True])
def test_weights_and_scores_match_the_closed_form(shape, dtype, binary):
    rng = np.random.default_rng(shape[0])
    X = sp.random(*shape, density=0.3, format="lil", random_state=shape[1], dtype=np.float64)
    X[:, 2] = 0  # an item nobody took
    X = sp.csr_matrix(X)
    X.data = rng.integers(1, 4, X.nnz).astype(np.float64)
    if binary:
        X.data[::7] = -1.0  # net returns: not bought
    model = rf.EASE(regularization=3.0, dtype=dtype, binary=binary).fit(X)
    D = zero_one(X.toarray()) if binary else X.toarray()
    B = reference_b(D, 3.0)
    tol = 1e-5 if dtype == "float64" else 2e-4
    np.testing.assert_allclose(model.weights_.toarray(), B, rtol=tol, atol=tol)
    users = np.arange(shape[0])
    ids, scores = model.recommend(users, X, k=5)
    want = D @ B
    want[X.toarray() != 0] = -np.inf  # every stored entry is seen, whatever its weight
    for u in users:
        got = ids[u][ids[u] >= 0]
        np.testing.assert_allclose(scores[u][: got.size], want[u, got], rtol=tol, atol=tol)
        top = np.sort(want[u][np.isfinite(want[u]) & (np.abs(want[u]) > 0)])[::-1][: got.size]
        np.testing.assert_allclose(np.sort(scores[u][: got.size])[::-1][: top.size], top, rtol=10 * tol, atol=10 * tol)


def test_pruned_weights_keep_each_items_largest():
    X = sp.random(50, 20, density=0.3, format="csr", random_state=1)
    B = reference_b(X.toarray(), 2.0)
    model = rf.EASE(regularization=2.0, neighbours=4, dtype="float64", binary=False).fit(X)
    W = model.weights_.toarray()
    for i in range(20):
        row = np.where(np.arange(20) == i, -np.inf, B[i])
        keep = np.argsort(-row, kind="stable")[:4]
        np.testing.assert_allclose(np.sort(W[i][W[i] != 0]), np.sort(B[i, keep]), rtol=1e-6)


def test_new_customers_are_answered_from_their_history():
    X = sp.random(50, 20, density=0.3, format="csr", random_state=2)
    model = rf.EASE(regularization=2.0, dtype="float64").fit(X)
    ids, _ = model.recommend([10**6], X[[3]], k=5, recalculate_user=True)
    same, _ = model.recommend([3], X[[3]], k=5)
    np.testing.assert_array_equal(ids, same)


def test_memory_limit_and_bad_arguments():
    X = sp.random(10, 3000, density=0.01, format="csr", random_state=0)
    # Only the ways out that fit are offered: the float32 solve of 3,000 items takes 0.034 GiB,
    # the exact B twice that (values and int32 column indices), in float64 0.067 and 0.101 GiB.
    for options, offered, not_offered in (
        ({"max_memory": 0.01}, ["use SparseEASE", "keep fewer items"], ["neighbours", "float32"]),
        ({"max_memory": 0.05}, ["set neighbours=... (a sparse B)", "use SparseEASE"], ["float32"]),
        ({"max_memory": 0.05, "dtype": "float64"}, ["set neighbours=... with dtype='float32'"], ["use dtype"]),
        ({"max_memory": 0.09, "dtype": "float64"}, ["use dtype='float32'", "set neighbours=... (a sparse B)"], []),
    ):
        with pytest.raises(MemoryError, match="needs about .* GiB") as failure:
            rf.EASE(**options).fit(X)
        message = str(failure.value)
        assert all(o in message for o in offered) and not any(o in message for o in not_offered), message
    with pytest.raises(ValueError, match="regularization must be > 0"):
        rf.EASE(regularization=0)
    with pytest.raises(ValueError, match="neighbours"):
        rf.EASE(neighbours=0)
    with pytest.raises(ValueError, match="dtype"):
        rf.EASE(dtype="float16")


def test_numerical_failures_name_the_way_out(monkeypatch):
    """Weights that overflow the Gram matrix, a Gram matrix singular at working precision and
    weights that come out non-finite are each refused with what to change (the overflow gave
    "weights_.data has a non-finite value (-nan)", naming internal state)."""
    big = sp.csr_matrix(np.array([[1e30, 1.0], [1.0, 1e-30]]))
    with pytest.raises(FloatingPointError, match="X'X overflows float32 .* dtype='float64'"):
        rf.EASE(binary=False).fit(big)
    rng = np.random.default_rng(0)
    together = (rng.random(500) < 0.3).astype(np.float32)  # 20 items bought only together
    X = sp.csr_matrix(np.column_stack([together] * 20 + [rng.random(500) < 0.2 for _ in range(5)]).astype(np.float32))
    with pytest.raises(FloatingPointError, match="not positive definite at float32 .* dtype='float64'"):
        rf.EASE(regularization=1e-12).fit(X)
    assert np.isfinite(rf.EASE(regularization=1e-12, dtype="float64").fit(X).weights_.data).all()
    from recforge.models import ease

    monkeypatch.setattr(ease, "_inverse_spd", lambda A: np.full_like(A, np.inf))
    with pytest.raises(FloatingPointError, match=r"singular at float32 .* raise regularization \(now 300\)"):
        rf.EASE().fit(X)


@pytest.mark.parametrize("cls", [rf.EASE, rf.SparseEASE])
def test_binary_fits_and_scores_whether_each_item_was_bought(cls):
    """binary=True (the default) is the model of the 0/1 pattern: the same weights and lists as
    binary=False on that pattern, whatever the counts, returns (net negative weights) not bought."""
    rng = np.random.default_rng(8)
    X = sp.random(80, 15, density=0.3, format="csr", random_state=8, dtype=np.float64)
    X.data = rng.integers(1, 9, X.nnz).astype(np.float64)
    X.data[::6] = -2.0
    pattern = sp.csr_matrix((X > 0).astype(np.float64))
    got = cls(regularization=4.0, dtype="float64").fit(X)
    want = cls(regularization=4.0, dtype="float64", binary=False).fit(pattern)
    assert got.binary and not want.binary
    np.testing.assert_allclose(got.weights_.toarray(), want.weights_.toarray(), atol=1e-12)
    users = np.arange(80)
    ids, scores = got.recommend(users, X, k=4)
    want_ids, want_scores = want.recommend(users, pattern, k=4, exclude=X)  # every stored entry is seen
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_allclose(scores, want_scores, atol=1e-12)
    weighted = cls(regularization=4.0, dtype="float64", binary=False).fit(X)
    assert not np.allclose(weighted.weights_.toarray(), got.weights_.toarray())

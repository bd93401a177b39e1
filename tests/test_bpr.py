"""rf.BPR and its kernel (bpr.hpp): the update against numpy replaying the kernel's own draws,
the draws' distributions, verification, threads, training progress, errors."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import recforge as rf
import scipy.sparse as sp
from model_behaviour import ModelBehaviour
from recforge import _core
from recforge._sparse import check_sparse
from recforge.weighting import row_ids


class TestBPR(ModelBehaviour):
    fit_is_thread_invariant = False

    def make(self, **kwargs):
        return rf.BPR(**{"factors": 6, "iterations": 5, "random_state": 0, "n_threads": 1, **kwargs})


class TestBPRPopularityNegatives(ModelBehaviour):
    fit_is_thread_invariant = False

    def make(self, **kwargs):
        return rf.BPR(
            **{"factors": 5, "iterations": 3, "negatives": "popularity", "random_state": 0, "n_threads": 1, **kwargs}
        )


def interactions(seed=0, n_users=40, n_items=25, density=0.15, index=np.int32, empty=True):
    X = sp.random(n_users, n_items, density=density, format="csr", random_state=seed)
    if empty:  # an empty user and an item nobody has
        X = sp.lil_matrix(X)
        X[1, :] = 0
        X[:, 2] = 0
        X = sp.csr_matrix(X)
        X.eliminate_zeros()
    X.indices, X.indptr = X.indices.astype(index), X.indptr.astype(index)
    return X


class Kernel:
    """The raw kernel's arguments for X with seeded starting factors."""

    def __init__(self, X, f=4, dtype=np.float64, seed=0):
        self.X = check_sparse(X, "X")
        rng = np.random.default_rng(seed)
        n_users, n_items = X.shape
        self.P = (rng.standard_normal((n_users, f)) * 0.3).astype(dtype)
        self.Q = (rng.standard_normal((n_items, f)) * 0.3).astype(dtype)
        self.b = (rng.standard_normal(n_items) * 0.1).astype(dtype)
        self.user_of = row_ids(self.X).astype(self.X.indices.dtype)

    def epoch(self, lr=0.1, reg=0.05, popularity=False, verify=True, seed=1, epoch=0, threads=1, trace=True):
        X = self.X
        out = np.full((X.indices.size, 3), -2, dtype=np.int64) if trace else None
        loss, correct, skipped = _core.bpr_epochs(
            X.indptr,
            X.indices,
            X.data,
            X.shape[1],
            self.user_of,
            self.P,
            self.Q,
            self.b,
            lr,
            reg,
            popularity,
            verify,
            seed,
            epoch,
            1,
            threads,
            out,
        )
        return out, loss[0], correct[0], skipped[0]


def numpy_replay(P, Q, b, trace, lr, reg):
    """The BPR updates of the drawn (u, i, j), in order; returns (sum of -ln sigma(x), correct)."""
    loss, correct = 0.0, 0
    for u, i, j in trace:
        if j < 0:
            continue
        x = b[i] - b[j] + P[u] @ Q[i] - P[u] @ Q[j]
        loss += np.logaddexp(0.0, -float(x))
        correct += x > 0
        z = 1.0 / (1.0 + np.exp(x))
        pu, qi, qj = P[u].copy(), Q[i].copy(), Q[j].copy()
        P[u] = pu + lr * (z * (qi - qj) - reg * pu)
        Q[i] = qi + lr * (z * pu - reg * qi)
        Q[j] = qj + lr * (-z * pu - reg * qj)
        b[i] += lr * (z - reg * b[i])
        b[j] += lr * (-z - reg * b[j])
    return loss, correct


@pytest.mark.parametrize(
    "dtype, index, shape, f",
    [
        (np.float64, np.int32, (40, 25), 4),
        (np.float64, np.int64, (7, 60), 17),
        (np.float32, np.int32, (60, 9), 33),
        (np.float32, np.int64, (30, 30), 1),
    ],
)
@pytest.mark.parametrize("popularity", [False, True])
def test_an_epoch_is_the_bpr_update_of_its_draws(dtype, index, shape, f, popularity):
    k = Kernel(interactions(3, *shape, index=index), f=f, dtype=dtype)
    P, Q, b = k.P.astype(np.float64), k.Q.astype(np.float64), k.b.astype(np.float64)
    trace, loss, correct, skipped = k.epoch(popularity=popularity)
    assert (trace[:, 0] == k.user_of[0]).any() or trace.shape[0] == 0
    want_loss, want_correct = numpy_replay(P, Q, b, trace, 0.1, 0.05)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(k.P, P, **tol)
    np.testing.assert_allclose(k.Q, Q, **tol)
    np.testing.assert_allclose(k.b, b, **tol)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-4 if dtype == np.float32 else 1e-10)
    if dtype == np.float64:
        assert correct == want_correct
    assert skipped == (trace[:, 2] < 0).sum()


def test_draws_are_interactions_and_verified_negatives():
    X = interactions(4, 50, 20, density=0.4)
    k = Kernel(X)
    dense = X.toarray() != 0
    for verify in (True, False):
        trace, *_ = k.epoch(verify=verify)
        u, i, j = trace.T
        assert dense[u, i].all()  # every positive is a stored interaction of its user
        kept = j >= 0
        assert (j[kept] != i[kept]).all()  # i itself is never the negative
        if verify:
            assert not dense[u[kept], j[kept]].any()
        else:  # unverified negatives do hit the user's items at this density
            assert dense[u[kept], j[kept]].any()


def test_a_user_with_every_item_is_skipped_when_verifying():
    X = sp.csr_matrix(np.array([[1, 1, 1], [1, 0, 0]], dtype=np.float64))
    k = Kernel(X)
    trace, loss, correct, skipped = k.epoch(verify=True)
    full = trace[:, 0] == 0
    assert (trace[full, 2] == -1).all() and (trace[~full, 2] >= 1).all()
    assert skipped == full.sum()


def test_positives_are_uniform_over_interactions_and_negatives_follow_the_chosen_law():
    # Users and items of very different activity: uniform users or items would fail this.
    rng = np.random.default_rng(5)
    n_users, n_items = 30, 12
    weights = 1.0 / np.arange(1, n_items + 1)
    rows = []
    for u in range(n_users):
        m = 1 + (u % 3) * 3
        rows.append(np.sort(rng.choice(n_items, size=m, replace=False, p=weights / weights.sum())))
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])])
    X = sp.csr_matrix((np.ones(indptr[-1]), np.concatenate(rows), indptr), shape=(n_users, n_items))
    k = Kernel(X)
    nnz = X.nnz
    degree = np.bincount(X.indices, minlength=n_items)
    for popularity in (False, True):
        positives = np.zeros(nnz)
        negatives = np.zeros(n_items)
        expected = np.zeros(n_items)
        law = degree.astype(float) if popularity else np.ones(n_items)
        for epoch in range(400):
            trace, *_ = k.epoch(lr=1e-6, reg=0.0, popularity=popularity, verify=False, epoch=epoch)
            positives += np.bincount(_entry_of(X, trace[:, 0], trace[:, 1]), minlength=nnz)
            negatives += np.bincount(trace[:, 2], minlength=n_items)
            for i, count in enumerate(np.bincount(trace[:, 1], minlength=n_items)):
                given_i = law.copy()  # j is drawn from the law, redrawn when it equals i
                given_i[i] = 0
                expected += count * given_i / given_i.sum()
        draws = 400 * nnz
        assert _chi2_ok(positives, np.full(nnz, draws / nnz))
        assert _chi2_ok(negatives, expected)


def _entry_of(X, users, items):
    """The position in X.indices of each (user, item) interaction."""
    out = np.empty(len(users), dtype=np.int64)
    for e, (u, i) in enumerate(zip(users, items)):
        row = X.indices[X.indptr[u] : X.indptr[u + 1]]
        out[e] = X.indptr[u] + np.searchsorted(row, i)
    return out


def _chi2_ok(observed, expected):
    """Pearson's chi-squared within 5 standard deviations of its mean (a wrong law is far out)."""
    keep = expected > 0
    assert observed[~keep].sum() == 0
    stat = ((observed[keep] - expected[keep]) ** 2 / expected[keep]).sum()
    dof = keep.sum() - 1
    return abs(stat - dof) < 5 * np.sqrt(2 * dof)


def test_draws_depend_on_seed_and_thread_count_only():
    X = interactions(6, 80, 40, density=0.2)
    traces = {}
    for threads in (1, 3):
        for run in range(2):
            k = Kernel(X)
            traces[threads, run] = k.epoch(threads=threads)[0]
    np.testing.assert_array_equal(traces[1, 0], traces[1, 1])
    np.testing.assert_array_equal(traces[3, 0], traces[3, 1])
    assert not np.array_equal(traces[1, 0], traces[3, 0])
    k = Kernel(X)
    assert not np.array_equal(k.epoch(seed=2)[0], traces[1, 0])


def test_one_thread_fits_are_bit_identical_and_a_callback_changes_nothing():
    X = interactions(7, 300, 120, density=0.05)
    kw = dict(factors=8, iterations=6, random_state=3, n_threads=1)
    a = rf.BPR(**kw).fit(X)
    seen = []
    b = rf.BPR(**kw).fit(X, callback=lambda it, elapsed, loss: seen.append((it, loss)))
    for name in ("user_factors_", "item_factors_", "item_bias_"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert [it for it, _ in seen] == list(range(6)) and seen[-1][1] == a.loss_ == b.loss_
    c = rf.BPR(**{**kw, "random_state": 4}).fit(X)
    assert not np.array_equal(a.user_factors_, c.user_factors_)


def test_many_threads_train_as_well_as_one():
    X = clustered()
    one = rf.BPR(factors=8, iterations=30, random_state=0, n_threads=1).fit(X)
    many = rf.BPR(factors=8, iterations=30, random_state=0, n_threads=3).fit(X)
    assert abs(one.loss_ - many.loss_) < 0.05 and abs(one.train_auc_ - many.train_auc_) < 0.03


def clustered(seed=0, n_users=240, n_items=60, groups=3, density=0.3):
    """Users of group g interact with items of group g only (at random), plus a little noise."""
    rng = np.random.default_rng(seed)
    A = (rng.random((n_users, n_items)) < 0.02).astype(float)
    for u in range(n_users):
        g = u % groups
        block = np.arange(g, n_items, groups)
        A[u, block[rng.random(block.size) < density]] = 1
    return sp.csr_matrix(A)


def test_training_loss_falls_and_held_out_items_of_the_cluster_rank_high():
    X = clustered()
    losses = []
    model = rf.BPR(factors=8, iterations=40, learning_rate=0.05, random_state=0, n_threads=1)
    model.fit(X, callback=lambda it, elapsed, loss: losses.append(loss))
    assert losses[0] > 0.6 and losses[-1] < 0.5 * losses[0]
    assert np.mean(losses[-5:]) < np.mean(losses[-10:-5]) + 0.01
    assert model.train_auc_ > 0.85
    users = np.arange(X.shape[0])
    ids, _ = model.recommend(users, X, k=5)
    in_cluster = (ids % 3) == (users[:, None] % 3)
    assert in_cluster.mean() > 0.9


def test_recommend_scores_are_factor_products_plus_item_bias():
    X = interactions(8)
    m = rf.BPR(factors=5, iterations=10, random_state=0).fit(X)
    users = np.array([0, 3, 7])
    ids, scores = m.recommend(users, X[users], k=4, exclude_seen=False)
    full = m.user_factors_[users].astype(np.float64) @ m.item_factors_.T.astype(np.float64) + m.item_bias_
    np.testing.assert_allclose(scores, np.take_along_axis(full, ids, axis=1), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(ids[:, 0], np.argmax(full, axis=1))


def test_users_and_items_without_interactions():
    X = interactions(9)  # user 1 and item 2 are empty
    m = rf.BPR(factors=5, iterations=10, random_state=0).fit(X)
    assert not m.user_factors_[1].any()
    ids, _ = m.recommend(1, X[1], k=X.shape[1])
    np.testing.assert_array_equal(ids, np.argsort(-m.item_bias_.astype(np.float64), kind="stable"))
    assert m.item_bias_[2] < 0  # only ever a negative
    empty = rf.BPR(factors=3, iterations=3).fit(sp.csr_matrix((5, 4)))
    assert not empty.user_factors_.any() and not empty.item_bias_.any()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype_and_index_types(dtype):
    for index in (np.int32, np.int64):
        X = interactions(10, index=index)
        m = rf.BPR(factors=4, iterations=3, dtype=dtype, random_state=0, n_threads=1).fit(X)
        assert m.user_factors_.dtype == m.item_factors_.dtype == m.item_bias_.dtype == np.dtype(dtype)
        ref = rf.BPR(factors=4, iterations=3, dtype=dtype, random_state=0, n_threads=1).fit(interactions(10))
        np.testing.assert_array_equal(m.item_factors_, ref.item_factors_)


def test_values_are_ignored_only_the_pattern_counts():
    X = interactions(11)
    Y = X.copy()
    Y.data = np.arange(1, Y.nnz + 1, dtype=np.float64) * 7
    a = rf.BPR(factors=4, iterations=3, random_state=0, n_threads=1).fit(X)
    b = rf.BPR(factors=4, iterations=3, random_state=0, n_threads=1).fit(Y)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)


def test_divergence_raises():
    with pytest.raises(FloatingPointError, match="lower learning_rate"):
        rf.BPR(learning_rate=1e30, regularization=1.0, iterations=5, random_state=0).fit(clustered())


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"factors": 0}, ValueError, "factors must be >= 1"),
        ({"learning_rate": 0}, ValueError, "learning_rate must be > 0"),
        ({"learning_rate": float("nan")}, ValueError, "learning_rate must be finite"),
        ({"regularization": -0.1}, ValueError, "regularization must be >= 0"),
        ({"negatives": "hard"}, ValueError, "negatives must be one of"),
        ({"verify_negatives": 1}, TypeError, "verify_negatives must be"),
        ({"init_std": -1}, ValueError, "init_std must be >= 0"),
        ({"dtype": "int8"}, ValueError, "dtype must be float32 or float64"),
        ({"random_state": -1}, ValueError, "random_state must be >= 0"),
        ({"iterations": 2.5}, TypeError, "iterations must be an integer"),
        ({"n_threads": -1}, ValueError, "n_threads must be >= 0"),
    ],
)
def test_bad_parameters(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        rf.BPR(**kwargs)


def test_bad_input():
    X = interactions(12)
    bad = X.copy()
    bad.data[0] = np.inf
    with pytest.raises(ValueError, match="user_items"):
        rf.BPR().fit(bad)
    with pytest.raises(TypeError, match="callback must be callable"):
        rf.BPR().fit(X, callback="no")
    with pytest.raises(rf.NotFittedError):
        rf.BPR().recommend([0], X[[0]])


def test_kernel_rejects_what_it_cannot_trust():
    k = Kernel(interactions(13))
    X = k.X

    def call(**over):
        args = dict(
            indptr=X.indptr,
            indices=X.indices,
            data=X.data,
            n_items=X.shape[1],
            user_of=k.user_of,
            user_factors=k.P,
            item_factors=k.Q,
            item_bias=k.b,
            lr=0.1,
            reg=0.0,
            popularity=False,
            verify=True,
            seed=0,
            first_epoch=0,
            n_epochs=1,
            n_threads=1,
        )
        args.update(over)
        return _core.bpr_epochs(**args)

    wrong_user = k.user_of.copy()
    wrong_user[5] += 1
    unsorted = X.indices.copy()
    row = next(r for r in range(X.shape[0]) if X.indptr[r + 1] - X.indptr[r] >= 2)
    unsorted[X.indptr[row] : X.indptr[row] + 2] = unsorted[X.indptr[row] : X.indptr[row] + 2][::-1]
    cases = [
        (dict(user_of=wrong_user), ValueError, "user_of"),
        (dict(user_of=k.user_of[:-1]), ValueError, "user_of must have"),
        (dict(indices=unsorted), ValueError, "not canonical"),
        (dict(user_factors=k.P[:-1]), ValueError, "user_factors must have"),
        (dict(item_factors=np.ascontiguousarray(k.Q[:, :-1])), ValueError, "same number of columns"),
        (dict(item_factors=k.Q.astype(np.float32)), TypeError, "item_factors must be float64"),
        (dict(item_bias=k.b[:-1]), ValueError, "item_bias must have"),
        (dict(n_items=X.shape[1] - 1), ValueError, "user_items"),
        (dict(trace=np.zeros((3, 3), np.int64)), ValueError, "trace must be"),
        (dict(trace=np.zeros((X.indices.size, 3), np.int64), n_epochs=2), ValueError, "trace needs n_epochs = 1"),
        (dict(n_threads=0), ValueError, "n_threads"),
        (dict(lr=np.nan), ValueError, "finite"),
    ]
    for over, exc, match in cases:
        with pytest.raises(exc, match=match):
            call(**over)
    frozen = k.P.copy()
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        call(user_factors=frozen)


def test_pickled_and_loaded_models_recommend_the_same(tmp_path):
    X = interactions(14)
    m = rf.BPR(factors=4, iterations=5, random_state=0).fit(X)
    m.save(tmp_path / "bpr.npz")
    for other in (rf.load(tmp_path / "bpr.npz"), pickle.loads(pickle.dumps(m))):
        assert other.get_params() == m.get_params()
        for a, b in zip(other.recommend([0, 3], X[[0, 3]], k=4), m.recommend([0, 3], X[[0, 3]], k=4)):
            np.testing.assert_array_equal(a, b)


def test_load_rejects_wrong_state(tmp_path):
    m = rf.BPR(factors=4, iterations=2).fit(interactions(15))
    m.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["state.item_bias_"] = arrays["state.item_bias_"].astype(np.float64)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="item_bias_ must be a C-contiguous float32"):
        rf.load(tmp_path / "bad.npz")

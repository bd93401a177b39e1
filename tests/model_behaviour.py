"""The behaviour every recforge model must have, as a mixin: a test class for a model
subclasses ModelBehaviour and defines make(**kwargs) returning an unfitted model."""

from __future__ import annotations

import pickle
import zipfile

import numpy as np
import pytest
import recforge as rf
import scipy.sparse as sp


def interactions(seed: int = 0, n_users: int = 60, n_items: int = 35) -> sp.csr_matrix:
    """Small skewed interaction counts, with an empty user (row 4) and an unused item (column 9)."""
    rng = np.random.default_rng(seed)
    p_items = 1.0 / np.arange(1, n_items + 1) ** 0.8
    rows, cols = [], []
    for u in range(n_users):
        n = rng.integers(1, 10)
        rows += [u] * n
        cols += list(rng.choice(n_items, size=n, p=p_items / p_items.sum()))
    X = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_users, n_items))
    X = sp.lil_matrix(X)
    X[4, :] = 0
    X[:, 9] = 0
    X = sp.csr_matrix(X)
    X.eliminate_zeros()
    return X


def seen(X, users, ids) -> bool:
    X = sp.csr_matrix(X)
    # items past X's columns (a content model's products without interactions) are unseen
    return any(X[u, i] != 0 for u, row in zip(users, ids) for i in row if 0 <= i < X.shape[1])


class ModelBehaviour:
    supports_similar_users = True
    # False for Hogwild training: its fit depends on the thread count, so only the answers of
    # one fitted model are compared across thread counts.
    fit_is_thread_invariant = True

    def make(self, **kwargs):
        raise NotImplementedError

    @pytest.fixture
    def X(self):
        return interactions()

    @pytest.fixture
    def model(self, X):
        return self.make().fit(X)

    answers_new_histories = True

    # -- new customers --------------------------------------------------------------------------
    def test_recalculate_user_answers_from_the_history_alone(self, model, X):
        """A new customer (an id the model never saw) is answered from its row; an empty row
        gets padding, never some list as if the model knew the customer; seen items stay out."""
        H = sp.vstack([X[[17, 5]], sp.csr_matrix((1, X.shape[1]))]).tocsr()
        if not self.answers_new_histories:
            with pytest.raises(ValueError, match="new history"):
                model.recommend([10**6, 10**6 + 1, 10**6 + 2], H, k=5, recalculate_user=True)
            return
        ids, scores = model.recommend([10**6, 10**6 + 1, 10**6 + 2], H, k=5, recalculate_user=True)
        assert ids.shape == (3, 5) and not seen(H, [0, 1, 2], ids)
        if isinstance(model, rf.Popularity):
            assert (ids[2] >= 0).all()  # the same list for everyone: nothing to fold in
        else:
            assert (ids[2] == -1).all() and np.isneginf(scores[2]).all()
        assert (ids[:2] >= 0).any(axis=1).all()
        # Labels only: the same rows under other ids give the same answer.
        again, _ = model.recommend([0, 1, 2], H, k=5, recalculate_user=True)
        np.testing.assert_array_equal(ids, again)
        with pytest.raises(TypeError, match="recalculate_user must be a bool"):
            model.recommend([0], X[[0]], recalculate_user="yes")

    # -- recommend ----------------------------------------------------------------------------
    def test_recommend_a_batch(self, model, X):
        users = np.array([0, 5, 17, 59, 5])
        ids, scores = model.recommend(users, X[users], k=7)
        assert ids.shape == scores.shape == (5, 7) and ids.dtype == np.int64
        for row_ids, row_scores in zip(ids, scores):
            m = int((row_ids >= 0).sum())
            assert np.all(row_ids[:m] >= 0) and np.all(row_ids[m:] == -1)
            assert np.all(np.isneginf(row_scores[m:])) and np.all(np.isfinite(row_scores[:m]))
            assert np.all(np.diff(row_scores[:m]) <= 0)
            assert len(set(row_ids[:m].tolist())) == m
        np.testing.assert_array_equal(ids[1], ids[4])  # the same user twice: the same answer
        assert not seen(X, users, ids)

    def test_a_scalar_id_gives_one_row(self, model, X):
        ids, scores = model.recommend(17, X[17], k=4)
        batch_ids, batch_scores = model.recommend([17], X[[17]], k=4)
        assert ids.shape == scores.shape == (4,)
        np.testing.assert_array_equal(ids, batch_ids[0])
        np.testing.assert_array_equal(scores, batch_scores[0])

    def test_exclude_seen_false_may_return_seen_items(self, model, X):
        users = np.arange(X.shape[0])
        ids, _ = model.recommend(users, X, k=10, exclude_seen=False)
        assert seen(X, users, ids)
        ids, _ = model.recommend(users, X, k=10)
        assert not seen(X, users, ids)

    def test_exclude_and_allow(self, model, X):
        users = np.arange(20)
        extra = sp.random(20, X.shape[1], density=0.3, format="csr", random_state=3)
        allow = np.arange(0, X.shape[1], 2)
        ids, scores = model.recommend(users, X[users], k=X.shape[1], exclude=extra, allow=allow)
        assert not seen(extra, range(20), ids) and not seen(X, users, ids)
        assert np.all((ids == -1) | (ids % 2 == 0))
        # Filtering removes candidates, it does not change the remaining order.
        full_ids, _ = model.recommend(users, X[users], k=X.shape[1])
        for u in range(20):
            banned = set(extra[u].indices.tolist())
            expect = [i for i in full_ids[u] if i >= 0 and i % 2 == 0 and i not in banned]
            assert [i for i in ids[u] if i >= 0] == expect

    def test_k_above_the_number_of_items_is_capped_and_pads(self, model, X):
        # The width is capped at the catalogue; seen items excluded, every row is padded.
        ids, scores = model.recommend([0, 1], X[[0, 1]], k=X.shape[1] + 5)
        assert ids.shape == (2, X.shape[1])
        seen = np.diff(X[[0, 1]].indptr).min()
        assert np.all(ids[:, X.shape[1] - seen :] == -1) and np.all(np.isneginf(scores[:, X.shape[1] - seen :]))
        # A k far beyond memory allocates no more than the catalogue (it once asked for ~32 GiB).
        ids, _ = model.recommend([0, 1], X[[0, 1]], k=2**31)
        assert ids.shape == (2, X.shape[1])
        ids, _ = model.recommend([0, 1], X[[0, 1]], k=2**63 - 1)
        assert ids.shape == (2, X.shape[1])
        with pytest.raises(ValueError, match="k must fit"):
            model.recommend([0, 1], X[[0, 1]], k=2**63)
        ids, scores = model.recommend([0, 1], X[[0, 1]], k=0)
        assert ids.shape == (2, 0)

    def test_an_empty_history_is_answered(self, model, X):
        ids, scores = model.recommend(4, X[4], k=5)  # user 4 has no interactions
        assert ids.shape == (5,) and np.all((ids >= 0) | (ids == -1))

    def test_any_sparse_format_and_dtype(self, model, X):
        users = np.array([1, 2, 3])
        want = model.recommend(users, X[users], k=5)
        for rows in (X[users].tocoo(), X[users].tocsc(), sp.csr_array(X[users]), X[users].astype(np.float32)):
            got = model.recommend(users, rows, k=5)
            np.testing.assert_array_equal(got[0], want[0])

    def test_thread_count_does_not_change_results(self, X):
        one = self.make(n_threads=1).fit(X)
        if self.fit_is_thread_invariant:
            many = self.make(n_threads=3).fit(X)
        else:
            many = pickle.loads(pickle.dumps(one))
            many.n_threads = 3
        users = np.arange(X.shape[0])
        for a, b in zip(one.recommend(users, X, k=8), many.recommend(users, X, k=8)):
            np.testing.assert_array_equal(a, b)
        items = np.arange(X.shape[1])
        for a, b in zip(one.similar_items(items, k=5), many.similar_items(items, k=5)):
            np.testing.assert_array_equal(a, b)

    # -- similar items / users ----------------------------------------------------------------
    def test_similar_items(self, model, X):
        items = np.array([0, 3, 9, 0])
        ids, scores = model.similar_items(items, k=6)
        assert ids.shape == scores.shape == (4, 6)
        for item, row_ids, row_scores in zip(items, ids, scores):
            assert item not in row_ids
            m = int((row_ids >= 0).sum())
            assert np.all(np.diff(row_scores[:m]) <= 0) and np.all(row_ids[m:] == -1)
        one_ids, _ = model.similar_items(3, k=6)
        np.testing.assert_array_equal(one_ids, ids[1])

    def test_similar_users(self, model, X):
        if not self.supports_similar_users:
            with pytest.raises(NotImplementedError):
                model.similar_users([0], k=3)
            return
        users = np.array([0, 7, 4])
        ids, scores = model.similar_users(users, k=5)
        assert ids.shape == (3, 5)
        for user, row_ids, row_scores in zip(users, ids, scores):
            assert user not in row_ids
            m = int((row_ids >= 0).sum())
            assert np.all(np.diff(row_scores[:m]) <= 0) and np.all(row_ids[m:] == -1)

    # -- persistence --------------------------------------------------------------------------
    def check_same_answers(self, a, b, X):
        users = np.arange(X.shape[0])
        for x, y in zip(a.recommend(users, X, k=6), b.recommend(users, X, k=6)):
            np.testing.assert_array_equal(x, y)
        for x, y in zip(a.similar_items(np.arange(X.shape[1]), k=4), b.similar_items(np.arange(X.shape[1]), k=4)):
            np.testing.assert_array_equal(x, y)
        assert a.get_params() == b.get_params()

    def test_save_and_load_round_trip(self, model, X, tmp_path):
        path = tmp_path / "model.bin"  # the exact name is kept: no ".npz" appended
        model.save(path)
        loaded = rf.load(path)
        assert type(loaded) is type(model) and path.exists()
        self.check_same_answers(model, loaded, X)

    def test_pickle_round_trip(self, model, X):
        model.similar_items([0], k=2)  # builds caches, which must not be pickled
        clone = pickle.loads(pickle.dumps(model))
        assert not any(name.startswith("_cache") for name in clone.__dict__)
        self.check_same_answers(model, clone, X)

    def test_scikit_learn_clone_and_set_params(self, model, X):
        """``sklearn.base.clone`` (what its searches and pipelines call) and ``set_params``: a
        clone is unfitted and answers as the original once fitted; set_params checks as the
        constructor does. (get_params had no ``deep`` and there was no set_params: clone
        raised TypeError.)"""
        base = pytest.importorskip("sklearn.base")
        twin = base.clone(model)
        assert not twin.is_fitted and twin.get_params(deep=False) == model.get_params(deep=False)
        if self.fit_is_thread_invariant:
            self.check_same_answers(model, twin.fit(X), X)
        name = next(iter(twin.get_params(deep=False)))
        assert twin.set_params(**{name: getattr(twin, name)}) is twin
        with pytest.raises(ValueError, match="has no parameter 'no_such_parameter'"):
            twin.set_params(no_such_parameter=1)
        with pytest.raises((TypeError, ValueError), match="n_threads"):
            twin.set_params(n_threads=-1)
        assert twin.n_threads == model.n_threads  # a refused value changes nothing
        # a misspelt name: Python's "unexpected keyword argument 'n_thread'" named neither
        # the parameters nor the one meant
        for call in (lambda: type(model)(n_thread=1), lambda: twin.set_params(n_thread=1)):
            with pytest.raises((TypeError, ValueError), match=r"no parameter 'n_thread'; did you mean 'n_threads'\?"):
                call()

    def test_load_rejects_foreign_truncated_and_newer_files(self, model, tmp_path):
        foreign = tmp_path / "foreign.npz"
        np.savez(foreign, a=np.arange(3))
        with pytest.raises(ValueError, match="not a recforge model file"):
            rf.load(foreign)
        good = tmp_path / "good.npz"
        model.save(good)
        truncated = tmp_path / "truncated.npz"
        truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
        with pytest.raises(ValueError, match="recforge model file"):
            rf.load(truncated)
        text = tmp_path / "text.npz"
        text.write_text("hello")
        with pytest.raises(ValueError, match="not a recforge model file"):
            rf.load(text)
        with zipfile.ZipFile(good) as z:
            entries = {n: z.read(n) for n in z.namelist()}
        newer = tmp_path / "newer.npz"
        with np.load(good) as npz:
            arrays = {k: npz[k] for k in npz.files}
        arrays["__format_version__"] = np.array(99)
        np.savez(newer, **arrays)
        with pytest.raises(ValueError, match="upgrade recforge"):
            rf.load(newer)
        assert entries  # the good file is a real zip

    def test_refit_replaces_everything(self, X):
        model = self.make().fit(X)
        model.similar_items([0], k=3)
        bigger = interactions(seed=1, n_users=80, n_items=50)
        model.fit(bigger)
        assert model.n_users_ == 80 and model.n_items_ == 50
        fresh = self.make().fit(bigger)
        self.check_same_answers(model, fresh, bigger)

    @pytest.mark.parametrize("shape", [(0, 0), (3, 0), (0, 3), (1, 1), (3, 1), (2, 2)])
    def test_tiny_catalogues_and_customer_bases(self, shape, tmp_path):
        """No customer, no product, one of each: fitted, answered (padded) and saved like any other."""
        X = sp.csr_matrix(np.ones(shape, dtype=np.float32))
        model = self.make().fit(X)
        users = np.arange(shape[0])
        ids, scores = model.recommend(users, X, k=3, exclude_seen=False)
        assert ids.shape[0] == shape[0] and ids.shape[1] <= 3 and scores.shape == ids.shape
        assert np.all((ids == -1) | ((ids >= 0) & (ids < model.n_items_)))
        model.save(tmp_path / "tiny.npz")
        self.check_same_answers(model, rf.load(tmp_path / "tiny.npz"), X)

    # -- errors -------------------------------------------------------------------------------
    def test_unfitted_model_says_so(self, X):
        with pytest.raises(rf.NotFittedError, match="not fitted yet"):
            self.make().recommend([0], X[[0]])
        with pytest.raises(ValueError, match="not fitted yet"):
            self.make().save("never.npz")

    @pytest.mark.parametrize(
        "call, exc, match",
        [
            (lambda m, X: m.recommend([60], X[[0]]), ValueError, r"user_ids holds user id 60, outside the 60 users"),
            # an integer raw id (a customer number) was only "outside the users": now mapped
            (lambda m, X: m.recommend([17850], X[[0]]), ValueError, r"not raw ids: .* user_index\(\[\.\.\.\]\) maps"),
            (lambda m, X: m.recommend([-1], X[[0]]), ValueError, "user_ids holds user id -1"),
            (lambda m, X: m.recommend([0.5], X[[0]]), TypeError, "user_ids must hold integer user ids"),
            (lambda m, X: m.recommend(["17850"], X[[0]]), TypeError, r"user_index\(\[\.\.\.\]\) gives them"),
            (lambda m, X: m.similar_items(["85123A"]), TypeError, r"item_index\(\[\.\.\.\]\) gives them"),
            (lambda m, X: m.recommend([[0]], X[[0]]), ValueError, "user_ids must be an integer or a 1-D array"),
            (
                lambda m, X: m.recommend([0, 1], X[[0]]),
                ValueError,
                r"user_items must have one row per requested user \(2\)",
            ),
            (
                lambda m, X: m.recommend([0], X[[0], :30]),
                ValueError,
                "user_items has 30 columns but the model knows 35 items",
            ),
            (lambda m, X: m.recommend([0], X[[0]].toarray()), TypeError, "user_items must be a scipy.sparse"),
            (lambda m, X: m.recommend([0], X[[0]], k=-1), ValueError, "k must be >= 0"),
            (lambda m, X: m.recommend([0], X[[0]], exclude=X[[0, 1]]), ValueError, "exclude must have one row per"),
            (lambda m, X: m.recommend([0], X[[0]], allow=[35]), ValueError, "allow holds item id 35"),
            (lambda m, X: m.similar_items([35]), ValueError, r"item_ids holds item id 35, outside the 35 items"),
            (lambda m, X: m.similar_items([0], k=-3), ValueError, "k must be >= 0"),
        ],
    )
    def test_bad_input(self, model, X, call, exc, match):
        with pytest.raises(exc, match=match):
            call(model, X)

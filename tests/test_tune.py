"""rf.tune: the search, its stopping rules, and that it never sees anything but train."""

from __future__ import annotations

import numpy as np
import pytest
import recforge as rf
import scipy.sparse as sp
from model_behaviour import interactions
from recforge.models.registry import register


class Spy(rf.ItemKNN):
    """Records every matrix it is fitted on or asked to score."""

    seen: list = []

    def fit(self, user_items, **kwargs):
        Spy.seen.append(sp.csr_matrix(getattr(user_items, "matrix", user_items)))
        return super().fit(user_items, **kwargs)

    def recommend(self, user_ids, user_items, *args, **kwargs):
        rows = sp.coo_matrix(user_items)  # the histories of these customers, in global rows
        users = np.asarray(user_ids).reshape(-1)[rows.row]
        Spy.seen.append(sp.csr_matrix((rows.data, (users, rows.col)), shape=(self.n_users_, self.n_items_)))
        return super().recommend(user_ids, user_items, *args, **kwargs)


register(Spy)


def pairs(M) -> set:
    M = sp.coo_matrix(M)
    return set(zip(M.row.tolist(), M.col.tolist()))


def test_tune_never_sees_the_test_split_and_validates_inside_train():
    X = sp.csr_matrix(interactions(seed=5, n_users=80, n_items=30))
    train, test = rf.split.per_user_split(X, 0.25, seed=1)
    Spy.seen = []
    result = rf.tune(Spy, {"neighbours": [2, 5, 10]}, train, k=5, search="grid")
    test_pairs, train_pairs = pairs(test), pairs(train)
    assert Spy.seen and all(not (pairs(M) & test_pairs) for M in Spy.seen)
    fitted = [pairs(M) for M in Spy.seen[:-1] if M.shape == train.shape and M.nnz > 80]
    # every trial is fitted on a strict part of train: the rest of train validates it
    assert fitted and all(p < train_pairs for p in fitted)
    assert pairs(Spy.seen[-1]) == train_pairs  # the refit: all of train
    assert result.stopped == "space" and len(result.trials) == 3


def test_the_best_trial_is_the_best_validation_score():
    X = sp.csr_matrix(interactions(seed=6, n_users=90, n_items=30))
    result = rf.tune(rf.EASE, {"regularization": [0.5, 5.0, 50.0, 500.0]}, X, k=5, metric="precision", search="grid")
    fit, held = rf.split.per_user_split(X, 0.2, seed=0)
    for t in result.trials:
        score = rf.evaluate(rf.EASE(**t["params"]).fit(fit), fit, held, k=5)["precision"]
        assert t["score"] == pytest.approx(score)
    assert result.best_score == max(t["score"] for t in result.trials)
    assert result.model.regularization == result.best_params["regularization"]
    assert "precision@5" in str(result)


def test_a_rating_model_is_tuned_for_its_rating_error():
    """metric="rmse" (or "mae"): the trial whose predictions of the held-out ratings err least
    wins, best first in the table; a model that only ranks is refused that metric."""
    rng = np.random.default_rng(8)
    X = sp.csr_matrix(np.where(rng.random((150, 40)) < 0.3, rng.integers(1, 6, (150, 40)), 0).astype(float))
    space = {"regularization": [0.001, 0.05, 5.0]}
    result = rf.tune(rf.BiasedMF, space, X, metric="rmse", search="grid", fixed={"random_state": 0})
    fit, held = rf.split.per_user_split(X, 0.2, seed=0)
    for t in result.trials:
        assert t["score"] == pytest.approx(rf.evaluate(rf.BiasedMF(**t["params"]).fit(fit), fit, held)["rmse"])
    assert result.best_score == min(t["score"] for t in result.trials) < max(t["score"] for t in result.trials)
    table = str(result).splitlines()
    assert table[0].startswith("| rmse |") and f"| {result.best_score:.4f} |" in table[2]
    wrapped = rf.tune(rf.ColdStart(rf.BiasedMF(random_state=0)), {"model__regularization": [0.05]}, X, metric="mae")
    assert wrapped.best_score > 0  # the model inside ColdStart rates
    with pytest.raises(ValueError, match="measures predicted ratings, and EASE does not predict them"):
        rf.tune(rf.EASE, {"regularization": [1.0]}, X, metric="rmse")


def test_relevant_pairs_alone_are_validated():
    """relevant= (a log of views and purchases tuned for what customers buy): the held-out
    pairs outside it are not measured, and customers with none inside it are left out; the
    models still learn from every pair."""
    X = sp.csr_matrix(interactions(seed=7, n_users=90, n_items=30))
    rng = np.random.default_rng(2)
    R = sp.csr_matrix((rng.random(X.nnz) < 0.3, X.indices.copy(), X.indptr.copy()), shape=X.shape)  # "purchases"
    R.eliminate_zeros()
    space = {"regularization": [0.5, 50.0]}
    result = rf.tune(rf.EASE, space, X, k=5, metric="precision", search="grid", relevant=R)
    fit, held = rf.split.per_user_split(X, 0.2, seed=0)
    bought = sp.csr_matrix(held.multiply(R))
    bought.eliminate_zeros()
    assert 0 < bought.nnz < held.nnz
    assert (
        result.validation_users
        == int(np.count_nonzero(np.diff(bought.indptr)))
        < np.count_nonzero(np.diff(held.indptr))
    )
    for t in result.trials:
        score = rf.evaluate(rf.EASE(**t["params"]).fit(fit), fit, bought, k=5)["precision"]
        assert t["score"] == pytest.approx(score)
    with pytest.raises(ValueError, match="relevant must have the shape"):
        rf.tune(rf.EASE, space, X, relevant=R[:, :-1])


def test_random_search_is_seeded_and_stops_on_trials_or_budget():
    from scipy import stats

    X = sp.csr_matrix(interactions(seed=7))
    space = {"regularization": stats.loguniform(0.1, 100.0), "neighbours": [None, 5]}
    a = rf.tune(rf.EASE, space, X, n_trials=4, seed=3, refit=False)
    b = rf.tune(rf.EASE, space, X, n_trials=4, seed=3, refit=False)
    assert [t["params"] for t in a.trials] == [t["params"] for t in b.trials]
    assert a.stopped == "n_trials" and len(a.trials) == 4 and a.model is None
    quick = rf.tune(rf.EASE, space, X, n_trials=1000, budget=0.0, refit=False)
    assert quick.stopped == "budget" and len(quick.trials) == 1


def test_a_random_search_tries_the_models_own_parameters_first():
    """Two random draws from ALS's space scored NDCG@10 0.183 on the sample's validation split,
    its defaults 0.212: tuning ended below where it started. The model's own parameters are
    tried first where the space holds them (the defaults, or a given model's values), never
    again among the draws; a space without them, and a grid, search as before."""
    from scipy import stats

    X = sp.csr_matrix(interactions(seed=7))
    space = {"regularization": [10.0, 100.0, 300.0, 1000.0], "neighbours": [None, 5]}
    result = rf.tune(rf.EASE, space, X, n_trials=8, refit=False)
    drawn = [t["params"] for t in result.trials]
    assert drawn[0] == {"regularization": 300.0, "neighbours": None}  # EASE's defaults
    assert len({tuple(sorted(d.items(), key=str)) for d in drawn}) == 8  # all eight, none twice
    given = rf.tune(rf.EASE(regularization=10.0, neighbours=5), space, X, n_trials=2, refit=False)
    assert given.trials[0]["params"] == {"regularization": 10.0, "neighbours": 5}
    assert given.best_score >= given.trials[0]["score"]
    elsewhere = rf.tune(rf.EASE, {"regularization": [10.0, 100.0]}, X, n_trials=1, seed=1, refit=False)
    assert elsewhere.trials[0]["params"]["regularization"] in (10.0, 100.0)  # 300 is not in the space
    ranged = rf.tune(rf.EASE, {"regularization": stats.loguniform(1.0, 1000.0)}, X, n_trials=2, refit=False)
    assert ranged.trials[0]["params"] == {"regularization": 300.0}  # within the distribution's support
    grid = rf.tune(rf.EASE, {"regularization": [10.0, 300.0]}, X, search="grid", refit=False)
    assert [t["params"]["regularization"] for t in grid.trials] == [10.0, 300.0]  # a grid keeps its order


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"space": {"nope": [1]}}, ValueError, "has no parameter 'nope'"),
        ({"space": {}}, TypeError, "non-empty dict"),
        ({"space": {"regularization": []}}, ValueError, "empty"),
        ({"space": {"regularization": 5}}, TypeError, "list of values"),
        ({"metric": "rmse"}, ValueError, "metric"),
        ({"validation": 1.0}, ValueError, "validation"),
        ({"search": "bayes"}, ValueError, "search"),
        # searched and fixed at once: a TypeError about a lambda's keyword argument
        ({"fixed": {"regularization": 2.0}}, ValueError, r"space and fixed both set \['regularization'\]"),
        ({"refit": "no"}, TypeError, "refit must be a bool"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    X = sp.csr_matrix(interactions(seed=8))
    args = {"space": {"regularization": [1.0]}, **kwargs}
    with pytest.raises(exc, match=match):
        rf.tune(rf.EASE, args.pop("space"), X, **args)


def test_every_default_space_names_real_parameters_with_valid_values():
    from recforge.evaluation import SPACES, default_space

    classes = {cls.__name__: cls for cls in rf.models.MODELS}
    assert set(SPACES) <= set(classes)
    for name, cls in classes.items():
        space = default_space(cls)
        assert set(space) <= set(cls._param_names()), name
        for param, values in space.items():
            for value in values:
                cls(**{param: value})  # each value alone is accepted
    assert default_space(rf.Popularity) == {}


def test_random_search_over_lists_never_repeats_a_trial_and_ends_with_the_space():
    X = sp.random(120, 30, density=0.15, format="csr", random_state=3)
    result = rf.tune(rf.ItemKNN, {"neighbours": [5, 10, 20], "metric": ["cosine", "bm25"]}, X, n_trials=50)
    seen = [tuple(sorted(t["params"].items())) for t in result.trials]
    assert len(seen) == 6 and len(set(seen)) == 6 and result.stopped == "space"


def test_space_none_searches_the_models_default_space():
    X = sp.random(120, 30, density=0.15, format="csr", random_state=4)
    result = rf.tune(rf.EASE, None, X, n_trials=3)
    assert len(result.trials) == 3
    assert all(t["params"]["regularization"] in rf.evaluation.SPACES["EASE"]["regularization"] for t in result.trials)
    with pytest.raises(ValueError, match="no default search space"):
        rf.tune(rf.Popularity, None, X)


def test_a_model_is_copied_for_every_trial_and_never_fitted():
    """tune and cross_validate take a model (as scikit-learn's searches take an estimator):
    fixed settings travel with it and a wrapped model's parameters can be searched. Before,
    an instance raised "'ItemKNN' object is not callable"."""
    rng = np.random.default_rng(0)
    X = rf.Interactions.from_arrays(rng.integers(0, 100, 3000), rng.integers(0, 60, 3000))
    knn = rf.ItemKNN(metric="cosine")
    result = rf.tune(knn, {"neighbours": [10, 20]}, X, search="grid")
    assert not knn.is_fitted and result.model is not knn
    assert result.model.metric == "cosine" and result.model.neighbours == result.best_params["neighbours"]
    by_class = rf.tune(rf.ItemKNN, {"neighbours": [10, 20]}, X, search="grid", fixed={"metric": "cosine"})
    assert [t["score"] for t in by_class.trials] == [t["score"] for t in result.trials]
    wrapped = rf.ColdStart(rf.ALS(factors=4, iterations=2, random_state=0))
    result = rf.tune(wrapped, {"model__factors": [4, 8]}, X, search="grid")
    assert [t["params"]["model__factors"] for t in result.trials] == [4, 8]
    assert result.model.model.factors == result.best_params["model__factors"]
    assert not wrapped.is_fitted and not wrapped.model.is_fitted
    with pytest.raises(ValueError, match=r"ColdStart has no parameter 'model__nope'"):
        rf.tune(wrapped, {"model__nope": [1]}, X)
    with pytest.raises(TypeError, match="model_class must be a recforge model class"):
        rf.tune("EASE", None, X)
    cv = rf.cross_validate(knn, X, folds=2)
    assert cv["ndcg"] == rf.cross_validate(lambda: rf.ItemKNN(metric="cosine"), X, folds=2)["ndcg"]
    assert not knn.is_fitted
    with pytest.raises(TypeError, match="make_model must be"):
        rf.cross_validate(3, X, folds=2)


def test_a_seeded_search_of_a_randomly_initialised_model_repeats():
    """ALS left at random_state=None drew other initial factors in every trial and every run:
    the same seeded search gave other scores. tune seeds it, unless the caller set a seed."""
    X = sp.csr_matrix(interactions(seed=7))
    space = {"regularization": [0.1, 10.0]}
    runs = [rf.tune(rf.ALS(factors=8, iterations=3), space, X, search="grid", seed=4) for _ in range(2)]
    assert [t["score"] for t in runs[0].trials] == [t["score"] for t in runs[1].trials]
    assert all(t["params"]["random_state"] == 4 for t in runs[0].trials)
    np.testing.assert_array_equal(runs[0].model.item_factors_, runs[1].model.item_factors_)
    own = rf.tune(rf.ALS(factors=8, iterations=3, random_state=9), space, X, search="grid", seed=4)
    assert own.model.random_state == 9 and "random_state" not in own.trials[0]["params"]
    fixed = rf.tune(rf.ALS, space, X, search="grid", fixed={"random_state": 2}, seed=4)
    assert fixed.model.random_state == 2
    wrapped = rf.tune(rf.ColdStart(rf.ALS(factors=4, iterations=2)), {"model__factors": [4]}, X, seed=5)
    assert wrapped.model.model.random_state == 5


def test_a_best_value_at_the_edge_of_a_numeric_list_is_said():
    """A best value that is the largest (or smallest) of its list may not be the optimum: on
    this small set EASE's validation NDCG rises with regularization up to about 1000."""
    X = sp.csr_matrix(interactions(seed=7, n_users=120, n_items=40))
    low = rf.tune(rf.EASE, {"regularization": [1.0, 3.0, 10.0]}, X, k=5, search="grid", refit=False)
    assert low.best_params["regularization"] == 10.0 and low.at_edge == {"regularization": "largest"}
    assert "regularization: the best value (10.0) is the largest tried" in str(low)
    # inside its list, a list of two, categories and booleans: nothing to say
    from recforge.evaluation.tune import edges

    assert edges({"a": [1.0, 2.0, 3.0]}, {"a": 1.0}) == {"a": "smallest"}
    assert edges({"a": [1, 2, 3]}, {"a": 2}) == {}
    assert edges({"a": [1, 2]}, {"a": 2}) == {}
    assert edges({"metric": ["cosine", "bm25", "tfidf"]}, {"metric": "tfidf"}) == {}
    assert edges({"b": [False, True, True]}, {"b": True}) == {}
    assert edges({"a": [3, 1, 2]}, {"a": 3}) == {"a": "largest"}  # whatever the list's order


def test_the_trials_as_a_data_frame():
    """Comparison had to_frame, TuneResult only a list of dicts."""
    pd = pytest.importorskip("pandas")
    X = sp.csr_matrix(interactions(seed=9))
    result = rf.tune(rf.EASE, {"regularization": [1.0, 10.0, 100.0]}, X, search="grid", refit=False)
    frame = result.to_frame()
    assert list(frame.columns) == ["regularization", "ndcg", "fit_seconds"] and frame.index.name == "trial"
    assert frame["regularization"].tolist() == [1.0, 10.0, 100.0]
    assert frame["ndcg"].max() == result.best_score
    assert isinstance(frame, pd.DataFrame)
    with pytest.raises(ValueError, match="is not at the edge of its space"):
        result.edge_note("neighbours")

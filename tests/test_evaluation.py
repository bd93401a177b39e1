"""rf.evaluate, rf.compare and rf.cross_validate against the metrics computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
import recforge as rf
import scipy.sparse as sp
from model_behaviour import interactions
from recforge.metrics import RANKING_METRICS


@pytest.fixture
def split():
    return rf.split.per_user_split(interactions(n_users=300, n_items=50), 0.3, seed=2)


def test_evaluate_is_ranking_metrics_of_recommend(split):
    train, test = split
    model = rf.ItemKNN(neighbours=10).fit(train)
    got = rf.evaluate(model, train, test, k=5)
    users = np.flatnonzero(np.diff(test.indptr))
    ids, _ = model.recommend(users, train[users], k=5)
    want = rf.metrics.ranking_metrics(ids, test[users], 5)
    for m in RANKING_METRICS:
        assert got[m] == pytest.approx(want[m], rel=1e-12)
    assert got["n_users"] == len(users)
    assert got["coverage"] == pytest.approx(rf.metrics.coverage(ids, train.shape[1]))


def test_compare_reports_intervals_and_paired_tests(split):
    train, test = split
    pop = rf.Popularity().fit(train)
    result = rf.compare(
        {"popularity": pop, "same": rf.Popularity().fit(train), "itemknn": rf.ItemKNN(neighbours=10).fit(train)},
        train,
        test,
        k=5,
    )
    base = rf.evaluate(pop, train, test, k=5)
    for m in RANKING_METRICS:
        mean, low, high = result.metrics["popularity"][m]
        assert mean == pytest.approx(base[m]) and low <= mean <= high
        assert result.p_values["same"][m] == 1.0  # identical models cannot differ
        assert 0.0 <= result.p_values["itemknn"][m] <= 1.0
    assert "popularity" in str(result) and "p=" in str(result)
    # a t-test that underflows to 0 is shown as below a bound, never "p=0"
    result.p_values["itemknn"] = {m: 0.0 for m in RANKING_METRICS}
    assert "(p=0)" not in str(result) and "(p<0.001)" in str(result)


def test_models_that_predict_ratings_get_their_rating_error():
    """BiasedMF and KNNRegressor were judged by precision@10 alone, a ranking they are not
    fitted for; a scikit-surprise user reads RMSE and MAE. They are the errors of predict on
    the test's pairs, tested against the first rating model on the same pairs."""
    from scipy import stats

    rng = np.random.default_rng(4)
    dense = np.where(rng.random((120, 40)) < 0.3, rng.integers(1, 6, (120, 40)), 0).astype(np.float64)
    train, test = rf.split.per_user_split(sp.csr_matrix(dense), 0.25, seed=1)
    mf, knn = rf.BiasedMF(random_state=0).fit(train), rf.KNNRegressor(neighbours=10).fit(train)
    rows, cols = test.nonzero()
    given = np.asarray(test[rows, cols]).ravel()
    errors = {name: m.predict(rows, cols) - given for name, m in (("mf", mf), ("knn", knn))}
    got = rf.evaluate(mf, train, test, k=5)
    assert got["rmse"] == pytest.approx(rf.metrics.rmse(given, mf.predict(rows, cols)), rel=1e-12)
    assert got["mae"] == pytest.approx(rf.metrics.mae(given, mf.predict(rows, cols)), rel=1e-12)
    assert got["n_ratings"] == given.size
    assert "rmse" not in rf.evaluate(rf.Popularity().fit(train), train, test, k=5)
    result = rf.compare({"pop": rf.Popularity().fit(train), "mf": mf, "knn": knn}, train, test, k=5)
    assert list(result.ratings) == ["mf", "knn"] and result.n_ratings == given.size
    for name, e in errors.items():
        rmse, low, high = result.ratings[name]["rmse"]
        assert rmse == pytest.approx(np.sqrt(np.mean(e**2)), rel=1e-12) and low < rmse < high
        mae, low, high = result.ratings[name]["mae"]
        half = stats.t.ppf(0.975, e.size - 1) * np.abs(e).std(ddof=1) / np.sqrt(e.size)
        assert mae == pytest.approx(np.abs(e).mean()) and high - mae == pytest.approx(half)
    want = stats.ttest_rel(errors["knn"] ** 2, errors["mf"] ** 2).pvalue
    assert result.rating_p_values["knn"]["rmse"] == pytest.approx(want) and "mf" not in result.rating_p_values
    assert "Rating error over" in str(result) and "| knn | " in str(result).split("Rating error")[0].split("| mae |")[1]
    assert "p: paired t-test against mf." in str(result).split("Rating error")[1]
    alone = rf.compare({"pop": rf.Popularity().fit(train), "mf": mf}, train, test, k=5)
    assert "against mf" not in str(alone).split("Rating error")[1]  # one rating model: tested against nothing
    pytest.importorskip("pandas")
    frame = result.to_frame()
    assert np.isnan(frame.loc["pop", "rmse"]) and frame.loc["knn", "rmse_p"] == pytest.approx(want)
    # inside ColdStart (as recforge evaluate fits BiasedMF) the model it wraps rates
    wrapped = rf.compare({"mf": rf.ColdStart(rf.BiasedMF(random_state=0)).fit(train)}, train, test, k=5)
    assert wrapped.ratings["mf"] == result.ratings["mf"]
    # k-fold, as scikit-surprise's cross_validate reports it
    folds = rf.cross_validate(lambda: rf.BiasedMF(random_state=0), sp.csr_matrix(dense), folds=3)
    assert folds["rmse"][0] == pytest.approx(np.mean([f["rmse"] for f in folds["folds"]]))
    assert "rmse" not in rf.cross_validate(rf.Popularity, sp.csr_matrix(dense), folds=3)


def test_a_comparison_as_a_data_frame_holds_the_table(split):
    pd = pytest.importorskip("pandas")
    train, test = split
    models = {"itemknn": rf.ItemKNN(neighbours=10).fit(train), "popularity": rf.Popularity().fit(train)}
    result = rf.compare(models, train, test, k=5, beyond=True, similarity=models["itemknn"].similarity_)
    frame = result.to_frame()
    assert list(frame.index) == ["itemknn", "popularity"] and frame.index.name == "model"
    for name in models:
        for m in RANKING_METRICS:
            assert tuple(frame.loc[name, [m, f"{m}_low", f"{m}_high"]]) == result.metrics[name][m]
        for measure, value in result.beyond[name].items():
            assert frame.loc[name, measure] == value
    assert frame.loc["itemknn", [f"{m}_p" for m in RANKING_METRICS]].isna().all()  # the baseline
    assert (frame.loc["popularity", [f"{m}_p" for m in RANKING_METRICS]] == pd.Series(
        {f"{m}_p": result.p_values["popularity"][m] for m in RANKING_METRICS})).all()  # fmt: skip


def test_cross_validate_uses_every_interaction_once():
    X = interactions(n_users=200, n_items=40)
    seen = []

    class Recording(rf.Popularity):
        def fit(self, user_items, times=None, now=None):
            seen.append(user_items.nnz)
            return super().fit(user_items)

    out = rf.cross_validate(Recording, X, folds=4, k=5)
    assert len(out["folds"]) == 4
    assert sum(X.nnz - n for n in seen) == X.nnz  # the test folds partition the interactions
    mean, low, high = out["ndcg"]
    assert low <= mean <= high
    # more folds than interactions: folds without a test pair, each one more fit (a typo's
    # folds=200000 on the shipped sample ran on for hours); refused before any fit
    seen.clear()
    with pytest.raises(ValueError, match=f"folds must be at most the {X.nnz:,} interactions"):
        rf.cross_validate(Recording, X, folds=X.nnz + 1, k=5)
    assert not seen


def test_mismatched_shapes_are_rejected(split):
    train, test = split
    with pytest.raises(ValueError, match="train and test must have the same shape"):
        rf.evaluate(rf.Popularity().fit(train), train, test[:, :10])


def test_what_is_not_a_fitted_model_is_named(split):
    """A class (rf.ItemKNN, not rf.ItemKNN()) failed inside recommend with "missing 1 required
    positional argument", anything else with an AttributeError."""
    train, test = split
    for call, label in [
        (lambda m: rf.evaluate(m, train, test), "model"),
        (lambda m: rf.compare({"knn": m}, train, test), "model 'knn'"),
    ]:
        with pytest.raises(TypeError, match=f"{label} must be a fitted recforge model .* got the class ItemKNN"):
            call(rf.ItemKNN)
        with pytest.raises(TypeError, match=f"{label} must be a fitted recforge model .* got int"):
            call(5)


def test_interactions_built_apart_are_rejected_even_of_one_shape():
    """Two Interactions built from their own events number customers and products by first
    appearance: of one shape, they paired different products and the metrics were silently
    wrong."""
    rng = np.random.default_rng(3)
    users, items = rng.integers(0, 40, 3000), rng.integers(0, 50, 3000)
    fit, held = np.arange(3000) < 2400, np.arange(3000) >= 2400
    train = rf.Interactions.from_arrays(users[fit], items[fit])
    test = rf.Interactions.from_arrays(users[held][::-1], items[held][::-1])
    assert train.shape == test.shape and not np.array_equal(train.item_ids, test.item_ids)
    model = rf.ItemKNN().fit(train)
    with pytest.raises(ValueError, match="train and test number their users differently"):
        rf.evaluate(model, train, test)
    with pytest.raises(ValueError, match="train and test number their users differently"):
        rf.compare({"knn": model}, train, test)
    aligned = train.transform({"user": users[held], "item": items[held]})
    assert rf.evaluate(model, train, aligned)["n_users"] > 0
    other = rf.ItemKNN().fit(test)
    with pytest.raises(ValueError, match="train and model 'other' number .* fit it on train"):
        rf.compare({"knn": model, "other": other}, train, aligned)
    # a model fitted on a plain matrix carries no ids: nothing to compare
    rf.evaluate(rf.ItemKNN().fit(train.matrix), train, aligned)


def test_item_knn_beats_popularity_on_movielens(datasets_dir):
    # Real data: ML-100K, 80/20 per-user split. Neighbourhoods must beat the popularity baseline
    # with a significant paired difference, or something in the chain is broken.
    import scipy.sparse as sp

    raw = np.loadtxt(datasets_dir / "ml-100k" / "u.data", dtype=np.int64)
    X = sp.csr_matrix((np.ones(len(raw), np.float32), (raw[:, 0] - 1, raw[:, 1] - 1)))
    train, test = rf.split.per_user_split(X, 0.2, seed=0)
    result = rf.compare(
        {"popularity": rf.Popularity().fit(train), "itemknn": rf.ItemKNN(neighbours=100).fit(train)}, train, test, k=10
    )
    assert result.n_users == 943
    assert result.metrics["itemknn"]["ndcg"][0] > result.metrics["popularity"]["ndcg"][0]
    assert result.p_values["itemknn"]["ndcg"] < 0.05


def test_auc_ranks_customers_in_blocks_with_the_same_result(split, monkeypatch):
    """auc=True ranks every candidate for every customer: in blocks of customers, so memory stays
    bounded (all at once, 138k x 27k rankings would be 60 GB), with the one-block figures."""
    import sys

    train, test = split
    model = rf.ColdStart(rf.ALS(factors=4, iterations=3, random_state=0)).fit(train)
    whole = rf.evaluate(model, train, test, k=5, auc=True, groups=True)
    monkeypatch.setattr(sys.modules["recforge.evaluation.evaluate"], "AUC_BLOCK_ENTRIES", 7 * 50, raising=False)
    calls = []
    recommend = model.recommend

    def spy(users, *args, **kwargs):
        ids, scores = recommend(users, *args, **kwargs)
        calls.append(len(users))
        return ids, scores

    monkeypatch.setattr(model, "recommend", spy)
    blocked = rf.evaluate(model, train, test, k=5, auc=True, groups=True)
    assert max(calls) == 7 and len(calls) > 10
    for name in ("auc", *RANKING_METRICS, "coverage"):
        assert blocked[name] == pytest.approx(whole[name], rel=1e-12), name
    assert blocked["groups"]["returning"]["auc"] == pytest.approx(whole["groups"]["returning"]["auc"], rel=1e-12)


def test_groups_and_auc_follow_their_definitions():
    X = sp.csr_matrix(interactions(seed=2, n_users=80, n_items=30))
    train, test = rf.split.cold_users(X, 0.2, seed=0)
    tr2, te2 = rf.split.cold_items(train, 0.2, seed=0)  # then hold out products too
    test = sp.csr_matrix(test + te2)
    train = tr2
    model = rf.ColdStart(rf.ALS(factors=4, iterations=3, random_state=0)).fit(train)
    res = rf.evaluate(model, train, test, k=5, auc=True, groups=True)
    g = res["groups"]
    assert g["returning"]["n_users"] + g["new_customers"]["n_users"] == res["n_users"]
    users = np.flatnonzero(np.diff(test.indptr) > 0)
    full, _ = model.recommend(users, train[users], k=30)
    n_candidates = 30 - np.diff(train[users].indptr)
    assert res["auc"] == pytest.approx(rf.metrics.auc(full, test[users], n_candidates)["auc"])
    assert res["precision"] == pytest.approx(rf.metrics.ranking_metrics(full, test[users], 5)["precision"])
    cold = np.flatnonzero(np.asarray(train.sum(axis=0)).ravel() == 0)
    assert g["new_products"]["candidates"] == cold.size
    who = np.flatnonzero(np.diff(test[:, cold].tocsr().indptr) > 0)
    ids = ties_at_random(model, who, train[who], cold, 5)
    mask = np.zeros(30)
    mask[cold] = 1
    held = sp.csr_matrix(test[who].multiply(mask))
    held.eliminate_zeros()  # the other products are not relevant here: no stored zeros for them
    assert g["new_products"]["n_users"] == who.size
    assert g["new_products"]["recall"] == pytest.approx(rf.metrics.ranking_metrics(ids, held, 5)["recall"])
    assert g["new_products"]["recall"] > 0


def ties_at_random(model, users, history, cold, k):
    """The model's top k of the candidates ``cold`` in plain Python: by score, ties in the
    order of evaluate.tie_keys (each customer's own pseudo-random order)."""
    from recforge.evaluation.evaluate import tie_keys

    ids, scores = model.recommend(users, history, k=cold.size, allow=cold)
    keys = tie_keys(users, ids)
    out = np.full((len(users), k), -1)
    for r in range(len(users)):
        ranked = sorted((-scores[r][j], keys[r][j], ids[r][j]) for j in range(ids.shape[1]) if ids[r][j] >= 0)
        top = [i for _, _, i in ranked[:k]]
        out[r, : len(top)] = top
    return out


def test_the_new_products_group_does_not_measure_how_products_are_numbered():
    """A model that knows nothing of the new products scores them all alike; its ties broken by
    product number found, here, every customer's new products (the lowest numbered ones):
    recall 1. In each customer's own random order it finds what chance finds."""
    n_users, n_known, n_cold = 200, 20, 20
    train = sp.random(n_users, n_known + n_cold, density=0.2, format="lil", random_state=5)
    train[:, n_known:] = 0
    train = sp.csr_matrix(train)
    test = sp.lil_matrix(train.shape)
    test[:, n_known : n_known + 2] = 1.0  # everyone's new products: the two lowest numbered
    test = sp.csr_matrix(test)
    model = rf.Popularity().fit(train)  # new products: popularity 0, all alike
    ids, scores = model.recommend(np.arange(3), train[:3], k=5, allow=np.arange(n_known, n_known + n_cold))
    assert (ids[:, :2] == [n_known, n_known + 1]).all() and (scores == 0).all()  # numbering wins the ties
    group = rf.evaluate(model, train, test, k=5, groups=True)["groups"]["new_products"]
    assert group["n_users"] == n_users
    assert abs(group["recall"] - 5 / n_cold) < 0.08  # chance: 5 of 20 candidates
    compared = rf.compare({"pop": model}, train, test, k=5, groups=True).groups["new_products"]
    assert compared.metrics["pop"]["recall"][0] == pytest.approx(group["recall"])


def test_compare_reports_the_same_groups_as_evaluate():
    X = sp.csr_matrix(interactions(seed=4, n_users=80, n_items=30))
    train, test = rf.split.cold_users(X, 0.25, seed=0)
    models = {"pop": rf.Popularity().fit(train), "cold": rf.ColdStart(rf.ItemKNN()).fit(train)}
    result = rf.compare(models, train, test, k=5, groups=True)
    for name, model in models.items():
        res = rf.evaluate(model, train, test, k=5, groups=True)
        assert result.metrics[name]["ndcg"][0] == pytest.approx(res["ndcg"])
        for group in ("returning", "new_customers"):
            assert result.groups[group].n_users == res["groups"][group]["n_users"]
            if result.groups[group].n_users:
                assert result.groups[group].metrics[name]["ndcg"][0] == pytest.approx(res["groups"][group]["ndcg"])
    assert result.groups["new_customers"].n_users > 0 and "new_customers:" in str(result)


def test_the_new_products_group_holds_only_customers_with_a_new_product_in_test():
    """Cut to the new products with a dense mask, the test rows kept every other product as a
    stored zero: rf.compare's group held every customer with a test item, and both measured
    recall against products the group cannot rank (lower than it is)."""
    X = sp.csr_matrix(interactions(seed=2, n_users=80, n_items=30))
    train, test = rf.split.cold_items(X, 0.2, seed=0)
    train, test = sp.csr_matrix(train), sp.csr_matrix(test + rf.split.per_user_split(train, 0.3, seed=1)[1])
    train = sp.csr_matrix(train - train.multiply(test.astype(bool)))
    train.eliminate_zeros()
    cold = np.flatnonzero(np.bincount(train.indices, minlength=30) == 0)
    who = np.flatnonzero(np.diff(test[:, cold].tocsr().indptr) > 0)
    assert 0 < who.size < np.count_nonzero(np.diff(test.indptr))  # some customers have no new product
    model = rf.ColdStart(rf.ItemKNN()).fit(train)
    ids = ties_at_random(model, who, train[who], cold, 5)
    rows = test[who].toarray() * np.isin(np.arange(30), cold)
    want = np.mean(
        [len(set(ids[r]) & set(np.flatnonzero(rows[r]))) / np.count_nonzero(rows[r]) for r in range(who.size)]
    )
    compared = rf.compare({"m": model}, train, test, k=5, groups=True).groups["new_products"]
    evaluated = rf.evaluate(model, train, test, k=5, groups=True)["groups"]["new_products"]
    assert compared.n_users == evaluated["n_users"] == who.size
    assert compared.metrics["m"]["recall"][0] == pytest.approx(want) and evaluated["recall"] == pytest.approx(want)
    # the table says what the group ranks: every model's equal numbers there are no fault
    assert compared.candidates == evaluated["candidates"] == cold.size
    assert f"ranked among the {cold.size:,} products without training interactions" in str(compared)


def test_paired_tests_of_nearly_constant_differences_say_nothing_of_their_own():
    """scipy's "Precision loss occurred in moment calculation" reached `recforge evaluate` as a
    recforge warning where two models' per-customer values differed by nearly one constant."""
    import warnings

    from recforge.evaluation.evaluate import _paired_p
    from scipy import stats

    base = np.linspace(0.0, 1.0, 50)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _paired_p(base + 0.1, base) == 0.0  # one constant: certain
        assert _paired_p(base, base) == 1.0  # no difference
        assert _paired_p(base + 0.1 + 1e-16 * (np.arange(50) % 2), base) <= 1e-10  # nearly constant: no warning
    rng = np.random.default_rng(0)
    a, b = rng.random(40), rng.random(40)
    assert _paired_p(a, b) == pytest.approx(stats.ttest_rel(a, b).pvalue)


def test_a_diversity_of_lists_of_one_reads_not_applicable():
    """With k=1 intra-list diversity has no pair to measure: the table printed "nan"."""
    X = sp.csr_matrix(interactions(seed=3, n_users=60, n_items=25))
    train, test = rf.split.per_user_split(X, 0.3, seed=0)
    S = rf.similarity(sp.csr_matrix(train.T), k=10)
    result = rf.compare({"pop": rf.Popularity().fit(train)}, train, test, k=1, beyond=True, similarity=S)
    assert np.isnan(result.beyond["pop"]["intra_list_diversity"])
    table = str(result)
    assert "nan" not in table and "| n/a |" in table and "needs lists of two or more" in table

"""rf.campaign.rerank against a plain-Python greedy re-ranker, on small random inputs."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
import recforge as rf
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

# the modules, not the functions of the same name the packages export
rerank_module = importlib.import_module("recforge.campaign.rerank")
similarity_module = importlib.import_module("recforge.kernels.similarity")


def kl_term(p, n_h, length, alpha):
    """p log(p / q~) of one category: share p of the mix, summed weight n_h in a list of length."""
    return p * math.log(p / ((1 - alpha) * n_h / length + alpha * p))


def reference(ids, scores, k, *, diversity=0.0, S=None, cat=None, cap=None, calibration=0.0, mix=None,
              alpha=0.01, boost=None, eligible=None, is_new=None, min_new=0, penalty="max"):  # fmt: skip
    """One list at a time, one position at a time, every candidate valued from scratch. ``cat``:
    per item, {category: weight} (an item of n categories weighs 1/n in each)."""
    n, width = ids.shape
    out = np.full((n, k), -1, dtype=np.int64)
    out_scores = np.full((n, k), -np.inf, dtype=scores.dtype)
    short = missing = 0
    for u in range(n):
        valid = [
            c
            for c in range(width)
            if ids[u, c] >= 0 and (eligible is None or eligible[ids[u, c]]) and np.isfinite(scores[u, c])
        ]
        rel = {}
        if valid:
            values = [float(scores[u, c]) for c in valid]
            lo, hi = min(values), max(values)
            for c in valid:
                rel[c] = ((float(scores[u, c]) - lo) / (hi - lo) if hi > lo else 1.0) + (
                    0.0 if boost is None else float(boost[ids[u, c]])
                )
        chosen, counts, shares, new_chosen = [], {}, {}, 0
        new_left = sum(1 for c in valid if is_new is not None and is_new[ids[u, c]])
        for m in range(k):
            owed = max(0, min_new - new_chosen)
            only_new = owed > 0 and k - m <= owed and new_left > 0
            best, best_value = None, -math.inf
            for c in valid:
                item = ids[u, c]
                if c in chosen or item in ids[u, chosen]:  # an item listed twice is chosen once
                    continue
                mine = {} if cat is None else cat[item]  # {category: weight}
                if cap is not None and any(cap[g] >= 0 and counts.get(g, 0) >= cap[g] for g in mine):
                    continue
                if only_new and not is_new[item]:
                    continue
                value = (1 - diversity) * rel[c]
                if diversity > 0 and S is not None:
                    sims = [float(S[item, ids[u, s]]) for s in chosen]
                    if penalty == "max":
                        value -= diversity * max([0.0] + sims)
                    elif chosen:  # the mean, negative similarities as 0
                        value -= diversity * (sum(max(x, 0.0) for x in sims) / len(chosen))
                if calibration > 0 and mix is not None:
                    # KL(p || q~) with c added: the terms of the list with one item more, each
                    # of c's categories' term then replaced (summed in the kernel's order, so
                    # that equal values stay equal and ties go to the model's order alike)
                    kl = 0.0
                    for h in np.flatnonzero(mix[u] > 0):
                        kl += kl_term(float(mix[u, h]), shares.get(h, 0.0), m + 1, alpha)
                    for g in sorted(mine):
                        if mix[u, g] > 0:
                            p, before = float(mix[u, g]), shares.get(g, 0.0)
                            kl += kl_term(p, before + mine[g], m + 1, alpha) - kl_term(p, before, m + 1, alpha)
                    value -= calibration * kl
                if best is None or value > best_value:
                    best, best_value = c, value
            if best is None:
                break
            chosen.append(best)
            item = ids[u, best]
            out[u, m], out_scores[u, m] = item, scores[u, best]
            for g, w in ({} if cat is None else cat[item]).items():
                counts[g] = counts.get(g, 0) + 1
                shares[g] = shares.get(g, 0.0) + w
            if is_new is not None and is_new[item]:
                new_chosen += 1
                new_left -= 1
        short += len(chosen) < k
        missing += new_chosen < min_new
    return out, out_scores, short, missing


def candidates(rng, n, width, n_items, dtype, duplicates=False):
    """Candidate lists best first, -1 / -inf padded; ``duplicates``: some items listed twice (as
    when candidates from several sources are merged) and some candidates at -inf (left out)."""
    ids = np.full((n, width), -1, dtype=np.int64)
    scores = np.full((n, width), -np.inf, dtype=dtype)
    for u in range(n):
        m = rng.integers(0, min(width, n_items) + 1)
        ids[u, :m] = rng.choice(n_items, m, replace=False)
        scores[u, :m] = np.sort(rng.choice([0.5, 1.0, 1.5, 2.0, 3.0], m) + rng.integers(0, 2, m) * rng.random(m))[::-1]
        if duplicates and m > 1:
            again = rng.random(m) < 0.3
            ids[u, :m][again] = rng.choice(ids[u, :m], int(again.sum()))
            scores[u, :m][rng.random(m) < 0.1] = -np.inf
    return ids, scores


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(0, 6),
    width=st.integers(0, 9),
    k=st.integers(0, 10),
    dtype=st.sampled_from([np.float32, np.float64]),
    index=st.sampled_from([np.int32, np.int64]),
    diversity=st.sampled_from([0.0, 0.3, 0.7, 1.0]),
    calibration=st.sampled_from([0.0, 0.5, 3.0]),
    use_caps=st.booleans(),
    use_rules=st.booleans(),
    min_new=st.integers(0, 3),
    duplicates=st.booleans(),
    penalty=st.sampled_from(["max", "mean"]),
    several=st.booleans(),
)
def test_rerank_matches_the_plain_python_greedy(
    seed, n, width, k, dtype, index, diversity, calibration, use_caps, use_rules, min_new, duplicates, penalty, several
):
    check_against_the_reference(
        seed,
        n,
        width,
        k,
        dtype,
        index,
        diversity,
        calibration,
        use_caps,
        use_rules,
        min_new,
        duplicates,
        penalty,
        several,
    )


@settings(max_examples=8, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 2),
    width=st.integers(65, 100),
    k=st.integers(65, 90),
    diversity=st.sampled_from([0.3, 0.7, 1.0]),
    duplicates=st.booleans(),
    penalty=st.sampled_from(["max", "mean"]),
    use_caps=st.booleans(),
)
def test_long_lists_match_the_plain_python_greedy(seed, n, width, k, diversity, duplicates, penalty, use_caps):
    """Lists longer than 64 keep every candidate's similarity to the chosen items up to date as
    each is chosen, and mark the chosen items (k 1,000 of 1,000 candidates: 10 s to 3 s for the
    sample's customers): the same lists."""
    check_against_the_reference(
        seed, n, width, k, np.float32, np.int32, diversity, 0.0, use_caps, True, 2, duplicates, penalty, False, 120
    )


def check_against_the_reference(
    seed, n, width, k, dtype, index, diversity, calibration, use_caps, use_rules, min_new, duplicates, penalty, several,
    n_items=12,
):  # fmt: skip
    rng = np.random.default_rng(seed)
    ids, scores = candidates(rng, n, width, n_items, dtype, duplicates)
    S = sp.random(n_items, n_items, density=0.4, random_state=seed, format="csr", dtype=np.float64)
    S.data -= 0.3 * (seed % 2)  # signed similarities half the time: negative ones count as 0
    S.indices, S.indptr = S.indices.astype(index), S.indptr.astype(index)
    S_sym = similarity_module.symmetric(S, n_items, dtype).toarray()
    labels = np.array(["shoes", "bags", "hats", None], dtype=object)
    cat_labels = labels[rng.integers(0, 4, n_items)]
    if several:  # some items of several categories (a film's genres), repeats and gaps in them
        cat_labels = list(cat_labels)
        for j in np.flatnonzero(rng.random(n_items) < 0.5):
            cat_labels[j] = list(labels[rng.integers(0, 4, rng.integers(0, 4))])
    history = sp.csr_matrix((rng.random((n, n_items)) < 0.3).astype(np.float64))
    boost = rng.choice([0.0, 0.0, 0.2, -0.3], n_items) if use_rules else None
    deny = rng.choice(n_items, 2, replace=False) if use_rules else None
    new = rng.random(n_items) < 0.3
    caps = {"shoes": 1, "bags": int(rng.integers(0, 3))} if use_caps else None
    if caps:
        present = {g for c in cat_labels for g in (c if isinstance(c, list) else [c])}
        caps = {label: cap for label, cap in caps.items() if label in present} or None
    got_ids, got_scores, report = rf.campaign.rerank(
        ids, scores, k, diversity=diversity, similarity=S, diversity_penalty=penalty, categories=cat_labels, caps=caps,
        calibration=calibration, history=history, boost=boost, deny=deny, new_items=new, min_new=min_new,
        n_items=n_items, return_report=True, n_threads=3,
    )  # fmt: skip
    names = list(report["categories"])
    cat = []  # {category code: weight} per item, from the labels alone
    for value in cat_labels:
        present = {v for v in (value if isinstance(value, list) else [value]) if v is not None}
        cat.append({names.index(v): float(dtype(1.0 / len(present))) for v in present})
    assert sorted(names) == sorted({g for c in cat_labels for g in (c if isinstance(c, list) else [c]) if g})
    cap = None
    if caps:
        cap = np.full(len(names), -1)
        for label, c in caps.items():
            cap[names.index(label)] = c
    mix = None
    if calibration > 0:  # rf.campaign.category_mix is checked against hand counts below
        mix = rf.campaign.category_mix(history, cat_labels)[0].toarray().astype(dtype)
    eligible = None
    if deny is not None:
        eligible = np.ones(n_items, dtype=bool)
        eligible[deny] = False
    want_ids, want_scores, short, missing = reference(
        ids, scores, k, diversity=diversity, S=S_sym if diversity > 0 else None, cat=cat, cap=cap,
        calibration=calibration, mix=mix, boost=None if boost is None else boost.astype(dtype),
        eligible=eligible, is_new=new, min_new=min_new, penalty=penalty,
    )  # fmt: skip
    np.testing.assert_array_equal(got_ids, want_ids)
    np.testing.assert_array_equal(got_scores, want_scores)
    assert got_scores.dtype == dtype
    assert (report["short_lists"], report["missing_new"]) == (short, missing)
    one = rf.campaign.rerank(
        ids, scores, k, diversity=diversity, similarity=S, diversity_penalty=penalty, categories=cat_labels, caps=caps,
        calibration=calibration, history=history, boost=boost, deny=deny, new_items=new, min_new=min_new,
        n_items=n_items, n_threads=1,
    )  # fmt: skip
    np.testing.assert_array_equal(one[0], got_ids)


def test_defaults_keep_the_models_order_and_skip_padding():
    ids = np.array([[5, 3, -1, 7], [-1, -1, -1, -1], [2, 4, 6, 8]])
    scores = np.array([[3.0, 2.0, -np.inf, 1.0], [-np.inf] * 4, [1.0, 1.0, 1.0, 1.0]])
    got, got_scores = rf.campaign.rerank(ids, scores, k=3, n_items=10)
    assert got.tolist() == [[5, 3, 7], [-1, -1, -1], [2, 4, 6]]  # ties keep the model's order
    assert got_scores[1].tolist() == [-np.inf] * 3


def test_caps_that_cannot_be_met_shorten_the_list_and_are_counted():
    ids = np.array([[0, 1, 2, 3]])
    scores = np.array([[4.0, 3.0, 2.0, 1.0]])
    categories = ["warmer", "warmer", "warmer", "bottle"]
    got, _, report = rf.campaign.rerank(ids, scores, k=3, categories=categories, caps=1, return_report=True)
    assert got.tolist() == [[0, 3, -1]] and report["short_lists"] == 1
    got, _ = rf.campaign.rerank(ids, scores, k=3, categories=categories, caps={"warmer": 2})
    assert got.tolist() == [[0, 1, 3]]


def test_new_products_take_the_last_positions_they_are_owed():
    ids = np.array([[0, 1, 2, 3, 4]])
    scores = np.array([[5.0, 4.0, 3.0, 2.0, 1.0]])
    got, _, report = rf.campaign.rerank(ids, scores, k=3, new_items=[4], min_new=1, return_report=True)
    assert got.tolist() == [[0, 1, 4]] and report["missing_new"] == 0
    got, _, report = rf.campaign.rerank(ids, scores, k=3, new_items=[4], min_new=2, return_report=True)
    assert got.tolist() == [[0, 4, 1]] and report["missing_new"] == 1  # only one new product exists


def test_allow_deny_and_boost():
    ids = np.array([[0, 1, 2, 3]])
    scores = np.array([[4.0, 3.0, 2.0, 1.0]])
    assert rf.campaign.rerank(ids, scores, k=2, deny=[0])[0].tolist() == [[1, 2]]
    assert rf.campaign.rerank(ids, scores, k=2, allow=[2, 3])[0].tolist() == [[2, 3]]
    boost = np.array([0.0, 0.0, 0.0, 2.0])
    assert rf.campaign.rerank(ids, scores, k=2, boost=boost)[0].tolist() == [[3, 0]]


def test_item_selections_size_the_catalogue_like_any_array_over_items():
    """A mask over a catalogue larger than the largest candidate was refused ("one entry per
    item (4)"), as was an allowed product above every candidate; allow=[] was a TypeError about
    float64."""
    ids = np.array([[0, 1, 2, 3], [2, 3, -1, -1]])
    scores = np.array([[4.0, 3.0, 2.0, 1.0], [2.0, 1.0, -np.inf, -np.inf]])
    deny = np.array([True, False, False, False, False])  # five products, candidates 0..3
    assert rf.campaign.rerank(ids, scores, k=2, deny=deny)[0].tolist() == [[1, 2], [2, 3]]
    assert rf.campaign.rerank(ids, scores, k=2, allow=[3, 9])[0].tolist() == [[3, -1], [3, -1]]
    assert rf.campaign.rerank(ids, scores, k=2, allow=[])[0].tolist() == [[-1, -1], [-1, -1]]
    got, _, report = rf.campaign.rerank(ids, scores, k=2, new_items=[7], min_new=1, return_report=True)
    assert got.tolist() == [[0, 1], [2, 3]] and report["missing_new"] == 2
    with pytest.raises(ValueError, match=r"deny as a mask must have one entry per item \(6\)"):
        rf.campaign.rerank(ids, scores, k=2, boost=np.zeros(6), deny=deny)


def test_novelty_bonus_is_the_boost_of_the_scaled_log_popularity():
    ids = np.array([[0, 1, 2, 3], [3, 2, 1, 0]])
    scores = np.array([[4.0, 3.0, 2.0, 1.0], [4.0, 3.0, 2.0, 1.0]])
    popularity = np.array([99.0, 9.0, 0.0, 3.0])
    nov = 1 - np.log1p(popularity) / np.log1p(99.0)
    for weight in (0.5, 2.0):
        got = rf.campaign.rerank(ids, scores, k=3, novelty=weight, popularity=popularity)
        want = rf.campaign.rerank(ids, scores, k=3, boost=weight * nov)
        np.testing.assert_array_equal(got[0], want[0])
    # rel 1, 2/3, 1/3, 0 plus 2 * nov: item 2 (nobody bought it) overtakes the best seller
    assert rf.campaign.rerank(ids, scores, k=1, novelty=2.0, popularity=popularity)[0][0].tolist() == [2]
    # combined with a boost: the two add up
    boost = np.array([0.0, 0.0, 0.0, 5.0])
    got = rf.campaign.rerank(ids, scores, k=2, boost=boost, novelty=1.0, popularity=popularity)[0]
    want = rf.campaign.rerank(ids, scores, k=2, boost=boost + nov)[0]
    np.testing.assert_array_equal(got, want)
    # all-zero popularity: no bonus, the model's order
    flat = rf.campaign.rerank(ids, scores, k=4, novelty=1.0, popularity=np.zeros(4))[0]
    np.testing.assert_array_equal(flat, ids)


def test_calibration_follows_the_customers_mix():
    # the customer bought shoes twice as often as hats; the model proposes only shoes first
    ids = np.array([[0, 1, 2, 3, 4, 5]])
    scores = np.array([[6.0, 5.9, 5.8, 5.7, 1.0, 0.9]])
    categories = ["shoes", "shoes", "shoes", "shoes", "hats", "hats"]
    history = sp.csr_matrix(np.array([[1.0, 1.0, 0, 0, 1.0, 0]]))
    plain = rf.campaign.rerank(ids, scores, k=3)[0]
    calibrated = rf.campaign.rerank(ids, scores, k=3, categories=categories, calibration=2.0, history=history)[0]
    assert plain.tolist() == [[0, 1, 2]]
    assert sorted(calibrated[0].tolist()) == [0, 1, 4]  # two shoes, one hat


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"diversity": 1.5}, ValueError, "diversity"),
        ({"diversity": 0.5}, ValueError, "needs similarity"),
        ({"caps": 1}, ValueError, "caps need categories"),
        ({"calibration": 1.0, "categories": ["a"] * 4}, ValueError, "history"),
        ({"caps": {"x": 1}, "categories": ["a"] * 4}, ValueError, "no item has"),
        ({"min_new": 1}, ValueError, "new_items"),
        ({"allow": [9]}, ValueError, "allow"),
        ({"boost": [1.0, 2.0]}, ValueError, "boost"),
        ({"novelty": 1.0}, ValueError, "needs popularity"),
        ({"novelty": -1.0}, ValueError, "novelty"),
        ({"novelty": 1.0, "popularity": [1.0, -1.0, 0, 0]}, ValueError, "popularity"),
        ({"novelty": 1.0, "popularity": [1.0, 2.0]}, ValueError, "popularity"),
        ({"k": -1}, ValueError, "k"),
        ({"diversity_penalty": "sum"}, ValueError, "diversity_penalty"),
    ],
)
def test_rerank_refuses_bad_input(kwargs, error, match):
    ids = np.array([[0, 1, 2, 3]])
    scores = np.array([[4.0, 3.0, 2.0, 1.0]])
    kwargs = {"n_items": 4, **kwargs}
    with pytest.raises(error, match=match):
        rf.campaign.rerank(ids, scores, **kwargs)


def test_rerank_refuses_bad_arrays():
    with pytest.raises(TypeError, match="ids"):
        rf.campaign.rerank(np.array([[0.5]]), np.array([[1.0]]))
    with pytest.raises(TypeError, match="scores"):
        rf.campaign.rerank(np.array([[0]]), np.array([[1]]))
    with pytest.raises(ValueError, match="shape"):
        rf.campaign.rerank(np.array([[0, 1]]), np.array([[1.0]]))
    with pytest.raises(ValueError, match="ids holds 5, outside the catalogue"):
        rf.campaign.rerank(np.array([[0, 5]]), np.array([[1.0, 0.5]]), n_items=3)
    with pytest.raises(ValueError, match="ids holds -2"):
        rf.campaign.rerank(np.array([[0, -2]]), np.array([[1.0, 0.5]]), n_items=3)
    # without n_items the catalogue is read off the first array over items: a scalar there said
    # "object of type 'int' has no len()"
    ids, scores = np.array([[0, 1]]), np.array([[1.0, 0.5]])
    with pytest.raises(TypeError, match="similarity must be an item-item matrix, got int 5"):
        rf.campaign.rerank(ids, scores, k=1, diversity=0.3, similarity=5)
    with pytest.raises(TypeError, match="categories must be one value per item, got str 'shoes'"):
        rf.campaign.rerank(ids, scores, k=1, categories="shoes")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_scores_that_cannot_be_ranked_are_refused_naming_the_first(dtype, bad):
    """NaN or +inf on a candidate would drop it (or every candidate of its list) without a word:
    refused, naming the first list whatever the threads; on padding it is ignored, and -inf
    leaves a candidate out."""
    rng = np.random.default_rng(0)
    ids, scores = candidates(rng, 3000, 8, 50, dtype)
    ids[:, 0], scores[:, 0] = rng.integers(0, 50, 3000), 10.0  # no empty list
    clean = rf.campaign.rerank(ids, scores, 3, n_items=50)
    padded = scores.copy()
    padded[ids < 0] = bad
    np.testing.assert_array_equal(rf.campaign.rerank(ids, padded, 3, n_items=50)[0], clean[0])
    for threads in (1, 2, 4):
        broken = scores.copy()
        broken[2999, 0] = broken[1234, 0] = bad
        name = "nan" if np.isnan(bad) else "inf"
        with pytest.raises(ValueError, match=f"scores holds {name} for candidate 0 of list 1234 "):
            rf.campaign.rerank(ids, broken, 3, n_items=50, n_threads=threads)
    left_out = scores.copy()
    left_out[:, 0] = -np.inf
    got = rf.campaign.rerank(ids, left_out, 3, n_items=50)[0]
    elsewhere = np.array([ids[u, 0] in ids[u, 1:][np.isfinite(scores[u, 1:])] for u in range(len(ids))])
    chosen = np.any(got == ids[:, [0]], axis=1)
    assert chosen.sum() > 0 and not np.any(chosen & ~elsewhere)  # only through its other listing


def test_category_mix_is_each_customers_share_per_category():
    history = sp.csr_matrix(np.array([[1.0, 1.0, 0, 0], [0, 0, 2.0, 0], [0, 0, 0, 1.0]]))
    mix, labels = rf.campaign.category_mix(history, ["a", "b", "a", None])
    assert labels.tolist() == ["a", "b"]
    np.testing.assert_allclose(mix.toarray(), [[0.5, 0.5], [1.0, 0.0], [0.0, 0.0]])


def test_an_item_of_several_categories_weighs_one_nth_in_each():
    """A film of two genres is half of each in a customer's mix (Steck's p(g|i)), counts in
    full against each genre's cap, and lists of labels of one length are not a 2-D array."""
    history = sp.csr_matrix(np.array([[1.0, 1.0, 0, 0], [0, 0, 2.0, 1.0]]))
    categories = [["Drama", "Comedy"], "Drama", ["Comedy", "Comedy", None], None]
    mix, labels = rf.campaign.category_mix(history, categories)
    assert labels.tolist() == ["Drama", "Comedy"]
    np.testing.assert_allclose(mix.toarray(), [[0.75, 0.25], [0.0, 1.0]])  # a repeat counts once
    pd = pytest.importorskip("pandas")
    same = rf.campaign.category_mix(history, pd.Series(categories, index=[9, 8, 7, 6]))[0]
    np.testing.assert_array_equal(same.toarray(), mix.toarray())
    pairs = [["a", "b"], ["a", "c"], ["b", "c"], ["c", "d"]]  # one length: np.asarray would be 2-D
    mix, labels = rf.campaign.category_mix(sp.csr_matrix(np.ones((1, 4))), pairs)
    np.testing.assert_allclose(mix.toarray(), [[0.25, 0.25, 0.375, 0.125]])
    ids, scores = np.array([[0, 1, 2, 3]]), np.array([[4.0, 3.0, 2.0, 1.0]])
    got = rf.campaign.rerank(ids, scores, k=3, categories=pairs, caps={"a": 1, "c": 1}, return_report=True)
    assert got[0].tolist() == [[0, 2, -1]]  # 1 is a's second, 3 c's second
    got = rf.campaign.rerank(ids, scores, k=3, categories=pairs, caps={"b": 1})[0]
    assert got.tolist() == [[0, 1, 3]]


def test_calibration_to_genres_follows_a_mix_of_films_of_several_genres():
    # the customer watched dramas and comedies alike; the model proposes dramas first, and a
    # film that is both fits the mix better than another drama or a comedy alone
    ids = np.array([[0, 1, 2, 3]])
    scores = np.array([[4.0, 3.9, 3.8, 3.7]])
    categories = ["Drama", "Drama", "Comedy", ["Drama", "Comedy"]]
    history = sp.csr_matrix(np.array([[1.0, 0, 1.0, 0]]))
    got = rf.campaign.rerank(ids, scores, k=3, categories=categories, calibration=5.0, history=history)[0]
    # the film of both genres matches the mix alone; then a drama and a comedy are as far from
    # it (the better score wins), and the comedy balances the drama
    assert got.tolist() == [[3, 0, 2]]
    as_one_label = ["Drama", "Drama", "Comedy", "Drama|Comedy"]  # what a combination was taken as
    got = rf.campaign.rerank(ids, scores, k=3, categories=as_one_label, calibration=5.0, history=history)[0]
    assert got.tolist() == [[0, 2, 1]]


def test_a_candidate_past_the_similarity_names_the_argument_that_set_the_catalogue():
    """A ColdStart model's new products come after its known ones: candidates from it against a
    similarity over the known products only were refused with "outside the catalogue [0, n)"
    and no word of where n came from."""
    S = sp.random(5, 5, density=0.5, format="csr", random_state=0)
    ids, scores = np.array([[0, 7, 2]]), np.array([[3.0, 2.0, 1.0]])
    with pytest.raises(ValueError, match=r"ids holds 7, .*the 5 items are those similarity covers.*n_items_"):
        rf.campaign.rerank(ids, scores, k=2, diversity=0.5, similarity=S)
    with pytest.raises(ValueError, match=r"the 6 items are those n_items covers"):
        rf.campaign.rerank(ids, scores, k=2, n_items=6)
    big = sp.csr_matrix((S.data, S.indices, np.r_[S.indptr, [S.nnz] * 3]), shape=(8, 8))  # known and new products
    lists, _ = rf.campaign.rerank(ids, scores, k=2, diversity=0.5, similarity=big)
    assert lists.shape == (1, 2) and set(lists[0]) <= {0, 7, 2}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("penalty", ["max", "mean"])
def test_a_prepared_similarity_gives_the_matrix_s_lists(dtype, penalty):
    """PreparedSimilarity makes the similarity symmetric and checks it once; re-ranking with it
    gives the lists re-ranking with the matrix gives, call after call, in either precision."""
    rng = np.random.default_rng(5)
    n_items = 40
    S = sp.random(n_items, n_items, density=0.15, random_state=6, format="csr")  # not symmetric
    ids = np.array([rng.permutation(n_items)[:12] for _ in range(30)])
    scores = np.sort(rng.random(ids.shape), axis=1)[:, ::-1].astype(dtype)
    prepared = rf.campaign.PreparedSimilarity(S)
    assert abs(prepared.matrix - prepared.matrix.T).max() == 0 and prepared.matrix.diagonal().max() == 0
    for first in (0, 10, 20):
        rows = slice(first, first + 10)
        options = dict(k=5, diversity=0.6, diversity_penalty=penalty, n_items=n_items)
        want = rf.campaign.rerank(ids[rows], scores[rows], similarity=S, **options)
        got = rf.campaign.rerank(ids[rows], scores[rows], similarity=prepared, **options)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    with pytest.raises(ValueError, match="n_items x n_items"):
        rf.campaign.rerank(ids, scores, k=5, diversity=0.5, similarity=prepared, n_items=n_items + 1)
    with pytest.raises(ValueError, match="square"):
        rf.campaign.PreparedSimilarity(sp.random(4, 5, density=0.5, format="csr"))


def test_prepared_categories_give_the_labels_lists():
    """PreparedCategories builds the membership once (0.7 s a call for a million products of
    two categories); re-ranking and the category mix with it give what the labels give, batch
    after batch, with caps by label and calibration."""
    rng = np.random.default_rng(8)
    n_items = 40
    labels = np.array(["a", "b", "c", "d"], dtype=object)
    categories = np.empty(n_items, dtype=object)
    for i in range(n_items):
        pick = rng.choice(labels, rng.integers(0, 3), replace=False).tolist()
        categories[i] = pick[0] if len(pick) == 1 else (pick or None)
    ids = np.array([rng.permutation(n_items)[:15] for _ in range(30)])
    scores = np.sort(rng.random(ids.shape), axis=1)[:, ::-1].copy()
    history = sp.random(30, n_items, density=0.2, random_state=9, format="csr")
    prepared = rf.campaign.PreparedCategories(categories)
    assert prepared.shape[0] == n_items and len(prepared) == n_items
    np.testing.assert_allclose(prepared.membership.sum(axis=1).A1[[c is not None for c in categories]], 1.0)
    for first in (0, 10, 20):
        rows = slice(first, first + 10)
        options = dict(k=6, caps={"a": 1, "b": 2}, calibration=1.0, history=history[rows], n_items=n_items)
        want = rf.campaign.rerank(ids[rows], scores[rows], categories=categories, **options)
        got = rf.campaign.rerank(ids[rows], scores[rows], categories=prepared, **options)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    mix, mix_labels = rf.campaign.category_mix(history, prepared)
    want_mix, want_labels = rf.campaign.category_mix(history, list(categories))
    assert (mix != want_mix).nnz == 0 and mix_labels.tolist() == want_labels.tolist()
    assert rf.campaign.rerank(ids[:2], scores[:2], k=3, categories=prepared, caps=1)[0].shape == (2, 3)
    with pytest.raises(ValueError, match=f"one value per item \\({n_items + 1}\\), got {n_items}"):
        rf.campaign.rerank(ids, scores, k=5, categories=prepared, caps=1, n_items=n_items + 1)
    with pytest.raises(TypeError, match="one value per item"):
        rf.campaign.PreparedCategories(3)


def test_trending_products_that_complete_a_list_rank_after_the_models():
    """ColdStart scores each path on its own scale: trending's counts (about 100) beside a
    neighbour model's scores (about 1) in one list. Re-ranking scales each list to [0, 1], so
    the products trending added to a short list outranked every product the model chose.
    With ``paths`` they come after the model's, and the scores returned are the candidates'."""
    popular = rf.ColdStart.PATHS.index("popular")
    ids = np.array([[4, 7, 1, 2], [3, 5, -1, -1], [8, 9, 6, -1], [0, 1, 2, -1]])
    paths = np.array([[0, 0, popular, popular], [popular, popular, -1, -1], [0, 0, 0, -1], [0, popular, popular, -1]])
    scores = np.array(
        [[2.0, 1.5, 180.0, 170.0], [180.0, 170.0, -np.inf, -np.inf], [3.0, 2.0, 1.0, -np.inf], [0.7, 90, 80, -np.inf]]
    )
    plain, _ = rf.campaign.rerank(ids, scores, 2)
    assert plain[0].tolist() == [1, 2]  # by the raw scores: trending's first
    top, top_scores = rf.campaign.rerank(ids, scores, 3, paths=paths)
    assert top.tolist() == [[4, 7, 1], [3, 5, -1], [8, 9, 6], [0, 1, 2]]
    np.testing.assert_array_equal(top_scores[0], [2.0, 1.5, 180.0])  # the candidates' own scores
    np.testing.assert_array_equal(top_scores[1], [180.0, 170.0, -np.inf])
    # trending's relevance lies below 0.05, the model's weakest at 0.05: a boost decides between them
    boost = np.zeros(10)
    for bonus, second in ((0.01, 7), (0.03, 1)):
        boost[1] = bonus
        assert rf.campaign.rerank(ids, scores, 2, paths=paths, boost=boost)[0][0].tolist() == [4, second]
    with pytest.raises(ValueError, match="paths must be integers of the shape of ids"):
        rf.campaign.rerank(ids, scores, 2, paths=paths[:, :2])
    with pytest.raises(
        ValueError, match=r"paths holds 99: ColdStart.PATHS codes are 0 to 4"
    ):  # was taken as the model's
        rf.campaign.rerank(ids, scores, 2, paths=np.where(paths == 0, 99, paths))
    assert (rf.campaign.rerank(ids[:, :0], scores[:, :0], 2, paths=paths[:, :0])[0] == -1).all()  # no candidate


def test_candidate_positions_against_a_plain_loop_in_bounded_memory():
    """Each chosen product's first slot among the candidates was found by comparing it with
    every candidate at once: a (customers x k x candidates) array, 23 GB for the sample's
    2,169 customers at k 3,000 of 3,500 candidates (`recforge campaign --k 3000`)."""
    import tracemalloc

    from recforge.campaign.rerank import candidate_positions

    rng = np.random.default_rng(0)
    for _ in range(200):
        n, width, k = (int(v) for v in rng.integers(0, 7, 3))
        candidates = rng.integers(-1, 12, (n, width))
        chosen = np.full((n, k), -1)
        for i in range(n):
            pool = candidates[i][candidates[i] >= 0]
            m = min(k, pool.size)
            chosen[i, :m] = rng.choice(pool, m, replace=False)
            if k and rng.random() < 0.3:
                chosen[i, -1] = rng.integers(-1, 14)  # padding, or a product not among them
        want = np.full(chosen.shape, -1)
        for i, j in np.argwhere(chosen >= 0):
            hits = np.flatnonzero(candidates[i] == chosen[i, j])
            want[i, j] = hits[0] if hits.size else -1
        np.testing.assert_array_equal(candidate_positions(candidates, chosen), want)
    candidates = np.stack([rng.permutation(5000)[:600] for _ in range(200)])
    chosen = candidates[:, ::-1][:, :500]
    tracemalloc.start()
    at = candidate_positions(candidates, chosen)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    np.testing.assert_array_equal(at, np.broadcast_to(np.arange(599, 99, -1), at.shape))
    assert peak < 20 * candidates.nbytes, peak  # 60 MB of comparisons before

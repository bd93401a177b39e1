"""rf.realtime.OnlineRecommender: the live state against building the history from all events,
trending counters by hand, concurrency and model swaps."""

from __future__ import annotations

import json
import math
import threading

import numpy as np
import pytest
import recforge as rf
import scipy.sparse as sp
import sklearn.base


def events(seed: int, n: int, n_users: int = 30, n_items: int = 40):
    rng = np.random.default_rng(seed)
    users = np.array([f"c{u}" for u in rng.integers(0, n_users, n)], dtype=object)
    items = np.array([f"p{i}" for i in rng.integers(0, n_items, n)], dtype=object)
    return users, items, rng.choice([1.0, 3.0, 5.0], n)


MODELS = {
    "itemknn": lambda: rf.ItemKNN(neighbours=10),
    "ease": lambda: rf.EASE(regularization=10.0),
    "als": lambda: rf.ALS(factors=8, iterations=5, random_state=0),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_online_history_equals_the_history_of_all_events(name):
    u1, i1, w1 = events(0, 400)
    u2, i2, w2 = events(1, 60, n_users=40, n_items=45)  # new customers and unknown products too
    first = rf.Interactions.from_arrays(u1, i1, w1)
    model = MODELS[name]().fit(first)
    online = rf.realtime.OnlineRecommender(model, first)
    report = online.update(u2, i2, w2)
    known = np.isin(i2, first.item_ids)
    assert report == {"applied": int(known.sum()), "unknown_items": int((~known).sum())}
    # the rows an Interactions of every event holds, in the model's product order
    everything = rf.Interactions.from_arrays(np.r_[u1, u2[known]], np.r_[i1, i2[known]], np.r_[w1, w2[known]])
    order = {item: j for j, item in enumerate(everything.item_ids.tolist())}
    X = everything.matrix[:, [order[i] for i in model.item_ids_.tolist()]].tocsr()
    for customer in sorted(set(u2[known].tolist())):
        r = everything.user_ids.tolist().index(customer)
        np.testing.assert_allclose(online.history(customer).toarray(), X[r].toarray())
        want_ids, want_scores = model.recommend(0, X[r], k=7, recalculate_user=True)
        got_items, got_scores = online.recommend(customer, k=7)
        np.testing.assert_array_equal(got_items, model.item_ids_[want_ids[want_ids >= 0]])
        np.testing.assert_allclose(got_scores, want_scores[want_ids >= 0], rtol=1e-6)


def test_event_types_weigh_as_in_training(tmp_path):
    """update(events=...) weighs each event by its type as the model was fitted (the
    Interactions' event_weights, times the given weights), leaves out types it does not weigh
    and counts them; the log holds the weights applied (a replay applies them as they are)."""
    users, items, _ = events(0, 300)
    kinds = np.random.default_rng(1).choice(["view", "purchase"], users.size)
    history = rf.Interactions.from_arrays(users, items, events=kinds, event_weights={"view": 1.0, "purchase": 5.0})
    model = rf.ItemKNN(neighbours=10).fit(history)
    log = tmp_path / "events.jsonl"
    online = rf.realtime.OnlineRecommender(model, history, log=log)
    report = online.update(
        ["n1"] * 4, ["p1", "p2", "p3", "p1"], [1, 2, 1, 1], events=["purchase", "view", "cart", None]
    )
    assert report == {"applied": 2, "unknown_items": 0, "unknown_event": 2}
    row = online.history("n1")
    assert dict(zip(model.item_ids_[row.indices].tolist(), row.data.tolist())) == {"p1": 5.0, "p2": 2.0}
    online.close()
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["item"], e["weight"]) for e in logged] == [("p1", 5.0), ("p2", 2.0)]
    with pytest.raises(ValueError, match="one event type per event \\(2\\), got 1"):
        rf.realtime.OnlineRecommender(model, history).update(["a", "b"], ["p1", "p2"], events=["view"])
    plain = rf.realtime.OnlineRecommender(rf.ItemKNN(neighbours=10).fit(rf.Interactions.from_arrays(users, items)))
    with pytest.raises(ValueError, match="fitted without event types"):
        plain.update(["a"], ["p1"], events=["view"])


def test_unknown_customers_get_the_decayed_trending_products():
    u, i, w = events(0, 200)
    inter = rf.Interactions.from_arrays(u, i, w)
    online = rf.realtime.OnlineRecommender(rf.ItemKNN().fit(inter), half_life=10.0)
    assert online.recommend("someone", k=3)[0].size == 0  # nothing has happened yet
    online.update(["a", "b"], ["p1", "p2"], weights=[1.0, 3.0], times=[0.0, 0.0])
    online.update(["c"], ["p1"], weights=[2.0], times=[10.0])
    items, scores = online.recommend("someone", k=5)
    # at t=10: p1 = 1/2 + 2, p2 = 3/2 (one half-life later)
    assert items.tolist() == ["p1", "p2"]
    np.testing.assert_allclose(scores, [2.5, 1.5])
    online.update(["d"], ["p2"], weights=[1.0], times=[5.0])  # a late event counts at its own age
    np.testing.assert_allclose(online.recommend("someone", k=5)[1], [2.5, 1.5 + math.exp(-math.log(2) / 2)])


def test_a_dated_history_starts_the_trending_counters_decayed_by_customers():
    """The counters a history starts count each product's customers, each decayed from the
    pair's time: they counted the summed weights undated, so a new customer got the products
    bought most over all time (by a few heavy buyers) instead of what sells now."""
    day = 86400.0
    users = ["a", "a", "a", "b", "c", "d"]
    items = ["old", "old", "old", "old", "new", "new"]  # "old": 4 events by 2 customers, long ago
    times = [0.0, 1 * day, 2 * day, 3 * day, 23 * day, 24 * day]
    dated = rf.Interactions.from_arrays(users, items, times=times)
    model = rf.ItemKNN().fit(dated)
    online = rf.realtime.OnlineRecommender(model, dated, half_life=7 * day)
    items_, scores = online.recommend("someone", k=2)
    # at day 24: new = 2^(-1/7) + 1, old = 2^(-22/7) + 2^(-21/7) (customer a's pair dated day 2)
    assert items_.tolist() == ["new", "old"]
    np.testing.assert_allclose(scores, [2 ** (-1 / 7) + 1, 2 ** (-22 / 7) + 2 ** (-21 / 7)])
    online.update(["e"], ["old"], weights=[1.0], times=[31 * day])  # a week later, decayed from day 24
    np.testing.assert_allclose(
        online.recommend("someone", k=2)[1], [1 + (2 ** (-22 / 7) + 2 ** (-21 / 7)) / 2, (2 ** (-1 / 7) + 1) / 2]
    )
    undated = rf.Interactions.from_arrays(users, items)  # undated: customers, not summed weights
    items_, scores = rf.realtime.OnlineRecommender(model, undated).recommend("someone", k=2)
    assert sorted(zip(items_.tolist(), scores.tolist())) == [("new", 2.0), ("old", 2.0)]


def test_an_integer_customer_id_written_with_a_zero_decimal_part_is_that_customer(tmp_path):
    """pandas writes the id 17850 as "17850.0" in a column with a gap: such events made a new
    customer whose history was empty, answered with the trending products."""
    u, i, w = events(0, 200)
    u = np.array([c[1:] for c in u], dtype=object)  # "12", "7", ...: integer text ids
    inter = rf.Interactions.from_arrays(u, i, w)
    model = rf.ItemKNN(neighbours=10).fit(inter)
    online = rf.realtime.OnlineRecommender(model, inter)
    want = online.recommend("12", k=5, return_path=True)
    got = online.recommend("12.0", k=5, return_path=True)
    assert got[2] == "history" and got[0].tolist() == want[0].tolist()
    before = len(online)
    online.update(["12.0", "999", "999.0", "12"], ["p1", "p2", "p3", "p4"])
    assert len(online) == before + 1  # "999" and "999.0": one new customer
    np.testing.assert_array_equal(online.history("999.0").toarray(), online.history("999").toarray())
    assert online.history("999").nnz == 2  # p2 and p3
    assert online.history("12").sum() == inter.matrix[inter.user_ids.tolist().index("12")].sum() + 2
    assert online.recommend("12.5", k=3, return_path=True)[2] == "trending"  # not an integer: another id


def test_trending_times_may_be_datetimes():
    """Times as datetimes or ISO text count as the same epoch seconds as numbers (numpy read
    datetime64[ns] as nanoseconds, text as an unnamed "could not convert string to float")."""
    u, i, w = events(0, 200)
    model = rf.ItemKNN().fit(rf.Interactions.from_arrays(u, i, w))
    start = np.datetime64("2024-01-01T00:00:00", "s")
    forms = {
        "seconds": [start.astype(np.int64) + 0.0, start.astype(np.int64) + 86400.0],
        "datetime64[ns]": np.array([start, start + np.timedelta64(1, "D")]).astype("datetime64[ns]"),
        "text": ["2024-01-01", "2024-01-02T01:00:00+01:00"],
    }
    answers = {}
    for name, times in forms.items():
        online = rf.realtime.OnlineRecommender(model, half_life=86400.0)
        online.update(["a", "b"], ["p1", "p2"], weights=[4.0, 1.0], times=times)
        answers[name] = online.recommend("someone", k=5)
    for name, (items, scores) in answers.items():
        assert items.tolist() == ["p1", "p2"], name
        np.testing.assert_allclose(scores, [2.0, 1.0], err_msg=name)  # p1 one half-life older
    with pytest.raises(ValueError, match="times holds values that are not times"):
        rf.realtime.OnlineRecommender(model).update(["a"], ["p1"], times=["yesterday"])


def test_recent_products_are_excluded_when_seen_ones_are_not():
    u, i, w = events(0, 300)
    inter = rf.Interactions.from_arrays(u, i, w)
    online = rf.realtime.OnlineRecommender(rf.ItemKNN(neighbours=20).fit(inter), inter, recent=2)
    online.update(["c1"] * 3, ["p1", "p2", "p3"])
    assert online.recent_items("c1").tolist() == ["p2", "p3"]
    assert online.recent_items("nobody").size == 0
    none_kept = rf.realtime.OnlineRecommender(online.model, recent=0)
    none_kept.update(["c1"] * 2, ["p1", "p2"])
    assert none_kept.recent_items("c1").size == 0
    items, _ = online.recommend("c1", k=40, exclude_seen=False)
    assert "p2" not in items and "p3" not in items
    seen = set(online.item_ids[online.history("c1").indices].tolist())
    assert seen.isdisjoint(online.recommend("c1", k=40)[0].tolist())


def test_readers_see_whole_batches_while_a_writer_updates():
    u, i, w = events(0, 300)
    inter = rf.Interactions.from_arrays(u, i, w)
    online = rf.realtime.OnlineRecommender(rf.ItemKNN(neighbours=10).fit(inter))
    pairs = [(f"p{2 * j}", f"p{2 * j + 1}") for j in range(20)]
    stop, failures = threading.Event(), []

    def read():
        while not stop.is_set():
            held = set(online.item_ids[online.history("live").indices].tolist())
            for a, b in pairs:  # each batch brought both products of a pair, or neither
                if (a in held) != (b in held):
                    failures.append((a, b))
            online.recommend("live", k=5)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for t in readers:
        t.start()
    for a, b in pairs:
        online.update(["live", "live"], [a, b])
    stop.set()
    for t in readers:
        t.join()
    assert not failures
    assert online.history("live").nnz == 40 and online.sequence == 40


def test_swap_model_keeps_the_state():
    u, i, w = events(0, 300)
    inter = rf.Interactions.from_arrays(u, i, w)
    online = rf.realtime.OnlineRecommender(rf.ItemKNN().fit(inter), inter)
    online.update(["c1"], ["p1"])
    before = online.history("c1").toarray()
    ease = rf.EASE(regularization=10.0).fit(inter)
    assert online.swap_model(ease) == {"products": inter.item_ids.size, "new_products": 0, "dropped_products": 0}
    assert online.model is ease
    np.testing.assert_array_equal(online.history("c1").toarray(), before)
    with pytest.raises(TypeError, match="model must be a fitted recforge model, got str"):
        online.swap_model("ease.npz")


def refitted_catalogue():
    """(first, second): a history and a refit's events whose products are another order, two of
    the first's missing and ten new ones."""
    first = rf.Interactions.from_arrays(*events(0, 300))
    u, i, w = events(5, 400, n_items=50)
    keep = ~np.isin(i, ["p3", "p4"])
    second = rf.Interactions.from_arrays(u[keep], i[keep], w[keep])
    assert not np.array_equal(second.item_ids, first.item_ids)
    return first, second


def assert_same_state(got, want, customers):
    assert got.item_ids.tolist() == want.item_ids.tolist()
    for c in customers:
        np.testing.assert_array_equal(got.history(c).toarray(), want.history(c).toarray())
        assert got.recent_items(c).tolist() == want.recent_items(c).tolist()
        a, b = got.recommend(c, k=6, return_path=True), want.recommend(c, k=6, return_path=True)
        assert a[0].tolist() == b[0].tolist() and a[2] == b[2]
        np.testing.assert_allclose(a[1], b[1])
    np.testing.assert_allclose(got.recommend("nobody", k=50)[1], want.recommend("nobody", k=50)[1])
    assert got.recommend("nobody", k=50)[0].tolist() == want.recommend("nobody", k=50)[0].tolist()


def test_a_model_with_other_products_takes_the_state_over():
    """A refit on newer events knows new products and may have lost some: the service's
    nightly /reload (and a restart from the snapshot) refused such a model, so the live state
    could never follow a refit. Now the state moves to the new catalogue and equals the state
    built beside the new model from the same history and events."""
    first, second = refitted_catalogue()
    u2, i2, w2 = events(1, 80, n_users=40)  # products of the first catalogue only
    times = np.arange(80, dtype=float) * 3600
    u2, i2, w2 = np.append(u2, "only-p3"), np.append(i2, "p3"), np.append(w2, 1.0)  # a history the refit empties
    times = np.arange(81, dtype=float) * 3600
    online = rf.realtime.OnlineRecommender(rf.ItemKNN().fit(first), first)
    online.update(u2, i2, w2, times)
    refit = rf.ItemKNN(neighbours=10).fit(second)
    report = online.swap_model(refit)
    dropped = int(np.isin(first.item_ids, second.item_ids, invert=True).sum())
    new = int(np.isin(second.item_ids, first.item_ids, invert=True).sum())
    assert report == {"products": second.item_ids.size, "new_products": new, "dropped_products": dropped}
    assert dropped == 2 and new >= 5 and online.model is refit
    with pytest.warns(UserWarning, match="name products the model does not know"):  # p3, p4
        want = rf.realtime.OnlineRecommender(refit, first)  # the same history and events beside the refit
    want.update(u2, i2, w2, times)
    assert_same_state(online, want, sorted(set(first.user_ids.tolist()) | set(u2.tolist())))
    assert online.recommend("only-p3", k=3, return_path=True)[2] == "trending"
    online.update(["c1"], ["p45"])  # a new product is a product now
    assert "p45" in online.recent_items("c1").tolist()


def test_a_product_the_model_did_not_know_joins_the_history_when_a_refit_knows_it(tmp_path):
    """Events on a product launched after the fit were counted and dropped: after the nightly
    refit (which knows it) the customer's live history lacked it, and the product they had
    just bought was offered to them again."""
    first, second = refitted_catalogue()  # p40..p49 are new in the second catalogue
    online = rf.realtime.OnlineRecommender(rf.ItemKNN().fit(first), first)
    assert online.update(["c1", "c1", "newcomer"], ["p45", "p45", "p46"], [1.0, 2.0, 1.0]) == {
        "applied": 0,
        "unknown_items": 3,
    }
    assert online.item_index(["p45"])[0] == -1 and online.recommend("newcomer", k=3, return_path=True)[2] == "trending"
    online.save(tmp_path / "s.npz")
    refit = rf.ItemKNN(neighbours=10).fit(second)
    loaded = rf.realtime.OnlineRecommender.load(tmp_path / "s.npz", refit)
    online.swap_model(refit)
    for live in (online, loaded):
        row = live.history("c1").toarray()[0]
        assert row[live.item_index(["p45"])[0]] == 3.0  # both events, summed
        assert "p45" not in live.recommend("c1", k=50)[0].tolist()  # bought: not offered again
        assert live.history("newcomer").toarray()[0, live.item_index(["p46"])[0]] == 1.0
        assert live.recommend("newcomer", k=3, return_path=True)[2] == "history"
    # a product the refit lacks goes pending, and comes back with a model that knows it again
    online.swap_model(rf.ItemKNN().fit(first))
    assert online.history("c1").sum() == first.matrix[first.user_ids.tolist().index("c1")].sum()
    online.swap_model(refit)
    assert online.history("c1").toarray()[0, online.item_index(["p45"])[0]] == 3.0
    # at most MAX_PENDING unknown products a customer, the most recent
    online.update(["spam"] * 150, [f"x{j}" for j in range(150)])
    online.swap_model(rf.ItemKNN().fit(rf.Interactions.from_arrays(["a"] * 150, [f"x{j}" for j in range(150)])))
    kept = online.history("spam").toarray()[0] > 0
    assert kept.sum() == rf.realtime.online.MAX_PENDING and online.item_ids[kept].tolist()[-1] == "x149"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_return_that_nets_a_purchase_out_takes_the_product_out_of_the_history(name):
    """A return posted as a negative weight left the product in the history below zero:
    ItemKNN then ranked first the products least like it, EASE counted it bought, ALS's
    fold-in answered zeros."""
    u, i, w = events(0, 400)
    inter = rf.Interactions.from_arrays(u, i, w)
    model = MODELS[name]().fit(inter)
    online = rf.realtime.OnlineRecommender(model, inter)
    online.update(["new", "new", "same"], ["p1", "p2", "p2"], [1.0, 2.0, 2.0])
    before = online.recommend("nobody", k=40)
    assert online.update(["new"], ["p1"], [-5.0]) == {"applied": 1, "unknown_items": 0}
    assert online.history("new").toarray().tolist() == online.history("same").toarray().tolist()
    got, want = online.recommend("new", k=5), online.recommend("same", k=5)
    assert got[0].tolist() == want[0].tolist()
    np.testing.assert_allclose(got[1], want[1], rtol=1e-6)
    after = online.recommend("nobody", k=40)  # the return does not count as trending
    assert dict(zip(*after))["p1"] == dict(zip(*before))["p1"]


def test_a_snapshot_without_pending_products_still_loads(tmp_path):
    """Snapshots written before products were kept pending have no such arrays."""
    first = rf.Interactions.from_arrays(*events(0, 300))
    online = rf.realtime.OnlineRecommender(rf.ItemKNN().fit(first), first)
    online.update(["c1", "c2"], ["p1", "nope"])
    online.save(tmp_path / "s.npz")
    with np.load(tmp_path / "s.npz") as npz:
        arrays = {k: npz[k] for k in npz.files if not k.startswith("pending")}
    np.savez(tmp_path / "old.npz", **arrays)
    old = rf.realtime.OnlineRecommender.load(tmp_path / "old.npz", online.model)
    assert_same_state(old, online, sorted(set(first.user_ids.tolist())))
    assert rf.realtime.OnlineRecommender.load(tmp_path / "s.npz", online.model)._state["c2"].pending == (("nope", 1.0),)


def test_a_snapshot_loads_beside_a_model_with_other_products(tmp_path):
    first, second = refitted_catalogue()
    u2, i2, w2 = events(1, 80, n_users=40)
    online = rf.realtime.OnlineRecommender(rf.ItemKNN().fit(first), first)
    online.update(u2, i2, w2, np.arange(80, dtype=float))
    online.save(tmp_path / "s.npz")
    refit = rf.ItemKNN(neighbours=10).fit(second)
    loaded = rf.realtime.OnlineRecommender.load(tmp_path / "s.npz", refit)
    assert loaded.report["catalogue"]["dropped_products"] == 2
    online.swap_model(refit)
    assert_same_state(loaded, online, sorted(set(first.user_ids.tolist()) | set(u2.tolist())))


def test_updates_after_the_log_is_closed_are_refused_not_left_unlogged(tmp_path):
    u, i, w = events(0, 100)
    inter = rf.Interactions.from_arrays(u, i, w)
    log = tmp_path / "events.jsonl"
    online = rf.realtime.OnlineRecommender(rf.ItemKNN().fit(inter), log=log)
    online.update(["c1"], ["p1"])
    online.close()
    with pytest.raises(ValueError, match="the event log is closed"):
        online.update(["c2"], ["p2"])  # was applied, and lost on the next restart
    assert online.sequence == 1 and len(log.read_text().splitlines()) == 1
    with pytest.raises(ValueError, match="is a folder, expected a file name"):
        rf.realtime.OnlineRecommender(rf.ItemKNN().fit(inter), log=tmp_path)


def test_a_weight_beyond_float32_is_refused_neither_logged_nor_applied(tmp_path):
    """A weight of 1e308 was taken, and every later answer for that customer failed (ItemKNN's
    infinite scores cannot be written as JSON): refused as Interactions refuses it, once merged."""
    u, i, w = events(0, 100)
    inter = rf.Interactions.from_arrays(u, i, w)
    log = tmp_path / "events.jsonl"
    online = rf.realtime.OnlineRecommender(rf.ItemKNN().fit(inter), inter, log=log)
    before, c2 = online.recommend("c1", k=5), online.history("c2").toarray()
    with pytest.raises(ValueError, match=r"customer 'c1' would add up to 1e\+308 .*product 'p1'"):
        online.update(["c2", "c1"], ["p2", "p1"], weights=[1.0, 1e308])
    online.update(["c1"], ["p1"], weights=[2e32])
    with pytest.raises(ValueError, match="once merged"):  # 2e32 twice
        online.update(["c1"], ["p1"], weights=[2e32])
    assert online.sequence == 1 and len(log.read_text().splitlines()) == 1  # only the batch taken
    np.testing.assert_array_equal(online.history("c2").toarray(), c2)  # the refused batch's first event too
    assert online.history("c1").max() == pytest.approx(2e32)
    online.update(["c1"], ["p1"], weights=[-2e32])  # a return takes it back out
    np.testing.assert_array_equal(online.recommend("c1", k=5)[0], before[0])


@pytest.mark.parametrize(
    "model",
    [
        rf.ItemKNN(),
        rf.ItemKNN(metric="bm25"),
        rf.BPR(factors=8, iterations=3, random_state=0),
        rf.ALS(factors=8, iterations=3, random_state=0),
        rf.ALS(factors=8, iterations=3, alpha=1e6, random_state=0),
        rf.RP3beta(),
    ],
    ids=["itemknn", "bm25", "bpr", "als", "als_alpha_1e6", "rp3beta"],
)
def test_a_history_is_refused_before_its_scores_overflow(model):
    """Ten weights of 3e38, each within float32's range, were taken: ItemKNN's and BPR's
    scores (sums over the history) were infinite and ALS's confidence overflowed, so every
    later answer for the customer failed (the service's 500). A history may weigh float32's
    range over a million in all, and every model's scores stay finite up to it."""
    u, i, w = events(0, 200)
    inter = rf.Interactions.from_arrays(u, i, w)
    online = rf.realtime.OnlineRecommender(sklearn.base.clone(model).fit(inter), inter)
    heavy = 3.4e31  # ten of them: under float32's largest (3.403e38) over a million
    products = [f"p{j}" for j in range(10)]
    online.update(["new"] * 10, products, weights=[heavy * 0.999] * 10)
    items, scores = online.recommend("new", k=5)
    assert items.size == 5 and np.all(np.isfinite(scores)), scores
    with pytest.raises(ValueError, match="customer 'new' would add up to"):
        online.update(["new"], ["p11"], weights=[heavy * 0.02])
    with pytest.raises(ValueError, match="customer 'other' would add up to"):
        online.update(["other"] * 10, products, weights=[3e38] * 10)


def test_online_refuses_bad_input():
    u, i, w = events(0, 100)
    inter = rf.Interactions.from_arrays(u, i, w)
    model = rf.ItemKNN().fit(inter)
    with pytest.raises(ValueError, match="fitted on an Interactions"):
        rf.realtime.OnlineRecommender(rf.ItemKNN().fit(sp.csr_matrix(np.eye(3))))
    with pytest.raises(TypeError, match="history"):
        rf.realtime.OnlineRecommender(model, inter.matrix)
    with pytest.raises(ValueError, match="half_life"):
        rf.realtime.OnlineRecommender(model, half_life=0)
    online = rf.realtime.OnlineRecommender(model)
    with pytest.raises(ValueError, match="one entry per event"):
        online.update(["a", "b"], ["p1"])
    with pytest.raises(ValueError, match="weights"):
        online.update(["a"], ["p1"], weights=[math.nan])
    with pytest.raises(ValueError, match="times"):
        online.update(["a"], ["p1"], times=[1.0, 2.0])
    with pytest.raises(ValueError, match="k"):
        online.recommend("a", k=-1)
    assert online.sequence == 0  # nothing applied by a refused batch


def test_customer_ids_are_raw_ids_of_one_kind(tmp_path):
    """A missing id (None, NaN) would become a customer of its own, and a state of mixed kinds
    could not be saved: refused before anything is logged or applied, and a customer of the
    other kind is not silently a stranger answered with the trending products."""
    u, i, w = events(0, 100)
    inter = rf.Interactions.from_arrays(u, i, w)
    model = rf.ItemKNN().fit(inter)
    log = tmp_path / "events.jsonl"
    online = rf.realtime.OnlineRecommender(model, inter, log=log)
    for bad in (None, math.nan, 3.0, True):
        with pytest.raises(TypeError, match="raw ids, strings or integers: event 1"):
            online.update(["c1", bad], ["p1", "p2"])
        with pytest.raises(TypeError, match="customer must be a raw id"):
            online.recommend(bad)
    with pytest.raises(TypeError, match="must all be strings"):
        online.update([7], ["p1"])
    with pytest.raises(TypeError, match="strings, the kind this recommender holds"):
        online.recommend(7)
    assert online.sequence == 0 and log.read_text() == ""
    online.update(["c1", "new"], ["p1", "p2"])
    online.save(tmp_path / "state.npz")

    numbered = rf.realtime.OnlineRecommender(model)  # no history: the first batch sets the kind
    numbered.update([1, np.int64(2)], ["p1", "p2"])
    with pytest.raises(TypeError, match="must all be integers"):
        numbered.update(["1"], ["p1"])
    assert numbered.recommend(np.int64(2), k=3)[0].size == numbered.recommend(2, k=3)[0].size > 0
    numbered.save(tmp_path / "numbered.npz")
    # float ids (whole floats are integers); a mix of kinds is refused by the Interactions itself
    with pytest.raises(TypeError, match="history's customer ids must be all strings or all integers"):
        rf.realtime.OnlineRecommender(model, rf.Interactions.from_arrays(np.array([1.5, 2.0]), np.array(["p1", "p2"])))
    with pytest.raises(TypeError, match="user ids mix"):
        rf.Interactions.from_arrays(np.array([1, "a"], dtype=object), np.array(["p1", "p2"]))


def test_snapshot_and_log_restore_the_state_after_a_restart(tmp_path):
    u, i, w = events(0, 300)
    inter = rf.Interactions.from_arrays(u, i, w)
    model = rf.ItemKNN(neighbours=10).fit(inter)
    log = tmp_path / "events.jsonl"
    online = rf.realtime.OnlineRecommender(model, inter, log=log, half_life=100.0)
    u2, i2, w2 = events(1, 80, n_users=40, n_items=45)
    online.update(u2[:50], i2[:50], w2[:50], times=np.arange(50.0))
    online.save(tmp_path / "state.npz")
    online.update(u2[50:], i2[50:], w2[50:], times=np.arange(50.0, 80.0))  # after the snapshot
    online.close()
    lines = log.read_text().splitlines()
    assert [line.count('"last": true') for line in lines] == [0] * 49 + [1] + [0] * 29 + [1]
    whole = log.read_bytes()
    with open(log, "a", encoding="utf-8") as f:  # a crash while a batch of three was written
        f.write('{"seq": 80, "customer": "c1", "item": "p1", "weight": 1.0}\n')
        f.write('{"seq": 81, "customer": "c1", "it')  # ... in the middle of its second line
    with pytest.warns(UserWarning, match="2 line"):
        restored = rf.realtime.OnlineRecommender.load(tmp_path / "state.npz", model, log=log)
    assert restored.sequence == online.sequence == 80  # the cut batch is not applied
    assert log.read_bytes() == whole  # and its lines are gone: appends start on a clean line
    with pytest.raises(ValueError, match="the event log is closed"):
        online.update(["c1"], ["p2"])  # closed: it would be applied in memory only
    for customer in sorted(set(u2.tolist()) | {"c0"}):
        np.testing.assert_array_equal(restored.history(customer).toarray(), online.history(customer).toarray())
        assert restored.recent_items(customer).tolist() == online.recent_items(customer).tolist()
        a, b = restored.recommend(customer, k=5), online.recommend(customer, k=5)
        np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_allclose(restored.recommend("nobody", 5)[1], online.recommend("nobody", 5)[1])
    restored.update(["c1"], ["p2"])
    assert json.loads(log.read_text().splitlines()[-1])["seq"] == 80
    restored.close()


def test_load_refuses_a_log_with_a_gap(tmp_path):
    u, i, w = events(0, 300)
    inter = rf.Interactions.from_arrays(u, i, w)
    online = rf.realtime.OnlineRecommender(rf.ItemKNN().fit(inter), inter)
    online.save(tmp_path / "s.npz")
    (tmp_path / "gap.jsonl").write_text('{"seq": 3, "customer": "c1", "item": "p1", "weight": 1.0}\n')
    with pytest.raises(ValueError, match="missing"):
        rf.realtime.OnlineRecommender.load(tmp_path / "s.npz", online.model, log=tmp_path / "gap.jsonl")
    (tmp_path / "bad.npz").write_text("not a snapshot")
    with pytest.raises(ValueError, match="not a recforge online state"):
        rf.realtime.OnlineRecommender.load(tmp_path / "bad.npz", online.model)


def test_readers_never_see_half_updated_trending_counters():
    """Readers take no lock. The trending counters were decayed and added to in place (numpy
    releases the GIL in its loops), so a reader could rank by one state and score by another:
    lists of customers without history came out of order (hundreds a second under load)."""
    import time

    rng = np.random.default_rng(0)
    inter = rf.Interactions.from_arrays(rng.integers(0, 1000, 20000), rng.integers(0, 200_000, 20000))
    online = rf.realtime.OnlineRecommender(rf.Popularity().fit(inter), half_life=1.0)
    stop, torn = threading.Event(), []

    def write():
        t = 0.0
        while not stop.is_set():
            t += 0.5
            online.update(["w"] * 50, inter.item_ids[rng.integers(0, inter.n_items, 50)], times=[t] * 50)

    def read():
        while not stop.is_set():
            scores = online.recommend("nobody", k=20)[1]
            if np.any(np.diff(scores) > 0):
                torn.append(scores)

    threads = [threading.Thread(target=write)] + [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    stop.set()
    for thread in threads:
        thread.join()
    assert not torn


def test_loading_what_is_not_a_sound_state_is_refused(tmp_path):
    """A model file given as a state raised KeyError('numbers'); a state whose rows index past
    the catalogue was taken and failed later."""
    inter = rf.Interactions.from_arrays(np.array(["a", "b", "c"]), np.array(["x", "y", "z"]))
    model = rf.ItemKNN().fit(inter)
    model.save(tmp_path / "model.npz")
    with pytest.raises(ValueError, match=r"is not an online state .*; it is a model file: read it with rf.load"):
        rf.realtime.OnlineRecommender.load(tmp_path / "model.npz", model)
    np.savez(tmp_path / "other.npz", a=np.arange(3))
    with pytest.raises(ValueError, match=r"is not an online state .* it lacks \['customers'"):
        rf.realtime.OnlineRecommender.load(tmp_path / "other.npz", model)
    online = rf.realtime.OnlineRecommender(model, inter)
    online.update(["a"], ["y"])
    online.save(tmp_path / "state.npz")
    arrays = dict(np.load(tmp_path / "state.npz"))
    for name, damage in (("items", lambda v: v + 10), ("indptr", lambda v: v[::-1]), ("trend", lambda v: v[:1])):
        np.savez(tmp_path / "bad.npz", **{**arrays, name: damage(arrays[name])})
        with pytest.raises(ValueError, match="is damaged"):
            rf.realtime.OnlineRecommender.load(tmp_path / "bad.npz", model)
    assert rf.realtime.OnlineRecommender.load(tmp_path / "state.npz", model).sequence == online.sequence
    # A snapshot from before the history limit: its heavy customer's every answer would fail.
    online.update(["b", "c"], ["x", "z"])
    online.save(tmp_path / "state.npz")
    arrays = dict(np.load(tmp_path / "state.npz"))
    heavy = arrays["weights"].copy()
    heavy[arrays["indptr"][1] :] = 3e38  # the second customer's products, each within float32's range
    np.savez(tmp_path / "heavy.npz", **{**arrays, "weights": heavy})
    with pytest.raises(ValueError, match=r"holds a history of customer 'b' whose weights add up to 6e\+38, beyond"):
        rf.realtime.OnlineRecommender.load(tmp_path / "heavy.npz", model)


@pytest.mark.parametrize("customers", [["x\x00", "x", "é", "9f1c0c8e-8b4e-4c55-9a7e-0d4b7a1f2c3d"], [7, 2**40]])
def test_a_snapshot_keeps_every_customer_id_exactly(tmp_path, customers):
    """Customer ids were saved as numpy's fixed-width unicode, which drops a trailing NUL: "x\x00"
    came back as "x" and one of the two customers' histories was lost. Snapshots of earlier
    versions (fixed-width ids) still load."""
    inter = rf.Interactions.from_arrays(np.array(["a", "b"]), np.array(["p", "q"]))
    model = rf.ItemKNN().fit(inter)
    online = rf.realtime.OnlineRecommender(model)
    online.update(customers, ["p", "q", "p", "q"][: len(customers)])
    online.save(tmp_path / "state.npz")
    back = rf.realtime.OnlineRecommender.load(tmp_path / "state.npz", model)
    assert len(back) == len(customers) and sorted(back, key=str) == sorted(customers, key=str)
    for c in customers:
        np.testing.assert_array_equal(back.history(c).toarray(), online.history(c).toarray())
    if isinstance(customers[0], str):  # the format of earlier versions: "customers" fixed width
        plain = [c for c in customers if not c.endswith("\x00")]
        online = rf.realtime.OnlineRecommender(model)
        online.update(plain, ["p"] * len(plain))
        online.save(tmp_path / "new.npz")
        arrays = {k: v for k, v in np.load(tmp_path / "new.npz").items() if not k.startswith("customers")}
        np.savez(tmp_path / "old.npz", customers=np.array(list(online), dtype=str), **arrays)
        old = rf.realtime.OnlineRecommender.load(tmp_path / "old.npz", model)
        assert list(old) == list(online) and all(isinstance(c, str) for c in old)


def test_a_history_newer_than_the_model_is_counted_and_ids_of_either_kind_match():
    """Pairs on products the model does not know were left out without a word (a customer with
    only those vanished); products given as text ("11", a JSON body) did not find integer ids."""
    model = rf.ItemKNN().fit(rf.Interactions.from_arrays(np.array(["a", "b", "b"]), np.array([10, 11, 10])))
    newer = rf.Interactions.from_arrays(np.array(["a", "c", "c"]), np.array([10, 12, 13]))
    with pytest.warns(UserWarning, match="2 \\(customer, product\\) pairs name products the model does not know"):
        online = rf.realtime.OnlineRecommender(model, newer)
    assert online.report == {"history_customers": 1, "history_unknown_items": 2, "history_customers_dropped": 1}
    assert online.item_index(["10", "11", "12"]).tolist() == [0, 1, -1]
    assert online.update(["a"], ["11"]) == {"applied": 1, "unknown_items": 0}


def test_pickling_says_to_save_and_load_instead():
    """A live recommender holds a lock and its open event log: pickling it raised "cannot
    pickle '_thread.lock'"; it now names save() and load()."""
    import pickle

    X = sp.csr_matrix(np.eye(4))
    inter = rf.Interactions(X, ["a", "b", "c", "d"], ["p", "q", "r", "s"])
    online = rf.realtime.OnlineRecommender(rf.Popularity().fit(inter), inter)
    with pytest.raises(TypeError, match=r"does not pickle .*save\(path\).*OnlineRecommender.load"):
        pickle.dumps(online)


def test_the_online_recommender_says_what_it_holds():
    inter = rf.Interactions.from_arrays(["a", "b", "a"], ["x", "y", "y"])
    online = rf.realtime.OnlineRecommender(rf.ItemKNN(neighbours=5).fit(inter), inter)
    online.update(["c"], ["x"])
    assert repr(online).startswith("OnlineRecommender(ItemKNN(neighbours=5,")
    assert repr(online).endswith("customers=3, products=2, events=1)")

"""Interactions.events: the event log kept beside the matrix, checked against plain Python."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
import recforge as rf
from recforge.data import Events

EVENT_WEIGHTS = {"view": 1.0, "cart": 3.0, "purchase": 5.0}


def random_log(rng, n=400, with_bad=True):
    users = rng.choice(["ann", "bob", "cy", "dee", "eve", None] if with_bad else ["ann", "bob", "cy"], n)
    items = rng.choice([f"SKU{i}" for i in range(25)], n).astype(object)
    kinds = rng.choice(["view", "cart", "purchase", "refund"] if with_bad else ["view", "purchase"], n)
    amounts = np.round(rng.uniform(-5, 50, n), 2)
    if with_bad:
        amounts[rng.random(n) < 0.05] = np.nan
    orders = rng.choice(["o1", "o2", "o3", None], n).astype(object)
    times = rng.integers(1_600_000_000, 1_700_000_000, n).astype(np.float64)
    weights = rng.integers(1, 4, n).astype(np.float64)
    return dict(users=users, items=items, kinds=kinds, amounts=amounts, orders=orders, times=times, weights=weights)


def build(log, **kwargs):
    return rf.Interactions.from_arrays(
        log["users"],
        log["items"],
        log["weights"],
        times=log["times"],
        events=log["kinds"],
        event_weights=EVENT_WEIGHTS,
        amounts=log["amounts"],
        orders=log["orders"],
        **kwargs,
    )


def kept_rows(log):
    return [
        r
        for r in range(len(log["users"]))
        if log["users"][r] is not None and log["kinds"][r] in EVENT_WEIGHTS and np.isfinite(log["amounts"][r])
    ]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_events_are_the_kept_rows_in_input_order(seed, backend):
    log = random_log(np.random.default_rng(seed))
    inter = build(log)
    ev = inter.events
    rows = kept_rows(log)
    assert len(ev) == len(rows) == inter.report["kept"]
    assert inter.report["dropped"]["bad_amount"] == sum(
        1
        for r in range(len(log["users"]))
        if log["users"][r] is not None and log["kinds"][r] in EVENT_WEIGHTS and not np.isfinite(log["amounts"][r])
    )
    assert ev.user_ids[ev.user].tolist() == [log["users"][r] for r in rows]
    assert ev.item_ids[ev.item].tolist() == [log["items"][r] for r in rows]
    np.testing.assert_array_equal(ev.weight, log["weights"][rows])  # as read, before event weights
    np.testing.assert_array_equal(ev.time, log["times"][rows])
    np.testing.assert_array_equal(ev.amount, log["amounts"][rows])
    assert ev.event_types[ev.event].tolist() == [log["kinds"][r] for r in rows]
    orders = np.append(ev.order_ids.astype(object), None)[ev.order]
    assert orders.tolist() == [log["orders"][r] for r in rows]
    assert set(ev.event_types.tolist()) <= set(EVENT_WEIGHTS) and None not in ev.order_ids.tolist()
    # The user / item maps are the matrix's own arrays: one copy of the ids.
    assert ev.user_ids is inter.user_ids and ev.item_ids is inter.item_ids


def test_the_matrix_is_the_aggregate_of_its_events():
    inter = build(random_log(np.random.default_rng(5)))
    ev = inter.events
    dense = np.zeros(inter.shape)
    scale = np.array([EVENT_WEIGHTS[t] for t in ev.event_types.tolist()])
    np.add.at(dense, (ev.user, ev.item), ev.weight * scale[ev.event])
    np.testing.assert_allclose(inter.matrix.toarray(), dense.astype(np.float32), rtol=1e-6)


def test_without_optional_columns_and_without_events():
    inter = rf.Interactions.from_arrays(["a", "b", "a"], ["x", "y", "y"])
    assert inter.events.columns == ("user", "item", "weight")
    assert inter.events.time is None and inter.events.order is None
    np.testing.assert_array_equal(inter.events.weight, [1, 1, 1])
    assert rf.Interactions.from_arrays(["a"], ["x"], keep_events=False).events is None
    assert rf.Interactions(inter.matrix, inter.user_ids, inter.item_ids).events is None


def test_from_pandas_and_csv_read_amount_and_order_columns(tmp_path, backend):
    text = "cust,sku,qty,price_total,invoice\nC1,A,2,7.0,536365\nC2,A,1,3.5,\nC1,B,1,1.25,536365\nC3,B,1,x,536366\n"
    path = tmp_path / "lines.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match="'price_total' .* must hold numbers: line 5 has 'x'"):
        rf.Interactions.from_csv(path, "cust", "sku", "qty", amount_col="price_total", order_col="invoice")
    path.write_text(text.replace(",x,", ",nan,"))
    inter = rf.Interactions.from_csv(path, "cust", "sku", "qty", amount_col="price_total", order_col="invoice")
    ev = inter.events
    assert inter.report["dropped"]["bad_amount"] == 1
    assert ev.amount.tolist() == [7.0, 3.5, 1.25]
    # Order ids are text in a text file ("536365", not 536365); the empty one is "no order".
    assert np.append(ev.order_ids.astype(object), None)[ev.order].tolist() == ["536365", None, "536365"]
    assert inter.spec["amount_col"] == "price_total" and inter.spec["order_col"] == "invoice"
    # transform reads the same columns and keeps its own log
    new = inter.transform({"cust": ["C2"], "sku": ["B"], "qty": [4], "price_total": [9.0], "invoice": ["9"]})
    assert new.events.amount.tolist() == [9.0] and new.events.user_ids[new.events.user].tolist() == ["C2"]


@pytest.mark.parametrize("split", ["random", "per_user", "temporal"])
def test_splits_send_each_pairs_events_with_it(split):
    inter = build(random_log(np.random.default_rng(3), n=600))
    if split == "random":
        train, test = rf.split.random_split(inter, 0.3, seed=1)
    elif split == "per_user":
        train, test = rf.split.per_user_split(inter, 0.3, seed=1)
    else:  # events split by time: a pair bought on both sides is in both parts
        train, test = rf.split.temporal_split(inter, cutoff=1_650_000_000, repeats="keep")
        assert (train.events.time < 1_650_000_000).all() and (test.events.time >= 1_650_000_000).all()
        assert len(train.events) + len(test.events) == len(inter.events)
        for part in (train, test):
            assert set(zip(part.events.user.tolist(), part.events.item.tolist())) == set(zip(*part.matrix.nonzero()))
        return
    ev = inter.events
    for part in (train, test):
        pairs = set(zip(*part.matrix.nonzero()))
        got = list(zip(part.events.user.tolist(), part.events.item.tolist()))
        assert set(got) <= pairs
        assert len(got) == sum((u, i) in pairs for u, i in zip(ev.user.tolist(), ev.item.tolist()))
    assert len(train.events) + len(test.events) == len(ev)


def test_save_and_load_keep_the_log(tmp_path):
    log = random_log(np.random.default_rng(7))
    log["orders"] = np.where(np.random.default_rng(1).random(len(log["orders"])) < 0.2, None, 1000)
    log["orders"] = np.array([None if o is None else int(o) + k % 3 for k, o in enumerate(log["orders"])], object)
    inter = build(log)
    path = tmp_path / "inter.npz"
    inter.save(path)
    back = rf.Interactions.load(path)
    a, b = inter.events, back.events
    assert a.columns == b.columns
    for name in ("user", "item", "weight", "time", "amount", "event", "order"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.event_types.tolist() == b.event_types.tolist() and a.order_ids.tolist() == b.order_ids.tolist()
    assert b.user_ids is back.user_ids


def test_a_version_1_file_loads_without_events(tmp_path):
    inter = build(random_log(np.random.default_rng(8)))
    path, old = tmp_path / "new.npz", tmp_path / "old.npz"
    inter.save(path)
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(old, "w") as dst:
        for name in src.namelist():
            if name.startswith("events."):
                continue
            data = src.read(name)
            if name == "__format_version__.npy":
                buf = __import__("io").BytesIO()
                np.save(buf, np.array(1))
                data = buf.getvalue()
            dst.writestr(name, data)
    back = rf.Interactions.load(old)
    assert back.events is None and (back.matrix != inter.matrix).nnz == 0


def test_events_refuse_codes_outside_their_maps():
    ids = np.array(["a", "b"], dtype=object)
    with pytest.raises(ValueError, match="user codes"):
        Events([0, 2], [0, 1], ids, ids, [1.0, 1.0])
    with pytest.raises(ValueError, match="order codes"):
        Events([0, 1], [0, 1], ids, ids, [1.0, 1.0], order=[-2, 0], order_ids=ids)
    with pytest.raises(ValueError, match="weight must hold one value per event"):
        Events([0, 1], [0, 1], ids, ids, [1.0])
    # codes are integers (0.7 is no row), codes and their map come together, maps are lists too
    with pytest.raises(ValueError, match="user must be a 1-D array of integer codes"):
        Events([0.7], [0], ids, ids, [1.0])
    with pytest.raises(ValueError, match="user must be a 1-D array of integer codes"):
        Events([[0]], [[0]], ids, ids, [[1.0]])
    for given in ({"event": [0]}, {"event_types": ids}):
        with pytest.raises(ValueError, match="event / event_types come together"):
            Events([0], [0], ids, ids, [1.0], **given)
    with pytest.raises(ValueError, match="order / order_ids come together"):
        Events([0], [0], ids, ids, [1.0], order=[0])
    assert len(Events([1], [0], ["a", "b"], ["x"], [1.0])) == 1
    inter = rf.Interactions.from_arrays(["a"], ["x"])
    with pytest.raises(TypeError, match="events must be an Events"):
        rf.Interactions(inter.matrix, inter.user_ids, inter.item_ids, events={"user": [0]})


def test_to_pandas_gives_raw_values():
    pd = pytest.importorskip("pandas")
    inter = build(random_log(np.random.default_rng(9), with_bad=False))
    df = inter.events.to_pandas()
    assert list(df.columns) == ["user", "item", "weight", "time", "amount", "event", "order"]
    assert len(df) == len(inter.events)
    assert isinstance(df["time"].dtype, type(pd.Series(pd.to_datetime([0])).dtype))
    assert set(df["event"]) <= {"view", "purchase"}

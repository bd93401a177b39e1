"""rf.Interactions: id maps, aggregation against a plain-Python reference, the drop report,
transform, files, and every function that takes one. Runs with and without pandas."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import recforge as rf
import scipy.sparse as sp
from recforge import _factorize

pd = _factorize.pd


def reference(users, items, weights, times, aggregate):
    """{(user, item): (value, latest time)} by a loop over the events."""
    out = {}
    for pos, (u, i, w, t) in enumerate(zip(users, items, weights, times)):
        key = (u, i)
        if key not in out:
            out[key] = (w, 1, t, pos, w)
            continue
        total, count, latest, last_pos, last_w = out[key]
        later = (t, pos) >= (latest, last_pos)
        out[key] = (
            {"sum": total + w, "max": max(total, w)}.get(aggregate, total),
            count + 1,
            max(latest, t),
            pos if later else last_pos,
            w if later else last_w,
        )
    result = {}
    for key, (total, count, latest, _, last_w) in out.items():
        value = {"sum": total, "max": total, "count": count, "last": last_w}[aggregate]
        result[key] = (value, latest)
    return result


def dense(inter: rf.Interactions, which="matrix"):
    """{(raw user, raw item): stored value} of the matrix or the times."""
    M = getattr(inter, which)
    return {
        (inter.user_ids[u], inter.item_ids[j]): M[u, j]
        for u in range(M.shape[0])
        for j in M.indices[M.indptr[u] : M.indptr[u + 1]]
    }


@pytest.mark.parametrize("aggregate", rf.data.AGGREGATES)
@pytest.mark.parametrize("id_kind", ["str", "int"])
def test_aggregation_matches_reference(backend, rng, aggregate, id_kind):
    n = 400
    users = rng.integers(0, 30, n)
    items = rng.integers(0, 12, n)
    if id_kind == "str":
        users, items = (
            np.array([f"c{u:03d}" for u in users], dtype=object),
            np.array([f"p{i}" for i in items], dtype=object),
        )
    weights = rng.integers(1, 6, n).astype(np.float64)
    times = rng.integers(0, 50, n).astype(np.float64)  # many ties: "last" falls back to input order
    inter = rf.Interactions.from_arrays(users, items, weights, times=times, aggregate=aggregate)
    expected = reference(users.tolist(), items.tolist(), weights.tolist(), times.tolist(), aggregate)
    assert dense(inter) == pytest.approx({k: v[0] for k, v in expected.items()})
    assert dense(inter, "times") == {k: v[1] for k, v in expected.items()}
    assert inter.matrix.dtype == np.float32 and inter.times.dtype == np.float64
    assert inter.matrix.has_canonical_format
    # Ids in order of first appearance.
    assert inter.user_ids.tolist() == list(dict.fromkeys(users.tolist()))
    assert inter.item_ids.tolist() == list(dict.fromkeys(items.tolist()))
    assert inter.report["merged"] == n - inter.nnz


@pytest.mark.parametrize("aggregate", ["sum", "count"])
def test_fast_path_without_times_agrees(backend, rng, aggregate):
    users, items = rng.integers(0, 50, 1000), rng.integers(0, 20, 1000)
    w = rng.random(1000)
    fast = rf.Interactions.from_arrays(users, items, w, aggregate=aggregate)
    slow = rf.Interactions.from_arrays(users, items, w, times=np.zeros(1000), aggregate=aggregate)
    assert (fast.matrix != slow.matrix).nnz == 0
    assert np.array_equal(fast.matrix.indptr, slow.matrix.indptr) and np.array_equal(
        fast.matrix.indices, slow.matrix.indices
    )


def test_event_weights_and_drop_report(backend):
    events = {
        "customer": ["ann", "bob", None, "ann", "cy", "dan", "eve", "ann"],
        "product": ["tea", "tea", "tea", None, "mug", "mug", "cup", "mug"],
        "event": ["view", "purchase", "view", "view", "like", "cart", "view", "cart"],
        "qty": [1.0, 2.0, 1.0, 1.0, 1.0, np.nan, 1.0, 1.0],
        "when": [
            "2024-01-01",
            "2024-01-02",
            "2024-01-02",
            "2024-01-03",
            "2024-01-03",
            "2024-01-04",
            None,
            "2024-01-05",
        ],
    }
    inter = rf.Interactions.from_pandas(
        events,
        user_col="customer",
        item_col="product",
        weight_col="qty",
        time_col="when",
        event_col="event",
        event_weights={"view": 1, "cart": 3, "purchase": 5},
    )
    r = inter.report
    assert r["rows"] == 8 and r["kept"] == 3
    assert r["dropped"] == {
        "missing_user": 1,
        "missing_item": 1,
        "new_user": 0,
        "new_item": 0,
        "unknown_event": 1,
        "bad_weight": 1,
        "bad_time": 1,
        "bad_amount": 0,
    }
    assert r["unknown_events"] == ["like"]
    # cy, dan and eve appear only on dropped rows: no rows for them.
    assert inter.user_ids.tolist() == ["ann", "bob"] and inter.item_ids.tolist() == ["tea", "mug"]
    assert inter.matrix.toarray().tolist() == [[1.0, 3.0], [10.0, 0.0]]
    assert inter.times[0, 1] == np.datetime64("2024-01-05", "s").astype(np.int64)


def test_event_types_written_in_another_case_are_named():
    """ "View" is not "view": the rows of types that differ from a weighted type only in case or
    spaces were dropped as unknown events and a model trained on the rest, with only a count."""
    events = {"user": list("abcde"), "item": list("xyzxy"), "event": ["View", "view", " purchase", "PURCHASE", "cart"]}
    with pytest.warns(
        UserWarning, match=r"3 differ from a weighted type only in case or spaces: 'View' \(1 rows\) is not 'view'"
    ):
        inter = rf.Interactions.from_pandas(events, event_col="event", event_weights={"view": 1, "purchase": 5})
    assert inter.report["dropped"]["unknown_event"] == 4 and inter.nnz == 1
    with warnings.catch_warnings():  # a type simply not weighted ("cart") is the caller's choice: counted only
        warnings.simplefilter("error")
        rf.Interactions.from_pandas(
            events, event_col="event", event_weights={"view": 1, "View": 1, " purchase": 5, "PURCHASE": 5}
        )


def test_datetime_inputs_agree(backend):
    stamps = np.array(["2024-03-01T10:00:00", "2024-03-02T11:30:00"], dtype="datetime64[s]")
    seconds = stamps.astype(np.int64).astype(float)
    a = rf.Interactions.from_arrays([1, 2], [1, 1], times=stamps)
    b = rf.Interactions.from_arrays([1, 2], [1, 1], times=seconds)
    c = rf.Interactions.from_arrays([1, 2], [1, 1], times=stamps.astype(str))
    assert a.times.data.tolist() == b.times.data.tolist() == c.times.data.tolist() == seconds.tolist()


def test_index_lookups(backend):
    inter = rf.Interactions.from_arrays(["u1", "u2", "u3"], ["a", "b", "a"])
    assert inter.user_index("u2") == 1
    assert inter.user_index(["u3", "u1"]).tolist() == [2, 0]
    assert inter.item_index(np.array(["b", "zz"]), missing="ignore").tolist() == [1, -1]
    with pytest.raises(KeyError, match="unknown user id: 'nobody'"):
        inter.user_index("nobody")
    with pytest.raises(KeyError, match=r"'x', 'y' \(2 of 3\)") as raised:
        inter.item_index(["x", "a", "y"])
    assert "did you mean" not in str(raised.value)  # a code one letter away is another product
    # an id differing only in case or blanks (a product code typed in lower case): the one meant
    with pytest.raises(KeyError, match=r"unknown user id: ' U2' \(1 of 1\); did you mean 'u2'\?"):
        inter.user_index(" U2")
    with pytest.raises(ValueError, match="missing"):
        inter.user_index("u1", missing="skip")
    with pytest.raises(ValueError, match=r"raw must be one user id or a 1-D list of them, got shape \(1, 1\)"):
        inter.user_index([["u1"]])


def test_transform_keeps_maps_and_reports_new_ids(backend):
    inter = rf.Interactions.from_pandas({"u": ["a", "b"], "i": [1, 2], "w": [1.0, 2.0]}, "u", "i", weight_col="w")
    new = inter.transform({"u": ["b", "c", "c", None], "i": [1, 2, 3, 1], "w": [4.0, 1.0, 1.0, 1.0]})
    assert new.shape == inter.shape
    assert new.user_ids is inter.user_ids and new.item_ids is inter.item_ids
    assert new.matrix.toarray().tolist() == [[0.0, 0.0], [4.0, 0.0]]
    assert new.report["new_users"].tolist() == ["c"] and new.report["new_items"].tolist() == [3]
    assert new.report["dropped"]["new_user"] == 2 and new.report["dropped"]["missing_user"] == 1


def test_save_load_roundtrip(tmp_path, rng):
    users = np.array([f"cust-{u}" for u in rng.integers(0, 40, 300)], dtype=object)
    inter = rf.Interactions.from_arrays(users, rng.integers(0, 25, 300), rng.random(300), times=rng.random(300) * 1e9)
    path = tmp_path / "events.bin"  # the exact name is kept
    inter.save(path)
    back = rf.Interactions.load(path)
    assert (back.matrix != inter.matrix).nnz == 0 and (back.times != inter.times).nnz == 0
    assert back.user_ids.tolist() == inter.user_ids.tolist() and back.item_ids.tolist() == inter.item_ids.tolist()
    assert back.report == {k: v for k, v in inter.report.items()}
    again = back.transform({"user": ["cust-1"], "item": [inter.item_ids[0]], "weight": [1.0], "time": [0.0]})
    assert again.shape == inter.shape


def test_bad_files(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="bad.npz"):
        rf.Interactions.load(bad)
    np.savez(tmp_path / "other.npz", x=np.arange(3))
    with pytest.raises(ValueError, match="not a recforge interactions file"):
        rf.Interactions.load(tmp_path / "other.npz")
    inter = rf.Interactions.from_arrays(["a", "b"], [1, 2])
    inter.user_ids = np.array(["a", 1], dtype=object)  # mixed ids: pandas can build them, npz cannot hold them
    with pytest.raises(TypeError, match="user_ids"):
        inter.save(tmp_path / "mixed.npz")


def test_ids_of_mixed_kinds_are_refused_when_built_not_when_saved(backend):
    """1 and "1" (a frame concatenated from a CSV and a Parquet file) were two customers that
    every output writes alike, and saving failed only after the model was fitted."""
    # (without pandas, numpy's sort of the ids refuses them first, in its own words)
    with pytest.raises(TypeError, match=r"user ids mix(es ids that cannot be compared| kinds of ids \(1 \(int\))"):
        rf.Interactions.from_arrays(np.array([1, "1", 2], dtype=object), ["x", "y", "z"])
    with pytest.raises(TypeError, match="item ids must be text or numbers, got bytes ids such as b'x'"):
        rf.Interactions.from_arrays(["a", "b"], np.array([b"x", b"y"], dtype=object))
    with pytest.raises(TypeError, match="user_ids mix"):
        rf.Interactions(sp.eye(2, format="csr"), np.array(["a", 1], dtype=object), ["x", "y"])
    floats = rf.Interactions.from_arrays(np.array([1.5, 2.5], dtype=object), ["x", "y"])
    assert floats.user_ids.dtype == np.float64  # numbers kept as numbers
    assert rf.Interactions.from_arrays(np.array([7, 8], dtype=object), ["x", "y"]).user_ids.tolist() == [7, 8]


def test_a_column_name_heading_two_columns_is_named():
    """A frame joined from two tables with a "user" each: "user must be 1-D, got shape (1, 2)"."""
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame([["a", "x", "b"]], columns=["user", "item", "user"])
    with pytest.raises(ValueError, match="user_col 'user' names 2 columns of the data; rename them apart"):
        rf.Interactions.from_pandas(frame, user_col="user", item_col="item")


def test_ids_that_cannot_be_ids_are_named():
    """A frame whose customer column holds lists (exploded the wrong way round) raised pandas'
    "unhashable type: 'list'", naming neither the column nor what ids may be."""
    pd = pytest.importorskip("pandas")
    with pytest.raises(TypeError, match=r"user ids holds a value that cannot be an id \(unhashable type: 'list'\)"):
        rf.Interactions.from_pandas(pd.DataFrame({"user": [["a"], ["b"]], "item": ["x", "y"]}))
    with pytest.raises(TypeError, match="item ids holds a value that cannot be an id"):
        rf.Interactions.from_pandas(pd.DataFrame({"user": ["a", "b"], "item": [{"x": 1}, "y"]}))


def test_bad_input(backend):
    with pytest.raises(ValueError, match="item has 2 rows but user has 3"):
        rf.Interactions.from_arrays([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="event_weights"):
        rf.Interactions.from_arrays([1], [1], events=["view"])
    with pytest.raises(ValueError, match="without events"):
        rf.Interactions.from_arrays([1], [1], event_weights={"view": 1})
    with pytest.raises(ValueError, match="weights must hold numbers: position 0 holds 'heavy'"):
        rf.Interactions.from_arrays([1], [1], ["heavy"])
    with pytest.raises(TypeError, match="weights must be numbers, got dtype datetime64"):
        rf.Interactions.from_arrays([1], [1], np.array(["2024-01-01"], dtype="datetime64[D]"))
    with pytest.raises(ValueError, match="aggregate"):
        rf.Interactions.from_arrays([1], [1], aggregate="mean")
    with pytest.raises(ValueError, match="user_col 'customer' is not a column"):
        rf.Interactions.from_pandas({"user": [1], "item": [1]}, user_col="customer")
    with pytest.raises(ValueError, match="time"):
        rf.Interactions.from_arrays([1], [1], times=["yesterday-ish"])
    with pytest.raises(ValueError, match="distinct"):
        rf.Interactions(sp.csr_matrix((2, 1)), ["a", "a"], ["x"])
    with pytest.raises(ValueError, match="one id per row"):
        rf.Interactions(sp.csr_matrix((2, 1)), ["a"], ["x"])
    for name in ("report", "spec"):
        with pytest.raises(TypeError, match=f"{name} must be a dict, got int"):
            rf.Interactions(sp.csr_matrix((1, 1)), ["a"], ["x"], **{name: 5})


def test_with_matrix_checks_the_matrix_and_its_times_as_the_constructor_does():
    inter = rf.Interactions.from_arrays(["a", "b", "a"], ["x", "y", "y"], times=[1, 2, 3])
    with pytest.raises(TypeError, match="matrix must be a scipy.sparse matrix"):
        inter.with_matrix(np.ones((2, 2)))
    with pytest.raises(ValueError, match="non-finite"):
        inter.with_matrix(sp.csr_matrix(np.full((2, 2), np.nan)))
    # times of another shape, or at other positions, were kept beside the matrix
    with pytest.raises(ValueError, match="times must have an entry at exactly the positions matrix has"):
        inter.with_matrix(inter.matrix, times=sp.csr_matrix((3, 3)))
    with pytest.raises(ValueError, match="times must have an entry at exactly the positions matrix has"):
        inter.with_matrix(inter.matrix, times=sp.csr_matrix(np.ones((2, 2))))
    kept = inter.with_matrix(inter.matrix, times=inter.times)
    assert (kept.times != inter.times).nnz == 0 and len(kept.events) == 3


def test_from_csv_keeps_ids_as_text(backend, tmp_path):
    path = tmp_path / "events.csv.gz"
    import gzip

    with gzip.open(path, "wt") as f:
        f.write(
            "customer,product,qty,when\n00123,A1,2,2024-01-01 10:00:00\n00123,A2,1,2024-01-02 10:00:00\n"
            "7,A1,,2024-01-03 10:00:00\n,A1,1,2024-01-03 10:00:00\n"
        )
    inter = rf.Interactions.from_csv(path, "customer", "product", weight_col="qty", time_col="when")
    assert inter.user_ids.tolist() == ["00123"]
    assert inter.item_ids.tolist() == ["A1", "A2"]
    assert inter.report["dropped"]["bad_weight"] == 1 and inter.report["dropped"]["missing_user"] == 1
    with pytest.raises(ValueError, match="no column 'shop'"):
        rf.Interactions.from_csv(path, "shop", "product")
    with pytest.raises(FileNotFoundError):
        rf.Interactions.from_csv(tmp_path / "absent.csv")


def test_from_csv_without_a_header_line_and_in_another_encoding(backend, tmp_path):
    """MovieLens' u.data has no header line and Online Retail's exports are often latin-1:
    names= and encoding= read them, as pandas' read_csv does. Fewer names than fields is an
    error (pandas would keep the first fields without a word), as a line longer than a header is."""
    path = tmp_path / "u.data"
    path.write_text("196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t302\t5\t881250950\n")
    inter = rf.Interactions.from_csv(
        path, weight_col="rating", time_col="time", sep="\t", names=("user", "item", "rating", "time")
    )
    assert inter.user_ids.tolist() == ["196", "186"] and inter.item_ids.tolist() == ["242", "302"]
    assert inter.matrix.toarray().tolist() == [[3.0, 5.0], [0.0, 3.0]]
    with pytest.raises(ValueError, match="line 1 has 4 fields but 2 column names were given"):
        rf.Interactions.from_csv(path, sep="\t", names=["user", "item"])
    with pytest.raises(TypeError, match="names must be a sequence of column names"):
        rf.Interactions.from_csv(path, sep="\t", names="user,item,rating,time")
    with pytest.raises(ValueError, match="must not repeat"):
        rf.Interactions.from_csv(path, sep="\t", names=["user", "item", "item", "time"])
    latin = tmp_path / "latin.csv"
    latin.write_bytes("user,item\nJosé,Crème brûlée\n".encode("latin-1"))
    inter = rf.Interactions.from_csv(latin, encoding="latin-1")
    assert inter.user_ids.tolist() == ["José"] and inter.item_ids.tolist() == ["Crème brûlée"]
    with pytest.raises(ValueError, match="not utf-8 text"):
        rf.Interactions.from_csv(latin)
    with pytest.raises(ValueError, match="encoding: unknown encoding"):
        rf.Interactions.from_csv(latin, encoding="no-such-codec")


def test_from_csv_keeps_arrow_strings_until_the_ids_are_factorized(tmp_path, monkeypatch):
    """With the io extra, from_csv hands Arrow's strings straight to the factorization (and
    Arrow's number parser to a time column of epoch seconds): no Python string per field, so
    Python-side memory stays a small multiple of the codes' (this file: about 60 bytes a row, where
    object arrays took about 280). The result equals the general reader's, ids, times, event
    types and orders alike."""
    pytest.importorskip("pyarrow")
    import tracemalloc

    from recforge import _tables

    rng = np.random.default_rng(0)
    n = 50_000
    users = np.char.add("C", rng.integers(0, 5000, n).astype(str)).astype(object)
    users[rng.random(n) < 0.01] = ""
    lines = ["user,item,qty,when,kind,order"] + [
        f"{u},P{i},{q},{t},{k},O{o}"
        for u, i, q, t, k, o in zip(
            users,
            rng.integers(0, 800, n),
            rng.integers(-1, 5, n),
            rng.integers(0, 10**9, n),
            rng.choice(["view", "buy", "gift"], n),
            rng.integers(0, 9000, n),
        )
    ]
    path = tmp_path / "e.csv"
    path.write_text("\n".join(lines) + "\n")
    kwargs = dict(weight_col="qty", time_col="when", event_col="kind", event_weights={"view": 1, "buy": 5})
    kwargs.update(order_col="order", aggregate="max")
    tracemalloc.start()
    try:
        arrow = rf.Interactions.from_csv(path, **kwargs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 120 * n, f"{peak / n:.0f} bytes a row"
    columns = _tables.read_table(path, ["user", "when"], text=["user", "when"], arrow_text=True)
    assert all(isinstance(c, pd.arrays.ArrowExtensionArray) for c in columns.values())
    assert columns["user"].isna().sum() == np.count_nonzero(users == "")
    monkeypatch.setattr(_tables, "_read_arrow", lambda *a, **k: None)
    general = rf.Interactions.from_csv(path, **kwargs)
    assert (arrow.matrix != general.matrix).nnz == 0 and (arrow.times != general.times).nnz == 0
    assert arrow.user_ids.tolist() == general.user_ids.tolist()
    assert arrow.item_ids.tolist() == general.item_ids.tolist()
    assert arrow.report == general.report and arrow.report["dropped"]["missing_user"] > 0
    pd.testing.assert_frame_equal(arrow.events.to_pandas(), general.events.to_pandas())
    iso = tmp_path / "iso.csv"
    iso.write_text("user,item,when\na,x,2024-01-01T10:00:00+01:00\nb,x,\nb,y,2024-01-02\n")
    times = rf.Interactions.from_csv(iso, time_col="when").times
    assert times.toarray().tolist() == [[1704099600.0, 0.0], [0.0, 1704153600.0]]


def test_transform_looks_arrow_strings_up_as_it_looks_up_objects():
    """Events read as Arrow strings (from_csv's, pandas 3's "str", Parquet's) are looked up in
    the id maps by Arrow's hash table, without a Python string per id; the result is the
    object-array lookup's: missing ids, new customers appended, unknown products dropped."""
    pytest.importorskip("pyarrow")
    rng = np.random.default_rng(1)
    users = np.char.add("c", rng.integers(0, 50, 400).astype(str)).astype(object)
    items = np.char.add("p", rng.integers(0, 30, 400).astype(str)).astype(object)
    known = rf.Interactions.from_arrays(users, items)
    new_users = np.char.add("c", rng.integers(40, 70, 300).astype(str)).astype(object)
    new_items = np.char.add("p", rng.integers(20, 40, 300).astype(str)).astype(object)
    new_users[::17], new_items[::23] = None, None
    as_objects = {"user": new_users, "item": new_items}
    import pyarrow as pa

    as_arrow = {c: pd.arrays.ArrowExtensionArray(pa.array(v.tolist(), pa.string())) for c, v in as_objects.items()}
    assert _factorize.arrow_strings(_factorize.ids_like(as_arrow["user"], known.user_ids)) is not None
    for how in ("drop", "append"):
        want, got = known.transform(as_objects, new_users=how), known.transform(as_arrow, new_users=how)
        assert (want.matrix != got.matrix).nnz == 0 and want.user_ids.tolist() == got.user_ids.tolist()
        assert {k: np.asarray(v).tolist() if k.startswith("new_") else v for k, v in got.report.items()} == {
            k: np.asarray(v).tolist() if k.startswith("new_") else v for k, v in want.report.items()
        }
    np.testing.assert_array_equal(
        _factorize.lookup(known.user_ids, as_arrow["user"]), _factorize.lookup(known.user_ids, new_users)
    )
    # pandas' Python-storage strings are not Arrow's (they would need pyarrow): the general path
    python_strings = pd.array(new_users, dtype=pd.StringDtype("python"))
    assert _factorize.arrow_strings(python_strings) is None
    np.testing.assert_array_equal(
        _factorize.lookup(known.user_ids, python_strings), _factorize.lookup(known.user_ids, new_users)
    )


def test_from_parquet(tmp_path):
    pytest.importorskip("pyarrow")
    df = pd.DataFrame({"user": ["a", "b", "a"], "item": [10, 11, 11], "ts": pd.to_datetime(["2024-01-01"] * 3)})
    df.to_parquet(tmp_path / "e.parquet")
    inter = rf.Interactions.from_parquet(tmp_path / "e.parquet", time_col="ts")
    assert inter.matrix.toarray().tolist() == [[1.0, 1.0], [0.0, 1.0]]
    assert inter.to_pandas()["time"].tolist() == list(df["ts"])


def test_a_parquet_folder_without_a_column_is_named_in_one_line(tmp_path, capsys):
    """Arrow's error for an absent column is its schema, one field per line; Spark's folders
    (_SUCCESS, .crc files beside the parts) are read as datasets."""
    pytest.importorskip("pyarrow")
    from recforge.cli import main

    folder = tmp_path / "spark"
    folder.mkdir()
    df = pd.DataFrame({"CustomerID": [1, 2, 2], "StockCode": ["a", "b", "a"]})
    df.iloc[:2].to_parquet(folder / "part-00000-x.snappy.parquet")
    df.iloc[2:].to_parquet(folder / "part-00001-x.snappy.parquet")
    (folder / "_SUCCESS").write_text("")
    (folder / ".part-00000-x.snappy.parquet.crc").write_bytes(b"crc")
    inter = rf.Interactions.from_parquet(folder, "CustomerID", "StockCode")
    assert inter.matrix.toarray().tolist() == [[1.0, 0.0], [1.0, 1.0]]
    with pytest.raises(ValueError, match=r"has no column 'InvoiceDate' \(columns: \['CustomerID', 'StockCode'\]\)$"):
        rf.Interactions.from_parquet(folder, "CustomerID", "StockCode", time_col="InvoiceDate")
    with pytest.raises(ValueError, match="did you mean 'CustomerID' for 'customerid'"):
        rf.Interactions.from_parquet(folder, "customerid", "StockCode")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no Parquet or CSV file"):
        rf.Interactions.from_parquet(tmp_path / "empty", "CustomerID", "StockCode")
    (tmp_path / "e.parquet").write_text("user,item\n")
    with pytest.raises(ValueError, match="cannot read it as Parquet"):
        rf.Interactions.from_parquet(tmp_path / "e.parquet", "user", "item")
    argv = ["train", "--data", str(folder), "--user-col", "CustomerID", "--item-col", "StockCode"]
    assert main([*argv, "--time-col", "InvoiceDate", "--model", "itemknn", "--out", str(tmp_path / "m.npz")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has no column 'InvoiceDate'" in err


def test_splits_and_models_take_interactions(rng):
    n = 3000
    users, items = rng.integers(0, 200, n), rng.integers(0, 80, n)
    inter = rf.Interactions.from_arrays(users, items, times=rng.integers(0, 10**6, n))
    for train, test in (
        rf.split.per_user_split(inter, frac=0.3, seed=1),
        rf.split.random_split(inter, seed=2),
        rf.split.leave_k_out(inter, 1, by="time"),
    ):
        assert isinstance(train, rf.Interactions) and train.shape == test.shape == inter.shape
        assert train.user_ids is inter.user_ids
        assert (train.matrix + test.matrix != inter.matrix).nnz == 0
        merged = train.times + test.times
        assert (merged != inter.times).nnz == 0
    # by event: a pair with events on both sides is in both, its weight split between them
    train, test = rf.split.temporal_split(inter, cutoff=5 * 10**5, repeats="keep")
    assert isinstance(train, rf.Interactions) and train.user_ids is inter.user_ids
    assert (train.matrix + test.matrix != inter.matrix).nnz == 0
    assert (train.times.maximum(test.times) != inter.times).nnz == 0
    assert train.times.data.max() < 5 * 10**5 <= test.times.data.min()
    _, new = rf.split.temporal_split(inter, cutoff=5 * 10**5)  # repeats dropped: only pairs first met later
    assert (
        new.matrix.multiply(train.matrix).nnz == 0
        and (new.matrix != test.matrix - test.matrix.multiply(train.matrix.astype(bool))).nnz == 0
    )
    model = rf.ItemKNN(neighbours=20).fit(train)
    assert rf.evaluate(model, train, test)["n_users"] > 0
    assert rf.Popularity(half_life=1e5).fit(inter).popularity_.shape == (inter.n_items,)


def test_temporal_split_takes_dates():
    inter = rf.Interactions.from_arrays(
        ["a", "a", "b"], ["x", "y", "x"], times=["2024-01-01", "2024-02-01", "2024-03-01"]
    )
    train, test = rf.split.temporal_split(inter, cutoff="2024-01-15")
    assert train.nnz == 1 and test.nnz == 2
    with pytest.raises(ValueError, match="cutoff"):
        rf.split.temporal_split(inter, cutoff="soon")
    # the date where the times go (the second argument): said so, not "times must be a scipy.sparse"
    with pytest.raises(
        TypeError, match=r"times got '2024-01-15', which is not a matrix of times: give the date as cutoff="
    ):
        rf.split.temporal_split(inter, "2024-01-15")


def test_transform_can_append_new_customers_as_rows():
    inter = rf.Interactions.from_arrays(["a", "b"], ["x", "y"])
    new = inter.transform({"user": ["c", "a", "d", "c", "e"], "item": ["x", "y", "y", "y", "zz"]}, new_users="append")
    assert new.user_ids.tolist() == ["a", "b", "c", "d"]  # e's only event is on an unknown product
    assert new.matrix.toarray().tolist() == [[0, 1], [0, 0], [1, 1], [0, 1]]
    assert new.report["new_users"].tolist() == ["c", "d", "e"] and new.report["dropped"]["new_user"] == 0
    assert new.report["dropped"]["new_item"] == 1
    assert new.report["users_all_dropped"] == 1  # e: counted, not silently gone
    # b is known, its only event is on an unknown product: an empty row, counted; c is unknown
    # to a "drop" transform: a new_user row, not counted again
    known_only = inter.transform({"user": ["b", "a", "c"], "item": ["zz", "x", "x"]})
    assert known_only.report["users_all_dropped"] == 1 and known_only.report["dropped"]["new_user"] == 1
    fresh = rf.Interactions.from_arrays(["a", "b", "b", None], ["x", None, None, "y"])
    assert fresh.report["users_all_dropped"] == 1 and fresh.user_ids.tolist() == ["a"]
    dropped = inter.transform({"user": ["c"], "item": ["x"]})
    assert dropped.shape == (2, 2) and dropped.nnz == 0
    with pytest.raises(ValueError, match="new_users"):
        inter.transform({"user": ["c"], "item": ["x"]}, new_users="keep")


def test_nullable_and_text_number_columns_are_read_as_numbers():
    """pandas' nullable Float64/Int64 columns (convert_dtypes, Parquet with pyarrow dtypes)
    were refused as "weights must be numbers, got dtype object"; numbers as text too."""
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {
            "user": ["a", "b", "c", "d"],
            "item": ["x", "y", "x", "z"],
            "qty": pd.array([2, None, 1, 3], dtype="Int64"),
            "spend": pd.array([1.5, 2.0, None, 4.0], dtype="Float64"),
            "text": ["1.5", "2", "", "4"],
        }
    )
    inter = rf.Interactions.from_pandas(frame, weight_col="qty", amount_col="spend")
    assert inter.report["dropped"]["bad_weight"] == 1 and inter.report["dropped"]["bad_amount"] == 1
    plain = rf.Interactions.from_pandas(
        frame.astype({"qty": float, "spend": float}), weight_col="qty", amount_col="spend"
    )
    np.testing.assert_array_equal(inter.matrix.toarray(), plain.matrix.toarray())
    as_text = rf.Interactions.from_pandas(frame, weight_col="text")
    assert as_text.report["dropped"]["bad_weight"] == 1 and sorted(as_text.matrix.data.tolist()) == [1.5, 2.0, 4.0]


def test_named_index_levels_count_as_columns():
    """Customer ids often sit in a DataFrame's index (after a groupby or set_index): pandas'
    groupby and merge take index level names as columns, and so does from_pandas."""
    pd = pytest.importorskip("pandas")
    ev = pd.DataFrame({"c": [1, 2, 2, 3], "i": ["x", "y", "x", "z"], "w": [1.0, 2.0, 3.0, 4.0]})
    want = rf.Interactions.from_pandas(ev, user_col="c", item_col="i", weight_col="w")
    for frame in (ev.set_index("c"), ev.set_index(["c", "i"]), ev.set_index("w")):
        got = rf.Interactions.from_pandas(frame, user_col="c", item_col="i", weight_col="w")
        assert got.user_ids.tolist() == want.user_ids.tolist() and got.item_ids.tolist() == want.item_ids.tolist()
        assert (got.matrix != want.matrix).nnz == 0
        assert (want.transform(frame).matrix != want.matrix).nnz == 0
    with pytest.raises(ValueError, match="user_col 'customer' is not a column"):
        rf.Interactions.from_pandas(ev.set_index("c"), user_col="customer", item_col="i")
    with pytest.raises(ValueError, match="user_col 'c' is not a column"):  # an unnamed index is no column
        rf.Interactions.from_pandas(ev.set_index("c").rename_axis(None), user_col="c", item_col="i")


def test_a_folder_of_csv_files_reads_as_one_table(tmp_path):
    """Daily or monthly exports in a folder (some compressed, some in subfolders) were refused:
    "a folder is read as Parquet files". They read as one table, in the order of their names,
    each file under its own header; files that disagree on the columns are named."""
    import gzip

    from recforge._tables import read_table

    folder = tmp_path / "exports"
    (folder / "2011").mkdir(parents=True)
    (folder / "2010-12.csv.gz").write_bytes(gzip.compress(b"user,item,ts\na,x,2010-12-01\nb,y,2010-12-02\n"))
    (folder / "2011" / "2011-01.csv").write_text("user,item,ts\na,y,2011-01-05\nc,x,2011-01-06\n")
    (folder / "2011" / "2011-02.csv").write_text("user,item,ts\nc,z,2011-02-01\n")
    (folder / "_SUCCESS").write_text("")  # as Spark writes: not data
    whole = tmp_path / "whole.csv"
    whole.write_text("user,item,ts\na,x,2010-12-01\nb,y,2010-12-02\na,y,2011-01-05\nc,x,2011-01-06\nc,z,2011-02-01\n")
    a = rf.Interactions.from_csv(str(folder), time_col="ts")
    b = rf.Interactions.from_csv(str(whole), time_col="ts")
    assert a.user_ids.tolist() == b.user_ids.tolist() and a.item_ids.tolist() == b.item_ids.tolist()
    assert (a.matrix != b.matrix).nnz == 0 and (a.times != b.times).nnz == 0
    table = read_table(str(folder), text=["user", "item", "ts"])
    assert table["user"].tolist() == ["a", "b", "a", "c", "c"]
    (folder / "2011" / "2011-03.csv").write_text("user,sku,ts\nd,x,2011-03-01\n")
    with pytest.raises(ValueError, match=r"'2011-03.csv' has the columns \['user', 'sku', 'ts'\]"):
        read_table(str(folder), text=["user", "item", "ts"])
    with pytest.raises(ValueError, match=r"2011-03.csv' has no column 'item'"):
        rf.Interactions.from_csv(str(folder))


@pytest.mark.parametrize("sep, error", [("", ValueError), ('"', ValueError), ("\n", ValueError), (None, TypeError)])
def test_a_delimiter_that_cannot_delimit_is_named(tmp_path, sep, error):
    """sep="" reached the csv module as 'TypeError: "delimiter" must be a 1-character string'."""
    path = tmp_path / "events.csv"
    path.write_text("user,item\na,x\n")
    with pytest.raises(error, match="sep must be"):
        rf.Interactions.from_csv(path, user_col="user", item_col="item", sep=sep)


def test_arrow_reads_bytes_from_memory_it_owns(monkeypatch):
    """Arrow's reader over a Python bytes object (a "::" log, a member of a zip) held it as a
    PyBuffer: after a failed read (an absent column) a read-ahead task dropped the last
    reference, which takes the GIL, and at interpreter exit that aborted the process ("terminate
    called without an active exception", exit 134 about one run in 150 on a busy machine). The
    bytes are copied into Arrow's own memory, freed without Python."""
    pa = pytest.importorskip("pyarrow")
    from recforge._tables import read_table

    seen = []
    real = pa.BufferReader
    monkeypatch.setattr(pa, "BufferReader", lambda data: seen.append(data) or real(data))
    assert read_table(b"user::item\na::x\n", ["user", "item"], text=["user", "item"], sep="::")["user"].tolist() == [
        "a"
    ]
    with pytest.raises(ValueError, match="no column 'customer'"):
        read_table(b"user,item\na,x\n", ["customer"], text=["customer"])
    assert len(seen) == 2 and all(isinstance(b, pa.Buffer) and b.is_mutable for b in seen), seen

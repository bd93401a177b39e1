"""One customer or product written as text in one file and as a number in another (a CSV is
read as text, a Parquet column of integers is not) is still one id: a model trained on Parquet
answers the same events given as CSV, product and segment tables join whatever their format,
and new ids join an id map in its own kind."""

from __future__ import annotations

import numpy as np
import pytest
import recforge as rf
from recforge.cli import main

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")


@pytest.fixture
def files(tmp_path, rng):
    n = 3000
    events = pd.DataFrame(
        {
            "user": rng.integers(100, 400, n),
            "item": rng.integers(1000, 1100, n),
            "time": 1.7e9 + rng.integers(0, 100 * 86400, n),
        }
    )
    products = pd.DataFrame(
        {"item": np.arange(1000, 1100), "description": [f"product {i}" for i in range(100)], "category": "c"}
    )
    segments = pd.DataFrame({"user": np.arange(100, 400), "segment": np.where(np.arange(300) % 3, "other", "vip")})
    paths = {}
    for name, frame in (("events", events), ("products", products), ("segments", segments)):
        for ext in ("csv", "parquet"):
            paths[name, ext] = str(tmp_path / f"{name}.{ext}")
            frame.to_csv(paths[name, ext], index=False) if ext == "csv" else frame.to_parquet(paths[name, ext])
    # integer ids that went through a column with a missing value are floats in Parquet
    paths["products", "float"] = str(tmp_path / "products_float.parquet")
    products.assign(item=products.item.astype(float)).to_parquet(paths["products", "float"])
    return paths


def _lists(path):
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    return table.drop(columns=[c for c in ("score",) if c in table]).to_dict("list")


@pytest.mark.parametrize("trained, given", [("parquet", "csv"), ("csv", "parquet")])
def test_a_model_answers_its_customers_from_either_format(files, tmp_path, trained, given, capsys):
    model = str(tmp_path / "m.npz")
    assert main(["train", "--data", files["events", trained], "--model", "itemknn", "--out", model]) == 0
    for data, out in ((files["events", trained], "same.csv"), (files["events", given], "other.csv")):
        assert main(["recommend", "--model", model, "--data", data, "--out", str(tmp_path / out), "--quiet"]) == 0
    # before: every event of the other format was a "new_item", every customer answered by popular
    same, other = _lists(tmp_path / "same.csv"), _lists(tmp_path / "other.csv")
    assert set(other["path"]) == {"model"}
    assert other == same


@pytest.mark.parametrize("events", ["csv", "parquet"])
@pytest.mark.parametrize("products", ["csv", "parquet", "float"])
def test_product_and_segment_tables_join_across_formats(files, tmp_path, events, products):
    out = str(tmp_path / "campaign.csv")
    segments = files["segments", "csv" if events == "parquet" else "parquet"]
    argv = ["campaign", "--data", files["events", events], "--products", files["products", products]]
    assert main([*argv, "--category-col", "category", "--segments", segments, "--out", out, "--quiet"]) == 0
    table = pd.read_csv(out, dtype=str)
    assert table["description"].str.startswith("product ").all()  # not the ids in their place
    assert table["reason"].str.startswith("product ").all()
    assert set(table["segment"]) == {"vip", "other"}
    expected = {str(u): "other" if (u - 100) % 3 else "vip" for u in range(100, 400)}
    assert (table["segment"] == table["customer"].map(expected)).all()


def test_cold_start_product_table_in_the_other_format_adds_no_duplicates(files, tmp_path, capsys):
    model = str(tmp_path / "m.npz")
    argv = ["train", "--data", files["events", "parquet"], "--model", "itemknn", "--out", model]
    assert main([*argv, "--item-features", files["products", "csv"], "--item-text", "description"]) == 0
    # before: all 100 products came back as "new products" and saving failed on mixed id kinds
    assert "0 new products" in capsys.readouterr().out
    assert rf.load(model).item_ids_.size == 100


def test_a_product_table_that_matches_nothing_is_refused(files, tmp_path, capsys):
    wrong = tmp_path / "wrong.csv"
    pd.DataFrame({"item": ["a", "b"], "description": ["x", "y"]}).to_csv(wrong, index=False)
    out = tmp_path / "c.csv"
    assert main(["campaign", "--data", files["events", "csv"], "--products", str(wrong), "--out", str(out)]) == 2
    assert "none of the data's 100 products is in its column 'item'" in capsys.readouterr().err
    assert not out.exists()
    model = str(tmp_path / "m.npz")
    assert main(["train", "--data", files["events", "csv"], "--model", "itemknn", "--out", model, "--quiet"]) == 0
    capsys.readouterr()
    argv = ["recommend", "--model", model, "--data", files["events", "csv"], "--products", str(wrong)]
    assert main([*argv, "--out", str(out)]) == 2
    printed = capsys.readouterr()
    assert "none of the data's 100 products" in printed.err and printed.out == ""  # refused before scoring
    assert not out.exists()


def test_transform_and_features_take_the_id_maps_kind():
    inter = rf.Interactions.from_arrays(np.array([1, 2, 2]), np.array([10, 10, 11]))
    later = inter.transform(pd.DataFrame({"user": ["2", "3", None], "item": ["11", "10", "10"]}, dtype=object))
    assert later.user_ids.tolist() == [1, 2] and later.nnz == 1  # "3" is new, None dropped
    appended = rf.Interactions.from_arrays(np.array(["a"]), np.array(["10"])).item_index(np.array([10.0, 10.0, 10.0]))
    assert appended.tolist() == [0, 0, 0]
    table = pd.DataFrame({"sku": ["11", "12", "10"], "colour": ["red", "blue", "red"]})
    F = rf.features(table, ids=inter.item_ids, id_col="sku", categorical="colour")
    assert F.ids.tolist() == [10, 11, 12] and F.n_known == 2  # 12 joins as an integer: savable
    assert all(isinstance(v, (int, np.integer)) for v in F.ids.tolist())
    with pytest.raises(ValueError, match="'007' and '7'"):
        rf.features(
            pd.DataFrame({"sku": ["7", "007"], "colour": ["r", "b"]}), ids=[7], id_col="sku", categorical="colour"
        )


def test_ids_given_on_the_command_line_match_integer_ids(files, tmp_path, capsys):
    model = str(tmp_path / "m.npz")
    assert main(["train", "--data", files["events", "parquet"], "--model", "itemknn", "--out", model]) == 0
    out = tmp_path / "s.csv"
    assert main(["similar", "--model", model, "--items", "1038", "1039", "--out", str(out)]) == 0
    assert pd.read_csv(out)["item"].tolist() == [1038] * 10 + [1039] * 10
    # before: int('x') failed inside numpy with "invalid literal for int()"
    assert main(["similar", "--model", model, "--items", "1038", "x", "--out", str(out)]) == 2
    assert "--items: unknown item id: 'x'" in capsys.readouterr().err
    lists = []
    for ext in ("parquet", "csv"):  # before: Parquet's integer products "had no line" of '1038'
        out = tmp_path / f"t_{ext}.csv"
        argv = ["target", "--data", files["events", ext], "--item-col", "item", "--time-col", "time"]
        assert main([*argv, "--item", "1038,1039", "--out", str(out)]) == 0
        lists.append(out.read_text())
    assert lists[0] == lists[1]


def test_products_without_a_description_are_counted(files, tmp_path, capsys):
    gappy = tmp_path / "gappy.csv"
    table = pd.read_csv(files["products", "csv"])
    table = table[table["item"] != 1005]
    table.loc[table["item"] == 1006, "description"] = None
    table.to_csv(gappy, index=False)
    out = tmp_path / "c.csv"
    assert main(["campaign", "--data", files["events", "csv"], "--products", str(gappy), "--out", str(out)]) == 0
    assert "--products: 2 of 100 products have no description there" in capsys.readouterr().err


def test_a_folder_of_parquet_files_is_read_as_one_dataset(files, tmp_path):
    """A dataset as Spark, Dask or pandas' partition_cols writes it: the out-of-core reader took
    it, the in-memory one said "[Errno 21] Is a directory"."""
    folder = tmp_path / "events_by_month"
    events = pd.read_parquet(files["events", "parquet"])
    events.assign(part=events["user"] % 3).to_parquet(folder, partition_cols=["part"])
    for data, name in ((files["events", "parquet"], "file"), (str(folder), "folder")):
        model = str(tmp_path / f"{name}.npz")
        assert main(["train", "--data", data, "--model", "itemknn", "--out", model, "--quiet"]) == 0
        out = str(tmp_path / f"{name}.csv")
        assert main(["recommend", "--model", model, "--data", data, "--out", out, "--quiet"]) == 0
    by_user = [
        pd.read_csv(tmp_path / f"{n}.csv").sort_values(["user", "rank"], ignore_index=True) for n in ("file", "folder")
    ]
    pd.testing.assert_frame_equal(*by_user)


def test_lookups_convert_exactly_with_and_without_pandas(backend):
    """The conversion rules, on both backends alike: integer text (spaces, a sign, "12.0" as a
    float column with a gap writes it) finds integer ids, exactly beyond 2**53; numbers find
    text ids by their decimal text; other text finds nothing."""
    integers = rf.Interactions.from_arrays(np.array([1, 1, 1, 1]), np.array([1038, 1039, 5, 2**60]))
    asked = np.array(["1039", "5", "x", "1038", " 5", "5.0", "+5", str(2**60), str(2**60 + 1)], dtype=object)
    assert integers.item_index(asked, missing="ignore").tolist() == [1, 2, -1, 0, 2, 2, 2, 3, -1]
    text = rf.Interactions.from_arrays(np.array(["u", "u", "u"]), np.array(["1038", "A7", "5"]))
    assert text.item_index(np.array([1038, 5, 7]), missing="ignore").tolist() == [0, 2, -1]
    assert text.item_index(np.array([1038.0, 5.0, 5.5]), missing="ignore").tolist() == [0, 2, -1]


def test_a_block_of_integer_customers_meets_a_model_of_text_ids(files):
    """What a Dask partition hands the scorer: integer customer ids against a model trained on
    CSV (text). Before, the empty map a block starts from had no kind to convert to, so every
    known customer was scored as new."""
    inter = rf.Interactions.from_csv(files["events", "csv"], "user", "item")
    model = rf.ColdStart(rf.ALS(factors=8, iterations=3, random_state=0)).fit(inter)
    frame = pd.read_parquet(files["events", "parquet"])[["user", "item"]]
    scorer = rf.batch.BlockScorer(model, 5, ["user", "item"])
    _, as_integers = scorer.score(frame)
    _, as_text = scorer.score(frame.astype(str))
    assert as_integers["paths"] == as_text["paths"] == {"model": 300}
    assert as_integers["rows"] == 3000


@pytest.mark.parametrize("trained", ["csv", "parquet"])
def test_a_block_of_float_customers_is_written_as_the_model_knows_them(files, trained):
    """A Parquet column of integer ids with a gap holds floats (17850.0): a Dask partition of
    it reached the scorer as floats, and the lists named the customers 17850.0, a float column,
    where rf.batch.recommend of the same file writes the model's "17850" (or 17850)."""
    path = files["events", trained]
    inter = rf.Interactions.from_csv(path, "user", "item") if trained == "csv" else None
    if inter is None:
        inter = rf.Interactions.from_pandas(pd.read_parquet(path), "user", "item")
    model = rf.ColdStart(rf.ALS(factors=8, iterations=3, random_state=0)).fit(inter)
    frame = pd.read_parquet(files["events", "parquet"])[["user", "item"]]
    scorer = rf.batch.BlockScorer(model, 5, ["user", "item"])
    want, _ = scorer.score(frame)
    new = pd.DataFrame({"user": [99999], "item": [frame.item.iloc[0]]})  # and a new customer
    floats = pd.concat([frame, new]).astype({"user": float})
    got, _ = scorer.score(pd.concat([floats, pd.DataFrame({"user": [np.nan], "item": [1000]})]))
    assert got.user.dtype == want.user.dtype and got.user.iloc[-1] == ("99999" if trained == "csv" else 99999)
    pd.testing.assert_frame_equal(got[got.user.isin(want.user)].reset_index(drop=True), want)


def test_ids_written_otherwise_than_in_training_are_flagged(files, tmp_path, capsys):
    """Ids written otherwise than in training ("P1004" against "1004"): every event a new
    product, every customer answered by best sellers; said only as a count of dropped rows."""
    model = str(tmp_path / "m.npz")
    assert main(["train", "--data", files["events", "csv"], "--model", "itemknn", "--out", model, "--quiet"]) == 0
    other = tmp_path / "other.csv"
    frame = pd.read_csv(files["events", "csv"])
    frame.assign(item="P" + frame["item"].astype(str)).to_csv(other, index=False)
    for out in (str(tmp_path / "r.csv"), str(tmp_path / "blocks") + "/"):
        capsys.readouterr()
        assert (
            main(
                ["recommend", "--model", model, "--data", str(other), "--out", out, "--quiet"]
                + (["--blocks", "2"] if out.endswith("/") else [])
            )
            == 0
        )
        err = capsys.readouterr().err
        assert "warning: 3,000 of 3,000 rows name products the model does not know" in err
        assert "are the ids written as in the training data?" in err
    assert (
        main(["recommend", "--model", model, "--data", files["events", "csv"], "--out", str(tmp_path / "ok.csv")]) == 0
    )
    assert "warning" not in capsys.readouterr().err


def test_an_integer_written_with_a_zero_decimal_part_is_the_same_id(files, tmp_path, capsys):
    """ "1004.0" is how pandas writes the integer 1004 in a column with a gap: every product (and
    customer) of such a file was new to a model trained on "1004", and an opt-out list so
    written suppressed nobody. Both forms are one id now, in memory and out of core."""
    model = str(tmp_path / "m.npz")
    assert main(["train", "--data", files["events", "csv"], "--model", "itemknn", "--out", model, "--quiet"]) == 0
    floats = tmp_path / "floats.csv"
    frame = pd.read_csv(files["events", "csv"])
    frame.astype({"item": float, "user": float}).to_csv(floats, index=False)
    assert "1004.0" in floats.read_text() or ".0," in floats.read_text()
    want = str(tmp_path / "want.csv")
    assert main(["recommend", "--model", model, "--data", files["events", "csv"], "--out", want, "--quiet"]) == 0
    for out in (str(tmp_path / "r.csv"), str(tmp_path / "blocks") + "/"):
        capsys.readouterr()
        argv = ["recommend", "--model", model, "--data", str(floats), "--out", out, "--quiet"]
        assert main(argv + (["--blocks", "2"] if out.endswith("/") else [])) == 0
        assert "warning" not in capsys.readouterr().err
        got = pd.read_parquet(out) if out.endswith("/") else pd.read_csv(out)
        expected = pd.read_csv(want)
        key = ["user", "rank"]
        got = got.astype({"user": str, "item": str}).sort_values(key).reset_index(drop=True)
        expected = expected.astype({"user": str, "item": str}).sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(got[[*key, "item"]], expected[[*key, "item"]])
    known = np.array(["17850", "13047", "A1"], dtype=object)
    raw = np.array(["17850.0", "13047", "A1.0", "17850.5", None, "+13047.00"], dtype=object)
    np.testing.assert_array_equal(rf._factorize.lookup(known, raw), [0, 1, -1, -1, -1, 1])
    assert rf._factorize.lookup(np.array(["17850.0"], dtype=object), np.array(["17850"], dtype=object))[0] == 0


def test_integral_floats_join_integer_ids_as_integers():
    """An integer id column with a gap is read as floats: its new products joined integer ids
    as floats (12.0), and the model could not be saved ("all strings or all integers")."""
    inter = rf.Interactions.from_arrays(np.array([1, 2, 2]), np.array([10, 10, 11]))
    table = pd.DataFrame({"sku": [11.0, 12.0, 10.0, np.nan], "colour": ["red", "blue", "red", "x"]})
    F = rf.features(table, ids=inter.item_ids, id_col="sku", categorical="colour")
    assert F.ids.tolist() == [10, 11, 12] and all(type(v) is int for v in F.ids.tolist())
    later = inter.transform(pd.DataFrame({"user": [3.0, 1.0], "item": [10.0, 11.0]}), new_users="append")
    assert later.user_ids.dtype == np.int64 and later.user_ids.tolist() == [1, 2, 3]
    # With a gap too: the new ids were Python ints in an object array, so the grown id map
    # (and the user column of rf.batch and recforge.distributed's lists) became objects
    gap = pd.DataFrame({"user": [3.0, np.nan, 1.0, 4.0], "item": [10.0, 10.0, 13.0, np.nan]})
    later = inter.transform(gap, new_users="append")
    assert later.user_ids.dtype == np.int64 and later.user_ids.tolist() == [1, 2, 3]
    assert later.report["new_items"].dtype == np.int64 and later.report["new_items"].tolist() == [13]


def test_a_customer_table_in_the_other_format_joins_the_customers(files, tmp_path):
    """--customers (answered without events) as CSV beside a model trained on Parquet: "400"
    is customer 400, and an id of another kind ("C9") no longer fails joining integers."""
    model = str(tmp_path / "m.npz")
    assert main(["train", "--data", files["events", "parquet"], "--model", "itemknn", "--out", model, "--quiet"]) == 0
    table = tmp_path / "customers.csv"
    pd.DataFrame({"user": ["100", "900", "C9"]}).to_csv(table, index=False)
    out = tmp_path / "r.csv"
    argv = ["recommend", "--model", model, "--data", files["events", "parquet"], "--customers", str(table)]
    assert main([*argv, "--user-key", "user", "--out", str(out), "--quiet"]) == 0
    lists = pd.read_csv(out, dtype=str)
    assert lists["user"].nunique() == 302 and {"900", "C9"} <= set(lists["user"])  # 100 has events already


def test_an_integer_column_with_a_gap_gives_integer_ids():
    """Read as floats, its ids were kept as floats: outputs said 12347.0 (and pseudonymised
    "12347.0"), unlike the same file as CSV or without the gap."""
    frame = pd.DataFrame({"user": [12347.0, np.nan, 12348.0], "item": [7.0, 8.0, 8.0]})
    inter = rf.Interactions.from_pandas(frame)
    assert inter.user_ids.dtype == np.int64 and inter.user_ids.tolist() == [12347, 12348]
    assert inter.item_ids.tolist() == [7, 8] and inter.report["dropped"]["missing_user"] == 1
    assert inter.user_index("12347") == inter.user_index(12347.0) == 0
    assert rf.Interactions.from_pandas(frame.assign(user=[1.5, 2.0, 3.0])).user_ids.dtype == np.float64


def test_the_customer_summary_keeps_integer_ids_as_interactions_does():
    """pandas reads Online Retail's CustomerID (with gaps) as floats: the customer summary, and
    so RFM, propensity and their outputs, said 12347.0 where Interactions says 12347."""
    frame = pd.DataFrame(
        {
            "customer": [12347.0, np.nan, 12346.0, 12347.0],
            "time": ["2011-01-01", "2011-01-02", "2011-01-03", "2011-02-01"],
            "amount": [1.0, 2.0, 3.0, 4.0],
            "item": ["a", "b", "a", "b"],
        }
    )
    s = rf.customers.summary(frame.customer, frame.time, frame.amount)
    assert s.customer_ids.dtype == np.int64 and s.customer_ids.tolist() == [12346, 12347]
    ids, _ = rf.customers.features_at(frame.customer, frame.time, frame.amount, frame.item, cutoff="2011-03-01")
    assert ids.tolist() == [12346, 12347]
    inter = rf.Interactions.from_pandas(frame, user_col="customer")
    assert sorted(inter.user_ids.tolist()) == s.customer_ids.tolist()
    assert rf.customers.summary([1.5, 2.0], frame.time[:2], [1.0, 1.0]).customer_ids.dtype == np.float64


def test_customers_in_two_segments_are_counted(files, tmp_path, capsys):
    segments = pd.read_csv(files["segments", "csv"])
    twice = pd.concat([segments, pd.DataFrame({"user": [100, 101, 102], "segment": ["other", "vip", "other"]})])
    path = tmp_path / "twice.csv"
    twice.to_csv(path, index=False)  # 100 and 101 change segment; 102 is listed twice alike
    out = str(tmp_path / "c.csv")
    assert main(["campaign", "--data", files["events", "csv"], "--segments", str(path), "--out", out, "--quiet"]) == 0
    assert "--segments: 2 customers are in more than one segment; their first row is used" in capsys.readouterr().err
    table = pd.read_csv(out, dtype=str)
    assert set(table.loc[table["customer"] == "100", "segment"]) == {"vip"}  # the first row's


def test_an_integer_written_with_and_without_a_zero_decimal_part_is_one_customer(tmp_path):
    """A folder of daily exports, some days with a gap in the customer column (pandas writes
    the customer 17850 as "17850.0" there) and some without ("17850"): each such customer was
    two customers, in Interactions, the summary and every command (Online Retail's 3,974
    customers read as 5,709, each with half a history), and the outputs said 17850.0. They are
    one customer now, written 17850; other text ids stay as they are."""
    users = np.array(["17850.0", "17850", "A1", "12.50", "+13047.00", None], dtype=object)
    inter = rf.Interactions.from_arrays(users, np.array(["x", "y", "x", "y", "x", "x"]))
    assert inter.user_ids.tolist() == ["17850", "A1", "12.50", "13047"]
    np.testing.assert_array_equal(inter.matrix.toarray()[0], [1, 1])
    later = inter.transform(pd.DataFrame({"user": ["99.0", "99", "17850.0"], "item": ["x", "y", "x"]}), "append")
    assert later.user_ids.tolist() == ["17850", "A1", "12.50", "13047", "99"]
    np.testing.assert_array_equal(later.matrix.toarray()[[0, 4]], [[1, 0], [1, 1]])
    s = rf.customers.summary(np.array(["17850.0", "17850", "13047.0"], dtype=object), [0, 3 * 86400, 0], [1.0] * 3)
    assert s.customer_ids.tolist() == ["13047", "17850"] and s.frequency.tolist() == [0, 1]

    days = tmp_path / "days"
    days.mkdir()
    first = {"user": [17850.0, np.nan, 13047.0], "item": ["p1", "p2", "p2"], "time": ["2011-01-03"] * 3}
    pd.DataFrame({**first, "amount": [1.0, 2.0, 3.0]}).to_csv(days / "a.csv", index=False)
    second = {"user": [17850, 13047], "item": ["p3", "p1"], "time": ["2011-02-03", "2011-02-04"]}
    pd.DataFrame({**second, "amount": [4.0, 5.0]}).to_csv(days / "b.csv", index=False)
    assert "17850.0" in (days / "a.csv").read_text() and "17850.0" not in (days / "b.csv").read_text()
    out = tmp_path / "customers.csv"
    argv = ["customers", "--data", str(days), "--time-col", "time", "--amount-col", "amount"]
    assert main([*argv, "--out", str(out), "--quiet"]) == 0
    table = pd.read_csv(out, dtype={"customer": str})
    assert table.customer.tolist() == ["13047", "17850"] and table.transactions.tolist() == [2, 2]
    model = str(tmp_path / "m.npz")
    assert main(["train", "--data", str(days), "--model", "itemknn", "--out", model, "--quiet"]) == 0
    lists = {}
    for name, extra in (("memory.csv", []), ("blocks/", ["--blocks", "2"])):
        target = str(tmp_path) + "/" + name  # a folder keeps its "/" (pathlib drops it)
        assert main(["recommend", "--model", model, "--data", str(days), "--out", target, "--quiet", *extra]) == 0
        got = pd.read_parquet(target) if name.endswith("/") else pd.read_csv(target)
        lists[name] = got.astype({"user": str}).sort_values(["user", "rank"]).reset_index(drop=True)
    assert sorted(set(lists["memory.csv"].user)) == ["13047", "17850"]
    pd.testing.assert_frame_equal(lists["memory.csv"][["user", "item"]], lists["blocks/"][["user", "item"]])

"""The command line answers every customer: new customers from their events or attributes,
new products from their features, products similar to a text; errors stay one line."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import recforge as rf
from recforge.cli import main
from test_cli import DATA_ARGS, read_csv


@pytest.fixture
def shop(tmp_path, rng):
    """Events, a product table with two products nobody bought, a customer table."""
    n = 3000
    events = tmp_path / "events.csv"
    with open(events, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer", "sku", "event", "ts"])
        for u, i, t in zip(rng.integers(0, 100, n), rng.zipf(1.6, n) % 40, rng.integers(1.6e9, 1.7e9, n)):
            w.writerow([f"C{u:04d}", f"SKU-{i}", "purchase", int(t)])
    products = tmp_path / "products.csv"
    with open(products, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["sku", "title", "kind", "price"])
        for i in range(40):
            w.writerow(
                [f"SKU-{i}", f"{['red', 'blue'][i % 2]} {['mug', 'tea', 'cup'][i % 3]} set", ["a", "b|c"][i % 2], i]
            )
        w.writerow(["SKU-NEW1", "green tea kettle", "a", 5])
        w.writerow(["SKU-NEW2", "blue glass mug", "b", 12])
    customers = tmp_path / "customers.csv"
    with open(customers, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer", "country"])
        for u in range(100):
            w.writerow([f"C{u:04d}", ["UK", "FR"][u % 2]])
    return events, products, customers


def train(tmp_path, events, products, customers, *extra):
    model = tmp_path / "model.npz"
    args = ["train", "--data", str(events), *DATA_ARGS, "--model", "als", "--param", "factors=8"]
    args += ["--item-features", str(products), "--item-key", "sku", "--item-text", "title"]
    args += ["--item-categorical", "kind", "--item-numeric", "price"]
    args += ["--user-features", str(customers), "--user-key", "customer", "--user-categorical", "country"]
    assert main([*args, *extra, "--out", str(model), "--quiet"]) == 0
    return model


def test_new_customers_are_answered_and_every_row_says_how(tmp_path, shop, capsys):
    events, products, customers = shop
    model_path = train(tmp_path, events, products, customers)
    assert "2 new products" in capsys.readouterr().out
    model = rf.load(model_path)
    assert isinstance(model, rf.ColdStart) and "SKU-NEW1" in model.item_ids_.tolist()
    later = tmp_path / "later.csv"
    later.write_text("customer,sku,event,ts\nC0001,SKU-3,purchase,1700000001\nNEW-A,SKU-1,purchase,1700000002\n")
    table = tmp_path / "who.csv"
    table.write_text("customer,country\nNEW-B,FR\nNEW-C,\n")
    out = tmp_path / "recs.csv"
    args = ["recommend", "--model", str(model_path), "--data", str(later), "--customers", str(table)]
    assert main([*args, "--user-key", "customer", "--k", "5", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "4 customers (1 known, 3 new)" in said
    rows = read_csv(out)
    paths = {}
    for row in rows:
        paths.setdefault(row["user"], set()).add(row["path"])
    assert paths["C0001"] <= {"model", "content"}
    assert paths["NEW-A"] <= {"history", "content"}  # answered from the one event
    assert paths["NEW-B"] == {"group_popular"}  # an attribute, no events
    assert paths["NEW-C"] <= {"popular", "group_popular"}  # an empty attribute: the shop's trends
    assert len({row["user"] for row in rows}) == 4


def test_customer_attributes_the_model_never_saw_are_said(tmp_path, shop, capsys):
    """An unseen category is encoded as missing: a table that wrote "uk" where training wrote "UK"
    answered every such customer as one without a country, without a word."""
    events, products, customers = shop
    model_path = train(tmp_path, events, products, customers)
    table = tmp_path / "who.csv"
    table.write_text("customer,country\nNEW-B,FR\nNEW-C,uk\nNEW-D,DE\nNEW-E,\n")
    args = ["recommend", "--model", str(model_path), "--data", str(events), "--customers", str(table)]
    capsys.readouterr()
    assert main([*args, "--user-key", "customer", "--out", str(tmp_path / "r.csv"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert (
        "--customers: values the model never saw in training, taken as missing: country 'DE', 'uk' (did you mean 'UK'?)"
        in err
    )
    table.write_text("customer,country\nNEW-B,FR\nNEW-E,\n")  # a missing value is no unseen one
    assert main([*args, "--user-key", "customer", "--out", str(tmp_path / "r.csv"), "--quiet"]) == 0
    assert "never saw" not in capsys.readouterr().err


def test_a_customer_table_out_of_core_gives_the_in_memory_lists(tmp_path, shop, capsys):
    pd = pytest.importorskip("pandas", reason="out-of-core scoring needs the io extra")
    pytest.importorskip("pyarrow", reason="out-of-core scoring needs the io extra")
    events, products, customers = shop
    model_path = train(tmp_path, events, products, customers)
    later = tmp_path / "later.csv"
    later.write_text(
        "customer,sku,event,ts\nC0001,SKU-3,purchase,1700000001\nNEW-A,SKU-1,purchase,1700000002\n"
        "C0002,SKU-5,purchase,1700000003\nNEW-D,SKU-7,purchase,1700000004\n"
    )
    table = tmp_path / "who.csv"  # new customers without events, a known one without events here
    table.write_text("customer,country\nNEW-B,FR\nNEW-C,\nC0007,UK\nNEW-A,FR\nNEW-E,UK\n")
    base = ["recommend", "--model", str(model_path), "--data", str(later), "--customers", str(table)]
    base += ["--user-key", "customer", "--k", "5", "--quiet"]
    assert main([*base, "--out", str(tmp_path / "memory.csv")]) == 0
    assert main([*base, "--out", str(tmp_path / "blocks.csv"), "--blocks", "3"]) == 0
    said = capsys.readouterr().out
    assert "8 customers in 3 blocks (4 from --customers without events)" in said
    key = ["user", "rank"]
    memory = pd.read_csv(tmp_path / "memory.csv").sort_values(key).reset_index(drop=True)
    blocks = pd.read_csv(tmp_path / "blocks.csv").sort_values(key).reset_index(drop=True)
    assert set(memory["user"]) == {"C0001", "C0002", "C0007", "NEW-A", "NEW-B", "NEW-C", "NEW-D", "NEW-E"}
    pd.testing.assert_frame_equal(memory[[*key, "item", "path"]], blocks[[*key, "item", "path"]])
    np.testing.assert_allclose(blocks["score"], memory["score"], rtol=1e-5)


def test_customer_table_rows_without_an_id_are_left_out_and_said(tmp_path, shop, capsys):
    """A --customers row without an id was given row number -1: its attributes went to the last
    customer of the run (NEW-E, from the UK, was answered as French), without a word."""
    pytest.importorskip("pandas", reason="out-of-core scoring needs the io extra")
    pytest.importorskip("pyarrow", reason="out-of-core scoring needs the io extra")
    events, products, customers = shop
    model_path = train(tmp_path, events, products, customers)
    later = tmp_path / "later.csv"
    later.write_text("customer,sku,event,ts\nC0001,SKU-3,purchase,1700000001\n")

    def lists(rows: str, *extra) -> dict:
        (tmp_path / "who.csv").write_text("customer,country\n" + rows)
        out = tmp_path / "recs.csv"
        args = ["recommend", "--model", str(model_path), "--data", str(later), "--customers", str(tmp_path / "who.csv")]
        assert main([*args, "--user-key", "customer", "--k", "5", "--out", str(out), *extra]) == 0
        got: dict = {}
        for row in read_csv(out):
            got.setdefault(row["user"], []).append(row["item"])
        return got

    uk, fr = lists("NEW-E,UK\n")["NEW-E"], lists("NEW-E,FR\n")["NEW-E"]
    assert uk != fr  # the attribute decides the list here, so a wrong one shows
    capsys.readouterr()
    for extra in ([], ["--blocks", "2"]):
        got = lists("NEW-B,FR\nNEW-E,FR\nNEW-E,UK\n,FR\n", *extra)  # NEW-E twice (the last row wins); no id
        assert got["NEW-E"] == uk and got["NEW-B"] == fr and set(got) == {"C0001", "NEW-B", "NEW-E"}
        said = capsys.readouterr().out
        assert "--customers rows left out: 1 (missing customer id)" in said
        assert "--customers rows left out: 1 (duplicate customer id (the last row kept))" in said


def test_a_product_not_in_the_catalogue_by_its_text(tmp_path, shop, capsys):
    events, products, customers = shop
    model_path = train(tmp_path, events, products, customers)
    capsys.readouterr()
    assert main(["similar", "--model", str(model_path), "--text", "green tea kettle", "--k", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("green tea kettle\t") for line in lines)
    assert "SKU-NEW1" in lines[0]  # "green tea kettle": the only product with those words
    # an empty answer was said by nothing: no line, no error, exit 0
    assert main(["similar", "--model", str(model_path), "--text", "zzzz qqqq"]) == 0
    out = capsys.readouterr()
    assert out.out == "" and "--text: no product's text shares a word with 'zzzz qqqq'" in out.err
    assert main(["similar", "--model", str(model_path), "--text", " "]) == 2
    assert "--text is empty" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--item-features", "missing.csv", "--item-text", "title"], "--item-features: no such file"),
        (["--item-features", "{products}"], "name its columns with --item-text"),
        (["--item-features", "{products}", "--item-key", "sku", "--item-text", "colour"], "column 'colour'"),
        (
            ["--no-fallbacks", "--item-features", "{products}", "--item-key", "sku", "--item-text", "title"],
            "--no-fallbacks",
        ),
    ],
)
def test_bad_feature_arguments_are_one_line(tmp_path, shop, capsys, extra, message):
    events, products, _ = shop
    extra = [a.replace("{products}", str(products)) for a in extra]
    args = ["train", "--data", str(events), *DATA_ARGS, "--model", "popularity", "--out", str(tmp_path / "m.npz")]
    assert main([*args, *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "m.npz").exists()


def test_a_bare_model_still_skips_new_customers_and_refuses_customer_tables(tmp_path, shop, capsys):
    events, _, customers = shop
    model = tmp_path / "bare.npz"
    args = ["train", "--data", str(events), *DATA_ARGS, "--model", "itemknn", "--no-fallbacks", "--out", str(model)]
    assert main(args) == 0
    later = tmp_path / "later.csv"
    later.write_text("customer,sku,event,ts\nNEW-A,SKU-1,purchase,1700000002\nC0002,SKU-1,purchase,1\n")
    out = tmp_path / "r.csv"
    assert main(["recommend", "--model", str(model), "--data", str(later), "--out", str(out)]) == 0
    assert "1 customer the model has not seen was skipped" in capsys.readouterr().out
    assert (
        main(
            ["recommend", "--model", str(model), "--data", str(later), "--customers", str(customers), "--out", str(out)]
        )
        == 2
    )
    assert "--customers: the model has no fallbacks" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["similar", "--model", str(model), "--items", "SKU-1", "--text", "x"])
    assert main(["similar", "--model", str(model), "--text", "red"]) == 2
    assert "--text: the model was trained without product text" in capsys.readouterr().err


def test_an_event_log_serves_as_its_own_product_and_customer_table(tmp_path, capsys):
    """--item-features / --user-features pointed at the event file (Online Retail's lines carry
    each product's description and price, each customer's country) were refused: "the table
    holds ids more than once". Each id now takes its most given text (the latest of equally
    frequent ones) and its median number: the same features as the tables with one row per id
    written by hand."""
    rows = [  # customer, sku, ts, title, price, country
        ("C1", "A", 1, "", 2.0, ""),  # A's first line has no title: not counted
        ("C1", "B", 2, "blue mug", 5.0, "UK"),
        ("C2", "A", 3, "red tea set", 4.0, "FR"),
        ("C2", "C", 4, "green kettle", 1.0, "FR"),
        ("C3", "A", 5, "other words", 9.0, "DE"),  # A's median price: 4 of 2, 4, 9; title: the later of two
        ("C3", "B", 6, "blue mug", 7.0, "DE"),  # B's: 6, between 5 and 7
        ("", "D", 7, "grey jug", 3.0, ""),  # no customer: D is a product nobody is known to buy
    ]
    events = tmp_path / "events.csv"
    with open(events, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer", "sku", "ts", "title", "price", "country"])
        w.writerows(rows)
    products, customers = tmp_path / "products.csv", tmp_path / "customers.csv"
    with open(products, "w", newline="") as f:
        csv.writer(f).writerows(
            [["sku", "title", "price"], ["A", "other words", 4.0], ["B", "blue mug", 6.0], ["C", "green kettle", 1.0]]
            + [["D", "grey jug", 3.0]]
        )
    with open(customers, "w", newline="") as f:
        csv.writer(f).writerows([["customer", "country"], ["C1", "UK"], ["C2", "FR"], ["C3", "DE"]])
    common = ["train", "--data", str(events), "--user-col", "customer", "--item-col", "sku", "--time-col", "ts"]
    common += ["--model", "itemknn", "--item-key", "sku", "--item-text", "title", "--item-numeric", "price"]
    common += ["--user-key", "customer", "--user-categorical", "country", "--quiet"]
    models = []
    for item_table, user_table in ((events, events), (products, customers)):
        out = tmp_path / f"model{len(models)}.npz"
        assert (
            main([*common, "--item-features", str(item_table), "--user-features", str(user_table), "--out", str(out)])
            == 0
        )
        models.append(rf.load(str(out)))
    err = capsys.readouterr().err
    assert "--item-features: 7 rows for 4 products: each takes its most given value" in err, err
    assert "--user-features: 6 rows for 3 customers" in err, err
    from_log, by_hand = models
    assert from_log.item_ids_.tolist() == by_hand.item_ids_.tolist() == ["A", "B", "C", "D"]
    for side in ("item_features_", "user_features_"):
        assert (getattr(from_log, side) != getattr(by_hand, side)).nnz == 0, side


def test_tables_keyed_as_the_events_need_no_key_option(tmp_path, shop, capsys):
    """A product or customer table whose id column has the events' name (sku beside --item-col
    sku, movieId beside movieId) was refused without --item-key / --product-col / --user-key
    ("has no column 'item'"); it is read by that name now, a table keyed "item" / "user" as
    before, and one keyed neither way is refused naming both and the option."""
    events, products, customers = shop
    keyed = train(tmp_path, events, products, customers)
    by_name = tmp_path / "by_name.npz"
    args = ["train", "--data", str(events), *DATA_ARGS, "--model", "als", "--param", "factors=8"]
    args += ["--item-features", str(products), "--item-text", "title", "--item-categorical", "kind"]
    args += ["--item-numeric", "price", "--user-features", str(customers), "--user-categorical", "country"]
    assert main([*args, "--out", str(by_name), "--quiet"]) == 0
    a, b = rf.load(str(keyed)), rf.load(str(by_name))
    assert a.item_ids_.tolist() == b.item_ids_.tolist() and "SKU-NEW1" in b.item_ids_.tolist()
    assert (a.item_features_ != b.item_features_).nnz == 0 and (a.user_features_ != b.user_features_).nnz == 0

    table = tmp_path / "who.csv"
    table.write_text("customer,country\nNEW-B,FR\n")
    out = tmp_path / "recs.csv"
    recommend = ["recommend", "--model", str(by_name), "--data", str(events), "--out", str(out)]
    assert main([*recommend, "--customers", str(table), "--products", str(products), "--description-col", "title"]) == 0
    rows = read_csv(out)
    assert {r["customer"] for r in rows} >= {"NEW-B", "C0001"} and all(r["description"] for r in rows)
    capsys.readouterr()
    assert main(["similar", "--model", str(by_name), "--items", "SKU-1", "--products", str(products)]) == 2
    assert "column 'description'" in capsys.readouterr().err  # the key was found: the column asked for is not
    assert main(["similar", "--model", str(by_name), "--items", "SKU-1", "--k", "2", "--products", str(products),
                 "--description-col", "title"]) == 0  # fmt: skip
    assert capsys.readouterr().out.startswith("SKU-1\tblue tea set\t1\t")  # SKU-1 and its title

    legacy = tmp_path / "legacy.csv"
    legacy.write_text(products.read_text().replace("sku,", "item,", 1))
    assert main(["similar", "--model", str(by_name), "--items", "SKU-1", "--products", str(legacy),
                 "--description-col", "title"]) == 0  # fmt: skip
    other = tmp_path / "other.csv"
    other.write_text(products.read_text().replace("sku,", "code,", 1))
    capsys.readouterr()
    assert main([*recommend, "--products", str(other), "--description-col", "title"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has no column 'sku' or 'item' for its ids" in err[0] and "--product-col" in err[0]


def test_a_feature_table_keyed_otherwise_is_refused_and_gaps_are_counted(tmp_path, shop, capsys):
    """A product table whose ids matched none of the events' ("sku-1" beside "SKU-1") trained
    every known product without features and called the table's rows new products ("42 new
    products"), exit 0. Refused now; a table that lacks some products or customers is counted."""
    events, products, customers = shop
    lower = tmp_path / "lower.csv"
    lower.write_text(products.read_text().replace("SKU-", "sku-"))
    argv = ["train", "--data", str(events), *DATA_ARGS, "--model", "itemknn", "--out", str(tmp_path / "m.npz")]
    assert main([*argv, "--item-features", str(lower), "--item-text", "title"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--item-features: none of the data's 40 products is in its column 'sku'" in err[0]
    assert not (tmp_path / "m.npz").exists()
    some = tmp_path / "some.csv"
    some.write_text("customer,country\nC0001,UK\nC0002,FR\n")
    assert main([*argv, "--user-features", str(some), "--user-categorical", "country", "--quiet"]) == 0
    assert "--user-features: 98 of 100 customers of the data have no row there" in capsys.readouterr().err


@pytest.mark.parametrize("seed", range(5))
def test_most_given_value_per_id_against_plain_python(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 60))
    ids = np.array([None if rng.random() < 0.1 else f"p{i}" for i in rng.integers(0, 8, n)], dtype=object)
    values = np.array([rng.choice([None, "", "a", "b", "c", "d"]) for _ in range(n)], dtype=object)
    distinct, best = rf._factorize.most_given(ids, values)
    want = {}
    for i in dict.fromkeys(v for v in ids.tolist() if v is not None):
        given = [(k, v) for k, (j, v) in enumerate(zip(ids.tolist(), values.tolist())) if j == i and v]
        counts = {v: sum(1 for _, w in given if w == v) for _, v in given}
        top = max(counts.values(), default=0)
        want[i] = max((k, v) for k, v in given if counts[v] == top)[1] if given else None  # latest of the most given
    assert distinct.tolist() == list(want) and best.tolist() == list(want.values())


def test_an_event_log_as_product_table_names_each_product_by_its_most_given_description(tmp_path, capsys):
    """Online Retail's first line of three of its 100 best sellers reads "mailout" (a warehouse
    note, not the product's name): --products pointed at the events took each product's first
    given description, and the campaign's lists and messages printed "mailout"."""
    rows = [("C1", "23203", "mailout"), ("C1", "22423", "REGENCY CAKESTAND 3 TIER")]
    rows += [(f"C{c}", "23203", "JUMBO BAG DOILEY PATTERNS ") for c in range(2, 6)]
    rows += [(f"C{c}", "22423", "REGENCY CAKESTAND 3 TIER") for c in range(3, 7)]
    events = tmp_path / "events.csv"
    with open(events, "w", newline="") as f:
        csv.writer(f).writerows([["customer", "sku", "Description"], *rows])
    model = str(tmp_path / "m.npz")
    base = ["--user-col", "customer", "--item-col", "sku"]
    assert main(["train", "--data", str(events), *base, "--model", "itemknn", "--out", model, "--quiet"]) == 0
    capsys.readouterr()
    argv = ["similar", "--model", model, "--items", "22423", "--products", str(events)]
    assert main([*argv, "--description-col", "Description"]) == 0
    out = capsys.readouterr().out
    assert "JUMBO BAG DOILEY PATTERNS" in out and "mailout" not in out, out

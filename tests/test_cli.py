"""The recforge command end to end: demo, train -> recommend / similar, evaluate, help, errors."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from importlib.metadata import entry_points

import numpy as np
import pytest
import recforge as rf
from recforge.cli import main


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def events_csv(tmp_path, rng):
    """A small event log with string ids, event types and times."""
    n = 4000
    users = rng.integers(0, 150, n)
    items = rng.zipf(1.6, n) % 60
    kinds = rng.choice(["view", "cart", "purchase", "wishlist"], n, p=[0.6, 0.2, 0.15, 0.05])
    path = tmp_path / "events.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer", "sku", "event", "ts"])
        for u, i, k, t in zip(users, items, kinds, rng.integers(1.6e9, 1.7e9, n)):
            w.writerow([f"C{u:04d}", f"SKU-{i}", k, int(t)])
    return path


DATA_ARGS = [
    "--user-col",
    "customer",
    "--item-col",
    "sku",
    "--event-col",
    "event",
    "--event-weights",
    "view=1,cart=3,purchase=5",
    "--time-col",
    "ts",
]


def test_demo_writes_the_campaign_list(tmp_path, capsys):
    out = tmp_path / "campaign.csv"
    assert main(["demo", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "popularity" in printed and "itemknn" in printed and "\nals " in printed and "campaign list" in printed
    assert "best by NDCG@10 on returning customers: ease" in printed
    assert "customers by RFM segment: " in printed and "the top 10% of customers buy" in printed
    assert "new customers (no history" in printed and "answered by: model 2,169" in printed
    rows = read_csv(out)
    # the first customer's top three, as written to the file (their printing once went missing)
    for r in rows[:3]:
        assert f"  customer {r['customer_id']}  #{r['rank']}  {r['stock_code']:<7} {r['description']}" in printed
    assert list(rows[0]) == ["customer_id", "rank", "stock_code", "description", "score", "because_you_bought"]
    data = rf.datasets.sample()
    inter = data.interactions
    assert len({r["customer_id"] for r in rows}) == inter.n_users
    bought = {
        (inter.user_ids[u], inter.item_ids[j])
        for u in range(inter.n_users)
        for j in inter.matrix.indices[inter.matrix.indptr[u] : inter.matrix.indptr[u + 1]]
    }
    assert not any((r["customer_id"], r["stock_code"]) in bought for r in rows)
    # postage and fees are not offered: 25 lists held POSTAGE, Manual, CARRIAGE...
    services = np.flatnonzero(data.items["service"])
    assert not {r["stock_code"] for r in rows} & set(inter.item_ids[services].tolist())
    # nor named as a reason ("you bought POSTAGE")
    assert not {r["because_you_bought"] for r in rows} & set(data.describe_items(services).astype(str).tolist())
    first = [r for r in rows if r["customer_id"] == rows[0]["customer_id"]]
    assert [int(r["rank"]) for r in first] == list(range(1, 11))
    assert all(r["description"] for r in rows)
    # re-ranked for diversity: lists of distinct products, most of them with a reason
    assert len({(r["customer_id"], r["stock_code"]) for r in rows}) == len(rows)
    assert sum(bool(r["because_you_bought"]) for r in rows) > 0.5 * len(rows)


def test_recommend_on_the_sample_leaves_out_its_postage_and_fees(tmp_path, capsys):
    """demo and campaign left the shipped shop's postage and fees out; recommend offered POST
    and PADS (5 of 21,690 rows with ItemKNN)."""
    model, out = str(tmp_path / "m.npz"), str(tmp_path / "r.csv")
    assert main(["train", "--data", "sample", "--model", "itemknn", "--out", model, "--quiet"]) == 0
    assert main(["recommend", "--model", model, "--data", "sample", "--out", out, "--quiet"]) == 0
    assert "the sample's postage and fees left out" in capsys.readouterr().out
    data = rf.datasets.sample()
    rows = read_csv(out)
    assert len(rows) == 10 * data.interactions.n_users  # full lists all the same
    assert not {r["item"] for r in rows} & set(data.interactions.item_ids[data.items["service"]].tolist())


def test_train_a_factor_model_with_string_and_number_parameters(tmp_path, events_csv, capsys):
    path = tmp_path / "als.npz"
    assert (
        main(
            [
                "train",
                "--data",
                str(events_csv),
                *DATA_ARGS,
                "--model",
                "als",
                "--param",
                "factors=8",
                "--param",
                "solver=cholesky",
                "--param",
                "random_state=3",
                "--out",
                str(path),
            ]
        )
        == 0
    )
    saved = rf.load(path)
    assert isinstance(saved, rf.ColdStart)  # the model with its fallbacks, by default
    model = saved.model_
    assert isinstance(model, rf.ALS) and model.solver == "cholesky" and model.random_state == 3
    assert model.user_factors_.shape[1] == 8


def test_seeded_commands_give_the_same_models_run_after_run(tmp_path, capsys):
    """train, evaluate and campaign left ALS's random_state at None: every run drew another
    start (evaluate --seed 3 read NDCG@10 0.2096, then 0.2126; campaign lists changed). --seed
    (default 0) seeds the models where --param does not."""
    import pandas as pd

    def factors(*extra):
        path = tmp_path / "m.npz"
        argv = ["train", "--data", "sample", "--model", "als", "--param", "iterations=2", "--quiet"]
        assert main([*argv, "--out", str(path), *extra]) == 0
        return rf.load(str(path)).model.item_factors_.copy()

    first = factors()
    assert np.array_equal(first, factors()) and np.array_equal(first, factors("--seed", "0"))
    assert not np.array_equal(first, factors("--seed", "1"))
    assert np.array_equal(factors("--param", "random_state=7"), factors("--param", "random_state=7", "--seed", "1"))

    def evaluated(seed):
        path = tmp_path / f"e{seed}.json"
        argv = ["evaluate", "--data", "sample", "--models", "popularity,als,biasedmf", "--seed", seed, "--quiet"]
        assert main([*argv, "--out", str(path)]) == 0
        return path.read_text()

    assert evaluated("3") == evaluated("3")

    def campaign():
        path = tmp_path / "c.csv"
        assert (
            main(["campaign", "--data", "sample", "--fit", "als", "--candidates", "30", "--quiet", "--out", str(path)])
            == 0
        )
        return pd.read_csv(path)

    pd.testing.assert_frame_equal(campaign(), campaign())
    capsys.readouterr()
    # a negative seed was refused by the model, as "--param: random_state must be >= 0"
    for argv in (["train", "--data", "sample", "--model", "als", "--out", str(tmp_path / "x.npz")],
                 ["campaign", "--data", "sample", "--out", str(tmp_path / "x.csv")]):  # fmt: skip
        assert main([*argv, "--seed", "-1"]) == 2
        assert capsys.readouterr().err == f"recforge {argv[0]}: error: --seed must be >= 0\n"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_standard_input_and_pipes_are_refused_with_the_way_out(tmp_path, events_csv, capsys):
    """zcat log.gz | recforge customers --data /dev/stdin: the header was read, then the lines
    were gone, and pandas said "No columns to parse from file". A rules file, read in one go,
    may come from a pipe."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    argv = ["customers", "--user-col", "customer", "--time-col", "ts", "--out", str(tmp_path / "c.csv")]
    for data, said in (("-", "--data -: recforge reads files, not standard input"), (str(fifo), "is a pipe")):
        assert main([*argv, "--data", data]) == 2
        err = capsys.readouterr().err
        assert said in err and "write it to a file first" in err and err.count("\n") == 1
    rules = tmp_path / "rules.fifo"
    os.mkfifo(rules)
    writer = subprocess.Popen(["sh", "-c", f'echo \'{{"deny": ["SKU-1"]}}\' > {rules}'])
    argv = ["campaign", "--data", str(events_csv), "--user-col", "customer", "--item-col", "sku", "--quiet"]
    assert main([*argv, "--fit", "itemknn", "--rules", str(rules), "--out", str(tmp_path / "c.csv")]) == 0
    writer.wait()


def test_trending_is_called_time_decayed_only_where_the_events_have_times(tmp_path, events_csv, capsys):
    argv = ["train", "--data", str(events_csv), "--user-col", "customer", "--item-col", "sku", "--model", "itemknn"]
    assert main([*argv, "--out", str(tmp_path / "m.npz")]) == 0
    assert "fallbacks: popular, history" in capsys.readouterr().out


def test_train_recommend_similar(tmp_path, events_csv, capsys):
    model_path = tmp_path / "model.npz"
    assert (
        main(
            [
                "train",
                "--data",
                str(events_csv),
                *DATA_ARGS,
                "--model",
                "itemknn",
                "--param",
                "neighbours=20",
                "--out",
                str(model_path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "unknown_event" in out  # wishlist rows were dropped and said so
    assert "fallbacks: popular (time-decayed), history" in out
    model = rf.load(model_path).model_
    assert model.get_params()["neighbours"] == 20
    out = tmp_path / "recs.csv"
    assert (
        main(
            [
                "recommend",
                "--model",
                str(model_path),
                "--data",
                str(events_csv),
                "--k",
                "5",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    rows = read_csv(out)
    capsys.readouterr()
    # Same answer as the Python API on the same events.
    inter = rf.Interactions.from_csv(
        events_csv,
        "customer",
        "sku",
        time_col="ts",
        event_col="event",
        event_weights={"view": 1, "cart": 3, "purchase": 5},
    )
    users = np.arange(inter.n_users)
    ids, _ = model.recommend(users, inter.matrix, k=5)
    expected = {
        (inter.user_ids[u], int(r) + 1, inter.item_ids[ids[u, r]]) for u in users for r in range(5) if ids[u, r] >= 0
    }
    assert {(r["user"], int(r["rank"]), r["item"]) for r in rows} == expected
    # an export without the time column is scored the same (the lists need no times; it was
    # refused in memory and read out of core)
    untimed = tmp_path / "untimed.csv"
    with open(events_csv, newline="") as f, open(untimed, "w", newline="") as g:
        csv.writer(g).writerows(row[:3] for row in csv.reader(f))
    again = tmp_path / "recs_untimed.csv"
    argv = ["recommend", "--model", str(model_path), "--data", str(untimed), "--k", "5", "--quiet"]
    assert main([*argv, "--out", str(again)]) == 0
    assert read_csv(again) == rows
    capsys.readouterr()
    assert main(["similar", "--model", str(model_path), "--items", "SKU-1", "SKU-2", "--k", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 6 and lines[0].startswith("SKU-1\t1\t")
    s_ids, _ = model.similar_items(inter.item_index(["SKU-1"]), k=3)
    assert lines[0].split("\t")[2] == inter.item_ids[s_ids[0, 0]]
    # a k above the catalogue lists the model's answer, ranked 1, 2, ... (it used to fail)
    assert main(["similar", "--model", str(model_path), "--items", "SKU-1", "--k", "100000"]) == 0
    lines = [line.split("\t") for line in capsys.readouterr().out.strip().splitlines()]
    s_ids, _ = model.similar_items(inter.item_index(["SKU-1"]), k=100000)
    assert 1 < len(lines) < inter.n_items and [int(r[1]) for r in lines] == list(range(1, len(lines) + 1))
    assert [r[2] for r in lines] == inter.item_ids[s_ids[0][s_ids[0] >= 0]].tolist()
    # --all: every product's, as --items naming each of them in the model's order
    base = ["similar", "--model", str(model_path), "--k", "4"]
    assert main([*base, "--all", "--out", str(tmp_path / "all.csv")]) == 0
    assert main([*base, "--items", *inter.item_ids.tolist(), "--out", str(tmp_path / "each.csv")]) == 0
    everything = read_csv(tmp_path / "all.csv")
    assert everything == read_csv(tmp_path / "each.csv") and {r["item"] for r in everything} == set(inter.item_ids)
    with pytest.raises(SystemExit) as stop:  # one of --items, --text, --all
        main([*base, "--all", "--items", "SKU-1"])
    assert stop.value.code == 2


def test_recommend_to_parquet(tmp_path, events_csv):
    pytest.importorskip("pyarrow")
    import pandas as pd

    model_path = tmp_path / "pop.npz"
    assert (
        main(["train", "--data", str(events_csv), *DATA_ARGS, "--model", "popularity", "--out", str(model_path)]) == 0
    )
    assert (
        main(
            [
                "recommend",
                "--model",
                str(model_path),
                "--data",
                str(events_csv),
                "--out",
                str(tmp_path / "r.parquet"),
                "--quiet",
            ]
        )
        == 0
    )
    df = pd.read_parquet(tmp_path / "r.parquet")
    assert list(df.columns) == ["user", "rank", "item", "score", "path"] and len(df) > 0


@pytest.mark.parametrize("split", ["temporal", "per-user", "leave-one-out", "random"])
def test_evaluate(tmp_path, events_csv, capsys, split):
    out = tmp_path / "res.json"
    assert (
        main(
            [
                "evaluate",
                "--data",
                str(events_csv),
                *DATA_ARGS,
                "--models",
                "popularity,itemknn,userknn",
                "--split",
                split,
                "--out",
                str(out),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "| userknn |" in printed and "paired t-test" in printed
    import json

    result = json.loads(out.read_text())
    assert set(result["metrics"]) == {"popularity", "itemknn", "userknn"} and result["n_users"] > 0


def test_evaluate_writes_json_that_every_parser_reads(tmp_path, capsys):
    """An interval over one customer has no width: Python's json wrote NaN, which JSON has not
    (JavaScript's JSON.parse, Go and serde refuse the file). Such numbers are null."""
    path = tmp_path / "tiny.csv"
    path.write_text("user,item,time\na,x,1\na,y,2\na,z,3\nb,x,1\nb,y,2\nb,w,3\nc,x,4\n")
    out = tmp_path / "results.json"
    argv = ["evaluate", "--data", str(path), "--time-col", "time", "--split", "temporal", "--cutoff", "4"]
    assert main([*argv, "--models", "popularity,itemknn", "--out", str(out), "--quiet"]) == 0

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    results = json.loads(out.read_text(), parse_constant=refuse)
    assert results["metrics"]["popularity"]["precision"][1:] == [None, None]  # one customer: no interval
    capsys.readouterr()


def test_evaluate_tunes_a_rating_model_for_its_rating_error(tmp_path, capsys):
    """--tune chose BiasedMF's parameters by NDCG@10, a ranking it is not fitted for; on ratings
    (--weight-col) it is tuned for RMSE, and its RMSE is in the table whether it is wrapped in
    ColdStart (biasedmf) or alone (knnregressor)."""
    rng = np.random.default_rng(2)
    n = 3000
    log = "\n".join(f"u{u},i{i},{r}" for u, i, r in zip(rng.integers(0, 120, n), rng.integers(0, 60, n),
                                                        rng.integers(1, 6, n)))  # fmt: skip
    (tmp_path / "ratings.csv").write_text("user,item,rating\n" + log + "\n")
    out = tmp_path / "results.json"
    argv = ["evaluate", "--data", str(tmp_path / "ratings.csv"), "--weight-col", "rating", "--aggregate", "last"]
    argv += ["--models", "biasedmf,knnregressor", "--tune", "--trials", "2", "--quiet", "--out", str(out)]
    assert main(argv) == 0
    said = capsys.readouterr().out
    assert "biasedmf: " in said and "(rmse " in said and "(ndcg@" not in said
    results = json.loads(out.read_text())
    assert set(results["ratings"]) == {"biasedmf", "knnregressor"}
    assert "validation_rmse" in results["tuned"]["biasedmf"]


def test_evaluate_tunes_on_the_training_part(tmp_path, events_csv, capsys, monkeypatch):
    import json

    from recforge.cli import commands

    seen = []
    real_tune = commands.tune

    def spy(model_class, space, train, **kwargs):
        seen.append(train)
        return real_tune(model_class, space, train, **kwargs)

    monkeypatch.setattr(commands, "tune", spy)
    out = tmp_path / "res.json"
    argv = ["evaluate", "--data", str(events_csv), *DATA_ARGS, "--models", "popularity,ease", "--tune"]
    assert main([*argv, "--trials", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "ease: regularization=" in printed and "3 trials" in printed
    assert "dropped rows: " in printed
    tuned = json.loads(out.read_text())["tuned"]
    assert set(tuned) == {"ease"}  # popularity has nothing to tune
    assert tuned["ease"]["params"]["regularization"] in rf.evaluation.SPACES["EASE"]["regularization"]
    # tune saw the training part only: fewer pairs than the whole event file
    everything = rf.Interactions.from_csv(str(events_csv), user_col="customer", item_col="sku")
    assert len(seen) == 1 and 0 < seen[0].nnz < everything.nnz
    assert main([*argv, "--trials", "0"]) == 2
    assert "--trials must be >= 1" in capsys.readouterr().err
    # a best value at the edge of the space searched is said under the model
    monkeypatch.setitem(rf.evaluation.SPACES, "EASE", {"regularization": [1.0, 2.0, 3.0]})  # optimum far above
    monkeypatch.setattr(commands, "tune", real_tune)
    assert main([*argv, "--trials", "3"]) == 0
    printed = capsys.readouterr().out
    assert "  regularization: the best value (3.0) is the largest tried; the optimum may lie beyond" in printed


@pytest.mark.parametrize(
    "command",
    ["demo", "train", "recommend", "evaluate", "similar", "customers", "clv", "target", "campaign", "lift", "serve"],
)
def test_help(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "usage: recforge " + command in out
    assert "%%" not in out and "%(" not in out  # argparse %-formats option help, not descriptions


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--data", "absent.csv", "--model", "itemknn", "--out", "m.npz"], "no such file"),
        (
            ["train", "--data", "s3://shop/events.parquet", "--model", "itemknn", "--out", "m.npz"],
            "no such file 's3://shop/events.parquet'; copy it here first",
        ),
        (
            ["train", "--data", "{events}", "--user-col", "shopper", "--model", "itemknn", "--out", "m.npz"],
            "no column 'shopper'",
        ),
        (
            ["train", "--data", "{events}", *DATA_ARGS, "--model", "deepnet", "--out", "m.npz"],
            "--model: unknown model 'deepnet'",
        ),
        (
            ["evaluate", "--data", "{events}", *DATA_ARGS, "--models", "ease,deepnet"],
            "--models: unknown model 'deepnet'",
        ),
        (
            [
                "train",
                "--data",
                "{events}",
                *DATA_ARGS,
                "--model",
                "itemknn",
                "--param",
                "neighbours=-1",
                "--out",
                "m.npz",
            ],
            "neighbours must be",
        ),
        (
            [
                "train",
                "--data",
                "{events}",
                *DATA_ARGS[:4],
                "--event-col",
                "event",
                "--event-weights",
                "view",
                "--model",
                "itemknn",
                "--out",
                "m.npz",
            ],
            "TYPE=NUMBER",
        ),
        (["recommend", "--model", "{events}", "--data", "{events}", "--out", "r.csv"], "not a recforge model file"),
        (["similar", "--model", "absent.npz", "--items", "SKU-1"], "--model: no such file 'absent.npz'; write one"),
        (["similar", "--model", ".", "--items", "SKU-1"], "--model: '.' is a folder, not a model file"),
        (["evaluate", "--data", "{events}", *DATA_ARGS, "--models", "ease,itemknn,ease"], "ease listed more than once"),
        (  # the model's own size check raises MemoryError: it gave a traceback
            [
                "train",
                "--data",
                "{events}",
                *DATA_ARGS,
                "--model",
                "ease",
                "--param",
                "max_memory=1e-9",
                "--out",
                "m.npz",
                "--quiet",
            ],
            "MemoryError: EASE over",
        ),
        (
            ["evaluate", "--data", "{events}", "--user-col", "customer", "--item-col", "sku", "--split", "temporal"],
            "needs event times",
        ),
        # an empty list: recommend wrote a file of headers, similar printed nothing, both succeeded
        (["recommend", "--model", "m.npz", "--data", "{events}", "--out", "r.csv", "--k", "0"], "--k must be >= 1"),
        (["similar", "--model", "m.npz", "--items", "SKU-1", "--k", "0"], "--k must be >= 1"),
        (["evaluate", "--data", "{events}", *DATA_ARGS, "--k", "-1"], "--k must be >= 1"),
        # the library said "event_weights must be a non-empty dict ...", naming no option
        (
            ["train", "--data", "{events}", "--event-col", "event", "--model", "itemknn", "--out", "m.npz"],
            "--event-col needs --event-weights",
        ),
        (["evaluate", "--data", "{events}", "--event-weights", "view=1"], "--event-weights needs --event-col"),
        # a header read as data: a customer "customer" who bought "sku"
        (
            [
                "train",
                "--data",
                "{events}",
                "--names",
                "customer,sku,event,ts",
                *DATA_ARGS[:4],
                "--model",
                "popularity",
                "--out",
                "m.npz",
            ],
            "--names: the first line of",
        ),
    ],
)
def test_errors_are_one_line(argv, message, events_csv, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = [a.replace("{events}", str(events_csv)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize("command", ["train", "recommend", "customers", "campaign"])
def test_an_output_over_an_input_is_refused_and_the_input_kept(command, tmp_path, events_csv, capsys):
    """recforge recommend --data events.csv --out events.csv replaced the event log with the lists
    (written atomically, over whatever was there): one typo and the input was gone."""
    events = tmp_path / "events.csv"
    events.write_bytes(events_csv.read_bytes())
    model = tmp_path / "m.npz"
    assert main(["train", "--data", str(events), *DATA_ARGS, "--model", "itemknn", "--out", str(model)]) == 0
    argv = {
        "train": ["train", "--data", str(events), *DATA_ARGS, "--model", "itemknn", "--out", str(events)],
        "recommend": ["recommend", "--model", str(model), "--data", str(events), "--out", str(events)],
        "customers": ["customers", "--data", str(events), "--user-col", "customer", "--out", str(events)],
        "campaign": [
            "campaign",
            "--data",
            str(events),
            *DATA_ARGS,
            "--out",
            str(tmp_path / "c.csv"),
            "--messages",
            str(events),
        ],
    }[command]
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "is the --data file: it would be replaced" in err and err.count("\n") == 1
    assert events.read_bytes() == events_csv.read_bytes()
    model_out = ["recommend", "--model", str(model), "--data", str(events), "--out", str(model)]
    assert main(model_out) == 2 and "is the --model file" in capsys.readouterr().err


def test_similar_unknown_item(tmp_path, events_csv, capsys):
    main(["train", "--data", str(events_csv), *DATA_ARGS, "--model", "itemknn", "--out", str(tmp_path / "m.npz")])
    assert main(["similar", "--model", str(tmp_path / "m.npz"), "--items", "SKU-404"]) == 2
    assert "unknown item id: 'SKU-404'" in capsys.readouterr().err
    assert main(["similar", "--model", str(tmp_path / "m.npz"), "--items", "SKU-1,SKU-2"]) == 2
    assert "separate ids by spaces" in capsys.readouterr().err


def test_similar_says_which_products_have_no_similar_one(tmp_path, capsys):
    """A product bought by nobody who bought another has no neighbour: its empty answer was
    no line at all, exit 0, without a word."""
    events = tmp_path / "e.csv"
    events.write_text("customer,sku\na,x\na,y\nb,x\nb,y\nc,lonely\n")
    model = str(tmp_path / "m.npz")
    columns = ["--user-col", "customer", "--item-col", "sku"]
    fit = ["--model", "itemknn", "--param", "metric=cosine", "--out", model, "--quiet"]
    assert main(["train", "--data", str(events), *columns, *fit]) == 0
    capsys.readouterr()
    assert main(["similar", "--model", model, "--items", "x", "lonely"]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("x\t1\ty\t") and "lonely" not in out.out
    assert "1 of 2 products have no similar product in the model (e.g. ['lonely'])" in out.err


def test_similar_with_a_popularity_model_says_these_are_best_sellers(tmp_path, capsys):
    """Popularity has no notion of similarity: its "similar products" are the best sellers, one
    list for every product, printed as if they were similar ones."""
    events = tmp_path / "e.csv"
    events.write_text("customer,sku\na,x\na,y\nb,x\nb,z\nc,z\n")
    columns = ["--data", str(events), "--user-col", "customer", "--item-col", "sku", "--quiet"]
    for name, said in (("popularity", True), ("itemknn", False)):
        model = str(tmp_path / f"{name}.npz")
        assert main(["train", *columns, "--model", name, "--out", model]) == 0
        capsys.readouterr()
        assert main(["similar", "--model", model, "--items", "y"]) == 0
        err = capsys.readouterr().err
        assert ("which has no notion of similarity: these are the best sellers" in err) == said, err


def test_console_entry_point():
    names = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert names.get("recforge") == "recforge.cli:main"
    done = subprocess.run([sys.executable, "-m", "recforge", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("recforge ")


def test_customers_segments_with_lines_without_a_customer(tmp_path, capsys):
    """A transaction log where some lines name no customer (Online Retail: a quarter of them):
    the segment profile matched lines to customers by a sorted search that compared None with
    text, and the command died with "'<' not supported between 'str' and 'NoneType'"."""
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 600
    customer = rng.choice([f"c{i}" for i in range(40)], n).astype(object)
    customer[rng.random(n) < 0.25] = None
    log = pd.DataFrame(
        {
            "customer": customer,
            "date": pd.Timestamp("2011-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D"),
            "amount": rng.gamma(2.0, 10.0, n).round(2),
            "sku": rng.choice([f"p{i}" for i in range(30)], n),
        }
    )
    data = tmp_path / "orders.csv"
    log.to_csv(data, index=False)
    out = tmp_path / "customers.csv"
    argv = ["customers", "--data", str(data), "--user-col", "customer", "--time-col", "date"]
    argv += ["--amount-col", "amount", "--item-col", "sku", "--segments", "2", "--min-size", "1", "--out", str(out)]
    assert main(argv) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "2 segments" in printed and "| segment |" in printed
    table = pd.read_csv(out)
    assert sorted(table["customer"]) == sorted(set(customer[customer != None]))  # noqa: E711


def test_customers_segments_with_lines_without_a_product(tmp_path, capsys):
    """Lines naming a customer but no product count for RFM and are left out of the segments'
    products, and said so; the profile sorted the products with numpy, which cannot order a
    missing id among text, and the command died with "boolean value of NA is ambiguous"."""
    import pandas as pd

    rng = np.random.default_rng(1)
    n = 800
    sku = rng.choice([f"p{i}" for i in range(12)], n).astype(object)
    unnamed = rng.random(n) < 0.2
    log = pd.DataFrame(
        {
            "customer": rng.choice([f"c{i}" for i in range(60)], n),
            "date": pd.Timestamp("2011-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D"),
            "amount": rng.gamma(2.0, 10.0, n).round(2),
            "sku": np.where(unnamed, None, sku),
        }
    )
    argv = ["customers", "--user-col", "customer", "--time-col", "date", "--amount-col", "amount"]
    argv += ["--item-col", "sku", "--segments", "3", "--min-size", "1"]
    log.to_csv(tmp_path / "orders.csv", index=False)
    assert main([*argv, "--data", str(tmp_path / "orders.csv")]) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert f"{unnamed.sum():,} lines without a product: left out of the segments' products\n" in printed
    # The same as naming those lines' products by ids each bought once: too few buyers for a lift.
    log["sku"] = np.where(unnamed, [f"zz{i}" for i in range(n)], sku)
    log.to_csv(tmp_path / "named.csv", index=False)
    assert main([*argv, "--data", str(tmp_path / "named.csv")]) == 0
    expected = capsys.readouterr().out
    assert "| segment |" in expected and "p" in expected.split("| segment |")[1]
    assert (
        printed.replace(f"{unnamed.sum():,} lines without a product: left out of the segments' products\n", "")
        == expected
    )


def test_customers_name_the_segments_top_products_by_description(tmp_path, capsys):
    """The segments' top products were ids only ("75172 (1.7)") though Online Retail's events
    carry a Description: --products names them (the events file itself serves), and without
    it a hint points the column out."""
    import pandas as pd

    rng = np.random.default_rng(5)
    n = 900
    sku = rng.choice([f"p{i}" for i in range(12)], n)
    log = pd.DataFrame(
        {
            "customer": rng.choice([f"c{i}" for i in range(60)], n),
            "date": pd.Timestamp("2011-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D"),
            "amount": rng.gamma(2.0, 10.0, n).round(2),
            "sku": sku,
            "Description": [f"Product {s[1:]} mug" for s in sku],
        }
    )
    log.to_csv(tmp_path / "orders.csv", index=False)
    argv = ["customers", "--data", str(tmp_path / "orders.csv"), "--user-col", "customer", "--time-col", "date"]
    argv += ["--amount-col", "amount", "--item-col", "sku", "--segments", "3", "--min-size", "1"]
    assert main(argv) == 0
    by_id = capsys.readouterr()
    assert "column Description looks like product descriptions" in by_id.err and "(" in by_id.out
    named = ["--products", str(tmp_path / "orders.csv"), "--product-col", "sku", "--description-col", "Description"]
    assert main([*argv, *named]) == 0
    by_name = capsys.readouterr()
    assert "looks like product descriptions" not in by_name.err
    ids = by_id.out.split("| segment |")[1]
    # the same table, each id replaced by its description
    assert by_name.out.split("| segment |")[1] == re.sub(r"\bp(\d+) \(", r"Product \1 mug (", ids)
    assert main([*argv[:-6], *named]) == 2  # without --segments nothing would show them
    assert "--products needs --segments and --item-col" in capsys.readouterr().err


def test_customers_and_clv_on_the_sample(tmp_path, capsys):
    import pandas as pd

    out = tmp_path / "customers.csv"
    assert main(["customers", "--data", "sample", "--segments", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "RFM segments: " in printed and "3 segments" in printed and "| segment |" in printed
    # the lines it leaves out of the shipped events are said (its purchase lines only)
    events = rf.datasets.sample().events
    left_out = len(events["InvoiceNo"]) - len(rf.datasets.sample().interactions.events)
    assert f"purchase lines ({left_out:,} cancellations, returns" in printed and left_out > 0
    table = pd.read_csv(out)
    assert list(table.columns) == [
        "customer",
        "transactions",
        "days_since_last",
        "total_value",
        "R",
        "F",
        "M",
        "rfm_segment",
        "segment",
    ]
    assert table["customer"].is_unique and set(table["segment"]) == {0, 1, 2}
    assert set(table["rfm_segment"]) <= {name for name, _, _ in rf.customers.SEGMENTS}
    out = tmp_path / "clv.parquet"
    chart = tmp_path / "alive.png"
    assert main(["clv", "--data", "sample", "--months", "6", "--out", str(out), "--chart", str(chart)]) == 0
    assert chart.read_bytes()[:4] == b"\x89PNG"
    values = pd.read_parquet(out)
    assert len(values) == len(table) and values["p_alive"].between(0, 1).all() and (values["clv"] >= 0).all()


def test_a_text_weight_column_in_parquet_is_named(tmp_path, capsys):
    """A CSV's text --weight-col was refused naming the column and line; a Parquet file's went
    to numpy and said "could not convert string to float"."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"user": ["a", "b"], "item": ["x", "y"], "note": ["two", "one"]})
    frame.to_parquet(tmp_path / "events.parquet", index=False)
    argv = ["train", "--data", str(tmp_path / "events.parquet"), "--weight-col", "note", "--model", "popularity"]
    assert main([*argv, "--out", str(tmp_path / "m.npz")]) == 2
    err = capsys.readouterr().err
    assert "--weight-col must hold numbers: position 0 holds 'two'" in err and err.count("\n") == 1
    assert not (tmp_path / "m.npz").exists()
    # the customer commands alike, for --amount-col and --time-col
    log = ["--data", str(tmp_path / "events.parquet"), "--out", str(tmp_path / "c.csv")]
    assert main(["customers", *log, "--time-col", "item"]) == 2
    assert "--time-col holds values that are not times" in capsys.readouterr().err
    frame.assign(time=["2024-01-01", "2024-01-02"]).to_parquet(tmp_path / "events.parquet", index=False)
    assert main(["clv", *log, "--amount-col", "note"]) == 2
    assert "--amount-col must hold numbers: position 0 holds 'two'" in capsys.readouterr().err


def test_netted_returns_are_not_called_dropped(tmp_path, capsys):
    """--returns net subtracts the return lines from their day's purchases; the summary line
    listed them among the dropped rows ("returns 8,905" on Online Retail either way)."""
    log = tmp_path / "log.csv"
    log.write_text(
        "user,time,amount\n"
        "a,2024-01-01,10\na,2024-01-01,-4\na,2024-01-05,20\nb,2024-01-02,5\nb,2024-01-02,-5\nc,2024-01-03,-1\n"
    )
    argv = ["customers", "--data", str(log), "--time-col", "time", "--amount-col", "amount"]
    assert main([*argv, "--returns", "net", "--out", str(tmp_path / "net.csv"), "--quiet"]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert "3 return lines netted" in line and "returns 3" not in line
    # b's day nets to 0 and c has only a return: no transaction for either
    assert "periods_netted_away 2, customers_without_transactions 2" in line
    assert main([*argv, "--out", str(tmp_path / "drop.csv"), "--quiet"]) == 0
    said = capsys.readouterr()
    line = said.out.splitlines()[0]
    assert "dropped rows: returns 3" in line and "netted" not in line
    # b took back all it bought (Online Retail's 16446 took back a 168,470 order, and had the
    # highest lifetime value): dropping returns keeps that purchase, and the command says so
    assert "1 customer returned at least half of what they bought (e.g. b: 5.00 of 5.00)" in said.err


def test_money_per_line_from_a_quantity_and_a_unit_price(tmp_path, capsys):
    """Online Retail's lines have a Quantity and a UnitPrice and no amount: clv refused the raw
    file ("--amount-col is needed") and customers/target counted its return lines as purchases,
    silently. --amount-col Quantity*UnitPrice is the money per line (a negative quantity a
    return), and without --amount-col the negative quantities are pointed out."""
    import pandas as pd

    lines = pd.DataFrame(
        {
            "user": ["a", "a", "a", "b", "b", "c", "c", "c"],
            "time": ["2024-01-01", "2024-01-01", "2024-02-03", "2024-01-02", "2024-03-01", "2024-01-05",
                     "2024-02-01", "2024-03-02"],
            "sku": ["S1", "S2", "S1", "S2", "S2", "S1", "S3", "S1"],
            "qty": [2, 1, -1, 4, 3, 1, 2, 5],
            "price": [2.5, 10.0, 2.5, 1.5, 1.5, 2.5, 0.5, 2.0],
        }
    )  # fmt: skip
    rng = np.random.default_rng(0)  # more repeat buyers, for clv's Gamma-Gamma fit
    n = 300
    more = pd.DataFrame(
        {
            "user": rng.integers(0, 60, n).astype(str),
            "time": (np.datetime64("2024-01-01") + rng.integers(0, 90, n)).astype(str),
            "sku": rng.choice(["S1", "S2", "S3"], n),
            "qty": rng.integers(1, 6, n) * np.where(rng.random(n) < 0.05, -1, 1),
            "price": rng.choice([0.5, 1.5, 2.5, 10.0], n),
        }
    )
    lines = pd.concat([lines, more], ignore_index=True)
    lines.to_csv(tmp_path / "raw.csv", index=False)
    lines.assign(amount=lines.qty * lines.price).to_csv(tmp_path / "amount.csv", index=False)
    tables = {}
    for name, money in (("raw", "qty * price"), ("amount", "amount")):
        argv = ["customers", "--data", str(tmp_path / f"{name}.csv"), "--amount-col", money, "--quiet"]
        assert main([*argv, "--out", str(tmp_path / f"c_{name}.csv")]) == 0
        tables[name] = pd.read_csv(tmp_path / f"c_{name}.csv").set_index("customer")
        argv = ["clv", "--data", str(tmp_path / f"{name}.csv"), "--amount-col", money, "--accept-bounds", "--quiet"]
        assert main([*argv, "--out", str(tmp_path / f"v_{name}.csv")]) == 0
    pd.testing.assert_frame_equal(tables["raw"], tables["amount"])
    assert tables["raw"].loc["a", "total_value"] == 15.0 and tables["raw"].loc["a", "transactions"] == 1
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "v_raw.csv"), pd.read_csv(tmp_path / "v_amount.csv"))
    capsys.readouterr()
    argv = ["customers", "--data", str(tmp_path / "raw.csv"), "--out", str(tmp_path / "c.csv")]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert f"column qty holds negative numbers in {(lines.qty < 0).sum()} of its first {len(lines)} rows" in err
    assert "--amount-col qty (or qty*<price column>) makes them returns" in err and "price" not in err.split("(")[0]
    assert pd.read_csv(tmp_path / "c.csv").set_index("customer").loc["a", "transactions"] == 2  # the return's day
    for bad, message in (("qty*", "names an empty column"), ("qty*cost", "no column 'cost'")):
        assert main([*argv, "--amount-col", bad]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err


def test_only_purchase_events_are_transactions(tmp_path, capsys):
    """A shop's event log has a row per view, cart and purchase: customers, clv and target
    counted every view as a transaction (the RFM scores, repeat purchases and buyers of the
    browsing). --event-col keeps the lines of --purchase-events (default purchase), the same
    table as from the purchases alone, and without it an event type column is pointed out."""
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 600
    log = pd.DataFrame(
        {
            "user": rng.integers(0, 40, n).astype(str),
            "time": (np.datetime64("2024-01-01") + rng.integers(0, 120, n)).astype(str),
            "sku": rng.choice(["S1", "S2", "S3"], n),
            "price": rng.choice([0.5, 1.5, 2.5, 10.0], n),
            "event_type": rng.choice(["view", "cart", "purchase", "remove_from_cart"], n, p=[0.6, 0.1, 0.25, 0.05]),
        }
    )
    log.loc[::50, "event_type"] = None
    log.to_csv(tmp_path / "log.csv", index=False)
    log[log.event_type == "purchase"].drop(columns="event_type").to_csv(tmp_path / "bought.csv", index=False)
    common = ["--amount-col", "price", "--item-col", "sku", "--quiet"]
    tables = {}
    for name, extra in (("log", ["--event-col", "event_type"]), ("bought", [])):
        for command in ("customers", "clv"):
            out = tmp_path / f"{command}_{name}.csv"
            argv = [command, "--data", str(tmp_path / f"{name}.csv"), *common, *extra, "--out", str(out)]
            clv = ["--accept-bounds", "--penalizer", "0.001", "--spend-penalizer", "0.001"]
            assert main(argv + (clv if command == "clv" else [])) == 0
            tables[command, name] = pd.read_csv(out)
    for command in ("customers", "clv"):
        pd.testing.assert_frame_equal(tables[command, "log"], tables[command, "bought"])
    err = capsys.readouterr().err
    left_out = log.event_type.value_counts()
    assert (
        f"{n - left_out['purchase']} of {n} lines are not purchases (view {left_out['view']}, cart {left_out['cart']}, "
        f"remove_from_cart {left_out['remove_from_cart']}, no type {log.event_type.isna().sum()}): left out"
    ) in err, err
    argv = ["customers", "--data", str(tmp_path / "log.csv"), *common, "--out", str(tmp_path / "c.csv")]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "column event_type holds event types (cart, purchase, remove_from_cart, view)" in err, err
    assert "--event-col event_type keeps the purchases" in err
    assert pd.read_csv(tmp_path / "c.csv")["transactions"].sum() > tables["customers", "bought"]["transactions"].sum()
    for extra, message in (
        (["--event-col", "event_type", "--purchase-events", "Purchase"], "no line is a purchase ('Purchase')"),
        (["--purchase-events", "purchase"], "--purchase-events needs --event-col"),
        (["--event-col", "kind"], "no column 'kind'"),
        (["--event-col", "event_type", "--purchase-events", " , "], "--purchase-events names no event type"),
    ):
        assert main([*argv, *extra]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    assert main(["customers", "--data", "sample", "--event-col", "event_type"]) == 2
    assert "--event-col is for your own files" in capsys.readouterr().err
    # event types as codes in Parquet, floats where the column has a gap: --purchase-events 3
    codes = log.assign(event_type=log.event_type.map({"view": 1, "cart": 2, "purchase": 3, "remove_from_cart": 4}))
    codes.to_parquet(tmp_path / "codes.parquet")
    argv = ["customers", "--data", str(tmp_path / "codes.parquet"), *common, "--event-col", "event_type"]
    assert main([*argv, "--purchase-events", "3", "--out", str(tmp_path / "c3.csv")]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "c3.csv"), tables["customers", "bought"])


def test_evaluate_measures_on_purchases_what_is_learnt_from_every_event(tmp_path, capsys):
    """A log of views and purchases: evaluate measured hits on viewed products, so choosing
    event weights (or tuning) optimised the browsing. --purchase-events measures the test
    pairs the customer bought, the models still learning from every event."""
    import json

    import pandas as pd

    rng = np.random.default_rng(0)
    taste, group = rng.integers(0, 5, 150), rng.integers(0, 5, 60)
    rows = [
        (f"c{u}", f"p{i}", "buy")
        for u in range(150)
        for i in rng.choice(np.flatnonzero(group == taste[u]), 4, replace=False)
    ]
    rows += [(f"c{u}", f"p{i}", "view") for u in range(150) for i in rng.choice(60, 10, replace=False)]
    log = pd.DataFrame(rows, columns=["user", "item", "event"]).drop_duplicates(["user", "item"])
    log.to_csv(tmp_path / "log.csv", index=False)
    argv = ["evaluate", "--data", str(tmp_path / "log.csv"), "--event-col", "event", "--event-weights", "view=1,buy=5"]
    argv += ["--models", "popularity,itemknn", "--quiet", "--out", str(tmp_path / "r.json")]
    inter = rf.Interactions.from_pandas(log, event_col="event", event_weights={"view": 1, "buy": 5})
    _, test = rf.split.per_user_split(inter, 0.2, seed=0)
    bought = {(u, i) for u, i, e in rows if e == "buy"}
    T = test.matrix.tocoo()
    measured = [(inter.user_ids[r], inter.item_ids[c]) in bought for r, c in zip(T.row, T.col)]
    customers = {inter.user_ids[r] for r, m in zip(T.row, measured) if m}
    assert main([*argv, "--purchase-events", "buy"]) == 0
    assert f"{T.nnz:,} test pairs, of which {sum(measured):,} purchases (buy) measured" in capsys.readouterr().out
    assert json.loads((tmp_path / "r.json").read_text())["n_users"] == len(customers)
    assert main(argv) == 0  # every test pair measured, views too
    assert json.loads((tmp_path / "r.json").read_text())["n_users"] == len({inter.user_ids[r] for r in T.row})
    assert main([*argv, "--purchase-events", "buy", "--tune", "--trials", "2"]) == 0
    # no event of the types given: said as such (it said "the reasons name no product", then
    # "the test side is empty; give more events")
    assert main([*argv, "--purchase-events", "purchase"]) == 2
    err = capsys.readouterr().err
    assert "--purchase-events purchase: no event of --event-col event is one of 'purchase'" in err
    assert "nothing to measure" in err and err.count("\n") == 1
    argv = ["evaluate", "--data", str(tmp_path / "log.csv"), "--purchase-events", "buy"]
    assert main(argv) == 2 and "--purchase-events needs --event-col" in capsys.readouterr().err


def test_a_column_of_event_types_unused_in_training_is_pointed_out_after_success(tmp_path, events_csv, capsys):
    """train on a log of views and purchases without --event-col: every type weighed the same,
    without a word. The hint names the column and the options; like every hint it is said once
    the command has succeeded, so that an error stays one line."""
    argv = [
        "train",
        "--data",
        str(events_csv),
        *DATA_ARGS[:4],
        "--model",
        "popularity",
        "--out",
        str(tmp_path / "m.npz"),
    ]
    assert main([*argv, "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "column event holds event types (cart, purchase, view, wishlist): without --event-col every type" in err
    assert "--event-col event --event-weights cart=W,purchase=W,view=W,... weighs each" in err
    assert main([*argv, "--quiet", "--event-col", "event", "--event-weights", "view=1,purchase=5"]) == 0
    assert "holds event types" not in capsys.readouterr().err
    evaluate = ["evaluate", "--data", str(events_csv), *DATA_ARGS[:4], "--split", "temporal"]
    assert main(evaluate) == 2  # fails once the data is read (no times): the error alone
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs event times" in err and "holds event types" not in err, err


def test_customers_errors_are_one_line(tmp_path, events_csv, capsys):
    cases = [
        (["customers", "--data", "sample", "--segments", "many"], "--segments must be a number or 'auto'"),
        # "ValueError: n_segments (100000) is more than the customers (2169)": the option unnamed
        (["customers", "--data", "sample", "--segments", "100000"], "--segments 100,000 is more than the 2,169"),
        (["customers", "--data", str(events_csv), "--user-col", "shopper"], "no column 'shopper'"),
        (["clv", "--data", str(events_csv), "--user-col", "customer", "--time-col", "ts"], "--amount-col is needed"),
        (["clv", "--data", "sample", "--months", "0"], "--months must be in [1, 10,000], got 0"),
        # an OverflowError traceback after the fits (and 1e8 passes over the customers before it)
        (["clv", "--data", "sample", "--months", "100000000"], "--months must be in [1, 10,000], got 100000000"),
        # a column of purchases in the next 0 days, every one 0, was written
        (["clv", "--data", "sample", "--days", "0"], "--days must be >= 1, got 0"),
        (["clv", "--data", "sample", "--discount", "-0.1"], "--discount must be a finite number >= 0, got -0.1"),
        # inf passed ">= 0" and was refused after the fits, naming --months or no option
        (["clv", "--data", "sample", "--discount", "inf"], "--discount must be a finite number >= 0, got inf"),
        (["clv", "--data", "sample", "--penalizer", "inf"], "--penalizer must be a finite number >= 0, got inf"),
        (["clv", "--data", "sample", "--spend-penalizer", "inf"], "--spend-penalizer must be a finite number >= 0"),
        (["customers", "--data", "sample", "--out", str(tmp_path / "x.xlsx")], "recforge writes"),
        (["clv", "--data", "sample", "--chart", str(tmp_path / "x.jpg")], "--chart"),
        # it was ignored without --segments: no chart, exit 0
        (["customers", "--data", "sample", "--chart", str(tmp_path / "x.png")], "--chart needs --segments"),
        # the sample is read as shipped: options of how a file is read were ignored
        (["customers", "--data", "sample", "--returns", "net"], "--data sample is read as shipped"),
        (["clv", "--data", "sample", "--amount-col", "x", "--sep", ";"], "--amount-col, --sep are for your own files"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (argv, err)


def test_target_lists_the_likeliest_buyers(tmp_path, events_csv, capsys):
    import pandas as pd

    out = tmp_path / "target.csv"
    assert main(["target", "--data", "sample", "--item", "85123A", "--top", "25", "--out", str(out)]) == 0
    table = pd.read_csv(out, dtype={"customer": str})
    assert len(table) == 25 and table["rank"].tolist() == list(range(1, 26))
    assert table["probability"].is_monotonic_decreasing and table["probability"].between(0, 1).all()
    assert "most likely to buy 85123A" in capsys.readouterr().out
    assert main(["target", "--data", "sample", "--item", "NOPE"]) == 2
    assert "no line has product 'NOPE'" in capsys.readouterr().err
    # an infinite window was said to reach back before the log's first line
    assert main(["target", "--data", "sample", "--item", "85123A", "--window", "inf"]) == 2
    assert capsys.readouterr().err == "recforge target: error: --window must be a finite number > 0, got inf\n"
    # a product only on lines without a customer (Online Retail's 85123a): said, with the one meant
    log = tmp_path / "log.csv"
    lines = [f"C{i % 30},{'85123A' if i % 3 else 'X'},2011-0{1 + i % 9}-0{1 + i % 9}" for i in range(300)]
    log.write_text("customer,sku,ts\n" + "\n".join(lines + [",85123a,2011-05-05"]) + "\n")
    argv = ["target", "--data", str(log), "--user-col", "customer", "--item-col", "sku", "--time-col", "ts"]
    assert main([*argv, "--item", "85123a"]) == 2
    assert "only lines without a customer have product '85123a'; did you mean '85123A'?" in capsys.readouterr().err
    assert main([*argv, "--item", "x"]) == 2
    assert "no line has product 'x'; did you mean 'X'?" in capsys.readouterr().err
    assert main(["target", "--data", str(events_csv), "--user-col", "customer", "--time-col", "ts", "--item", "x"]) == 2
    assert "--item-col is needed" in capsys.readouterr().err
    # times in messages are dates, not epoch seconds; a window longer than the log is named
    for extra, words in (
        (["--item", " , "], "--item names no product"),
        (["--item", "85123A", "--window", "1e9"], "reaches back to the log's first line (2010-12-01T"),
        (
            ["--item", "85123A", "--as-of", "2030-01-01"],
            "no customer bought a target in the 30 days after cutoff 2029-12-02T",
        ),
    ):
        assert main(["target", "--data", "sample", *extra]) == 2
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1, err
    assert main(["customers", "--data", "sample", "--as-of", "2009-01-01"]) == 2
    assert "as_of 2009-01-01T00:00:00 is before every line" in capsys.readouterr().err


def test_target_says_which_lines_it_left_out(tmp_path, capsys):
    """recforge customers and clv count the lines they leave out (no customer, returns); target,
    reading the same log, said nothing of them (108,103 lines without a customer in Online
    Retail)."""
    import pandas as pd

    ev = rf.datasets.sample().interactions.events
    log = pd.DataFrame(
        {"customer": ev.user_ids[ev.user], "time": ev.time, "amount": ev.amount, "item": ev.item_ids[ev.item]}
    )
    odd = log.head(5).copy()
    odd.loc[odd.index[:3], "customer"] = None  # three lines without a customer
    odd.loc[odd.index[3:], "amount"] = -1.0  # two returns
    pd.concat([log, odd]).to_csv(tmp_path / "log.csv", index=False)
    argv = ["target", "--data", str(tmp_path / "log.csv"), "--user-col", "customer", "--item-col", "item"]
    argv += ["--amount-col", "amount", "--item", "85123A", "--out", str(tmp_path / "t.csv")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"from {len(log) + 5:,} lines; dropped rows: missing_customer 3, returns 2" in out


def test_target_leaves_out_opt_outs_and_holds_out_a_control_group_of_its_audience(tmp_path, capsys):
    """The audience is the likeliest buyers who may be contacted (--suppress left out before the
    top is taken); the control group is drawn from that audience (--holdout), so the two groups
    are alike, and written apart with their audience ranks."""
    import pandas as pd

    argv = ["target", "--data", "sample", "--item", "85123A", "--top", "200"]
    assert main([*argv, "--out", str(tmp_path / "all.csv")]) == 0
    everyone = pd.read_csv(tmp_path / "all.csv", dtype={"customer": str})
    pd.DataFrame({"user": everyone["customer"][:15]}).to_csv(tmp_path / "optout.csv", index=False)
    extra = ["--suppress", str(tmp_path / "optout.csv"), "--holdout", "0.25", "--holdout-seed", "2"]
    extra += ["--holdout-out", str(tmp_path / "control.csv"), "--out", str(tmp_path / "sent.csv")]
    capsys.readouterr()
    assert main([*argv, *extra]) == 0
    assert "15 customers suppressed" in capsys.readouterr().out
    sent = pd.read_csv(tmp_path / "sent.csv", dtype={"customer": str})
    control = pd.read_csv(tmp_path / "control.csv", dtype={"customer": str})
    audience = pd.concat([sent, control]).sort_values("rank")
    assert audience["rank"].tolist() == list(range(1, 201))
    assert not audience["customer"].isin(everyone["customer"][:15]).any()
    # the audience is the next likeliest after the opt-outs: everyone's list from rank 16 on
    want = pd.read_csv(tmp_path / "all.csv", dtype={"customer": str})["customer"][15:].tolist()
    assert audience["customer"].tolist()[: len(want)] == want
    held = rf.campaign.holdout(audience["customer"].to_numpy(), 0.25, seed=2)
    assert audience["customer"][held].tolist() == control.sort_values("rank")["customer"].tolist()


def test_a_reader_that_leaves_does_not_stop_the_command(tmp_path):
    """recforge similar ... | head -1: the reader closed the pipe and the command died with
    "error: BrokenPipeError" (exit 2); a command that writes files wrote none. Now the rest of
    the output goes to /dev/null and the command finishes."""
    import os
    import subprocess
    import sys

    out = tmp_path / "target.csv"
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line
    try:
        done = subprocess.run(
            [sys.executable, "-m", "recforge", "target", "--data", "sample", "--item", "85123A", "--out", str(out)],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
    finally:
        os.close(write)
    assert done.returncode == 0 and "Error" not in done.stderr and "Exception" not in done.stderr, done.stderr
    assert len(out.read_text().splitlines()) == 101


def test_what_a_model_cannot_do_is_one_line(tmp_path, events_csv, capsys):
    """A user-based KNNRegressor has no item similarity: NotImplementedError gave a traceback."""
    model = tmp_path / "kr.npz"
    argv = ["train", "--data", str(events_csv), "--user-col", "customer", "--item-col", "sku", "--weight-col", "ts"]
    assert (
        main([*argv, "--model", "knnregressor", "--param", "user_based=true", "--no-fallbacks", "--out", str(model)])
        == 0
    )
    capsys.readouterr()
    assert main(["similar", "--model", str(model), "--items", "SKU-1"]) == 2
    err = capsys.readouterr().err
    assert "NotImplementedError: a user-based KNNRegressor has no item similarity" in err and err.count("\n") == 1


def test_knnregressor_is_refused_fallbacks_before_its_fit_and_evaluated_bare(tmp_path, events_csv, capsys):
    """KNNRegressor is listed by train and evaluate, and cannot be wrapped in ColdStart: train
    failed after the whole fit with a ValueError, and evaluate failed for every model listed."""
    argv = ["--data", str(events_csv), "--user-col", "customer", "--item-col", "sku", "--weight-col", "ts"]
    model = tmp_path / "kr.npz"
    assert main(["train", *argv, "--model", "knnregressor", "--out", str(model), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "train it with --no-fallbacks" in err and err.count("\n") == 1 and "fitting" not in err
    assert not model.exists()
    out = tmp_path / "eval.json"
    evaluate = ["evaluate", *argv, "--split", "per-user", "--models", "popularity,knnregressor,itemknn"]
    assert main([*evaluate, "--out", str(out), "--quiet"]) == 0
    said = capsys.readouterr().out
    assert "| knnregressor |" in said and "knnregressor: no fallbacks" in said and "itemknn: no" not in said
    results = json.loads(out.read_text())
    assert set(results["metrics"]) >= {"popularity", "knnregressor", "itemknn"}
    # the rating model's RMSE and MAE beside the ranking table, for it alone
    assert "Rating error over" in said and said.split("Rating error over")[0].rstrip().endswith(" |")
    assert list(results["ratings"]) == ["knnregressor"] and results["n_ratings"] > 0
    assert set(results["ratings"]["knnregressor"]) == {"rmse", "mae"}


def test_names_reads_an_event_file_without_a_header_line(tmp_path, capsys):
    """MovieLens' u.data: tab-separated, no header line. --names names its columns for train and
    for recommend, in memory and out of core (the same lists); fewer names than fields, a
    repeated or empty name, and --names on Parquet are refused with one line."""
    import pandas as pd

    rng = np.random.default_rng(3)
    lines = [f"{u}\t{i}\t{rng.integers(1, 6)}\t{881250949 + n}" for n, (u, i) in enumerate(
        zip(rng.integers(1, 60, 900), rng.integers(1, 80, 900)))]  # fmt: skip
    data = tmp_path / "u.data"
    data.write_text("\n".join(lines) + "\n")
    model = tmp_path / "m.npz"
    read = ["--data", str(data), "--sep", "\t", "--names", "user,item,rating,time"]
    assert main(["train", *read, "--weight-col", "rating", "--time-col", "time", "--model", "itemknn",
                 "--out", str(model), "--quiet"]) == 0  # fmt: skip
    assert main(["recommend", "--model", str(model), *read, "--k", "5", "--out", str(tmp_path / "a.csv")]) == 0
    assert (
        main(["recommend", "--model", str(model), *read, "--k", "5", "--out", f"{tmp_path / 'lists'}/", "--quiet"]) == 0
    )
    memory = pd.read_csv(tmp_path / "a.csv", dtype=str).sort_values(["user", "rank"]).reset_index(drop=True)
    folder = pd.read_parquet(tmp_path / "lists").astype(str).sort_values(["user", "rank"]).reset_index(drop=True)
    assert len(memory) == 5 * 59 and memory["item"].tolist() == folder["item"].tolist()
    assert set(memory["user"]) == {str(u) for u in range(1, 60)}  # the first line is data, not a header
    capsys.readouterr()
    base = ["train", "--data", str(data), "--sep", "\t", "--model", "itemknn", "--out", str(model)]
    for names, message in [
        ("user,item", "line 1 has 4 fields but 2 column names were given"),
        ("user,item,,time", "an empty column name"),
        ("user,item,item,time", "a column name given twice"),
    ]:
        try:
            code = main([*base, "--names", names])
        except SystemExit as e:  # a command-line mistake, as argparse says it
            code = e.code
        assert code == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    parquet = tmp_path / "e.parquet"
    pd.DataFrame({"user": ["a"], "item": ["b"]}).to_parquet(parquet)
    assert (
        main(["train", "--data", str(parquet), "--names", "user,item", "--model", "itemknn", "--out", str(model)]) == 2
    )
    assert "a Parquet file names its own columns" in capsys.readouterr().err
    # without --names the first line read as a header named no column asked for: said why
    assert main(base) == 2
    assert "has no column 'user', 'item' (columns: [" in (err := capsys.readouterr().err)
    assert "its first line looks like data, not column names" in err
    # a product table without a header line (MovieLens' u.item) likewise
    (tmp_path / "u.item").write_text("1|Toy Story (1995)|01-Jan-1995||0|0|1\n2|GoldenEye (1995)|01-Jan-1995||1|0|0\n")
    argv = ["similar", "--model", str(model), "--items", "1", "--products", str(tmp_path / "u.item")]
    assert main(argv) == 2
    assert "its first line looks like data, not column names: give the table a header line" in capsys.readouterr().err
    # a header of names is no such line
    (tmp_path / "named.csv").write_text("sku,title\n1,Toy Story (1995)\n")
    assert main(["similar", "--model", str(model), "--items", "1", "--products", str(tmp_path / "named.csv")]) == 2
    assert "name it with --product-col" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, words",
    [
        (
            ["train", "--model", "ease", "--out", "m.npz", "--item-text", "description"],
            "--item-text needs --item-features",
        ),
        (["train", "--model", "ease", "--out", "m.npz", "--user-categorical", "country"], "--user-categorical needs"),
        (["train", "--model", "ease", "--out", "m.npz", "--item-key", "sku"], "--item-key needs --item-features"),
        (["evaluate", "--budget", "5"], "--budget needs --tune"),
        (["evaluate", "--trials", "3"], "--trials needs --tune"),
        (["evaluate", "--cutoff", "2011-06-01"], "--cutoff is the date of --split temporal"),
        (["evaluate", "--split", "leave-one-out", "--test-frac", "0.3"], "--test-frac has no part in"),
        (["campaign", "--out", "c.csv", "--holdout-seed", "3"], "--holdout-seed needs --holdout"),
        (["target", "--item", "22423", "--out", "t.csv", "--holdout-seed", "3"], "--holdout-seed needs --holdout"),
        (["campaign", "--out", "c.csv", "--category-sep", ";"], "--category-sep needs --category-col"),
        (["customers", "--out", "c.csv", "--min-size", "5"], "--min-size needs --segments"),
        (["evaluate", "--split", "temporal", "--cutoff", "2011-06-01", "--test-frac", "0.3"], "give one of them"),
        (["demo", "--trials", "3"], "--trials needs --tune"),
        # the shipped sample is read as shipped: how to read a file was ignored
        (["train", "--model", "ease", "--out", "m.npz", "--weight-col", "Quantity"], "--weight-col is for your own"),
        (["evaluate", "--user", "CustomerID"], "--user-col is for your own files"),  # abbreviated too
        (["campaign", "--out", "c.csv", "--aggregate", "last", "--returns", "keep"], "--aggregate, --returns are"),
        (["recommend", "--model", "m.npz", "--out", "r.csv", "--decimal", ","], "--decimal is for your own files"),
        # lift takes no sample (a file of events after the send): its own checks answer, not the sample's
        (["lift", "--campaign", "c.csv", "--control", "h.csv", "--user-col", "CustomerID"], "--campaign: no such file"),
    ],
)
def test_an_option_without_the_one_it_belongs_to_is_refused(tmp_path, monkeypatch, capsys, argv, words):
    """These were ignored without a word: a model trained without the text it was given, a
    random split called with a date."""
    monkeypatch.chdir(tmp_path)
    data = [] if argv[0] == "demo" else ["--data", "sample"]
    assert main([argv[0], *data, *argv[1:], "--quiet"]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1
    assert not list(tmp_path.iterdir())


def test_params_given_together_or_twice_are_said(tmp_path, capsys):
    """--param factors=8,iterations=3 read factors as the text "8,iterations=3"; a parameter
    given twice took the last without a word; Python's None, True and False read as text."""
    argv = ["train", "--data", "sample", "--model", "als", "--out", str(tmp_path / "m.npz"), "--quiet"]
    assert main([*argv, "--param", "factors=8,iterations=3"]) == 2
    err = capsys.readouterr().err
    assert "holds several parameters: give each its own (--param factors=8 --param iterations=3)" in err
    assert main([*argv, "--param", "factors=8", "--param", "factors=16"]) == 2
    assert "--param: factors is given twice" in capsys.readouterr().err
    assert not (tmp_path / "m.npz").exists()
    from recforge.cli._common import parse_params

    assert parse_params(["random_state=None", "binary=False", "calculate_loss=True"]) == {
        "random_state": None, "binary": False, "calculate_loss": True}  # fmt: skip
    assert parse_params(["metric=cosine,bm25"]) == {"metric": "cosine,bm25"}  # a value with a comma, no NAME=


def test_dropped_rows_are_said_in_the_order_reasons_are_checked():
    """Out of core the blocks' counts were merged in the order the blocks met them: one file
    said "new_item 4, unknown_event 5" in memory and "unknown_event 5, new_item 4" in blocks."""
    from recforge.cli._common import dropped_rows

    merged = {"dropped": {"unknown_event": 5, "returns": 2, "new_item": 4, "missing_user": 0}}
    assert dropped_rows(merged) == "new_item 4, unknown_event 5, returns 2"
    assert dropped_rows({"dropped": {}}) == "none"


def test_counts_of_one_are_said_in_the_singular():
    """ "1 customers had no usable event left", "1 customers in 1 block": the counts a run
    prints take their noun's singular for one, and a verb that agrees."""
    from recforge.cli._common import counted, were

    assert counted(1, "customer") == "1 customer" and counted(4010, "customer") == "4,010 customers"
    assert counted(0, "list") == "0 lists" and were(1) == "was" and were(2) == "were"

"""User mistakes at the command line (issue 21, items 12-14): each ends in one line on stderr and
exit status 2, checked before the work where it can be; returns; progress."""

from __future__ import annotations

import csv
import itertools
import os

import numpy as np
import pytest
from recforge.cli import main

COLS = ["--user-col", "customer", "--item-col", "sku"]


@pytest.fixture
def events(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "events.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer", "sku", "qty", "ts"])
        for n in range(600):
            w.writerow([f"C{rng.integers(40)}", f"S{rng.integers(25)}", int(rng.integers(1, 4)), int(1.6e9 + n * 3600)])
    return path


@pytest.fixture
def model(tmp_path, events):
    out = tmp_path / "m.npz"
    assert main(["train", "--data", str(events), *COLS, "--model", "itemknn", "--out", str(out), "--quiet"]) == 0
    return out


def one_line_error(capsys, code, *words):
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    last = err[-1]
    assert "Traceback" not in "\n".join(err) and last.startswith("recforge "), err
    for w in words:
        assert w in last, last


@pytest.mark.parametrize(
    "argv, words",
    [
        ([], "required: COMMAND"),
        # said by the command, with the option meant: the top level said "recforge: error"
        (["customers", "--data", "x.csv", "--bogus"], "recforge customers: error: unrecognized arguments: --bogus"),
        (["customers", "--data", "x.csv", "--segmnets", "3"], "--segmnets 3; did you mean --segments?"),
        (["target", "--data", "x.csv", "--item", "1", "--items", "2"], "did you mean --item? (see 'recforge target"),
        (["recommend", "--model", "m.npz", "--data", "e.csv", "--out", "o.csv", "--k", "ten"], "invalid int"),
        (["similar", "--model", "m.npz"], "--items --text --all is required"),
        (["train", "--data", "e.csv", "--model", "als"], "required: --out"),
        # a model's command reads the model's columns: "did you mean --user-key?" led nowhere
        (
            ["recommend", "--model", "m.npz", "--data", "e.csv", "--out", "o.csv", "--user-col", "CustomerID"],
            "--user-col: --data is read with the event columns the model was trained with (its file names them)",
        ),
    ],
)
def test_command_line_mistakes_are_one_line(capsys, argv, words):
    """argparse's own refusals too: one line naming the mistake and where the help is, no usage
    block (exit status 2, as argparse has it)."""
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith("recforge") and words in err and "--help')" in err, err


def test_returns_without_a_weight_column_is_refused(tmp_path, events, capsys):
    """Without --weight-col every row counts 1: --returns keep (which the negative-numbers hint
    named) changed nothing, without a word."""
    for command in (["train", "--model", "itemknn", "--out", str(tmp_path / "m.npz")], ["evaluate"]):
        code = main([command[0], "--data", str(events), *COLS, *command[1:], "--returns", "keep", "--quiet"])
        one_line_error(capsys, code, "--returns needs --weight-col")
    assert not (tmp_path / "m.npz").exists()


def test_header_only_csv(tmp_path, capsys):
    path = tmp_path / "empty.csv"
    path.write_text("customer,sku\n")
    for cmd in (["train", "--model", "itemknn", "--out", str(tmp_path / "m.npz")], ["evaluate"]):
        one_line_error(capsys, main([cmd[0], "--data", str(path), *COLS, *cmd[1:]]), "no usable events")
    assert not (tmp_path / "m.npz").exists()


def test_out_in_a_missing_folder_is_refused_before_training(tmp_path, events, capsys):
    code = main(["train", "--data", str(events), *COLS, "--model", "itemknn", "--out", str(tmp_path / "no" / "m.npz")])
    one_line_error(capsys, code, "does not exist")
    assert "Interactions" not in capsys.readouterr().out  # nothing was read or trained


@pytest.mark.parametrize("name", ["recs.json", "recs.xlsx", "recs.txt"])
def test_unsupported_output_suffixes(tmp_path, model, events, capsys, name):
    code = main(["recommend", "--model", str(model), "--data", str(events), "--out", str(tmp_path / name)])
    one_line_error(capsys, code, ".csv", "or a folder ending in '/'")  # recommend writes folders too
    assert not (tmp_path / name).exists()


def test_parquet_without_pyarrow_is_refused_before_the_work(tmp_path, model, events, capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pyarrow" else real(name, *a))
    code = main(["recommend", "--model", str(model), "--data", str(events), "--out", str(tmp_path / "r.parquet")])
    one_line_error(capsys, code, "recforge[io]")


def test_a_spreadsheet_as_data_says_how_to_export(tmp_path, capsys):
    path = tmp_path / "events.xlsx"
    path.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 8)
    code = main(["train", "--data", str(path), *COLS, "--model", "itemknn", "--out", str(tmp_path / "m.npz")])
    one_line_error(capsys, code, "spreadsheets are not read")


def test_a_text_file_as_model_never_suggests_unpickling(tmp_path, events, capsys):
    path = tmp_path / "model.npz"
    path.write_text("not a model\n")
    code = main(["recommend", "--model", str(path), "--data", str(events), "--out", str(tmp_path / "r.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "allow_pickle" not in err and "not an .npz archive" in err


def test_cutoff_after_all_data(tmp_path, events, capsys):
    code = main(
        ["evaluate", "--data", str(events), *COLS, "--time-col", "ts", "--split", "temporal", "--cutoff", "2030-01-01"]
    )
    one_line_error(capsys, code, "--cutoff")
    code = main(["demo", "--cutoff", "2030-01-01", "--out", str(tmp_path / "c.csv"), "--quiet"])
    one_line_error(capsys, code, "--cutoff")
    code = main(["demo", "--cutoff", "soon", "--out", str(tmp_path / "c.csv"), "--quiet"])
    one_line_error(capsys, code, "--cutoff: 'soon' is not a date")
    temporal = ["evaluate", "--data", str(events), *COLS, "--time-col", "ts", "--split", "temporal"]
    one_line_error(capsys, main([*temporal, "--cutoff", "soon"]), "--cutoff")
    # a cutoff a day after the sample starts: the campaign file was written, then the purchase
    # prediction failed on "cutoff 2010-11-02T00:00:00", a date nobody gave; now refused first
    out = tmp_path / "early.csv"
    code = main(["demo", "--cutoff", "2010-12-02", "--out", str(out), "--quiet"])
    one_line_error(
        capsys, code, "--cutoff 2010-12-02: the purchase prediction learns", "give a cutoff after 2010-12-31"
    )
    assert not out.exists()
    code = main(["demo", "--neighbours", "0", "--out", str(out), "--quiet"])
    one_line_error(capsys, code, "--neighbours must be >= 1, got 0")  # was "ValueError: neighbours must be"


def test_demo_reranks_as_many_candidates_as_the_lists_ask(tmp_path, capsys):
    """--k 150 re-ranked the 100 candidates of every customer: lists of at most 100 under
    "top-150"."""
    out = tmp_path / "c.csv"
    assert main(["demo", "--k", "150", "--out", str(out), "--quiet"]) == 0
    assert "top-150 of 150 re-ranked" in capsys.readouterr().out
    rows = list(csv.DictReader(open(out)))
    longest = max(sum(1 for _ in group) for _, group in itertools.groupby(rows, key=lambda r: r["customer_id"]))
    assert longest == 150


def test_model_from_a_newer_version_or_with_an_unknown_parameter(tmp_path, model, events, capsys):
    from test_data_faults import rewrite

    rewrite(model, __recforge_version__="99.0")
    code = main(["recommend", "--model", str(model), "--data", str(events), "--out", str(tmp_path / "r.csv")])
    one_line_error(capsys, code, "upgrade recforge")
    rewrite(model, __recforge_version__="0.0.1", __params__='{"turbo": 1}')
    code = main(["recommend", "--model", str(model), "--data", str(events), "--out", str(tmp_path / "r.csv")])
    one_line_error(capsys, code, "turbo")


def test_encoding_and_separator_hints(tmp_path, capsys):
    path = tmp_path / "latin.csv"
    path.write_bytes("customer;sku\nJosé;S1\nAna;S2\n".encode("latin-1"))
    base = ["train", "--data", str(path), *COLS, "--model", "popularity", "--out", str(tmp_path / "m.npz")]
    one_line_error(capsys, main(base), "delimiter")  # one column holding ';'
    one_line_error(capsys, main(base + ["--sep", ";"]), "encoding")  # not utf-8
    assert main(base + ["--sep", ";", "--encoding", "latin-1", "--quiet"]) == 0
    one_line_error(capsys, main(base + ["--sep", ";", "--encoding", "no-such-codec"]), "--encoding")
    # an empty delimiter was 'TypeError: "delimiter" must be a 1-character string', under --data or none
    for bad in ("", '"', "\n"):
        with pytest.raises(SystemExit) as e:
            main(base + ["--sep", bad])
        one_line_error(capsys, e.value.code, "argument --sep: a delimiter must be one or more")


def test_a_tab_written_as_backslash_t_is_a_tab(tmp_path, capsys):
    """A shell's quotes keep --sep '\\t' as two characters: a tab-separated file read as one
    column, and the hint said "is the delimiter '\\t'? give it as the separator, --sep"."""
    path = tmp_path / "events.tsv"
    path.write_text("customer\tsku\nA\tS1\nB\tS2\nA\tS2\n")
    base = ["train", "--data", str(path), *COLS, "--model", "popularity", "--out", str(tmp_path / "m.npz")]
    one_line_error(capsys, main(base), "is the delimiter '\\t'?")
    assert main(base + ["--sep", "\\t", "--quiet"]) == 0


def test_returns_are_dropped_and_counted(tmp_path, capsys):
    path = tmp_path / "retail.csv"
    path.write_text("customer,sku,qty\nA,S1,2\nA,S2,1\nB,S1,-3\nC,S2,1\nC,S1,1\n")
    out = tmp_path / "m.npz"
    assert (
        main(
            [
                "train",
                "--data",
                str(path),
                *COLS,
                "--weight-col",
                "qty",
                "--model",
                "itemknn",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    assert "dropped 1 rows with a negative qty" in capsys.readouterr().err
    recs = tmp_path / "r.csv"
    assert main(["recommend", "--model", str(out), "--data", str(path), "--out", str(recs), "--quiet"]) == 0
    with open(recs) as f:
        rows = list(csv.DictReader(f))
    assert all(r["user"] != "B" for r in rows) and all(float(r["score"]) > 0 for r in rows)


@pytest.mark.parametrize("form", ["csv", "parquet", "semicolon", "zip"])
def test_returns_counted_as_purchases_without_a_weight_column_are_pointed_out(tmp_path, capsys, form):
    """Without --weight-col every row is a purchase: Online Retail's 10,626 return lines were,
    silently, and its campaign offered the discount line "D" "because you bought" it."""
    rows = [("A", "S1", "2", "2.5", "x", "-0.12"), ("A", "S2", "1", "1.5", "y", "2.35"),
            ("B", "S1", "-3", "2.5", "-1 z", "-3.2"), ("C", "S2", "1", "3", "w", "1.1"),
            ("C", "S1", "-1", "3", "v", "-0.5")]  # fmt: skip
    names = ["customer", "sku", "qty", "price", "note", "longitude"]  # a longitude is no return
    frame = {c: [r[j] for r in rows] for j, c in enumerate(names)}
    path = tmp_path / f"retail.{'parquet' if form == 'parquet' else 'csv'}"
    sep = ";" if form == "semicolon" else ","
    if form == "zip":  # a member streamed, not read whole
        import zipfile

        text = "\ufeff" + sep.join(frame) + "\n" + "".join(sep.join(r) + "\n" for r in rows)
        path = tmp_path / "retail.zip"
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("retail.csv", text.encode("utf-8"))
    elif form == "parquet":
        import pandas as pd

        pd.DataFrame(
            {**frame, "qty": [int(q) for q in frame["qty"]], "longitude": [float(v) for v in frame["longitude"]]}
        ).to_parquet(path)
    else:
        path.write_text(sep.join(frame) + "\n" + "".join(sep.join(r) + "\n" for r in rows))
    train = ["train", "--data", str(path), *COLS, "--sep", sep, "--model", "itemknn", "--out", str(tmp_path / "m.npz")]
    assert main([*train, "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "column qty holds negative numbers in 2 of its first 5 rows" in err, err
    assert (
        "--weight-col qty --aggregate count drops them" in err
        and "note" not in err
        and "price" not in err
        and "longitude" not in err
    )
    assert main([*train, "--quiet", "--weight-col", "qty"]) == 0
    assert "holds negative numbers" not in capsys.readouterr().err
    assert main([*train, "--weight-col", "qty", "--aggregate", "count"]) == 0  # the advice: returns dropped
    assert "dropped 2 rows with a negative qty" in capsys.readouterr().err


def test_returns_netted_to_nothing_leave_the_pairs(tmp_path, capsys):
    """With --returns keep, a pair whose returns cancel its purchases stayed at weight 0 or
    below: EASE counted it bought, ALS fitted a negative confidence. Such pairs are left out
    of training and of the histories recommend scores, in memory and out of core."""
    import recforge as rf

    path = tmp_path / "retail.csv"
    path.write_text("customer,sku,qty\nA,S1,2\nA,S1,-3\nA,S2,1\nB,S1,3\nB,S3,1\nC,S2,1\nC,S3,2\nD,S1,1\nD,S2,1\n")
    inter = rf.Interactions.from_csv(str(path), "customer", "sku", weight_col="qty")
    netted = inter.returns_netted()
    assert inter.report["nonpositive_pairs"] == 1 and netted.report["returned_pairs"] == 1
    assert netted.nnz == inter.nnz - 1 and (netted.matrix.data > 0).all()
    assert rf.Interactions.from_arrays(["a"], ["x"], [0.0]).returns_netted().nnz == 1  # a rating of 0 stays
    out = tmp_path / "m.npz"
    cols = [*COLS, "--weight-col", "qty", "--returns", "keep"]
    assert main(["train", "--data", str(path), *cols, "--model", "ease", "--out", str(out), "--quiet"]) == 0
    assert "1 (customer, product) pairs netted to nothing or less by returns, left out" in capsys.readouterr().err
    lists = {}
    for where in ("r.csv", "blocks"):
        target = tmp_path / where
        extra = ["--blocks", "2", "--out", str(target) + "/"] if where == "blocks" else ["--out", str(target)]
        recommend = ["recommend", "--model", str(out), "--data", str(path), "--returns", "keep", "--quiet"]
        assert main([*recommend, *extra]) == 0
        table = rf.batch.collect(str(target), str(tmp_path / "all.csv")) if where == "blocks" else None
        rows = list(csv.DictReader(open(tmp_path / "all.csv" if table is not None else target)))
        lists[where] = sorted((r["user"], r["item"]) for r in rows)
    assert lists["r.csv"] == lists["blocks"] and ("A", "S1") in lists["r.csv"]  # returned: not held, offered again
    # the model file keeps --returns keep: recommend (and serve) read the returns as training did;
    # without it the returns were dropped and A's returned S1 counted as bought, not offered
    for where in ("r.csv", "blocks"):
        target = tmp_path / f"as_trained_{where}"
        extra = ["--blocks", "2", "--out", str(target) + "/"] if where == "blocks" else ["--out", str(target)]
        assert main(["recommend", "--model", str(out), "--data", str(path), "--quiet", *extra]) == 0
        assert "rows with a negative qty" not in capsys.readouterr().err
        table = rf.batch.collect(str(target), str(tmp_path / "all.csv")) if where == "blocks" else None
        rows = list(csv.DictReader(open(tmp_path / "all.csv" if table is not None else target)))
        assert sorted((r["user"], r["item"]) for r in rows) == lists["r.csv"]
    dropped = tmp_path / "dropped.csv"
    assert (
        main(["recommend", "--model", str(out), "--data", str(path), "--returns", "drop", "--out", str(dropped)]) == 0
    )
    assert ("A", "S1") not in {(r["user"], r["item"]) for r in csv.DictReader(open(dropped))}
    assert "dropped 1 rows with a negative qty" in capsys.readouterr().err
    # a model trained without --weight-col has no returns to drop or keep: ignored without a word
    plain = tmp_path / "plain.npz"
    assert main(["train", "--data", str(path), *COLS, "--model", "itemknn", "--out", str(plain), "--quiet"]) == 0
    code = main(["recommend", "--model", str(plain), "--data", str(path), "--returns", "keep", "--out", str(dropped)])
    one_line_error(capsys, code, "--returns: the model was trained without --weight-col")


def test_biased_mf_on_quantities_gives_advice_that_works(tmp_path, capsys):
    import recforge as rf
    import scipy.sparse as sp

    X = sp.random(50, 40, density=0.3, format="csr", random_state=0)
    X.data = np.round(X.data * 1e4)
    with pytest.raises(FloatingPointError, match="log1p"):
        rf.BiasedMF(learning_rate=0.001, iterations=30, random_state=0).fit(X)
    X.data = np.log1p(X.data)
    rf.BiasedMF(iterations=30, random_state=0).fit(X)  # the advice works


def test_recommend_progress_moves_in_small_batches():
    from recforge.cli import _common

    assert _common.BATCH <= 2_000


def test_a_killed_run_keeps_the_previous_output(tmp_path, model, events):
    import signal
    import subprocess
    import sys

    if os.name != "posix":
        pytest.skip("SIGKILL is POSIX")
    out = tmp_path / "r.csv"
    out.write_text("previous\n")
    # The writer is killed half-way through writing the campaign list.
    script = (
        "import time, recforge._csv_out\n"
        "def half(table, stream, **kw):\n"
        "    stream.write(b'user,rank,item,score\\nC1,1,'); stream.flush()\n"
        "    print('writing', flush=True); time.sleep(30)\n"
        "recforge._csv_out.write_csv = half\n"
        "from recforge.cli import main\n"
        f"main(['recommend', '--model', {str(model)!r}, '--data', {str(events)!r}, '--out', {str(out)!r}, "
        "'--quiet'])\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:
            if line.strip() == "writing":
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert out.read_text() == "previous\n"


def test_training_shows_epoch_progress(tmp_path, events, capsys):
    out = tmp_path / "m.npz"
    assert (
        main(["train", "--data", str(events), *COLS, "--model", "als", "--param", "iterations=3", "--out", str(out)])
        == 0
    )
    assert "ALS: 100%" in capsys.readouterr().err  # the tqdm bar over the iterations
    assert (
        main(
            [
                "train",
                "--data",
                str(events),
                *COLS,
                "--model",
                "als",
                "--param",
                "iterations=3",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    assert "ALS:" not in capsys.readouterr().err


def later_events(tmp_path, events, new_products_for=range(10, 40)):
    """The training events again, with every event of the customers ``new_products_for`` moved
    onto products the model has never seen, and one row without a customer."""
    import pandas as pd

    frame = pd.read_csv(events, dtype={"customer": str, "sku": str})
    moved = frame["customer"].isin([f"C{c}" for c in new_products_for])
    frame.loc[moved, "sku"] = "NEW-" + frame.loc[moved, "sku"]
    frame.loc[0, "customer"] = None
    path = tmp_path / "later.csv"
    frame.to_csv(path, index=False)
    return path, frame


@pytest.mark.parametrize("fallbacks", [True, False])
def test_customers_whose_every_event_was_dropped_are_counted_and_answered(tmp_path, events, capsys, fallbacks):
    """Customers whose events are all on products the model does not know: the fallbacks answer
    them (as out of core, identically); a bare model counts them; the dropped rows are said."""
    import pandas as pd

    model = tmp_path / "m.npz"
    bare = [] if fallbacks else ["--no-fallbacks"]
    assert main(["train", "--data", str(events), *COLS, "--model", "ease", "--out", str(model), "--quiet", *bare]) == 0
    path, frame = later_events(tmp_path, events)
    emptied = {f"C{c}" for c in range(10, 40)} & set(frame["customer"].dropna())
    others = set(frame["customer"].dropna()) - emptied
    new_rows = int((frame["sku"].str.startswith("NEW-") & frame["customer"].notna()).sum())  # missing_user first
    capsys.readouterr()
    lists = {}
    for out in (str(tmp_path / "r.csv"), str(tmp_path / "blocks") + "/"):
        assert main(["recommend", "--model", str(model), "--data", str(path), "--out", out, "--quiet"]) == 0
        said = capsys.readouterr().out
        assert f"{len(emptied)} customers had no usable event left" in said or (
            fallbacks and f"{len(emptied)} of them had no usable event left" in said
        ), said
        assert "missing_user 1" in said and f"new_item {new_rows}" in said, said
        if out.endswith("/"):
            parts = sorted(p for p in os.listdir(out) if p.startswith("part-"))
            table = pd.concat([pd.read_parquet(os.path.join(out, p)) for p in parts])
        else:
            table = pd.read_csv(out, dtype={"user": str, "item": str})
        lists[out[-1]] = table.sort_values(["user", "rank"]).reset_index(drop=True)[["user", "rank", "item"]]
        assert set(table["user"]) == (others | emptied if fallbacks else others)
        if fallbacks:
            assert set(table.loc[table["user"].isin(emptied), "path"]) == {"popular"}
    pd.testing.assert_frame_equal(lists["v"], lists["/"], check_dtype=False)  # in memory == out of core


def test_recommend_refuses_to_write_an_empty_campaign(tmp_path, events, capsys):
    model = tmp_path / "m.npz"
    argv = ["train", "--data", str(events), *COLS, "--model", "itemknn", "--out", str(model), "--no-fallbacks"]
    assert main([*argv, "--quiet"]) == 0
    path, _ = later_events(tmp_path, events, new_products_for=range(40))  # nothing the model knows
    out = tmp_path / "r.csv"
    one_line_error(capsys, main(["recommend", "--model", str(model), "--data", str(path), "--out", str(out)]),
                   "no customer", "new_item")  # fmt: skip
    header = tmp_path / "header.csv"
    header.write_text("customer,sku\n")
    one_line_error(capsys, main(["recommend", "--model", str(model), "--data", str(header), "--out", str(out)]),
                   "holds no events")  # fmt: skip
    assert not out.exists()


def test_clv_without_dropout_points_to_the_option_that_accepts_it(tmp_path, capsys):
    """BG/NBD on customers who all keep buying runs a -> 0: the error names the command's own
    way out (--accept-bounds, not the library's strict=False), which then writes the table."""
    rng = np.random.default_rng(0)
    customers = rng.integers(0, 50, 400)
    rng.integers(0, 30, 400), rng.random(400)
    days = rng.integers(0, 300, 400)
    path = tmp_path / "log.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer", "time", "amount"])
        for c, d in zip(customers, days):
            w.writerow([c, int(1.7e9 + int(d) * 86400), 5.0])
    argv = ["clv", "--data", str(path), "--user-col", "customer", "--amount-col", "amount", "--penalizer", "0.001"]
    argv += ["--spend-penalizer", "0.001"]  # every amount is 5.0: Gamma-Gamma has no heterogeneity to fit
    out = tmp_path / "clv.csv"
    one_line_error(capsys, main([*argv, "--out", str(out)]), "a -> 0", "rerun with --accept-bounds")
    assert not out.exists()
    assert main([*argv, "--out", str(out), "--accept-bounds"]) == 0
    assert out.exists()


def test_an_unknown_model_parameter_lists_the_models_own(tmp_path, events, capsys):
    argv = ["train", "--data", str(events), *COLS, "--model", "als", "--out", str(tmp_path / "m.npz"), "--quiet"]
    one_line_error(capsys, main([*argv, "--param", "factor=8"]), "ALS has no parameter 'factor'", "factors, ")


def _shop_log():
    import recforge as rf

    pd = pytest.importorskip("pandas")
    ev = rf.datasets.sample().interactions.events
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "customer": ev.user_ids[ev.user],
            "sku": ev.item_ids[ev.item],
            "time": pd.to_datetime(ev.time, unit="s").strftime("%Y-%m-%d %H:%M"),
            # cents, and a few values of ten thousand and more: six significant digits lose them
            "amount": np.round(ev.amount * np.where(rng.random(ev.amount.size) < 0.01, 97.31, 1.0), 2),
        }
    )


def test_a_european_export_reads_as_the_same_log_and_money_is_written_exactly(tmp_path, capsys):
    """Semicolons and decimal commas (--sep ';' --decimal ,) give the customer table of the same
    log written with points; and its money columns are written as they are: total_value
    25920.37 was written 25920.4 (every float had six significant digits)."""
    import recforge as rf

    pd = pytest.importorskip("pandas")
    log = _shop_log()
    log.to_csv(tmp_path / "points.csv", index=False)
    log.to_csv(tmp_path / "commas.csv", index=False, sep=";", decimal=",")
    args = ["--user-col", "customer", "--time-col", "time", "--amount-col", "amount", "--quiet"]
    tables = []
    for name, extra in (("points", []), ("commas", ["--sep", ";", "--decimal", ","])):
        out = tmp_path / f"{name}_customers.csv"
        assert main(["customers", "--data", str(tmp_path / f"{name}.csv"), *extra, *args, "--out", str(out)]) == 0
        tables.append(pd.read_csv(out, dtype={"customer": str}))
    pd.testing.assert_frame_equal(*tables)
    s = rf.customers.summary(log.customer, log.time, log.amount)
    assert (s.total_value >= 1e4).any()
    np.testing.assert_array_equal(tables[0].set_index("customer").loc[s.customer_ids, "total_value"], s.total_value)
    clv = tmp_path / "clv.csv"
    assert main(["clv", "--data", str(tmp_path / "commas.csv"), "--sep", ";", "--decimal", ",", *args,
                 "--out", str(clv)]) == 0  # fmt: skip
    assert pd.read_csv(clv)["clv"].map(repr).str.len().max() > 8  # not cut to six digits
    one_line_error(capsys, main(["customers", "--data", str(tmp_path / "commas.csv"), "--sep", ";", *args]), "2")
    capsys.readouterr()
    # the recommendation lists, in memory and out of core, from weights with decimal commas
    model = tmp_path / "m.npz"
    train = ["train", "--data", str(tmp_path / "commas.csv"), "--sep", ";", "--decimal", ",", *COLS]
    assert main([*train, "--weight-col", "amount", "--model", "itemknn", "--out", str(model), "--quiet"]) == 0
    recommend = ["recommend", "--model", str(model), "--data", str(tmp_path / "commas.csv"), "--sep", ";"]
    assert main([*recommend, "--decimal", ",", "--out", str(tmp_path / "a.csv"), "--quiet"]) == 0
    assert main([*recommend, "--decimal", ",", "--blocks", "2", "--out", str(tmp_path / "b.csv"), "--quiet"]) == 0
    a, b = (pd.read_csv(tmp_path / f"{n}.csv", dtype=str).sort_values(["user", "rank"]) for n in "ab")
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


def test_clv_names_a_horizon_past_what_the_model_computes(tmp_path, capsys):
    """A thousand-year --days wrote an empty purchases column (NaN) for most customers."""
    out = tmp_path / "clv.csv"
    one_line_error(capsys, main(["clv", "--data", "sample", "--days", "365000", "--out", str(out)]),
                   "--days 365000", "shorter horizon")  # fmt: skip
    assert not out.exists()


def test_library_warnings_are_one_line_of_the_command(tmp_path, capsys):
    """A warning of the library printed Python's two lines: a file name, a line number and a
    line of recforge's source."""
    path = tmp_path / "eu.csv"
    path.write_text("user,item,time\na,x,01/12/2024\nb,y,05/12/2024\na,z,12/12/2024\n")
    assert main(["train", "--data", str(path), "--time-col", "time", "--model", "popularity",
                 "--out", str(tmp_path / "m.npz"), "--quiet"]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert err.startswith("recforge train: warning: time: every date reads both month first and day first")
    assert ".py:" not in err and err.count("\n") == 1, err
    # a column of another name is named: "time:" read as if the file had one called so
    path.write_text(path.read_text().replace("user,item,time", "user,item,ordered"))
    assert main(["train", "--data", str(path), "--time-col", "ordered", "--model", "popularity",
                 "--out", str(tmp_path / "m.npz"), "--quiet"]) == 0  # fmt: skip
    assert capsys.readouterr().err.startswith("recforge train: warning: time column 'ordered': every date reads")


def test_customers_say_the_lines_they_left_out_as_every_reader_does(tmp_path, capsys):
    """The summary's report was printed as a Python dict ({'missing_customer': 1, ...})."""
    path = tmp_path / "log.csv"
    path.write_text("user,time,amount\na,2024-01-01,5\n,2024-01-02,3\nb,2024-01-03,-2\nb,2024-01-04,4\n")
    argv = ["customers", "--data", str(path), "--time-col", "time", "--amount-col", "amount"]
    assert main([*argv, "--out", str(tmp_path / "c.csv")]) == 0
    out = capsys.readouterr().out
    assert "2 customers from 4 lines; dropped rows: missing_customer 1, returns 1" in out and "{" not in out


def test_an_empty_out_or_a_full_folder_is_named_as_the_option(tmp_path, capsys, monkeypatch):
    """--out '' was offered the folder '/' ("or a folder ending in '/': '/'"), and a folder that
    holds other files was called "out", the library's name, not the option's."""
    model, events = tmp_path / "m.npz", tmp_path / "events.csv"
    events.write_text("user,item\n" + "".join(f"c{u},p{(u * 7 + j) % 13}\n" for u in range(30) for j in range(3)))
    assert main(["train", "--data", str(events), "--model", "popularity", "--out", str(model), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["recommend", "--model", str(model), "--data", str(events), "--out", "", "--quiet"]) == 2
    assert capsys.readouterr().err == "recforge recommend: error: --out is empty: give a file name\n"
    monkeypatch.chdir(tmp_path)  # holds the model and the events
    assert main(["recommend", "--model", str(model), "--data", str(events), "--out", ".", "--quiet"]) == 2
    assert capsys.readouterr().err.startswith("recforge recommend: error: --out '.' is not empty")

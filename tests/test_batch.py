"""rf.batch.recommend (out-of-core): the lists equal the in-memory model's, whatever the input's
order and format; unknown customers, dropped rows, empty blocks; an interrupted run resumed."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import recforge as rf
import scipy.sparse as sp
from recforge.batch.spill import block_of

pd = pytest.importorskip("pandas", reason="out-of-core scoring needs the io extra (pandas, pyarrow)")
pytest.importorskip("pyarrow", reason="out-of-core scoring needs the io extra (pandas, pyarrow)")


def events(seed: int, n: int, n_users: int = 60, n_items: int = 40, prefix: str = "c"):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "user": [f"{prefix}{u}" for u in rng.integers(0, n_users, n)],
            "item": [f"p{i}" for i in rng.integers(0, n_items, n)],
            "weight": rng.choice([1.0, 2.0, 5.0], n),
        }
    )


def read_lists(out) -> pd.DataFrame:
    parts = sorted(f for f in os.listdir(out) if f.startswith("part-"))
    return pd.concat([pd.read_parquet(os.path.join(out, f)) for f in parts], ignore_index=True)


def in_memory(model, frame, k):
    """What the model answers for the customers of ``frame`` from their events, in memory."""
    empty = rf.Interactions.from_arrays(np.array([], dtype=object), np.array([], dtype=object))
    known = rf.Interactions(
        sp.csr_matrix((0, model.n_items_), dtype=np.float32),
        np.asarray(model.user_ids_)[:0],
        np.asarray(model.item_ids_),
        spec=dict(empty.spec, weight_col="weight", time_col=None, amount_col=None, order_col=None),
    )
    history = known.transform(frame, new_users="append")
    labels = pd.Index(model.user_ids_).get_indexer(history.user_ids)
    ids, scores, paths = model.recommend(labels, history.matrix, k=k, return_paths=True)
    out = {}
    for r, customer in enumerate(history.user_ids.tolist()):
        ok = ids[r] >= 0
        out[customer] = (model.item_ids_[ids[r][ok]].tolist(), scores[r][ok], paths[r][ok])
    return out


@pytest.fixture
def fitted():
    train = events(0, 1500)
    inter = rf.Interactions.from_pandas(train, weight_col="weight")
    return rf.ColdStart(rf.ALS(factors=8, iterations=3, random_state=0)).fit(inter), train


@pytest.mark.parametrize("fmt", ["parquet", "csv", "dataset"])
def test_lists_equal_the_in_memory_model_whatever_the_order(tmp_path, fitted, fmt):
    model, train = fitted
    new = events(1, 300, n_users=80, prefix="c")  # customers c60.. are new
    frame = pd.concat([train, new], ignore_index=True).sample(frac=1.0, random_state=3)  # shuffled
    frame.loc[frame.index[:5], "item"] = "unknown-product"
    if fmt == "csv":
        source = tmp_path / "events.csv"
        frame.to_csv(source, index=False)
    elif fmt == "parquet":
        source = tmp_path / "events.parquet"
        frame.to_parquet(source, index=False)
    else:
        source = tmp_path / "events"
        source.mkdir()
        for j, start in enumerate(range(0, len(frame), 700)):
            frame.iloc[start : start + 700].to_parquet(source / f"piece-{j}.parquet", index=False)
    report = rf.batch.recommend(model, source, tmp_path / "out", k=7, blocks=5, chunk_rows=137)
    got = read_lists(tmp_path / "out")
    want = in_memory(model, frame, 7)
    assert set(got.user) == set(want) and report["customers"] == len(want)
    assert got.groupby("user").size().max() == 7 and not got.duplicated(["user", "rank"]).any()
    for customer, rows in got.sort_values(["user", "rank"]).groupby("user"):
        items, scores, paths = want[customer]
        assert rows["item"].tolist() == items
        np.testing.assert_allclose(rows["score"].to_numpy(), scores, rtol=1e-6)
        assert rows["path"].tolist() == [rf.ColdStart.PATHS[p] for p in paths]
    assert report["dropped"] == {"new_item": 5} and report["recommendations"] == len(got)
    assert report["paths"]["model"] == 60 and sum(report["paths"].values()) == len(want)
    assert sorted(os.listdir(tmp_path / "out")) == ["_SUCCESS", "_recforge_job.json"] + [
        f"part-{b:05d}.parquet" for b in range(5)
    ]
    assert json.loads((tmp_path / "out" / "_SUCCESS").read_text())["customers"] == len(want)


def test_a_model_without_fallbacks_skips_the_customers_it_does_not_know(tmp_path, fitted):
    _, train = fitted
    model = rf.ItemKNN(neighbours=10).fit(rf.Interactions.from_pandas(train, weight_col="weight"))
    frame = pd.concat([train, events(1, 100, n_users=80)], ignore_index=True)
    frame.to_parquet(tmp_path / "e.parquet", index=False)
    report = rf.batch.recommend(model, tmp_path / "e.parquet", tmp_path / "out", k=4, blocks=2)
    got = read_lists(tmp_path / "out")
    assert "path" not in got.columns
    assert set(got.user) <= set(model.user_ids_.tolist())
    assert report["skipped_customers"] == len(set(frame.user) - set(model.user_ids_.tolist())) > 0


def test_an_interrupted_run_resumes_without_redoing_or_duplicating(tmp_path, fitted, monkeypatch):
    model, train = fitted
    train.to_parquet(tmp_path / "e.parquet", index=False)
    clean = rf.batch.recommend(model, tmp_path / "e.parquet", tmp_path / "clean", k=5, blocks=6)
    calls = []
    real = rf.batch.BlockScorer.score

    def failing(self, frame, *customers):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C during the third block
        return real(self, frame, *customers)

    monkeypatch.setattr(rf.batch.BlockScorer, "score", failing)
    with pytest.raises(KeyboardInterrupt):
        rf.batch.recommend(model, tmp_path / "e.parquet", tmp_path / "out", k=5, blocks=6)
    assert sorted(f for f in os.listdir(tmp_path / "out") if f.startswith("part-")) == [
        "part-00000.parquet",
        "part-00001.parquet",
    ]
    assert not (tmp_path / "out" / "_SUCCESS").exists()
    monkeypatch.setattr(rf.batch.BlockScorer, "score", real)
    again = rf.batch.recommend(model, tmp_path / "e.parquet", tmp_path / "out", k=5)  # blocks from the job
    assert again["resumed_blocks"] == 2 and again["blocks"] == 6
    pd.testing.assert_frame_equal(read_lists(tmp_path / "out"), read_lists(tmp_path / "clean"))
    assert clean["customers"] == 60
    assert rf.batch.recommend(model, tmp_path / "e.parquet", tmp_path / "out", k=5)["resumed_blocks"] == 6


def test_another_fit_of_the_same_model_is_another_job(tmp_path, fitted):
    """A job was known by the model's repr and shape: a second fit of ALS without a seed (or on
    other data of the same shape) read as the same job, so the rerun into the folder of the
    first returned the first model's lists as done, or mixed its blocks with them."""
    _, train = fitted
    inter = rf.Interactions.from_pandas(train, weight_col="weight")
    first, second = (rf.ColdStart(rf.ALS(factors=8, iterations=3)).fit(inter) for _ in range(2))
    assert repr(first) == repr(second) and not np.array_equal(first.model_.item_factors_, second.model_.item_factors_)
    train.to_parquet(tmp_path / "e.parquet", index=False)
    rf.batch.recommend(first, tmp_path / "e.parquet", tmp_path / "out", k=5, blocks=2)
    with pytest.raises(ValueError, match="another job"):
        rf.batch.recommend(second, tmp_path / "e.parquet", tmp_path / "out", k=5)
    first.save(tmp_path / "first.npz")  # the same fit, saved and loaded: the same job
    again = rf.batch.recommend(rf.load(tmp_path / "first.npz"), tmp_path / "e.parquet", tmp_path / "out", k=5)
    assert again["resumed_blocks"] == 2
    manifest = tmp_path / "out" / "_recforge_job.json"  # a job of an earlier version, without the digest
    job = json.loads(manifest.read_text())
    del job["model_digest"]
    manifest.write_text(json.dumps(job))
    assert rf.batch.recommend(first, tmp_path / "e.parquet", tmp_path / "out", k=5)["resumed_blocks"] == 2


def test_another_job_or_a_foreign_folder_is_refused(tmp_path, fitted):
    model, train = fitted
    train.to_parquet(tmp_path / "e.parquet", index=False)
    rf.batch.recommend(model, tmp_path / "e.parquet", tmp_path / "out", k=5, blocks=2)
    with pytest.raises(ValueError, match="another job"):
        rf.batch.recommend(model, tmp_path / "e.parquet", tmp_path / "out", k=6)
    with pytest.raises(ValueError, match="2 blocks"):
        rf.batch.recommend(model, tmp_path / "e.parquet", tmp_path / "out", k=5, blocks=3)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not empty"):
        rf.batch.recommend(model, tmp_path / "e.parquet", tmp_path / "mine", k=5)
    with pytest.raises(ValueError, match="does not exist"):
        rf.batch.recommend(model, tmp_path / "nothing.parquet", tmp_path / "x", k=5)
    with pytest.raises(ValueError, match="raw ids"):
        rf.batch.recommend(rf.ItemKNN().fit(sp.eye(5, format="csr")),
                           tmp_path / "e.parquet", tmp_path / "y")  # fmt: skip


def test_a_job_that_failed_before_any_list_leaves_the_folder_free(tmp_path, fitted):
    """A run that stopped while splitting its input (here a download cut short) left its plan in
    the folder, and the rerun on the file downloaded again was "another job": the folder had to
    be emptied by hand though it held nothing. Once a block is written, the folder is the job's."""
    import gzip

    model, _ = fitted
    train = events(7, 150_000, n_users=30_000)  # over a MiB of text: its start reads, the cut is met while splitting
    whole = gzip.compress(train.to_csv(index=False).encode())
    (tmp_path / "e.csv.gz").write_bytes(whole[: len(whole) * 9 // 10])
    with pytest.raises(ValueError, match="damaged or cut short"):
        rf.batch.recommend(model, tmp_path / "e.csv.gz", tmp_path / "out", k=5, blocks=2)
    assert (tmp_path / "out" / "_recforge_job.json").exists()
    (tmp_path / "e.csv.gz").write_bytes(whole)  # downloaded again: another size, another job
    done = rf.batch.recommend(model, tmp_path / "e.csv.gz", tmp_path / "out", k=5, blocks=2)
    train.to_parquet(tmp_path / "e.parquet", index=False)
    clean = rf.batch.recommend(model, tmp_path / "e.parquet", tmp_path / "clean", k=5, blocks=2)
    assert done["recommendations"] == clean["recommendations"] > 0
    pd.testing.assert_frame_equal(read_lists(tmp_path / "out"), read_lists(tmp_path / "clean"))
    with pytest.raises(ValueError, match="another job"):  # its lists are there now
        rf.batch.recommend(model, tmp_path / "e.parquet", tmp_path / "out", k=5, blocks=2)


@pytest.mark.parametrize("suffix", [".csv.gz", ".csv.bz2", ".csv.xz", ".zip"])
def test_a_compressed_csv_is_cut_into_as_many_blocks_as_its_text(tmp_path, fitted, suffix):
    """The number of blocks came from the file's size over the length of its first lines, read
    as raw bytes: a gzip CSV counted 1,147 of 19,999 lines, so each block held 17 times the
    events memory was sized for."""
    import bz2
    import gzip
    import lzma
    import zipfile

    model, _ = fitted
    frame = events(5, 20000, n_users=60)
    text = frame.to_csv(index=False).encode()
    (tmp_path / "e.csv").write_bytes(text)
    if suffix == ".zip":
        with zipfile.ZipFile(tmp_path / "e.zip", "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("e.csv", text)
    else:
        (tmp_path / f"e{suffix}").write_bytes(
            {".csv.gz": gzip, ".csv.bz2": bz2, ".csv.xz": lzma}[suffix].compress(text)
        )
    plain = rf.batch.recommend(model, tmp_path / "e.csv", tmp_path / "plain", k=3, block_events=2000)
    packed = rf.batch.recommend(model, tmp_path / f"e{suffix}", tmp_path / "packed", k=3, block_events=2000)
    assert plain["blocks"] >= 10 and abs(packed["blocks"] - plain["blocks"]) <= 1
    pd.testing.assert_frame_equal(read_lists(tmp_path / "packed"), read_lists(tmp_path / "plain"))


def test_what_cannot_be_scored_or_written_is_named(tmp_path, fitted):
    """A file as out raised FileExistsError, a DataFrame as events os.fspath's TypeError, an
    unfitted model "must know its raw ids", and collect wrote a CSV named .xlsx."""
    model, train = fitted
    train.to_parquet(tmp_path / "e.parquet", index=False)
    with pytest.raises(ValueError, match="out .* is a file; the lists go to a folder"):
        rf.batch.recommend(model, tmp_path / "e.parquet", tmp_path / "e.parquet", k=5)
    with pytest.raises(TypeError, match="events must be a path .* got DataFrame; for events in memory"):
        rf.batch.recommend(model, train, tmp_path / "out", k=5)
    with pytest.raises(rf.NotFittedError, match="ALS is not fitted"):
        rf.batch.recommend(rf.ALS(), tmp_path / "e.parquet", tmp_path / "out", k=5)
    with pytest.raises(TypeError, match="model must be a fitted recforge model, got the class ALS"):
        rf.batch.recommend(rf.ALS, tmp_path / "e.parquet", tmp_path / "out", k=5)
    assert not (tmp_path / "out").exists()  # refused before any work
    rf.batch.recommend(model, tmp_path / "e.parquet", tmp_path / "out", k=5)
    with pytest.raises(ValueError, match=r"recforge writes \.csv, \.csv\.gz, \.parquet files"):
        rf.batch.collect(tmp_path / "out", tmp_path / "lists.xlsx")
    assert not (tmp_path / "lists.xlsx").exists()
    assert rf.batch.collect(tmp_path / "out", tmp_path / "lists.csv.gz") == len(read_lists(tmp_path / "out"))


def test_a_csv_without_a_header_line_is_read_with_csv_names(tmp_path, fitted):
    """csv_names names the fields of a headerless CSV (the same lists as the file with its
    header); a rerun under other names is another job; Parquet and bad names are refused."""
    model, train = fitted
    train.to_csv(tmp_path / "with.csv", index=False)
    train.to_csv(tmp_path / "without.csv", index=False, header=False)
    rf.batch.recommend(model, tmp_path / "with.csv", tmp_path / "a", k=5, blocks=2)
    names = ["user", "item", "weight"]
    rf.batch.recommend(model, tmp_path / "without.csv", tmp_path / "b", k=5, blocks=2, csv_names=names)
    a, b = (read_lists(tmp_path / d).sort_values(["user", "rank"]).reset_index(drop=True) for d in "ab")
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ValueError, match="another job"):
        rf.batch.recommend(model, tmp_path / "without.csv", tmp_path / "b", k=5, csv_names=["user", "item", "w"])
    with pytest.raises(ValueError, match="line 1 has 3 fields but 2 column names"):
        rf.batch.recommend(model, tmp_path / "without.csv", tmp_path / "c", k=5, csv_names=["user", "item"])
    train.to_parquet(tmp_path / "e.parquet", index=False)
    with pytest.raises(ValueError, match="Parquet names its own columns"):
        rf.batch.recommend(model, tmp_path / "e.parquet", tmp_path / "d", k=5, csv_names=names)
    with pytest.raises(TypeError, match="csv_names must be a sequence"):
        rf.batch.recommend(model, tmp_path / "without.csv", tmp_path / "e", k=5, csv_names="user,item,weight")
    with pytest.raises(ValueError, match="names its columns \\(user, item, weight\\)"):  # a header read as data
        rf.batch.recommend(model, tmp_path / "with.csv", tmp_path / "f", k=5, csv_names=names)


def test_a_whitespace_separated_log_is_split_as_in_memory(tmp_path, fitted):
    """sep="whitespace" (indented columns split by runs of blanks, CDNOW_master.txt's layout):
    out of core, pandas' reader splits the file by blocks; the lists equal those of the same
    events as CSV."""
    model, train = fitted
    train.to_csv(tmp_path / "e.csv", index=False)
    lines = ["  user   item  weight"] + [f"   {u}  {i}\t{w:g} " for u, i, w in train.itertuples(index=False)]
    (tmp_path / "e.txt").write_text("\n".join(lines) + "\n")
    rf.batch.recommend(model, tmp_path / "e.csv", tmp_path / "a", k=5, blocks=3)
    rf.batch.recommend(model, tmp_path / "e.txt", tmp_path / "b", k=5, blocks=3, sep="whitespace")
    a, b = (read_lists(tmp_path / d).sort_values(["user", "rank"]).reset_index(drop=True) for d in "ab")
    pd.testing.assert_frame_equal(a, b)


def test_a_file_split_by_several_characters_keeps_its_quoted_fields(tmp_path, fitted):
    """sep="::" (MovieLens 1M's): a quoted description holding "::" or a tab stays one field,
    out of core as in memory (pandas' Python engine split it, and every column of the file
    moved one place: customer ids became product ids); the lists equal the CSV's."""
    model, train = fitted
    train.to_csv(tmp_path / "e.csv", index=False)
    notes = ['"hot :: water"', "tab\there", '"say ""hi"""']
    lines = ["user::item::weight::note"] + [
        f"{u}::{i}::{w:g}::{notes[n % 3]}" for n, (u, i, w) in enumerate(train.itertuples(index=False))
    ]
    (tmp_path / "e.txt").write_text("\n".join(lines) + "\n")
    rf.batch.recommend(model, tmp_path / "e.csv", tmp_path / "a", k=5, blocks=3)
    rf.batch.recommend(model, tmp_path / "e.txt", tmp_path / "b", k=5, blocks=3, sep="::", chunk_rows=7)
    a, b = (read_lists(tmp_path / d).sort_values(["user", "rank"]).reset_index(drop=True) for d in "ab")
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("line", [1, 5])
@pytest.mark.parametrize("sep", [",", ";;"])
def test_a_line_with_an_extra_field_is_an_error_out_of_core_too(tmp_path, fitted, line, sep):
    """A description holding the delimiter unquoted: the line has a field more than the header.
    On the first line pandas took the first column for an index and shifted every line's
    columns; further down a reader of some columns never looked. Both are errors, as in memory."""
    model, train = fitted
    rows = [
        f"{d}{sep}{u}{sep}{i}{sep}{w:g}" for d, (u, i, w) in zip(["mug"] * len(train), train.itertuples(index=False))
    ]
    rows[line - 1] = rows[line - 1].replace("mug", f"mug{sep} large", 1)
    (tmp_path / "e.csv").write_text(f"note{sep}user{sep}item{sep}weight\n" + "\n".join(rows) + "\n")
    with pytest.raises(
        ValueError, match=f"line {line + 1} has 5 fields but the header has 4|Expected 4 fields in line {line + 1}"
    ):
        rf.batch.recommend(model, tmp_path / "e.csv", tmp_path / "out", k=5, sep=sep)
    assert not list((tmp_path / "out").glob("part-*")) if (tmp_path / "out").exists() else True


@pytest.mark.parametrize("sep", [";", ";;"])
def test_a_file_in_another_encoding_is_named_with_the_way_out(tmp_path, fitted, sep):
    """A Latin-1 export read as UTF-8: a ValueError naming the file and the option, not a bare
    UnicodeDecodeError; with its encoding given it is read."""
    model, train = fitted
    lines = [f"user{sep}item{sep}weight{sep}note"] + [
        f"{u}{sep}{i}{sep}{w:g}{sep}café" for u, i, w in train.itertuples(index=False)
    ]
    (tmp_path / "e.csv").write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    with pytest.raises(ValueError, match=r"'.*e\.csv' is not utf-8 text .*encoding='latin-1'"):
        rf.batch.recommend(model, tmp_path / "e.csv", tmp_path / "a", k=5, sep=sep)
    report = rf.batch.recommend(model, tmp_path / "e.csv", tmp_path / "b", k=5, sep=sep, encoding="latin-1")
    assert report["rows"] == len(train)


def test_integer_ids_and_more_blocks_than_customers(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"user": rng.integers(0, 5, 60), "item": rng.integers(100, 120, 60)})
    model = rf.ColdStart(rf.ItemKNN(neighbours=5)).fit(rf.Interactions.from_pandas(frame))
    frame.to_csv(tmp_path / "e.csv", index=False)
    report = rf.batch.recommend(model, tmp_path / "e.csv", tmp_path / "out", k=3, blocks=12)
    got = read_lists(tmp_path / "out")
    assert report["customers"] == 5 and set(got.user) == set(range(5)) and got.user.dtype.kind == "i"
    assert got.item.dtype.kind == "i" and set(got.item) <= set(range(100, 120))
    # a block without customers has no file, except block 0 (the columns of an empty job)
    full = set(block_of(np.arange(5, dtype=np.int64), 12).tolist())
    parts = sorted(f for f in os.listdir(tmp_path / "out") if f.startswith("part-"))
    assert parts == [f"part-{b:05d}.parquet" for b in sorted(full | {0})] and len(parts) < 12
    assert list(pd.read_parquet(tmp_path / "out" / parts[0]).columns) == ["user", "rank", "item", "score", "path"]


def test_an_empty_job_has_its_columns_and_many_blocks_cost_no_files(tmp_path):
    frame = pd.DataFrame({"user": ["a", "b", "a"], "item": ["x", "y", "y"]})
    model = rf.ColdStart(rf.ItemKNN(neighbours=5)).fit(rf.Interactions.from_pandas(frame))
    frame.iloc[:0].to_csv(tmp_path / "empty.csv", index=False)
    report = rf.batch.recommend(model, tmp_path / "empty.csv", tmp_path / "none", k=3, blocks=4)
    assert report["customers"] == 0
    assert sorted(os.listdir(tmp_path / "none")) == ["_SUCCESS", "_recforge_job.json", "part-00000.parquet"]
    assert list(pd.read_parquet(tmp_path / "none" / "part-00000.parquet").columns) == [
        "user", "rank", "item", "score", "path"]  # fmt: skip
    assert rf.batch.collect(tmp_path / "none", tmp_path / "none.csv") == 0
    assert (tmp_path / "none.csv").read_text().splitlines() == ["user,rank,item,score,path"]
    frame.to_csv(tmp_path / "e.csv", index=False)
    report = rf.batch.recommend(model, tmp_path / "e.csv", tmp_path / "out", k=3, blocks=20_000)
    assert report["customers"] == 2 and len(os.listdir(tmp_path / "out")) <= 5


@pytest.mark.parametrize("ids", ["text", "integers"])
def test_a_job_whose_first_block_is_empty_reads_as_one_table(tmp_path, ids):
    """Block 0 is always written, for the columns; without customers its text columns were
    Parquet's null type, so the folder could not be read as one table (pandas, Dask, Spark:
    "Unsupported cast from large_string to null") and --out lists.parquet failed at the end
    ("Table schema does not match"). They are typed as the model's ids now."""
    rng = np.random.default_rng(0)
    users = np.array(["a", "b", "c", "d", "e"]) if ids == "text" else np.array([11, 23, 35, 47, 59])
    frame = pd.DataFrame({"user": users[rng.integers(0, 5, 60)], "item": [f"p{i}" for i in rng.integers(0, 20, 60)]})
    model = rf.ColdStart(rf.ItemKNN(neighbours=5)).fit(rf.Interactions.from_pandas(frame))
    frame.to_csv(tmp_path / "e.csv", index=False)
    blocks = next(b for b in range(2, 200) if 0 not in block_of(np.asarray(model.user_ids_), b).tolist())
    rf.batch.recommend(model, tmp_path / "e.csv", tmp_path / "out", k=3, blocks=blocks)
    assert pd.read_parquet(tmp_path / "out" / "part-00000.parquet").empty
    whole = pd.read_parquet(tmp_path / "out")  # every part, as one table
    assert len(whole) == 15 and set(whole.user.tolist()) == set(users.tolist())
    assert rf.batch.collect(tmp_path / "out", tmp_path / "lists.parquet") == 15
    collected = pd.read_parquet(tmp_path / "lists.parquet")
    pd.testing.assert_frame_equal(collected, whole)


def test_the_split_holds_no_file_open_per_block(tmp_path, fitted):
    """A thousand blocks or more used to fail where a process may hold 1,024 files (256 on macOS)."""
    resource = pytest.importorskip("resource")
    model, _ = fitted
    frame = events(2, 9000, n_users=3000)
    frame.to_csv(tmp_path / "e.csv", index=False)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, hard), hard))
    try:  # several chunks: a block's file holds one stream per chunk that has its rows
        report = rf.batch.recommend(model, tmp_path / "e.csv", tmp_path / "out", k=3, blocks=2000, chunk_rows=2500)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    want = in_memory(model, frame, 3)
    got = read_lists(tmp_path / "out")
    assert report["customers"] == len(want) and set(got.user) == set(want)
    for customer, rows in got.sort_values(["user", "rank"]).groupby("user"):
        assert rows["item"].tolist() == want[customer][0]


def test_cli_recommend_out_of_core_writes_what_the_in_memory_command_writes(tmp_path, fitted):
    from recforge.cli import main

    _, train = fitted
    train.to_csv(tmp_path / "e.csv", index=False)
    model = str(tmp_path / "m.npz")
    assert main(["train", "--data", str(tmp_path / "e.csv"), "--weight-col", "weight", "--model", "itemknn",
                 "--out", model, "--quiet"]) == 0  # fmt: skip
    base = ["recommend", "--model", model, "--data", str(tmp_path / "e.csv"), "--k", "5", "--quiet"]
    assert main([*base, "--out", str(tmp_path / "memory.csv")]) == 0
    assert main([*base, "--out", str(tmp_path / "blocks.csv"), "--blocks", "3"]) == 0
    assert main([*base, "--out", str(tmp_path / "folder") + "/"]) == 0
    assert not (tmp_path / "blocks.csv.blocks").exists()  # the work folder is gone once merged
    key = ["user", "rank"]
    memory = pd.read_csv(tmp_path / "memory.csv").sort_values(key).reset_index(drop=True)
    blocks = pd.read_csv(tmp_path / "blocks.csv").sort_values(key).reset_index(drop=True)
    folder = read_lists(tmp_path / "folder").sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(memory[["user", "rank", "item", "path"]], blocks[["user", "rank", "item", "path"]])
    assert folder["item"].tolist() == memory["item"].tolist()
    np.testing.assert_allclose(folder["score"], memory["score"], rtol=1e-5)


def test_cli_takes_a_compressed_input_out_of_core_by_the_size_of_its_text(tmp_path, fitted, monkeypatch, capsys):
    """The automatic switch to blocks compared a .csv.gz's own size with the threshold: a gzip
    CSV of 5 GB of text (about 600 MB) was read into memory."""
    import gzip

    from recforge.cli import commands, main

    _, train = fitted
    text = train.to_csv(index=False).encode()
    (tmp_path / "e.csv.gz").write_bytes(gzip.compress(text))
    model = str(tmp_path / "m.npz")
    assert main(["train", "--data", str(tmp_path / "e.csv.gz"), "--model", "itemknn", "--out", model, "--quiet"]) == 0
    compressed = (tmp_path / "e.csv.gz").stat().st_size
    monkeypatch.setattr(commands, "OUT_OF_CORE_BYTES", (compressed + len(text)) // 2)  # between the two
    capsys.readouterr()
    argv = ["recommend", "--model", model, "--data", str(tmp_path / "e.csv.gz"), "--k", "5", "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "lists.csv")]) == 0
    assert " in 1 block" in capsys.readouterr().out  # out of core, though the file is small


def test_products_bought_before_may_be_offered_again_in_memory_and_out_of_core(tmp_path, fitted):
    """exclude_seen=False (recforge recommend --exclude-seen none): a customer's own products
    may come back (replenishment), in the lists the model gives in memory, block by block, and
    at the command line; a rerun with the other setting into the same folder is another job."""
    from recforge.cli import main

    model, train = fitted
    train.to_parquet(tmp_path / "e.parquet", index=False)
    rf.batch.recommend(model, tmp_path / "e.parquet", tmp_path / "again", k=5, blocks=3, exclude_seen=False)
    lists = read_lists(tmp_path / "again")
    history = model.user_ids_  # the fitted customers, in the model's rows
    inter = rf.Interactions.from_pandas(train, weight_col="weight")
    rows = inter.user_index(history)
    ids, _ = model.recommend(rows, inter.matrix[rows], k=5, exclude_seen=False)
    want = {(u, r + 1, model.item_ids_[i]) for u, row in zip(history, ids) for r, i in enumerate(row) if i >= 0}
    assert set(zip(lists.user, lists["rank"], lists["item"])) == want
    seen = set(zip(train.user, train["item"]))
    assert any((u, i) in seen for u, i in zip(lists.user, lists["item"]))
    with pytest.raises(ValueError, match="another job"):
        rf.batch.recommend(model, tmp_path / "e.parquet", tmp_path / "again", k=5, blocks=3)
    with pytest.raises(TypeError, match="exclude_seen"):
        rf.batch.recommend(model, tmp_path / "e.parquet", tmp_path / "other", k=5, exclude_seen="no")
    path = str(tmp_path / "m.npz")
    model.save(path)
    base = ["recommend", "--model", path, "--data", str(tmp_path / "e.parquet"), "--k", "5", "--quiet"]
    assert main([*base, "--exclude-seen", "none", "--out", str(tmp_path / "memory.csv")]) == 0
    assert main([*base, "--exclude-seen", "none", "--out", str(tmp_path / "blocks.csv"), "--blocks", "2"]) == 0
    for name in ("memory.csv", "blocks.csv"):
        table = pd.read_csv(tmp_path / name, dtype=str)
        assert set(zip(table.user, table["rank"].astype(int), table["item"])) == want


def test_cli_out_of_core_refuses_what_it_cannot_do(tmp_path, fitted, capsys):
    from recforge.cli import main

    _, train = fitted
    train.to_csv(tmp_path / "e.csv", index=False)
    model = str(tmp_path / "m.npz")
    main(["train", "--data", str(tmp_path / "e.csv"), "--model", "itemknn", "--out", model, "--quiet"])
    base = ["recommend", "--model", model, "--data", str(tmp_path / "e.csv"), "--out", str(tmp_path / "f") + "/"]
    base.append("--quiet")
    assert main([*base, "--customers", str(tmp_path / "absent.csv")]) == 2
    assert main([*base, "--customers", str(tmp_path / "e.csv"), "--user-key", "client"]) == 2
    assert main([*base, "--blocks", "0"]) == 2
    assert main(["recommend", "--model", model, "--data", "sample", "--out", str(tmp_path / "g") + "/"]) == 2
    bare = str(tmp_path / "bare.npz")
    main(["train", "--data", str(tmp_path / "e.csv"), "--model", "itemknn", "--no-fallbacks", "--out", bare, "--quiet"])
    assert main(["recommend", "--model", bare, "--data", str(tmp_path / "e.csv"), "--customers",
                 str(tmp_path / "e.csv"), "--out", str(tmp_path / "h") + "/", "--quiet"]) == 2  # fmt: skip
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 5 and "Traceback" not in "".join(err)
    assert "--customers: no such file" in err[0] and "no column 'client'" in err[1]
    assert "--blocks must be >= 1" in err[2] and "sample" in err[3] and "no fallbacks" in err[4]


def test_descriptions_and_names_are_applied_to_every_block_and_kept_on_resume(tmp_path, fitted):
    model, train = fitted
    train.to_parquet(tmp_path / "e.parquet", index=False)
    items = np.asarray(model.item_ids_)
    described = {item: f"product «{item}»" for item in items[:-3]}  # three without a description
    names = {"user": "customer", "item": "sku"}
    args = dict(k=5, blocks=3, descriptions=described, names=names)
    rf.batch.recommend(model, tmp_path / "e.parquet", tmp_path / "out", **args)
    got = read_lists(tmp_path / "out").sort_values(["customer", "rank"]).reset_index(drop=True)
    assert list(got.columns[:4]) == ["customer", "rank", "sku", "description"]
    want = in_memory(model, train, 5)
    for customer, rows in got.groupby("customer"):
        assert rows["sku"].tolist() == want[customer][0]
    text = [d if isinstance(d, str) else None for d in got["description"]]  # null reads back as NaN or None
    assert text == [described.get(i) for i in got["sku"]] and None in text
    with pytest.raises(ValueError, match="another job"):  # the same folder with other names
        rf.batch.recommend(model, tmp_path / "e.parquet", tmp_path / "out", k=5, blocks=3)
    assert rf.batch.recommend(model, tmp_path / "e.parquet", tmp_path / "out", **args)["resumed_blocks"] == 3
    with pytest.raises(ValueError, match="renames no output column"):
        rf.batch.recommend(model, tmp_path / "e.parquet", tmp_path / "o2", k=5, names={"customer": "x"})
    with pytest.raises(TypeError, match="names"):
        rf.batch.recommend(model, tmp_path / "e.parquet", tmp_path / "o3", k=5, names={"user": 3})
    with pytest.raises(ValueError, match="one name"):
        rf.batch.recommend(model, tmp_path / "e.parquet", tmp_path / "o4", k=5, names={"user": "item"})


def test_missing_ids_are_counted_and_never_split_a_customer(tmp_path):
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"user": rng.integers(0, 30, 400), "item": rng.integers(0, 25, 400)})
    model = rf.ColdStart(rf.ItemKNN(neighbours=5)).fit(rf.Interactions.from_pandas(frame))
    text = frame.astype(str)
    text.loc[[3, 250], "user"] = ""  # two rows without a customer: their chunks hash ids as nullable ints
    text.to_csv(tmp_path / "e.csv", index=False)
    report = rf.batch.recommend(model, tmp_path / "e.csv", tmp_path / "out", k=3, blocks=4, chunk_rows=50)
    got = read_lists(tmp_path / "out")
    assert not got.duplicated(["user", "rank"]).any() and report["customers"] == got.user.nunique() == 30
    assert report["dropped"] == {"missing_user": 2}


def test_a_customer_table_is_split_with_the_events_and_answers_those_without_any(tmp_path):
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"user": rng.integers(0, 40, 600), "item": rng.integers(0, 30, 600)})
    inter = rf.Interactions.from_pandas(frame)
    attributes = pd.DataFrame({"id": np.arange(40), "region": np.where(np.arange(40) % 3, "north", "south"),
                               "age": np.arange(40) % 7 * 10.0})  # fmt: skip
    users = rf.features(attributes, ids=inter.user_ids, id_col="id", categorical="region", numeric="age")
    model = rf.ColdStart(rf.ItemKNN(neighbours=8)).fit(inter, user_features=users)
    later = frame.iloc[:50]
    later.to_parquet(tmp_path / "e.parquet", index=False)
    table = pd.DataFrame(  # new customers 100-104 (no events), one known without events, gaps
        {
            "id": pd.array([100, 101, 102, 103, 104, 101, None, 7], dtype="Int64"),
            "region": ["south", "north", None, "north", "south", "south", "north", "north"],
            "age": [10.0, 60.0, 30.0, None, 0.0, 20.0, 5.0, 10.0],
        }
    )
    table.to_parquet(tmp_path / "who.parquet", index=False)
    args = dict(k=4, blocks=5, customers=tmp_path / "who.parquet", customer_key="id")
    report = rf.batch.recommend(model, tmp_path / "e.parquet", tmp_path / "out", **args)
    with_events = set(later["user"])
    listed = {100, 101, 102, 103, 104, 7}
    assert report["customers"] == len(with_events | listed)
    assert report["customers_without_events"] == len(listed - with_events)
    assert report["customer_rows_dropped"] == {
        "missing customer id": 1, "duplicate customer id (the last row kept)": 1}  # fmt: skip
    got = read_lists(tmp_path / "out")
    assert set(got["user"]) == with_events | listed and got["user"].dtype.kind == "i"

    # What the model answers in memory: the table's last row for 101, empty histories.
    ids = np.array(sorted(with_events | listed))
    known = inter.transform(later, new_users="append")
    at = pd.Index(known.user_ids).get_indexer(ids)
    H = sp.vstack([known.matrix, sp.csr_matrix((1, known.matrix.shape[1]))], format="csr")[np.where(at < 0, -1, at)]
    H = sp.csr_matrix(H.multiply(np.asarray(at >= 0)[:, None]))  # listed customers without events: empty rows
    last = table.dropna(subset=["id"]).drop_duplicates("id", keep="last").set_index("id")
    rows = last.reindex(ids).reset_index()
    U = model.user_encoder_.transform({"region": rows["region"].to_numpy(), "age": rows["age"].to_numpy()})
    U = sp.csr_matrix(U.multiply(np.asarray(rows["id"].isin(last.index))[:, None]))
    labels = pd.Index(model.user_ids_).get_indexer(ids)
    want, _, _ = model.recommend(labels, H, k=4, user_features=U, return_paths=True)
    for r, customer in enumerate(ids.tolist()):
        mine = got[got["user"] == customer].sort_values("rank")["item"].tolist()
        assert mine == model.item_ids_[want[r][want[r] >= 0]].tolist(), customer

    with pytest.raises(ValueError, match="another job"):  # the same folder without the table
        rf.batch.recommend(model, tmp_path / "e.parquet", tmp_path / "out", k=4, blocks=5)
    assert rf.batch.recommend(model, tmp_path / "e.parquet", tmp_path / "out", **args)["resumed_blocks"] == 5
    bare = rf.ItemKNN(neighbours=8).fit(inter)
    with pytest.raises(ValueError, match="no fallbacks"):
        rf.batch.recommend(bare, tmp_path / "e.parquet", tmp_path / "o2", **args)
    with pytest.raises(ValueError, match="no column 'region'"):
        pd.DataFrame({"id": [1]}).to_csv(tmp_path / "ids.csv", index=False)
        rf.batch.recommend(model, tmp_path / "e.parquet", tmp_path / "o3", k=4, customers=tmp_path / "ids.csv",
                           customer_key="id")  # fmt: skip
    # an age that is no number: refused, as the in-memory reader refuses it, not read as unknown
    for suffix, write in ((".csv", "to_csv"), (".parquet", "to_parquet")):
        bad = table.dropna(subset=["id"]).astype({"age": str}).assign(age=["10", "x", "30", "", "0", "20", "10"])
        getattr(bad, write)(tmp_path / f"bad{suffix}", index=False)
        with pytest.raises(ValueError, match=rf"customers '.*bad{suffix}': column 'age' must hold numbers, got 'x'"):
            rf.batch.recommend(model, tmp_path / "e.parquet", tmp_path / f"o{suffix}", k=4,
                               customers=tmp_path / f"bad{suffix}", customer_key="id")  # fmt: skip


def test_a_weight_that_is_text_is_refused_out_of_core_as_in_memory(tmp_path):
    """A quantity of "abc": the in-memory reader refuses the file naming the line; out of core
    the row was dropped and counted as a bad weight, so one file gave an error or lists by its
    size alone. Both refuse it now; an empty field stays a gap, dropped and counted by both."""
    frame = pd.DataFrame({"user": ["a", "a", "b", "c"], "item": ["x", "y", "x", "y"], "qty": [1.0, 2.0, 1.0, 3.0]})
    model = rf.ColdStart(rf.ItemKNN()).fit(rf.Interactions.from_pandas(frame, weight_col="qty"))
    (tmp_path / "text.csv").write_text("user,item,qty\na,x,1\nb,y,abc\n")
    with pytest.raises(ValueError, match=r"events '.*text.csv': column 'qty' must hold numbers, got 'abc'"):
        rf.batch.recommend(model, tmp_path / "text.csv", tmp_path / "o1", k=2, show_progress=False)
    with pytest.raises(ValueError, match="must hold numbers"):
        rf.Interactions.from_csv(tmp_path / "text.csv", weight_col="qty")
    (tmp_path / "gap.csv").write_text("user,item,qty\na,x,1\nb,y,\n")
    report = rf.batch.recommend(model, tmp_path / "gap.csv", tmp_path / "o2", k=2, show_progress=False)
    assert report["dropped"] == {"bad_weight": 1}
    assert rf.Interactions.from_csv(tmp_path / "gap.csv", weight_col="qty").report["dropped"]["bad_weight"] == 1


def test_latest_event_weights_and_ids_written_otherwise_out_of_core_as_in_memory(tmp_path):
    """Two differences between recforge recommend in memory and out of core, found by scoring
    random event files both ways. aggregate="last" merged a pair's events by their order in the
    file, not by time (the times were not read). A customer written "5" and "5.0" (pandas'
    export of an integer column with a gap) got two lists, one per spelling, in memory one."""
    rng = np.random.default_rng(0)
    n = 600
    frame = pd.DataFrame({"user": rng.integers(0, 40, n).astype(str), "item": rng.integers(0, 30, n).astype(str),
                          "w": rng.integers(1, 9, n).astype(float), "t": rng.integers(0, 10**6, n)})  # fmt: skip
    inter = rf.Interactions.from_pandas(frame, weight_col="w", time_col="t", aggregate="last")
    model = rf.ColdStart(rf.ItemKNN(neighbours=10)).fit(inter)
    later = frame.iloc[:200].copy()
    later = pd.concat([later, later.assign(w=later["w"] + 5, t=later["t"] - 10**6)])  # heavier, but earlier
    later["user"] = later["user"].where(later["user"] != "7", "7.0")  # and customer 7 written two ways...
    later = pd.concat([later, pd.DataFrame({"user": ["7"], "item": ["3"], "w": [2.0], "t": [5]})])  # ...in one file
    later.to_csv(tmp_path / "later.csv", index=False)
    rf.batch.recommend(model, tmp_path / "later.csv", tmp_path / "out", k=5, blocks=3, show_progress=False)
    got = read_lists(tmp_path / "out").astype({"user": str})
    known = inter.transform(later, new_users="append")
    labels = pd.Index(model.user_ids_).get_indexer(known.user_ids)
    want, _ = model.recommend(labels, known.matrix, k=5)
    assert known.matrix.max() <= 8  # the latest weights, not the heavier earlier ones
    assert "7.0" not in set(known.user_ids) and "7.0" in set(later["user"])
    assert got.groupby("user").size().max() == 5 and "7.0" not in set(got["user"])
    with_events = np.flatnonzero(np.diff(known.matrix.indptr) > 0)
    assert set(got["user"]) == set(known.user_ids[with_events])
    for row in with_events.tolist():
        mine = got[got["user"] == known.user_ids[row]].sort_values("rank")["item"].tolist()
        assert mine == model.item_ids_[want[row][want[row] >= 0]].tolist(), known.user_ids[row]


def test_a_file_of_another_delimiter_gets_the_in_memory_readers_hint(tmp_path):
    """A semicolon file read with the default comma: in memory the error asks whether the
    delimiter is ';'; out of core it named only the first missing column."""
    frame = pd.DataFrame({"user": ["a", "b"], "item": ["x", "y"]})
    model = rf.ColdStart(rf.ItemKNN()).fit(rf.Interactions.from_pandas(frame))
    (tmp_path / "e.csv").write_text("user;item\na;x\nb;y\n")
    with pytest.raises(ValueError, match=r"has no column 'user', 'item' .*is the delimiter ';'\?"):
        rf.batch.recommend(model, tmp_path / "e.csv", tmp_path / "out", k=2, show_progress=False)
    with pytest.raises(ValueError, match=r"is the delimiter ';'\?"):
        rf.Interactions.from_csv(tmp_path / "e.csv")


@pytest.mark.parametrize("fast", [True, False])
def test_a_point_in_a_file_of_decimal_commas_is_refused_out_of_core_as_in_memory(tmp_path, monkeypatch, fast):
    """decimal=",": in memory "3.06" is refused (1.234,5 or 3.06: which is meant cannot be
    told); out of core every such weight was a gap, and a file written with points gave lists
    from nothing but popularity ("bad_weight 500")."""
    from recforge.batch import spill

    frame = pd.DataFrame({"user": ["a", "b"], "item": ["x", "y"], "qty": [1.5, 2.0]})
    model = rf.ColdStart(rf.ItemKNN()).fit(rf.Interactions.from_pandas(frame, weight_col="qty"))
    (tmp_path / "e.csv").write_text("user;item;qty\na;x;1,5\nb;y;3.06\n")
    if not fast:  # pandas' reader, where Arrow's balks
        monkeypatch.setattr(spill, "_arrow_csv_chunks", lambda *a: (_ for _ in ()).throw(spill.ArrowBalked("x")))
    args = dict(k=2, sep=";", decimal=",", show_progress=False)
    with pytest.raises(ValueError, match=r"column 'qty' must hold numbers with decimal commas, got '3.06'"):
        rf.batch.recommend(model, tmp_path / "e.csv", tmp_path / "out", **args)
    with pytest.raises(ValueError, match="decimal commas"):
        rf.Interactions.from_csv(tmp_path / "e.csv", weight_col="qty", sep=";", decimal=",")
    (tmp_path / "ok.csv").write_text("user;item;qty\na;x;1,5\nb;y;\n")  # an empty field: a gap
    assert rf.batch.recommend(model, tmp_path / "ok.csv", tmp_path / "o2", **args)["dropped"] == {"bad_weight": 1}


def test_ids_that_look_missing_are_customers_out_of_core_as_in_memory(tmp_path):
    """ "NA", "null", "None" are ids to every reader of recforge (only an empty field is
    missing): out of core too, where pandas' chunked reader read them as missing and dropped
    the customers' events. Both CSV readers agree; a repeated header line is refused by both."""
    from recforge.batch import spill

    users = np.array(["NA", "null", "None", "N/A", "A", "B"] * 25, dtype=object)
    items = np.char.add("p", np.random.default_rng(0).integers(0, 80, users.size).astype(str))
    source = tmp_path / "e.csv"
    pd.DataFrame({"user": users, "item": items}).to_csv(source, index=False)
    inter = rf.Interactions.from_csv(source)
    assert sorted(inter.user_ids.tolist()) == ["A", "B", "N/A", "NA", "None", "null"]
    model = rf.ColdStart(rf.ItemKNN(neighbours=5)).fit(inter)
    for fast in (True, False):
        if not fast:  # the reader Arrow's balking falls back to
            chunks = spill.read_chunks(str(source), ["user", "item"], {"user": "str", "item": "str"}, 40, fast=False)
            assert sum(len(set(c.column("user").to_pylist())) for c in chunks) >= 6
        out = tmp_path / f"out-{fast}"
        report = rf.batch.recommend(model, source, out, k=3, blocks=3, chunk_rows=40)
        got = read_lists(out)
        assert sorted(set(got.user)) == sorted(inter.user_ids.tolist()) and report["dropped"] == {}
    doubled = tmp_path / "doubled.csv"
    doubled.write_text(source.read_text() + "user,item\nA,p1\n")
    for fast in (True, False):
        with pytest.raises(ValueError, match="line 152 repeats the header"):
            list(spill.read_chunks(str(doubled), ["user", "item"], {"user": "str", "item": "str"}, 40, fast=fast))


def test_where_arrow_balks_part_way_pandas_splits_the_file_again(tmp_path, monkeypatch):
    """A short line far into the file: Arrow's streaming reader has split some chunks when it
    stops; those blocks are removed and pandas' reader splits the whole file (the short line's
    empty field is a missing product, counted), so nothing is split twice."""
    from recforge.batch import spill

    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"user": rng.integers(0, 30, 500), "item": rng.integers(0, 20, 500)})
    model = rf.ColdStart(rf.ItemKNN(neighbours=5)).fit(rf.Interactions.from_pandas(frame))
    lines = ["user,item,weight"] + [f"{u},{i},1" for u, i in zip(frame.user, frame.item)]
    lines.insert(450, "7")  # one field of three: no product
    (tmp_path / "e.csv").write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(spill, "ARROW_BLOCK_BYTES", 512)  # many small batches: chunks come before the balk
    calls = []
    real = spill.spill
    monkeypatch.setattr(spill, "spill", lambda chunks, *a, **k: calls.append(1) or real(chunks, *a, **k))
    balked = spill._arrow_csv_chunks(
        str(tmp_path / "e.csv"), ["user", "item"], {"user": "str", "item": "str"}, 50, ",", "utf-8", "events", None
    )
    assert next(balked).num_rows == 50
    with pytest.raises(spill.ArrowBalked):
        list(balked)
    report = rf.batch.recommend(model, tmp_path / "e.csv", tmp_path / "out", k=3, blocks=4, chunk_rows=50)
    assert len(calls) == 2 and report["rows"] == 501 and report["dropped"] == {"missing_item": 1}
    got = read_lists(tmp_path / "out")
    assert not got.duplicated(["user", "rank"]).any() and got.user.nunique() == frame.user.nunique()


def test_returns_are_dropped_out_of_core_as_in_memory(tmp_path, fitted, capsys):
    """recforge recommend drops rows with a negative weight (returns) and says so; out of core it
    kept them, so the same file gave other lists (and a customer who only returned something a
    list) once it was large or split into blocks."""
    from recforge.cli import main

    _, train = fitted
    events = train.copy()
    events.loc[events.index[::7], "weight"] *= -1  # returns among the purchases
    only_returns = pd.DataFrame({"user": ["r1", "r1"], "item": ["p1", "p2"], "weight": [-1.0, -2.0]})
    pd.concat([events, only_returns]).to_csv(tmp_path / "e.csv", index=False)
    model = str(tmp_path / "m.npz")
    assert main(["train", "--data", str(tmp_path / "e.csv"), "--weight-col", "weight", "--model", "itemknn",
                 "--out", model, "--quiet"]) == 0  # fmt: skip
    base = ["recommend", "--model", model, "--data", str(tmp_path / "e.csv"), "--k", "5", "--quiet"]
    capsys.readouterr()
    assert main([*base, "--out", str(tmp_path / "memory.csv")]) == 0
    said_in_memory = capsys.readouterr().err
    assert main([*base, "--out", str(tmp_path / "blocks.csv"), "--blocks", "3"]) == 0
    said_out_of_core = capsys.readouterr().err
    key = ["user", "rank"]
    memory = pd.read_csv(tmp_path / "memory.csv").sort_values(key).reset_index(drop=True)
    blocks = pd.read_csv(tmp_path / "blocks.csv").sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(memory[["user", "rank", "item", "path"]], blocks[["user", "rank", "item", "path"]])
    np.testing.assert_allclose(blocks["score"], memory["score"], rtol=1e-5)
    line = f"dropped {int((events['weight'] < 0).sum()) + 2:,} rows with a negative weight"
    assert line in said_in_memory and line in said_out_of_core
    assert "r1" not in set(blocks["user"])
    kept = rf.batch.recommend(rf.load(model), tmp_path / "e.csv", tmp_path / "kept", k=5, blocks=2)
    assert "returns" not in kept and "r1" in set(read_lists(tmp_path / "kept")["user"])  # the library keeps them
    dropped = rf.batch.recommend(rf.load(model), tmp_path / "e.csv", tmp_path / "dropped", k=5, returns="drop")
    assert dropped["returns"] == int((events["weight"] < 0).sum()) + 2 and dropped["rows"] == len(events) + 2
    with pytest.raises(ValueError, match="returns"):
        rf.batch.recommend(rf.load(model), tmp_path / "e.csv", tmp_path / "x", returns="net")
    # the hint's option exists, and keeps them in memory and out of core alike
    assert main([*base, "--returns", "keep", "--out", str(tmp_path / "kept_memory.csv")]) == 0
    assert main([*base, "--returns", "keep", "--out", str(tmp_path / "kept_blocks.csv"), "--blocks", "2"]) == 0
    kept_memory = pd.read_csv(tmp_path / "kept_memory.csv").sort_values(key).reset_index(drop=True)
    kept_blocks = pd.read_csv(tmp_path / "kept_blocks.csv").sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(kept_memory[["user", "rank", "item"]], kept_blocks[["user", "rank", "item"]])
    assert "r1" in set(kept_memory["user"]) and "rows with a negative" not in capsys.readouterr().err


@pytest.mark.parametrize("fast", [True, False])
def test_decimal_commas_out_of_core_on_both_readers(tmp_path, fast):
    """Arrow's streaming reader and pandas' chunks read "2,5" as 2.5 with decimal ","; an empty
    field is missing; a field with a point too ("1.234,5", "1.234") is refused, as the in-memory
    reader refuses it (it was a gap out of core)."""
    from recforge.batch import spill

    path = tmp_path / "e.csv"
    path.write_text("user;item;weight\nc1;p1;2,5\nc4;p3;7\nc5;p1;\n")
    kinds = {"user": "str", "item": "str", "weight": "float"}
    chunks = spill.read_chunks(str(path), list(kinds), kinds, 2, ";", fast=fast, decimal=",")
    weights = np.concatenate([c.column("weight").to_numpy(zero_copy_only=False) for c in chunks])
    np.testing.assert_array_equal(weights, [2.5, 7.0, np.nan])
    path.write_text("user;item;weight\nc1;p1;2,5\nc2;p2;1.234,5\n")
    with pytest.raises(ValueError, match=r"column 'weight' must hold numbers with decimal commas, got '1.234,5'"):
        list(spill.read_chunks(str(path), list(kinds), kinds, 2, ";", fast=fast, decimal=","))


def test_blocks_beyond_any_use_are_refused_before_any_file(tmp_path):
    """--blocks 100000000 over 430k rows spilled row after row into files of their own for
    minutes and would have scored for hours: more blocks than MANY_BLOCKS and than twice the
    rows are refused, before the output folder is made."""
    from recforge.batch.score import MANY_BLOCKS

    frame = pd.DataFrame({"user": ["a", "b", "a"], "item": ["x", "y", "y"]})
    model = rf.ColdStart(rf.ItemKNN(neighbours=5)).fit(rf.Interactions.from_pandas(frame))
    frame.to_csv(tmp_path / "e.csv", index=False)
    with pytest.raises(ValueError, match=r"blocks \(100,001\) is more than the input's rows \(about \d\)"):
        rf.batch.recommend(model, tmp_path / "e.csv", tmp_path / "out", k=3, blocks=MANY_BLOCKS + 1)
    assert not (tmp_path / "out").exists()
    assert rf.batch.recommend(model, tmp_path / "e.csv", tmp_path / "out", k=3, blocks=MANY_BLOCKS)["customers"] == 2

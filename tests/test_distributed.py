"""recforge.distributed on a LocalCluster: the lists equal the single-process model's, whatever
the partitioning (customers split across partitions, empty partitions); the install hint."""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
import sys
import tempfile
import time
import warnings

import numpy as np
import pytest
import recforge as rf

pd = pytest.importorskip("pandas", reason="recforge.distributed needs pandas")
dd = pytest.importorskip("dask.dataframe", reason="recforge.distributed needs the distributed extra (Dask)")
distributed = pytest.importorskip("distributed", reason="recforge.distributed needs the distributed extra (Dask)")
from recforge import distributed as rfd  # noqa: E402


@pytest.fixture(scope="module")
def client():
    logging.getLogger("distributed.shuffle").setLevel(logging.ERROR)  # p2p shuffle start/stop notes
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as c:  # fmt: skip
        yield c


def events(seed: int, n: int, n_users: int = 60, n_items: int = 40):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "user": [f"c{u}" for u in rng.integers(0, n_users, n)],
            "item": [f"p{i}" for i in rng.integers(0, n_items, n)],
            "weight": rng.choice([1.0, 2.0, 5.0], n),
        }
    )


def model_input(frame):
    return rf.Interactions.from_pandas(frame, weight_col="weight")


def single_process(model, frame, k):
    scorer = rf.batch.BlockScorer(model, k, ["user", "item", "weight"])
    table, _ = scorer.score(frame)
    return table.sort_values(["user", "rank"]).reset_index(drop=True)


@pytest.mark.parametrize("kind", ["coldstart", "itemknn"])
def test_lists_equal_the_single_process_answer(client, kind):
    train = events(0, 1500)
    inter = rf.Interactions.from_pandas(train, weight_col="weight")
    if kind == "coldstart":
        model = rf.ColdStart(rf.ALS(factors=8, iterations=3, random_state=0)).fit(inter)
    else:
        model = rf.ItemKNN(neighbours=10).fit(inter)
    frame = pd.concat([train, events(1, 300, n_users=80)], ignore_index=True)
    # sorted by item: every customer's events are spread over several input partitions
    ddf = dd.from_pandas(frame.sort_values("item"), npartitions=6)
    got = rfd.recommend(model, ddf, k=6, client=client).compute()
    got = got.sort_values(["user", "rank"]).reset_index(drop=True)
    want = single_process(model, frame, 6)
    assert not got.duplicated(["user", "rank"]).any()  # merged, not duplicated
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_a_customer_written_17850_0_and_17850_gets_one_list(client):
    """Exports of one shop, some with a gap in the customer column (pandas writes "17850.0"),
    some without ("17850"): the events were shuffled by the raw value, so each form of a
    customer's id reached its own partition, and the customer got two lists from two halves
    of their history. Routed by the out-of-core job's hash now, as the table rows were."""
    train = events(0, 1500)
    train["user"] = [u.removeprefix("c") for u in train.user]
    model = rf.ItemKNN(neighbours=10).fit(rf.Interactions.from_pandas(train, weight_col="weight"))
    written = train.copy()
    written.loc[written.index % 2 == 0, "user"] += ".0"  # half of each customer's events
    got = rfd.recommend(model, dd.from_pandas(written, npartitions=4), k=5, client=client).compute()
    got = got.sort_values(["user", "rank"]).reset_index(drop=True)
    assert not got.duplicated(["user", "rank"]).any()
    pd.testing.assert_frame_equal(got, single_process(model, train, 5), check_dtype=False)


def test_products_bought_before_may_come_back_as_in_one_process(client):
    """exclude_seen=False: a customer's own products may be offered again (replenishment), the
    lists equal to the single-process answer; a non-bool is refused before anything runs."""
    train = events(0, 1500)
    model = rf.ItemKNN(neighbours=10).fit(model_input(train))
    ddf = dd.from_pandas(train.sort_values("item"), npartitions=4)
    got = rfd.recommend(model, ddf, k=6, client=client, exclude_seen=False).compute()
    got = got.sort_values(["user", "rank"]).reset_index(drop=True)
    table, _ = rf.batch.BlockScorer(model, 6, ["user", "item", "weight"], exclude_seen=False).score(train)
    pd.testing.assert_frame_equal(got, table.sort_values(["user", "rank"]).reset_index(drop=True), check_dtype=False)
    assert any(pair in set(zip(train.user, train["item"])) for pair in zip(got.user, got["item"]))
    with pytest.raises(TypeError, match="exclude_seen must be True or False"):
        rfd.recommend(model, ddf, k=6, client=client, exclude_seen="no")


def test_integer_ids_with_gaps_keep_the_declared_dtypes(client):
    """Online Retail's CustomerID read by pandas: integers as floats, with gaps. The lists'
    user column was declared int64 (the model's ids) but came as Python ints in objects from
    each partition, so the computed frame's column was object."""
    frame = events(0, 600).assign(user=lambda f: f.user.str[1:].astype(float))
    frame.loc[frame.index[::50], "user"] = np.nan
    model = rf.ItemKNN(neighbours=10).fit(rf.Interactions.from_pandas(frame, weight_col="weight"))
    assert model.user_ids_.dtype == np.int64
    lists = rfd.recommend(model, dd.from_pandas(frame, npartitions=3), k=4, client=client)
    got = lists.compute()
    assert got.user.dtype == lists.user.dtype == np.int64 and len(got)
    table, _ = rf.batch.BlockScorer(model, 4, ["user", "item", "weight"]).score(frame)
    assert table.user.dtype == np.int64


def test_parquet_in_and_out_with_empty_partitions(client, tmp_path):
    train = events(0, 800)
    model = rf.ColdStart(rf.ItemKNN(neighbours=10)).fit(rf.Interactions.from_pandas(train, weight_col="weight"))
    small = train.iloc[:40].copy()  # few customers, many partitions: some partitions are empty
    small.loc[small.index[:3], "item"] = ["unknown product", None, "p1"]  # two rows left out, counted
    dd.from_pandas(small, npartitions=3).to_parquet(tmp_path / "events", write_index=False)
    report = rfd.recommend(model, str(tmp_path / "events"), k=4, out=tmp_path / "lists", npartitions=8)
    got = pd.read_parquet(tmp_path / "lists").sort_values(["user", "rank"]).reset_index(drop=True)
    want = single_process(model, small, 4)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    _, counts = rf.batch.BlockScorer(model, 4, ["user", "item", "weight"]).score(small)
    assert report == {key: counts[key] for key in report} and set(report) == set(counts)
    assert report["customers"] == want.user.nunique() and report["recommendations"] == len(want)
    assert sum(report["dropped"].values()) == 2


def test_a_written_output_is_marked_complete_and_never_mixed_with_an_earlier_one(client, tmp_path, monkeypatch):
    """Written twice into one folder, the second job with fewer partitions left the first's
    other part files in place: the folder read back held 1.6x the lists, silently."""
    frame = events(0, 800)
    model = rf.ItemKNN(neighbours=10).fit(model_input(frame))
    ddf, out = dd.from_pandas(frame, npartitions=2), tmp_path / "lists"
    with warnings.catch_warnings():  # Dask warned of a compute mixing expressions and graphs
        warnings.simplefilter("error")
        first = rfd.recommend(model, ddf, k=4, out=out, npartitions=6, client=client)
    assert json.loads((out / "_SUCCESS").read_text()) == first  # written last: the job finished
    with pytest.raises(ValueError, match="holds earlier lists: pass overwrite=True"):
        rfd.recommend(model, ddf, k=4, out=out, npartitions=2, client=client)
    assert len(pd.read_parquet(out)) == first["recommendations"]  # refused before touching it
    second = rfd.recommend(model, ddf, k=4, out=out, npartitions=2, overwrite=True, client=client)
    assert sorted(p.name for p in out.iterdir()) == ["_SUCCESS", "part.0.parquet", "part.1.parquet"]
    assert second == first and len(pd.read_parquet(out)) == second["recommendations"]

    def broken(self, frame, customers=None):
        raise RuntimeError("scoring failed")

    monkeypatch.setattr(rf.batch.BlockScorer, "score", broken)  # the workers are threads here
    with pytest.raises(RuntimeError, match="scoring failed"):
        rfd.recommend(
            rf.ItemKNN(neighbours=9).fit(model_input(frame)), ddf, k=4, out=out, overwrite=True, client=client
        )
    assert not (out / "_SUCCESS").exists()  # the earlier lists are gone, and nothing poses as complete


def test_an_output_folder_that_is_not_ours_is_refused(client, tmp_path):
    frame = events(0, 300)
    model = rf.ItemKNN(neighbours=10).fit(model_input(frame))
    frame.to_parquet(tmp_path / "events.parquet")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "plan.txt").write_text("keep me")
    (tmp_path / "file").write_text("keep me")
    events_path = str(tmp_path / "events.parquet")
    cases = [
        (tmp_path / "notes", "holds files that are not recforge lists ('plan.txt')"),
        (tmp_path / "file", "is a file"),
        (events_path, "would mix the lists with the events"),
        (tmp_path, "would mix the lists with the events"),  # the events are inside it
        (tmp_path / "events.parquet" / "lists", "would mix the lists with the events"),
    ]
    for out, message in cases:
        with pytest.raises(ValueError, match=re.escape(message)):
            rfd.recommend(model, events_path, k=4, out=out, overwrite=True, client=client)
    assert (tmp_path / "notes" / "plan.txt").read_text() == (tmp_path / "file").read_text() == "keep me"
    with pytest.raises(TypeError, match="overwrite must be True or False"):
        rfd.recommend(model, events_path, k=4, out=tmp_path / "new", overwrite="yes", client=client)


@pytest.mark.parametrize("id_kind", ["int", "str"])
def test_a_customer_table_answers_customers_without_events(client, tmp_path, id_kind):
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"user": rng.integers(0, 40, 600), "item": rng.integers(0, 30, 600)})
    if id_kind == "str":
        frame["user"] = "c" + frame["user"].astype(str)
    name = (lambda u: u) if id_kind == "int" else (lambda u: None if u is None else f"c{u}")
    inter = rf.Interactions.from_pandas(frame)
    region = np.where(np.arange(40) % 3, "north", "south")
    attributes = pd.DataFrame({"id": [name(u) for u in range(40)], "region": region, "age": np.arange(40) % 7 * 10.0})
    users = rf.features(attributes, ids=inter.user_ids, id_col="id", categorical="region", numeric="age")
    model = rf.ColdStart(rf.ItemKNN(neighbours=8)).fit(inter, user_features=users)
    later = frame.iloc[:50]
    ids = [name(u) for u in [100, 101, 102, 103, 104, 101, None, 7]]  # new, repeated, missing, known
    table = pd.DataFrame(
        {
            "id": pd.array(ids, dtype="Int64") if id_kind == "int" else ids,
            "region": ["south", "north", None, "north", "south", "south", "north", "north"],
            "age": [10.0, 60.0, 30.0, None, 0.0, 20.0, 5.0, 10.0],
        }
    )
    # The repeated id's two rows sit in different input partitions: the later one still wins.
    ddf, dtable = dd.from_pandas(later.sort_values("item"), npartitions=4), dd.from_pandas(table, npartitions=3)
    got = rfd.recommend(model, ddf, k=4, customers=dtable, customer_key="id", npartitions=5, client=client).compute()
    got = got.sort_values(["user", "rank"]).reset_index(drop=True)
    scorer = rf.batch.BlockScorer(model, 4, ["user", "item"])
    want, counts = scorer.score(later, customers=rf.batch.customers.CustomerTable(model, table, "id"))
    want = want.sort_values(["user", "rank"]).reset_index(drop=True)
    assert counts["customers_without_events"] > 0 and not got.duplicated(["user", "rank"]).any()
    assert set(got.user) == set(later.user) | {name(u) for u in [100, 101, 102, 103, 104, 7]}
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    # Dask's in-memory shuffle routes both sides into aligned partitions too
    tasks = rfd.recommend(
        model, ddf, k=4, customers=dtable, customer_key="id", npartitions=5, shuffle_method="tasks", client=client
    )
    tasks = tasks.compute().sort_values(["user", "rank"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(tasks, want, check_dtype=False)
    # From Parquet, the key defaulting to the events' customer column; written, with the counts.
    table.rename(columns={"id": "user"}).to_parquet(tmp_path / "who.parquet", index=False)
    report = rfd.recommend(model, ddf, k=4, customers=tmp_path / "who.parquet", out=tmp_path / "out", client=client)
    again = pd.read_parquet(tmp_path / "out").sort_values(["user", "rank"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(again, want, check_dtype=False)
    assert report == {key: counts[key] for key in report} and set(report) == set(counts)
    assert report["customer_rows_dropped"] == {
        "missing customer id": 1, "duplicate customer id (the last row kept)": 1}  # fmt: skip

    bare = rf.ItemKNN(neighbours=8).fit(inter)
    with pytest.raises(ValueError, match="no fallbacks"):
        rfd.recommend(bare, ddf, k=4, customers=dtable, customer_key="id", client=client)
    with pytest.raises(ValueError, match="no column 'client'"):
        rfd.recommend(model, ddf, k=4, customers=dtable, customer_key="client", client=client)
    with pytest.raises(ValueError, match="does not exist"):
        rfd.recommend(model, ddf, k=4, customers=tmp_path / "absent.parquet", client=client)
    # a pandas table (it was refused) gives the Dask table's lists
    local = rfd.recommend(model, ddf, k=4, customers=table, customer_key="id", client=client).compute()
    pd.testing.assert_frame_equal(local.sort_values(["user", "rank"]).reset_index(drop=True), want, check_dtype=False)


def test_bad_input_is_refused(client):
    model = rf.ItemKNN().fit(rf.Interactions.from_pandas(events(0, 200)))
    with pytest.raises(ValueError, match="no column 'item'"):
        rfd.recommend(model, dd.from_pandas(pd.DataFrame({"user": ["a"]}), npartitions=1), client=client)
    import scipy.sparse as sp

    with pytest.raises(ValueError, match="raw ids"):
        rfd.recommend(rf.ItemKNN().fit(sp.eye(4, format="csr")), None, client=client)
    # checked at the call, not later on the workers when the lazy lists are computed
    ddf = dd.from_pandas(events(1, 20), npartitions=1)
    with pytest.raises(ValueError, match="k must be >= 0"):
        rfd.recommend(model, ddf, k=-1, client=client)
    with pytest.raises(ValueError, match="npartitions must be >= 1"):
        rfd.recommend(model, ddf, k=3, npartitions=0, client=client)
    with pytest.raises(ValueError, match="events 'absent.parquet' does not exist"):
        rfd.recommend(model, "absent.parquet", k=3, client=client)
    with tempfile.TemporaryDirectory() as folder:  # Arrow's Parquet error said nothing of CSV files
        for day in ("01", "02"):
            events(1, 5).to_csv(os.path.join(folder, f"2026-12-{day}.csv"), index=False)
        with pytest.raises(ValueError, match=r"is a folder of CSV files.*dask.dataframe.read_csv\("):
            rfd.recommend(model, folder, k=3, client=client)
    with pytest.raises(TypeError, match="events must be a Dask or pandas DataFrame, or a Parquet path, got list"):
        rfd.recommend(model, [("c1", "p1")], k=3, client=client)
    with pytest.raises(TypeError, match="model must be a fitted recforge model, got the class ItemKNN"):
        rfd.recommend(rf.ItemKNN, ddf, k=3, client=client)
    with pytest.raises(rf.NotFittedError):
        rfd.recommend(rf.ItemKNN(), ddf, k=3, client=client)
    with pytest.raises(ValueError, match=r"shuffle_method must be one of \(None, 'p2p', 'tasks', 'disk'\), got 'fast'"):
        rfd.recommend(model, ddf, k=3, shuffle_method="fast", client=client)


@pytest.mark.parametrize("shuffle_method", [None, "tasks"])
def test_the_customers_spread_over_every_partition(client, shuffle_method):
    """The events carried their block (hash modulo n) and Dask's shuffle hashed the block
    again into n partitions: of 16, four got no customer and one got three blocks' worth (a
    job as slow as its fullest partition). Routed by the whole 64-bit hash now."""
    train = events(0, 3000, n_users=800)
    model = rf.ItemKNN(neighbours=10).fit(model_input(train))
    ddf = dd.from_pandas(train, npartitions=4)
    options = {} if shuffle_method is None else {"shuffle_method": shuffle_method}
    lists = rfd.recommend(model, ddf, k=3, npartitions=16, client=client, **options)
    customers = lists.map_partitions(lambda part: pd.Series([part.user.nunique()])).compute().to_numpy()
    assert customers.size == 16 and customers.sum() == train.user.nunique()
    assert customers.min() > 0 and customers.max() < 3 * customers.sum() / 16, customers
    got = lists.compute().sort_values(["user", "rank"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, single_process(model, train, 3), check_dtype=False)


def test_a_pandas_frame_is_scored_as_its_dask_frame(client):
    """A pandas DataFrame was refused ("must be a Dask DataFrame"); it is cut into a part per
    worker thread and gives the same lists."""
    train = events(0, 600)
    model = rf.ItemKNN(neighbours=10).fit(rf.Interactions.from_pandas(train, weight_col="weight"))
    frame = events(2, 200, n_users=70)
    got = rfd.recommend(model, frame, k=4, client=client).compute().sort_values(["user", "rank"])
    want = single_process(model, frame, 4)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_dtype=False)


def test_the_workers_keep_no_model_after_its_jobs(tmp_path):
    """Each job's model stayed on every worker for the worker's life (a registry of scorers by
    model): a daily job on a long-lived cluster grew its memory by a model a day. Dask's client
    keeps its last messages, and the futures in them, for its own logs: none kept here."""
    import gc

    import dask

    def models() -> int:  # every ItemKNN alive in this process (the workers are threads of it)
        gc.collect()
        return sum(type(o) is rf.ItemKNN for o in gc.get_objects())

    before = models()
    train = events(0, 600)
    model = rf.ItemKNN(neighbours=10).fit(rf.Interactions.from_pandas(train, weight_col="weight"))
    ddf = dd.from_pandas(train, npartitions=3)
    with dask.config.set({"distributed.admin.low-level-log-length": 0}), distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as c:  # fmt: skip
        first = rfd.recommend(model, ddf, k=3, client=c).compute()
        rfd.recommend(model, ddf, k=3, client=c, out=tmp_path / "lists")
        deadline = time.monotonic() + 10  # the workers drop released data soon, not at once
        while models() > before + 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert models() == before + 1  # the copies the workers were sent are gone; ours is left
    assert len(first) == 3 * train.user.nunique()


def test_importing_without_dask_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    monkeypatch.delitem(sys.modules, "recforge.distributed")
    with pytest.raises(ImportError, match=r"pip install 'recforge\[distributed\]'"):
        importlib.import_module("recforge.distributed")


def test_a_worker_restarted_mid_job_loses_and_duplicates_nothing():
    train = events(0, 3000, n_users=300, n_items=80)
    model = rf.ColdStart(rf.ALS(factors=8, iterations=3, random_state=0)).fit(
        rf.Interactions.from_pandas(train, weight_col="weight")
    )
    frame = pd.concat([train] * 4, ignore_index=True)
    # The Nanny sets OMP_NUM_THREADS=1 (its pre-spawn environment) in this process too, and
    # leaves it: restored afterwards, or every later test would run recforge on one thread.
    environ = dict(os.environ)
    try:
        got = restarted_run(model, frame)
    finally:
        os.environ.clear()
        os.environ.update(environ)
    assert not got.duplicated(["user", "rank"]).any()
    pd.testing.assert_frame_equal(got, single_process(model, frame, 5), check_dtype=False)


def restarted_run(model, frame):
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as c:  # fmt: skip
        lists = rfd.recommend(model, dd.from_pandas(frame, npartitions=40), k=5, client=c)
        job = c.compute(lists)
        # Every worker holding the model restarts: scattered data would be lost for good (the job
        # failing with "lost dependencies"); the shipped model is rebuilt from its task.
        c.restart_workers(workers_holding_the_model(c))
        return job.result().sort_values(["user", "rank"]).reset_index(drop=True)


def workers_holding_the_model(c, timeout: float = 60.0) -> list:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        holders = {w for key, where in c.who_has().items() if str(key).startswith("_value-") for w in where}
        if holders:
            return sorted(holders)
        time.sleep(0.01)
    raise AssertionError("the model never reached a worker")


# -- similarity --------------------------------------------------------------------------------
def skewed(seed: int, n_rows: int = 400, n_cols: int = 150, nnz: int = 5000, dtype=np.float32):
    """users x items with popularity-skewed items (both traversal modes of the kernel)."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, n_cols + 1) ** 0.9
    X = sp.csr_matrix(
        (rng.integers(1, 6, nnz).astype(dtype), (rng.integers(0, n_rows, nnz), rng.choice(n_cols, nnz, p=p / p.sum()))),
        shape=(n_rows, n_cols),
    )
    X.sum_duplicates()
    return X


def assert_same_csr(a, b):
    assert type(a) is type(b) and a.shape == b.shape and a.dtype == b.dtype and a.indices.dtype == b.indices.dtype
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.parametrize(
    "metric, dtype, parts", [("cosine", np.float32, None), ("bm25", np.float64, 3), ("pearson", np.float32, 7)]
)
def test_similarity_equals_the_single_process_result(client, metric, dtype, parts):
    X = skewed(0, dtype=dtype)
    for rows in (X.T, X):  # item-item (CSC input) and user-user
        want = rf.similarity(rows, k=15, metric=metric)
        assert_same_csr(rfd.similarity(rows, k=15, metric=metric, parts=parts, client=client), want)


def test_similarity_edge_cases(client):
    import scipy.sparse as sp

    X = skewed(1)
    X = sp.csr_array(X[:, :20])  # sparse array flavour; some rows empty
    assert_same_csr(rfd.similarity(X.T, k=100, parts=50, client=client), rf.similarity(X.T, k=100))
    empty = sp.csr_matrix((0, 5), dtype=np.float32)
    assert_same_csr(rfd.similarity(empty, client=client), rf.similarity(empty))
    with pytest.raises(ValueError, match="parts"):
        rfd.similarity(X, parts=0, client=client)
    with pytest.raises(ValueError, match="metric"):
        rfd.similarity(X, metric="nope", client=client)


# -- ALS ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "options",
    [dict(), dict(solver="cholesky", dtype="float64"), dict(calculate_loss=True, alpha=2.0)],
)
def test_als_factors_equal_rf_als_bit_for_bit(client, options):
    import scipy.sparse as sp

    X = skewed(2, n_rows=2500, n_cols=1300, nnz=12000)  # several Gram chunks on each side
    keep = np.ones(X.shape[0], dtype=np.float32)
    keep[7] = 0  # a customer without events
    X = (sp.diags(keep) @ X).tocsr()
    X.eliminate_zeros()
    seen = []
    want = rf.ALS(factors=6, iterations=3, random_state=5, **options).fit(X)
    got = rfd.ALS(factors=6, iterations=3, random_state=5, blocks=3, client=client, **options)
    got.fit(X, callback=lambda it, seconds, loss: seen.append((it, loss)))
    np.testing.assert_array_equal(got.user_factors_, want.user_factors_)
    np.testing.assert_array_equal(got.item_factors_, want.item_factors_)
    assert got.loss_ == want.loss_
    assert [it for it, _ in seen] == [0, 1, 2]
    assert isinstance(got, rf.ALS)


def test_als_with_raw_ids_saves_and_loads_as_rf_als(client, tmp_path):
    train = events(0, 1500)
    inter = rf.Interactions.from_pandas(train, weight_col="weight")
    got = rfd.ALS(factors=4, iterations=2, random_state=0, client=client).fit(inter)
    want = rf.ALS(factors=4, iterations=2, random_state=0).fit(inter)
    np.testing.assert_array_equal(got.user_factors_, want.user_factors_)
    got.save(tmp_path / "model.npz")
    loaded = rf.load(tmp_path / "model.npz")
    assert type(loaded) is rf.ALS
    assert loaded.get_params() == want.get_params() | {"n_threads": 1}
    np.testing.assert_array_equal(loaded.item_factors_, want.item_factors_)
    np.testing.assert_array_equal(loaded.user_ids_, want.user_ids_)
    np.testing.assert_array_equal(loaded.item_ids_, want.item_ids_)


def test_als_blocks_argument_and_more_blocks_than_rows(client):
    import scipy.sparse as sp

    X = sp.random(30, 12, density=0.3, format="csr", random_state=0, dtype=np.float32)
    want = rf.ALS(factors=3, iterations=2, random_state=1).fit(X)
    got = rfd.ALS(factors=3, iterations=2, random_state=1, blocks=64, client=client).fit(X)
    np.testing.assert_array_equal(got.item_factors_, want.item_factors_)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="blocks"):
            rfd.ALS(blocks=bad)


def test_als_blocks_go_to_the_workers_by_cost():
    """Longest first to the least loaded worker: a catalogue's block of most bought products
    (half the work) is not put beside another heavy block while a worker idles."""
    from recforge.distributed.als import placed

    where = placed([10.0, 1.0, 5.0, 4.0], ["a", "b"])
    load = {w: sum(c for c, x in zip([10.0, 1.0, 5.0, 4.0], where) if x == w) for w in "ab"}
    assert load == {"a": 10.0, "b": 10.0} and where[0] != where[2]
    assert placed([], ["a"]) == [] and placed([3.0, 3.0, 3.0], ["a"]) == ["a", "a", "a"]


def test_als_survives_a_worker_restarted_mid_fit():
    X = skewed(3, n_rows=2500, n_cols=1300, nnz=12000)
    want = rf.ALS(factors=6, iterations=4, random_state=2).fit(X)
    environ = dict(os.environ)  # the Nanny leaves OMP_NUM_THREADS=1 behind (see above)
    try:
        with distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster, distributed.Client(cluster) as c:  # fmt: skip
            first = next(iter(c.scheduler_info()["workers"]))

            def restart_once(iteration, seconds, loss):
                if iteration == 1:  # its factor and interaction blocks are rebuilt from their tasks
                    c.restart_workers([first])

            got = rfd.ALS(factors=6, iterations=4, random_state=2, blocks=4, client=c).fit(X, callback=restart_once)
    finally:
        os.environ.clear()
        os.environ.update(environ)
    np.testing.assert_array_equal(got.user_factors_, want.user_factors_)
    np.testing.assert_array_equal(got.item_factors_, want.item_factors_)

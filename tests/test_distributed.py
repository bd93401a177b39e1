"""recforge.distributed on a LocalCluster: the lists equal the single-process model's, whatever
the partitioning (customers split across partitions, empty partitions); the install hint."""

from __future__ import annotations

import importlib
import logging
import os
import sys

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


def test_parquet_in_and_out_with_empty_partitions(client, tmp_path):
    train = events(0, 800)
    model = rf.ColdStart(rf.ItemKNN(neighbours=10)).fit(rf.Interactions.from_pandas(train, weight_col="weight"))
    small = train.iloc[:40]  # few customers, many partitions: some partitions are empty
    dd.from_pandas(small, npartitions=3).to_parquet(tmp_path / "events", write_index=False)
    assert rfd.recommend(model, str(tmp_path / "events"), k=4, out=tmp_path / "lists", npartitions=8) is None
    got = pd.read_parquet(tmp_path / "lists").sort_values(["user", "rank"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, single_process(model, small, 4), check_dtype=False)


def test_bad_input_is_refused(client):
    model = rf.ItemKNN().fit(rf.Interactions.from_pandas(events(0, 200)))
    with pytest.raises(ValueError, match="no column 'item'"):
        rfd.recommend(model, dd.from_pandas(pd.DataFrame({"user": ["a"]}), npartitions=1), client=client)
    import scipy.sparse as sp

    with pytest.raises(ValueError, match="raw ids"):
        rfd.recommend(rf.ItemKNN().fit(sp.eye(4, format="csr")), None, client=client)


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
        first = next(iter(c.scheduler_info()["workers"]))
        c.restart_workers([first])  # the model's replica there goes too; the other one serves
        return job.result().sort_values(["user", "rank"]).reset_index(drop=True)

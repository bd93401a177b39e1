"""The README's Python examples run as written.

Each ```python block is executed statement by statement, in order, in one namespace per block,
on the shipped Online Retail sample. The names a block takes from its reader (``user_items``, a
product table, a transaction ``log`` ...) are defined here first, as a reader would hold them.
A statement that raises fails the test and names its line: an example that drifted from the API
is a defect, as a wrong docstring is. Two things a test machine lacks are stood in for: the
internet (MovieLens is read from ../shared instead of downloaded) and a real Dask cluster (a
LocalCluster, and local folders for the s3:// paths).
"""

from __future__ import annotations

import ast
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import recforge as rf
import scipy.sparse as sp
from conftest import DATASETS

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


@pytest.fixture(scope="module")
def shop():
    """The sample's purchase lines (returns and lines without a customer left out) and their
    Interactions, as in the quickstart."""
    events = rf.datasets.sample().events_frame()
    events = events[events.CustomerID.notna() & (events.Quantity > 0)].reset_index(drop=True)
    inter = rf.Interactions.from_pandas(events, user_col="CustomerID", item_col="StockCode", time_col="InvoiceDate")
    return events, inter


def _reader_names(block: int, events, inter, folder: Path) -> dict:
    """What the reader of block ``block`` (1-based) holds before its first line."""
    rng = np.random.default_rng(0)
    user_items = inter.matrix
    train, test = rf.split.per_user_split(inter, frac=0.2, seed=0)
    names = {"rf": rf, "np": np, "sp": sp, "pd": pd, "rng": rng, "inter": inter, "user_items": user_items}
    names.update(train=train, test=test, X=user_items)
    n_users, n_items = user_items.shape
    if block == 1:
        sp.save_npz(folder / "purchases.npz", user_items)
        ratings = sp.random(200, 100, density=0.1, format="csr", random_state=0)
        ratings.data = np.ceil(ratings.data * 5)
        products = events.groupby("StockCode", as_index=False).agg(
            description=("Description", "first"), price=("UnitPrice", "median")
        )
        products = products.rename(columns={"StockCode": "sku"})
        products["category"] = products.description.str.split().str[-1]
        customers = events.groupby("CustomerID", as_index=False).Country.first()
        names.update(
            ratings=ratings,
            user_factors=rng.standard_normal((n_users, 16)).astype(np.float32),
            item_factors=rng.standard_normal((n_items, 16)).astype(np.float32),
            event_times=inter.times,
            new_histories=user_items[:3],
            history=user_items[[0]],
            histories=user_items[[3, 4]],
            user_ids=np.array([0, 1, 999]),
            item_ids=np.array([0, 5, 7]),
            events=pd.DataFrame(
                {
                    "customer": events.CustomerID,
                    "sku": events.StockCode,
                    "ts": events.InvoiceDate,
                    "event": rng.choice(["view", "cart", "purchase"], len(events)),
                }
            ),
            products=products,
            customers=customers.rename(columns={"CustomerID": "customer", "Country": "country"}),
        )
    elif block == 2:
        log = pd.DataFrame(
            {
                "customer": events.CustomerID,
                "time": events.InvoiceDate,
                "amount": events.Quantity * events.UnitPrice,
                "sku": events.StockCode,
            }
        )
        # profile() matches the Interactions' rows to the summary's customers by id
        names.update(log=log, als_user_factors_of_these_customers=None)
    elif block == 3:
        (folder / "key.txt").write_text("a key of at least thirty-two characters\n", encoding="utf-8")
        (folder / "message.j2").write_text(
            "Grüß Gott {{ customer }} ({{ segment }}): {% for i in items %}{{ i.description }} {% endfor %}",
            encoding="utf-8",
        )
        model = rf.ItemKNN().fit(train)
        names.update(
            model=model,
            knn=model,
            users=np.arange(50),
            product_category=np.array(["HAND WARMER" if i % 7 == 0 else str(i % 5) for i in range(n_items)]),
            margin_boost=rng.random(n_items) * 0.1,
            out_of_stock=[1, 2, 3],
            launches=[10, 11, 12],
            customer_ids=inter.user_ids[:50],
            bought=rng.random(50) < 0.2,  # each customer's conversion in the window after the campaign
            spent=rng.gamma(2.0, 20.0, 50) * (rng.random(50) < 0.2),  # and their spend in it
            descriptions=np.array([f"Produkt {i} ü" for i in range(n_items)], dtype=object),
            segment_of=np.array(["Champions", None] * 25, dtype=object),
        )
    elif block == 4:
        names.update(model=rf.ItemKNN().fit(inter), refitted=rf.ItemKNN(neighbours=20).fit(inter), t=1.3e9)
    elif block == 5:
        names.update(
            candidates=np.arange(20),
            model_click_rate=np.full(20, 0.05),
            clicked=np.eye(1, 5, dtype=bool)[0],
            requests=np.tile(np.arange(1, 6), (3, 1)),
            rewards=np.zeros((3, 5)),
            logged_propensity=np.full((3, 5), 0.2),
            new_policy_propensity=np.full((3, 5), 0.3),
        )
    elif block in (6, 7):
        (folder / "events").mkdir()
        events[["CustomerID", "StockCode", "InvoiceDate"]].to_parquet(folder / "events" / "part-0.parquet")
        (folder / "customers").mkdir()
        events.groupby("CustomerID", as_index=False).Country.first().rename(columns={"CustomerID": "id"}).to_parquet(
            folder / "customers" / "part-0.parquet"
        )
        people = rf.features(
            events.groupby("CustomerID", as_index=False).Country.first(),
            ids=inter.user_ids,
            id_col="CustomerID",
            categorical="Country",
        )
        names["model"] = rf.ColdStart(rf.ALS(factors=8, iterations=3, random_state=0)).fit(inter, user_features=people)
        if block == 7:
            import dask.dataframe as dd

            names["events_ddf"] = dd.from_pandas(events[["CustomerID", "StockCode", "InvoiceDate"]], npartitions=2)
    elif block == 8:  # the text goes on from block 7's imports
        import recforge.distributed as rfd

        names.update(interactions=inter, rfd=rfd)
    return names


def _stand_ins(code: str, folder: Path) -> str:
    """The README's code with the internet and a real cluster stood in for (see the module's
    docstring)."""
    code = code.replace('Client("tcp://scheduler:8786")', "Client(LocalCluster(n_workers=1, processes=False))")
    code = code.replace("from distributed import Client", "from distributed import Client, LocalCluster")
    code = code.replace('"s3://shop/', f'"{folder.as_posix()}/')
    code = code.replace('"events/"', f'"{(folder / "events").as_posix()}"')
    code = code.replace('"lists/"', f'"{(folder / "lists").as_posix()}"')
    if "load_movielens" in code:
        if not (DATASETS / "ml-100k").is_dir():
            pytest.skip(f"the README's MovieLens example needs {DATASETS / 'ml-100k'} (no internet here)")
        code = code.replace('load_movielens("100k")', f'load_movielens("100k", path={str(DATASETS / "ml-100k")!r})')
    return code


def test_the_readme_has_the_blocks_this_test_prepares_for():
    assert len(BLOCKS) == 8, "a block was added or removed: give its reader's names in _reader_names"


@pytest.mark.parametrize("block", range(1, len(BLOCKS) + 1))
def test_readme_block_runs(block, shop, tmp_path, monkeypatch):
    if block in (7, 8):
        pytest.importorskip("distributed")
    events, inter = shop
    monkeypatch.chdir(tmp_path)
    namespace = _reader_names(block, events, inter, tmp_path)
    if block == 8:
        from distributed import Client, LocalCluster

        client = Client(LocalCluster(n_workers=2, threads_per_worker=1, processes=False))
        namespace["client"] = client
    code = _stand_ins(BLOCKS[block - 1], tmp_path)
    failures = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for statement in ast.parse(code).body:
                try:
                    exec(compile(ast.Module([statement], []), f"README block {block}", "exec"), namespace)
                except Exception as e:  # every failing line is reported, not only the first
                    text = ast.get_source_segment(code, statement).splitlines()[0]
                    failures.append(f"line {statement.lineno}: {text}\n    {type(e).__name__}: {e}")
    finally:
        for name in ("client",):
            if name in namespace:
                namespace[name].close()
                namespace[name].cluster.close()
    assert not failures, "\n".join(failures)

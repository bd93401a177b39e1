"""rf.datasets: loaders on ../shared/datasets (counts from its README), the shipped sample,
other layouts from small files, and the download path through a stand-in opener."""

from __future__ import annotations

import hashlib
import io
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest
import recforge as rf
from recforge.datasets import _download

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_describe_items_gives_no_description_to_padding():
    """-1 pads a short list; as an index it named the last product, so a list of 3 for a
    customer with 2 products to suggest described a third product nobody recommended."""
    data = rf.datasets.sample()
    got = data.describe_items(np.array([[0, -1], [1, 2]]))
    assert got.shape == (2, 2) and got[0, 1] is None and got[0, 0] == data.describe_items(0)
    assert data.describe_items(-1) is None and data.describe_items([]).shape == (0,)
    with pytest.raises(ValueError, match="outside the 3,498 products and not -1"):
        data.describe_items([3498])
    with pytest.raises(TypeError, match="raw product ids become indices with interactions.item_index"):
        data.describe_items(["85123A"])


def test_sample_is_shipped_and_works_offline(backend):
    data = rf.datasets.sample()
    assert len(data.events["InvoiceNo"]) == 198_640
    assert len(set(data.events["CustomerID"].tolist())) == 2_186
    inter = data.interactions
    assert inter.shape == (2_169, 3_498)  # 17 customers have only cancellations
    assert inter.report["kept"] == 194_621 and inter.report["rows"] == 194_621
    assert inter.times is not None and inter.times.data.min() >= np.datetime64("2010-12-01", "s").astype(np.int64)
    assert all(isinstance(d, str) for d in data.items["description"].tolist())
    assert data.items["description"][inter.item_index("85123A")] == "WHITE HANGING HEART T-LIGHT HOLDER"
    # the file writes "REGENCY MILK JUG PINK " (and 686 more with spaces around): the text is without
    assert all(d == d.strip() for d in data.items["description"].tolist())
    # the shop's own lines, not products: marked for campaigns to leave out
    assert sorted(inter.item_ids[data.items["service"]].tolist()) == ["BANK CHARGES", "C2", "M", "PADS", "POST"]
    assert "CC BY 4.0" in data.license and "10.24432/C5BW33" in data.citation


@pytest.mark.shared_data
def test_movielens_100k(datasets_dir, backend):
    data = rf.datasets.load_movielens("100k", datasets_dir / "ml-100k")
    inter = data.interactions
    assert inter.shape == (943, 1682) and inter.nnz == 100_000
    values, counts = np.unique(inter.matrix.data, return_counts=True)
    assert dict(zip(values.tolist(), counts.tolist())) == {1: 6110, 2: 11370, 3: 27145, 4: 34174, 5: 21201}
    assert data.items["title"][inter.item_index(1)] == "Toy Story (1995)"
    assert data.items["genres"][inter.item_index(1)] == "Animation|Children's|Comedy"
    assert "Misérables" in data.items["title"][inter.item_index(543)]  # latin-1 decoded
    assert inter.times.data.min() == 874724710 and inter.times.data.max() == 893286638


@pytest.mark.shared_data
def test_movielens_100k_from_its_zip(datasets_dir, tmp_path):
    archive = tmp_path / "ml-100k.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name in ("u.data", "u.item"):
            z.write(datasets_dir / "ml-100k" / name, f"ml-100k/{name}")
    a = rf.datasets.load_movielens("100k", archive).interactions
    b = rf.datasets.load_movielens("100k", datasets_dir / "ml-100k").interactions
    assert (a.matrix != b.matrix).nnz == 0 and a.user_ids.tolist() == b.user_ids.tolist()


@pytest.mark.shared_data
def test_movielens_latest_small(datasets_dir, backend):
    data = rf.datasets.load_movielens("latest-small", datasets_dir / "ml-latest-small")
    inter = data.interactions
    assert inter.shape == (610, 9_724) and inter.nnz == 100_836
    assert inter.matrix.data.min() == 0.5 and inter.matrix.data.max() == 5.0
    assert data.items["title"][inter.item_index(1)] == "Toy Story (1995)"
    assert data.items["genres"][inter.item_index(1)] == "Adventure|Animation|Children|Comedy|Fantasy"


@pytest.mark.shared_data
def test_online_retail(datasets_dir):
    data = rf.datasets.load_online_retail(datasets_dir / "online-retail" / "online_retail.csv.gz")
    ev = data.events
    assert len(ev["InvoiceNo"]) == 541_909
    assert np.nansum(ev["Quantity"]) == 5_176_450
    assert sum(d is not None for d in ev["Description"].tolist()) == 540_455
    assert sum(c is not None for c in ev["CustomerID"].tolist()) == 406_829
    assert len(set(ev["StockCode"].tolist())) == 4_070 and len(set(ev["CustomerID"].tolist()) - {None}) == 4_372
    assert data.interactions.shape == (4_338, 3_665) and data.interactions.report["kept"] == 397_884


def _write_ml1m(folder: Path) -> None:
    folder.mkdir()
    (folder / "ratings.dat").write_text("1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n")
    (folder / "movies.dat").write_bytes(
        "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n"
        '661::James and the Giant "Peach" (1996)::Animation|Children\'s\n'
        "5::Mis\u00e9rables (1995)::Drama\n".encode("latin-1")
    )


def test_movielens_1m_layout(tmp_path, backend):
    _write_ml1m(tmp_path / "ml-1m")
    data = rf.datasets.load_movielens("1m", tmp_path / "ml-1m")
    assert data.interactions.matrix.toarray().tolist() == [[5.0, 3.0], [4.0, 0.0]]
    assert data.items["title"].tolist() == [
        "One Flew Over the Cuckoo's Nest (1975)",
        'James and the Giant "Peach" (1996)',
    ]


def test_movielens_20m_layout(tmp_path, backend):
    folder = tmp_path / "ml-20m"
    folder.mkdir()
    (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,2,3.5,1112486027\n1,29,3.5,1112484676\n")
    (folder / "movies.csv").write_text(
        'movieId,title,genres\n2,Jumanji (1995),Adventure\n29,"City of Lost Children, The (1995)",Drama\n'
    )
    data = rf.datasets.load_movielens("20m", folder)
    assert data.items["title"].tolist() == ["Jumanji (1995)", "City of Lost Children, The (1995)"]


def test_unknown_variant_and_missing_files(tmp_path):
    with pytest.raises(ValueError, match="variant"):
        rf.datasets.load_movielens("5k", tmp_path)
    with pytest.raises(FileNotFoundError, match="u.data"):
        rf.datasets.load_movielens("100k", tmp_path)
    # the set's main file given for its folder: "'.../u.data' has no file 'u.item'"
    (tmp_path / "u.data").write_text("1\t1\t5\t874965758\n")
    with pytest.raises(FileNotFoundError, match="u.data' is one file; give the folder .* that holds 'u.item'"):
        rf.datasets.load_movielens("100k", tmp_path / "u.data")


class _Response(io.BytesIO):
    def __init__(self, payload: bytes):
        super().__init__(payload)
        self.headers = {"Content-Length": str(len(payload))}


def _ml100k_zip(tmp_path: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("ml-100k/u.data", "1\t10\t4\t881250949\n2\t10\t5\t891717742\n")
        z.writestr(
            "ml-100k/u.item", "10|Richard III (1995)|22-Jan-1996||http://x|" + "|".join("0" * 8 + "1" + "0" * 10) + "\n"
        )
    return buf.getvalue()


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A stand-in for the network: ml-100k.zip served from memory; counts requests."""
    payload = _ml100k_zip(tmp_path)
    calls = []

    def urlopen(url, timeout=None):
        calls.append(url)
        return _Response(payload)

    monkeypatch.setattr(_download, "_urlopen", urlopen)
    monkeypatch.setenv("RECFORGE_DATA", str(tmp_path / "cache"))
    url, algorithm, _ = _download.ARCHIVES["ml-100k"]
    monkeypatch.setitem(_download.ARCHIVES, "ml-100k", (url, "sha256", hashlib.sha256(payload).hexdigest()))
    return calls


def test_download_verifies_and_caches(served, tmp_path):
    data = rf.datasets.load_movielens("100k", show_progress=False)
    assert data.interactions.matrix.toarray().tolist() == [[4.0], [5.0]]
    assert data.items["genres"].tolist() == ["Drama"]
    assert (tmp_path / "cache" / "ml-100k.zip").is_file()
    assert rf.datasets.data_home() == tmp_path / "cache"
    rf.datasets.load_movielens("100k", show_progress=False)
    assert len(served) == 1  # the second load reads the cache


def test_download_progress_is_named_as_everywhere_else(served):
    """The loaders' switch is show_progress, as for the models and rf.batch; the former name
    progress= still works, with a FutureWarning, and both at once are refused."""
    with pytest.warns(FutureWarning, match="progress is deprecated.*show_progress"):
        data = rf.datasets.load_movielens("100k", progress=False)
    assert data.interactions.matrix.shape == (2, 1)
    with pytest.raises(TypeError, match="give show_progress only"):
        rf.datasets.load_movielens("100k", show_progress=False, progress=False)
    with pytest.raises(TypeError, match="show_progress must be a bool"):
        rf.datasets.load_movielens("100k", show_progress="no")


def test_download_checksum_mismatch(served, tmp_path, monkeypatch):
    url, algorithm, _ = _download.ARCHIVES["ml-100k"]
    monkeypatch.setitem(_download.ARCHIVES, "ml-100k", (url, "sha256", "0" * 64))
    with pytest.raises(ValueError, match="corrupt or not the official file"):
        rf.datasets.load_movielens("100k", show_progress=False)
    assert list((tmp_path / "cache").iterdir()) == []  # nothing half-written is left


def test_download_offline(tmp_path, monkeypatch):
    def offline(url, timeout=None):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(_download, "_urlopen", offline)
    monkeypatch.setenv("RECFORGE_DATA", str(tmp_path))
    with pytest.raises(ConnectionError, match=r"could not download ml-latest-small .*pass path="):
        rf.datasets.load_movielens("latest-small", show_progress=False)

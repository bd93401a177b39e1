"""Online Retail (UCI Machine Learning Repository, CC BY 4.0): a year of a UK gift shop's
transaction lines, and the sample of it shipped inside recforge."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np

from .._checks import check_bool
from .._factorize import lookup, most_given, pd
from .._params import renamed_argument
from .._tables import read_table
from ..data import Interactions
from ._dataset import Dataset
from ._download import fetch

LICENSE = "Creative Commons Attribution 4.0 International (CC BY 4.0)"
CITATION = (
    "Chen, D. (2015). Online Retail [Dataset]. UCI Machine Learning Repository. "
    "https://doi.org/10.24432/C5BW33. Chen, Sain & Guo (2012), Journal of Database Marketing "
    "and Customer Strategy Management 19(3), 197-208."
)
COLUMNS = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]
_TEXT = ["InvoiceNo", "StockCode", "Description", "InvoiceDate", "CustomerID", "Country"]
# The published summary of the full file (UCI; shared/datasets/README.md): what a download
# without a published checksum is verified against.
FULL_ROWS, FULL_QUANTITY = 541_909, 5_176_450


def load_online_retail(path=None, *, show_progress: bool = True, progress: bool | None = None) -> Dataset:
    """Load the UCI Online Retail transactions (541,909 lines, 2010-12-01 to 2011-12-09).

    Parameters
    ----------
    path : str or os.PathLike, optional
        A CSV export of the workbook (columns as in the original, ``.csv`` or ``.csv.gz``), the
        official ``Online Retail.xlsx`` or the official zip (these two need pandas and
        openpyxl). Without it, the official zip is downloaded once into the cache folder
        (``$RECFORGE_DATA``, default ``~/.cache/recforge``); UCI publishes no checksum, so
        the content is verified against the published row count and quantity total.
    show_progress : bool, default True
        Show a progress bar while downloading (the name every model and ``rf.batch`` uses).
    progress : bool, optional
        Deprecated former name of ``show_progress``.

    Returns
    -------
    Dataset
        ``interactions``: customers x products (StockCode) from purchase lines (a customer
        id, quantity > 0, unit price > 0, not a cancellation "C..." or adjustment "A..."),
        valued by the number of such lines, with each pair's latest InvoiceDate; ``items``:
        "description" (the most frequent one of each product) and "service" (True for the
        codes that are not products: :data:`SERVICE_CODES` and gift vouchers; a campaign
        leaves them out with ``deny=items["service"]``); ``events``: every line.
    """
    show_progress = renamed_argument(show_progress, progress, "progress", "show_progress", True, check=check_bool)
    downloaded = path is None
    if downloaded:
        path = fetch("online-retail", progress=show_progress)
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".zip"):
        events = _read_workbook(path)
    else:
        events = _columns(read_table(path, COLUMNS, text=_TEXT))
    if downloaded and (len(events["Quantity"]) != FULL_ROWS or np.nansum(events["Quantity"]) != FULL_QUANTITY):
        raise ValueError(
            f"{str(path)!r} does not hold the published Online Retail data ({len(events['Quantity'])} "
            f"rows); delete it and try again"
        )
    return _dataset("online-retail", events, _most_frequent_description(events))


def sample() -> Dataset:
    """The Online Retail sample shipped with recforge: every line of half of the customers
    (2,186 customers, 198,640 lines, 3,509 products). Works offline and without pandas.

    Online Retail is by Daqing Chen (UCI Machine Learning Repository), CC BY 4.0; see
    ``recforge/datasets/data/ATTRIBUTION.md`` for the citation and the changes made.

    Returns
    -------
    Dataset
        As :func:`load_online_retail`.
    """
    folder = resources.files(__package__) / "data"
    with (
        resources.as_file(folder / "online_retail_sample.csv.gz") as lines,
        resources.as_file(folder / "online_retail_products.csv.gz") as products,
    ):
        events = _columns(read_table(lines, [c for c in COLUMNS if c != "Description"], text=_TEXT))
        table = read_table(products, text=["StockCode", "Description"])
    at = lookup(np.asarray(table["StockCode"], dtype=object), events["StockCode"])
    events["Description"] = np.where(at >= 0, np.asarray(table["Description"], dtype=object)[at], None)
    events = {c: events[c] for c in COLUMNS}
    description = dict(zip(np.asarray(table["StockCode"]).tolist(), np.asarray(table["Description"]).tolist()))
    return _dataset("online-retail-sample", events, description)


def _columns(data) -> dict:
    out = {}
    for c in data if isinstance(data, dict) else data.columns:
        values = data[c]
        if c in _TEXT:
            values = np.array(
                [None if v is None or v != v else str(v) for v in np.asarray(values, dtype=object).tolist()],
                dtype=object,
            )
        else:
            values = np.asarray(values, dtype=np.float64)
        out[c] = values
    return out


def _read_workbook(path: Path) -> dict:
    if pd is None:
        raise ImportError(
            "reading the Online Retail workbook needs pandas and openpyxl: pip install 'recforge[io]' openpyxl"
        )
    if path.suffix.lower() == ".zip":
        import io
        import zipfile

        with zipfile.ZipFile(path) as z:
            name = next((m for m in z.namelist() if m.lower().endswith(".xlsx")), None)
            if name is None:
                raise ValueError(f"{str(path)!r} holds no .xlsx workbook")
            df = pd.read_excel(io.BytesIO(z.read(name)), dtype={"InvoiceNo": str, "StockCode": str})
    else:
        df = pd.read_excel(path, dtype={"InvoiceNo": str, "StockCode": str})
    df["InvoiceDate"] = pd.to_datetime(df["InvoiceDate"]).dt.strftime("%Y-%m-%d %H:%M:%S")
    df["CustomerID"] = df["CustomerID"].astype("Int64").astype(str).replace("<NA>", None)
    return _columns(df[COLUMNS])


# StockCodes of the shop's own lines, not products: postage (POST, DOT), carriage (C2), manual
# entries (M, m), discount (D), samples (S), bad debt (B), bank and Amazon fees, CRUK
# commission, cushion pads sold at 0.001; and "gift_0001_*" vouchers. Customers pay some of
# them (their money stays in the customer analytics), but no campaign should offer them: the
# demo's lists offered POSTAGE to 25 customers.
SERVICE_CODES = ("POST", "DOT", "C2", "M", "m", "D", "S", "B", "BANK CHARGES", "AMAZONFEE", "CRUK", "PADS")


def is_service(codes) -> np.ndarray:
    """True for the StockCodes that are not products (:data:`SERVICE_CODES`, gift vouchers)."""
    return np.array([c in SERVICE_CODES or str(c).startswith("gift_") for c in np.asarray(codes).tolist()], dtype=bool)


def purchases(events: dict) -> np.ndarray:
    """Which lines are purchases: a customer id, not a cancelled (C) or adjusted (A) invoice, a
    positive quantity and price (returns and cancellations are left out, not subtracted)."""
    invoice = events["InvoiceNo"]
    adjusted = np.array([v is not None and v[:1] in ("C", "A") for v in invoice.tolist()], dtype=bool)
    customer = np.array([v is not None for v in events["CustomerID"].tolist()], dtype=bool)
    return customer & ~adjusted & (events["Quantity"] > 0) & (events["UnitPrice"] > 0)


def _most_frequent_description(events: dict) -> dict:
    """Per product, the description most of its lines give (the latest among equally frequent
    ones): not a note such as "mailout" on one of them."""
    codes, best = most_given(events["StockCode"], events["Description"])
    return {c: d for c, d in zip(codes.tolist(), best.tolist()) if d is not None}


def _dataset(name: str, events: dict, description: dict) -> Dataset:
    buy = purchases(events)
    inter = Interactions.from_arrays(
        events["CustomerID"][buy],
        events["StockCode"][buy],
        times=events["InvoiceDate"][buy],
        amounts=(events["Quantity"] * events["UnitPrice"])[buy],  # money per line, for customer analytics
        orders=events["InvoiceNo"][buy],
    )
    # Spaces around a description are the shop's typing, not its text (700 of Online Retail's
    # 3,665 end in one; a message would print "(because you bought REGENCY MILK JUG PINK )").
    # ``events`` keeps every line as the file has it.
    text = [description.get(c) for c in inter.item_ids.tolist()]
    items = {
        "description": np.array([d.strip() if isinstance(d, str) else d for d in text], dtype=object),
        "service": is_service(inter.item_ids),
    }
    return Dataset(name, inter, items, events, LICENSE, CITATION)

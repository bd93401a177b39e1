"""Attribute tables on the command line: product features and customer attributes for the
cold-start fallbacks (``recforge train --item-features / --user-features``)."""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np

from .._factorize import factorize, lookup, missing_mask, most_given, pd, to_numpy
from .._tables import is_whitespace, looks_like_data, open_text, parquet_dataset, read_parquet, read_table
from ..data import features
from ..data.features import category_tokens
from ._common import CliError, is_parquet
from ._hints import Hint, bare
from ._negatives import first_rows


def add_feature_arguments(parser) -> None:
    g = parser.add_argument_group(
        "features (cold start)",
        "Product and customer tables: new products are recommended from their features, customers "
        "without events from their attributes. Columns are comma-separated lists.",
    )
    g.add_argument(
        "--item-features",
        metavar="FILE",
        help="product table (.csv or .parquet), one row per product; or events whose lines carry the product's "
        "columns (each product takes its most given text and its median number)",
    )
    g.add_argument(
        "--item-key", help="its product id column (default: the events' --item-col where it has one, else item)"
    )
    g.add_argument("--item-text", metavar="COLS", help="text columns (descriptions, titles): TF-IDF")
    g.add_argument("--item-categorical", metavar="COLS", help='category columns; "A|B" holds two values')
    g.add_argument("--item-numeric", metavar="COLS", help="numeric columns (price): quantile bins")
    g.add_argument(
        "--user-features",
        metavar="FILE",
        help="customer table (.csv or .parquet), one row per customer; or events whose lines carry them",
    )
    g.add_argument(
        "--user-key", help="its customer id column (default: the events' --user-col where it has one, else user)"
    )
    g.add_argument("--user-categorical", metavar="COLS", help="attribute columns (country, channel, segment)")
    g.add_argument("--user-numeric", metavar="COLS", help="numeric attributes (age): quantile bins")
    g.add_argument(
        "--no-fallbacks",
        action="store_true",
        help="save the bare model: customers it has not seen are skipped by 'recommend'",
    )


def _columns(text) -> list[str]:
    return [c.strip() for c in (text or "").split(",") if c.strip()]


# Delimiters a table beside the events may be written with, after --sep.
_COMMON_DELIMITERS = (",", ";", "\t", "|")


def table_delimiter(path: str, key: str, sep: str) -> str:
    """The delimiter of a table beside the events (products, customers, segments, lists):
    --sep where the table's header line holds ``key`` split by it, else the common delimiter
    that does. A shop may keep its events with semicolons and its product table with commas,
    or the other way round, and --sep names one; a header that neither splits to the key keeps
    --sep (and reading it then says what is missing)."""
    candidates = dict.fromkeys((sep, *_COMMON_DELIMITERS))
    for candidate, fields in zip(candidates, _header_splits(path, sep) or ()):
        if key in fields:
            return candidate
    return sep


def _header_splits(path: str, sep: str) -> list[list[str]] | None:
    """The header of a table beside the events, split by --sep and by each common delimiter
    (a Parquet file's column names, once), or None where it cannot be read (reading the table
    then says why)."""
    try:
        if is_parquet(path):
            return [list(parquet_dataset(path, repr(path)).schema.names)]
        with open_text(path) as f:
            header = f.readline().rstrip("\r\n")
    except (OSError, UnicodeError, ValueError, EOFError, ImportError):
        return None
    splits = (
        header.split() if is_whitespace(c) else header.split(c) for c in dict.fromkeys((sep, *_COMMON_DELIMITERS))
    )
    return [[field.strip().strip('"') for field in fields] for fields in splits]


# The id column of a table beside the events where its option is not given, by table option:
# (key option, the events' column option, recforge's own name). The events' name comes first: a
# product table keyed as the events are (movieId beside movieId), or the event log itself (Online
# Retail's StockCode and Description), needs no --product-col, as the lists beside the events
# (segments, opt-outs) need none; a table keyed "item" / "user" reads as it always did.
_TABLE_KEYS = {
    "products": ("product_col", "item_col", "item"),
    "item_features": ("item_key", "item_col", "item"),
    "user_features": ("user_key", "user_col", "user"),
    "customers": ("user_key", "user_col", "user"),
}


def table_key(args, table: str, events_column: str | None = None) -> str:
    """The id column of the table of option ``table`` (its key option where given, else the
    events' column name, ``events_column`` or the command's --item-col / --user-col, where the
    table's header holds it, else recforge's own); a CliError where it holds neither, naming
    both and the option."""
    key, events_option, own = _TABLE_KEYS[table]
    if getattr(args, key) is not None:
        return getattr(args, key)
    path = getattr(args, table)
    names = list(dict.fromkeys(n for n in (events_column or getattr(args, events_option, None), own) if n))
    splits = _header_splits(path, getattr(args, "sep", ","))
    found = [n for n in names if splits is None or any(n in fields for fields in splits)]
    if not found:
        option, flag = (f"--{name.replace('_', '-')}" for name in (table, key))
        header = max(splits, key=len)
        way_out = (
            "its first line looks like data, not column names: give the table a header line naming its columns"
            if looks_like_data(header)
            else f"name it with {flag}"
        )
        raise CliError(
            f"{option}: {path!r} has no column {' or '.join(map(repr, names))} for its ids "
            f"(columns: {header}): {way_out}"
        )
    setattr(args, key, found[0])
    return found[0]


def read_attribute_table(
    path: str, key: str, columns: list[str], text: list[str], option: str, sep: str = ",", decimal: str = "."
):
    """A table's key and named columns as a mapping (ids and text read as text); a CSV's
    delimiter is --sep or the one its header is written with (:func:`table_delimiter`)."""
    if not os.path.exists(path):
        raise CliError(f"{option}: no such file {path!r}")
    try:
        if is_parquet(path):
            from .._factorize import pd

            if pd is None:
                raise CliError("reading Parquet needs pandas and pyarrow: pip install 'recforge[io]'")
            return read_parquet(path, [key, *columns], repr(path))
        delimiter = table_delimiter(path, key, sep)
        # the decimal mark of the events, unless the table's own delimiter is it
        return read_table(
            path, [key, *columns], text=[key, *text], sep=delimiter, decimal="." if decimal == delimiter else decimal
        )
    except (ValueError, KeyError, OSError) as e:
        raise CliError(f"{option}: {e}") from None


# The columns recforge's own tables name customers and products by, whatever the events
# called them: recforge customers, target and campaign write "customer", recommend "user"
OWN_CUSTOMER_COLUMNS = ("customer", "user")
OWN_ITEM_COLUMN = "item"


def read_list_table(path: str, args, key: str, columns: list[str], option: str):
    """A list beside the events (segments, pairs to exclude, opt-outs): its ``key`` and
    ``columns`` (text), read under the events' names (--user-col, --item-col), else under the
    names recforge's own tables use, so that a table recforge wrote reads back as it is."""
    try:
        return read_attribute_table(path, key, columns, columns, option, args.sep)
    except CliError as e:
        first = e
    asked = [key, *columns]
    for customer in OWN_CUSTOMER_COLUMNS:
        own = {args.user_col: customer, getattr(args, "item_col", None): OWN_ITEM_COLUMN}
        named = [own.get(c, c) for c in asked]
        if named == asked:
            continue
        try:
            table = read_attribute_table(path, named[0], named[1:], named[1:], option, args.sep)
        except CliError:
            continue
        return {column: table[name] for column, name in zip(asked, named)}
    raise first


def read_features(args, side: str, ids):
    """The Features of --item-features / --user-features aligned with ``ids``, or None."""
    path = getattr(args, f"{side}_features")
    if path is None:
        return None
    option = f"--{side}-features"
    kinds = {
        "text": _columns(getattr(args, f"{side}_text", None)),
        "categorical": _columns(getattr(args, f"{side}_categorical")),
        "numeric": _columns(getattr(args, f"{side}_numeric")),
    }
    named = [c for cols in kinds.values() for c in cols]
    if not named:
        raise CliError(f"{option}: name its columns with --{side}-text, --{side}-categorical or --{side}-numeric")
    key = table_key(args, f"{side}_features")
    table = read_attribute_table(
        path, key, named, kinds["text"] + kinds["categorical"], option, args.sep, getattr(args, "decimal", ".")
    )
    what = "products" if side == "item" else "customers"
    table = one_row_per_id(table, key, kinds["numeric"], option, what)
    found = table_rows(table[key], ids, option, key, what) >= 0
    if not found.all():  # said: a table keyed otherwise gave every known product none, in silence
        print(
            f"{option}: {int((~found).sum()):,} of {ids.size:,} {what} of the data have no row there "
            f"(e.g. {np.asarray(ids)[~found][:3].tolist()}): no features for them",
            file=sys.stderr,
        )
    try:
        return features(table, ids=ids, id_col=key, **kinds)
    except (ValueError, TypeError) as e:
        raise CliError(f"{option}: {e}") from None


def one_row_per_id(table, key: str, numeric: list[str], option: str, what: str):
    """``table`` with one row per id of its ``key`` column. An event log given as the product or
    customer table (Online Retail's lines carry each product's description and price, and each
    customer's country) holds an id on many rows: each id then takes its most given value of
    a text or category column, as --products reads descriptions, and the median of a numeric
    one (a product's price varies from line to line). A table with one row per id is returned
    as it is; a key column with gaps keeps its rows without an id (counted by the features)."""
    ids = to_numpy(table[key])
    codes, distinct = factorize(ids, "ids")
    present = codes >= 0
    if distinct.size == int(present.sum()):
        return table
    out = {key: distinct}
    for column, values in table.items():
        if column == key:
            continue
        values = to_numpy(values)
        if column in numeric and values.dtype.kind in "iufb":
            out[column] = _median_by(codes[present], values[present].astype(np.float64), distinct.size)
        else:  # text, or a numeric column holding text, which the features refuse by name
            out[column] = given_for(ids, values, distinct)
    taken = [
        *(["its most given value of each text or category column"] if len(out) > len(numeric) + 1 else []),
        *(["the median of each numeric one"] if numeric else []),
    ]
    print(
        f"{option}: {int(present.sum()):,} rows for {distinct.size:,} {what}: each takes " + " and ".join(taken),
        file=sys.stderr,
    )
    return out


def _median_by(codes: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """The median of ``values`` within each of ``n`` groups (``codes``), missing values aside;
    NaN for a group without one."""
    finite = np.isfinite(values)
    codes, values = codes[finite], values[finite]
    order = np.lexsort((values, codes))
    codes, values = codes[order], values[order]
    counts = np.bincount(codes, minlength=n)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    out = np.full(n, np.nan)
    has = counts > 0
    low, high = starts + (counts - 1) // 2, starts + counts // 2
    out[has] = (values[low[has]] + values[high[has]]) / 2
    return out


def add_product_arguments(parser, categories: bool = False) -> None:
    """--products (a product table) and its columns."""
    parser.add_argument("--products", help="product table (.csv or .parquet): descriptions in the output")
    parser.add_argument(
        "--product-col",
        help="--products: product id column (default: the events' --item-col where it has one, else item)",
    )
    parser.add_argument("--description-col", help="--products: description column (default: description)")
    if categories:
        parser.add_argument("--category-col", help="--products: category column (caps and calibration)")
        parser.add_argument(
            "--category-sep",
            help='--category-col: what separates a product\'s several categories ("Adventure|Comedy": two, '
            "each counting 1/2 in calibration and in full against caps; default: |; '' for one category a cell)",
        )


def rows_of(table_ids, ids) -> np.ndarray:
    """The table row of each of ``ids`` (the first where the table repeats an id), -1 where it
    has none. The text and integer forms of one id match: a CSV's "1038" is a Parquet file's
    1038 (:func:`~recforge._factorize.ids_like`)."""
    codes, distinct = factorize(table_ids, "table ids")
    rows = np.flatnonzero(codes >= 0)
    first = np.full(distinct.size, -1, dtype=np.int64)
    first[codes[rows][::-1]] = rows[::-1]  # the last write of each id is its first row
    at = lookup(distinct, ids)
    return np.where(at >= 0, first[np.maximum(at, 0)], -1)


def table_rows(table_ids, ids, option: str, key: str | None, what: str) -> np.ndarray:
    """:func:`rows_of`, refusing a table that holds none of ``ids`` (keyed otherwise: "85123ax"
    beside 85123A), naming a few of each; ``key``: the table's id column (None: not named, for
    a list read under either of two names)."""
    at = rows_of(table_ids, ids)
    if len(ids) and not (at >= 0).any():
        sample = np.asarray(table_ids, dtype=object)[:3].tolist()
        where = f"its column {key!r}" if key is not None else "it"
        raise CliError(
            f"{option}: none of the data's {len(ids):,} {what} is in {where} (which holds e.g. "
            f"{sample}; the data's ids are e.g. {np.asarray(ids)[:3].tolist()})"
        )
    return at


def read_products(args, item_ids, categories: bool = False, events_column: str | None = None):
    """Descriptions (the id where the table has none) and, with ``categories``, each product's
    category (None where missing) from --products, aligned with ``item_ids``; ``events_column``:
    the events' product column where the command has no --item-col (:func:`table_key`)."""
    columns = [args.description_col] + ([args.category_col] if categories and args.category_col else [])
    table_key(args, "products", events_column)
    table = read_attribute_table(
        args.products, args.product_col, columns, columns, "--products", getattr(args, "sep", ",")
    )
    table_rows(table[args.product_col], item_ids, "--products", args.product_col, "products")
    text = given_for(table[args.product_col], table[args.description_col], item_ids)
    missing = missing_mask(text)
    descriptions = np.where(missing, item_ids.astype(str).astype(object), text)
    if missing.any():  # counted, as dropped rows are: a few ids with stray spaces go unseen otherwise
        absent = item_ids[missing][:3].tolist()
        print(
            f"--products: {int(missing.sum()):,} of {item_ids.size:,} products have no description there "
            f"(e.g. {absent}); their ids stand in",
            file=sys.stderr,
        )
    if not categories:
        return descriptions
    category = None
    if args.category_col:
        category = given_for(table[args.product_col], table[args.category_col], item_ids)
        category = np.where(missing_mask(category), None, category)
        if args.category_sep:
            category = split_categories(category, args.category_sep)
    return descriptions, category


# Column names of product descriptions in event logs (Online Retail's Description, a shop's
# title or product_name), compared without case, spaces, dashes or underscores. Not a bare
# "name": in a log it may be the customer's.
DESCRIPTION_NAMES = {"description", "title", "productname", "itemname", "productdescription", "itemdescription"}


def point_out_descriptions(args, what: str) -> None:
    """Without --products ``what`` (the campaign file, the segments' profiles) name products by
    id ("because you bought 22423"); where the events hold a column of descriptions (Online
    Retail's Description), say that --products can be the events file itself."""
    if pd is None:  # the first rows are read through pandas (the io extra)
        return
    try:
        columns = first_rows(args).columns
    except (OSError, ValueError, ImportError):  # the hint is a courtesy: the run goes on
        return
    for name in columns:
        if name in (args.user_col, args.item_col):
            continue
        if bare(str(name)) in DESCRIPTION_NAMES:
            warnings.warn(
                f"--data: column {name} looks like product descriptions; without --products {what} name "
                f"products by id: --products {args.data} --description-col {name} "
                "names them",
                Hint,
                stacklevel=3,
            )
            return


def split_categories(values, sep: str) -> np.ndarray:
    """Each product's categories: a cell "A|B" becomes the list ["A", "B"] (the form
    rf.campaign.rerank takes for several), a cell of one category stays text, and empty parts
    are dropped (a cell of separators only has no category), as the content features read it."""
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values.tolist()):
        if isinstance(value, str) and sep in value:
            parts = category_tokens(value, sep)  # as the content features read the cell
            value = parts[0] if len(parts) == 1 else (parts or None)
        out[i] = value
    return out


def given_for(table_ids, values, ids) -> np.ndarray:
    """Each of ``ids``' most given value in ``values`` (missing and empty ones aside), the
    latest row's among equally frequent ones; None where it has none. An event log given as
    the product table names a product on each of its lines, mostly by its name, now and then by
    a note of the warehouse's: the first line of three of Online Retail's 100 best sellers
    reads "mailout", which the campaign's messages printed where the first given value was
    taken. A table with one row per id gives that row's value. Text is stripped of the spaces
    around it (Online Retail writes "REGENCY MILK JUG PINK ", which a message would print
    before its closing parenthesis; the feature encoder strips categories alike), and text of
    spaces only is missing."""
    values = to_numpy(values).astype(object, copy=False)
    values = np.array([v.strip() if isinstance(v, str) else v for v in values.tolist()], dtype=object)
    distinct, best = most_given(table_ids, values)
    at = lookup(distinct, ids)
    out = np.full(len(ids), None, dtype=object)
    out[at >= 0] = best[at[at >= 0]]
    return out

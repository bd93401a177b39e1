"""The hint for an event file whose returns would count as purchases: without --weight-col
every row is one event, so the rows of a return or a cancellation (a negative quantity), a
refund or a dislike (rating -1) count as if the customer had bought or liked the product.
Online Retail read so has 10,626 return lines as purchases, and its campaign lists offered
the "D" (discount) line, which no one buys, "because you bought" it."""

from __future__ import annotations

import functools
import os
import warnings

import numpy as np

from .._factorize import pd
from .._tables import header_fields, intact, parquet_dataset, read_table, streamed_text, text_table_files
from ._hints import Hint

SAMPLE_CHARACTERS = 4 * 2**20  # the file's start that is looked at: a few tens of thousands of rows
SAMPLE_ROWS = 50_000
NUMBER_SHARE = 0.9  # a column this much of whose filled fields are numbers is a number column


def negative_columns(args, used) -> dict:
    """{column: (negative rows, rows looked at)} of the whole-number columns of ``--data``,
    other than ``used``, that hold negative numbers in the file's first rows (CSV or Parquet);
    empty where it cannot tell."""
    try:
        frame = first_rows(args)
    except (OSError, ValueError, TypeError, LookupError, ImportError):
        return {}
    found = {}
    for name in frame.columns:
        if name in used:
            continue
        text = frame[name]
        if getattr(args, "decimal", ".") == "," and text.dtype == object:
            text = text.str.replace(",", ".", regex=False)
        numbers = pd.to_numeric(text, errors="coerce")
        filled = int(text.notna().sum())
        if not filled or numbers.notna().sum() < NUMBER_SHARE * filled:
            continue
        present = numbers.dropna()
        if not (present == np.floor(present)).all():  # counts (a quantity, a -1 rating), not
            continue  # measures that go below zero (a longitude, a balance)
        negative = int((numbers < 0).sum())
        if negative:
            found[name] = (negative, len(frame))
    return found


def first_rows(args):
    """The first rows of ``--data`` (a CSV's first few MiB of whole lines, or a Parquet
    file's first rows) as a pandas DataFrame, text as read; read once for the hints that look
    at them (shared: not to be changed)."""
    stat = os.stat(args.data)  # a file written again since is read again
    names = getattr(args, "names", None)
    return _first_rows(
        args.data, stat.st_mtime_ns, stat.st_size, args.sep, args.encoding, None if names is None else tuple(names)
    )


@functools.lru_cache(maxsize=1)
def _first_rows(path: str, mtime_ns: int, size: int, sep: str, encoding: str, names: tuple | None):
    files = text_table_files(path)
    if files is not None:  # a folder of CSV files: its first file's first lines
        path = files[0]
    elif os.path.isdir(path) or path.lower().endswith(".parquet"):
        dataset = parquet_dataset(path, repr(path))
        return dataset.head(SAMPLE_ROWS).to_pandas()
    with intact(repr(path)), streamed_text(path, encoding) as f:
        chunk = f.read(SAMPLE_CHARACTERS)
        complete = not f.read(1)
    if not complete:
        chunk = chunk[: chunk.rfind("\n") + 1]  # whole lines only
    data = chunk.encode("utf-8")
    columns = list(names) if names else header_fields(data, sep)
    if not columns:
        return pd.DataFrame()
    table = read_table(data, None, names=None if names is None else list(names), text=columns, sep=sep)
    return pd.DataFrame({name: pd.Series(np.asarray(values, dtype=object)) for name, values in table.items()})


def warn_negatives(args, used, option: str = "--weight-col") -> None:
    """Say which columns hold negative numbers when ``option`` (--weight-col, or --amount-col
    of a transaction log) is not given (one line)."""
    if getattr(args, option[2:].replace("-", "_")) is not None or args.data == "sample" or pd is None:
        return
    found = negative_columns(args, set(used))
    if not found:
        return
    name, (negative, rows) = max(found.items(), key=lambda kv: kv[1][0])
    others = f" (also {', '.join(n for n in found if n != name)})" if len(found) > 1 else ""
    if option == "--weight-col":
        # --aggregate count: a pair weighs its rows, as without --weight-col. Summed quantities
        # let a few bulk orders dominate: on Online Retail ALS's precision@10 fell from 0.151 to
        # 0.099 and ItemKNN's from 0.127 to 0.083 (with count: 0.152 and 0.130)
        way_out = (
            f"--weight-col {name} --aggregate count drops them and counts each pair's rows (summing the {name} "
            f"instead lets a few bulk orders outweigh the rest); --weight-col {name} --returns keep subtracts them"
        )
    else:  # money per line: the quantity, or the quantity times a price column
        way_out = f"{option} {name} (or {name}*<price column>) makes them returns"
    warnings.warn(
        f"--data: column {name} holds negative numbers in {negative:,} of its first {rows:,} rows{others}: "
        f"returns or cancellations? Without {option} every row counts as a purchase; {way_out}",
        Hint,
        stacklevel=2,
    )

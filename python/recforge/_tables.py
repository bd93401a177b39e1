"""Reading columns of delimited text files: pandas' C parser when pandas is installed, the
standard library's csv module otherwise (so the shipped sample and the demo need only numpy)."""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import lzma
import os
import zipfile

import numpy as np

from ._factorize import pd

_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def open_text(path, encoding: str = "utf-8"):
    """A text stream over a possibly compressed file (by its suffix)."""
    name = os.fspath(path)
    suffix = os.path.splitext(name)[1].lower()
    if suffix == ".zip":
        with zipfile.ZipFile(name) as z:
            members = [m for m in z.namelist() if not m.endswith("/")]
            if len(members) != 1:
                raise ValueError(f"{name!r} must hold exactly one file, holds {len(members)}")
            return io.TextIOWrapper(io.BytesIO(z.read(members[0])), encoding=encoding, newline="")
    opener = _OPENERS.get(suffix)
    if opener is not None:
        return opener(name, "rt", encoding=encoding, newline="")
    return open(name, encoding=encoding, newline="")


def read_table(source, columns=None, *, names=None, text=(), sep: str = ",", encoding: str = "utf-8"):
    """Columns of a delimited text file as a mapping of column -> array.

    Parameters
    ----------
    source : path or bytes
        A file (gzip/bz2/xz/zip by suffix) or its raw bytes.
    columns : list of str, optional
        Columns to keep (default all).
    names : list of str, optional
        Column names for a file without a header row; None: the first row is the header.
    text : columns kept as strings (empty fields: None); the others are parsed as numbers.
    sep : str
        Delimiter; may be several characters (MovieLens 1M's "::").

    Raises
    ------
    ValueError
        A named column is absent, a line is short, or a number column holds text.
    FileNotFoundError
        No such file.
    """
    where = "the data" if isinstance(source, bytes) else repr(os.fspath(source))
    if not isinstance(source, bytes) and not os.path.exists(os.fspath(source)):
        raise FileNotFoundError(f"no such file: {where}")
    if len(sep) > 1:  # one-character delimiters are what every parser handles fast
        raw = source if isinstance(source, bytes) else open_text(source, encoding).read().encode(encoding)
        source, sep = raw.replace(sep.encode(encoding), b"\t"), "\t"
    if pd is not None:
        return _read_pandas(source, columns, names, text, sep, encoding, where)
    stream = io.TextIOWrapper(io.BytesIO(source), encoding=encoding, newline="") \
        if isinstance(source, bytes) else open_text(source, encoding)
    with stream as f:
        reader = csv.reader(f, delimiter=sep, quoting=_quoting(sep))
        header = list(names) if names is not None else next(reader, [])
        columns = list(dict.fromkeys(columns if columns is not None else header))
        _check_header(where, columns, header)
        at = [header.index(c) for c in columns]
        values = [[] for _ in columns]
        for line, row in enumerate(reader, start=1 if names is not None else 2):
            if not row:
                continue
            if len(row) < len(header):
                raise ValueError(f"{where} line {line} has {len(row)} fields, expected {len(header)}")
            for out, j in zip(values, at):
                out.append(row[j])
    data = {}
    for c, vals in zip(columns, values):
        if c in text:
            data[c] = np.array([v if v != "" else None for v in vals], dtype=object)
        else:
            try:
                data[c] = np.array([float(v) if v != "" else np.nan for v in vals], dtype=np.float64)
            except ValueError as e:
                raise ValueError(f"column {c!r} of {where} must hold numbers: {e}") from None
    return data


def _read_pandas(source, columns, names, text, sep, encoding, where):
    handle = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        if names is None:
            header = list(pd.read_csv(handle, sep=sep, nrows=0, encoding=encoding).columns)
            if isinstance(handle, io.BytesIO):
                handle.seek(0)
        else:
            header = list(names)
        columns = list(dict.fromkeys(columns if columns is not None else header))
        _check_header(where, columns, header)
        return pd.read_csv(handle, sep=sep, usecols=columns, encoding=encoding, names=names,
                           header=None if names is not None else "infer",
                           dtype={c: str for c in text if c in columns}, quoting=_quoting(sep))
    except UnicodeDecodeError as e:
        raise ValueError(f"{where} is not {encoding} text ({e})") from None
    except (ValueError, pd.errors.ParserError) as e:
        if "has no column" in str(e):
            raise
        raise ValueError(f"could not read {where}: {e}") from None


def _quoting(sep: str) -> int:
    # Comma files quote fields that hold commas; tab/pipe files (MovieLens) never quote, and
    # a title with a quote character in it must not start a quoted field.
    return csv.QUOTE_MINIMAL if sep == "," else csv.QUOTE_NONE


def _check_header(where, columns, header) -> None:
    absent = [c for c in columns if c not in header]
    if absent:
        raise ValueError(f"{where} has no column {', '.join(map(repr, absent))} (columns: {list(header)})")

"""Writing tables as CSV: the text pandas' ``to_csv(index=False, float_format="%.6g")`` writes,
byte for byte, formatted in C++ (``csv_text.hpp``) where every column is of a kind the kernel
writes: integers, float32/float64, and text (ids, descriptions, messages). A million customers'
top 10 is ten million rows: pandas formats each float in Python and each row through the csv
module (2M rows: 2.8 s; here about 0.3 s). Other columns (booleans, datetimes, an object column
of floats, which pandas writes with ``str()``, not the float format) go to pandas, unchanged.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io

import numpy as np

from . import _core
from ._atomic import atomic_output
from ._config import resolve_threads
from ._factorize import pd

FLOAT_DIGITS = 6  # "%.6g": six significant digits, as recforge has always written scores
_INT, _UINT, _FLOAT32, _FLOAT64, _TEXT, _CODED = range(6)
# zlib's own default: about the size of level 9 (what pandas uses) in a third of the time
GZIP_LEVEL = 6


@functools.cache
def _special(sep: str) -> str:
    """The characters that make the csv module quote a field, as pandas calls it (QUOTE_MINIMAL,
    lines ending in "\\n"): the separator, the quote, the line end and, in some Python
    versions, a carriage return. Asked of the csv module itself, so the two never disagree."""
    probe = io.StringIO()
    csv.writer(probe, delimiter=sep, lineterminator="\n").writerow(["\r", "x"])
    return sep + '"\n' + ("\r" if probe.getvalue().startswith('"') else "")


def _arrow_text(array):
    """(offsets, data) of an Arrow string array, nulls as empty text; None if it is not text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    if pa.types.is_dictionary(array.type):  # a categorical column (the out-of-core "path"): its labels
        array = array.dictionary_decode()
    if pa.types.is_null(array.type):
        array = pa.array([""] * len(array), pa.large_string())
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return None
    array = array.cast(pa.large_string())
    if array.null_count:
        array = pc.fill_null(array, "")
    _, offsets, data = array.buffers()
    offsets = np.frombuffer(offsets, dtype=np.int64)[array.offset : array.offset + len(array) + 1]
    return offsets, np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)


class Coded:
    """The column ``labels[codes]`` (-1: ``missing``), kept as its codes: a campaign list's ids
    and descriptions repeat a few thousand labels over millions of rows, and the CSV writer
    formats each row from its label's text, made once, instead of a Python object per row
    (5M rows: about 1.5 s less). ``np.asarray(column)`` spells it out (Parquet, pandas).

    Parameters
    ----------
    codes : array-like of int
    labels : array-like
        Any values; text ones go to the kernel, others are spelled out for the writer.
    missing : object, default None
        The value of code -1 when spelled out (an empty field in CSV either way).
    """

    __slots__ = ("codes", "labels", "missing", "_text")

    def __init__(self, codes, labels, missing=None, _text=None):
        self.codes = np.asarray(codes, dtype=np.int64)
        self.labels, self.missing = labels, missing
        self._text = [] if _text is None else _text  # the labels' text, shared by slices

    def __len__(self) -> int:
        return self.codes.shape[0]

    @property
    def size(self) -> int:
        return self.codes.shape[0]

    def __getitem__(self, rows):
        """One row's label (an integer), or the rows' column (a slice, a mask, positions)."""
        if isinstance(rows, (int, np.integer)):
            code = int(self.codes[rows])
            return self.missing if code < 0 else self.labels[code]
        return Coded(self.codes[rows], self.labels, self.missing, self._text)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        labels = np.asarray(self.labels, dtype=object)
        out = labels[np.maximum(self.codes, 0)] if labels.size else np.empty(self.codes.shape, dtype=object)
        absent = self.codes < 0
        if absent.any():
            out[absent] = self.missing
        return out if dtype is None else out.astype(dtype)

    def label_text(self):
        """(offsets, data) of the labels' text for the kernel, or None where they are not text."""
        if not self._text:
            column = _kernel_column(np.asarray(self.labels, dtype=object)) if len(self.labels) else None
            self._text.append(column[1:] if column is not None and column[0] == _TEXT else None)
        return self._text[0]


def spelled_out(table: dict) -> dict:
    """``table`` with its :class:`Coded` columns as plain arrays (for pandas and Parquet)."""
    return {name: np.asarray(v) if isinstance(v, Coded) else v for name, v in table.items()}


def _taken(values: Coded):
    """The pandas column of ``values`` without a Python object per row, where pandas keeps its
    text in Arrow (pandas 3's "str"): the labels this column uses, as pandas makes them, then
    Arrow's ``take`` of them. The dtype is pandas' own choice for those labels (and ``missing``
    where a code is -1), so it is the dtype of the spelled-out column. None elsewhere."""
    import pyarrow as pa

    n_labels = len(values.labels)
    used = np.flatnonzero(np.bincount(values.codes + 1, minlength=n_labels + 1)) - 1  # -1: missing
    sample = pd.DataFrame({"labels": np.asarray(Coded(used, values.labels, values.missing))})["labels"]
    dtype = sample.dtype
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        return None
    position = np.zeros(n_labels + 1, dtype=np.int64)
    position[used + 1] = np.arange(used.size)
    return dtype.__from_arrow__(pa.array(sample.array).take(pa.array(position[values.codes + 1])))


def frame_of(table: dict):
    """``table`` as a pandas DataFrame, the frame of :func:`spelled_out` (equal dtypes and
    values): text :class:`Coded` columns are taken from their labels in Arrow (5M rows: about
    3 s less than a Python string per row), the others spelled out."""
    columns = {}
    for name, v in table.items():
        if isinstance(v, Coded):
            taken = _taken(v) if len(v) else None
            v = np.asarray(v) if taken is None else taken
        columns[name] = v
    return pd.DataFrame(columns)


def _kernel_column(values):
    """A column as the kernel takes it, (kind, values, data), or None where pandas writes it."""
    if isinstance(values, Coded):
        labels = values.label_text()
        return _kernel_column(np.asarray(values)) if labels is None else (_CODED, values.codes, labels)
    if pd is not None and isinstance(values, (pd.Series, pd.Index)):
        values = values.array
    if hasattr(values, "__arrow_array__") or type(values).__module__.startswith("pyarrow"):
        import pyarrow as pa

        array = pa.array(values) if hasattr(values, "__arrow_array__") else values
        if pa.types.is_integer(array.type) and not array.null_count:
            values = array.to_numpy(zero_copy_only=False)
        elif pa.types.is_floating(array.type) and not pa.types.is_float16(array.type):
            values = array.to_numpy(zero_copy_only=False)
        else:
            text = _arrow_text(array)
            return None if text is None else (_TEXT, *text)
    values = np.asarray(values)
    if values.ndim != 1:
        return None
    kind = values.dtype.kind
    if kind == "i":
        return _INT, np.ascontiguousarray(values, dtype=np.int64), None
    if kind == "u":
        return _UINT, np.ascontiguousarray(values, dtype=np.uint64), None
    if kind == "f" and values.dtype.itemsize in (4, 8):
        return (_FLOAT32 if values.dtype.itemsize == 4 else _FLOAT64), np.ascontiguousarray(values), None
    if kind in "OU" and pd is not None:
        import pyarrow as pa

        try:  # text, or integers held as objects (an id map of ints): written as pandas writes them
            array = pa.array(values, from_pandas=True)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            return None  # mixed kinds, bytes, surrogates: pandas says what it makes of them
        if pa.types.is_integer(array.type) and not array.null_count:
            return _INT, np.ascontiguousarray(array.to_numpy(), dtype=np.int64), None
        text = _arrow_text(array)
        return None if text is None else (_TEXT, *text)
    return None


def _kernel_text(table: dict, sep: str) -> list | None:
    """The rows' text from the kernel (bytes, in chunks), or None where pandas must write them."""
    if len(table) < 2:
        return None  # one column: the csv module quotes an empty line's field ('""')
    try:
        import pyarrow  # noqa: F401  (text columns go through Arrow's buffers)
    except ImportError:
        return None
    columns = []
    for values in table.values():
        column = _kernel_column(values)
        if column is None:
            return None
        columns.append(column)
    n_rows = len(next(iter(table.values())))
    return _core.csv_text(columns, n_rows, sep, FLOAT_DIGITS, _special(sep), resolve_threads(0))


# Rows formatted at a time: the text of a block (about 7 MB for a campaign list) is what the
# writer holds beside the table, not the whole file's.
BLOCK_ROWS = 1 << 18


def _blocks(table: dict, n_rows: int):
    for start in range(0, n_rows, BLOCK_ROWS):
        yield {name: values[start : start + BLOCK_ROWS] for name, values in table.items()}


def csv_header(names, sep: str = ",") -> bytes:
    """The header line as pandas writes it (the csv module, QUOTE_MINIMAL)."""
    line = io.StringIO()
    csv.writer(line, delimiter=sep, lineterminator="\n").writerow([str(n) for n in names])
    return line.getvalue().encode("utf-8")


def write_csv(table, stream, *, header: bool = True, sep: str = ",", exact: bool = False) -> None:
    """``table`` (column name -> equal-length column: numpy, pandas or Arrow; or an Arrow
    table) as CSV text into the binary ``stream``: the header line (if asked), then the rows.
    Floats with six significant digits (scores), or with ``exact`` the shortest text that reads
    back to the same float, as Python's repr writes it (money: 25920.37, not 25920.4)."""
    arrow_table = hasattr(table, "column_names")
    columns = dict(zip(table.column_names, table.columns)) if arrow_table else table
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"the columns differ in length: {lengths}")
    if header:
        stream.write(csv_header(columns, sep))
    for block in _blocks(columns, next(iter(lengths.values()), 0)):
        text = None if exact else _kernel_text(block, sep)  # the kernel writes "%.6g" only
        for chunk in [_pandas_text(block, sep, exact)] if text is None else text:
            stream.write(chunk)


def _pandas_text(block: dict, sep: str, exact: bool = False) -> bytes:
    """Rows as pandas writes them (row by row, so a block's text is its part of the file's)."""
    frame = pd.DataFrame(
        {
            name: v.to_pandas() if type(v).__module__.startswith("pyarrow") else v
            for name, v in spelled_out(block).items()
        }
    )
    float_format = None if exact else f"%.{FLOAT_DIGITS}g"
    return frame.to_csv(None, index=False, header=False, sep=sep, float_format=float_format).encode("utf-8")


def save_csv(table: dict, path: str, sep: str = ",", exact: bool = False) -> None:
    """``table`` written atomically to ``path`` (gzip-compressed where it ends in ".gz");
    ``exact`` as for :func:`write_csv`."""
    with atomic_output(path) as raw:
        if path.lower().endswith(".gz"):
            with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=GZIP_LEVEL) as stream:
                write_csv(table, stream, sep=sep, exact=exact)
        else:
            write_csv(table, raw, sep=sep, exact=exact)

"""Reading columns of delimited text files: Arrow's multi-threaded reader when the ``io`` extra
is installed (pandas' C parser for the files it balks at), the standard library's csv module
otherwise (so the shipped sample and the demo need only numpy). All three give the same columns."""

from __future__ import annotations

import bz2
import codecs
import contextlib
import csv
import gzip
import io
import lzma
import os
import re
import warnings
import zipfile
import zlib

import numpy as np

from ._factorize import pd

TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet")  # the table files recforge writes


def check_table_suffix(path: str, what: str, suffixes=TABLE_SUFFIXES) -> None:
    """ValueError unless ``path`` ends with one of ``suffixes``: another name would get a CSV
    under a name that says otherwise (a .xlsx no spreadsheet opens)."""
    if not path.lower().endswith(tuple(suffixes)):
        raise ValueError(f"{what} {path!r}: recforge writes {', '.join(suffixes)} files; choose one of those suffixes")


_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}

# The delimiter of files whose columns are separated by runs of spaces or tabs, lines possibly
# indented (CDNOW_master.txt, fixed-width exports): given as ``sep``, alone or as pandas' r"\s+".
WHITESPACE = "whitespace"


def is_whitespace(sep: str) -> bool:
    return sep in (WHITESPACE, r"\s+")


def check_sep(sep, name: str = "sep") -> str:
    """``sep`` if it can delimit fields: one or more characters, no quote and no line break (an
    empty one reached the csv module as 'TypeError: "delimiter" must be a 1-character string')."""
    if not isinstance(sep, str):
        raise TypeError(f"{name} must be a string (the delimiter), got {type(sep).__name__}")
    if not sep or '"' in sep or "\n" in sep or "\r" in sep:
        raise ValueError(
            f"{name} must be one or more characters other than quotes and line breaks (or {WHITESPACE!r}), got {sep!r}"
        )
    return sep


def pandas_sep(sep: str) -> str:
    """``sep`` as pandas' read_csv takes it."""
    return r"\s+" if is_whitespace(sep) else sep


DECIMALS = (".", ",")


def check_decimal(decimal: str, sep: str) -> str:
    """``decimal`` (the decimal mark of number columns: "." or ",") if it can be read beside
    ``sep``."""
    if decimal not in DECIMALS:
        raise ValueError(f"decimal must be '.' or ',', got {decimal!r}")
    if decimal == sep:
        raise ValueError(f"decimal {decimal!r} is also the delimiter: numbers such as 2,5 would split their field")
    return decimal


# Runs of blanks between fields; blanks after a line break (indentation) and before one.
_BLANKS = re.compile(r"[ \t]+")
_INDENT = re.compile(r"(?<=\n)[ \t]+")
_TRAILING = re.compile(r"[ \t]+(?=\r?\n)")
_TRAILING_AT_END = re.compile(r"[ \t]+(?=\r?\n|\r?\Z)")

# One-character delimiters a file split by several characters (or by blanks) is rewritten
# with: the first that the text does not hold, so that no field's own character splits it.
_SPARE_DELIMITERS = ("\t", "\x1f", "\x1e", "\x1d", "\x1c")


def spare_delimiter(sep: str, holds) -> str:
    """The one-character delimiter a file split by ``sep`` (several characters, or
    "whitespace") is rewritten with: one that ``holds(character)`` says the text lacks."""
    if is_whitespace(sep):
        # Every tab outside quotes becomes part of a delimiter; one inside quotes is content,
        # which the parser keeps as such.
        return "\t"
    for delimiter in _SPARE_DELIMITERS:
        if not holds(delimiter):
            return delimiter
    raise ValueError(
        f"could not read a file split by {sep!r}: it holds every character that could stand for it "
        f"({', '.join(map(repr, _SPARE_DELIMITERS))})"
    )


def _rewrite(piece: str, sep: str, delimiter: str, line_start: bool, at_end: bool) -> str:
    """A piece of text outside quotes with ``sep`` as ``delimiter``. For "whitespace": blanks
    at a line's start (``line_start``: the piece starts one) and end dropped, every other run
    one delimiter; ``at_end``: the piece ends the text."""
    if not is_whitespace(sep):
        return piece.replace(sep, delimiter)
    piece = _INDENT.sub("", piece)
    if line_start:
        piece = piece.lstrip(" \t")
    piece = (_TRAILING_AT_END if at_end else _TRAILING).sub("", piece)
    return _BLANKS.sub(delimiter, piece)


def single_delimited(text: str, sep: str, quoted: bool) -> tuple[str, str]:
    """``text`` split by ``sep`` (several characters, or "whitespace": runs of spaces and tabs,
    lines possibly indented) rewritten with a one-character delimiter that no field holds, and
    that delimiter. Quoted fields (``quoted``) are kept as they are: the delimiter, blanks and
    tabs inside quotes stay field content."""
    delimiter = spare_delimiter(sep, text.__contains__)
    # With quoting, the pieces between quote characters alternate outside and inside a quoted
    # field (a doubled quote inside one opens and closes an empty piece): only the outside
    # pieces are rewritten.
    pieces = text.split('"') if quoted else [text]
    last = len(pieces) - 1
    for n in range(0, len(pieces), 2):
        pieces[n] = _rewrite(pieces[n], sep, delimiter, n == 0, n == last)
    return '"'.join(pieces), delimiter


class SingleDelimitedText(io.TextIOBase):
    """A file split by several characters read as :func:`single_delimited` rewrites it, by
    blocks of whole lines (for readers that stream it; the quote state carries over from one
    block to the next, so a quoted field may span lines), with ``delimiter`` chosen beforehand
    (:func:`file_spare_delimiter`)."""

    BLOCK_CHARS = 1 << 20

    def __init__(self, stream, sep: str, delimiter: str, quoted: bool = True):
        self._stream, self._sep, self._delimiter, self._quoted = stream, sep, delimiter, quoted
        self._inside = False  # within a quoted field at the current block's start
        self._buffer = ""

    def readable(self) -> bool:
        return True

    def _block(self) -> str:
        """The next block of whole lines, rewritten ("" at the end)."""
        block = self._stream.read(self.BLOCK_CHARS)
        if block and not block.endswith("\n"):
            block += self._stream.readline()
        at_end = not block.endswith("\n")
        if not self._quoted:
            return _rewrite(block, self._sep, self._delimiter, True, at_end)
        pieces = block.split('"')
        last = len(pieces) - 1
        for n in range(1 if self._inside else 0, len(pieces), 2):
            pieces[n] = _rewrite(pieces[n], self._sep, self._delimiter, n == 0, at_end and n == last)
        self._inside ^= last % 2 == 1
        return '"'.join(pieces)

    def read(self, size: int | None = -1) -> str:
        size = -1 if size is None else size
        parts, have = [self._buffer], len(self._buffer)
        while size < 0 or have < size:
            block = self._block()
            if not block:
                break
            parts.append(block)
            have += len(block)
        text = "".join(parts)
        if size < 0 or len(text) <= size:
            self._buffer = ""
            return text
        self._buffer = text[size:]
        return text[:size]

    def readline(self, size: int = -1) -> str:
        while "\n" not in self._buffer:
            block = self._block()
            if not block:
                break
            self._buffer += block
        cut = self._buffer.find("\n") + 1 or len(self._buffer)
        line, self._buffer = self._buffer[:cut], self._buffer[cut:]
        return line

    def close(self) -> None:
        self._stream.close()
        super().close()


def file_spare_delimiter(path, sep: str, encoding: str = "utf-8") -> str:
    """:func:`spare_delimiter` for a whole file (read once ahead, by blocks), to read it
    through :class:`SingleDelimitedText`."""
    found = set()
    with open_text(path, encoding) as scan:
        for block in iter(lambda: scan.read(1 << 24), ""):
            found.update(d for d in _SPARE_DELIMITERS if d in block)
    return spare_delimiter(sep, found.__contains__)


# What reading a damaged or cut-short compressed file raises, beside OSError without an errno
# (gzip's "Not a gzipped file", bz2's "Invalid data stream"): a copy or a download broken off
# ends a .gz, .bz2 or .xz before its end-of-stream marker, and a .zip before its directory.
DAMAGED = (EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile)


def is_damaged(error: BaseException) -> bool:
    """Whether ``error`` is what a damaged or cut-short compressed file raised."""
    # bz2 raises a bare OSError, gzip its BadGzipFile; not a missing file or a denied one
    bare = type(error) is OSError and error.errno is None
    return isinstance(error, (*DAMAGED, gzip.BadGzipFile)) or bare


@contextlib.contextmanager
def intact(where: str):
    """Reading ``where``: a damaged or cut-short compressed file is a ValueError naming it,
    not the decompressor's EOFError (a traceback at the command line) or a half file read."""
    try:
        yield
    except (*DAMAGED, OSError) as e:
        if not is_damaged(e):
            raise
        raise ValueError(
            f"{where} is damaged or cut short ({type(e).__name__}: {e}): copy or download it again"
        ) from None


def _decoding(encoding: str) -> str:
    # Spreadsheets export "CSV UTF-8" with a byte-order mark; read as plain UTF-8 it would
    # glue itself to the first column's name (pandas drops it on its own).
    try:
        return "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    except LookupError:
        return encoding  # the reader names the unknown encoding


def arrow_decoding(encoding: str) -> str:
    """``encoding`` as Arrow's CSV reader names it (the reader drops a UTF-8 byte-order mark
    itself)."""
    decoding = _decoding(encoding)
    return "utf8" if decoding == "utf-8-sig" else decoding


def zip_member(archive: zipfile.ZipFile, name: str) -> zipfile.ZipInfo:
    """The one file a zip of a table holds (folders aside); refused when it holds another count."""
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) != 1:
        raise ValueError(f"{name!r} must hold exactly one file, holds {len(members)}")
    return members[0]


def open_text(path, encoding: str = "utf-8"):
    """A text stream over a possibly compressed file (by its suffix)."""
    name = os.fspath(path)
    encoding = _decoding(encoding)
    suffix = os.path.splitext(name)[1].lower()
    if suffix == ".zip":
        with zipfile.ZipFile(name) as z:
            return io.TextIOWrapper(io.BytesIO(z.read(zip_member(z, name))), encoding=encoding, newline="")
    opener = _OPENERS.get(suffix)
    if opener is not None:
        return opener(name, "rt", encoding=encoding, newline="")
    return open(name, encoding=encoding, newline="")


def text_size(path, sample: int = 1 << 20) -> tuple[int, bytes]:
    """(bytes of text, the first ``sample`` of them) of a possibly compressed file: exact for a
    plain file and a zip member (its directory records the size); estimated for gzip, bz2 and
    xz from the compression ratio of the start, as those formats keep no reliable size. Their
    compressed size, taken for the text's, counted a gzip CSV's lines 17 times short."""
    name = os.fspath(path)
    size = os.path.getsize(name)
    with intact(repr(name)):
        if name.lower().endswith(".zip"):
            with zipfile.ZipFile(name) as z:
                member = zip_member(z, name)
                with z.open(member) as f:
                    return member.file_size, f.read(sample)
        opener = _OPENERS.get(os.path.splitext(name)[1].lower())
        with open(name, "rb") as raw:
            if opener is None:
                return size, raw.read(sample)
            with opener(raw) as text:
                head = text.read(sample)
                consumed = raw.tell()  # compressed bytes read for it (to the decompressor's buffer)
                if consumed >= size:  # all of it read in: the rest of the text is counted exactly
                    return len(head) + sum(map(len, iter(lambda: text.read(sample), b""))), head
    return int(len(head) * size / max(consumed, 1)), head


@contextlib.contextmanager
def streamed_text(path, encoding: str = "utf-8"):
    """A text stream over a possibly compressed file, read as it goes: a zip member is streamed
    (:func:`open_text` reads it whole, as the readers need), for callers that read its start."""
    name = os.fspath(path)
    if not name.lower().endswith(".zip"):
        with open_text(name, encoding) as f:
            yield f
        return
    with zipfile.ZipFile(name) as z:
        with z.open(zip_member(z, name)) as raw:
            yield io.TextIOWrapper(raw, encoding=_decoding(encoding), newline="")


def check_column_names(names, name: str = "names") -> list | None:
    """``names`` for a file without a header line: a sequence of distinct column names (str)."""
    if names is None:
        return None
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise TypeError(f"{name} must be a sequence of column names (str), got {names!r}")
    names = list(names)
    if len(set(names)) < len(names):
        raise ValueError(f"{name} must not repeat a column name, got {names}")
    return names


def read_table(
    source,
    columns=None,
    *,
    names=None,
    text=(),
    sep: str = ",",
    encoding: str = "utf-8",
    quoted: bool = True,
    arrow_text: bool = False,
    decimal: str = ".",
):
    """Columns of a delimited text file as a mapping of column -> array.

    Parameters
    ----------
    source : path or bytes
        A file (gzip/bz2/xz/zip by suffix) or its raw bytes; or a folder of such files (daily
        exports), read as one table in the order of their names, each with its header line.
    columns : list of str, optional
        Columns to keep (default all).
    names : list of str, optional
        Column names for a file without a header row; None: the first row is the header.
    text : columns kept as strings (empty fields: None); the others are parsed as numbers.
    sep : str
        Delimiter; may be several characters (MovieLens 1M's "::"). "whitespace" (also
        written as pandas writes it): runs of spaces and tabs, lines possibly indented
        (CDNOW_master.txt).
    quoted : bool, default True
        Fields may be quoted ("a; b" holds the delimiter), for every delimiter. False for
        files that never quote and may hold a lone quote character in a field (MovieLens).
    decimal : {".", ","}, default "."
        The decimal mark of the number columns: "," reads "2,55" (a European spreadsheet's
        export, usually with ``sep=";"``). A number field holding a point then is an error
        naming its line: "1.234,5" has a thousands separator, and "1.234" would read as 1.234.
    arrow_text : bool, default False
        Where Arrow's reader read the file, the ``text`` columns come back as pandas Arrow
        string arrays (missing: NA) instead of object arrays: no Python string per field, so
        5M lines of two id columns take about 1 GB less (for callers that factorize them at
        once, as ``Interactions.from_csv`` does).

    Every field is text until converted: only an empty field is missing ("NA", "null", "None"
    are ids like any other), with and without pandas alike. A line with more fields than the
    header is an error naming it (never a shifted column), and so is a line that repeats the
    header (files concatenated with their headers); a short line's missing fields are empty
    (its row is then dropped and counted as a missing id or a bad weight).

    Raises
    ------
    ValueError
        A named column is absent, a line has the wrong number of fields or repeats the
        header, or a number column holds text.
    FileNotFoundError
        No such file.
    """
    check_sep(sep)
    where = "the data" if isinstance(source, bytes) else repr(os.fspath(source))
    files = None if isinstance(source, bytes) else text_table_files(source)
    if files is not None:
        return _read_folder(files, columns, names, text, sep, encoding, quoted, arrow_text, decimal, where)
    with intact(where):
        return _read_table(source, columns, names, text, sep, encoding, quoted, arrow_text, decimal, where)


def _read_folder(files, columns, names, text, sep, encoding, quoted, arrow_text, decimal, where):
    """The CSV files of a folder as one table, in the order of their names: each read as a file
    of its own (its errors name it), with the same columns in the same order."""
    if columns is None and names is None:  # every column: the files must agree on them, said before any is read
        headers = [header_fields(path, sep, encoding, quoted) for path in files]
        for path, header in zip(files, headers):
            if header is not None and headers[0] is not None and header != headers[0]:
                raise ValueError(
                    f"{where}: {os.path.basename(path)!r} has the columns {header}, {os.path.basename(files[0])!r} "
                    f"{headers[0]}: the files of a folder are read as one table, under one header"
                )
    # each file gives the same columns: those asked for (its reader refuses one without them),
    # the ``names`` given, or a header checked above to be the first file's
    parts = [
        read_table(
            path,
            columns,
            names=names,
            text=text,
            sep=sep,
            encoding=encoding,
            quoted=quoted,
            arrow_text=arrow_text,
            decimal=decimal,
        )  # fmt: skip
        for path in files
    ]
    return {c: _concatenated([part[c] for part in parts]) for c in parts[0]}


def _concatenated(arrays):
    """One column of several files: numpy arrays joined by numpy, pandas' (Arrow strings) by
    pandas, and a mix of the two as objects."""
    if len(arrays) == 1:
        return arrays[0]
    if all(isinstance(a, np.ndarray) for a in arrays):
        return np.concatenate(arrays)
    return pd.concat([pd.Series(a) for a in arrays], ignore_index=True).array


def text_table_files(path) -> list | None:
    """The files of a folder of CSV files (daily exports, Spark's ``write.csv``), sorted by name,
    or None where ``path`` is no folder, or a folder of Parquet files (a dataset)."""
    name = os.fspath(path)
    if not os.path.isdir(name):
        return None
    files = _folder_files(name)
    text = [f for f in files if f.lower().endswith(_TEXT_TABLES)]
    if not text or any(f.lower().endswith(".parquet") for f in files):
        return None
    return [os.path.join(name, f) for f in text]


def _folder_files(name: str) -> list:
    """A folder's data files, relative to it, sorted: hidden files and those starting with "_"
    left out, as Arrow leaves them (Spark's _SUCCESS, checksums)."""
    return sorted(
        os.path.relpath(os.path.join(folder, f), name)
        for folder, _, names in os.walk(name)
        for f in names
        if not f.startswith((".", "_"))
    )


def _read_table(source, columns, names, text, sep, encoding, quoted, arrow_text, decimal, where):
    check_decimal(decimal, sep)
    if not isinstance(source, bytes) and not os.path.exists(os.fspath(source)):
        raise FileNotFoundError(f"no such file: {where}")
    if not isinstance(source, bytes):
        _refuse_spreadsheet(os.fspath(source), where)
    if len(sep) > 1:  # one-character delimiters are what every parser handles fast
        try:
            text_in = (
                source.decode(_decoding(encoding)) if isinstance(source, bytes) else open_text(source, encoding).read()
            )
        except UnicodeDecodeError as e:
            raise ValueError(f"{where} is not {encoding} text ({e}){_binary_hint(where)}") from None
        text_in, sep = single_delimited(text_in, sep, quoted)
        source = text_in.encode(encoding)
    quoting = csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE
    if names is None:
        check_repeated_names(source, columns, sep, encoding, quoted, where)
    else:
        check_no_header_line(source, columns or names, sep, encoding, quoted, where)
    if pd is not None and columns is not None:
        fast = _read_arrow(source, columns, names, text, sep, encoding, quoted, where, arrow_text, decimal)
        if fast is not None:
            return fast
    if pd is not None:
        data = _read_pandas(source, columns, names, text, sep, encoding, where, quoting)
    else:
        data = _read_csv_module(source, columns, names, sep, encoding, where, quoting)
    out = {}
    for c, vals in data.items():
        vals = np.asarray(vals, dtype=object)
        header_again = vals == c
        if names is None and header_again.any():
            raise repeated_header(where, int(np.flatnonzero(header_again)[0]))
        if c in text:
            out[c] = np.where(vals == "", None, vals)
        else:
            out[c] = _numbers(vals, c, where, decimal, header=names is None)
    return out


def _arrow_owned(pa, data: bytes):
    """``data`` copied into memory Arrow allocated. Arrow's reader over a Python ``bytes`` holds
    it as a PyBuffer; when the read fails (an absent column: a wrong --sep), a read-ahead task
    still in flight drops the last reference after read_csv has returned, which takes the GIL,
    and at interpreter exit that kills the thread mid-C++: "terminate called without an active
    exception", exit status 134 after the command's error (about one run in 150 on a busy
    machine; core dump: arrow::py::PyBuffer::~PyBuffer in a ThreadPool worker). Memory Arrow
    owns is freed without Python."""
    buffer = pa.allocate_buffer(len(data))
    np.frombuffer(buffer, dtype=np.uint8)[:] = np.frombuffer(data, dtype=np.uint8)
    return buffer


def _read_arrow(
    source, columns, names, text, sep, encoding, quoted, where, arrow_text=False, decimal="."
) -> dict | None:
    """The fast path (the ``io`` extra's pyarrow): Arrow's multi-threaded CSV reader, every field
    as text, then the same conversions as below. None where it does not apply or the file is in
    any way unusual (a line with too many or too few fields, bytes that are not the encoding, a
    column that is absent, a zip archive): the general path then reads it or says exactly what
    is wrong. 5M lines, 4 columns (159 MiB): 1.6 s against pandas' 8.5 s (2.6 s for the first
    read of a process)."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pa_csv
    except ImportError:
        return None
    if not isinstance(source, bytes) and os.fspath(source).lower().endswith((".zip", ".xz", ".lzma")):
        return None
    wanted = list(dict.fromkeys(columns))
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(_arrow_owned(pa, source)) if isinstance(source, bytes) else os.fspath(source),
            read_options=pa_csv.ReadOptions(
                encoding=arrow_decoding(encoding),
                column_names=None if names is None else list(names),
            ),
            parse_options=pa_csv.ParseOptions(delimiter=sep, quote_char='"' if quoted else False),
            convert_options=pa_csv.ConvertOptions(
                include_columns=wanted, column_types={c: pa.string() for c in wanted}, strings_can_be_null=False
            ),
        )
    except (pa.ArrowException, OSError, ValueError, LookupError, UnicodeError):
        return None
    out = {}
    for c in wanted:
        col = table.column(c)
        present = arrow_present(col, c, where, header=names is None)
        if c in text:
            out[c] = (
                pd.arrays.ArrowExtensionArray(present)
                if arrow_text
                else present.to_numpy(zero_copy_only=False).astype(object, copy=False)
            )
            continue
        try:
            if decimal == ",":
                if pc.any(pc.match_substring(present, ".")).as_py():
                    raise pa.ArrowInvalid("a point beside decimal commas")  # the error below names it
                present = pc.replace_substring(present, ",", ".")
            out[c] = pc.cast(present, pa.float64()).to_numpy(zero_copy_only=False)
        except pa.ArrowInvalid:  # Python's float() rules, and the error naming the line
            out[c] = _numbers(col.to_numpy(zero_copy_only=False).astype(object), c, where, decimal, names is None)
    return out


_SPREADSHEET_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # OOXML/ODF zip, OLE2 (.xls)


def _refuse_spreadsheet(path: str, where: str) -> None:
    lower = path.lower()
    with open(path, "rb") as f:
        magic = f.read(4)
    zipped_text = lower.endswith(".zip") and magic == _SPREADSHEET_MAGIC[0]
    if lower.endswith((".xlsx", ".xlsm", ".xls", ".ods")) or (magic in _SPREADSHEET_MAGIC and not zipped_text):
        raise ValueError(
            f"{where} looks like a spreadsheet; spreadsheets are not read: save the sheet as "
            "CSV (UTF-8) and pass that file"
        )


def repeated_header(where: str, row: int) -> ValueError:
    """The error for data row ``row`` (0-based) of a file that repeats its header line."""
    return ValueError(
        f"{where} line {_line_of(row)} repeats the header (files joined with their headers?); "
        "remove the repeated header lines"
    )


def arrow_present(column, name: str, where: str, first_row: int = 0, header: bool = True):
    """An Arrow text column (rows from ``first_row`` of a file) with its empty fields missing;
    with ``header``, ValueError where a field is the column's name (a header line inside the
    file: files joined with their headers)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if header and (again := pc.index(column, name).as_py()) >= 0:
        raise repeated_header(where, first_row + again)
    empty = pc.equal(column, "")
    if not pc.any(empty).as_py():  # the common case: no copy of the text (1M ids: 0.07-0.24 s)
        return column
    return pc.if_else(empty, pa.scalar(None, pa.string()), column)


def _line_of(row: int, header: bool = True) -> int:
    return row + 1 + header  # 1-based, after the header if any (blank lines, which are skipped, aside)


def _numbers(vals: np.ndarray, column: str, where: str, decimal: str = ".", header: bool = True) -> np.ndarray:
    """Text fields as float64, empty as NaN: Python's float() rules for both backends (with
    ``decimal`` ",", after the commas become points; a field with a point is refused)."""
    if decimal == ",":
        text = vals.astype(str)
        point = np.flatnonzero(np.char.find(text, ".") >= 0)
        if point.size:
            raise ValueError(
                f"column {column!r} of {where} must hold numbers with decimal commas: "
                f"line {_line_of(int(point[0]), header)} has {vals[point[0]]!r} "
                "(a point: thousands separators are not read)"
            )
        vals = np.char.replace(text, ",", ".").astype(object)
    try:  # numpy applies float() to each object in C: fast, and the same rules
        return np.where(vals == "", "nan", vals).astype(np.float64)
    except (TypeError, ValueError):
        pass  # find the offending line
    out = np.empty(vals.size, dtype=np.float64)
    for n, v in enumerate(vals.tolist()):
        try:
            out[n] = float(v) if v != "" else np.nan
        except (TypeError, ValueError):
            comma = decimal == "." and isinstance(v, str) and _DECIMAL_COMMA.fullmatch(v) is not None
            raise ValueError(
                f"column {column!r} of {where} must hold numbers: line {_line_of(n, header)} has {v!r}"
                + (" (a decimal comma? give ',' as the decimal mark, --decimal ,)" if comma else "")
            ) from None
    return out


# 1,5 or -1234,56: a number written with a decimal comma (a European spreadsheet's export)
_DECIMAL_COMMA = re.compile(r"\s*[-+]?\d*,\d+\s*")


def _read_csv_module(source, columns, names, sep, encoding, where, quoting) -> dict:
    stream = (
        io.TextIOWrapper(io.BytesIO(source), encoding=_decoding(encoding), newline="")
        if isinstance(source, bytes)
        else open_text(source, encoding)
    )
    try:
        with stream as f:
            reader = csv.reader(f, delimiter=sep, quoting=quoting, strict=quoting != csv.QUOTE_NONE)
            header = list(names) if names is not None else next(reader, [])
            columns = list(dict.fromkeys(columns if columns is not None else header))
            check_header(where, columns, header)
            at = [header.index(c) for c in columns]
            values = [[] for _ in columns]
            for row in reader:
                if not row:
                    continue
                if len(row) > len(header):
                    if names is not None and reader.line_num == 1:
                        raise ValueError(
                            f"{where} line 1 has {len(row)} fields but {len(header)} column names were given: "
                            "name every column, in order"
                        )
                    raise ValueError(
                        f"{where} line {reader.line_num} has {len(row)} fields, expected "
                        f"{len(header)}{_separator_hint(row, sep)}"
                    )
                if len(row) < len(header):  # missing trailing fields are empty, as pandas reads them
                    row = row + [""] * (len(header) - len(row))
                for out, j in zip(values, at):
                    out.append(row[j])
    except UnicodeDecodeError as e:
        raise ValueError(f"{where} is not {encoding} text ({e}){_binary_hint(where)}") from None
    except csv.Error as e:
        raise ValueError(f"could not read {where}: {e}") from None
    return dict(zip(columns, values))


def _separator_hint(row, sep: str) -> str:
    if len(row) == 1:
        for other in (";", "\t", "|", ","):
            if other != sep and other in row[0]:
                return f" (one field holding {other!r}: is the delimiter {other!r}? give it as the separator, --sep)"
        return ""
    return " (a field holding the delimiter must be quoted)"


def _binary_hint(where: str) -> str:
    if where.lower().rstrip("'").endswith((".xlsx", ".xls", ".ods")):
        return "; spreadsheets are not read: save the sheet as CSV (UTF-8) and pass that file"
    return "; give its encoding (e.g. latin-1)"


def _read_pandas(source, columns, names, text, sep, encoding, where, quoting) -> dict:
    # Every column as text with only empty fields missing (pandas would otherwise drop ids such
    # as "NA" or "null" that the csv module keeps); index_col=False so that a line with an extra
    # field is an error, never a silent shift of every column by one.
    handle = io.BytesIO(source) if isinstance(source, bytes) else source
    options = dict(
        sep=sep,
        encoding=encoding,
        quoting=quoting,
        index_col=False,
        dtype=str,
        keep_default_na=False,
        na_values=[],
        skip_blank_lines=True,
    )
    try:
        header = (
            list(names)
            if names is not None
            else list(pd.read_csv(handle, nrows=0, **{k: v for k, v in options.items() if k != "index_col"}).columns)
        )
        if isinstance(handle, io.BytesIO):
            handle.seek(0)
        read_options = {k: v for k, v in options.items() if k != "index_col"}
        if names is not None:
            check_names_cover(handle, header, where, **read_options)
        columns = list(dict.fromkeys(columns if columns is not None else header))
        check_header(where, columns, header)  # first: its hint names a wrong delimiter
        if names is None:
            check_names_cover(handle, header, where, header_line=True, **read_options)
        # Every field is read (not only usecols) so that the field count of each line is checked.
        # Where the first line is the long one, pandas drops its extra fields with a warning
        # (check_names_cover has refused such a file already: this is the last line of defence).
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            try:
                df = pd.read_csv(handle, names=header, header=None if names is not None else 0, **options)
            except pd.errors.ParserWarning:
                raise ValueError(
                    f"{where}: the first line after the header has more fields than the header ({len(header)})"
                    " (a field holding the delimiter must be quoted)"
                ) from None
        if len(df.columns) != len(header):
            raise ValueError(f"{where} has lines with more fields than the header ({len(header)})")
        return {c: df[c].to_numpy(dtype=object) for c in columns}
    except UnicodeDecodeError as e:
        raise ValueError(f"{where} is not {encoding} text ({e}){_binary_hint(where)}") from None
    except (ValueError, pd.errors.ParserError) as e:
        if "has no column" in str(e) or str(e).startswith(where):
            raise
        message = str(e).strip()
        if "Expected" in message and "fields" in message:
            message += " (a field holding the delimiter must be quoted)"
        raise ValueError(f"could not read {where}: {message}") from None


def check_names_cover(source, names, where: str, header_line: bool = False, **read_options) -> None:
    """The first line of data has no more fields than ``names`` (the column names given for a
    headerless file, or with ``header_line`` the file's own header) has: pandas keeps the first
    fields of a longer first line without a word (a warning; a reader of some columns only,
    not even that), or takes its first field for an index and shifts every column by one.
    ``source`` is a path or a BytesIO (rewound); ``read_options`` go to pandas' read_csv."""
    try:
        first = pd.read_csv(source, header=None, nrows=1, skiprows=1 if header_line else 0, **read_options)
    except pd.errors.EmptyDataError:
        return
    finally:
        if isinstance(source, io.BytesIO):
            source.seek(0)
    if first.shape[1] > len(names) and header_line:
        raise ValueError(
            f"{where} line 2 has {first.shape[1]} fields but the header has {len(names)}"
            " (a field holding the delimiter must be quoted)"
        )
    if first.shape[1] > len(names):
        raise ValueError(
            f"{where} line 1 has {first.shape[1]} fields but {len(names)} column names were given: "
            "name every column, in order"
        )


_TEXT_TABLES = (".csv", ".tsv", ".txt", ".dat", ".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip", ".zip", ".gz")


def parquet_dataset(path, where: str):
    """``path`` (a Parquet file or a folder of them) as a pyarrow dataset; a folder of CSV files
    (Spark's write.csv, daily exports) is named as such, not as Arrow's "Parquet magic bytes not
    found in footer" about its first file."""
    import pyarrow.dataset as ds

    name = os.fspath(path)
    text = text_table_files(name)
    if text is not None:
        shown = ", ".join(os.path.relpath(f, name) for f in text[:3]) + (", ..." if len(text) > 3 else "")
        raise ValueError(
            f"{where} is a folder of {len(text):,} CSV files ({shown}), not of Parquet files: read it as CSV "
            "(Interactions.from_csv, rf.batch.recommend and the command line read such a folder as one table)"
        )
    try:
        return ds.dataset(name, format="parquet")
    except (OSError, ValueError) as e:  # ArrowInvalid is a ValueError: not Parquet, unreadable
        raise ValueError(f"{where}: cannot read it as Parquet: {str(e).splitlines()[0]}") from None


def read_parquet(path, columns, where: str):
    """The ``columns`` of a Parquet file or folder (a dataset: Spark's, Dask's or pandas'
    partition_cols') as a pandas DataFrame; an absent column is named as a CSV's would be (not
    Arrow's schema dump over several lines)."""
    names = parquet_dataset(path, where).schema.names
    if not names and os.path.isdir(path):
        raise ValueError(f"{where} holds no Parquet or CSV file")
    check_header(where, [c for c in columns if c is not None], names)
    return pd.read_parquet(path, columns=[c for c in columns if c is not None])


def header_fields(source, sep: str, encoding: str = "utf-8", quoted: bool = True) -> list | None:
    """The fields of the first line as the file writes them, repeats included (pandas renames a
    second "user" "user.1", Arrow keeps the first), or None where it does not read as text."""
    try:
        if isinstance(source, bytes):
            end = source.find(b"\n")  # not split: it would copy the rest of the file
            line = source[: end if end >= 0 else len(source)].decode(_decoding(encoding))
        else:
            with streamed_text(source, encoding) as f:  # one line, not the whole zip member
                line = f.readline()
    except (OSError, ValueError, LookupError, EOFError, zipfile.BadZipFile):  # UnicodeDecodeError too
        return None
    line = line.rstrip("\r\n")
    if is_whitespace(sep):
        return line.split()
    if len(sep) > 1:
        return [field.strip('"') for field in line.split(sep)]
    return next(csv.reader([line], delimiter=sep, quoting=csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE), [])


def check_no_header_line(
    source, columns, sep: str, encoding: str, quoted: bool, where: str, option: str = "names"
) -> None:
    """ValueError where column names are given (by ``option``) for a file whose first line is a
    header: read as data, it made a customer "user" who bought "item" (or failed on a number
    column, naming line 1's text)."""
    fields = [field.strip() for field in header_fields(source, sep, encoding, quoted) or []]
    if set(columns) & set(fields):
        raise ValueError(
            f"{option}: the first line of {where} names its columns ({', '.join(fields)}): leave {option} out, it "
            "is for a file without a header line"
        )


def check_repeated_names(source, columns, sep: str, encoding: str, quoted: bool, where: str) -> None:
    """ValueError where the header names one of ``columns`` more than once: every reader would
    take one of them without a word (an export joining two tables: "id,name,id")."""
    fields = header_fields(source, sep, encoding, quoted)
    for c in dict.fromkeys(columns or ()) if fields else ():
        at = [i + 1 for i, field in enumerate(fields) if field == c]
        if len(at) > 1:
            raise ValueError(
                f"{where} names column {c!r} {len(at)} times in its header (fields {', '.join(map(str, at))}): "
                "rename all but one, which one is meant cannot be told"
            )


def looks_like_data(header) -> bool:
    """Whether a header line reads as a line of data: most of its fields are numbers
    (MovieLens' u.data, "196\t242\t3\t881250949", read with its first line as the header)."""
    fields = [str(f).strip() for f in header if str(f).strip()]
    numbers = 0
    for field in fields:
        try:
            float(field)
        except ValueError:
            continue
        numbers += 1
    return bool(fields) and 2 * numbers >= len(fields)


def check_header(where, columns, header) -> None:
    """ValueError naming the ``columns`` that ``header`` lacks (with a hint at a wrong delimiter,
    a column named in another case, or a file without a header line); ``where`` names the input."""
    absent = [c for c in columns if c not in header]
    if absent:
        hint = _separator_hint(header, "") if len(header) == 1 else _case_hint(absent, header)
        if not hint and looks_like_data(header):
            hint = (
                "; its first line looks like data, not column names: a file without a header line needs its "
                "names given (names=, or --names for a command's --data)"
            )
        raise ValueError(f"{where} has no column {', '.join(map(repr, absent))} (columns: {list(header)}){hint}")


def _case_hint(absent, header) -> str:
    """Where an absent column is in the header but for case or surrounding blanks
    ('description' for 'Description'): which one, so the option naming it can be given."""
    found = {str(h).strip().casefold(): h for h in header}
    near = [(a, found[a.strip().casefold()]) for a in absent if a.strip().casefold() in found]
    return "".join(
        f"; did you mean {right!r} for {wrong!r}? (names match exactly, case included)" for wrong, right in near
    )

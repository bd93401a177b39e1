"""Events split by customer into blocks on disk, in bounded memory.

A hash of the customer id picks each event's block, so all of a customer's events land in one
block whatever the input's order, and a block's customers can be scored on their own. The
input is read in chunks (Parquet row batches, CSV chunks) as Arrow tables; each chunk's rows
are appended to their block's Arrow IPC stream (a temporary file: no encoding or compression
to pay for, read back whole). Memory: one chunk.
"""

from __future__ import annotations

import contextlib
import os
from collections import OrderedDict
from collections.abc import Iterator

import numpy as np

from .._factorize import other_integer_text, pd
from .._tables import (
    SingleDelimitedText,
    arrow_decoding,
    arrow_present,
    check_header,
    check_names_cover,
    check_no_header_line,
    check_repeated_names,
    file_spare_delimiter,
    intact,
    is_whitespace,
    open_text,
    pandas_sep,
    parquet_dataset,
    repeated_header,
    text_table_files,
)


def require_io() -> None:
    if pd is None:
        raise ImportError("out-of-core scoring reads and writes Parquet: pip install 'recforge[io]'")
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ImportError("out-of-core scoring reads and writes Parquet: pip install 'recforge[io]'") from None


def arrow_schema(kinds: dict):
    import pyarrow as pa

    types = {"str": pa.string(), "int": pa.int64(), "float": pa.float64()}
    return pa.schema([(column, types[kind]) for column, kind in kinds.items()])


def read_chunks(
    path: str,
    columns: list,
    kinds: dict,
    chunk_rows: int,
    sep: str = ",",
    encoding: str = "utf-8",
    what: str = "events",
    names: list | None = None,
    fast: bool = True,
    decimal: str = ".",
) -> Iterator:
    """Arrow tables of at most ``chunk_rows`` rows of ``columns`` from a Parquet file or folder
    (a dataset), a CSV file or a folder of them, each column cast to its kind in ``kinds``
    ("str", "int" or "float"), so every chunk has the same schema. ``what`` names the input in
    errors; ``names`` are the column names of a CSV without a header line. A CSV is read by
    Arrow's streaming reader where ``fast`` (raising ArrowBalked, possibly after some chunks,
    where it cannot read the file: see :func:`spill_input`), else by pandas' chunked reader.
    An empty field is missing; in a "float" column, text that is no number is an error, as the
    in-memory reader has it (an "int" column is of ids: such a row is dropped and counted
    later). ``decimal``: the number columns' decimal mark (with ",", a "float" field holding a
    point is an error: 1.234,5 or 3.06, which is meant cannot be told)."""
    try:
        yield from _chunks(path, columns, kinds, chunk_rows, sep, encoding, what, names, fast, decimal)
    except NotNumbers as e:
        raise ValueError(f"{what} {path!r}: {e}") from None


def _chunks(path, columns, kinds, chunk_rows, sep, encoding, what, names, fast, decimal) -> Iterator:
    import pyarrow as pa

    schema = arrow_schema(kinds)
    lower = path.lower()
    files = text_table_files(path)
    if files is not None:  # a folder of CSV files: each in turn, in the order of their names
        for file in files:
            yield from read_chunks(file, columns, kinds, chunk_rows, sep, encoding, what, names, fast, decimal)
        return
    if os.path.isdir(path) or lower.endswith(".parquet"):
        dataset = parquet_dataset(path, f"{what} {path!r}")
        check_header(f"{what} {path!r}", columns, dataset.schema.names)
        # No read-ahead: Arrow would otherwise decode up to 16 batches (and 4 files) ahead of
        # the one being split, and memory would grow with the input (2.4 GiB at 100M events).
        batches = dataset.to_batches(columns=columns, batch_size=chunk_rows, batch_readahead=0, fragment_readahead=0)
        for batch in batches:
            table = pa.Table.from_batches([batch])
            try:
                yield table.cast(schema)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # e.g. text in an integer id column
                yield pa.Table.from_pandas(_cast(table.to_pandas(), kinds), schema=schema, preserve_index=False)
        return
    try:
        with intact(f"{what} {path!r}"):
            yield from _csv_chunks(path, columns, kinds, chunk_rows, sep, encoding, what, names, fast, decimal, schema)
    except UnicodeDecodeError as e:
        raise ValueError(
            f"{what} {path!r} is not {encoding} text ({e}): give its encoding (e.g. encoding='latin-1')"
        ) from None


def _csv_chunks(path, columns, kinds, chunk_rows, sep, encoding, what, names, fast, decimal, schema) -> Iterator:
    text = [c for c in columns if kinds[c] == "str"]
    several = len(sep) > 1 and not is_whitespace(sep)
    # Several characters between fields: pandas would split them with its Python engine,
    # quoted fields included; the file is read rewritten with one character no field holds.
    read_sep = file_spare_delimiter(path, sep, encoding) if several else pandas_sep(sep)

    def source():
        if several:
            return SingleDelimitedText(open_text(path, encoding), sep, read_sep)
        return contextlib.nullcontext(path)

    read_options = dict(sep=read_sep, encoding=encoding, dtype=str, keep_default_na=False, na_values=[])
    with source() as s:
        header = names if names is not None else list(pd.read_csv(s, nrows=0, **read_options).columns)
    if names is not None:  # too few names first: a column they lack may be the one unnamed
        with source() as s:
            check_names_cover(s, header, f"{what} {path!r}", **read_options)
        check_no_header_line(path, columns, sep, encoding, True, f"{what} {path!r}")
    check_header(f"{what} {path!r}", columns, header)  # with the in-memory reader's hints (a wrong --sep)
    if names is None:
        check_repeated_names(path, columns, sep, encoding, True, f"{what} {path!r}")
        with source() as s:
            check_names_cover(s, header, f"{what} {path!r}", header_line=True, **read_options)
    if fast and len(sep) == 1 and not path.lower().endswith((".zip", ".xz", ".lzma")):
        yield from _arrow_csv_chunks(path, columns, kinds, chunk_rows, sep, encoding, what, names, decimal)
        return
    numbers = [c for c in columns if c not in text] if decimal == "." else []
    # Every field is read, not only ``columns``: a reader of some columns checks no line's field
    # count, and a field holding the delimiter would shift that line's columns unseen.
    with source() as s:
        reader = pd.read_csv(
            s,
            chunksize=chunk_rows,
            sep=read_sep,
            encoding=encoding,
            index_col=False,
            dtype={c: str for c in header if c not in numbers},  # numbers: converted by _cast
            # only an empty field is missing: "NA" or "null" is a customer as in every other reader
            keep_default_na=False,
            na_values=[""],
            **({} if names is None else {"header": None, "names": names}),
        )
        yield from _pandas_chunks(reader, columns, kinds, text, decimal, schema, f"{what} {path!r}", names is None)


def _pandas_chunks(reader, columns, kinds, text, decimal, schema, where, header_line) -> Iterator:
    import pyarrow as pa

    done = 0
    while True:
        try:
            chunk = next(reader)
        except StopIteration:
            return
        except pd.errors.ParserError as e:  # a line with more fields than the header
            message = str(e).strip()
            raise ValueError(
                f"could not read {where}: {message} (a field holding the delimiter must be quoted)"
            ) from None
        chunk = chunk[columns]
        if header_line:
            for c in text:
                again = np.flatnonzero(chunk[c].to_numpy() == c)
                if again.size:
                    raise repeated_header(where, done + int(again[0]))
        done += len(chunk)
        yield pa.Table.from_pandas(_cast(chunk, kinds, decimal), schema=schema, preserve_index=False)


class ArrowBalked(Exception):
    """Arrow's CSV reader stopped on the file (a line with too many fields, bytes outside the
    encoding): the caller reads it again from the start with pandas' reader, which reads what
    can be read and says exactly what is wrong with the rest."""


# Bytes Arrow's streaming reader parses at a time (in parallel within a block).
ARROW_BLOCK_BYTES = 16 << 20


def _arrow_csv_chunks(path, columns, kinds, chunk_rows, sep, encoding, what, names, decimal=".") -> Iterator:
    """The CSV's chunks through Arrow's streaming reader: every field read as text, an empty
    one missing (as ``_tables.read_table`` reads; 5M lines: 0.7 s against pandas' chunks 2.7 s).
    Raises ArrowBalked where Arrow cannot read the file."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    balk = (pa.ArrowException, OSError, ValueError, LookupError, UnicodeError)
    try:
        reader = pa_csv.open_csv(
            path,
            read_options=pa_csv.ReadOptions(
                encoding=arrow_decoding(encoding), column_names=names, block_size=ARROW_BLOCK_BYTES
            ),
            parse_options=pa_csv.ParseOptions(delimiter=sep),
            convert_options=pa_csv.ConvertOptions(
                include_columns=columns, column_types={c: pa.string() for c in columns}, strings_can_be_null=False
            ),
        )
    except balk as e:
        raise ArrowBalked(str(e)) from e
    pending, n_pending, done = [], 0, 0
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            batch = None
        except balk as e:
            raise ArrowBalked(str(e)) from e
        if batch is not None:
            pending.append(batch)
            n_pending += batch.num_rows
        while n_pending >= chunk_rows or (batch is None and n_pending):
            table = pa.Table.from_batches(pending).select(columns)
            chunk, rest = table.slice(0, chunk_rows), table.slice(chunk_rows)
            pending, n_pending = rest.to_batches(), rest.num_rows
            yield _converted(chunk, kinds, what, path, done, names is None, decimal)
            done += chunk.num_rows
        if batch is None:
            return


def _converted(table, kinds: dict, what: str, path: str, first_row: int, has_header: bool, decimal: str = "."):
    """A chunk of text columns in the kinds' types: an empty field missing, numbers that do not
    parse missing as in pandas' ``to_numeric(errors="coerce")`` (the row is dropped and counted
    later)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arrays = []
    for column, kind in kinds.items():
        where, header = f"{what} {path!r}", has_header and kind == "str"
        values = arrow_present(table.column(column), column, where, first_row, header)
        if kind != "str":
            if decimal == ",":  # "2,55" as "2.55"; a field with a point too is no number here
                with_point = pc.match_substring(values, ".")
                if kind == "float" and pc.any(with_point).as_py():
                    _refuse_point(values.filter(with_point)[0].as_py(), column)
                values = pc.if_else(with_point, pa.scalar(None, pa.string()), pc.replace_substring(values, ",", "."))
            try:
                values = pc.cast(values, pa.int64() if kind == "int" else pa.float64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # " 12", "1e3" as an int, text
                frame = _cast(pd.DataFrame({column: values.to_pandas()}), {column: kind})
                values = pa.Array.from_pandas(frame[column])
        arrays.append(values)
    return pa.table(arrays, schema=arrow_schema(kinds))


def _cast(frame, kinds: dict, decimal: str = "."):
    for column, kind in kinds.items():
        values = frame[column]
        if kind != "str" and decimal == "," and not pd.api.types.is_numeric_dtype(values):
            text = values.astype("string")
            dotted = text.str.contains(".", regex=False).fillna(False).to_numpy(dtype=bool)
            if kind == "float" and dotted.any():
                _refuse_point(text[dotted].iloc[0], column)
            values = text.where(~dotted).str.replace(",", ".", regex=False)
        if kind == "str":
            frame[column] = values.astype(str).where(values.notna(), None)
        elif kind == "int":
            frame[column] = pd.to_numeric(values, errors="coerce").astype("Int64")  # gaps: dropped later
        else:
            numbers = pd.to_numeric(values, errors="coerce").astype(np.float64)
            _check_numbers(values, numbers, column)
            frame[column] = numbers
    return frame


def _refuse_point(value: str, column: str) -> None:
    """NotNumbers for a "float" field holding a point in a file of decimal commas, as the
    in-memory reader refuses it (1.234,5 or 3.06: which is meant cannot be told)."""
    raise NotNumbers(
        f"column {column!r} must hold numbers with decimal commas, got {value!r} (a point: thousands "
        "separators are not read)"
    )


def _check_numbers(values, numbers, column: str) -> None:
    """ValueError naming the first field of ``values`` that holds text but parsed as no number."""
    text = values.astype("string").str.strip()
    bad = np.flatnonzero((numbers.isna() & values.notna() & (text != "")).to_numpy())
    if bad.size:
        raise NotNumbers(f"column {column!r} must hold numbers, got {values.iloc[int(bad[0])]!r}")


class NotNumbers(ValueError):
    """A "float" column holding text (named with its file by :func:`read_chunks`)."""


def spill_input(
    path: str,
    kinds: dict,
    user_col: str,
    n_blocks: int,
    folder: str,
    chunk_rows: int,
    sep: str = ",",
    encoding: str = "utf-8",
    *,
    what: str = "events",
    names: list | None = None,
    progress=None,
    decimal: str = ".",
) -> np.ndarray:
    """:func:`spill` of :func:`read_chunks` of ``path``'s ``kinds`` columns: Arrow's reader
    first; where it balks part-way, the blocks written so far are removed and pandas' reader
    splits the file again from the start. Returns the rows per block."""
    columns = list(kinds)
    try:
        chunks = read_chunks(path, columns, kinds, chunk_rows, sep, encoding, what, names, decimal=decimal)
        return spill(chunks, user_col, kinds, n_blocks, folder, progress)
    except ArrowBalked:
        for name in os.listdir(folder):
            if name.startswith("block-"):
                os.unlink(os.path.join(folder, name))
        if progress is not None:
            progress.reset()
        chunks = read_chunks(path, columns, kinds, chunk_rows, sep, encoding, what, names, fast=False, decimal=decimal)
        return spill(chunks, user_col, kinds, n_blocks, folder, progress)


def block_of(customers, n_blocks: int) -> np.ndarray:
    """The block of each customer id (an Arrow or numpy column): :func:`customer_hash` modulo
    ``n_blocks``."""
    return (customer_hash(customers) % np.uint64(n_blocks)).astype(np.int64)


def customer_hash(customers) -> np.ndarray:
    """A 64-bit hash (uint64) of each customer id (an Arrow or numpy column): pandas' keyed hash,
    fixed key, the same on every run and machine. Integer ids hash as int64 (missing ones as -1:
    they are dropped later), text ids as Python strings, "17850.0" as "17850"."""
    if hasattr(customers, "type"):  # an Arrow column
        import pyarrow as pa
        import pyarrow.compute as pc

        if pa.types.is_integer(customers.type):
            values = pc.fill_null(customers, -1).to_numpy().astype(np.int64, copy=False)
        else:
            values = customers.to_numpy(zero_copy_only=False).astype(object)
            textual = pa.types.is_string(customers.type) or pa.types.is_large_string(customers.type)
            if textual and not pc.any(pc.match_substring(customers, ".")).as_py():
                return _hashed(values)  # no "17850.0" to look for (Arrow tells in ms)
    else:
        values = np.asarray(customers)
        if values.dtype.kind not in "iu":
            values = values.astype(object)
    if values.dtype == object:  # "17850.0" hashes as "17850": one customer's rows meet in one block
        other = other_integer_text(values, whole=False)
        if other is not None:
            values = values.copy()
            values[other[0]] = other[1]
    return _hashed(values)


def _hashed(values: np.ndarray) -> np.ndarray:
    return pd.util.hash_array(values, categorize=False)


OPEN_BLOCKS = 64  # block files held open at once while splitting (macOS lets a process hold 256)


class _BlockWriters:
    """Arrow stream writers of the blocks' files, at most ``limit`` open at once: the least
    recently used is closed, and its block's next rows start a new stream in the same file.
    Up to ``limit`` blocks every block is one stream, written through one open file; beyond,
    a file is reopened for each chunk that has rows of its block (about 0.15 ms a time)."""

    def __init__(self, folder: str, schema, limit: int = OPEN_BLOCKS):
        self.folder, self.schema, self.limit = folder, schema, limit
        self.open: OrderedDict = OrderedDict()  # block -> (file, writer), oldest first

    def write(self, block: int, table) -> None:
        import pyarrow as pa

        held = self.open.pop(block, None)
        if held is None:
            if len(self.open) >= self.limit:
                self._close(*self.open.popitem(last=False)[1])
            f = pa.OSFile(os.path.join(self.folder, block_name(block)), "ab")
            held = (f, pa.ipc.new_stream(f, self.schema))
        self.open[block] = held
        held[1].write_table(table)

    @staticmethod
    def _close(f, writer) -> None:
        try:
            writer.close()
        finally:
            f.close()

    def close(self) -> None:
        while self.open:
            self._close(*self.open.popitem(last=False)[1])


def spill(chunks: Iterator, user_col: str, kinds: dict, n_blocks: int, folder: str, progress=None) -> np.ndarray:
    """Append each chunk's rows to ``folder``/block-NNNNN.arrow by customer (Arrow IPC streams,
    one or more per block: temporary files, written and read back without encoding); returns
    the rows per block. Blocks without rows get no file.

    At most :data:`OPEN_BLOCKS` files are open at once (:class:`_BlockWriters`): one per block
    ran out of file handles beyond about a thousand blocks (256 on macOS)."""
    import pyarrow as pa

    writers = _BlockWriters(folder, arrow_schema(kinds))
    rows = np.zeros(n_blocks, dtype=np.int64)
    try:
        for table in chunks:
            block = block_of(table.column(user_col), n_blocks)
            order = np.argsort(block, kind="stable")
            block, table = block[order], table.take(pa.array(order))
            starts = np.flatnonzero(np.r_[True, block[1:] != block[:-1]]) if block.size else np.zeros(0, np.int64)
            for start, end in zip(starts.tolist(), np.r_[starts[1:], block.size].tolist()):
                b = int(block[start])
                writers.write(b, table.slice(start, end - start))
                rows[b] += end - start
            if progress is not None:
                progress.update(table.num_rows)
    finally:
        writers.close()
    return rows


def read_block(folder: str, block: int, kinds: dict):
    """Block ``block``'s events as a DataFrame (empty, with the columns, if it has none): the
    file's streams one after another."""
    import pyarrow as pa

    path = os.path.join(folder, block_name(block))
    if not os.path.exists(path):
        return arrow_schema(kinds).empty_table().to_pandas()
    tables, size = [], os.path.getsize(path)
    # memory-mapped, as pa.ipc.open_stream(path) maps it (a third faster than reading it in):
    # Arrow's buffers keep the mapping alive after the file object is closed
    with pa.memory_map(path) as f:
        while f.tell() < size:
            with pa.ipc.open_stream(f) as reader:
                tables.append(reader.read_all())
    return pa.concat_tables(tables).to_pandas()


def has_block(folder: str, block: int) -> bool:
    """Whether block ``block`` has rows in ``folder``."""
    return os.path.exists(os.path.join(folder, block_name(block)))


def block_name(block: int) -> str:
    return f"block-{block:05d}.arrow"

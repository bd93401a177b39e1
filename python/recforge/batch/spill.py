"""Events split by customer into blocks on disk, in bounded memory.

A hash of the customer id picks each event's block, so all of a customer's events land in one
block whatever the input's order, and a block's customers can be scored on their own. The
input is read in chunks (Parquet row batches, CSV chunks) as Arrow tables; each chunk's rows
are appended to their block's Arrow IPC stream (a temporary file: no encoding or compression
to pay for, read back whole). Memory: one chunk.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from .._factorize import pd
from .._tables import check_names_cover


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
) -> Iterator:
    """Arrow tables of at most ``chunk_rows`` rows of ``columns`` from a Parquet file or folder
    (a dataset) or a CSV file, each column cast to its kind in ``kinds`` ("str", "int" or
    "float"), so every chunk has the same schema. ``what`` names the input in errors; ``names``
    are the column names of a CSV without a header line."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    schema = arrow_schema(kinds)
    lower = path.lower()
    if os.path.isdir(path) or lower.endswith(".parquet"):
        dataset = ds.dataset(path, format="parquet")
        missing = [c for c in columns if c not in dataset.schema.names]
        if missing:
            raise ValueError(f"{what} {path!r} has no column {missing[0]!r} (columns: {dataset.schema.names})")
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
    text = [c for c in columns if kinds[c] == "str"]
    if names is None:
        header = pd.read_csv(path, nrows=0, sep=sep, encoding=encoding).columns
    else:
        header = names
        check_names_cover(path, names, f"{what} {path!r}", sep=sep, encoding=encoding, dtype=str)
    missing = [c for c in columns if c not in header]
    if missing:
        raise ValueError(f"{what} {path!r} has no column {missing[0]!r} (columns: {list(header)})")
    reader = pd.read_csv(
        path,
        usecols=columns,
        chunksize=chunk_rows,
        sep=sep,
        encoding=encoding,
        dtype={c: str for c in text},
        **({} if names is None else {"header": None, "names": names}),
    )
    for chunk in reader:
        yield pa.Table.from_pandas(_cast(chunk[columns], kinds), schema=schema, preserve_index=False)


def _cast(frame, kinds: dict):
    for column, kind in kinds.items():
        values = frame[column]
        if kind == "str":
            frame[column] = values.astype(str).where(values.notna(), None)
        elif kind == "int":
            frame[column] = pd.to_numeric(values, errors="coerce").astype("Int64")  # gaps: dropped later
        else:
            frame[column] = pd.to_numeric(values, errors="coerce").astype(np.float64)
    return frame


def block_of(customers, n_blocks: int) -> np.ndarray:
    """The block of each customer id (an Arrow or numpy column): a keyed hash (pandas', fixed
    key: the same on every run and machine) modulo ``n_blocks``. Integer ids hash as int64
    (missing ones as -1: they are dropped later), text ids as Python strings."""
    if hasattr(customers, "type"):  # an Arrow column
        import pyarrow as pa
        import pyarrow.compute as pc

        if pa.types.is_integer(customers.type):
            values = pc.fill_null(customers, -1).to_numpy().astype(np.int64, copy=False)
        else:
            values = customers.to_numpy(zero_copy_only=False).astype(object)
    else:
        values = np.asarray(customers)
        if values.dtype.kind not in "iu":
            values = values.astype(object)
    return (pd.util.hash_array(values, categorize=False) % np.uint64(n_blocks)).astype(np.int64)


def spill(chunks: Iterator, user_col: str, kinds: dict, n_blocks: int, folder: str, progress=None) -> np.ndarray:
    """Append each chunk's rows to ``folder``/block-NNNNN.arrow by customer (Arrow IPC streams:
    temporary files, written and read back without encoding); returns the rows per block.
    Blocks without rows get no file."""
    import pyarrow as pa

    schema = arrow_schema(kinds)
    writers: dict = {}
    rows = np.zeros(n_blocks, dtype=np.int64)
    try:
        for table in chunks:
            block = block_of(table.column(user_col), n_blocks)
            order = np.argsort(block, kind="stable")
            block, table = block[order], table.take(pa.array(order))
            starts = np.flatnonzero(np.r_[True, block[1:] != block[:-1]]) if block.size else np.zeros(0, np.int64)
            for start, end in zip(starts.tolist(), np.r_[starts[1:], block.size].tolist()):
                b = int(block[start])
                if b not in writers:
                    writers[b] = pa.ipc.new_stream(os.path.join(folder, block_name(b)), schema)
                writers[b].write_table(table.slice(start, end - start))
                rows[b] += end - start
            if progress is not None:
                progress.update(table.num_rows)
    finally:
        for writer in writers.values():
            writer.close()
    return rows


def read_block(folder: str, block: int, kinds: dict):
    """Block ``block``'s events as a DataFrame (empty, with the columns, if it has none)."""
    import pyarrow as pa

    path = os.path.join(folder, block_name(block))
    if not os.path.exists(path):
        return arrow_schema(kinds).empty_table().to_pandas()
    with pa.ipc.open_stream(path) as reader:
        return reader.read_all().to_pandas()


def block_name(block: int) -> str:
    return f"block-{block:05d}.arrow"

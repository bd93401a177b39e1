"""Top-k for more customers than fit in memory: events split by customer into blocks on disk,
each block scored on its own and written as one Parquet file, atomically; a rerun skips the
blocks already written.

Layout of ``out``:

- ``part-NNNNN.parquet``: the lists of block NNNNN's customers (``user, rank, item, score``,
  and ``path`` for a model with fallbacks). A block without customers has no file, except
  block 0, which is always written (an empty job's output still has its columns).
- ``_recforge_job.json``: what the job is (input, model, k, blocks); a rerun with another job
  is refused rather than mixed in.
- ``_spill/``: the input split by customer, as Arrow IPC streams (removed at the end); the
  customer table's blocks, if one is given, in ``_spill/customers/``.
- ``_SUCCESS``: written last, with the job's report: the output is complete.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil

import numpy as np
import scipy.sparse as sp

from .._atomic import atomic_output, atomic_path, check_writable
from .._checks import NotFittedError, check_bool, check_choice, check_int, check_model
from .._csv_out import GZIP_LEVEL, Coded, frame_of, write_csv
from .._factorize import found_written_otherwise, id_kind, ids_like
from .._tables import (
    check_column_names,
    check_decimal,
    check_table_suffix,
    parquet_dataset,
    text_size,
    text_table_files,
)
from ..data import Interactions
from ..models import ColdStart
from .customers import CustomerTable, emptied_customers, table_kinds, with_empty_rows
from .spill import block_of, has_block, pd, read_block, require_io, spill_input

MANIFEST, SPILL, DONE = "_recforge_job.json", "_spill", "_SUCCESS"
CUSTOMERS = "customers"  # the customer table's blocks, inside SPILL
BATCH = 20_000  # customers per kernel call inside a block


def _column_of(codes: np.ndarray, labels: np.ndarray):
    """``labels[codes]``: kept as codes where the labels are objects (text ids: taken in Arrow
    when the frame is made, not a Python string per row), taken here otherwise (integer ids
    keep their dtype)."""
    return Coded(codes, labels) if labels.dtype == object else labels[codes]


def needs_times(spec: dict) -> bool:
    """Whether scoring reads the events' times: only ``aggregate="last"`` picks a pair's weight
    by them (the latest event's); every other merge, and the lists, need none."""
    return spec.get("aggregate") == "last" and spec.get("time_col") is not None


def _kind(ids: np.ndarray) -> str:
    return "int" if np.asarray(ids).dtype.kind in "iu" else "str"


def check_scoring_model(model) -> dict:
    """The event columns (``events_spec_``) of a model that can score an event file: a fitted
    recforge model that knows its raw ids. TypeError, NotFittedError or ValueError otherwise."""
    check_model(model, "model")
    if not getattr(model, "is_fitted", True):
        raise NotFittedError(f"this {type(model).__name__} is not fitted yet: call fit(interactions) first")
    spec = getattr(model, "events_spec_", None)
    if spec is None or getattr(model, "user_ids_", None) is None or getattr(model, "item_ids_", None) is None:
        raise ValueError(
            "model must know its raw ids and event columns: fit it on an Interactions or train it with 'recforge train'"
        )
    return spec


def _plan(model, events: str, k: int) -> tuple[dict, dict]:
    """The event columns to read with their kinds, and the job's identity."""
    spec = check_scoring_model(model)
    kinds = {spec["user_col"]: _kind(model.user_ids_), spec["item_col"]: _kind(model.item_ids_)}
    if spec.get("weight_col"):
        kinds[spec["weight_col"]] = "float"  # text is refused, as in memory; an empty field is a gap
    if spec.get("event_col"):
        kinds[spec["event_col"]] = "str"
    if needs_times(spec):  # read as text, parsed as the in-memory reader parses them
        kinds[spec["time_col"]] = "str"
    job = {
        "format": 1,
        **_file_identity(events),
        "model": repr(model),
        "model_shape": [int(model.n_users_), int(model.n_items_)],
        "model_digest": fitted_digest(model),
        "k": k,
    }
    return kinds, job


def fitted_digest(model) -> str:
    """A digest (BLAKE2b, 128 bits) of what ``model`` learned: its fitted attributes (names
    ending in ``_``), those of the models it holds, the arrays' bytes read in place. Two fits
    with one repr (ALS with random_state=None; other data of the same shape) are another job:
    a rerun into the folder of the first returned the first model's lists as done, or mixed
    its blocks with the second's. 52 MB of EASE weights: about 0.1 s; 200k ids: 20 ms."""
    digest = hashlib.blake2b(digest_size=16)

    def add(value, depth: int = 0) -> None:
        if isinstance(value, np.ndarray):
            digest.update(f"{value.dtype.str}{value.shape}".encode())
            if value.dtype == object:  # ids: pandas' fixed-key hash of each (1M ids: 0.1 s)
                digest.update(pd.util.hash_array(value.ravel(), categorize=False).data)
            else:
                digest.update(np.ascontiguousarray(value).reshape(-1).view(np.uint8).data)
        elif sp.issparse(value):
            for part in (value.data, value.indices, value.indptr):
                add(part, depth + 1)
            digest.update(repr(value.shape).encode())
        elif isinstance(value, (list, tuple)):
            digest.update(f"{type(value).__name__}{len(value)}".encode())
            for v in value:
                add(v, depth + 1)
        elif isinstance(value, dict):
            for key in sorted(value, key=repr):
                digest.update(repr(key).encode())
                add(value[key], depth + 1)
        elif hasattr(value, "get_params") and depth < 8:  # a model held by the model
            digest.update(type(value).__name__.encode())
            for name in sorted(vars(value)):  # None: not learned (a file leaves it out)
                if name.endswith("_") and not name.startswith("_") and vars(value)[name] is not None:
                    digest.update(name.encode())
                    add(vars(value)[name], depth + 1)
        else:
            digest.update(repr(value).encode("utf-8", "surrogatepass"))

    add(model)
    return digest.hexdigest()


# More blocks than this, and more than twice the input's rows, are refused: a block without
# customers costs a pass of its own (about 10 us) and one with customers a spill file and a
# scoring (about 6 ms); --blocks 100000000 over 430k rows spilled for minutes and would have
# run for hours
MANY_BLOCKS = 100_000


def _file_identity(path: str) -> dict:
    """What tells an input file apart in the job manifest: a changed file is another job (in a
    folder of CSV files, a file added, removed or changed)."""
    files = text_table_files(path)
    stats = [os.stat(f) for f in files] if files is not None else [os.stat(path)]
    return {
        "input": os.path.abspath(path),
        "input_bytes": sum(st.st_size for st in stats),
        "input_mtime_ns": max(st.st_mtime_ns for st in stats),
        **({"input_files": len(files)} if files is not None else {}),
    }


# Recorded in the manifest only when used, so that jobs written without them still resume
# (and "model_digest", always recorded, is compared only with manifests that hold it).
OPTIONAL_JOB_KEYS = ("descriptions", "names", "customers", "csv_names", "returns", "decimal", "exclude_seen")


def _descriptions_and_names(descriptions, names, job: dict):
    """The descriptions (a Series by product, or None) and what each block's table goes through
    before it is written: the new column names (checked here, once; recorded in the job, so a
    resumed run keeps them)."""
    described = None
    if descriptions is not None:
        described = pd.Series(descriptions)
        if not described.index.is_unique:
            raise ValueError("descriptions names a product more than once")
        job["descriptions"] = True
    if names is not None:
        if not isinstance(names, dict) or not all(isinstance(v, str) and v for v in names.values()):
            raise TypeError("names must be a dict of output column -> new name (non-empty strings)")
        unknown = set(names) - {"user", "rank", "item", "description", "score", "path"}
        if unknown:
            raise ValueError(f"names renames no output column: {sorted(unknown)}")
        job["names"] = dict(names)

    def rename(table: pd.DataFrame) -> pd.DataFrame:
        if names:
            table = table.rename(columns=names)
            if table.columns.duplicated().any():
                raise ValueError(f"names gives two output columns one name: {names}")
        return table

    return described, rename


def _count_rows(events: str) -> int:
    """Input rows: exact for Parquet (its metadata), estimated for CSV from the file size and the
    first rows' length."""
    files = text_table_files(events)
    if files is not None:  # a folder of CSV files
        return sum(_count_rows(file) for file in files)
    if os.path.isdir(events) or events.lower().endswith(".parquet"):
        return int(parquet_dataset(events, f"events {events!r}").count_rows())
    size, head = text_size(events)  # of the text: a compressed file's own size is a fraction of it
    lines = max(head.count(b"\n"), 1)
    return int(size / (len(head) / lines)) if head else 0


def _holds_lists(out: str) -> bool:
    """Whether the job folder ``out`` holds a finished block or the finished job."""
    return os.path.exists(os.path.join(out, DONE)) or any(
        name.startswith("part-") and name.endswith(".parquet") for name in os.listdir(out)
    )


def recommend(
    model,
    events,
    out,
    k: int = 10,
    *,
    blocks: int | None = None,
    block_events: int = 2_000_000,
    chunk_rows: int = 1_000_000,
    sep: str = ",",
    encoding: str = "utf-8",
    decimal: str = ".",
    csv_names=None,
    show_progress: bool = False,
    descriptions=None,
    names: dict | None = None,
    customers=None,
    customer_key: str = "user",
    returns: str = "keep",
    exclude_seen: bool = True,
) -> dict:
    """Top-k for every customer of an event file too large to score in memory.

    Parameters
    ----------
    model : fitted recforge model
        With its raw-id maps and event columns (fitted on an :class:`~recforge.Interactions`,
        or written by ``recforge train``). A :class:`~recforge.ColdStart` model answers every
        customer (new ones from their events); any other model answers the customers it was
        fitted on, from the events in the file, and counts the others as skipped.
    events : str or path
        A Parquet file, a folder of Parquet files (a dataset), a CSV file or a folder of them
        (read in the order of their names), with the columns the model was trained with, in
        any order: every customer's events are gathered.
    out : str or path
        The output folder (see the module docstring); created if absent. A rerun of the same
        job continues where it stopped; another job's folder is refused.
    k : int, default 10
    blocks : int, optional
        Blocks of customers (default: one per ``block_events`` input rows). Memory holds the
        model, one block's events and lists, and one input chunk.
    block_events, chunk_rows : int
        Input rows per block (for the default ``blocks``) and per read.
    sep, encoding : str
        How a CSV input is read.
    decimal : {".", ","}, default "."
        The decimal mark of a CSV input's number columns (as for
        :meth:`Interactions.from_csv`; a field holding a point then is no number, and its row
        is dropped and counted).
    csv_names : sequence of str, optional
        The column names of a CSV input without a header line, in order, one per field (as
        ``names`` of :meth:`Interactions.from_csv`). Not for Parquet, which names its columns,
        nor for ``customers``.
    show_progress : bool, default False
        Progress bars on stderr (input rows split, then blocks scored).
    descriptions : mapping or pandas.Series, optional
        Product id -> description: each list gets a ``description`` column after ``item``
        (missing where a product has none).
    names : dict, optional
        New names of output columns, e.g. ``{"user": "CustomerID", "item": "StockCode"}`` (the
        input's own column names).
    customers : str or path, optional
        A customer table (Parquet file or folder, or CSV) for a :class:`~recforge.ColdStart`
        model: its ``customer_key`` column lists customers to answer even without events, and
        its attribute columns (those of the model's customer features, if it has any) answer
        them. Split into the events' blocks like the events: never read whole. A row without
        an id is left out and counted; of rows with one id, the last counts.
    customer_key : str, default "user"
        The customers table's id column.
    returns : {"keep", "drop"}, default "keep"
        Rows with a negative weight (returns, cancellations): kept, so a pair's weights net
        out as :class:`~recforge.Interactions` sums them, or dropped before anything else and
        counted (``report["returns"]``), as ``recforge recommend`` does in memory by default.
    exclude_seen : bool, default True
        Leave each customer's own products out of their list (as ``model.recommend``); False
        lets a product bought before be offered again (replenishment).

    Returns
    -------
    dict
        ``rows`` (input rows read), ``customers``, ``recommendations``, ``blocks``,
        ``resumed_blocks`` (written by an earlier run), ``skipped_customers`` (unknown to a
        model without fallbacks),
        ``customers_all_dropped`` (customers every event of whose was dropped, e.g. all on
        products the model does not know: a :class:`~recforge.ColdStart` model answers them from
        an empty history, any other model gives them no list), ``dropped`` (input rows by
        reason, as :class:`~recforge.Interactions` counts them) and,
        with fallbacks, ``paths`` (customers by the path of their first item). With
        ``customers``: ``customers_without_events`` (answered from the table alone) and
        ``customer_rows_dropped`` (table rows left out, by reason).
    """
    require_io()
    from tqdm.auto import tqdm

    for name, value in (("events", events), ("out", out)):
        if not isinstance(value, (str, os.PathLike)):  # os.fspath's "expected str, bytes or os.PathLike"
            raise TypeError(
                f"{name} must be a path (a CSV or Parquet file, or a folder of Parquet files), got "
                f"{type(value).__name__}; for events in memory, use model.recommend"
            )
    events, out = os.fspath(events), os.fspath(out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"out {out!r} is a file; the lists go to a folder (one Parquet file per block)")
    k = check_int(k, "k", minimum=0)
    show_progress = check_bool(show_progress, "show_progress")
    check_choice(returns, "returns", ("keep", "drop"))
    for name, value in (("block_events", block_events), ("chunk_rows", chunk_rows)):
        check_int(value, name, minimum=1)
    if not os.path.exists(events):
        raise ValueError(f"events {events!r} does not exist")
    csv_names = check_column_names(csv_names, "csv_names")
    if csv_names is not None:
        if (os.path.isdir(events) and text_table_files(events) is None) or events.lower().endswith(".parquet"):
            raise ValueError("csv_names is for a CSV without a header line; Parquet names its own columns")
    kinds, job = _plan(model, events, k)
    if csv_names is not None:  # the same file read under other names is another job
        job["csv_names"] = csv_names
    if returns == "drop":  # other lists: another job (absent, as in earlier manifests, when kept)
        job["returns"] = returns
    if not check_bool(exclude_seen, "exclude_seen"):  # other lists: another job
        job["exclude_seen"] = False
    if check_decimal(decimal, sep) != ".":  # other numbers: another job
        job["decimal"] = decimal
    described, rename = _descriptions_and_names(descriptions, names, job)
    listed = None
    if customers is not None:
        customers = os.fspath(customers)
        user_col = model.events_spec_["user_col"]
        listed = table_kinds(model, customer_key, kinds[user_col])
        if not os.path.exists(customers):
            raise ValueError(f"customers {customers!r} does not exist")
        job["customers"] = {**_file_identity(customers), "key": customer_key}
    if blocks is not None:  # before the output folder is made
        check_int(blocks, "blocks", minimum=1)
        rows = _count_rows(events)
        if blocks > max(2 * rows + 1, MANY_BLOCKS):  # CSV rows are estimated: room for the estimate's error
            raise ValueError(
                f"blocks ({blocks:,}) is more than the input's rows (about {rows:,}): a block holds whole customers "
                "and costs a pass of its own; choose far fewer (the default holds block_events rows each)"
            )
    os.makedirs(out, exist_ok=True)
    manifest = os.path.join(out, MANIFEST)
    earlier = None
    if os.path.exists(manifest):
        with open(manifest, encoding="utf-8") as f:
            earlier = json.load(f)
    compared = {*job, *OPTIONAL_JOB_KEYS} - (
        {"model_digest"} if earlier is not None and "model_digest" not in earlier else set()
    )
    if earlier is not None and any(earlier.get(key) != job.get(key) for key in compared):
        if _holds_lists(out):
            raise ValueError(
                f"out {out!r} holds the output of another job (other input, model or k: see {MANIFEST}); "
                "choose another folder or empty it"
            )
        # nothing scored yet: a run stopped or failed while splitting its input (a damaged
        # file, since downloaded again) left only its plan, and the folder is free for this job
        shutil.rmtree(os.path.join(out, SPILL), ignore_errors=True)
        os.remove(manifest)
        earlier = None
    if earlier is not None:
        n_blocks = int(earlier["blocks"])
        if blocks is not None and check_int(blocks, "blocks", minimum=1) != n_blocks:
            raise ValueError(f"out {out!r} holds a job of {n_blocks} blocks, not {blocks}")
    else:
        if os.listdir(out):
            raise ValueError(f"out {out!r} is not empty and holds no recforge job; choose an empty folder")
        rows = _count_rows(events)
        n_blocks = blocks if blocks is not None else max(1, -(-rows // block_events))
        with atomic_output(manifest, "w", encoding="utf-8") as f:
            json.dump({**job, "blocks": n_blocks}, f, indent=1)
    done = os.path.join(out, DONE)
    if os.path.exists(done):
        with open(done, encoding="utf-8") as f:
            return {**json.load(f), "resumed_blocks": n_blocks}

    spill_dir = os.path.join(out, SPILL)
    if not os.path.exists(os.path.join(spill_dir, "_complete")):  # split (again) from the start
        shutil.rmtree(spill_dir, ignore_errors=True)
        os.makedirs(spill_dir)
        user_col = model.events_spec_["user_col"]
        total = _count_rows(events) if show_progress else None
        with tqdm(total=total, desc="splitting by customer", unit="events", disable=not show_progress) as bar:
            spill_input(events, kinds, user_col, n_blocks, spill_dir, chunk_rows, sep, encoding, names=csv_names,
                        progress=bar, decimal=decimal)  # fmt: skip
        if listed is not None:  # the customer table, into the same blocks by the same hash
            os.makedirs(os.path.join(spill_dir, CUSTOMERS))
            folder = os.path.join(spill_dir, CUSTOMERS)
            spill_input(
                customers, listed, customer_key, n_blocks, folder, chunk_rows, sep, encoding, what="customers",
                decimal=decimal,
            )  # fmt: skip
        with atomic_output(os.path.join(spill_dir, "_complete"), "w") as f:
            f.write("split\n")

    scorer = BlockScorer(
        model, k, list(kinds), drop_returns=returns == "drop", descriptions=described, exclude_seen=exclude_seen
    )
    report = {"rows": 0, "customers": 0, "recommendations": 0, "blocks": n_blocks, "resumed_blocks": 0}
    if returns == "drop":
        report["returns"] = 0
    report["skipped_customers"] = 0
    report["customers_all_dropped"] = 0
    report["dropped"], report["paths"] = {}, {}
    if listed is not None:
        report["customers_without_events"], report["customer_rows_dropped"] = 0, {}
    with tqdm(total=n_blocks, desc="recommending", unit="blocks", disable=not show_progress) as bar:
        for b in range(n_blocks):
            part = os.path.join(out, f"part-{b:05d}.parquet")
            if os.path.exists(part):
                report["resumed_blocks"] += 1
                bar.update(1)
                continue
            customers_dir = os.path.join(spill_dir, CUSTOMERS)
            if b > 0 and not has_block(spill_dir, b) and not (listed is not None and has_block(customers_dir, b)):
                # no customer: no file (more blocks than customers would write a folder of
                # empty files); block 0 is always written, so the output has its columns
                bar.update(1)
                continue
            table_rows = None
            if listed is not None:
                frame = read_block(customers_dir, b, listed)
                table_rows = CustomerTable(model, frame, customer_key)
            table, counts = scorer.score(read_block(spill_dir, b, kinds), table_rows)
            table = rename(table)
            with atomic_path(part) as tmp:
                table.to_parquet(tmp, index=False)
            add_counts(report, counts)
            bar.update(1)
    shutil.rmtree(spill_dir, ignore_errors=True)
    with atomic_output(done, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
    return report


def collect(out, path) -> int:
    """The lists of a finished job in ``out`` as one file (.parquet, .csv or .csv.gz), written
    block by block (memory: one block) and atomically; returns the rows written."""
    import pyarrow.parquet as pq

    out, path = os.fspath(out), os.fspath(path)
    check_table_suffix(check_writable(path, "path"), "path")
    if not os.path.exists(os.path.join(out, DONE)):
        raise ValueError(f"out {out!r} holds no finished job (no {DONE})")
    parts = sorted(f for f in os.listdir(out) if f.startswith("part-") and f.endswith(".parquet"))
    rows = 0
    with atomic_path(path) as tmp:
        if path.lower().endswith(".parquet"):
            writer = None
            try:
                for name in parts:
                    table = pq.read_table(os.path.join(out, name))
                    writer = writer or pq.ParquetWriter(tmp, table.schema)
                    writer.write_table(table)
                    rows += table.num_rows
            finally:
                if writer is not None:
                    writer.close()
        else:
            with open(tmp, "wb") as raw:
                gz = path.lower().endswith(".gz")
                stream = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=GZIP_LEVEL) if gz else raw
                for j, name in enumerate(parts):
                    table = pq.read_table(os.path.join(out, name))
                    write_csv(table, stream, header=j == 0)
                    rows += table.num_rows
                if gz:
                    stream.close()
    return rows


def add_counts(report: dict, counts: dict) -> None:
    """Add one block's counts (:meth:`BlockScorer.score`) into a job's ``report``."""
    counted = ("rows", "customers", "recommendations", "skipped_customers", "customers_all_dropped")
    counted += ("customers_without_events", "returns")
    for key in counted:
        if key in counts:
            report[key] = report.get(key, 0) + counts[key]
    for key in ("dropped", "paths", "customer_rows_dropped"):
        for name, n in counts.get(key, {}).items():
            bucket = report.setdefault(key, {})
            bucket[name] = bucket.get(name, 0) + n


class BlockScorer:
    """Scores one block of events at a time: the model, its known customers' index, and an empty
    :class:`~recforge.Interactions` over its products (each block's customers are appended to
    it, so a block's matrix has only its own rows)."""

    def __init__(
        self, model, k: int, columns: list, drop_returns: bool = False, descriptions=None, exclude_seen: bool = True
    ):
        self.model, self.columns, self.exclude_seen = model, columns, exclude_seen
        self.item_ids = np.asarray(model.item_ids_)
        self.descriptions = None  # each product's description (None: missing), by the model's order
        if descriptions is not None:
            text = pd.Series(descriptions).reindex(self.item_ids).to_numpy(dtype=object)
            text[pd.isna(text)] = None  # missing, as pandas writes None: not a NaN float among text
            self.descriptions = text
        # rows with a negative weight are dropped first and counted (recforge recommend's default)
        weight = model.events_spec_.get("weight_col")
        self.returns_col = weight if drop_returns and weight is not None else None
        self.k = min(k, int(model.n_items_))
        self.fallbacks = isinstance(model, ColdStart)
        # not read: the lists need no amounts, nor times but to merge events by the latest
        unused = (
            ("amount_col", "order_col") if needs_times(model.events_spec_) else ("time_col", "amount_col", "order_col")
        )
        spec = {key: value for key, value in model.events_spec_.items() if key not in unused}
        user_ids = np.asarray(model.user_ids_)
        empty = sp.csr_matrix((0, int(model.n_items_)), dtype=np.float32)
        self.empty = Interactions(empty, user_ids[:0], np.asarray(model.item_ids_), spec=spec)
        self.known = pd.Index(user_ids)  # built once: every block looks its customers up in it
        self.user_kind = id_kind(user_ids)  # so is the kind a block's raw ids are brought to

    def __getstate__(self) -> dict:
        # Sent to every worker of a cluster: the index is a copy of the model's ids (as large
        # as they are), rebuilt on arrival instead of travelling
        return {name: value for name, value in self.__dict__.items() if name != "known"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.known = pd.Index(np.asarray(self.model.user_ids_))

    def _written_otherwise(self, raw_ids: np.ndarray) -> dict:
        """The block's customer ids that a known customer's id is written otherwise ("17850.0"
        for 17850, as :func:`~recforge._factorize.lookup` matches them), each with the id as
        the model knows it: their rows are that customer's, as in memory."""
        ids = ids_like(raw_ids, kind=self.user_kind)
        first = np.asarray(self.known.get_indexer(ids), dtype=np.int64)
        labels = found_written_otherwise(first, ids, self.known, self.known.get_indexer)
        again = np.flatnonzero(labels != first)
        known = np.asarray(self.known)
        return {raw_ids[i]: known[labels[i]] for i in again.tolist()}

    def score(self, frame, customers: CustomerTable | None = None) -> tuple:
        """The block's lists as a DataFrame, and its counts. ``customers``: the block's rows of a
        customer table (a model with fallbacks): its customers are answered too, those without
        events from their attributes."""
        returned = 0
        if self.returns_col is not None and len(frame):
            negative = np.asarray(pd.to_numeric(frame[self.returns_col], errors="coerce") < 0)
            returned = int(negative.sum())
            if returned:
                frame = frame[~negative]
        history = self.empty.transform(frame, new_users="append").returns_netted()  # returned in full: not held
        written = self._written_otherwise(history.user_ids)
        if written:  # "5.0" beside "5": one known customer, one history (two lists before)
            col = self.model.events_spec_["user_col"]
            frame = frame.assign(**{col: frame[col].replace(written)})
            history = self.empty.transform(frame, new_users="append").returns_netted()
        H = history.matrix.tocsr()
        customers_ids = history.user_ids
        # Customers whose every event was dropped (all on products the model does not know, say):
        # the fallbacks answer them from an empty history; a bare model cannot, and counts them.
        emptied = emptied_customers(history, frame[self.model.events_spec_["user_col"]])
        if self.fallbacks:
            customers_ids, H, _ = with_empty_rows(customers_ids, H, emptied)
        features, without_events = None, 0
        if customers is not None:
            before = customers_ids.size
            customers_ids, H, listed_at = with_empty_rows(customers_ids, H, customers.ids)
            without_events = int(customers_ids.size - before)  # listed, no events here
            features = customers.rows_for(customers_ids.size, listed_at)
        # ids in the model's kind, and so they are written: a Parquet column of integer ids with
        # a gap holds floats (17850.0), which a model of text ids knows as "17850"
        customers_ids = ids_like(customers_ids, kind=self.user_kind)
        first = np.asarray(self.known.get_indexer(customers_ids), dtype=np.int64)
        # "17850.0" is 17850, as lookup has it; written as the model knows it
        labels = found_written_otherwise(first, customers_ids, self.known, self.known.get_indexer)
        again = np.flatnonzero(labels != first)
        if again.size:
            customers_ids = customers_ids.astype(object)
            customers_ids[again] = np.asarray(self.known)[labels[again]]
        dropped = {name: int(n) for name, n in history.report.get("dropped", {}).items() if n}
        answered = np.arange(customers_ids.size) if self.fallbacks else np.flatnonzero(labels >= 0)
        ids = np.full((answered.size, self.k), -1, dtype=np.int64)
        scores = np.full((answered.size, self.k), -np.inf)
        paths = np.full((answered.size, self.k), -1, dtype=np.int8)
        for start in range(0, answered.size, BATCH):
            rows = answered[start : start + BATCH]
            part = slice(start, start + rows.size)
            if self.fallbacks:
                ids[part], scores[part], paths[part] = self.model.recommend(
                    labels[rows],
                    H[rows],
                    k=self.k,
                    exclude_seen=self.exclude_seen,
                    return_paths=True,
                    user_features=None if features is None else features[rows],
                )
            else:
                ids[part], scores[part] = self.model.recommend(
                    labels[rows], H[rows], k=self.k, exclude_seen=self.exclude_seen
                )
        ok = ids >= 0
        table = {
            "user": _column_of(
                np.broadcast_to(np.arange(answered.size)[:, None], ids.shape)[ok], customers_ids[answered]
            ),
            "rank": np.broadcast_to(np.arange(1, self.k + 1, dtype=np.int64), ids.shape)[ok],
            "item": _column_of(ids[ok], self.item_ids),
        }
        if self.descriptions is not None:
            table["description"] = Coded(ids[ok], self.descriptions)
        table["score"] = scores[ok].astype(np.float64)
        counts = {
            "rows": int(history.report.get("rows", 0)) + returned,
            "customers": int(answered.size),
            "recommendations": int(ok.sum()),
            "skipped_customers": int(customers_ids.size - answered.size),
            "customers_all_dropped": int(emptied.size),
            "dropped": dropped,
            "paths": {},
        }
        if self.returns_col is not None:
            counts["returns"] = returned
        if customers is not None:
            counts["customers_without_events"] = without_events
            counts["customer_rows_dropped"] = {name: n for name, n in customers.dropped.items() if n}
        if self.fallbacks:
            names = np.asarray(ColdStart.PATHS, dtype=object)
            # categorical: five names over millions of rows (Parquet keeps it dictionary-encoded)
            table["path"] = pd.Categorical.from_codes(paths[ok], categories=list(ColdStart.PATHS))
            first = paths[:, 0] if self.k else np.zeros(0, np.int8)
            counts["paths"] = {str(names[c]): int((first == c).sum()) for c in np.unique(first[first >= 0])}
        if not ok.any():
            return self._typed_empty(table), counts
        return frame_of(table), counts

    def _typed_empty(self, table: dict) -> pd.DataFrame:
        """The frame of a block without lists, its columns typed as a block with lists has them
        (the model's kinds of ids): an empty text column is Parquet's null type, and a folder of
        blocks holding one (block 0 is always written) could neither be read as one table
        ("Unsupported cast from large_string to null") nor collected into one file."""
        one = {}
        for name, column in table.items():
            if isinstance(column, Coded):  # text ids or descriptions: one of the model's labels
                labels = column.labels if len(column.labels) else np.asarray(self.model.user_ids_)
                one[name] = Coded(np.zeros(1, dtype=np.int64), labels)
            elif isinstance(column, pd.Categorical):
                one[name] = pd.Categorical.from_codes([0], dtype=column.dtype)
            else:
                one[name] = np.zeros(1, dtype=np.asarray(column).dtype)
        return frame_of(one).iloc[:0]


__all__ = ["BlockScorer", "add_counts", "block_of", "collect", "recommend"]

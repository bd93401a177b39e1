"""Interaction logs -> :class:`Interactions`: the users x items matrix every model fits, with the
raw customer and product ids mapped to rows and columns both ways."""

from __future__ import annotations

import json
import os
import warnings
import zipfile

import numpy as np
import scipy.sparse as sp

from .. import _core
from .._atomic import atomic_output
from .._checks import as_numbers, check_bool, check_choice
from .._config import resolve_threads
from .._factorize import (
    factorize,
    factorize_columns,
    factorize_ids,
    id_meant,
    ids_in_kind_of,
    ids_like,
    lookup,
    merge_integer_texts,
    missing_mask,
    one_kind,
    pd,
    to_numpy,
    whole_ids,
)
from .._ids import decode_ids, encode_ids
from .._npz import file_kind_hint, open_npz
from .._sparse import check_aligned, check_sparse, row_ids
from .._times import as_seconds, warn_ahead
from .events import Events

AGGREGATES = ("sum", "max", "count", "last")
FORMAT = "recforge-interactions"
# Version 2 adds the event log (a version-1 file loads with ``events`` None).
FORMAT_VERSION = 2
# Why a row was dropped, in the order reasons are checked (a row counts under its first reason).
DROP_REASONS = (
    "missing_user",
    "missing_item",
    "new_user",
    "new_item",
    "unknown_event",
    "bad_weight",
    "bad_time",
    "bad_amount",
)


def _index_dtype(*extents: int):
    return np.int32 if max(extents, default=0) < 2**31 else np.int64


def _numbers(values, name: str) -> np.ndarray:
    """A weight or amount column as float64: nullable (pandas' Float64, Int64) and text columns
    read like numeric ones, missing values as NaN (the row is then dropped and counted)."""
    values = to_numpy(values)
    if values.dtype.kind in "iufb":
        return values.astype(np.float64, copy=False)
    if values.dtype.kind not in "OUS":
        raise TypeError(f"{name} must be numbers, got dtype {values.dtype}")
    return as_numbers(values, name)


def _weights(weights, events, event_weights, n: int):
    """Per-row weight as read and after event weights (float64), the rows whose event type has
    no weight, those types, and the rows' event codes and types (or None)."""
    raw = np.ones(n) if weights is None else _numbers(weights, "weights")
    w = raw
    unknown, unweighted, codes, types = [], None, None, None
    if events is not None:
        if not isinstance(event_weights, dict) or not event_weights:
            raise ValueError("event_weights must be a non-empty dict of event type -> weight when events are given")
        for kind, weight in event_weights.items():  # NaN would drop every row of its type unsaid
            if isinstance(weight, bool) or not isinstance(weight, (int, float, np.integer, np.floating)):
                raise TypeError(f"event_weights[{kind!r}] must be a number, got {weight!r}")
            if not np.isfinite(weight):
                raise ValueError(f"event_weights[{kind!r}] must be a finite number, got {weight!r}")
        codes, types = factorize(events, "events")
        table = np.array([float(event_weights.get(t, np.nan)) for t in types.tolist()] + [np.nan])
        per_row = table[codes]  # code -1 (missing type) reads the trailing NaN
        unweighted = np.isnan(per_row)
        w = w * per_row
        unknown = [t for t in types.tolist() if t not in event_weights]
        _warn_near_misses(unknown, event_weights, codes, types)
    elif event_weights is not None:
        raise ValueError("event_weights given without events")
    return raw, w, unweighted, unknown, codes, types


def _warn_near_misses(unknown: list, event_weights: dict, codes: np.ndarray, types: np.ndarray) -> None:
    """Warn of event types left out that a weighted type names in another case or with other
    spaces ("View", "purchase "): matched exactly, their rows were dropped as unknown events,
    counted but easily missed, and a model was trained on what was left."""
    weighted = {str(k).strip().casefold(): k for k in event_weights}
    near = [t for t in unknown if isinstance(t, str) and t.strip().casefold() in weighted]
    if not near:
        return
    rows = np.bincount(codes[codes >= 0], minlength=len(types))
    at = {t: j for j, t in enumerate(types.tolist())}
    named = ", ".join(f"{t!r} ({rows[at[t]]:,} rows) is not {weighted[t.strip().casefold()]!r}" for t in near[:5])
    warnings.warn(
        f"events: event types are matched exactly, and {len(near)} differ from a weighted type only in case or "
        f"spaces: {named}{', ...' if len(near) > 5 else ''}; their rows were left out. Give their weights too, "
        "or write the types as the data does",
        UserWarning,
        stacklevel=4,
    )


def _aggregate(u, i, w, t, shape, aggregate: str):
    """CSR (float32) of the rows' weights merged per (user, item), and the CSR of each pair's
    latest time (or None): one C++ pass (``pairs.hpp``), parallel over customers; a pair's rows
    are taken by time, then row order ("last" is the latest, ties to the later row)."""
    n_users, n_items = shape
    itype = _index_dtype(n_users, n_items, u.size)
    indptr, indices, values, latest = _core.aggregate_pairs(
        np.ascontiguousarray(u, dtype=np.int64),
        np.ascontiguousarray(i, dtype=np.int64),
        np.ascontiguousarray(w, dtype=np.float64),
        None if t is None else np.ascontiguousarray(t, dtype=np.float64),
        n_users,
        n_items,
        AGGREGATES.index(aggregate),
        itype == np.int64,
        resolve_threads(0),
    )
    M = sp.csr_matrix((values, indices, indptr), shape=shape)
    T = None if t is None else sp.csr_matrix((latest, indices.copy(), indptr.copy()), shape=shape)
    return M, T


def _columns(data, spec: dict) -> dict:
    """The named columns of a DataFrame or mapping, with a clear error for absent ones. A
    DataFrame's named index levels count as columns, as in pandas' ``groupby`` and ``merge``
    (customer ids often end up in the index)."""
    out = {}
    for key, col in spec.items():
        if col is None or not key.endswith("_col"):
            continue
        try:
            out[key[:-4]] = data[col]
        except (KeyError, IndexError, TypeError):
            if _index_level(data, col):
                out[key[:-4]] = data.index.get_level_values(col)
                continue
            have = list(data.columns) if hasattr(data, "columns") else list(data) if hasattr(data, "keys") else []
            raise ValueError(f"{key} {col!r} is not a column of the data (columns: {have})") from None
        if getattr(out[key[:-4]], "ndim", 1) > 1:  # a DataFrame: the name heads several columns
            raise ValueError(f"{key} {col!r} names {out[key[:-4]].shape[1]} columns of the data; rename them apart")
    return out


def _index_level(data, col) -> bool:
    """Whether ``col`` names a level of a DataFrame's index."""
    names = getattr(getattr(data, "index", None), "names", None)
    try:
        return names is not None and hasattr(data, "columns") and col is not None and col in names
    except TypeError:
        return False


def _has_column(data, col) -> bool:
    try:
        return col in (data.columns if hasattr(data, "columns") else data) or _index_level(data, col)
    except TypeError:
        return False


def _plain(value):
    """JSON-ready copy of a report value."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    return value.item() if isinstance(value, np.generic) else value


class Interactions:
    """Users x items interactions with the raw ids of both sides.

    Build one with :meth:`from_pandas`, :meth:`from_csv`, :meth:`from_parquet` or
    :meth:`from_arrays`; every recforge function that takes a sparse ``user_items`` matrix also
    takes an ``Interactions`` (its :attr:`matrix`), and the splits of :mod:`recforge.split`
    return ``Interactions`` when given one.

    Parameters
    ----------
    matrix : scipy.sparse matrix, shape (n_users, n_items)
    user_ids, item_ids : array-like
        The raw id of each row and column (distinct).
    times : scipy.sparse matrix, optional
        Each pair's latest event time (epoch seconds), at the positions of ``matrix``.
    report : dict, optional
        What building dropped and merged (see :meth:`from_arrays`).
    spec : dict, optional
        The event columns this object reads in :meth:`transform` (``user_col``, ``item_col``,
        ``weight_col``, ``time_col``, ``event_col``, ``amount_col``, ``order_col``,
        ``event_weights``, ``aggregate``).
    events : Events, optional
        The event log the matrix was aggregated from, over the same id maps.

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix of float32
    times : scipy.sparse.csr_matrix of float64 or None
    user_ids, item_ids : numpy.ndarray
        Raw ids; row ``u`` of ``matrix`` is customer ``user_ids[u]``.
    spec : dict
        The event columns and aggregation it was built with (see the parameter).
    events : Events or None
        One row per kept event (customer, item, weight, and time, amount, event type and order
        where given), codes into ``user_ids`` / ``item_ids``: what the matrix was aggregated
        from, for customer analytics. None when built from a matrix or with
        ``keep_events=False``. A split keeps the events of the pairs it keeps.
    report : dict
        ``rows`` read, ``kept``, ``dropped`` (count per reason: missing_user, missing_item,
        new_user, new_item (ids unknown to :meth:`transform`), unknown_event, bad_weight,
        bad_time, bad_amount), ``unknown_events``, ``merged`` (rows folded into an
        existing pair by the aggregation), ``nnz``, ``negative_weights`` (kept rows with a weight
        below 0: returns or cancellations in a purchase log, summed into their pairs; drop them
        first where they are not meant to subtract), ``nonpositive_pairs`` (pairs whose merged
        weight is <= 0), ``users_all_dropped`` (customers every one of whose rows was dropped: they
        have no row, or an empty one where the id map already had them);
        after :meth:`transform` also ``new_users`` / ``new_items`` (distinct ids the maps do not
        know, whose rows were dropped, or for ``new_users="append"`` added).

    Examples
    --------
    >>> import recforge as rf
    >>> events = {"customer": ["ann", "bob", "ann", "ann"], "product": ["tea", "tea", "mug", "tea"],
    ...           "event": ["view", "purchase", "cart", "purchase"]}
    >>> inter = rf.Interactions.from_pandas(events, user_col="customer", item_col="product",
    ...                                     event_col="event", event_weights={"view": 1, "cart": 3, "purchase": 5})
    >>> inter.matrix.toarray()
    array([[6., 3.],
           [5., 0.]], dtype=float32)
    >>> inter.item_index(["mug", "tea"])
    array([1, 0])
    """

    def __init__(self, matrix, user_ids, item_ids, times=None, report: dict | None = None, *, spec=None, events=None):
        parts = check_sparse(matrix, "matrix")
        self.matrix = sp.csr_matrix(parts.to_scipy())
        self.user_ids = to_numpy(user_ids)
        self.item_ids = to_numpy(item_ids)
        for name, ids, n in (("user_ids", self.user_ids, parts.shape[0]), ("item_ids", self.item_ids, parts.shape[1])):
            if ids.ndim != 1 or ids.size != n:
                raise ValueError(
                    f"{name} must hold one id per {'row' if name == 'user_ids' else 'column'} "
                    f"of matrix ({n}), got shape {ids.shape}"
                )
            if factorize(ids, name)[1].size != n:
                raise ValueError(f"{name} must be distinct (and not missing)")
        self.user_ids, self.item_ids = one_kind(self.user_ids, "user_ids"), one_kind(self.item_ids, "item_ids")
        self.times = None
        if times is not None:
            self.times = sp.csr_matrix(check_aligned(times, parts, "matrix").to_scipy(), dtype=np.float64)
        for name, value in (("report", report), ("spec", spec)):
            if value is not None and not isinstance(value, dict):
                raise TypeError(f"{name} must be a dict, got {type(value).__name__}")
        self.report = dict(report or {})
        self.spec = dict(
            spec
            or {
                "user_col": "user",
                "item_col": "item",
                "weight_col": "weight",
                "time_col": "time" if times is not None else None,
            }
        )
        self.events = None
        if events is not None:
            if not isinstance(events, Events):
                raise TypeError(f"events must be an Events, got {type(events).__name__}")
            if events.user_ids.size != self.user_ids.size or events.item_ids.size != self.item_ids.size:
                raise ValueError("events must use id maps of the matrix's shape")
            # Bind the log to this object's maps (one copy of the ids, not two).
            events.user_ids, events.item_ids = self.user_ids, self.item_ids
            self.events = events

    # -- building -----------------------------------------------------------------------------
    @classmethod
    def from_arrays(
        cls,
        users,
        items,
        weights=None,
        *,
        times=None,
        events=None,
        event_weights=None,
        amounts=None,
        orders=None,
        aggregate: str = "sum",
        keep_events: bool = True,
    ):
        """Build from one array per column (one element per event).

        Parameters
        ----------
        users, items : array-like of hashable ids (numbers, strings, ...)
            Missing ids (None, NaN) drop the row.
        weights : array-like of numbers, optional
            Default 1 per event. Non-finite weights drop the row.
        times : array-like, optional
            Epoch seconds, datetime64, pandas datetimes or ISO 8601 strings; missing times drop
            the row. Kept per pair as the latest time (:attr:`times`), used by time splits and
            ``aggregate="last"``.
        events : array-like, optional
            Event type of each row (e.g. "view", "cart", "purchase"), weighted by ``event_weights``
            (multiplied into ``weights``). Rows of types not in ``event_weights`` are dropped.
        event_weights : dict, optional
            Event type -> weight, e.g. ``{"view": 1, "cart": 3, "purchase": 5}``.
        amounts : array-like of numbers, optional
            Money of each row (price x quantity; negative for a return), kept in
            :attr:`events` for customer analytics; it does not enter the matrix. Non-finite
            amounts drop the row.
        orders : array-like of hashable ids, optional
            Order (invoice, basket, session) of each row, kept in :attr:`events`; missing
            order ids are kept as "no order".
        aggregate : {"sum", "max", "count", "last"}, default "sum"
            How events of the same (user, item) pair merge: total weight, largest weight, number
            of events, or the weight of the latest event (by ``times``, then input order).
        keep_events : bool, default True
            Keep the event log in :attr:`events` (about 8 bytes per row and column given);
            False keeps only the matrix.

        Returns
        -------
        Interactions
            Rows and columns follow the first appearance of each id.
        """
        cols = {"user": users, "item": items, "weight": weights, "time": times, "event": events}
        cols.update(amount=amounts, order=orders)
        spec = {f"{role}_col": None if values is None else role for role, values in cols.items()}
        return cls._build(cols, dict(spec, event_weights=event_weights), aggregate, None, keep_events)

    @classmethod
    def from_pandas(
        cls,
        df,
        user_col: str = "user",
        item_col: str = "item",
        weight_col: str | None = None,
        time_col: str | None = None,
        event_col: str | None = None,
        event_weights: dict | None = None,
        aggregate: str = "sum",
        *,
        amount_col: str | None = None,
        order_col: str | None = None,
        keep_events: bool = True,
    ):
        """Build from a pandas DataFrame (or any mapping of column name -> array).

        Parameters are those of :meth:`from_arrays`, given as column names. The column names
        are remembered for :meth:`transform`.
        """
        spec = {
            "user_col": user_col,
            "item_col": item_col,
            "weight_col": weight_col,
            "time_col": time_col,
            "event_col": event_col,
            "amount_col": amount_col,
            "order_col": order_col,
            "event_weights": event_weights,
        }
        return cls._build(_columns(df, spec), spec, aggregate, None, keep_events)

    @classmethod
    def from_csv(
        cls,
        path,
        user_col: str = "user",
        item_col: str = "item",
        weight_col: str | None = None,
        time_col: str | None = None,
        event_col: str | None = None,
        event_weights: dict | None = None,
        aggregate: str = "sum",
        sep: str = ",",
        *,
        amount_col: str | None = None,
        order_col: str | None = None,
        keep_events: bool = True,
        names=None,
        encoding: str = "utf-8",
        decimal: str = ".",
    ):
        """Build from a CSV file (gzip/bz2/xz/zip compressed too).

        Only the named columns are read. Ids are read as strings (a text file's ids are text:
        "00123" stays "00123"). Uses pandas when installed, the standard library otherwise.

        Parameters
        ----------
        path : str or os.PathLike
            A CSV file (gzip/bz2/xz/zip by suffix), or a folder of them (daily exports): read
            as one table in the order of their names, each under its own header line.
        user_col, item_col, weight_col, time_col, event_col, event_weights, aggregate
            As for :meth:`from_pandas`.
        amount_col, order_col, keep_events
            As for :meth:`from_pandas`.
        sep : str, default ","
            The delimiter (several characters too, e.g. MovieLens 1M's "::"; "whitespace" for
            runs of blanks).
        names : sequence of str, optional
            The column names of a file without a header line, in order, one per field (e.g.
            ``["user", "item", "rating", "time"]`` for MovieLens' ``u.data`` with ``sep="\\t"``).
            Default: the first line is the header.
        encoding : str, default "utf-8"
            The file's text encoding (e.g. "latin-1"; a UTF-8 byte-order mark is dropped).
        decimal : {".", ","}, default "."
            The decimal mark of the weight and amount columns ("," for "2,55"; a field that
            holds a point too is refused: thousands separators are not read).
        """
        from .._tables import check_column_names, read_table

        named = (user_col, item_col, weight_col, time_col, event_col, amount_col, order_col)
        wanted = [c for c in named if c is not None]
        text = [c for c in (user_col, item_col, event_col, time_col, order_col) if c is not None]
        names = check_column_names(names)
        try:
            data = read_table(
                path, wanted, names=names, text=text, sep=sep, encoding=encoding, arrow_text=True, decimal=decimal
            )
        except LookupError as e:
            raise ValueError(f"encoding: {e}") from None
        return cls.from_pandas(
            data,
            *named[:5],
            event_weights,
            aggregate,
            amount_col=amount_col,
            order_col=order_col,
            keep_events=keep_events,
        )

    @classmethod
    def from_parquet(
        cls,
        path,
        user_col: str = "user",
        item_col: str = "item",
        weight_col: str | None = None,
        time_col: str | None = None,
        event_col: str | None = None,
        event_weights: dict | None = None,
        aggregate: str = "sum",
        *,
        amount_col: str | None = None,
        order_col: str | None = None,
        keep_events: bool = True,
    ):
        """Build from a Parquet file (needs pandas and pyarrow: ``pip install recforge[io]``)."""
        if pd is None:
            raise ImportError("reading Parquet needs pandas and pyarrow: pip install 'recforge[io]'")
        from .._tables import read_parquet

        named = (user_col, item_col, weight_col, time_col, event_col, amount_col, order_col)
        df = read_parquet(path, named, repr(os.fspath(path)))
        return cls.from_pandas(
            df,
            *named[:5],
            event_weights,
            aggregate,
            amount_col=amount_col,
            order_col=order_col,
            keep_events=keep_events,
        )

    def transform(self, df, new_users: str = "drop"):
        """Interactions of new events over this object's id maps (same shape, same rows and
        columns), e.g. this week's events for a model trained last week.

        Parameters
        ----------
        df : pandas.DataFrame or mapping
            With the columns this object was built from (:meth:`from_arrays` names them
            "user", "item", "weight", "time", "event").

            The amount and order columns may be missing (they only enter :attr:`events`).
        new_users : {"drop", "append"}, default "drop"
            Events of customers the user map does not know: dropped, or kept in new rows after
            the known ones (in order of first appearance; ``user_ids`` grows accordingly), so a
            model with cold-start fallbacks can answer them from their events.

        Returns
        -------
        Interactions
            Rows of ids the maps do not know are dropped (products always, customers unless
            appended); ``report["new_users"]`` and ``report["new_items"]`` list those ids
            (distinct).
        """
        check_choice(new_users, "new_users", ("drop", "append"))
        spec = dict(self.spec)
        for optional in ("amount_col", "order_col"):  # kept in the log only: may be absent
            if spec.get(optional) is not None and not _has_column(df, spec[optional]):
                spec[optional] = None
        return type(self)._build(
            _columns(df, spec),
            spec,
            self.spec.get("aggregate", "sum"),
            (self.user_ids, self.item_ids),
            self.events is not None,
            append_users=new_users == "append",
        )

    @classmethod
    def _build(cls, cols: dict, spec: dict, aggregate: str, known, keep_events: bool = True, append_users=False):
        check_choice(aggregate, "aggregate", AGGREGATES)
        keep_events = check_bool(keep_events, "keep_events")
        for role, values in cols.items():
            if values is not None and np.ndim(values) > 1:
                raise ValueError(f"{role} must be 1-D (one value per event), got shape {np.shape(values)}")
        users, items = cols["user"], cols["item"]
        n = len(users)
        for role in ("item", "weight", "time", "event", "amount", "order"):
            if cols.get(role) is not None and len(cols[role]) != n:
                raise ValueError(f"{role} has {len(cols[role])} rows but user has {n}")
        raw_w, w, unweighted, unknown_events, event_codes, event_types = _weights(
            cols.get("weight"), cols.get("event"), spec.get("event_weights"), n
        )
        # named by its column where it has one: "time column 'timestamp'" at the command line too
        named = f"time column {spec['time_col']!r}" if spec.get("time_col") not in (None, "time") else "time"
        t = as_seconds(cols["time"], named) if cols.get("time") is not None else None
        if t is not None:
            warn_ahead(t, named)
        amount = _numbers(cols["amount"], "amounts") if cols.get("amount") is not None else None
        report = {"rows": n}
        if known is None:
            (u, user_ids), (i, item_ids) = factorize_columns([users, items], ["user ids", "item ids"])
            # "17850.0" (a day's export with a gap) and "17850" are one customer
            (u, user_ids), (i, item_ids) = merge_integer_texts(u, user_ids), merge_integer_texts(i, item_ids)
            # An integer id column with a gap is read as floats: its ids are integers again, so
            # that outputs say 12347, not 12347.0, and the file's ids meet other files' (CSV, an
            # integer Parquet column) as one
            user_ids, item_ids = one_kind(whole_ids(user_ids), "user ids"), one_kind(whole_ids(item_ids), "item ids")
            missing_u, missing_i = u < 0, i < 0  # factorize codes missing ids as -1
        else:
            user_ids, item_ids = known
            # in the known ids' kind: new customers join the id map as its own ids do
            users, items = ids_like(users, user_ids), ids_like(items, item_ids)
            missing_u, missing_i = missing_mask(users), missing_mask(items)
            u, i = lookup(user_ids, users), lookup(item_ids, items)
            for role, codes, raw, missing, ids in (
                ("users", u, users, missing_u, user_ids),
                ("items", i, items, missing_i, item_ids),
            ):
                new = (codes < 0) & ~missing
                report[f"new_{role}"] = ids_in_kind_of(factorize_ids(raw[new], role)[1], ids)
            n_known_users = user_ids.size
            if append_users and report["new_users"].size:
                new = (u < 0) & ~missing_u
                u = u.copy()
                u[new] = user_ids.size + lookup(report["new_users"], users[new])
                user_ids = one_kind(np.concatenate([user_ids, report["new_users"]]), "user ids (known and new)")
        checks = (
            lambda: missing_u,
            lambda: missing_i,
            lambda: None if known is None else u < 0,
            lambda: None if known is None else i < 0,
            lambda: unweighted,
            lambda: ~np.isfinite(w),
            lambda: None if t is None else ~np.isfinite(t),
            lambda: None if amount is None else ~np.isfinite(amount),
        )
        keep = np.ones(n, dtype=bool)
        dropped = {}
        for reason, check in zip(DROP_REASONS, checks):
            bad = check()  # built one at a time: each is a full-length mask
            dropped[reason] = 0 if bad is None or not bad.any() else int(np.count_nonzero(bad & keep))
            if dropped[reason]:
                keep &= ~bad
        # Customers every one of whose rows was dropped (known or new ids, not missing ones): they
        # would vanish without a word, so the report counts them.
        report["users_all_dropped"] = 0
        if not keep.all():
            ided = u >= 0
            seen = np.zeros(len(user_ids), dtype=bool)
            seen[u[ided]] = True
            seen[u[keep & ided]] = False
            report["users_all_dropped"] = int(np.count_nonzero(seen))
        if not keep.all():
            u, i, w = u[keep], i[keep], w[keep]
            t = None if t is None else t[keep]
        if known is None and not keep.all():
            # Ids seen only on dropped rows get no row or column.
            u, user_ids = _compact(u, user_ids)
            i, item_ids = _compact(i, item_ids)
        if known is not None and user_ids.size > n_known_users:
            # Appended customers whose events were all dropped get no row either.
            used = np.zeros(user_ids.size - n_known_users, dtype=bool)
            used[u[u >= n_known_users] - n_known_users] = True
            remap = np.concatenate([np.arange(n_known_users), n_known_users + np.cumsum(used) - 1])
            u, user_ids = remap[u], np.concatenate([user_ids[:n_known_users], user_ids[n_known_users:][used]])
        log = None
        if keep_events:
            kept = slice(None) if keep.all() else keep
            log = {"time": t, "amount": None if amount is None else amount[kept]}
            if event_codes is not None:
                log["event"], log["event_types"] = _compact(event_codes[kept], event_types)
            if cols.get("order") is not None:
                codes, ids = factorize(cols["order"], "orders")
                log["order"], log["order_ids"] = _compact(codes[kept], ids)
        shape = (len(user_ids), len(item_ids))
        with np.errstate(over="ignore"):  # reported below, by pair
            M, T = _aggregate(u, i, w, t, shape, aggregate)
        if not np.isfinite(M.data).all():
            bad = int(np.flatnonzero(~np.isfinite(M.data))[0])
            row = int(np.searchsorted(M.indptr, bad, side="right") - 1)
            user, item = (ids[at] for ids, at in ((user_ids, row), (item_ids, M.indices[bad])))
            user, item = (v.item() if isinstance(v, np.generic) else v for v in (user, item))  # as Python values
            raise ValueError(
                f"the weight of customer {user!r}, product {item!r} is beyond float32's range (about 3.4e38) once "
                "merged; scale the weights down"
            )
        report.update(
            kept=int(u.size),
            dropped=dropped,
            unknown_events=unknown_events,
            merged=int(u.size - M.nnz),
            nnz=int(M.nnz),
            negative_weights=int(np.count_nonzero(w < 0)),
            nonpositive_pairs=int(np.count_nonzero(M.data <= 0)),
        )
        obj = cls.__new__(cls)
        obj.matrix, obj.times, obj.user_ids, obj.item_ids = M, T, user_ids, item_ids
        obj.report = report
        obj.spec = dict(spec, aggregate=aggregate)
        kept = slice(None) if keep.all() else keep
        obj.events = None if log is None else Events(u, i, user_ids, item_ids, raw_w[kept], **log)
        return obj

    # -- ids ----------------------------------------------------------------------------------
    def user_index(self, raw, missing: str = "raise"):
        """Row of each raw user id.

        Parameters
        ----------
        raw : id or array-like of ids
        missing : {"raise", "ignore"}
            Unknown ids raise ``KeyError`` naming them, or map to -1.

        Returns
        -------
        int or numpy.ndarray of int64
        """
        return self._index(self.user_ids, raw, missing, "user")

    def item_index(self, raw, missing: str = "raise"):
        """Column of each raw item id; see :meth:`user_index`."""
        return self._index(self.item_ids, raw, missing, "item")

    @staticmethod
    def _index(known, raw, missing: str, kind: str):
        check_choice(missing, "missing", ("raise", "ignore"))
        scalar = np.ndim(raw) == 0 and not isinstance(raw, (list, tuple))
        values = np.array([raw], dtype=object) if scalar else to_numpy(raw)
        if values.ndim != 1:
            raise ValueError(f"raw must be one {kind} id or a 1-D list of them, got shape {values.shape}")
        codes = lookup(known, values)
        if missing == "raise" and (codes < 0).any():
            bad = values[codes < 0].tolist()
            meant = id_meant(known, bad[0])
            raise KeyError(
                f"unknown {kind} id{'s' if len(bad) > 1 else ''}: "
                f"{', '.join(map(repr, bad[:5]))}{' ...' if len(bad) > 5 else ''} ({len(bad)} of {len(values)})"
                + (f"; did you mean {meant!r}?" if meant is not None else "")
            )
        return int(codes[0]) if scalar else codes

    # -- shape --------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    @property
    def n_users(self) -> int:
        return self.matrix.shape[0]

    @property
    def n_items(self) -> int:
        return self.matrix.shape[1]

    @property
    def nnz(self) -> int:
        return self.matrix.nnz

    def __repr__(self) -> str:
        return (
            f"Interactions({self.n_users:,} users x {self.n_items:,} items, {self.nnz:,} pairs"
            f"{', with times' if self.times is not None else ''})"
        )

    def returns_netted(self) -> Interactions:
        """The pairs a customer still holds once returns are subtracted: where the rows held
        negative weights (returns, cancellations), the pairs they net to 0 or below left out.

        Left in, such a pair weighs 0 or less: EASE counts it as bought (it binarises), ALS
        fits a negative confidence, ItemKNN's tf-idf refuses it. Without negative weights (a
        rating of 0 is a rating) the Interactions is returned as it is.

        Returns
        -------
        Interactions
            Same id maps and spec; ``report`` as before, plus ``returned_pairs`` (left out).
        """
        if not self.report.get("negative_weights") or not self.report.get("nonpositive_pairs"):
            return self
        M = self.matrix.tocsr()
        kept = M.data > 0
        rows = np.repeat(np.arange(M.shape[0]), np.diff(M.indptr))[kept]
        matrix = sp.csr_matrix((M.data[kept], (rows, M.indices[kept])), shape=M.shape)
        times = None
        if self.times is not None:
            T = self.times.tocsr()  # aligned with the matrix, entry for entry
            times = sp.csr_matrix((T.data[kept], (rows, M.indices[kept])), shape=M.shape)
        out = self.with_matrix(matrix, times)
        # customers who returned all they bought have no events left: counted as every reader
        # counts customers whose rows were all dropped (the fallbacks answer them)
        emptied = int(np.count_nonzero((np.diff(M.indptr) > 0) & (np.diff(out.matrix.indptr) == 0)))
        out.report = {
            **self.report,
            "nnz": int(out.matrix.nnz),
            "returned_pairs": int(np.count_nonzero(~kept)),
            "users_all_dropped": int(self.report.get("users_all_dropped", 0)) + emptied,
        }
        return out

    def with_matrix(self, matrix, times=None):
        """Same id maps and column spec, another matrix of the same shape (the splits use it).
        The new object keeps the events of the pairs stored in ``matrix``.

        Parameters
        ----------
        matrix : scipy.sparse matrix, shape ``self.shape``
        times : scipy.sparse matrix, optional
            At the positions of ``matrix``.
        """
        parts = check_sparse(matrix, "matrix")
        if parts.shape != self.shape:
            raise ValueError(f"matrix must have shape {self.shape}, got {parts.shape}")
        obj = type(self).__new__(type(self))
        obj.matrix = sp.csr_matrix(parts.to_scipy())
        obj.times = None
        if times is not None:
            obj.times = sp.csr_matrix(check_aligned(times, parts, "matrix").to_scipy(), dtype=np.float64)
        obj.user_ids, obj.item_ids, obj.spec = self.user_ids, self.item_ids, self.spec
        obj.report = {"nnz": int(obj.matrix.nnz)}
        obj.events = None
        if self.events is not None:
            obj.matrix.sort_indices()
            obj.events = self.events.select(self.events.in_pairs(obj.matrix))
        return obj

    def select_events(self, rows):
        """The Interactions of the events at ``rows`` (a boolean mask or indices into
        :attr:`events`), over the same id maps, aggregated as this object was (the weight
        column, ``event_weights``, ``aggregate``): the purchases before a date, say, with every
        pair they touch and nothing later. Selecting every event gives this object's matrix.

        Parameters
        ----------
        rows : numpy.ndarray of bool (one per event) or of int

        Returns
        -------
        Interactions
            Same shape; pairs without a selected event are not stored.
        """
        if self.events is None:
            raise ValueError("select_events needs the event log: build the Interactions with keep_events=True")
        ev = self.events.select(rows)
        w = ev.weight
        if ev.event is not None:
            given = self.spec.get("event_weights") or {}
            # a file keeps the weights as JSON (keys as text): an integer event type finds its text too
            table = [given.get(t, given.get(str(t), np.nan)) for t in ev.event_types.tolist()]
            w = w * np.asarray(table, dtype=np.float64)[ev.event]
        M, T = _aggregate(ev.user, ev.item, w, ev.time, self.shape, self.spec.get("aggregate", "sum"))
        obj = type(self).__new__(type(self))
        obj.matrix, obj.times = M, T if self.times is not None else None
        obj.user_ids, obj.item_ids, obj.spec = self.user_ids, self.item_ids, self.spec
        obj.report = {"nnz": int(M.nnz)}
        obj.events = ev
        return obj

    def to_pandas(self):
        """One row per stored pair: user, item (raw ids), weight and, with times, time."""
        if pd is None:
            raise ImportError("to_pandas needs pandas: pip install 'recforge[io]'")
        M = self.matrix
        rows = row_ids(M)
        out = {"user": self.user_ids[rows], "item": self.item_ids[M.indices], "weight": M.data}
        if self.times is not None:
            out["time"] = pd.to_datetime(self.times.data, unit="s")
        return pd.DataFrame(out)

    # -- files --------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write to an ``.npz`` file (exactly that name; no pickle). Ids must be all strings or
        all numbers. Read back with :meth:`load`."""
        entries = {
            "__format__": np.array(FORMAT),
            "__format_version__": np.array(FORMAT_VERSION),
            **encode_ids(self.user_ids, "user_ids", "user_ids"),
            **encode_ids(self.item_ids, "item_ids", "item_ids"),
            "report": np.array(json.dumps(_plain(self.report))),
            "spec": np.array(json.dumps(_plain(self.spec))),
        }
        for name, M in (("matrix", self.matrix), ("times", self.times)):
            if M is not None:
                for part in ("indptr", "indices", "data"):
                    entries[f"{name}.{part}"] = getattr(M, part)
        entries["shape"] = np.array(self.shape)
        ev = self.events
        if ev is not None:
            entries.update({"events.user": ev.user, "events.item": ev.item, "events.weight": ev.weight})
            for name in ("time", "amount", "event", "order"):
                if getattr(ev, name) is not None:
                    entries[f"events.{name}"] = getattr(ev, name)
            if ev.event is not None:
                entries.update(encode_ids(ev.event_types, "events.event_types", "event types"))
            if ev.order is not None:
                entries.update(encode_ids(ev.order_ids, "events.order_ids", "order ids"))
        with atomic_output(path) as f:
            np.savez(f, **entries)

    @classmethod
    def load(cls, path: str | os.PathLike):
        """Read a file written by :meth:`save`.

        Raises
        ------
        ValueError
            Not an interactions file, damaged, or from a newer recforge.
        """
        npz, where = open_npz(path, "recforge interactions file")
        try:
            with npz:
                if "__format__" not in npz.files or str(npz["__format__"]) != FORMAT:
                    raise ValueError(f"{where} is not a recforge interactions file{file_kind_hint(npz)}")
                if int(npz["__format_version__"]) > FORMAT_VERSION:
                    raise ValueError(
                        f"{where} was written by a newer recforge (format "
                        f"{int(npz['__format_version__'])}); upgrade recforge"
                    )
                shape = tuple(int(s) for s in npz["shape"])
                parts = {
                    n: sp.csr_matrix(tuple(npz[f"{n}.{p}"] for p in ("data", "indices", "indptr")), shape=shape)
                    for n in ("matrix", "times")
                    if f"{n}.indptr" in npz.files
                }
                ids = [decode_ids(npz, n) for n in ("user_ids", "item_ids")]
                report, spec = json.loads(str(npz["report"])), json.loads(str(npz["spec"]))
                events = None
                if "events.user" in npz.files:
                    log = {
                        n: npz[f"events.{n}"]
                        for n in ("time", "amount", "event", "order")
                        if f"events.{n}" in npz.files
                    }
                    if "event" in log:
                        log["event_types"] = decode_ids(npz, "events.event_types")
                    if "order" in log:
                        log["order_ids"] = decode_ids(npz, "events.order_ids")
                    events = Events(npz["events.user"], npz["events.item"], *ids, npz["events.weight"], **log)
        except (zipfile.BadZipFile, EOFError, KeyError, OSError, json.JSONDecodeError) as e:
            raise ValueError(f"{where} is a damaged recforge interactions file ({type(e).__name__}: {e})") from e
        return cls(parts["matrix"], ids[0], ids[1], parts.get("times"), report, spec=spec, events=events)


def _compact(codes: np.ndarray, ids: np.ndarray):
    """Codes and ids without the ids no code uses (code -1, "missing", stays -1)."""
    used = np.zeros(ids.size, dtype=bool)
    used[codes[codes >= 0]] = True
    if used.all():
        return codes, ids
    new = np.append(np.cumsum(used) - 1, -1)  # code -1 reads the trailing -1
    return new[codes], ids[used]

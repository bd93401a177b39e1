"""The event log an :class:`~recforge.Interactions` is derived from: one row per event
(customer, item, time, weight, amount, event type, order), kept beside the aggregated matrix so
what customer analytics needs (every purchase's time and amount, the lines of one order)
survives the aggregation. Ids are stored as codes into the same raw-id maps as the matrix."""

from __future__ import annotations

import numpy as np

from .. import _core
from .._config import resolve_threads
from .._factorize import pd
from .._sparse import check_sparse

# The optional columns, in the order they are listed everywhere (files, to_pandas).
OPTIONAL = ("time", "amount", "event", "order")


def _codes(values, n: int, name: str) -> np.ndarray:
    """Codes into a map of n ids, in the narrowest of int32 / int64 (an event log is the
    largest array recforge keeps)."""
    values = np.asarray(values)
    if values.ndim != 1 or not (values.dtype.kind in "iu" or values.size == 0):
        raise ValueError(f"{name} must be a 1-D array of integer codes, got {values.dtype} of shape {values.shape}")
    return values.astype(np.int32 if n < 2**31 else np.int64, copy=False)


def _id_map(ids, name: str) -> np.ndarray:
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of ids, got shape {ids.shape}")
    return ids


class Events:
    """One row per event, with ids as codes into raw-id maps shared with an Interactions.

    Built by :class:`~recforge.Interactions` (its :attr:`~recforge.Interactions.events`), not
    usually by hand: the rows are the ones the matrix was aggregated from (dropped rows are
    counted in the Interactions' report, not kept here).

    Parameters
    ----------
    user, item : numpy.ndarray of int
        Row / column of each event in ``user_ids`` / ``item_ids``.
    user_ids, item_ids : numpy.ndarray
        The raw-id maps (the Interactions' own arrays, not copies).
    weight : numpy.ndarray of float64
        The event's weight as read (before ``event_weights``; 1 when no weight column).
    time : numpy.ndarray of float64, optional
        Epoch seconds.
    amount : numpy.ndarray of float64, optional
        Money spent on the line (negative for a return), as read.
    event : numpy.ndarray of int, optional
        Codes into ``event_types``.
    event_types : numpy.ndarray, optional
    order : numpy.ndarray of int, optional
        Codes into ``order_ids``; -1 where the order id was missing.
    order_ids : numpy.ndarray, optional

    Attributes
    ----------
    The parameters, under the same names.

    Examples
    --------
    >>> import recforge as rf
    >>> inter = rf.Interactions.from_arrays(["ann", "bob", "ann"], ["tea", "tea", "mug"],
    ...                                     amounts=[3.5, 3.5, 8.0], orders=["o1", "o2", "o1"])
    >>> ev = inter.events
    >>> len(ev), ev.user_ids[ev.user].tolist(), ev.amount.tolist()
    (3, ['ann', 'bob', 'ann'], [3.5, 3.5, 8.0])
    >>> ev.order_ids[ev.order].tolist()
    ['o1', 'o2', 'o1']
    """

    def __init__(
        self,
        user,
        item,
        user_ids,
        item_ids,
        weight,
        *,
        time=None,
        amount=None,
        event=None,
        event_types=None,
        order=None,
        order_ids=None,
    ):
        for codes, ids, names in ((event, event_types, "event / event_types"), (order, order_ids, "order / order_ids")):
            if (codes is None) != (ids is None):
                raise ValueError(f"{names} come together: the codes and the ids they index")
        self.user_ids, self.item_ids = _id_map(user_ids, "user_ids"), _id_map(item_ids, "item_ids")
        self.user = _codes(user, self.user_ids.size, "user")
        self.item = _codes(item, self.item_ids.size, "item")
        n = self.user.size
        self.weight = np.asarray(weight, dtype=np.float64)
        self.time = None if time is None else np.asarray(time, dtype=np.float64)
        self.amount = None if amount is None else np.asarray(amount, dtype=np.float64)
        self.event_types = None if event is None else _id_map(event_types, "event_types")
        self.event = None if event is None else _codes(event, self.event_types.size, "event")
        self.order_ids = None if order is None else _id_map(order_ids, "order_ids")
        self.order = None if order is None else _codes(order, self.order_ids.size, "order")
        for name in ("item", "weight", *OPTIONAL):
            column = getattr(self, name)
            if column is not None and column.shape != (n,):
                raise ValueError(f"{name} must hold one value per event ({n}), got shape {column.shape}")
        for name, codes, ids in (
            ("user", self.user, self.user_ids),
            ("item", self.item, self.item_ids),
            ("event", self.event, self.event_types),
            ("order", self.order, self.order_ids),
        ):
            low = -1 if name == "order" else 0
            if codes is not None and codes.size and (codes.min() < low or codes.max() >= ids.size):
                raise ValueError(f"{name} codes must lie in [{low}, {ids.size}) (the size of its id map)")

    def __len__(self) -> int:
        return int(self.user.size)

    def __repr__(self) -> str:
        have = [name for name in OPTIONAL if getattr(self, name) is not None]
        return f"Events({len(self):,} rows: user, item, weight{''.join(', ' + h for h in have)})"

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns this log holds: user, item, weight, then those of time, amount, event
        and order that were given."""
        return ("user", "item", "weight", *(name for name in OPTIONAL if getattr(self, name) is not None))

    def select(self, rows) -> Events:
        """The events at ``rows`` (a boolean mask or indices), over the same id maps."""
        rows = np.asarray(rows)
        if rows.dtype == bool and rows.shape != (len(self),):
            raise ValueError(f"rows must be a mask of {len(self)} flags, got shape {rows.shape}")

        def take(column):
            return None if column is None else column[rows]

        return Events(
            self.user[rows],
            self.item[rows],
            self.user_ids,
            self.item_ids,
            self.weight[rows],
            time=take(self.time),
            amount=take(self.amount),
            event=take(self.event),
            event_types=self.event_types,
            order=take(self.order),
            order_ids=self.order_ids,
        )

    def in_pairs(self, matrix) -> np.ndarray:
        """Which events belong to a (user, item) pair stored in ``matrix`` (a sparse matrix of
        the maps' shape): the events a split sends with its pairs. One search in the event's
        row each, in C++ (``csr.hpp`` contains_pairs): 5M events, 0.2 s where a sorted search
        over every pair's key took 2.2 s."""
        M = check_sparse(matrix, "matrix")
        if M.shape != (self.user_ids.size, self.item_ids.size):
            raise ValueError(
                f"matrix must have the maps' shape {(self.user_ids.size, self.item_ids.size)}, got {M.shape}"
            )
        return _core.contains_pairs(
            M.indptr,
            M.indices,
            M.data,
            *M.shape,
            np.ascontiguousarray(self.user, dtype=np.int64),
            np.ascontiguousarray(self.item, dtype=np.int64),
            resolve_threads(0),
        )

    def to_pandas(self):
        """One row per event with raw ids: user, item, weight and the optional columns (time as
        datetimes; event and order as their raw values, None for a missing order)."""
        if pd is None:
            raise ImportError("to_pandas needs pandas: pip install 'recforge[io]'")
        out = {"user": self.user_ids[self.user], "item": self.item_ids[self.item], "weight": self.weight}
        if self.time is not None:
            out["time"] = pd.to_datetime(self.time, unit="s")
        if self.amount is not None:
            out["amount"] = self.amount
        if self.event is not None:
            out["event"] = self.event_types[self.event]
        if self.order is not None:
            ids = np.append(self.order_ids.astype(object), None)  # code -1 reads the trailing None
            out["order"] = ids[self.order]
        return pd.DataFrame(out)

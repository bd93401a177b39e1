"""Customers' live state beside a fitted model: events applied as they happen, recommendations
from the current history, without refitting.

Concurrency: every customer's state is an immutable record replaced whole under the writers'
lock, and the model, its products, the states and the trending counters are one snapshot
swapped whole (a refit with other products comes with the states moved to its columns), so a
reader (any number of threads) always sees one consistent history and one model, never a
half-applied event batch; readers take no lock. Only one writer applies a batch at a time.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import threading
import warnings
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from .._atomic import atomic_output
from .._checks import as_numbers, check_bool, check_int, check_model, check_real
from .._factorize import id_kind, ids_like, integer_written_otherwise
from .._ids import decode_ids, encode_ids, has_ids
from .._npz import file_kind_hint, open_npz
from .._sparse import CsrParts
from .._times import as_seconds
from ..data import Interactions


def _plain(value):
    """A JSON-ready id (numpy scalars become Python ones)."""
    return value.item() if isinstance(value, np.generic) else value


def _id_kind(value) -> str | None:
    """ "int" or "str" for a raw customer id, None for anything else (None, NaN, floats, bools)."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return "int"
    return "str" if isinstance(value, str) else None


def _kind_name(kind: str) -> str:
    return "integers" if kind == "int" else "strings"


class CustomerState(NamedTuple):
    """One customer's live history: item columns (sorted, distinct) with summed weights, the
    most recent distinct items, newest last, and the products the model does not know yet
    (raw id, summed weight), newest last: a refit that knows them takes them into the history
    (:meth:`OnlineRecommender.swap_model`), so a product bought the day it was launched is not
    offered again the next day."""

    items: np.ndarray
    weights: np.ndarray
    recent: tuple
    pending: tuple = ()


# Products the model does not know kept per customer (the most recent): a client posting
# nonsense ids cannot grow a customer's state without bound.
MAX_PENDING = 100
FLOAT32_MAX = float(np.finfo(np.float32).max)  # the models score in float32 (or float64)
HISTORY_LIMIT = FLOAT32_MAX / 1e6  # a customer's absolute weights in all (_check_range)


class _Live(NamedTuple):
    """What readers see, swapped whole: the model, its products, the customers' states (in its
    columns) and the trending counters. A new catalogue (:meth:`OnlineRecommender.swap_model`)
    comes with states and counters remapped to it, so no reader pairs one model's columns with
    another's states."""

    model: object
    item_ids: np.ndarray
    column: dict  # raw product id -> column
    item_kind: str  # a batch's raw ids are brought to it ("22423" -> 22423)
    state: dict  # customer -> CustomerState; entries replaced whole under the writers' lock
    trend: np.ndarray  # decayed event weight per product, at trend_time
    trend_time: float


def _check_range(states: dict, item_ids: np.ndarray) -> None:
    """Refuse histories the models cannot score: a customer's weights may add up (in absolute
    value) to HISTORY_LIMIT. A weight of 1e308 was taken, and every later answer for that
    customer failed; so did ten of 3e38 each, within float32's range one by one (ItemKNN's and
    BPR's scores, sums over the history, were infinite and cannot be written as JSON; ALS's
    confidence 1 + alpha * weight overflowed). Under the limit, the sums stay finite for
    similarities and confidence weights (alpha) up to a million."""
    if not states:
        return
    totals = np.array([np.abs(state.weights).sum() for state in states.values()])
    if totals.max(initial=0) <= HISTORY_LIMIT:
        return  # one pass over the batch's customers, the common case
    customer, state = list(states.items())[int(np.argmax(totals))]
    item = item_ids[state.items[int(np.argmax(np.abs(state.weights)))]]
    raise ValueError(
        f"the weights of customer {customer!r} would add up to {totals.max():.3g} once merged (their largest: "
        f"product {_plain(item)!r}), beyond the {HISTORY_LIMIT:.3g} a history may weigh (float32's range over a "
        "million, which keeps every model's scores finite); scale the weights down"
    )


def _check_saved_range(weights: np.ndarray, indptr: np.ndarray, customers: np.ndarray, where: str) -> None:
    """A saved history must be one :func:`_check_range` lets in: snapshots written before the
    limit may hold heavier ones, whose every answer would fail after the load."""
    held = np.flatnonzero(indptr[1:] > indptr[:-1])  # reduceat sums each start to the next: empty rows left out
    totals = np.zeros(customers.size)
    if held.size:
        totals[held] = np.add.reduceat(np.abs(weights.astype(np.float64)), indptr[held])
    if totals.max(initial=0) > HISTORY_LIMIT:
        r = int(np.argmax(totals))
        raise ValueError(
            f"{where} holds a history of customer {customers[r]!r} whose weights add up to {totals[r]:.3g}, beyond "
            f"the {HISTORY_LIMIT:.3g} a history may weigh (float32's range over a million, which keeps every "
            "model's scores finite): every answer for that customer would fail; it was saved by a recforge "
            "that took such weights"
        )


def _live(model, state: dict, trend: np.ndarray, trend_time: float) -> _Live:
    item_ids = np.asarray(model.item_ids_)
    column = {item: j for j, item in enumerate(item_ids.tolist())}
    return _Live(model, item_ids, column, id_kind(item_ids), state, trend, trend_time)


def _catalogue_ids(model):
    """``model``'s products, checked: it must be fitted on an Interactions."""
    check_model(model, "model")
    item_ids = getattr(model, "item_ids_", None)
    if item_ids is None:
        raise ValueError("model must be fitted on an Interactions (its item_ids_ name the products)")
    return np.asarray(item_ids)


_STATE_ARRAYS = ("indptr", "items", "weights", "recent_indptr", "recent", "item_ids", "trend", "numbers")


def _check_state_arrays(a: dict, where: str, n: int, n_items: int) -> None:
    """A state file's customer rows and counters must index what they claim: a damaged or
    hand-made file is a ValueError here, never a history that indexes past the catalogue."""

    def offsets(name: str, n_rows: int, n_values: int) -> bool:
        o = np.asarray(a[name])
        return (
            o.dtype.kind in "iu"
            and o.shape == (n_rows + 1,)
            and o[0] == 0
            and o[-1] == n_values
            and bool(np.all(np.diff(o) >= 0))
        )

    items, weights, recent = (np.asarray(a[k]) for k in ("items", "weights", "recent"))
    ok = (
        offsets("indptr", n, items.size)
        and offsets("recent_indptr", n, recent.size)
        and items.dtype.kind in "iu"
        and recent.dtype.kind in "iu"
        and weights.shape == items.shape
        and bool(np.isfinite(weights).all())
        and bool(((items >= 0) & (items < n_items)).all())
        and bool(((recent >= 0) & (recent < n_items)).all())
        and np.asarray(a["trend"]).shape == (n_items,)
        and bool(np.isfinite(a["trend"]).all())
    )
    if ok and "pending_indptr" in a:  # snapshots before pending products have none
        weights = np.asarray(a["pending_weights"])
        ok = (
            offsets("pending_indptr", n, weights.size)
            and weights.dtype.kind == "f"
            and bool(np.isfinite(weights).all())
            and has_ids(a, "pending")
        )
    if not ok:
        raise ValueError(
            f"{where} is damaged: its customer rows or trending counters do not fit its {n_items:,} products"
        )


class OnlineRecommender:
    """A fitted model that follows what customers do now.

    Parameters
    ----------
    model : fitted recforge model
        Fitted on an :class:`~recforge.Interactions` (its ``item_ids_`` name the products);
        answers from a history row (``recommend(..., recalculate_user=True)``): factor models
        fold the row in, neighbour models score from it.
    history : Interactions, optional
        The customers' histories so far (products with the model's ids); others start empty.
    recent : int, default 20
        Distinct recent products kept per customer (excluded when ``exclude_seen=False``).
    half_life : float, default 7 * 86400
        Half-life, in the units of the event times (seconds by default), of the trending
        counters that answer customers without any history. They start from ``history``'s
        customers of each product (a pair counts 1, decayed from its time when ``history`` has
        times), then add each event's weight and decay as dated events come; without
        ``history`` they start at 0, and a customer without a history gets an empty list (path
        "trending") until the first events.
    log : str or path, optional
        Append-only event log (JSON lines): every batch is written and flushed to disk before it
        is applied, so :meth:`load` of the last snapshot plus this log restores the state after
        a crash or a restart.

    Notes
    -----
    Weights of repeated (customer, product) events add up, as
    ``Interactions.from_arrays(..., aggregate="sum")`` does, so the online history of a customer
    equals the row an ``Interactions`` built from all their events holds, and recommending from
    it equals ``model.recommend(..., recalculate_user=True)`` on that row.

    Examples
    --------
    >>> import recforge as rf
    >>> data = rf.datasets.sample()
    >>> online = rf.realtime.OnlineRecommender(rf.ItemKNN().fit(data.interactions), data.interactions)
    >>> online.update(["12347"], ["22423"])["applied"]
    1
    >>> items, scores = online.recommend("12347", k=3)
    >>> len(items)
    3
    """

    def __init__(
        self,
        model,
        history: Interactions | None = None,
        *,
        recent: int = 20,
        half_life: float = 7 * 86400,
        log: str | os.PathLike | None = None,
    ):
        item_ids = _catalogue_ids(model)
        self.recent = check_int(recent, "recent", minimum=0)
        self.half_life = check_real(half_life, "half_life", minimum=0.0)
        if self.half_life <= 0:
            raise ValueError(f"half_life must be > 0, got {half_life}")
        self.report = {"history_customers": 0, "history_unknown_items": 0, "history_customers_dropped": 0}
        self._live = _live(model, {}, np.zeros(item_ids.size), -math.inf)
        self._writer = threading.Lock()
        self.sequence = 0  # events applied (the event log's position)
        self._log = None if log is None else _open_log(log)
        self._log_closed = False  # close() ends the logging: later updates are refused, not left unlogged
        if history is not None:
            self._load_history(history)

    @property
    def model(self):
        """The model answering now (:meth:`swap_model` replaces it)."""
        return self._live.model

    @property
    def item_ids(self) -> np.ndarray:
        """The products of the model answering now, in its column order."""
        return self._live.item_ids

    @property
    def _state(self) -> dict:
        return self._live.state

    def _load_history(self, history: Interactions) -> None:
        if not isinstance(history, Interactions):
            raise TypeError(f"history must be an Interactions, got {type(history).__name__}")
        ids = history.user_ids
        kinds = {"iu": {"int"}, "US": {"str"}}.get(next((k for k in ("iu", "US") if ids.dtype.kind in k), ""))
        if kinds is None:  # object ids: each one looked at
            kinds = {_id_kind(c) for c in ids.tolist()} if ids.dtype.kind == "O" else {None}
        if ids.size and (None in kinds or len(kinds) > 1):
            raise TypeError(
                "history's customer ids must be all strings or all integers (mixed, float or missing "
                f"ids cannot be told apart or saved), got {ids.dtype} ids such as {ids[:3].tolist()!r}"
            )
        X = history.matrix.tocsr()
        cols = self.item_index(history.item_ids)
        raw = ids_like(history.item_ids, kind=self._live.item_kind)
        with_known = 0
        for r, customer in enumerate(history.user_ids.tolist()):
            seen = slice(X.indptr[r], X.indptr[r + 1])
            c, w = cols[X.indices[seen]], X.data[seen].astype(np.float64)
            keep = c >= 0
            if not keep.size:
                continue
            order = np.argsort(c[keep])
            # products the model does not know wait, for a refit that knows them
            pending = _pending_with((), list(zip(raw[X.indices[seen][~keep]].tolist(), w[~keep].tolist())))
            items, weights = _bought(c[keep][order], w[keep][order])
            self._state[customer] = CustomerState(items, weights, (), pending)
            with_known += bool(keep.any())
        # Until events come, customers without a history get the history's best sellers: the
        # customers of each product (as ColdStart's "popular" counts), each decayed from the
        # time of the pair (its latest event) when the history has times. A pair's summed weight
        # cannot be dated (a year of repeat purchases would all count as of the last one), and
        # a new customer on 1 November wants what sells now, not the year's best sellers.
        # Online Retail's 365 customers first seen in the month after 2011-11-01, precision@10
        # of what they bought: 0.098 so, against 0.050 for the undecayed summed weights.
        known = cols[X.indices] >= 0
        bought = known & (X.data > 0)  # a pair netted to nothing by returns is no customer
        weights = np.ones(int(np.count_nonzero(bought)))
        times = _pair_times(history, X)
        trend, now = np.zeros(self.item_ids.size), -math.inf
        if times is not None and weights.size:
            t = times[bought]
            now = float(t.max())
            weights = np.exp2(-(now - t) / self.half_life)
        np.add.at(trend, cols[X.indices][bought], weights)
        self._live = self._live._replace(trend=trend, trend_time=now)
        # Counted, as every reader counts what it leaves out: a history newer than the model
        # names products it does not know, and a customer with only those starts with none.
        with_rows = int(np.count_nonzero(np.diff(X.indptr) > 0))
        self.report = {
            "history_customers": with_known,
            "history_unknown_items": int(np.count_nonzero(~known)),
            "history_customers_dropped": with_rows - with_known,
        }
        if self.report["history_unknown_items"]:
            warnings.warn(
                f"history: {self.report['history_unknown_items']:,} (customer, product) pairs name products the "
                f"model does not know, kept aside until a model knows them; "
                f"{self.report['history_customers_dropped']:,} customers had only those and start without a history",
                UserWarning,
                stacklevel=3,
            )

    def update(self, customers, items, weights=None, times=None, events=None) -> dict:
        """Apply a batch of events, in order.

        Parameters
        ----------
        customers, items : array-like, shape (n_events,)
            Raw ids (products as the model names them). Customer ids are strings or integers,
            all of the kind the recommender already holds (its history's, or the first batch's):
            a missing id would become a customer of its own and a mix could not be saved, so
            either raises TypeError before anything is logged or applied. Text ids "17850" and
            "17850.0" (pandas' export of an integer id column with a gap) are one customer.
        weights : array-like of float, optional
            Per event (default 1): a view may weigh 1, a purchase 5. A return weighs below 0:
            it is subtracted from the product's weight, and a product whose weight falls to 0
            or below leaves the history (and returns do not count as trending). A batch that
            would leave a customer's weights adding up (in absolute value) to more than 3.4e32
            (float32's range, which the models score in, over a million: their scores stay
            finite) is refused, neither logged nor applied.
        times : array-like, optional
            Per event, for the trending counters (default: the latest time seen): epoch seconds,
            datetimes or ISO 8601 strings, as everywhere in recforge.
        events : array-like of str, optional
            Per event, its type ("view", "purchase"), for a model fitted on an
            :class:`~recforge.Interactions` built with ``event_weights``: each event weighs its
            type's weight (times ``weights``), as in training, and events of a type the model
            does not weigh (None too) are left out, as training left such rows out. ValueError
            for a model fitted without event weights.

        Returns
        -------
        dict
            ``applied`` events and ``unknown_items`` (products the model does not know: kept
            aside per customer, applied once a model that knows them is swapped in); with
            ``events``, ``unknown_event``: events of types the model does not weigh.
        """
        if self._log_closed:
            raise ValueError("the event log is closed (close()): events applied now would be in no log")
        customers, items = np.asarray(customers, dtype=object).ravel(), np.asarray(items, dtype=object).ravel()
        if customers.size != items.size:
            raise ValueError(
                f"customers and items must have one entry per event, got {customers.size} and {items.size}"
            )
        w = np.ones(items.size) if weights is None else as_numbers(weights, "weights").ravel()
        if w.size != items.size or not np.all(np.isfinite(w)):
            raise ValueError(f"weights must hold one finite number per event ({items.size})")
        t = None if times is None else as_seconds(np.ravel(times) if np.ndim(times) != 1 else times, "times")
        if t is not None and (t.size != items.size or not np.all(np.isfinite(t))):
            raise ValueError(f"times must hold one time per event ({items.size}), none missing or infinite")
        typed = {}
        if events is not None:  # each event weighed by its type, as the model was trained
            type_weight = _type_weights(self.model, events, items.size)
            keep = ~np.isnan(type_weight)
            typed = {"unknown_event": int(np.count_nonzero(~keep))}
            customers, items, w = customers[keep], items[keep], w[keep] * type_weight[keep]
            t = None if t is None else t[keep]
        keys = self._customer_keys(customers)
        with self._writer:  # the columns of the catalogue the events are applied to (no swap meanwhile)
            live = self._live
            raw = _as_catalogue_ids(live, items)  # converted once: looked up, and kept as written when unknown
            cols = _looked_up(live, raw)
            known = cols >= 0
            touched: dict = {}
            for customer, col, weight, item in zip(keys, cols.tolist(), w.tolist(), raw.tolist()):
                touched.setdefault(customer, []).append((col, weight, item))
            state = self._state
            merged = {customer: self._merged(state.get(customer), events) for customer, events in touched.items()}
            _check_range(merged, live.item_ids)  # before the log: a batch refused is neither logged nor applied
            if self._log is not None:  # write-ahead: on disk before it is applied
                self._write_log(customers, items, w, t)
            state.update(merged)
            counted = known & (w > 0)  # a return is no sign of a product selling
            self._count_trend(cols[counted], w[counted], None if t is None else t[counted], t)
            self.sequence += items.size
        return {"applied": int(known.sum()), "unknown_items": int((~known).sum()), **typed}

    def _held_kind(self) -> str | None:
        """The kind of the customer ids this state holds (one kind: :meth:`save` needs it)."""
        held = next(iter(self._state), None)
        return None if held is None else _id_kind(held)

    def _customer_keys(self, customers) -> list:
        """The raw customer ids of a batch as state keys, checked: strings or integers (a missing
        id would become a customer of its own), of the kind the state already holds."""
        want = self._held_kind()
        keys = customers.tolist()
        for j, customer in enumerate(keys):
            kind = _id_kind(customer)
            if kind is None:
                raise TypeError(f"customers must hold raw ids, strings or integers: event {j} has {customer!r}")
            want = want or kind
            if kind != want:
                raise TypeError(
                    f"customers must all be {_kind_name(want)}, the kind of ids this recommender holds: "
                    f"event {j} has {customer!r}"
                )
        if want == "int":
            return [int(c) for c in keys]
        batch: set = set()  # customers this batch brings: "12" after a new "12.0" is that one
        for j, customer in enumerate(keys):
            keys[j] = self._held_as(customer, batch)
            batch.add(keys[j])
        return keys

    def _held_as(self, customer, also=(), live: _Live | None = None):
        """``customer`` as the state (or ``also``) holds it: an integer's text with and without a
        zero decimal part is one customer ("17850.0" is how pandas writes the id 17850 in a column
        with a gap; as everywhere ids are matched, :func:`recforge.batch.recommend` included)."""
        state = (live or self._live).state
        if isinstance(customer, str) and customer not in state and customer not in also:
            other = integer_written_otherwise(customer)
            if other is not None and (other in state or other in also):
                return other
        return customer

    def _write_log(self, customers, items, w, t) -> None:
        lines = []
        for j, (c, i) in enumerate(zip(customers.tolist(), items.tolist())):
            event = {"seq": self.sequence + j, "customer": _plain(c), "item": _plain(i), "weight": float(w[j])}
            if t is not None:
                event["time"] = float(t[j])
            if j == items.size - 1:
                event["last"] = True  # the batch is whole: replay applies batches whole or not at all
            lines.append(json.dumps(event, ensure_ascii=False))
        self._log.write("\n".join(lines) + "\n")
        self._log.flush()
        os.fsync(self._log.fileno())

    def _read_log(self, log) -> tuple[list, int, int]:
        """The events of whole batches after ``sequence``, the byte offset where the whole
        batches end, and the number of lines after it (a batch cut short by a crash)."""
        events, pending, end, offset, tail = [], [], 0, 0, 0
        with open(log, "rb") as f:
            for number, raw in enumerate(f, 1):
                offset += len(raw)
                if not raw.strip():
                    continue
                tail += 1
                try:
                    event = json.loads(raw)
                    seq = int(event["seq"])
                except (ValueError, KeyError, TypeError):
                    if not raw.endswith(b"\n"):  # the last line, cut short by a crash
                        break
                    raise ValueError(f"event log {os.fspath(log)!r} line {number} is not an event") from None
                expected = self.sequence + len(events) + len(pending)
                if seq >= self.sequence and seq != expected:
                    raise ValueError(
                        f"event log {os.fspath(log)!r} line {number}: event {seq} after {expected - 1} "
                        "(events are missing)"
                    )
                if seq >= self.sequence:
                    pending.append(event)
                if event.get("last"):
                    events += pending
                    pending, end, tail = [], offset, 0
        return events, end, tail

    def replay(self, log: str | os.PathLike) -> int:
        """Apply the events of an event log written after this state's ``sequence`` (earlier
        ones are already in it); returns the number applied. Only whole batches are applied: a
        batch cut short by a crash was never acknowledged to its writer, who sends it again.
        For start-up, before other writers: the events are not written to this recommender's
        own log again."""
        return self._apply_logged(self._read_log(log)[0])

    def _apply_logged(self, batch: list) -> int:
        """Apply events read from a log (they are in the log already: not written again)."""
        if batch:
            timed = all("time" in e for e in batch)
            own_log, self._log = self._log, None  # the events are in the log already
            try:
                self.update(
                    [e["customer"] for e in batch],
                    [e["item"] for e in batch],
                    [e["weight"] for e in batch],
                    [e["time"] for e in batch] if timed else None,
                )
            finally:
                self._log = own_log
        return len(batch)

    def __reduce__(self):
        # A live recommender holds its lock, its open event log and a model it may swap: a
        # copy made by pickle would share none of them safely. save()/load() is the way.
        raise TypeError(
            "an OnlineRecommender does not pickle (it holds a lock and its open event log): "
            "save(path) writes its state, OnlineRecommender.load(path, model) reads it back"
        )

    def save(self, path: str | os.PathLike) -> None:
        """Snapshot the state (histories, recent products, trending counters, sequence) to an
        ``.npz`` file, atomically. Customer ids must be all strings or all integers."""
        with self._writer:
            live = self._live
            customers = list(live.state)
            states = [live.state[c] for c in customers]
            # exact ids (UTF-8 for text: fixed-width unicode would drop a trailing NUL, and take
            # 4 bytes a character of the longest id for every customer)
            ids = encode_ids(np.array(customers, dtype=object), "customers", "customer ids")
            sizes = [st.items.size for st in states]
            recent = [len(st.recent) for st in states]
            arrays = {
                **ids,
                "indptr": np.r_[0, np.cumsum(sizes)].astype(np.int64),
                "items": np.concatenate([st.items for st in states]) if states else np.zeros(0, np.int64),
                "weights": np.concatenate([st.weights for st in states]) if states else np.zeros(0),
                "recent_indptr": np.r_[0, np.cumsum(recent)].astype(np.int64),
                "recent": np.array([c for st in states for c in st.recent], dtype=np.int64),
                "pending_indptr": np.r_[0, np.cumsum([len(st.pending) for st in states])].astype(np.int64),
                "pending_weights": np.array([w for st in states for _, w in st.pending], dtype=np.float64),
                **encode_ids(np.array([str(i) for st in states for i, _ in st.pending], dtype=object), "pending", "-"),
                "item_ids": live.item_ids.astype(str),
                "trend": live.trend,
                "numbers": np.array([live.trend_time, self.half_life, self.recent, self.sequence], dtype=np.float64),
            }
            with atomic_output(path) as f:
                np.savez(f, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike, model, *, log: str | os.PathLike | None = None) -> OnlineRecommender:
        """The state :meth:`save` wrote, beside ``model``, then the events of ``log`` written
        after the snapshot; later updates go on appending to ``log``. A model with other
        products (refitted since the snapshot) gets the state moved to its catalogue, as
        :meth:`swap_model` moves it: :attr:`report` ``catalogue`` says what changed."""
        npz, where = open_npz(path, "recforge online state")
        with npz:
            a = {name: npz[name] for name in npz.files}
        absent = ([] if has_ids(a, "customers") else ["customers"]) + [name for name in _STATE_ARRAYS if name not in a]
        if absent:
            raise ValueError(
                f"{where} is not an online state (OnlineRecommender.save){file_kind_hint(a) or f'; it lacks {absent}'}"
            )
        numbers = np.asarray(a["numbers"], dtype=np.float64)
        if numbers.shape != (4,) or not np.isfinite(numbers[1:]).all() or numbers[1] <= 0 or min(numbers[2:]) < 0:
            raise ValueError(f"{where} is damaged: its half-life, recent count or sequence are not valid")
        trend_time, half_life, recent, sequence = numbers.tolist()
        online = cls(model, recent=int(recent), half_life=half_life)
        try:
            customers = decode_ids(a, "customers")
        except ValueError as e:
            raise ValueError(f"{where} is damaged: {e}") from None
        saved_ids = np.asarray(a["item_ids"])
        if saved_ids.ndim != 1:
            raise ValueError(f"{where} is damaged: its products are not a list")
        _check_state_arrays(a, where, customers.size, saved_ids.size)
        indptr, rp = a["indptr"], a["recent_indptr"]
        _check_saved_range(a["weights"], indptr, customers, where)
        live = online._live
        pp, pending_ids, pending_weights = np.zeros(customers.size + 1, dtype=np.int64), [], []
        if "pending_indptr" in a:  # snapshots before pending products have none
            pp, pending_weights = a["pending_indptr"], a["pending_weights"].tolist()
            pending_ids = ids_like(decode_ids(a, "pending"), kind=live.item_kind).tolist()
        state = {}
        for r, customer in enumerate(customers.tolist()):
            rows = slice(indptr[r], indptr[r + 1])
            state[customer] = CustomerState(
                a["items"][rows],
                a["weights"][rows],
                tuple(a["recent"][rp[r] : rp[r + 1]].tolist()),
                tuple(zip(pending_ids[pp[r] : pp[r + 1]], pending_weights[pp[r] : pp[r + 1]])),
            )
        trend = a["trend"].astype(np.float64)
        if not np.array_equal(saved_ids, live.item_ids.astype(str)):  # refitted since: moved to its products
            to = _columns(live, saved_ids)
            state, trend = _moved_states(state, to, saved_ids, live), _moved_trend(trend, to, live.item_ids.size)
            online.report = {**online.report, "catalogue": _catalogue_change(to, live.item_ids.size)}
        online._live = live._replace(state=state, trend=trend, trend_time=trend_time)
        online.sequence = int(sequence)
        if log is not None:
            if os.path.exists(log):
                events, end, cut = online._read_log(log)
                online._apply_logged(events)
                if os.path.getsize(log) > end:  # the tail of a crash: removed before appending
                    warnings.warn(
                        f"event log {os.fspath(log)!r}: dropped the end of a batch cut short by a crash "
                        f"({cut} line(s), never applied or acknowledged)",
                        stacklevel=2,
                    )
                    os.truncate(log, end)
            online._log = _open_log(log)
        return online

    def close(self) -> None:
        """Close the event log (if any). Later updates are refused: applied in memory only,
        they would be lost at the next restart from the snapshot and the log."""
        if self._log is not None:
            self._log.close()
            self._log, self._log_closed = None, True

    def _merged(self, state: CustomerState | None, events: list) -> CustomerState:
        """``state`` with ``events`` ((column, weight, raw id); column -1: a product the model
        does not know, kept pending) applied in order."""
        known = [(c, x) for c, x, _ in events if c >= 0]
        cols = np.array([c for c, _ in known], dtype=np.int64)
        w = np.array([x for _, x in known], dtype=np.float64)
        if state is not None:
            cols, w = np.concatenate([state.items, cols]), np.concatenate([state.weights, w])
        items, at = np.unique(cols, return_inverse=True)
        recent = [] if state is None else list(state.recent)
        for c, _ in known:  # newest last, each product once
            if c in recent:
                recent.remove(c)
            recent.append(c)
        pending = _pending_with(() if state is None else state.pending, [(i, x) for c, x, i in events if c < 0])
        items, weights = _bought(items, np.bincount(at, weights=w, minlength=items.size))
        return CustomerState(items, weights, tuple(recent[max(len(recent) - self.recent, 0) :]), pending)

    def _count_trend(self, cols: np.ndarray, w: np.ndarray, t, clock=None) -> None:
        """Add events of columns ``cols`` at times ``t`` to the counters, decayed to the latest
        time of ``clock`` (the batch's times, unknown products' events included) or ``t``."""
        live = self._live
        clock = t if clock is None else clock
        now = live.trend_time if clock is None or clock.size == 0 else max(live.trend_time, float(clock.max()))
        if not math.isfinite(now):
            now = 0.0
        rate = math.log(2.0) / self.half_life
        # a new array swapped in whole: readers take no lock, and an in-place update (numpy
        # releases the GIL in its loops) could show them half-decayed counters
        decay = math.exp(-rate * (now - live.trend_time)) if math.isfinite(live.trend_time) else 1.0
        trend = live.trend * decay
        age = np.zeros(cols.size) if t is None else now - t
        np.add.at(trend, cols, w * np.exp(-rate * age))
        self._live = live._replace(trend=trend, trend_time=now)

    def history(self, customer) -> sp.csr_matrix:
        """The customer's current history as a 1 x n_items row (empty when unknown)."""
        live = self._live
        state = live.state.get(self._held_as(customer, live=live))
        n = live.item_ids.size
        if state is None:
            return sp.csr_matrix((1, n))
        return sp.csr_matrix((state.weights, state.items, [0, state.items.size]), shape=(1, n))

    def recent_items(self, customer) -> np.ndarray:
        """The customer's most recent distinct products (raw ids), newest last."""
        live = self._live
        state = live.state.get(self._held_as(customer, live=live))
        return live.item_ids[np.asarray(() if state is None else state.recent, dtype=np.int64)]

    def item_index(self, items) -> np.ndarray:
        """The model's columns of raw product ids (-1 for products it does not know)."""
        return _columns(self._live, items)

    def similar_items(self, item, k: int = 10) -> tuple[np.ndarray, np.ndarray] | None:
        """The model's ``k`` products most similar to the raw product id ``item``, as (raw ids,
        scores), or None when the model does not know it (one read of model and catalogue)."""
        k = check_int(k, "k", minimum=0)
        live = self._live
        column = int(_columns(live, [item])[0])
        if column < 0:
            return None
        ids, scores = live.model.similar_items(column, k=k)
        ok = ids >= 0
        return live.item_ids[ids[ok]], np.asarray(scores[ok], dtype=np.float64)

    def __len__(self) -> int:
        """Customers with a live state."""
        return len(self._state)

    def __repr__(self) -> str:
        return (
            f"OnlineRecommender({self.model!r}, customers={len(self):,}, products={self.item_ids.size:,}, "
            f"events={self.sequence:,})"
        )

    def __iter__(self):
        """The ids of the customers with a live state (a snapshot: safe beside a writer)."""
        return iter(list(self._state))

    def recommend(self, customer, k: int = 10, exclude_seen: bool = True, return_path: bool = False):
        """The current top-k for one customer.

        Parameters
        ----------
        customer : str or int
            Raw customer id, of the kind the recommender holds (unknown customers get the
            trending products; another kind, None or NaN raise TypeError). Text ids "17850"
            and "17850.0" are one customer.
        k : int, default 10
        exclude_seen : bool, default True
            Leave out every product in the customer's history; False: only the recent ones.
        return_path : bool, default False
            Also say which path answered: "history" (the model, from the customer's current
            history) or "trending" (the decayed counters: a customer without any history).

        Returns
        -------
        items : numpy.ndarray
            Raw product ids, best first (at most k).
        scores : numpy.ndarray of float
        path : str, only with ``return_path``
        """
        k = check_int(k, "k", minimum=0)
        exclude_seen, return_path = check_bool(exclude_seen, "exclude_seen"), check_bool(return_path, "return_path")
        kind, held = _id_kind(customer), self._held_kind()
        if kind is None or (held is not None and kind != held):
            raise TypeError(
                f"customer must be a raw id ({_kind_name(held) if held else 'a string or an integer'}"
                f"{', the kind this recommender holds' if held else ''}), got {customer!r}"
            )
        live = self._live  # one consistent read: a model swap brings its own states
        model, state = live.model, live.state.get(self._held_as(customer, live=live))
        if state is None or state.items.size == 0:
            return (*self._trending(k, live), "trending") if return_path else self._trending(k, live)
        n = live.item_ids.size
        # The state's arrays are canonical (sorted distinct int64 columns, float64 weights): the
        # row goes to the model as checked CSR parts, without scipy's constructor and checks.
        row = CsrParts(np.array([0, state.items.size], dtype=np.int64), state.items, state.weights, (1, n), False)
        exclude = None
        if not exclude_seen and state.recent:
            recent = np.asarray(state.recent, dtype=np.int64)
            exclude = sp.csr_matrix((np.ones(recent.size), recent, [0, recent.size]), shape=(1, n))
        ids, scores = model.recommend(0, row, k=k, exclude_seen=exclude_seen, exclude=exclude, recalculate_user=True)
        ok = ids >= 0
        answer = live.item_ids[ids[ok]], np.asarray(scores[ok], dtype=np.float64)
        return (*answer, "history") if return_path else answer

    @staticmethod
    def _trending(k: int, live: _Live) -> tuple:
        trend = live.trend  # of one read: a writer may swap in the next counters meanwhile
        order = np.argsort(-trend, kind="stable")
        order = order[trend[order] > 0][:k]
        return live.item_ids[order], trend[order]

    def swap_model(self, model) -> dict:
        """Replace the model, e.g. refitted overnight: requests in flight finish with the old
        one, later ones use the new one, and the customers' states stay.

        A model with other products (a refit on newer events knows new products, and may have
        lost some) gets the states and the trending counters moved to its catalogue in the same
        swap: a product it lacks leaves every history, a new one starts with no trend. Events
        are held back meanwhile (about 5 s per million customers); readers are not.

        Returns
        -------
        dict
            ``products`` of the new model, ``new_products`` (not in the old one) and
            ``dropped_products`` (the old one's that the new one lacks).
        """
        item_ids = _catalogue_ids(model)
        with self._writer:
            live = self._live
            if np.array_equal(item_ids, live.item_ids) and item_ids.dtype.kind == live.item_ids.dtype.kind:
                self._live = live._replace(model=model)
                return {"products": int(item_ids.size), "new_products": 0, "dropped_products": 0}
            new = _live(model, {}, np.zeros(item_ids.size), live.trend_time)
            to = _columns(new, live.item_ids)
            moved = new._replace(
                state=_moved_states(live.state, to, live.item_ids, new),
                trend=_moved_trend(live.trend, to, item_ids.size),
            )
            self._live = moved  # one reference: a reader sees the old model and states or the new
        return _catalogue_change(to, item_ids.size)


def _bought(items: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The products whose summed weight is above 0: a return (a negative weight) that nets a
    purchase out takes the product out of the history. Left in, it weighed below zero, and
    ItemKNN ranked first the products least like it, EASE counted it bought, and ALS's
    fold-in answered zeros."""
    kept = weights > 0
    return (items, weights) if kept.all() else (items[kept], weights[kept])


def _pending_with(pending: tuple, events: list) -> tuple:
    """``pending`` ((raw id, weight), newest last) with ``events`` added: weights summed per
    product, each moved to the end, the oldest beyond :data:`MAX_PENDING` let go."""
    if not events:
        return pending
    held = dict(pending)
    for item, weight in events:
        held[item] = held.pop(item, 0.0) + weight
    return tuple(list(held.items())[-MAX_PENDING:])


def _columns(live: _Live, items) -> np.ndarray:
    """The columns of raw product ids in ``live``'s catalogue (-1 for products it does not know)."""
    return _looked_up(live, _as_catalogue_ids(live, items))


def _as_catalogue_ids(live: _Live, items) -> np.ndarray:
    """Raw product ids in the kind of ``live``'s ("22423" -> 22423 among integer ids)."""
    return ids_like(np.asarray(items, dtype=object).ravel(), kind=live.item_kind)


def _looked_up(live: _Live, ids: np.ndarray) -> np.ndarray:
    return np.array([live.column.get(i, -1) for i in ids.tolist()], dtype=np.int64)


def _moved_states(state: dict, to: np.ndarray, old_ids: np.ndarray, new: _Live) -> dict:
    """The customers' states in ``new``'s catalogue (``to``: each old column's new one, -1
    where the product is gone): a product it lacks goes pending, a pending one it knows joins
    the history; every customer stays, if need be with an empty history."""
    moved, losing = _moved_known(state, to)
    lost = to < 0
    customers = list(state)
    pending = [j for j, st in enumerate(state.values()) if st.pending]
    for j in np.union1d(losing, pending).astype(np.int64).tolist():  # the few a product leaves or joins
        customer = customers[j]
        st = state[customer]
        gone = lost[st.items]
        pend = list(st.pending) + list(zip(old_ids[st.items[gone]].tolist(), st.weights[gone].tolist()))
        cols = _columns(new, [i for i, _ in pend])
        now = moved[customer]
        if (cols >= 0).any():
            items = np.concatenate([now.items, cols[cols >= 0]])
            weights = np.concatenate([now.weights, [w for c, (_, w) in zip(cols, pend) if c >= 0]])
            items, at = np.unique(items, return_inverse=True)
            items, weights = _bought(items, np.bincount(at, weights=weights, minlength=items.size))
            now = now._replace(items=items, weights=weights)
        still = [(i, w) for c, (i, w) in zip(cols, pend) if c < 0]
        moved[customer] = now._replace(pending=_pending_with((), still))
    return moved


def _moved_known(state: dict, to: np.ndarray) -> tuple[dict, np.ndarray]:
    """The customers' histories in another catalogue's columns, products it lacks left out,
    and the positions of the customers who had such products. Done on all the histories at
    once: a loop over customers took 7 s a million, this 4.5 s."""
    customers, states = list(state), list(state.values())
    n = len(states)
    sizes = np.fromiter((st.items.size for st in states), dtype=np.int64, count=n)
    items, keep, rows = _mapped(np.concatenate([st.items for st in states]) if n else np.zeros(0, np.int64), sizes, to)
    losing = np.unique(np.repeat(np.arange(n), sizes)[~keep])
    weights = np.concatenate([st.weights for st in states])[keep] if n else np.zeros(0)
    order = np.lexsort((items, rows))  # each history sorted by its new columns
    items, weights = items[order], weights[order]
    recent_sizes = np.fromiter((len(st.recent) for st in states), dtype=np.int64, count=n)
    flat = np.fromiter(itertools.chain.from_iterable(st.recent for st in states), dtype=np.int64)
    recent, _, recent_rows = _mapped(flat, recent_sizes, to)
    make = CustomerState._make  # a NamedTuple's own constructor costs a second a million
    moved = {
        customer: make((items[a:b], weights[a:b], tuple(recent[c:d].tolist()), ()))
        for customer, a, b, c, d in zip(customers, *_bounds(rows, n), *_bounds(recent_rows, n))
    }
    return moved, losing


def _mapped(columns: np.ndarray, sizes: np.ndarray, to: np.ndarray) -> tuple:
    """``columns`` (customers' runs of ``sizes``) mapped by ``to``: those kept (>= 0), the mask
    that kept them and each kept one's customer."""
    mapped = to[columns]
    keep = mapped >= 0
    return mapped[keep], keep, np.repeat(np.arange(sizes.size), sizes)[keep]


def _bounds(rows: np.ndarray, n: int) -> tuple[list, list]:
    """Where each of ``n`` customers' runs starts and ends in ``rows`` (sorted)."""
    end = np.cumsum(np.bincount(rows, minlength=n))
    return np.r_[0, end[:-1]].tolist(), end.tolist()


def _moved_trend(trend: np.ndarray, to: np.ndarray, n_items: int) -> np.ndarray:
    moved = np.zeros(n_items)
    kept = to >= 0
    moved[to[kept]] = trend[kept]
    return moved


def _catalogue_change(to: np.ndarray, n_items: int) -> dict:
    kept = int(np.count_nonzero(to >= 0))
    return {"products": int(n_items), "new_products": int(n_items) - kept, "dropped_products": int(to.size) - kept}


def _pair_times(history: Interactions, X: sp.csr_matrix):
    """Each stored pair's time, in ``X``'s order (``history.matrix`` as CSR), or None without
    times. An Interactions keeps its times in its matrix's sparsity, entry for entry."""
    if history.times is None:
        return None
    T = history.times.tocsr()
    return np.asarray(T.data, dtype=np.float64)


def _open_log(log):
    """The event log opened for appending (a folder is refused as every output refuses one)."""
    if os.path.isdir(log):
        raise ValueError(f"log {os.fspath(log)!r} is a folder, expected a file name")
    return open(log, "a", encoding="utf-8")


def _type_weights(model, events, n: int) -> np.ndarray:
    """Each event's weight by its type, as ``model`` was trained (its ``events_spec_``'s event
    weights), NaN for a type it does not weigh."""
    weight_of = (getattr(model, "events_spec_", None) or {}).get("event_weights")
    if not weight_of:
        raise ValueError(
            "events: the model was fitted without event types (an Interactions with event_weights; recforge "
            "train --event-weights); give each event's weight instead"
        )
    kinds = np.asarray(events, dtype=object).ravel()
    if kinds.size != n:
        raise ValueError(f"events must hold one event type per event ({n}), got {kinds.size}")
    return np.array(
        [float(weight_of.get(kind, np.nan)) if isinstance(kind, str) else np.nan for kind in kinds.tolist()]
    )

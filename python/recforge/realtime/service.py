"""The HTTP/JSON service: an :class:`OnlineRecommender` (and optionally an exploration policy)
behind a Starlette application, served by uvicorn (the ``serve`` extra).

Endpoints (JSON in, JSON out; errors are ``{"error": "..."}`` with a 4xx/5xx status):

=================  =====  ==============================================================
``/recommend``     GET    ``?customer=&k=&exclude_seen=&explore=&segment=`` (or POST as JSON)
``/similar``       GET    ``?item=&k=`` (or POST): the model's most similar products
``/events``        POST   ``{"events": [{"customer", "item", "weight"?, "time"?, "event"?}, ...]}``
                          (times: epoch seconds, or milliseconds, or ISO 8601 text, none more
                          than a day after the service's clock; "event":
                          the type, weighed as the model was trained, when it was trained
                          with --event-weights)
``/feedback``      POST   ``{"feedback": [{"customer", "item", "reward", "request"?, "segment"?}]}``
                          (with its request: learned once, and only for a product that
                          request showed)
``/reload``        POST   reload the model file, swapped in atomically
``/health``        GET    status, model, customers, events applied, reloads
``/metrics``       GET    Prometheus text: requests by endpoint and status, latency histograms
=================  =====  ==============================================================

One process holds the state: recommendations run on the event loop (they take about a
millisecond of CPU and the interpreter lock would serialise them across threads anyway); event
batches (which wait for their log's fsync) and model reloads (which read a file) run in the
thread pool, so answers keep flowing meanwhile. Readers never wait for the writer
(see :class:`OnlineRecommender`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
import uuid
from collections import OrderedDict

import numpy as np

try:
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route
except ImportError as e:  # the serve extra is optional
    raise ImportError("recforge's service needs the serve extra: pip install 'recforge[serve]'") from e

from .._checks import as_float, check_int, is_finite_number
from .._factorize import id_meant, integer_written_otherwise
from .._times import ahead_of_clock, as_seconds, moment_text
from .._version import __version__
from .metrics import Metrics
from .online import OnlineRecommender

MAX_BODY = 1 << 20  # bytes of one request body
MAX_EVENTS = 10_000  # events (or feedback lines) in one request
MAX_K = 1_000
# Explored lists whose feedback is checked against them: about 290 bytes a list of 10 (the
# request id and the shown products' numbers, packed), so 57 MB at the default.
MAX_PENDING = 200_000


class Refused(Exception):
    """A request the service answers with ``status`` and ``message`` (never a traceback)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class _Ids:
    """Raw ids as the model and the state hold them: JSON numbers or strings are accepted for
    either kind (a customer "12347" is customer 12347 where ids are integers), and an integer
    written with a zero decimal part (12347.0, "12347.0": pandas' export of an id column with
    a gap) is that integer."""

    def __init__(self, integer: bool, what: str):
        self.integer, self.what = integer, what

    def __call__(self, value):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise Refused(422, f"{self.what} must be a string or an integer, got {json.dumps(value)[:40]}")
        if not self.integer:
            return str(value)
        try:
            return int(value)
        except ValueError:
            whole = integer_written_otherwise(value) if "." in value else None
            if whole is None:
                raise Refused(422, f"{self.what} {value!r} is not an integer id") from None
            return int(whole)


def _is_integer_kind(ids) -> bool:
    return np.asarray(ids).dtype.kind in "iu"


class Service:
    """The state behind the endpoints: the online recommender, the policy, the model file.

    Parameters
    ----------
    online : OnlineRecommender
    model_path : str or path, optional
        The model file ``/reload`` reads again (replace it atomically, then POST ``/reload``).
    loader : callable, optional
        Reads a model file (default :func:`recforge.load`).
    policy : ThompsonSampling or EpsilonGreedy, optional
        Explores over each request's top ``candidates`` (``explore`` defaults to on with one).
        Its products are numbered by the first model's columns; products new in a model
        ``/reload`` brings are numbered on, so what it learned stays with its products.
    candidates : int, default 50
    customer_ids : "int" or "str", optional
        How customer ids are keyed in the state (default: as the first customer in it, else str).
    decision_log : str or path, optional
        JSON lines of every explored list (request id, customer, products, propensities, and
        the candidates in the model's order) and of every feedback: the log
        :func:`recforge.realtime.ips` and friends evaluate policies on.
        The feedback a log already holds (the service ran before) is fed to ``policy`` first,
        so a restart resumes what exploration learned (:attr:`resumed_feedback` counts it).
    state_path : str or path, optional
        Where the state is saved at shutdown (:meth:`OnlineRecommender.save`).
    max_body, max_events, max_k : int
        Requests over these sizes are refused (413, or 422 for k).
    max_pending : int, default 200,000
        The latest explored lists whose feedback is checked: a feedback line naming its
        ``request`` is learned once, and only for a product that request showed (a click a
        client sends twice, or on a product the list did not hold, would bias the posteriors
        as much as a real one). A request older than these (or not answered by this service)
        is not learned from; the answer counts such lines. Feedback without a ``request`` is
        taken as given. With ``decision_log``, a restart knows the logged lists again.
    """

    def __init__(
        self,
        online: OnlineRecommender,
        *,
        model_path=None,
        loader=None,
        policy=None,
        candidates: int = 50,
        customer_ids: str | None = None,
        decision_log=None,
        state_path=None,
        max_body: int = MAX_BODY,
        max_events: int = MAX_EVENTS,
        max_k: int = MAX_K,
        max_pending: int = MAX_PENDING,
    ):
        if not isinstance(online, OnlineRecommender):
            raise TypeError(f"online must be an OnlineRecommender, got {type(online).__name__}")
        if customer_ids is None:
            first = next(iter(online), "")
            customer_ids = "int" if isinstance(first, (int, np.integer)) else "str"
        if customer_ids not in ("int", "str"):
            raise ValueError(f"customer_ids must be 'int' or 'str', got {customer_ids!r}")
        self.online, self.policy, self.model_path = online, policy, model_path
        if loader is None:
            from ..models import load as loader
        self.loader = loader
        limits = {
            "candidates": candidates,
            "max_body": max_body,
            "max_events": max_events,
            "max_k": max_k,
            "max_pending": max_pending,
        }
        self.candidates, self.max_body, self.max_events, self.max_k, self.max_pending = (
            check_int(value, name, minimum=1) for name, value in limits.items()
        )
        if policy is not None and not (
            callable(getattr(policy, "choose", None)) and callable(getattr(policy, "feedback", None))
        ):
            raise TypeError(
                f"policy must be an exploration policy (ThompsonSampling, EpsilonGreedy), got {type(policy).__name__}"
            )
        self.customer = _Ids(customer_ids == "int", "customer")
        self.item = _Ids(_is_integer_kind(online.item_ids), "item")
        self.state_path = state_path
        self.metrics = Metrics()
        self.started = time.time()
        self.reloads = 0
        self._reloading = threading.Lock()
        self._decisions_lock = threading.Lock()
        # The policy's products by number: the first model's columns, then products new in a
        # reloaded model numbered on. A refit's catalogue puts products in other columns; the
        # posteriors learned so far stay with their products.
        self._numbered = {item: j for j, item in enumerate(online.item_ids.tolist())}
        self._numbering = threading.Lock()
        # request id -> the shown products' numbers (int64 bytes: a tuple of ints took 860
        # bytes a list of 10), oldest first; and the (request, number) pairs rewarded already
        self._pending: OrderedDict[str, bytes] = OrderedDict()
        self._rewarded: set[tuple[str, int]] = set()
        self._pending_lock = threading.Lock()
        self.resumed_feedback = 0
        if policy is not None and decision_log is not None and os.path.exists(decision_log):
            self.resumed_feedback = self._resume(decision_log)
        self._decisions = None if decision_log is None else open(decision_log, "a", encoding="utf-8")

    # -- the endpoints' work (synchronous, testable without HTTP) ------------------------------
    def recommend(self, query: dict) -> dict:
        customer = self.customer(_required(query, "customer"))
        k = _integer(query, "k", 10, 0, self.max_k)
        exclude_seen = _boolean(query, "exclude_seen", True)
        explore = _boolean(query, "explore", self.policy is not None)
        if explore and self.policy is None:
            raise Refused(422, "explore: the service runs without an exploration policy (recforge serve --explore)")
        width = max(k, self.candidates) if explore else k
        items, scores, path = self.online.recommend(customer, width, exclude_seen=exclude_seen, return_path=True)
        answer = {"customer": customer, "path": path}
        if not explore:
            return {**answer, "items": items.tolist(), "scores": scores.tolist()}
        numbers = self._product_numbers(items.tolist())
        shown, propensity = self.policy.choose(numbers, k, segment=_segment(query))
        at = {c: j for j, c in enumerate(numbers.tolist())}
        shown = np.array([at[c] for c in shown.tolist()], dtype=np.int64)  # positions in the candidates
        request = uuid.uuid4().hex
        self._await(request, numbers[shown].tolist())
        answer.update(
            request=request,
            items=items[shown].tolist(),
            scores=scores[shown].tolist(),
            propensities=propensity.tolist(),
        )
        # The candidates in the model's order: what another policy would have chosen from, so
        # that its propensities for the shown products can be computed offline (ips, snips).
        self._decide({"request": request, "customer": customer, "items": answer["items"],
                      "propensities": answer["propensities"], "candidates": int(items.size),
                      "candidate_items": items.tolist(), "time": time.time()})  # fmt: skip
        return answer

    def similar(self, query: dict) -> dict:
        raw = self.item(_required(query, "item"))
        k = _integer(query, "k", 10, 0, self.max_k)
        found = self.online.similar_items(raw, k)
        if found is None:
            meant = id_meant(self.online.item_ids, raw)  # 85123a for 85123A
            raise Refused(
                404, f"item {raw!r} is not a product of the model" + (f"; did you mean {meant!r}?" if meant else "")
            )
        return {"item": raw, "items": found[0].tolist(), "scores": found[1].tolist()}

    def events(self, body: dict) -> dict:
        rows = _rows(body, "events", self.max_events)
        customers = [self.customer(_required(e, "customer")) for e in rows]
        items = [self.item(_required(e, "item")) for e in rows]
        weights = [_number(e, "weight", 1.0) for e in rows]
        timed = [("time" in e) for e in rows]
        if any(timed) and not all(timed):
            raise Refused(422, "events: give a time for every event or for none")
        times = _times([e["time"] for e in rows]) if all(timed) and rows else None
        kinds = self._event_types(rows)
        try:
            if times is not None:
                times = _not_ahead(as_seconds(np.array(times, dtype=object), "times"), time.time())
            report = self.online.update(customers, items, weights, times, events=kinds)
        except ValueError as e:  # times in a mix of units
            raise Refused(422, f"events: {e}") from None
        return {**report, "sequence": self.online.sequence}

    def _event_types(self, rows: list) -> list | None:
        """Each event's "event" type, for a model trained with event weights (``recforge train
        --event-col --event-weights``), which weighs it as in training; None for a model that
        weighs none. A view posted to a model trained on views and purchases weighed as a
        purchase while the service ignored the type."""
        spec = getattr(self.online.model, "events_spec_", None) or {}
        weight_of = spec.get("event_weights") or None
        typed = ["event" in e for e in rows]
        if weight_of is None:
            if any(typed):
                raise Refused(
                    422,
                    "event: the model was trained without event types (recforge train --event-weights); send each "
                    "event's weight instead",
                )
            return None
        if not all(typed):
            weighed = ", ".join(f"{kind}={weight:g}" for kind, weight in weight_of.items())
            raise Refused(422, f"event is required: the model weighs event types ({weighed})")
        kinds = [e["event"] for e in rows]
        bad = next((kind for kind in kinds if not isinstance(kind, str)), None)
        if bad is not None:
            raise Refused(422, f"event must be an event type (a string), got {json.dumps(bad)[:40]}")
        return kinds

    def feedback(self, body: dict) -> dict:
        if self.policy is None:
            raise Refused(422, "feedback: the service runs without an exploration policy (recforge serve --explore)")
        rows = _rows(body, "feedback", self.max_events)
        items = [self.item(_required(e, "item")) for e in rows]
        rewards = [_number(e, "reward", None) for e in rows]
        if not all(0.0 <= r <= 1.0 for r in rewards):
            raise Refused(422, "feedback: every reward must be in [0, 1]")
        segments = [_segment(e) for e in rows]
        requests = [_request(e) for e in rows]
        numbers, known = self._looked_up(items)
        verdicts = self._claim(requests, numbers, known)
        taken = np.array([v == "taken" for v in verdicts], dtype=bool)
        known = known[taken]
        learned = [s for s, take in zip(segments, taken) if take]
        self._learn(numbers[taken], known, np.asarray(rewards, dtype=np.float64)[taken], learned)
        for e, segment, take in zip(rows, segments, taken):
            if not take:  # never learned, so never logged: a restart learns what the log holds
                continue
            line = {"request": e.get("request"), "customer": e.get("customer"), "item": e["item"],
                    "reward": float(e["reward"]), "time": time.time()}  # fmt: skip
            self._decide(line if segment is None else {**line, "segment": segment})
        out = {"applied": int(known.sum()), "unknown_items": int((~known).sum())}
        return {**out, **{name: verdicts.count(name) for name in ("not_shown", "repeated", "unknown_requests")}}

    def _await(self, request: str, shown: list) -> None:
        """Remember an explored list's products until its feedback comes (the latest
        ``max_pending`` lists)."""
        packed = np.asarray(shown, dtype=np.int64).tobytes()
        with self._pending_lock:
            self._pending[request] = packed
            while len(self._pending) > self.max_pending:
                old, products = self._pending.popitem(last=False)
                self._rewarded.difference_update((old, j) for j in np.frombuffer(products, np.int64).tolist())

    def _looked_up(self, items: list) -> tuple[np.ndarray, np.ndarray]:
        """The policy's numbers of raw products, and which of them the model knows."""
        return self._product_numbers(items), self.online.item_index(items) >= 0

    def _claim(self, requests: list, numbers: np.ndarray, known: np.ndarray) -> list:
        """Per feedback line (its request, and its product's number and whether the model knows
        it, as :meth:`_looked_up` gives them): "taken" (no request named, or the first reward
        of a product its request showed), "not_shown", "repeated" or "unknown_requests".
        Products the model does not know are taken here and left out by :meth:`_learn`."""
        verdicts = []
        with self._pending_lock:
            for request, number, is_known in zip(requests, numbers.tolist(), known.tolist()):
                if request is None or not is_known:
                    verdicts.append("taken")
                    continue
                shown = self._pending.get(request)
                if shown is None:
                    verdicts.append("unknown_requests")
                elif number not in np.frombuffer(shown, np.int64):
                    verdicts.append("not_shown")
                elif (request, number) in self._rewarded:
                    verdicts.append("repeated")
                else:
                    self._rewarded.add((request, number))
                    verdicts.append("taken")
        return verdicts

    def _learn(self, numbers: np.ndarray, known: np.ndarray, rewards: np.ndarray, segments: list) -> None:
        """Feed the policy the rewards of the products the model knows (:meth:`_looked_up`)."""
        for segment in set(segments):  # the posteriors of each customer's segment (with by_segment)
            mine = known & np.array([s == segment for s in segments])
            self.policy.feedback(numbers[mine], rewards[mine], segment=segment)

    def _resume(self, path) -> int:
        """Feed the policy the feedback of an earlier run's decision log; returns how many
        lines. A last line cut short by a crash is skipped (never acknowledged)."""
        items, rewards, segments, shown, requests = [], [], [], [], []
        with open(path, "rb") as f:
            lines = f.read().split(b"\n")
        for number, raw in enumerate(lines, 1):
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
                if "reward" in line:
                    items.append(self.item(line["item"]))
                    rewards.append(_number(line, "reward", None))
                    segments.append(_segment(line))
                    request = line.get("request")  # a log of before may hold any JSON value there
                    requests.append(request if isinstance(request, str) else None)
                elif "propensities" in line:  # an explored list: its feedback may still come
                    shown.append((str(line["request"]), [self.item(i) for i in line["items"]]))
            except (ValueError, KeyError, TypeError, Refused) as e:
                if number == len(lines):  # the end of a write cut short
                    continue
                message = e.message if isinstance(e, Refused) else str(e)
                raise ValueError(
                    f"decision log {os.fspath(path)!r} line {number} is not a decision or feedback: {message}"
                ) from None
        if items and not all(0.0 <= r <= 1.0 for r in rewards):
            raise ValueError(f"decision log {os.fspath(path)!r}: a reward outside [0, 1]")
        numbers, known = self._looked_up(items)
        if items:
            self._learn(numbers, known, np.asarray(rewards, dtype=np.float64), segments)
        for request, products in shown:
            self._await(request, self._product_numbers(products).tolist())
        self._claim(requests, numbers, known)  # the products rewarded already are not learned twice
        return len(items)

    def reload(self) -> dict:
        if self.model_path is None:
            raise Refused(422, "reload: the service was started without a model file")
        with self._reloading:  # one reload at a time; answers go on with the current model
            try:
                model = self.loader(self.model_path)
                change = self.online.swap_model(model)
            except (ValueError, TypeError, OSError) as e:
                raise Refused(422, f"reload: {e}; the current model stays") from None
            self.reloads += 1
        return {"model": type(model).__name__, "reloads": self.reloads, **change}

    def health(self) -> dict:
        return {
            "status": "ok",
            "version": __version__,
            "model": type(self.online.model).__name__,
            "items": int(self.online.item_ids.size),
            "customers": len(self.online),
            "events": self.online.sequence,
            "reloads": self.reloads,
            "exploration": None if self.policy is None else type(self.policy).__name__,
            "uptime_s": round(time.time() - self.started, 3),
        }

    def metrics_text(self) -> str:
        gauges = {
            "recforge_customers": ("Customers with a live state.", len(self.online)),
            "recforge_items": ("Products of the model.", int(self.online.item_ids.size)),
            "recforge_uptime_seconds": ("Seconds since the service started.", time.time() - self.started),
        }
        counters = {
            "recforge_events_total": ("Events applied to the state (the event log's position).", self.online.sequence),
            "recforge_model_reloads_total": ("Models swapped in by /reload.", self.reloads),
        }
        return self.metrics.render(gauges, counters)

    def _product_numbers(self, items: list) -> np.ndarray:
        """The exploration policy's number of each raw product id (new ones numbered now)."""
        with self._numbering:
            return np.array([self._numbered.setdefault(i, len(self._numbered)) for i in items], dtype=np.int64)

    def _decide(self, line: dict) -> None:
        if self._decisions is None:
            return
        text = json.dumps(line, ensure_ascii=False) + "\n"
        with self._decisions_lock:
            self._decisions.write(text)
            self._decisions.flush()

    def close(self) -> None:
        """Save the state (with ``state_path``) and close the logs: the service's shutdown."""
        if self.state_path is not None:
            self.online.save(self.state_path)
        self.online.close()
        if self._decisions is not None:
            self._decisions.close()
            self._decisions = None


# -- request fields --------------------------------------------------------------------------
def _required(query: dict, name: str):
    if name not in query or query[name] is None:
        raise Refused(422, f"{name} is required")
    if isinstance(query[name], str) and not query[name].strip():  # ?customer= : missing, as an empty CSV field
        raise Refused(422, f"{name} is required (got an empty string)")
    return query[name]


def _integer(query: dict, name: str, default: int, low: int, high: int) -> int:
    value = query.get(name, default)
    try:
        number = int(value) if isinstance(value, str) else value
    except ValueError:
        number = None
    if isinstance(number, bool) or not isinstance(number, int) or not low <= number <= high:
        raise Refused(422, f"{name} must be an integer in [{low}, {high}], got {json.dumps(value)[:40]}")
    return number


def _boolean(query: dict, name: str, default: bool) -> bool:
    value = query.get(name, default)
    if isinstance(value, str) and value.lower() in ("true", "1", "false", "0"):
        return value.lower() in ("true", "1")
    if not isinstance(value, bool):
        raise Refused(422, f"{name} must be true or false, got {json.dumps(value)[:40]}")
    return value


def _number(row: dict, name: str, default) -> float:
    value = row.get(name, default)
    if value is None:
        raise Refused(422, f"{name} is required")
    if not isinstance(value, (int, float)) or not is_finite_number(value):  # 2**70 too: JSON's integers have no end
        raise Refused(422, f"{name} must be a finite number, got {json.dumps(value)[:40]}")
    return as_float(value)


def _times(values: list) -> list:
    """Event times as given: all epoch numbers or all ISO 8601 text (read as one column)."""
    text = [isinstance(v, str) for v in values]
    if all(text):
        return values
    if any(text):
        raise Refused(422, "events: give every time as a number (epoch seconds) or every time as ISO 8601 text")
    return [_number({"time": v}, "time", None) for v in values]


def _not_ahead(seconds: np.ndarray, now: float) -> np.ndarray:
    """The events' times, none later than a day after ``now``: the trending counters decay to
    the latest time seen, so one event dated 9999-12-31 (a warehouse's "no date") aged every
    other event to nothing, and every new customer's list held that event's product alone, for
    good. A day allows for clocks that differ and for local times taken as UTC."""
    late = np.flatnonzero(ahead_of_clock(seconds, now))
    if late.size:
        j = int(late[0])
        more = f", as are {late.size - 1:,} more of the batch" if late.size > 1 else ""
        raise ValueError(
            f"event {j}'s time {moment_text(seconds[j])} is more than a day after now ({moment_text(now)}){more}: "
            "a time from the future would age every other event's trend; send the time each event happened"
        )
    return seconds


def _segment(query: dict):
    value = query.get("segment")
    if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int))):
        raise Refused(422, f"segment must be a string or an integer, got {json.dumps(value)[:40]}")
    return value


def _request(row: dict) -> str | None:
    value = row.get("request")
    if value is not None and not isinstance(value, str):
        raise Refused(
            422, f"request must be the request id /recommend answered (a string), got {json.dumps(value)[:40]}"
        )
    return value


def _rows(body: dict, name: str, limit: int) -> list:
    rows = body.get(name)
    if isinstance(rows, dict):
        rows = [rows]
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise Refused(422, f'{name} must be a list of objects, e.g. {{"{name}": [{{...}}]}}')
    if len(rows) > limit:
        raise Refused(413, f"{name}: {len(rows):,} in one request, at most {limit:,}")
    return rows


def _not_json(name: str):
    raise ValueError(f"{name} is not a JSON number")


async def _body(request: Request, limit: int) -> dict:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Refused(413, f"request body of {int(declared):,} bytes, at most {limit:,}")
    body = bytearray()
    async for chunk in request.stream():  # a body without Content-Length is counted as it comes
        body += chunk
        if len(body) > limit:
            raise Refused(413, f"request body over {limit:,} bytes")
    if not body.strip():
        return {}  # POST /reload needs no body
    try:
        payload = json.loads(body, parse_constant=_not_json)
    except (ValueError, UnicodeDecodeError) as e:
        raise Refused(400, f"malformed JSON: {e}") from None
    if not isinstance(payload, dict):
        raise Refused(400, "the request body must be a JSON object")
    return payload


# -- the ASGI application --------------------------------------------------------------------
def create_app(service: Service) -> Starlette:
    """The Starlette application of ``service`` (its shutdown calls :meth:`Service.close`)."""

    def endpoint(name: str, work, threaded: bool = False, text: bool = False):
        async def handle(request: Request):
            start = time.perf_counter()
            status = 200
            try:
                if request.method == "POST":
                    payload = await _body(request, service.max_body)
                else:
                    payload = dict(request.query_params)
                answer = await run_in_threadpool(work, payload) if threaded else work(payload)
                response = PlainTextResponse(answer) if text else JSONResponse(answer)
            except Refused as e:
                status = e.status
                response = JSONResponse({"error": e.message}, status_code=status)
            except Exception as e:  # a defect: answered and counted, the service stays up
                status = 500
                response = JSONResponse({"error": f"internal error: {type(e).__name__}: {e}"}, status_code=500)
            service.metrics.observe(name, status, time.perf_counter() - start)
            return response

        return handle

    routes = [
        Route("/recommend", endpoint("recommend", service.recommend), methods=["GET", "POST"]),
        Route("/similar", endpoint("similar", service.similar), methods=["GET", "POST"]),
        Route("/events", endpoint("events", service.events, threaded=True), methods=["POST"]),
        Route("/feedback", endpoint("feedback", service.feedback), methods=["POST"]),
        Route("/reload", endpoint("reload", lambda _: service.reload(), threaded=True), methods=["POST"]),
        Route("/health", endpoint("health", lambda _: service.health()), methods=["GET"]),
        Route("/metrics", endpoint("metrics", lambda _: service.metrics_text(), text=True), methods=["GET"]),
    ]

    async def http_error(request, exc: HTTPException):  # unknown paths, wrong methods: JSON too
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        service.close()  # after uvicorn has let the requests in flight finish

    return Starlette(routes=routes, exception_handlers={HTTPException: http_error}, lifespan=lifespan)


def serve(
    service: Service, *, host: str = "127.0.0.1", port: int = 8000, sock=None, log_level: str = "warning", **uvicorn
) -> None:
    """Run ``service`` under uvicorn until SIGINT/SIGTERM; requests in flight finish, then the
    state is saved and the logs closed, and it returns. ``sock``: an already bound socket (then host and port
    are ignored); other keywords go to :class:`uvicorn.Config`."""
    import uvicorn as server

    class Server(server.Server):
        def handle_exit(self, sig, frame) -> None:
            # A stop request, not a failure: uvicorn would raise the signal again after the
            # graceful shutdown (the process then dies by it); here serve() returns instead.
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True  # a second Ctrl-C: stop waiting for requests in flight
            self.should_exit = True

    config = server.Config(create_app(service), host=host, port=port, log_level=log_level, **uvicorn)
    Server(config).run(sockets=None if sock is None else [sock])


__all__ = ["Refused", "Service", "create_app", "serve"]

"""recforge.realtime.service and `recforge serve`: answers against the online recommender and
the model, bad requests, exploration logs, metrics, and the service on loopback (concurrent
clients through model reloads, graceful shutdown)."""

from __future__ import annotations

import importlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pytest
import recforge as rf

pytest.importorskip("starlette", reason="the service needs the serve extra (starlette, uvicorn)")
pytest.importorskip("uvicorn", reason="the service needs the serve extra (starlette, uvicorn)")
httpx = pytest.importorskip("httpx", reason="the tests talk to the service through httpx")
from recforge.realtime import service as svc  # noqa: E402

with warnings.catch_warnings():  # recent Starlette prefers httpx2 and warns when it finds only httpx
    warnings.simplefilter("ignore", DeprecationWarning)
    from starlette.testclient import TestClient


def events(seed: int, n: int, n_users: int = 30, n_items: int = 40):
    rng = np.random.default_rng(seed)
    users = np.array([f"c{u}" for u in rng.integers(0, n_users, n)], dtype=object)
    items = np.array([f"p{i}" for i in rng.integers(0, n_items, n)], dtype=object)
    return users, items, rng.choice([1.0, 3.0, 5.0], n)


@pytest.fixture
def served(tmp_path):
    """(service, client, model, history): ItemKNN on 40 products, saved to a file /reload reads."""
    history = rf.Interactions.from_arrays(*events(0, 400))
    model = rf.ItemKNN(neighbours=10).fit(history)
    path = str(tmp_path / "model.npz")
    model.save(path)
    service = svc.Service(rf.realtime.OnlineRecommender(model, history), model_path=path)
    with TestClient(svc.create_app(service)) as client:
        yield service, client, model, history


def test_recommend_answers_as_the_online_recommender(served):
    service, client, model, history = served
    want_items, want_scores = service.online.recommend("c3", k=5)
    for reply in (client.get("/recommend", params={"customer": "c3", "k": 5}),
                  client.post("/recommend", json={"customer": "c3", "k": 5})):  # fmt: skip
        assert reply.status_code == 200
        body = reply.json()
        assert body["path"] == "history" and body["items"] == want_items.tolist()
        np.testing.assert_allclose(body["scores"], want_scores)
    unknown = client.get("/recommend", params={"customer": "nobody", "k": 3}).json()
    assert unknown["path"] == "trending"
    assert unknown["items"] == service.online.recommend("nobody", k=3)[0].tolist() and len(unknown["items"]) == 3


def test_events_change_the_next_answer(served):
    service, client, model, history = served
    reply = client.post(
        "/events",
        json={"events": [{"customer": "new", "item": "p1", "weight": 3}, {"customer": "new", "item": "zz"}]},
    )
    assert reply.status_code == 200 and reply.json() == {"applied": 1, "unknown_items": 1, "sequence": 2}
    body = client.get("/recommend", params={"customer": "new", "k": 4}).json()
    row = service.online.history("new")
    ids, scores = model.recommend(0, row, k=4, recalculate_user=True)
    assert body["path"] == "history" and body["items"] == model.item_ids_[ids[ids >= 0]].tolist()
    assert "p1" not in body["items"]


def test_event_types_are_weighed_as_the_model_was_trained(tmp_path):
    """A model trained with event weights (recforge train --event-col --event-weights
    view=1,purchase=5) was served events whose "event" the service ignored: a posted purchase
    weighed 1, as a view. Each event's type now weighs as in training (times its "weight"),
    types the model does not weigh are left out and counted, and a type sent to a model that
    weighs none, or an event without one to a model that does, is refused."""
    users, items, _ = events(0, 400)
    kinds = np.random.default_rng(1).choice(["view", "purchase"], users.size)
    history = rf.Interactions.from_arrays(users, items, events=kinds, event_weights={"view": 1.0, "purchase": 5.0})
    model = rf.ItemKNN(neighbours=10).fit(history)
    service = svc.Service(rf.realtime.OnlineRecommender(model, history))
    with TestClient(svc.create_app(service)) as client:
        posted = [
            {"customer": "n1", "item": "p1", "event": "purchase"},
            {"customer": "n1", "item": "p2", "event": "view", "weight": 2},
            {"customer": "n1", "item": "p3", "event": "wishlist"},
        ]
        reply = client.post("/events", json={"events": posted})
        assert reply.status_code == 200, reply.text
        assert reply.json() == {"applied": 2, "unknown_items": 0, "unknown_event": 1, "sequence": 2}
        row = service.online.history("n1")
        weight = dict(zip(model.item_ids_[row.indices].tolist(), row.data.tolist()))
        assert weight == {"p1": 5.0, "p2": 2.0}
        reply = client.post("/events", json={"events": [{"customer": "n2", "item": "p1"}]})
        assert (
            reply.status_code == 422
            and "event is required: the model weighs event types (view=1, purchase=5)" in reply.json()["error"]
        )
        reply = client.post("/events", json={"events": [{"customer": "n2", "item": "p1", "event": 3}]})
        assert reply.status_code == 422 and "event must be an event type" in reply.json()["error"]
        reply = client.post("/events", json={"events": [{"customer": "n2", "item": "p1", "event": "x"}]})
        assert reply.json() == {"applied": 0, "unknown_items": 0, "unknown_event": 1, "sequence": 2}
    plain = svc.Service(
        rf.realtime.OnlineRecommender(rf.ItemKNN(neighbours=10).fit(rf.Interactions.from_arrays(users, items)))
    )
    with TestClient(svc.create_app(plain)) as client:
        reply = client.post("/events", json={"events": [{"customer": "n1", "item": "p1", "event": "purchase"}]})
        assert reply.status_code == 422 and "trained without event types" in reply.json()["error"]


def test_similar_answers_as_the_model(served):
    service, client, model, _ = served
    body = client.get("/similar", params={"item": "p2", "k": 4}).json()
    ids, scores = model.similar_items(int(np.flatnonzero(model.item_ids_ == "p2")[0]), k=4)
    assert body["items"] == model.item_ids_[ids[ids >= 0]].tolist()
    np.testing.assert_allclose(body["scores"], scores[ids >= 0])
    assert client.get("/similar", params={"item": "nope"}).status_code == 404
    # a product written in another case: the one meant is named
    answer = client.get("/similar", params={"item": "P2"})
    assert answer.status_code == 404 and "did you mean 'p2'?" in answer.json()["error"]
    assert "did you mean" not in client.get("/similar", params={"item": "nope"}).json()["error"]


def test_event_times_in_milliseconds_or_iso_text_keep_the_trending_clock(served):
    """One event timed by a JavaScript client (Date.now(): epoch milliseconds) put the trending
    clock 55,000 years ahead: every counter decayed to nothing and every later event counted
    for nothing, so new customers got one product for good. ISO text was refused."""
    service, client, _, _ = served
    before = dict(zip(*service.online.recommend("nobody", k=40)))
    t = 1_700_000_000
    ok = client.post("/events", json={"events": [{"customer": "c1", "item": "p1", "time": t}]})
    assert ok.status_code == 200
    with pytest.warns(UserWarning, match="read as milliseconds"):
        ms = client.post("/events", json={"events": [{"customer": "c2", "item": "p2", "time": (t + 60) * 1000}]})
    iso = client.post("/events", json={"events": [{"customer": "c3", "item": "p3", "time": "2023-11-14T22:15:20Z"}]})
    assert ms.status_code == 200 and iso.status_code == 200
    after = dict(zip(*service.online.recommend("nobody", k=40)))  # each event counts about 1 (2 minutes old)
    np.testing.assert_allclose([after[p] - before[p] for p in ("p1", "p2", "p3")], 1.0, atol=0.01)
    for events, words in (
        (
            [{"customer": "c1", "item": "p1", "time": t}, {"customer": "c1", "item": "p1", "time": "2023-11-14"}],
            "every time",
        ),
        ([{"customer": "c1", "item": "p1", "time": t}, {"customer": "c1", "item": "p1", "time": t * 1000}], "mixes"),
        ([{"customer": "c1", "item": "p1", "time": "soon"}], "time"),
    ):
        reply = client.post("/events", json={"events": events})
        assert reply.status_code == 422 and words in reply.json()["error"]
    assert service.online.sequence == 3


@pytest.mark.parametrize(
    "method, path, payload, status, words",
    [
        ("post", "/recommend", b"{not json", 400, "malformed JSON"),
        ("post", "/recommend", b"[1, 2]", 400, "JSON object"),
        ("post", "/recommend", b"\xff\xfe", 400, "malformed JSON"),
        ("get", "/recommend", {}, 422, "customer is required"),
        # ?customer= answered as a customer named "" (trending); an event created one
        ("get", "/recommend", {"customer": ""}, 422, "customer is required (got an empty string)"),
        ("post", "/events", {"events": [{"customer": " ", "item": "p1"}]}, 422, "customer is required"),
        ("get", "/recommend", {"customer": "c1", "k": "-1"}, 422, "k must be"),
        ("get", "/recommend", {"customer": "c1", "k": "5000"}, 422, "k must be"),
        ("get", "/recommend", {"customer": "c1", "k": "ten"}, 422, "k must be"),
        ("post", "/recommend", {"customer": "c1", "k": True}, 422, "k must be"),
        ("post", "/recommend", {"customer": ["c1"]}, 422, "customer must be"),
        ("get", "/recommend", {"customer": "c1", "exclude_seen": "maybe"}, 422, "exclude_seen"),
        ("get", "/recommend", {"customer": "c1", "explore": "true"}, 422, "exploration policy"),
        ("post", "/events", {"events": "c1,p1"}, 422, "list of objects"),
        ("post", "/events", {"events": [{"customer": "c1"}]}, 422, "item is required"),
        ("post", "/events", {"events": [{"customer": "c1", "item": "p1", "weight": "x"}]}, 422, "weight"),
        ("post", "/events", {"events": [{"customer": "c1", "item": "p1", "weight": float("nan")}]}, 400, "JSON"),
        # JSON's integers have no end: 2**64 and more answered 500 (numpy's isfinite on an object)
        ("post", "/events", {"events": [{"customer": "c1", "item": "p1", "weight": 10**400}]}, 422, "weight must be a"),
        (
            "post",
            "/events",
            {"events": [{"customer": "c1", "item": "p1", "time": 2**70}]},
            422,
            "more than a day after",
        ),
        ("post", "/events", {"events": [{"customer": "c1", "item": "p1", "time": 10**400}]}, 422, "time must be a"),
        (
            "post",
            "/events",
            {"events": [{"customer": "c", "item": "p1", "time": 1}, {"customer": "c", "item": "p2"}]},
            422,
            "every event or for none",
        ),  # fmt: skip
        ("post", "/feedback", {"feedback": [{"item": "p1", "reward": 1}]}, 422, "exploration policy"),
        ("get", "/events", {}, 405, "Method Not Allowed"),
        ("get", "/nowhere", {}, 404, "Not Found"),
    ],
)
def test_bad_requests_get_a_status_and_a_message(served, method, path, payload, status, words):
    service, client, _, _ = served
    if method == "get":
        reply = client.get(path, params=payload)
    elif isinstance(payload, bytes):
        reply = client.post(path, content=payload)
    else:
        reply = client.post(path, content=json.dumps(payload))  # NaN passes json.dumps, not the service
    assert reply.status_code == status
    assert words in reply.json()["error"]
    assert service.online.sequence == 0  # nothing was applied


def test_an_event_from_the_future_is_refused(tmp_path):
    """The trending counters decay to the latest time seen: one event dated 9999-12-31 (a
    warehouse's "no date") aged every other to nothing, and every new customer's list held its
    product alone, for good."""
    users, items, weights = events(0, 400)
    history = rf.Interactions.from_arrays(users, items, weights, times=1.6e9 + np.arange(400) * 600.0)
    service = svc.Service(rf.realtime.OnlineRecommender(rf.ItemKNN().fit(history), history))
    with TestClient(svc.create_app(service)) as client:
        trending = client.get("/recommend", params={"customer": "new", "k": 5}).json()["items"]
        assert len(trending) == 5
        for early, late in (("2020-09-14", "9999-12-31"), (1.6e9, time.time() + 3 * 86400),
                            (1.6e12, (time.time() + 3 * 86400) * 1000)):  # fmt: skip
            batch = [{"customer": "c1", "item": "p1", "time": early}, {"customer": "c2", "item": "p2", "time": late}]
            reply = client.post("/events", json={"events": batch})
            assert reply.status_code == 422, late
            assert "event 1's time" in reply.json()["error"] and "is more than a day after now" in reply.json()["error"]
        assert service.online.sequence == 0
        assert client.get("/recommend", params={"customer": "new", "k": 5}).json()["items"] == trending
        # an hour ahead (a clock that runs fast), in milliseconds: taken
        reply = client.post(
            "/events", json={"events": [{"customer": "c2", "item": "p2", "time": (time.time() + 3600) * 1000}]}
        )
        assert reply.status_code == 200 and service.online.sequence == 1


def test_oversized_requests_are_refused(tmp_path):
    history = rf.Interactions.from_arrays(*events(0, 200))
    online = rf.realtime.OnlineRecommender(rf.ItemKNN().fit(history), history)
    service = svc.Service(online, max_body=2_000, max_events=5)
    with TestClient(svc.create_app(service)) as client:
        many = {"events": [{"customer": "c1", "item": "p1"}] * 6}
        reply = client.post("/events", json=many)
        assert reply.status_code == 413 and "at most 5" in reply.json()["error"]
        big = client.post("/events", content=b'{"events": [' + b" " * 3_000 + b"]}")
        assert big.status_code == 413 and "2,000" in big.json()["error"]

        def chunks():  # no Content-Length: counted as it arrives
            for _ in range(10):
                yield b" " * 500

        streamed = client.post("/events", content=chunks())
        assert streamed.status_code == 413
    assert online.sequence == 0


def test_a_failed_reload_keeps_the_current_model(served):
    service, client, model, _ = served
    assert client.post("/reload").json() == {
        "model": "ItemKNN",
        "reloads": 1,
        "products": 40,
        "new_products": 0,
        "dropped_products": 0,
    }
    first = service.online.model
    assert first is not model  # read again from the file
    with open(service.model_path, "wb") as f:
        f.write(b"not a model")
    reply = client.post("/reload")
    assert reply.status_code == 422 and "the current model stays" in reply.json()["error"]
    assert service.online.model is first and service.reloads == 1
    assert client.get("/recommend", params={"customer": "c1"}).status_code == 200


def test_a_reload_follows_a_refit_with_other_products(tmp_path):
    """The nightly refit knows new products and may lack some: /reload refused it ("the new
    model must know the same products"), so a served model could never be refreshed. Now the
    customers' state moves to its catalogue, and what exploration learned stays with its
    products, which sit in other columns of the refit."""
    history = rf.Interactions.from_arrays(*events(0, 400))
    model = rf.ItemKNN(neighbours=10).fit(history)
    path = str(tmp_path / "model.npz")
    model.save(path)
    online = rf.realtime.OnlineRecommender(model, history)
    policy = rf.realtime.ThompsonSampling(random_state=0)
    service = svc.Service(online, model_path=path, policy=policy, candidates=8)
    u, i, w = events(3, 500, n_items=48)
    keep = i != "p7"
    refit = rf.ItemKNN(neighbours=10).fit(rf.Interactions.from_arrays(u[keep], i[keep], w[keep]))
    assert refit.item_ids_.tolist() != model.item_ids_.tolist()
    with TestClient(svc.create_app(service)) as client:
        client.post("/events", json={"events": [{"customer": "c1", "item": "p2"}]})
        client.post("/feedback", json={"feedback": [{"item": "p5", "reward": 1}, {"item": "p7", "reward": 0}]})
        learned = policy.posterior(online.item_index(["p5", "p7"]))
        refit.save(path)
        reply = client.post("/reload").json()
        assert reply == {"model": "ItemKNN", "reloads": 1, "products": 47, "new_products": 8, "dropped_products": 1}
        body = client.get("/recommend", params={"customer": "c1", "k": 5, "explore": "false"}).json()
        row = online.history("c1")
        assert row[0, online.item_index(["p2"])[0]] > 0 and online.item_ids.tolist() == refit.item_ids_.tolist()
        ids, _ = refit.recommend(0, row, k=5, recalculate_user=True)
        assert body["items"] == refit.item_ids_[ids].tolist()
        similar = client.get("/similar", params={"item": "p45", "k": 3}).json()  # a product of the refit only
        assert (
            similar["items"]
            == refit.item_ids_[refit.similar_items(refit.item_ids_.tolist().index("p45"), k=3)[0]].tolist()
        )
        assert client.get("/similar", params={"item": "p7"}).status_code == 404
        client.post("/feedback", json={"feedback": [{"item": "p45", "reward": 1}]})
    numbers = [service._numbered[p] for p in ("p5", "p7", "p45")]
    assert numbers[:2] == [model.item_ids_.tolist().index(p) for p in ("p5", "p7")]  # the first columns
    alpha, beta = policy.posterior(numbers)
    np.testing.assert_array_equal(alpha[:2], learned[0])
    np.testing.assert_array_equal(beta[:2], learned[1])
    assert learned[0].tolist() == [2.0, 1.0] and learned[1].tolist() == [1.0, 2.0]
    assert (alpha[2], beta[2]) == (2.0, 1.0) and numbers[2] >= 40  # numbered after the first catalogue


def test_integer_ids_accept_numbers_and_digit_strings():
    history = rf.Interactions.from_arrays(np.array([1, 1, 2, 3]), np.array([10, 11, 10, 12]))
    online = rf.realtime.OnlineRecommender(rf.ItemKNN().fit(history), history)
    service = svc.Service(online)
    with TestClient(svc.create_app(service)) as client:
        a = client.get("/recommend", params={"customer": "1"}).json()
        b = client.post("/recommend", json={"customer": 1}).json()
        assert a == b and a["path"] == "history" and a["customer"] == 1
        assert client.post("/events", json={"events": [{"customer": "7", "item": "12"}]}).json()["applied"] == 1
        assert 12 in online.recent_items(7).tolist()
        assert client.get("/similar", params={"item": "x"}).status_code == 422
        # 1.0 and "1.0" (ids through a pandas column with a gap) are customer 1: "1.0" was a 422
        for written in (1.0, "1.0", "1.00"):
            assert client.post("/recommend", json={"customer": written}).json() == a
        assert client.post("/events", json={"events": [{"customer": 7.0, "item": "12.0"}]}).json()["applied"] == 1
        for bad in (1.5, "1.5", "1e3"):
            reply = client.post("/recommend", json={"customer": bad})
            assert reply.status_code == 422, bad


def test_exploration_logs_propensities_and_learns_from_feedback(tmp_path):
    history = rf.Interactions.from_arrays(*events(0, 400))
    online = rf.realtime.OnlineRecommender(rf.ItemKNN(neighbours=10).fit(history), history)
    policy = rf.realtime.ThompsonSampling(random_state=0)
    log = tmp_path / "decisions.jsonl"
    service = svc.Service(online, policy=policy, candidates=8, decision_log=log)
    with TestClient(svc.create_app(service)) as client:
        body = client.get("/recommend", params={"customer": "c3", "k": 3}).json()
        candidates = online.recommend("c3", k=8)[0].tolist()
        assert len(body["items"]) == 3 and set(body["items"]) <= set(candidates)
        assert all(0 < p <= 1 for p in body["propensities"]) and len(body["propensities"]) == 3
        plain = client.get("/recommend", params={"customer": "c3", "k": 3, "explore": "false"}).json()
        assert "propensities" not in plain and plain["items"] == candidates[:3]
        item = body["items"][0]
        reply = client.post(
            "/feedback", json={"feedback": [{"customer": "c3", "item": item, "reward": 1, "request": body["request"]}]}
        )
        assert reply.json() == {"applied": 1, "unknown_items": 0, "not_shown": 0, "repeated": 0, "unknown_requests": 0}
        assert client.post("/feedback", json={"feedback": {"item": item, "reward": 2}}).status_code == 422
    alpha, beta = policy.posterior(online.item_index([item]))
    assert (alpha[0], beta[0]) == (2.0, 1.0)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines[0]["request"] == body["request"] and lines[0]["propensities"] == body["propensities"]
    assert lines[0]["items"] == body["items"] and lines[0]["candidates"] == 8
    assert lines[0]["candidate_items"] == candidates  # what another policy would choose from
    assert lines[1] == {**lines[1], "request": body["request"], "item": item, "reward": 1.0}
    # A restart resumes what the policy learned: the log's feedback is fed to the new policy
    # (it started from the prior again, and what exploration learned was lost at every restart).
    with open(log, "a") as f:
        f.write('{"item": "p1", "rew')  # the end of a write cut short: never acknowledged
    again = rf.realtime.ThompsonSampling(random_state=0)
    restarted = svc.Service(online, policy=again, candidates=8, decision_log=log)
    restarted.close()
    assert restarted.resumed_feedback == 1
    assert [a[0] for a in again.posterior(online.item_index([item]))] == [2.0, 1.0]
    log.write_text('{"item": "p1", "reward": 7}\n')
    with pytest.raises(ValueError, match="outside"):
        svc.Service(online, policy=again, decision_log=log)
    log.write_text('not json\n{"item": "p1", "reward": 1}\n')
    with pytest.raises(ValueError, match="line 1 is not a decision or feedback"):
        svc.Service(online, policy=again, decision_log=log)


def test_feedback_is_learned_once_and_only_for_what_its_request_showed(tmp_path):
    """A click a client sends twice (a retried POST) or a product its list did not hold was
    learned as a real reward: the posteriors drifted towards whatever was reported most. Now a
    feedback line naming its request is learned once, for a product that request showed; the
    answer counts the others, the decision log holds only what was learned, and a restart
    knows the logged lists and their rewards again."""
    history = rf.Interactions.from_arrays(*events(0, 400))
    online = rf.realtime.OnlineRecommender(rf.ItemKNN(neighbours=10).fit(history), history)
    policy = rf.realtime.ThompsonSampling(random_state=0)
    log = tmp_path / "decisions.jsonl"
    service = svc.Service(online, policy=policy, candidates=8, decision_log=log, max_pending=2)
    with TestClient(svc.create_app(service)) as client:
        first = client.get("/recommend", params={"customer": "c3", "k": 3}).json()
        shown, request = first["items"], first["request"]
        hidden = next(p for p in online.item_ids.tolist() if p not in shown)

        def send(*lines):
            reply = client.post(
                "/feedback", json={"feedback": [dict(zip(("item", "reward", "request"), x)) for x in lines]}
            )
            assert reply.status_code == 200, reply.text
            return reply.json()

        reply = send((shown[0], 1, request), (shown[0], 1, request), (hidden, 1, request), (shown[1], 0, "f" * 32))
        assert reply == {"applied": 1, "unknown_items": 0, "not_shown": 1, "repeated": 1, "unknown_requests": 1}
        none = dict.fromkeys(reply, 0)
        assert send((shown[0], 1, request)) == {**none, "repeated": 1}
        assert send((shown[1], 0, request), (hidden, 1)) == {**none, "applied": 2}  # without its request: as given
        assert (
            client.post("/feedback", json={"feedback": [{"item": hidden, "reward": 1, "request": 7}]}).status_code
            == 422
        )
        for _ in range(2):  # the oldest list is forgotten beyond max_pending
            client.get("/recommend", params={"customer": "c3", "k": 3})
        assert send((shown[2], 1, request))["unknown_requests"] == 1
    alpha, beta = policy.posterior(online.item_index([shown[0], shown[1], hidden]))
    assert alpha.tolist() == [2.0, 1.0, 2.0] and beta.tolist() == [1.0, 2.0, 1.0]
    rewards = [json.loads(line) for line in log.read_text().splitlines() if "reward" in line]
    assert [(r["item"], r["reward"]) for r in rewards] == [(shown[0], 1.0), (shown[1], 0.0), (hidden, 1.0)]
    # After a restart the logged lists are known again, with the rewards they already had.
    again = rf.realtime.ThompsonSampling(random_state=0)
    restarted = svc.Service(online, policy=again, candidates=8, decision_log=log)
    assert restarted.resumed_feedback == 3
    lists = [json.loads(line) for line in log.read_text().splitlines() if "propensities" in line]
    assert restarted.feedback({"feedback": [{"item": shown[0], "reward": 1, "request": request}]})["repeated"] == 1
    last = lists[-1]
    assert (
        restarted.feedback({"feedback": [{"item": last["items"][0], "reward": 1, "request": last["request"]}]})[
            "applied"
        ]
        == 1
    )
    restarted.close()
    # a log written before requests were checked may name them by any JSON value: resumed
    with open(log, "a") as f:
        f.write(json.dumps({"request": 7, "item": shown[2], "reward": 1.0}) + "\n")
    assert svc.Service(online, policy=rf.realtime.ThompsonSampling(), decision_log=log).resumed_feedback == 5


def test_health_and_metrics_count_what_happened(served):
    service, client, _, _ = served
    client.get("/recommend", params={"customer": "c1"})
    client.get("/recommend", params={"customer": "c1", "k": "-3"})
    client.post("/events", json={"events": [{"customer": "c1", "item": "p1"}]})
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["events"] == 1 and health["items"] == 40
    assert health["customers"] == len(service.online)
    text = client.get("/metrics").text
    assert 'recforge_requests_total{endpoint="recommend",status="200"} 1' in text
    assert 'recforge_requests_total{endpoint="recommend",status="422"} 1' in text
    assert "recforge_events_total 1" in text
    assert 'recforge_request_seconds_count{endpoint="recommend"} 2' in text
    buckets = [
        int(n) for n in re.findall(r'recforge_request_seconds_bucket\{endpoint="recommend",le="[^"]+"\} (\d+)', text)
    ]
    assert buckets == sorted(buckets) and buckets[-1] == 2  # cumulative, ending at the count


class LoopbackServer:
    """The service under uvicorn in a thread, on a free loopback port."""

    def __init__(self, service):
        import uvicorn

        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(svc.create_app(service), log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(30)
        assert not self.thread.is_alive()


def test_no_request_fails_while_the_model_is_reloaded(tmp_path):
    history = rf.Interactions.from_arrays(*events(0, 600, n_users=50))
    model = rf.ALS(factors=8, iterations=3, random_state=0).fit(history)
    path = tmp_path / "model.npz"
    model.save(path)
    state = tmp_path / "state.npz"
    online = rf.realtime.OnlineRecommender(model, history, log=tmp_path / "events.jsonl")
    service = svc.Service(online, model_path=path, state_path=state)
    statuses, lengths = [], []
    stop = threading.Event()

    def client(number: int):
        with httpx.Client(base_url=url, timeout=30) as http:
            i = 0
            while not stop.is_set() or i < 20:
                customer = f"c{(number * 7 + i) % 60}"  # some unknown: trending
                if i % 5 == 0:
                    r = http.post("/events", json={"events": [{"customer": customer, "item": f"p{i % 40}"}]})
                else:
                    r = http.get("/recommend", params={"customer": customer, "k": 5})
                    lengths.append(len(r.json().get("items", [])))
                statuses.append(r.status_code)
                i += 1

    with LoopbackServer(service) as server:
        url = server.url
        threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        u, i, w = events(3, 600, n_users=50, n_items=48)  # a refit with other products, every other time
        refit = rf.Interactions.from_arrays(u[i != "p7"], i[i != "p7"], w[i != "p7"])
        with httpx.Client(base_url=url, timeout=30) as http:
            for n in range(5):
                rf.ALS(factors=8, iterations=3, random_state=1).fit(refit if n % 2 == 0 else history).save(path)
                assert http.post("/reload").status_code == 200
        stop.set()
        for t in threads:
            t.join(60)
        with httpx.Client(base_url=url, timeout=30) as http:  # bad requests over a real socket
            assert http.post("/events", content=b'{"events": [').status_code == 400
            assert http.post("/events", content=b" " * (svc.MAX_BODY + 1)).status_code == 413
            assert http.get("/recommend", params={"customer": "c1", "k": "x"}).status_code == 422
            assert http.get("/health").json()["status"] == "ok"
    assert len(statuses) >= 160 and set(statuses) == {200}
    assert min(lengths) == 5
    assert service.reloads == 5
    # graceful shutdown saved the state with every applied event
    restored = rf.realtime.OnlineRecommender.load(state, model)
    assert restored.sequence == online.sequence == statuses.count(200) - len(lengths)


def test_importing_the_service_without_the_extra_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "starlette.applications", None)
    monkeypatch.delitem(sys.modules, "recforge.realtime.service")
    with pytest.raises(ImportError, match=r"pip install 'recforge\[serve\]'"):
        importlib.import_module("recforge.realtime.service")
    monkeypatch.undo()
    importlib.import_module("recforge.realtime.service")


def test_cli_serves_until_sigterm_then_saves_the_state(tmp_path):
    model = tmp_path / "model.npz"
    subprocess.run(
        [sys.executable, "-m", "recforge", "train", "--data", "sample", "--model", "itemknn", "--out", str(model),
         "--quiet"], check=True, capture_output=True)  # fmt: skip
    state = tmp_path / "state.npz"
    command = [sys.executable, "-m", "recforge", "serve", "--model", str(model), "--data", "sample",
               "--port", "0", "--state", str(state), "--log", str(tmp_path / "events.jsonl")]  # fmt: skip
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        port = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert port, line
        assert "2,169 customers from sample; dropped rows: none)" in line  # what the history left out
        url = f"http://127.0.0.1:{port.group(1)}"
        assert httpx.get(url + "/health", timeout=30).json()["customers"] == 2169
        reply = httpx.post(url + "/events", json={"events": [{"customer": "17850", "item": "22423"}]}, timeout=30)
        assert reply.json()["applied"] == 1
        assert httpx.get(url + "/recommend", params={"customer": "17850"}, timeout=30).json()["path"] == "history"
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=60)[1]
    assert proc.returncode == 0, out
    assert rf.realtime.OnlineRecommender.load(state, rf.load(str(model))).sequence == 1
    # a log with events but no state to follow is refused (the events would be applied twice)
    os.remove(state)
    bad = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--log" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--port", "99999"], "--port must be in [0, 65535]"),
        (["--explore", "epsilon", "--epsilon", "2"], "--epsilon"),
        # exploration's options without exploration were ignored: no decision log, no seed
        (["--decision-log", "d.jsonl"], "--decision-log needs --explore"),
        (["--seed", "3"], "--seed needs --explore"),
        (["--candidates", "20"], "--candidates needs --explore"),
        (["--half-life", "0"], "--half-life must be a finite number > 0 (days), got 0"),
        # "ValueError: half_life must be finite, got inf": the option unnamed
        (["--half-life", "inf"], "--half-life must be a finite number > 0 (days), got inf"),
        (["--max-pending", "20"], "--max-pending needs --explore"),
        (["--explore", "thompson", "--max-pending", "0"], "--max-pending must be >= 1, got 0"),
        (["--explore", "thompson", "--candidates", "0"], "--candidates must be >= 1, got 0"),
        (["--explore", "thompson", "--epsilon", "0.2"], "--epsilon needs --explore epsilon"),
        # a folder given for a file: --log said it "holds events", --state an IsADirectoryError
        (["--state", "s.npz", "--log", "."], "--log: '.' is a folder, expected a file name"),
        # a log without a state was written, and the next start refused it (its events may be
        # in --data already): the service could not be restarted with its own command
        (["--log", "events.jsonl"], "--log needs --state"),
        (["--state", "."], "--state: '.' is a folder, expected a file name"),
    ],
)
def test_cli_refuses_a_bad_port_or_epsilon_before_reading_the_model(tmp_path, capsys, extra, words, monkeypatch):
    """socket.bind said a port out of range with an OverflowError traceback."""
    from recforge.cli import main

    monkeypatch.chdir(tmp_path)
    code = main(["serve", "--model", str(tmp_path / "never-read.npz"), "--quiet", *extra])
    err = capsys.readouterr().err
    assert code == 2 and words in err and err.count("\n") == 1, err


def test_cli_half_life_sets_the_trending_counters_and_a_state_keeps_its_own(tmp_path, capsys, monkeypatch):
    """The service's trending half-life (7 days) could not be set from the command line, beside
    a model whose own trending decays over 30 days: --half-life DAYS sets it; a --state keeps
    the one its counters were decayed at, and another is refused rather than mixed in."""
    from recforge.cli import main

    history = rf.Interactions.from_arrays(*events(0, 50))
    trained = str(tmp_path / "model.npz")
    rf.ItemKNN().fit(history).save(trained)
    served = []
    monkeypatch.setattr(svc, "serve", lambda app, sock: (served.append(app.online.half_life), sock.close()))
    assert main(["serve", "--model", trained, "--quiet", "--half-life", "30", "--port", "0"]) == 0
    assert main(["serve", "--model", trained, "--quiet", "--port", "0"]) == 0
    assert served == [30 * 86400.0, 7 * 86400.0]
    state = str(tmp_path / "state.npz")
    rf.realtime.OnlineRecommender(rf.load(trained), history, half_life=3 * 86400.0).save(state)
    assert main(["serve", "--model", trained, "--state", state, "--quiet", "--port", "0"]) == 0
    assert served[-1] == 3 * 86400.0
    capsys.readouterr()
    assert main(["serve", "--model", trained, "--state", state, "--quiet", "--half-life", "30"]) == 2
    err = capsys.readouterr().err
    assert "--half-life 30: the state was saved with a half-life of 3 days" in err and err.count("\n") == 1, err


def test_cli_names_the_state_option_when_its_file_is_of_another_kind(tmp_path, capsys):
    """It said "error: ValueError: ..." without the option."""
    from recforge.cli import main

    trained = str(tmp_path / "model.npz")
    rf.ItemKNN().fit(rf.Interactions.from_arrays(*events(0, 50))).save(trained)
    code = main(["serve", "--model", trained, "--state", trained, "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("recforge serve: error: --state: ") and "model file" in err, err


@pytest.mark.parametrize(
    "given, error, words",
    [
        ({"candidates": 0}, ValueError, "candidates must be >= 1"),
        ({"max_k": "5"}, TypeError, "max_k must be an integer"),
        ({"max_events": 0}, ValueError, "max_events must be >= 1"),
        ({"policy": "thompson"}, TypeError, "policy must be an exploration policy"),
    ],
)
def test_the_service_checks_its_limits_and_policy_when_built(given, error, words):
    """They failed at the first request (max(k, "5")), or refused every request (max_events=0)."""
    history = rf.Interactions.from_arrays(*events(0, 50))
    online = rf.realtime.OnlineRecommender(rf.ItemKNN().fit(history), history)
    with pytest.raises(error, match=words):
        svc.Service(online, **given)

"""`recforge serve`'s service on the loopback interface under load: throughput and p50 / p99
latency at 1, 16 and 64 concurrent clients, and whether any request fails while the model is
reloaded.

The model (ALS, 64 factors, or ItemKNN, 50 neighbours) is fitted on the synthetic power-law set
(100k customers, 20k products) and served from a child process, as `recforge serve` would run
it. The load generator is an asyncio loop of keep-alive HTTP/1.1 connections written for this
bench: on a 2-core machine it shares the CPUs with the server, so it must cost far less per
request than the server does (an httpx client costs about as much as the service itself).

Each client sends its next request when the last answer has arrived (closed loop): 90%
``GET /recommend?customer=...&k=10`` for random known customers, 10% ``POST /events`` with one
event. The reload run does the same with 16 clients while the model file is reloaded every
0.5 s.

    python bench/bench_serve.py [--model als|itemknn] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def serve_child(model_path: str, history_path: str) -> None:
    """The server process: the model and histories, then the service on a free port."""
    import recforge as rf
    import scipy.sparse as sp
    from recforge.realtime import service

    X = sp.load_npz(history_path).tocsr()
    inter = rf.Interactions(X, np.arange(X.shape[0]), np.arange(X.shape[1]))
    online = rf.realtime.OnlineRecommender(rf.load(model_path), inter)
    app = service.Service(online, model_path=model_path, customer_ids="int")
    import socket

    sock = socket.create_server(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    service.serve(app, sock=sock)


async def client(port: int, deadline: float, rng, n_users: int, n_items: int, out: list, write_share: float):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline:
            customer = int(rng.integers(0, n_users))
            if rng.random() < write_share:
                body = json.dumps({"events": [{"customer": customer, "item": int(rng.integers(0, n_items))}]}).encode()
                head = f"POST /events HTTP/1.1\r\nHost: bench\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                request = head + body
            else:
                request = f"GET /recommend?customer={customer}&k=10 HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            out.append((time.perf_counter() - start, status))
    except (ConnectionError, asyncio.IncompleteReadError):
        out.append((float("nan"), 0))  # a dropped connection is a failed request
    finally:
        writer.close()


async def reloader(port: int, deadline: float, every: float, done: list) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    while time.perf_counter() + every < deadline:
        await asyncio.sleep(every)
        writer.write(b"POST /reload HTTP/1.1\r\nHost: bench\r\nContent-Length: 0\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(int(x.split(b":")[1]) for x in head.split(b"\r\n") if x.lower().startswith(b"content-length:"))
        await reader.readexactly(length)
        done.append(int(head[9:12]))
    writer.close()


async def load(port, clients, seconds, n_users, n_items, reload_every=None) -> tuple[list, list]:
    out, reloads = [], []
    deadline = time.perf_counter() + seconds
    rng = np.random.default_rng(clients)
    tasks = [client(port, deadline, rng, n_users, n_items, out, 0.1) for _ in range(clients)]
    if reload_every:
        tasks.append(reloader(port, deadline, reload_every, reloads))
    await asyncio.gather(*tasks)
    return out, reloads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("als", "itemknn"), default="als")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--serve", nargs=2, metavar=("MODEL", "HISTORY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_child(*args.serve)
        return
    import recforge as rf
    import scipy.sparse as sp
    from synthetic import power_law_interactions

    X = power_law_interactions()
    n_users, n_items = X.shape
    inter = rf.Interactions(X, np.arange(n_users), np.arange(n_items))
    if args.model == "als":
        model = rf.ALS(factors=64, iterations=5, random_state=0)
    else:
        model = rf.ItemKNN(neighbours=50, metric="cosine")
    model.fit(inter)
    with tempfile.TemporaryDirectory() as tmp:
        model_path, history_path = os.path.join(tmp, "model.npz"), os.path.join(tmp, "history.npz")
        model.save(model_path)
        sp.save_npz(history_path, X)
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve", model_path, history_path], stdout=subprocess.PIPE, text=True
        )
        try:
            port = int(child.stdout.readline())
            print(f"{type(model).__name__} on {n_users:,} customers, {n_items:,} products; {args.seconds:g} s per row")
            print("| clients | requests/s | p50 ms | p99 ms | failed | reloads |")
            print("|---:|---:|---:|---:|---:|---:|")
            asyncio.run(load(port, 4, 2.0, n_users, n_items))  # warm up
            for clients, reload_every in ((1, None), (16, None), (64, None), (16, 0.5)):
                out, reloads = asyncio.run(load(port, clients, args.seconds, n_users, n_items, reload_every))
                seconds = np.array([s for s, _ in out]) * 1e3
                failed = sum(status != 200 for _, status in out)
                print(
                    f"| {clients} | {len(out) / args.seconds:,.0f} | {np.nanmedian(seconds):.2f} | "
                    f"{np.nanpercentile(seconds, 99):.2f} | {failed} | "
                    + (f"{reloads.count(200)} of {len(reloads)}" if reload_every else "-")
                    + " |",
                    flush=True,
                )
        finally:
            child.terminate()
            child.wait(60)


if __name__ == "__main__":
    main()

"""recforge serve: the HTTP/JSON service of a trained model (recforge.realtime.service)."""

from __future__ import annotations

import math
import os
import socket
import sys

from ..realtime import EpsilonGreedy, OnlineRecommender, ThompsonSampling
from ._common import CliError, add_csv_arguments, check_options, dropped_rows
from .commands import events_like_training, trained

DAY = 86400.0
DEFAULT_HALF_LIFE_DAYS = 7.0  # OnlineRecommender's: trends of a week, for answers in real time


def add_serve_parser(sub) -> None:
    s = sub.add_parser(
        "serve",
        help="answer recommendations over HTTP/JSON, following customers' events as they come",
        description="Serve a model written by 'recforge train' over HTTP/JSON (needs the serve extra: "
        "pip install 'recforge[serve]'). Endpoints: /recommend, /similar, /events, /feedback, "
        "/reload, /health, /metrics. Ctrl-C or SIGTERM stops it after the requests in flight; "
        "with --state the customers' state is saved then.",
    )
    s.add_argument("--model", required=True, help="file written by 'recforge train' (reread by POST /reload)")
    s.add_argument(
        "--data", metavar="FILE", help='the customers\' histories so far: events (.csv or .parquet), or "sample"'
    )
    add_csv_arguments(s)
    s.add_argument(
        "--state",
        metavar="FILE",
        help="state snapshot (.npz): loaded at start when it exists (then --data is not read), saved at shutdown",
    )
    s.add_argument(
        "--log",
        metavar="FILE",
        help="event log (JSON lines), with --state: appended to, and replayed after the state at the next start "
        "(events since its last save survive a crash)",
    )
    s.add_argument(
        "--half-life",
        type=float,
        metavar="DAYS",
        help="half-life of the trending counters that answer customers without a history (default: 7; a --state "
        "keeps the one it was saved with)",
    )
    s.add_argument("--explore", choices=("none", "thompson", "epsilon"), default="none", help="exploration policy")
    s.add_argument("--epsilon", type=float, help="--explore epsilon: share of random lists (default: 0.1)")
    s.add_argument("--candidates", type=int, help="--explore: products the policy explores over (default: 50)")
    s.add_argument(
        "--decision-log", metavar="FILE", help="--explore: JSON lines of shown lists (propensities) and feedback"
    )
    s.add_argument(
        "--max-pending",
        type=int,
        metavar="N",
        help="--explore: the latest explored lists whose feedback is checked (learned once, for a product its "
        "list showed; older lists' feedback is counted, not learned; default: 200000)",
    )
    s.add_argument("--seed", type=int, help="--explore: the exploration's random seed")
    s.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1, this machine only)")
    s.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0: any free one)")
    s.add_argument("--max-body", type=int, default=1 << 20, help="largest request body in bytes (default: 1 MiB)")
    s.add_argument("--quiet", action="store_true", help="no start-up lines")


def serve(args) -> None:
    try:
        from ..realtime import service
    except ImportError as e:
        raise CliError(str(e)) from None
    check_options(
        (
            args.half_life is not None and not 0 < args.half_life < math.inf,
            "--half-life must be a finite number > 0 (days)",
            args.half_life,
        ),
        (args.candidates < 1, "--candidates must be >= 1", args.candidates),
        (args.max_pending < 1, "--max-pending must be >= 1", args.max_pending),
        (args.max_body < 1, "--max-body must be >= 1", args.max_body),
    )
    if not 0 <= args.port <= 65535:  # before the model is read: socket.bind says it with a traceback
        raise CliError(f"--port must be in [0, 65535], got {args.port}")
    if args.explore == "epsilon" and not 0 <= args.epsilon <= 1:
        raise CliError(f"--epsilon must be in [0, 1], got {args.epsilon}")
    for option, path in (("--state", args.state), ("--log", args.log), ("--decision-log", args.decision_log)):
        if path is not None and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise CliError(f"{option}: folder of {path!r} does not exist")
        if path is not None and os.path.isdir(path):
            raise CliError(f"{option}: {path!r} is a folder, expected a file name")
    model, known = trained(args.model)
    resuming = args.state is not None and os.path.exists(args.state)
    if args.log is not None and not resuming and os.path.exists(args.log) and os.path.getsize(args.log) > 0:
        raise CliError(f"--log: {args.log!r} holds events; give the --state they follow, or a new log")
    if resuming:
        try:
            online = OnlineRecommender.load(args.state, model, log=args.log)
        except (ValueError, TypeError) as e:  # a file of another kind, or a log that does not follow it
            raise CliError(f"--state: {e}") from None
        source = f"state {args.state} (events {online.sequence:,})"
        if args.half_life is not None and abs(args.half_life * DAY - online.half_life) > 1e-6 * online.half_life:
            online.close()  # its trending counters were decayed at the saved rate: another would not match them
            raise CliError(
                f"--half-life {args.half_life:g}: the state was saved with a half-life of "
                f"{online.half_life / DAY:g} days, which it keeps; leave --half-life out, or start a new --state"
            )
        change = online.report.get("catalogue")
        if change is not None and not args.quiet:  # a model refitted since the snapshot
            print(
                f"the state was saved beside other products: moved to the model's {change['products']:,} "
                f"({change['new_products']:,} new; {change['dropped_products']:,} it lacks, set aside in the "
                "histories until a model knows them)",
                file=sys.stderr,
            )
    else:
        history = None
        if args.data is not None:
            events = events_like_training(args, known)
            try:
                history = known.transform(events, new_users="append").returns_netted()  # as recommend
            except (ValueError, TypeError) as e:
                raise CliError(f"--data: {e}") from None
        days = DEFAULT_HALF_LIFE_DAYS if args.half_life is None else args.half_life
        online = OnlineRecommender(model, history, log=args.log, half_life=days * DAY)
        # what the history left out, as every command that reads events says it
        source = "no history" if history is None else f"{args.data}; dropped rows: {dropped_rows(history.report)}"
    policy = None
    if args.explore == "thompson":
        policy = ThompsonSampling(random_state=args.seed)
    elif args.explore == "epsilon":
        policy = EpsilonGreedy(args.epsilon, random_state=args.seed)
    try:
        app = service.Service(
            online,
            model_path=args.model,
            policy=policy,
            candidates=args.candidates,
            customer_ids="int" if known.user_ids.dtype.kind in "iu" else "str",
            decision_log=args.decision_log,
            state_path=args.state,
            max_body=args.max_body,
            max_pending=args.max_pending,
        )
    except ValueError as e:  # a decision log that is not one
        online.close()
        raise CliError(f"--decision-log: {e}") from None
    if app.resumed_feedback and not args.quiet:
        print(f"exploration resumed: {app.resumed_feedback:,} feedback lines of {args.decision_log}", file=sys.stderr)
    try:
        sock = socket.create_server((args.host, args.port))
    except OSError as e:
        app.close()
        raise CliError(f"--host/--port: cannot listen on {args.host}:{args.port}: {e.strerror or e}") from None
    host, port = sock.getsockname()[:2]
    if not args.quiet:
        print(
            f"serving {type(model).__name__} ({online.item_ids.size:,} products, {len(online):,} customers from "
            f"{source}) on http://{host}:{port}; Ctrl-C stops",
            file=sys.stderr,
        )
    service.serve(app, sock=sock)
    if not args.quiet:
        print("stopped" + (f"; state saved to {args.state}" if args.state else ""), file=sys.stderr)

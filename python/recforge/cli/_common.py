"""Pieces every subcommand shares: reading event files, the model registry, batched
recommendation with a progress bar, writing result tables."""

from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import json
import os
import re
import sys

import numpy as np
import scipy.sparse as sp

from .._atomic import atomic_output, atomic_path, check_writable
from .._checks import as_numbers
from .._csv_out import Coded, frame_of, save_csv
from .._factorize import pd
from .._tables import (
    DECIMALS,
    TABLE_SUFFIXES,
    check_no_header_line,
    check_sep,
    check_table_suffix,
    read_parquet,
    read_table,
    text_table_files,
)
from ..data import DROP_REASONS, Interactions
from ..models import MODELS
from ._hints import CliError
from ._negatives import warn_negatives
from ._purchases import warn_event_types

MODEL_NAMES = {cls.__name__.lower(): cls for cls in MODELS}
LARGE_FILE = 20 * 2**20  # bytes above which reading is announced
BATCH = 2_000  # users per recommend call: bounds memory, moves the progress bar often


def _delimiter(text: str) -> str:
    """--sep as argparse reads it: :func:`check_sep`'s refusal is argparse's one line. The two
    characters \\t are a tab, which a shell's quotes do not make of them: a tab-separated file
    read with --sep '\\t' was one column, and the hint then said "is the delimiter '\\t'?"."""
    if text == "\\t":
        return "\t"
    try:
        return check_sep(text, "a delimiter")
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_csv_arguments(parser) -> None:
    """--sep and --encoding: how an event CSV is read (every command that reads one)."""
    parser.add_argument(
        "--sep",
        default=",",
        type=_delimiter,
        help="CSV delimiter (default: ,; \\t: a tab); whitespace: columns split by runs of spaces or tabs "
        "(CDNOW_master.txt). "
        "Tables beside the events (products, customers, lists) are read with it, or with the delimiter "
        "their header line is written with",
    )
    parser.add_argument("--encoding", default="utf-8", help="CSV text encoding (default: utf-8; e.g. latin-1)")
    parser.add_argument(
        "--decimal",
        default=".",
        choices=DECIMALS,
        help="decimal mark of the number columns (default: .); ',' reads 2,55 (with --sep ';', as European "
        "spreadsheets export)",
    )
    parser.add_argument(
        "--names",
        type=_column_names,
        metavar="A,B,...",
        help="column names of an event CSV without a header line, in order (e.g. user,item,rating,time "
        "for MovieLens' u.data with --sep $'\\t')",
    )


def _column_names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",")]
    if any(not n for n in names):
        raise argparse.ArgumentTypeError(f"an empty column name in {text!r}")
    if len(set(names)) < len(names):
        raise argparse.ArgumentTypeError(f"a column name given twice in {text!r}")
    return names


def add_data_arguments(parser, required: bool = True) -> None:
    g = parser.add_argument_group("events")
    g.add_argument(
        "--data",
        required=required,
        metavar="FILE",
        help="events: .csv (.gz/.bz2/.xz/.zip), .parquet, or a folder of Parquet or of CSV files (daily exports, "
        'read as one table); "sample" for the shipped Online Retail sample',
    )
    g.add_argument("--user-col", default="user", help="customer id column (default: user)")
    g.add_argument("--item-col", default="item", help="product id column (default: item)")
    g.add_argument("--weight-col", help="numeric weight column (default: 1 per event)")
    g.add_argument("--time-col", help="event time column (epoch seconds or dates)")
    g.add_argument("--event-col", help="event type column, weighted by --event-weights")
    g.add_argument("--event-weights", metavar="TYPE=W,...", help="e.g. view=1,cart=3,purchase=5")
    g.add_argument(
        "--aggregate",
        default="sum",
        choices=("sum", "max", "count", "last"),
        help="how repeated (customer, product) events merge: their total weight, the largest, their number, or "
        "the latest one's weight (by --time-col, else the later line) (default: sum)",
    )
    add_csv_arguments(g)
    add_returns_argument(g, default=None)  # "drop" once --weight-col is known to be given


def add_returns_argument(parser, default: str | None = "drop", trained: bool = False) -> None:
    """--returns: what happens to rows with a negative weight (training and scoring alike);
    ``trained``: a scoring command, whose default is the model's training."""
    parser.add_argument(
        "--returns",
        default=default,
        choices=("drop", "keep"),
        help="rows with a negative --weight-col value (returns, cancellations): drop them and say "
        "how many, or keep them, subtracting from their pairs"
        + (" (default: as the model was trained)" if trained else " (default: drop)"),
    )


def event_weights(text):
    if text is None:
        return None
    out = {}
    for part in text.split(","):
        name, eq, value = part.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise CliError(f"--event-weights: {part!r} is not TYPE=NUMBER") from None
        if not eq or not name.strip():
            raise CliError(f"--event-weights: {part!r} is not TYPE=NUMBER")
    return out


def spec_of(args) -> dict:
    return {
        "user_col": args.user_col,
        "item_col": args.item_col,
        "weight_col": args.weight_col,
        "time_col": args.time_col,
        "event_col": args.event_col,
        "event_weights": event_weights(args.event_weights),
    }


def is_parquet(path: str) -> bool:
    """A .parquet file, or a folder of them (a dataset as Spark, Dask or pandas' partition_cols
    write it; the out-of-core reader takes the same)."""
    return (os.path.isdir(path) and text_table_files(path) is None) or path.lower().endswith(".parquet")


def read_events(args, columns=None, text=None, arrow_text: bool = False):
    """The event columns named by the arguments (or ``columns``, of which ``text`` are read as
    text), as a mapping column -> array; ``arrow_text``: as :func:`read_table`'s (for callers
    that only factorize the text columns)."""
    if columns is None:
        spec = spec_of(args)
        columns = [c for k, c in spec.items() if k.endswith("_col") and c is not None]
        text = [c for c in (args.user_col, args.item_col, args.event_col, args.time_col) if c is not None]
    if not os.path.exists(args.data):
        remote = "://" in args.data  # s3://, gs://, https://: the command line reads local files
        way_out = "; copy it here first (rf.distributed reads remote Parquet through Dask)" if remote else ""
        raise CliError(f"--data: no such file {args.data!r}{way_out}")
    try:
        if is_parquet(args.data):
            if getattr(args, "names", None):
                raise CliError("--names: a Parquet file names its own columns (--names is for a CSV without a header)")
            if pd is None:
                raise CliError("reading Parquet needs pandas and pyarrow: pip install 'recforge[io]'")
            return read_parquet(args.data, columns, repr(args.data))
        names = getattr(args, "names", None)
        files = text_table_files(args.data) or [args.data]  # a folder of CSV files: read as one table
        if names:  # checked here too, to name the option (the reader's error would name names=)
            encoding = getattr(args, "encoding", "utf-8")
            try:
                for path in files:
                    check_no_header_line(path, columns or names, args.sep, encoding, True, repr(path), option="--names")
            except ValueError as e:
                raise CliError(str(e)) from None
        size = sum(os.path.getsize(path) for path in files)
        if size > LARGE_FILE and not getattr(args, "quiet", False):  # parsing takes a while: say so
            print(f"reading {args.data} ({size / 2**20:,.0f} MiB) ...", file=sys.stderr)
        return read_table(
            args.data,
            columns,
            names=getattr(args, "names", None),
            text=text or (),
            sep=args.sep,
            encoding=getattr(args, "encoding", "utf-8"),
            arrow_text=arrow_text,
            decimal=getattr(args, "decimal", "."),
        )
    except LookupError as e:
        raise CliError(f"--encoding: {e}") from None
    except (ValueError, KeyError, OSError) as e:
        raise CliError(f"--data: {e}") from None


def drop_returns(events, args):
    """Without ``--returns keep``: the rows whose weight is negative (returns, cancellations)
    are dropped, and their count is said; a customer who only returned items gets no list."""
    weight = args.weight_col
    if weight is None or getattr(args, "returns", "drop") == "keep":
        return events
    try:
        w = as_numbers(events[weight], "--weight-col")  # a Parquet text column: named, not numpy's words
    except ValueError as e:
        raise CliError(f"--data: {e}") from None
    negative = w < 0
    if not negative.any():
        return events
    # serve has no --returns: a model trained with --returns keep nets them there
    instead = "a model trained with --returns keep" if args.command == "serve" else "--returns keep"
    print(
        f"dropped {int(negative.sum()):,} rows with a negative {weight} (returns or cancellations; "
        f"{instead} subtracts them instead)",
        file=sys.stderr,
    )
    keep = ~negative
    kept = {}
    for name in events.columns if hasattr(events, "columns") else events:
        column = events[name]
        column = column.array if pd is not None and isinstance(column, pd.Series) else column
        # Arrow strings (Parquet, arrow_text) stay so: a numpy copy is a Python string per field
        kept[name] = column[keep] if hasattr(column, "__arrow_array__") else np.asarray(column)[keep]
    return kept


def build_interactions(args) -> Interactions:
    if args.data == "sample":
        from ..datasets import sample

        return sample().interactions
    try:
        inter = Interactions.from_pandas(
            drop_returns(read_events(args, arrow_text=True), args), aggregate=args.aggregate, **spec_of(args)
        )
    except (ValueError, TypeError) as e:
        raise CliError(f"--data: {e}") from None
    netted = inter.returns_netted()  # --returns keep: pairs returned in full are not held
    if netted is not inter:
        print(
            f"{netted.report['returned_pairs']:,} (customer, product) pairs netted to nothing or less by returns, "
            "left out",
            file=sys.stderr,
        )
        inter = netted
    used = [c for k, c in spec_of(args).items() if k.endswith("_col") and c is not None]
    warn_negatives(args, used)
    warn_event_types(args, used, training=True)
    if inter.nnz == 0:
        dropped = {k: v for k, v in inter.report.get("dropped", {}).items() if v}
        raise CliError(
            f"--data: {args.data!r} holds no usable events ({inter.report.get('rows', 0):,} rows read"
            + (f"; dropped: {dropped}" if dropped else "")
            + ")"
        )
    return inter


def parse_params(pairs) -> dict:
    """--param neighbours=50 --param metric=bm25 -> {"neighbours": 50, "metric": "bm25"} (JSON, else text)."""
    out = {}
    for pair in pairs or []:
        name, eq, value = pair.partition("=")
        if not eq or not name:
            raise CliError(f"--param: {pair!r} is not NAME=VALUE")
        if re.search(r",\s*[A-Za-z_]\w*=", value):  # "factors=8,iterations=3" read as factors "8,iterations=3"
            each = " ".join(f"--param {p.strip()}" for p in pair.split(","))
            raise CliError(f"--param: {pair!r} holds several parameters: give each its own ({each})")
        if name in out:  # the last one won without a word
            raise CliError(f"--param: {name} is given twice ({name}={out[name]!r} and {pair!r})")
        try:
            out[name] = json.loads(value)
        except json.JSONDecodeError:
            out[name] = _PYTHON_WORDS.get(value, value)
    return out


# Python's spelling of what JSON writes null, true and false: --param random_state=None
_PYTHON_WORDS = {"None": None, "True": True, "False": False}


SEED_HELP = (
    "seeds the models' random starts (default: 0): the same data and options give the same models, but "
    "for BPR on several threads (its lock-free updates race)"
)


def make_model(name: str, params: dict, option: str = "--model", seed: int | None = None):
    """The model ``name`` with ``params``; ``seed`` (--seed) becomes its ``random_state`` where
    it has one that ``params`` leave unset: without it, every run of a command drew another
    start (ALS's NDCG@10 on the sample read 0.2096, then 0.2126, under one --seed)."""
    cls = MODEL_NAMES.get(name.lower())
    if cls is None:
        raise CliError(f"{option}: unknown model {name!r}; choose from {', '.join(MODEL_NAMES)}")
    try:
        model = cls(**params)
        if seed is not None and "random_state" in model.get_params(deep=False) and "random_state" not in params:
            model.set_params(random_state=seed)
        return model
    except (TypeError, ValueError) as e:  # an unknown name is said with the model's parameters
        raise CliError(f"--param: {e}") from None


def progress(total: int, desc: str, quiet: bool, unit: str = "customers"):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=quiet or None, file=sys.stderr)


def recommend_all(
    model,
    users: np.ndarray,
    history,
    k: int,
    quiet: bool,
    labels=None,
    user_features=None,
    exclude_seen=True,
    allow=None,
):
    """Top-k for ``users`` (rows of ``history``) in batches, with a progress bar. With
    ``labels`` (the model's id per user, -1 for customers it has not seen: a ColdStart model)
    also each item's path; ``user_features`` rows go with ``users``; ``allow``: the only
    products offered."""
    k = min(k, getattr(model, "n_items_", history.shape[1]))  # never more columns than items
    ids = np.full((users.size, k), -1, dtype=np.int64)
    scores = np.full((users.size, k), -np.inf)
    paths = None if labels is None else np.full((users.size, k), -1, dtype=np.int8)
    with progress(users.size, "recommending", quiet) as bar:
        for start in range(0, users.size, BATCH):
            chunk = users[start : start + BATCH]
            part = slice(start, start + chunk.size)
            if labels is None:
                ids[part], scores[part] = model.recommend(
                    chunk, history[chunk], k=k, exclude_seen=exclude_seen, allow=allow
                )
            else:
                features = None if user_features is None else user_features[start : start + chunk.size]
                ids[part], scores[part], paths[part] = model.recommend(
                    labels[part],
                    history[chunk],
                    k=k,
                    exclude_seen=exclude_seen,
                    allow=allow,
                    user_features=features,
                    return_paths=True,
                )
            bar.update(chunk.size)
    return (ids, scores) if labels is None else (ids, scores, paths)


def sample_services(args, item_ids) -> np.ndarray:
    """Positions in ``item_ids`` of the shipped sample's postage and fees (not products to
    offer: demo, campaign and recommend leave them out of the lists); none for other data."""
    if args.data != "sample":
        return np.zeros(0, dtype=np.int64)
    from ..datasets.online_retail import is_service

    return np.flatnonzero(is_service(item_ids))


def citable(history, denied):
    """``history`` without the ``denied`` products' columns: what a reason ("because you bought
    ...") may name. A product the rules keep out of every list (the shipped sample's postage, a
    recalled product) is no more a reason to write to a customer: "because you bought POSTAGE"
    headed hundreds of the sample's lists."""
    denied = np.zeros(0, dtype=np.int64) if denied is None else np.asarray(denied)
    if not (denied.any() if denied.dtype == bool else denied.size):
        return history
    keep = np.ones(history.shape[1], dtype=history.dtype)
    keep[denied if denied.dtype == bool else denied.astype(np.int64)] = 0  # a mask or positions, as rerank's deny
    cited = sp.csr_matrix(history.multiply(keep[None, :]))
    cited.eliminate_zeros()
    return cited


def co_purchase_similarity(X):
    """The products' cosine over the customers (100 neighbours each): what the campaign's MMR
    diversifies against (the measured defaults of ``bench/bench_rerank.py tradeoff``)."""
    from ..kernels import similarity

    return similarity(X.T.tocsr(), k=100, metric="cosine")


def campaign_rows(user_ids, item_ids, users, ids, scores, describe=None, paths=None, path_names=()):
    """One row per (customer, rank) with a recommendation: the campaign list (and, for a
    model with fallbacks, the path that produced each row)."""
    rank = np.broadcast_to(np.arange(1, ids.shape[1] + 1), ids.shape)
    ok = ids >= 0
    rows = np.broadcast_to(users[:, None], ids.shape)[ok]
    listed = ids[ok]
    # ids and paths as codes into their labels: written from the labels, never row by row
    table = {"user": Coded(rows, user_ids), "rank": rank[ok], "item": Coded(listed, item_ids), "score": scores[ok]}
    if describe is not None:
        table["description"] = describe(listed)
    if paths is not None:
        table["path"] = Coded(paths[ok], np.asarray(path_names, dtype=object))
    return table


# Files a command reads, and files it writes (serve's --state and --log are both, by design).
INPUT_OPTIONS = ("data", "model", "products", "segments", "rules", "exclude", "suppress", "customers", "campaign",
                 "control", "template", "key_file", "item_features", "user_features")  # fmt: skip
OUTPUT_OPTIONS = ("out", "messages", "holdout_out", "chart")


READ_ONCE = ("rules", "template", "key_file")  # the inputs a pipe can give: read in one go


def piped_input(args) -> str | None:
    """Why an input cannot be read, being standard input or a pipe (``zcat log.gz | recforge
    ... --data /dev/stdin``), or None: a table's header is read before its lines and a model
    file is a zip read out of order, and a pipe gives its bytes once (pandas then said "No
    columns to parse from file")."""
    for name in INPUT_OPTIONS:
        value = getattr(args, name, None)
        if name in READ_ONCE or not isinstance(value, str):
            continue
        option = f"--{name.replace('_', '-')}"
        way_out = "write it to a file first" + (
            "" if name == "model" else " (a .gz, .bz2, .xz or .zip file is read as it is)"
        )
        if value == "-":
            return f"{option} -: recforge reads files, not standard input; {way_out}"
        if os.path.exists(value) and not os.path.isfile(value) and not os.path.isdir(value):
            return f"{option} {value!r} is a pipe or device, not a file: recforge reads it more than once; {way_out}"
    return None


def output_clash(args) -> str | None:
    """Why an output would replace an input file (a typo that would destroy the event log once
    the run succeeds: outputs are written atomically, over whatever was there) or another
    output, or None."""
    seen = {}
    for name in INPUT_OPTIONS:
        value = getattr(args, name, None)
        if isinstance(value, str) and os.path.isfile(value):
            seen.setdefault(os.path.realpath(value), ("input", name))
    for name in OUTPUT_OPTIONS:
        value = getattr(args, name, None)
        if not isinstance(value, str):
            continue
        where = os.path.realpath(value)
        if where in seen:
            kind, other = seen[where]
            option, other = f"--{name.replace('_', '-')}", f"--{other.replace('_', '-')}"
            if kind == "input":
                return f"{option} {value!r} is the {other} file: it would be replaced"
            return f"{option} and {other} name the same file {value!r}"
        seen[where] = ("output", name)
    return None


def pseudonym_key(args) -> bytes | None:
    """The key of --pseudonymise (--key-file, else RECFORGE_PSEUDONYM_KEY), None without it."""
    from ..campaign import load_key

    if not args.pseudonymise:
        if args.key_file:
            raise CliError("--key-file needs --pseudonymise")
        return None
    try:
        return load_key(args.key_file)
    except ValueError as e:
        raise CliError(f"--pseudonymise: {e}") from None


def check_options(*rules: tuple) -> None:
    """Refuse the first option that breaks its rule, named alone with the value it got:
    ``rules`` are (broken, "--days must be >= 1", value). One sentence listing every option's
    rule ("--diversity must be in [0, 1], --calibration and --novelty >= 0") left the user to
    find which one they had got wrong."""
    for broken, rule, got in rules:
        if broken:
            raise CliError(f"{rule}, got {got}")


def check_output(path, option: str = "--out", suffixes=None, or_folder: bool = False) -> None:
    """Refuse an output the run could not write, before any work: a missing folder, a suffix
    recforge does not write (``suffixes``; default the table formats), Parquet without pyarrow.
    ``or_folder``: the command also writes a folder of Parquet files (the message says so)."""
    if path is None:
        return
    if not path.strip():  # not a file, nor (with or_folder) the folder "/"
        raise CliError(f"{option} is empty: give a file name")
    try:
        check_writable(path, option)
    except ValueError as e:
        raise CliError(str(e)) from None
    try:
        check_table_suffix(path, option, TABLE_SUFFIXES if suffixes is None else suffixes)
    except ValueError as e:
        folder = f", or a folder ending in '/' (one Parquet file per block: {path + '/'!r})" if or_folder else ""
        raise CliError(f"{e}{folder}") from None
    if path.lower().endswith(".parquet") and (pd is None or importlib.util.find_spec("pyarrow") is None):
        raise CliError(f"{option} {path!r}: writing Parquet needs pandas and pyarrow: pip install 'recforge[io]'")


def write_table(table: dict, path: str, exact: bool = False) -> None:
    """A dict of equal-length columns to CSV (.csv, .csv.gz) or Parquet (.parquet). A CSV's
    floats have six significant digits (scores), or with ``exact`` the shortest text that reads
    back to the same float (customer tables: money)."""
    if path.lower().endswith(".parquet"):
        with atomic_path(path) as tmp:
            frame_of(table).to_parquet(tmp, index=False)
        return
    if pd is not None:
        save_csv(table, path, exact=exact)
        return
    columns = list(table)
    gz = path.lower().endswith(".gz")
    import gzip

    def write_rows(f) -> None:
        w = csv.writer(f, lineterminator="\n")  # as pandas writes
        w.writerow(columns)
        for row in zip(*(np.asarray(table[c]).tolist() for c in columns)):
            w.writerow([(repr(v) if exact else f"{v:.6g}") if isinstance(v, float) else v for v in row])

    with atomic_output(path) as raw:
        if gz:
            with gzip.open(raw, "wt", newline="", encoding="utf-8") as f:  # closes the gzip stream, not raw
                write_rows(f)
        else:
            # not closed (a with block would close it after detaching, and fail): detached, so
            # that raw stays open for atomic_output's fsync
            f = io.TextIOWrapper(raw, newline="", encoding="utf-8")
            write_rows(f)
            f.flush()
            f.detach()


def counted(n: int, noun: str) -> str:
    """``n`` and its noun, plural but for one: "1 customer", "4,010 customers"."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def were(n: int) -> str:
    """The verb a count of ``n`` takes: "1 customer was", "2 customers were"."""
    return "was" if n == 1 else "were"


def dropped_rows(report: dict) -> str:
    """An Interactions report's dropped rows for the console ("missing_user 135,080"), or "none":
    every command that reads events says what it left out."""
    dropped = {k: v for k, v in report.get("dropped", {}).items() if v}
    # in the order a row's reasons are checked, however the report was merged (out of core, the
    # blocks' counts came in the order each block met them)
    order = {reason: at for at, reason in enumerate(DROP_REASONS)}
    ordered = sorted(dropped.items(), key=lambda kv: order.get(kv[0], len(order)))
    return ", ".join(f"{k} {v:,}" for k, v in ordered) or "none"


# Options that mean something only beside another, per command: name -> (the option it needs,
# the default it takes then[, the values of that option it needs]). Given alone they were
# ignored without a word: --category-col without --products applied no cap, --item-text
# without --item-features trained without the text, serve's --decision-log without
# --explore logged nothing.
_PRODUCTS = {"product_col": ("products", None), "description_col": ("products", "description")}
_FEATURES = {
    **{f"item_{kind}": ("item_features", None) for kind in ("text", "categorical", "numeric")},
    **{f"user_{kind}": ("user_features", None) for kind in ("categorical", "numeric")},
    "item_key": ("item_features", None),  # the tables' id columns: features.resolve_table_keys
    "user_key": ("user_features", None),
}
_EXPLORING = ("thompson", "epsilon")
_PURCHASES = {"purchase_events": ("event_col", None)}
_AUDIENCE = {"holdout_seed": ("holdout", 0)}  # a seed of no control group was ignored
# an event type column is read through its weights (rows of other types are left out): each
# needs the other, which the library said without naming the options
_EVENTS = {"event_col": ("event_weights", None), "event_weights": ("event_col", None)}
# without a weight every row counts 1: a negative number elsewhere (Quantity) is not read, and
# --returns keep (which the negative-numbers hint names) changed nothing
_RETURNS = {"returns": ("weight_col", "drop")}
DEPENDENT_OPTIONS = {
    "train": {**_FEATURES, **_EVENTS, **_RETURNS},
    "recommend": {**_PRODUCTS, "user_key": ("customers", None)},
    "similar": _PRODUCTS,
    "campaign": {
        **_PRODUCTS,
        "category_col": ("products", None),
        "category_sep": ("category_col", "|"),
        **_AUDIENCE,
        "segment_col": ("segments", "segment"),
        **_PURCHASES,
        **_EVENTS,
        **_RETURNS,
    },
    "evaluate": {"trials": ("tune", 10), "budget": ("tune", None), **_PURCHASES, **_EVENTS, **_RETURNS},
    "demo": {"trials": ("tune", 8)},
    "clv": _PURCHASES,
    "target": {**_PURCHASES, **_AUDIENCE},
    "customers": {**_PURCHASES, **_PRODUCTS, "min_size": ("segments", 10)},
    "lift": {"days": ("since", 30.0), **_PURCHASES},
    "serve": {
        "candidates": ("explore", 50, _EXPLORING),
        "max_pending": ("explore", 200_000, _EXPLORING),
        "decision_log": ("explore", None, _EXPLORING),
        "seed": ("explore", None, _EXPLORING),
        "epsilon": ("explore", 0.1, ("epsilon",)),
        # a log is replayed after the state it follows: without one, the next start has to
        # refuse it (the events may be in --data already, and would count twice)
        "log": ("state", None),
    },
}


# How an event file is read: options with no meaning for the shipped sample, which is read as
# shipped (its customers, products, dates and purchase lines)
READING_OPTIONS = (
    "user_col", "item_col", "weight_col", "time_col", "event_col", "event_weights", "aggregate", "amount_col",
    "purchase_events", "returns", "sep", "encoding", "decimal", "names",
)  # fmt: skip
_NOT_GIVEN = object()


def options_given(command_parser, argv: list, names) -> list:
    """Which of the options ``names`` (dests) the command line gives, defaults aside: the
    command's own parser run again on ``argv`` with every one of them preset, which argparse
    leaves as it is unless the option is given (abbreviations included)."""
    preset = argparse.Namespace(**{name: _NOT_GIVEN for name in names})
    command_parser.parse_known_args(argv[1:], namespace=preset)
    return [name for name in names if getattr(preset, name) is not _NOT_GIVEN]


# The commands whose --data may be "sample" (lift reads the events after a send: a file)
SAMPLE_COMMANDS = ("train", "recommend", "evaluate", "customers", "clv", "target", "campaign", "serve")


def sample_as_shipped(args, command_parser, argv: list) -> str | None:
    """Why a reading option was given with ``--data sample`` (it would be ignored), or None."""
    if getattr(args, "data", None) != "sample" or args.command not in SAMPLE_COMMANDS:
        return None
    given = options_given(command_parser, argv, [name for name in READING_OPTIONS if hasattr(args, name)])
    if not given:
        return None
    flags = ", ".join(f"--{name.replace('_', '-')}" for name in given)
    verb = "is" if len(given) == 1 else "are"
    return (
        f"--data sample is read as shipped (its purchase lines, products and dates): {flags} {verb} for your own files"
    )


def unmet_dependency(args) -> str | None:
    """Why an option was given without the one it belongs to, or None; the dependent options
    left unset get their defaults."""
    for name, (needed, default, *values) in DEPENDENT_OPTIONS.get(args.command, {}).items():
        have = getattr(args, needed)
        if getattr(args, name) is not None and not (have in values[0] if values else have):
            flag, other = (f"--{option.replace('_', '-')}" for option in (name, needed))
            wanted = " or ".join(f"{other} {value}" for value in values[0]) if values else other
            return f"{flag} needs {wanted}"
        if getattr(args, name) is None:
            setattr(args, name, default)
    return None

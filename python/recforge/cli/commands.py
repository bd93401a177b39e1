"""recforge train | recommend | evaluate | similar."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp

from .._atomic import atomic_output
from .._csv_out import Coded
from .._factorize import id_meant, to_numpy
from .._sparse import row_ids
from .._tables import text_size, text_table_files
from ..batch.customers import emptied_customers, kept_rows, with_empty_rows
from ..data import Interactions
from ..evaluation import compare, default_space, split, tune
from ..evaluation.tune import relevant_part
from ..kernels import similarity
from ..models import ColdStart, KNNRegressor, Popularity, load
from ._common import (
    CliError,
    build_interactions,
    campaign_rows,
    check_output,
    counted,
    drop_returns,
    dropped_rows,
    make_model,
    parse_params,
    progress,
    read_events,
    recommend_all,
    sample_services,
    were,
    write_table,
)
from ._hints import Hint
from ._purchases import purchased
from .features import read_attribute_table, read_features, read_products, table_key


def train(args) -> None:
    start = time.perf_counter()
    check_output(args.out, suffixes=(".npz",))
    model = make_model(args.model, parse_params(args.param), seed=args.seed)
    if args.no_fallbacks and (args.item_features or args.user_features):  # before reading the events
        raise CliError("--no-fallbacks: features feed the fallbacks; leave them out or drop --no-fallbacks")
    if not args.no_fallbacks and not takes_fallbacks(model):  # before the fit, not after it
        raise CliError(
            f"--model {args.model} predicts ratings of the customers it is trained on and cannot answer new "
            "ones from their history: train it with --no-fallbacks ('recommend' then skips new customers)"
        )
    inter = build_interactions(args)
    if args.weight_col is not None and args.data != "sample":
        # kept in the model file, so that recommend and serve read returns as training did
        inter.spec = dict(inter.spec, returns=args.returns)
    print(f"{inter} from {args.data}; dropped rows: {dropped_rows(inter.report)}")
    item_features = read_features(args, "item", inter.item_ids)
    user_features = read_features(args, "user", inter.user_ids)
    if hasattr(model, "show_progress") and not args.quiet:
        model.show_progress = True  # an epoch bar on stderr
    elif not args.quiet:
        print(f"fitting {type(model).__name__} ...", file=sys.stderr)
    model = model.fit(inter)  # an Interactions: the model keeps its id maps and columns
    if not args.no_fallbacks:
        # New customers and products get answers: the model wrapped with its fallbacks.
        model = ColdStart(model).fit(inter, item_features=item_features, user_features=user_features)
        new = model.n_items_ - model.n_known_items_
        print(
            f"fallbacks: popular{' (time-decayed)' if inter.times is not None else ''}, history"
            + (f", customer attributes ({user_features.shape[1]:,} features)" if user_features is not None else "")
            + (f", {new:,} new products from {item_features.shape[1]:,} features" if item_features is not None else "")
        )
    model.save(args.out)
    print(f"{model!r} trained in {time.perf_counter() - start:.1f} s -> {args.out}")


def takes_fallbacks(model) -> bool:
    """Whether rf.ColdStart can wrap the model: KNNRegressor scores only the customers it was
    fitted on (their biases and rated neighbours), never a new history."""
    return not isinstance(model, KNNRegressor)


def warn_unknown_products(dropped: dict, rows: int, item_ids, examples=()) -> None:
    """On stderr, when half the rows or more name products the model does not know: most often
    ids written another way than in the training data ("1004.0" against "1004")."""
    unknown = int(dropped.get("new_item", 0))
    if rows and 2 * unknown >= rows:
        seen = f"e.g. {list(examples)[:3]}; " if len(examples) else ""
        print(
            f"warning: {unknown:,} of {rows:,} rows name products the model does not know ({seen}its products "
            f"are e.g. {np.asarray(item_ids)[:3].tolist()}): are the ids written as in the training data?",
            file=sys.stderr,
        )


def _nobody(report: dict, fallbacks: bool) -> str:
    """Why an event file gave no customer to answer, from its :class:`Interactions` report."""
    if not report.get("rows"):
        return "it holds no events"
    new = len(report.get("new_users", []))
    return f"{report['rows']:,} rows read; dropped rows: {dropped_rows(report)}" + (
        f"; {new:,} customers the model has not seen, and it has no fallbacks" if new and not fallbacks else ""
    )


def trained(path: str):
    """The model, and an empty Interactions carrying its id maps and event columns."""
    if not os.path.isfile(path):
        what = f"{path!r} is a folder, not a model file" if os.path.isdir(path) else f"no such file {path!r}"
        raise CliError(f"--model: {what}; write one with 'recforge train --out'")
    try:
        model = load(path)
    except (ValueError, OSError) as e:
        raise CliError(f"--model: {e}") from None
    if model.user_ids_ is None or model.item_ids_ is None or model.events_spec_ is None:
        raise CliError(f"--model: {path!r} has no id maps; write it with 'recforge train' or fit on an Interactions")
    empty = sp.csr_matrix((model.user_ids_.size, model.item_ids_.size), dtype=np.float32)
    return model, Interactions(empty, model.user_ids_, model.item_ids_, spec=model.events_spec_)


def events_like_training(args, known: Interactions):
    """The events of ``--data`` read with the columns the model was trained with (``known``'s
    spec; for "sample", the shipped sample's pairs, and the spec adjusted to them)."""
    if args.data == "sample":
        from ..datasets import sample

        inter = sample().interactions
        M = inter.matrix
        rows = row_ids(M)
        known.spec = dict(known.spec, weight_col=None, time_col=None, event_col=None, event_weights=None)
        return {known.spec["user_col"]: inter.user_ids[rows], known.spec["item_col"]: inter.item_ids[M.indices]}
    for key in ("user_col", "item_col", "weight_col", "time_col", "event_col"):
        setattr(args, key, known.spec.get(key))
    args.event_weights = None
    args.returns = returns_as_trained(args, known)
    return drop_returns(read_events(args, arrow_text=True), args)


def returns_as_trained(args, known: Interactions) -> str:
    """--returns where given, else as the model was trained (``recforge train --returns keep``
    kept in its file; "drop" for files written before): a model trained on netted returns
    scored histories with them dropped, unless --returns keep was given again."""
    given = getattr(args, "returns", None)
    if given is not None and known.spec.get("weight_col") is None:  # it was ignored without a word
        raise CliError(
            "--returns: the model was trained without --weight-col, so every row counts 1 and no row is a return"
        )
    return given if given is not None else known.spec.get("returns") or "drop"


OUT_OF_CORE_BYTES = 2**30  # inputs above this are scored block by block


def _is_folder(out: str) -> bool:
    return out.endswith(("/", os.sep)) or os.path.isdir(out)


def _out_of_core(args) -> bool:
    folder = _is_folder(args.out)
    if args.blocks is not None and args.blocks < 1:
        raise CliError("--blocks must be >= 1")
    large = args.data != "sample" and os.path.exists(args.data) and _size(args.data) > OUT_OF_CORE_BYTES
    return folder or large or args.blocks is not None


def _size(path: str) -> int:
    """Bytes of the input as read: a folder's files, a compressed CSV's text (its own size is a
    fifth to a tenth of what memory holds once it is read)."""
    files = text_table_files(path)
    if files is not None:  # a folder of CSV files: their text, as one file's
        return sum(_size(f) for f in files)
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
    if path.lower().endswith(".parquet"):
        return os.path.getsize(path)
    try:
        return text_size(path)[0]
    except ValueError as e:  # a damaged file: named as the reader names it
        raise CliError(f"--data: {e}") from None


def recommend_out_of_core(args, start: float) -> None:
    """recforge recommend for inputs beyond memory: rf.batch.recommend into a folder (--out, or
    a work folder beside a file --out, merged into it at the end)."""
    from .. import batch

    folder = _is_folder(args.out)
    if args.data == "sample":
        raise CliError("--data sample fits in memory: give a file --out, without --blocks")
    if not folder:
        check_output(args.out, or_folder=True)
    work = args.out if folder else args.out + ".blocks"
    model, known = trained(args.model)
    if args.customers and not isinstance(model, ColdStart):
        raise CliError("--customers: the model has no fallbacks; train it without --no-fallbacks")
    described = {}
    if args.customers:  # split into the blocks like the events; those without events answered too
        if not os.path.exists(args.customers):
            raise CliError(f"--customers: no such file {args.customers!r}")
        described.update(
            customers=args.customers, customer_key=table_key(args, "customers", known.spec.get("user_col"))
        )
    if args.products:  # as in memory: descriptions, and the input's own column names
        ids = np.asarray(model.item_ids_)
        described["descriptions"] = dict(
            zip(ids.tolist(), read_products(args, ids, events_column=known.spec.get("item_col")).tolist())
        )
        described["names"] = {
            "user": known.spec.get("user_col") or "user",
            "item": known.spec.get("item_col") or "item",
        }
    try:
        report = batch.recommend(
            model, args.data, work, k=args.k, blocks=args.blocks, sep=args.sep, encoding=args.encoding,
            decimal=args.decimal,
            csv_names=args.names, returns=returns_as_trained(args, known),
            exclude_seen=args.exclude_seen == "all", show_progress=not args.quiet, **described,
        )  # fmt: skip
    except (ValueError, ImportError) as e:  # named as the command names the folder
        raise CliError(re.sub(r"^out ", "--out ", str(e))) from None
    if report.get("returns"):  # as in memory (drop_returns)
        print(
            f"dropped {report['returns']:,} rows with a negative {known.spec.get('weight_col')} (returns or "
            "cancellations; --returns keep subtracts them instead)",
            file=sys.stderr,
        )
    where = work
    if not folder:
        batch.collect(work, args.out)
        shutil.rmtree(work)
        where = args.out
    dropped = ", ".join(f"{k} {v:,}" for k, v in report["dropped"].items()) or "none"
    left_out = report.get("customer_rows_dropped", {})
    print(
        f"{counted(report['customers'], 'customer')} in {counted(report['blocks'], 'block')}"
        + (f" ({report['resumed_blocks']} written by an earlier run)" if report["resumed_blocks"] else "")
        + (
            f"; {counted(report['skipped_customers'], 'customer')} the model has not seen "
            f"{were(report['skipped_customers'])} skipped"
            if report["skipped_customers"]
            else ""
        )  # fmt: skip
        + (
            f" ({report['customers_without_events']:,} from --customers without events)"
            if report.get("customers_without_events")
            else ""
        )  # fmt: skip
        + ("; answered by " + ", ".join(f"{p} {n:,}" for p, n in report["paths"].items()) if report["paths"] else "")
        + (
            f"; {counted(report['customers_all_dropped'], 'customer')} had no usable event left"
            + ("" if isinstance(model, ColdStart) else " and got no list")
            if report.get("customers_all_dropped")
            else ""
        )  # fmt: skip
        + "".join(f"; --customers rows left out: {n:,} ({why})" for why, n in left_out.items())
        + f"; dropped rows: {dropped}"
    )
    warn_unknown_products(report["dropped"], report.get("rows", 0), known.item_ids)
    print(f"{report['recommendations']:,} recommendations in {time.perf_counter() - start:.1f} s -> {where}")


def recommend(args) -> None:
    start = time.perf_counter()
    if _out_of_core(args):
        return recommend_out_of_core(args, start)
    check_output(args.out, or_folder=True)
    model, known = trained(args.model)
    # read before any scoring: a product table that matches nothing is refused at once
    descriptions = (
        read_products(args, known.item_ids, events_column=known.spec.get("item_col")) if args.products else None
    )
    if known.spec.get("aggregate", "sum") != "last":
        # the lists need no times (only "last" picks a pair's weight by them): an export
        # without the time column is scored, as out of core
        known.spec = dict(known.spec, time_col=None)
    events = events_like_training(args, known)
    fallbacks = isinstance(model, ColdStart)
    allow, note = None, ""
    services = sample_services(args, known.item_ids)  # not products to offer, as in campaign
    if services.size:
        allow = np.setdiff1d(np.arange(known.item_ids.size), services)
        note = "; the sample's postage and fees left out"
    if args.customers and not fallbacks:
        raise CliError("--customers: the model has no fallbacks; train it without --no-fallbacks")
    try:
        history = known.transform(events, new_users="append" if fallbacks else "drop").returns_netted()
    except (ValueError, TypeError) as e:
        raise CliError(f"--data: {e}") from None
    new = history.report.get("new_users", [])
    # Customers whose every event was dropped (all on products the model does not know, say) are
    # answered by the fallbacks from an empty history; a bare model cannot answer them.
    emptied = emptied_customers(history, events[known.spec["user_col"]])
    if not fallbacks:
        users = np.flatnonzero(np.diff(history.matrix.indptr) > 0)
        print(
            f"{counted(users.size, 'known customer')} with events in {args.data}"
            + (f"; {counted(len(new), 'customer')} the model has not seen {were(len(new))} skipped" if len(new) else "")
            + (f"; {counted(emptied.size, 'customer')} had no usable event left, no list" if emptied.size else "")
            + f"; dropped rows: {dropped_rows(history.report)}{note}"
        )
        ids, scores = recommend_all(
            model, users, history.matrix, args.k, args.quiet, exclude_seen=args.exclude_seen == "all", allow=allow
        )
        table = campaign_rows(known.user_ids, known.item_ids, users, ids, scores)
    else:
        user_ids, H, at = with_empty_rows(history.user_ids, history.matrix, emptied)
        user_ids, H, UF, listed, left_out = _with_customers(model, user_ids, H, args)
        answered = np.diff(H.indptr) > 0
        answered[listed] = True
        answered[at] = True
        users = np.flatnonzero(answered)
        labels = np.where(users < known.n_users, users, -1)
        ids, scores, paths = recommend_all(
            model,
            users,
            H,
            args.k,
            args.quiet,
            labels=labels,
            user_features=None if UF is None else UF[users],
            exclude_seen=args.exclude_seen == "all",
            allow=allow,
        )
        table = campaign_rows(user_ids, known.item_ids, users, ids, scores, paths=paths, path_names=ColdStart.PATHS)
        first = paths[:, 0] if paths.shape[1] else np.zeros(0, dtype=np.int8)
        counts = {name: int(np.count_nonzero(first == code)) for code, name in enumerate(ColdStart.PATHS)}
        answered_by = ", ".join(f"{name} {n:,}" for name, n in counts.items() if n)
        print(
            f"{counted(users.size, 'customer')} ({int((labels >= 0).sum()):,} known, {int((labels < 0).sum()):,} new)"
            + (f"; answered by {answered_by}" if answered_by else "")
            + (f"; {emptied.size:,} of them had no usable event left" if emptied.size else "")
            + "".join(f"; --customers rows left out: {n:,} ({why})" for why, n in left_out.items())
            + f"; dropped rows: {dropped_rows(history.report)}{note}"
        )
    report = history.report
    warn_unknown_products(report.get("dropped", {}), report.get("rows", 0), known.item_ids, report.get("new_items", ()))
    if users.size == 0:  # an empty list file would pose as a campaign
        raise CliError(f"--data: no customer of {args.data!r} could be answered ({_nobody(history.report, fallbacks)})")
    if descriptions is not None:  # the input's own column names, and each product's description
        named = {known.spec.get("user_col") or "user": table.pop("user"), "rank": table.pop("rank")}
        item = known.spec.get("item_col") or "item"
        named[item] = table.pop("item")  # Coded: the codes are the products' columns
        named["description"] = Coded(named[item].codes, descriptions)
        table = {**named, **table}
    write_table(table, args.out)
    print(
        f"{table['rank'].size:,} recommendations (up to {min(args.k, len(known.item_ids)):,} per customer) in "
        f"{time.perf_counter() - start:.1f} s -> {args.out}"
    )


def evaluate(args) -> None:
    check_output(args.out, suffixes=(".json",))
    if args.cutoff is not None and args.split != "temporal":  # it would be ignored
        raise CliError(f"--cutoff is the date of --split temporal, not of --split {args.split}")
    if args.test_frac is not None and (args.split == "leave-one-out" or args.cutoff is not None):
        # ignored as well: one pair per customer is held out, or the date places the split
        raise CliError(
            "--test-frac has no part in --split leave-one-out (one pair per customer is held out)"
            if args.split == "leave-one-out"
            else "--test-frac and --cutoff both place the temporal split: give one of them"
        )
    args.test_frac = 0.2 if args.test_frac is None else args.test_frac
    if not 0 < args.test_frac < 1:
        raise CliError(f"--test-frac must be in (0, 1), got {args.test_frac}")
    names = [name.strip() for name in args.models.split(",")]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:  # one row per name: a repeat would silently vanish from the table
        raise CliError(f"--models: {', '.join(twice)} listed more than once")
    unfitted = {name: make_model(name, {}, "--models", seed=args.seed) for name in names}
    inter = build_interactions(args)
    train_set, test_set = split_events(inter, args.split, args.test_frac, args.cutoff, args.seed)
    bought, measured, n_test = None, "", test_set.nnz
    if args.purchase_events is not None:  # measured on what customers buy, learnt from every event
        bought = purchased(inter, args, measured=True)
        test_set = relevant_part(test_set, bought)
        measured = f", of which {test_set.nnz:,} purchases ({args.purchase_events}) measured"
    # Every customer with a test item is measured, as rf.evaluate / rf.compare do; the groups
    # (returning, new customers, new products) are reported apart.
    if train_set.nnz == 0 or test_set.nnz == 0:
        side = "training" if train_set.nnz == 0 else "test"
        raise CliError(
            f"--split {args.split}: the {side} side is empty; "
            + (
                "move --cutoff inside the data's time range"
                if args.split == "temporal"
                else "give more events or change --test-frac"
            )
        )
    if args.tune and args.trials < 1:
        raise CliError(f"--trials must be >= 1, got {args.trials}")
    if args.budget is not None and not args.budget >= 0:
        raise CliError(f"--budget must be >= 0 seconds, got {args.budget}")
    models, chosen, alone = {}, {}, []
    with progress(len(unfitted), "tuning" if args.tune else "fitting", args.quiet, unit="models") as bar:
        for name, model in unfitted.items():
            bar.set_postfix_str(name)
            if args.tune and default_space(type(model)):
                # the test part never reaches tune: it splits train_set again for validation
                found = tune(
                    type(model),
                    None,
                    train_set,
                    k=args.k,
                    # a rating model by what it predicts, on ratings given (--weight-col)
                    metric="rmse" if hasattr(type(model), "predict") and args.weight_col else "ndcg",
                    n_trials=args.trials,
                    budget=args.budget,
                    relevant=bought,
                    seed=args.seed,
                )
                model, chosen[name] = found.model, found
            else:
                model.fit(train_set)
            # A model without fallbacks answers the customers it was fitted on; new ones get no
            # list, and count as such (said under the table)
            if not args.no_fallbacks and not takes_fallbacks(model):
                alone.append(name)
            models[name] = model if args.no_fallbacks or name in alone else ColdStart(model).fit(train_set)
            bar.update(1)
    similarity_of_items = None
    if args.beyond:  # intra-list diversity by the items' cosine similarity over the training customers
        similarity_of_items = similarity(train_set.matrix.T.tocsr(), k=100, metric="cosine")
    result = compare(
        models, train_set, test_set, k=args.k, groups=True, beyond=args.beyond, similarity=similarity_of_items
    )
    print(
        f"{inter}; dropped rows: {dropped_rows(inter.report)}; "
        f"split {args.split}: {train_set.nnz:,} train / {n_test:,} test pairs{measured}"
    )
    for name, found in chosen.items():
        params = ", ".join(f"{p}={v!r}" for p, v in found.best_params.items())
        print(
            f"{name}: {params} ({found.label} {found.best_score:.4f} on validation, "
            f"{len(found.trials)} trials, stopped: {found.stopped})"
        )
        for parameter in found.at_edge:
            print(f"  {found.edge_note(parameter)}")
    print(result)
    if alone:
        print(f"{', '.join(alone)}: no fallbacks (it answers only the customers it was fitted on)")
    if args.out:

        def plain(c):
            out = {"k": c.k, "n_users": c.n_users, "metrics": c.metrics, "p_values": c.p_values, "beyond": c.beyond}
            if c.ratings:  # the models that predict ratings
                out.update(n_ratings=c.n_ratings, ratings=c.ratings, rating_p_values=c.rating_p_values)
            return out

        tuned = {
            name: {"params": found.best_params, f"validation_{found.metric}": found.best_score}
            for name, found in chosen.items()
        }
        with atomic_output(args.out, "w", encoding="utf-8") as f:
            json.dump(
                _strict_json(
                    {**plain(result), "groups": {g: plain(c) for g, c in result.groups.items()}, "tuned": tuned}
                ),
                f,
                indent=2,
                allow_nan=False,
            )


def _strict_json(value):
    """``value`` with every NaN or infinite number as null: Python's json writes NaN, which
    JSON (RFC 8259) has not, and JavaScript's JSON.parse, Go and serde refuse the file (an
    interval of one customer has no width)."""
    if isinstance(value, dict):
        return {k: _strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict_json(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    return value


def split_events(inter: Interactions, how: str, test_frac: float, cutoff, seed: int):
    if how == "temporal":
        if inter.times is None:
            raise CliError("--split temporal needs event times: give --time-col")
        if cutoff is None:  # the latest test_frac of the events (of the pairs without a log) go to test
            ev = inter.events
            times = ev.time if ev is not None and ev.time is not None else inter.times.data
            cutoff = float(np.quantile(times, 1.0 - test_frac)) if times.size else 0.0
        try:
            return split.temporal_split(inter, cutoff=cutoff)
        except ValueError as e:
            raise CliError(f"--cutoff: {e}") from None
    if how == "per-user":
        return split.per_user_split(inter, frac=test_frac, seed=seed)
    if how == "leave-one-out":
        return split.leave_k_out(inter, 1, by="time" if inter.times is not None else "random", seed=seed)
    return split.random_split(inter, frac=test_frac, seed=seed)


def _with_customers(model, user_ids: np.ndarray, H, args):
    """Customer ids, histories and attribute rows of everyone to answer: the customers of
    --data (``user_ids``, histories ``H``), then those of --customers without events (empty
    histories); and the rows of the --customers table's customers."""
    UF = None
    if not args.customers:
        return user_ids, H, UF, np.zeros(0, dtype=np.int64), {}
    encoder = model.user_encoder_
    columns = [] if encoder is None else encoder.text + encoder.categorical + encoder.numeric
    text = [] if encoder is None else encoder.text + encoder.categorical
    table_key(args, "customers", (model.events_spec_ or {}).get("user_col"))
    table = read_attribute_table(args.customers, args.user_key, columns, text, "--customers", args.sep, args.decimal)
    kept, left_out = kept_rows(to_numpy(table[args.user_key]))  # no row without an id, one per id
    listed = np.asarray(table[args.user_key], dtype=object if user_ids.dtype.kind not in "iuf" else None)[kept]
    user_ids, H, rows = with_empty_rows(user_ids, H, listed)
    if encoder is not None:
        attributes = {c: to_numpy(table[c])[kept] for c in columns}
        try:
            encoded = encoder.transform(attributes)
        except (ValueError, TypeError) as e:
            raise CliError(f"--customers: {e}") from None
        _warn_unseen(encoder, encoder.unseen(attributes))
        UF = sp.csr_matrix((user_ids.size, encoded.shape[1]), dtype=np.float32).tolil()
        UF[rows] = encoded
        UF = sp.csr_matrix(UF)
    return user_ids, H, UF, rows, {why: n for why, n in left_out.items() if n}


def _warn_unseen(encoder, unseen: dict) -> None:
    """Say which categories of --customers the model never saw: they are encoded as missing, so
    a table that writes "Engineer" where training wrote "engineer" answered every such customer
    as one without an occupation, without a word."""
    if not unseen:
        return
    said = []
    for column, values in unseen.items():
        known = np.array(
            [name.split("=", 1)[1] for name in encoder.names_ if name.startswith(f"{column}=")], dtype=object
        )
        shown = []
        for value in values[:3]:
            meant = id_meant(known, value) if known.size else None
            shown.append(repr(value) + (f" (did you mean {meant!r}?)" if meant is not None else ""))
        more = f" and {len(values) - 3:,} more" if len(values) > 3 else ""
        said.append(f"{column} {', '.join(shown)}{more}")
    warnings.warn(
        f"--customers: values the model never saw in training, taken as missing: {'; '.join(said)}",
        Hint,
        stacklevel=2,
    )


def similar(args) -> None:
    check_output(args.out)
    model, known = trained(args.model)
    if args.text is not None and not args.text.strip():
        raise CliError("--text is empty: give the product's words (its title or description)")
    if args.text is not None:
        encoder = getattr(model, "item_encoder_", None) or getattr(model, "encoder_", None)
        if encoder is None or not encoder.text:
            raise CliError("--text: the model was trained without product text (recforge train --item-text)")
        try:
            ids, scores = model.similar_to({c: [args.text] for c in encoder.text}, k=args.k)
        except ValueError as e:
            raise CliError(f"--text: {e}") from None
        items = np.array([-1])
        names = np.array([args.text], dtype=object)
    elif args.all:
        items = np.arange(known.item_ids.size)
        names = known.item_ids
        ids, scores = model.similar_items(items, k=args.k)
    else:
        try:  # text from the command line, matched to the model's ids whatever their kind
            items = known.item_index(np.array(args.items, dtype=object))
        except KeyError as e:
            listed = any("," in item for item in args.items)  # "1,2": one id to the shell
            raise CliError(f"--items: {e.args[0]}{'; separate ids by spaces' if listed else ''}") from None
        names = known.item_ids[items]
        ids, scores = model.similar_items(items, k=args.k)
    if isinstance(model.model if isinstance(model, ColdStart) else model, Popularity) and args.text is None:
        warnings.warn(
            "the model is popularity, which has no notion of similarity: these are the best sellers, one list "
            "for every product (itself left out); a model trained with --model itemknn, ease or als gives "
            "similar products",
            Hint,
            stacklevel=2,
        )
    rank = np.broadcast_to(np.arange(1, ids.shape[1] + 1), ids.shape)  # k above the catalogue: fewer columns
    ok = ids >= 0
    alone = ~ok.any(axis=1)  # an empty answer said, not a file or a print of nothing
    if alone.any() and args.text is not None:
        print(f"--text: no product's text shares a word with {args.text!r}", file=sys.stderr)
    elif alone.any():
        print(
            f"{int(alone.sum()):,} of {len(items):,} products have no similar product in the model "
            f"(e.g. {names[alone][:3].tolist()})",
            file=sys.stderr,
        )
    asked = np.broadcast_to(np.arange(len(items))[:, None], ids.shape)[ok]
    table = {
        "item": names[asked],
        "rank": rank[ok],
        "similar_item": known.item_ids[ids[ok]],
        "score": scores[ok],
    }
    if args.products:  # the input's own column name, and descriptions of both products
        descriptions = read_products(args, known.item_ids, events_column=known.spec.get("item_col"))
        column = known.spec.get("item_col") or "item"
        asked_text = descriptions[items] if args.text is None else np.array([args.text], dtype=object)
        table = {
            column: table["item"],
            "description": asked_text[asked],
            "rank": table["rank"],
            f"similar_{column}": table["similar_item"],
            "similar_description": descriptions[ids[ok]],
            "score": table["score"],
        }
    if args.out:
        write_table(table, args.out)
        print(f"{ok.sum():,} rows -> {args.out}")
    else:
        for row in zip(*(table[c].tolist() for c in table)):
            print("\t".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row))

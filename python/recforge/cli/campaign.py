"""recforge campaign: from events (and optional product, segment and rules files) to the file a
marketer sends: re-ranked top-k with descriptions and reasons, pseudonymised ids, messages."""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .._checks import closest, is_finite_number
from .._csv_out import Coded
from .._factorize import factorize, id_meant, lookup
from ..campaign import (
    Explainer,
    MessageTemplate,
    PreparedCategories,
    PreparedSimilarity,
    default_template,
    pseudonymise,
    rerank,
)
from ..datasets.online_retail import is_service
from ..models import ColdStart, Popularity
from . import audience
from ._candidates import POPULAR, chosen_paths
from ._common import (
    SEED_HELP,
    CliError,
    build_interactions,
    check_options,
    check_output,
    citable,
    co_purchase_similarity,
    counted,
    dropped_rows,
    make_model,
    progress,
    pseudonym_key,
    sample_services,
    write_table,
)
from ._hints import Hint
from ._purchases import PURCHASE, purchased
from .features import (
    add_product_arguments,
    point_out_descriptions,
    read_list_table,
    read_products,
    table_rows,
)

RULE_KEYS = {"caps", "allow", "deny", "boost", "new_items", "min_new"}
BATCH = 20_000  # customers per model call: bounds the candidate arrays' memory


def add_campaign_parser(sub, add_data_arguments) -> None:
    c = sub.add_parser(
        "campaign",
        help="the campaign file: re-ranked top-k with descriptions, reasons, pseudonyms and messages",
        description="Fit a model on --data, take each customer's "
        "--candidates best products, re-rank them to --k (diversity, business rules), say why each was "
        "chosen, and write the campaign file; optionally pseudonymise the customer ids and write a "
        "personalised message per customer.",
    )
    add_data_arguments(c)
    c.add_argument(
        "--out",
        required=True,
        help="campaign file: .csv, .csv.gz or .parquet; columns customer, rank, item, description, score (the "
        "model's: the re-ranking also weighs diversity, novelty and rules, so it need not fall with rank), reason",
    )
    c.add_argument(
        "--purchase-events",
        metavar="TYPE,...",
        help=f"with --event-col: the event types that are purchases: the only products a reason names "
        f'("because you bought"), and the ones --exclude-seen purchases keeps out (default: {PURCHASE})',
    )
    c.add_argument("--fit", default="ease", help="model fitted on --data (default: ease)")
    c.add_argument("--seed", type=int, default=0, help=SEED_HELP)
    c.add_argument(
        "--exclude-seen",
        choices=("all", "purchases", "none"),
        default="all",
        help="products of the customer's history left out of the lists: all of them (default); the purchases "
        "(--purchase-events of an --event-col log; viewed products may come back as reminders); none (a product "
        "bought before may be offered again: replenishment)",
    )
    c.add_argument("--k", type=int, default=10, help="products per customer (default: 10)")
    c.add_argument("--candidates", type=int, default=100, help="model's products re-ranked (default: 100)")
    c.add_argument(
        "--diversity", type=float, default=0.4, help="MMR trade-off in [0, 1] (default: 0.4; 0: the model's order)"
    )
    c.add_argument(
        "--diversity-penalty",
        choices=("max", "mean"),
        default="max",
        help="a candidate's similarity to the products already chosen: the largest (MMR, default) or the mean "
        "(trades score for intra-list diversity directly)",
    )
    c.add_argument(
        "--novelty",
        type=float,
        default=1.0,
        help="weight of the bonus for less-bought products (default: 1.0; 0: none)",
    )
    add_product_arguments(c, categories=True)
    c.add_argument("--calibration", type=float, default=0.0, help="weight of the category-mix term (default: 0)")
    c.add_argument(
        "--rules",
        help='JSON file: {"caps": 2 or {category: n}, "deny": [...], "allow": [...], '
        '"boost": {product: value}, "new_items": [...], "min_new": 1}',
    )
    c.add_argument(
        "--exclude",
        help="pairs never to recommend (.csv or .parquet, the --user-col and --item-col columns): the last "
        "campaign's products, returns, complaints",
    )
    audience.add_audience_arguments(c)
    c.add_argument(
        "--segments",
        help="segment table (.csv or .parquet): the --user-col (or recforge customers' customer) column and "
        "--segment-col",
    )
    c.add_argument("--segment-col", help="--segments: segment column (default: segment)")
    c.add_argument(
        "--pseudonymise",
        action="store_true",
        help="write keyed pseudonyms instead of customer ids (key: --key-file or RECFORGE_PSEUDONYM_KEY)",
    )
    c.add_argument("--key-file", help="--pseudonymise: file holding the key (never written anywhere)")
    c.add_argument("--messages", help="also write one message per customer (.csv, .csv.gz or .parquet)")
    c.add_argument(
        "--template",
        help="--messages: Jinja2 template file (UTF-8; default: the English one); a .html, .htm or .xml one has "
        "the values it prints HTML-escaped (a description with & or <), as Jinja2's select_autoescape does",
    )
    c.add_argument("--quiet", action="store_true", help="no progress output")


def _warn_services(args, item_ids, ids, reasons, denied) -> None:
    """Say so where the lists offer, or their reasons name, what Online Retail's codes for
    postage, fees and manual lines are (POST, M, BANK CHARGES ...; the shipped sample leaves them
    out by itself): on the full UCI file EASE's campaign offered POST 42 times and gave POSTAGE
    as the reason 83 times. Only where the data holds two such codes or more: an "M" alone may
    be a shop's product."""
    if args.data == "sample":
        return
    services = np.flatnonzero(is_service(item_ids))
    if denied is not None and len(denied):
        services = np.setdiff1d(services, np.flatnonzero(denied) if np.asarray(denied).dtype == bool else denied)
    if services.size < 2:
        return
    shown = np.bincount(ids[ids >= 0], minlength=item_ids.size)[services]
    cited = np.bincount(reasons[reasons >= 0], minlength=item_ids.size)[services]
    if not (shown.any() or cited.any()):
        return
    named = ", ".join(f"{item_ids[j]} ({n:,})" for j, n in zip(services, shown + cited) if n)
    deny = json.dumps({"deny": item_ids[services].tolist()})
    warnings.warn(
        f"the lists offer or give as a reason {named}: Online Retail's codes for postage, fees and manual lines, "
        f"not products; --rules with {deny} keeps them out of the lists and the reasons",
        Hint,
        stacklevel=2,
    )


MARKUP_SUFFIXES = (".html", ".htm", ".xml", ".xhtml")  # Jinja2's select_autoescape defaults


def _is_markup(path: str | None) -> bool:
    """Whether a template file is HTML or XML by its name (escaped values), as Jinja2 tells."""
    return path is not None and path.lower().endswith(MARKUP_SUFFIXES)


def _product_table(args, item_ids):
    """Descriptions (object array) and categories (or None) aligned with ``item_ids``."""
    if args.products is None:
        if args.data == "sample":
            from ..datasets import sample

            return sample().describe_items(np.arange(item_ids.size)).astype(object), None
        point_out_descriptions(args, "the file and the messages")
        return item_ids.astype(str).astype(object), None
    return read_products(args, item_ids, categories=True)


def _is_id(value) -> bool:
    return isinstance(value, (str, int)) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and is_finite_number(value)  # JSON's 2**70 too


def _rules(path, item_ids):
    """--rules as rerank keyword arguments (product ids mapped to columns; unknown ones refused)."""
    if path is None:
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            rules = json.load(f)
    except (OSError, ValueError) as e:
        raise CliError(f"--rules: {e}") from None
    if not isinstance(rules, dict) or set(rules) - RULE_KEYS:
        got = sorted(map(str, rules)) if isinstance(rules, dict) else f"a JSON {type(rules).__name__}"
        unknown = sorted(map(str, set(rules) - RULE_KEYS)) if isinstance(rules, dict) else []
        close = next((m for m in (closest(key, RULE_KEYS) for key in unknown) if m), None)
        meant = f"; did you mean {close!r}?" if close else ""
        raise CliError(f"--rules: a JSON object with keys among {sorted(RULE_KEYS)}, got {got}{meant}")

    def columns(values, key):
        # a list of product ids; JSON may give one as 1038 or "1038": as text, matched to the
        # data's ids' kind (a bare string would otherwise be read letter by letter)
        if not isinstance(values, list) or not all(_is_id(v) for v in values):
            raise CliError(f"--rules {key}: a list of product ids, got {json.dumps(values)[:80]}")
        at = lookup(item_ids, np.array([v if isinstance(v, str) else str(v) for v in values], dtype=object))
        if (at < 0).any():
            absent = np.asarray(values, dtype=object)[at < 0]
            meant = [(v, id_meant(item_ids, v)) for v in absent[:5].tolist()]
            meant = ", ".join(f"{m!r} for {v!r}" for v, m in meant if m is not None)
            raise CliError(
                f"--rules {key}: products not in the data: {absent[:5].tolist()}"
                + (f"; did you mean {meant}?" if meant else "")
            )
        return at

    out = {}
    for key in ("allow", "deny", "new_items"):
        if key in rules:
            out[key] = columns(rules[key], key)
    if "boost" in rules:
        given = rules["boost"]
        if not isinstance(given, dict) or not all(_is_number(v) for v in given.values()):
            raise CliError(f"--rules boost: an object of product id -> number, got {json.dumps(given)[:80]}")
        boost = np.zeros(item_ids.size)
        boost[columns(list(given), "boost")] = [float(v) for v in given.values()]
        out["boost"] = boost
    for key in ("caps", "min_new"):
        if key in rules:
            out[key] = rules[key]
    allowed = out["allow"] if "allow" in out else np.arange(item_ids.size)
    if not np.setdiff1d(allowed, out.get("deny", [])).size:  # every list would be empty: a file of no rows
        raise CliError(
            "--rules: "
            + ("allow is empty" if not len(allowed) else "allow and deny leave no product")
            + ": every list would be empty"
        )
    return out


def _warn_missing_new(args, lists: int, min_new: int) -> None:
    """Say how many lists the min_new rule could not fill: the re-ranking places new products
    from the customer's candidates only, so a rule of one new product a list left 44 of 130
    lists without one (MovieLens, 50 candidates) while the run said nothing of it."""
    warnings.warn(
        f"{counted(lists, 'list')} hold{'s' * (lists == 1)} fewer than {counted(min_new, 'new product')} "
        f"(--rules min_new): their {args.candidates} candidates held too few new products the rules let through; "
        "a larger --candidates reaches further down each customer's ranking",
        Hint,
        stacklevel=2,
    )


def _excluded_pairs(args, inter, pseudonyms=None):
    """--exclude as a matrix over the data's customers and products (None without it), and the
    file's rows that name a customer or product the data does not hold (counted, not used).
    Its customers may be pseudonyms (a pseudonymised campaign's file) where they are given."""
    if args.exclude is None:
        return None, 0
    table = read_list_table(args.exclude, args, args.user_col, [args.item_col], "--exclude")  # or a campaign file
    users = audience.customer_positions(inter.user_ids, table[args.user_col], pseudonyms)
    items = lookup(inter.item_ids, np.asarray(table[args.item_col], dtype=object))
    known = (users >= 0) & (items >= 0)
    audience.warn_if_nothing_matches("--exclude", known.size, int(known.sum()), args)
    pairs = sp.csr_matrix(
        (np.ones(int(known.sum()), dtype=np.float32), (users[known], items[known])), shape=inter.shape
    )
    pairs.sum_duplicates()
    return pairs, int(known.size - known.sum())


def _segments(args, customer_ids):
    if args.segments is None:
        return None
    key = args.user_col  # or recforge customers' own "customer" column
    table = read_list_table(args.segments, args, key, [args.segment_col], "--segments")
    # A customer listed in two segments: which one the messages speak to is said, not guessed.
    codes = factorize(table[key], "--segments ids")[0]
    labels = factorize(np.asarray(table[args.segment_col], dtype=object), "--segments segments")[0]
    pairs = np.unique(np.stack([codes, labels])[:, codes >= 0], axis=1)
    torn = int(np.count_nonzero(np.bincount(pairs[0]) > 1)) if pairs.size else 0
    if torn:
        print(f"--segments: {torn:,} customers are in more than one segment; their first row is used", file=sys.stderr)
    # a table of other ids gave every customer no segment, and the messages no segment copy, in silence
    at = table_rows(table[key], customer_ids, "--segments", None, "customers")  # read as key or "customer"
    if (at < 0).any():
        print(f"--segments: {int((at < 0).sum()):,} of {at.size:,} customers are in no segment", file=sys.stderr)
    segments = np.asarray(table[args.segment_col], dtype=object)
    return np.where(at >= 0, segments[np.maximum(at, 0)] if segments.size else None, None)


def campaign(args) -> None:
    start = time.perf_counter()
    check_output(args.out)
    check_output(args.messages, "--messages")
    check_options(
        (args.k < 1, "--k must be >= 1", args.k),
        (args.candidates < args.k, f"--candidates must be >= --k ({args.k})", args.candidates),
        (not 0 <= args.diversity <= 1, "--diversity must be in [0, 1]", args.diversity),
        (not 0 <= args.calibration < np.inf, "--calibration must be a finite number >= 0", args.calibration),
        (not 0 <= args.novelty < np.inf, "--novelty must be a finite number >= 0", args.novelty),
    )
    if args.template and not args.messages:
        raise CliError("--template needs --messages (the file the messages go to)")
    audience.check_audience(args)
    key = pseudonym_key(args)
    template = None
    if args.messages:
        try:
            source = default_template() if args.template is None else Path(args.template).read_text(encoding="utf-8")
            # an HTML e-mail escapes what it prints: "SNAKES & LADDERS", 'RECORD FRAME 7"'
            template = MessageTemplate(source, autoescape=_is_markup(args.template))
        except (OSError, ValueError, ImportError) as e:
            raise CliError(f"--template: {e}") from None

    bare = make_model(args.fit, {}, "--fit", seed=args.seed)  # before reading the events: a typo costs nothing
    inter = build_interactions(args)
    # A list the model cannot fill (a customer whose only product has no neighbours: Online
    # Retail's 13672 got no product and an empty message) is completed with trending products,
    # as recforge recommend and demo complete theirs
    model = bare.fit(inter) if isinstance(bare, Popularity) else ColdStart(bare).fit(inter)
    descriptions, categories = _product_table(args, inter.item_ids)
    options = _rules(args.rules, inter.item_ids)
    services = sample_services(args, inter.item_ids)  # the shipped shop's postage and fees
    if services.size:
        options["deny"] = np.union1d(options.get("deny", np.zeros(0, dtype=np.int64)), services)
    if ("caps" in options or args.calibration > 0) and categories is None:
        raise CliError("caps and --calibration need product categories: give --products and --category-col")
    if categories is not None:  # prepared once for every batch of customers, as the similarity
        categories = PreparedCategories(categories)
    similarity = None
    if args.diversity > 0:  # prepared once for every batch of customers
        similarity = PreparedSimilarity(co_purchase_similarity(inter.matrix))
    try:
        explainer = Explainer(model)
    except ValueError:  # a model without a history basis (popularity): no reason
        explainer = None
    segments = _segments(args, inter.user_ids)
    # every customer's pseudonym, once: the lists a pseudonymised campaign wrote name them so
    pseudonyms = pseudonymise(inter.user_ids, key) if key is not None else None
    excluded, unmatched = _excluded_pairs(args, inter, pseudonyms)
    suppressed = audience.suppressed(args, inter.user_ids, pseudonyms)

    X = inter.matrix
    # the reasons name products the customer bought, not ones they only viewed or carted
    bought = purchased(inter, args) if args.event_col else X
    cited = citable(bought, options.get("deny"))  # nor products the rules deny
    # what may not come back: the history (the model leaves it out), the purchases alone (a
    # viewed product may, as a reminder), or nothing (a product bought before may be bought
    # again); and --exclude in every case
    blocked = excluded
    if args.exclude_seen == "purchases":
        never = sp.csr_matrix(bought, dtype=np.float32)
        blocked = never if excluded is None else sp.csr_matrix(never + excluded)
    buyers = np.bincount(X.indices, minlength=X.shape[1])  # popularity for the novelty bonus
    users = np.flatnonzero(np.diff(X.indptr) > 0)
    n_suppressed = 0
    if suppressed is not None:  # opt-outs: never scored, never written
        n_suppressed = int(suppressed[users].sum())
        users = users[~suppressed[users]]
    held = audience.held_out(args, inter.user_ids[users])  # the control group, by customer and seed
    n_held = 0 if held is None else int(held.sum())
    if held is not None and not args.holdout_out:  # nobody reads the control group's lists: not scored
        users, held = users[~held], None
    ids = np.full((users.size, args.k), -1, dtype=np.int64)
    reasons = np.full((users.size, args.k), -1, dtype=np.int64)
    scores = np.full((users.size, args.k), -np.inf)
    short = trending = missing_new = 0
    try:
        with progress(users.size, "campaign", args.quiet) as bar:
            for first in range(0, users.size, BATCH):
                rows = users[first : first + BATCH]
                part = slice(first, first + rows.size)
                candidates, candidate_scores, *paths = model.recommend(
                    rows,
                    X[rows],
                    k=args.candidates,
                    exclude_seen=args.exclude_seen == "all",
                    exclude=None if blocked is None else blocked[rows],
                    **({"return_paths": True} if isinstance(model, ColdStart) else {}),
                )
                top, top_scores, report = rerank(
                    candidates,
                    candidate_scores,
                    args.k,
                    diversity=args.diversity,
                    similarity=similarity,
                    diversity_penalty=args.diversity_penalty,
                    novelty=args.novelty,
                    popularity=buyers,
                    categories=categories,
                    calibration=args.calibration,
                    history=X[rows] if args.calibration > 0 else None,
                    n_items=X.shape[1],
                    paths=paths[0] if paths else None,  # trending completes a short list after the model's own
                    return_report=True,
                    **options,
                )
                width = top.shape[1]
                if paths:  # which lists hold a product trending added
                    trending += int((chosen_paths(candidates, paths[0], top) == POPULAR).any(axis=1).sum())
                ids[part, :width], scores[part, :width] = top, top_scores
                short += report["short_lists"]
                missing_new += report["missing_new"]
                if explainer is not None:
                    because, _ = explainer.explain(cited[rows], top, top=1)
                    reasons[part, :width] = because[:, :, 0]
                if width and args.exclude_seen != "all":  # a product bought before is its own reason
                    listed = np.flatnonzero(top.ravel() >= 0)
                    r, c = np.divmod(listed, width)
                    again = np.asarray(bought[rows][r, top.ravel()[listed]]).ravel() > 0
                    reasons[part, :width][r[again], c[again]] = top[r[again], c[again]]
                bar.update(rows.size)
    except (ValueError, TypeError) as e:
        raise CliError(f"--rules: {e}") from None

    shown = inter.user_ids[users] if pseudonyms is None else pseudonyms[users]
    lists = (shown, users, ids, scores, reasons, inter.item_ids, descriptions, segments)
    sent = slice(None) if held is None else ~held  # a view of every list where none is held out
    table = _campaign_rows(sent, *lists, args.k)
    # Every message is rendered before anything is written: a template that fails on some
    # customer leaves no campaign file behind without its messages.
    messages = None
    if template is not None:
        # a customer left without a product (rules, exclusions) gets no message: "Picked for
        # you:" and nothing after it is not a message to send
        to = np.flatnonzero((ids >= 0).any(axis=1) & (True if held is None else ~held))
        messages = _messages(
            template, shown[to], segments, users[to], ids[to], reasons[to], inter.item_ids, descriptions, scores[to]
        )
        messages["unsent"] = int(np.count_nonzero(~(ids >= 0).any(axis=1) & (True if held is None else ~held)))
    _warn_services(args, inter.item_ids, ids, reasons, options.get("deny"))
    if missing_new:
        _warn_missing_new(args, missing_new, options["min_new"])
    write_table(table, args.out)
    if held is not None:
        write_table(_campaign_rows(held, *lists, args.k), args.holdout_out)
    print(
        f"{inter}; dropped rows: {dropped_rows(inter.report)}; "
        f"{counted(users.size - (0 if held is None else n_held), 'customer')}, "
        f"top-{args.k} of {args.candidates} candidates "
        f"(diversity {args.diversity:g}{', mean penalty' if args.diversity_penalty == 'mean' else ''}, "
        f"novelty {args.novelty:g}"
        f"{'; ' + ', '.join(sorted(options)) if options else ''})"
        + (
            f"; {counted(trending, 'list')} hold{'s' * (trending == 1)} trending products "
            f"(the model offered fewer than {args.candidates} candidates)"
            if trending
            else ""
        )
        + (f"; {counted(short, 'list')} shorter than {args.k}" if short else "")
        + audience.audience_summary(args, n_suppressed, n_held)
        + (
            f"; {excluded.nnz:,} pairs excluded (--exclude; rows with a customer or product not in --data: "
            f"{unmatched:,})"
            if excluded is not None
            else ""
        )
        + (
            f"; ids pseudonymised{' (key file ' + os.path.basename(args.key_file) + ')' if args.key_file else ''}"
            if key
            else ""
        )
    )
    if messages is not None:
        unsent = messages.pop("unsent")
        write_table(messages, args.messages)
        print(
            f"{len(messages['message']):,} messages -> {args.messages}"
            + (f" ({counted(unsent, 'customer')} without a product get{'s' * (unsent == 1)} none)" if unsent else "")
        )
    print(f"{table['rank'].size:,} rows in {time.perf_counter() - start:.1f} s -> {args.out}")


def _campaign_rows(sel, shown, users, ids, scores, reasons, item_ids, descriptions, segments, k: int) -> dict:
    """The campaign file's columns for the customers ``sel`` picks (positions, a mask or a
    slice of ``users``); customers, products and texts as codes into their labels (written from
    the labels)."""
    ids, scores, reasons, users, shown = ids[sel], scores[sel], reasons[sel], users[sel], shown[sel]
    ok = ids >= 0
    row = np.broadcast_to(np.arange(users.size)[:, None], ids.shape)[ok]
    listed = ids[ok]
    table = {
        "customer": Coded(row, shown),
        "rank": np.broadcast_to(np.arange(1, k + 1), ids.shape)[ok],
        "item": Coded(listed, item_ids),
        "description": Coded(listed, descriptions),
        "score": scores[ok],
        "reason": Coded(reasons[ok], descriptions, missing=""),
    }
    if segments is not None:
        table["segment"] = Coded(row, segments[users])
    return table


def _messages(template, shown, segments, users, ids, reasons, item_ids, descriptions, scores) -> dict:
    """The message table: one rendered message per customer (and segment), in worker processes."""
    try:
        messages = template.render_lists(
            shown,
            ids,
            descriptions,
            item_ids=item_ids,
            scores=scores,
            reasons=reasons,
            segments=None if segments is None else segments[users],
        )
    except ValueError as e:
        raise CliError(f"--template: {e}") from None
    table = {"customer": shown, "message": np.array(messages, dtype=object)}
    if segments is not None:
        table["segment"] = segments[users]
    return table

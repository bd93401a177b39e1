"""recforge lift: what a campaign changed, measured on its control group after the send: the
share of each group that bought anything, and that bought a product of its own list (the
control group's lists are those recforge campaign --holdout-out wrote for it)."""

from __future__ import annotations

import re
import sys
import warnings

import numpy as np

from .._factorize import factorize, factorize_ids, id_kind, id_meant, ids_like, lookup, missing_mask, to_numpy
from .._times import as_moment, as_seconds
from ..campaign import lift, mean_lift, pseudonymise
from ._amount import HELP as AMOUNT_HELP
from ._amount import amount_columns, amount_values
from ._common import (
    CliError,
    add_csv_arguments,
    check_output,
    counted,
    dropped_rows,
    pseudonym_key,
    read_events,
    were,
    write_table,
)
from ._hints import Hint
from ._negatives import warn_negatives
from ._purchases import add_purchase_arguments, keep_lines, purchase_lines, warn_event_types
from .features import read_attribute_table

DAY = 86400.0


def add_lift_parser(sub) -> None:
    p = sub.add_parser(
        "lift",
        help="what a campaign changed: conversion of its customers against its control group, after the send",
        description="Read the campaign file and the control group's lists (recforge campaign --holdout-out), "
        "then the events after the send, and compare the two groups: the share that bought anything and the "
        "share that bought a product of its own list, with the lift's interval and a two-proportion test "
        "(rf.campaign.lift).",
    )
    p.add_argument("--campaign", required=True, help="the campaign file (.csv or .parquet)")
    p.add_argument("--control", required=True, help="the control group's lists (recforge campaign --holdout-out)")
    p.add_argument("--customer-col", default="customer", help="their customer column (default: customer)")
    p.add_argument("--list-item-col", default="item", help="their product column (default: item)")
    p.add_argument(
        "--items",
        help="comma-separated products: the second conversion is buying one of them, not a product of the "
        "customer's own list (for recforge target's lists, which name no product)",
    )
    g = p.add_argument_group("events after the send")
    g.add_argument("--data", required=True, metavar="FILE", help=".csv (.gz/...) or .parquet")
    g.add_argument("--user-col", default="user", help="customer id column (default: user)")
    g.add_argument("--item-col", default="item", help="product id column (default: item)")
    g.add_argument("--time-col", help="time column: epoch seconds or dates (without it every line counts)")
    g.add_argument(
        "--amount-col",
        help=f"{AMOUNT_HELP}: adds the spend per customer in the window, returns netted (Welch's t-test); "
        "a line with a negative amount is a return, not a conversion",
    )
    g.add_argument("--since", help="with --time-col: the send (lines before it do not count)")
    g.add_argument("--days", type=float, help="with --since: days after it that count (default: 30)")
    add_purchase_arguments(g)
    add_csv_arguments(g)
    p.add_argument(
        "--pseudonymise",
        action="store_true",
        help="the files hold pseudonyms (recforge campaign --pseudonymise): the events' customer ids are "
        "pseudonymised with the same key (--key-file or RECFORGE_PSEUDONYM_KEY) before they are matched",
    )
    p.add_argument("--key-file", help="--pseudonymise: file holding the key")
    p.add_argument("--confidence", type=float, default=0.95, help="of the lift's interval (default: 0.95)")
    p.add_argument("--out", help="also write the table (.csv, .csv.gz or .parquet)")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def _text(values) -> np.ndarray:
    """Ids as text (None where missing), as every reader of recforge writes them: a CSV's "1038",
    a Parquet file's 1038 and an id column with a gap read as floats (1038.0) are one id."""
    out = np.asarray(ids_like(to_numpy(values), kind="string"), dtype=object)  # numbers as numbers: no loop
    missing = missing_mask(out)
    if id_kind(out) != "string":  # other values (True, dates) as their text, one by one
        out = np.array([str(v) for v in out.tolist()], dtype=object)
    out[missing] = None
    return out


def _items_given(args) -> np.ndarray:
    """The products of --items, as text."""
    given = np.array([i.strip() for i in args.items.split(",") if i.strip()], dtype=object)
    if not given.size:
        raise CliError(f"--items names no product: {args.items!r}")
    return given


def _lists(path: str, args, option: str):
    """(distinct customers, the customer code and the product of each row) of a list file; with
    --items, every customer's list is those products (a recforge target list has no products)."""
    columns = [] if args.items else [args.list_item_col]
    try:
        table = read_attribute_table(path, args.customer_col, columns, columns, option, args.sep)
    except CliError as e:
        # the list has no product column: maybe a recforge target list, which names none
        lacks_products = not args.items and f"no column {args.list_item_col!r}" in str(e)
        hint = "; a list without products (recforge target's) needs --items" if lacks_products else ""
        raise CliError(f"{e}{hint}") from None
    codes, customers = factorize(_text(table[args.customer_col]), f"{option} customers")
    if not customers.size:  # a group of nobody: every rate and the lift would be NaN, exit 0
        raise CliError(f"{option}: {path!r} names no customer: a lift compares two groups of customers")
    if args.items:
        given = _items_given(args)
        return customers, np.repeat(np.arange(customers.size), given.size), np.tile(given, customers.size)
    items = _text(table[args.list_item_col])
    listed = (codes >= 0) & ~missing_mask(items)
    return customers, codes[listed], items[listed]


def _events(args, key):
    """(customer ids, product ids) of the events in the window, as text (pseudonymised with
    ``key``); lines without a customer or a product left out."""
    if args.time_col is None and args.since is not None:
        raise CliError("--since needs --time-col (the events' times)")
    if not args.days > 0:  # NaN too: it would make an empty window
        raise CliError(f"--days must be > 0, got {args.days}")
    text = [c for c in (args.user_col, args.item_col, args.time_col, args.event_col) if c]
    try:
        money_columns = amount_columns(args.amount_col)
    except ValueError as e:
        raise CliError(str(e)) from None
    if args.amount_col is None:
        warn_negatives(args, text, "--amount-col")
    table = read_events(args, list(dict.fromkeys(text + money_columns)), text=text)
    try:
        if args.event_col:  # a view after the send is no conversion
            table = keep_lines(table, purchase_lines(args, table[args.event_col]))
        users, items = _text(table[args.user_col]), _text(table[args.item_col])
        times = None if args.time_col is None else as_seconds(table[args.time_col], "--time-col")
        amounts = amount_values(table, args.amount_col)
        start = None if args.since is None else as_moment(args.since, "--since")
    except KeyError as e:
        raise CliError(f"--data: no column {e.args[0]!r} in {args.data!r}") from None
    except (ValueError, TypeError) as e:
        raise CliError(str(e)) from None
    warn_event_types(args, text + money_columns)  # once the columns are known to be there
    no_user, no_item = missing_mask(users), missing_mask(items)
    keep = ~no_user & ~no_item
    window = np.ones(keep.size, dtype=bool) if start is None else (times >= start) & (times < start + args.days * DAY)
    if start is not None:
        timed = keep & ~np.isnan(times)
        keep &= window
        if timed.any() and not keep.any():
            # zero conversions in both groups would read as a result; it is a window off the log
            first, last = (str(np.datetime64(int(t), "s")) for t in (times[timed].min(), times[timed].max()))
            raise CliError(
                f"no line of --data falls in the window ({args.days:g} days from {args.since}): "
                f"its lines run from {first} to {last}"
            )
    # what the window held but no one could be credited with, counted as every reader counts it
    dropped = {"missing_user": int((window & no_user).sum()), "missing_item": int((window & no_item & ~no_user).sum())}
    if start is not None:  # a line without a time falls in no window
        dropped["missing_time"] = int((np.isnan(times) & ~no_user & ~no_item).sum())
    users, items = users[keep], items[keep]
    if key is not None and users.size:
        # as the campaign named them: "17850.0" (an export with a gap) is customer 17850
        codes, distinct = factorize_ids(users, "--data customers")
        users = pseudonymise(distinct, key).astype(object)[codes]
    return users, items, None if amounts is None else amounts[keep], dropped


def _pseudonym_shaped(ids: np.ndarray) -> bool:
    """Whether every id is written as recforge writes pseudonyms: hex digits, 16 to 64 of
    them, all of one length."""
    ids = ids[~missing_mask(ids)]
    if not ids.size or not isinstance(ids[0], str) or not 16 <= len(ids[0]) <= 64:
        return False
    hexadecimal = re.compile(f"[0-9a-f]{{{len(ids[0])}}}")
    return all(hexadecimal.fullmatch(i) for i in np.unique(ids).tolist())


def _check_id_kinds(treated: np.ndarray, control: np.ndarray, users: np.ndarray, key) -> None:
    """Refuse lists and events that name customers in two ways (pseudonyms and ids) when no
    customer matched: both groups' conversions would read 0%, a result, where nobody was looked
    for. Lists of pseudonyms beside events with such ids (a log kept pseudonymised) stay a
    warning, as does a key other than the campaign's: no bought-nothing campaign is told apart."""
    lists = np.concatenate([treated, control])
    if key is None and _pseudonym_shaped(lists) and not _pseudonym_shaped(users):
        raise CliError(
            f"--campaign and --control name their customers by pseudonyms ({lists[0]!r}) and --data by ids "
            f"({users[0]!r}): pass --pseudonymise with the campaign's key (--key-file or RECFORGE_PSEUDONYM_KEY)"
        )
    if key is not None and not _pseudonym_shaped(lists):
        raise CliError(
            f"--pseudonymise: --campaign and --control name their customers by ids ({lists[0]!r}), not by "
            "pseudonyms: leave out --pseudonymise"
        )


def _warn_unbought(given: np.ndarray, bought: np.ndarray, args) -> None:
    """Say which --items nobody bought in the window: their conversion reads 0% in both groups,
    a result where a product code was only mistyped (85123a for 85123A)."""
    unbought = given[lookup(bought, given) < 0]
    if not unbought.size:
        return
    named = []
    for i in unbought[:5].tolist():
        meant = id_meant(bought, i)
        named.append(repr(i) if meant is None else f"{i!r} (did you mean {meant!r}?)")
    names = ", ".join(named) + (", ..." if unbought.size > 5 else "")
    window = "in the window" if args.since is not None else "in --data"
    warnings.warn(
        f"--items: {unbought.size:,} of {given.size:,} products were bought by nobody {window}: {names}",
        Hint,
        stacklevel=2,
    )


def _converted(group, users, products, bought) -> tuple[np.ndarray, np.ndarray]:
    """For each customer of a group: bought anything in the window, and bought a product of
    their own list. ``products``: each event's product as a code into ``bought``, the distinct
    products bought in the window."""
    customers, codes, listed = group
    at = lookup(customers, users)  # the event's customer in the group, -1: not in it
    anything = np.zeros(customers.size, dtype=bool)
    anything[at[at >= 0]] = True
    # Only a listed product someone bought, listed for a customer who bought something, can
    # match: (customer, product) pairs as numbers, of those rows alone.
    product = lookup(bought, listed)
    rows = np.flatnonzero((product >= 0) & anything[codes])
    n = max(bought.size, 1)
    mine = at >= 0
    hit = np.isin(codes[rows] * n + product[rows], at[mine] * n + products[mine])
    bought_listed = np.zeros(customers.size, dtype=bool)
    bought_listed[codes[rows[hit]]] = True
    return anything, bought_listed


def _spend(group, users, amounts) -> np.ndarray:
    """Each customer of a group's total amount in the window (0: bought nothing)."""
    customers = group[0]
    at = lookup(customers, users)
    mine = at >= 0
    # a line without an amount is still a purchase, of unknown value: it adds nothing
    return np.bincount(at[mine], weights=np.nan_to_num(amounts[mine], nan=0.0), minlength=customers.size)


def lift_command(args) -> None:
    check_output(args.out)
    key = pseudonym_key(args)
    if not 0 < args.confidence < 1:
        raise CliError(f"--confidence must be in (0, 1), got {args.confidence}")
    treated = _lists(args.campaign, args, "--campaign")
    control = _lists(args.control, args, "--control")
    both = lookup(treated[0], control[0]) >= 0
    if both.any():
        raise CliError(
            f"{int(both.sum()):,} customers are in both --campaign and --control (e.g. {control[0][both][0]!r}): "
            "a customer is treated or held out, not both"
        )
    users, items, amounts, dropped = _events(args, key)
    # A line with a negative amount is a return, not a purchase: a customer who only returned
    # something in the window did not convert (as rf.customers counts purchases). It still
    # nets their spend. A line without an amount is a purchase of unknown value.
    purchase = slice(None) if amounts is None else ~(amounts < 0)
    products, bought = factorize(items[purchase], "--data products")
    if args.items:
        _warn_unbought(_items_given(args), bought, args)
    groups = (("treated", treated), ("control", control))
    rows = {name: _converted(group, users[purchase], products, bought) for name, group in groups}
    if users.size and not any((lookup(group[0], users) >= 0).any() for _, group in groups):
        _check_id_kinds(treated[0], control[0], users, key)
        hint = "--pseudonymise with the campaign's key" if key is None else "the key the campaign used"
        print(
            f"recforge lift: no customer of the events is in --campaign or --control; files of pseudonyms need {hint}",
            file=sys.stderr,
        )
    table = {"conversion": [], "treated": [], "control": [], "lift": [], "low": [], "high": [], "relative_lift": []}
    table.update(p_value=[], n_treated=[], n_control=[])
    second = "bought one of --items" if args.items else "bought a listed product"
    results = [lift(rows["treated"][j], rows["control"][j], confidence=args.confidence) for j in range(2)]
    measures = ["bought anything", second]
    if amounts is not None:
        spent = {name: _spend(group, users, amounts) for name, group in groups}
        results.append(mean_lift(spent["treated"], spent["control"], confidence=args.confidence))
        measures.append("spend per customer")
    for what, result in zip(measures, results):
        table["conversion"].append(what)
        for column in list(table)[1:]:
            table[column].append(result[column])
    window = (
        "every line of --data" if args.since is None else f"{args.days:g} day{'s' * (args.days != 1)} from {args.since}"
    )
    print(
        f"{counted(table['n_treated'][0], 'customer')} received the campaign, {table['n_control'][0]:,} "
        f"{were(table['n_control'][0])} held out; "
        f"{len(users):,} event lines in the window ({window}); dropped rows: {dropped_rows({'dropped': dropped})}"
    )
    print(f"{'conversion':<25}{'treated':>9}{'control':>9}{'lift':>9}   {args.confidence:.0%} interval    p-value")
    for j, what in enumerate(measures):
        share = what != "spend per customer"  # rates as percentages, spend as amounts
        number, signed = (".2%", "+.2%") if share else (".2f", "+.2f")
        print(
            f"{what:<25}{table['treated'][j]:>9{number}}{table['control'][j]:>9{number}}"
            f"{table['lift'][j]:>+9{signed[1:]}}   [{table['low'][j]:{signed}}, {table['high'][j]:{signed}}]   "
            f"{table['p_value'][j]:.3g}"
        )
    if args.out:
        write_table({k: np.asarray(v) for k, v in table.items()}, args.out, exact=True)
        print(f"-> {args.out}")

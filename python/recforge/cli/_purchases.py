"""The purchase lines of an event log that holds other events too. A shop's log often has a
row per view, cart and purchase (RetailRocket's ``event``: view, addtocart, transaction; an
e-commerce export's ``event_type``: view, cart, remove_from_cart, purchase). Customer tables,
lifetime values, propensity and lift count purchases: read whole, every view was a
transaction, and the RFM scores, BG/NBD's repeat purchases and a campaign's conversions were
those of the browsing."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import scipy.sparse as sp

from .._factorize import factorize, pd
from ._hints import CliError, Hint, bare
from ._negatives import first_rows

PURCHASE = "purchase"

# Event types that mark a column as one (casefolded, without "_", "-" and spaces); a column
# holding one of them and a few distinct values in all is pointed out when --event-col is not
# given.
EVENT_WORDS = frozenset(
    (
        "view", "pageview", "detail", "click", "impression", "search", "cart", "addtocart",
        "removefromcart", "wishlist", "checkout", "purchase", "transaction", "order", "buy",
    )
)  # fmt: skip
MAX_TYPES = 30  # more distinct values than this: not a column of event types


def add_purchase_arguments(group) -> None:
    """--event-col and --purchase-events of a command that counts purchases."""
    group.add_argument(
        "--event-col",
        help="event type column: only the lines of --purchase-events count (views, carts and other events are "
        "left out and counted)",
    )
    group.add_argument(
        "--purchase-events",
        metavar="TYPE,...",
        help=f"with --event-col: the event types that are purchases (default: {PURCHASE})",
    )


def purchase_types(args) -> list[str]:
    """The event types --purchase-events names (comma-separated, spaces around them ignored)."""
    text = args.purchase_events if args.purchase_events is not None else PURCHASE
    types = list(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    if not types:
        raise CliError(f"--purchase-events names no event type: {text!r}")
    return types


def purchase_lines(args, event_types) -> np.ndarray:
    """Which lines are purchases (--event-col's value one of --purchase-events): True for each
    line to keep. Says on stderr how many lines of which types were left out; a log with no
    purchase line is an error naming the types it holds (a misspelt --purchase-events would
    otherwise leave every customer out)."""
    types = purchase_types(args)
    codes, labels = factorize(event_types, "--event-col")
    text, is_purchase = _purchase_types_of(labels, types)
    present = codes >= 0
    keep = np.zeros(codes.size, dtype=bool)
    keep[present] = is_purchase[codes[present]]
    counts = np.bincount(codes[present], minlength=labels.size)
    by_count = np.lexsort((text.astype(str), -counts))  # most lines first, ties by name
    if not keep.any():
        held = ", ".join(f"{text[i]!r} {counts[i]:,}" for i in by_count)
        raise CliError(
            f"--event-col {args.event_col}: no line is a purchase ({', '.join(map(repr, types))}); its event types "
            f"are {held or 'missing'}: name the purchases with --purchase-events"
        )
    parts = [f"{text[i]} {counts[i]:,}" for i in by_count if not is_purchase[i]]
    missing = int(np.count_nonzero(~present))
    parts += [f"no type {missing:,}"] if missing else []
    if parts:
        print(
            f"--event-col {args.event_col}: {int(np.count_nonzero(~keep)):,} of {keep.size:,} lines are not purchases "
            f"({', '.join(parts)}): left out",
            file=sys.stderr,
        )
    return keep


def _purchase_types_of(labels, types: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The event types ``labels`` as text, and which of them ``types`` names. A code 3 read
    as 3.0 (a Parquet column of codes with a gap is floats) is "3", as --purchase-events
    writes it."""
    text = np.array(
        [str(int(v)) if isinstance(v, float) and v.is_integer() else str(v) for v in np.asarray(labels).tolist()],
        dtype=object,
    )
    return text, np.isin(text, np.array(types, dtype=object))


def purchased(inter, args, measured: bool = False):
    """Customers x products, 1 where the customer bought the product (an event of a type in
    --purchase-events) in ``inter``'s event log: what a campaign's reason, "because you bought
    ...", may name. A model trained on views and purchases otherwise explained a list by a
    product the customer only looked at. Says so on stderr when no event is a purchase; with
    ``measured`` (evaluate measures on the purchases), it is an error: nothing would be measured."""
    events = inter.events
    types = purchase_types(args)
    text, is_purchase = _purchase_types_of(events.event_types, types)
    bought = (events.event >= 0) & is_purchase[np.maximum(events.event, 0)]
    if not bought.any() and measured:
        raise CliError(
            f"--purchase-events {args.purchase_events}: no event of --event-col {args.event_col} is one of "
            f"{', '.join(map(repr, types))} (its types are {', '.join(text.tolist())}): there is nothing to measure"
        )
    if not bought.any():
        print(
            f"--event-col {args.event_col}: no event is a purchase ({', '.join(map(repr, types))}; its types are "
            f"{', '.join(text.tolist())}): the reasons name no product; --purchase-events names the purchases",
            file=sys.stderr,
        )
    B = sp.csr_matrix(
        (np.ones(int(bought.sum()), dtype=np.float32), (events.user[bought], events.item[bought])),
        shape=inter.matrix.shape,
    )
    B.sum_duplicates()
    B.data[:] = 1.0
    return B


def keep_lines(table: dict, keep: np.ndarray) -> dict:
    """``table`` (column -> array, numpy or Arrow-backed) with only the lines ``keep`` marks."""
    if keep.all():
        return table
    return {name: values[keep] for name, values in table.items()}


def event_type_column(args, used) -> tuple[str, list[str]] | None:
    """A column of ``--data``'s first rows, other than ``used``, that holds event types (view,
    cart, purchase ...): (its name, its values), or None."""
    if pd is None:
        return None
    try:
        frame = first_rows(args)
    except (OSError, ValueError, TypeError, LookupError, ImportError):
        return None
    for name in frame.columns:
        if name in used:
            continue
        values = frame[name].dropna()
        distinct = pd.unique(values)
        if not 1 < distinct.size <= MAX_TYPES or not all(isinstance(v, str) for v in distinct.tolist()):
            continue
        words = {bare(v) for v in distinct.tolist()}
        if words & EVENT_WORDS:
            return str(name), sorted(distinct.tolist())
    return None


def warn_event_types(args, used, training: bool = False) -> None:
    """Without --event-col, say which column looks like event types (one line): every line of
    the log counts as a purchase then, or, ``training``, weighs as much as any other."""
    if args.event_col is not None or args.data == "sample":
        return
    found = event_type_column(args, set(used))
    if found is None:
        return
    name, values = found
    shown = ", ".join(values[:6]) + (", ..." if len(values) > 6 else "")
    if training:
        weights = ",".join(f"{value}=W" for value in values[:3]) + (",..." if len(values) > 3 else "")
        advice = (
            f"without --event-col every type weighs the same; --event-col {name} --event-weights {weights} weighs each"
        )
    else:
        advice = (
            f"without --event-col every line counts as a purchase; --event-col {name} keeps the purchases "
            f"(--purchase-events names their types, default {PURCHASE})"
        )
    warnings.warn(f"--data: column {name} holds event types ({shown}): {advice}", Hint, stacklevel=2)

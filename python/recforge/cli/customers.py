"""recforge customers | clv | target: the customer table (RFM, segments), lifetime value and the
likeliest buyers of given products, from a transaction log."""

from __future__ import annotations

import sys
import warnings

import numpy as np

from .._factorize import arrow_strings, factorize, factorize_ids, id_meant, lookup, missing_mask, whole_ids
from .._times import as_moment, as_seconds, moment_text
from ..customers import (
    BetaGeoFitter,
    GammaGammaFitter,
    ModifiedBetaGeoFitter,
    ParetoNBDFitter,
    Propensity,
    Segmenter,
    calibration_holdout,
    charts,
    lifetime_value,
    profile,
    rfm,
    summary,
)
from ..customers.summary import periods, sorted_codes
from ..customers.value import MAX_HORIZON
from . import audience
from ._amount import HELP as AMOUNT_HELP
from ._amount import amount_columns, amount_values
from ._common import (
    CliError,
    add_csv_arguments,
    check_options,
    check_output,
    counted,
    dropped_rows,
    read_events,
    write_table,
)
from ._hints import Hint
from ._negatives import warn_negatives
from ._purchases import add_purchase_arguments, keep_lines, purchase_lines, warn_event_types
from .features import add_product_arguments, point_out_descriptions, read_products


def add_log_arguments(parser, items: str | None = None) -> None:
    g = parser.add_argument_group("transactions")
    g.add_argument(
        "--data", required=True, metavar="FILE", help='.csv (.gz/...) or .parquet; "sample" for the shipped sample'
    )
    g.add_argument("--user-col", default="user", help="customer id column (default: user)")
    g.add_argument("--time-col", default="time", help="time column: epoch seconds or dates (default: time)")
    g.add_argument("--amount-col", help=f"{AMOUNT_HELP} (default: none, monetary columns are 0)")
    g.add_argument(
        "--item-col",
        help=f"product column ({items})"
        if items
        else "not read: lifetime value is per customer (taken so that one set of options serves customers, clv "
        "and target)",
    )
    g.add_argument(
        "--as-of",
        help="last day observed: the lines of that whole day count, later ones do not (default: the last line's day)",
    )
    g.add_argument(
        "--returns",
        default="drop",
        choices=("drop", "net"),
        help="lines with a negative amount: drop them (default) or net them within their day",
    )
    add_purchase_arguments(g)
    add_csv_arguments(g)


def read_log(args, arrow: bool = False):
    """(customer, time, amount or None, item or None) arrays of the transaction log; with
    ``arrow``, text columns as Arrow strings (for callers that only factorize and look them
    up: the summary)."""
    if args.data == "sample":
        from ..datasets import sample

        data = sample()
        ev = data.interactions.events
        left_out = len(next(iter(data.events.values()))) - len(ev)
        print(
            f"the shipped sample: its {len(ev):,} purchase lines ({left_out:,} cancellations, returns and lines "
            "without a customer or a price left out)"
        )
        return ev.user_ids[ev.user], ev.time, ev.amount, ev.item_ids[ev.item]
    try:
        money_columns = amount_columns(args.amount_col)
    except ValueError as e:
        raise CliError(str(e)) from None
    columns = [c for c in (args.user_col, args.time_col, *money_columns, args.item_col, args.event_col) if c]
    text = [c for c in (args.user_col, args.time_col, args.item_col, args.event_col) if c]
    if args.amount_col is None:
        warn_negatives(args, columns, "--amount-col")
    table = read_events(args, list(dict.fromkeys(columns)), text=text, arrow_text=arrow)
    try:
        if args.event_col:  # views, carts ...: not transactions
            table = keep_lines(table, purchase_lines(args, table[args.event_col]))
        # Arrow strings stay so (summary and the lookups take them): no Python string per line
        who, when, what = (
            None if c is None else table[c] if arrow_strings(table[c]) is not None else np.asarray(table[c])
            for c in (args.user_col, args.time_col, args.item_col)
        )
        # here, where the options are known: a Parquet text column is named by its option
        when = as_seconds(when, "--time-col", wall_clock=True)
        money = amount_values(table, args.amount_col)
    except KeyError as e:
        raise CliError(f"--data: no column {e.args[0]!r} in {args.data!r}") from None
    except ValueError as e:
        raise CliError(f"--data: {e}") from None
    warn_event_types(args, columns)  # once the columns are known to be there: an error stays one line
    return who, when, money, what


def _summary(args, as_of=None, log=None):
    customers, times, amounts, items = read_log(args, arrow=True) if log is None else log
    try:
        s = summary(customers, times, amounts, as_of=args.as_of if as_of is None else as_of, returns=args.returns)
    except ValueError as e:
        raise CliError(f"--data: {e}") from None
    # With --returns net the return lines are netted, not dropped: said apart. What netting took
    # away (periods, customers left without a transaction) is counted among what was dropped.
    netted = args.returns == "net"
    dropped = dropped_rows(
        {"dropped": {k: v for k, v in s.report.items() if k != "lines" and not (netted and k == "returns")}}
    )
    returns = f"; {s.report['returns']:,} return lines netted" if netted and s.report.get("returns") else ""
    print(f"{counted(len(s), 'customer')} from {counted(s.report['lines'], 'line')}{returns}; dropped rows: {dropped}")
    if args.returns == "drop" and amounts is not None and s.report.get("returns"):
        _warn_returned(customers, amounts)
    if args.as_of is not None:
        _warn_far_as_of(s)
    return s, customers, items


def _warn_far_as_of(s) -> None:
    """Say so where --as-of lies further after the log's last transaction than the log is long:
    CDNOW (1997-01-01 to 1998-06-30) measured as of 2011-09-01 gave every customer 13 years of
    silence, and BG/NBD fitted r 0.13, a 3.33, b 6.74 on it (0.27, 0.48, 2.11 at the last line)
    without a word. A log extracted long ago, or an --as-of of the wrong year, reads so."""
    if not len(s):
        return
    first, last = float(np.min(s.first_purchase)), float(np.max(s.last_purchase))
    gap, span = s.as_of - last, last - first
    if gap > max(span, 86400.0):
        warnings.warn(
            f"--as-of {moment_text(s.as_of)} is {gap / 86400:,.0f} days after the log's last transaction "
            f"({moment_text(last)}), longer than the log's {span / 86400:,.0f} days: every customer's time since "
            "then counts as time without a purchase; leave --as-of out to measure at the last line",
            Hint,
            stacklevel=2,
        )


def _warn_tied_scores(s) -> None:
    """Say so where every customer ties on recency or frequency: quantile scores give tied
    customers the score of their lowest rank, so a log of one day made every customer R 1 and
    F 1, "Lost", where nobody can be told from anybody."""
    if len(s) < 2:
        return
    tied = [
        f"{name} ({value})"
        for name, values, value in (
            (
                "recency",
                s.since_last,
                f"{float(s.since_last[0]):g} day{'s' * (float(s.since_last[0]) != 1)} since the last purchase",
            ),
            (
                "frequency",
                s.transactions,
                f"{int(s.transactions[0]):,} transaction{'s' * (int(s.transactions[0]) != 1)}",
            ),
        )
        if np.ptp(values) == 0
    ]
    if tied:
        warnings.warn(
            f"every customer has the same {' and '.join(tied)}: the RFM scores rank tied customers alike, "
            "at the lowest score, so the segments tell nobody apart on that; a longer log (or --as-of) is needed",
            Hint,
            stacklevel=2,
        )


def _warn_returned(customers, amounts) -> None:
    """Say so where dropping returns keeps purchases their customers took back: on Online Retail
    customer 16446's 168,470 order, cancelled the same day, made the highest lifetime value."""
    codes, ids = factorize_ids(customers, "--user-col")
    ids = whole_ids(ids)  # 12346, as the customer table writes it, not the float column's 12346.0
    money = np.asarray(amounts, dtype=np.float64)
    ok = (codes >= 0) & np.isfinite(money)
    codes, money = codes[ok], money[ok]
    bought = np.bincount(codes, weights=np.maximum(money, 0.0), minlength=ids.size)
    returned = np.bincount(codes, weights=np.maximum(-money, 0.0), minlength=ids.size)
    mostly = (bought > 0) & (returned >= 0.5 * bought)
    if mostly.any():
        worst = int(np.argmax(np.where(mostly, returned, -1.0)))
        print(
            f"{counted(int(mostly.sum()), 'customer')} returned at least half of what they bought (e.g. {ids[worst]}: "
            f"{returned[worst]:,.2f} of {bought[worst]:,.2f}), and --returns drop counts their purchases in full; "
            "--returns net subtracts returns from their day's purchases",
            file=sys.stderr,
        )


def _check_chart(path) -> None:
    check_output(path, "--chart", suffixes=(".png",))
    if path is not None:
        try:
            charts.check_available()
        except ImportError as e:
            raise CliError(f"--chart: {e}") from None


def customers(args) -> None:
    check_output(args.out)
    if args.chart is not None and args.segments is None:  # it would be drawn from nothing, and not written
        raise CliError("--chart needs --segments (the chart shows the segments' sizes and revenue)")
    _check_chart(args.chart)
    if args.min_size < 1:
        raise CliError("--min-size must be >= 1")
    if args.segments is not None and args.segments != "auto" and not args.segments.isdigit():
        raise CliError(f"--segments must be a number or 'auto', got {args.segments!r}")
    if args.products is not None and (args.segments is None or args.item_col is None):
        # descriptions name the segments' top products, which need both
        raise CliError("--products needs --segments and --item-col (it names the segments' top products)")
    log = read_log(args, arrow=True)
    s, customer_of_line, items = _summary(args, log=log)
    amounts = log[2]
    scores = rfm(s)
    table = {
        "customer": s.customer_ids,
        "transactions": s.transactions,
        "days_since_last": s.since_last,
        "total_value": s.total_value,
        "R": scores.recency,
        "F": scores.frequency,
        "M": scores.monetary,
        "rfm_segment": scores.segment,
    }
    codes, names = factorize(scores.segment, "RFM segments")
    counts = np.bincount(codes, minlength=names.size)
    print(
        "RFM segments: " + ", ".join(f"{n} {c:,}" for n, c in sorted(zip(names, counts), key=lambda t: (-t[1], t[0])))
    )
    _warn_tied_scores(s)
    if args.segments is not None:
        k = None if args.segments == "auto" else int(args.segments)
        if k is not None and k < 1:
            raise CliError("--segments must be >= 1")
        if k is not None and k > len(s):  # the model's refusal named n_segments, not the option
            raise CliError(f"--segments {k:,} is more than the {len(s):,} customers")
        segmenter = Segmenter(n_segments=k).fit(s)
        table["segment"] = segmenter.labels_
        bought = None
        if items is not None:
            import scipy.sparse as sp

            # Lines without a customer (missing ids: None, NaN) match no row, as do dropped ones;
            # lines without a product count for RFM but name no product (said below).
            row = lookup(s.customer_ids, customer_of_line)
            product, products = factorize(items, "--item-col")
            known = (row >= 0) & (product >= 0)
            if amounts is not None:  # a return, a cancellation or a discount line is no purchase
                known &= ~(np.asarray(amounts, dtype=np.float64) < 0)
            item_ids, col = sorted_codes(product[known], products)  # columns in id order: ties by id
            bought = sp.csr_matrix(
                (np.ones(col.size), (row[known], col)), shape=(len(s), item_ids.size), dtype=np.float32
            )
            unnamed = int(np.count_nonzero(product < 0))
            if unnamed:
                print(f"{unnamed:,} lines without a product: left out of the segments' products")
            if args.products is not None:
                item_names = read_products(args, item_ids)
            else:
                point_out_descriptions(args, "the segments' profiles")
                item_names = item_ids
        scores_k = ", ".join(f"{c}: {v:.3f}" for c, v in segmenter.silhouettes_.items())
        chosen = "" if k else f" (k by silhouette; {scores_k})"
        print(f"\n{segmenter.n_segments_} segments{chosen}:")
        prof = profile(segmenter.labels_, s, bought, item_names if bought is not None else None, min_size=args.min_size)
        print(prof)
        if args.chart:
            charts.segment_chart(prof, args.chart)
            print(f"segment chart -> {args.chart}")
    if args.out:
        write_table(table, args.out, exact=True)
        print(f"customer table: {len(s):,} rows -> {args.out}")


def clv(args) -> None:
    args.item_col = None  # not read: a column clv has no use for cost memory, or failed where absent
    check_output(args.out)
    _check_chart(args.chart)
    check_options(
        (args.days < 1, "--days must be >= 1", args.days),  # purchases in the next 0 days, all 0, were written
        (not 1 <= args.months <= MAX_HORIZON, f"--months must be in [1, {MAX_HORIZON:,}]", args.months),
        # inf passed ">= 0": the models refused it later, naming neither option (or --months)
        (not 0 <= args.discount < np.inf, "--discount must be a finite number >= 0", args.discount),
        (not 0 <= args.penalizer < np.inf, "--penalizer must be a finite number >= 0", args.penalizer),
        (
            not 0 <= args.spend_penalizer < np.inf,
            "--spend-penalizer must be a finite number >= 0",
            args.spend_penalizer,
        ),
    )
    if args.amount_col is None and args.data != "sample":
        raise CliError("--amount-col is needed: lifetime value is money")
    log = read_log(args, arrow=True)
    if args.calibration_end is not None:
        _check_on_holdout(args, log)
    s, _, _ = _summary(args, log=log)
    bg, gg = _value_models(s, args)
    print(f"{bg.model_name}: {_params_text(bg)} (days)")
    q = gg.params_
    print(f"Gamma-Gamma: p={q['p']:.4g} q={q['q']:.4g} v={q['v']:.4g} on {gg.n_customers_:,} repeat customers")
    monetary = np.maximum(s.monetary_value, 0.0)
    try:
        purchases = bg.expected_purchases(args.days, s.frequency, s.recency, s.T)
    except ValueError as e:  # a horizon past what the model computes
        raise CliError(f"--days {args.days}: {e}") from None
    try:
        value = lifetime_value(
            bg,
            gg,
            s.frequency,
            s.recency,
            s.T,
            np.where(monetary > 0, monetary, 0.0),
            horizon=args.months,
            step=30.0,
            discount_rate=args.discount,
        )
    except ValueError as e:
        raise CliError(f"--months {args.months}: {e}") from None
    table = {
        "customer": s.customer_ids,
        "p_alive": bg.probability_alive(s.frequency, s.recency, s.T),
        f"purchases_next_{args.days}d": purchases,
        "expected_spend": gg.expected_average_value(s.frequency, np.where(s.frequency > 0, monetary, 0.0)),
        "clv": value,
    }
    if args.chart:
        charts.alive_chart(table["p_alive"], args.chart, model=bg.model_name)  # MBG/NBD's is not BG/NBD's
        print(f"P(alive) chart -> {args.chart}")
    order = np.argsort(-table["clv"], kind="stable")[:5]
    print(
        f"highest {args.months}-month value: " + ", ".join(f"{s.customer_ids[i]} {table['clv'][i]:,.0f}" for i in order)
    )
    if args.out:
        write_table(table, args.out, exact=True)
        print(f"lifetime values: {len(s):,} rows -> {args.out}")
    elif not args.quiet:
        print("(--out writes the table)", file=sys.stderr)


# --model: the purchase model of recforge clv
PURCHASE_MODELS = {"bgnbd": BetaGeoFitter, "mbgnbd": ModifiedBetaGeoFitter, "paretonbd": ParetoNBDFitter}


def _params_text(model) -> str:
    """A purchase model's parameters as the command prints them: r=0.243 alpha=4.414 ..."""
    return " ".join(f"{name}={value:.4g}" for name, value in model.params_.items())


def _value_models(s, args, where: str = "") -> tuple:
    """BG/NBD (or MBG/NBD) and Gamma-Gamma fitted on the summary ``s``, their failures in the
    command's words."""
    purchases = PURCHASE_MODELS[args.model]

    # each model its own penalizer: one on Gamma-Gamma acts on v in the currency's units, and
    # the penalizer BG/NBD's ridge asks for (0.001) took Online Retail's q below 1
    def in_our_words(message: str) -> str:  # the library's ways out, as the command names them
        message = message.replace("fit with strict=False", "rerun with --accept-bounds")
        return where + message.replace("penalizer=0.001", "--penalizer 0.001")

    try:
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            bg = purchases(penalizer=args.penalizer).fit(s, strict=not args.accept_bounds)
    except (RuntimeError, ValueError) as e:
        raise CliError(in_our_words(str(e))) from None
    for w in said:  # the limit of nobody dropping out, said in the command's words
        warnings.warn(in_our_words(str(w.message)), w.category, stacklevel=2)
    try:
        spend_of = s.select((s.frequency == 0) | (s.monetary_value > 0))
        gg = GammaGammaFitter(penalizer=args.spend_penalizer).fit(spend_of)
    except (RuntimeError, ValueError) as e:
        message = str(e).replace("penalizer=0.001", "--spend-penalizer 0.001")
        raise CliError(where + message.replace("a smaller one", "a smaller --spend-penalizer")) from None
    return bg, gg


def _check_on_holdout(args, log) -> None:
    """--calibration-end: the models fitted on the lines up to it, their predictions set against
    what the customers bought after it (up to --as-of or the last line)."""
    customers, times, amounts, _ = log
    try:
        cut = calibration_holdout(
            customers, times, amounts, cutoff=args.calibration_end, end=args.as_of, returns=args.returns
        )
    except ValueError as e:
        raise CliError(f"--calibration-end: {e}") from None
    bg, gg = _value_models(cut.calibration, args, where="--calibration-end: ")
    print(
        f"check: fitted on {len(cut.calibration):,} customers' lines up to {args.calibration_end} "
        f"({bg.model_name} {_params_text(bg)})"
    )
    print(cut.check(bg, gg))
    if cut.report["new_customers"]:
        print(f"({cut.report['new_customers']:,} customers first bought after it: no prediction to check)")
    print()


def target(args) -> None:
    check_output(args.out)
    check_options(
        (args.top < 1, "--top must be >= 1", args.top),
        (not 0 < args.window < np.inf, "--window must be a finite number > 0", args.window),
    )
    audience.check_audience(args)
    customers_of_line, times, amounts, items = read_log(args)
    if items is None:
        raise CliError("--item-col is needed: the target is a product")
    asked = [i.strip() for i in args.item.split(",") if i.strip()]
    if not asked:
        raise CliError(f"--item names no product: {args.item!r}")
    named = ~missing_mask(items)
    # the products of the lines the model learns from: those with a customer (Online Retail's
    # 85123a is on 53 lines, none with a customer: a target nobody can be seen to buy)
    products = np.unique(items[named & ~missing_mask(customers_of_line)])
    at = lookup(products, np.array(asked, dtype=object))  # text from the command line, any id kind
    if (at < 0).any():
        wrong = asked[int(np.flatnonzero(at < 0)[0])]
        anywhere = lookup(np.unique(items[named]), np.array([wrong], dtype=object))[0] >= 0
        meant = id_meant(products, wrong)
        raise CliError(
            f"--item: {'only lines without a customer have' if anywhere else 'no line has'} product {wrong!r}"
            + (f"; did you mean {meant!r}?" if meant is not None else "")
        )
    wanted = products[at].tolist()
    t = as_seconds(times, "times", wall_clock=True)
    # Whole days, as customers and clv observe them: --as-of 2011-12-01 counts the lines of
    # 1 December, the window after it is 2 to 31 December, and the fitting cut falls between
    # days too rather than inside one
    last_day = periods(np.nanmax(t) if args.as_of is None else as_moment(args.as_of, "--as-of", wall_clock=True), "day")
    end = float(np.nextafter((last_day + 1) * 86400.0, -np.inf))
    first = float(np.nanmin(t))
    if end - args.window * 86400.0 <= first:
        # the model learns from the last window whose outcome is known: it must start after the log does
        raise CliError(
            f"--window {args.window:g} days before {moment_text(end)} reaches back to the log's first line "
            f"({moment_text(first)}): nothing is known before it; shorten --window or give a later --as-of"
        )
    # the lines the scores come from, and those left out (no customer, returns ...), said as
    # the other customer commands say them
    _summary(args, as_of=end, log=(customers_of_line, t, amounts, items))
    try:
        model = Propensity(window=args.window, target=wanted, returns=args.returns)
        # fitted one window before the scoring date: the last window whose outcome is known
        model.fit(customers_of_line, t, amounts, items, cutoff=end - args.window * 86400.0)
        ids, p = model.predict(customers_of_line, t, amounts, items, as_of=end)
    except (RuntimeError, ValueError) as e:
        raise CliError(str(e)) from None
    order = np.lexsort((np.arange(p.size), -p))
    blocked = audience.suppressed(args, ids)  # opt-outs: never in the audience
    n_suppressed = 0 if blocked is None else int(blocked[order[: args.top]].sum())
    if blocked is not None:
        order = order[~blocked[order]]
    order = order[: args.top]  # the audience: the likeliest buyers who may be contacted
    rank = np.arange(1, order.size + 1)
    # the control group is drawn from the audience itself: held-out customers are as likely to
    # buy as those who get the campaign, so the two compare
    held = audience.held_out(args, ids[order])
    sent = np.ones(order.size, dtype=bool) if held is None else ~held
    products = ", ".join(map(str, wanted))
    print(
        f"the {order.size:,} customers most likely to buy {products} in the {args.window:g} days after "
        f"{str(np.datetime64(int(end), 's'))[:10]} (of {ids.size:,}; base rate {model.base_rate_:.1%} when fitted)"
        + audience.audience_summary(args, n_suppressed, 0 if held is None else int(held.sum()))
        + ":"
    )
    for i in order[sent][:5]:
        print(f"  {ids[i]}  {p[i]:.3f}")
    lists = {"customer": ids[order], "rank": rank, "probability": p[order]}
    if args.out:
        write_table({name: column[sent] for name, column in lists.items()}, args.out, exact=True)
        print(f"target list: {int(sent.sum()):,} rows -> {args.out}")
    if args.holdout_out:
        write_table({name: column[~sent] for name, column in lists.items()}, args.holdout_out, exact=True)
        print(f"control group: {int((~sent).sum()):,} rows -> {args.holdout_out}")


def add_parsers(sub) -> None:
    c = sub.add_parser(
        "customers",
        help="customer table: RFM scores and segments, optionally k-means segments with their profiles",
        description="Summarise a transaction log per customer (transactions, days since last, value), score "
        "RFM 1-5 with the named segments, and optionally cluster customers (--segments) and profile the groups.",
    )
    add_log_arguments(c, "for the segments' top products")
    c.add_argument("--segments", help="k-means segments: a number, or 'auto' to choose k by silhouette")
    c.add_argument(
        "--min-size",
        type=int,
        help="--segments: segments smaller than this are reported with their size only (privacy; default: 10)",
    )
    c.add_argument("--out", help="customer table: .csv, .csv.gz or .parquet")
    c.add_argument("--chart", help="with --segments: a PNG of segment sizes and revenue (needs recforge[plot])")
    add_product_arguments(c)  # descriptions for the segments' top products
    c.add_argument("--quiet", action="store_true", help="no progress output")

    v = sub.add_parser(
        "clv",
        help="lifetime value: BG/NBD (or MBG/NBD, Pareto/NBD) purchases, P(alive) and Gamma-Gamma spend per customer",
        description="Fit BG/NBD (or --model) and Gamma-Gamma on a transaction log (times in days) and write each "
        "customer's "
        "P(alive), expected purchases, expected spend per purchase and discounted lifetime value.",
    )
    add_log_arguments(v)
    v.add_argument("--days", type=int, default=30, help="expected purchases in the next DAYS (default: 30)")
    v.add_argument("--months", type=int, default=12, help="lifetime value horizon in 30-day months (default: 12)")
    v.add_argument("--discount", type=float, default=0.01, help="discount rate per month (default: 0.01)")
    v.add_argument(
        "--model",
        choices=tuple(PURCHASE_MODELS),
        default="bgnbd",
        help="purchase model: bgnbd (default); mbgnbd, in which one-time buyers can have dropped out too "
        "(under bgnbd their P(alive) is 1 however long ago they bought); or paretonbd, in which customers drop "
        "out at any moment, not only at a purchase",
    )
    v.add_argument(
        "--penalizer", type=float, default=0.0, help="L2 penalty on the purchase model's parameters (default: 0)"
    )
    v.add_argument(
        "--spend-penalizer",
        type=float,
        default=0.0,
        help="L2 penalty on Gamma-Gamma's parameters (default: 0; it acts on v in the currency's units)",
    )
    v.add_argument(
        "--accept-bounds",
        action="store_true",
        help="accept a purchase model's fit whose parameter runs to its bound (BG/NBD's a -> 0, Pareto/NBD's "
        "s -> 0: nobody seems to drop out, every customer stays alive) instead of refusing it",
    )
    v.add_argument(
        "--calibration-end",
        metavar="DATE",
        help="check the models first: fit them on the lines up to DATE and set their predicted purchases "
        "(and spend) against what the customers bought after it, by repeat purchases before it",
    )
    v.add_argument("--out", help="table: .csv, .csv.gz or .parquet")
    v.add_argument("--chart", help="a PNG of the P(alive) distribution (needs recforge[plot])")
    v.add_argument("--quiet", action="store_true", help="no progress output")

    g = sub.add_parser(
        "target",
        help="the customers most likely to buy given products in the next days (purchase propensity)",
        description="Fit rf.customers.Propensity for the given products on the log (labels from the window "
        "before --as-of) and rank every customer by the probability of buying one of them in the window after it.",
    )
    add_log_arguments(g, "needed: its values name the --item products")
    g.add_argument("--item", required=True, help="product id, or several comma-separated (a category)")
    g.add_argument("--top", type=int, default=100, help="customers to list (default: 100)")
    g.add_argument("--window", type=float, default=30.0, help="days ahead (default: 30)")
    audience.add_audience_arguments(g)
    g.add_argument("--out", help="table: .csv, .csv.gz or .parquet")
    g.add_argument("--quiet", action="store_true", help="no progress output")

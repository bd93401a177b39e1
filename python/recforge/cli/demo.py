"""recforge demo: the main job on the shipped Online Retail sample, end to end."""

from __future__ import annotations

import time

import numpy as np

from .._times import as_moment, moment_text
from ..campaign import explain, rerank
from ..customers import Propensity, rfm, summary
from ..data import Interactions, features
from ..datasets import sample
from ..evaluation import compare, default_space, split, tune
from ..models import ALS, EASE, ColdStart, ItemKNN, Popularity, UserKNN
from ._candidates import chosen_paths
from ._common import (
    CliError,
    campaign_rows,
    check_output,
    citable,
    co_purchase_similarity,
    recommend_all,
    write_table,
)

SHOWN = ("precision", "recall", "ndcg", "map", "hit_rate")
CANDIDATES = 100  # per customer, re-ranked to --k (or --k of them, where it asks for more)
WINDOW_DAYS = 30  # the purchase prediction: who buys in the month after the cutoff


def demo(args) -> None:
    start = time.perf_counter()
    check_output(args.out)
    if args.neighbours < 1:  # before any work; the model's own refusal did not name the option
        raise CliError(f"--neighbours must be >= 1, got {args.neighbours}")
    if args.tune and args.trials < 1:
        raise CliError(f"--trials must be >= 1, got {args.trials}")
    data = sample()
    inter = data.interactions
    print(
        f"Online Retail sample (UCI, CC BY 4.0): {inter.n_users:,} customers, {inter.n_items:,} products, "
        f"{inter.report['kept']:,} purchase lines -> {inter.nnz:,} (customer, product) pairs"
    )

    train, test = split_events_by_time(inter, args.cutoff)
    first = float(np.nanmin(inter.events.time))
    if as_moment(args.cutoff, "cutoff") - WINDOW_DAYS * 86400.0 <= first:
        # the purchase prediction learns from the month before the cutoff: refused after the
        # campaign file had been written, naming a date the command line never gave
        raise CliError(
            f"--cutoff {args.cutoff}: the purchase prediction learns who bought in the {WINDOW_DAYS} days before it, "
            f"and the sample starts {moment_text(first)[:10]}: give a cutoff after "
            f"{moment_text(first + WINDOW_DAYS * 86400.0)[:10]}"
        )
    returning = np.diff(train.matrix.indptr)[np.diff(test.matrix.indptr) > 0] > 0
    print(
        f"time split at {args.cutoff}: train on {train.nnz:,} earlier (customer, product) pairs; measure on the "
        f"{test.nnz:,} products customers bought for the first time after it: {int(returning.sum()):,} returning "
        f"customers, {int((~returning).sum()):,} new ones (answered from their country)"
    )
    countries = _countries(data, inter)
    candidates = {
        "popularity": Popularity(),
        "itemknn": ItemKNN(neighbours=args.neighbours),
        "userknn": UserKNN(neighbours=args.neighbours, metric="cosine"),
        "als": ALS(random_state=0),
        "ease": EASE(),
    }
    if args.tune:
        for name, model in list(candidates.items()):
            if default_space(type(model)):
                # on a validation split of the training part: the test months stay unseen
                found = tune(type(model), None, train, k=args.k, n_trials=args.trials, refit=False)
                candidates[name] = type(model)(**found.best_params)
                shown = ", ".join(f"{p}={v!r}" for p, v in found.best_params.items())
                print(f"tuned {name}: {shown} (ndcg@{args.k} {found.best_score:.4f} on validation)")
    # Each model with its fallbacks (new customers get their country's best sellers); the baseline
    # stays bare: the shop's best sellers for everyone.
    fitted = {
        name: model.fit(train) if name == "popularity" else ColdStart(model).fit(train, user_features=countries)
        for name, model in candidates.items()
    }
    result = compare(fitted, train, test, k=args.k, groups=True)
    new = "new customers (no history: every model but popularity answers them from their country, alike)"
    for group, label in (("returning", "returning customers"), ("new_customers", new)):
        print(f"\n{label}:")
        print(_summary(result.groups[group], args.k))
    best = max(result.metrics, key=lambda name: result.groups["returning"].metrics[name]["ndcg"][0])
    print(f"\nbest by NDCG@{args.k} on returning customers: {best}; refitting it on all {inter.nnz:,} pairs")

    model = ColdStart(candidates[best]).fit(inter, user_features=countries)
    X = inter.matrix
    users = np.flatnonzero(np.diff(X.indptr) > 0)
    ids, scores, paths, reasons = _campaign_lists(model, X, users, args, deny=data.items["service"])
    table = campaign_rows(inter.user_ids, inter.item_ids, users, ids, scores, data.describe_items)
    reason = np.where(reasons[ids >= 0] >= 0, data.describe_items(np.maximum(reasons[ids >= 0], 0)), "")
    table = {
        "customer_id": table["user"],
        "rank": table["rank"],
        "stock_code": table["item"],
        "description": table["description"],
        "score": table["score"],
        "because_you_bought": reason,
    }
    write_table(table, args.out)
    first = paths[:, 0] if paths.shape[1] else np.zeros(0, dtype=np.int8)
    answered = ", ".join(
        f"{name} {int(np.count_nonzero(first == code)):,}"
        for code, name in enumerate(ColdStart.PATHS)
        if (first == code).any()
    )
    print(
        f"campaign list: top-{args.k} of {max(CANDIDATES, args.k)} re-ranked (diversity 0.4, novelty 1; postage "
        "and fees left out) "
        f"for {users.size:,} customers ({table['rank'].size:,} rows) -> {args.out}"
        f"\n  answered by: {answered}"
    )
    customers = np.asarray(table["customer_id"])  # spelled out: the list's ids are codes
    shown = np.flatnonzero(customers == customers[0])[:3] if table["rank"].size else []
    for i in shown:
        why = f"  (you bought {table['because_you_bought'][i]})" if table["because_you_bought"][i] else ""
        print(
            f"  customer {table['customer_id'][i]}  #{table['rank'][i]}  {table['stock_code'][i]:<7} "
            f"{table['description'][i]}{why}"
        )
    _customers(data, args.cutoff)
    print(f"done in {time.perf_counter() - start:.1f} s")


def _customers(data, cutoff: str) -> None:
    """The customer side on the same log: RFM segments, and who will buy in the month after the
    cutoff (propensity fitted on the months before it, so the measured month stays unseen)."""
    ev = data.interactions.events
    who, when, money = ev.user_ids[ev.user], ev.time, ev.amount
    scores = rfm(summary(who, when, money))
    names, counts = np.unique(scores.segment, return_counts=True)
    top = sorted(zip(counts, names), reverse=True)[:5]
    print("\ncustomers by RFM segment: " + ", ".join(f"{name} {count:,}" for count, name in top) + ", ...")
    end = as_moment(cutoff, "cutoff")
    model = Propensity(window=WINDOW_DAYS).fit(who, when, money, cutoff=end - WINDOW_DAYS * 86400.0)
    result = model.evaluate(who, when, money, cutoff=end)
    print(
        f"buyers in the {WINDOW_DAYS} days from {cutoff}: AUC {result['auc']:.3f}, the top 10% of customers buy "
        f"{result['lift'].lift[0]:.1f}x as often as average ({result['customers']:,} customers; "
        f"recency alone: AUC {result['auc_recency']:.3f}, BG/NBD: {result['auc_bgnbd']:.3f})"
    )


def _campaign_lists(model, X, users, args, deny):
    """Each customer's top CANDIDATES re-ranked to --k as ``recforge campaign`` does by default
    (MMR against the co-purchase cosine, diversity 0.4, novelty bonus 1) without the ``deny``
    items (the shop's postage and fees), each item's path, and the customer's own product behind
    each (-1: none, e.g. a fallback's best seller)."""
    width = max(CANDIDATES, args.k)  # --k 150 was re-ranked from 100: lists of 100 under "top-150"
    cand, cand_scores, cand_paths = recommend_all(model, users, X, width, args.quiet, labels=users)
    ids, scores = rerank(
        cand,
        cand_scores,
        args.k,
        diversity=0.4,
        similarity=co_purchase_similarity(X),
        novelty=1.0,
        popularity=np.bincount(X.indices, minlength=X.shape[1]),
        deny=deny,
        n_items=X.shape[1],
        paths=cand_paths,  # trending completes a short list after the model's own
    )
    paths = chosen_paths(cand, cand_paths, ids)
    because, _ = explain(model, citable(X[users], deny), ids, top=1)
    return ids, scores, paths, because[:, :, 0]


def split_events_by_time(inter: Interactions, cutoff: str):
    """Train: purchases before ``cutoff``; test: the products a customer with such history first
    bought at or after it (what a campaign can still recommend): :func:`rf.split.temporal_split`
    of the purchase events."""
    try:
        cut = as_moment(cutoff, "cutoff")  # finite, or ValueError
    except ValueError:
        raise CliError(f"--cutoff: {cutoff!r} is not a date (e.g. 2011-11-01)") from None
    train, first_time = split.temporal_split(inter, cutoff=cut)
    if not train.nnz or not first_time.nnz:
        t = inter.events.time
        first, last = (np.datetime64(int(x), "s") for x in (np.nanmin(t), np.nanmax(t)))
        raise CliError(
            f"--cutoff: {cutoff!r} leaves no purchases {'before' if not train.nnz else 'after'} it; "
            f"the sample runs from {first} to {last}"
        )
    return train, first_time


def _countries(data, inter: Interactions):
    """Each customer's country (of their first line), as customer attributes."""
    events = data.events
    at = inter.user_index(events["CustomerID"], missing="ignore")
    first = np.full(inter.n_users, -1)
    rows = np.flatnonzero(at >= 0)
    first[at[rows[::-1]]] = rows[::-1]  # the earliest line of each customer wins
    country = np.where(first >= 0, events["Country"][np.maximum(first, 0)], None)
    return features(
        {"customer": inter.user_ids, "country": country}, ids=inter.user_ids, id_col="customer", categorical="country"
    )


def _summary(result, k: int) -> str:
    head = f"{'model':<11}" + "".join(f"{m + '@' + str(k):>16}" for m in SHOWN) + "   p (NDCG vs popularity)"
    lines = [head, "-" * len(head)]
    for name, metrics in result.metrics.items():
        cells = "".join(f"{metrics[m][0]:>9.4f} ±{(metrics[m][2] - metrics[m][1]) / 2:.3f}" for m in SHOWN)
        p = result.p_values.get(name, {}).get("ndcg")
        lines.append(f"{name:<11}{cells}   {'' if p is None else f'{p:.1e}'}")
    lines.append(f"{result.n_users:,} customers; ± is the half-width of the 95% interval")
    return "\n".join(lines)

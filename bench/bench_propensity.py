"""Purchase propensity on the full Online Retail log with a time split: rf.customers.Propensity
beside baselines on the same customers: recency alone, BG/NBD's expected purchases and, for a
product target, the customers' own past purchases of it (most, then most recent).

    python bench/bench_propensity.py [--shared ../shared/datasets] [--window 30]

Fitted at 2011-10-09 (labels: the 30 days after it, and the same at the two cutoffs before),
evaluated at 2011-11-09 (labels: 2011-11-09 to 2011-12-09, the end of the data): nothing of the
evaluation window reaches the fit. Two questions: will the customer buy anything, and will they
buy a Christmas product (descriptions containing "CHRISTMAS": a category), the second also with
ItemKNN's scores of those products as a feature (fitted on each cutoff's past); each also with
the customer's k-means segment (6 segments fitted on the earliest training cutoff's past). AUC and top-decile
lift; the full lift table of the classifier for the first question.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import recforge as rf

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"


def own(r: dict, what: str) -> str:
    """The own-past-purchases baseline's AUC or top-decile lift ("-" without a target)."""
    if "auc_target_history" not in r:
        return "-"
    return f"{r['auc_target_history']:.3f}" if what == "auc" else f"{r['lift_target_history'].lift[0]:.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--window", type=float, default=30.0)
    args = parser.parse_args()
    data = rf.datasets.load_online_retail(args.shared / "online-retail" / "online_retail.csv.gz")
    ev = data.interactions.events
    who, when, money, item = ev.user_ids[ev.user], ev.time, ev.amount, ev.item_ids[ev.item]
    descriptions = data.describe_items(np.arange(ev.item_ids.size)).astype(str)
    christmas = ev.item_ids[np.char.find(np.char.upper(descriptions), "CHRISTMAS") >= 0]
    print(f"Online Retail: {len(ev):,} lines, {ev.user_ids.size:,} customers; {christmas.size} Christmas products")
    print(
        "| question | customers | base rate | AUC model | AUC recency | AUC BG/NBD | AUC own past | top-10% lift "
        "| recency | BG/NBD | own past |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    segments = rf.customers.Segmenter(n_segments=6)
    questions = (
        ("buys anything", None, None, None),
        ("buys anything, + k-means segment", None, None, segments),
        ("buys a Christmas product", christmas, None, None),
        ("buys a Christmas product, + ItemKNN scores", christmas, rf.ItemKNN(), None),
        ("buys a Christmas product, + ItemKNN scores + segment", christmas, rf.ItemKNN(), segments),
        ("buys 85123A (the best seller)", ["85123A"], None, None),
        ("buys 85123A, + ItemKNN scores", ["85123A"], rf.ItemKNN(), None),
    )
    for question, target, recommender, segmenter in questions:
        start = time.perf_counter()
        model = rf.customers.Propensity(
            window=args.window, target=target, recommender=recommender, segmenter=segmenter
        ).fit(who, when, money, item, cutoff="2011-10-09")
        r = model.evaluate(who, when, money, item, cutoff="2011-11-09")
        print(
            f"| {question} | {r['customers']:,} | {r['base_rate']:.1%} | {r['auc']:.3f} | {r['auc_recency']:.3f} | "
            f"{r['auc_bgnbd']:.3f} | {own(r, 'auc')} | {r['lift'].lift[0]:.2f} | {r['lift_recency'].lift[0]:.2f} | "
            f"{r['lift_bgnbd'].lift[0]:.2f} | {own(r, 'lift')} | ({time.perf_counter() - start:.1f} s)",
            flush=True,
        )
        if target is None and segmenter is None:
            table = str(r["lift"])
    print("\nlift table, buys anything:\n" + table)


if __name__ == "__main__":
    main()

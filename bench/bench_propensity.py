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

    python bench/bench_propensity.py --classifiers

The classifier's two halves alone and together (rf.customers.propensity.make_classifier), at
evaluation cutoffs 2011-09-01, 10-01 and 11-01 (fitted on the three months before each): AUC for
"buys anything", and for each of the 8 best sellers (by lines) the mean AUC and the mean number
of the next month's buyers in the top 100, beside the customers' own past purchases.
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


def classifiers(data) -> None:
    from sklearn.base import clone
    from sklearn.metrics import roc_auc_score

    P = rf.customers.propensity
    ev = data.interactions.events
    who, when, money, item = ev.user_ids[ev.user], ev.time, ev.amount, ev.item_ids[ev.item]
    best = [
        str(i) for i in ev.item_ids[np.argsort(-np.bincount(ev.item, minlength=ev.item_ids.size), kind="stable")[:8]]
    ]
    day = 86400.0

    def hits(score, bought, n=100):
        return int(bought[np.lexsort((np.arange(score.size), -score))[:n]].sum())

    print("| cutoff | question | trees | linear | mean of both | own past |\n|---|---|---:|---:|---:|---:|")
    for cutoff in ("2011-09-01", "2011-10-01", "2011-11-01"):
        end = float(np.datetime64(cutoff, "s").astype(np.int64))  # epoch seconds, as the log's times
        rows = []
        for target in [None, *best]:

            def at(c, target=target):
                ids, X = P.features_at(who, when, money, item, cutoff=c, window=30, target=target)
                return X, P.labels_after(ids, who, when, item, cutoff=c, window=30, target=target, amounts=money)

            blocks = [at(end - (i + 1) * 30 * day) for i in range(3)]
            X, y = np.vstack([b[0] for b in blocks]), np.concatenate([b[1] for b in blocks])
            X_test, bought = at(end)
            both = P.make_classifier(P.feature_names())
            scores = [clone(part).fit(X, y).predict_proba(X_test)[:, 1] for _, part in both.estimators]
            scores.append(both.fit(X, y).predict_proba(X_test)[:, 1])
            if target is not None:
                scores.append(P.target_history_score(X_test))
            rows.append(([roc_auc_score(bought, s) for s in scores], [hits(s, bought) for s in scores]))
        auc = rows[0][0]
        print(f"| {cutoff} | buys anything: AUC | {auc[0]:.4f} | {auc[1]:.4f} | {auc[2]:.4f} | - |")
        mean_auc = np.mean([r[0] for r in rows[1:]], axis=0)
        mean_hits = np.mean([r[1] for r in rows[1:]], axis=0)
        print(f"| {cutoff} | a best seller: mean AUC | " + " | ".join(f"{v:.4f}" for v in mean_auc) + " |")
        print(
            f"| {cutoff} | a best seller: buyers in the top 100 | " + " | ".join(f"{v:.1f}" for v in mean_hits) + " |"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--window", type=float, default=30.0)
    parser.add_argument("--classifiers", action="store_true", help="the classifier's halves beside each other")
    args = parser.parse_args()
    data = rf.datasets.load_online_retail(args.shared / "online-retail" / "online_retail.csv.gz")
    if args.classifiers:
        return classifiers(data)
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

"""Re-ranking and beyond-accuracy measures: what diversity costs in accuracy on real data, and
the C++ kernels beside vectorised numpy implementations on a million customers.

    python bench/bench_rerank.py tradeoff [--shared ../shared/datasets]
    python bench/bench_rerank.py calibration [--shared ../shared/datasets]
    python bench/bench_rerank.py speed [--customers 1000000] [--items 10000] [--repeats 3]
    python bench/bench_rerank.py beyond [--customers 1000000] [--items 10000] [--repeats 3]
    python bench/bench_rerank.py categories --customers 20000 --items 1000000

tradeoff: per-user 80/20 split (seed 0) of MovieLens 100K and Online Retail; EASE (the tuned
regularization of bench_quality.py) proposes 100 candidates per customer, rf.campaign.rerank
keeps 10 with MMR at each diversity and novelty weight (the bonus of less-bought items), the
similarity to the chosen items counted by its largest value (MMR) or its mean;
similarity for MMR and for intra-list diversity alike: the items' cosine over the training
customers (100 neighbours each). Precision@10, NDCG@10, intra-list diversity, coverage and Gini,
and each against diversity 0, novelty 0 (the model's own top 10).

calibration: the same split and candidates on MovieLens 100K and latest-small, re-ranked to 10
with calibration to each customer's genre mix (Steck, RecSys 2018) at several weights: a film's
genres as its several categories (1/n each), or as one label per combination of genres.
Precision@10, NDCG@10 and Steck's miscalibration C_KL over the genres (alpha 0.01).

speed: top-100 candidates of --customers customers over --items items (popularity-skewed ids,
decreasing scores) re-ranked to 10 by MMR (diversity 0.3) against a sparse similarity with 100
neighbours per item: rf.campaign.rerank beside a vectorised numpy MMR (10 greedy steps over all
customers at once, the similarity as a dense float32 matrix so each step is one fancy-indexing
gather), the same lists checked; then rerank alone at 50, 100 and 200 candidates.

categories: one batch of --customers customers (e.g. 20000, recforge campaign's batch) over
--items products (e.g. 1000000) of two categories each, re-ranked 100 -> 10 with caps of 3:
the categories as labels (the membership built each call) beside rf.campaign.PreparedCategories.

beyond: the measures of 10-item lists for --customers customers: rf.evaluation.beyond_accuracy
beside numpy (unique, bincount and sort, gathers, every pair of positions through the dense
similarity, 100k sampled pairs of lists for personalisation), the numbers checked.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
from pathlib import Path

import numpy as np
import recforge as rf
import scipy.sparse as sp
from bench_quality import SHARED, load
from harness import measure_rounds, table

similarity_module = importlib.import_module("recforge.kernels.similarity")  # the module, not rf.similarity

DATA = {"ml-100k": 500.0, "online-retail": 100.0}
# (diversity, novelty, diversity_penalty); (0.4, 1.0, "max") is recforge campaign's default
SETTINGS = (
    *((d, 0.0, "max") for d in (0.0, 0.2, 0.4, 0.5, 0.6, 0.7)),
    *((d, 0.0, "mean") for d in (0.4, 0.5, 0.6, 0.7)),
    (0.0, 0.5, "max"),
    (0.0, 1.0, "max"),
    (0.4, 0.5, "max"),
    (0.4, 1.0, "max"),
    (0.6, 1.0, "mean"),
)


def tradeoff(shared: Path) -> None:
    print(
        "| data | diversity | penalty | novelty | P@10 | NDCG@10 | ILD | coverage | Gini | NDCG vs 0 | ILD vs 0 "
        "| coverage vs 0 |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, lam in DATA.items():
        train, test = rf.split.per_user_split(load(name, shared), 0.2, seed=0)
        users = np.flatnonzero(np.diff(test.indptr) > 0)
        model = rf.EASE(regularization=lam).fit(train)
        ids, scores = model.recommend(users, train[users], k=100)
        S = rf.similarity(sp.csr_matrix(train.T), k=100, metric="cosine")
        buyers = np.bincount(train.indices, minlength=train.shape[1])
        base = None
        for d, nov, penalty in SETTINGS:
            top, _ = rf.campaign.rerank(
                ids, scores, 10, diversity=d, similarity=S, diversity_penalty=penalty, novelty=nov,
                popularity=buyers, n_items=train.shape[1],
            )  # fmt: skip
            m = rf.metrics.ranking_metrics(top, test[users], 10)
            b = rf.evaluation.beyond_accuracy(top, train, similarity=S)
            row = (m["precision"], m["ndcg"], b["intra_list_diversity"], b["coverage"], b["gini"])
            base = base or row
            print(
                f"| {name} | {d:g} | {penalty} | {nov:g} | {row[0]:.4f} | {row[1]:.4f} | "
                f"{row[2]:.3f} | {row[3]:.3f} | {row[4]:.3f} | "
                f"{row[1] / base[1] - 1:+.1%} | {row[2] / base[2] - 1:+.1%} | {row[3] / base[3] - 1:+.1%} |",
                flush=True,
            )
        print(f"| {name} | ceiling of intra-list diversity (1.0): {1 / base[2] - 1:+.1%} over the model's own |")


CALIBRATIONS = (0.0, 0.5, 1.0, 2.0, 5.0)


def miscalibration(top, mix, membership, alpha: float = 0.01) -> float:
    """Steck's C_KL: the mean over customers of KL(p || (1 - alpha) q + alpha p), p the
    customer's genre mix, q their list's (each film's genres 1/n each)."""
    n, k = top.shape
    ok = top >= 0
    rows = np.repeat(np.arange(n), ok.sum(axis=1))
    chosen = sp.csr_matrix((np.ones(rows.size), (rows, top[ok])), shape=(n, membership.shape[0]))
    q = (chosen @ membership).toarray() / np.maximum(ok.sum(axis=1), 1)[:, None]
    p = mix.toarray()
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p / ((1 - alpha) * q + alpha * p)), 0.0)
    return float(terms.sum(axis=1).mean())


def calibration(shared: Path) -> None:
    """Calibration to the customers' genre mix on MovieLens (films of several genres), with the
    genres as each film's list of categories, and as one label per combination (what
    `--category-col genres` was before a film's genres were read as several)."""
    print("| data | categories | calibration | P@10 | NDCG@10 | C_KL (genres) | NDCG vs 0 | C_KL vs 0 |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, folder, kind in (("ml-100k", "ml-100k", "100k"), ("ml-latest-small", "ml-latest-small", "latest-small")):
        data = rf.datasets.load_movielens(kind, shared / folder)
        X = sp.csr_matrix(data.interactions.matrix, dtype=np.float32)
        X.data[:] = 1.0
        train, test = rf.split.per_user_split(X, 0.2, seed=0)
        users = np.flatnonzero(np.diff(test.indptr) > 0)
        ids, scores = rf.EASE(regularization=500.0).fit(train).recommend(users, train[users], k=100)
        genres = data.items["genres"]
        several = [g.split("|") for g in genres]
        membership = rf.campaign.PreparedCategories(several).membership
        mix, _ = rf.campaign.category_mix(train[users], several)
        base = None
        for label, categories in (("genres", several), ("combinations", genres)):
            for c in CALIBRATIONS:
                top, _ = rf.campaign.rerank(
                    ids, scores, 10, categories=categories, calibration=c, history=train[users], n_items=X.shape[1]
                )
                m = rf.metrics.ranking_metrics(top, test[users], 10)
                row = (m["precision"], m["ndcg"], miscalibration(top, mix, membership))
                base = base or row
                print(
                    f"| {name} | {label} | {c:g} | {row[0]:.4f} | {row[1]:.4f} | {row[2]:.4f} | "
                    f"{row[1] / base[1] - 1:+.1%} | {row[2] / base[2] - 1:+.1%} |",
                    flush=True,
                )


def synthetic_candidates(n: int, n_items: int, width: int, seed: int = 0):
    """Each customer's top-``width`` distinct items (popularity-skewed) with decreasing scores."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, n_items + 1) ** 0.8
    ids = np.empty((n, width), dtype=np.int64)
    cdf = np.cumsum(weights / weights.sum())
    block = 20_000
    for start in range(0, n, block):
        rows = min(block, n - start)
        draw = np.minimum(np.searchsorted(cdf, rng.random((rows, width * 3))), n_items - 1)
        draw.sort(axis=1)
        repeat = np.zeros(draw.shape, dtype=bool)
        repeat[:, 1:] = draw[:, 1:] == draw[:, :-1]
        key = np.where(repeat, 2.0, rng.random(draw.shape))  # distinct ids in random order, repeats last
        order = np.argsort(key, axis=1)[:, :width]
        ids[start : start + rows] = np.take_along_axis(draw, order, axis=1)
        short = np.flatnonzero((~repeat).sum(axis=1) < width)
        for r in short:  # rare: too few distinct draws; top up with fresh random ids
            u = np.unique(draw[r])
            extra = rng.permutation(np.setdiff1d(np.arange(n_items), u))[: width - u.size]
            ids[start + r] = rng.permutation(np.r_[u, extra])
    scores = np.sort(rng.random((n, width)).astype(np.float32), axis=1)[:, ::-1].copy()
    return ids, scores


def synthetic_similarity(n_items: int, neighbours: int = 100, seed: int = 1) -> sp.csr_matrix:
    """Random neighbours per item, made symmetric as rerank and beyond_accuracy do (once, here)."""
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(n_items), neighbours)
    cols = rng.integers(0, n_items, rows.size)
    S = sp.csr_matrix((rng.random(rows.size).astype(np.float32), (rows, cols)), shape=(n_items, n_items))
    S.sum_duplicates()
    return similarity_module.symmetric(S, n_items, np.float32)


def numpy_mmr(ids, scores, k: int, diversity: float, dense: np.ndarray, block: int = 50_000) -> np.ndarray:
    """MMR for all customers at once, ``block`` rows at a time: k greedy steps of whole-array
    operations, one gather from the dense similarity per step."""
    out = np.empty((ids.shape[0], k), dtype=np.int64)
    for start in range(0, ids.shape[0], block):
        c, s = ids[start : start + block], scores[start : start + block].astype(np.float64)
        lo, hi = s.min(axis=1, keepdims=True), s.max(axis=1, keepdims=True)
        rel = np.where(hi > lo, (s - lo) / np.where(hi > lo, hi - lo, 1.0), 1.0)
        max_sim = np.zeros_like(rel)
        taken = np.zeros(c.shape, dtype=bool)
        rows = np.arange(c.shape[0])
        for m in range(k):
            value = (1.0 - diversity) * rel - diversity * max_sim
            value[taken] = -np.inf
            best = value.argmax(axis=1)
            taken[rows, best] = True
            chosen = c[rows, best]
            out[start + rows, m] = chosen
            np.maximum(max_sim, dense[chosen[:, None], c], out=max_sim)
    return out


def speed(n: int, n_items: int, repeats: int) -> None:
    ids, scores = synthetic_candidates(n, n_items, 200)
    sym = synthetic_similarity(n_items)
    dense = sym.toarray()
    c100, s100 = np.ascontiguousarray(ids[:, :100]), np.ascontiguousarray(scores[:, :100])
    timings, results = measure_rounds(
        {
            "rf.campaign.rerank (MMR 0.3, 100 -> 10)": lambda: rf.campaign.rerank(
                c100, s100, 10, diversity=0.3, similarity=sym, n_items=n_items
            )[0],
            "numpy MMR, dense similarity": lambda: numpy_mmr(c100, s100, 10, 0.3, dense),
        },
        repeats=repeats,
        warmup=0,
        track_memory=False,
    )
    same = np.array_equal(*results.values())
    print(f"\n{n:,} customers, {n_items:,} items, similarity {sym.nnz:,} entries; same lists: {same}")
    print(table(timings, "rf.campaign.rerank (MMR 0.3, 100 -> 10)"))
    widths = {}
    for width in (50, 100, 200):
        c, s = np.ascontiguousarray(ids[:, :width]), np.ascontiguousarray(scores[:, :width])
        widths[f"{width} candidates"] = lambda c=c, s=s: rf.campaign.rerank(
            c, s, 10, diversity=0.3, similarity=sym, n_items=n_items
        )
    timings, _ = measure_rounds(widths, repeats=repeats, warmup=0, track_memory=False)
    print("\nrf.campaign.rerank by candidate count (seconds per million customers):")
    for t in timings:
        print(f"| {t.name} | {np.median(t.seconds) * 1e6 / n:.2f} s |")


def categories(n: int, n_items: int, repeats: int) -> None:
    """One batch of a campaign re-ranked with caps: the products' categories given as labels
    (the membership built again each call) or prepared once (rf.campaign.PreparedCategories)."""
    rng = np.random.default_rng(4)
    labels = [[f"g{a}", f"g{b}"] for a, b in rng.integers(0, 20, (n_items, 2))]  # two categories a product
    ids, scores = synthetic_candidates(n, n_items, 100)
    prepared = rf.campaign.PreparedCategories(labels)
    timings, results = measure_rounds(
        {
            "rf.campaign.rerank, categories prepared": lambda: rf.campaign.rerank(
                ids, scores, 10, categories=prepared, caps=3, n_items=n_items
            )[0],
            "rf.campaign.rerank, categories as labels": lambda: rf.campaign.rerank(
                ids, scores, 10, categories=labels, caps=3, n_items=n_items
            )[0],
        },
        repeats=repeats,
        warmup=0,
        track_memory=False,
    )
    same = np.array_equal(*results.values())
    print(
        f"\na batch of {n:,} customers, 100 -> 10 with caps of 3, {n_items:,} products of 2 categories; "
        f"same lists: {same}"
    )
    print(table(timings, "rf.campaign.rerank, categories prepared"))


def numpy_beyond(ids, train, dense: np.ndarray, n_pairs: int = 100_000, seed: int = 0) -> dict:
    n_users, n_items = train.shape
    buyers = np.bincount(train.indices, minlength=n_items).astype(np.float64)
    valid = ids >= 0
    flat = ids[valid]
    exposure = np.bincount(flat, minlength=n_items)
    c = np.sort(exposure)
    gini = np.sum((2 * np.arange(1, n_items + 1) - n_items - 1) * c) / (n_items * c.sum())
    sims, counted = np.zeros(ids.shape[0]), np.zeros(ids.shape[0])
    for a, b in itertools.combinations(range(ids.shape[1]), 2):
        both = valid[:, a] & valid[:, b]
        sims += np.where(both, dense[ids[:, a], ids[:, b]], 0.0)
        counted += both
    has = counted > 0
    rng = np.random.default_rng(seed)
    first, second = rng.integers(0, ids.shape[0], n_pairs), rng.integers(0, ids.shape[0] - 1, n_pairs)
    second += second >= first
    A, B = ids[first], ids[second]
    inter = ((A[:, :, None] == B[:, None, :]) & (A[:, :, None] >= 0)).sum(axis=(1, 2))
    union = (A >= 0).sum(1) + (B >= 0).sum(1) - inter
    return {
        "coverage": np.unique(flat).size / n_items,
        "gini": gini,
        "novelty": float(np.mean(-np.log2(np.maximum(buyers, 1) / n_users)[flat])),
        "mean_popularity": float(np.mean((buyers / n_users)[flat])),
        "intra_list_diversity": float(np.mean(1 - sims[has] / counted[has])),
        "personalisation": 1 - float(np.mean(inter / union)),
    }


def beyond(n: int, n_items: int, repeats: int) -> None:
    ids, _ = synthetic_candidates(n, n_items, 10, seed=2)
    sym = synthetic_similarity(n_items)
    dense = sym.toarray().astype(np.float64)
    rng = np.random.default_rng(3)  # 200k customers, ~20 items each (sp.random would shuffle 2e9 cells)
    rows, cols = rng.integers(0, 200_000, 4_000_000), rng.integers(0, n_items, 4_000_000)
    train = sp.csr_matrix((np.ones(rows.size, dtype=np.float32), (rows, cols)), shape=(200_000, n_items))
    train.sum_duplicates()
    timings, results = measure_rounds(
        {
            "rf.evaluation.beyond_accuracy": lambda: rf.evaluation.beyond_accuracy(ids, train, similarity=sym),
            "numpy": lambda: numpy_beyond(ids, train, dense),
        },
        repeats=repeats,
        warmup=0,
        track_memory=False,
    )
    ours, theirs = results["rf.evaluation.beyond_accuracy"], results["numpy"]
    print(f"\n{n:,} lists of 10 over {n_items:,} items:")
    print(table(timings, "rf.evaluation.beyond_accuracy"))
    for name, value in theirs.items():
        print(f"  {name}: recforge {ours[name]:.6f}, numpy {value:.6f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("tradeoff", "calibration", "speed", "beyond", "categories"))
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.what == "tradeoff":
        tradeoff(args.shared)
    elif args.what == "calibration":
        calibration(args.shared)
    elif args.what == "speed":
        speed(args.customers, args.items, args.repeats)
    elif args.what == "categories":
        categories(args.customers, args.items, args.repeats)
    else:
        beyond(args.customers, args.items, args.repeats)


if __name__ == "__main__":
    main()

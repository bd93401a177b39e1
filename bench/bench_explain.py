"""Explanations ("because you bought ..."): rf.campaign.Explainer beside a vectorised numpy
implementation on the same lists, in interleaved rounds.

    python bench/bench_explain.py [--users 100000] [--items 5000] [--nnz 500000] [--customers 100000]
                                  [--models ease,itemknn,als] [--repeats 3]

The synthetic set (bench/synthetic.py) at --users x --items; each model's top-10 for the first
--customers customers, then the 3 history items that contributed most to each recommended
item: x_ui * W[i, j] with EASE's exact weights or ItemKNN's similarity (top-50), x_ui *
cos(y_i, y_j) with ALS's item factors (64). numpy: every (list entry, history item) pair at
once (each history repeated k times), its contribution gathered from W (dense for EASE, CSR
lookups through scipy for ItemKNN) or from a row-wise dot product, then one lexsort by entry,
contribution and item and the first 3 of each entry: the same answer, checked.
"""

from __future__ import annotations

import argparse

import numpy as np
import recforge as rf
import scipy.sparse as sp
from harness import measure_rounds, table
from synthetic import power_law_interactions

TOP = 3


def numpy_explain(H: sp.csr_matrix, lists: np.ndarray, links, top: int = TOP):
    """The ``top`` contributions x_ui * links(i, j) > 0 of each list entry, as the kernel ranks
    them (larger first, ties to the lower item), padded with -1 / 0."""
    n, k = lists.shape
    lengths = np.diff(H.indptr)
    # every (entry, history item) pair: entry e = u * k + r, the history of u repeated k times
    entry = np.repeat(np.arange(n * k), np.repeat(lengths, k))
    starts = np.repeat(H.indptr[:-1], k)
    within = np.arange(entry.size) - np.repeat(
        np.cumsum(np.repeat(lengths, k)) - np.repeat(lengths, k), np.repeat(lengths, k)
    )
    at = starts[entry] + within
    i, x = H.indices[at].astype(np.int64), H.data[at].astype(np.float64)
    j = lists.reshape(-1)[entry]
    keep = (j >= 0) & (i != j)
    entry, i, j, x = entry[keep], i[keep], j[keep], x[keep]
    c = x * links(i, j)
    keep = c > 0
    entry, i, c = entry[keep], i[keep], c[keep]
    order = np.lexsort((i, -c, entry))
    entry, i, c = entry[order], i[order], c[order]
    first = np.searchsorted(entry, entry, side="left")
    rank = np.arange(entry.size) - first
    keep = rank < top
    items = np.full((n * k, top), -1, dtype=np.int64)
    contributions = np.zeros((n * k, top))
    items[entry[keep], rank[keep]] = i[keep]
    contributions[entry[keep], rank[keep]] = c[keep]
    return items.reshape(n, k, top), contributions.reshape(n, k, top)


def links_of(model):
    """links(i, j) for the numpy side: W[i, j] or cos(y_i, y_j)."""
    kind, basis = rf.campaign.explanation_basis(model)
    if kind == "factors":
        Y = np.asarray(basis, dtype=np.float64)
        return lambda i, j: np.einsum("ef,ef->e", Y[i], Y[j])
    W = sp.csr_matrix(basis)
    if W.nnz > 0.5 * W.shape[0] * W.shape[1]:  # EASE: dense lookups
        D = W.toarray().astype(np.float64)
        return lambda i, j: D[i, j]
    W.sort_indices()
    return lambda i, j: np.asarray(W[i, j], dtype=np.float64).reshape(-1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=5_000)
    parser.add_argument("--nnz", type=int, default=500_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--models", default="ease,itemknn,als")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    X = power_law_interactions(args.users, args.items, args.nnz)
    users = np.arange(min(args.customers, X.shape[0]))
    H = X[users]
    makers = {
        "ease": lambda: rf.EASE(regularization=300.0),
        "itemknn": lambda: rf.ItemKNN(neighbours=50, metric="cosine"),
        "als": lambda: rf.ALS(factors=64, iterations=5, random_state=0),
    }
    print(f"{args.users:,} users x {args.items:,} items, {X.nnz:,} interactions; {users.size:,} customers' top-10")
    for name in args.models.split(","):
        model = makers[name]().fit(X)
        lists, _ = model.recommend(users, H, k=10)
        explainer = rf.campaign.Explainer(model)
        links = links_of(model)
        contenders = {
            f"recforge {name}": lambda explainer=explainer, lists=lists: explainer.explain(H, lists, TOP),
            f"numpy {name}": lambda lists=lists, links=links: numpy_explain(H, lists, links),
        }
        timings, results = measure_rounds(contenders, repeats=args.repeats, warmup=1, track_memory=False)
        ours, ref = results[f"recforge {name}"], results[f"numpy {name}"]
        same = np.array_equal(ours[0], ref[0]) and np.allclose(ours[1], ref[1], rtol=1e-5, atol=1e-7)
        print(f"\n{name}: explanations identical: {same}")
        print(table(timings, f"recforge {name}"))


if __name__ == "__main__":
    main()

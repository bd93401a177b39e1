"""Rendering a campaign's personalised messages: ``MessageTemplate.render_lists`` with worker
processes (one per CPU) beside the same call in this process, and beside the loop a user would
write (a context dict per customer, ``render`` each), with the default template.

    python bench/bench_messages.py [--customers 515000] [--k 10] [--repeats 3]

The campaign is shaped as ``recforge campaign`` writes it on 1M synthetic events: ten products
per customer, a reason for half of them, 50k products, three segments. The messages of every
contender are checked to be the same.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import recforge as rf  # noqa: E402
from harness import measure_rounds, table  # noqa: E402


def campaign(n_customers: int, k: int, n_items: int = 50_000, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    products = np.char.add("P", np.char.zfill(np.arange(n_items).astype(str), 5))
    return {
        "customers": np.char.add("C", np.char.zfill(np.arange(n_customers).astype(str), 8)).astype(object),
        "recommended": rng.integers(0, n_items, (n_customers, k)),
        "descriptions": np.char.add(products, " WITH A LONGER NAME").astype(object),
        "item_ids": products.astype(object),
        "scores": np.sort(rng.random((n_customers, k)).astype(np.float32), axis=1)[:, ::-1],
        "reasons": np.where(rng.random((n_customers, k)) < 0.5, rng.integers(0, n_items, (n_customers, k)), -1),
        "segments": np.array(["Champions", "At Risk", "Others"], dtype=object)[np.arange(n_customers) % 3],
    }


def python_loop(template, c: dict) -> list:
    """A context dict per customer and ``render``: what a user writes without render_lists."""
    out = []
    for u in range(c["customers"].size):
        items = [
            {
                "rank": r + 1,
                "item": c["item_ids"][j],
                "description": c["descriptions"][j],
                "score": float(c["scores"][u, r]),
                "reason": c["descriptions"][c["reasons"][u, r]] if c["reasons"][u, r] >= 0 else "",
            }
            for r, j in enumerate(c["recommended"][u])
            if j >= 0
        ]
        out.append(template.render({"customer": c["customers"][u], "segment": c["segments"][u], "items": items}))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=515_000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    c = campaign(args.customers, args.k)
    template = rf.campaign.MessageTemplate(rf.campaign.default_template())
    arrays = (c["customers"], c["recommended"], c["descriptions"])
    options = {key: c[key] for key in ("item_ids", "scores", "reasons", "segments")}
    cpus = rf.config()["available_cpus"]
    print(f"{args.customers:,} customers x {args.k} products; {cpus} CPUs")
    timings, results = measure_rounds(
        {
            f"render_lists, {cpus} workers": lambda: template.render_lists(*arrays, **options),
            "render_lists, this process": lambda: template.render_lists(*arrays, n_workers=1, **options),
            "a context per customer, render": lambda: python_loop(template, c),
        },
        repeats=args.repeats,
        track_memory=False,  # the workers' memory is not this process's
    )
    first, *others = results.values()
    print(f"the same messages: {all(r == first for r in others)}")
    print(table(timings, f"render_lists, {cpus} workers"))


if __name__ == "__main__":
    main()

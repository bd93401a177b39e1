"""PNG charts of the customer side: segment sizes and revenue, lift by decile, the P(alive)
distribution. matplotlib (the ``plot`` extra), drawn off-screen and written atomically."""

from __future__ import annotations

import textwrap

import numpy as np

from .._atomic import atomic_path
from .._checks import as_numbers, check_int


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display needed, none opened
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("charts need matplotlib: pip install 'recforge[plot]'") from None
    return plt


def check_available() -> None:
    """Raise ImportError, with the way out, when matplotlib is not installed."""
    _pyplot()


def _save(fig, path) -> None:
    plt = _pyplot()
    if not str(path).lower().endswith(".png"):
        plt.close(fig)
        raise ValueError(f"charts are written as PNG: {str(path)!r} must end with .png")
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    finally:
        plt.close(fig)


def segment_chart(profile, path) -> None:
    """Each segment's share of customers beside its share of revenue (a SegmentProfile)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1.2 * len(profile.segment) + 3, 4.5))
    x = np.arange(len(profile.segment))
    ax.bar(x - 0.2, profile.customer_share * 100, 0.4, label="customers")
    ax.bar(x + 0.2, profile.revenue_share * 100, 0.4, label="revenue")
    # each segment with the named RFM segment most of its customers are in ("Champions 81%")
    # on lines of their own: side by side, "Loyal Customers 36%" ran into "Potential Loyalist 38%"
    named = [profile.rfm_segment[i] if i < len(profile.rfm_segment) else None for i in range(len(x))]
    ax.set_xticks(
        x, [f"{s}\n{textwrap.fill(n[0], 11)}\n{n[1]:.0%}" if n else str(s) for s, n in zip(profile.segment, named)]
    )
    ax.set_xlabel("segment")
    ax.set_ylabel("% of all")
    ax.legend()
    ax.set_title("Segments: share of customers and of revenue")
    _save(fig, path)


def lift_chart(tables: dict, path) -> None:
    """Lift by decile of several rankings ({"model": LiftTable, "recency": LiftTable, ...})."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, table in tables.items():
        ax.plot(table.decile, table.lift, marker="o", label=name)
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_xlabel("decile (1 = highest score)")
    ax.set_ylabel("lift (response rate / average)")
    ax.legend()
    ax.set_title("Lift by decile")
    _save(fig, path)


def alive_chart(p_alive, path, bins: int = 20, model: str = "BG/NBD") -> None:
    """Histogram of P(alive) over customers, under ``model`` (the title names it)."""
    plt = _pyplot()
    values = as_numbers(p_alive, "p_alive")
    bins = check_int(bins, "bins", minimum=1)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(values, bins=bins, range=(0.0, 1.0))
    ax.set_xlabel("P(alive)")
    ax.set_ylabel("customers")
    ax.set_title(f"P(alive) of {values.size:,} customers ({model})")
    _save(fig, path)

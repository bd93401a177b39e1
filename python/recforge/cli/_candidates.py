"""Candidates for re-ranking from a ColdStart model whose lists trending completed.

ColdStart returns each path's own scores: a neighbour model's (about 1) beside trending's
decayed purchase counts (about 100) in one list. Re-ranking scales each list's scores to
[0, 1], so the trending products that completed a short list would outrank every product the
model chose. In such a list the model's products are scaled to [FLOOR, 1] and the trending
products below FLOOR, in ColdStart's order; the scores written are the candidates' own.
"""

from __future__ import annotations

import numpy as np

from ..models import ColdStart

POPULAR = ColdStart.PATHS.index("popular")
# Relevance under which a completed list's trending products sit: the model's products keep
# 95% of their spread (their places against diversity and novelty barely move)
FLOOR = 0.05


def relevance(scores: np.ndarray, paths: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Scores to re-rank by (float64): in a list holding both the model's products and trending
    ones, the model's min-max scaled to [FLOOR, 1] (1 where they are all equal) and trending's
    in (0, FLOOR) in their order; lists of one path keep their scores."""
    scores = np.asarray(scores, dtype=np.float64).copy()
    filled = (paths == POPULAR) & (ids >= 0)
    own = (paths != POPULAR) & (ids >= 0)
    rows = np.flatnonzero(filled.any(axis=1) & own.any(axis=1))
    if rows.size == 0:
        return scores
    sub, mine, added = scores[rows], own[rows], filled[rows]
    low = np.where(mine, sub, np.inf).min(axis=1, keepdims=True)
    spread = np.where(mine, sub, -np.inf).max(axis=1, keepdims=True) - low
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.where(spread > 0, (sub - low) / spread, 1.0)
    order = np.cumsum(added, axis=1)  # 1, 2, ... along each list's trending products
    below = FLOOR * (1 - order / (added.sum(axis=1, keepdims=True) + 1))
    scores[rows] = np.where(mine, FLOOR + (1 - FLOOR) * scaled, np.where(added, below, sub))
    return scores


def positions(candidates: np.ndarray, top: np.ndarray) -> np.ndarray:
    """Each product of ``top`` (a re-ranked list of ``candidates``) at its candidate position,
    -1 for padding."""
    at = np.argmax(candidates[:, None, :] == top[:, :, None], axis=2)
    return np.where(top >= 0, at, -1)


def picked(values: np.ndarray, at: np.ndarray, fill):
    """``values`` (per candidate) of the products at candidate positions ``at``; ``fill`` for -1."""
    return np.where(at >= 0, np.take_along_axis(values, np.maximum(at, 0), axis=1), fill)

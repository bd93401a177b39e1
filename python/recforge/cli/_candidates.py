"""Which path of a ColdStart model each product of a re-ranked list came from: the lists
that trending completed (campaign's count, demo's "answered by")."""

from __future__ import annotations

import numpy as np

from ..models import ColdStart

POPULAR = ColdStart.PATHS.index("popular")


def positions(candidates: np.ndarray, top: np.ndarray) -> np.ndarray:
    """Each product of ``top`` (a re-ranked list of ``candidates``) at its candidate position,
    -1 for padding."""
    if 0 in candidates.shape or 0 in top.shape:
        return np.full(top.shape, -1, dtype=np.int64)
    at = np.argmax(candidates[:, None, :] == top[:, :, None], axis=2)
    return np.where(top >= 0, at, -1)


def picked(values: np.ndarray, at: np.ndarray, fill):
    """``values`` (per candidate) of the products at candidate positions ``at``; ``fill`` for -1."""
    if 0 in at.shape:
        return np.full(at.shape, fill, dtype=values.dtype)
    return np.where(at >= 0, np.take_along_axis(values, np.maximum(at, 0), axis=1), fill)

"""Which path of a ColdStart model each product of a re-ranked list came from: the lists
that trending completed (campaign's count, demo's "answered by")."""

from __future__ import annotations

import numpy as np

from ..campaign.rerank import at_positions, candidate_positions
from ..models import ColdStart

POPULAR = ColdStart.PATHS.index("popular")


def chosen_paths(candidates: np.ndarray, paths: np.ndarray, top: np.ndarray) -> np.ndarray:
    """The ColdStart path of each product of ``top`` (a re-ranked list of ``candidates``), -1
    for padding."""
    return at_positions(paths, candidate_positions(candidates, top), -1)

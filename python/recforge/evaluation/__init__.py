"""Offline evaluation: splits (:mod:`.split`, public as ``recforge.split``),
evaluate / compare / cross_validate (:mod:`.evaluate`) and tune (:mod:`.tune`, default spaces
in :mod:`.spaces`)."""

from . import split
from .evaluate import Comparison, compare, cross_validate, evaluate
from .spaces import SPACES, default_space
from .tune import TuneResult, tune

__all__ = [
    "SPACES",
    "Comparison",
    "TuneResult",
    "compare",
    "cross_validate",
    "default_space",
    "evaluate",
    "split",
    "tune",
]

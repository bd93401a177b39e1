"""Offline evaluation: splits (:mod:`.split`, public as ``recforge.split``),
evaluate / compare / cross_validate (:mod:`.evaluate`) and tune (:mod:`.tune`)."""

from . import split
from .evaluate import Comparison, compare, cross_validate, evaluate
from .tune import TuneResult, tune

__all__ = ["Comparison", "TuneResult", "compare", "cross_validate", "evaluate", "split", "tune"]

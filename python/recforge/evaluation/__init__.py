"""Offline evaluation: splits (:mod:`.split`, public as ``recforge.split``) and
evaluate / compare / cross_validate (:mod:`.evaluate`)."""

from . import split
from .evaluate import Comparison, compare, cross_validate, evaluate

__all__ = ["Comparison", "compare", "cross_validate", "evaluate", "split"]

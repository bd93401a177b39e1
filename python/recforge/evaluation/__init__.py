"""Offline evaluation: splits (:mod:`.split`, public as ``recforge.split``),
evaluate / compare / cross_validate (:mod:`.evaluate`), beyond-accuracy measures
(:mod:`.beyond`), the rating error of the models that predict ratings (:mod:`.ratings`) and
tune (:mod:`.tune`, default spaces in :mod:`.spaces`)."""

from . import split
from .beyond import BEYOND_METRICS, beyond_accuracy
from .evaluate import Comparison, compare, cross_validate, evaluate
from .ratings import RATING_METRICS
from .spaces import SPACES, default_space
from .tune import TuneResult, tune

__all__ = [
    "BEYOND_METRICS",
    "RATING_METRICS",
    "SPACES",
    "Comparison",
    "TuneResult",
    "beyond_accuracy",
    "compare",
    "cross_validate",
    "default_space",
    "evaluate",
    "split",
    "tune",
]

"""Know the customer: transaction summaries, RFM scores and segments (k-means, profiles),
lifetime value and churn risk (BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma) with its check on a
holdout period, purchase propensity, and charts."""

from . import charts  # matplotlib itself waits for the first chart
from .bgnbd import BetaGeoFitter, ModifiedBetaGeoFitter
from .calibration import CalibrationHoldout, HoldoutCheck, calibration_holdout
from .gamma_gamma import GammaGammaFitter
from .pareto_nbd import ParetoNBDFitter
from .propensity import (
    FEATURES,
    LiftTable,
    Propensity,
    feature_names,
    features_at,
    labels_after,
    lift_table,
    summary_before,
    target_history_score,
)
from .rfm import RFM, SEGMENTS, quantile_scores, rfm, segment
from .segments import Segmenter, SegmentProfile, behaviour, profile
from .summary import CustomerSummary, summary
from .value import lifetime_value

__all__ = [
    "FEATURES",
    "RFM",
    "SEGMENTS",
    "BetaGeoFitter",
    "CalibrationHoldout",
    "CustomerSummary",
    "GammaGammaFitter",
    "HoldoutCheck",
    "LiftTable",
    "ModifiedBetaGeoFitter",
    "ParetoNBDFitter",
    "Propensity",
    "SegmentProfile",
    "Segmenter",
    "behaviour",
    "calibration_holdout",
    "charts",
    "feature_names",
    "features_at",
    "labels_after",
    "lifetime_value",
    "lift_table",
    "profile",
    "quantile_scores",
    "rfm",
    "segment",
    "summary",
    "summary_before",
    "target_history_score",
]

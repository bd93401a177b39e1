"""Know the customer: transaction summaries, RFM scores and segments, lifetime value and churn
risk (BG/NBD, Gamma-Gamma)."""

from .bgnbd import BetaGeoFitter
from .gamma_gamma import GammaGammaFitter
from .rfm import RFM, SEGMENTS, quantile_scores, rfm, segment
from .segments import Segmenter, SegmentProfile, behaviour, profile
from .summary import CustomerSummary, summary
from .value import lifetime_value

__all__ = [
    "RFM",
    "SEGMENTS",
    "BetaGeoFitter",
    "CustomerSummary",
    "GammaGammaFitter",
    "SegmentProfile",
    "Segmenter",
    "behaviour",
    "lifetime_value",
    "profile",
    "quantile_scores",
    "rfm",
    "segment",
    "summary",
]

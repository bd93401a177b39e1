"""Know the customer: transaction summaries, lifetime value and churn risk (BG/NBD,
Gamma-Gamma)."""

from .bgnbd import BetaGeoFitter
from .gamma_gamma import GammaGammaFitter
from .summary import CustomerSummary, summary
from .value import lifetime_value

__all__ = ["BetaGeoFitter", "CustomerSummary", "GammaGammaFitter", "lifetime_value", "summary"]

"""The last mile of personalised marketing: re-ranking the candidates to the list a customer
receives (diversity, calibration, business rules), why each item is there, keyed pseudonyms for exports, and the
personalised message; control groups to measure it by."""

from .categories import PreparedCategories, category_mix
from .explain import Explainer, explain, explanation_basis
from .holdout import holdout, lift, mean_lift
from .message import MessageTemplate, default_template
from .privacy import load_key, pseudonymise
from .rerank import PreparedSimilarity, rerank

__all__ = [
    "Explainer",
    "MessageTemplate",
    "PreparedCategories",
    "PreparedSimilarity",
    "category_mix",
    "default_template",
    "explain",
    "explanation_basis",
    "holdout",
    "lift",
    "load_key",
    "mean_lift",
    "pseudonymise",
    "rerank",
]

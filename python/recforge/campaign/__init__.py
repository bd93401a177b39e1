"""The last mile of personalised marketing: re-ranking the candidates to the list a customer
receives (diversity, calibration, business rules)."""

from .rerank import category_mix, rerank

__all__ = ["category_mix", "rerank"]

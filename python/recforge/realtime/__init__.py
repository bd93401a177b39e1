"""Real-time personalisation: customers' live state beside a fitted model (issue 19, in
progress: exploration, snapshots and the service come next)."""

from .online import CustomerState, OnlineRecommender

__all__ = ["CustomerState", "OnlineRecommender"]

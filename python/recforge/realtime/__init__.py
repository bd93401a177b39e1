"""Real-time personalisation: customers' live state beside a fitted model, exploration from
feedback, offline evaluation of policies from their logs, and the HTTP/JSON service
(:mod:`recforge.realtime.service`, imported on its own: it needs the serve extra)."""

from .explore import EpsilonGreedy, ThompsonSampling
from .offpolicy import ips, replay, snips
from .online import CustomerState, OnlineRecommender

__all__ = ["CustomerState", "EpsilonGreedy", "OnlineRecommender", "ThompsonSampling", "ips", "replay", "snips"]

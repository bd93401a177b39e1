"""Real-time personalisation: customers' live state beside a fitted model, exploration from
feedback, and offline evaluation of policies from their logs (issue 19, in progress: the HTTP
service comes next)."""

from .explore import EpsilonGreedy, ThompsonSampling
from .offpolicy import ips, replay, snips
from .online import CustomerState, OnlineRecommender

__all__ = ["CustomerState", "EpsilonGreedy", "OnlineRecommender", "ThompsonSampling", "ips", "replay", "snips"]

"""Thin Python wrappers of the C++ kernels: each validates its arguments once and calls
``recforge._core``.

- :mod:`.similarity`: sparse item-item / user-user similarity with fused top-k;
- :mod:`.topk`: batched top-k over dense factors or a sparse similarity;
- :mod:`.metrics`: ranking metrics, coverage, rating errors (public as ``recforge.metrics``);
- :mod:`.weighting`: the centrings applied before a similarity.
"""

from .similarity import METRICS, similarity
from .topk import topk, topk_sparse

__all__ = ["METRICS", "similarity", "topk", "topk_sparse"]

"""Default search spaces for :func:`recforge.tune` and ``recforge evaluate --tune``: for each model,
ranges that held its tuned optimum on MovieLens 100K (all ratings, and ratings >= 4), MovieLens
latest-small and Online Retail (``bench/bench_quality.py``), with the default in the middle."""

from __future__ import annotations

# By class name (a subclass without its own entry takes its parent's).
SPACES: dict[str, dict[str, list]] = {
    "EASE": {"regularization": [50.0, 100.0, 200.0, 300.0, 500.0, 1000.0, 2000.0]},
    "SparseEASE": {"regularization": [50.0, 100.0, 200.0, 500.0, 1000.0], "neighbours": [100, 200, 400]},
    "RP3beta": {
        "alpha": [0.4, 0.5, 0.6, 0.7, 0.8, 1.0],
        "beta": [0.3, 0.4, 0.5, 0.6, 0.7],
        "neighbours": [50, 100, 200],
        "binary": [True, False],
    },
    # ALS is under-regularized below ~1 on every one of these sets (precision@10 on MovieLens
    # 100K: 0.29 at 0.05, 0.37 at 30)
    "ALS": {"factors": [64, 128], "regularization": [1.0, 10.0, 30.0, 100.0], "alpha": [0.0, 4.0, 9.0, 19.0]},
    "BPR": {"factors": [64, 128], "learning_rate": [0.01, 0.05, 0.1], "regularization": [0.0001, 0.001, 0.01]},
    # binary: the weights win on MovieLens' ratings, 0/1 on Online Retail's counts
    "ItemKNN": {"neighbours": [20, 50, 100, 200], "metric": ["cosine", "bm25", "tfidf"], "binary": [False, True]},
    "UserKNN": {"neighbours": [20, 50, 100, 200], "metric": ["cosine", "bm25", "tfidf"]},
    "BiasedMF": {"factors": [16, 32, 64], "regularization": [0.01, 0.02, 0.05, 0.1]},
    "KNNRegressor": {"neighbours": [20, 40, 80]},
}


def default_space(model_class) -> dict[str, list]:
    """The default search space of ``model_class`` (a copy); {} for a model with nothing to tune
    (Popularity)."""
    for cls in getattr(model_class, "__mro__", ()):
        if cls.__name__ in SPACES:
            return {name: list(values) for name, values in SPACES[cls.__name__].items()}
    return {}

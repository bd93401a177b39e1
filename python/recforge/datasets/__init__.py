"""Public datasets, ready for recforge: MovieLens and Online Retail, read from local files or
downloaded once (verified) into a cache folder, and a sample of Online Retail shipped inside
the package (:func:`sample`, offline).

The cache folder is ``$RECFORGE_DATA``, default ``~/.cache/recforge``.
"""

from ._dataset import Dataset
from ._download import data_home
from .movielens import load_movielens
from .online_retail import load_online_retail, sample

__all__ = ["Dataset", "data_home", "load_movielens", "load_online_retail", "sample"]

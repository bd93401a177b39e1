"""recforge on a Dask cluster (the distributed extra): batch recommendation over a Dask
DataFrame or a Parquet dataset, each partition scored by the compiled kernels on the workers,
the model shipped once per worker; similarity by row ranges of equal pair work; ALS in blocks
of users and items. Each gives what one process gives, bit for bit.

Out of core on one machine, without Dask: :mod:`recforge.batch`.
"""

try:
    import dask.dataframe  # noqa: F401
    import distributed  # noqa: F401
except ImportError as e:  # the extra is optional
    raise ImportError(
        "recforge.distributed runs on Dask: pip install 'recforge[distributed]' (dask[dataframe] and distributed)"
    ) from e

from .als import ALS
from .scoring import recommend
from .similarity import similarity

__all__ = ["ALS", "recommend", "similarity"]

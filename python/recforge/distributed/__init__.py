"""recforge on a Dask cluster (the distributed extra): batch recommendation over a Dask
DataFrame or a Parquet dataset, each partition scored by the compiled kernels on the workers,
the model shipped once per worker.

Out of core on one machine, without Dask: :mod:`recforge.batch`.
"""

try:
    import dask.dataframe  # noqa: F401
    import distributed  # noqa: F401
except ImportError as e:  # the extra is optional
    raise ImportError(
        "recforge.distributed runs on Dask: pip install 'recforge[distributed]' (dask[dataframe] and distributed)"
    ) from e

from .scoring import recommend

__all__ = ["recommend"]

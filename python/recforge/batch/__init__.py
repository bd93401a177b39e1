"""Batch recommendation beyond memory: events split by customer into blocks on disk, each block
scored by the compiled kernels and written as its own Parquet file, resumably
(:func:`recommend`). Needs pandas and pyarrow (the io extra); the Dask version, across
machines, is :mod:`recforge.distributed`."""

from .score import BlockScorer, collect, recommend

__all__ = ["BlockScorer", "collect", "recommend"]

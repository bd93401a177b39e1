"""Raw ids -> dense codes: the one place recforge hashes user and item ids.

pandas' hash-table factorize is used when pandas is installed (it is several times faster than
sorting); without it, numpy's sort-based ``unique`` gives the same answer. Either way codes
follow first appearance, so the same events always give the same id maps.
"""

from __future__ import annotations

import numpy as np

try:  # optional: the ``io`` extra
    import pandas as pd
except ImportError:  # pragma: no cover - exercised by monkeypatching in the tests
    pd = None


def missing_mask(values: np.ndarray) -> np.ndarray:
    """Where ids are missing: None, NaN or NaT."""
    if pd is not None:
        return np.asarray(pd.isna(values), dtype=bool)
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind == "M":
        return np.isnat(values)
    if values.dtype == object:
        return np.fromiter((v is None or v != v for v in values), dtype=bool, count=values.size)
    return np.zeros(values.size, dtype=bool)


def to_numpy(values) -> np.ndarray:
    """A 1-D numpy array of ``values`` (pandas Series and extension arrays included; missing
    values of nullable dtypes become None or NaN)."""
    if pd is not None and isinstance(values, (pd.Series, pd.Index, pd.api.extensions.ExtensionArray)):
        if isinstance(values.dtype, pd.api.extensions.ExtensionDtype) and values.dtype.kind in "iub":
            return values.to_numpy(dtype=object, na_value=None) if values.isna().any() else values.to_numpy()
        if isinstance(values.dtype, pd.api.extensions.ExtensionDtype):
            return values.to_numpy(dtype=object, na_value=None)
        return values.to_numpy()
    array = np.asarray(values)
    return array.reshape(1) if array.ndim == 0 else array


def factorize(values, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Codes (int64, -1 where the id is missing: None, NaN, NaT) and the distinct ids in order
    of first appearance.

    Raises
    ------
    TypeError
        The ids cannot be compared (e.g. a mix of numbers and strings without pandas).
    """
    if pd is not None:
        codes, uniques = pd.factorize(values if isinstance(values, (pd.Series, pd.Index)) else to_numpy(values))
        return np.asarray(codes, dtype=np.int64), to_numpy(uniques)
    array = to_numpy(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    missing = missing_mask(array)
    present = array[~missing] if missing.any() else array
    try:
        uniques, first, inverse = np.unique(present, return_index=True, return_inverse=True)
    except TypeError as e:
        raise TypeError(f"{name} mixes ids that cannot be compared ({e}); use one type, e.g. str") from None
    order = np.argsort(first, kind="stable")  # sorted -> first-appearance order
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    codes = np.full(array.size, -1, dtype=np.int64)
    codes[~missing] = rank[inverse.reshape(-1)]
    return codes, uniques[order]


def lookup(known: np.ndarray, raw) -> np.ndarray:
    """Positions of ``raw`` ids in ``known`` (distinct ids), -1 where absent."""
    if pd is not None:
        return np.asarray(pd.Index(known).get_indexer(to_numpy(raw)), dtype=np.int64)
    table = {v: i for i, v in enumerate(known.tolist())}
    return np.fromiter((table.get(v, -1) for v in to_numpy(raw).tolist()), dtype=np.int64)

"""Event times as float64 seconds since the Unix epoch (NaN where missing), whatever the input:
numbers (taken as seconds already), numpy datetime64, pandas datetimes (time-zone aware ones in
UTC) or ISO 8601 strings."""

from __future__ import annotations

import numpy as np

from ._factorize import pd, to_numpy


def _numbers_in_text(values) -> np.ndarray | None:
    """Epoch seconds written as text (a CSV column read as strings), else None."""
    try:
        if pd is not None:
            return np.asarray(pd.to_numeric(values), dtype=np.float64)
        return np.array([np.nan if v is None or v != v or v == "" else float(v) for v in to_numpy(values).tolist()])
    except (ValueError, TypeError):
        return None


def as_seconds(values, name: str) -> np.ndarray:
    array = to_numpy(values)
    if array.dtype.kind in "OUS" or (pd is not None and pd.api.types.is_string_dtype(getattr(values, "dtype", None))):
        numbers = _numbers_in_text(values)
        if numbers is not None:
            return numbers
    if pd is not None and isinstance(values, (pd.Series, pd.Index)):
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            values = (
                values.dt.tz_convert("UTC").dt.tz_localize(None)
                if isinstance(values, pd.Series)
                else values.tz_convert("UTC").tz_localize(None)
            )
        if values.dtype.kind in "O" or pd.api.types.is_string_dtype(values.dtype):
            try:
                values = pd.to_datetime(values)
            except (ValueError, TypeError) as e:
                raise ValueError(f"{name} holds values that are not times: {e}") from None
    array = to_numpy(values)
    if array.dtype.kind in "iuf":
        return array.astype(np.float64)
    if array.dtype.kind in "OUS":
        try:
            array = (
                np.array([None if v is None or v != v else v for v in array.tolist()], dtype="datetime64[ns]")
                if array.dtype == object
                else array.astype("datetime64[ns]")
            )
        except (ValueError, TypeError) as e:
            raise ValueError(f"{name} holds values that are not times: {e}") from None
    if array.dtype.kind != "M":
        raise TypeError(
            f"{name} must hold numbers (epoch seconds), datetimes or ISO 8601 strings, got dtype {array.dtype}"
        )
    seconds = (array - np.datetime64(0, "s")) / np.timedelta64(1, "s")
    return np.where(np.isnat(array), np.nan, seconds).astype(np.float64)

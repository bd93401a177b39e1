"""Raw customer and product ids in recforge's ``.npz`` files, stored so they read back exactly.

numpy's fixed-width strings drop trailing NUL characters ('x\\x00' would come back as 'x' and
collide with it), and int64 cannot hold every Python int. So an id array is stored as:

- ``key``: a numeric numpy array as it is, all-int ids that fit in int64 as int64, all-str ids
  without a trailing NUL as fixed-width unicode (the common, fast case);
- ``key.utf8`` + ``key.offsets``: other all-str ids, as their UTF-8 bytes and the offsets between;
- ``key.json``: all-int ids beyond int64, as a JSON list (exact for any size).

Ids that are neither all strings nor all integers are refused with a clear TypeError.
"""

from __future__ import annotations

import json

import numpy as np

_INT64 = np.iinfo(np.int64)


def encode_ids(ids: np.ndarray, key: str, name: str) -> dict:
    """The npz entries (name -> array) that hold ``ids`` under ``key``; see the module notes."""
    ids = np.asarray(ids)
    if ids.dtype != object and ids.dtype.kind in "iufb":
        return {key: ids}
    values = ids.tolist()
    if all(isinstance(v, str) for v in values):
        if not any(v.endswith("\x00") for v in values):
            return {key: np.array(values, dtype=str)}
        encoded = [v.encode("utf-8", "surrogatepass") for v in values]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in encoded], out=offsets[1:])
        return {f"{key}.utf8": np.frombuffer(b"".join(encoded), dtype=np.uint8), f"{key}.offsets": offsets}
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in values):
        if all(_INT64.min <= int(v) <= _INT64.max for v in values):
            return {key: np.array(values, dtype=np.int64)}
        return {f"{key}.json": np.array(json.dumps([int(v) for v in values]))}
    raise TypeError(f"{name} can be saved when they are all strings or all integers; convert them first")


def has_ids(entries, key: str) -> bool:
    names = set(entries)
    return key in names or f"{key}.utf8" in names or f"{key}.json" in names


def decode_ids(entries, key: str) -> np.ndarray:
    """The ids stored under ``key`` by :func:`encode_ids` (strings as an object array)."""
    names = set(entries)
    if f"{key}.utf8" in names:
        raw = np.asarray(entries[f"{key}.utf8"]).tobytes()
        offsets = np.asarray(entries[f"{key}.offsets"], dtype=np.int64)
        if (
            offsets.ndim != 1
            or offsets.size < 1
            or offsets[0] != 0
            or offsets[-1] != len(raw)
            or np.any(np.diff(offsets) < 0)
        ):
            raise ValueError(f"{key}: malformed string offsets")
        out = np.empty(offsets.size - 1, dtype=object)
        out[:] = [
            raw[a:b].decode("utf-8", "surrogatepass") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())
        ]
        return out
    if f"{key}.json" in names:
        values = json.loads(str(entries[f"{key}.json"]))
        if not isinstance(values, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise ValueError(f"{key}: malformed integer ids")
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out
    ids = np.asarray(entries[key])
    return ids.astype(object) if ids.dtype.kind == "U" else ids

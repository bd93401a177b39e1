"""Model files: one ``.npz`` per model, readable with ``allow_pickle=False``.

Layout (format version 3):

- ``__format__`` = "recforge-model", ``__format_version__``, ``__recforge_version__``;
- the model: ``__class__`` (class name), ``__params__`` (constructor arguments as JSON), and one
  entry per fitted attribute (``_state``): ``state.<name>`` for numeric arrays and scalars,
  ``state.<name>.{indptr,indices,data,shape}`` for CSR matrices (``.off_diagonal`` and
  ``.shape`` for a square one storing every entry but the diagonal, EASE's exact B: its
  indices follow from the shape, half the bytes; a file holding one is version 3, any other
  version 2, so that recforge of format 2 reads it), ``state.<name>`` /
  ``.utf8`` / ``.json`` for arrays of strings or ids (feature vocabularies; see ``_ids``),
  ``state.<name>.object`` for JSON values (dicts, lists, None);
- a model inside the model (a fallback, the model a wrapper serves) is written the same way
  under the prefix ``state.<name>/``, to any depth: a composite model is one file;
- the raw-id maps the model was fitted with (``user_ids_``, ``item_ids_``, when it was fitted
  on an :class:`~recforge.Interactions`): ``ids.user_ids``, ``ids.item_ids`` and
  ``ids.spec`` (the event columns, JSON). They belong to the outermost model.

Version 1 files (no ids, no nested models; the command line kept its id maps as
``extra.user_ids`` / ``extra.item_ids`` / ``extra.spec``) still load, those maps included.
"""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import scipy.sparse as sp

from .._atomic import atomic_output
from .._ids import decode_ids, encode_ids, has_ids
from .._npz import file_kind_hint, open_npz
from .._off_diagonal import from_off_diagonal, is_off_diagonal
from .._version import __version__
from .registry import model_class

FORMAT = "recforge-model"
FORMAT_VERSION = 3  # 3: off-diagonal matrices; a file without one is written as version 2
_CSR_PARTS = ("indptr", "indices", "data", "shape")
_MAPS = ("user_ids", "item_ids")


def _newer(version: str, than: str) -> bool:
    """Whether release ``version`` is newer than ``than`` (numeric parts compared; unknown: no)."""

    def parts(v: str):
        out = []
        for p in v.split("+")[0].split("."):
            digits = "".join(ch for ch in p if ch.isdigit())
            if not digits:
                break
            out.append(int(digits))
        return tuple(out)

    a, b = parts(version), parts(than)
    return bool(a) and bool(b) and a > b


def is_model(value) -> bool:
    """Whether a state value is itself a model (saved nested, not as an array)."""
    return hasattr(type(value), "_state") and hasattr(value, "get_params")


def save(model, path: str | os.PathLike) -> None:
    """Write ``model`` (fitted) and everything it holds to ``path``; see the module notes."""
    entries = {
        "__format__": np.array(FORMAT),
        "__format_version__": np.array(FORMAT_VERSION),
        "__recforge_version__": np.array(__version__),
    }
    _write(model, "", entries)
    if not any(key.endswith(".off_diagonal") for key in entries):
        entries["__format_version__"] = np.array(2)  # what it holds, recforge of format 2 reads
    for name in _MAPS:
        ids = getattr(model, f"{name}_", None)
        if ids is not None:
            entries.update(encode_ids(ids, f"ids.{name}", name.replace("_", " ")))
    if getattr(model, "events_spec_", None) is not None:
        entries["ids.spec"] = np.array(json.dumps(model.events_spec_))
    with atomic_output(path) as f:  # a file object: numpy must not append ".npz" to the name
        np.savez(f, **entries)


def _write(model, prefix: str, entries: dict) -> None:
    entries[f"{prefix}__class__"] = np.array(type(model).__name__)
    entries[f"{prefix}__params__"] = np.array(json.dumps(model.file_params()))
    for name in model._state:
        value, key = getattr(model, name), f"{prefix}state.{name}"
        if is_model(value):
            _write(value, key + "/", entries)
        elif sp.issparse(value):
            value = value.tocsr()
            if is_off_diagonal(value):  # EASE's exact B: the indices follow from the shape
                entries[f"{key}.off_diagonal"] = np.asarray(value.data)
                entries[f"{key}.shape"] = np.asarray(value.shape)
                continue
            for part in _CSR_PARTS:
                entries[f"{key}.{part}"] = np.asarray(getattr(value, part))
        elif isinstance(value, np.ndarray) and value.dtype.kind in "OU":
            entries.update(encode_ids(value, key, f"model state {name}"))
        elif value is None or isinstance(value, (dict, list, tuple)):
            entries[f"{key}.object"] = np.array(json.dumps(value))
        else:
            entries[key] = np.asarray(value)


def load(path: str | os.PathLike):
    """Read a model written by ``model.save(path)``.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    Recommender
        A fitted model of the class that was saved, with the same parameters and state, the
        models it holds, and the raw-id maps it was fitted with (``user_ids_``, ``item_ids_``,
        ``events_spec_``; None when it was fitted on a bare matrix).

    Raises
    ------
    ValueError
        The file is not a recforge model file, is truncated or damaged, or was written by a
        newer format version.
    OSError
        The file cannot be opened.
    """
    npz, where = open_npz(path, "recforge model file")
    with npz:
        try:
            return _build(npz, where)
        except (zipfile.BadZipFile, EOFError, KeyError, OSError, json.JSONDecodeError) as e:
            raise ValueError(f"{where} is a damaged or truncated recforge model file ({type(e).__name__}: {e})") from e


def _build(npz, where: str):
    if "__format__" not in npz.files or str(npz["__format__"]) != FORMAT:
        raise ValueError(f"{where} is not a recforge model file (no recforge format marker){file_kind_hint(npz)}")
    raw_version = npz["__format_version__"]
    if raw_version.shape != () or raw_version.dtype.kind not in "iu" or int(raw_version) < 1:
        raise ValueError(f"{where} has an invalid model format version {raw_version.tolist()!r}")
    version = int(raw_version)
    written_by = str(npz["__recforge_version__"]) if "__recforge_version__" in npz.files else "unknown"
    if version > FORMAT_VERSION or _newer(written_by, __version__):
        raise ValueError(
            f"{where} was written by recforge {written_by} (model format {version}); this recforge "
            f"({__version__}) reads format {FORMAT_VERSION} files of its own version or older: "
            "upgrade recforge"
        )
    model = _read(npz, "", where, written_by)
    # Version 1 kept the command line's maps as extra.*; version 2 as ids.*.
    source = "ids" if version >= 2 else "extra"
    maps = {name: decode_ids(npz, f"{source}.{name}") for name in _MAPS if has_ids(npz.files, f"{source}.{name}")}
    spec = json.loads(str(npz[f"{source}.spec"])) if f"{source}.spec" in npz.files else None
    try:
        model.bind_ids(maps.get("user_ids"), maps.get("item_ids"), spec)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{where}: {e}") from None
    return model


def _read(npz, prefix: str, where: str, written_by: str):
    name = str(npz[f"{prefix}__class__"])
    cls = model_class(name)
    if cls is None:
        raise ValueError(f"{where} holds a recforge model of unknown class {name!r}")
    params = json.loads(str(npz[f"{prefix}__params__"]))
    if not isinstance(params, dict):
        raise ValueError(f"{where}: the parameters of its {name} are not a JSON object")
    unknown = sorted(set(params) - set(cls._param_names()) - set(cls._renamed))
    if unknown:
        raise ValueError(
            f"{where} gives {name} the parameter{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(map(repr, unknown))}, which {name} of recforge {__version__} does not take "
            f"(written by recforge {written_by})"
        )
    try:
        model = cls(**{**cls._absent_before, **params})  # a file of an earlier version lacks them
    except (TypeError, ValueError) as e:
        raise ValueError(f"{where} holds invalid parameters for {name}: {e}") from None
    files = set(npz.files)
    absent = cls._state_absent_before
    for attr in cls._state:
        key = f"{prefix}state.{attr}"
        if attr in absent and not any(f == key or f.startswith((f"{key}.", f"{key}/")) for f in files):
            setattr(model, attr, absent[attr])  # state that files of an earlier version lack
            continue
        if f"{key}/__class__" in files:
            value = _read(npz, key + "/", where, written_by)
        elif f"{key}.indptr" in files:
            indptr, indices, data, shape = (npz[f"{key}.{part}"] for part in _CSR_PARTS)
            value = sp.csr_matrix((data, indices, indptr), shape=tuple(int(s) for s in shape))
        elif f"{key}.off_diagonal" in files:
            shape = npz[f"{key}.shape"]
            if shape.shape != (2,) or shape.dtype.kind not in "iu" or shape[0] != shape[1] or shape[0] < 0:
                raise ValueError(f"{where}: model state {attr} has an invalid shape {shape.tolist()!r}")
            try:
                value = from_off_diagonal(npz[f"{key}.off_diagonal"], int(shape[0]))
            except ValueError as e:
                raise ValueError(f"{where}: model state {attr}: {e}") from None
        elif f"{key}.object" in files:
            value = json.loads(str(npz[f"{key}.object"]))
        else:
            value = decode_ids(npz, key)
            if value.ndim == 0:
                value = value.item()
        setattr(model, attr, value)
    model._validate_state()
    return model

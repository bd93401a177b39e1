"""Model files: one ``.npz`` per model, readable with ``allow_pickle=False``.

Layout (format version 1): ``__format__`` = "recforge-model", ``__format_version__``,
``__class__`` (the model's class name), ``__params__`` (constructor arguments as JSON),
``__recforge_version__``; then one entry per fitted attribute: ``state.<name>`` for arrays and
scalars, ``state.<name>.{indptr,indices,data,shape}`` for CSR matrices; optionally
``extra.<name>`` arrays that travel with the model (the command-line tool keeps the raw id maps
there) and that :func:`load` ignores.
"""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import scipy.sparse as sp

from .._atomic import atomic_output
from .._npz import open_npz
from .._version import __version__
from .registry import model_class

FORMAT = "recforge-model"
FORMAT_VERSION = 1
_CSR_PARTS = ("indptr", "indices", "data", "shape")


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


def save(model, path: str | os.PathLike, extra: dict | None = None) -> None:
    entries = {
        "__format__": np.array(FORMAT),
        "__format_version__": np.array(FORMAT_VERSION),
        "__class__": np.array(type(model).__name__),
        "__params__": np.array(json.dumps(model.get_params())),
        "__recforge_version__": np.array(__version__),
    }
    for name in model._state:
        value = getattr(model, name)
        if sp.issparse(value):
            value = value.tocsr()
            for part in _CSR_PARTS:
                entries[f"state.{name}.{part}"] = np.asarray(getattr(value, part))
        else:
            entries[f"state.{name}"] = np.asarray(value)
    for name, value in (extra or {}).items():
        entries[f"extra.{name}"] = np.asarray(value)
    with atomic_output(path) as f:  # a file object: numpy must not append ".npz" to the name
        np.savez(f, **entries)


def load(path: str | os.PathLike):
    """Read a model written by ``model.save(path)``.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    Recommender
        A fitted model of the class that was saved, with the same parameters and state.

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


def load_extra(path: str | os.PathLike) -> dict:
    """The ``extra.<name>`` arrays of a model file (empty when it has none)."""
    with np.load(path, allow_pickle=False) as npz:
        return {name[len("extra.") :]: npz[name] for name in npz.files if name.startswith("extra.")}


def _build(npz, where: str):
    if "__format__" not in npz.files or str(npz["__format__"]) != FORMAT:
        raise ValueError(f"{where} is not a recforge model file (no recforge format marker)")
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
    name = str(npz["__class__"])
    cls = model_class(name)
    if cls is None:
        raise ValueError(f"{where} holds a recforge model of unknown class {name!r}")
    params = json.loads(str(npz["__params__"]))
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
        model = cls(**params)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{where} holds invalid parameters for {name}: {e}") from None
    for attr in cls._state:
        if f"state.{attr}.indptr" in npz.files:
            indptr, indices, data, shape = (npz[f"state.{attr}.{part}"] for part in _CSR_PARTS)
            value = sp.csr_matrix((data, indices, indptr), shape=tuple(int(s) for s in shape))
        else:
            value = npz[f"state.{attr}"]
            if value.ndim == 0:
                value = value.item()
        setattr(model, attr, value)
    model._validate_state()
    return model

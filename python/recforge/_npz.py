"""Opening recforge's own ``.npz`` files (models, interactions) safely: no pickle, and a clear
ValueError for anything that is not such a file."""

from __future__ import annotations

import os
import zipfile

import numpy as np


def open_npz(path: str | os.PathLike, what: str):
    """The open NpzFile at ``path`` and its quoted name for messages.

    Raises
    ------
    ValueError
        Not a zip of arrays (``what`` names the file kind expected, e.g. "recforge model file").
    OSError
        The file cannot be opened.
    """
    where = repr(os.fspath(path))
    with open(path, "rb") as f:  # OSError for a missing file, as documented
        magic = f.read(4)
    if magic != b"PK\x03\x04":  # numpy would offer to unpickle it: never suggest that
        hint = "; spreadsheets are not model files" if magic == b"PK\x05\x06" else ""
        raise ValueError(f"{where} is not a {what} (not an .npz archive of arrays{hint})")
    try:
        npz = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, EOFError, ValueError) as e:
        raise ValueError(f"{where} is not a {what} ({type(e).__name__}: {e})") from e
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ValueError(f"{where} is not a {what} (a plain .npy array)")
    return npz, where


# What each kind of recforge file is read with: named when a file is given to another reader.
_READERS = {
    "recforge-model": "a model file: read it with rf.load",
    "recforge-interactions": "an Interactions file: read it with rf.Interactions.load",
}


def file_kind_hint(npz) -> str:
    """ "; it is a model file: read it with rf.load" (and the like) for a recforge file of
    another kind, else "" (a reader's refusal appends it)."""
    names = set(npz.files if hasattr(npz, "files") else npz)  # an open npz, or its arrays read
    if "__format__" in names:
        reader = _READERS.get(str(npz["__format__"]))
        if reader:
            return f"; it is {reader}"
    if {"customers", "trend", "numbers"} <= names:
        return "; it is an online state: read it with rf.realtime.OnlineRecommender.load"
    return ""

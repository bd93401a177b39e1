"""Atomic file output: a result appears complete under its name, or not at all.

Every file recforge writes (models, interactions, campaign lists, reports) goes through
:func:`atomic_output`: the content is written to a temporary file in the destination's folder,
flushed and fsynced, then renamed over the destination (``os.replace``, atomic on POSIX and
Windows). A crash, a kill or an exception part-way leaves the previous file untouched and no
half-written file posing as a result; the temporary file is removed on any exception.
"""

from __future__ import annotations

import contextlib
import os
import secrets


def check_writable(path: str | os.PathLike, what: str = "output") -> str:
    """The path as str, or ValueError when its folder does not exist or is a file: checked
    before any work, so a long run does not end in a FileNotFoundError."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"{what} {path!r}: folder {folder!r} does not exist")
    if os.path.isdir(path):
        raise ValueError(f"{what} {path!r} is a folder, expected a file name")
    return path


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, mode: str = "wb", **open_kwargs):
    """Open a temporary file beside ``path`` for writing; on success it replaces ``path``.

    Yields the open file object (``mode`` "wb" or "w"; ``open_kwargs`` go to :func:`open`).
    """
    with atomic_path(path) as tmp:
        with open(tmp, mode, **open_kwargs) as f:
            yield f


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """A temporary path beside ``path`` (for writers that take a file name, e.g. pandas'
    Parquet writer): once the block succeeds, the file is fsynced and replaces ``path``."""
    path = check_writable(path)  # named: not a temporary file's name in an OSError, nor one beside a folder
    folder = os.path.dirname(os.path.abspath(path))
    tmp = _temporary_file(folder, os.path.basename(path))
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        with contextlib.suppress(OSError):  # a file replaced keeps its permissions
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _sync_folder(folder)


def _temporary_file(folder: str, name: str) -> str:
    """A new empty file in ``folder`` with the permissions a plain ``open()`` gives (0o666
    less the umask, applied by the system). Not ``tempfile.mkstemp``: its files are 0o600, and
    learning the umask to widen them means setting it, for every thread of the process (a
    server writing its state would race the threads creating files meanwhile)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".{name}.{secrets.token_hex(6)}.part")
        try:
            os.close(os.open(tmp, flags, 0o666))
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {os.path.join(folder, name)!r}")


def _sync_folder(folder: str) -> None:
    # The rename itself is durable only once the folder is synced (POSIX; a no-op elsewhere).
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

"""Fetching official archives into the recforge data cache, verified before use."""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from .._atomic import atomic_path

# name -> (url, hash algorithm, expected digest). GroupLens publishes MD5 sums only for
# ml-1m and ml-20m (files.grouplens.org/.../ml-1m.zip.md5); the SHA-256 values of ml-100k and
# ml-latest-small are the independently published ones recorded in shared/datasets/README.md.
ARCHIVES = {
    "ml-100k": (
        "https://files.grouplens.org/datasets/movielens/ml-100k.zip",
        "sha256",
        "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
    ),
    "ml-latest-small": (
        "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip",
        "sha256",
        "696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436",
    ),
    "ml-1m": ("https://files.grouplens.org/datasets/movielens/ml-1m.zip", "md5", "c4d9eecfca2ab87c1945afe126590906"),
    "ml-20m": ("https://files.grouplens.org/datasets/movielens/ml-20m.zip", "md5", "cd245b17a1ae2cc31bb14903e1204af3"),
    # UCI publishes no checksum: the loader verifies the content against the dataset's
    # published summary (row count and quantity total) instead.
    "online-retail": ("https://archive.ics.uci.edu/static/public/352/online+retail.zip", None, None),
}
_CHUNK = 1 << 20
_urlopen = urllib.request.urlopen  # replaced in the tests


def data_home() -> Path:
    """The cache directory: ``$RECFORGE_DATA``, default ``~/.cache/recforge``."""
    return Path(os.environ.get("RECFORGE_DATA") or Path.home() / ".cache" / "recforge").expanduser()


def _digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _progress(total: int | None, desc: str, show: bool):
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is a dependency, but a bar is never worth a failure
        show = False
    if not show:

        class _Quiet:
            def update(self, n):
                pass

            def close(self):
                pass

        return _Quiet()
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc)


def fetch(name: str, progress: bool = True) -> Path:
    """The verified archive ``name`` in the cache, downloaded first if absent.

    Raises
    ------
    ConnectionError
        The download failed (no network, server error): the message says where to get the
        file by hand.
    ValueError
        The downloaded file's checksum differs from the published one (the file is deleted).
    """
    url, algorithm, expected = ARCHIVES[name]
    target = data_home() / Path(url).name.replace("+", "_")
    if target.exists() and (algorithm is None or _digest(target, algorithm) == expected):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:  # a failed or corrupt download leaves nothing under the name
        with open(tmp, "wb") as out:
            try:
                response = _urlopen(url, timeout=60)
            except (urllib.error.URLError, OSError) as e:
                raise ConnectionError(
                    f"could not download {name} from {url} ({getattr(e, 'reason', e)}). recforge needs the "
                    f"internet once to fetch it into {target.parent} (set RECFORGE_DATA to change the folder); "
                    f"offline, download it elsewhere and pass path=... to the loader"
                ) from None
            with response:
                length = response.headers.get("Content-Length") if hasattr(response, "headers") else None
                bar = _progress(int(length) if length else None, name, progress)
                try:
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        out.write(chunk)
                        bar.update(len(chunk))
                finally:
                    bar.close()
        if algorithm is not None:
            got = _digest(Path(tmp), algorithm)
            if got != expected:
                raise ValueError(
                    f"the download of {name} from {url} is corrupt or not the official file: "
                    f"{algorithm} {got}, expected {expected}; it was deleted, try again"
                )
    return target


class Files:
    """Read the files of a dataset from a folder or from its zip archive, by base name."""

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"no such file or folder: {str(self.path)!r}")
        self._zip = zipfile.ZipFile(self.path) if self.path.is_file() and zipfile.is_zipfile(self.path) else None

    def find(self, name: str):
        """The path (folder) or member name (zip) of the file called ``name``, or None."""
        if self._zip is not None:
            hits = [m for m in self._zip.namelist() if m == name or m.endswith("/" + name)]
            return hits[0] if hits else None
        if self.path.is_file():
            return self.path if self.path.name == name else None
        hits = [self.path / name] if (self.path / name).exists() else sorted(self.path.glob(f"*/{name}"))
        return hits[0] if hits else None

    def read(self, name: str) -> bytes:
        where = self.find(name)
        if where is None:
            if self.path.is_file() and self._zip is None:  # one file of the set: its folder is meant
                raise FileNotFoundError(
                    f"{str(self.path)!r} is one file; give the folder (or the zip) that holds {name!r} beside it"
                )
            raise FileNotFoundError(f"{str(self.path)!r} has no file {name!r}")
        if self._zip is not None:
            return self._zip.read(where)
        with open(where, "rb") as f:
            return f.read()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._zip is not None:
            self._zip.close()

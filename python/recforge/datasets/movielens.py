"""MovieLens (GroupLens Research, University of Minnesota): ratings of movies."""

from __future__ import annotations

import numpy as np

from .._checks import check_bool, check_choice
from .._factorize import lookup
from .._params import renamed_argument
from .._tables import read_table
from ..data import Interactions
from ._dataset import Dataset
from ._download import Files, fetch

VARIANTS = ("100k", "latest-small", "1m", "20m")
LICENSE = (
    "MovieLens terms of use (GroupLens): research use; no endorsement implied; acknowledge use; "
    "commercial use needs permission; redistribution only as the variant's README allows."
)
CITATION = (
    "F. Maxwell Harper and Joseph A. Konstan. 2015. The MovieLens Datasets: History and Context. "
    "ACM TiiS 5, 4, Article 19. https://doi.org/10.1145/2827872"
)
_GENRES_100K = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
# variant -> (ratings file, separator, header?, movies file, separator, encoding)
_LAYOUT = {
    "100k": ("u.data", "\t", False, "u.item", "|", "latin-1"),
    "latest-small": ("ratings.csv", ",", True, "movies.csv", ",", "utf-8"),
    "1m": ("ratings.dat", "::", False, "movies.dat", "::", "latin-1"),
    "20m": ("ratings.csv", ",", True, "movies.csv", ",", "utf-8"),
}
_RATING_COLUMNS = ["userId", "movieId", "rating", "timestamp"]


def load_movielens(
    variant: str = "100k", path=None, *, show_progress: bool = True, progress: bool | None = None
) -> Dataset:
    """Load a MovieLens ratings dataset.

    Parameters
    ----------
    variant : {"100k", "latest-small", "1m", "20m"}
    path : str or os.PathLike, optional
        The dataset's folder (e.g. ``ml-100k/``) or its official zip archive. Without it, the
        official archive is downloaded once into the cache folder (``$RECFORGE_DATA``, default
        ``~/.cache/recforge``) and verified against its published checksum.
    show_progress : bool, default True
        Show a progress bar while downloading (the name every model and ``rf.batch`` uses).
    progress : bool, optional
        Deprecated former name of ``show_progress``.

    Returns
    -------
    Dataset
        ``interactions``: users x movies with the ratings as values and each rating's time
        (raw ids are MovieLens' integer ids); ``items``: "title" and "genres" ("|"-separated);
        ``events``: userId, movieId, rating, timestamp.

    Raises
    ------
    ConnectionError
        No path was given and the download failed.
    ValueError
        Unknown variant; a corrupt download; files that do not parse.

    Notes
    -----
    MovieLens may not be redistributed (see ``license``): recforge ships none of it.
    """
    check_choice(variant, "variant", VARIANTS)
    show_progress = renamed_argument(show_progress, progress, "progress", "show_progress", True, check=check_bool)
    if path is None:
        path = fetch("ml-" + variant, progress=show_progress)
    ratings_file, sep, header, movies_file, movie_sep, encoding = _LAYOUT[variant]
    with Files(path) as files:
        ratings = read_table(
            files.read(ratings_file), names=None if header else _RATING_COLUMNS, sep=sep, quoted=sep == ","
        )
        if variant == "100k":
            movies = read_table(
                files.read(movies_file),
                names=["movieId", "title", "release", "video", "url", *_GENRES_100K],
                text=["title", "release", "video", "url"],
                sep=movie_sep,
                encoding=encoding,
                quoted=movie_sep == ",",
            )
            flags = np.column_stack([np.asarray(movies[g], dtype=np.float64) for g in _GENRES_100K]) > 0
            genres = np.array(["|".join(g for g, on in zip(_GENRES_100K, row) if on) for row in flags], dtype=object)
        else:
            movies = read_table(
                files.read(movies_file),
                names=None if variant != "1m" else ["movieId", "title", "genres"],
                text=["title", "genres"],
                sep=movie_sep,
                encoding=encoding,
                quoted=movie_sep == ",",
            )
            genres = np.asarray(movies["genres"], dtype=object)
    events = {c: np.asarray(ratings[c]) for c in _RATING_COLUMNS}
    for c in ("userId", "movieId", "timestamp"):
        events[c] = events[c].astype(np.int64)
    events["rating"] = events["rating"].astype(np.float32)
    inter = Interactions.from_arrays(
        events["userId"], events["movieId"], events["rating"], times=events["timestamp"], aggregate="last"
    )
    at = lookup(np.asarray(movies["movieId"]).astype(np.int64), inter.item_ids)
    items = {"title": _aligned(movies["title"], at), "genres": _aligned(genres, at)}
    return Dataset(f"movielens-{variant}", inter, items, events, LICENSE, CITATION)


def _aligned(column, at: np.ndarray) -> np.ndarray:
    """column[at], None where the movie is missing from the movie table."""
    values = np.asarray(column, dtype=object)
    out = np.full(at.size, None, dtype=object)
    out[at >= 0] = values[at[at >= 0]]
    return out

"""The object every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._factorize import pd
from ..data import Interactions


@dataclass(frozen=True)
class Dataset:
    """A public dataset, ready for recforge.

    Attributes
    ----------
    name : str
    interactions : Interactions
        Users x items, with raw ids and each pair's latest time: what models fit; its
        ``events`` keep every kept line (time; amount and order for Online Retail).
    items : dict of str -> numpy.ndarray
        Item metadata aligned with ``interactions.item_ids`` (e.g. "title", "genres",
        "description").
    events : dict of str -> numpy.ndarray
        The source rows as read, one array per column (before any filtering), for building
        other matrices with :meth:`Interactions.from_pandas`.
    license, citation : str
        Terms of use and how to cite the data.
    """

    name: str
    interactions: Interactions
    items: dict = field(repr=False)
    events: dict = field(repr=False)
    license: str = field(repr=False, default="")
    citation: str = field(repr=False, default="")

    def events_frame(self):
        """``events`` as a pandas DataFrame (needs pandas)."""
        if pd is None:
            raise ImportError("events_frame needs pandas: pip install 'recforge[io]'")
        return pd.DataFrame(self.events)

    def describe_items(self, item_index) -> np.ndarray:
        """The main description (title or product description) of items by column index, in
        the shape of ``item_index``; -1, the padding of a short recommendation list, gives None
        (as an index it would name the last product)."""
        key = "title" if "title" in self.items else "description"
        descriptions = np.asarray(self.items[key], dtype=object)
        index = np.asarray(item_index)
        if index.size == 0:  # [] is float64 to numpy
            index = index.astype(np.int64)
        if index.dtype.kind not in "iu":
            raise TypeError(
                f"item_index must hold column indices (integers), got {index.dtype}; raw product ids "
                "become indices with interactions.item_index(ids)"
            )
        outside = (index < -1) | (index >= descriptions.size)
        if outside.any():
            raise ValueError(
                f"item_index holds {index[outside].ravel()[0]}, outside the {descriptions.size:,} products "
                "and not -1 (padding)"
            )
        out = descriptions[np.where(index >= 0, index, 0)]
        if np.ndim(out):
            out[index == -1] = None
        elif index == -1:
            out = None
        return out

"""The customer table of an out-of-core job: customers to answer even without events, with
their attributes (what a :class:`~recforge.ColdStart` model fitted with customer features
answers them from). It is split by customer into the events' blocks, so each block holds its
customers' events and attribute rows, and neither file is ever read whole."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._factorize import factorize_ids, ids_like, lookup, to_numpy
from ..models import ColdStart

# Rows of the table left out, by reason (reported; the same names in every report).
MISSING_ID, DUPLICATE_ID = "missing customer id", "duplicate customer id (the last row kept)"


def attribute_columns(model) -> tuple[list, list]:
    """The model's customer attribute columns: (read as text, read as numbers); empty lists for
    a model fitted without customer features (the table then only lists customers)."""
    encoder = getattr(model, "user_encoder_", None)
    if encoder is None:
        return [], []
    return [*encoder.text, *encoder.categorical], list(encoder.numeric)


def table_kinds(model, key: str, id_kind: str) -> dict:
    """Columns of the table to read, each with its kind ("str", "int", "float")."""
    if not isinstance(model, ColdStart):
        raise ValueError(
            "customers: the model has no fallbacks, so customers without events cannot be answered; "
            "wrap it in rf.ColdStart (or train it without --no-fallbacks)"
        )
    if not isinstance(key, str) or not key:
        raise TypeError(f"customer_key must be a column name, got {key!r}")
    text, numeric = attribute_columns(model)
    if key in text or key in numeric:
        raise ValueError(f"customer_key {key!r} is also an attribute column of the model")
    return {key: id_kind, **dict.fromkeys(text, "str"), **dict.fromkeys(numeric, "float")}


def with_empty_rows(user_ids: np.ndarray, H: sp.csr_matrix, more) -> tuple[np.ndarray, sp.csr_matrix, np.ndarray]:
    """``user_ids`` and their histories ``H`` with a row of no events added for each id of
    ``more`` they lack (in order of first appearance), and the row of every id of ``more``."""
    more = ids_like(to_numpy(more), user_ids)  # "400" among integer ids is 400, and joins as one
    at = lookup(user_ids, more)
    if (at < 0).any():
        extra = factorize_ids(more[at < 0], "customer ids")[1]
        try:
            extra = extra.astype(user_ids.dtype, copy=False)
        except (ValueError, TypeError):  # an id of another kind ("C9" among integers): kept as it is
            user_ids = user_ids.astype(object)
        user_ids = np.concatenate([user_ids, extra])
        H = sp.vstack([H, sp.csr_matrix((extra.size, H.shape[1]), dtype=H.dtype)], format="csr")
        at = lookup(user_ids, more)
    return user_ids, H, at


def emptied_customers(history, raw_users) -> np.ndarray:
    """Distinct ids of ``raw_users`` (the customer column ``history`` was built from; missing
    ids aside) that have no events in ``history``: every row of theirs was dropped
    (``history.report["users_all_dropped"]`` counts them), e.g. all on products a model does not
    know. Empty, at no cost, where the report counts none."""
    if not history.report.get("users_all_dropped"):
        return history.user_ids[:0]
    ids = factorize_ids(raw_users, "customer ids")[1]
    rows = lookup(history.user_ids, ids)
    has_events = np.zeros(ids.size, dtype=bool)
    found = rows >= 0
    has_events[found] = np.diff(history.matrix.tocsr().indptr)[rows[found]] > 0
    return ids[~has_events]


def kept_rows(ids) -> tuple[np.ndarray, dict]:
    """Positions of a customer table's rows to use, in table order: rows with an id, the last
    row of each id (as assigning the rows in order would leave it); and the rows left out, by
    reason. A row without an id answers no one: kept, it would be matched to no customer, or
    (as a row number -1) to the last one."""
    codes, distinct = factorize_ids(ids, "customer ids")
    present = np.flatnonzero(codes >= 0)
    last = np.full(distinct.size, -1, dtype=np.int64)
    np.maximum.at(last, codes[present], present)
    kept = np.sort(last)
    return kept, {MISSING_ID: int(codes.size - present.size), DUPLICATE_ID: int(present.size - kept.size)}


class CustomerTable:
    """One block's rows of the customer table, cleaned: ids (no missing id, each once: the last
    row of an id wins, as an in-memory table assignment does) and their attribute matrix."""

    def __init__(self, model, frame, key: str):
        rows, self.dropped = kept_rows(frame[key])
        kept = frame.iloc[rows]
        self.ids = kept[key].to_numpy()
        if self.ids.dtype.kind == "f":  # integer ids read back with gaps as floats: whole again
            self.ids = self.ids.astype(np.int64)
        text, numeric = attribute_columns(model)
        self.attributes = None
        if text or numeric:
            encoder = model.user_encoder_
            self.attributes = encoder.transform({c: kept[c].to_numpy() for c in [*text, *numeric]})

    def rows_for(self, n_customers: int, listed_at: np.ndarray) -> sp.csr_matrix | None:
        """Attribute rows of a block's ``n_customers`` customers (zero rows for those not in the
        table), given the row of each table id among them; None without attributes."""
        if self.attributes is None:
            return None
        A = self.attributes.tocoo()
        return sp.csr_matrix((A.data, (listed_at[A.row], A.col)), shape=(n_customers, A.shape[1]), dtype=np.float32)

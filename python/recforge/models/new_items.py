"""New products for neighbour models: each one's content neighbours among the known products,
and the map that puts its content score on the wrapped model's scale.

A new product j gets, for a customer with history H, the content score
s(H, j) = sum over h in H of cos(h, j), h among j's ``width`` nearest known products by feature
cosine (the item-kNN rule, Sarwar et al. 2001, with features for co-purchases). That sum grows
with the history and has nothing of the model's scale: EASE scores a customer's best known
products near 0.5, while the sum over a 200-product history reaches 30, so every new product
outranked every known one. The model's own answers say what a content score is worth: known
products are scored both ways, as if they were new (their content neighbours among the other
known products) and by the model, on a sample of customers, and an isotonic regression of the
model's score on the content score (Zadrozny & Elkan, KDD 2002, for scores of another model) is
the map: a new product's score is what the model gives, on average, a known product with the
same content evidence.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._sparse import CsrParts, check_sparse, unit_rows
from ..kernels.topk import sparse_topk_parts
from .content import unit_columns
from .rows import self_exclusion, top_rows

# Sizes of the calibration sample: enough pairs for a smooth map, a fraction of a fit's time.
CALIBRATION_CUSTOMERS = 1000
CALIBRATION_PRODUCTS = 500
_MIN_PAIRS = 50  # fewer (customer, product) pairs with content evidence: no map


def content_neighbours(known, queries, width: int, threads: int, itself: np.ndarray | None = None) -> sp.csr_matrix:
    """Known x queries matrix: column q holds the feature cosine of query q's ``width`` nearest
    known products (rows of ``known``). ``itself``: each query's own row in ``known``, left out
    (a known product posing as a new one is not its own neighbour)."""
    catalogue = unit_columns(known)
    asked = check_sparse(unit_rows(queries, np.float32), "features")
    banned = None if itself is None else self_exclusion(itself, known.shape[0])
    ids, scores = sparse_topk_parts(asked, catalogue, min(width, known.shape[0]), banned, None, threads)
    return sp.csr_matrix(top_rows(ids, scores, known.shape[0]).T, dtype=np.float32)


def fit_score_map(model, X: CsrParts, known, width: int, threads: int, seed: int = 0) -> np.ndarray | None:
    """The map from content scores to ``model``'s scores (module notes), as a 2 x B array of
    increasing content scores and the model scores they map to; None where the sample holds
    too few pairs with content evidence. ``X``: the training matrix over the known products,
    ``known``: their feature rows. Deterministic for a given ``seed``."""
    from sklearn.isotonic import IsotonicRegression  # here, not at import recforge

    rng = np.random.default_rng(seed)
    n_known = known.shape[0]
    active = np.flatnonzero(np.diff(X.indptr) > 0)
    users = np.sort(rng.choice(active, min(active.size, CALIBRATION_CUSTOMERS), replace=False))
    posing = np.sort(rng.choice(n_known, min(n_known, CALIBRATION_PRODUCTS), replace=False))
    if users.size == 0 or posing.size == 0:
        return None
    history = check_sparse(X.to_scipy()[users], "history")
    N = content_neighbours(known, known[posing], width, threads, itself=posing)
    content = np.asarray((model._values(history).to_scipy() @ N).todense())
    ids, scores = model._scores_topk(users, history, posing.size, history, posing, recalculate_user=False)
    # A product the model does not reach (a neighbour model scores only the neighbours of the
    # history) scores 0 for it; the customer's own products are no pairs.
    y = np.zeros(content.shape)
    kept = ids >= 0
    y[np.broadcast_to(np.arange(users.size)[:, None], ids.shape)[kept], np.searchsorted(posing, ids[kept])] = scores[
        kept
    ]
    own = history.to_scipy()[:, posing].toarray() != 0
    pairs = ~own & (content > 0) & np.isfinite(y)  # only products with content evidence are scored this way
    if np.count_nonzero(pairs) < _MIN_PAIRS:
        return None
    x, y = content[pairs], y[pairs]
    fitted = IsotonicRegression(out_of_bounds="clip").fit(x, y).predict(x)
    # One point per constant piece (its mean content score): interpolating between them is
    # strictly increasing, so new products keep their content order among themselves.
    levels, piece = np.unique(fitted, return_inverse=True)
    centres = np.bincount(piece, weights=x) / np.bincount(piece)
    return np.vstack([centres, levels])


def on_model_scale(scores: np.ndarray, ids: np.ndarray, score_map: np.ndarray | None) -> np.ndarray:
    """Content scores of new products (``ids`` -1 padded) through :func:`fit_score_map`'s map."""
    if score_map is None:
        return scores
    return np.where(ids >= 0, np.interp(scores, score_map[0], score_map[1]), scores)

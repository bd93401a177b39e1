"""Re-ranking every customer's candidates to the final list: diversity (MMR), calibration to the
customer's category mix, per-category caps, allow / deny lists, boosts and new products, in one
parallel C++ call (``rerank.hpp``)."""

from __future__ import annotations

import numpy as np

from .. import _core
from .._checks import as_numbers, check_bool, check_choice, check_int, check_real
from .._config import resolve_threads
from .._sparse import check_sparse
from ..kernels.similarity import symmetric
from ..models import ColdStart
from .categories import membership_of, mix_of_membership


def item_mask(items, n_items: int, name: str) -> np.ndarray:
    """A boolean per item from item ids or a boolean mask of length n_items."""
    a = np.asarray(items)
    if a.size == 0 and a.ndim == 1:  # [] (float64 to numpy): no item
        a = a.astype(np.int64)
    if a.dtype == bool:
        if a.shape != (n_items,):
            raise ValueError(f"{name} as a mask must have one entry per item ({n_items}), got {a.shape}")
        return a
    if a.dtype.kind not in "iu" or a.ndim != 1:
        raise TypeError(f"{name} must be item ids (integers) or a boolean mask, got dtype {a.dtype}")
    if a.size and (a.min() < 0 or a.max() >= n_items):
        raise ValueError(f"{name} holds item ids outside [0, {n_items})")
    mask = np.zeros(n_items, dtype=bool)
    mask[a] = True
    return mask


class PreparedSimilarity:
    """An item-item similarity made ready for :func:`rerank` once: symmetric (the larger of the
    two directions), without its diagonal, validated, in the kernel's layout. A campaign of
    millions of customers is re-ranked in batches that fit in memory; given the matrix, every
    call would check it and make it symmetric again (a 50k-product similarity: about 0.1 s a
    call, half the re-ranking itself). Given this, the calls share that work.

    Parameters
    ----------
    similarity : scipy.sparse matrix, shape (n_items, n_items)
        As :func:`rerank`'s ``similarity``.
    dtype : float32 or float64, optional
        The precision it is kept in (default its own); re-ranking scores of another precision
        casts it once.

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix
        The symmetric similarity the re-ranking reads.
    shape : tuple
        (n_items, n_items).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, recforge as rf
    >>> S = sp.csr_matrix(np.array([[0, .9, 0], [0, 0, 0], [0, 0, 0]]))
    >>> prepared = rf.campaign.PreparedSimilarity(S)
    >>> prepared.matrix.toarray()[1, 0]
    np.float64(0.9)
    >>> ids, scores = np.array([[0, 1, 2]]), np.array([[3.0, 2.0, 1.9]])
    >>> rf.campaign.rerank(ids, scores, k=2, diversity=0.5, similarity=prepared)[0].tolist()
    [[0, 2]]
    """

    def __init__(self, similarity, dtype=None):
        S = check_sparse(similarity, "similarity")
        if S.shape[0] != S.shape[1]:
            raise ValueError(f"similarity must be square (items x items), got {S.shape}")
        # in its own precision (the larger of two float32 values is the same in either)
        self.matrix = symmetric(S, S.shape[0], S.data.dtype if dtype is None else dtype)
        self.shape = self.matrix.shape
        self._layouts: dict = {}

    def arrays(self, dtype, index) -> tuple:
        """(indptr, indices, data) in ``index`` and ``dtype``: made once per pair and kept (the
        matrix's own arrays where they are of those types already)."""
        key = (np.dtype(dtype), np.dtype(index))
        if key not in self._layouts:
            S = self.matrix
            parts = (S.indptr, S.indices, S.data)
            self._layouts[key] = tuple(a.astype(t, copy=False) for a, t in zip(parts, (index, index, dtype)))
        return self._layouts[key]


def rerank(
    ids,
    scores,
    k: int = 10,
    *,
    diversity: float = 0.0,
    similarity=None,
    diversity_penalty: str = "max",
    categories=None,
    caps=None,
    calibration: float = 0.0,
    history=None,
    calibration_alpha: float = 0.01,
    boost=None,
    novelty: float = 0.0,
    popularity=None,
    allow=None,
    deny=None,
    new_items=None,
    min_new: int = 0,
    n_items: int | None = None,
    paths=None,
    return_report: bool = False,
    n_threads: int = 0,
):
    """Re-rank each customer's candidates (a model's top-N) to a final top-k.

    Greedy, one position at a time: each eligible candidate c is valued

        (1 - diversity) * (rel(c) + boost[c] + novelty * nov(c)) - diversity * max_sim(c)
        - calibration * KL(p || q~)

    where rel is the model's score min-max scaled to [0, 1] within the customer's candidates,
    max_sim the largest similarity of c to the items already chosen (maximal marginal relevance,
    Carbonell & Goldstein 1998; with ``diversity_penalty="mean"`` their mean similarity, as in
    Ziegler et al.'s topic diversification, WWW 2005), and KL the divergence of the customer's category mix p (from
    ``history``) from the list's category shares q after adding c, q~ = (1 - alpha) q + alpha p
    (Steck, "Calibrated recommendations", RecSys 2018; each chosen item counts once). The best
    value wins, ties going to the model's order. Caps, allow / deny and ``min_new`` are hard
    constraints: a list that runs out of eligible candidates is shorter (padded with -1), which
    the report counts. nov(c) = 1 - log(1 + popularity[c]) / log(1 + max popularity) is the
    item's novelty scaled to [0, 1] (1: nobody bought it; a monotone transform of its
    self-information): models trained on purchases lean towards best sellers, and a small novelty
    weight spreads the lists over the catalogue at little or no cost in accuracy (measured in
    ``bench/bench_rerank.py tradeoff``). With every option at its default the model's top-k comes
    back unchanged.

    Parameters
    ----------
    ids : numpy.ndarray of int, shape (n_customers, n_candidates)
        Candidate item ids per customer, best first, -1 padding (e.g. ``model.recommend(...,
        k=100)[0]``). An item listed twice for a customer (candidates merged from several
        sources) is chosen at most once.
    scores : numpy.ndarray of float32 or float64, same shape
        The model's scores of the candidates: numbers, or -inf to leave a candidate out. NaN or
        +inf on a candidate raises ValueError naming the first (the score of padding is not
        read).
    k : int, default 10
        Final list length.
    diversity : float in [0, 1], default 0.0
        MMR's trade-off: 0 is the model's order, 1 ignores the scores.
    similarity : scipy.sparse matrix, shape (n_items, n_items), or PreparedSimilarity, optional
        Item-item similarity for diversity (content or collaborative, e.g. ``ItemKNN().fit(X)
        .similarity_``); made symmetric by the larger of the two directions. Re-ranking in
        batches, pass :class:`PreparedSimilarity` of it to every call: the same lists, without
        preparing the matrix again each time.
    diversity_penalty : {"max", "mean"}, default "max"
        How a candidate's similarity to the chosen items is counted: the largest (MMR: no two
        near-duplicates), or the mean (negative similarities as 0), the intra-list similarity
        the candidate would add, so it trades score for intra-list diversity directly; on
        MovieLens 100K and Online Retail it reaches more intra-list diversity for the same loss
        of NDCG (``bench/bench_rerank.py tradeoff``).
    categories : array-like, shape (n_items,), optional
        Per item, a category label, None / NaN (none), or a list of labels (several: a film's
        genres), for ``caps`` and ``calibration``. An item of n categories counts 1/n in each
        for calibration (Steck's genre distribution p(g|i)) and in full against each cap. This
        and the other per-item arrays are read by position, item column by item column: a
        pandas Series's index is ignored (``table.set_index("sku").reindex(item_ids)`` puts a
        product table in the model's order).
    caps : int or dict, optional
        Most items per category in a list: one number for every category, or {label: cap}.
    calibration : float >= 0, default 0.0
        Weight of the KL term; needs ``categories`` and ``history``.
    history : scipy.sparse matrix, shape (n_customers, n_items), optional
        The customers' interactions, rows aligned with ``ids``: their category mix.
    calibration_alpha : float in (0, 1], default 0.01
        Steck's smoothing of q by p (keeps the divergence finite).
    boost : array-like of float, shape (n_items,), optional
        Added to the scaled relevance (margin, stock, campaign items; negative demotes).
    novelty : float >= 0, default 0.0
        Weight of the novelty bonus nov(c); needs ``popularity``.
    popularity : array-like of float, shape (n_items,), optional
        Each item's popularity, e.g. its buyers in the training data
        (``np.bincount(X.indices, minlength=n_items)``); counts >= 0.
    allow, deny : item ids or boolean mask, optional
        Only allowed items are chosen; denied items never are.
    new_items : item ids or boolean mask, optional
        The new products; with ``min_new`` each list holds at least that many where the
        candidates have them (the last positions are kept for them).
    min_new : int, default 0
    n_items : int, optional
        Catalogue size; default from the arrays given (else ``ids.max() + 1``).
    paths : numpy.ndarray of int, same shape, optional
        Each candidate's path, as ``ColdStart.recommend(..., return_paths=True)`` gives them.
        Each path scores on its own scale (a neighbour model about 1, trending's decayed
        purchase counts about 100): in a list that trending completed where the model had too
        few candidates, the model's are scaled to [0.05, 1] and trending's below 0.05, in their
        order, so that they come after the model's (without ``paths`` they would outrank
        them). The scores returned stay the candidates' own.
    return_report : bool, default False
        Also return {"short_lists": lists with fewer than k items, "missing_new": lists with
        fewer than ``min_new`` new products, "categories": the category labels by code}.
    n_threads : int, default 0
        Results do not depend on it.

    Returns
    -------
    ids : numpy.ndarray of int64, shape (n_customers, k)
    scores : numpy.ndarray, shape (n_customers, k)
        The model's score of each chosen item (-inf padding).
    report : dict, only with ``return_report``

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, recforge as rf
    >>> ids = np.array([[0, 1, 2, 3]])
    >>> scores = np.array([[4.0, 3.9, 3.0, 1.0]])
    >>> S = sp.csr_matrix(np.array([[0, .9, 0, 0], [.9, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]))
    >>> rf.campaign.rerank(ids, scores, k=2)[0].tolist()
    [[0, 1]]
    >>> rf.campaign.rerank(ids, scores, k=2, diversity=0.5, similarity=S)[0].tolist()
    [[0, 2]]
    """
    ids = np.asarray(ids)
    if ids.ndim != 2 or ids.dtype.kind not in "iu":
        raise TypeError(f"ids must be a 2-D integer array (customers x candidates), got {ids.dtype} {ids.shape}")
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    scores = np.asarray(scores)
    if scores.dtype not in (np.float32, np.float64):
        raise TypeError(f"scores must be float32 or float64, got {scores.dtype}")
    if scores.shape != ids.shape:
        raise ValueError(f"scores must have the shape of ids {ids.shape}, got {scores.shape}")
    scores = np.ascontiguousarray(scores)
    dtype = scores.dtype
    own_scores = None
    if paths is not None:
        paths = np.asarray(paths)
        if paths.shape != ids.shape or paths.dtype.kind not in "iu":
            raise ValueError(f"paths must be integers of the shape of ids {ids.shape}, got {paths.dtype} {paths.shape}")
        odd = (paths < -1) | (paths >= _N_PATHS)
        if odd.any():  # a path of another model's numbering, or text codes cast: not ColdStart's
            raise ValueError(
                f"paths holds {paths[odd].flat[0]}: ColdStart.PATHS codes are 0 to {_N_PATHS - 1} (-1 for padding)"
            )
        own_scores, scores = scores, _relevance_by_path(scores, paths, ids).astype(dtype)
    k = check_int(k, "k", minimum=0)
    return_report = check_bool(return_report, "return_report")
    diversity = check_real(diversity, "diversity", minimum=0.0)
    if diversity > 1:
        raise ValueError(f"diversity must be in [0, 1], got {diversity}")
    check_choice(diversity_penalty, "diversity_penalty", ("max", "mean"))
    calibration = check_real(calibration, "calibration", minimum=0.0)
    calibration_alpha = check_real(calibration_alpha, "calibration_alpha", minimum=0.0)
    if not 0 < calibration_alpha <= 1:
        raise ValueError(f"calibration_alpha must be in (0, 1], got {calibration_alpha}")
    min_new = check_int(min_new, "min_new", minimum=0)
    novelty = check_real(novelty, "novelty", minimum=0.0)
    # the kernel checks ids against it
    selections = {"allow": allow, "deny": deny, "new_items": new_items}
    masks = {name: v for name, v in selections.items() if _is_mask(v)}
    n_items, catalogue_source = _catalogue_size(
        n_items,
        ids,
        [v for v in selections.values() if v is not None and not _is_mask(v)],
        similarity=similarity,
        categories=categories,
        boost=boost,
        popularity=popularity,
        **masks,
    )

    # the similarity keeps scipy's int32 indices where they fit (half the memory the binary
    # searches read); the category mix takes the same index type (the kernel's template)
    index = np.int64
    sim = (np.zeros(1, dtype=index), np.zeros(0, dtype=index), np.zeros(0, dtype=dtype))
    if diversity > 0:
        if similarity is None:
            raise ValueError("diversity needs similarity (an item-item matrix)")
        prepared = similarity if isinstance(similarity, PreparedSimilarity) else PreparedSimilarity(similarity, dtype)
        if prepared.shape != (n_items, n_items):
            raise ValueError(f"similarity must be n_items x n_items ({n_items}), got {prepared.shape}")
        index = np.int32 if max(prepared.matrix.nnz, n_items, ids.shape[0]) < 2**31 - 1 else np.int64
        sim = prepared.arrays(dtype, index)

    membership, labels, cap = None, np.zeros(0, dtype=object), None
    if categories is not None:
        membership, labels = membership_of(categories, n_items)
    if caps is not None:
        if membership is None:
            raise ValueError("caps need categories")
        cap = _caps(caps, labels)
    M = None
    if calibration > 0:
        if membership is None or history is None:
            raise ValueError("calibration needs categories and history (the customers' items)")
        M = mix_of_membership(history, membership, dtype)
        if M.shape[0] != ids.shape[0]:
            raise ValueError(f"history must have one row per customer of ids ({ids.shape[0]}), got {M.shape[0]}")
    if max(0 if M is None else M.nnz, 0 if membership is None else membership.nnz) >= 2**31 - 1:
        index = np.int64
        sim = tuple(a.astype(np.int64) if a.dtype.kind == "i" else a for a in sim)
    empty = (np.zeros(1, dtype=index), np.zeros(0, dtype=index), np.zeros(0, dtype=dtype))
    mix = empty if M is None else (M.indptr.astype(index), M.indices.astype(index), M.data)
    cats = empty
    if membership is not None:
        cats = (membership.indptr.astype(index), membership.indices.astype(index), membership.data.astype(dtype))

    boost_values = None
    if boost is not None:
        boost_values = np.ascontiguousarray(boost, dtype=dtype)
        if boost_values.shape != (n_items,) or not np.all(np.isfinite(boost_values)):
            raise ValueError(f"boost must hold one finite number per item ({n_items})")
    if novelty > 0:
        bonus = novelty_bonus(popularity, n_items, dtype) * dtype.type(novelty)
        boost_values = bonus if boost_values is None else boost_values + bonus
    eligible = None
    if allow is not None or deny is not None:
        eligible = np.ones(n_items, dtype=bool) if allow is None else item_mask(allow, n_items, "allow")
        if deny is not None:
            eligible &= ~item_mask(deny, n_items, "deny")
        eligible = eligible.astype(np.uint8)
    is_new = None
    if new_items is not None:
        is_new = item_mask(new_items, n_items, "new_items").astype(np.uint8)
    elif min_new:
        raise ValueError("min_new needs new_items")

    try:
        out_ids, out_scores, short, missing = _core.rerank(
            ids,
            scores,
            k,
            n_items,
            diversity,
            diversity_penalty == "mean",
            *sim,
            *cats,
            labels.size,
            cap,
            calibration,
            calibration_alpha,
            *mix,
            boost_values,
            eligible,
            is_new,
            min_new,
            resolve_threads(n_threads),
        )
    except ValueError as e:
        if not str(e).startswith("ids holds") or catalogue_source == "ids":
            raise
        # The kernel checks every id in its pass; say which argument set the catalogue.
        raise ValueError(
            f"{e}: the {n_items} items are those {catalogue_source} covers; it (and every array over "
            "items) must cover every candidate. A ColdStart model's new products come after its known "
            "ones (model.n_items_ in all)"
        ) from None
    if own_scores is not None:
        out_scores = at_positions(own_scores, candidate_positions(ids, out_ids), -np.inf)
    if return_report:
        return out_ids, out_scores, {"short_lists": int(short), "missing_new": int(missing), "categories": labels}
    return out_ids, out_scores


# ColdStart's path of a trending product (recforge.ColdStart.PATHS), and the relevance under
# which such products sit in a list they completed: the model's products keep 95% of their
# spread (their places against diversity and novelty barely move)
_POPULAR = ColdStart.PATHS.index("popular")
_N_PATHS = len(ColdStart.PATHS)
_FLOOR = 0.05


def _relevance_by_path(scores, paths, ids) -> np.ndarray:
    """Scores to re-rank by (float64): in a list holding both the model's products and trending
    ones, the model's min-max scaled to [_FLOOR, 1] (1 where they are all equal) and trending's
    in (0, _FLOOR) in their order; lists of one path keep their scores."""
    scores = np.asarray(scores, dtype=np.float64).copy()
    filled = (paths == _POPULAR) & (ids >= 0)
    own = (paths != _POPULAR) & (ids >= 0)
    rows = np.flatnonzero(filled.any(axis=1) & own.any(axis=1))
    if rows.size == 0:
        return scores
    sub, mine, added = scores[rows], own[rows], filled[rows]
    low = np.where(mine, sub, np.inf).min(axis=1, keepdims=True)
    spread = np.where(mine, sub, -np.inf).max(axis=1, keepdims=True) - low
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.where(spread > 0, (sub - low) / spread, 1.0)
    order = np.cumsum(added, axis=1)  # 1, 2, ... along each list's trending products
    below = _FLOOR * (1 - order / (added.sum(axis=1, keepdims=True) + 1))
    scores[rows] = np.where(mine, _FLOOR + (1 - _FLOOR) * scaled, np.where(added, below, sub))
    return scores


def candidate_positions(candidates, chosen) -> np.ndarray:
    """Each product of ``chosen`` (a re-ranked list of each customer's ``candidates``, as
    :func:`rerank` returns them) at its first slot among the candidates, -1 for padding (and
    for a product not among them): the slot that gives back its own score or ColdStart path.
    By one sort of (customer, product) keys and a search of the chosen ones: matching each
    chosen product against every candidate built a (customers x k x candidates) array, 23 GB
    for the sample's 2,169 customers at k 3,000 of 3,500 (and 169 s)."""
    candidates, chosen = np.asarray(candidates), np.asarray(chosen)
    out = np.full(chosen.shape, -1, dtype=np.int64)
    if 0 in candidates.shape or 0 in chosen.shape:
        return out
    n, width = candidates.shape
    span = int(max(candidates.max(), chosen.max())) + 2  # products 0.., padding -1: keys per customer
    rows = np.arange(n, dtype=np.int64)[:, None] * span
    keys = (rows + (candidates.astype(np.int64) + 1)).ravel()
    order = np.argsort(keys, kind="stable")  # a product's first slot first among its equals
    ordered = keys[order]
    wanted = (rows + (chosen.astype(np.int64) + 1)).ravel()
    at = np.minimum(np.searchsorted(ordered, wanted), ordered.size - 1)
    found = (ordered[at] == wanted) & (chosen.ravel() >= 0)
    out.ravel()[found] = order[at[found]] % width
    return out


def at_positions(values, at, fill) -> np.ndarray:
    """``values`` (one per candidate) at the slots ``at`` of :func:`candidate_positions`;
    ``fill`` for -1."""
    values = np.asarray(values)
    if 0 in at.shape or 0 in values.shape:
        return np.full(at.shape, fill, dtype=values.dtype)
    return np.where(at >= 0, np.take_along_axis(values, np.maximum(at, 0), axis=1), fill)


def novelty_bonus(popularity, n_items: int, dtype=np.float64) -> np.ndarray:
    """nov(c) = 1 - log(1 + popularity[c]) / log(1 + max popularity), in [0, 1] (all 0 when no
    item is popular)."""
    if popularity is None:
        raise ValueError("novelty needs popularity (each item's buyers, e.g. np.bincount(X.indices))")
    pop = as_numbers(popularity, "popularity")
    if pop.shape != (n_items,) or not np.all(np.isfinite(pop)) or (pop.size and pop.min() < 0):
        raise ValueError(f"popularity must hold one finite count >= 0 per item ({n_items})")
    top = np.log1p(pop.max()) if pop.size else 0.0
    if top == 0:
        return np.zeros(n_items, dtype=dtype)
    return (1.0 - np.log1p(pop) / top).astype(dtype)


def _is_mask(items) -> bool:
    """Whether an item selection is a boolean mask (one entry per item: it sizes the catalogue)."""
    return items is not None and np.asarray(items).dtype == bool


def _catalogue_size(n_items, ids, id_lists, **given_arrays) -> tuple[int, str]:
    """The catalogue and what set it: ``n_items``, else the first array over items given, else
    the largest item id among the candidates and ``id_lists`` (allow, deny, new items: an
    allowed product need not be anyone's candidate)."""
    if n_items is not None:
        return check_int(n_items, "n_items", minimum=0), "n_items"
    for name, given in given_arrays.items():
        if given is None:
            continue
        if hasattr(given, "shape") and len(given.shape) >= 1:
            return int(given.shape[0]), name
        if not hasattr(given, "__len__") or isinstance(given, (str, bytes)):
            kind = "an item-item matrix" if name == "similarity" else "one value per item"
            raise TypeError(f"{name} must be {kind}, got {type(given).__name__} {given!r:.40}")
        return len(given), name
    largest = int(ids.max()) if ids.size else -1
    for listed in id_lists:
        a = np.asarray(listed)
        if a.size and a.dtype.kind in "iu":  # anything else is refused by item_mask, naming it
            largest = max(largest, int(a.max()))
    return largest + 1, "ids"


def _caps(caps, labels: np.ndarray) -> np.ndarray:
    """Per-category caps (-1: none) from one number or {label: cap}."""
    if isinstance(caps, dict):
        position = {label: i for i, label in enumerate(labels.tolist())}
        out = np.full(labels.size, -1, dtype=np.int64)
        for label, cap in caps.items():
            if label not in position:
                raise ValueError(f"caps names category {label!r}, which no item has")
            out[position[label]] = check_int(cap, f"caps[{label!r}]", minimum=0)
        return out
    return np.full(labels.size, check_int(caps, "caps", minimum=0), dtype=np.int64)

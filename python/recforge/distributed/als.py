"""Implicit ALS on a Dask cluster, in the block design of Spark's ALS.

Users and items are cut into blocks of rows. A half-step that solves one side (say the users)
with the other side's factors fixed runs as:

1. each item block computes the Gram matrices of its rows (in the fixed row chunks of
   ``als_whiten``) where it lives; the client sums the small f x f partials in chunk order and
   factors G = YᵀY + λI (Cholesky, O(f³));
2. each item block whitens its own rows (Y L⁻ᵀ) with the L⁻¹ it is sent;
3. each item block sends every user block the whitened rows of just the items that block's
   users touched (Spark's "out blocks"), and each user block solves its rows with the compiled
   solver against that compact copy, its interaction rows renumbered to it once at the start.
   Where a block needs every item, each worker joins the whitened item rows once for all its
   blocks.

Every row is solved with the same arithmetic on the same inputs as in one process, and G is
summed in the same order, so the factors equal :class:`recforge.ALS`'s with the same seed bit
for bit. Factor blocks stay on the workers between half-steps; the client holds the
interactions (to cut them into blocks once), the f x f matrices, and the factors at the end.
"""

from __future__ import annotations

import operator

import numpy as np
from distributed import get_client

from .. import _core
from .._config import resolve_threads
from .._sparse import CsrParts, check_sparse
from ..models import ALS as _LocalALS
from .shipping import ship

__all__ = ["ALS"]


# -- tasks (run on the workers) -----------------------------------------------------------------
def _aligned(array: np.ndarray) -> np.ndarray:
    """``array`` at an address its dtype may be read from (a copy only when it is not): a small
    array unpickled from a task message can sit at any byte offset."""
    return np.require(array, requirements=["C", "A"])


def _grams(factors: np.ndarray, edges: np.ndarray, n_threads: int) -> np.ndarray:
    return _core.als_gram_chunks(_aligned(factors), _aligned(edges), resolve_threads(n_threads))


def _factored(regularization: float, dtype: str, f: int, *grams) -> tuple:
    """(G, L, L⁻¹) of the fixed side: its blocks' chunk Grams summed in als_whiten's order
    (block by block, chunk by chunk), plus λI, factored. A task: the half-step that needs it
    follows without a round trip to the client."""
    G = np.zeros((f, f))
    for block in grams:
        for partial in block:
            G += partial
    L, Linv, G = _core.als_factor(G, regularization, dtype)
    return G, L, Linv


def _whiten(factors: np.ndarray, fixed: tuple, n_threads: int) -> np.ndarray:
    return _core.als_whiten_rows(_aligned(factors), _aligned(fixed[2]), resolve_threads(n_threads))


def _rows_of(pieces, f: int, dtype) -> np.ndarray:
    """The pieces' rows as one array the solver reads (one piece as it is, if aligned: the
    joined fixed side is as large as the factors)."""
    if len(pieces) == 1:
        return _aligned(pieces[0])
    return np.concatenate(pieces) if pieces else np.zeros((0, f), dtype)


def _take(factors: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return factors[rows]


def _solve(block: tuple, solved: np.ndarray, fixed: tuple, settings: dict, edges: np.ndarray, *pieces):
    """Solve a block's rows; ``pieces``: the whitened rows it needs from each fixed block, then
    (for the loss) the same rows unwhitened. Returns (factors, rows not finite, loss rows, the
    new factors' chunk Grams): the Grams the next half-step needs, computed here, where the
    factors are, sparing that half-step a round of tasks."""
    indptr, indices, data = (_aligned(a) for a in block[:3])
    n_cols = block[3]
    G, L, Linv = (_aligned(a) for a in fixed)
    half = len(pieces) // 2 if settings["want_loss"] else len(pieces)
    f = solved.shape[1]
    whitened = _rows_of(pieces[:half], f, solved.dtype)
    plain = _rows_of(pieces[half:], f, solved.dtype) if settings["want_loss"] and half else whitened
    out = solved.copy()  # the input block may be shared with other tasks on this worker
    bad, loss = _core.als_solve(
        indptr,
        indices,
        data,
        n_cols,
        plain,
        whitened,
        L,
        Linv,
        G,
        out,
        settings["alpha"],
        settings["solver"],
        settings["cg_steps"],
        resolve_threads(settings["n_threads"]),
        settings["want_loss"],
    )
    return out, bad, loss, _grams(out, edges, settings["n_threads"])


# -- the plan (on the client, once) ------------------------------------------------------------
def row_blocks(n: int, blocks: int, work: np.ndarray | None = None) -> list[tuple[int, int, np.ndarray]]:
    """At most ``blocks`` blocks of consecutive rows, each a union of whole chunks of the Gram
    sum (so that the blocks' partial Grams add up in als_whiten's order), of about equal total
    ``work`` (per row; default: 1 each): ``(start, stop, chunk edges relative to start)``."""
    edges = _core.als_gram_chunk_edges(n)
    chunks = len(edges) - 1
    if chunks == 0:
        return [(0, 0, np.zeros(1, dtype=np.int64))]
    work = np.ones(n) if work is None else np.asarray(work, dtype=np.float64)
    cumulative = np.concatenate(([0.0], np.cumsum(work)))[edges]  # work up to each chunk edge
    targets = cumulative[-1] * np.arange(1, min(blocks, chunks)) / min(blocks, chunks)
    after = np.clip(np.searchsorted(cumulative, targets), 1, chunks)  # the nearer chunk edge
    nearest = np.where(targets - cumulative[after - 1] < cumulative[after] - targets, after - 1, after)
    cuts = np.unique(np.concatenate(([0], nearest, [chunks])))
    return [(int(edges[a]), int(edges[b]), edges[a : b + 1] - edges[a]) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]


def placed(costs: list, workers: list) -> list:
    """The worker of each block: the costliest first, each to the least loaded worker so far
    (longest processing time first), so that every worker's blocks cost about the same; a
    block cannot be cut below a Gram chunk, and a power-law catalogue's first chunk may hold
    half the interactions."""
    load = {w: 0.0 for w in workers}
    out = [None] * len(costs)
    for b in sorted(range(len(costs)), key=lambda b: -costs[b]):
        w = min(workers, key=lambda w: load[w])
        out[b] = w
        load[w] += costs[b]
    return out


def _joined(*pieces) -> np.ndarray:
    return np.concatenate(pieces)


def _plan(M: CsrParts, rows: list, columns: list) -> tuple[list, list]:
    """For each row block of M: its rows with columns renumbered to the compact list of columns
    they use, and for each column block, which of its rows (relative) that list takes from it:
    None for all of them (a block needed for more than half its rows is sent whole, sparing a
    copy). The renumbering keeps the order, so each row's entries are visited as in one process."""
    blocks, takes = [], []
    for start, stop, _ in rows:
        indptr = M.indptr[start : stop + 1]
        first, last = int(indptr[0]), int(indptr[-1])
        indices = M.indices[first:last]
        needed = np.unique(indices)
        bounds = np.searchsorted(needed, [c for c, _, _ in columns] + [columns[-1][1]])
        take, used = [], []
        for c, (c0, c1, _) in enumerate(columns):
            rows_needed = needed[bounds[c] : bounds[c + 1]]
            whole = 2 * len(rows_needed) > c1 - c0
            take.append(None if whole else rows_needed - c0)
            used.append(np.arange(c0, c1) if whole else rows_needed)
        used = np.concatenate(used) if used else needed
        local = np.searchsorted(used, indices).astype(M.indices.dtype, copy=False)
        blocks.append(((indptr - first).astype(M.indptr.dtype), local, M.data[first:last], len(used)))
        takes.append(take)
    return blocks, takes


class ALS(_LocalALS):
    """:class:`recforge.ALS` trained on a Dask cluster; the fitted factors equal ``recforge.ALS``'s
    with the same parameters and seed, bit for bit.

    Parameters
    ----------
    factors, regularization, alpha, iterations, solver, cg_steps, init_std, dtype
        As :class:`recforge.ALS`.
    calculate_loss, random_state, show_progress
        As :class:`recforge.ALS`.
    n_threads : int, default 1
        Threads of each task on the workers (0: every CPU the worker may use). Dask already runs
        one task per worker thread. The fitted model recommends with this count on the client;
        set ``n_threads`` after fitting to change it.
    blocks : int, optional
        Blocks each side is cut into (at most 64, the row chunks whose Grams are summed in a
        fixed order; fewer for fewer than 16k rows). Default: twice the cluster's worker threads.
        The blocks go to the workers so that each worker's cost about the same (the costliest
        first, to the least loaded), and stay there.
    client : distributed.Client, optional
        Default: the current client at fit time.

    Notes
    -----
    When it pays: the interaction blocks, their solves and the factor blocks are spread over the
    workers, so a machine need hold only its blocks while training; the client cuts the
    interactions into blocks once and receives the factors at the end. On data one machine
    holds, one process is faster (each half-step adds a round trip of small f x f matrices and
    a transfer of the factor rows each block needs). The loss (``calculate_loss``) gathers each
    user's share and the item factors on the client. The model saves as, and loads as,
    :class:`recforge.ALS`.

    Examples
    --------
    >>> from distributed import Client                                       # doctest: +SKIP
    >>> client = Client("tcp://scheduler:8786")                              # doctest: +SKIP
    >>> model = recforge.distributed.ALS(factors=64, random_state=0).fit(interactions)  # doctest: +SKIP
    """

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 30.0,
        alpha: float = 4.0,
        iterations: int = 15,
        solver: str = "cg",
        cg_steps: int = 3,
        init_std: float = 0.01,
        dtype: str = "float32",
        calculate_loss: bool = False,
        random_state: int | None = None,
        n_threads: int = 1,
        show_progress: bool = False,
        *,
        blocks: int | None = None,
        client=None,
    ):
        super().__init__(
            factors=factors,
            regularization=regularization,
            alpha=alpha,
            iterations=iterations,
            solver=solver,
            cg_steps=cg_steps,
            init_std=init_std,
            dtype=dtype,
            calculate_loss=calculate_loss,
            random_state=random_state,
            n_threads=n_threads,
            show_progress=show_progress,
        )
        if blocks is not None and (isinstance(blocks, bool) or not isinstance(blocks, (int, np.integer)) or blocks < 1):
            raise ValueError(f"blocks must be a positive integer or None, got {blocks!r}")
        self.blocks = None if blocks is None else int(blocks)
        self.client = client

    def file_params(self) -> dict:
        """recforge.ALS's parameters: the file loads as a :class:`recforge.ALS`."""
        params = self.get_params(deep=False)
        return {name: params[name] for name in _LocalALS._param_names()}

    def _fit(self, X: CsrParts, callback=None) -> None:
        client = self.client or get_client()
        C = self._confidence_rows(X, "user_items")
        CT = check_sparse(C.to_scipy().T.tocsr(), "user_items.T")
        n_users, n_items = X.shape
        threads = client.nthreads()
        count = self.blocks or 2 * max(1, sum(threads.values()))
        # Blocks of about equal solving work: a row's solve costs about f / (cg_steps + 1) of
        # its interactions' (the f x f products against its gathers of f-vectors).
        per_row = self.factors / (self.cg_steps + 1)
        user_work, item_work = np.diff(C.indptr) + per_row, np.diff(CT.indptr) + per_row
        user_rows = row_blocks(n_users, count, user_work)
        item_rows = row_blocks(n_items, count, item_work)
        user_blocks, user_takes = _plan(C, user_rows, item_rows)
        item_blocks, item_takes = _plan(CT, item_rows, user_rows)
        slots = [w for w, n in sorted(threads.items()) for _ in range(max(1, n))]
        where = {
            "user": placed([float(user_work[a:b].sum()) for a, b, _ in user_rows], slots),
            "item": placed([float(item_work[a:b].sum()) for a, b, _ in item_rows], slots),
        }
        # The initial user factors, block by block from one stream: the numbers rf.ALS draws.
        rng = np.random.default_rng(self.random_state)
        users = [self._normal_factors(rng, stop - start, self.init_std) for start, stop, _ in user_rows]
        items = [np.zeros((stop - start, self.factors), self.dtype) for start, stop, _ in item_rows]
        # Submitted, not scattered: the scheduler keeps each block's task, so a block lost with a
        # worker is rebuilt (and the half-steps after it recomputed) instead of failing the fit.
        users, items, user_blocks, item_blocks = (
            [ship(client, block, worker=w) for block, w in zip(blocks, where[side])]
            for blocks, side in ((users, "user"), (items, "item"), (user_blocks, "user"), (item_blocks, "item"))
        )
        total_confidence = n_users * n_items + self.alpha * float(np.abs(C.data, dtype=np.float64).sum())
        settings = {
            "alpha": self.alpha,
            "solver": ("cg", "cholesky").index(self.solver),
            "cg_steps": self.cg_steps,
            "n_threads": self.n_threads,
        }
        state = {"user": users, "item": items}

        # The chunk Grams of each side's blocks, as the last solve of that side left them.
        grams = {
            "user": [client.submit(_grams, F, edges, self.n_threads) for F, (_, _, edges) in zip(users, user_rows)]
        }

        def half_step(solved: str, fixed: str, blocks, takes, rows, want_loss: bool):
            """Submit a half-step's tasks (nothing waits for them here); returns the futures of
            each block's (rows not finite, loss rows)."""
            fixed_factors = state[fixed]
            factored = client.submit(
                _factored, self.regularization, np.dtype(self.dtype).name, self.factors, *grams[fixed], pure=False
            )
            whitened = [client.submit(_whiten, F, factored, self.n_threads, pure=False) for F in fixed_factors]
            step = dict(settings, want_loss=want_loss)
            results, joined = [], {}
            for block, take, current, (_, _, edges), w in zip(blocks, takes, state[solved], rows, where[solved]):
                pin = {"workers": [w], "allow_other_workers": True}
                sides = [whitened, fixed_factors] if want_loss else [whitened]  # the loss reads the plain rows too
                if all(needed is None for needed in take):  # the whole fixed side, joined once per worker
                    if w not in joined:
                        joined[w] = [client.submit(_joined, *side, pure=False, **pin) for side in sides]
                    pieces = joined[w]
                else:
                    pieces = [
                        W if needed is None else client.submit(_take, W, needed, pure=False)
                        for side in sides
                        for W, needed in zip(side, take)
                    ]
                results.append(client.submit(_solve, block, current, factored, step, edges, *pieces, pure=False, **pin))
            state[solved] = [client.submit(operator.getitem, r, 0, pure=False) for r in results]
            grams[solved] = [client.submit(operator.getitem, r, 3, pure=False) for r in results]
            return [client.submit(operator.itemgetter(1, 2), r, pure=False) for r in results]

        def checked(pending: list) -> list:
            """The gathered statuses of submitted half-steps, in order; FloatingPointError at
            the first with factor vectors that are not finite."""
            gathered = client.gather([status for _, _, status in pending])
            for (iteration, solved, _), status in zip(pending, gathered):
                bad = sum(int(b) for b, _ in status)
                if bad:
                    raise FloatingPointError(
                        f"ALS diverged at iteration {iteration + 1}: {bad} {solved} factor vectors are not finite; "
                        f"lower alpha (now {self.alpha}) or raise regularization (now {self.regularization})"
                    )
            return gathered

        def run(first, count):
            # The iterations' tasks are submitted at once and the client waits once, at the end
            # (or each iteration for the loss): the scheduler starts each half-step as soon as
            # what it needs exists, with no round trip to the client between them (on a real
            # cluster, a client far from the scheduler paid four per iteration).
            losses, pending = [], []
            for iteration in range(first, first + count):
                pending.append(
                    (iteration, "item", half_step("item", "user", item_blocks, item_takes, item_rows, False))
                )
                user = half_step("user", "item", user_blocks, user_takes, user_rows, self.calculate_loss)
                pending.append((iteration, "user", user))
                if self.calculate_loss:
                    status = checked(pending)[-1]
                    pending = []
                    item_factors = np.concatenate(client.gather(state["item"]))
                    penalty = self.regularization * float(np.square(item_factors, dtype=np.float64).sum())
                    loss_rows = np.concatenate([loss for _, loss in status])
                    losses.append((float(loss_rows.sum()) + penalty) / max(total_confidence, 1.0))
            checked(pending)
            return np.array(losses) if self.calculate_loss else None

        self._run_epochs(run, callback)
        self.n_users_, self.n_items_ = n_users, n_items
        self.user_factors_ = np.ascontiguousarray(np.concatenate(client.gather(state["user"])), dtype=self.dtype)
        self.item_factors_ = np.ascontiguousarray(np.concatenate(client.gather(state["item"])), dtype=self.dtype)

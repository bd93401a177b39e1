"""Type stubs for the compiled core (internal API; use the recforge package functions)."""

from typing import Any

import numpy as np
import numpy.typing as npt

def build_info() -> dict[str, Any]: ...
def check_csr(
    indptr: npt.NDArray[np.integer],
    indices: npt.NDArray[np.integer],
    data: npt.NDArray[np.floating],
    n_rows: int,
    n_cols: int,
    name: str = "X",
) -> bool: ...
def similarity(
    indptr: npt.NDArray[np.integer],
    indices: npt.NDArray[np.integer],
    data: npt.NDArray[np.floating],
    n_rows: int,
    n_cols: int,
    k: int,
    metric: str,
    shrinkage: float,
    min_support: int,
    n_threads: int,
    k1: float = 1.2,
    b: float = 0.75,
    transposed: bool = False,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.integer], npt.NDArray[np.floating]]: ...
def topk_dense(
    queries: npt.NDArray[np.floating],
    items: npt.NDArray[np.floating],
    exclude_indptr: npt.NDArray[np.integer] | None,
    exclude_indices: npt.NDArray[np.integer] | None,
    exclude_data: npt.NDArray[np.floating] | None,
    allow: npt.NDArray[np.integer] | None,
    k: int,
    cosine: bool,
    n_threads: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.floating]]: ...
def topk_sparse(
    h_indptr: npt.NDArray[np.integer],
    h_indices: npt.NDArray[np.integer],
    h_data: npt.NDArray[np.floating],
    n_rows: int,
    n_inner: int,
    s_indptr: npt.NDArray[np.integer],
    s_indices: npt.NDArray[np.integer],
    s_data: npt.NDArray[np.floating],
    n_items: int,
    exclude_indptr: npt.NDArray[np.integer] | None,
    exclude_indices: npt.NDArray[np.integer] | None,
    exclude_data: npt.NDArray[np.floating] | None,
    allow: npt.NDArray[np.integer] | None,
    k: int,
    n_threads: int,
    rows: npt.NDArray[np.int64] | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.floating]]: ...
def ranking_metrics(
    recommended: npt.NDArray[np.int64],
    indptr: npt.NDArray[np.integer],
    indices: npt.NDArray[np.integer],
    data: npt.NDArray[np.floating],
    n_items: int,
    k: int,
    n_threads: int,
    per_user: bool,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.uint8]]: ...
def als_whiten(
    factors: npt.NDArray[np.floating], regularization: float, n_threads: int
) -> tuple[npt.NDArray[np.floating], npt.NDArray[np.floating], npt.NDArray[np.floating], npt.NDArray[np.float64]]: ...
def als_solve(
    indptr: npt.NDArray[np.integer],
    indices: npt.NDArray[np.integer],
    data: npt.NDArray[np.floating],
    n_cols: int,
    fixed: npt.NDArray[np.floating],
    whitened: npt.NDArray[np.floating],
    L: npt.NDArray[np.floating],
    Linv: npt.NDArray[np.floating],
    G: npt.NDArray[np.float64],
    solved: npt.NDArray[np.floating],
    alpha: float,
    solver: int,
    cg_steps: int,
    n_threads: int,
    want_loss: bool,
) -> tuple[int, npt.NDArray[np.float64] | None]: ...

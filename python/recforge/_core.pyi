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
def column_counts(indices: npt.NDArray[np.integer], n_cols: int, n_threads: int) -> npt.NDArray[np.int64]: ...
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
    shrinkage_offset: float = 0.0,
    sorted_rows: bool = True,
    rows_begin: int = 0,
    rows_end: int = -1,
    receiver_walk: int = -1,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.integer], npt.NDArray[np.floating]]: ...
def pair_work(
    indptr: npt.NDArray[np.integer],
    indices: npt.NDArray[np.integer],
    data: npt.NDArray[np.floating],
    n_rows: int,
    n_cols: int,
    trusted: bool = False,
) -> npt.NDArray[np.int64]: ...
def symmetric_max(
    indptr: npt.NDArray[np.integer],
    indices: npt.NDArray[np.integer],
    data: npt.NDArray[np.floating],
    n: int,
    n_threads: int,
    trusted: bool = False,
) -> tuple[npt.NDArray[np.integer], npt.NDArray[np.integer], npt.NDArray[np.floating]]: ...
def topk_of_rows(
    indptr: npt.NDArray[np.integer],
    indices: npt.NDArray[np.integer],
    data: npt.NDArray[np.floating],
    n_cols: int,
    k: int,
    n_threads: int,
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
    trusted: bool = False,
    packed: npt.NDArray[np.floating] | None = None,
    shift: float = 0.0,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.floating]]: ...
def ranked_topk(
    order: npt.NDArray[np.int64],
    score: npt.NDArray[np.floating],
    exclude_indptr: npt.NDArray[np.integer] | None,
    exclude_indices: npt.NDArray[np.integer] | None,
    exclude_data: npt.NDArray[np.floating] | None,
    n_rows: int,
    k: int,
    n_threads: int,
    trusted: bool = False,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.floating]]: ...
def pack_items(items: npt.NDArray[np.floating], cosine: bool) -> npt.NDArray[np.floating]: ...
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
    trusted: bool = False,
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
def als_gram_chunk_edges(n: int) -> npt.NDArray[np.int64]: ...
def als_gram_chunks(
    factors: npt.NDArray[np.floating], edges: npt.NDArray[np.integer], n_threads: int
) -> npt.NDArray[np.float64]: ...
def als_factor(
    G: npt.NDArray[np.float64], regularization: float, dtype: str
) -> tuple[npt.NDArray[np.floating], npt.NDArray[np.floating], npt.NDArray[np.float64]]: ...
def als_whiten_rows(
    factors: npt.NDArray[np.floating], Linv: npt.NDArray[np.floating], n_threads: int
) -> npt.NDArray[np.floating]: ...
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
def mf_sgd_epochs(
    users: npt.NDArray[np.integer],
    items: npt.NDArray[np.integer],
    ratings: npt.NDArray[np.floating],
    block_ptr: npt.NDArray[np.int64],
    user_factors: npt.NDArray[np.floating],
    item_factors: npt.NDArray[np.floating],
    user_bias: npt.NDArray[np.floating],
    item_bias: npt.NDArray[np.floating],
    mu: float,
    lr: float,
    reg: float,
    lr_bias: float,
    reg_bias: float,
    decay: float,
    seed: int,
    first_epoch: int,
    n_epochs: int,
    n_threads: int,
) -> npt.NDArray[np.float64]: ...
def ridge_rows(
    indptr: npt.NDArray[np.integer],
    indices: npt.NDArray[np.integer],
    targets: npt.NDArray[np.floating],
    n_cols: int,
    features: npt.NDArray[np.floating],
    lambda_: npt.NDArray[np.float64],
    solved: npt.NDArray[np.floating],
    n_threads: int,
) -> int: ...
def pair_dots(
    user_factors: npt.NDArray[np.floating],
    item_factors: npt.NDArray[np.floating],
    user_ids: npt.NDArray[np.int64],
    item_ids: npt.NDArray[np.int64],
    n_threads: int,
) -> npt.NDArray[np.floating]: ...
def knn_predict(
    s_indptr: npt.NDArray[np.integer],
    s_indices: npt.NDArray[np.integer],
    s_data: npt.NDArray[np.floating],
    d_indptr: npt.NDArray[np.integer],
    d_indices: npt.NDArray[np.integer],
    d_data: npt.NDArray[np.floating],
    n_contexts: int,
    contexts: npt.NDArray[np.int64],
    entities: npt.NDArray[np.int64],
    order: npt.NDArray[np.int64],
    k: int,
    min_k: int,
    n_threads: int,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]: ...
def bpr_epochs(
    indptr: npt.NDArray[np.integer],
    indices: npt.NDArray[np.integer],
    data: npt.NDArray[np.floating],
    n_items: int,
    user_of: npt.NDArray[np.integer],
    user_factors: npt.NDArray[np.floating],
    item_factors: npt.NDArray[np.floating],
    item_bias: npt.NDArray[np.floating],
    lr: float,
    reg: float,
    popularity: bool,
    verify: bool,
    seed: int,
    first_epoch: int,
    n_epochs: int,
    n_threads: int,
    trace: npt.NDArray[np.int64] | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
def auc(
    recommended: npt.NDArray[np.int64],
    indptr: npt.NDArray[Any],
    indices: npt.NDArray[Any],
    data: npt.NDArray[Any],
    n_items: int,
    n_candidates: npt.NDArray[np.int64],
    n_threads: int,
) -> npt.NDArray[np.float64]: ...
def gram_counts(
    x_indptr: npt.NDArray[np.integer],
    x_indices: npt.NDArray[np.integer],
    x_data: npt.NDArray[np.floating],
    t_indptr: npt.NDArray[np.integer],
    t_indices: npt.NDArray[np.integer],
    t_data: npt.NDArray[np.floating],
    n_users: int,
    n_items: int,
    min_support: int,
    n_threads: int,
) -> npt.NDArray[np.int64]: ...
def gram_fill(
    x_indptr: npt.NDArray[np.integer],
    x_indices: npt.NDArray[np.integer],
    x_data: npt.NDArray[np.floating],
    t_indptr: npt.NDArray[np.integer],
    t_indices: npt.NDArray[np.integer],
    t_data: npt.NDArray[np.floating],
    n_users: int,
    n_items: int,
    min_support: int,
    indptr: npt.NDArray[np.integer],
    n_threads: int,
) -> tuple[npt.NDArray[np.integer], npt.NDArray[np.floating]]: ...
def sparse_ease(
    g_indptr: npt.NDArray[np.integer],
    g_indices: npt.NDArray[np.integer],
    g_data: npt.NDArray[np.floating],
    diag: npt.NDArray[np.float64],
    regularization: float,
    neighbours: int,
    columns: npt.NDArray[np.integer],
    weights: npt.NDArray[np.floating],
    lengths: npt.NDArray[np.int64],
    n_threads: int,
) -> int: ...
def rank_within_rows(
    indptr: npt.NDArray[np.integer], key: npt.NDArray[np.float64], n_threads: int
) -> npt.NDArray[np.int64]: ...
def contains_pairs(
    indptr: npt.NDArray[np.integer],
    indices: npt.NDArray[np.integer],
    data: npt.NDArray[np.floating],
    n_rows: int,
    n_cols: int,
    rows: npt.NDArray[np.int64],
    cols: npt.NDArray[np.int64],
    n_threads: int,
) -> npt.NDArray[np.bool_]: ...
def aggregate_pairs(
    user: npt.NDArray[np.int64],
    item: npt.NDArray[np.int64],
    weight: npt.NDArray[np.float64],
    time: npt.NDArray[np.float64] | None,
    n_users: int,
    n_items: int,
    mode: int,
    wide: bool,
    n_threads: int,
) -> tuple[
    npt.NDArray[np.integer],
    npt.NDArray[np.integer],
    npt.NDArray[np.float32],
    npt.NDArray[np.float64] | None,
]: ...
def csv_text(
    columns: list[tuple[int, npt.NDArray[np.generic], npt.NDArray[np.uint8] | None]],
    n_rows: int,
    sep: str,
    digits: int,
    special: str,
    n_threads: int,
) -> bytes: ...
def summarise_customers(
    customer: npt.NDArray[np.int64],
    period: npt.NDArray[np.int64],
    value: npt.NDArray[np.float64],
    n_customers: int,
    net: bool,
    n_threads: int,
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    int,
]: ...
def distinct_rows(rows: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
def bgnbd_row_sums(
    x: npt.NDArray[np.float64],
    weight: npt.NDArray[np.float64],
    x_index: npt.NDArray[np.int64],
    table: npt.NDArray[np.float64],
    T_index: npt.NDArray[np.int64],
    t_index: npt.NDArray[np.int64],
    log_age: npt.NDArray[np.float64],
    inv_age: npt.NDArray[np.float64],
    r: float,
    a: float,
    n_threads: int,
    dropout_at_start: bool = False,
) -> npt.NDArray[np.float64]: ...
def gamma_gamma_row_sums(
    x: npt.NDArray[np.float64],
    m: npt.NDArray[np.float64],
    log_m: npt.NDArray[np.float64],
    log_x: npt.NDArray[np.float64],
    x_index: npt.NDArray[np.int64],
    table: npt.NDArray[np.float64],
    p: float,
    q: float,
    v: float,
    n_threads: int,
) -> npt.NDArray[np.float64]: ...
def rerank(
    candidates: npt.NDArray[np.int64],
    scores: npt.NDArray[np.floating],
    k: int,
    n_items: int,
    diversity: float,
    mean_penalty: bool,
    s_indptr: npt.NDArray[np.integer],
    s_indices: npt.NDArray[np.integer],
    s_data: npt.NDArray[np.floating],
    category: npt.NDArray[np.int32] | None,
    n_categories: int,
    cap: npt.NDArray[np.int64] | None,
    calibration: float,
    calibration_alpha: float,
    m_indptr: npt.NDArray[np.integer],
    m_indices: npt.NDArray[np.integer],
    m_data: npt.NDArray[np.floating],
    boost: npt.NDArray[np.floating] | None,
    eligible: npt.NDArray[np.uint8] | None,
    is_new: npt.NDArray[np.uint8] | None,
    min_new: int,
    n_threads: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.floating], int, int]: ...
def beyond_accuracy(
    ids: npt.NDArray[np.int64],
    n_items: int,
    information: npt.NDArray[np.float64],
    popularity: npt.NDArray[np.float64],
    s_indptr: npt.NDArray[np.integer],
    s_indices: npt.NDArray[np.integer],
    s_data: npt.NDArray[np.floating],
    n_pairs: int,
    seed: int,
    n_threads: int,
    trusted: bool = False,
) -> dict[str, float | int]: ...
def explain(
    h_indptr: npt.NDArray[np.integer],
    h_indices: npt.NDArray[np.integer],
    h_data: npt.NDArray[np.floating],
    n_items: int,
    lists: npt.NDArray[np.int64],
    w_indptr: npt.NDArray[np.integer],
    w_indices: npt.NDArray[np.integer],
    w_data: npt.NDArray[np.floating],
    factors: npt.NDArray[np.floating] | None,
    top: int,
    n_threads: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.floating]]: ...

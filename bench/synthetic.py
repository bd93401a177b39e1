"""The synthetic interaction set of DESIGN.md section 6, shared by every benchmark.

Users and items are drawn independently with power-law popularity (item weight 1/rank^0.8,
user weight 1/rank^0.5); duplicate pairs are merged and every value set to 1. Draws continue
until the requested number of distinct pairs exists, then exactly that many are kept.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def power_law_interactions(
    n_users: int = 100_000,
    n_items: int = 20_000,
    nnz: int = 2_870_000,
    *,
    user_exponent: float = 0.5,
    item_exponent: float = 0.8,
    seed: int = 0,
    dtype=np.float32,
) -> sp.csr_matrix:
    """users x items CSR of ones with power-law user and item popularity."""
    rng = np.random.default_rng(seed)
    pu = 1.0 / np.arange(1, n_users + 1) ** user_exponent
    pi = 1.0 / np.arange(1, n_items + 1) ** item_exponent
    pu /= pu.sum()
    pi /= pi.sum()
    keys = np.empty(0, dtype=np.int64)
    while keys.size < nnz:
        draws = max(int((nnz - keys.size) * 1.2), 1000)
        u = rng.choice(n_users, size=draws, p=pu)
        i = rng.choice(n_items, size=draws, p=pi)
        keys = np.unique(np.concatenate([keys, u.astype(np.int64) * n_items + i]))
    keys = rng.permutation(keys)[:nnz]
    rows, cols = np.divmod(np.sort(keys), n_items)
    X = sp.csr_matrix((np.ones(nnz, dtype=dtype), (rows, cols)), shape=(n_users, n_items))
    X.sum_duplicates()
    return X

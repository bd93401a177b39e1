// Sparse approximate EASE for large catalogues: the exact Gram matrix as CSR, then one small
// ridge regression per item over its strongest neighbours.
//
// Exact EASE's column j is B[-j, j] = (G[-j,-j] + lambda I)^-1 G[-j, j] (G = X'X; the closed
// form B = I - P diag(1/diag P) is the block inverse of exactly this). Restricting the regressors
// to N(j), the `neighbours` items with the largest |G[j, b]| / sqrt(G[b, b]) (cosine up to the
// factor of j), gives a column with |N(j)| weights from an |N(j)|^2 system: memory O(nnz(G) +
// n * neighbours) instead of O(n^2), time O(sum_u nnz_u^2 + n * neighbours^3 / 6). With
// neighbours >= n - 1 it is exact EASE. G[N, N] is read from the exact sparse G, never
// approximated: dropping entries of a Gram matrix can make it indefinite, and measured on
// MovieLens that ruins the regression (see the Python docstring).
//
// Results do not depend on the thread count: every Gram row is summed in a fixed order by one
// thread, and every item's system is assembled and solved by one thread.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "csr.hpp"
#include "dense.hpp"
#include "multiversion.hpp"
#include "parallel.hpp"

namespace recforge {

// G = X'X row by row. X: users x items; XT: its transpose (items x users), same values.
template <typename T, typename I>
struct GramProblem {
    CsrView<T, I> X, XT;
    int64_t min_support = 1;  // off-diagonal pairs shared by fewer customers get no entry (>= 1)
};

namespace detail {

// A column's running sum and support side by side: the inner loop touches one 16-byte slot per
// entry instead of two arrays (1.1x faster measured on the 200k-item catalogue).
struct GramSlot {
    double sum = 0.0;
    int64_t support = 0;
};

struct GramScratchRow {
    std::vector<GramSlot> slot;    // n_items, zero between rows
    std::vector<int64_t> touched;  // columns met in this row
    explicit GramScratchRow(int64_t n) : slot(static_cast<size_t>(n)) {}
};

// Accumulates row a of X'X into s (touched columns sorted); returns how many it keeps.
template <typename T, typename I>
int64_t gram_row(const GramProblem<T, I>& P, int64_t a, GramScratchRow& s) {
    s.touched.clear();
    for (int64_t e = P.XT.row_begin(a); e < P.XT.row_end(a); ++e) {
        const int64_t u = P.XT.indices[e];
        const double w = P.XT.data[e];
        for (int64_t f = P.X.row_begin(u); f < P.X.row_end(u); ++f) {
            const int64_t b = P.X.indices[f];
            GramSlot& slot = s.slot[b];
            if (slot.support++ == 0) s.touched.push_back(b);
            slot.sum += w * static_cast<double>(P.X.data[f]);
        }
    }
    std::sort(s.touched.begin(), s.touched.end());
    int64_t kept = 0;
    for (const int64_t b : s.touched) kept += (b == a || s.slot[b].support >= P.min_support) ? 1 : 0;
    return kept;
}

inline void gram_reset(GramScratchRow& s) {
    for (const int64_t b : s.touched) s.slot[b] = GramSlot{};
}

}  // namespace detail

// First pass: counts[a] = entries row a of G will hold (its diagonal, if column a has any
// entry, and every pair with support >= min_support). Returns their total. O(sum_u nnz_u^2).
template <typename T, typename I>
int64_t gram_count(const GramProblem<T, I>& P, int64_t* counts, int n_threads) {
    const int64_t n = P.XT.n_rows;
    return sum_over_row_blocks<detail::GramScratchRow>(
        n, 64, n_threads, [&] { return std::make_unique<detail::GramScratchRow>(n); },
        [&](int64_t a0, int64_t a1, detail::GramScratchRow& s) {
            int64_t total = 0;
            for (int64_t a = a0; a < a1; ++a) {
                counts[a] = detail::gram_row(P, a, s);
                total += counts[a];
                detail::gram_reset(s);
            }
            return total;
        });
}

// Second pass: the rows into CSR arrays whose indptr is the running sum of gram_count's counts
// (indices sorted within each row). GI: the output's index type. A row whose count differs from
// its room in indptr is left unwritten and counted (the return value): never written past.
template <typename T, typename I, typename GI>
int64_t gram_fill(const GramProblem<T, I>& P, const GI* indptr, GI* indices, T* values, int n_threads) {
    const int64_t n = P.XT.n_rows;
    return sum_over_row_blocks<detail::GramScratchRow>(
        n, 64, n_threads, [&] { return std::make_unique<detail::GramScratchRow>(n); },
        [&](int64_t a0, int64_t a1, detail::GramScratchRow& s) {
            int64_t wrong = 0;
            for (int64_t a = a0; a < a1; ++a) {
                const int64_t kept = detail::gram_row(P, a, s);
                int64_t out = static_cast<int64_t>(indptr[a]);
                if (kept != static_cast<int64_t>(indptr[a + 1]) - out) {
                    ++wrong;
                    detail::gram_reset(s);
                    continue;
                }
                for (const int64_t b : s.touched) {
                    if (b != a && s.slot[b].support < P.min_support) continue;
                    indices[out] = static_cast<GI>(b);
                    values[out++] = static_cast<T>(s.slot[b].sum);
                }
                detail::gram_reset(s);
            }
            return wrong;
        });
}

// One regression per item over G (square CSR with sorted rows, as gram_fill writes it).
template <typename T, typename GI>
struct SparseEaseProblem {
    CsrView<T, GI> G;
    const double* diag;  // n: G[b, b]
    double lambda;       // > 0
    int64_t neighbours;  // >= 1
    GI* columns;         // n x neighbours, out: row j lists N(j) ascending
    T* weights;          // n x neighbours, out: B[N(j), j]
    int64_t* lengths;    // n, out: |N(j)| (0 for an item without a solvable system)
};

namespace detail {

struct SparseEaseScratch {
    std::vector<std::pair<double, int64_t>> candidates;  // (-strength, item): sorted = strongest first
    std::vector<int64_t> chosen;
    std::vector<double> rhs, A, column;
    explicit SparseEaseScratch(int64_t m)
        : rhs(static_cast<size_t>(m)), A(static_cast<size_t>(m * m)), column(static_cast<size_t>(m)) {}
};

template <typename T, typename GI>
RECFORGE_MULTIVERSION int64_t sparse_ease_rows(const SparseEaseProblem<T, GI>& P, int64_t j0, int64_t j1,
                                               SparseEaseScratch& s) {
    const auto& G = P.G;
    int64_t bad = 0;
    for (int64_t j = j0; j < j1; ++j) {
        P.lengths[j] = 0;
        s.candidates.clear();
        for (int64_t e = G.row_begin(j); e < G.row_end(j); ++e) {
            const int64_t b = G.indices[e];
            const double g = G.data[e];
            if (b == j || g == 0.0 || !(P.diag[b] > 0.0)) continue;
            s.candidates.emplace_back(-std::abs(g) / std::sqrt(P.diag[b]), b);
        }
        // The strongest `neighbours` under a total order (ties to the lower item id).
        const int64_t m = std::min<int64_t>(P.neighbours, static_cast<int64_t>(s.candidates.size()));
        if (m == 0) continue;
        if (m < static_cast<int64_t>(s.candidates.size()))
            std::nth_element(s.candidates.begin(), s.candidates.begin() + (m - 1), s.candidates.end());
        s.chosen.resize(static_cast<size_t>(m));
        for (int64_t p = 0; p < m; ++p) s.chosen[p] = s.candidates[p].second;
        std::sort(s.chosen.begin(), s.chosen.end());
        // rhs = G[N, j], read back from row j (both sorted: one merge)
        for (int64_t p = 0, e = G.row_begin(j); p < m; ++p) {
            while (G.indices[e] != s.chosen[p]) ++e;
            s.rhs[p] = G.data[e];
        }
        // A = G[N, N] + lambda I, lower triangle: row N[p] of G searched for N[0..p), each
        // search starting where the previous one stopped.
        double* A = s.A.data();
        for (int64_t p = 0; p < m; ++p) {
            const int64_t a = s.chosen[p];
            double* Ap = A + p * m;
            std::fill(Ap, Ap + p, 0.0);
            const GI* it = G.indices + G.row_begin(a);
            const GI* end = G.indices + G.row_end(a);
            for (int64_t q = 0; q < p && it != end; ++q) {
                it = std::lower_bound(it, end, static_cast<GI>(s.chosen[q]));
                if (it != end && *it == static_cast<GI>(s.chosen[q])) Ap[q] = G.data[it - G.indices];
            }
            Ap[p] = P.diag[a] + P.lambda;
        }
        if (!dense::cholesky(A, m, s.column.data())) {
            ++bad;
            continue;
        }
        dense::cholesky_solve(A, m, s.rhs.data());
        bool finite = true;
        for (int64_t p = 0; p < m; ++p) finite &= std::isfinite(s.rhs[p]);
        if (!finite) {
            ++bad;
            continue;
        }
        GI* cols = P.columns + j * P.neighbours;
        T* w = P.weights + j * P.neighbours;
        for (int64_t p = 0; p < m; ++p) {
            cols[p] = static_cast<GI>(s.chosen[p]);
            w[p] = static_cast<T>(s.rhs[p]);
        }
        P.lengths[j] = m;
    }
    return bad;
}

}  // namespace detail

// Solves every item's system (parallel over blocks of 16 items, dynamic schedule). Returns the
// number of items whose system was not positive definite or not finite (length 0).
// O(n * (neighbours^3 / 6 + neighbours^2 log(row length))) time, O(threads * neighbours^2) memory.
template <typename T, typename GI>
int64_t sparse_ease(const SparseEaseProblem<T, GI>& P, int n_threads) {
    return sum_over_row_blocks<detail::SparseEaseScratch>(
        P.G.n_rows, 16, n_threads, [&] { return std::make_unique<detail::SparseEaseScratch>(P.neighbours); },
        [&](int64_t j0, int64_t j1, detail::SparseEaseScratch& s) { return detail::sparse_ease_rows(P, j0, j1, s); });
}

}  // namespace recforge

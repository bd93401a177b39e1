// Explanations of recommendation lists: for each recommended item, the customer's own items
// that contributed most to it (python/recforge/campaign/explain.py).
//
// Contribution of history item i (weight x_ui) to recommended item j:
//   weights given (neighbour models, EASE):  x_ui * W[i, j]   (what the model's score sums)
//   factors given (ALS, BPR, ...):           x_ui * cos(y_i, y_j)
// Only positive contributions count; the `top` largest are kept per item (ties: lower item id),
// padded with -1 / 0. Each customer is independent: results do not depend on the thread count.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "recforge/csr.hpp"
#include "recforge/parallel.hpp"

namespace recforge {

template <typename T, typename I>
struct ExplainProblem {
    CsrView<T, I> history;           // n_lists x n_items: each customer's items and weights
    int64_t k = 0;                   // recommended items per customer
    const int64_t* lists = nullptr;  // n_lists x k, -1 padding
    CsrView<T, I> weights;           // n_items x n_items; n_rows == 0: use factors
    const T* factors = nullptr;      // n_items x n_factors, rows of norm 1 (or 0)
    int64_t n_factors = 0;
    int64_t top = 0;
    int64_t* out_items = nullptr;  // n_lists x k x top
    T* out_contributions = nullptr;
};

// Whether every row i of a canonical CSR holds exactly the other items 0..n-1 but i (EASE's
// exact B): W[i, j] then sits at row_begin(i) + j - (j > i), read without a search (a binary
// search over a full row costs about 13 dependent reads at 5,000 items). O(n) to check: sorted
// distinct ids in [0, n), n - 1 of them, miss exactly i when they hold i - 1 just before
// position i and i + 1 at it.
template <typename T, typename I>
bool all_but_diagonal(const CsrView<T, I>& W) {
    const int64_t n = W.n_rows;
    if (n < 2 || W.n_cols != n || W.nnz() != n * (n - 1)) return false;
    for (int64_t i = 0; i < n; ++i) {
        if (W.row_length(i) != n - 1) return false;
        const I* row = W.indices + W.row_begin(i);
        if ((i > 0 && row[i - 1] != static_cast<I>(i - 1)) || (i < n - 1 && row[i] != static_cast<I>(i + 1)))
            return false;
    }
    return true;
}

template <typename T, typename I>
void explain(const ExplainProblem<T, I>& P, int n_threads) {
    const int64_t n = P.history.n_rows, K = P.k, top = P.top;
    const bool by_weights = P.weights.n_rows > 0;
    const bool full_rows = by_weights && all_but_diagonal(P.weights);
    ExceptionTrap trap;
    StopFlag stop;
#pragma omp parallel num_threads(n_threads)
    {
        std::unique_ptr<std::vector<std::pair<double, int64_t>>> best;  // (contribution, item), best first
        trap.run([&] { best = std::make_unique<std::vector<std::pair<double, int64_t>>>(); });
#pragma omp for schedule(dynamic, 64)
        for (int64_t u = 0; u < n; ++u) {
            if (!best || ((u & 1023) == 0 && stop.requested())) continue;
            for (int64_t r = 0; r < K; ++r) {
                const int64_t j = P.lists[u * K + r];
                int64_t* out = P.out_items + (u * K + r) * top;
                T* contribution = P.out_contributions + (u * K + r) * top;
                best->clear();
                if (j >= 0) {
                    for (int64_t e = P.history.row_begin(u); e < P.history.row_end(u); ++e) {
                        const int64_t i = static_cast<int64_t>(P.history.indices[e]);
                        if (i == j) continue;
                        double link = 0.0;
                        if (full_rows) {  // i != j here
                            link = static_cast<double>(P.weights.data[P.weights.row_begin(i) + j - (j > i ? 1 : 0)]);
                        } else if (by_weights) {
                            link = csr_entry(P.weights, i, j);
                        } else {
                            const T* a = P.factors + i * P.n_factors;
                            const T* b = P.factors + j * P.n_factors;
                            for (int64_t f = 0; f < P.n_factors; ++f)
                                link += static_cast<double>(a[f]) * static_cast<double>(b[f]);
                        }
                        const double c = static_cast<double>(P.history.data[e]) * link;
                        if (!(c > 0.0)) continue;
                        // keep the `top` largest: insertion into a short sorted buffer
                        const std::pair<double, int64_t> entry{c, i};
                        const auto better = [](const std::pair<double, int64_t>& x,
                                               const std::pair<double, int64_t>& y) {
                            return x.first > y.first || (x.first == y.first && x.second < y.second);
                        };
                        if (static_cast<int64_t>(best->size()) == top && !better(entry, best->back())) continue;
                        best->insert(std::upper_bound(best->begin(), best->end(), entry, better), entry);
                        if (static_cast<int64_t>(best->size()) > top) best->pop_back();
                    }
                }
                for (int64_t t = 0; t < top; ++t) {
                    const bool has = t < static_cast<int64_t>(best->size());
                    out[t] = has ? (*best)[static_cast<size_t>(t)].second : -1;
                    contribution[t] = has ? static_cast<T>((*best)[static_cast<size_t>(t)].first) : T(0);
                }
            }
        }
    }
    trap.rethrow();
    stop.throw_if_requested();
}

}  // namespace recforge

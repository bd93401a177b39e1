// Neighbourhood scoring: top-k of each row of history · similarity, without forming the product.
//
// Item-based: history = users x items (weights), similarity = items x items (row i holds i's
// neighbours), so score(u, j) = sum_i history(u, i) * similarity(i, j). User-based is the same
// product with history = the users' rows of a user-user similarity and similarity = the
// interactions (users x items). Each row is a Gustavson sparse row product into a per-thread
// dense accumulator with a touched list (the same scheme as similarity.hpp), followed by a
// bounded top-k over the touched entries only: items the product never reaches have no score
// and are never returned.
#pragma once

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "csr.hpp"
#include "parallel.hpp"
#include "topk.hpp"

namespace recforge {

// topk_sparse: ids[u * k + r], scores[u * k + r] = the r-th best item of row rows[u] of
//   history · similarity, for u < n_rows (rows == nullptr: every history row, n_rows = history.n_rows).
//   history: CSR with m columns; similarity: m x n_items CSR (validated; indices in range);
//   rows: ids in [0, history.n_rows), repeats allowed (lets a model score its users' stored
//   rows without copying them out).
//   exclude: per output row, banned item ids (or none); allow: sorted distinct item ids (n_allow), or
//   nullptr for all. An item is a candidate when the product reaches it, it is allowed and not
//   excluded; banned items are skipped before accumulation, so they cost nothing.
//   Sums run in double in a fixed order (history row order, then similarity row order), so results
//   are identical for any n_threads. Rank order: higher score first, equal scores to the lower id;
//   rows with fewer than k candidates are padded with id -1 and score -inf. NaN sums, and -inf
//   ones (indistinguishable from padding), are dropped.
// Memory: O(threads * n_items) accumulators + output. Complexity: O(sum over history entries of
//   the similarity row length) + selection over the touched items.
template <typename T, typename I>
void topk_sparse(const CsrView<T, I>& history, const CsrView<T, I>& similarity, const ExclusionRows<I>& exclude,
                 const I* allow, int64_t n_allow, int64_t k, int n_threads, int64_t* ids, T* scores,
                 const int64_t* rows = nullptr, int64_t n_selected = 0) {
    if (k < 0) throw std::invalid_argument("k must be >= 0");
    if (history.n_cols != similarity.n_rows)
        throw std::invalid_argument("history must have as many columns as similarity has rows");
    const int64_t n_rows = rows ? n_selected : history.n_rows, n_items = similarity.n_cols;
    if (k == 0 || n_rows == 0) return;

    // Per-item state bits: kTouched = the accumulator holds a sum for this row; kBanned = excluded
    // for this row; kBarred = not in allow (for every row).
    constexpr uint8_t kTouched = 1, kBanned = 2, kBarred = 4;
    std::vector<uint8_t> initial(static_cast<size_t>(n_items), allow ? kBarred : 0);
    for (int64_t c = 0; c < (allow ? n_allow : 0); ++c) initial[static_cast<size_t>(allow[c])] = 0;

    ExceptionTrap trap;
    StopFlag stop;
#pragma omp parallel num_threads(threads_for(n_threads, n_rows))
    trap.run([&] {
        std::vector<double> acc(static_cast<size_t>(n_items), 0.0);
        std::vector<uint8_t> state(initial);
        std::vector<I> touched;
        TopKBuffer<T, I> best(k);

#pragma omp for schedule(dynamic, 16)
        for (int64_t u = 0; u < n_rows; ++u) {
            if (stop.requested()) continue;  // Ctrl-C: skip the remaining rows
            const int64_t ex_begin = exclude.indptr ? static_cast<int64_t>(exclude.indptr[u]) : 0;
            const int64_t ex_end = exclude.indptr ? static_cast<int64_t>(exclude.indptr[u + 1]) : 0;
            for (int64_t p = ex_begin; p < ex_end; ++p) state[exclude.indices[p]] |= kBanned;

            const int64_t h = rows ? rows[u] : u;
            for (I p = history.indptr[h]; p < history.indptr[h + 1]; ++p) {
                const double w = static_cast<double>(history.data[p]);
                const I i = history.indices[p];
                for (I q = similarity.indptr[i]; q < similarity.indptr[i + 1]; ++q) {
                    const I j = similarity.indices[q];
                    const uint8_t s = state[j];
                    if (s & (kBanned | kBarred)) continue;
                    const double product = w * static_cast<double>(similarity.data[q]);
                    if (s & kTouched) {
                        acc[j] += product;
                    } else {
                        state[j] = s | kTouched;
                        acc[j] = product;
                        touched.push_back(j);
                    }
                }
            }

            best.clear();
            for (const I j : touched) {
                const T score = static_cast<T>(acc[j]);
                state[j] &= static_cast<uint8_t>(~kTouched);
                if (!(score >= best.floor())) continue;  // also drops NaN
                best.push(score, j);
            }
            touched.clear();
            for (int64_t p = ex_begin; p < ex_end; ++p) state[exclude.indices[p]] &= static_cast<uint8_t>(~kBanned);
            write_padded_row(best.sorted(), k, ids + u * k, scores + u * k);
        }
    });
    trap.rethrow();
    stop.throw_if_requested();
}

}  // namespace recforge

// Top-k per row when every row ranks the same scores (popularity, trending): the first k items
// of one global ranking that the row does not exclude.
//
// The dense kernel would score a constant query against every item and sort the catalogue by
// norm on each call (4 ms for 49k items, however few the rows: a campaign's fallbacks call it
// hundreds of times); here the caller ranks the items once, and each row walks that ranking
// past its own exclusions: O(k + excluded) per row.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "parallel.hpp"
#include "topk.hpp"

namespace recforge {

// ids[r * k + j], scores[r * k + j] = the j-th item of `order` not excluded by row r, and its
// score[]; padded with id -1 and score -inf where fewer remain. `order`: distinct item ids in
// [0, n_items), best first (for the kernels' rank order: higher score first, equal scores to
// the lower id); `score`: per item id. Identical for any n_threads.
template <typename S, typename I>
void ranked_topk(const int64_t* order, int64_t n_order, const S* score, int64_t n_items,
                 const ExclusionRows<I>& exclude, int64_t n_rows, int64_t k, int n_threads, int64_t* ids, S* scores) {
    if (k <= 0 || n_rows <= 0) return;
    ExceptionTrap trap;
    StopFlag stop;
#pragma omp parallel num_threads(threads_for(n_threads, n_rows))
    trap.run([&] {
        std::vector<uint8_t> banned(exclude.indptr ? static_cast<size_t>(n_items) : 0, 0);
#pragma omp for schedule(dynamic, 256)
        for (int64_t r = 0; r < n_rows; ++r) {
            if (stop.requested()) continue;
            const int64_t lo = exclude.indptr ? static_cast<int64_t>(exclude.indptr[r]) : 0;
            const int64_t hi = exclude.indptr ? static_cast<int64_t>(exclude.indptr[r + 1]) : 0;
            for (int64_t p = lo; p < hi; ++p) banned[static_cast<size_t>(exclude.indices[p])] = 1;
            int64_t* row_ids = ids + r * k;
            S* row_scores = scores + r * k;
            int64_t j = 0;
            for (int64_t s = 0; s < n_order && j < k; ++s) {
                const int64_t item = order[s];
                if (hi > lo && banned[static_cast<size_t>(item)]) continue;
                row_ids[j] = item;
                row_scores[j] = score[item];
                ++j;
            }
            for (; j < k; ++j) {
                row_ids[j] = -1;
                row_scores[j] = -std::numeric_limits<S>::infinity();
            }
            for (int64_t p = lo; p < hi; ++p) banned[static_cast<size_t>(exclude.indices[p])] = 0;
        }
    });
    trap.rethrow();
    stop.throw_if_requested();
}

}  // namespace recforge

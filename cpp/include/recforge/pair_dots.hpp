// Scores of (user, item) pairs in bulk: out[e] = P[users[e]] . Q[items[e]], or 0 when either id
// is outside its matrix (an unknown user or item: the caller falls back to its biases).
#pragma once

#include <cstdint>

#include "dense.hpp"
#include "multiversion.hpp"
#include "score_tile.hpp"

namespace recforge {

namespace detail {

template <typename T>
RECFORGE_MULTIVERSION void pair_dots_range(const T* P, int64_t n_users, const T* Q, int64_t n_items, int64_t f,
                                           const int64_t* users, const int64_t* items, int64_t e0, int64_t e1, T* out) {
    for (int64_t e = e0; e < e1; ++e) {
        const int64_t u = users[e], i = items[e];
        out[e] = (u >= 0 && u < n_users && i >= 0 && i < n_items) ? dense::dot(P + u * f, Q + i * f, f) : T(0);
    }
}

}  // namespace detail

// P: n_users x f, Q: n_items x f (row-major); users, items, out: n. Parallel over fixed chunks;
// each output is computed alone, so the result does not depend on the thread count. O(n f).
template <typename T>
void pair_dots(const T* P, int64_t n_users, const T* Q, int64_t n_items, int64_t f, const int64_t* users,
               const int64_t* items, int64_t n, T* out, int n_threads) {
    constexpr int64_t kChunk = 4096;
    const int64_t n_chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) num_threads(n_threads)
    for (int64_t c = 0; c < n_chunks; ++c)
        detail::pair_dots_range(P, n_users, Q, n_items, f, users, items, c * kChunk, std::min(n, (c + 1) * kChunk),
                                out);
}

}  // namespace recforge

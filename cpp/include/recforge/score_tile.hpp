// Register-blocked inner-product tile: kQueries query rows against kItems packed item columns.
//
// The item tile is packed transposed (factor-major: tile[d * kItems + w]) so the innermost
// loop runs over contiguous items and the compiler keeps the kQueries x kItems accumulators
// in vector registers. On x86-64 Linux the function is compiled for AVX-512, AVX2 and the
// baseline and picked at load time (target_clones), so wheels stay portable.
#pragma once

#include <cstdint>

namespace recforge {

constexpr int64_t kTileQueries = 4;  // query rows per micro-tile
constexpr int64_t kTileItems = 32;   // item columns per micro-tile (2 AVX-512 / 4 AVX2 registers of float)

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define RECFORGE_MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define RECFORGE_MULTIVERSION
#endif

namespace detail {

// out[qi * kTileItems + w] = sum_d queries[qi * f + d] * tile[d * kTileItems + w]
template <typename T>
inline void score_tile_body(const T* __restrict queries, const T* __restrict tile, int64_t f, T* __restrict out) {
    T acc[kTileQueries][kTileItems] = {};
    for (int64_t d = 0; d < f; ++d) {
        const T* row = tile + d * kTileItems;
        for (int64_t qi = 0; qi < kTileQueries; ++qi) {
            const T q = queries[qi * f + d];
            for (int64_t w = 0; w < kTileItems; ++w) acc[qi][w] += q * row[w];
        }
    }
    for (int64_t qi = 0; qi < kTileQueries; ++qi)
        for (int64_t w = 0; w < kTileItems; ++w) out[qi * kTileItems + w] = acc[qi][w];
}

RECFORGE_MULTIVERSION
inline void score_tile(const float* queries, const float* tile, int64_t f, float* out) {
    score_tile_body(queries, tile, f, out);
}

RECFORGE_MULTIVERSION
inline void score_tile(const double* queries, const double* tile, int64_t f, double* out) {
    score_tile_body(queries, tile, f, out);
}

}  // namespace detail

}  // namespace recforge

// Register-blocked inner-product tile: kQueries query rows against kItems packed item columns.
//
// The item tile is packed transposed (factor-major: tile[d * kItems + w]) so the innermost
// loop runs over contiguous items and the compiler keeps the kQueries x kItems accumulators
// in vector registers. On x86-64 Linux the function is compiled for AVX-512, AVX2 and the
// baseline and picked at load time (target_clones), so wheels stay portable.
#pragma once

#include <cstdint>

#include "multiversion.hpp"

namespace recforge {

constexpr int64_t kTileQueries = 4;  // query rows per micro-tile
constexpr int64_t kTileItems = 32;   // item columns per micro-tile (2 AVX-512 / 4 AVX2 registers of float)

namespace detail {

// out[qi * kTileItems + w] = sum_{d < depth} queries[qi * stride + d] * tile[d * kTileItems + w]:
// the first `depth` factors of query rows `stride` apart (products with a triangular matrix
// skip its zero part).
template <typename T>
RECFORGE_MULTIVERSION void score_tile(const T* __restrict queries, int64_t stride, const T* __restrict tile,
                                      int64_t depth, T* __restrict out) {
    T acc[kTileQueries][kTileItems] = {};
    for (int64_t d = 0; d < depth; ++d) {
        const T* row = tile + d * kTileItems;
        for (int64_t qi = 0; qi < kTileQueries; ++qi) {
            const T q = queries[qi * stride + d];
            for (int64_t w = 0; w < kTileItems; ++w) acc[qi][w] += q * row[w];
        }
    }
    for (int64_t qi = 0; qi < kTileQueries; ++qi)
        for (int64_t w = 0; w < kTileItems; ++w) out[qi * kTileItems + w] = acc[qi][w];
}

// One query row against the tile: the same per-(query, item) sequence of operations as
// score_tile, so one query scored alone matches it scored in a block bit for bit.
template <typename T>
RECFORGE_MULTIVERSION void score_tile_one(const T* __restrict query, const T* __restrict tile, int64_t depth,
                                          T* __restrict out) {
    T acc[kTileItems] = {};
    for (int64_t d = 0; d < depth; ++d) {
        const T* row = tile + d * kTileItems;
        const T q = query[d];
        for (int64_t w = 0; w < kTileItems; ++w) acc[w] += q * row[w];
    }
    for (int64_t w = 0; w < kTileItems; ++w) out[w] = acc[w];
}

// The full inner product: depth = stride = f.
template <typename T>
inline void score_tile(const T* queries, const T* tile, int64_t f, T* out) {
    score_tile(queries, f, tile, f, out);
}

}  // namespace detail

}  // namespace recforge

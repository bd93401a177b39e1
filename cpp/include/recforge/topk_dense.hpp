// Fused exact inner-product top-k: for every query row, the k best items, without ever forming
// the n_queries x n_items score matrix.
//
// Items (the allowed ones) are packed once into factor-major tiles of kTileItems, in order of
// decreasing norm. Queries go in micro-blocks of kTileQueries (parallel, dynamic schedule);
// each block walks the tiles, scores a tile with the register-blocked kernel (score_tile.hpp)
// and offers the scores to each query's top-k buffer right away, while they are in registers
// and L1. Exact pruning: by Cauchy-Schwarz q.i <= |q| |i|, and later tiles hold smaller norms,
// so once |q| |first item of the tile| is below a query's k-th best score, nothing later can
// enter; the block stops when all its queries are done. Excluded items are skipped through a
// per-thread bit mask over tile positions, set from each query's (sorted) exclusion row.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "parallel.hpp"
#include "score_tile.hpp"
#include "topk.hpp"

namespace recforge {

struct DenseTopKOptions {
    int64_t k = 10;
    bool cosine = false;  // normalise queries and items (zero vectors score 0)
    int n_threads = 1;
    // c: the bound's shift of the items' last column (not with cosine). q.i = q.i' + q_last c with
    // i' = i - c e_last, so |q| |i'| + q_last c bounds every score as |q| |i| does, and the items
    // are ordered by |i'|. A bias column (scores p.f + b as [p, 1].[f, b]) shifted to about its
    // low end ranks the items by their bias and bounds them tightly, where |i| counts a large
    // negative bias as large. Scores are computed from the items as given: the same bits.
    double shift = 0.0;
};

// topk_dense: ids[q * k + r], scores[q * k + r] = the r-th best item of query q.
//   queries: n_queries x f row-major; items: n_items x f row-major (both finite).
//   allow: sorted distinct item ids (n_allow of them), or nullptr for every item.
//   Rank order: higher score first, equal scores to the lower id; rows with fewer than k
//   candidates are padded with id -1 and score -inf. Identical for any n_threads.
//   opt.shift: see DenseTopKOptions; only the pruning (which tiles are scored) depends on it.
// Memory: a packed copy of the allowed items (n_allow x f) + O(threads * n_items / 8) + output.
// Complexity: O(n_queries * n_allow * f) at worst; pruning skips the low-norm tail.
namespace detail {

// A few queries (one web request): score every candidate in its own order, packing 32 items at a
// time into one tile on the stack, instead of sorting and packing the whole catalogue first
// (that set-up is O(n_items f + n_items log n_items) per call: 10 ms for 20k items x 64 factors,
// against about 0.3 ms of scoring). Same tile kernel and per-item arithmetic as the packed path,
// so the same scores bit for bit; the top-k buffer ranks ties by id whatever the order.
// Item v into slot w of a factor-major tile (unit length with cosine; a zero vector stays zero).
template <typename T>
inline void put_item(T* tile, int64_t w, const T* v, int64_t f, bool cosine) {
    if (!cosine) {
        for (int64_t d = 0; d < f; ++d) tile[d * kTileItems + w] = v[d];
        return;
    }
    double s = 0.0;
    for (int64_t d = 0; d < f; ++d) s += static_cast<double>(v[d]) * static_cast<double>(v[d]);
    const double norm = std::sqrt(s), scale = norm > 0.0 ? 1.0 / norm : 0.0;
    for (int64_t d = 0; d < f; ++d) tile[d * kTileItems + w] = static_cast<T>(v[d] * scale);
}

template <typename T, typename I>
#if defined(__GNUC__)
__attribute__((noinline))  // kept out of topk_dense: its batched loop compiles as it did without it
#endif
void topk_dense_direct(const T* queries, int64_t n_queries, const T* items, int64_t f, const ExclusionRows<I>& exclude,
                       const I* allow, int64_t n_cand, int64_t n_items, const DenseTopKOptions& opt, int64_t* ids,
                       T* scores, const T* packed) {
    auto norm_of = [f](const T* v) {
        double s = 0.0;
        for (int64_t d = 0; d < f; ++d) s += static_cast<double>(v[d]) * static_cast<double>(v[d]);
        return std::sqrt(s);
    };
    std::vector<TopKBuffer<T, int64_t>> best(kTileQueries, TopKBuffer<T, int64_t>(opt.k));
    std::vector<T> block(static_cast<size_t>(kTileQueries * f)), tile(static_cast<size_t>(kTileItems * f));
    std::vector<T> tile_scores(static_cast<size_t>(kTileQueries * kTileItems));
    std::vector<int64_t> tile_id(static_cast<size_t>(kTileItems));
    std::vector<uint8_t> banned(static_cast<size_t>(exclude.indptr ? n_items : 0), 0);  // bit qi
    for (int64_t q0 = 0; q0 < n_queries; q0 += kTileQueries) {
        const int64_t nq = std::min(kTileQueries, n_queries - q0);
        for (int64_t qi = 0; qi < kTileQueries; ++qi) {
            best[static_cast<size_t>(qi)].clear();
            T* dst = block.data() + qi * f;
            if (qi >= nq) {
                std::fill(dst, dst + f, T(0));
                continue;
            }
            const T* q = queries + (q0 + qi) * f;
            const double norm = opt.cosine ? norm_of(q) : 1.0;
            const double scale = opt.cosine ? (norm > 0.0 ? 1.0 / norm : 0.0) : 1.0;
            for (int64_t d = 0; d < f; ++d) dst[d] = opt.cosine ? static_cast<T>(q[d] * scale) : q[d];
            if (exclude.indptr)
                for (int64_t p = exclude.indptr[q0 + qi]; p < exclude.indptr[q0 + qi + 1]; ++p)
                    banned[static_cast<size_t>(exclude.indices[p])] |= static_cast<uint8_t>(1u << qi);
        }
        for (int64_t c0 = 0; c0 < n_cand; c0 += kTileItems) {
            const int64_t width = std::min(kTileItems, n_cand - c0);
            const T* items_tile = tile.data();
            if (packed) {  // the catalogue packed once (no allow): tile c0 / kTileItems as is
                items_tile = packed + (c0 / kTileItems) * kTileItems * f;
                for (int64_t w = 0; w < width; ++w) tile_id[static_cast<size_t>(w)] = c0 + w;
            } else {
                if (width < kTileItems) std::fill(tile.begin(), tile.end(), T(0));  // the last, partial tile
                for (int64_t w = 0; w < width; ++w) {
                    const int64_t id = allow ? static_cast<int64_t>(allow[c0 + w]) : c0 + w;
                    put_item(tile.data(), w, items + id * f, f, opt.cosine);
                    tile_id[static_cast<size_t>(w)] = id;
                }
            }
            if (nq == 1)  // one request: a quarter of the work of a full block
                score_tile_one(block.data(), items_tile, f, tile_scores.data());
            else
                score_tile(block.data(), items_tile, f, tile_scores.data());
            for (int64_t qi = 0; qi < nq; ++qi) {
                const T* row = tile_scores.data() + qi * kTileItems;
                auto& top = best[static_cast<size_t>(qi)];
                const uint8_t bit = static_cast<uint8_t>(1u << qi);
                for (int64_t w = 0; w < width; ++w) {
                    const int64_t id = tile_id[static_cast<size_t>(w)];
                    if (row[w] < top.floor() || (exclude.indptr && (banned[static_cast<size_t>(id)] & bit))) continue;
                    top.push(row[w], id);
                }
            }
        }
        for (int64_t qi = 0; qi < nq; ++qi) {
            write_padded_row(best[static_cast<size_t>(qi)].sorted(), opt.k, ids + (q0 + qi) * opt.k,
                             scores + (q0 + qi) * opt.k);
            if (exclude.indptr)
                for (int64_t p = exclude.indptr[q0 + qi]; p < exclude.indptr[q0 + qi + 1]; ++p)
                    banned[static_cast<size_t>(exclude.indices[p])] = 0;
        }
    }
}

}  // namespace detail

// Queries up to this many take the direct path (no catalogue-wide sort and packing).
constexpr int64_t kDirectQueries = 2 * kTileQueries;

// pack_item_tiles: the whole catalogue in the direct path's tile layout, for a caller that asks
// for a few queries at a time over and over (a web service): packed[(t * f + d) * kTileItems + w]
// = item t * kTileItems + w, factor d (unit rows with cosine); the last tile's padding is zero.
// Size: ceil(n_items / kTileItems) * kTileItems * f. O(n_items f).
template <typename T>
void pack_item_tiles(const T* items, int64_t n_items, int64_t f, bool cosine, T* packed) {
    const int64_t n_tiles = (n_items + kTileItems - 1) / kTileItems;
    std::fill(packed, packed + n_tiles * kTileItems * f, T(0));
    for (int64_t i = 0; i < n_items; ++i)
        detail::put_item(packed + (i / kTileItems) * kTileItems * f, i % kTileItems, items + i * f, f, cosine);
}

// topk_dense: as documented above. `packed_items` (optional): the items as pack_item_tiles wrote them
// with the same cosine; used by few-query calls without allow (the same scores bit for bit), so
// they skip packing their tiles.
template <typename T, typename I>
void topk_dense(const T* queries, int64_t n_queries, const T* items, int64_t n_items, int64_t f,
                const ExclusionRows<I>& exclude, const I* allow, int64_t n_allow, const DenseTopKOptions& opt,
                int64_t* ids, T* scores, const T* packed_items = nullptr) {
    if (opt.k < 0) throw std::invalid_argument("k must be >= 0");
    const int64_t k = opt.k;
    if (k == 0 || n_queries == 0) return;
    const int64_t n_cand = allow ? n_allow : n_items;
    auto candidate = [&](int64_t c) -> int64_t { return allow ? static_cast<int64_t>(allow[c]) : c; };
    if (n_queries <= kDirectQueries) {
        detail::topk_dense_direct(queries, n_queries, items, f, exclude, allow, n_cand, n_items, opt, ids, scores,
                                  allow ? nullptr : packed_items);
        return;
    }

    // Norms in double, |v - last e_last| (last = 0: |v|, the same bits); the order: decreasing
    // norm, then increasing id (deterministic).
    const double shift = opt.cosine ? 0.0 : opt.shift;
    auto norm_of = [f](const T* v, double last = 0.0) {
        double s = 0.0;
        for (int64_t d = 0; d < f; ++d) {
            const double x = static_cast<double>(v[d]) - (d + 1 == f ? last : 0.0);
            s += x * x;
        }
        return std::sqrt(s);
    };
    std::vector<double> cand_norm(static_cast<size_t>(n_cand));
#pragma omp parallel for num_threads(opt.n_threads) schedule(static)
    for (int64_t c = 0; c < n_cand; ++c) cand_norm[c] = norm_of(items + candidate(c) * f, shift);
    std::vector<int64_t> order(static_cast<size_t>(n_cand));
    std::iota(order.begin(), order.end(), int64_t(0));
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
        return cand_norm[a] > cand_norm[b] || (cand_norm[a] == cand_norm[b] && a < b);
    });

    // Packed tiles: slot s = tile * kTileItems + w holds candidate order[s]; padding slots are 0.
    const int64_t n_tiles = (n_cand + kTileItems - 1) / kTileItems;
    std::vector<T> packed(static_cast<size_t>(n_tiles * kTileItems * f), T(0));
    std::vector<int64_t> slot_id(static_cast<size_t>(n_tiles * kTileItems), -1);
    std::vector<double> tile_norm(static_cast<size_t>(n_tiles), 0.0);  // largest norm in the tile
    std::vector<int64_t> slot_of(static_cast<size_t>(n_items), -1);    // item id -> slot
#pragma omp parallel for num_threads(opt.n_threads) schedule(static)
    for (int64_t s = 0; s < n_cand; ++s) {
        const int64_t c = order[s], id = candidate(c);
        const double scale = opt.cosine ? (cand_norm[c] > 0.0 ? 1.0 / cand_norm[c] : 0.0) : 1.0;
        T* tile = packed.data() + (s / kTileItems) * kTileItems * f;
        const T* v = items + id * f;
        for (int64_t d = 0; d < f; ++d)
            tile[d * kTileItems + s % kTileItems] = opt.cosine ? static_cast<T>(v[d] * scale) : v[d];
        slot_id[s] = id;
        slot_of[id] = s;
    }
    for (int64_t t = 0; t < n_tiles; ++t) tile_norm[t] = opt.cosine ? 1.0 : cand_norm[order[t * kTileItems]];
    // Rounding slack on the bound: a computed dot product may exceed q.i by ~f ulps of |q||i|,
    // and |i| <= |i'| + |shift|.
    const double slack = 1.0 + 4.0 * static_cast<double>(f + 4) * std::numeric_limits<T>::epsilon();
    const double shift_slack = (slack - 1.0) * std::fabs(shift);
    const int64_t n_blocks = (n_queries + kTileQueries - 1) / kTileQueries;
    ExceptionTrap trap;
    StopFlag stop;

#pragma omp parallel num_threads(opt.n_threads)
    trap.run([&] {
        std::vector<TopKBuffer<T, int64_t>> best(kTileQueries, TopKBuffer<T, int64_t>(k));
        std::vector<T> block(static_cast<size_t>(kTileQueries * f));
        std::vector<double> q_norm(kTileQueries), q_offset(kTileQueries);  // bound = |q||i'| + offset
        std::vector<T> tile_scores(static_cast<size_t>(kTileQueries * kTileItems));
        std::vector<uint8_t> banned(static_cast<size_t>(n_tiles * kTileItems), 0);  // bit qi: banned for query qi
        std::vector<int64_t> banned_slots;

#pragma omp for schedule(dynamic, 4)
        for (int64_t blk = 0; blk < n_blocks; ++blk) {
            if (stop.requested()) continue;  // Ctrl-C: skip the remaining blocks
            const int64_t q0 = blk * kTileQueries;
            const int64_t nq = std::min(kTileQueries, n_queries - q0);
            for (int64_t qi = 0; qi < kTileQueries; ++qi) {
                best[qi].clear();
                T* dst = block.data() + qi * f;
                if (qi >= nq) {
                    std::fill(dst, dst + f, T(0));
                    q_norm[qi] = q_offset[qi] = 0.0;
                    continue;
                }
                const T* q = queries + (q0 + qi) * f;
                const double norm = norm_of(q);
                const double scale = opt.cosine ? (norm > 0.0 ? 1.0 / norm : 0.0) : 1.0;
                for (int64_t d = 0; d < f; ++d) dst[d] = opt.cosine ? static_cast<T>(q[d] * scale) : q[d];
                q_norm[qi] = opt.cosine ? 1.0 : norm;
                q_offset[qi] = shift != 0.0 ? static_cast<double>(q[f - 1]) * shift + norm * shift_slack : 0.0;
                if (exclude.indptr) {
                    for (int64_t p = exclude.indptr[q0 + qi]; p < exclude.indptr[q0 + qi + 1]; ++p) {
                        const int64_t s = slot_of[exclude.indices[p]];
                        if (s < 0) continue;  // not a candidate anyway
                        if (!banned[s]) banned_slots.push_back(s);
                        banned[s] |= static_cast<uint8_t>(1u << qi);
                    }
                }
            }
            for (int64_t t = 0; t < n_tiles; ++t) {
                // Stop when no query of the block can still gain from this tile or any later.
                bool open = false;
                for (int64_t qi = 0; qi < nq && !open; ++qi) {
                    const auto& items_best = best[qi].items();
                    open = static_cast<int64_t>(items_best.size()) < k ||
                           !(q_norm[qi] * tile_norm[t] * slack + q_offset[qi] < static_cast<double>(best[qi].floor()));
                }
                if (!open) break;
                detail::score_tile(block.data(), packed.data() + t * kTileItems * f, f, tile_scores.data());
                const int64_t s0 = t * kTileItems;
                const int64_t w_end = std::min(kTileItems, n_cand - s0);
                for (int64_t qi = 0; qi < nq; ++qi) {
                    const T* row = tile_scores.data() + qi * kTileItems;
                    const uint8_t bit = static_cast<uint8_t>(1u << qi);
                    for (int64_t w = 0; w < w_end; ++w) {
                        if (row[w] < best[qi].floor() || (banned[s0 + w] & bit)) continue;
                        best[qi].push(row[w], slot_id[s0 + w]);
                    }
                }
            }
            for (int64_t qi = 0; qi < nq; ++qi) {
                write_padded_row(best[qi].sorted(), k, ids + (q0 + qi) * k, scores + (q0 + qi) * k);
            }
            for (const int64_t s : banned_slots) banned[s] = 0;
            banned_slots.clear();
        }
    });
    trap.rethrow();
    stop.throw_if_requested();
}

}  // namespace recforge

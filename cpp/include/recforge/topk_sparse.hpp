// Neighbourhood scoring: top-k of each row of history · similarity, without forming the product.
//
// Item-based: history = users x items (weights), similarity = items x items (row i holds i's
// neighbours), so score(u, j) = sum_i history(u, i) * similarity(i, j). User-based is the same
// product with history = the users' rows of a user-user similarity and similarity = the
// interactions (users x items). Each row is a Gustavson sparse row product into a per-thread
// dense accumulator with a touched list (the same scheme as similarity.hpp), followed by a
// bounded top-k over the touched entries only: items the product never reaches have no score
// and are never returned.
//
// Dense mode, per row, where the similarity rows of consecutive item ids reach as many entries
// as there are items (EASE's full weight rows), and the similarity's rows are sorted (canonical,
// as the Python layer passes them): every sum starts at -0.0, each row of one or two runs of
// consecutive ids (EASE: every item but the row's own) is added run by run (no index read; the
// adds vectorise, in the widest instruction set the CPU has), any other row entry by entry
// without state tests or a touched list, and the selection scans the items in order, skipping
// banned and barred ones there. Where the rows are long (an average run of an eighth of the
// items or more), the items go by tiles of 2,048: every row's part of a tile is
// added (the next row's part prefetched meanwhile) into an accumulator that stays in L1, then
// the tile is scanned. -0.0 is the additive identity (-0.0 + x == x bit for bit), and the
// sparse mode starts a sum from its first product: the same sums in the same order, the same
// bits, and the same lists (the top-k is exact under its total order, whatever the push order).
// Measured on EASE over 20k items: 1.8x faster than the sparse mode whole-row, and the tiles,
// vector adds and prefetch 1.48x more (bench_sparse_ease.py numpy's customers). Rows of scattered ids (ItemKNN,
// SparseEASE, pruned EASE) were slower in a dense mode than in the sparse one, so only rows of
// runs count towards it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <utility>
#include <vector>

#include "csr.hpp"
#include "dense.hpp"
#include "multiversion.hpp"
#include "parallel.hpp"
#include "prefetch.hpp"
#include "topk.hpp"

namespace recforge {

// topk_sparse: ids[u * k + r], scores[u * k + r] = the r-th best item of row rows[u] of
//   history · similarity, for u < n_rows (rows == nullptr: every history row, n_rows = history.n_rows).
//   history: CSR with m columns; similarity: m x n_items CSR (validated; indices in range);
//   rows: ids in [0, history.n_rows), repeats allowed (lets a model score its users' stored
//   rows without copying them out). sorted_similarity: the caller vouches that similarity's
//   rows are sorted and duplicate-free (canonical), which the run-by-run adds rely on.
//   exclude: per output row, banned item ids (or none); allow: sorted distinct item ids (n_allow), or
//   nullptr for all. An item is a candidate when the product reaches it, it is allowed and not
//   excluded; banned items are skipped before accumulation, so they cost nothing.
//   Sums run in double in a fixed order (history row order, then similarity row order), so results
//   are identical for any n_threads. Rank order: higher score first, equal scores to the lower id;
//   rows with fewer than k candidates are padded with id -1 and score -inf. NaN sums, and -inf
//   ones (indistinguishable from padding), are dropped.
// Memory: O(threads * n_items) accumulators + output. Complexity: O(sum over history entries of
//   the similarity row length) + selection over the touched items.
namespace detail {

// Whether a sorted similarity row (entries [b, e), b < e) holds one or two runs of consecutive
// item ids: at most one id missing between its first and its last.
template <typename T, typename I>
inline bool at_most_two_runs(const CsrView<T, I>& S, I b, I e) {
    return static_cast<int64_t>(S.indices[e - 1]) - static_cast<int64_t>(S.indices[b]) + 1 -
               static_cast<int64_t>(e - b) <=
           1;
}

// The dense mode's sums are the sparse mode's bit for bit (header comment), so a product and
// its add stay two roundings in both: no fused multiply-add in the AVX-512 clone below, nor in
// a -march=native build, where GCC (C++ defaults to -ffp-contract=fast) would fuse them. Up to
// the end of this file. Checked by test_topk_sparse.py against scipy's float64 product.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#endif

// acc[t] += w * values[t] and hit[t] = 1 for t < n: one run of consecutive items. Meanwhile
// ahead[0, n_ahead) (the next row's part, as long) is prefetched into L2, a line per line added:
// a part is too short for the hardware prefetcher to ramp up on, and a burst of prefetches at
// its start gained nothing (measured over 20k items, one thread: 1.15x faster than no prefetch
// or the burst; into L1, 7% slower; two rows ahead, 10% slower).
template <typename T>
RECFORGE_INLINE void add_run(double* __restrict acc, uint8_t* __restrict hit, const T* __restrict values, int64_t n,
                             double w, const T* ahead, int64_t n_ahead) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
    if (n <= 0) return;
    constexpr int64_t kLine = 64 / static_cast<int64_t>(sizeof(T));  // values per cache line
    int64_t t = 0;
    for (; t + kLine <= n; t += kLine) {
        if (t < n_ahead) RECFORGE_PREFETCH_L2(ahead + t);
        for (int64_t v = t; v < t + kLine; ++v) acc[v] += w * static_cast<double>(values[v]);
    }
    for (; t < n; ++t) acc[t] += w * static_cast<double>(values[t]);
    for (t = n - n % kLine; t < n_ahead; t += kLine) RECFORGE_PREFETCH_L2(ahead + t);
    std::memset(hit, 1, static_cast<size_t>(n));
}

// Items per tile of the dense mode (dense_tile_sums): its acc, 16 KB of doubles, stays in L1.
constexpr int64_t kDenseTile = 2048;

// One history entry's similarity row in the dense mode, with its weight: up to two runs of
// consecutive items (items [first[r], first[r] + n[r]) take values[r][0, n[r])), or a sorted
// row of scattered items (n[0] < 0), walked tile by tile from the cursor q to its end e.
template <typename T, typename I>
struct DenseRow {
    double w;
    const T* values[2];
    int64_t first[2], n[2];
    I q, e;
};

// The rows of history row h in the dense mode, in history order (similarity sorted).
template <typename T, typename I>
void dense_rows(const CsrView<T, I>& history, int64_t h, const CsrView<T, I>& similarity,
                std::vector<DenseRow<T, I>>& out) {
    out.clear();
    for (I p = history.indptr[h]; p < history.indptr[h + 1]; ++p) {
        const I i = history.indices[p], b = similarity.indptr[i], e = similarity.indptr[i + 1];
        if (b == e) continue;
        DenseRow<T, I> r{static_cast<double>(history.data[p]), {nullptr, nullptr}, {0, 0}, {-1, 0}, b, e};
        if (at_most_two_runs(similarity, b, e)) {
            const int64_t n = static_cast<int64_t>(e - b), first = static_cast<int64_t>(similarity.indices[b]);
            const int64_t span = static_cast<int64_t>(similarity.indices[e - 1]) - first + 1;
            // the first entry after the gap, if any: the smallest t with indices[b + t] != first + t
            int64_t lo = 0, hi = n;
            if (span != n) {
                while (lo < hi) {
                    const int64_t mid = lo + (hi - lo) / 2;
                    if (static_cast<int64_t>(similarity.indices[b + mid]) == first + mid)
                        lo = mid + 1;
                    else
                        hi = mid;
                }
            } else {
                lo = n;
            }
            r.values[0] = similarity.data + b;
            r.first[0] = first;
            r.n[0] = lo;
            r.values[1] = similarity.data + b + lo;
            r.first[1] = first + lo + 1;
            r.n[1] = n - lo;
        }
        out.push_back(r);
    }
}

// The first run of a run row that reaches the items [c0, c1): its values for them and their count
// (a scattered row, or none: nullptr, 0).
template <typename T, typename I>
inline std::pair<const T*, int64_t> first_part(const DenseRow<T, I>& row, int64_t c0, int64_t c1) {
    for (int run = 0; row.n[0] >= 0 && run < 2; ++run) {
        const int64_t lo = std::max(row.first[run], c0), hi = std::min(row.first[run] + row.n[run], c1);
        if (lo < hi) return {row.values[run] + (lo - row.first[run]), hi - lo};
    }
    return {nullptr, 0};
}

// acc[j - c0] (from -0.0) = sum over the rows, in order, of w * similarity(row, j) for the items
// j in [c0, c1), and hit[j - c0] = 1 where a row reaches j: runs as vector adds, scattered rows
// entry by entry from their cursors (advanced past c1). A tile of a few thousand items keeps
// acc in L1 while the rows stream through (measured: the whole acc, 160 KB over 20k items, went
// to L2 and back with every row). Compiled per instruction set (multiversion.hpp): the
// baseline's SSE2 converts and adds two doubles at a time.
template <typename T, typename I>
RECFORGE_MULTIVERSION void dense_tile_sums(DenseRow<T, I>* rows, int64_t count, const CsrView<T, I>& similarity,
                                           int64_t c0, int64_t c1, double* __restrict acc, uint8_t* __restrict hit) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
    std::fill(acc, acc + (c1 - c0), -0.0);
    for (int64_t r = 0; r < count; ++r) {
        DenseRow<T, I>& row = rows[r];
        if (row.n[0] < 0) {
            I q = row.q;
            for (; q < row.e && static_cast<int64_t>(similarity.indices[q]) < c1; ++q) {
                const int64_t j = static_cast<int64_t>(similarity.indices[q]) - c0;
                acc[j] += row.w * static_cast<double>(similarity.data[q]);
                hit[j] = 1;
            }
            row.q = q;
            continue;
        }
        // what to prefetch meanwhile: the next row's first part of this tile, or after the last
        // row the first row's of the next tile
        auto [ahead, n_ahead] = r + 1 < count ? first_part(rows[r + 1], c0, c1) : first_part(rows[0], c1, 2 * c1 - c0);
        for (int run = 0; run < 2; ++run) {
            const int64_t lo = std::max(row.first[run], c0), hi = std::min(row.first[run] + row.n[run], c1);
            if (lo >= hi) continue;
            add_run(acc + (lo - c0), hit + (lo - c0), row.values[run] + (lo - row.first[run]), hi - lo, row.w, ahead,
                    n_ahead);
            ahead = nullptr;  // prefetched along the first run
            n_ahead = 0;
        }
    }
}

}  // namespace detail

template <typename T, typename I>
void topk_sparse(const CsrView<T, I>& history, const CsrView<T, I>& similarity, const ExclusionRows<I>& exclude,
                 const I* allow, int64_t n_allow, int64_t k, int n_threads, int64_t* ids, T* scores,
                 const int64_t* rows = nullptr, int64_t n_selected = 0, bool sorted_similarity = false) {
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
        std::vector<uint8_t> hit;  // dense mode: the tile's item has a sum (allocated at a first dense row)
        std::vector<detail::DenseRow<T, I>> runs;  // dense mode: the history's similarity rows
        std::vector<I> touched;
        TopKBuffer<T, I> best(k);

#pragma omp for schedule(dynamic, 16)
        for (int64_t u = 0; u < n_rows; ++u) {
            if (stop.requested()) continue;  // Ctrl-C: skip the remaining rows
            const int64_t ex_begin = exclude.indptr ? static_cast<int64_t>(exclude.indptr[u]) : 0;
            const int64_t ex_end = exclude.indptr ? static_cast<int64_t>(exclude.indptr[u + 1]) : 0;
            for (int64_t p = ex_begin; p < ex_end; ++p) state[exclude.indices[p]] |= kBanned;

            const int64_t h = rows ? rows[u] : u;
            // Dense mode where the rows of consecutive items alone reach as many entries as there
            // are items (header comment); scattered rows stay in the sparse mode, which is faster
            // for them (checked only past the first test: the check reads two ids per row).
            int64_t work = 0;
            for (I p = history.indptr[h]; p < history.indptr[h + 1]; ++p) {
                const I i = history.indices[p];
                work += static_cast<int64_t>(similarity.indptr[i + 1] - similarity.indptr[i]);
            }
            bool dense = false;
            int64_t in_runs = 0, run_rows = 0;
            if (sorted_similarity && work >= n_items) {
                for (I p = history.indptr[h]; p < history.indptr[h + 1]; ++p) {
                    const I i = history.indices[p], b = similarity.indptr[i], e = similarity.indptr[i + 1];
                    if (e > b && detail::at_most_two_runs(similarity, b, e)) {
                        in_runs += static_cast<int64_t>(e - b);
                        ++run_rows;
                    }
                }
                dense = in_runs >= n_items;
            }
            if (dense) {
                // Each tile visits every row: tiles pay where the rows span much of the catalogue
                // (EASE's); rows of short runs (a banded similarity) take one tile of all items,
                // so that the visits never outnumber the adds.
                const int64_t tile = 8 * in_runs >= run_rows * n_items ? detail::kDenseTile : n_items;
                if (static_cast<int64_t>(hit.size()) < tile) hit.assign(static_cast<size_t>(tile), 0);
                // every sum starts from -0.0 (header comment); the sparse mode assigns its first
                // product instead and leaves acc as it finds it. Tile by tile, each tile's items
                // offered to the top k while they are in cache: the same pushes in the same order.
                detail::dense_rows(history, h, similarity, runs);
                best.clear();
                for (int64_t c0 = 0; c0 < n_items; c0 += tile) {
                    const int64_t c1 = std::min(c0 + tile, n_items);
                    detail::dense_tile_sums(runs.data(), static_cast<int64_t>(runs.size()), similarity, c0, c1,
                                            acc.data(), hit.data());
                    for (int64_t j = c0; j < c1; ++j) {
                        if (!hit[j - c0]) continue;
                        hit[j - c0] = 0;
                        const T score = static_cast<T>(acc[j - c0]);
                        if (state[j] & (kBanned | kBarred)) continue;
                        if (!(score >= best.floor())) continue;  // also drops NaN
                        best.push(score, static_cast<I>(j));
                    }
                }
                for (int64_t p = ex_begin; p < ex_end; ++p) state[exclude.indices[p]] &= static_cast<uint8_t>(~kBanned);
                write_padded_row(best.sorted(), k, ids + u * k, scores + u * k);
                continue;
            }
            for (I p = history.indptr[h]; p < history.indptr[h + 1]; ++p) {
                const double w = static_cast<double>(history.data[p]);
                const I i = history.indices[p];
                // The similarity row two purchases ahead, into cache meanwhile: rows are short
                // (tens to hundreds of entries) and scattered, so each began with cache misses
                // (measured: ItemKNN's batch top-10 on the synthetic set 1.13-1.15x faster).
                if (p + 2 < history.indptr[h + 1]) {
                    const I ahead = history.indices[p + 2];
                    const I qb = similarity.indptr[ahead], qe = similarity.indptr[ahead + 1];
                    for (I q = qb; q < qe; q += static_cast<I>(64 / sizeof(I))) prefetch(similarity.indices + q);
                    for (I q = qb; q < qe; q += static_cast<I>(64 / sizeof(T))) prefetch(similarity.data + q);
                }
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

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

}  // namespace recforge

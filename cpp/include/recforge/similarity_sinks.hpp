// Where the similarity kernel puts each pair's value: the per-row top-k it keeps.
//
// The kernel computes s(i, j) once for j > i and hands it to a sink for rows i and j. A sink
// has a shared part (the rows being built) and a per-thread Writer:
//   Writer::begin_row(i)          row i's pairs (i, j > i) are about to be offered
//   Writer::preview(values, m)    optional, after begin_row: the values of all m pairs that
//                                 row i will offer (NaN: not offered), to plan its selection
//   Writer::may_enter(j, v)       cheap pre-filter: false only if v can enter neither row i nor j
//   Writer::offer(i, j, v)        s(i, j) = v, for both rows (v != 0, not NaN)
//   Writer::end_row(i)            row i's pairs are all offered
//   assemble(n_threads)           after the parallel region: the CSR result
// Both sinks give the exact result (ties to the lower id) whatever the thread count.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <vector>

#include "rank_sort.hpp"
#include "topk.hpp"
#include "topk_rows.hpp"

namespace recforge {

// k < n - 1: a bounded top-k per row. Row i's own candidates collect in a private buffer and
// reach the shared row under one lock at end_row; offers to rows j > i go through j's floor.
template <typename T, typename I>
class SelectedNeighbours {
   public:
    SelectedNeighbours(int64_t n, int64_t k) : k_(k), best_(n, k) {}

    class Writer {
       public:
        explicit Writer(SelectedNeighbours& sink) : best_(sink.best_), own_(sink.k_) {}
        void begin_row(int64_t) { own_.clear(); }
        // Row i keeps only scores within one histogram bucket of its k-th best: about k
        // admissions instead of a buffer refilled and re-selected several times.
        void preview(const T* values, int64_t m) {
            if (m <= 2 * own_.k()) return;  // one selection at end_row at most: nothing to save
            const T floor = floor_of_kth_best(values, m, own_.k(), count_);
            if (floor > -std::numeric_limits<T>::infinity()) own_.admit_at_least(floor);
        }
        inline bool may_enter(int64_t j, T v) const { return v >= own_.floor() || v >= best_.floor_hint(j); }
        inline void offer(int64_t i, int64_t j, T v) {
            own_.push(v, static_cast<I>(j));
            best_.offer(j, v, static_cast<I>(i));
        }
        void end_row(int64_t i) { best_.offer_all(i, own_.best()); }

       private:
        SharedTopKRows<T, I>& best_;
        TopKBuffer<T, I> own_;
        std::array<uint32_t, kFloorBuckets> count_;
    };

    TopKCsr<T, I> assemble(int n_threads) {
        return assemble_topk_csr<T, I>(static_cast<int64_t>(best_.size()), best_, n_threads);
    }

   private:
    int64_t k_;
    SharedTopKRows<T, I> best_;
};

// k >= n - 1 (every neighbour kept) and a small n: the output is n x (n - 1) at worst anyway,
// so a dense n x n table costs no more, and each cell is written by the one thread that
// computed the pair: no selection, no locks. The kernel fills the upper triangle row by row
// (contiguous writes); assemble mirrors it in cache-sized tiles (writing s(i, j) to row j
// as it is computed would touch one cache line per pair), then radix-sorts each row by
// similarity, or, when `sorted` is false, keeps each row in column order (what a caller that
// scatters the rows needs; the sort is most of assemble's time).
template <typename T, typename I>
class AllNeighbours {
   public:
    // Largest table (bytes) this sink may allocate; above it the kernel selects instead.
    static constexpr int64_t kMaxTableBytes = int64_t(64) << 20;
    static bool fits(int64_t n) { return n <= 1 || n <= kMaxTableBytes / static_cast<int64_t>(sizeof(T)) / n; }

    AllNeighbours(int64_t n, bool sorted) : n_(n), sorted_(sorted), table_(static_cast<size_t>(n * n), T(0)) {}

    class Writer {
       public:
        explicit Writer(AllNeighbours& sink) : n_(sink.n_), table_(sink.table_.data()) {}
        void begin_row(int64_t) {}
        void preview(const T*, int64_t) {}
        inline bool may_enter(int64_t, T) const { return true; }
        // Into the upper triangle whichever row offers (a part's receiving rows offer j > i).
        inline void offer(int64_t i, int64_t j, T v) { table_[std::min(i, j) * n_ + std::max(i, j)] = v; }
        void end_row(int64_t) {}

       private:
        int64_t n_;
        T* table_;
    };

    // A stored 0 means "no entry": the kernel never offers 0 (zero similarities are dropped).
    TopKCsr<T, I> assemble(int n_threads) {
        mirror_upper(n_threads);
        TopKCsr<T, I> out;
        out.indptr.assign(static_cast<size_t>(n_) + 1, 0);
#pragma omp parallel for num_threads(n_threads) schedule(static)
        for (int64_t r = 0; r < n_; ++r) {
            const T* row = table_.data() + r * n_;
            out.indptr[r + 1] = std::count_if(row, row + n_, [](T v) { return v != T(0); });
        }
        for (int64_t r = 0; r < n_; ++r) out.indptr[r + 1] += out.indptr[r];
        out.indices.resize(static_cast<size_t>(out.indptr[n_]));
        out.data.resize(static_cast<size_t>(out.indptr[n_]));
#pragma omp parallel num_threads(n_threads)
        {
            std::vector<Scored<T, I>> items, scratch;
#pragma omp for schedule(dynamic, 16)
            for (int64_t r = 0; r < n_; ++r) {
                const T* row = table_.data() + r * n_;
                int64_t dst = out.indptr[r];
                if (!sorted_) {
                    for (int64_t j = 0; j < n_; ++j)
                        if (row[j] != T(0)) {
                            out.indices[dst] = static_cast<I>(j);
                            out.data[dst++] = row[j];
                        }
                    continue;
                }
                items.clear();
                for (int64_t j = 0; j < n_; ++j)
                    if (row[j] != T(0)) items.push_back({row[j], static_cast<I>(j)});
                sort_ranked(items, scratch);  // items are in increasing j: radix sort applies
                for (const auto& c : items) {
                    out.indices[dst] = c.id;
                    out.data[dst++] = c.score;
                }
            }
        }
        return out;
    }

   private:
    // table[j][i] = table[i][j] for i < j, tile by tile.
    void mirror_upper(int n_threads) {
        constexpr int64_t kTile = 64;
        const int64_t tiles = (n_ + kTile - 1) / kTile;
        T* t = table_.data();
#pragma omp parallel for num_threads(n_threads) schedule(dynamic, 1)
        for (int64_t tj = 0; tj < tiles; ++tj) {  // tile column tj receives from tile row tj
            const int64_t j0 = tj * kTile, j1 = std::min(n_, j0 + kTile);
            for (int64_t i0 = j0; i0 < n_; i0 += kTile) {
                const int64_t i1 = std::min(n_, i0 + kTile);
                for (int64_t j = j0; j < j1; ++j)
                    for (int64_t i = std::max(i0, j + 1); i < i1; ++i) t[i * n_ + j] = t[j * n_ + i];
            }
        }
    }

    int64_t n_;
    bool sorted_;
    std::vector<T> table_;
};

}  // namespace recforge

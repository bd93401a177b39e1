// A "top-k per row" result under construction, and its assembly into exact-size CSR arrays.
//
// Kernels whose output is, for each row r, the <= k best (id, score) pairs keep the rows in a
// SharedTopKRows (several threads may offer to the same row) and call assemble_topk_csr.
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "csr.hpp"
#include "parallel.hpp"
#include "topk.hpp"

namespace recforge {

template <typename S, typename I>
struct TopKCsr {
    std::vector<int64_t> indptr;  // n_rows + 1
    std::vector<I> indices;       // per row: ids in rank order
    std::vector<S> data;          // per row: scores, non-increasing
};

// One top-k per row that any thread may offer candidates to.
//   offer() first compares with a relaxed copy of the row's admission floor (a stale copy is
//   only ever lower, so it never rejects wrongly), and takes the row's spinlock only for the
//   few candidates that may enter. Floors live in their own contiguous array: hot loops scan
//   them for consecutive rows. A row's final content is the exact top-k of everything offered
//   to it, whatever the arrival order (total order of topk.hpp). Memory O(n_rows * k).
template <typename S, typename I>
class SharedTopKRows {
   public:
    SharedTopKRows(int64_t n_rows, int64_t k)
        : tops_(static_cast<size_t>(n_rows), TopKBuffer<S, I>(k)),
          floors_(new std::atomic<S>[static_cast<size_t>(n_rows)]),
          locks_(new std::atomic_flag[static_cast<size_t>(n_rows)]) {
        for (int64_t r = 0; r < n_rows; ++r) {
            floors_[r].store(std::numeric_limits<S>::lowest(), std::memory_order_relaxed);
            locks_[r].clear();
        }
    }
    int64_t size() const { return static_cast<int64_t>(tops_.size()); }
    // Scores below this can never enter row r (possibly stale, so possibly too low).
    inline S floor_hint(int64_t r) const { return floors_[r].load(std::memory_order_relaxed); }

    inline void offer(int64_t r, S score, I id) {
        if (score < floor_hint(r)) return;
        lock(r);
        tops_[r].push(score, id);
        floors_[r].store(tops_[r].floor(), std::memory_order_relaxed);
        unlock(r);
    }
    // Offer many candidates to row r under one lock acquisition.
    void offer_all(int64_t r, const std::vector<Scored<S, I>>& candidates) {
        if (candidates.empty()) return;
        lock(r);
        for (const auto& c : candidates) tops_[r].push(c.score, c.id);
        tops_[r].settle();
        floors_[r].store(tops_[r].floor(), std::memory_order_relaxed);
        unlock(r);
    }
    // After all offers (no concurrent offer): sort row r in rank order, return its size.
    int64_t finalize(int64_t r) { return static_cast<int64_t>(tops_[r].sorted().size()); }
    // Row r as finalize() left it.
    const std::vector<Scored<S, I>>& items(int64_t r) const { return tops_[r].items(); }

   private:
    void lock(int64_t r) {
        while (locks_[r].test_and_set(std::memory_order_acquire)) {
        }
    }
    void unlock(int64_t r) { locks_[r].clear(std::memory_order_release); }

    std::vector<TopKBuffer<S, I>> tops_;
    std::unique_ptr<std::atomic<S>[]> floors_;
    std::unique_ptr<std::atomic_flag[]> locks_;
};

// assemble_topk_csr: CSR arrays from n_rows rows; rows.finalize(r) sorts row r and returns its
// size, rows.items(r) then gives it in rank order.
//   O(output) time, parallel over rows; memory: the output.
template <typename S, typename I, typename Rows>
TopKCsr<S, I> assemble_topk_csr(int64_t n_rows, Rows& rows, int n_threads) {
    TopKCsr<S, I> out;
    out.indptr.assign(static_cast<size_t>(n_rows) + 1, 0);
#pragma omp parallel for num_threads(n_threads) schedule(dynamic, 256)
    for (int64_t r = 0; r < n_rows; ++r) out.indptr[r + 1] = rows.finalize(r);
    for (int64_t r = 0; r < n_rows; ++r) out.indptr[r + 1] += out.indptr[r];
    out.indices.resize(static_cast<size_t>(out.indptr[n_rows]));
    out.data.resize(static_cast<size_t>(out.indptr[n_rows]));
#pragma omp parallel for num_threads(n_threads) schedule(dynamic, 256)
    for (int64_t r = 0; r < n_rows; ++r) {
        int64_t dst = out.indptr[r];
        for (const auto& c : rows.items(r)) {
            out.indices[dst] = c.id;
            out.data[dst] = c.score;
            ++dst;
        }
    }
    return out;
}

// topk_of_rows: the k best entries of each row of a CSR whose rows are in any order (ties to the
// lower index): what merges the parts of a similarity computed apart (similarity.hpp), each
// pair in one part. O(nnz + n_rows k log k), parallel over rows; identical for any thread count.
template <typename S, typename I>
TopKCsr<S, I> topk_of_rows(const CsrView<S, I>& M, int64_t k, int n_threads) {
    struct Rows {
        const CsrView<S, I>& M;
        int64_t k;
        std::vector<TopKBuffer<S, I>> best;
        int64_t finalize(int64_t r) {
            TopKBuffer<S, I>& top = best[static_cast<size_t>(r)];
            top = TopKBuffer<S, I>(k);
            for (int64_t p = M.row_begin(r); p < M.row_end(r); ++p) top.push(M.data[p], M.indices[p]);
            return static_cast<int64_t>(top.sorted().size());
        }
        const std::vector<Scored<S, I>>& items(int64_t r) const { return best[static_cast<size_t>(r)].items(); }
    } rows{M, k, std::vector<TopKBuffer<S, I>>(static_cast<size_t>(M.n_rows))};
    return assemble_topk_csr<S, I>(M.n_rows, rows, n_threads);
}

}  // namespace recforge

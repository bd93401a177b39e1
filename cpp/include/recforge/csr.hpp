// Non-owning CSR views, structural validation, transpose and column counts.
//
// Every kernel in recforge reads its sparse inputs through CsrView: three raw arrays and a
// shape, owned by the caller (numpy arrays in the bindings). check_csr() is the last line of
// defence before a kernel runs without the GIL: anything it accepts cannot make a kernel read
// or write out of bounds.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "parallel.hpp"
#include "scratch.hpp"

namespace recforge {

// T: value type (float or double). I: index type (int32_t or int64_t).
template <typename T, typename I>
struct CsrView {
    int64_t n_rows = 0;
    int64_t n_cols = 0;
    const I* indptr = nullptr;   // n_rows + 1 entries, indptr[0] == 0, non-decreasing
    const I* indices = nullptr;  // nnz column ids in [0, n_cols)
    const T* data = nullptr;     // nnz values

    int64_t nnz() const { return static_cast<int64_t>(indptr[n_rows]); }
    int64_t row_begin(int64_t r) const { return static_cast<int64_t>(indptr[r]); }
    int64_t row_end(int64_t r) const { return static_cast<int64_t>(indptr[r + 1]); }
    int64_t row_length(int64_t r) const { return row_end(r) - row_begin(r); }
};

// Where column b sits in row a of a canonical CSR (sorted row indices): its entry's position, or
// -1 when not stored. A branch-free binary search in row a, whose probes compile to conditional
// moves (no mispredicted branch per probe: 2-3x faster than std::lower_bound on the re-ranking's
// lookups).
template <typename T, typename I>
int64_t csr_position(const CsrView<T, I>& M, int64_t a, int64_t b) {
    const I* base = M.indices + M.row_begin(a);
    int64_t n = M.row_length(a);
    if (n == 0) return -1;
    const I key = static_cast<I>(b);
    while (n > 1) {
        const int64_t half = n / 2;
        base = base[half] <= key ? base + half : base;
        n -= half;
    }
    return *base == key ? static_cast<int64_t>(base - M.indices) : -1;
}

// M[a, b] as a double (0 when not stored), for a canonical CSR.
template <typename T, typename I>
double csr_entry(const CsrView<T, I>& M, int64_t a, int64_t b) {
    const int64_t at = csr_position(M, a, b);
    return at >= 0 ? static_cast<double>(M.data[at]) : 0.0;
}

// For each query (rows[q], cols[q]), whether M stores it (out[q] = 1) or not (0): which events of
// a log belong to the pairs a split kept. Queries in range (the caller checks). One search in the
// query's row each: O(n log d) with d a row's length, reads of two cache lines a query where a
// sorted search over every pair's key would take ~log2(nnz) misses. Thread-safe; results do not
// depend on n_threads.
template <typename T, typename I>
void contains_pairs(const CsrView<T, I>& M, const int64_t* rows, const int64_t* cols, int64_t n, uint8_t* out,
                    int n_threads) {
#pragma omp parallel for schedule(static) num_threads(threads_for(n_threads, n / 4096 + 1))
    for (int64_t q = 0; q < n; ++q) out[q] = csr_position(M, rows[q], cols[q]) >= 0 ? 1 : 0;
}

// Owning CSR, used for matrices a kernel derives internally (the transpose). Its arrays are
// resized uninitialised: whoever builds one writes every entry.
template <typename T, typename I>
struct CsrMatrix {
    int64_t n_rows = 0;
    int64_t n_cols = 0;
    std::vector<I, UninitAllocator<I>> indptr;
    std::vector<I, UninitAllocator<I>> indices;
    std::vector<T, UninitAllocator<T>> data;

    CsrView<T, I> view() const { return CsrView<T, I>{n_rows, n_cols, indptr.data(), indices.data(), data.data()}; }
};

struct CsrCheck {
    std::string error;      // empty when the structure is valid
    bool canonical = true;  // every row's indices strictly increasing (sorted, no duplicates)
};

// check_csr: validate a CSR structure given as raw arrays with their lengths.
//   Checks, in order: indptr length == n_rows + 1, indptr[0] == 0, indptr non-decreasing,
//   len(indices) == len(data) == indptr[n_rows], every index in [0, n_cols), every value finite
//   (when check_finite). Reports whether the rows are canonical (strictly increasing indices).
//   `name` prefixes the message ("X.indptr must ..."), which names the first failure in
//   row/position order whatever the thread count.
// Complexity O(n_rows + nnz), parallel over rows (n_threads, 0 = the OpenMP default) above ~64k
// entries; no allocation besides the message. Thread-safe (read-only).
namespace detail {

// Threads for a check over `work` entries: one below ~64k, where starting a team costs more.
inline int check_threads(int64_t work, int n_threads) {
    return work < (int64_t(1) << 16) ? 1 : resolve_threads(n_threads);
}

// The smallest i in [0, n) with failing(i), or n when none: parallel over blocks, each thread
// keeps its own minimum, then the minima are merged (OpenMP 2.0 has no min reduction, and
// MSVC builds use OpenMP 2.0). The answer does not depend on the thread count.
template <typename F>
int64_t first_failing(int64_t n, int threads, F&& failing) {
    int64_t first = n;
#pragma omp parallel num_threads(threads)
    {
        int64_t mine = n;
#pragma omp for schedule(static)
        for (int64_t i = 0; i < n; ++i) {
            if (i < mine && failing(i)) mine = i;
        }
#pragma omp critical(recforge_first_failing)
        if (mine < first) first = mine;
    }
    return first;
}

// first_failing over blocks of 4096 indices whose failures are counted without a branch (which
// the compiler vectorises), a block scanned one index at a time only when it holds one: the per-index
// early exit of first_failing kept its loop scalar (a 4M-entry matrix took 6 ms to check, against
// 1 ms for numpy's isfinite().all() on one thread).
template <typename F>
int64_t first_failing_flat(int64_t n, int threads, F&& failing) {
    constexpr int64_t block = 4096;
    const int64_t n_blocks = (n + block - 1) / block;
    const int64_t b = first_failing(n_blocks, threads, [&](int64_t k) {
        const int64_t end = std::min(n, (k + 1) * block);
        int32_t failures = 0;  // a count: GCC vectorises an integer sum, not a bool OR
        for (int64_t i = k * block; i < end; ++i) failures += failing(i) ? 1 : 0;
        return failures > 0;
    });
    if (b == n_blocks) return n;
    int64_t i = b * block;
    while (!failing(i)) ++i;
    return i;
}

}  // namespace detail

template <typename T, typename I>
CsrCheck check_csr(const std::string& name, int64_t n_rows, int64_t n_cols, const I* indptr, int64_t indptr_len,
                   const I* indices, int64_t indices_len, const T* data, int64_t data_len, bool check_finite = true,
                   int n_threads = 0) {
    CsrCheck out;
    auto fail = [&](std::string msg) {
        out.error = name + msg;
        out.canonical = false;
        return out;
    };
    if (n_rows < 0 || n_cols < 0) return fail(" has a negative shape");
    if (indptr_len != n_rows + 1)
        return fail(".indptr has " + std::to_string(indptr_len) +
                    " entries, expected n_rows + 1 = " + std::to_string(n_rows + 1));
    if (indptr[0] != 0) return fail(".indptr[0] is " + std::to_string(indptr[0]) + ", expected 0");
    const int threads = detail::check_threads(n_rows + indices_len, n_threads);
    const int64_t bad_ptr =
        detail::first_failing(n_rows, threads, [&](int64_t r) { return indptr[r + 1] < indptr[r]; });
    if (bad_ptr < n_rows) {
        const int64_t r = bad_ptr;
        return fail(".indptr is not non-decreasing: indptr[" + std::to_string(r) + "] = " + std::to_string(indptr[r]) +
                    " > indptr[" + std::to_string(r + 1) + "] = " + std::to_string(indptr[r + 1]));
    }
    const int64_t nnz = static_cast<int64_t>(indptr[n_rows]);
    if (indices_len != data_len)
        return fail(" has " + std::to_string(indices_len) + " indices but " + std::to_string(data_len) + " values");
    if (nnz != indices_len)
        return fail(".indptr ends at " + std::to_string(nnz) + " but there are " + std::to_string(indices_len) +
                    " stored entries (nnz)");
    // The indices as one flat array: the first out of range names its row; then every row is
    // strictly increasing when the flat array's steps that are not (an index not above the one
    // before it) all fall on a row's first entry.
    // one unsigned comparison (a negative index wraps above n_cols): no branch, so it vectorises
    auto out_of_range = [&](int64_t p) {
        return static_cast<uint64_t>(static_cast<int64_t>(indices[p])) >= static_cast<uint64_t>(n_cols);
    };
    const int64_t bad = detail::first_failing_flat(nnz, threads, out_of_range);
    if (bad < nnz) {
        const int64_t bad_row = std::upper_bound(indptr, indptr + n_rows + 1, static_cast<I>(bad)) - indptr - 1;
        return fail(".indices has " + std::to_string(indices[bad]) + " in row " + std::to_string(bad_row) +
                    ", outside [0, " + std::to_string(n_cols) + ")");
    }
    int64_t steps_down = 0, at_row_starts = 0;
#pragma omp parallel for schedule(static) num_threads(threads) reduction(+ : steps_down)
    for (int64_t p = 1; p < nnz; ++p) steps_down += indices[p - 1] >= indices[p];
#pragma omp parallel for schedule(static) num_threads(threads) reduction(+ : at_row_starts)
    for (int64_t r = 1; r < n_rows; ++r) {
        const int64_t start = indptr[r];
        at_row_starts += start > 0 && start < indptr[r + 1] && indices[start - 1] >= indices[start];
    }
    out.canonical = steps_down == at_row_starts;
    if (check_finite) {
        const int64_t p = detail::first_failing_flat(nnz, threads, [&](int64_t q) { return !std::isfinite(data[q]); });
        if (p < nnz)
            return fail(".data has a non-finite value (" + std::to_string(data[p]) + ") at position " +
                        std::to_string(p) + "; NaN and inf are not allowed");
    }
    return out;
}

// transpose: CSR of A^T from a CSR A (a counting sort by column).
//   Rows of the result list their entries in increasing original-row order, so a canonical A
//   gives a canonical A^T. If `position` is given it receives, for every entry p of A, where
//   that entry landed in A^T (size nnz); if `origin` is given, for every entry of A^T, where it
//   came from in A (the inverse map, written in the same pass). With with_values = false only the structure is built
//   (data stays empty), for callers that fill the values themselves. Parallel over blocks of A's rows: each block
//   counts its columns, a prefix sum over (column, block) gives every block its own slots, so the result is the same
//   for any thread count. O(nnz + threads * n_cols) time and memory.
template <typename T, typename I>
CsrMatrix<T, I> transpose(const CsrView<T, I>& a, std::vector<I>* position = nullptr, int n_threads = 1,
                          bool with_values = true, std::vector<I>* origin = nullptr) {
    CsrMatrix<T, I> t;
    t.n_rows = a.n_cols;
    t.n_cols = a.n_rows;
    const int64_t nnz = a.nnz();
    const int64_t n_cols = a.n_cols;
    t.indptr.assign(static_cast<size_t>(n_cols) + 1, 0);
    t.indices.resize(static_cast<size_t>(nnz));
    if (with_values) t.data.resize(static_cast<size_t>(nnz));
    if (position) position->resize(static_cast<size_t>(nnz));
    if (origin) origin->resize(static_cast<size_t>(nnz));
    // More blocks than nnz / n_cols would spend more on the count tables than on the entries.
    const int64_t blocks = std::max<int64_t>(
        1, std::min<int64_t>({static_cast<int64_t>(n_threads), a.n_rows, nnz / std::max<int64_t>(n_cols, 1)}));
    // Row blocks of about equal nnz.
    std::vector<int64_t> first_row(static_cast<size_t>(blocks) + 1, a.n_rows);
    first_row[0] = 0;
    for (int64_t blk = 1, r = 0; blk < blocks; ++blk) {
        const int64_t target = nnz * blk / blocks;
        while (r < a.n_rows && a.row_begin(r) < target) ++r;
        first_row[blk] = r;
    }
    // next[blk * n_cols + c]: block blk's next slot in column c.
    std::vector<int64_t> next(static_cast<size_t>(blocks * n_cols), 0);
#pragma omp parallel for num_threads(static_cast<int>(blocks)) schedule(static, 1)
    for (int64_t blk = 0; blk < blocks; ++blk) {
        int64_t* count = next.data() + blk * n_cols;
        for (int64_t p = a.row_begin(first_row[blk]); p < a.row_begin(first_row[blk + 1]); ++p) ++count[a.indices[p]];
    }
    int64_t offset = 0;
    for (int64_t c = 0; c < n_cols; ++c) {
        t.indptr[c] = static_cast<I>(offset);
        for (int64_t blk = 0; blk < blocks; ++blk) {
            const int64_t count = next[blk * n_cols + c];
            next[blk * n_cols + c] = offset;
            offset += count;
        }
    }
    t.indptr[n_cols] = static_cast<I>(offset);
#pragma omp parallel for num_threads(static_cast<int>(blocks)) schedule(static, 1)
    for (int64_t blk = 0; blk < blocks; ++blk) {
        int64_t* slot = next.data() + blk * n_cols;
        for (int64_t r = first_row[blk]; r < first_row[blk + 1]; ++r) {
            for (int64_t p = a.row_begin(r); p < a.row_end(r); ++p) {
                const int64_t dst = slot[a.indices[p]]++;
                if (position) (*position)[p] = static_cast<I>(dst);
                if (origin) (*origin)[dst] = static_cast<I>(p);
                t.indices[dst] = static_cast<I>(r);
                if (with_values) t.data[dst] = a.data[p];
            }
        }
    }
    return t;
}

// Entries per column of the CSR whose column indices are indices[0, nnz): a bincount in blocks
// of entries, a count table per block added up in block order (integers: the same for any
// thread count). An index outside [0, n_cols) is not counted; the result's last entry (index
// n_cols) counts them, so a caller that did not validate can tell. O(nnz + threads * n_cols).
template <typename I>
std::vector<int64_t> column_counts(const I* indices, int64_t nnz, int64_t n_cols, int n_threads) {
    // Blocks below ~64k entries each cost more in count tables than they save.
    const int64_t blocks =
        std::max<int64_t>(1, std::min<int64_t>(n_threads, std::min(nnz / 65536, nnz / std::max<int64_t>(n_cols, 1))));
    std::vector<std::vector<int64_t>> count(static_cast<size_t>(blocks));
#pragma omp parallel for num_threads(static_cast<int>(blocks)) schedule(static, 1)
    for (int64_t blk = 0; blk < blocks; ++blk) {
        auto& c = count[static_cast<size_t>(blk)];
        c.assign(static_cast<size_t>(n_cols) + 1, 0);
        for (int64_t p = nnz * blk / blocks; p < nnz * (blk + 1) / blocks; ++p) {
            const int64_t j = static_cast<int64_t>(indices[p]);
            ++c[static_cast<size_t>(j >= 0 && j < n_cols ? j : n_cols)];
        }
    }
    std::vector<int64_t> total = std::move(count[0]);
    for (int64_t blk = 1; blk < blocks; ++blk)
        for (size_t j = 0; j < total.size(); ++j) total[j] += count[static_cast<size_t>(blk)][j];
    return total;
}

// For each stored entry of the rows indptr[0..n_rows] describes, its 0-based rank within its
// row when the row's entries are ordered by key (ascending), ties by position. Keys must not be
// NaN (the caller checks). O(nnz log d) for rows of d entries, parallel over rows, the same for
// any thread count; memory: one row's positions per thread. Throws Interrupted on Ctrl-C.
template <typename I>
void rank_within_rows(const I* indptr, int64_t n_rows, const double* key, int64_t* rank, int n_threads) {
    StopFlag stop;
#pragma omp parallel num_threads(n_threads)
    {
        std::vector<int64_t> order;
#pragma omp for schedule(dynamic, 1024)
        for (int64_t r = 0; r < n_rows; ++r) {
            if ((r & kStopCheckMask) == 0 && stop.requested()) continue;
            const auto begin = static_cast<int64_t>(indptr[r]), end = static_cast<int64_t>(indptr[r + 1]);
            order.resize(static_cast<size_t>(end - begin));
            for (int64_t p = begin; p < end; ++p) order[static_cast<size_t>(p - begin)] = p;
            std::sort(order.begin(), order.end(),
                      [key](int64_t a, int64_t b) { return key[a] < key[b] || (key[a] == key[b] && a < b); });
            for (size_t k = 0; k < order.size(); ++k) rank[order[k]] = static_cast<int64_t>(k);
        }
    }
    stop.throw_if_requested();
}

}  // namespace recforge

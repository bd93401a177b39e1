// Event rows -> one entry per (customer, product) pair: the matrix every Interactions holds
// (python/recforge/data/interactions.py). An event log repeats pairs (a product bought again,
// viewed then bought); each pair's rows are merged by sum, max, count or last, and the pair
// keeps its latest time.
//
// The rows are grouped by customer with a stable counting sort (one sequential pass: O(n) reads
// and scattered writes), then every customer's rows are sorted by (product, time, row) and merged
// in parallel. What a pair gets depends on its own rows only, so the result is identical for any
// thread count; sums run over the pair's rows by time, then row order (the "last" row is the
// latest, ties to the later row).
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "recforge/parallel.hpp"

namespace recforge {

enum class PairMerge : int { sum = 0, max = 1, count = 2, last = 3 };

struct PairEvents {
    int64_t n_rows = 0;
    const int64_t* user = nullptr;   // codes in [0, n_users)
    const int64_t* item = nullptr;   // codes in [0, n_items)
    const double* weight = nullptr;  // finite (count ignores it)
    const double* time = nullptr;    // finite, or nullptr: row order alone orders a pair's rows
    int64_t n_users = 0;
    int64_t n_items = 0;
};

// A merged value in the output's type: a sum past float's range is +-inf (the caller reports
// it), not an out-of-range conversion.
template <typename V>
inline V narrowed(double value) {
    if constexpr (std::is_same_v<V, float>) {
        constexpr double most = static_cast<double>(std::numeric_limits<float>::max());
        if (value > most) return std::numeric_limits<float>::infinity();
        if (value < -most) return -std::numeric_limits<float>::infinity();
    }
    return static_cast<V>(value);
}

// The merged pairs as CSR: indptr (n_users + 1), indices (columns ascending in each row), the
// merged value (as V) and, with times, each pair's latest time.
template <typename I, typename V>
struct PairMatrix {
    std::vector<I> indptr, indices;
    std::vector<V> values;
    std::vector<double> latest;
};

// Builds the pair matrix of `E` merged by `mode`.
// Complexity: O(n) for the grouping, O(sum over customers of d log d) for the sorts (d: the
// customer's rows), O(n) for the merge; memory: n int64 positions beside the output.
// Throws std::invalid_argument on a code out of range (naming the row), Interrupted on Ctrl-C.
// Thread-safe for distinct outputs; results do not depend on n_threads.
template <typename I, typename V>
PairMatrix<I, V> aggregate_pairs(const PairEvents& E, PairMerge mode, int n_threads) {
    const int64_t n = E.n_rows, m = E.n_users;
    std::vector<int64_t> start(static_cast<size_t>(m + 1), 0);
    for (int64_t r = 0; r < n; ++r) {
        const int64_t u = E.user[r], j = E.item[r];
        if (u < 0 || u >= m) throw std::invalid_argument("user code out of range at row " + std::to_string(r));
        if (j < 0 || j >= E.n_items) throw std::invalid_argument("item code out of range at row " + std::to_string(r));
        ++start[static_cast<size_t>(u + 1)];
    }
    for (int64_t u = 0; u < m; ++u) start[static_cast<size_t>(u + 1)] += start[static_cast<size_t>(u)];
    std::vector<int64_t> rows(static_cast<size_t>(n));
    {
        std::vector<int64_t> next(start.begin(), start.end() - 1);
        for (int64_t r = 0; r < n; ++r) rows[static_cast<size_t>(next[static_cast<size_t>(E.user[r])]++)] = r;
    }

    // Each customer's rows by (product, time, row); the number of distinct products it has.
    const int64_t* item = E.item;
    const double* time = E.time;
    std::vector<I> distinct(static_cast<size_t>(m) + 1, 0);
    StopFlag stop;
#pragma omp parallel for schedule(dynamic, 1024) num_threads(n_threads)
    for (int64_t u = 0; u < m; ++u) {
        if ((u & kStopCheckMask) == 0 && stop.requested()) continue;
        int64_t* first = rows.data() + start[static_cast<size_t>(u)];
        int64_t* last = rows.data() + start[static_cast<size_t>(u + 1)];
        if (time != nullptr) {
            std::sort(first, last, [item, time](int64_t a, int64_t b) {
                if (item[a] != item[b]) return item[a] < item[b];
                if (time[a] != time[b]) return time[a] < time[b];
                return a < b;
            });
        } else {
            // rows are in row order already (the counting sort is stable): keep it among equals
            std::stable_sort(first, last, [item](int64_t a, int64_t b) { return item[a] < item[b]; });
        }
        I count = 0;
        for (int64_t* p = first; p != last; ++p)
            if (p == first || item[*p] != item[*(p - 1)]) ++count;
        distinct[static_cast<size_t>(u) + 1] = count;
    }
    stop.throw_if_requested();

    PairMatrix<I, V> out;
    out.indptr.assign(distinct.begin(), distinct.end());
    for (int64_t u = 0; u < m; ++u) out.indptr[static_cast<size_t>(u + 1)] += out.indptr[static_cast<size_t>(u)];
    const size_t nnz = static_cast<size_t>(out.indptr[static_cast<size_t>(m)]);
    out.indices.resize(nnz);
    out.values.resize(nnz);
    if (time != nullptr) out.latest.resize(nnz);
    const double* weight = E.weight;
#pragma omp parallel for schedule(dynamic, 1024) num_threads(n_threads)
    for (int64_t u = 0; u < m; ++u) {
        if ((u & kStopCheckMask) == 0 && stop.requested()) continue;
        const int64_t* p = rows.data() + start[static_cast<size_t>(u)];
        const int64_t* end = rows.data() + start[static_cast<size_t>(u + 1)];
        auto k = static_cast<size_t>(out.indptr[static_cast<size_t>(u)]);
        while (p != end) {
            const int64_t j = item[*p];
            double value = mode == PairMerge::max ? weight[*p] : 0.0;  // the loop takes every row
            int64_t last_row = *p;
            for (; p != end && item[*p] == j; ++p) {
                const double w = weight[*p];
                switch (mode) {
                    case PairMerge::sum:
                        value += w;
                        break;
                    case PairMerge::max:
                        value = std::max(value, w);
                        break;
                    case PairMerge::count:
                        value += 1.0;
                        break;
                    case PairMerge::last:
                        value = w;
                        break;
                }
                last_row = *p;
            }
            out.indices[k] = static_cast<I>(j);
            out.values[k] = narrowed<V>(value);
            if (time != nullptr) out.latest[k] = time[last_row];
            ++k;
        }
    }
    stop.throw_if_requested();
    return out;
}

}  // namespace recforge

// Beyond-accuracy measures of a batch of recommendation lists, in one parallel pass
// (python/recforge/evaluation/beyond.py documents the conventions):
//
//   coverage                distinct recommended items / n_items
//   gini                    Gini index of the items' exposure (times recommended), all items
//   novelty                 mean self-information of the recommended items (given per item)
//   mean_popularity         mean popularity (given per item) of the recommended items
//   intra_list_diversity    1 - mean pairwise similarity within a list, averaged over the
//                           lists with >= 2 items (similarity given, symmetric)
//   personalisation         1 - mean Jaccard overlap between two customers' lists, over every
//                           pair of lists or over n_pairs pairs drawn with a fixed seed
//
// Sums are taken in fixed chunks and exposure counts are integers, so results do not depend on
// the thread count.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "recforge/csr.hpp"
#include "recforge/parallel.hpp"
#include "recforge/random.hpp"

namespace recforge {

template <typename T, typename I>
struct ListsProblem {
    int64_t n_lists = 0;
    int64_t width = 0;
    const int64_t* ids = nullptr;  // n_lists x width, -1 = padding; ids < n_items
    int64_t n_items = 0;
    const double* information = nullptr;  // per item: -log2(popularity share)
    const double* popularity = nullptr;   // per item: popularity share
    CsrView<T, I> similarity;             // n_items x n_items, canonical; n_rows == 0: none
    int64_t n_pairs = 0;                  // personalisation: pairs compared (all if fewer exist)
    uint64_t seed = 0;
};

struct BeyondAccuracy {
    double coverage = 0.0, gini = 0.0, novelty = 0.0, mean_popularity = 0.0;
    double intra_list_diversity = 0.0, personalisation = 0.0;
    int64_t recommended = 0, lists_with_pairs = 0, pairs_compared = 0;
};

namespace detail {

// |A & B| / |A | B| of two lists' valid ids (each list's ids are distinct); -1 when both are empty.
inline double jaccard(const int64_t* a, const int64_t* b, int64_t width, std::vector<int64_t>& x,
                      std::vector<int64_t>& y) {
    x.clear();
    y.clear();
    for (int64_t j = 0; j < width; ++j) {
        if (a[j] >= 0) x.push_back(a[j]);
        if (b[j] >= 0) y.push_back(b[j]);
    }
    if (x.empty() && y.empty()) return -1.0;
    std::sort(x.begin(), x.end());
    std::sort(y.begin(), y.end());
    size_t i = 0, j = 0, both = 0;
    while (i < x.size() && j < y.size()) {
        if (x[i] < y[j]) {
            ++i;
        } else if (y[j] < x[i]) {
            ++j;
        } else {
            ++both;
            ++i;
            ++j;
        }
    }
    return static_cast<double>(both) / static_cast<double>(x.size() + y.size() - both);
}

// The similarity's rows as open-addressing hash tables (capacity a power of two >= 2x the row,
// linear probing, key -1 = empty): a pair's similarity is one load, usually, and the loads of
// different pairs are independent, where a binary search is a chain of dependent loads (3x
// slower measured on 1M lists: intra-list diversity is a random lookup per pair).
template <typename T, typename I>
struct RowHash {
    std::vector<int64_t> offset;  // n_rows + 1
    std::vector<I> keys;
    std::vector<T> values;

    explicit RowHash(const CsrView<T, I>& S) : offset(static_cast<size_t>(S.n_rows + 1), 0) {
        for (int64_t a = 0; a < S.n_rows; ++a) {
            int64_t capacity = 2;
            while (capacity < 2 * S.row_length(a)) capacity <<= 1;
            offset[static_cast<size_t>(a + 1)] = offset[static_cast<size_t>(a)] + capacity;
        }
        keys.assign(static_cast<size_t>(offset.back()), static_cast<I>(-1));
        values.assign(static_cast<size_t>(offset.back()), T(0));
        for (int64_t a = 0; a < S.n_rows; ++a) {
            const uint64_t mask =
                static_cast<uint64_t>(offset[static_cast<size_t>(a + 1)] - offset[static_cast<size_t>(a)] - 1);
            for (int64_t e = S.row_begin(a); e < S.row_end(a); ++e) {
                uint64_t h = slot(static_cast<int64_t>(S.indices[e])) & mask;
                while (keys[static_cast<size_t>(offset[static_cast<size_t>(a)] + static_cast<int64_t>(h))] !=
                       static_cast<I>(-1))
                    h = (h + 1) & mask;
                const size_t at = static_cast<size_t>(offset[static_cast<size_t>(a)] + static_cast<int64_t>(h));
                keys[at] = S.indices[e];
                values[at] = S.data[e];
            }
        }
    }
    static uint64_t slot(int64_t key) { return (static_cast<uint64_t>(key) * 0x9e3779b97f4a7c15ULL) >> 20; }
    double at(int64_t a, int64_t b) const {
        const int64_t first = offset[static_cast<size_t>(a)];
        const uint64_t mask = static_cast<uint64_t>(offset[static_cast<size_t>(a + 1)] - first - 1);
        for (uint64_t h = slot(b) & mask;; h = (h + 1) & mask) {
            const I key = keys[static_cast<size_t>(first + static_cast<int64_t>(h))];
            if (key == static_cast<I>(b))
                return static_cast<double>(values[static_cast<size_t>(first + static_cast<int64_t>(h))]);
            if (key == static_cast<I>(-1)) return 0.0;
        }
    }
};

}  // namespace detail

template <typename T, typename I>
BeyondAccuracy beyond_accuracy(const ListsProblem<T, I>& P, int n_threads) {
    const int64_t W = P.width;
    const bool use_sim = P.similarity.n_rows > 0;
    // exposure per thread (integers: merged in any order, the same counts)
    std::vector<std::vector<int64_t>> exposure(static_cast<size_t>(n_threads));
    for (auto& e : exposure) e.assign(static_cast<size_t>(P.n_items), 0);
    std::unique_ptr<detail::RowHash<T, I>> table;
    if (use_sim) table = std::make_unique<detail::RowHash<T, I>>(P.similarity);
    // per list: items, self-information, popularity, 1 - mean pairwise similarity, has pairs
    const auto sums = chunked_sums<5>(P.n_lists, n_threads, [&](int64_t u, std::array<double, 5>& s) {
        const int64_t* list = P.ids + u * W;
        auto& seen = exposure[static_cast<size_t>(thread_index())];
        int64_t valid = 0;
        for (int64_t j = 0; j < W; ++j) {
            const int64_t item = list[j];
            if (item < 0) continue;
            ++valid;
            ++seen[static_cast<size_t>(item)];
            s[1] += P.information[item];
            s[2] += P.popularity[item];
        }
        s[0] += static_cast<double>(valid);
        if (use_sim && valid >= 2) {
            double total = 0.0;
            for (int64_t a = 0; a < W; ++a) {
                if (list[a] < 0) continue;
                for (int64_t b = a + 1; b < W; ++b)
                    if (list[b] >= 0) total += table->at(list[a], list[b]);
            }
            const double pairs = static_cast<double>(valid) * static_cast<double>(valid - 1) / 2.0;
            s[3] += 1.0 - total / pairs;
            s[4] += 1.0;
        }
    });
    std::vector<int64_t> count(static_cast<size_t>(P.n_items), 0);
    for (const auto& e : exposure)
        for (size_t i = 0; i < count.size(); ++i) count[i] += e[i];

    BeyondAccuracy out;
    out.recommended = static_cast<int64_t>(sums[0]);
    if (sums[0] > 0) {
        out.novelty = sums[1] / sums[0];
        out.mean_popularity = sums[2] / sums[0];
    }
    out.lists_with_pairs = static_cast<int64_t>(sums[4]);
    if (sums[4] > 0) out.intra_list_diversity = sums[3] / sums[4];
    if (P.n_items > 0) {
        int64_t covered = 0;
        for (int64_t c : count) covered += c > 0 ? 1 : 0;
        out.coverage = static_cast<double>(covered) / static_cast<double>(P.n_items);
        std::sort(count.begin(), count.end());
        double weighted = 0.0, total = 0.0;
        const double n = static_cast<double>(P.n_items);
        for (size_t i = 0; i < count.size(); ++i) {
            weighted += (2.0 * static_cast<double>(i + 1) - n - 1.0) * static_cast<double>(count[i]);
            total += static_cast<double>(count[i]);
        }
        out.gini = total > 0 ? weighted / (n * total) : 0.0;
    }

    // personalisation: every pair of lists when there are at most n_pairs of them, else n_pairs
    // pairs drawn from a generator seeded per pair (the same pairs for any thread count)
    const int64_t n = P.n_lists;
    const double all_pairs = static_cast<double>(n) * static_cast<double>(n - 1) / 2.0;
    const bool every_pair = n >= 2 && all_pairs <= static_cast<double>(P.n_pairs);
    const int64_t n_rows = every_pair ? n - 1 : (n >= 2 ? P.n_pairs : 0);
    std::vector<std::vector<int64_t>> xs(static_cast<size_t>(n_threads)), ys(static_cast<size_t>(n_threads));
    const auto pair_sums = chunked_sums<2>(n_rows, n_threads, [&](int64_t r, std::array<double, 2>& s) {
        auto& x = xs[static_cast<size_t>(thread_index())];
        auto& y = ys[static_cast<size_t>(thread_index())];
        if (every_pair) {  // row r: list r against every later list
            for (int64_t v = r + 1; v < n; ++v) {
                const double j = detail::jaccard(P.ids + r * W, P.ids + v * W, W, x, y);
                if (j >= 0) {
                    s[0] += j;
                    s[1] += 1.0;
                }
            }
            return;
        }
        uint64_t state = P.seed ^ (static_cast<uint64_t>(r) * 0xd1b54a32d192ed03ULL);
        const int64_t a = static_cast<int64_t>(splitmix64(state) % static_cast<uint64_t>(n));
        int64_t b = static_cast<int64_t>(splitmix64(state) % static_cast<uint64_t>(n - 1));
        if (b >= a) ++b;  // a different list
        const double j = detail::jaccard(P.ids + a * W, P.ids + b * W, W, x, y);
        if (j >= 0) {
            s[0] += j;
            s[1] += 1.0;
        }
    });
    out.pairs_compared = static_cast<int64_t>(pair_sums[1]);
    if (pair_sums[1] > 0) out.personalisation = 1.0 - pair_sums[0] / pair_sums[1];
    return out;
}

}  // namespace recforge

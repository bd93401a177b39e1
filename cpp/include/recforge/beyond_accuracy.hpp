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
#include "recforge/prefetch.hpp"
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
    // n_items x n_items as given (n_rows == 0: none). Intra-list diversity reads it made
    // symmetric by the larger direction, an entry missing on one side counting 0, without its
    // diagonal: scipy's S.maximum(S.T) less the diagonal, built row by row where it is read.
    CsrView<T, I> similarity;
    int64_t n_pairs = 0;  // personalisation: pairs compared (all if fewer exist)
    uint64_t seed = 0;
};

struct BeyondAccuracy {
    double coverage = 0.0, gini = 0.0, novelty = 0.0, mean_popularity = 0.0;
    double intra_list_diversity = 0.0, personalisation = 0.0;
    int64_t recommended = 0, lists_with_pairs = 0, pairs_compared = 0;
};

namespace detail {

// (item, list) entries ahead whose list is prefetched.
constexpr int64_t kListPrefetch = 8;

// |A & B| / |A | B| of two lists' valid ids (each list's ids are distinct); -1 when both are
// empty. Every position against every position: for lists of tens of items the width^2
// comparisons are branch-free and cheaper than sorting both lists.
inline double jaccard(const int64_t* a, const int64_t* b, int64_t width) {
    int64_t na = 0, nb = 0, both = 0;
    for (int64_t i = 0; i < width; ++i) {
        na += a[i] >= 0;
        nb += b[i] >= 0;
        if (a[i] < 0) continue;
        for (int64_t j = 0; j < width; ++j) both += a[i] == b[j];
    }
    if (na == 0 && nb == 0) return -1.0;
    return static_cast<double>(both) / static_cast<double>(na + nb - both);
}

// Sum over lists of (sum of S[a, b] over the ordered pairs of the list's items) / (v (v - 1)),
// v the list's valid items: the mean pairwise similarity of each list (S symmetric), summed.
//
// Item by item rather than list by list: the lists holding item a come from an inverted index,
// and S's row a is scattered into a dense buffer, so every pair (a, b) is a read from that buffer
// (cache-resident while a's lists are walked) instead of a random lookup into S: 1M lists of 10
// are 45M pairs, and looked up list by list in hash tables of S's rows they made the whole call
// 1.5-2x slower (measured). The one random read left per (item, list) is the list itself, packed
// in the narrowest item id type (int16 below 32768 items: 20 bytes for 10 items, one cache line
// at most) and carrying all the list's weight needs: its valid count is counted off it.
// Each item's sum is taken in list order and the items' sums in item order: the same total for
// any thread count. ST: the similarity's transpose (row a of the symmetric matrix is the larger
// of S's row a and column a).
template <typename Id, typename ItemId, typename T, typename I>
double pair_similarity_sum_with(const ListsProblem<T, I>& P, const CsrView<T, I>& ST, int n_threads) {
    const int64_t W = P.width, n = P.n_items, n_lists = P.n_lists;
    // A parallel counting sort of (item, list) by item that keeps list order within an item:
    // part t, a thread, takes the t-th contiguous range of lists, counts its items, and writes
    // them after the counts of the ranges before it. Alongside, the lists again in the narrowest id type
    // (int32 for any real catalogue: 1M lists of 10 are 40 MB instead of 80).
    const int parts = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(n_threads, n_lists)));
    std::vector<std::vector<int64_t>> cursor(static_cast<size_t>(parts),
                                             std::vector<int64_t>(static_cast<size_t>(n), 0));
    std::vector<int64_t> start(static_cast<size_t>(n + 1), 0);
    std::vector<ItemId> packed(static_cast<size_t>(n_lists * W));
    // 1 / (v (v - 1)) for a list of v valid items: read off the list, not from an array of
    // n_lists weights (a second random read per (item, list)).
    std::vector<double> weight_of(static_cast<size_t>(W + 1), 0.0);
    for (int64_t v = 2; v <= W; ++v) weight_of[static_cast<size_t>(v)] = 1.0 / static_cast<double>(v * (v - 1));
    auto range = [&](int t) { return std::make_pair(n_lists * t / parts, n_lists * (t + 1) / parts); };
#pragma omp parallel for schedule(static, 1) num_threads(parts)
    for (int t = 0; t < parts; ++t) {
        auto& c = cursor[static_cast<size_t>(t)];
        const auto [first, last] = range(t);
        for (int64_t j = first * W; j < last * W; ++j)
            if (P.ids[j] >= 0) ++c[static_cast<size_t>(P.ids[j])];
    }
    for (int64_t i = 0; i < n; ++i) {
        int64_t at = start[static_cast<size_t>(i)];
        for (auto& c : cursor) {
            const int64_t here = c[static_cast<size_t>(i)];
            c[static_cast<size_t>(i)] = at;
            at += here;
        }
        start[static_cast<size_t>(i + 1)] = at;
    }
    std::vector<Id> lists(static_cast<size_t>(start.back()));  // per item, the lists holding it
#pragma omp parallel for schedule(static, 1) num_threads(parts)
    for (int t = 0; t < parts; ++t) {
        auto& c = cursor[static_cast<size_t>(t)];
        const auto [first, last] = range(t);
        for (int64_t u = first; u < last; ++u) {
            const int64_t* list = P.ids + u * W;
            for (int64_t j = 0; j < W; ++j) {
                packed[static_cast<size_t>(u * W + j)] = static_cast<ItemId>(list[j]);
                if (list[j] < 0) continue;
                lists[static_cast<size_t>(c[static_cast<size_t>(list[j])]++)] = static_cast<Id>(u);
            }
        }
    }
    std::vector<double> per_item(static_cast<size_t>(n), 0.0);
#pragma omp parallel num_threads(n_threads)
    {
        const CsrView<T, I>& S = P.similarity;
        std::vector<T> row(static_cast<size_t>(n), T(0));  // the symmetric matrix's row a, dense
        // in_row[b] == a: S[a, b] is stored; in_column[b] == a: S[b, a] is
        std::vector<int64_t> in_row(static_cast<size_t>(n), -1), in_column(static_cast<size_t>(n), -1);
#pragma omp for schedule(dynamic, 16)
        for (int64_t a = 0; a < n; ++a) {
            const int64_t first = start[static_cast<size_t>(a)], last = start[static_cast<size_t>(a + 1)];
            if (first == last || (S.row_length(a) == 0 && ST.row_length(a) == 0)) continue;
            for (int64_t e = S.row_begin(a); e < S.row_end(a); ++e) {
                const auto b = static_cast<size_t>(S.indices[e]);
                if (static_cast<int64_t>(b) == a) continue;  // no diagonal
                row[b] = S.data[e];
                in_row[b] = a;
            }
            for (int64_t e = ST.row_begin(a); e < ST.row_end(a); ++e) {
                const auto b = static_cast<size_t>(ST.indices[e]);
                if (static_cast<int64_t>(b) == a) continue;
                row[b] = in_row[b] == a ? std::max(row[b], ST.data[e]) : std::max(ST.data[e], T(0));
                in_column[b] = a;
            }
            for (int64_t e = S.row_begin(a); e < S.row_end(a); ++e) {  // stored on one side only
                const auto b = static_cast<size_t>(S.indices[e]);
                if (static_cast<int64_t>(b) != a && in_column[b] != a) row[b] = std::max(row[b], T(0));
            }
            double sum = 0.0;
            for (int64_t at = first; at < last; ++at) {
                if (at + kListPrefetch < last) {  // a list may straddle two cache lines: both
                    const ItemId* ahead =
                        packed.data() + static_cast<int64_t>(lists[static_cast<size_t>(at + kListPrefetch)]) * W;
                    prefetch(ahead);
                    prefetch(ahead + W - 1);
                }
                const int64_t u = static_cast<int64_t>(lists[static_cast<size_t>(at)]);
                const ItemId* list = packed.data() + u * W;
                double s = 0.0;
                int64_t valid = 0;
                for (int64_t j = 0; j < W; ++j) {  // S has no diagonal: a against itself adds 0
                    if (list[j] < 0) continue;
                    ++valid;
                    s += static_cast<double>(row[static_cast<size_t>(list[j])]);
                }
                sum += weight_of[static_cast<size_t>(valid)] * s;
            }
            per_item[static_cast<size_t>(a)] = sum;
            for (int64_t e = S.row_begin(a); e < S.row_end(a); ++e) row[static_cast<size_t>(S.indices[e])] = T(0);
            for (int64_t e = ST.row_begin(a); e < ST.row_end(a); ++e) row[static_cast<size_t>(ST.indices[e])] = T(0);
        }
    }
    double total = 0.0;
    for (double v : per_item) total += v;
    return total;
}

// The narrowest list and item id types that hold n_lists and n_items (-1 included).
template <typename T, typename I>
double pair_similarity_sum(const ListsProblem<T, I>& P, int n_threads) {
    const CsrMatrix<T, I> transposed = transpose<T, I>(P.similarity, nullptr, n_threads);
    const CsrView<T, I> ST = transposed.view();
    const bool narrow_lists = P.n_lists <= INT32_MAX;
    if (P.n_items <= INT16_MAX)
        return narrow_lists ? pair_similarity_sum_with<int32_t, int16_t>(P, ST, n_threads)
                            : pair_similarity_sum_with<int64_t, int16_t>(P, ST, n_threads);
    if (P.n_items <= INT32_MAX)
        return narrow_lists ? pair_similarity_sum_with<int32_t, int32_t>(P, ST, n_threads)
                            : pair_similarity_sum_with<int64_t, int32_t>(P, ST, n_threads);
    return pair_similarity_sum_with<int64_t, int64_t>(P, ST, n_threads);
}

}  // namespace detail

template <typename T, typename I>
BeyondAccuracy beyond_accuracy(const ListsProblem<T, I>& P, int n_threads) {
    const int64_t W = P.width;
    const bool use_sim = P.similarity.n_rows > 0;
    // exposure per thread (integers: merged in any order, the same counts)
    std::vector<std::vector<int64_t>> exposure(static_cast<size_t>(n_threads));
    for (auto& e : exposure) e.assign(static_cast<size_t>(P.n_items), 0);
    // per list: items, self-information, popularity, has pairs
    const auto sums = chunked_sums<4>(P.n_lists, n_threads, [&](int64_t u, std::array<double, 4>& s) {
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
        s[3] += valid >= 2 ? 1.0 : 0.0;
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
    out.lists_with_pairs = use_sim ? static_cast<int64_t>(sums[3]) : 0;
    if (use_sim && sums[3] > 0) out.intra_list_diversity = 1.0 - detail::pair_similarity_sum(P, n_threads) / sums[3];
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
    const auto pair_sums = chunked_sums<2>(n_rows, n_threads, [&](int64_t r, std::array<double, 2>& s) {
        if (every_pair) {  // row r: list r against every later list
            for (int64_t v = r + 1; v < n; ++v) {
                const double j = detail::jaccard(P.ids + r * W, P.ids + v * W, W);
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
        const double j = detail::jaccard(P.ids + a * W, P.ids + b * W, W);
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

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
#include <stdexcept>
#include <utility>
#include <vector>

#include "recforge/csr.hpp"
#include "recforge/parallel.hpp"
#include "recforge/prefetch.hpp"
#include "recforge/random.hpp"
#include "recforge/scratch.hpp"

namespace recforge {

template <typename T, typename I>
struct ListsProblem {
    int64_t n_lists = 0;
    int64_t width = 0;
    // n_lists x width, -1 = padding. Checked in the kernel's one pass over them: an id outside
    // [-1, n_items) makes it throw std::invalid_argument.
    const int64_t* ids = nullptr;
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

// The rule for an entry of a batch of lists (here, in rerank.hpp and explain.hpp): an item id in
// [0, n_items) or -1, the padding. One unsigned comparison, -1 wrapping to 0.
inline bool is_list_entry(int64_t id, int64_t n_items) {
    return static_cast<uint64_t>(id) + 1 <= static_cast<uint64_t>(n_items);
}

namespace detail {

// (item, list) entries ahead whose list is prefetched.
constexpr int64_t kListPrefetch = 8;
// Personalisation: drawn pairs ahead whose lists are prefetched.
constexpr int64_t kPairPrefetch = 8;

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

// What one pass over the lists gives: part t (a thread) takes the t-th contiguous range of lists
// and counts, per item, its occurrences there. The parts' counts add up to each item's exposure
// (integers: the same for any thread count) and, laid end to end, place every (item, list) entry
// of an inverted index in list order (pair_similarity_sum).
struct ListCounts {
    int parts = 1;
    std::vector<std::vector<int64_t>> per_part;  // [part][item]
    int64_t lists_with_pairs = 0;                // lists with >= 2 valid items
    bool out_of_range = false;                   // an id outside [-1, n_items): not counted
    std::pair<int64_t, int64_t> range(int t, int64_t n_lists) const {
        return {n_lists * t / parts, n_lists * (t + 1) / parts};
    }
};

// The pass. With packed, it also writes the lists again for the pair sums' random reads, each as
// width + 1 entries of the narrowest id type ItemId: its valid count, then its items with the
// padding as n_items (an item whose similarity row the pair sums keep at 0, so their inner loop
// has no branch). int16 below 32768 items: 22 bytes for 10 items.
template <typename ItemId, typename T, typename I>
ListCounts count_lists(const ListsProblem<T, I>& P, int n_threads, ItemId* packed) {
    const int64_t W = P.width, stride = W + 1;
    ListCounts C;
    C.parts = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(n_threads, P.n_lists)));
    C.per_part.assign(static_cast<size_t>(C.parts), std::vector<int64_t>(static_cast<size_t>(P.n_items), 0));
    std::vector<int64_t> with_pairs(static_cast<size_t>(C.parts), 0);
    std::vector<char> out_of_range(static_cast<size_t>(C.parts), 0);
#pragma omp parallel for schedule(static, 1) num_threads(C.parts)
    for (int t = 0; t < C.parts; ++t) {
        auto& c = C.per_part[static_cast<size_t>(t)];
        const auto [first, last] = C.range(t, P.n_lists);
        int64_t pairs = 0;
        bool bad = false;
        for (int64_t u = first; u < last; ++u) {
            const int64_t* list = P.ids + u * W;
            ItemId* out = packed != nullptr ? packed + u * stride : nullptr;
            int64_t valid = 0;
            for (int64_t j = 0; j < W; ++j) {
                if (!is_list_entry(list[j], P.n_items)) {
                    bad = true;
                    continue;
                }
                const bool is_item = list[j] >= 0;
                if (out != nullptr) out[j + 1] = static_cast<ItemId>(is_item ? list[j] : P.n_items);
                if (!is_item) continue;
                ++valid;
                ++c[static_cast<size_t>(list[j])];
            }
            if (out != nullptr) out[0] = static_cast<ItemId>(valid);
            pairs += valid >= 2;
        }
        with_pairs[static_cast<size_t>(t)] = pairs;
        out_of_range[static_cast<size_t>(t)] = bad;
    }
    for (int64_t p : with_pairs) C.lists_with_pairs += p;
    for (char bad : out_of_range) C.out_of_range = C.out_of_range || bad != 0;
    return C;
}

// Sum over lists of (sum of S[a, b] over the ordered pairs of the list's items) / (v (v - 1)),
// v the list's valid items: the mean pairwise similarity of each list (S symmetric), summed.
//
// Item by item rather than list by list: the lists holding item a come from an inverted index,
// and S's row a is scattered into a dense buffer, so every pair (a, b) is a read from that buffer
// (cache-resident while a's lists are walked) instead of a random lookup into S: 1M lists of 10
// are 45M pairs, and looked up list by list in hash tables of S's rows they made the whole call
// 1.5-2x slower (measured). The one random read left per (item, list) is the packed list, which
// carries its valid count for its weight. That read is the loop's time: vector gathers of the
// row (AVX-512 and AVX2, tried) made the call slower, not faster.
// Each item's sum is taken in list order and the items' sums in item order: the same total for
// any thread count. ST: the similarity's transpose (row a of the symmetric matrix is the larger
// of S's row a and column a). C's counts become the index's cursors.
template <typename Id, typename ItemId, typename T, typename I>
double pair_similarity_sum_with(const ListsProblem<T, I>& P, const CsrView<T, I>& ST, ListCounts& C,
                                const ItemId* packed, int n_threads) {
    const int64_t W = P.width, n = P.n_items, stride = W + 1;
    // A counting sort of (item, list) by item that keeps list order within an item: part t
    // writes its entries of item i after those of the parts before it.
    std::vector<int64_t> start(static_cast<size_t>(n + 1), 0);
    for (int64_t i = 0; i < n; ++i) {
        int64_t at = start[static_cast<size_t>(i)];
        for (auto& c : C.per_part) {
            const int64_t here = c[static_cast<size_t>(i)];
            c[static_cast<size_t>(i)] = at;
            at += here;
        }
        start[static_cast<size_t>(i + 1)] = at;
    }
    Scratch<Id> lists(static_cast<size_t>(start.back()));  // per item, the lists holding it
#pragma omp parallel for schedule(static, 1) num_threads(C.parts)
    for (int t = 0; t < C.parts; ++t) {
        auto& c = C.per_part[static_cast<size_t>(t)];
        const auto [first, last] = C.range(t, P.n_lists);
        for (int64_t u = first; u < last; ++u) {
            const ItemId* list = packed + u * stride + 1;
            for (int64_t j = 0; j < W; ++j)
                if (list[j] < n) lists[static_cast<size_t>(c[static_cast<size_t>(list[j])]++)] = static_cast<Id>(u);
        }
    }
    // 1 / (v (v - 1)) for a list of v valid items
    std::vector<double> weight_of(static_cast<size_t>(W + 1), 0.0);
    for (int64_t v = 2; v <= W; ++v) weight_of[static_cast<size_t>(v)] = 1.0 / static_cast<double>(v * (v - 1));
    std::vector<double> per_item(static_cast<size_t>(n), 0.0);
#pragma omp parallel num_threads(n_threads)
    {
        const CsrView<T, I>& S = P.similarity;
        // the symmetric matrix's row a, dense; row[n] (padding) stays 0
        std::vector<T> row(static_cast<size_t>(n + 1), T(0));
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
                if (at + kListPrefetch < last) {
                    const ItemId* ahead =
                        packed + static_cast<int64_t>(lists[static_cast<size_t>(at + kListPrefetch)]) * stride;
                    prefetch(ahead);  // a list may straddle two cache lines: both
                    prefetch(ahead + W);
                }
                const ItemId* list = packed + static_cast<int64_t>(lists[static_cast<size_t>(at)]) * stride;
                // S has no diagonal: a against itself adds 0, as does the padding
                double s = 0.0;
                for (int64_t j = 1; j <= W; ++j) s += static_cast<double>(row[static_cast<size_t>(list[j])]);
                sum += weight_of[static_cast<size_t>(list[0])] * s;
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

// The narrowest list id type that holds n_lists.
template <typename ItemId, typename T, typename I>
double pair_similarity_sum(const ListsProblem<T, I>& P, ListCounts& C, const ItemId* packed, int n_threads) {
    const CsrMatrix<T, I> transposed = transpose<T, I>(P.similarity, nullptr, n_threads);
    const CsrView<T, I> ST = transposed.view();
    if (P.n_lists <= INT32_MAX) return pair_similarity_sum_with<int32_t>(P, ST, C, packed, n_threads);
    return pair_similarity_sum_with<int64_t>(P, ST, C, packed, n_threads);
}

// The pair of lists personalisation compares as its r-th draw: a generator seeded per draw, so
// the same pairs for any thread count.
inline std::pair<int64_t, int64_t> drawn_pair(uint64_t seed, int64_t r, int64_t n) {
    uint64_t state = seed ^ (static_cast<uint64_t>(r) * 0xd1b54a32d192ed03ULL);
    const int64_t a = static_cast<int64_t>(splitmix64(state) % static_cast<uint64_t>(n));
    int64_t b = static_cast<int64_t>(splitmix64(state) % static_cast<uint64_t>(n - 1));
    if (b >= a) ++b;  // a different list
    return {a, b};
}

template <typename ItemId, typename T, typename I>
BeyondAccuracy beyond_accuracy_with(const ListsProblem<T, I>& P, int n_threads) {
    const int64_t W = P.width, stride = W + 1;
    const bool use_sim = P.similarity.n_rows > 0;
    // One pass over the lists for everything but personalisation: exposure counts, and with a
    // similarity the packed lists of the pair sums. Novelty and popularity are the items'
    // values weighted by their counts, summed in item order (no second pass over the lists).
    Scratch<ItemId> packed(use_sim ? static_cast<size_t>(P.n_lists * stride) : 0);
    ListCounts counts = count_lists<ItemId>(P, n_threads, use_sim ? packed.data() : nullptr);
    if (counts.out_of_range) throw std::invalid_argument("a list holds an id outside [-1, n_items)");
    std::vector<int64_t> count(static_cast<size_t>(P.n_items), 0);
    for (const auto& c : counts.per_part)
        for (size_t i = 0; i < count.size(); ++i) count[i] += c[i];
    int64_t recommended = 0;
    double information = 0.0, popularity = 0.0;
    for (int64_t i = 0; i < P.n_items; ++i) {
        const int64_t c = count[static_cast<size_t>(i)];
        if (c == 0) continue;
        recommended += c;
        information += static_cast<double>(c) * P.information[i];
        popularity += static_cast<double>(c) * P.popularity[i];
    }

    BeyondAccuracy out;
    out.recommended = recommended;
    if (recommended > 0) {
        out.novelty = information / static_cast<double>(recommended);
        out.mean_popularity = popularity / static_cast<double>(recommended);
    }
    out.lists_with_pairs = use_sim ? counts.lists_with_pairs : 0;
    if (use_sim && counts.lists_with_pairs > 0)
        out.intra_list_diversity = 1.0 - pair_similarity_sum<ItemId>(P, counts, packed.data(), n_threads) /
                                             static_cast<double>(counts.lists_with_pairs);
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
    // drawn pairs, whose lists are prefetched a few draws ahead (each is a random read)
    const int64_t n = P.n_lists;
    const double all_pairs = static_cast<double>(n) * static_cast<double>(n - 1) / 2.0;
    const bool every_pair = n >= 2 && all_pairs <= static_cast<double>(P.n_pairs);
    const int64_t n_rows = every_pair ? n - 1 : (n >= 2 ? P.n_pairs : 0);
    const auto pair_sums = chunked_sums<2>(n_rows, n_threads, [&](int64_t r, std::array<double, 2>& s) {
        if (every_pair) {  // row r: list r against every later list
            for (int64_t v = r + 1; v < n; ++v) {
                const double j = jaccard(P.ids + r * W, P.ids + v * W, W);
                if (j >= 0) {
                    s[0] += j;
                    s[1] += 1.0;
                }
            }
            return;
        }
        const auto [a_ahead, b_ahead] = drawn_pair(P.seed, r + kPairPrefetch, n);
        prefetch_span(P.ids + a_ahead * W, W * static_cast<int64_t>(sizeof(int64_t)));
        prefetch_span(P.ids + b_ahead * W, W * static_cast<int64_t>(sizeof(int64_t)));
        const auto [a, b] = drawn_pair(P.seed, r, n);
        const double j = jaccard(P.ids + a * W, P.ids + b * W, W);
        if (j >= 0) {
            s[0] += j;
            s[1] += 1.0;
        }
    });
    out.pairs_compared = static_cast<int64_t>(pair_sums[1]);
    if (pair_sums[1] > 0) out.personalisation = 1.0 - pair_sums[0] / pair_sums[1];
    return out;
}

}  // namespace detail

// Every measure of the header comment in one call. The lists are read again in the narrowest
// id type that holds n_items (the padding) and the width (a list's valid count).
template <typename T, typename I>
BeyondAccuracy beyond_accuracy(const ListsProblem<T, I>& P, int n_threads) {
    const int64_t largest = std::max(P.n_items, P.width);
    if (largest <= INT16_MAX) return detail::beyond_accuracy_with<int16_t>(P, n_threads);
    if (largest <= INT32_MAX) return detail::beyond_accuracy_with<int32_t>(P, n_threads);
    return detail::beyond_accuracy_with<int64_t>(P, n_threads);
}

}  // namespace recforge

// Sorting a long list of (score, id) into rank order (topk.hpp's order) by an LSD radix sort.
//
// When a kernel keeps every candidate of a row (k >= the row's candidates) the final sort is
// the main cost: std::sort with the two-key comparator mispredicts on every other compare.
// A stable radix sort on the score's bits, fed candidates in increasing id order, gives the
// same order (higher score first, equal scores to the lower id) in a few linear passes.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "topk.hpp"

namespace recforge {

// sort_ranked: put items into rank order. Precondition: items are in increasing id order
// (ties are then resolved by stability). scratch is reused storage. O(n * sizeof(S)).
template <typename S, typename I>
void sort_ranked(std::vector<Scored<S, I>>& items, std::vector<Scored<S, I>>& scratch) {
    constexpr size_t kSmall = 64;  // below this a comparison sort is faster
    const size_t n = items.size();
    if (n < kSmall) {
        std::sort(items.begin(), items.end(), RanksBefore{});
        return;
    }
    using U = detail::ScoreBits<S>;
    constexpr int kPasses = static_cast<int>(sizeof(U));  // one byte per pass
    std::array<std::array<uint32_t, 256>, kPasses> count{};
    for (const auto& c : items) {
        const U key = detail::descending_key(c.score);
        for (int d = 0; d < kPasses; ++d) ++count[d][(key >> (8 * d)) & 0xFF];
    }
    scratch.resize(n);
    auto* from = &items;
    auto* to = &scratch;
    for (int d = 0; d < kPasses; ++d) {
        auto& bucket = count[d];
        if (std::find(bucket.begin(), bucket.end(), static_cast<uint32_t>(n)) != bucket.end())
            continue;  // every key has the same byte here: the pass would not move anything
        uint32_t offset = 0;
        for (auto& b : bucket) {
            const uint32_t c = b;
            b = offset;
            offset += c;
        }
        for (const auto& c : *from) {
            const U key = detail::descending_key(c.score);
            (*to)[bucket[(key >> (8 * d)) & 0xFF]++] = c;
        }
        std::swap(from, to);
    }
    if (from != &items) items.swap(scratch);
}

}  // namespace recforge

// Bounded top-k selection with a deterministic total order.
//
// Order: higher score first; equal scores go to the lower id. Because the order is total, the
// selected set and its order do not depend on the order candidates arrive in, so results are
// identical for any thread count or traversal order. NaN scores must be filtered by the caller.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

namespace recforge {

template <typename S, typename I>
struct Scored {
    S score;
    I id;
};

// True when a ranks strictly before b.
template <typename S, typename I>
inline bool ranks_before(const Scored<S, I>& a, const Scored<S, I>& b) {
    return a.score > b.score || (a.score == b.score && a.id < b.id);
}

// The same order as a function object, so std::sort / nth_element inline it.
struct RanksBefore {
    template <typename S, typename I>
    bool operator()(const Scored<S, I>& a, const Scored<S, I>& b) const {
        return ranks_before(a, b);
    }
};

namespace detail {

template <typename S>
using ScoreBits = std::conditional_t<sizeof(S) == 4, uint32_t, uint64_t>;

// Unsigned key whose increasing order is the decreasing order of the (non-NaN) score.
template <typename S>
inline ScoreBits<S> descending_key(S score) {
    using U = ScoreBits<S>;
    static_assert(sizeof(S) == sizeof(U), "float or double scores only");
    constexpr U sign = U(1) << (8 * sizeof(U) - 1);
    U u;
    std::memcpy(&u, &score, sizeof(U));
    const U ascending = (u & sign) ? ~u : (u | sign);  // IEEE order as unsigned order
    return ~ascending;
}

// The score whose descending_key is `key` (key must not be a NaN pattern).
template <typename S>
inline S score_of_descending_key(ScoreBits<S> key) {
    using U = ScoreBits<S>;
    constexpr U sign = U(1) << (8 * sizeof(U) - 1);
    const U ascending = ~key;
    const U u = (ascending & sign) ? (ascending & ~sign) : ~ascending;
    S score;
    std::memcpy(&score, &u, sizeof(U));
    return score;
}

}  // namespace detail

// Buckets of floor_of_kth_best: 16 per octave of the score, spanning 16 octaves below the best.
constexpr int kFloorBuckets = 256;
constexpr int kFloorBucketsPerOctaveLog2 = 4;

// floor_of_kth_best: a score F such that at least k of the m scores are >= F, and the ones
// >= F are the k best plus those within 1/16 octave of the k-th best (one histogram bucket).
// NaN scores are ignored. -inf when at most k scores are not NaN (every one may enter).
//   Two linear passes without data-dependent branches: a caller that knows all of a row's
//   candidates before selecting keeps about k of them instead of filling a buffer and
//   re-selecting it several times (most of the selection work on rows of a few hundred).
template <typename S>
S floor_of_kth_best(const S* scores, int64_t m, int64_t k, std::array<uint32_t, kFloorBuckets>& count) {
    using U = detail::ScoreBits<S>;
    constexpr S none = -std::numeric_limits<S>::infinity();
    constexpr int shift = std::numeric_limits<S>::digits - 1 - kFloorBucketsPerOctaveLog2;
    U best = std::numeric_limits<U>::max();  // NaN keys sort after -inf's: never the best
    int64_t valid = 0;
    for (int64_t t = 0; t < m; ++t) {
        const bool ok = scores[t] == scores[t];
        valid += ok;
        best = std::min(best, ok ? detail::descending_key(scores[t]) : best);
    }
    if (valid <= k || k == 0) return none;
    count.fill(0);
    for (int64_t t = 0; t < m; ++t) {
        if (scores[t] != scores[t]) continue;
        const U offset = (detail::descending_key(scores[t]) - best) >> shift;
        ++count[static_cast<size_t>(std::min<U>(offset, kFloorBuckets - 1))];
    }
    int64_t reached = 0;
    int b = 0;
    for (; b < kFloorBuckets; ++b)
        if ((reached += count[static_cast<size_t>(b)]) >= k) break;
    if (b >= kFloorBuckets - 1) return none;  // the last bucket holds everything further down
    // Scores in buckets 0..b have keys below best + (b + 1) << shift. No wrap-around: bucket b
    // holds a non-NaN score, whose key is at most that of -inf and at least best + b << shift.
    const U last = best + ((static_cast<U>(b) + 1) << shift) - 1;
    if (last >= detail::descending_key(none)) return none;
    return detail::score_of_descending_key<S>(last);
}

// TopKBuffer: keeps the k best of a stream of (score, id).
//   push() is O(1) amortised: candidates go into a buffer of up to 2k (at least 32); when it
//   fills, nth_element keeps the k best and their k-th becomes the admission threshold, so most
//   later candidates are rejected by one comparison. sorted() gives the <= k best in order.
//   Memory O(k). One instance per thread; not thread-safe.
template <typename S, typename I>
class TopKBuffer {
   public:
    explicit TopKBuffer(int64_t k = 0) : k_(k), capacity_(std::max<int64_t>(2 * k, 32)) {}

    int64_t k() const { return k_; }

    void clear() {
        buffer_.clear();
        has_threshold_ = false;
    }

    inline void push(S score, I id) {
        const Scored<S, I> c{score, id};
        if (has_threshold_ && !ranks_before(c, threshold_)) return;
        buffer_.push_back(c);
        if (static_cast<int64_t>(buffer_.size()) >= capacity_) shrink();
    }

    // Scores below floor() can never enter: a one-comparison pre-filter for hot loops
    // (equal scores may still enter or not, depending on the id; push() decides).
    inline S floor() const { return has_threshold_ ? threshold_.score : std::numeric_limits<S>::lowest(); }

    // Admit only scores >= floor from now on. The caller guarantees that at least k of the
    // candidates it will push score >= floor (floor_of_kth_best), so the result is unchanged.
    void admit_at_least(S floor) {
        threshold_ = {floor, std::numeric_limits<I>::max()};
        has_threshold_ = true;
    }

    // Once k candidates are in, reduce to the k best so that their k-th becomes the admission
    // threshold now rather than when the buffer next fills (a row that just received its own
    // k best then rejects most later offers by one comparison).
    void settle() {
        if (k_ > 0 && static_cast<int64_t>(buffer_.size()) >= k_ && !has_threshold_) shrink();
    }

    // Reduce to the k best, sort them in rank order and return them (valid until next push).
    const std::vector<Scored<S, I>>& sorted() {
        best();
        std::sort(buffer_.begin(), buffer_.end(), RanksBefore{});
        return buffer_;
    }

    // Reduce to the k best, in no particular order (valid until next push).
    const std::vector<Scored<S, I>>& best() {
        if (static_cast<int64_t>(buffer_.size()) > k_) shrink();
        return buffer_;
    }

    // The current content as it is (after sorted(): in rank order).
    const std::vector<Scored<S, I>>& items() const { return buffer_; }

   private:
    void shrink() {
        if (k_ == 0) {
            buffer_.clear();
            return;
        }
        std::nth_element(buffer_.begin(), buffer_.begin() + (k_ - 1), buffer_.end(), RanksBefore{});
        buffer_.resize(static_cast<size_t>(k_));
        threshold_ = buffer_[static_cast<size_t>(k_ - 1)];
        has_threshold_ = true;
    }

    int64_t k_;
    int64_t capacity_;
    std::vector<Scored<S, I>> buffer_;
    Scored<S, I> threshold_{};
    bool has_threshold_ = false;
};

// Exclusion rows (CSR pattern only): row q lists item ids banned for query q.
template <typename I>
struct ExclusionRows {
    const I* indptr = nullptr;   // n_queries + 1, or nullptr for none
    const I* indices = nullptr;  // ids in [0, n_items)
};

// Writes one query's ranked result as a fixed-width row of k: the ranked entries first, then
// padding (id -1, score -inf) when fewer than k candidates existed.
template <typename S, typename I>
inline void write_padded_row(const std::vector<Scored<S, I>>& ranked, int64_t k, int64_t* ids, S* scores) {
    const int64_t m = std::min<int64_t>(static_cast<int64_t>(ranked.size()), k);
    for (int64_t r = 0; r < m; ++r) {
        ids[r] = static_cast<int64_t>(ranked[r].id);
        scores[r] = ranked[r].score;
    }
    for (int64_t r = m; r < k; ++r) {
        ids[r] = -1;
        scores[r] = -std::numeric_limits<S>::infinity();
    }
}

}  // namespace recforge

// Pair statistics accumulated by the sparse similarity kernel, one policy per metric family.
//
// For a fixed row i, the kernel visits every (column c, row j) pair with x = X[i, c] and
// y = X[j, c] stored, and calls add(j, x, y). Each policy keeps dense per-thread arrays indexed
// by j (structure of arrays) holding exactly what its metrics need, so the exact values come
// out without an n x n intermediate. All statistics are accumulated in double, whatever the
// input type, so float32 inputs give the same neighbours as float64 up to the final rounding.
//
// Interface of a policy P:
//   P(n, rows)                 allocate zeroed arrays for n candidate rows; rows = RowStats
//   add(j, x, y)               accumulate one shared column of the pair (i, j)
//   present(j)                 the pair has at least one shared column (dense-scan test)
//   support(j)                 number of shared columns (only when kCounts)
//   value(i, j)                the similarity (before shrinkage)
//   reset(j), reset_range(b, e) zero the accumulators of j, or of every j in [b, e)
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

namespace recforge {

// Per-row quantities some metrics need about the other row as a whole.
struct RowStats {
    std::vector<double> inv_norm;  // 1 / ||row||_2 (0 for an all-zero row); cosine only
    std::vector<double> length;    // stored entries in the row; jaccard
};

// Inner products (cosine too: the kernel feeds it values already divided by the row norms).
// Counts kept only when shrinkage or min_support need them: they cost a second scattered
// write per pair.
template <bool Counts>
class DotStats {
   public:
    static constexpr bool kCounts = Counts;
    DotStats(int64_t n, const RowStats*) : acc_(static_cast<size_t>(n), 0.0), count_(Counts ? n : 0, 0) {}

    inline void add(int64_t j, double x, double y) {
        acc_[j] += x * y;
        if constexpr (Counts) ++count_[j];
    }
    inline bool present(int64_t j) const {
        if constexpr (Counts) return count_[j] != 0;
        return acc_[j] != 0.0;  // an all-cancelled dot product has similarity 0: dropped anyway
    }
    inline int64_t support(int64_t j) const {
        if constexpr (Counts) return count_[j];
        return 1;
    }
    inline double value(int64_t, int64_t j) const { return acc_[j]; }
    inline void reset(int64_t j) {
        acc_[j] = 0.0;
        if constexpr (Counts) count_[j] = 0;
    }
    void reset_range(int64_t b, int64_t e) {
        std::fill(acc_.begin() + b, acc_.begin() + e, 0.0);
        if constexpr (Counts) std::fill(count_.begin() + b, count_.begin() + e, 0);
    }

   private:
    std::vector<double> acc_;
    std::vector<int64_t> count_;
};

// Shared-column counts; Jaccard = |A & B| / (|A| + |B| - |A & B|) on the sparsity pattern.
class JaccardStats {
   public:
    static constexpr bool kCounts = true;
    JaccardStats(int64_t n, const RowStats* rows) : rows_(rows), count_(static_cast<size_t>(n), 0) {}

    inline void add(int64_t j, double, double) { ++count_[j]; }
    inline bool present(int64_t j) const { return count_[j] != 0; }
    inline int64_t support(int64_t j) const { return count_[j]; }
    inline double value(int64_t i, int64_t j) const {
        const double c = static_cast<double>(count_[j]);
        return c / (rows_->length[i] + rows_->length[j] - c);
    }
    inline void reset(int64_t j) { count_[j] = 0; }
    void reset_range(int64_t b, int64_t e) { std::fill(count_.begin() + b, count_.begin() + e, 0); }

   private:
    const RowStats* rows_;
    std::vector<int64_t> count_;
};

enum class CoratedKind { pearson, cosine };

// Co-rated statistics over the shared columns only: n, sum x, sum y, sum x^2, sum y^2, sum xy.
//   pearson: (n*Sxy - Sx*Sy) / sqrt((n*Sxx - Sx^2) * (n*Syy - Sy^2)), 0 when a factor is <= 0
//            (scikit-surprise's `pearson`, which is 0 where its denominator is 0).
//   cosine:  Sxy / sqrt(Sxx * Syy) over the shared columns (scikit-surprise's `cosine`).
template <CoratedKind Kind>
class CoratedStats {
   public:
    static constexpr bool kCounts = true;
    CoratedStats(int64_t n, const RowStats*) : sums_(static_cast<size_t>(n)) {}

    inline void add(int64_t j, double x, double y) {
        Sums& s = sums_[j];  // all statistics of a pair together
        s.n += 1.0;
        if constexpr (Kind == CoratedKind::pearson) {
            s.x += x;
            s.y += y;
        }
        s.xx += x * x;
        s.yy += y * y;
        s.xy += x * y;
    }
    inline bool present(int64_t j) const { return sums_[j].n != 0.0; }
    inline int64_t support(int64_t j) const { return static_cast<int64_t>(sums_[j].n); }
    inline double value(int64_t, int64_t j) const {
        const Sums& s = sums_[j];
        if constexpr (Kind == CoratedKind::pearson) {
            const double vx = s.n * s.xx - s.x * s.x;
            const double vy = s.n * s.yy - s.y * s.y;
            if (!(vx > 0.0) || !(vy > 0.0)) return 0.0;
            return (s.n * s.xy - s.x * s.y) / std::sqrt(vx * vy);
        } else {
            const double d = s.xx * s.yy;
            return d > 0.0 ? s.xy / std::sqrt(d) : 0.0;
        }
    }
    inline void reset(int64_t j) { sums_[j] = Sums{}; }
    void reset_range(int64_t b, int64_t e) { std::fill(sums_.begin() + b, sums_.begin() + e, Sums{}); }

   private:
    struct PearsonSums {
        double n = 0, x = 0, y = 0, xx = 0, yy = 0, xy = 0;  // n is an exact integer count
    };
    struct CosineSums {  // 32 bytes: two pairs per cache line (the sums of x and y are not needed)
        double n = 0, xx = 0, yy = 0, xy = 0;
    };
    using Sums = std::conditional_t<Kind == CoratedKind::pearson, PearsonSums, CosineSums>;
    std::vector<Sums> sums_;
};

// Mean squared difference over the shared columns; similarity 1 / (msd + 1) (scikit-surprise).
class MsdStats {
   public:
    static constexpr bool kCounts = true;
    MsdStats(int64_t n, const RowStats*) : count_(static_cast<size_t>(n), 0), sq_(static_cast<size_t>(n), 0.0) {}

    inline void add(int64_t j, double x, double y) {
        ++count_[j];
        const double d = x - y;
        sq_[j] += d * d;
    }
    inline bool present(int64_t j) const { return count_[j] != 0; }
    inline int64_t support(int64_t j) const { return count_[j]; }
    inline double value(int64_t, int64_t j) const { return 1.0 / (sq_[j] / static_cast<double>(count_[j]) + 1.0); }
    inline void reset(int64_t j) {
        count_[j] = 0;
        sq_[j] = 0.0;
    }
    void reset_range(int64_t b, int64_t e) {
        std::fill(count_.begin() + b, count_.begin() + e, 0);
        std::fill(sq_.begin() + b, sq_.begin() + e, 0.0);
    }

   private:
    std::vector<int64_t> count_;
    std::vector<double> sq_;
};

}  // namespace recforge

// Ranking metrics per user: recommended ids against a held-out test set.
//
// Conventions (DESIGN.md §5), for user u with test set T (the stored entries of test row u) and
// the first k recommended ids (-1 = padding, never a hit; a repeated id counts once):
//   precision = hits / k                  recall = hits / |T|
//   f1        = 2 p r / (p + r) (0 when both are 0)
//   ndcg      = DCG / IDCG, binary gain, discount 1 / log2(rank + 1), IDCG over min(|T|, k) ranks
//   ap        = (sum of precision at each hit's rank) / min(|T|, k)
//   hit       = 1 if hits > 0               rr = 1 / rank of the first hit (0 without one)
// Users with an empty T get all zeros and evaluated[u] = 0; the caller decides whether they
// count (Spark counts them as zeros; recforge's default leaves them out).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "parallel.hpp"

namespace recforge {

enum RankingMetric : int { kPrecision = 0, kRecall, kF1, kNdcg, kAp, kHit, kRr, kNumRankingMetrics };

// Users per block of partial sums: sums are taken per fixed block of users and then added in
// block order, so the averages do not depend on the thread count.
constexpr int64_t kMetricBlock = 4096;

struct RankingMetricsOutput {
    double* per_user = nullptr;    // kNumRankingMetrics x n_users (metric-major), or nullptr
    uint8_t* evaluated = nullptr;  // n_users, or nullptr: 1 when the user's test row is not empty
    double* block_sums = nullptr;  // n_blocks x (kNumRankingMetrics + 1): sums, then evaluated count
};

// ranking_metrics: every metric of every user (order of RankingMetric).
//   recommended: n_users x width row-major ids; k <= width columns are used. An id outside
//   [-1, n_items) is an error: the first one (lowest user, then rank) is reported through
//   *bad_user / *bad_id (else *bad_user = -1) and the results are then meaningless.
//   test: n_users x n_items CSR pattern with indptr[0] == 0 and indptr[n_users] == len(indices)
//   (the caller checks those two); the rest is checked here, in the same pass that reads it: a
//   decreasing indptr or an index outside [0, n_items) is reported through *bad_test_row (the
//   first such row, else -1). Duplicates are allowed; each item counts once.
// Memory: O(threads * n_items) marks. Complexity: O(n_users * k + nnz(test)). Deterministic.
template <typename I>
void ranking_metrics(const int64_t* recommended, int64_t n_users, int64_t width, int64_t k, const I* test_indptr,
                     const I* test_indices, int64_t n_items, int n_threads, const RankingMetricsOutput& out,
                     int64_t* bad_user, int64_t* bad_id, int64_t* bad_test_row) {
    if (k < 1 || k > width) throw std::invalid_argument("k must be in [1, width]");
    std::vector<double> discount(static_cast<size_t>(k)), ideal(static_cast<size_t>(k) + 1, 0.0);
    for (int64_t r = 0; r < k; ++r) {
        discount[r] = 1.0 / std::log2(static_cast<double>(r) + 2.0);
        ideal[r + 1] = ideal[r] + discount[r];
    }
    const int64_t n_blocks = (n_users + kMetricBlock - 1) / kMetricBlock;
    const I nnz = test_indptr[n_users];
    constexpr int kSlots = kNumRankingMetrics + 1;
    std::vector<int64_t> first_bad(static_cast<size_t>(n_blocks), -1);  // per block: user * width + rank
    std::vector<int64_t> first_bad_row(static_cast<size_t>(n_blocks), -1);
    ExceptionTrap trap;
#pragma omp parallel num_threads(n_threads)
    trap.run([&] {
        std::vector<uint8_t> in_test(static_cast<size_t>(n_items), 0);
#pragma omp for schedule(dynamic, 1)
        for (int64_t blk = 0; blk < n_blocks; ++blk) {
            double sums[kSlots] = {0, 0, 0, 0, 0, 0, 0, 0};
            const int64_t u_end = std::min(n_users, (blk + 1) * kMetricBlock);
            for (int64_t u = blk * kMetricBlock; u < u_end; ++u) {
                const int64_t* row = recommended + u * width;
                for (int64_t r = 0; r < k; ++r) {
                    if ((row[r] < -1 || row[r] >= n_items) && first_bad[blk] < 0) first_bad[blk] = u * width + r;
                }
                if (first_bad[blk] >= 0) break;
                const I t_begin = test_indptr[u], t_end = test_indptr[u + 1];
                bool row_ok = 0 <= t_begin && t_begin <= t_end && t_end <= nnz;  // reads stay in bounds
                for (I p = t_begin; p < t_end && row_ok; ++p)
                    row_ok = test_indices[p] >= 0 && static_cast<int64_t>(test_indices[p]) < n_items;
                if (!row_ok) {
                    first_bad_row[blk] = u;
                    break;
                }
                int64_t size = 0;  // |T| with duplicates merged
                for (I p = t_begin; p < t_end; ++p) {
                    uint8_t& mark = in_test[test_indices[p]];
                    size += mark == 0;
                    mark = 1;
                }
                double hits = 0.0, dcg = 0.0, precision_sum = 0.0, rr = 0.0;
                for (int64_t r = 0; r < k && size > 0; ++r) {
                    const int64_t id = row[r];
                    if (id < 0 || !in_test[id]) continue;
                    in_test[id] = 0;  // a repeated id is not a second hit
                    hits += 1.0;
                    dcg += discount[r];
                    precision_sum += hits / static_cast<double>(r + 1);
                    if (rr == 0.0) rr = 1.0 / static_cast<double>(r + 1);
                }
                for (I p = test_indptr[u]; p < test_indptr[u + 1]; ++p) in_test[test_indices[p]] = 0;
                double m[kNumRankingMetrics] = {0, 0, 0, 0, 0, 0, 0};
                if (size > 0) {
                    const double p = hits / static_cast<double>(k), r = hits / static_cast<double>(size);
                    const int64_t depth = size < k ? size : k;
                    m[kPrecision] = p;
                    m[kRecall] = r;
                    m[kF1] = hits > 0 ? 2.0 * p * r / (p + r) : 0.0;
                    m[kNdcg] = dcg / ideal[depth];
                    m[kAp] = precision_sum / static_cast<double>(depth);
                    m[kHit] = hits > 0 ? 1.0 : 0.0;
                    m[kRr] = rr;
                    sums[kNumRankingMetrics] += 1.0;
                }
                for (int metric = 0; metric < kNumRankingMetrics; ++metric) sums[metric] += m[metric];
                if (out.evaluated) out.evaluated[u] = size > 0;
                if (out.per_user)
                    for (int metric = 0; metric < kNumRankingMetrics; ++metric)
                        out.per_user[metric * n_users + u] = m[metric];
            }
            std::copy(sums, sums + kSlots, out.block_sums + blk * kSlots);
        }
    });
    trap.rethrow();
    *bad_user = -1;
    *bad_test_row = -1;
    for (int64_t blk = 0; blk < n_blocks; ++blk) {
        if (first_bad_row[blk] >= 0) {
            *bad_test_row = first_bad_row[blk];
            break;
        }
    }
    for (int64_t blk = 0; blk < n_blocks; ++blk) {
        if (first_bad[blk] >= 0) {
            *bad_user = first_bad[blk] / width;
            *bad_id = recommended[first_bad[blk]];
            break;
        }
    }
}

// auc_per_user: the area under the ROC curve of each user's ranking, i.e. the probability that a
// held-out item ranks above an item the user did not take, ties counting one half.
//   recommended: n_users x width row-major ids, best first, -1 padding; a list need not hold every
//   candidate: the candidates it leaves out rank below every listed one, tied with each other
//   (what a top-k kernel gives for items with no score). A repeated id counts once.
//   test: n_users x n_items CSR pattern (validated by the caller); its items are the positives P.
//   n_candidates[u]: how many items user u's ranking was drawn from (positives included, seen
//   items excluded); N = n_candidates[u] - |P| negatives.
// out[u] = (sum over listed positives of the negatives below them + |unlisted P| |unlisted N| / 2)
//          / (|P| N), NaN when |P| = 0 or N <= 0. An id outside [-1, n_items) sets *bad_user
//          (the first such user, else -1). O(n_users * width + nnz(test)); deterministic.
template <typename I>
void auc_per_user(const int64_t* recommended, int64_t n_users, int64_t width, const I* test_indptr,
                  const I* test_indices, int64_t n_items, const int64_t* n_candidates, int n_threads, double* out,
                  int64_t* bad_user) {
    ExceptionTrap trap;
    int64_t bad = -1;
#pragma omp parallel num_threads(n_threads)
    trap.run([&] {
        std::vector<uint8_t> mark(static_cast<size_t>(n_items), 0);  // 1: positive, 2: listed
        int64_t my_bad = -1;
#pragma omp for schedule(dynamic, 256)
        for (int64_t u = 0; u < n_users; ++u) {
            const int64_t* row = recommended + u * width;
            bool ok = true;
            for (int64_t r = 0; r < width; ++r) ok &= row[r] >= -1 && row[r] < n_items;
            if (!ok) {
                if (my_bad < 0 || u < my_bad) my_bad = u;
                out[u] = std::nan("");
                continue;
            }
            int64_t positives = 0;
            for (I p = test_indptr[u]; p < test_indptr[u + 1]; ++p) {
                positives += mark[test_indices[p]] == 0;
                mark[test_indices[p]] = 1;
            }
            int64_t listed_neg = 0, listed_pos = 0;
            for (int64_t r = 0; r < width; ++r) {  // distinct listed items by kind
                const int64_t id = row[r];
                if (id < 0 || (mark[id] & 2)) continue;
                (mark[id] & 1 ? listed_pos : listed_neg) += 1;
                mark[id] |= 2;
            }
            const int64_t negatives = n_candidates[u] - positives;
            const int64_t unlisted_neg = negatives - listed_neg, unlisted_pos = positives - listed_pos;
            double above = 0.0;  // pairs (positive, negative) with the positive ranked higher
            int64_t neg_seen = 0;
            for (int64_t r = 0; r < width; ++r) {
                const int64_t id = row[r];
                if (id < 0 || !(mark[id] & 2)) continue;  // padding or a repeat already counted
                if (mark[id] & 1)
                    above += static_cast<double>(listed_neg - neg_seen + unlisted_neg);
                else
                    ++neg_seen;
                mark[id] &= 1;  // counted: a repeat later in the row is skipped
            }
            above += 0.5 * static_cast<double>(unlisted_pos) * static_cast<double>(unlisted_neg);
            out[u] = positives > 0 && negatives > 0 && unlisted_neg >= 0
                         ? above / (static_cast<double>(positives) * static_cast<double>(negatives))
                         : std::nan("");
            for (I p = test_indptr[u]; p < test_indptr[u + 1]; ++p) mark[test_indices[p]] = 0;
            for (int64_t r = 0; r < width; ++r)
                if (row[r] >= 0) mark[row[r]] = 0;
        }
#pragma omp critical
        if (my_bad >= 0 && (bad < 0 || my_bad < bad)) bad = my_bad;
    });
    trap.rethrow();
    *bad_user = bad;
}

}  // namespace recforge

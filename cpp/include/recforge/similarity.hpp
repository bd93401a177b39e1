// Sparse row-row similarity with per-row top-k (Gustavson's row-by-row product + bounded top-k).
//
// Every metric here is symmetric, so each pair is computed once. For each row i (in parallel,
// dynamic schedule: rows are popularity-skewed), walk i's columns c, and for each c walk only
// the rows j > i that hold c (the part of column c after i, found through the transpose),
// accumulating pair statistics into per-thread dense arrays (similarity_stats.hpp). Each
// non-zero similarity s(i, j) is then offered to row i's top-k and to row j's. Memory:
// O(n*k) for the per-row top-k buffers + O(threads*n) accumulators; never n x n.
//
// Two traversal modes per row, chosen from the row's work (its pair count):
//   sparse: remember touched rows in a list (one extra check per pair), visit only those;
//           their values are all known before any is offered, so the row's own top-k starts
//           from a floor read off a histogram of them (topk.hpp: floor_of_kth_best);
//   dense:  the row touches a large share of the rows after it (a popular item), so skip the
//           bookkeeping, scan them all once against the running k-th best and reset by fill.
// Results do not depend on the thread count: each s(i, j) is accumulated in a fixed order by
// one thread, and a row's top-k is the exact best k of all offers under a total order.
//
// A part (rows_begin/rows_end; what recforge.distributed hands each worker) computes only the
// pairs (i, j > i) of the rows i of a range [first, last): row r of its result is the top-k of
// the part's pairs that involve r. Parts over ranges that partition the rows compute every
// pair once, with the same arithmetic; merged row by row (topk_rows.hpp: topk_of_rows) they
// give the whole result bit for bit. The pairs inside the range are walked as above. The pairs
// (i, j >= last) are walked from the receiving row j instead: its columns' segments of rows in
// [first, last) accumulate every candidate of j at once, and j selects its top-k from them
// like any own row. Walked from i, each j would meet i's offers with an empty buffer and admit
// most of them under its lock (measured on the synthetic set: two parts took 1.6x the whole
// kernel's time together that way, 1.45x now). When the later rows' stored entries outnumber
// those pairs, walking from i stays cheaper (walks_from_receivers). Each pair's statistics are
// accumulated in the same column order with the same operands either way: identical values.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <vector>

#include "csr.hpp"
#include "prefetch.hpp"
#include "similarity_sinks.hpp"
#include "similarity_stats.hpp"
#include "weighting.hpp"

namespace recforge {

enum class Metric { dot, cosine, jaccard, pearson, corated_cosine, msd };

struct SimilarityOptions {
    int64_t k = 50;  // neighbours kept per row, >= 0
    Metric metric = Metric::cosine;
    double shrinkage = 0.0;         // similarity *= m / (m + shrinkage), m = shared columns - offset; >= 0
    double shrinkage_offset = 0.0;  // 1 gives scikit-surprise's (n - 1) / (n - 1 + shrinkage)
    int64_t min_support = 1;        // pairs with fewer shared columns get no entry
    int n_threads = 1;              // >= 1
    // Applied to X's values before the metric: tfidf then cosine and bm25 then dot are
    // implicit's TFIDFRecommender and BM25Recommender.
    Weighting weighting = Weighting::none;
    double k1 = 1.2, b = 0.75;  // bm25 parameters
    // false: when every neighbour is kept (k >= n - 1, small n), rows come in column order, not
    // by similarity (faster, for callers that scatter rows); top-k rows are always sorted.
    bool sorted_rows = true;
    // A part: only the pairs (i, j > i) with i in [rows_begin, rows_end) (rows_end -1: n). The
    // whole range (the default) is the whole kernel. See the header comment.
    int64_t rows_begin = 0, rows_end = -1;
    // How a part walks its pairs with the rows after its range (header comment): from those
    // receiving rows (1), from the range's rows (0), or chosen by the estimate below (-1).
    int receiver_walk = -1;
};

namespace detail {

// Columns ahead of the current one whose tails are prefetched (2 to 8 measured alike).
constexpr int64_t kPrefetchDistance = 4;

// Each column tail (the rows after i holding column c) sits somewhere in XT, which is too big
// for cache, and is short: without a prefetch a few columns ahead every tail starts with a
// DRAM miss (measured: 12-15% of the whole kernel). Written out in each loop: GCC 13 dropped
// the prefetches when they sat in a helper function or a lambda.

// Whether a part walks its pairs with the rows after its range from those rows (header
// comment). Walked from the range's rows, each such pair costs the later row an admission under
// its lock while its buffer fills; walked from the later rows, each of their stored entries
// costs a segment lookup. Measured on the synthetic set (a popular range against the rest):
// the receivers' walk wins by 25% where the pairs number 10 times those entries, and loses by
// up to 25% where they number fewer (4x the customers, a thin range).
template <typename T, typename I>
bool walks_from_receivers(const CsrView<T, I>& X, const SimilarityOptions& opt) {
    const int64_t n = X.n_rows, first = opt.rows_begin, last = opt.rows_end < 0 ? n : opt.rows_end;
    if (last >= n || last <= first || opt.receiver_walk == 0) return false;
    return opt.receiver_walk == 1 || (n - last) * (last - first) >= 4 * (X.nnz() - X.row_begin(last));
}

// X: the rows; XT: its transpose; position[p]: where X's entry p sits in XT.
// Sink: similarity_sinks.hpp (what is kept of each row's pairs).
// xt_raw: X's values in XT's order before the cosine's row scaling (null: XT.data's are).
template <typename T, typename I, typename Stats, typename Sink>
TopKCsr<T, I> similarity_with(const CsrView<T, I>& X, const CsrView<T, I>& XT, const std::vector<I>& position,
                              const T* xt_raw, const RowStats& rows, const SimilarityOptions& opt, Sink& sink) {
    const int64_t n = X.n_rows;
    const int64_t min_support = std::max<int64_t>(opt.min_support, 1);
    const double shrinkage = opt.shrinkage, offset = opt.shrinkage_offset;
    const int64_t first = opt.rows_begin, last = opt.rows_end < 0 ? n : opt.rows_end;
    const bool receivers = walks_from_receivers(X, opt);
    if (xt_raw == nullptr) xt_raw = XT.data;
    // In a part, each column's rows in [first, last): XT positions [segment_begin, segment_end).
    struct Segment {
        I begin, end;
    };
    std::vector<Segment> segment;  // both bounds in one cache line
    if (receivers) {
        segment.resize(static_cast<size_t>(XT.n_rows));
#pragma omp parallel for num_threads(opt.n_threads) schedule(static)
        for (int64_t c = 0; c < XT.n_rows; ++c) {
            const I* b = XT.indices + XT.row_begin(c);
            const I* e = XT.indices + XT.row_end(c);
            const I* lo = std::lower_bound(b, e, static_cast<I>(first));
            segment[c] = {static_cast<I>(lo - XT.indices),
                          static_cast<I>(std::lower_bound(lo, e, static_cast<I>(last)) - XT.indices)};
        }
    }
    // Where the pairs (i, j > i) walked from i stop: the column's end, or the range's.
    const int64_t walk_end = receivers ? last : n;
    auto tail_end = [&](int64_t c) -> int64_t { return segment.empty() ? XT.row_end(c) : segment[c].end; };
    ExceptionTrap trap;
    StopFlag stop;

#pragma omp parallel num_threads(opt.n_threads)
    trap.run([&] {
        Stats st(n, &rows);
        std::vector<I> mark(static_cast<size_t>(n), static_cast<I>(-1));  // mark[j] == i: touched by row i
        std::vector<I> touched;
        std::vector<T> values;  // values[t]: the pair (i, touched[t]), NaN when not admissible
        typename Sink::Writer out(sink);
        // Similarity of the pair (row, other) after shrinkage, in the output type, from the
        // statistics accumulated at `other` (the row walked is `row`, in either direction).
        auto pair_value = [&](int64_t row, int64_t other) -> T {
            double s = st.value(row, other);
            if (shrinkage > 0.0) {
                const double m = static_cast<double>(st.support(other)) - offset;
                s *= m / (m + shrinkage);
            }
            return static_cast<T>(s);
        };
        // Admission rules shared by every mode: support, non-zero, not NaN.
        auto admissible = [&](int64_t other, T v) {
            return st.present(other) && (!Stats::kCounts || st.support(other) >= min_support) && v != T(0) &&
                   !std::isnan(v);
        };

        // Last row first: when row i offers s(i, j) to a row j > i, row j has already
        // collected its own candidates, so its floor is high and most offers stop at one
        // comparison instead of taking j's lock (measured: 4x fewer admissions).
#pragma omp for schedule(dynamic, 8)
        for (int64_t step = 0; step < last - first; ++step) {
            if (stop.requested()) continue;  // Ctrl-C: skip the remaining rows
            const int64_t i = last - 1 - step;
            auto similarity_of = [&](int64_t j) -> T { return pair_value(i, j); };
            auto offer = [&](int64_t j, T v) {
                if (admissible(j, v)) out.offer(i, j, v);
            };

            const int64_t b = X.row_begin(i), e = X.row_end(i);
            int64_t work = 0;
            for (int64_t p = b; p < e; ++p) work += tail_end(X.indices[p]) - position[p] - 1;
            if (work == 0) continue;
            out.begin_row(i);
            // Cosine: XT's values were divided by their row norms (similarity_prepared);
            // dividing row i's by its own here makes the accumulated dot product the cosine.
            const double x_scale = rows.inv_norm.empty() ? 1.0 : rows.inv_norm[i];

            // Dense mode when the pairs reach a quarter of the rows after i (measured best).
            if (4 * work >= walk_end - i - 1) {
                for (int64_t p = b; p < e; ++p) {
                    if (p + kPrefetchDistance < e) {
                        prefetch(XT.indices + position[p + kPrefetchDistance] + 1);
                        prefetch(XT.data + position[p + kPrefetchDistance] + 1);
                    }
                    const double x = static_cast<double>(X.data[p]) * x_scale;
                    for (int64_t q = position[p] + 1, qe = tail_end(X.indices[p]); q < qe; ++q)
                        st.add(XT.indices[q], x, static_cast<double>(XT.data[q]));
                }
                // One comparison with the lower of the two floors for most j; untouched j need
                // no test of their own (a branch that mispredicts): their value is 0 or NaN.
                for (int64_t j = i + 1; j < walk_end; ++j) {
                    const T v = similarity_of(j);
                    if (out.may_enter(j, v)) offer(j, v);
                }
                st.reset_range(i + 1, walk_end);
            } else {
                const I row_mark = static_cast<I>(i);
                for (int64_t p = b; p < e; ++p) {
                    if (p + kPrefetchDistance < e) {
                        prefetch(XT.indices + position[p + kPrefetchDistance] + 1);
                        prefetch(XT.data + position[p + kPrefetchDistance] + 1);
                    }
                    const double x = static_cast<double>(X.data[p]) * x_scale;
                    for (int64_t q = position[p] + 1, qe = tail_end(X.indices[p]); q < qe; ++q) {
                        const I j = XT.indices[q];
                        if (mark[j] != row_mark) {
                            mark[j] = row_mark;
                            touched.push_back(j);
                        }
                        st.add(j, x, static_cast<double>(XT.data[q]));
                    }
                }
                // Every candidate is known before any is offered: the sink may plan its selection.
                values.resize(touched.size());
                for (size_t t = 0; t < touched.size(); ++t) {
                    const I j = touched[t];
                    const T v = similarity_of(j);
                    values[t] = admissible(j, v) ? v : std::numeric_limits<T>::quiet_NaN();
                    st.reset(j);
                }
                out.preview(values.data(), static_cast<int64_t>(values.size()));
                for (size_t t = 0; t < touched.size(); ++t)
                    if (!std::isnan(values[t])) out.offer(i, touched[t], values[t]);
                touched.clear();
            }
            out.end_row(i);
        }
        if (!receivers) return;

        // A part's pairs (i in [first, last), j >= last), walked from j (header comment). The
        // statistics are those of the pair (i, j) accumulated at i, with i's value as x and j's
        // as y in the same column order as the walk from i: the same sums to the last bit.
#pragma omp for schedule(dynamic, 8)
        for (int64_t j = last; j < n; ++j) {
            if (stop.requested()) continue;
            auto admissible_value = [&](int64_t i) -> T {
                const T v = pair_value(j, i);
                return admissible(i, v) ? v : std::numeric_limits<T>::quiet_NaN();
            };
            const int64_t b = X.row_begin(j), e = X.row_end(j);
            int64_t work = 0;
            for (int64_t p = b; p < e; ++p) work += segment[X.indices[p]].end - segment[X.indices[p]].begin;
            if (work == 0) continue;
            out.begin_row(j);
            const bool dense = 4 * work >= last - first;
            const I row_mark = static_cast<I>(j);
            for (int64_t p = b; p < e; ++p) {
                if (p + kPrefetchDistance < e) {  // each segment starts with a miss, as the tails above
                    const Segment& ahead = segment[X.indices[p + kPrefetchDistance]];
                    prefetch(XT.indices + ahead.begin);
                    prefetch(xt_raw + ahead.begin);
                    prefetch(XT.data + position[p + kPrefetchDistance]);
                }
                const int64_t c = X.indices[p];
                const double y = static_cast<double>(XT.data[position[p]]);
                for (int64_t q = segment[c].begin, qe = segment[c].end; q < qe; ++q) {
                    const I i = XT.indices[q];
                    if (!dense && mark[i] != row_mark) {
                        mark[i] = row_mark;
                        touched.push_back(i);
                    }
                    const double x_scale = rows.inv_norm.empty() ? 1.0 : rows.inv_norm[i];
                    st.add(i, static_cast<double>(xt_raw[q]) * x_scale, y);
                }
            }
            if (dense) {
                values.resize(static_cast<size_t>(last - first));
                for (int64_t i = first; i < last; ++i) values[i - first] = admissible_value(i);
                st.reset_range(first, last);
                // No preview: over a dense range the histogram's two passes cost more than the
                // re-selections they save (measured on the synthetic set: 0.46 s against 0.50).
                for (int64_t i = first; i < last; ++i)
                    if (!std::isnan(values[i - first])) out.offer(j, i, values[i - first]);
            } else {
                values.resize(touched.size());
                for (size_t t = 0; t < touched.size(); ++t) {
                    values[t] = admissible_value(touched[t]);
                    st.reset(touched[t]);
                }
                out.preview(values.data(), static_cast<int64_t>(values.size()));
                for (size_t t = 0; t < touched.size(); ++t)
                    if (!std::isnan(values[t])) out.offer(j, touched[t], values[t]);
                touched.clear();
            }
            out.end_row(j);
        }
    });
    trap.rethrow();
    stop.throw_if_requested();
    return sink.assemble(opt.n_threads);
}

// The kernel for one statistics policy, with the sink that suits k.
template <typename T, typename I, typename Stats>
TopKCsr<T, I> similarity_with(const CsrView<T, I>& X, const CsrView<T, I>& XT, const std::vector<I>& position,
                              const T* xt_raw, const RowStats& rows, const SimilarityOptions& opt) {
    const int64_t n = X.n_rows;
    if (opt.k >= n - 1 && AllNeighbours<T, I>::fits(n)) {
        AllNeighbours<T, I> sink(n, opt.sorted_rows);
        return similarity_with<T, I, Stats>(X, XT, position, xt_raw, rows, opt, sink);
    }
    SelectedNeighbours<T, I> sink(n, opt.k);
    return similarity_with<T, I, Stats>(X, XT, position, xt_raw, rows, opt, sink);
}

template <typename T, typename I>
RowStats row_stats(const CsrView<T, I>& X, Metric metric, int n_threads) {
    RowStats rows;
    if (metric == Metric::cosine) {
        rows.inv_norm.resize(static_cast<size_t>(X.n_rows));
#pragma omp parallel for num_threads(n_threads) schedule(dynamic, 1024)
        for (int64_t r = 0; r < X.n_rows; ++r) {
            double ss = 0.0;
            for (int64_t p = X.row_begin(r); p < X.row_end(r); ++p)
                ss += static_cast<double>(X.data[p]) * static_cast<double>(X.data[p]);
            rows.inv_norm[r] = ss > 0.0 ? 1.0 / std::sqrt(ss) : 0.0;
        }
    } else if (metric == Metric::jaccard) {
        rows.length.resize(static_cast<size_t>(X.n_rows));
        for (int64_t r = 0; r < X.n_rows; ++r) rows.length[r] = static_cast<double>(X.row_length(r));
    }
    return rows;
}

// The kernel on X (rows, values as given) and the structure of its transpose (XT.data read only
// when xt_values: then it holds X's values in XT's order): weighting, the transpose's values and
// the per-row statistics, then the metric's kernel.
template <typename T, typename I>
TopKCsr<T, I> similarity_prepared(const CsrView<T, I>& X_in, const CsrView<T, I>& XT_structure,
                                  const std::vector<I>& position, const SimilarityOptions& opt,
                                  bool xt_values = false) {
    SimilarityOptions o = opt;
    // A row has at most n_rows - 1 neighbours: clamping keeps buffers O(n) for any k.
    o.k = std::min<int64_t>(o.k, std::max<int64_t>(X_in.n_rows - 1, 0));
    CsrView<T, I> X = X_in;
    std::vector<T> weighted;
    if (o.weighting != Weighting::none) {
        const WeightingOptions w{o.weighting, o.k1, o.b, o.n_threads};
        weighted = weighted_values(X_in, XT_structure, w, o.weighting == Weighting::bm25 ? "bm25" : "tfidf");
        X.data = weighted.data();
    }
    const RowStats rows = row_stats(X, o.metric, o.n_threads);
    // XT's values: X's, and for cosine divided by their row's norm. Where XT came with X's own
    // values (unweighted), in XT's order: sequential writes instead of a scatter through
    // `position` (measured: a quarter of a part's preparation on 4x the synthetic set).
    const bool xt_has_values = xt_values && o.weighting == Weighting::none;
    std::vector<T> xt_data;
    if (!xt_has_values || !rows.inv_norm.empty()) {
        xt_data.resize(static_cast<size_t>(X.nnz()));
        if (xt_has_values) {
#pragma omp parallel for num_threads(o.n_threads) schedule(static)
            for (int64_t q = 0; q < X.nnz(); ++q)
                xt_data[q] = static_cast<T>(XT_structure.data[q] * rows.inv_norm[XT_structure.indices[q]]);
        } else {
#pragma omp parallel for num_threads(o.n_threads) schedule(dynamic, 1024)
            for (int64_t r = 0; r < X.n_rows; ++r) {
                const double scale = rows.inv_norm.empty() ? 1.0 : rows.inv_norm[r];
                for (int64_t p = X.row_begin(r); p < X.row_end(r); ++p)
                    xt_data[position[p]] = rows.inv_norm.empty() ? X.data[p] : static_cast<T>(X.data[p] * scale);
            }
        }
    }
    CsrView<T, I> xt = XT_structure;
    if (!xt_data.empty()) xt.data = xt_data.data();
    // A part walked from its receiving rows needs the unscaled values too (similarity_with).
    std::vector<T> xt_raw;
    const T* raw = nullptr;
    if (!rows.inv_norm.empty() && walks_from_receivers(X, o)) {
        if (xt_has_values) {
            raw = XT_structure.data;
        } else {
            xt_raw.resize(static_cast<size_t>(X.nnz()));
#pragma omp parallel for num_threads(o.n_threads) schedule(dynamic, 1024)
            for (int64_t r = 0; r < X.n_rows; ++r)
                for (int64_t p = X.row_begin(r); p < X.row_end(r); ++p) xt_raw[position[p]] = X.data[p];
            raw = xt_raw.data();
        }
    }
    const bool counts = o.shrinkage > 0.0 || o.min_support > 1;
    switch (o.metric) {
        case Metric::dot:
        case Metric::cosine:
            return counts ? similarity_with<T, I, DotStats<true>>(X, xt, position, raw, rows, o)
                          : similarity_with<T, I, DotStats<false>>(X, xt, position, raw, rows, o);
        case Metric::jaccard:
            return similarity_with<T, I, JaccardStats>(X, xt, position, raw, rows, o);
        case Metric::pearson:
            return similarity_with<T, I, CoratedStats<CoratedKind::pearson>>(X, xt, position, raw, rows, o);
        case Metric::corated_cosine:
            return similarity_with<T, I, CoratedStats<CoratedKind::cosine>>(X, xt, position, raw, rows, o);
        case Metric::msd:
            return similarity_with<T, I, MsdStats>(X, xt, position, raw, rows, o);
    }
    throw std::invalid_argument("unknown metric");
}

inline void check_options(const SimilarityOptions& opt) {
    if (opt.k < 0) throw std::invalid_argument("k must be >= 0");
    if (opt.n_threads < 1) throw std::invalid_argument("n_threads must be >= 1");
    if (!(opt.shrinkage >= 0.0) || !std::isfinite(opt.shrinkage))
        throw std::invalid_argument("shrinkage must be a finite number >= 0");
}

inline void check_rows(const SimilarityOptions& opt, int64_t n) {
    const int64_t end = opt.rows_end < 0 ? n : opt.rows_end;
    if (opt.rows_begin < 0 || opt.rows_begin > end || end > n)
        throw std::invalid_argument("the row range must satisfy 0 <= rows_begin <= rows_end <= n_rows");
}

}  // namespace detail

// pair_work: for each row i of X, given as its transpose XT (the CSR whose rows are X's
// columns), the pairs (i, j > i) its part of the kernel accumulates: the sum over i's columns of
// the rows after i holding that column. What recforge.distributed cuts the rows by. O(nnz).
template <typename T, typename I>
std::vector<int64_t> pair_work(const CsrView<T, I>& XT) {
    std::vector<int64_t> work(static_cast<size_t>(XT.n_cols), 0);
    for (int64_t c = 0; c < XT.n_rows; ++c) {
        const int64_t end = XT.row_end(c);
        for (int64_t q = XT.row_begin(c); q < end; ++q) work[static_cast<size_t>(XT.indices[q])] += end - q - 1;
    }
    return work;
}

// similarity: top-k most similar other rows of each row of X.
//   X: canonical CSR (sorted, duplicate-free rows; check_csr passed), n_rows x n_cols.
//   Returns CSR n_rows x n_rows: row i holds <= k entries (j, s) with j != i, sharing at least
//   max(1, min_support) columns with i, s != 0 and not NaN, sorted by descending s, ties to the
//   lower j. Identical for any n_threads. A part (a row range; header comment): row r the
//   top-k of the part's pairs that involve r.
// Complexity: O(sum over columns of len(column)^2 / 2) accumulation + O(n * k) output.
// Thread-safety: pure function of its inputs.
template <typename T, typename I>
TopKCsr<T, I> similarity(const CsrView<T, I>& X, const SimilarityOptions& opt) {
    detail::check_options(opt);
    detail::check_rows(opt, X.n_rows);
    std::vector<I> position;
    const CsrMatrix<T, I> XT = transpose(X, &position, opt.n_threads, /*with_values=*/false);
    return detail::similarity_prepared(X, XT.view(), position, opt);
}

// similarity_of_transpose: the same result for X given as its transpose XT (canonical CSR of
// n_cols x n_rows; i.e. X in CSC form, as `user_items.T` is). The kernel needs both
// orientations anyway, so this costs no more than similarity(X): one transpose either way.
template <typename T, typename I>
TopKCsr<T, I> similarity_of_transpose(const CsrView<T, I>& XT, const SimilarityOptions& opt) {
    detail::check_options(opt);
    detail::check_rows(opt, XT.n_cols);
    std::vector<I> position;  // position[p]: where X's entry p sits in XT, written by the transpose
    const CsrMatrix<T, I> X = transpose<T, I>(XT, nullptr, opt.n_threads, true, &position);
    return detail::similarity_prepared(X.view(), XT, position, opt, /*xt_values=*/true);
}

}  // namespace recforge

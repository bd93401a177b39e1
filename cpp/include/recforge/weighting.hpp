// Document-style weightings of a CSR matrix's stored values (rows = documents, columns = terms),
// exactly as implicit's `tfidf_weight` and `bm25_weight`, computed in double, parallel, O(nnz).
//
// They run before the similarity kernel (tfidf then cosine, bm25 then dot, as implicit's
// TFIDFRecommender and BM25Recommender), so they live in C++: in numpy they cost about a tenth
// of the whole kernel on the synthetic benchmark.
#pragma once

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "csr.hpp"

namespace recforge {

enum class Weighting { none, tfidf, bm25 };

struct WeightingOptions {
    Weighting kind = Weighting::none;
    double k1 = 1.2;  // bm25 term-frequency saturation, >= 0
    double b = 0.75;  // bm25 length normalisation, in [0, 1]
    int n_threads = 1;
};

// weighted_values: new values for X's stored entries (same pattern, same order).
//   XT: X's transpose (structure only: its row lengths are the column counts idf needs).
//   tfidf: sqrt(x) * idf(c)
//   bm25:  x (k1 + 1) / (k1 * L(r) + x) * idf(c), L(r) = (1 - b) + b * rowsum(r) / mean(rowsum)
//          (a 0/0, possible only with k1 = 0 and x = 0, gives 0)
// Throws std::invalid_argument for a negative stored value or bad k1 / b.
template <typename T, typename I>
std::vector<T> weighted_values(const CsrView<T, I>& X, const CsrView<T, I>& XT, const WeightingOptions& opt,
                               const char* metric_name) {
    if (!(opt.k1 >= 0.0) || !std::isfinite(opt.k1)) throw std::invalid_argument("k1 must be a finite number >= 0");
    if (!(opt.b >= 0.0 && opt.b <= 1.0)) throw std::invalid_argument("b must be in [0, 1]");
    const int64_t n = X.n_rows;
    const int64_t nnz = X.nnz();
    // implicit's idf: log(n_rows) - log1p(number of stored entries in the column), written as
    // one log of the ratio so that it is exactly 0 when the column holds n_rows - 1 entries
    // (the difference of two logs can miss 0 by an ulp, and cosine would blow that up to 1).
    std::vector<double> idf(static_cast<size_t>(X.n_cols));
    const double n_docs = static_cast<double>(std::max<int64_t>(n, 1));
#pragma omp parallel for num_threads(opt.n_threads) schedule(static)
    for (int64_t c = 0; c < X.n_cols; ++c) idf[c] = std::log(n_docs / (1.0 + static_cast<double>(XT.row_length(c))));
    // Row sums (bm25's document lengths) and the sign check in one parallel pass.
    std::vector<double> row_sum(static_cast<size_t>(n), 0.0);
    int64_t negative = 0;
#pragma omp parallel for num_threads(opt.n_threads) schedule(dynamic, 1024) reduction(+ : negative)
    for (int64_t r = 0; r < n; ++r) {
        double s = 0.0;
        for (int64_t p = X.row_begin(r); p < X.row_end(r); ++p) {
            s += static_cast<double>(X.data[p]);
            negative += X.data[p] < T(0);
        }
        row_sum[r] = s;
    }
    if (negative > 0)  // e.g. returns netted below zero: say how many, and the ways out
        throw std::invalid_argument(std::string("metric='") + metric_name +
                                    "' needs non-negative values in X (counts or weights), but " +
                                    std::to_string(negative) +
                                    " are negative (returns netted below zero?): drop them from the "
                                    "input or choose metric='cosine'");
    std::vector<T> out(static_cast<size_t>(nnz));
    if (opt.kind == Weighting::tfidf) {
#pragma omp parallel for num_threads(opt.n_threads) schedule(static)
        for (int64_t p = 0; p < nnz; ++p)
            out[p] = static_cast<T>(std::sqrt(static_cast<double>(X.data[p])) * idf[X.indices[p]]);
        return out;
    }
    if (opt.kind != Weighting::bm25) throw std::invalid_argument("weighted_values: no weighting requested");
    double total = 0.0;  // summed in row order: the same for every thread count
    for (int64_t r = 0; r < n; ++r) total += row_sum[r];
    const double mean = n > 0 ? total / static_cast<double>(n) : 0.0;
    const double inv_mean = mean > 0.0 ? 1.0 / mean : 1.0;
    const double k1 = opt.k1, b = opt.b;
#pragma omp parallel for num_threads(opt.n_threads) schedule(dynamic, 1024)
    for (int64_t r = 0; r < n; ++r) {
        const double length_norm = k1 * ((1.0 - b) + b * row_sum[r] * inv_mean);
        for (int64_t p = X.row_begin(r); p < X.row_end(r); ++p) {
            const double x = static_cast<double>(X.data[p]);
            const double w = x * (k1 + 1.0) / (length_norm + x) * idf[X.indices[p]];
            out[p] = std::isfinite(w) ? static_cast<T>(w) : T(0);
        }
    }
    return out;
}

}  // namespace recforge

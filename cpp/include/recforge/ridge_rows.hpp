// One half-step of ALS for explicit ratings (weighted-lambda regularisation, Zhou et al. 2008):
// for every row r of a CSR matrix of targets y (users x items when the item side is fixed),
//
//     x_r = argmin_x  sum_j (y_rj - F_j . x)^2  +  n_r * sum_k lambda_k x_k^2
//
// where j runs over the row's stored columns, F (n_cols x d) holds the fixed side's features and
// n_r is the row's entry count, i.e. x_r solves (sum_j F_j F_j^T + n_r diag(lambda)) x = sum_j y_rj F_j.
// Biased MF uses it with F = [Q, 1] (the last unknown is then the bias), targets with the other
// side's bias and mu removed, and lambda = (reg, ..., reg, reg_bias). A row with no entries gets
// x = 0. Systems are assembled and factored in double.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "dense.hpp"
#include "multiversion.hpp"
#include "parallel.hpp"
#include "score_tile.hpp"

namespace recforge {

template <typename T, typename I>
struct RidgeRowsProblem {
    const I* indptr;   // n_rows + 1
    const I* indices;  // nnz, in [0, n_cols)
    const T* targets;  // nnz, finite
    int64_t n_rows, n_cols, d;
    const T* F;            // n_cols x d, finite
    const double* lambda;  // d, each >= 0 (their sum > 0 unless every gram is PD)
    T* X;                  // n_rows x d, out
};

template <typename T>
struct RidgeScratch {
    static constexpr int64_t kGather = 256;  // rows gathered per gram pass
    std::vector<T> gathered;
    std::vector<double> A, b, column;
    dense::GramScratch<T> gram;
    explicit RidgeScratch(int64_t d)
        : gathered(static_cast<size_t>(kGather * d)), A(static_cast<size_t>(d * d)), b(d), column(d), gram(d) {}
};

namespace detail {

// Rows [row0, row1); returns how many systems were not positive definite or not finite (their
// x is left at zero).
template <typename T, typename I>
RECFORGE_MULTIVERSION int64_t ridge_rows(const RidgeRowsProblem<T, I>& P, int64_t row0, int64_t row1,
                                         RidgeScratch<T>& s) {
    const int64_t d = P.d;
    int64_t bad = 0;
    for (int64_t r = row0; r < row1; ++r) {
        T* x = P.X + r * d;
        const int64_t begin = P.indptr[r], end = P.indptr[r + 1], n = end - begin;
        std::fill(x, x + d, T(0));
        if (n == 0) continue;
        std::fill(s.A.begin(), s.A.end(), 0.0);
        std::fill(s.b.begin(), s.b.end(), 0.0);
        for (int64_t e0 = begin; e0 < end; e0 += RidgeScratch<T>::kGather) {
            const int64_t m = std::min(RidgeScratch<T>::kGather, end - e0);
            for (int64_t e = 0; e < m; ++e) {
                const T* Fj = P.F + static_cast<int64_t>(P.indices[e0 + e]) * d;
                std::copy_n(Fj, d, s.gathered.data() + e * d);
                const double y = P.targets[e0 + e];
                for (int64_t k = 0; k < d; ++k) s.b[k] += y * Fj[k];
            }
            dense::gram_add(s.gathered.data(), m, s.A.data(), s.gram);
        }
        dense::mirror_upper(s.A.data(), d);
        for (int64_t k = 0; k < d; ++k) s.A[k * d + k] += static_cast<double>(n) * P.lambda[k];
        if (!dense::cholesky(s.A.data(), d, s.column.data())) {
            ++bad;
            continue;
        }
        dense::cholesky_solve(s.A.data(), d, s.b.data());
        bool finite = true;
        for (int64_t k = 0; k < d; ++k) finite &= std::isfinite(s.b[k]);
        if (!finite) {
            ++bad;
            continue;
        }
        for (int64_t k = 0; k < d; ++k) x[k] = static_cast<T>(s.b[k]);
    }
    return bad;
}

}  // namespace detail

// Solves every row (parallel over blocks of 32 rows, dynamic schedule; each row is computed in a
// fixed order, so the result does not depend on the thread count). Returns the number of rows
// whose system was singular or not finite. O(nnz d^2 + n_rows d^3) time, O(threads d^2) memory.
template <typename T, typename I>
int64_t ridge_rows(const RidgeRowsProblem<T, I>& P, int n_threads) {
    return sum_over_row_blocks<RidgeScratch<T>>(
        P.n_rows, 32, n_threads, [&] { return std::make_unique<RidgeScratch<T>>(P.d); },
        [&](int64_t row0, int64_t row1, RidgeScratch<T>& s) { return detail::ridge_rows(P, row0, row1, s); });
}

}  // namespace recforge

// Implicit-feedback ALS (Hu, Koren & Volinsky 2008): one half-step solves, for every row u of a
// CSR matrix (users when the item factors Y are fixed, items when the user factors are),
//
//     (Y^T Y + lambda I + sum_i d_ui y_i y_i^T) x_u = sum_i w_ui y_i
//
// with d = alpha |r| (confidence minus one) and w = 1 + alpha r for r > 0, 0 otherwise (a
// positive value is a preference of 1 with confidence 1 + alpha r; a negative one a preference
// of 0 with confidence 1 + alpha |r|).
//
// Whitening. B = Y^T Y + lambda I = L L^T is the same for every row. In the basis
// x~ = L^T x, with y~_i = L^-1 y_i (computed once per half-step: als_whiten), a row's system
// becomes (I + sum_i d_i y~_i y~_i^T) x~ = sum_i w_i y~_i: the f x f term is the identity, so
//  - the conjugate-gradient solver is CG preconditioned by B (same fixed point as plain CG, better
//    conditioned, and a step costs O(n_u f) instead of O(f^2 + n_u f));
//  - the exact solver takes, for a row with n_u < f entries, the Woodbury form
//    x~ = z - U^T (I + U U^T)^-1 U z (U = rows sqrt(d_i) y~_i, z = sum w_i y~_i): an n_u x n_u
//    system whose eigenvalues are >= 1, O(n_u^2 f) instead of O(n_u f^2 + f^3); longer rows
//    factor I + U^T U (f x f) directly. Either way the solution is exact.
// Both end with x = L^-T x~ (O(f^2)). The small systems are factored in double.
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
#include "scratch.hpp"

namespace recforge {

enum class AlsSolver : int { kConjugateGradient = 0, kCholesky = 1 };

// ---------------------------------------------------------------------------------------------
// als_whiten: the per-half-step quantities of the fixed side Y (n x f, row-major).
// Outputs (caller-allocated): G = Y^T Y + lambda I (f x f, double, full), L and Linv (f x f, T,
// lower triangular, L L^T = G), Yt = Y L^-T (n x f, T). Returns false when G is not positive
// definite (lambda = 0 with rank-deficient Y, or non-finite Y). O(n f^2 + f^3); parallel over
// fixed blocks of rows, so the result does not depend on the thread count.
//
// It is three steps, public so that a cluster can run them where the rows live and get the
// same bits (recforge.distributed's ALS):
//   1. als_gram_chunk: the Gram matrix of each of the als_gram_chunks(n) fixed row chunks
//      (upper triangle), on whatever holds the chunk's rows;
//   2. als_factor: the chunks' Grams summed in chunk order, then G, L, Linv;
//   3. als_whiten_rows: Yt = Y Linv^T, row by row (each row's result depends on that row only).

// Chunks of rows whose Grams are summed in a fixed order: chunk c is rows
// [n c / count, n (c + 1) / count), count = min(64, ceil(n / 256)): 256-row chunks up to 16k
// rows, so that a distributed half-step can cut a power-law catalogue's popular rows into blocks
// of about equal work (its first 1,000 items hold half the interactions of the synthetic set).
inline int64_t als_gram_chunks(int64_t n) { return n == 0 ? 0 : std::min<int64_t>(64, (n + 255) / 256); }

// partial (f x f, zeroed by the caller) += the upper triangle of Y^T Y over rows Y[0, m).
template <typename T>
void als_gram_chunk(const T* Y, int64_t m, int64_t f, double* partial) {
    dense::GramScratch<T> scratch(f);
    dense::gram_add(Y, m, partial, scratch);
}

// G (f x f, in: the chunks' upper-triangle Grams summed in chunk order) becomes Y^T Y + lambda I
// in full; L and Linv as als_whiten's. Returns false when G is not positive definite.
template <typename T>
bool als_factor(double* G, int64_t f, double lambda, T* L_out, T* Linv_out) {
    dense::mirror_upper(G, f);
    for (int64_t a = 0; a < f; ++a) G[a * f + a] += lambda;
    std::vector<double> L(G, G + f * f), Linv(static_cast<size_t>(f * f));
    std::vector<double> column(static_cast<size_t>(f));
    if (!dense::cholesky(L.data(), f, column.data())) return false;
    for (int64_t a = 0; a < f; ++a) std::fill(L.data() + a * f + a + 1, L.data() + (a + 1) * f, 0.0);
    dense::lower_inverse(L.data(), f, Linv.data());
    std::transform(L.begin(), L.end(), L_out, [](double v) { return static_cast<T>(v); });
    std::transform(Linv.begin(), Linv.end(), Linv_out, [](double v) { return static_cast<T>(v); });
    return true;
}

// Yt = Y (Linv)^T (n x f) by register-blocked tiles: tile b holds columns of Linv^T, factor-major.
template <typename T>
void als_whiten_rows(const T* Y, int64_t n, int64_t f, const T* Linv, int n_threads, T* Yt) {
    const int64_t n_blocks = (f + kTileItems - 1) / kTileItems;
    std::vector<T> packed(static_cast<size_t>(n_blocks * f * kTileItems), T(0));
    for (int64_t b = 0; b < n_blocks; ++b)
        for (int64_t j = 0; j < f; ++j)
            for (int64_t w = 0; w < kTileItems && b * kTileItems + w < f; ++w)
                packed[(b * f + j) * kTileItems + w] = Linv[(b * kTileItems + w) * f + j];
    const int64_t n_groups = (n + kTileQueries - 1) / kTileQueries;
    ExceptionTrap trap;
#pragma omp parallel num_threads(n_threads)
    {
        std::vector<T> rows, tile;
        trap.run([&] {
            rows.assign(static_cast<size_t>(kTileQueries * f), T(0));
            tile.resize(kTileQueries * kTileItems);
        });
#pragma omp for schedule(static, 64)
        for (int64_t g = 0; g < n_groups; ++g) {
            if (tile.empty()) continue;  // allocation failed: reported after the region
            const int64_t r0 = g * kTileQueries, m = std::min(kTileQueries, n - r0);
            std::copy_n(Y + r0 * f, m * f, rows.data());  // a padded copy for the last group
            for (int64_t b = 0; b < n_blocks; ++b) {
                // Linv^T is upper triangular: output columns c0.. need only factors < c0 + kTileItems.
                const int64_t c0 = b * kTileItems, width = std::min(kTileItems, f - c0);
                detail::score_tile(rows.data(), f, packed.data() + b * f * kTileItems, c0 + width, tile.data());
                for (int64_t q = 0; q < m; ++q)
                    std::copy_n(tile.data() + q * kTileItems, width, Yt + (r0 + q) * f + c0);
            }
        }
    }
    trap.rethrow();
}

template <typename T>
bool als_whiten(const T* Y, int64_t n, int64_t f, double lambda, int n_threads, double* G, T* L_out, T* Linv_out,
                T* Yt) {
    const int64_t n_chunks = als_gram_chunks(n);
    std::vector<double> partial(static_cast<size_t>(n_chunks * f * f), 0.0);
    ExceptionTrap trap;
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_threads)
    for (int64_t c = 0; c < n_chunks; ++c) {
        trap.run([&] {
            const int64_t r0 = n * c / n_chunks, r1 = n * (c + 1) / n_chunks;
            als_gram_chunk(Y + r0 * f, r1 - r0, f, partial.data() + c * f * f);
        });
    }
    trap.rethrow();
    std::fill(G, G + f * f, 0.0);
    for (int64_t c = 0; c < n_chunks; ++c)  // fixed order: identical for any thread count
        for (int64_t e = 0; e < f * f; ++e) G[e] += partial[c * f * f + e];
    if (!als_factor(G, f, lambda, L_out, Linv_out)) return false;
    als_whiten_rows(Y, n, f, Linv_out, n_threads, Yt);
    return true;
}

// ---------------------------------------------------------------------------------------------
// The row solves of one half-step.
template <typename T, typename I>
struct AlsProblem {
    const I* indptr;   // n_rows + 1
    const I* indices;  // nnz, in [0, n_cols)
    const T* data;     // nnz, finite
    int64_t n_rows, n_cols, f;
    const T* Y;       // n_cols x f, the fixed factors (read for the loss only)
    const T* Yt;      // n_cols x f, whitened: Y L^-T
    const T* L;       // f x f lower, L L^T = G
    const T* Linv;    // f x f lower
    const double* G;  // f x f, Y^T Y + lambda I
    T alpha;          // >= 0
    AlsSolver solver;
    int cg_steps;  // >= 1 (CG only)
    T* X;          // n_rows x f, in: warm start (CG), out: the solution
    double* loss;  // n_rows, or null: row u's share of the training objective (see als_rows)
};

template <typename T>
struct AlsScratch {
    static constexpr int64_t kGather = 256;  // scaled rows gathered per pass on the f x f path
    AlignedVector<T> xt, r, p, Ap, z, U;     // aligned: the same rounding in every run (scratch.hpp)
    AlignedVector<double> S, t, column;
    dense::GramScratch<T> gram;
    explicit AlsScratch(int64_t f)
        : xt(f), r(f), p(f), Ap(f), z(f), U(static_cast<size_t>(std::max(kGather, f) * f)),
          S(static_cast<size_t>(f * f)), t(static_cast<size_t>(f)), column(static_cast<size_t>(f)), gram(f) {}
};

namespace detail {

template <typename T>
RECFORGE_INLINE void confidence(T alpha, T r, T* d, T* w) {
    *d = alpha * std::abs(r);
    *w = r > T(0) ? T(1) + alpha * r : T(0);
}

// x~ by warm-started CG on (I + sum d y~ y~^T) x~ = z, starting from L^T x. Each product
// A v = v + U^T D U v is one gathered pass over the row's y~.
template <typename T, typename I>
RECFORGE_INLINE void cg_row(const AlsProblem<T, I>& P, I begin, I end, const T* x, AlsScratch<T>& s) {
    const int64_t f = P.f, n = static_cast<int64_t>(end - begin);
    const I* index = P.indices + begin;
    const T* r_ui = P.data + begin;
    T *xt = s.xt.data(), *r = s.r.data(), *p = s.p.data(), *Ap = s.Ap.data();
    dense::vecmat_lower(x, P.L, f, xt);  // x~ = L^T x
    for (int64_t a = 0; a < f; ++a) r[a] = -xt[a];
    dense::gather_dots_axpy(r, P.Yt, index, n, f, xt, [&](int64_t e, T yx) {  // r = z - A x~
        T d, w;
        confidence(P.alpha, r_ui[e], &d, &w);
        return w - d * yx;
    });
    std::copy_n(r, f, p);
    T rs = dense::dot(r, r, f);
    for (int step = 0; step < P.cg_steps && rs > T(1e-20); ++step) {
        std::copy_n(p, f, Ap);
        dense::gather_dots_axpy(Ap, P.Yt, index, n, f, p,
                                [&](int64_t e, T yp) { return P.alpha * std::abs(r_ui[e]) * yp; });
        const T step_size = rs / dense::dot(p, Ap, f);
        dense::axpy(xt, step_size, p, f);
        dense::axpy(r, -step_size, Ap, f);
        const T rs_new = dense::dot(r, r, f);
        if (!(rs_new > T(1e-20))) break;
        const T beta = rs_new / rs;
        for (int64_t a = 0; a < f; ++a) p[a] = r[a] + beta * p[a];
        rs = rs_new;
    }
}

// x~ exactly: Woodbury (n x n) for rows shorter than f, the f x f system otherwise.
template <typename T, typename I>
RECFORGE_INLINE void exact_row(const AlsProblem<T, I>& P, I begin, I end, AlsScratch<T>& s) {
    const int64_t f = P.f, n = static_cast<int64_t>(end - begin);
    T *z = s.z.data(), *U = s.U.data(), *xt = s.xt.data();
    double *S = s.S.data(), *t = s.t.data();
    std::fill_n(z, f, T(0));
    auto gather = [&](int64_t e0, int64_t m) {  // U rows = sqrt(d) y~, and z += w y~
        for (int64_t a = 0; a < m; ++a) {
            const I e = begin + static_cast<I>(e0 + a);
            const T* y = P.Yt + static_cast<int64_t>(P.indices[e]) * f;
            T d, w;
            confidence(P.alpha, P.data[e], &d, &w);
            const T root = std::sqrt(d);
            for (int64_t b = 0; b < f; ++b) U[a * f + b] = root * y[b];
            dense::axpy(z, w, y, f);
        }
    };
    if (n < f) {
        gather(0, n);
        for (int64_t a = 0; a < n; ++a) {
            for (int64_t b = 0; b <= a; ++b) S[a * n + b] = dense::dot(U + a * f, U + b * f, f);
            S[a * n + a] += 1.0;
            t[a] = dense::dot(U + a * f, z, f);
        }
        dense::cholesky(S, n, s.column.data());  // eigenvalues >= 1: succeeds for finite input
        dense::cholesky_solve(S, n, t);
        std::copy_n(z, f, xt);
        for (int64_t a = 0; a < n; ++a) dense::axpy(xt, -t[a], U + a * f, f);
        return;
    }
    std::fill_n(S, f * f, 0.0);
    for (int64_t e0 = 0; e0 < n; e0 += AlsScratch<T>::kGather) {
        const int64_t m = std::min(AlsScratch<T>::kGather, n - e0);
        gather(e0, m);
        dense::gram_add(U, m, S, s.gram);
    }
    dense::mirror_upper(S, f);
    for (int64_t a = 0; a < f; ++a) {
        S[a * f + a] += 1.0;
        t[a] = static_cast<double>(z[a]);
    }
    dense::cholesky(S, f, s.column.data());
    dense::cholesky_solve(S, f, t);
    for (int64_t a = 0; a < f; ++a) xt[a] = static_cast<T>(t[a]);
}

// Row u's share of the objective: x^T G x + sum_i [c_i (p_i - x.y_i)^2 - (x.y_i)^2] (the sum over
// all items of (0 - x.y)^2 is in x^T Y^T Y x; lambda |x|^2 is in x^T G x).
template <typename T, typename I>
RECFORGE_INLINE double row_loss(const AlsProblem<T, I>& P, I begin, I end, const T* x) {
    const int64_t f = P.f;
    double total = 0.0;
    for (int64_t a = 0; a < f; ++a) {
        double ga = 0.0;
        for (int64_t b = 0; b < f; ++b) ga += P.G[a * f + b] * static_cast<double>(x[b]);
        total += static_cast<double>(x[a]) * ga;
    }
    for (I e = begin; e < end; ++e) {
        const double score = dense::dot<double>(x, P.Y + static_cast<int64_t>(P.indices[e]) * f, f);
        const double r = P.data[e], c = 1.0 + static_cast<double>(P.alpha) * std::abs(r), pref = r > 0 ? 1.0 : 0.0;
        total += c * (pref - score) * (pref - score) - score * score;
    }
    return total;
}

// Rows [row0, row1); returns how many came out non-finite.
template <typename T, typename I>
RECFORGE_MULTIVERSION int64_t als_rows(const AlsProblem<T, I>& P, int64_t row0, int64_t row1, AlsScratch<T>& s) {
    int64_t bad = 0;
    for (int64_t u = row0; u < row1; ++u) {
        const I begin = P.indptr[u], end = P.indptr[u + 1];
        T* x = P.X + u * P.f;
        if (P.solver == AlsSolver::kConjugateGradient)
            cg_row(P, begin, end, x, s);
        else
            exact_row(P, begin, end, s);
        dense::vecmat_lower(s.xt.data(), P.Linv, P.f, x);  // x = L^-T x~
        bool finite = true;
        for (int64_t a = 0; a < P.f; ++a) finite &= std::isfinite(x[a]);
        bad += !finite;
        if (P.loss) P.loss[u] = row_loss(P, begin, end, x);
    }
    return bad;
}

}  // namespace detail

// Solves every row of P (see the header comment) in parallel over blocks of rows (dynamic
// schedule: row lengths are popularity-skewed). Rows are independent and each is computed in a
// fixed order, so the result does not depend on the thread count. Preconditions: P's CSR is
// valid, alpha >= 0, the whitening comes from als_whiten on Y. Returns the number of rows whose
// solution is not finite (divergence). Memory: O(threads * f * max(f, 256)).
template <typename T, typename I>
int64_t als_solve(const AlsProblem<T, I>& P, int n_threads) {
    return sum_over_row_blocks<AlsScratch<T>>(
        P.n_rows, 32, n_threads, [&] { return std::make_unique<AlsScratch<T>>(P.f); },
        [&](int64_t row0, int64_t row1, AlsScratch<T>& s) { return detail::als_rows(P, row0, row1, s); });
}

}  // namespace recforge

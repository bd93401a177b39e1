// Small dense linear algebra for the factor-model solvers: vector ops, the Gram matrix of a
// block of rows, Cholesky factorisation and triangular solves.
//
// Sizes are factor counts (tens to a few hundred), so everything is written for L1/L2-resident
// operands: reductions keep 16 independent partial sums (vectorisable without -ffast-math, and
// the summation order is fixed, so results never depend on thread count), and the Gram matrix
// is assembled from the register-blocked tile of score_tile.hpp. Callers that want AVX2 /
// AVX-512 call these from a RECFORGE_MULTIVERSION function, into which they inline.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "score_tile.hpp"

#if defined(__GNUC__)
#define RECFORGE_INLINE __attribute__((always_inline)) inline
#else
#define RECFORGE_INLINE inline
#endif

namespace recforge::dense {

// part[0] = the pairwise tree sum of part[0:lanes] (lanes a power of two), written out level by
// level so that it compiles to register shuffles rather than a loop through memory.
template <int64_t Lanes, typename A>
RECFORGE_INLINE void reduce_lanes(A* part) {
    if constexpr (Lanes > 1) {
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 16
#endif
        for (int64_t j = 0; j < Lanes / 2; ++j) part[j] += part[j + Lanes / 2];
        reduce_lanes<Lanes / 2>(part);
    }
}

// sum_i a[i] * b[i], accumulated in Acc: 16 interleaved partial sums reduced as a tree (so it
// vectorises without -ffast-math and the order is fixed); short vectors are summed in order.
template <typename Acc = void, typename T>
RECFORGE_INLINE auto dot(const T* __restrict a, const T* __restrict b, int64_t n) {
    using A = std::conditional_t<std::is_void_v<Acc>, T, Acc>;
    constexpr int64_t kLanes = 16;
    A s = 0;
    if (n < kLanes) {
        for (int64_t i = 0; i < n; ++i) s += static_cast<A>(a[i]) * static_cast<A>(b[i]);
        return s;
    }
    A part[kLanes] = {};
    const int64_t body = n - n % kLanes;
    for (int64_t i = 0; i < body; i += kLanes)
        for (int64_t j = 0; j < kLanes; ++j) part[j] += static_cast<A>(a[i + j]) * static_cast<A>(b[i + j]);
    reduce_lanes<kLanes>(part);
    for (int64_t i = body; i < n; ++i) s += static_cast<A>(a[i]) * static_cast<A>(b[i]);
    return part[0] + s;
}

// y += a * x
template <typename T, typename S>
RECFORGE_INLINE void axpy(T* __restrict y, S a, const T* __restrict x, int64_t n) {
    const T t = static_cast<T>(a);
    for (int64_t i = 0; i < n; ++i) y[i] += t * x[i];
}

// out[0:n] = v^T L = sum_j v[j] * L[j, 0:j+1] for a lower-triangular row-major n x n L (only
// the triangle is read: half the work of a full matrix).
template <typename T>
RECFORGE_INLINE void vecmat_lower(const T* __restrict v, const T* __restrict L, int64_t n, T* __restrict out) {
    std::fill(out, out + n, T(0));
    for (int64_t j = 0; j < n; ++j) axpy(out, v[j], L + j * n, j + 1);
}

// out += sum_e coef(e, rows[index[e]] . v) * rows[index[e]] for e < n (rows: row-major, f
// columns): the product U^T g(U v) of a gathered matrix, one pass over the rows. Four rows at a
// time: their dot products use independent accumulators (so the reductions overlap instead of
// forming one latency chain) and are added into out while the rows are still in L1.
template <typename T, typename I, typename Coef>
RECFORGE_INLINE void gather_dots_axpy(T* __restrict out, const T* __restrict rows, const I* __restrict index, int64_t n,
                                      int64_t f, const T* __restrict v, Coef coef) {
    constexpr int64_t kLanes = 16;
    const int64_t body = f - f % kLanes;
    int64_t e = 0;
    for (; e + 4 <= n; e += 4) {
        const T* y[4];
        for (int r = 0; r < 4; ++r) y[r] = rows + static_cast<int64_t>(index[e + r]) * f;
        T part[4][kLanes] = {};
        for (int64_t i = 0; i < body; i += kLanes)
            for (int r = 0; r < 4; ++r)
                for (int64_t j = 0; j < kLanes; ++j) part[r][j] += y[r][i + j] * v[i + j];
        T q[4];
        for (int r = 0; r < 4; ++r) {
            reduce_lanes<kLanes>(part[r]);
            T tail = 0;
            for (int64_t i = body; i < f; ++i) tail += y[r][i] * v[i];
            q[r] = coef(e + r, part[r][0] + tail);
        }
        for (int64_t i = 0; i < f; ++i) out[i] += (q[0] * y[0][i] + q[1] * y[1][i]) + (q[2] * y[2][i] + q[3] * y[3][i]);
    }
    for (; e < n; ++e) {
        const T* y = rows + static_cast<int64_t>(index[e]) * f;
        axpy(out, coef(e, dot(y, v, f)), y, f);
    }
}

// (dot, axpy, vecmat_lower, the gather ops, cholesky and cholesky_solve are always inlined: they must take the
// instruction set of the multiversioned solver that calls them.)

// In-place Cholesky A = L L^T of a row-major n x n symmetric positive definite matrix; reads the
// lower triangle and overwrites it with L (the strict upper triangle is left as it was).
// Right-looking, so the O(n^3 / 6) work is contiguous row updates (no short reductions);
// `column` is scratch of n doubles. Returns false, leaving A partly overwritten, when a pivot is
// not positive (not PD, or NaN).
RECFORGE_INLINE bool cholesky(double* A, int64_t n, double* column) {
    for (int64_t k = 0; k < n; ++k) {
        const double pivot = A[k * n + k];
        if (!(pivot > 0.0) || !std::isfinite(pivot)) return false;
        const double root = std::sqrt(pivot);
        A[k * n + k] = root;
        for (int64_t i = k + 1; i < n; ++i) column[i] = A[i * n + k] /= root;
        for (int64_t i = k + 1; i < n; ++i)  // trailing lower triangle -= l_k l_k^T
            axpy(A + i * n + k + 1, -column[i], column + k + 1, i - k);
    }
    return true;
}

// Solves L L^T x = b in place (b becomes x), L the lower factor from cholesky(). O(n^2).
RECFORGE_INLINE void cholesky_solve(const double* L, int64_t n, double* b) {
    for (int64_t i = 0; i < n; ++i) b[i] = (b[i] - dot(L + i * n, b, i)) / L[i * n + i];
    for (int64_t i = n - 1; i >= 0; --i) {
        b[i] /= L[i * n + i];
        axpy(b, -b[i], L + i * n, i);  // remove x_i's part from the rows above (L^T, column form)
    }
}

// Inverse of a lower-triangular L (row-major n x n) into Linv (lower, zeros above). O(n^3 / 6).
inline void lower_inverse(const double* L, int64_t n, double* Linv) {
    std::fill(Linv, Linv + n * n, 0.0);
    for (int64_t c = 0; c < n; ++c) {  // column c of L^-1: forward substitution of e_c
        Linv[c * n + c] = 1.0 / L[c * n + c];
        for (int64_t i = c + 1; i < n; ++i) {
            double s = 0.0;
            for (int64_t k = c; k < i; ++k) s += L[i * n + k] * Linv[k * n + c];
            Linv[i * n + c] = -s / L[i * n + i];
        }
    }
}

// Scratch for gram_add, sized once per thread.
template <typename T>
struct GramScratch {
    static constexpr int64_t kRows = 256;  // rows transposed and packed per pass (stays in L2)
    int64_t f = 0, f4 = 0, n_blocks = 0;
    std::vector<T> transposed, packed, tile;
    explicit GramScratch(int64_t factors)
        : f(factors), f4((factors + kTileQueries - 1) / kTileQueries * kTileQueries),
          n_blocks((factors + kTileItems - 1) / kTileItems), transposed(static_cast<size_t>(f4 * kRows), T(0)),
          packed(static_cast<size_t>(n_blocks * kRows * kTileItems), T(0)),
          tile(static_cast<size_t>(kTileQueries * kTileItems)) {}
};

// G (f x f, row-major, double) += sum_r rows[r]^T rows[r] over n rows of length f (row-major).
// Only the upper triangle (b >= a) is accumulated; call mirror_upper() once when done. Each pass
// of up to 256 rows is computed in T by register-blocked tiles and then added in double, so a
// long sum loses no more than a 256-term float sum. O(n f^2 / 2).
template <typename T>
inline void gram_add(const T* rows, int64_t n, double* G, GramScratch<T>& s) {
    const int64_t f = s.f;
    for (int64_t r0 = 0; r0 < n; r0 += GramScratch<T>::kRows) {
        const int64_t m = std::min(GramScratch<T>::kRows, n - r0);
        const T* chunk = rows + r0 * f;
        for (int64_t a = 0; a < f; ++a)  // rows^T: row a holds factor a of every row of the pass
            for (int64_t r = 0; r < m; ++r) s.transposed[a * m + r] = chunk[r * f + a];
        for (int64_t a = f; a < s.f4; ++a) std::fill_n(s.transposed.data() + a * m, m, T(0));
        for (int64_t b = 0; b < s.n_blocks; ++b) {  // factor-major tiles of kTileItems columns
            T* tile = s.packed.data() + b * m * kTileItems;
            const int64_t c0 = b * kTileItems, width = std::min(kTileItems, f - c0);
            for (int64_t r = 0; r < m; ++r) {
                std::copy_n(chunk + r * f + c0, width, tile + r * kTileItems);
                std::fill(tile + r * kTileItems + width, tile + (r + 1) * kTileItems, T(0));
            }
        }
        for (int64_t a = 0; a < s.f4; a += kTileQueries) {
            for (int64_t b = a / kTileItems; b < s.n_blocks; ++b) {  // blocks touching b >= a only
                detail::score_tile(s.transposed.data() + a * m, s.packed.data() + b * m * kTileItems, m, s.tile.data());
                const int64_t c0 = b * kTileItems;
                for (int64_t q = 0; q < kTileQueries && a + q < f; ++q) {
                    double* Grow = G + (a + q) * f;
                    for (int64_t w = std::max<int64_t>(0, a + q - c0); w < kTileItems && c0 + w < f; ++w)
                        Grow[c0 + w] += static_cast<double>(s.tile[q * kTileItems + w]);
                }
            }
        }
    }
}

// Copies the upper triangle of a row-major n x n matrix onto its lower triangle.
inline void mirror_upper(double* G, int64_t n) {
    for (int64_t a = 0; a < n; ++a)
        for (int64_t b = 0; b < a; ++b) G[a * n + b] = G[b * n + a];
}

}  // namespace recforge::dense

// Bayesian personalised ranking (BPR-MF, Rendle et al. 2009) by stochastic gradient ascent on
//
//     sum over draws (u, i, j) of ln sigma(x_uij) - reg (|p_u|^2 + |q_i|^2 + |q_j|^2 + b_i^2 + b_j^2),
//     x_uij = p_u . (q_i - q_j) + b_i - b_j,
//
// where (u, i) is an interaction drawn uniformly (with replacement, as the paper's LearnBPR) and
// j a negative item drawn uniformly or in proportion to its popularity (the item of another
// uniformly drawn interaction, as implicit does). With z = sigma(-x) = 1 / (1 + e^x), one step is
//
//     p_u += lr (z (q_i - q_j) - reg p_u);  q_i += lr (z p_u - reg q_i);  q_j += lr (-z p_u - reg q_j)
//     b_i += lr (z - reg b_i);              b_j += lr (-z - reg b_j)          (all from the old values)
//
// A negative equal to i, or (when verifying) one the user has interacted with, is redrawn, up
// to kBprDraws draws; after that the sample is skipped.
//
// Threads: Hogwild (Niu et al. 2011). Each of n_threads workers makes its share of the epoch's
// nnz draws from its own random stream and updates the shared factors without locks, so
// concurrent updates of the same row may interleave: a run with one thread is a pure function of
// (seed, inputs); with several it is not bit-reproducible (the draws are, the interleaving is
// not). Memory access is random (three factor rows, an interaction, a user's row per draw), so
// every worker draws kBprAhead samples ahead and prefetches what each will touch: the draws'
// cache misses overlap instead of following one another.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "dense.hpp"
#include "multiversion.hpp"
#include "parallel.hpp"
#include "prefetch.hpp"
#include "random.hpp"
#include "score_tile.hpp"

namespace recforge {

constexpr int kBprDraws = 16;     // negative draws per sample before it is skipped
constexpr int64_t kBprAhead = 4;  // samples between pipeline stages (2 to 16 tried: 4 was best)
constexpr int64_t kBprRing = 16;  // ring of samples in flight (> 2 kBprAhead, a power of two)

// Interactions as CSR user rows (sorted, unique indices: the verification is a binary search)
// plus user_of[e], the row of interaction e. Factors P (n_users x f), Q (n_items x f) and the
// item bias, row-major, are updated in place. trace, when not null, receives (u, i, j) for every
// draw of the epoch (j = -1 when skipped), nnz rows of 3; it is for tests and needs n_epochs 1.
template <typename T, typename I>
struct BprProblem {
    const I* indptr;
    const I* indices;
    const I* user_of;
    int64_t n_users, n_items, nnz, f;
    T* P;
    T* Q;
    T* item_bias;
    T lr, reg;
    bool popularity;  // negatives in proportion to popularity, else uniform
    bool verify;      // redraw negatives the user has interacted with
    int64_t* trace;
};

// What an epoch (or one worker's share of it) met: the sum of -ln sigma(x_uij) over the samples
// it updated (before updating), how many had x_uij > 0 (ranked correctly), how many it skipped.
struct BprTally {
    double loss = 0.0;
    int64_t correct = 0;
    int64_t skipped = 0;
};

namespace detail {

template <typename T, typename I>
struct BprDraw {
    int64_t e;    // the positive interaction
    int64_t neg;  // the negative: an interaction (popularity) or an item (uniform)
    I u, i, j;
};

template <typename T, typename I>
RECFORGE_INLINE int64_t bpr_negative_draw(const BprProblem<T, I>& p, Rng& rng) {
    return static_cast<int64_t>(rng.index(static_cast<uint64_t>(p.popularity ? p.nnz : p.n_items)));
}

template <typename T, typename I>
RECFORGE_INLINE I bpr_negative_item(const BprProblem<T, I>& p, int64_t neg) {
    return p.popularity ? p.indices[neg] : static_cast<I>(neg);
}

// -ln sigma(x) = ln(1 + e^-x), without overflow for either sign.
inline double softplus_neg(double x) { return std::max(-x, 0.0) + std::log1p(std::exp(-std::fabs(x))); }

template <typename T, typename I>
RECFORGE_INLINE bool bpr_is_positive(const BprProblem<T, I>& p, I u, I i, I j) {
    if (j == i) return true;
    if (!p.verify) return false;
    return std::binary_search(p.indices + p.indptr[u], p.indices + p.indptr[u + 1], j);
}

template <typename T, typename I>
RECFORGE_INLINE void bpr_step(const BprProblem<T, I>& p, I u, I i, I j, BprTally& tally) {
    const int64_t f = p.f;
    T* __restrict pu = p.P + static_cast<int64_t>(u) * f;
    T* __restrict qi = p.Q + static_cast<int64_t>(i) * f;
    T* __restrict qj = p.Q + static_cast<int64_t>(j) * f;
    T& bi = p.item_bias[i];
    T& bj = p.item_bias[j];
    const T x = bi - bj + dense::dot(pu, qi, f) - dense::dot(pu, qj, f);
    tally.loss += softplus_neg(static_cast<double>(x));
    tally.correct += x > 0;
    const T z = T(1) / (T(1) + std::exp(x));
    const T a = p.lr * z, shrink = T(1) - p.lr * p.reg;
    for (int64_t k = 0; k < f; ++k) {
        const T pk = pu[k], ik = qi[k], jk = qj[k];
        pu[k] = shrink * pk + a * (ik - jk);
        qi[k] = shrink * ik + a * pk;
        qj[k] = shrink * jk - a * pk;
    }
    bi = shrink * bi + a;
    bj = shrink * bj - a;
}

// Samples [s0, s1) of an epoch, drawn from rng. A three-stage pipeline over a ring of draws:
// sample s + 2A is drawn and its interactions' ids prefetched; sample s + A reads those ids and
// prefetches the factor rows and the user's row bounds; sample s is verified and applied.
template <typename T, typename I>
RECFORGE_MULTIVERSION BprTally bpr_range(const BprProblem<T, I>& p, Rng& rng, int64_t s0, int64_t s1, StopFlag& stop) {
    constexpr int64_t A = kBprAhead, mask = kBprRing - 1;
    static_assert(2 * A < kBprRing && (kBprRing & mask) == 0, "the ring must hold 2A + 1 draws");
    const int64_t row_bytes = p.f * static_cast<int64_t>(sizeof(T));
    BprDraw<T, I> ring[kBprRing];
    BprTally tally;
    auto draw = [&](BprDraw<T, I>& d) {
        d.e = static_cast<int64_t>(rng.index(static_cast<uint64_t>(p.nnz)));
        d.neg = bpr_negative_draw(p, rng);
        prefetch(p.user_of + d.e);
        prefetch(p.indices + d.e);
        if (p.popularity) prefetch(p.indices + d.neg);
    };
    auto resolve = [&](BprDraw<T, I>& d) {
        d.u = p.user_of[d.e];
        d.i = p.indices[d.e];
        d.j = bpr_negative_item(p, d.neg);
        prefetch_span(p.P + static_cast<int64_t>(d.u) * p.f, row_bytes);
        prefetch_span(p.Q + static_cast<int64_t>(d.i) * p.f, row_bytes);
        prefetch_span(p.Q + static_cast<int64_t>(d.j) * p.f, row_bytes);
        if (p.verify) prefetch(p.indptr + d.u);
    };
    for (int64_t s = s0; s < std::min(s1, s0 + 2 * A); ++s) draw(ring[s & mask]);
    for (int64_t s = s0; s < std::min(s1, s0 + A); ++s) resolve(ring[s & mask]);
    for (int64_t s = s0; s < s1; ++s) {
        if ((s & kStopCheckMask) == 0 && stop.requested()) break;  // Ctrl-C: the epoch is discarded
        if (s + 2 * A < s1) draw(ring[(s + 2 * A) & mask]);
        if (s + A < s1) resolve(ring[(s + A) & mask]);
        const BprDraw<T, I>& d = ring[s & mask];
        I j = d.j;
        bool skip = bpr_is_positive(p, d.u, d.i, j);  // one binary search per draw, no more
        for (int draws = 1; skip && draws < kBprDraws; ++draws) {
            j = bpr_negative_item(p, bpr_negative_draw(p, rng));
            skip = bpr_is_positive(p, d.u, d.i, j);
        }
        if (p.trace) {
            p.trace[3 * s] = d.u;
            p.trace[3 * s + 1] = d.i;
            p.trace[3 * s + 2] = skip ? -1 : static_cast<int64_t>(j);
        }
        if (skip)
            ++tally.skipped;
        else
            bpr_step(p, d.u, d.i, j, tally);
    }
    return tally;
}

}  // namespace detail

// Epochs first_epoch .. first_epoch + n_epochs - 1, each nnz draws shared among n_threads
// workers: worker w makes draws [nnz w / n, nnz (w + 1) / n) from Rng(seed of epoch t, w).
// tallies[k] receives what epoch first_epoch + k met. O(nnz f) per epoch, O(1) extra memory per
// worker. Running epochs one call at a time or all in one call gives the same draws.
template <typename T, typename I>
void bpr_epochs(const BprProblem<T, I>& p, uint64_t seed, int64_t first_epoch, int64_t n_epochs, int n_threads,
                BprTally* tallies) {
    std::vector<BprTally> worker(static_cast<size_t>(n_threads));
    StopFlag stop;
    for (int64_t t = first_epoch; t < first_epoch + n_epochs; ++t) {
        stop.check();
        const uint64_t seed_t = epoch_seed(seed, t);
        if (p.nnz > 0) {
#pragma omp parallel for schedule(static, 1) num_threads(n_threads)
            for (int w = 0; w < n_threads; ++w) {
                Rng rng(seed_t, static_cast<uint64_t>(w));
                worker[w] = detail::bpr_range(p, rng, p.nnz * w / n_threads, p.nnz * (w + 1) / n_threads, stop);
            }
        }
        stop.throw_if_requested();
        BprTally total;
        for (const BprTally& tw : worker) {
            total.loss += tw.loss;
            total.correct += tw.correct;
            total.skipped += tw.skipped;
        }
        tallies[t - first_epoch] = total;
    }
}

}  // namespace recforge

// Biased matrix factorisation for explicit ratings by stochastic gradient descent (Funk 2006,
// Koren, Bell & Volinsky 2009): r^_ui = mu + b_u + b_i + q_i . p_u, minimising
//
//     sum over rated (u, i) of (r_ui - r^_ui)^2 + reg (|p_u|^2 + |q_i|^2) + reg_bias (b_u^2 + b_i^2)
//
// one rating at a time, in a fresh random order every epoch (the same updates as
// scikit-surprise's SVD, which does not shuffle):
//
//     e = r_ui - r^_ui;  b_u += lr_bias (e - reg_bias b_u);  b_i += lr_bias (e - reg_bias b_i)
//     p_u += lr (e q_i - reg p_u);  q_i += lr (e p_u - reg q_i)   (both from the old p_u, q_i)
//
// Threads: stratified SGD (DSGD, Gemulla et al. 2011) instead of Hogwild. Users and items are
// dealt into B groups each (at random, once per fit, by the caller), which cuts the ratings into
// B x B blocks; an epoch visits B strata in random order, stratum s being the blocks (g, (g + s)
// mod B), which share no user and no item, so their blocks run in parallel without locks and
// without races. Every block is shuffled by its own random stream, so an epoch is a pure function
// of (seed, inputs) whatever the thread count: results are bit-identical for 1 or many threads
// (Hogwild's are not, and its threads fight over the cache lines of popular rows: on MovieLens
// 100K two Hogwild threads ran 3x slower than one). Parallelism is up to B threads.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "dense.hpp"
#include "multiversion.hpp"
#include "parallel.hpp"
#include "random.hpp"
#include "score_tile.hpp"

namespace recforge {

// The ratings as parallel arrays (users[e], items[e], ratings[e]) grouped by block: block
// (g, h) (user group g, item group h, g and h < n_groups) holds entries [block_ptr[g * n_groups
// + h], block_ptr[g * n_groups + h + 1]). The arrays are owned by the caller and shuffled within
// their blocks by every epoch. Factors P (n_users x f), Q (n_items x f), biases b_u, b_i,
// row-major, are updated in place. Preconditions (checked at the binding): ids in range, each
// user (item) in one user (item) group only, block_ptr non-decreasing from 0 to n.
template <typename T, typename I>
struct MfSgdProblem {
    I* users;
    I* items;
    T* ratings;
    int64_t n;
    const int64_t* block_ptr;  // n_groups^2 + 1
    int64_t n_groups;
    int64_t f;
    T* P;
    T* Q;
    T* user_bias;
    T* item_bias;
    T mu;
    T lr, reg, lr_bias, reg_bias;
};

namespace detail {

template <typename T, typename I>
RECFORGE_MULTIVERSION double mf_sgd_range(const MfSgdProblem<T, I>& p, int64_t e0, int64_t e1, StopFlag& stop) {
    const int64_t f = p.f;
    double squared_error = 0.0;
    for (int64_t e = e0; e < e1; ++e) {
        if ((e & kStopCheckMask) == 0 && stop.requested()) break;  // Ctrl-C: the epoch is discarded
        T* __restrict pu = p.P + static_cast<int64_t>(p.users[e]) * f;
        T* __restrict qi = p.Q + static_cast<int64_t>(p.items[e]) * f;
        T& bu = p.user_bias[p.users[e]];
        T& bi = p.item_bias[p.items[e]];
        const T err = p.ratings[e] - (p.mu + bu + bi + dense::dot(pu, qi, f));
        squared_error += static_cast<double>(err) * err;
        bu += p.lr_bias * (err - p.reg_bias * bu);
        bi += p.lr_bias * (err - p.reg_bias * bi);
        const T a = p.lr * err, shrink = T(1) - p.lr * p.reg;
        for (int64_t k = 0; k < f; ++k) {
            const T pk = pu[k], qk = qi[k];
            pu[k] = shrink * pk + a * qk;
            qi[k] = shrink * qk + a * pk;
        }
    }
    return squared_error;
}

}  // namespace detail

// Epochs first_epoch .. first_epoch + n_epochs - 1. Epoch t uses learning rates lr * decay^t and
// lr_bias * decay^t; it shuffles every block with its own stream of Rng(seed, t), then makes one
// SGD update per rating, stratum by stratum in an order drawn from the same seed; the blocks of a
// stratum run in parallel (dynamic schedule: block sizes follow popularity). Writes to
// errors[k] the sum of squared errors met before each update of the k-th epoch run (the running
// training error), summed in block order. O(n f) plus an O(n) shuffle per epoch; memory
// O(n_groups^2). Running epochs one call at a time or all in one call gives the same result.
template <typename T, typename I>
void mf_sgd_epochs(MfSgdProblem<T, I> p, double decay, uint64_t seed, int64_t first_epoch, int64_t n_epochs,
                   int n_threads, double* errors) {
    const int64_t B = p.n_groups, n_blocks = B * B;
    std::vector<double> block_errors(static_cast<size_t>(n_blocks), 0.0);
    std::vector<int64_t> strata(static_cast<size_t>(B));
    const T lr = p.lr, lr_bias = p.lr_bias;
    StopFlag stop;
    for (int64_t t = first_epoch; t < first_epoch + n_epochs; ++t) {
        stop.check();
        const uint64_t seed_t = epoch_seed(seed, t);
        const double scale = std::pow(decay, static_cast<double>(t));
        p.lr = static_cast<T>(lr * scale);
        p.lr_bias = static_cast<T>(lr_bias * scale);
        for (int64_t s = 0; s < B; ++s) strata[s] = s;
        Rng order(seed_t, static_cast<uint64_t>(n_blocks));
        for (int64_t s = B - 1; s > 0; --s) std::swap(strata[s], strata[order.index(static_cast<uint64_t>(s) + 1)]);
#pragma omp parallel num_threads(n_threads)
        {
#pragma omp for schedule(dynamic, 1)
            for (int64_t b = 0; b < n_blocks; ++b) {
                Rng rng(seed_t, static_cast<uint64_t>(b));
                const int64_t e0 = p.block_ptr[b];
                shuffle_together(p.users + e0, p.items + e0, p.ratings + e0, p.block_ptr[b + 1] - e0, rng);
            }
            for (int64_t s : strata) {  // the implicit barrier of each loop separates the strata
#pragma omp for schedule(dynamic, 1)
                for (int64_t g = 0; g < B; ++g) {
                    const int64_t b = g * B + (g + s) % B;
                    block_errors[b] = detail::mf_sgd_range(p, p.block_ptr[b], p.block_ptr[b + 1], stop);
                }
            }
        }
        stop.throw_if_requested();
        double total = 0.0;
        for (double e : block_errors) total += e;
        errors[t - first_epoch] = total;
    }
}

}  // namespace recforge

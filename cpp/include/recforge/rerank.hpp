// Re-ranking of every customer's candidate list to a final top-k, in one parallel call:
// maximal marginal relevance (Carbonell & Goldstein 1998), calibration to the customer's
// category mix (Steck, RecSys 2018), per-category caps, eligibility (allow / deny), additive
// boosts and a minimum number of new products (python/recforge/campaign/rerank.py).
//
// Greedy, one position at a time. For each still-eligible candidate c of list u:
//
//   value(c) = (1 - diversity) * (rel(c) + boost[c])
//              - diversity * max_{s chosen} sim(c, s)   (or the mean over the chosen s: mean_penalty,
//                                                        the intra-list similarity c would add)
//              - calibration * KL(p_u || q~(chosen + c))
//
// rel: the model's scores min-max scaled to [0, 1] within the list (scores of different models
// and customers are on different scales; 1 for every candidate when they are all equal).
// q~ = (1 - alpha) q + alpha p_u, q the category shares of the chosen items (each item counts
// once: Steck's uniform weighting), p_u the customer's target mix; KL sums over p_u's support.
// The best value wins; ties go to the earlier candidate (the model's order). A candidate is not
// eligible when it is denied, padding (-1), already chosen, or its category is at its cap; when
// the positions left equal the new products still owed, only new products are eligible (as long
// as one is left). Lists that run out of eligible candidates are padded with -1 (-inf scores).
//
// Each list is independent, so results do not depend on the thread count.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "recforge/csr.hpp"
#include "recforge/parallel.hpp"

namespace recforge {

template <typename T, typename I>
struct RerankProblem {
    int64_t n_lists = 0;
    int64_t width = 0;                    // candidates per list
    const int64_t* candidates = nullptr;  // n_lists x width, -1 = padding
    const T* scores = nullptr;            // n_lists x width
    int64_t k = 0;
    int64_t n_items = 0;  // candidate ids are < n_items

    double diversity = 0.0;
    CsrView<T, I> similarity;   // n_items x n_items, symmetric, canonical; n_rows == 0: none
    bool mean_penalty = false;  // the mean similarity to the chosen items, not the largest

    const int32_t* category = nullptr;  // per item, -1 = none; nullptr: no categories
    int64_t n_categories = 0;
    const int64_t* cap = nullptr;  // per category, < 0 = no cap; nullptr: none

    double calibration = 0.0;
    double calibration_alpha = 0.01;
    CsrView<T, I> target_mix;  // n_lists x n_categories, rows summing to 1; n_rows == 0: none

    const T* boost = nullptr;           // per item, added to rel; nullptr: none
    const uint8_t* eligible = nullptr;  // per item, 0 = never; nullptr: all
    const uint8_t* is_new = nullptr;    // per item; nullptr: no new products
    int64_t min_new = 0;

    int64_t* out_ids = nullptr;  // n_lists x k
    T* out_scores = nullptr;     // n_lists x k: the model's score of each chosen item
};

struct RerankReport {
    int64_t short_lists = 0;  // lists with fewer than k items
    int64_t missing_new = 0;  // lists with fewer than min_new new products
};

namespace detail {

// Per-thread buffers of the greedy loop.
struct RerankScratch {
    std::vector<double> bound;    // width: (1 - diversity) * (rel + boost), the most c can be worth
    std::vector<double> max_sim;  // width: largest similarity to the first seen[c] chosen items
    std::vector<int64_t> seen;    // width
    std::vector<int64_t> order;   // width: candidates by decreasing bound (stable)
    std::vector<uint8_t> taken;   // width: chosen or never eligible
    std::vector<int64_t> chosen;  // k: the items chosen so far
    std::vector<int64_t> count;   // n_categories
    std::vector<double> kl_if;    // n_categories: KL after adding an item of that category, NaN
                                  // outside the customer's mix
};

// KL(p || q~) after adding one item of category g (g == -1: an item without category) to a list
// whose category counts are `count` over `m` chosen items; p is the customer's mix (sparse).
template <typename T, typename I>
double kl_after(const CsrView<T, I>& mix, int64_t u, const std::vector<int64_t>& count, int64_t m, int64_t g,
                double alpha) {
    const double mm = static_cast<double>(m + 1);
    double kl = 0.0;
    for (int64_t e = mix.row_begin(u); e < mix.row_end(u); ++e) {
        const double p = static_cast<double>(mix.data[e]);
        if (!(p > 0.0)) continue;
        const int64_t h = static_cast<int64_t>(mix.indices[e]);
        const double n_h = static_cast<double>(count[static_cast<size_t>(h)]) + (h == g ? 1.0 : 0.0);
        const double q = (1.0 - alpha) * n_h / mm + alpha * p;
        kl += p * std::log(p / q);
    }
    return kl;
}

}  // namespace detail

// Every value is at most its candidate's bound (1 - diversity) * (rel + boost): the other terms
// only subtract. Each position scans the candidates by decreasing bound and stops at the first
// bound below the best value found: a position values a few candidates, not all of them. A
// candidate's largest similarity to the chosen items is brought up to date only when it is
// valued, by binary search in the rows of the items chosen since (negative similarities count as
// 0). Folding every chosen row into a dense array instead measured 2x slower: its scattered
// compare-and-store mispredicts. Ties go to the earlier candidate, as a full scan would.
template <typename T, typename I>
RerankReport rerank(const RerankProblem<T, I>& P, int n_threads) {
    const int64_t W = P.width, K = P.k;
    const bool use_sim = P.diversity > 0.0 && P.similarity.n_rows > 0;
    const bool use_cal = P.calibration > 0.0 && P.target_mix.n_rows > 0 && P.category != nullptr;
    const bool use_cat = P.category != nullptr;
    const T pad_score = -std::numeric_limits<T>::infinity();
    int64_t short_lists = 0, missing_new = 0;
    std::atomic<int64_t> first_bad_score{P.n_lists};
    ExceptionTrap trap;
    StopFlag stop;
#pragma omp parallel num_threads(n_threads) reduction(+ : short_lists, missing_new)
    {
        std::unique_ptr<detail::RerankScratch> S;
        trap.run([&] {
            S = std::make_unique<detail::RerankScratch>();
            S->bound.resize(static_cast<size_t>(W));
            S->max_sim.resize(static_cast<size_t>(W));
            S->seen.resize(static_cast<size_t>(W));
            S->order.resize(static_cast<size_t>(W));
            S->taken.resize(static_cast<size_t>(W));
            S->chosen.resize(static_cast<size_t>(K));
            if (use_cat) S->count.resize(static_cast<size_t>(P.n_categories));
            if (use_cal) S->kl_if.assign(static_cast<size_t>(P.n_categories), std::nan(""));
        });
#pragma omp for schedule(dynamic, 256)
        for (int64_t u = 0; u < P.n_lists; ++u) {
            if (!S || ((u & 1023) == 0 && stop.requested())) continue;
            const int64_t* cand = P.candidates + u * W;
            const T* score = P.scores + u * W;
            int64_t* out = P.out_ids + u * K;
            T* out_score = P.out_scores + u * K;
            // relevance scaled within the list; candidates never eligible are marked taken
            double lo = std::numeric_limits<double>::infinity(), hi = -lo;
            int64_t n_new_left = 0;
            bool unrankable = false;
            for (int64_t c = 0; c < W; ++c) {
                const int64_t item = cand[c];
                const double value = static_cast<double>(score[c]);
                const bool finite = std::isfinite(value);
                // NaN or +inf cannot be ranked (-inf leaves a candidate out); a flag, not a
                // branch, keeps this loop vectorised
                unrankable |= !finite && item >= 0 && value != -std::numeric_limits<double>::infinity();
                const bool ok = finite && item >= 0 && (P.eligible == nullptr || P.eligible[item] != 0);
                S->taken[static_cast<size_t>(c)] = ok ? 0 : 1;
                S->order[static_cast<size_t>(c)] = c;
                S->max_sim[static_cast<size_t>(c)] = 0.0;
                S->seen[static_cast<size_t>(c)] = 0;
                if (!ok) continue;
                lo = std::min(lo, static_cast<double>(score[c]));
                hi = std::max(hi, static_cast<double>(score[c]));
                if (P.is_new != nullptr && P.is_new[item]) ++n_new_left;
            }
            if (unrankable) {  // the first such list is named after the loop
                int64_t seen = first_bad_score.load(std::memory_order_relaxed);
                while (u < seen && !first_bad_score.compare_exchange_weak(seen, u, std::memory_order_relaxed)) {
                }
            }
            bool sorted = true;
            double previous = std::numeric_limits<double>::infinity();
            for (int64_t c = 0; c < W; ++c) {
                double& bound = S->bound[static_cast<size_t>(c)];
                bound = -std::numeric_limits<double>::infinity();
                if (S->taken[static_cast<size_t>(c)]) continue;
                const double rel = hi > lo ? (static_cast<double>(score[c]) - lo) / (hi - lo) : 1.0;
                bound =
                    (1.0 - P.diversity) * (rel + (P.boost != nullptr ? static_cast<double>(P.boost[cand[c]]) : 0.0));
                sorted = sorted && bound <= previous;
                previous = bound;
            }
            if (!sorted)  // models list their candidates best first: only boosts reorder them
                std::stable_sort(S->order.begin(), S->order.end(), [&](int64_t x, int64_t y) {
                    return S->bound[static_cast<size_t>(x)] > S->bound[static_cast<size_t>(y)];
                });
            if (use_cat) std::fill(S->count.begin(), S->count.end(), int64_t(0));
            int64_t m = 0, new_chosen = 0;
            for (; m < K; ++m) {
                const int64_t owed = std::max<int64_t>(0, P.min_new - new_chosen);
                const bool only_new = owed > 0 && K - m <= owed && n_new_left > 0;
                // KL after adding an item of category g: one value for every g outside the
                // customer's mix (only the list length changes), one per g inside it
                double kl_other = 0.0;
                if (use_cal) {
                    kl_other = detail::kl_after(P.target_mix, u, S->count, m, -1, P.calibration_alpha);
                    for (int64_t e = P.target_mix.row_begin(u); e < P.target_mix.row_end(u); ++e) {
                        const int64_t g = static_cast<int64_t>(P.target_mix.indices[e]);
                        S->kl_if[static_cast<size_t>(g)] =
                            detail::kl_after(P.target_mix, u, S->count, m, g, P.calibration_alpha);
                    }
                }
                int64_t best = -1;
                double best_value = -std::numeric_limits<double>::infinity();
                for (int64_t r = 0; r < W; ++r) {
                    const int64_t c = S->order[static_cast<size_t>(r)];
                    if (S->taken[static_cast<size_t>(c)]) continue;
                    const double bound = S->bound[static_cast<size_t>(c)];
                    if (best >= 0 && bound < best_value) break;  // nothing further can beat it
                    const int64_t item = cand[c];
                    const int64_t g = use_cat ? static_cast<int64_t>(P.category[item]) : -1;
                    if (P.cap != nullptr && g >= 0 && P.cap[g] >= 0 && S->count[static_cast<size_t>(g)] >= P.cap[g])
                        continue;
                    if (only_new && !P.is_new[item]) continue;
                    double value = bound;
                    if (use_sim) {  // bring c's largest (or summed) similarity up to the items chosen since
                        double& ms = S->max_sim[static_cast<size_t>(c)];
                        for (int64_t& j = S->seen[static_cast<size_t>(c)]; j < m; ++j) {
                            const double sim = csr_entry(P.similarity, S->chosen[static_cast<size_t>(j)], item);
                            ms = P.mean_penalty ? ms + std::max(sim, 0.0) : std::max(ms, sim);
                        }
                        value -= P.diversity * (P.mean_penalty && m > 0 ? ms / static_cast<double>(m) : ms);
                    }
                    if (use_cal) {
                        const double kl = g >= 0 ? S->kl_if[static_cast<size_t>(g)] : kl_other;
                        value -= P.calibration * (std::isnan(kl) ? kl_other : kl);
                    }
                    if (best < 0 || value > best_value || (value == best_value && c < best)) {
                        best = c;
                        best_value = value;
                    }
                }
                if (use_cal)
                    for (int64_t e = P.target_mix.row_begin(u); e < P.target_mix.row_end(u); ++e)
                        S->kl_if[static_cast<size_t>(P.target_mix.indices[e])] = std::nan("");
                if (best < 0) break;
                const int64_t item = cand[best];
                S->taken[static_cast<size_t>(best)] = 1;
                // An item listed twice (candidates merged from several sources) is chosen once:
                // a repeat is dropped and the position valued again (one check per position,
                // not per candidate valued)
                if (std::find(S->chosen.begin(), S->chosen.begin() + m, item) != S->chosen.begin() + m) {
                    --m;
                    continue;
                }
                S->chosen[static_cast<size_t>(m)] = item;
                out[m] = item;
                out_score[m] = score[best];
                if (use_cat && P.category[item] >= 0) ++S->count[static_cast<size_t>(P.category[item])];
                if (P.is_new != nullptr && P.is_new[item]) {
                    ++new_chosen;
                    --n_new_left;
                }
            }
            if (m < K) ++short_lists;
            if (new_chosen < P.min_new) ++missing_new;
            for (int64_t j = m; j < K; ++j) {
                out[j] = -1;
                out_score[j] = pad_score;
            }
        }
    }
    trap.rethrow();
    stop.throw_if_requested();
    if (const int64_t u = first_bad_score.load(); u < P.n_lists) {
        for (int64_t c = 0; c < W; ++c) {
            const T s = P.scores[u * W + c];
            if (P.candidates[u * W + c] >= 0 && !(s < std::numeric_limits<T>::infinity()))
                throw std::invalid_argument("scores holds " + std::string(std::isnan(s) ? "nan" : "inf") +
                                            " for candidate " + std::to_string(c) + " of list " + std::to_string(u) +
                                            " (item " + std::to_string(P.candidates[u * W + c]) +
                                            "): a candidate's score must be a number, or -inf to leave it out");
        }
    }
    return {short_lists, missing_new};
}

}  // namespace recforge

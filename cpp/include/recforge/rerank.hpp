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
// once: Steck's uniform weighting; an item of several categories, a film of two genres, adds
// its weight w(g|i) to each, 1/2 in Steck's p(g|i)), p_u the customer's target mix; KL sums over
// p_u's support.
// The best value wins; ties go to the earlier candidate (the model's order). A candidate is not
// eligible when it is denied, padding (-1), already chosen, or one of its categories is at its
// cap (an item counts in each of its categories); when
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

    CsrView<T, I> item_categories;  // n_items x n_categories, weights w(g|i) > 0 summing to 1 per
                                    // item with a category (rows sorted); n_rows == 0: none
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

// Lists up to this long look for a repeated item among the chosen ones (k of them: O(k^2) a
// list, nothing for short lists); longer ones mark the chosen items in a per-thread array of
// n_items bytes (k 3,000 of 3,500 candidates spent seconds in the search).
constexpr int64_t kFindChosen = 64;

// Per-thread buffers of the greedy loop.
struct RerankScratch {
    std::vector<double> bound;       // width: (1 - diversity) * (rel + boost), the most c can be worth
    std::vector<double> max_sim;     // width: largest similarity to the first seen[c] chosen items
    std::vector<int64_t> seen;       // width
    std::vector<int64_t> order;      // width: candidates by decreasing bound (stable)
    std::vector<uint8_t> taken;      // width: chosen or never eligible
    std::vector<int64_t> chosen;     // k: the items chosen so far
    std::vector<uint8_t> listed;     // n_items, long lists only: 1 for the items chosen so far
    std::vector<int64_t> slot_of;    // n_items, long lists with similarity: an item's first slot, -1
    std::vector<int64_t> next_slot;  // width: the item's next slot among the candidates, -1
    std::vector<int64_t> count;      // n_categories: chosen items in each (caps)
    std::vector<double> share;       // n_categories: their summed weights (calibration's q, times m)
    std::vector<double> p_of;        // n_categories: the customer's mix, 0 outside it
    std::vector<double> term;        // n_categories: p log(p / q~) of each category of the mix, now
    std::vector<double> delta;       // n_categories: its change when an item of it alone is added
                                     // (NaN: not needed yet at this position)
};

// p log(p / q~) of a category with target share p and summed weight n_h in a list of mm items.
inline double kl_term(double p, double n_h, double mm, double alpha) {
    const double q = (1.0 - alpha) * n_h / mm + alpha * p;
    return p * std::log(p / q);
}

// Whether one of the categories [first, last) of `cats` is at its cap (< 0: none).
template <typename T, typename I>
bool at_cap(const int64_t* cap, const CsrView<T, I>& cats, int64_t first, int64_t last,
            const std::vector<int64_t>& count) {
    for (int64_t e = first; e < last; ++e) {
        const size_t g = static_cast<size_t>(cats.indices[e]);
        if (cap[g] >= 0 && count[g] >= cap[g]) return true;
    }
    return false;
}

}  // namespace detail

// Every value is at most its candidate's bound (1 - diversity) * (rel + boost): the other terms
// only subtract. Each position scans the candidates by decreasing bound and stops at the first
// bound below the best value found: a position values a few candidates, not all of them. A
// candidate's largest similarity to the chosen items is brought up to date only when it is
// valued, by binary search in the rows of the items chosen since (negative similarities count as
// 0). Folding every chosen row into a dense array instead measured 2x slower for short lists:
// its scattered compare-and-store mispredicts. Lists longer than kFindChosen fold each chosen
// row at once (their candidates are valued again and again). Ties go to the earlier candidate,
// as a full scan would.
template <typename T, typename I>
RerankReport rerank(const RerankProblem<T, I>& P, int n_threads) {
    const int64_t W = P.width, K = P.k;
    const bool use_sim = P.diversity > 0.0 && P.similarity.n_rows > 0;
    const bool use_cat = P.item_categories.n_rows > 0;
    const bool use_cal = P.calibration > 0.0 && P.target_mix.n_rows > 0 && use_cat;
    // Long lists mark their chosen items (listed) and, with a similarity, fold each chosen row at once.
    const bool long_list = K > detail::kFindChosen;
    const bool eager = use_sim && long_list;
    const CsrView<T, I>& cats = P.item_categories;
    // Whether an item has several categories: its KL is then not bounded below by the single
    // categories' (a film of two genres can fit a mix better than either genre alone)
    bool several = false;
    for (int64_t j = 0; use_cal && !several && j < cats.n_rows; ++j)
        several = cats.row_end(j) - cats.row_begin(j) > 1 ||
                  (cats.row_end(j) > cats.row_begin(j) && cats.data[cats.row_begin(j)] != T(1));
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
            if (long_list) S->listed.assign(static_cast<size_t>(P.n_items), 0);
            if (eager) {
                S->slot_of.assign(static_cast<size_t>(P.n_items), -1);
                S->next_slot.resize(static_cast<size_t>(W));
            }
            if (use_cat) S->count.resize(static_cast<size_t>(P.n_categories));
            if (use_cal) {
                S->share.resize(static_cast<size_t>(P.n_categories));
                S->p_of.resize(static_cast<size_t>(P.n_categories));
                S->term.resize(static_cast<size_t>(P.n_categories));
                S->delta.resize(static_cast<size_t>(P.n_categories));
            }
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
            if (use_cal)
                for (int64_t e = P.target_mix.row_begin(u); e < P.target_mix.row_end(u); ++e)
                    S->p_of[static_cast<size_t>(P.target_mix.indices[e])] =
                        std::max(static_cast<double>(P.target_mix.data[e]), 0.0);
            // A long list keeps every candidate's similarity to the chosen items up to date as each
            // is chosen (its row's entries, through the candidates' slots), where a short one brings
            // a candidate up to date when it is valued: at k 1,000 of 1,000 candidates each was
            // brought up to date hundreds of times, a search in a chosen item's row each time.
            // Both add the chosen items' similarities in the order they were chosen: the same sums.
            if (eager)
                for (int64_t c = W - 1; c >= 0; --c)
                    if (cand[c] >= 0) {
                        int64_t& first = S->slot_of[static_cast<size_t>(cand[c])];
                        S->next_slot[static_cast<size_t>(c)] = first;
                        first = c;
                    }
            int64_t m = 0, new_chosen = 0;
            int64_t head = 0;  // order[0, head) are taken: each position's scan starts after them
            for (; m < K; ++m) {
                const int64_t owed = std::max<int64_t>(0, P.min_new - new_chosen);
                const bool only_new = owed > 0 && K - m <= owed && n_new_left > 0;
                // KL(p || q~) of the list with one item more that adds to no category of the
                // customer's mix, and each mix category's term in it: a candidate's KL is that
                // plus, for each of its categories in the mix, its term's change (O(|p|) logs
                // a position; valuing every category from scratch took O(|p|^2), and 15 s a
                // million customers of 16 categories each).
                double kl_other = 0.0;
                const double mm = static_cast<double>(m + 1);
                if (use_cal)
                    for (int64_t e = P.target_mix.row_begin(u); e < P.target_mix.row_end(u); ++e) {
                        const double p = static_cast<double>(P.target_mix.data[e]);
                        if (!(p > 0.0)) continue;
                        const size_t h = static_cast<size_t>(P.target_mix.indices[e]);
                        S->term[h] = detail::kl_term(p, S->share[h], mm, P.calibration_alpha);
                        S->delta[h] = std::nan("");
                        kl_other += S->term[h];
                    }
                // The least KL any candidate can have: a candidate's value is at most its bound
                // less that, so the scan stops sooner (without it, calibration valued nearly
                // every candidate at every position). Items of one category: kl_other plus the
                // most negative change; else 0.
                double kl_least = 0.0;
                if (use_cal && !several) {
                    double least_change = 0.0;
                    for (int64_t e = P.target_mix.row_begin(u); e < P.target_mix.row_end(u); ++e) {
                        const double p = static_cast<double>(P.target_mix.data[e]);
                        if (!(p > 0.0)) continue;
                        const size_t h = static_cast<size_t>(P.target_mix.indices[e]);
                        S->delta[h] = detail::kl_term(p, S->share[h] + 1.0, mm, P.calibration_alpha) - S->term[h];
                        least_change = std::min(least_change, S->delta[h]);
                    }
                    kl_least = kl_other + least_change;
                }
                const double least_cost = P.calibration * kl_least;
                int64_t best = -1;
                double best_value = -std::numeric_limits<double>::infinity();
                while (head < W && S->taken[static_cast<size_t>(S->order[static_cast<size_t>(head)])]) ++head;
                for (int64_t r = head; r < W; ++r) {
                    const int64_t c = S->order[static_cast<size_t>(r)];
                    if (S->taken[static_cast<size_t>(c)]) continue;
                    const double bound = S->bound[static_cast<size_t>(c)];
                    if (best >= 0 && bound - least_cost < best_value) break;  // nothing further can beat it
                    const int64_t item = cand[c];
                    const int64_t first = use_cat ? cats.row_begin(item) : 0;
                    const int64_t last = use_cat ? cats.row_end(item) : 0;
                    if (P.cap != nullptr && detail::at_cap(P.cap, cats, first, last, S->count)) continue;
                    if (only_new && !P.is_new[item]) continue;
                    double value = bound;
                    if (eager) {
                        const double ms = S->max_sim[static_cast<size_t>(c)];
                        value -= P.diversity * (P.mean_penalty && m > 0 ? ms / static_cast<double>(m) : ms);
                    } else if (use_sim) {  // bring c's largest (or summed) similarity up to the items chosen since
                        double& ms = S->max_sim[static_cast<size_t>(c)];
                        for (int64_t& j = S->seen[static_cast<size_t>(c)]; j < m; ++j) {
                            const double sim = csr_entry(P.similarity, S->chosen[static_cast<size_t>(j)], item);
                            ms = P.mean_penalty ? ms + std::max(sim, 0.0) : std::max(ms, sim);
                        }
                        value -= P.diversity * (P.mean_penalty && m > 0 ? ms / static_cast<double>(m) : ms);
                    }
                    if (use_cal) {
                        double kl = kl_other;
                        if (last - first == 1 && cats.data[first] == T(1)) {            // one category: its change
                            const size_t g = static_cast<size_t>(cats.indices[first]);  // kept for the
                            const double p = S->p_of[g];  // position's other candidates of it
                            if (p > 0.0) {
                                double& d = S->delta[g];
                                if (std::isnan(d))
                                    d = detail::kl_term(p, S->share[g] + 1.0, mm, P.calibration_alpha) - S->term[g];
                                kl += d;
                            }
                        } else {
                            for (int64_t e = first; e < last; ++e) {
                                const size_t g = static_cast<size_t>(cats.indices[e]);
                                const double p = S->p_of[g];
                                if (p > 0.0)
                                    kl += detail::kl_term(p, S->share[g] + static_cast<double>(cats.data[e]), mm,
                                                          P.calibration_alpha) -
                                          S->term[g];
                            }
                        }
                        value -= P.calibration * kl;
                    }
                    if (best < 0 || value > best_value || (value == best_value && c < best)) {
                        best = c;
                        best_value = value;
                    }
                }
                if (best < 0) break;
                const int64_t item = cand[best];
                S->taken[static_cast<size_t>(best)] = 1;
                // An item listed twice (candidates merged from several sources) is chosen once:
                // a repeat is dropped and the position valued again (one check per position,
                // not per candidate valued)
                const bool repeat =
                    long_list ? S->listed[static_cast<size_t>(item)] != 0
                              : std::find(S->chosen.begin(), S->chosen.begin() + m, item) != S->chosen.begin() + m;
                if (repeat) {
                    --m;
                    continue;
                }
                if (long_list) S->listed[static_cast<size_t>(item)] = 1;
                S->chosen[static_cast<size_t>(m)] = item;
                if (eager)  // every candidate's similarity to the items chosen, this one now too
                    for (int64_t e = P.similarity.row_begin(item); e < P.similarity.row_end(item); ++e) {
                        const double sim = static_cast<double>(P.similarity.data[e]);
                        for (int64_t c = S->slot_of[static_cast<size_t>(P.similarity.indices[e])]; c >= 0;
                             c = S->next_slot[static_cast<size_t>(c)]) {
                            double& ms = S->max_sim[static_cast<size_t>(c)];
                            ms = P.mean_penalty ? ms + std::max(sim, 0.0) : std::max(ms, sim);
                        }
                    }
                out[m] = item;
                out_score[m] = score[best];
                if (use_cat)
                    for (int64_t e = cats.row_begin(item); e < cats.row_end(item); ++e) {
                        ++S->count[static_cast<size_t>(cats.indices[e])];
                        if (use_cal)
                            S->share[static_cast<size_t>(cats.indices[e])] += static_cast<double>(cats.data[e]);
                    }
                if (P.is_new != nullptr && P.is_new[item]) {
                    ++new_chosen;
                    --n_new_left;
                }
            }
            // back to zero for the next list, touching only what this one set (a catalogue of
            // many categories is not cleared a list)
            if (long_list)
                for (int64_t j = 0; j < m; ++j) S->listed[static_cast<size_t>(S->chosen[static_cast<size_t>(j)])] = 0;
            if (eager)
                for (int64_t c = 0; c < W; ++c)
                    if (cand[c] >= 0) S->slot_of[static_cast<size_t>(cand[c])] = -1;
            if (use_cat)
                for (int64_t j = 0; j < m; ++j)
                    for (int64_t e = cats.row_begin(S->chosen[static_cast<size_t>(j)]);
                         e < cats.row_end(S->chosen[static_cast<size_t>(j)]); ++e) {
                        S->count[static_cast<size_t>(cats.indices[e])] = 0;
                        if (use_cal) S->share[static_cast<size_t>(cats.indices[e])] = 0.0;
                    }
            if (use_cal)
                for (int64_t e = P.target_mix.row_begin(u); e < P.target_mix.row_end(u); ++e)
                    S->p_of[static_cast<size_t>(P.target_mix.indices[e])] = 0.0;
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

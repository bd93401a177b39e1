// Neighbourhood rating prediction (scikit-surprise's KNNBasic / KNNWithMeans / KNNBaseline): for a
// pair (c, e) of a context c (the user, item-based) and an entity e (the item), the neighbours
// are the k entities most similar to e among those c rated; with the positive similarities s_j
// among them and the deviations d_cj of c's ratings (rating minus its baseline, mean or 0),
//
//     delta(c, e) = sum_j s_j d_cj / sum_j s_j     (0 when fewer than min_k neighbours or sum 0)
//
// and the caller adds the pair's baseline. The pairs are visited grouped by entity (`order`):
// each thread scatters e's similarity row into a dense array once per group, and every pair of
// the group then looks its context's ratings up in O(1): O(nnz of the visited S rows + sum of
// the contexts' rating counts) in all. Equal similarities: the lower entity id is taken first.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "csr.hpp"
#include "parallel.hpp"

namespace recforge {

template <typename T, typename I>
struct KnnPredictProblem {
    CsrView<T, I> S;          // n_entities x n_entities (any order within a row)
    CsrView<T, I> D;          // n_contexts x n_entities: deviations of the ratings
    const int64_t* contexts;  // n pairs (any value: out of range means unknown)
    const int64_t* entities;
    const int64_t* order;  // a permutation of the pairs grouping equal entities
    int64_t n;
    int64_t k, min_k;
    double* delta;  // out, n
    int64_t* used;  // out, n: neighbours that contributed
};

struct Neighbour {
    double similarity, deviation;
    int64_t id;
};

// Parallel over fixed chunks of the ordered pairs; each pair is computed alone, in a fixed order,
// so results do not depend on the thread count. Memory O(threads * n_entities).
template <typename T, typename I>
void knn_predict(const KnnPredictProblem<T, I>& P, int n_threads) {
    constexpr int64_t kChunk = 512;
    const int64_t n_entities = P.S.n_rows, n_contexts = P.D.n_rows;
    const int64_t n_chunks = (P.n + kChunk - 1) / kChunk;
    ExceptionTrap trap;
    StopFlag stop;
#pragma omp parallel num_threads(n_threads)
    {
        std::vector<Neighbour> found;
        std::vector<double> similarity;
        std::vector<int64_t> stamp;  // stamp[j] == x: similarity[j] holds s_xj
#pragma omp for schedule(dynamic, 1)
        for (int64_t chunk = 0; chunk < n_chunks; ++chunk) {
            if (stop.requested()) continue;  // Ctrl-C: skip the remaining chunks
            trap.run([&] {
                if (stamp.empty()) {
                    similarity.assign(static_cast<size_t>(n_entities), 0.0);
                    stamp.assign(static_cast<size_t>(n_entities), -1);
                }
                int64_t scattered = -1;
                for (int64_t q = chunk * kChunk; q < std::min(P.n, (chunk + 1) * kChunk); ++q) {
                    const int64_t e = P.order[q], c = P.contexts[e], x = P.entities[e];
                    P.delta[e] = 0.0;
                    P.used[e] = 0;
                    if (c < 0 || c >= n_contexts || x < 0 || x >= n_entities) continue;
                    if (x != scattered) {
                        if (scattered >= 0)
                            for (I p = P.S.indptr[scattered]; p < P.S.indptr[scattered + 1]; ++p)
                                stamp[P.S.indices[p]] = -1;
                        for (I p = P.S.indptr[x]; p < P.S.indptr[x + 1]; ++p) {
                            stamp[P.S.indices[p]] = x;
                            similarity[P.S.indices[p]] = P.S.data[p];
                        }
                        scattered = x;
                    }
                    found.clear();
                    for (I p = P.D.indptr[c]; p < P.D.indptr[c + 1]; ++p) {
                        const I j = P.D.indices[p];
                        if (stamp[j] != x || !(similarity[j] > 0.0)) continue;
                        found.push_back({similarity[j], static_cast<double>(P.D.data[p]), static_cast<int64_t>(j)});
                    }
                    auto before = [](const Neighbour& a, const Neighbour& b) {
                        return a.similarity > b.similarity || (a.similarity == b.similarity && a.id < b.id);
                    };
                    if (static_cast<int64_t>(found.size()) > P.k) {
                        std::nth_element(found.begin(), found.begin() + P.k, found.end(), before);
                        found.resize(static_cast<size_t>(P.k));
                    }
                    std::sort(found.begin(), found.end(), before);  // a fixed summation order
                    double weighted = 0.0, total = 0.0;
                    for (const Neighbour& nb : found) {
                        weighted += nb.similarity * nb.deviation;
                        total += nb.similarity;
                    }
                    const auto count = static_cast<int64_t>(found.size());
                    if (count >= P.min_k && count > 0 && total > 0.0) {
                        P.delta[e] = weighted / total;
                        P.used[e] = count;
                    }
                }
                if (scattered >= 0)
                    for (I p = P.S.indptr[scattered]; p < P.S.indptr[scattered + 1]; ++p) stamp[P.S.indices[p]] = -1;
            });
        }
    }
    trap.rethrow();
    stop.throw_if_requested();
}

}  // namespace recforge

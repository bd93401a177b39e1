// recforge._core.knn_predict: bind knn_predict.hpp (see python/recforge/models/knn_regressor.py).
#include <string>

#include "common.hpp"
#include "recforge/knn_predict.hpp"

namespace recforge::bind {

namespace {

template <typename T, typename I>
py::tuple predict(const py::array& s_indptr, const py::array& s_indices, const py::array& s_data,
                  const py::array& d_indptr, const py::array& d_indices, const py::array& d_data, int64_t n_contexts,
                  const py::array& contexts, const py::array& entities, const py::array& order, int64_t k,
                  int64_t min_k, int n_threads) {
    const int64_t n_entities = s_indptr.size() - 1;
    KnnPredictProblem<T, I> P{};
    P.S = checked_csr<T, I>("similarity", n_entities, n_entities, s_indptr, s_indices, s_data, true, false);
    P.D = checked_csr<T, I>("deviations", n_contexts, n_entities, d_indptr, d_indices, d_data, true, false);
    P.n = contexts.size();
    P.contexts = checked_vector<int64_t>(contexts, "contexts", P.n, false);
    P.entities = checked_vector<int64_t>(entities, "entities", P.n, false);
    P.order = checked_vector<int64_t>(order, "order", P.n, false);
    for (int64_t q = 0; q < P.n; ++q)
        if (P.order[q] < 0 || P.order[q] >= P.n) throw py::value_error("order holds an index out of range");
    P.k = k;
    P.min_k = min_k;
    py::array_t<double> delta(P.n);
    py::array_t<int64_t> used(P.n);
    P.delta = delta.mutable_data();
    P.used = used.mutable_data();
    {
        py::gil_scoped_release release;
        knn_predict(P, n_threads);
    }
    return py::make_tuple(delta, used);
}

}  // namespace

void bind_knn(py::module_& m) {
    m.def(
        "knn_predict",
        [](const py::array& s_indptr, const py::array& s_indices, const py::array& s_data, const py::array& d_indptr,
           const py::array& d_indices, const py::array& d_data, int64_t n_contexts, const py::array& contexts,
           const py::array& entities, const py::array& order, int64_t k, int64_t min_k, int n_threads) {
            if (k < 1) throw py::value_error("k must be >= 1");
            if (min_k < 0) throw py::value_error("min_k must be >= 0");
            n_threads = kernel_threads(n_threads);
            if (s_indptr.size() < 1) throw py::value_error("similarity.indptr is empty");
            return dispatch_csr("similarity", s_indptr, s_indices, s_data, [&](auto t, auto i) {
                return predict<decltype(t), decltype(i)>(s_indptr, s_indices, s_data, d_indptr, d_indices, d_data,
                                                         n_contexts, contexts, entities, order, k, min_k, n_threads);
            });
        },
        py::arg("s_indptr"), py::arg("s_indices"), py::arg("s_data"), py::arg("d_indptr"), py::arg("d_indices"),
        py::arg("d_data"), py::arg("n_contexts"), py::arg("contexts"), py::arg("entities"), py::arg("order"),
        py::arg("k"), py::arg("min_k"), py::arg("n_threads"),
        "Neighbourhood deviations of (context, entity) pairs: (delta, neighbours used); see knn_predict.hpp.");
}

}  // namespace recforge::bind

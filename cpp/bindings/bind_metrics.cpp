// recforge._core.ranking_metrics: binds metrics.hpp (see python/recforge/metrics.py).
#include <string>

#include "common.hpp"
#include "recforge/metrics.hpp"

namespace recforge::bind {

void bind_metrics(py::module_& m) {
    m.def(
        "ranking_metrics",
        [](const py::array& recommended, const py::array& indptr, const py::array& indices, const py::array& data,
           int64_t n_items, int64_t k, int n_threads, bool per_user) {
            if (!has_dtype<int64_t>(recommended) || recommended.ndim() != 2 ||
                !(recommended.flags() & py::array::c_style))
                throw py::type_error("recommended_ids must be a C-contiguous 2-D int64 array");
            n_threads = kernel_threads(n_threads);
            const int64_t n_users = recommended.shape(0), width = recommended.shape(1);
            if (k < 1 || k > width)
                throw py::value_error("k must be in [1, " + std::to_string(width) +
                                      "] (the recommended columns), got " + std::to_string(k));
            const auto* rec = static_cast<const int64_t*>(recommended.data());
            return dispatch_csr("test", indptr, indices, data, [&](auto t, auto i) {
                using I = decltype(i);
                (void)t;
                // The kernel checks the rows as it reads them; only the ends of indptr are checked here.
                require_vector(indptr, "test.indptr");
                require_vector(indices, "test.indices");
                const auto* p = static_cast<const I*>(indptr.data());
                if (indptr.size() != n_users + 1 || p[0] != 0 || static_cast<int64_t>(p[n_users]) != indices.size())
                    throw py::value_error("test.indptr must have n_users + 1 entries, start at 0 and end at nnz");
                const auto* ix = static_cast<const I*>(indices.data());
                const int64_t n_blocks = (n_users + kMetricBlock - 1) / kMetricBlock;
                py::array_t<double> sums({n_blocks, static_cast<int64_t>(kNumRankingMetrics) + 1});
                py::array_t<double> values({per_user ? static_cast<int64_t>(kNumRankingMetrics) : 0, n_users});
                py::array_t<uint8_t> evaluated(per_user ? n_users : 0);
                RankingMetricsOutput out{per_user ? values.mutable_data() : nullptr,
                                         per_user ? evaluated.mutable_data() : nullptr, sums.mutable_data()};
                int64_t bad_user = -1, bad_id = 0, bad_row = -1;
                {
                    py::gil_scoped_release release;
                    ranking_metrics<I>(rec, n_users, width, k, p, ix, n_items, n_threads, out, &bad_user, &bad_id,
                                       &bad_row);
                }
                if (bad_row >= 0)
                    throw py::value_error("test row " + std::to_string(bad_row) +
                                          " is malformed (indptr decreasing or an index outside [0, " +
                                          std::to_string(n_items) + "))");
                if (bad_user >= 0)
                    throw py::value_error("recommended_ids holds " + std::to_string(bad_id) + " (user row " +
                                          std::to_string(bad_user) + "), outside [-1, " + std::to_string(n_items) +
                                          ")");
                return py::make_tuple(sums, values, evaluated);
            });
        },
        py::arg("recommended"), py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("n_items"),
        py::arg("k"), py::arg("n_threads"), py::arg("per_user"),
        "Per-block sums of precision, recall, f1, ndcg, ap, hit, rr and the evaluated count; with per_user, "
        "also every user's values (metric-major) and which users have a test set.");

    m.def(
        "auc",
        [](const py::array& recommended, const py::array& indptr, const py::array& indices, const py::array& data,
           int64_t n_items, const py::array& n_candidates, int n_threads) {
            if (!has_dtype<int64_t>(recommended) || recommended.ndim() != 2 ||
                !(recommended.flags() & py::array::c_style))
                throw py::type_error("recommended_ids must be a C-contiguous 2-D int64 array");
            const int64_t n_users = recommended.shape(0), width = recommended.shape(1);
            if (!has_dtype<int64_t>(n_candidates) || n_candidates.ndim() != 1 || n_candidates.size() != n_users ||
                !(n_candidates.flags() & py::array::c_style))
                throw py::type_error("n_candidates must be a C-contiguous int64 array with one entry per user");
            n_threads = kernel_threads(n_threads);
            return dispatch_csr("test", indptr, indices, data, [&](auto t, auto i) {
                using I = decltype(i);
                (void)t;
                using T = decltype(t);
                const CsrView<T, I> test =
                    checked_csr<T, I>("test", n_users, n_items, indptr, indices, data, false, false);
                py::array_t<double> out(n_users);
                int64_t bad_user = -1;
                {
                    py::gil_scoped_release release;
                    auc_per_user<I>(static_cast<const int64_t*>(recommended.data()), n_users, width, test.indptr,
                                    test.indices, n_items, static_cast<const int64_t*>(n_candidates.data()), n_threads,
                                    out.mutable_data(), &bad_user);
                }
                if (bad_user >= 0)
                    throw py::value_error("recommended_ids row " + std::to_string(bad_user) +
                                          " holds an id outside [-1, " + std::to_string(n_items) + ")");
                return out;
            });
        },
        py::arg("recommended"), py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("n_items"),
        py::arg("n_candidates"), py::arg("n_threads"),
        "Per-user ROC AUC of rankings against test rows (NaN where undefined); see metrics.hpp.");
}

}  // namespace recforge::bind

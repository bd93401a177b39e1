// recforge._core.gram_counts / gram_fill / sparse_ease: bind sparse_ease.hpp (see
// python/recforge/models/sparse_ease.py).
#include <limits>
#include <string>
#include <type_traits>

#include "common.hpp"
#include "recforge/sparse_ease.hpp"

namespace recforge::bind {

namespace {

// X (users x items) and XT (its transpose), from the Python layer's validated CSR parts.
template <typename T, typename I>
GramProblem<T, I> gram_problem(const py::array& x_indptr, const py::array& x_indices, const py::array& x_data,
                               const py::array& t_indptr, const py::array& t_indices, const py::array& t_data,
                               int64_t n_users, int64_t n_items, int64_t min_support) {
    if (min_support < 1) throw py::value_error("min_support must be >= 1");
    GramProblem<T, I> P;
    P.X = checked_csr<T, I>("X", n_users, n_items, x_indptr, x_indices, x_data, true, true, true);
    P.XT = checked_csr<T, I>("X.T", n_items, n_users, t_indptr, t_indices, t_data, true, true, true);
    if (P.X.nnz() != P.XT.nnz()) throw py::value_error("X and X.T must hold the same number of entries");
    P.min_support = min_support;
    return P;
}

// Runs f(problem) on X and X.T for the value and index types of X's arrays.
template <typename F>
decltype(auto) with_gram_problem(const py::array& x_indptr, const py::array& x_indices, const py::array& x_data,
                                 const py::array& t_indptr, const py::array& t_indices, const py::array& t_data,
                                 int64_t n_users, int64_t n_items, int64_t min_support, F&& f) {
    return dispatch_csr("X", x_indptr, x_indices, x_data, [&](auto t, auto i) {
        return f(gram_problem<decltype(t), decltype(i)>(x_indptr, x_indices, x_data, t_indptr, t_indices, t_data,
                                                        n_users, n_items, min_support));
    });
}

template <typename T, typename GI>
int64_t solve(const py::array& g_indptr, const py::array& g_indices, const py::array& g_data, const py::array& diag,
              double lambda, int64_t neighbours, const py::array& columns, const py::array& weights,
              const py::array& lengths, int n_threads) {
    const int64_t n = g_indptr.size() - 1;
    SparseEaseProblem<T, GI> P;
    P.G = checked_csr<T, GI>("gram", n, n, g_indptr, g_indices, g_data, true, true);
    P.diag = checked_vector<double>(diag, "diag", n, false);
    for (int64_t b = 0; b < n; ++b)
        if (!(P.diag[b] >= 0.0) || !std::isfinite(P.diag[b])) throw py::value_error("diag must be finite and >= 0");
    if (!(lambda > 0.0) || !std::isfinite(lambda)) throw py::value_error("regularization must be finite and > 0");
    if (neighbours < 1 || neighbours > std::max<int64_t>(n, 1))
        throw py::value_error("neighbours must be in [1, n_items]");
    P.lambda = lambda;
    P.neighbours = neighbours;
    P.columns = checked_vector<GI>(columns, "columns", n * neighbours, true);
    P.weights = checked_vector<T>(weights, "weights", n * neighbours, true);
    P.lengths = checked_vector<int64_t>(lengths, "lengths", n, true);
    py::gil_scoped_release release;
    return sparse_ease(P, n_threads);
}

}  // namespace

void bind_ease(py::module_& m) {
    m.def(
        "gram_counts",
        [](const py::array& x_indptr, const py::array& x_indices, const py::array& x_data, const py::array& t_indptr,
           const py::array& t_indices, const py::array& t_data, int64_t n_users, int64_t n_items, int64_t min_support,
           int n_threads) {
            n_threads = kernel_threads(n_threads);
            return with_gram_problem(x_indptr, x_indices, x_data, t_indptr, t_indices, t_data, n_users, n_items,
                                     min_support, [&](const auto& P) {
                                         py::array_t<int64_t> counts(n_items);
                                         int64_t* c = counts.mutable_data();
                                         {
                                             py::gil_scoped_release release;
                                             gram_count(P, c, n_threads);
                                         }
                                         return counts;
                                     });
        },
        py::arg("x_indptr"), py::arg("x_indices"), py::arg("x_data"), py::arg("t_indptr"), py::arg("t_indices"),
        py::arg("t_data"), py::arg("n_users"), py::arg("n_items"), py::arg("min_support"), py::arg("n_threads"),
        "Entries per row of X'X (the diagonal and pairs shared by >= min_support rows of X).");

    m.def(
        "gram_fill",
        [](const py::array& x_indptr, const py::array& x_indices, const py::array& x_data, const py::array& t_indptr,
           const py::array& t_indices, const py::array& t_data, int64_t n_users, int64_t n_items, int64_t min_support,
           const py::array& indptr, int n_threads) {
            n_threads = kernel_threads(n_threads);
            return with_gram_problem(
                x_indptr, x_indices, x_data, t_indptr, t_indices, t_data, n_users, n_items, min_support,
                [&](const auto& P) {
                    using T = std::remove_const_t<std::remove_pointer_t<decltype(P.X.data)>>;
                    auto fill = [&](auto gi) -> py::tuple {
                        using GI = decltype(gi);
                        const GI* p = checked_vector<GI>(indptr, "indptr", n_items + 1, false);
                        if (p[0] != 0) throw py::value_error("indptr must start at 0");
                        for (int64_t a = 0; a < n_items; ++a)
                            if (p[a + 1] < p[a]) throw py::value_error("indptr must be non-decreasing");
                        const int64_t nnz = static_cast<int64_t>(p[n_items]);
                        py::array_t<GI> indices(nnz);
                        py::array_t<T> values(nnz);
                        GI* ix = indices.mutable_data();
                        T* v = values.mutable_data();
                        int64_t wrong = 0;
                        {
                            py::gil_scoped_release release;
                            wrong = gram_fill(P, p, ix, v, n_threads);
                        }
                        if (wrong != 0)
                            throw py::value_error("indptr does not match gram_counts for " + std::to_string(wrong) +
                                                  " rows");
                        return py::make_tuple(indices, values);
                    };
                    if (has_dtype<int32_t>(indptr)) return fill(int32_t{});
                    if (has_dtype<int64_t>(indptr)) return fill(int64_t{});
                    throw py::type_error("indptr must be int32 or int64, got " + dtype_name(indptr));
                });
        },
        py::arg("x_indptr"), py::arg("x_indices"), py::arg("x_data"), py::arg("t_indptr"), py::arg("t_indices"),
        py::arg("t_data"), py::arg("n_users"), py::arg("n_items"), py::arg("min_support"), py::arg("indptr"),
        py::arg("n_threads"), "X'X's indices and values for the row pointers built from gram_counts.");

    m.def(
        "sparse_ease",
        [](const py::array& g_indptr, const py::array& g_indices, const py::array& g_data, const py::array& diag,
           double lambda, int64_t neighbours, const py::array& columns, const py::array& weights,
           const py::array& lengths, int n_threads) {
            n_threads = kernel_threads(n_threads);
            if (g_indptr.size() < 1) throw py::value_error("gram.indptr is empty, expected n_items + 1 entries");
            return dispatch_csr("gram", g_indptr, g_indices, g_data, [&](auto t, auto i) {
                return solve<decltype(t), decltype(i)>(g_indptr, g_indices, g_data, diag, lambda, neighbours, columns,
                                                       weights, lengths, n_threads);
            });
        },
        py::arg("g_indptr"), py::arg("g_indices"), py::arg("g_data"), py::arg("diag"), py::arg("regularization"),
        py::arg("neighbours"), py::arg("columns"), py::arg("weights"), py::arg("lengths"), py::arg("n_threads"),
        "Each item's EASE column over its strongest neighbours in X'X, into columns / weights / lengths (n x "
        "neighbours); returns the number of items whose system was not positive definite.");
}

}  // namespace recforge::bind

// recforge._core.topk_dense: binds topk_dense.hpp (see python/recforge/topk.py).
#include <limits>
#include <string>

#include "common.hpp"
#include "recforge/topk_dense.hpp"

namespace recforge::bind {

namespace {

template <typename T>
const T* checked_matrix(const py::array& a, const std::string& name, int64_t* rows, int64_t* cols) {
    if (!has_dtype<T>(a)) throw py::type_error(name + " must have the dtype of queries, got " + dtype_name(a));
    if (a.ndim() != 2) throw py::value_error(name + " must be 2-D");
    if (!(a.flags() & py::array::c_style)) throw py::value_error(name + " must be C-contiguous");
    *rows = a.shape(0);
    *cols = a.shape(1);
    return static_cast<const T*>(a.data());
}

template <typename T, typename I>
py::tuple run(const py::array& queries, const py::array& items, const py::object& exclude_indptr,
              const py::object& exclude_indices, const py::object& exclude_data, const py::object& allow,
              const DenseTopKOptions& opt) {
    int64_t n_q = 0, f = 0, n_items = 0, f_items = 0;
    const T* q = checked_matrix<T>(queries, "queries", &n_q, &f);
    const T* it = checked_matrix<T>(items, "items", &n_items, &f_items);
    if (f != f_items)
        throw py::value_error("queries and items must have the same number of columns, got " + std::to_string(f) +
                              " and " + std::to_string(f_items));
    ExclusionRows<I> ex;
    if (!exclude_indptr.is_none()) {
        const auto view = checked_csr<T, I>("exclude", n_q, n_items, exclude_indptr.cast<py::array>(),
                                            exclude_indices.cast<py::array>(), exclude_data.cast<py::array>(),
                                            false, false);
        ex.indptr = view.indptr;
        ex.indices = view.indices;
    }
    const I* allowed = nullptr;
    int64_t n_allow = 0;
    if (!allow.is_none()) {
        const auto a = allow.cast<py::array>();
        require_vector(a, "allow");
        if (!has_dtype<I>(a)) throw py::type_error("allow must have the index dtype of exclude");
        allowed = static_cast<const I*>(a.data());
        n_allow = a.size();
        for (int64_t c = 0; c < n_allow; ++c) {
            if (allowed[c] < 0 || allowed[c] >= n_items || (c > 0 && allowed[c] <= allowed[c - 1]))
                throw py::value_error("allow must hold sorted distinct item ids in [0, " + std::to_string(n_items) + ")");
        }
    }
    const int64_t k = opt.k;
    py::array_t<int64_t> ids({n_q, k});
    py::array_t<T> scores({n_q, k});
    int64_t* ids_out = ids.mutable_data();
    T* scores_out = scores.mutable_data();
    {
        py::gil_scoped_release release;
        topk_dense<T, I>(q, n_q, it, n_items, f, ex, allowed, n_allow, opt, ids_out, scores_out);
    }
    return py::make_tuple(ids, scores);
}

}  // namespace

void bind_topk(py::module_& m) {
    m.def(
        "topk_dense",
        [](const py::array& queries, const py::array& items, const py::object& exclude_indptr,
           const py::object& exclude_indices, const py::object& exclude_data, const py::object& allow, int64_t k,
           bool cosine, int n_threads) {
            if (k < 0) throw py::value_error("k must be >= 0, got " + std::to_string(k));
            if (n_threads < 1) throw py::value_error("n_threads must be >= 1 at the kernel boundary");
            DenseTopKOptions opt{k, cosine, n_threads};
            const bool i32 = !exclude_indptr.is_none() && has_dtype<int32_t>(exclude_indptr.cast<py::array>());
            if (has_dtype<float>(queries))
                return i32 ? run<float, int32_t>(queries, items, exclude_indptr, exclude_indices, exclude_data, allow, opt)
                           : run<float, int64_t>(queries, items, exclude_indptr, exclude_indices, exclude_data, allow, opt);
            if (has_dtype<double>(queries))
                return i32 ? run<double, int32_t>(queries, items, exclude_indptr, exclude_indices, exclude_data, allow, opt)
                           : run<double, int64_t>(queries, items, exclude_indptr, exclude_indices, exclude_data, allow, opt);
            throw py::type_error("queries must be float32 or float64, got " + dtype_name(queries));
        },
        py::arg("queries"), py::arg("items"), py::arg("exclude_indptr"), py::arg("exclude_indices"),
        py::arg("exclude_data"), py::arg("allow"), py::arg("k"), py::arg("cosine"), py::arg("n_threads"),
        "Exact inner-product top-k of each query row against all (allowed, not excluded) item rows.");
}

}  // namespace recforge::bind

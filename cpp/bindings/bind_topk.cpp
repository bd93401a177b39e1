// recforge._core.topk_dense: binds topk_dense.hpp (see python/recforge/topk.py).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "common.hpp"
#include "recforge/ranked_topk.hpp"
#include "recforge/topk_dense.hpp"
#include "recforge/topk_sparse.hpp"

namespace recforge::bind {

namespace {

// Sorted distinct ids in [0, n_items), as the kernels require (the Python layer makes them so).
template <typename I>
const I* checked_allow(const py::object& allow, int64_t n_items, int64_t* n_allow) {
    *n_allow = 0;
    if (allow.is_none()) return nullptr;
    const auto a = allow.cast<py::array>();
    require_vector(a, "allow");
    if (!has_dtype<I>(a)) throw py::type_error("allow must have the index dtype of the sparse inputs");
    const I* allowed = static_cast<const I*>(a.data());
    for (int64_t c = 0; c < a.size(); ++c) {
        if (allowed[c] < 0 || allowed[c] >= n_items || (c > 0 && allowed[c] <= allowed[c - 1]))
            throw py::value_error("allow must hold sorted distinct item ids in [0, " + std::to_string(n_items) + ")");
    }
    *n_allow = a.size();
    return allowed;
}

// Output width for k: never more columns than candidate items (the allowed ones, else all), so a
// huge k cannot allocate more than the catalogue; rows with fewer candidates are still padded.
inline int64_t candidate_width(int64_t k, bool has_allow, int64_t n_allow, int64_t n_items) {
    return std::min(k, has_allow ? n_allow : n_items);
}

template <typename T, typename I>
ExclusionRows<I> checked_exclusion(const py::object& indptr, const py::object& indices, const py::object& data,
                                   int64_t n_rows, int64_t n_items, bool trusted) {
    ExclusionRows<I> ex;
    if (indptr.is_none()) return ex;
    const auto view = checked_csr<T, I>("exclude", n_rows, n_items, indptr.cast<py::array>(), indices.cast<py::array>(),
                                        data.cast<py::array>(), false, false, trusted);
    ex.indptr = view.indptr;
    ex.indices = view.indices;
    return ex;
}

template <typename T, typename I>
py::tuple run(const py::array& queries, const py::array& items, const py::object& exclude_indptr,
              const py::object& exclude_indices, const py::object& exclude_data, const py::object& allow,
              const DenseTopKOptions& opt, bool opt_trusted, const py::object& packed) {
    int64_t n_q = 0, f = 0, n_items = 0, f_items = 0;
    const T* q = checked_matrix<T>(queries, "queries", &n_q, &f);
    const T* it = checked_matrix<T>(items, "items", &n_items, &f_items);
    if (f != f_items)
        throw py::value_error("queries and items must have the same number of columns, got " + std::to_string(f) +
                              " and " + std::to_string(f_items));
    const T* tiles = nullptr;
    if (!packed.is_none()) {  // pack_items(items, cosine) of these very items
        int64_t rows = 0, width = 0;
        tiles = checked_matrix<T>(packed.cast<py::array>(), "packed", &rows, &width);
        if (width != kTileItems || rows != (n_items + kTileItems - 1) / kTileItems * f)
            throw py::value_error("packed must be pack_items(items) of these items");
    }
    const ExclusionRows<I> ex =
        checked_exclusion<T, I>(exclude_indptr, exclude_indices, exclude_data, n_q, n_items, opt_trusted);
    int64_t n_allow = 0;
    const I* allowed = checked_allow<I>(allow, n_items, &n_allow);
    DenseTopKOptions capped = opt;
    capped.k = candidate_width(opt.k, allowed != nullptr, n_allow, n_items);
    const int64_t k = capped.k;
    py::array_t<int64_t> ids({n_q, k});
    py::array_t<T> scores({n_q, k});
    int64_t* ids_out = ids.mutable_data();
    T* scores_out = scores.mutable_data();
    {
        py::gil_scoped_release release;
        topk_dense<T, I>(q, n_q, it, n_items, f, ex, allowed, n_allow, capped, ids_out, scores_out, tiles);
    }
    return py::make_tuple(ids, scores);
}

template <typename T, typename I>
py::tuple run_sparse(const CsrView<T, I>& history, const py::array& s_indptr, const py::array& s_indices,
                     const py::array& s_data, int64_t n_items, const py::object& exclude_indptr,
                     const py::object& exclude_indices, const py::object& exclude_data, const py::object& allow,
                     int64_t k, int n_threads, const py::object& rows, bool trusted) {
    const int64_t* selected = nullptr;
    int64_t n_out = history.n_rows;
    if (!rows.is_none()) {
        const auto r = rows.cast<py::array>();
        require_vector(r, "rows");
        if (!has_dtype<int64_t>(r)) throw py::type_error("rows must be int64, got " + dtype_name(r));
        selected = static_cast<const int64_t*>(r.data());
        n_out = r.size();
        for (int64_t u = 0; u < n_out; ++u) {
            if (selected[u] < 0 || selected[u] >= history.n_rows)
                throw py::value_error("rows holds " + std::to_string(selected[u]) + ", outside [0, " +
                                      std::to_string(history.n_rows) + ")");
        }
    }
    bool sorted = false;
    const auto similarity = checked_csr<T, I>("similarity", history.n_cols, n_items, s_indptr, s_indices, s_data, false,
                                              false, trusted, &sorted);
    const ExclusionRows<I> ex =
        checked_exclusion<T, I>(exclude_indptr, exclude_indices, exclude_data, n_out, n_items, trusted);
    int64_t n_allow = 0;
    const I* allowed = checked_allow<I>(allow, n_items, &n_allow);
    k = candidate_width(k, allowed != nullptr, n_allow, n_items);
    py::array_t<int64_t> ids({n_out, k});
    py::array_t<T> scores({n_out, k});
    int64_t* ids_out = ids.mutable_data();
    T* scores_out = scores.mutable_data();
    {
        py::gil_scoped_release release;
        topk_sparse<T, I>(history, similarity, ex, allowed, n_allow, k, n_threads, ids_out, scores_out, selected, n_out,
                          sorted);
    }
    return py::make_tuple(ids, scores);
}

template <typename S, typename I>
py::tuple run_ranked(const py::array& order, const py::array& score, const py::object& exclude_indptr,
                     const py::object& exclude_indices, const py::object& exclude_data, int64_t n_rows, int64_t k,
                     int n_threads, bool trusted) {
    const int64_t n_items = score.size(), n_order = order.size();
    const int64_t* ranked = static_cast<const int64_t*>(order.data());
    std::vector<uint8_t> seen(static_cast<size_t>(n_items), 0);
    for (int64_t s = 0; s < n_order; ++s) {
        if (ranked[s] < 0 || ranked[s] >= n_items || seen[static_cast<size_t>(ranked[s])]++)
            throw py::value_error("order must hold distinct item ids in [0, " + std::to_string(n_items) + ")");
    }
    const ExclusionRows<I> ex =
        checked_exclusion<S, I>(exclude_indptr, exclude_indices, exclude_data, n_rows, n_items, trusted);
    const int64_t width = std::min(k, n_order);
    py::array_t<int64_t> ids({n_rows, width});
    py::array_t<S> scores({n_rows, width});
    int64_t* ids_out = ids.mutable_data();
    S* scores_out = scores.mutable_data();
    const S* values = static_cast<const S*>(score.data());
    {
        py::gil_scoped_release release;
        ranked_topk<S, I>(ranked, n_order, values, n_items, ex, n_rows, width, n_threads, ids_out, scores_out);
    }
    return py::make_tuple(ids, scores);
}

}  // namespace

void bind_topk(py::module_& m) {
    m.def(
        "ranked_topk",
        [](const py::array& order, const py::array& score, const py::object& exclude_indptr,
           const py::object& exclude_indices, const py::object& exclude_data, int64_t n_rows, int64_t k, int n_threads,
           bool trusted) {
            if (k < 0) throw py::value_error("k must be >= 0, got " + std::to_string(k));
            if (n_rows < 0) throw py::value_error("n_rows must be >= 0, got " + std::to_string(n_rows));
            require_vector(order, "order");
            require_vector(score, "score");
            if (!has_dtype<int64_t>(order)) throw py::type_error("order must be int64, got " + dtype_name(order));
            n_threads = kernel_threads(n_threads);
            const bool i32 = !exclude_indptr.is_none() && has_dtype<int32_t>(exclude_indptr.cast<py::array>());
            if (has_dtype<float>(score))
                return i32 ? run_ranked<float, int32_t>(order, score, exclude_indptr, exclude_indices, exclude_data,
                                                        n_rows, k, n_threads, trusted)
                           : run_ranked<float, int64_t>(order, score, exclude_indptr, exclude_indices, exclude_data,
                                                        n_rows, k, n_threads, trusted);
            if (has_dtype<double>(score))
                return i32 ? run_ranked<double, int32_t>(order, score, exclude_indptr, exclude_indices, exclude_data,
                                                         n_rows, k, n_threads, trusted)
                           : run_ranked<double, int64_t>(order, score, exclude_indptr, exclude_indices, exclude_data,
                                                         n_rows, k, n_threads, trusted);
            throw py::type_error("score must be float32 or float64, got " + dtype_name(score));
        },
        py::arg("order"), py::arg("score"), py::arg("exclude_indptr"), py::arg("exclude_indices"),
        py::arg("exclude_data"), py::arg("n_rows"), py::arg("k"), py::arg("n_threads"), py::arg("trusted") = false,
        "Top-k per row of one global ranking (order: item ids, best first): the first k items each row does not "
        "exclude, with score[item]; padded with -1 / -inf.");

    m.def(
        "topk_dense",
        [](const py::array& queries, const py::array& items, const py::object& exclude_indptr,
           const py::object& exclude_indices, const py::object& exclude_data, const py::object& allow, int64_t k,
           bool cosine, int n_threads, bool trusted, const py::object& packed, double shift) {
            if (k < 0) throw py::value_error("k must be >= 0, got " + std::to_string(k));
            if (!std::isfinite(shift)) throw py::value_error("shift must be finite");
            n_threads = kernel_threads(n_threads);
            DenseTopKOptions opt{k, cosine, n_threads, shift};
            const bool i32 = !exclude_indptr.is_none() && has_dtype<int32_t>(exclude_indptr.cast<py::array>());
            if (has_dtype<float>(queries))
                return i32 ? run<float, int32_t>(queries, items, exclude_indptr, exclude_indices, exclude_data, allow,
                                                 opt, trusted, packed)
                           : run<float, int64_t>(queries, items, exclude_indptr, exclude_indices, exclude_data, allow,
                                                 opt, trusted, packed);
            if (has_dtype<double>(queries))
                return i32 ? run<double, int32_t>(queries, items, exclude_indptr, exclude_indices, exclude_data, allow,
                                                  opt, trusted, packed)
                           : run<double, int64_t>(queries, items, exclude_indptr, exclude_indices, exclude_data, allow,
                                                  opt, trusted, packed);
            throw py::type_error("queries must be float32 or float64, got " + dtype_name(queries));
        },
        py::arg("queries"), py::arg("items"), py::arg("exclude_indptr"), py::arg("exclude_indices"),
        py::arg("exclude_data"), py::arg("allow"), py::arg("k"), py::arg("cosine"), py::arg("n_threads"),
        py::arg("trusted") = false, py::arg("packed") = py::none(), py::arg("shift") = 0.0,
        "Exact inner-product top-k of each query row against all (allowed, not excluded) item rows; "
        "shift: the pruning bound's shift of the items' last column (the result does not depend on it).");

    m.def(
        "pack_items",
        [](const py::array& items, bool cosine) -> py::array {
            auto pack = [&](auto zero) -> py::array {
                using T = decltype(zero);
                int64_t n = 0, f = 0;
                const T* it = checked_matrix<T>(items, "items", &n, &f);
                py::array_t<T> out({(n + kTileItems - 1) / kTileItems * f, kTileItems});
                T* dst = out.mutable_data();
                py::gil_scoped_release release;
                pack_item_tiles(it, n, f, cosine, dst);
                return out;
            };
            if (has_dtype<float>(items)) return pack(0.0f);
            if (has_dtype<double>(items)) return pack(0.0);
            throw py::type_error("items must be float32 or float64, got " + dtype_name(items));
        },
        py::arg("items"), py::arg("cosine"),
        "The items in topk_dense's tile layout, for its packed= argument (few-query calls skip packing).");

    m.def(
        "topk_sparse",
        [](const py::array& h_indptr, const py::array& h_indices, const py::array& h_data, int64_t n_rows,
           int64_t n_inner, const py::array& s_indptr, const py::array& s_indices, const py::array& s_data,
           int64_t n_items, const py::object& exclude_indptr, const py::object& exclude_indices,
           const py::object& exclude_data, const py::object& allow, int64_t k, int n_threads, const py::object& rows,
           bool trusted) {
            if (k < 0) throw py::value_error("k must be >= 0, got " + std::to_string(k));
            n_threads = kernel_threads(n_threads);
            return dispatch_csr("history", h_indptr, h_indices, h_data, [&](auto t, auto i) {
                using T = decltype(t);
                using I = decltype(i);
                const auto history =
                    checked_csr<T, I>("history", n_rows, n_inner, h_indptr, h_indices, h_data, false, false, trusted);
                if (!has_dtype<T>(s_data) || !has_dtype<I>(s_indptr) || !has_dtype<I>(s_indices))
                    throw py::type_error("similarity must have the value and index dtypes of history");
                return run_sparse<T, I>(history, s_indptr, s_indices, s_data, n_items, exclude_indptr, exclude_indices,
                                        exclude_data, allow, k, n_threads, rows, trusted);
            });
        },
        py::arg("h_indptr"), py::arg("h_indices"), py::arg("h_data"), py::arg("n_rows"), py::arg("n_inner"),
        py::arg("s_indptr"), py::arg("s_indices"), py::arg("s_data"), py::arg("n_items"), py::arg("exclude_indptr"),
        py::arg("exclude_indices"), py::arg("exclude_data"), py::arg("allow"), py::arg("k"), py::arg("n_threads"),
        py::arg("rows") = py::none(), py::arg("trusted") = false,
        "Top-k of each (selected) row of history . similarity over the reached, allowed, not excluded items.");
}

}  // namespace recforge::bind

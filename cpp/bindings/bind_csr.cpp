// recforge._core.check_csr: the C++ half of the CSR boundary (see python/recforge/_sparse.py);
// column_counts: a parallel bincount of a CSR's column indices; rank_within_rows: each entry's rank
// in its row by a key (the splits); contains_pairs: which (row, column) pairs a CSR stores (the
// events a split keeps with its pairs).
#include <cmath>

#include "common.hpp"

namespace recforge::bind {

void bind_csr(py::module_& m) {
    m.def(
        "check_csr",
        [](const py::array& indptr, const py::array& indices, const py::array& data, int64_t n_rows, int64_t n_cols,
           const std::string& name) {
            return dispatch_csr(name, indptr, indices, data, [&](auto t, auto i) {
                using T = decltype(t);
                using I = decltype(i);
                const auto* p = static_cast<const I*>(indptr.data());
                if (indptr.size() == 0) throw py::value_error(name + ".indptr is empty, expected n_rows + 1 entries");
                CsrCheck check;
                {
                    py::gil_scoped_release release;  // pure reads of memory the caller keeps alive
                    check =
                        check_csr<T, I>(name, n_rows, n_cols, p, indptr.size(), static_cast<const I*>(indices.data()),
                                        indices.size(), static_cast<const T*>(data.data()), data.size(), true);
                }
                if (!check.error.empty()) throw py::value_error(check.error);
                return check.canonical;
            });
        },
        py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("n_rows"), py::arg("n_cols"),
        py::arg("name") = "X",
        "Validate a CSR structure (indptr, indices in range, finite values); return whether every "
        "row's indices are strictly increasing. Raises ValueError naming `name` otherwise.");
    m.def(
        "column_counts",
        [](const py::array& indices, int64_t n_cols, int n_threads) {
            n_threads = kernel_threads(n_threads);
            require_vector(indices, "indices");
            if (n_cols < 0) throw py::value_error("n_cols must be >= 0");
            auto count = [&](auto* ix) {
                std::vector<int64_t> c;
                {
                    py::gil_scoped_release release;
                    c = column_counts(ix, indices.size(), n_cols, n_threads);
                }
                if (c.back() != 0)
                    throw py::value_error("indices holds " + std::to_string(c.back()) + " entries outside [0, " +
                                          std::to_string(n_cols) + ")");
                c.pop_back();
                return to_numpy(std::move(c));
            };
            if (has_dtype<int32_t>(indices)) return count(static_cast<const int32_t*>(indices.data()));
            if (has_dtype<int64_t>(indices)) return count(static_cast<const int64_t*>(indices.data()));
            throw py::type_error("indices must be int32 or int64, got " + dtype_name(indices));
        },
        py::arg("indices"), py::arg("n_cols"), py::arg("n_threads"),
        "Entries per column (int64, n_cols) of a sparse matrix's column indices: np.bincount in parallel; "
        "ValueError for an index outside [0, n_cols).");
    m.def(
        "rank_within_rows",
        [](const py::array& indptr, const py::array& key, int n_threads) {
            n_threads = kernel_threads(n_threads);
            require_vector(indptr, "indptr");
            if (indptr.size() == 0) throw py::value_error("indptr is empty, expected n_rows + 1 entries");
            const auto n_rows = static_cast<int64_t>(indptr.size()) - 1;
            auto run = [&](const auto* ip) {
                const int64_t nnz = static_cast<int64_t>(ip[n_rows]);
                if (static_cast<int64_t>(ip[0]) != 0 || nnz < 0)
                    throw py::value_error("indptr must start at 0 and end at the number of entries");
                for (int64_t r = 0; r < n_rows; ++r)
                    if (ip[r + 1] < ip[r]) throw py::value_error("indptr must not decrease");
                const double* k = checked_vector<double>(key, "key", nnz, false);
                for (int64_t p = 0; p < nnz; ++p)
                    if (std::isnan(k[p])) throw py::value_error("key holds NaN at entry " + std::to_string(p));
                py::array_t<int64_t> rank(nnz);
                int64_t* out = rank.mutable_data();
                {
                    py::gil_scoped_release release;
                    rank_within_rows(ip, n_rows, k, out, n_threads);
                }
                return rank;
            };
            if (has_dtype<int32_t>(indptr)) return run(static_cast<const int32_t*>(indptr.data()));
            if (has_dtype<int64_t>(indptr)) return run(static_cast<const int64_t*>(indptr.data()));
            throw py::type_error("indptr must be int32 or int64, got " + dtype_name(indptr));
        },
        py::arg("indptr"), py::arg("key"), py::arg("n_threads"),
        "Each entry's 0-based rank within its row ordered by key (float64, one per entry), ties by position.");
    m.def(
        "contains_pairs",
        [](const py::array& indptr, const py::array& indices, const py::array& data, int64_t n_rows, int64_t n_cols,
           const py::array& rows, const py::array& cols, int n_threads) {
            n_threads = kernel_threads(n_threads);
            return dispatch_csr("M", indptr, indices, data, [&](auto t, auto i) {
                using T = decltype(t);
                using I = decltype(i);
                // full check: the searches read each row's indices as sorted
                const auto M = checked_csr<T, I>("M", n_rows, n_cols, indptr, indices, data, false, true);
                require_vector(rows, "rows");
                const int64_t n = rows.size();
                const int64_t* r = checked_vector<int64_t>(rows, "rows", n, false);
                const int64_t* c = checked_vector<int64_t>(cols, "cols", n, false);
                for (int64_t q = 0; q < n; ++q)
                    if (r[q] < 0 || r[q] >= n_rows || c[q] < 0 || c[q] >= n_cols)
                        throw py::value_error("query " + std::to_string(q) + " (" + std::to_string(r[q]) + ", " +
                                              std::to_string(c[q]) + ") is outside the matrix");
                py::array_t<bool> found(n);
                {
                    py::gil_scoped_release release;
                    contains_pairs(M, r, c, n, reinterpret_cast<uint8_t*>(found.mutable_data()), n_threads);
                }
                return found;
            });
        },
        py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("n_rows"), py::arg("n_cols"), py::arg("rows"),
        py::arg("cols"), py::arg("n_threads"),
        "Whether each (rows[q], cols[q]) is stored in the canonical CSR M (bool, one per query).");
}

}  // namespace recforge::bind

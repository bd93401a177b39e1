// recforge._core.check_csr: the C++ half of the CSR boundary (see python/recforge/_sparse.py).
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
}

}  // namespace recforge::bind

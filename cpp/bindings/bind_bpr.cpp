// recforge._core.bpr_epochs: binds bpr.hpp (see python/recforge/models/bpr.py).
#include <cmath>
#include <string>

#include "common.hpp"
#include "recforge/bpr.hpp"

namespace recforge::bind {

namespace {

template <typename T>
T* checked_rows(const py::array& a, const std::string& name, int64_t rows, int64_t* cols) {
    int64_t r = 0;
    T* p = checked_matrix<T>(a, name, &r, cols);
    if (r != rows)
        throw py::value_error(name + " must have " + std::to_string(rows) + " rows, got " + std::to_string(r));
    if (!a.writeable()) throw py::value_error(name + " must be writeable");
    return p;
}

// TD: the interaction values' type (not read: BPR uses the pattern); T: the factors'.
template <typename TD, typename T, typename I>
py::tuple epochs(const py::array& indptr, const py::array& indices, const py::array& data, int64_t n_items,
                 const py::array& user_of, const py::array& P, const py::array& Q, const py::array& item_bias,
                 double lr, double reg, bool popularity, bool verify, uint64_t seed, int64_t first_epoch,
                 int64_t n_epochs, int n_threads, const py::object& trace) {
    const int64_t n_users = indptr.size() - 1;
    const auto csr = checked_csr<TD, I>("user_items", n_users, n_items, indptr, indices, data, false, true);
    BprProblem<T, I> p{};
    p.indptr = csr.indptr;
    p.indices = csr.indices;
    p.nnz = indices.size();
    p.user_of = checked_vector<I>(user_of, "user_of", p.nnz, false);
    for (int64_t u = 0; u < n_users; ++u)  // the sampler trusts user_of: check it names each entry's row
        for (I e = csr.indptr[u]; e < csr.indptr[u + 1]; ++e)
            if (p.user_of[e] != u)
                throw py::value_error("user_of[" + std::to_string(static_cast<int64_t>(e)) + "] must be the row " +
                                      std::to_string(u) + " of that entry");
    int64_t f = 0, f2 = 0;
    p.P = checked_rows<T>(P, "user_factors", n_users, &f);
    p.Q = checked_rows<T>(Q, "item_factors", n_items, &f2);
    if (f != f2) throw py::value_error("user_factors and item_factors must have the same number of columns");
    p.item_bias = checked_vector<T>(item_bias, "item_bias", n_items, true);
    p.n_users = n_users;
    p.n_items = n_items;
    p.f = f;
    p.lr = static_cast<T>(lr);
    p.reg = static_cast<T>(reg);
    p.popularity = popularity;
    p.verify = verify;
    if (!trace.is_none()) {
        const auto t = trace.cast<py::array>();
        int64_t rows = 0, cols = 0;
        p.trace = checked_matrix<int64_t>(t, "trace", &rows, &cols);
        if (rows != p.nnz || cols != 3 || !t.writeable())
            throw py::value_error("trace must be a writeable (nnz, 3) int64 array");
        if (n_epochs != 1) throw py::value_error("trace needs n_epochs = 1");
    }
    py::array_t<double> loss(n_epochs);
    py::array_t<int64_t> correct(n_epochs), skipped(n_epochs);
    std::vector<BprTally> tallies(static_cast<size_t>(n_epochs));
    {
        py::gil_scoped_release release;
        bpr_epochs(p, seed, first_epoch, n_epochs, n_threads, tallies.data());
    }
    for (int64_t k = 0; k < n_epochs; ++k) {
        loss.mutable_at(k) = tallies[k].loss;
        correct.mutable_at(k) = tallies[k].correct;
        skipped.mutable_at(k) = tallies[k].skipped;
    }
    return py::make_tuple(loss, correct, skipped);
}

}  // namespace

void bind_bpr(py::module_& m) {
    m.def(
        "bpr_epochs",
        [](const py::array& indptr, const py::array& indices, const py::array& data, int64_t n_items,
           const py::array& user_of, const py::array& P, const py::array& Q, const py::array& item_bias, double lr,
           double reg, bool popularity, bool verify, uint64_t seed, int64_t first_epoch, int64_t n_epochs,
           int n_threads, const py::object& trace) {
            if (!std::isfinite(lr) || !std::isfinite(reg)) throw py::value_error("lr and reg must be finite");
            if (first_epoch < 0 || n_epochs < 0) throw py::value_error("first_epoch and n_epochs must be >= 0");
            n_threads = kernel_threads(n_threads);
            if (n_items < 0) throw py::value_error("n_items must be >= 0");
            if (indptr.size() < 1) throw py::value_error("user_items.indptr is empty, expected n_users + 1 entries");
            return dispatch_csr("user_items", indptr, indices, data, [&](auto td, auto i) {
                using TD = decltype(td);
                using I = decltype(i);
                // The factors' dtype picks T: the interaction values are not read.
                if (has_dtype<float>(P))
                    return epochs<TD, float, I>(indptr, indices, data, n_items, user_of, P, Q, item_bias, lr, reg,
                                                popularity, verify, seed, first_epoch, n_epochs, n_threads, trace);
                if (has_dtype<double>(P))
                    return epochs<TD, double, I>(indptr, indices, data, n_items, user_of, P, Q, item_bias, lr, reg,
                                                 popularity, verify, seed, first_epoch, n_epochs, n_threads, trace);
                throw py::type_error("user_factors must be float32 or float64, got " + dtype_name(P));
            });
        },
        py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("n_items"), py::arg("user_of"),
        py::arg("user_factors"), py::arg("item_factors"), py::arg("item_bias"), py::arg("lr"), py::arg("reg"),
        py::arg("popularity"), py::arg("verify"), py::arg("seed"), py::arg("first_epoch"), py::arg("n_epochs"),
        py::arg("n_threads"), py::arg("trace") = py::none(),
        "Hogwild BPR epochs in place; returns per-epoch (sum of -ln sigma(x_uij), draws ranked correctly, draws "
        "skipped).");
}

}  // namespace recforge::bind

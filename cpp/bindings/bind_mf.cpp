// recforge._core.mf_sgd_epochs / ridge_rows / pair_dots: bind sgd_mf.hpp, ridge_rows.hpp, pair_dots.hpp (biased matrix
// factorisation for explicit ratings; see python/recforge/models/biased_mf.py).
#include <cmath>
#include <string>
#include <vector>

#include "common.hpp"
#include "recforge/pair_dots.hpp"
#include "recforge/ridge_rows.hpp"
#include "recforge/sgd_mf.hpp"

namespace recforge::bind {

namespace {

template <typename T>
T* checked_factors(const py::array& a, const std::string& name, int64_t rows, int64_t cols) {
    int64_t r = 0, c = 0;
    T* p = checked_matrix<T>(a, name, &r, &c);
    if (r != rows || c != cols)
        throw py::value_error(name + " must have shape (" + std::to_string(rows) + ", " + std::to_string(cols) +
                              "), got (" + std::to_string(r) + ", " + std::to_string(c) + ")");
    if (!a.writeable()) throw py::value_error(name + " must be writeable");
    return p;
}

template <typename I>
void require_ids(const I* ids, int64_t n, int64_t bound, const std::string& name) {
    for (int64_t e = 0; e < n; ++e)
        if (ids[e] < 0 || ids[e] >= bound)
            throw py::value_error(name + " holds " + std::to_string(static_cast<int64_t>(ids[e])) + " at " +
                                  std::to_string(e) + ", outside [0, " + std::to_string(bound) + ")");
}

// Each user (item) must sit in one user (item) group only: blocks of a stratum then share no
// factor row, which is what makes the parallel epoch race-free.
template <typename I>
void require_grouped(const I* ids, const int64_t* block_ptr, int64_t B, bool by_row, int64_t bound,
                     const std::string& name) {
    std::vector<int64_t> group(static_cast<size_t>(bound), -1);
    for (int64_t b = 0; b < B * B; ++b) {
        const int64_t g = by_row ? b / B : b % B;
        for (int64_t e = block_ptr[b]; e < block_ptr[b + 1]; ++e) {
            int64_t& seen = group[static_cast<size_t>(ids[e])];
            if (seen != g && seen != -1)
                throw py::value_error(name + " " + std::to_string(static_cast<int64_t>(ids[e])) +
                                      " appears in two groups of block_ptr");
            seen = g;
        }
    }
}

template <typename T, typename I>
py::array_t<double> sgd_epochs(const py::array& users, const py::array& items, const py::array& ratings,
                               const py::array& block_ptr, const py::array& P, const py::array& Q, const py::array& bu,
                               const py::array& bi, double mu, double lr, double reg, double lr_bias, double reg_bias,
                               double decay, uint64_t seed, int64_t first_epoch, int64_t n_epochs, int n_threads) {
    const int64_t n = ratings.size();
    MfSgdProblem<T, I> p{};
    p.users = checked_vector<I>(users, "users", n, true);
    p.items = checked_vector<I>(items, "items", n, true);
    p.ratings = checked_vector<T>(ratings, "ratings", n, true);
    int64_t n_users = 0, n_items = 0, f = 0, f2 = 0;
    checked_matrix<T>(P, "user_factors", &n_users, &f);
    checked_matrix<T>(Q, "item_factors", &n_items, &f2);
    p.P = checked_factors<T>(P, "user_factors", n_users, f);
    p.Q = checked_factors<T>(Q, "item_factors", n_items, f);
    p.user_bias = checked_vector<T>(bu, "user_bias", n_users, true);
    p.item_bias = checked_vector<T>(bi, "item_bias", n_items, true);
    require_ids(p.users, n, n_users, "users");
    require_ids(p.items, n, n_items, "items");
    require_vector(block_ptr, "block_ptr");
    if (!has_dtype<int64_t>(block_ptr)) throw py::type_error("block_ptr must be int64");
    const int64_t B = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(block_ptr.size() - 1))));
    if (B < 1 || B * B + 1 != block_ptr.size()) throw py::value_error("block_ptr must have n_groups^2 + 1 entries");
    const auto* bp = static_cast<const int64_t*>(block_ptr.data());
    if (bp[0] != 0 || bp[B * B] != n) throw py::value_error("block_ptr must run from 0 to the number of ratings");
    for (int64_t b = 0; b < B * B; ++b)
        if (bp[b + 1] < bp[b]) throw py::value_error("block_ptr must be non-decreasing");
    require_grouped(p.users, bp, B, true, n_users, "user");
    require_grouped(p.items, bp, B, false, n_items, "item");
    p.block_ptr = bp;
    p.n_groups = B;
    for (int64_t e = 0; e < n; ++e)
        if (!std::isfinite(p.ratings[e])) throw py::value_error("ratings holds NaN or inf");
    p.n = n;
    p.f = f;
    p.mu = static_cast<T>(mu);
    p.lr = static_cast<T>(lr);
    p.reg = static_cast<T>(reg);
    p.lr_bias = static_cast<T>(lr_bias);
    p.reg_bias = static_cast<T>(reg_bias);
    py::array_t<double> errors(n_epochs);
    double* out = errors.mutable_data();
    {
        py::gil_scoped_release release;
        mf_sgd_epochs(p, decay, seed, first_epoch, n_epochs, n_threads, out);
    }
    return errors;
}

template <typename T, typename I>
int64_t ridge(const py::array& indptr, const py::array& indices, const py::array& targets, int64_t n_cols,
              const py::array& F, const py::array& lambda, const py::array& X, int n_threads) {
    const int64_t n_rows = indptr.size() - 1;
    const auto csr = checked_csr<T, I>("targets", n_rows, n_cols, indptr, indices, targets, true, false);
    int64_t r = 0, d = 0;
    const T* f = checked_matrix<T>(F, "features", &r, &d);
    if (r != n_cols) throw py::value_error("features must have one row per column of targets");
    const double* lam = checked_vector<double>(lambda, "lambda", d, false);
    for (int64_t k = 0; k < d; ++k)
        if (!(lam[k] >= 0.0) || !std::isfinite(lam[k])) throw py::value_error("lambda must be finite and >= 0");
    T* x = checked_factors<T>(X, "solved", n_rows, d);
    RidgeRowsProblem<T, I> P{csr.indptr, csr.indices, csr.data, n_rows, n_cols, d, f, lam, x};
    py::gil_scoped_release release;
    return ridge_rows(P, n_threads);
}

template <typename T>
py::array_t<T> dots(const py::array& P, const py::array& Q, const py::array& users, const py::array& items,
                    int n_threads) {
    int64_t n_users = 0, n_items = 0, f = 0, f2 = 0;
    const T* p = checked_matrix<T>(P, "user_factors", &n_users, &f);
    const T* q = checked_matrix<T>(Q, "item_factors", &n_items, &f2);
    if (f != f2) throw py::value_error("user_factors and item_factors must have the same number of columns");
    const int64_t n = users.size();
    const int64_t* u = checked_vector<int64_t>(users, "user_ids", n, false);
    const int64_t* i = checked_vector<int64_t>(items, "item_ids", n, false);
    py::array_t<T> out(n);
    T* o = out.mutable_data();
    py::gil_scoped_release release;
    pair_dots(p, n_users, q, n_items, f, u, i, n, o, n_threads);
    return out;
}

}  // namespace

void bind_mf(py::module_& m) {
    m.def(
        "mf_sgd_epochs",
        [](const py::array& users, const py::array& items, const py::array& ratings, const py::array& block_ptr,
           const py::array& P, const py::array& Q, const py::array& bu, const py::array& bi, double mu, double lr,
           double reg, double lr_bias, double reg_bias, double decay, uint64_t seed, int64_t first_epoch,
           int64_t n_epochs, int n_threads) {
            for (double v : {mu, lr, reg, lr_bias, reg_bias, decay})
                if (!std::isfinite(v))
                    throw py::value_error("mu, learning rates, decay and regularization must be finite");
            if (first_epoch < 0 || n_epochs < 0) throw py::value_error("first_epoch and n_epochs must be >= 0");
            n_threads = kernel_threads(n_threads);
            require_vector(users, "users");
            const bool i32 = has_dtype<int32_t>(users) && has_dtype<int32_t>(items);
            const bool i64 = has_dtype<int64_t>(users) && has_dtype<int64_t>(items);
            if (!i32 && !i64) throw py::type_error("users and items must both be int32 or both int64");
            auto run = [&](auto t) {
                using T = decltype(t);
                if (i32)
                    return sgd_epochs<T, int32_t>(users, items, ratings, block_ptr, P, Q, bu, bi, mu, lr, reg, lr_bias,
                                                  reg_bias, decay, seed, first_epoch, n_epochs, n_threads);
                return sgd_epochs<T, int64_t>(users, items, ratings, block_ptr, P, Q, bu, bi, mu, lr, reg, lr_bias,
                                              reg_bias, decay, seed, first_epoch, n_epochs, n_threads);
            };
            if (has_dtype<float>(ratings)) return run(float{});
            if (has_dtype<double>(ratings)) return run(double{});
            throw py::type_error("ratings must be float32 or float64, got " + dtype_name(ratings));
        },
        py::arg("users"), py::arg("items"), py::arg("ratings"), py::arg("block_ptr"), py::arg("user_factors"),
        py::arg("item_factors"), py::arg("user_bias"), py::arg("item_bias"), py::arg("mu"), py::arg("lr"),
        py::arg("reg"), py::arg("lr_bias"), py::arg("reg_bias"), py::arg("decay"), py::arg("seed"),
        py::arg("first_epoch"), py::arg("n_epochs"), py::arg("n_threads"),
        "Stratified SGD epochs of biased MF in place (the rating arrays, grouped in blocks by block_ptr, are "
        "shuffled within their blocks); returns each epoch's sum of squared errors met on the way.");

    m.def(
        "ridge_rows",
        [](const py::array& indptr, const py::array& indices, const py::array& targets, int64_t n_cols,
           const py::array& F, const py::array& lambda, const py::array& X, int n_threads) {
            n_threads = kernel_threads(n_threads);
            if (indptr.size() < 1) throw py::value_error("targets.indptr is empty, expected n_rows + 1 entries");
            return dispatch_csr("targets", indptr, indices, targets, [&](auto t, auto i) {
                return ridge<decltype(t), decltype(i)>(indptr, indices, targets, n_cols, F, lambda, X, n_threads);
            });
        },
        py::arg("indptr"), py::arg("indices"), py::arg("targets"), py::arg("n_cols"), py::arg("features"),
        py::arg("lambda"), py::arg("solved"), py::arg("n_threads"),
        "Weighted-lambda ridge regression of every CSR row on the features of its columns, into `solved`; returns "
        "the number of rows whose system was singular.");

    m.def(
        "pair_dots",
        [](const py::array& P, const py::array& Q, const py::array& users, const py::array& items, int n_threads) {
            n_threads = kernel_threads(n_threads);
            if (has_dtype<float>(P)) return py::array(dots<float>(P, Q, users, items, n_threads));
            if (has_dtype<double>(P)) return py::array(dots<double>(P, Q, users, items, n_threads));
            throw py::type_error("user_factors must be float32 or float64, got " + dtype_name(P));
        },
        py::arg("user_factors"), py::arg("item_factors"), py::arg("user_ids"), py::arg("item_ids"),
        py::arg("n_threads"),
        "out[e] = user_factors[user_ids[e]] . item_factors[item_ids[e]], 0 where an id is out of range.");
}

}  // namespace recforge::bind

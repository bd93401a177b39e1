// recforge._core.als_whiten (and its steps) / als_solve: bind als.hpp (see python/recforge/models/als.py).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "common.hpp"
#include "recforge/als.hpp"

namespace recforge::bind {

namespace {

void require_shape(const std::string& name, int64_t rows, int64_t cols, int64_t want_rows, int64_t want_cols) {
    if (rows != want_rows || cols != want_cols)
        throw py::value_error(name + " must have shape (" + std::to_string(want_rows) + ", " +
                              std::to_string(want_cols) + "), got (" + std::to_string(rows) + ", " +
                              std::to_string(cols) + ")");
}

template <typename T>
py::tuple whiten(const py::array& Y, double regularization, int n_threads) {
    int64_t n = 0, f = 0;
    const T* y = checked_matrix<T>(Y, "factors", &n, &f);
    if (f < 1) throw py::value_error("factors must have at least one column");
    py::array_t<T> Yt({n, f}), L({f, f}), Linv({f, f});
    py::array_t<double> G({f, f});
    T *yt = Yt.mutable_data(), *l = L.mutable_data(), *linv = Linv.mutable_data();
    double* g = G.mutable_data();
    bool ok = false;
    {
        py::gil_scoped_release release;
        ok = als_whiten<T>(y, n, f, regularization, n_threads, g, l, linv, yt);
    }
    if (!ok)
        throw py::value_error("factors^T factors + regularization * I is not positive definite (regularization = " +
                              std::to_string(regularization) + "): use regularization > 0");
    return py::make_tuple(Yt, L, Linv, G);
}

// Upper-triangle Grams of the row chunks [edges[c], edges[c + 1]) of Y: (chunks, f, f) doubles.
template <typename T>
py::array_t<double> gram_chunks(const py::array& Y, const py::array& edges, int n_threads) {
    int64_t n = 0, f = 0;
    const T* y = checked_matrix<T>(Y, "factors", &n, &f);
    const py::array_t<int64_t, py::array::c_style | py::array::forcecast> e(edges);
    if (e.ndim() != 1 || e.size() < 1) throw py::value_error("edges must be a 1-d array of row boundaries");
    const int64_t chunks = e.size() - 1;
    // Copied byte-wise: an array unpickled from a task message may sit at any address.
    std::vector<int64_t> bounds(static_cast<size_t>(e.size()));
    std::memcpy(bounds.data(), e.data(), bounds.size() * sizeof(int64_t));
    const int64_t* edge = bounds.data();
    for (int64_t c = 0; c < chunks; ++c)
        if (edge[c] < 0 || edge[c] > edge[c + 1] || edge[c + 1] > n)
            throw py::value_error("edges must be non-decreasing row boundaries within the factors");
    py::array_t<double> out({chunks, f, f});
    double* o = out.mutable_data();
    std::fill(o, o + chunks * f * f, 0.0);
    {
        py::gil_scoped_release release;
        ExceptionTrap trap;
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_threads)
        for (int64_t c = 0; c < chunks; ++c)
            trap.run([&] { als_gram_chunk(y + edge[c] * f, edge[c + 1] - edge[c], f, o + c * f * f); });
        trap.rethrow();
    }
    return out;
}

template <typename T>
py::tuple factor(const py::array& G_sum, double regularization) {
    int64_t r = 0, f = 0;
    checked_matrix<double>(G_sum, "G", &r, &f);
    require_shape("G", r, f, f, f);
    py::array_t<double> G({f, f});
    std::copy_n(static_cast<const double*>(G_sum.data()), f * f, G.mutable_data());
    py::array_t<T> L({f, f}), Linv({f, f});
    if (!als_factor<T>(G.mutable_data(), f, regularization, L.mutable_data(), Linv.mutable_data()))
        throw py::value_error("factors^T factors + regularization * I is not positive definite (regularization = " +
                              std::to_string(regularization) + "): use regularization > 0");
    return py::make_tuple(L, Linv, G);
}

template <typename T>
py::array_t<T> whiten_rows(const py::array& Y, const py::array& Linv, int n_threads) {
    int64_t n = 0, f = 0, r = 0, c = 0;
    const T* y = checked_matrix<T>(Y, "factors", &n, &f);
    const T* linv = checked_matrix<T>(Linv, "Linv", &r, &c);
    require_shape("Linv", r, c, f, f);
    py::array_t<T> Yt({n, f});
    T* yt = Yt.mutable_data();
    {
        py::gil_scoped_release release;
        als_whiten_rows<T>(y, n, f, linv, n_threads, yt);
    }
    return Yt;
}

template <typename T, typename I>
py::tuple solve(const py::array& indptr, const py::array& indices, const py::array& data, int64_t n_cols,
                const py::array& Y, const py::array& Yt, const py::array& L, const py::array& Linv, const py::array& G,
                const py::array& X, double alpha, int solver, int cg_steps, int n_threads, bool want_loss) {
    const int64_t n_rows = indptr.size() - 1;
    const auto csr = checked_csr<T, I>("user_items", n_rows, n_cols, indptr, indices, data, true, true);
    int64_t r = 0, c = 0;
    const T* y = checked_matrix<T>(Y, "fixed factors", &r, &c);
    const int64_t f = c;
    require_shape("fixed factors", r, c, n_cols, f);
    const T* yt = checked_matrix<T>(Yt, "whitened factors", &r, &c);
    require_shape("whitened factors", r, c, n_cols, f);
    const T* l = checked_matrix<T>(L, "L", &r, &c);
    require_shape("L", r, c, f, f);
    const T* linv = checked_matrix<T>(Linv, "Linv", &r, &c);
    require_shape("Linv", r, c, f, f);
    const double* g = checked_matrix<double>(G, "G", &r, &c);
    require_shape("G", r, c, f, f);
    T* x = checked_matrix<T>(X, "solved factors", &r, &c);
    require_shape("solved factors", r, c, n_rows, f);
    if (!X.writeable()) throw py::value_error("solved factors must be writeable");
    py::array_t<double> loss(want_loss ? n_rows : 0);
    AlsProblem<T, I> P{csr.indptr,
                       csr.indices,
                       csr.data,
                       n_rows,
                       n_cols,
                       f,
                       y,
                       yt,
                       l,
                       linv,
                       g,
                       static_cast<T>(alpha),
                       static_cast<AlsSolver>(solver),
                       cg_steps,
                       x,
                       want_loss ? loss.mutable_data() : nullptr};
    int64_t bad = 0;
    {
        py::gil_scoped_release release;
        bad = als_solve(P, n_threads);
    }
    return py::make_tuple(bad, want_loss ? py::object(loss) : py::object(py::none()));
}

}  // namespace

void bind_als(py::module_& m) {
    m.def(
        "als_whiten",
        [](const py::array& Y, double regularization, int n_threads) {
            if (!(regularization >= 0.0)) throw py::value_error("regularization must be >= 0");
            n_threads = kernel_threads(n_threads);
            if (has_dtype<float>(Y)) return whiten<float>(Y, regularization, n_threads);
            if (has_dtype<double>(Y)) return whiten<double>(Y, regularization, n_threads);
            throw py::type_error("factors must be float32 or float64, got " + dtype_name(Y));
        },
        py::arg("factors"), py::arg("regularization"), py::arg("n_threads"),
        "(Y L^-T, L, L^-1, G) for G = Y^T Y + regularization I = L L^T: the fixed side of an ALS half-step.");

    m.def(
        "als_gram_chunks",
        [](const py::array& Y, const py::array& edges, int n_threads) {
            n_threads = kernel_threads(n_threads);
            if (has_dtype<float>(Y)) return gram_chunks<float>(Y, edges, n_threads);
            if (has_dtype<double>(Y)) return gram_chunks<double>(Y, edges, n_threads);
            throw py::type_error("factors must be float32 or float64, got " + dtype_name(Y));
        },
        py::arg("factors"), py::arg("edges"), py::arg("n_threads"),
        "Upper-triangle Y^T Y of each row chunk [edges[c], edges[c+1]) of Y, (chunks, f, f) float64: step 1 of\n"
        "als_whiten, whose chunks are those of als_gram_chunk_edges(n).");
    m.def(
        "als_gram_chunk_edges",
        [](int64_t n) {
            if (n < 0) throw py::value_error("n must be >= 0");
            const int64_t chunks = als_gram_chunks(n);
            py::array_t<int64_t> edges(chunks + 1);
            for (int64_t c = 0; c <= chunks; ++c) edges.mutable_data()[c] = chunks == 0 ? 0 : n * c / chunks;
            return edges;
        },
        py::arg("n"), "Row boundaries of the chunks whose Grams als_whiten sums, in order, for n rows.");
    m.def(
        "als_factor",
        [](const py::array& G, double regularization, const std::string& dtype) {
            if (!(regularization >= 0.0)) throw py::value_error("regularization must be >= 0");
            if (dtype == "float32") return factor<float>(G, regularization);
            if (dtype == "float64") return factor<double>(G, regularization);
            throw py::type_error("dtype must be float32 or float64, got " + dtype);
        },
        py::arg("G"), py::arg("regularization"), py::arg("dtype"),
        "(L, L^-1, G full + regularization I) from the chunk Grams summed in chunk order: step 2 of als_whiten.");
    m.def(
        "als_whiten_rows",
        [](const py::array& Y, const py::array& Linv, int n_threads) {
            n_threads = kernel_threads(n_threads);
            if (has_dtype<float>(Y)) return py::array(whiten_rows<float>(Y, Linv, n_threads));
            if (has_dtype<double>(Y)) return py::array(whiten_rows<double>(Y, Linv, n_threads));
            throw py::type_error("factors must be float32 or float64, got " + dtype_name(Y));
        },
        py::arg("factors"), py::arg("Linv"), py::arg("n_threads"), "Y L^-T, row by row: step 3 of als_whiten.");

    m.def(
        "als_solve",
        [](const py::array& indptr, const py::array& indices, const py::array& data, int64_t n_cols, const py::array& Y,
           const py::array& Yt, const py::array& L, const py::array& Linv, const py::array& G, const py::array& X,
           double alpha, int solver, int cg_steps, int n_threads, bool want_loss) {
            if (!(alpha >= 0.0) || !std::isfinite(alpha)) throw py::value_error("alpha must be finite and >= 0");
            if (solver != 0 && solver != 1) throw py::value_error("solver must be 0 (cg) or 1 (cholesky)");
            if (cg_steps < 1) throw py::value_error("cg_steps must be >= 1");
            n_threads = kernel_threads(n_threads);
            if (indptr.size() < 1) throw py::value_error("user_items.indptr is empty, expected n_rows + 1 entries");
            return dispatch_csr("user_items", indptr, indices, data, [&](auto t, auto i) {
                return solve<decltype(t), decltype(i)>(indptr, indices, data, n_cols, Y, Yt, L, Linv, G, X, alpha,
                                                       solver, cg_steps, n_threads, want_loss);
            });
        },
        py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("n_cols"), py::arg("fixed"),
        py::arg("whitened"), py::arg("L"), py::arg("Linv"), py::arg("G"), py::arg("solved"), py::arg("alpha"),
        py::arg("solver"), py::arg("cg_steps"), py::arg("n_threads"), py::arg("want_loss"),
        "One ALS half-step in place: solves every row of the CSR for `solved` given the fixed side's whitening; "
        "returns (rows that came out non-finite, per-row loss or None).");
}

}  // namespace recforge::bind

// recforge._core.similarity: binds similarity.hpp (see python/recforge/similarity.py).
#include <algorithm>
#include <limits>
#include <stdexcept>
#include <tuple>

#include "common.hpp"
#include "recforge/similarity.hpp"
#include "recforge/symmetric.hpp"
#include "recforge/topk_rows.hpp"

namespace recforge::bind {

namespace {

Metric metric_named(const std::string& name) {
    if (name == "dot") return Metric::dot;
    if (name == "cosine") return Metric::cosine;
    if (name == "jaccard") return Metric::jaccard;
    if (name == "pearson") return Metric::pearson;
    if (name == "corated_cosine") return Metric::corated_cosine;
    if (name == "msd") return Metric::msd;
    throw py::value_error("unknown kernel metric '" + name + "'");
}

// Kernel metric names; "tfidf" and "bm25" are a weighting followed by cosine / dot.
void parse_metric(const std::string& name, SimilarityOptions& opt) {
    opt.weighting = Weighting::none;
    if (name == "tfidf") {
        opt.weighting = Weighting::tfidf;
        opt.metric = Metric::cosine;
    } else if (name == "bm25") {
        opt.weighting = Weighting::bm25;
        opt.metric = Metric::dot;
    } else {
        opt.metric = metric_named(name);
    }
}

}  // namespace

void bind_similarity(py::module_& m) {
    m.def(
        "similarity",
        [](const py::array& indptr, const py::array& indices, const py::array& data, int64_t n_rows, int64_t n_cols,
           int64_t k, const std::string& metric, double shrinkage, int64_t min_support, int n_threads, double k1,
           double b, bool transposed, double shrinkage_offset, bool sorted_rows, int64_t rows_begin, int64_t rows_end,
           int receiver_walk) {
            SimilarityOptions opt;
            opt.k = k;
            parse_metric(metric, opt);
            opt.k1 = k1;
            opt.b = b;
            opt.shrinkage = shrinkage;
            if (shrinkage_offset != 0.0 && shrinkage_offset != 1.0)
                throw py::value_error("shrinkage_offset must be 0 or 1");
            opt.shrinkage_offset = shrinkage_offset;
            opt.sorted_rows = sorted_rows;
            opt.rows_begin = rows_begin;
            opt.rows_end = rows_end;
            if (receiver_walk < -1 || receiver_walk > 1) throw py::value_error("receiver_walk must be -1, 0 or 1");
            opt.receiver_walk = receiver_walk;
            opt.min_support = min_support;
            if (k < 0) throw py::value_error("k must be >= 0, got " + std::to_string(k));
            if (min_support < 0) throw py::value_error("min_support must be >= 0");
            opt.n_threads = kernel_threads(n_threads);
            // A row has at most n - 1 neighbours: a larger k keeps them all (and allocates no more).
            const int64_t n = transposed ? n_cols : n_rows;
            opt.k = std::min<int64_t>(k, std::max<int64_t>(n - 1, 0));
            return dispatch_csr("X", indptr, indices, data, [&](auto t, auto i) -> py::tuple {
                using T = decltype(t);
                using I = decltype(i);
                const auto X = checked_csr<T, I>("X", n_rows, n_cols, indptr, indices, data, false, true);
                TopKCsr<T, I> out;
                {
                    py::gil_scoped_release release;
                    out = transposed ? recforge::similarity_of_transpose(X, opt) : recforge::similarity(X, opt);
                }
                return py::make_tuple(to_numpy(std::move(out.indptr)), to_numpy(std::move(out.indices)),
                                      to_numpy(std::move(out.data)));
            });
        },
        py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("n_rows"), py::arg("n_cols"), py::arg("k"),
        py::arg("metric"), py::arg("shrinkage"), py::arg("min_support"), py::arg("n_threads"), py::arg("k1") = 1.2,
        py::arg("b") = 0.75, py::arg("transposed") = false, py::arg("shrinkage_offset") = 0.0,
        py::arg("sorted_rows") = true, py::arg("rows_begin") = 0, py::arg("rows_end") = -1,
        py::arg("receiver_walk") = -1,
        "Top-k similar rows of a canonical CSR matrix (of its columns when transposed: the arrays are\n"
        "then X.T's CSR, i.e. X's CSC); returns (indptr int64, indices, data). sorted_rows=False: when every\n"
        "neighbour is kept, rows in column order instead of by similarity. rows_begin/end: a part, the pairs of\n"
        "those rows with the rows after them (end -1: n_rows); receiver_walk: how a part walks its pairs with\n"
        "the rows after it: from those rows (1), from its own (0), or chosen by an estimate (-1).");

    m.def(
        "pair_work",
        [](const py::array& indptr, const py::array& indices, const py::array& data, int64_t n_rows, int64_t n_cols,
           bool trusted) {
            return dispatch_csr("X.T", indptr, indices, data, [&](auto t, auto i) -> py::array {
                using T = decltype(t);
                using I = decltype(i);
                // trusted: validated by the caller (CsrParts), only the sizes are checked here.
                const auto XT = checked_csr<T, I>("X.T", n_rows, n_cols, indptr, indices, data, false, true, trusted);
                std::vector<int64_t> work;
                {
                    py::gil_scoped_release release;
                    work = recforge::pair_work(XT);
                }
                return to_numpy(std::move(work));
            });
        },
        py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("n_rows"), py::arg("n_cols"),
        py::arg("trusted") = false,
        "Per row of X, given as X.T's canonical CSR (n_rows x n_cols), the pairs with later rows its columns\n"
        "hold (int64, n_cols entries).");

    m.def(
        "topk_of_rows",
        [](const py::array& indptr, const py::array& indices, const py::array& data, int64_t n_cols, int64_t k,
           int n_threads) {
            if (k < 0) throw py::value_error("k must be >= 0, got " + std::to_string(k));
            n_threads = kernel_threads(n_threads);
            if (indptr.size() < 1) throw py::value_error("indptr is empty, expected n_rows + 1 entries");
            const int64_t n_rows = indptr.size() - 1;
            return dispatch_csr("parts", indptr, indices, data, [&](auto t, auto i) -> py::tuple {
                using T = decltype(t);
                using I = decltype(i);
                const auto M = checked_csr<T, I>("parts", n_rows, n_cols, indptr, indices, data, false, false);
                TopKCsr<T, I> out;
                {
                    py::gil_scoped_release release;
                    out = recforge::topk_of_rows(M, k, n_threads);
                }
                return py::make_tuple(to_numpy(std::move(out.indptr)), to_numpy(std::move(out.indices)),
                                      to_numpy(std::move(out.data)));
            });
        },
        py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("n_cols"), py::arg("k"), py::arg("n_threads"),
        "The k best entries of each row of a CSR (rows in any order; ties to the lower index), in rank order;\n"
        "returns (indptr int64, indices, data). Merges similarity parts.");

    m.def(
        "symmetric_max",
        [](const py::array& indptr, const py::array& indices, const py::array& data, int64_t n, int n_threads,
           bool trusted) {
            n_threads = kernel_threads(n_threads);
            return dispatch_csr("similarity", indptr, indices, data, [&](auto t, auto i) -> py::tuple {
                using T = decltype(t);
                using I = decltype(i);
                const auto S = checked_csr<T, I>("similarity", n, n, indptr, indices, data, true, true, trusted);
                // the result holds at most twice S's entries, counted in I
                if (2 * static_cast<double>(S.nnz()) > static_cast<double>(std::numeric_limits<I>::max()))
                    throw py::value_error("similarity has too many entries for its index type; pass int64 indices");
                SymmetricCsr<T, I> out;
                {
                    py::gil_scoped_release release;
                    out = recforge::symmetric_max(S, n_threads);
                }
                return py::make_tuple(to_numpy(std::move(out.indptr)), to_numpy(std::move(out.indices)),
                                      to_numpy(std::move(out.data)));
            });
        },
        py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("n"), py::arg("n_threads"),
        py::arg("trusted") = false,
        "max(S, S.T) of a square canonical CSR (n x n), an entry on one side only against 0, without the\n"
        "diagonal and zeros: canonical (indptr, indices, data) in S's index and value types.");
}

}  // namespace recforge::bind

// recforge._core.rerank / beyond_accuracy / explain: bind rerank.hpp, beyond_accuracy.hpp and
// explain.hpp (see python/recforge/campaign/ and python/recforge/evaluation/beyond.py).
#include <limits>
#include <stdexcept>
#include <string>

#include "common.hpp"
#include "recforge/beyond_accuracy.hpp"
#include "recforge/explain.hpp"
#include "recforge/rerank.hpp"

namespace recforge::bind {

namespace {

// An optional per-item array: None gives nullptr, else `n` entries of U.
template <typename U>
const U* optional_vector(const py::object& a, const std::string& name, int64_t n) {
    if (a.is_none()) return nullptr;
    return checked_vector<U>(a.cast<py::array>(), name, n, false);
}

// The (n_lists x width) id matrix, each id in [-1, n_items). Checked in parallel without the GIL
// (the ids stay alive with the caller's reference): 10M ids took 5-8 ms on one thread.
const int64_t* checked_lists(const py::array& ids, const std::string& name, int64_t n_items, int64_t* n, int64_t* width,
                             int n_threads) {
    const int64_t* p = checked_matrix<int64_t>(ids, name, n, width);
    const int64_t size = *n * *width;
    int64_t bad = size;
    {
        py::gil_scoped_release release;
        bad = detail::first_failing(size, detail::check_threads(size, n_threads),
                                    [&](int64_t i) { return !is_list_entry(p[i], n_items); });
    }
    if (bad < size)
        throw py::value_error(name + " holds " + std::to_string(p[bad]) + ", outside the catalogue [0, " +
                              std::to_string(n_items) + ") and not -1 (padding)");
    return p;
}

}  // namespace

void bind_campaign(py::module_& m) {
    m.def(
        "rerank",
        [](const py::array& candidates, const py::array& scores, int64_t k, int64_t n_items, double diversity,
           bool mean_penalty, const py::array& s_indptr, const py::array& s_indices, const py::array& s_data,
           const py::array& c_indptr, const py::array& c_indices, const py::array& c_data, int64_t n_categories,
           const py::object& cap, double calibration, double calibration_alpha, const py::array& m_indptr,
           const py::array& m_indices, const py::array& m_data, const py::object& boost, const py::object& eligible,
           const py::object& is_new, int64_t min_new, int n_threads) {
            n_threads = kernel_threads(n_threads);
            if (k < 0 || n_items < 0 || n_categories < 0 || min_new < 0)
                throw py::value_error("k, n_items, n_categories and min_new must be >= 0");
            if (!(diversity >= 0.0 && diversity <= 1.0)) throw py::value_error("diversity must be in [0, 1]");
            if (!(calibration >= 0.0) || !(calibration_alpha > 0.0 && calibration_alpha <= 1.0))
                throw py::value_error("calibration must be >= 0 and calibration_alpha in (0, 1]");
            return dispatch_csr("similarity", s_indptr, s_indices, s_data, [&](auto t, auto i) -> py::tuple {
                using T = decltype(t);
                using I = decltype(i);
                RerankProblem<T, I> P;
                P.candidates = checked_lists(candidates, "ids", n_items, &P.n_lists, &P.width, n_threads);
                int64_t rows = 0, cols = 0;
                P.scores = checked_matrix<T>(scores, "scores", &rows, &cols);
                if (rows != P.n_lists || cols != P.width)
                    throw py::value_error("scores must have the shape of candidates");
                P.k = k;
                P.n_items = n_items;
                P.diversity = diversity;
                P.mean_penalty = mean_penalty;
                const int64_t s_rows = s_indptr.size() - 1;
                if (s_rows != 0 && s_rows != n_items) throw py::value_error("similarity must be n_items x n_items");
                P.similarity =
                    checked_csr<T, I>("similarity", s_rows, n_items, s_indptr, s_indices, s_data, true, true);
                const int64_t c_rows = c_indptr.size() - 1;
                if (c_rows != 0 && c_rows != n_items) throw py::value_error("categories must have one row per item");
                P.item_categories =
                    checked_csr<T, I>("categories", c_rows, n_categories, c_indptr, c_indices, c_data, true, true);
                for (int64_t e = 0; e < P.item_categories.nnz(); ++e)
                    if (!(P.item_categories.data[e] > T(0))) throw py::value_error("categories' weights must be > 0");
                P.n_categories = n_categories;
                P.cap = optional_vector<int64_t>(cap, "cap", n_categories);
                P.calibration = calibration;
                P.calibration_alpha = calibration_alpha;
                const int64_t m_rows = m_indptr.size() - 1;
                if (m_rows != 0 && m_rows != P.n_lists) throw py::value_error("target_mix needs one row per list");
                P.target_mix =
                    checked_csr<T, I>("target_mix", m_rows, n_categories, m_indptr, m_indices, m_data, true, true);
                P.boost = optional_vector<T>(boost, "boost", n_items);
                P.eligible = optional_vector<uint8_t>(eligible, "eligible", n_items);
                P.is_new = optional_vector<uint8_t>(is_new, "is_new", n_items);
                if (min_new > 0 && P.is_new == nullptr) throw py::value_error("min_new needs is_new");
                P.min_new = min_new;
                py::array_t<int64_t> out_ids({P.n_lists, k});
                py::array_t<T> out_scores({P.n_lists, k});
                P.out_ids = out_ids.mutable_data();
                P.out_scores = out_scores.mutable_data();
                RerankReport report;
                {
                    py::gil_scoped_release release;
                    report = rerank(P, n_threads);
                }
                return py::make_tuple(out_ids, out_scores, report.short_lists, report.missing_new);
            });
        },
        py::arg("candidates"), py::arg("scores"), py::arg("k"), py::arg("n_items"), py::arg("diversity"),
        py::arg("mean_penalty"), py::arg("s_indptr"), py::arg("s_indices"), py::arg("s_data"), py::arg("c_indptr"),
        py::arg("c_indices"), py::arg("c_data"), py::arg("n_categories"), py::arg("cap"), py::arg("calibration"),
        py::arg("calibration_alpha"), py::arg("m_indptr"), py::arg("m_indices"), py::arg("m_data"), py::arg("boost"),
        py::arg("eligible"), py::arg("is_new"), py::arg("min_new"), py::arg("n_threads"),
        "Greedy re-ranking of every list: MMR, calibration, caps, eligibility, boosts, new products; "
        "(ids, scores, short lists, lists missing new products).");

    m.def(
        "beyond_accuracy",
        [](const py::array& ids, int64_t n_items, const py::array& information, const py::array& popularity,
           const py::array& s_indptr, const py::array& s_indices, const py::array& s_data, int64_t n_pairs,
           uint64_t seed, int n_threads, bool trusted) {
            n_threads = kernel_threads(n_threads);
            if (n_items < 0 || n_pairs < 0) throw py::value_error("n_items and n_pairs must be >= 0");
            return dispatch_csr("similarity", s_indptr, s_indices, s_data, [&](auto t, auto i) -> py::dict {
                using T = decltype(t);
                using I = decltype(i);
                ListsProblem<T, I> P;
                // the ids are checked in the kernel's pass over them (a second pass took 8 ms of
                // 1M lists of 10); on a failure checked_lists finds the first and names it
                P.ids = checked_matrix<int64_t>(ids, "recommended", &P.n_lists, &P.width);
                P.n_items = n_items;
                P.information = checked_vector<double>(information, "information", n_items, false);
                P.popularity = checked_vector<double>(popularity, "popularity", n_items, false);
                const int64_t s_rows = s_indptr.size() - 1;
                if (s_rows != 0 && s_rows != n_items) throw py::value_error("similarity must be n_items x n_items");
                P.similarity =
                    checked_csr<T, I>("similarity", s_rows, n_items, s_indptr, s_indices, s_data, true, true, trusted);
                P.n_pairs = n_pairs;
                P.seed = seed;
                BeyondAccuracy r;
                try {
                    py::gil_scoped_release release;
                    r = beyond_accuracy(P, n_threads);
                } catch (const std::invalid_argument&) {
                    int64_t rows = 0, width = 0;
                    checked_lists(ids, "recommended", n_items, &rows, &width, n_threads);
                    throw;  // not reached: checked_lists throws
                }
                py::dict out;
                out["coverage"] = r.coverage;
                out["gini"] = r.gini;
                out["novelty"] = r.novelty;
                out["mean_popularity"] = r.mean_popularity;
                out["intra_list_diversity"] = r.intra_list_diversity;
                out["personalisation"] = r.personalisation;
                out["recommended"] = r.recommended;
                out["lists_with_pairs"] = r.lists_with_pairs;
                out["pairs_compared"] = r.pairs_compared;
                return out;
            });
        },
        py::arg("ids"), py::arg("n_items"), py::arg("information"), py::arg("popularity"), py::arg("s_indptr"),
        py::arg("s_indices"), py::arg("s_data"), py::arg("n_pairs"), py::arg("seed"), py::arg("n_threads"),
        py::arg("trusted") = false,
        "Coverage, Gini of exposure, novelty, mean popularity, intra-list diversity and personalisation of "
        "a batch of lists (trusted: the similarity is canonical CSR the caller validated).");

    m.def(
        "explain",
        [](const py::array& h_indptr, const py::array& h_indices, const py::array& h_data, int64_t n_items,
           const py::array& lists, const py::array& w_indptr, const py::array& w_indices, const py::array& w_data,
           const py::object& factors, int64_t top, int n_threads) {
            n_threads = kernel_threads(n_threads);
            if (top < 1) throw py::value_error("top must be >= 1");
            return dispatch_csr("history", h_indptr, h_indices, h_data, [&](auto t, auto i) -> py::tuple {
                using T = decltype(t);
                using I = decltype(i);
                ExplainProblem<T, I> P;
                int64_t n_lists = 0;
                P.lists = checked_lists(lists, "recommended", n_items, &n_lists, &P.k, n_threads);
                P.history = checked_csr<T, I>("history", n_lists, n_items, h_indptr, h_indices, h_data, true, true);
                const int64_t w_rows = w_indptr.size() - 1;
                if (w_rows != 0 && w_rows != n_items) throw py::value_error("weights must be n_items x n_items");
                P.weights = checked_csr<T, I>("weights", w_rows, n_items, w_indptr, w_indices, w_data, true, true);
                if (w_rows == 0) {
                    if (factors.is_none()) throw py::value_error("explain needs weights or factors");
                    int64_t rows = 0;
                    P.factors = checked_matrix<T>(factors.cast<py::array>(), "factors", &rows, &P.n_factors);
                    if (rows != n_items) throw py::value_error("factors must have one row per item");
                }
                P.top = top;
                py::array_t<int64_t> items({n_lists, P.k, top});
                py::array_t<T> contributions({n_lists, P.k, top});
                P.out_items = items.mutable_data();
                P.out_contributions = contributions.mutable_data();
                {
                    py::gil_scoped_release release;
                    explain(P, n_threads);
                }
                return py::make_tuple(items, contributions);
            });
        },
        py::arg("h_indptr"), py::arg("h_indices"), py::arg("h_data"), py::arg("n_items"), py::arg("lists"),
        py::arg("w_indptr"), py::arg("w_indices"), py::arg("w_data"), py::arg("factors"), py::arg("top"),
        py::arg("n_threads"), "Each recommended item's top contributing history items and their contributions.");
}

}  // namespace recforge::bind

// recforge._core.aggregate_pairs: binds pairs.hpp (python/recforge/data/interactions.py).
#include <stdexcept>

#include "common.hpp"
#include "recforge/pairs.hpp"

namespace recforge::bind {

namespace {

template <typename I>
py::tuple run(const PairEvents& E, PairMerge mode, int n_threads) {
    PairMatrix<I, float> M;
    try {
        py::gil_scoped_release release;
        M = aggregate_pairs<I, float>(E, mode, n_threads);
    } catch (const std::invalid_argument& e) {
        throw py::value_error(e.what());
    }
    py::object latest = py::none();
    if (E.time != nullptr) latest = to_numpy(std::move(M.latest));
    return py::make_tuple(to_numpy(std::move(M.indptr)), to_numpy(std::move(M.indices)), to_numpy(std::move(M.values)),
                          latest);
}

}  // namespace

void bind_pairs(py::module_& m) {
    m.def(
        "aggregate_pairs",
        [](const py::array& user, const py::array& item, const py::array& weight, const py::object& time,
           int64_t n_users, int64_t n_items, int mode, bool wide, int n_threads) {
            n_threads = kernel_threads(n_threads);
            if (n_users < 0 || n_items < 0) throw py::value_error("n_users and n_items must be >= 0");
            if (mode < 0 || mode > 3) throw py::value_error("mode must be 0 (sum), 1 (max), 2 (count) or 3 (last)");
            PairEvents E;
            E.n_rows = user.size();
            E.user = checked_vector<int64_t>(user, "user", E.n_rows, false);
            E.item = checked_vector<int64_t>(item, "item", E.n_rows, false);
            E.weight = checked_vector<double>(weight, "weight", E.n_rows, false);
            if (!time.is_none()) E.time = checked_vector<double>(time.cast<py::array>(), "time", E.n_rows, false);
            E.n_users = n_users;
            E.n_items = n_items;
            const auto merge = static_cast<PairMerge>(mode);
            return wide ? run<int64_t>(E, merge, n_threads) : run<int32_t>(E, merge, n_threads);
        },
        py::arg("user"), py::arg("item"), py::arg("weight"), py::arg("time"), py::arg("n_users"), py::arg("n_items"),
        py::arg("mode"), py::arg("wide"), py::arg("n_threads"),
        "Event rows -> CSR of one entry per (user, item) pair, columns ascending, merged by mode (0 sum, 1 max, "
        "2 count, 3 last by (time, row)), values float32, and each pair's latest time (None without times). "
        "Index arrays int64 when wide, else int32.");
}

}  // namespace recforge::bind

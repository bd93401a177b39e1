// recforge._core.summarise_customers / distinct_rows / bgnbd_row_sums / gamma_gamma_row_sums:
// bind customer_base.hpp (see python/recforge/customers).
#include <stdexcept>
#include <string>

#include "common.hpp"
#include "recforge/customer_base.hpp"

namespace recforge::bind {

namespace {

// A table of `columns` float64 values per distinct frequency, and row -> distinct frequency
// indices that all fall inside it.
const double* checked_table(const py::array& table, int64_t columns, const int64_t* x_index, int64_t n) {
    int64_t rows = 0, cols = 0;
    const double* t = checked_matrix<double>(table, "table", &rows, &cols);
    if (cols != columns) throw py::value_error("table must have " + std::to_string(columns) + " columns");
    for (int64_t i = 0; i < n; ++i)
        if (x_index[i] < 0 || x_index[i] >= rows) throw py::value_error("x_index out of the table's range");
    return t;
}

py::array_t<double> as_array(const double* v, size_t n) {
    py::array_t<double> out(static_cast<py::ssize_t>(n));
    std::copy(v, v + n, out.mutable_data());
    return out;
}

}  // namespace

void bind_customers(py::module_& m) {
    m.def(
        "summarise_customers",
        [](const py::array& customer, const py::array& period, const py::array& value, int64_t n_customers, bool net,
           int n_threads) {
            n_threads = kernel_threads(n_threads);
            const int64_t n = customer.size();
            if (n_customers < 0) throw py::value_error("n_customers must be >= 0");
            CustomerLines L;
            L.n_lines = n;
            L.customer = checked_vector<int64_t>(customer, "customer", n, false);
            L.period = checked_vector<int64_t>(period, "period", n, false);
            L.value = checked_vector<double>(value, "value", n, false);
            L.n_customers = n_customers;
            L.net = net;
            py::array_t<int64_t> transactions(n_customers), first_period(n_customers), last_period(n_customers);
            py::array_t<double> first_value(n_customers), total(n_customers);
            CustomerTotals out{transactions.mutable_data(), first_period.mutable_data(), last_period.mutable_data(),
                               first_value.mutable_data(), total.mutable_data()};
            int64_t netted = 0;
            try {
                py::gil_scoped_release release;
                netted = summarise_customers(L, out, n_threads);
            } catch (const std::invalid_argument& e) {
                throw py::value_error(e.what());
            }
            return py::make_tuple(transactions, first_period, last_period, first_value, total, netted);
        },
        py::arg("customer"), py::arg("period"), py::arg("value"), py::arg("n_customers"), py::arg("net"),
        py::arg("n_threads"),
        "Per customer: transactions (distinct periods), first and last period, first period's value, total "
        "value; and the periods netted away.");

    m.def(
        "distinct_rows",
        [](const py::array& rows) {
            int64_t n = 0, k = 0;
            const double* r = checked_matrix<double>(rows, "rows", &n, &k);
            py::array_t<int64_t> inverse(n);
            int64_t* inv = inverse.mutable_data();
            std::vector<int64_t> first;
            {
                py::gil_scoped_release release;
                first = distinct_rows(r, n, k, inv);
            }
            return py::make_tuple(to_numpy(std::move(first)), inverse);
        },
        py::arg("rows"), "First row of each distinct row (first-appearance order) and each row's position among them.");

    m.def(
        "bgnbd_row_sums",
        [](const py::array& x, const py::array& weight, const py::array& x_index, const py::array& table,
           const py::array& T_index, const py::array& t_index, const py::array& log_age, const py::array& inv_age,
           double r, double a, int n_threads, bool dropout_at_start) {
            n_threads = kernel_threads(n_threads);
            BgnbdRows R;
            R.n = x.size();
            R.dropout_at_start = dropout_at_start;
            R.x = checked_vector<double>(x, "x", R.n, false);
            R.weight = checked_vector<double>(weight, "weight", R.n, false);
            R.x_index = checked_vector<int64_t>(x_index, "x_index", R.n, false);
            R.table = checked_table(table, 6, R.x_index, R.n);
            R.T_index = checked_vector<int64_t>(T_index, "T_index", R.n, false);
            R.t_index = checked_vector<int64_t>(t_index, "t_index", R.n, false);
            const int64_t n_ages = log_age.size();
            R.log_age = checked_vector<double>(log_age, "log_age", n_ages, false);
            R.inv_age = checked_vector<double>(inv_age, "inv_age", n_ages, false);
            for (int64_t i = 0; i < R.n; ++i)
                if (R.T_index[i] < 0 || R.T_index[i] >= n_ages || R.t_index[i] < 0 || R.t_index[i] >= n_ages)
                    throw py::value_error("T_index and t_index must point into log_age");
            std::array<double, 5> s{};
            {
                py::gil_scoped_release release;
                s = bgnbd_row_sums(R, r, a, n_threads);
            }
            return as_array(s.data(), s.size());
        },
        py::arg("x"), py::arg("weight"), py::arg("x_index"), py::arg("table"), py::arg("T_index"), py::arg("t_index"),
        py::arg("log_age"), py::arg("inv_age"), py::arg("r"), py::arg("a"), py::arg("n_threads"),
        py::arg("dropout_at_start") = false,
        "Weighted sums of BG/NBD's (MBG/NBD's with dropout_at_start) per-row log-likelihood parts and their "
        "gradient in (r, alpha, a, b).");

    m.def(
        "gamma_gamma_row_sums",
        [](const py::array& x, const py::array& mean, const py::array& log_m, const py::array& log_x,
           const py::array& x_index, const py::array& table, double p, double q, double v, int n_threads) {
            n_threads = kernel_threads(n_threads);
            GammaGammaRows R;
            R.n = x.size();
            R.x = checked_vector<double>(x, "x", R.n, false);
            R.m = checked_vector<double>(mean, "m", R.n, false);
            R.log_m = checked_vector<double>(log_m, "log_m", R.n, false);
            R.log_x = checked_vector<double>(log_x, "log_x", R.n, false);
            R.x_index = checked_vector<int64_t>(x_index, "x_index", R.n, false);
            R.table = checked_table(table, 3, R.x_index, R.n);
            std::array<double, 4> s{};
            {
                py::gil_scoped_release release;
                s = gamma_gamma_row_sums(R, p, q, v, n_threads);
            }
            return as_array(s.data(), s.size());
        },
        py::arg("x"), py::arg("m"), py::arg("log_m"), py::arg("log_x"), py::arg("x_index"), py::arg("table"),
        py::arg("p"), py::arg("q"), py::arg("v"), py::arg("n_threads"),
        "Sums of Gamma-Gamma's per-row log-likelihood parts and their gradient in (p, q, v).");
}

}  // namespace recforge::bind

// Customer-base kernels: the per-customer transaction summary, duplicate-row collapsing, and
// the BG/NBD and Gamma-Gamma log-likelihoods with their gradients (python/recforge/customers).
//
// The likelihood sums are reduced in fixed chunks of rows, each chunk summed in row order and
// the chunk sums added in chunk order, so the totals (and with them every fitted parameter) are
// bit-identical for any thread count. Special functions of the whole-number frequencies (log
// Gamma, digamma) come in per-distinct-frequency tables from the caller: a million customers have
// a few hundred distinct frequencies, and recomputing lgamma per row would cost more than the
// rest of the row.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "recforge/parallel.hpp"
#include "recforge/random.hpp"

namespace recforge {

// ---------------------------------------------------------------------------------------------
// Summary: lines (customer code, period, value) -> per customer transactions (distinct periods),
// first and last period, the first period's value and the total value.

struct CustomerLines {
    int64_t n_lines = 0;
    const int64_t* customer = nullptr;  // codes in [0, n_customers)
    const int64_t* period = nullptr;    // whole periods (days or weeks since the epoch)
    const double* value = nullptr;
    int64_t n_customers = 0;
    bool net = false;  // a period whose summed value is <= 0 is not a transaction
};

struct CustomerTotals {
    int64_t* transactions = nullptr;
    int64_t* first_period = nullptr;
    int64_t* last_period = nullptr;
    double* first_value = nullptr;
    double* total = nullptr;
};

// Fills `out` (n_customers entries each; customers without a transaction get zeros) and returns
// the number of periods netted away (net only). Lines are grouped by a stable counting sort, so a
// period's value is summed in line order: the same sums as a stable sort by (customer, period).
// Throws std::invalid_argument on a customer code out of range.
inline int64_t summarise_customers(const CustomerLines& L, const CustomerTotals& out, int n_threads) {
    const int64_t n = L.n_lines, m = L.n_customers;
    std::vector<int64_t> start(static_cast<size_t>(m + 1), 0);
    for (int64_t i = 0; i < n; ++i) {
        const int64_t c = L.customer[i];
        if (c < 0 || c >= m) throw std::invalid_argument("customer code out of range at line " + std::to_string(i));
        ++start[static_cast<size_t>(c + 1)];
    }
    for (int64_t c = 0; c < m; ++c) start[static_cast<size_t>(c + 1)] += start[static_cast<size_t>(c)];
    std::vector<std::pair<int64_t, double>> lines(static_cast<size_t>(n));
    {
        std::vector<int64_t> next(start.begin(), start.end() - 1);
        for (int64_t i = 0; i < n; ++i)
            lines[static_cast<size_t>(next[static_cast<size_t>(L.customer[i])]++)] = {L.period[i], L.value[i]};
    }
    int64_t netted = 0;
    StopFlag stop;
#pragma omp parallel for schedule(dynamic, 1024) num_threads(n_threads) reduction(+ : netted)
    for (int64_t c = 0; c < m; ++c) {
        if ((c & kStopCheckMask) == 0 && stop.requested()) continue;
        auto* first = lines.data() + start[static_cast<size_t>(c)];
        auto* last = lines.data() + start[static_cast<size_t>(c + 1)];
        const auto by_period = [](const std::pair<int64_t, double>& u, const std::pair<int64_t, double>& v) {
            return u.first < v.first;
        };
        if (!std::is_sorted(first, last, by_period)) std::stable_sort(first, last, by_period);
        int64_t count = 0, first_p = 0, last_p = 0;
        double first_v = 0.0, total = 0.0;
        for (auto* run = first; run != last;) {
            const int64_t p = run->first;
            double sum = 0.0;
            for (; run != last && run->first == p; ++run) sum += run->second;
            if (L.net && !(sum > 0.0)) {
                ++netted;
                continue;
            }
            if (count == 0) {
                first_p = p;
                first_v = sum;
            }
            last_p = p;
            total += sum;
            ++count;
        }
        out.transactions[c] = count;
        out.first_period[c] = first_p;
        out.last_period[c] = last_p;
        out.first_value[c] = first_v;
        out.total[c] = total;
    }
    stop.throw_if_requested();
    return netted;
}

// ---------------------------------------------------------------------------------------------
// Duplicate rows: the distinct rows of an (n, k) matrix of finite doubles in order of first
// appearance. inverse[i] = position of row i among them; returns the first row of each.
// Open addressing over the rows' bit patterns (-0.0 read as 0.0), hashed with random.hpp's
// SplitMix64: O(n k), no sort.
inline std::vector<int64_t> distinct_rows(const double* rows, int64_t n, int64_t k, int64_t* inverse) {
    const auto bits = [&](int64_t i, int64_t j) {
        const double v = rows[i * k + j] + 0.0;  // -0.0 + 0.0 == +0.0
        uint64_t b;
        std::memcpy(&b, &v, sizeof b);
        return b;
    };
    const auto same = [&](int64_t i, int64_t r) {
        for (int64_t j = 0; j < k; ++j)
            if (bits(i, j) != bits(r, j)) return false;
        return true;
    };
    size_t size = 16;
    while (size < static_cast<size_t>(2 * n)) size <<= 1;
    std::vector<int64_t> slot(size, -1);  // a distinct row's position among the distinct rows
    std::vector<int64_t> first;
    for (int64_t i = 0; i < n; ++i) {
        uint64_t h = 0x9e3779b97f4a7c15ULL;
        for (int64_t j = 0; j < k; ++j) {
            uint64_t state = h ^ bits(i, j);
            h = splitmix64(state);
        }
        size_t s = static_cast<size_t>(h) & (size - 1);
        while (slot[s] >= 0 && !same(i, first[static_cast<size_t>(slot[s])])) s = (s + 1) & (size - 1);
        if (slot[s] < 0) {
            slot[s] = static_cast<int64_t>(first.size());
            first.push_back(i);
        }
        inverse[i] = slot[s];
    }
    return first;
}

// log(e^u + e^v) and the weights e^u / (e^u + e^v), e^v / (...), without overflow.
struct LogSum {
    double value, w_u, w_v;
};
inline LogSum log_sum(double u, double v) {
    if (v == -INFINITY) return {u, 1.0, 0.0};
    if (u >= v) {
        const double s = std::exp(v - u);
        return {u + std::log1p(s), 1.0 / (1.0 + s), s / (1.0 + s)};
    }
    const double s = std::exp(u - v);
    return {v + std::log1p(s), s / (1.0 + s), 1.0 / (1.0 + s)};
}

// ---------------------------------------------------------------------------------------------
// BG/NBD (Fader, Hardie & Lee 2005). Per customer
//   ln L = ln G(r+x) - ln G(r) + r ln(alpha) + ln G(a+b) + ln G(b+x) - ln G(b) - ln G(a+b+x)
//          + ln(A + D),   A = (alpha+T)^-(r+x),   D = [x > 0] a/(b+x-1) (alpha+t_x)^-(r+x).
// The kernel sums, weighted, the parts that vary by row; the caller adds the constant parts
// (those of r, alpha, a, b alone) times the total weight.
//
// MBG/NBD (Batislam, Denizel & Filiztekin 2007: a customer may also drop out at the first
// purchase) has the same form with x + 1 in the Beta terms and D for every row:
//   ln L = ... + ln G(b+x) - ln G(b) - ln G(a+b+x+1) + ln(b+x)
//          + ln(A + D'),  D' = a/(b+x) (alpha+t_x)^-(r+x),
// so it takes the same kernel with its own table (ln(b+x) in column 0 and 1/(b+x) in column 2,
// column 3 psi(a+b+x+1), columns 4-5 ln(b+x) and 1/(b+x)) and dropout_at_start.

struct BgnbdRows {
    int64_t n = 0;
    const double* x = nullptr;
    const double* weight = nullptr;
    const int64_t* x_index = nullptr;  // row -> distinct frequency
    // per distinct frequency, 6 columns: lnG(r+x) + lnG(b+x) - lnG(a+b+x), psi(r+x), psi(b+x),
    // psi(a+b+x), ln(b+x-1) and 1/(b+x-1) (both 0 where x = 0)
    const double* table = nullptr;
    // T and t_x as positions among the distinct ages, whose ln(alpha + age) and 1/(alpha + age)
    // come per evaluation: customers observed in whole days share a few hundred ages, so the
    // row loop reads two logarithms instead of computing them
    const int64_t* T_index = nullptr;
    const int64_t* t_index = nullptr;
    const double* log_age = nullptr;
    const double* inv_age = nullptr;
    bool dropout_at_start = false;  // MBG/NBD: the D term for x = 0 as well
};

// {sum w ll_row, sum w d/dr, d/dalpha, d/da, d/db} of the row parts.
inline std::array<double, 5> bgnbd_row_sums(const BgnbdRows& R, double r, double a, int n_threads) {
    const double log_a = std::log(a), inv_a = 1.0 / a;
    return chunked_sums<5>(R.n, n_threads, [&](int64_t i, std::array<double, 5>& s) {
        const double x = R.x[i], w = R.weight[i], rx = r + x;
        const double* tab = R.table + 6 * R.x_index[i];
        const int64_t iT = R.T_index[i], it = R.t_index[i];
        const double log_T = R.log_age[iT], log_t = R.log_age[it];
        const double log_A = -rx * log_T;
        const double log_D = x > 0 || R.dropout_at_start ? log_a - tab[4] - rx * log_t : -INFINITY;
        const LogSum L = log_sum(log_A, log_D);
        s[0] += w * (tab[0] + L.value);
        s[1] += w * (tab[1] - L.w_u * log_T - L.w_v * log_t);
        s[2] += w * (-rx * (L.w_u * R.inv_age[iT] + L.w_v * R.inv_age[it]));
        s[3] += w * (-tab[3] + L.w_v * inv_a);
        s[4] += w * (tab[2] - tab[3] - L.w_v * tab[5]);
    });
}

// ---------------------------------------------------------------------------------------------
// Gamma-Gamma (Fader, Hardie & Lee 2005; Colombo & Jiang 1999). Per repeat customer with mean
// spend m over x transactions
//   ln L = ln G(px+q) - ln G(px) - ln G(q) + q ln v + (px-1) ln m + px ln x - (px+q) ln(v + m x).

struct GammaGammaRows {
    int64_t n = 0;
    const double* x = nullptr;
    const double* m = nullptr;
    const double* log_m = nullptr;
    const double* log_x = nullptr;
    const int64_t* x_index = nullptr;
    // per distinct frequency, 3 columns: lnG(px+q) - lnG(px), psi(px+q), psi(px)
    const double* table = nullptr;
};

// {sum ll_row, d/dp, d/dq, d/dv} of the row parts (the caller adds n (-lnG(q) + q ln v),
// n (-psi(q) + ln v) and n q / v).
inline std::array<double, 4> gamma_gamma_row_sums(const GammaGammaRows& R, double p, double q, double v,
                                                  int n_threads) {
    return chunked_sums<4>(R.n, n_threads, [&](int64_t i, std::array<double, 4>& s) {
        const double x = R.x[i], px = p * x, vm = v + R.m[i] * x, log_vm = std::log(vm);
        const double* tab = R.table + 3 * R.x_index[i];
        s[0] += tab[0] + (px - 1.0) * R.log_m[i] + px * R.log_x[i] - (px + q) * log_vm;
        s[1] += x * (tab[1] - tab[2] + R.log_m[i] + R.log_x[i] - log_vm);
        s[2] += tab[1] - log_vm;
        s[3] += -(px + q) / vm;
    });
}

}  // namespace recforge

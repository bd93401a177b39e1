// Columns -> CSV text: the files recforge writes (recommendation lists, campaign files, customer
// tables; python/recforge/_csv_out.py). A million customers' top 10 is ten million rows; pandas'
// to_csv formats each float in Python ("%.6g" % x) and each row through the csv module.
//
// The text is byte for byte what pandas' to_csv(index=False, float_format="%.<digits>g") writes
// for the same columns: integers in decimal, floats as printf's %g with `digits` significant
// digits (std::to_chars, which the standard defines as printf's %g in the "C" locale, so no
// locale can turn the decimal point into a comma), a NaN as an empty field, and text quoted only
// where it holds a character of `special` (the separator, the quote, the line end), with its
// quotes doubled, as the csv module's QUOTE_MINIMAL does. Lines end in '\n'.
//
// Rows are formatted in chunks, in parallel, each into its own buffer; the caller joins them in
// order, so the text does not depend on the thread count.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "recforge/parallel.hpp"

namespace recforge {

enum class CsvKind : int { int64 = 0, uint64 = 1, float32 = 2, float64 = 3, text = 4 };

struct CsvColumn {
    CsvKind kind = CsvKind::int64;
    const void* values = nullptr;      // numbers: n_rows of the kind's type
    const int64_t* offsets = nullptr;  // text: n_rows + 1 byte offsets into data (Arrow's large_string)
    const char* data = nullptr;        // text: UTF-8 bytes
};

namespace detail {

inline void append_text(std::string& out, const char* first, const char* last, const std::string& special) {
    const bool quote = std::find_first_of(first, last, special.begin(), special.end()) != last;
    if (!quote) {
        out.append(first, last);
        return;
    }
    out.push_back('"');
    for (const char* c = first; c != last; ++c) {
        if (*c == '"') out.push_back('"');  // a quote inside a quoted field is doubled
        out.push_back(*c);
    }
    out.push_back('"');
}

template <typename T>
inline void append_integer(std::string& out, T value) {
    char buffer[24];
    const auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
    out.append(buffer, end);
}

inline void append_float(std::string& out, double value, int digits) {
    if (std::isnan(value)) return;  // pandas' na_rep: an empty field
    char buffer[48];                // %.17g of the longest double is 24 characters
    const auto end = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general, digits).ptr;
    out.append(buffer, end);
}

inline void append_field(std::string& out, const CsvColumn& c, int64_t r, int digits, const std::string& special) {
    switch (c.kind) {
        case CsvKind::int64:
            append_integer(out, static_cast<const int64_t*>(c.values)[r]);
            break;
        case CsvKind::uint64:
            append_integer(out, static_cast<const uint64_t*>(c.values)[r]);
            break;
        case CsvKind::float32:
            append_float(out, static_cast<double>(static_cast<const float*>(c.values)[r]), digits);
            break;
        case CsvKind::float64:
            append_float(out, static_cast<const double*>(c.values)[r], digits);
            break;
        case CsvKind::text:
            append_text(out, c.data + c.offsets[r], c.data + c.offsets[r + 1], special);
            break;
    }
}

}  // namespace detail

// Rows per chunk: a chunk's text (about 30 bytes a field) stays in a core's cache-sized buffer
// growth, and a million rows still make 61 chunks to balance over threads.
constexpr int64_t kCsvChunkRows = 1 << 14;

// The CSV text of rows [0, n_rows) of `columns` (no header), as consecutive chunks of
// kCsvChunkRows rows; their concatenation is the text. `digits` in [1, 17]; `special` holds the
// characters that make a text field quoted.
// Complexity: O(total text length); memory: the text once. Throws Interrupted on Ctrl-C.
// Thread-safe; the text does not depend on n_threads.
inline std::vector<std::string> csv_text(const std::vector<CsvColumn>& columns, int64_t n_rows, char sep, int digits,
                                         const std::string& special, int n_threads) {
    const int64_t n_chunks = (n_rows + kCsvChunkRows - 1) / kCsvChunkRows;
    std::vector<std::string> chunks(static_cast<size_t>(n_chunks));
    const size_t n_columns = columns.size();
    StopFlag stop;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads_for(n_threads, n_chunks))
    for (int64_t chunk = 0; chunk < n_chunks; ++chunk) {
        if (stop.requested()) continue;
        const int64_t first = chunk * kCsvChunkRows, last = std::min(n_rows, first + kCsvChunkRows);
        std::string& out = chunks[static_cast<size_t>(chunk)];
        out.reserve(static_cast<size_t>(last - first) * (n_columns * 12 + 1));
        for (int64_t r = first; r < last; ++r) {
            for (size_t j = 0; j < n_columns; ++j) {
                if (j > 0) out.push_back(sep);
                detail::append_field(out, columns[j], r, digits, special);
            }
            out.push_back('\n');
        }
    }
    stop.throw_if_requested();
    return chunks;
}

}  // namespace recforge

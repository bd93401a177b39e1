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
// A coded column holds each row's label as a code into a table of labels (-1: an empty field):
// a campaign list's ids and descriptions repeat a few thousand labels over millions of rows,
// and are written from the labels without ever being spelled out row by row.
//
// Rows are formatted in chunks, in parallel, each straight into its own output buffer (sized by
// an upper bound, so nothing is copied or reallocated); the caller writes them in order, so the
// text does not depend on the thread count.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "recforge/parallel.hpp"

namespace recforge {

enum class CsvKind : int { int64 = 0, uint64 = 1, float32 = 2, float64 = 3, text = 4, coded = 5 };

struct CsvColumn {
    CsvKind kind = CsvKind::int64;
    const void* values = nullptr;      // numbers: n_rows of the kind's type; coded: n_rows int64 codes
    const int64_t* offsets = nullptr;  // text: n_rows + 1 byte offsets into data (Arrow's large_string);
                                       // coded: n_labels + 1, the labels'
    const char* data = nullptr;        // text, coded: UTF-8 bytes
    int64_t widest = 0;                // coded: the longest label's bytes
};

namespace detail {

// The most characters a number of the kind takes: int64's 20 (with the sign), and %.<digits>g's
// sign, point, digits and "e+308".
inline int64_t number_width(CsvKind kind, int digits) {
    return kind == CsvKind::int64 || kind == CsvKind::uint64 ? 20 : digits + 8;
}

inline char* put_text(char* out, const char* first, const char* last, const std::string& special) {
    const bool quote = std::find_first_of(first, last, special.begin(), special.end()) != last;
    if (!quote) return std::copy(first, last, out);
    *out++ = '"';
    for (const char* c = first; c != last; ++c) {
        if (*c == '"') *out++ = '"';  // a quote inside a quoted field is doubled
        *out++ = *c;
    }
    *out++ = '"';
    return out;
}

inline char* put_float(char* out, double value, int digits) {
    if (std::isnan(value)) return out;  // pandas' na_rep: an empty field
    return std::to_chars(out, out + 32, value, std::chars_format::general, digits).ptr;
}

inline char* put_field(char* out, const CsvColumn& c, int64_t r, int digits, const std::string& special) {
    switch (c.kind) {
        case CsvKind::int64:
            return std::to_chars(out, out + 24, static_cast<const int64_t*>(c.values)[r]).ptr;
        case CsvKind::uint64:
            return std::to_chars(out, out + 24, static_cast<const uint64_t*>(c.values)[r]).ptr;
        case CsvKind::float32:
            return put_float(out, static_cast<double>(static_cast<const float*>(c.values)[r]), digits);
        case CsvKind::float64:
            return put_float(out, static_cast<const double*>(c.values)[r], digits);
        case CsvKind::text:
            return put_text(out, c.data + c.offsets[r], c.data + c.offsets[r + 1], special);
        case CsvKind::coded: {
            const int64_t code = static_cast<const int64_t*>(c.values)[r];
            if (code < 0) return out;  // missing: an empty field
            return put_text(out, c.data + c.offsets[code], c.data + c.offsets[code + 1], special);
        }
    }
    return out;
}

}  // namespace detail

// Rows per chunk: a million rows make 61 chunks to balance over threads, each a buffer of a
// few hundred kilobytes.
constexpr int64_t kCsvChunkRows = 1 << 14;

inline int64_t csv_chunks(int64_t n_rows) { return (n_rows + kCsvChunkRows - 1) / kCsvChunkRows; }

// An upper bound of the bytes of chunk `chunk`'s text: every number at its widest, every text
// field quoted with every byte a doubled quote, a separator or line end per field.
inline int64_t csv_chunk_bound(const std::vector<CsvColumn>& columns, int64_t n_rows, int64_t chunk, int digits) {
    const int64_t first = chunk * kCsvChunkRows, last = std::min(n_rows, first + kCsvChunkRows), rows = last - first;
    int64_t bound = 0;
    for (const auto& c : columns) {
        bound += rows;  // its separator or the line end
        if (c.kind == CsvKind::text)
            bound += 2 * (c.offsets[last] - c.offsets[first]) + 2 * rows;
        else if (c.kind == CsvKind::coded)
            bound += rows * (2 * c.widest + 2);
        else
            bound += rows * detail::number_width(c.kind, digits);
    }
    return bound;
}

// Writes the CSV text of the chunks of rows [0, n_rows) of `columns` (no header): chunk c (rows
// [c * kCsvChunkRows, ...)) into out[c], which has room for csv_chunk_bound bytes; its length
// goes to lengths[c]. The chunks' concatenation is the text. `digits` in [1, 17]; `special`
// holds the characters that make a text field quoted.
// Complexity: O(total text length); no memory beyond the outputs. Throws Interrupted on Ctrl-C.
// Thread-safe for distinct outputs; the text does not depend on n_threads.
inline void csv_text(const std::vector<CsvColumn>& columns, int64_t n_rows, char sep, int digits,
                     const std::string& special, const std::vector<char*>& out, std::vector<int64_t>& lengths,
                     int n_threads) {
    const int64_t n_chunks = csv_chunks(n_rows);
    const size_t n_columns = columns.size();
    lengths.assign(static_cast<size_t>(n_chunks), 0);
    StopFlag stop;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads_for(n_threads, n_chunks))
    for (int64_t chunk = 0; chunk < n_chunks; ++chunk) {
        if (stop.requested()) continue;
        const int64_t first = chunk * kCsvChunkRows, last = std::min(n_rows, first + kCsvChunkRows);
        char* const start = out[static_cast<size_t>(chunk)];
        char* p = start;
        for (int64_t r = first; r < last; ++r) {
            for (size_t j = 0; j < n_columns; ++j) {
                if (j > 0) *p++ = sep;
                p = detail::put_field(p, columns[j], r, digits, special);
            }
            *p++ = '\n';
        }
        lengths[static_cast<size_t>(chunk)] = p - start;
    }
    stop.throw_if_requested();
}

}  // namespace recforge

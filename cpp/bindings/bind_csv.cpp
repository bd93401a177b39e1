// recforge._core.csv_text: binds csv_text.hpp (python/recforge/_csv_out.py).
#include <algorithm>
#include <string>
#include <vector>

#include "common.hpp"
#include "recforge/csv_text.hpp"

namespace recforge::bind {

namespace {

// Text buffers (Arrow large_string: int64 offsets, n + 1 of them, and uint8 bytes), checked so
// that no field reads past the data; returns the longest field's bytes.
int64_t checked_text(CsvColumn& c, const py::array& offsets, const py::handle& bytes, int64_t n,
                     const std::string& name) {
    c.offsets = checked_vector<int64_t>(offsets, name + " offsets", n + 1, false);
    const auto data = bytes.cast<py::array>();
    require_vector(data, name + " data");
    if (!has_dtype<uint8_t>(data)) throw py::type_error(name + " data must be uint8, got " + dtype_name(data));
    c.data = static_cast<const char*>(data.data());
    if (c.offsets[0] < 0 || c.offsets[n] > data.size()) throw py::value_error(name + " offsets point outside the data");
    int64_t widest = 0;
    for (int64_t r = 0; r < n; ++r) {
        if (c.offsets[r] > c.offsets[r + 1]) throw py::value_error(name + " offsets must not decrease");
        widest = std::max(widest, c.offsets[r + 1] - c.offsets[r]);
    }
    return widest;
}

// One column as the Python side hands it over: (kind, values, None) for numbers, (4, offsets,
// data) for text, (5, codes, (offsets, data)) for codes into a table of text labels.
CsvColumn column_of(const py::handle& spec, int64_t n_rows, const std::string& name) {
    const auto t = spec.cast<py::tuple>();
    if (t.size() != 3) throw py::value_error(name + " must be a (kind, values, data) tuple");
    const int kind = t[0].cast<int>();
    CsvColumn c;
    c.kind = static_cast<CsvKind>(kind);
    const auto a = t[1].cast<py::array>();
    switch (c.kind) {
        case CsvKind::int64:
            c.values = checked_vector<int64_t>(a, name, n_rows, false);
            break;
        case CsvKind::uint64:
            c.values = checked_vector<uint64_t>(a, name, n_rows, false);
            break;
        case CsvKind::float32:
            c.values = checked_vector<float>(a, name, n_rows, false);
            break;
        case CsvKind::float64:
            c.values = checked_vector<double>(a, name, n_rows, false);
            break;
        case CsvKind::text:
            checked_text(c, a, t[2], n_rows, name);
            break;
        case CsvKind::coded: {
            const int64_t* codes = checked_vector<int64_t>(a, name + " codes", n_rows, false);
            const auto labels = t[2].cast<py::tuple>();
            if (labels.size() != 2) throw py::value_error(name + " labels must be an (offsets, data) tuple");
            const auto offsets = labels[0].cast<py::array>();
            const int64_t n_labels = offsets.ndim() == 1 ? offsets.shape(0) - 1 : -1;
            if (n_labels < 0) throw py::value_error(name + " label offsets must be 1-D and not empty");
            c.widest = checked_text(c, offsets, labels[1], n_labels, name + " labels");
            for (int64_t r = 0; r < n_rows; ++r)
                if (codes[r] < -1 || codes[r] >= n_labels)
                    throw py::value_error(name + " codes must be in [-1, " + std::to_string(n_labels) + "), got " +
                                          std::to_string(codes[r]));
            c.values = codes;
            break;
        }
        default:
            throw py::value_error(
                name + " kind must be 0 (int64), 1 (uint64), 2 (float32), 3 (float64), 4 (text) or 5 (coded)");
    }
    return c;
}

}  // namespace

void bind_csv(py::module_& m) {
    m.def(
        "csv_text",
        [](const py::list& columns, int64_t n_rows, const std::string& sep, int digits, const std::string& special,
           int n_threads) {
            n_threads = kernel_threads(n_threads);
            if (n_rows < 0) throw py::value_error("n_rows must be >= 0");
            if (sep.size() != 1) throw py::value_error("sep must be one character");
            if (digits < 1 || digits > 17) throw py::value_error("digits must be in [1, 17]");
            std::vector<CsvColumn> cols;
            for (size_t j = 0; j < columns.size(); ++j)
                cols.push_back(column_of(columns[j], n_rows, "column " + std::to_string(j)));
            // Each chunk's bytes object at its bound, with the GIL; filled without it; then cut to
            // its length (a realloc that shrinks in place).
            const int64_t n_chunks = csv_chunks(n_rows);
            py::list texts(static_cast<size_t>(n_chunks));
            std::vector<char*> out(static_cast<size_t>(n_chunks));
            for (int64_t c = 0; c < n_chunks; ++c) {
                PyObject* raw = PyBytes_FromStringAndSize(nullptr, csv_chunk_bound(cols, n_rows, c, digits));
                if (raw == nullptr) throw py::error_already_set();
                out[static_cast<size_t>(c)] = PyBytes_AS_STRING(raw);
                PyList_SET_ITEM(texts.ptr(), c, raw);  // the list owns it from here
            }
            std::vector<int64_t> lengths;
            {
                py::gil_scoped_release release;  // the bytes objects are ours alone until returned
                csv_text(cols, n_rows, sep[0], digits, special, out, lengths, n_threads);
            }
            for (int64_t c = 0; c < n_chunks; ++c) {
                PyObject* raw = PyList_GET_ITEM(texts.ptr(), c);
                if (_PyBytes_Resize(&raw, static_cast<Py_ssize_t>(lengths[static_cast<size_t>(c)])) != 0) {
                    Py_INCREF(Py_None);
                    PyList_SET_ITEM(texts.ptr(), c, Py_None);  // the failed resize freed it
                    throw py::error_already_set();
                }
                PyList_SET_ITEM(texts.ptr(), c, raw);  // resizing may move it
            }
            return texts;
        },
        py::arg("columns"), py::arg("n_rows"), py::arg("sep"), py::arg("digits"), py::arg("special"),
        py::arg("n_threads"),
        "CSV text (no header, '\\n' line ends), as a list of bytes (chunks, in order), of columns given as (kind, "
        "values, data): kind 0 int64, 1 uint64, "
        "2 float32, 3 float64 (values: the array, data None; floats as %.<digits>g, NaN empty), 4 text (values: "
        "int64 offsets, n_rows + 1; data: uint8 UTF-8 bytes; quoted where a field holds a character of special), 5 "
        "coded (values: int64 codes, -1 an empty field; data: (offsets, bytes) of the labels' text).");
}

}  // namespace recforge::bind

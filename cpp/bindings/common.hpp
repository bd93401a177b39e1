// Helpers shared by the bind_*.cpp files: dtype dispatch, array checks, zero-copy outputs.
//
// Arrays are taken as py::array and checked explicitly (dtype, dimensions, contiguity) so
// that nothing is ever converted or copied silently; the Python layer converts once, on purpose.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "recforge/csr.hpp"
#include "recforge/parallel.hpp"

namespace recforge::bind {

namespace py = pybind11;

// Equivalence, not identity: unpickled arrays carry their own (equal) dtype objects, and a
// byte-swapped dtype is not equivalent, so it is rejected rather than misread.
template <typename T>
inline bool has_dtype(const py::array& a) {
    return a.dtype().equal(py::dtype::of<T>());
}

inline std::string dtype_name(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

inline void require_vector(const py::array& a, const std::string& name) {
    if (a.ndim() != 1) throw py::value_error(name + " must be 1-D, got " + std::to_string(a.ndim()) + " dimensions");
    if (!(a.flags() & py::array::c_style)) throw py::value_error(name + " must be C-contiguous");
}

// Calls f(T{}, I{}) with T the value type of `data` (float/double) and I the common index type
// of `indices` and `indptr` (int32_t/int64_t).
template <typename F>
decltype(auto) dispatch_csr(const std::string& name, const py::array& indptr, const py::array& indices,
                            const py::array& data, F&& f) {
    require_vector(indptr, name + ".indptr");
    require_vector(indices, name + ".indices");
    require_vector(data, name + ".data");
    const bool i32 = has_dtype<int32_t>(indptr) && has_dtype<int32_t>(indices);
    const bool i64 = has_dtype<int64_t>(indptr) && has_dtype<int64_t>(indices);
    if (!i32 && !i64)
        throw py::type_error(name + ".indptr and " + name + ".indices must both be int32 or both int64, got " +
                             dtype_name(indptr) + " and " + dtype_name(indices));
    if (has_dtype<float>(data)) {
        if (i32) return f(float{}, int32_t{});
        return f(float{}, int64_t{});
    }
    if (has_dtype<double>(data)) {
        if (i32) return f(double{}, int32_t{});
        return f(double{}, int64_t{});
    }
    throw py::type_error(name + ".data must be float32 or float64, got " + dtype_name(data));
}

// Validates (O(n_rows + nnz), GIL held) and returns a view over the arrays' memory. With
// `trusted` the caller vouches that the structure already passed this check (the Python layer's
// CsrParts, validated once at the public boundary): only the O(1) facts are checked (dtypes,
// contiguity, lengths, indptr's ends), so a one-row call against a large cached matrix does not
// pay O(nnz) again.
template <typename T, typename I>
CsrView<T, I> checked_csr(const std::string& name, int64_t n_rows, int64_t n_cols, const py::array& indptr,
                          const py::array& indices, const py::array& data, bool check_finite, bool require_canonical,
                          bool trusted = false, bool* canonical = nullptr) {
    require_vector(indptr, name + ".indptr");
    require_vector(indices, name + ".indices");
    require_vector(data, name + ".data");
    if (!has_dtype<I>(indptr) || !has_dtype<I>(indices) || !has_dtype<T>(data))
        throw py::type_error(name + " has dtypes (" + dtype_name(indptr) + ", " + dtype_name(indices) + ", " +
                             dtype_name(data) + "); expected " + dtype_name(py::array_t<I>()) + " indices and " +
                             dtype_name(py::array_t<T>()) + " values");
    const auto* p = static_cast<const I*>(indptr.data());
    const auto* ix = static_cast<const I*>(indices.data());
    const auto* v = static_cast<const T*>(data.data());
    if (indptr.size() == 0) throw py::value_error(name + ".indptr is empty, expected n_rows + 1 entries");
    if (trusted) {
        if (n_rows < 0 || n_cols < 0 || indptr.size() != n_rows + 1 || p[0] != 0 ||
            static_cast<int64_t>(p[n_rows]) != indices.size() || indices.size() != data.size())
            throw py::value_error(name + " does not have the structure its shape (" + std::to_string(n_rows) + ", " +
                                  std::to_string(n_cols) + ") requires");
        if (canonical) *canonical = true;  // the Python layer's CsrParts are canonical
        return CsrView<T, I>{n_rows, n_cols, p, ix, v};
    }
    const CsrCheck check =
        check_csr<T, I>(name, n_rows, n_cols, p, indptr.size(), ix, indices.size(), v, data.size(), check_finite);
    if (!check.error.empty()) throw py::value_error(check.error);
    if (canonical) *canonical = check.canonical;
    if (require_canonical && !check.canonical)
        throw py::value_error(name +
                              " is not canonical (row indices must be sorted and unique); "
                              "pass it through recforge.as_csr first");
    return CsrView<T, I>{n_rows, n_cols, p, ix, v};
}

// A C-contiguous 1-D array of `size` T (writeable when asked).
template <typename T>
T* checked_vector(const py::array& a, const std::string& name, int64_t size, bool writeable) {
    require_vector(a, name);
    if (!has_dtype<T>(a))
        throw py::type_error(name + " must be " + dtype_name(py::array_t<T>()) + ", got " + dtype_name(a));
    if (a.size() != size)
        throw py::value_error(name + " must have " + std::to_string(size) + " entries, got " +
                              std::to_string(a.size()));
    if (writeable && !a.writeable()) throw py::value_error(name + " must be writeable");
    return static_cast<T*>(const_cast<void*>(a.data()));
}

// A C-contiguous 2-D array of T; its shape goes to *rows, *cols.
template <typename T>
T* checked_matrix(const py::array& a, const std::string& name, int64_t* rows, int64_t* cols) {
    if (!has_dtype<T>(a))
        throw py::type_error(name + " must be " + dtype_name(py::array_t<T>()) + ", got " + dtype_name(a));
    if (a.ndim() != 2) throw py::value_error(name + " must be 2-D, got " + std::to_string(a.ndim()) + " dimensions");
    if (!(a.flags() & py::array::c_style)) throw py::value_error(name + " must be C-contiguous");
    *rows = a.shape(0);
    *cols = a.shape(1);
    return static_cast<T*>(const_cast<void*>(a.data()));
}

// The thread count a kernel runs with for the Python layer's n_threads (already resolved there;
// capped again here so that no caller can start more threads than CPUs, or any in a forked child).
inline int kernel_threads(int64_t n_threads) {
    if (n_threads < 1) throw py::value_error("n_threads must be >= 1 at the kernel boundary");
    return resolve_threads(static_cast<int>(std::min<int64_t>(n_threads, 1 << 20)));
}

// The interrupt poll kernels call (through StopFlag) from the thread that entered them: runs
// Python's signal handlers, so Ctrl-C's KeyboardInterrupt is pending when this returns true.
inline bool python_signal_pending() {
    py::gil_scoped_acquire gil;
    return PyErr_CheckSignals() != 0;
}

// Hands a vector's buffer to numpy without copying; the capsule frees it with the array.
template <typename T>
py::array_t<T> to_numpy(std::vector<T>&& v) {
    auto* owned = new std::vector<T>(std::move(v));
    py::capsule free_when_done(owned, [](void* ptr) { delete static_cast<std::vector<T>*>(ptr); });
    return py::array_t<T>(static_cast<py::ssize_t>(owned->size()), owned->data(), free_when_done);
}

}  // namespace recforge::bind

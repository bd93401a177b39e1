// The extension module recforge._core: one bind_<concept> function per kernel header.
#include <pybind11/pybind11.h>

#include "common.hpp"

namespace py = pybind11;

namespace recforge::bind {
void bind_config(py::module_& m);
void bind_csr(py::module_& m);
void bind_similarity(py::module_& m);
void bind_topk(py::module_& m);
void bind_metrics(py::module_& m);
void bind_als(py::module_& m);
void bind_mf(py::module_& m);
void bind_knn(py::module_& m);
void bind_bpr(py::module_& m);
void bind_ease(py::module_& m);
void bind_customers(py::module_& m);
void bind_campaign(py::module_& m);
void bind_pairs(py::module_& m);
void bind_csv(py::module_& m);
}  // namespace recforge::bind

PYBIND11_MODULE(_core, m) {
    m.doc() = "recforge compiled kernels (internal: use the recforge package API)";
    recforge::install_fork_guard();
    recforge::set_interrupt_poll(&recforge::bind::python_signal_pending);
    // A kernel stopped by Ctrl-C: the poll already set KeyboardInterrupt (or a signal handler's
    // own exception); keep it, or say KeyboardInterrupt when nothing is set.
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const recforge::Interrupted&) {
            if (!PyErr_Occurred()) PyErr_SetNone(PyExc_KeyboardInterrupt);
        }
    });
    recforge::bind::bind_config(m);
    recforge::bind::bind_csr(m);
    recforge::bind::bind_similarity(m);
    recforge::bind::bind_topk(m);
    recforge::bind::bind_metrics(m);
    recforge::bind::bind_als(m);
    recforge::bind::bind_mf(m);
    recforge::bind::bind_knn(m);
    recforge::bind::bind_ease(m);
    recforge::bind::bind_bpr(m);
    recforge::bind::bind_customers(m);
    recforge::bind::bind_campaign(m);
    recforge::bind::bind_pairs(m);
    recforge::bind::bind_csv(m);
}

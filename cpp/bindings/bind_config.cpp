// recforge._core.build_info: how this extension was compiled (used by recforge.config()).
#include "common.hpp"
#include "recforge/parallel.hpp"

namespace recforge::bind {

namespace {

std::string compiler_name() {
#if defined(__clang__)
    return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
    return std::string("gcc ") + __VERSION__;
#elif defined(_MSC_VER)
    return "msvc " + std::to_string(_MSC_FULL_VER);
#else
    return "unknown";
#endif
}

}  // namespace

void bind_config(py::module_& m) {
    m.def("build_info", [] {
        py::dict info;
        info["compiler"] = compiler_name();
        info["cxx_standard"] = static_cast<long>(__cplusplus);
        info["openmp"] = openmp_enabled();
#if defined(_OPENMP)
        info["openmp_version"] = static_cast<long>(_OPENMP);
#else
        info["openmp_version"] = py::none();
#endif
        info["max_threads"] = resolve_threads(0);
        info["forked_after_threads"] = forked_after_team();
        return info;
    });
}

}  // namespace recforge::bind

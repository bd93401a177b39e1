// Thread helpers: the only file that includes <omp.h>.
//
// Kernels use `#pragma omp` directly (ignored by a compiler without OpenMP, which gives a clean
// single-threaded build) and call these helpers for thread ids and counts.
#pragma once

#include <exception>
#include <mutex>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace recforge {

inline bool openmp_enabled() {
#if defined(_OPENMP)
    return true;
#else
    return false;
#endif
}

// Threads a kernel will use for n_threads (0 = the OpenMP default, which honours the process's
// CPU affinity and OMP_NUM_THREADS). Always >= 1; 1 without OpenMP.
inline int resolve_threads(int n_threads) {
#if defined(_OPENMP)
    return n_threads > 0 ? n_threads : omp_get_max_threads();
#else
    (void)n_threads;
    return 1;
#endif
}

inline int thread_index() {
#if defined(_OPENMP)
    return omp_get_thread_num();
#else
    return 0;
#endif
}

// Captures the first exception thrown inside a parallel region so it can be rethrown outside:
// an exception must never cross an OpenMP region boundary (that terminates the process).
class ExceptionTrap {
   public:
    template <typename F>
    void run(F&& f) noexcept {
        try {
            f();
        } catch (...) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!error_) error_ = std::current_exception();
        }
    }
    void rethrow() const {
        if (error_) std::rethrow_exception(error_);
    }

   private:
    std::mutex mutex_;
    std::exception_ptr error_;
};

}  // namespace recforge

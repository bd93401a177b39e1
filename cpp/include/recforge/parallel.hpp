// Thread helpers: the only file that includes <omp.h>.
//
// Kernels use `#pragma omp` directly (ignored by a compiler without OpenMP, which gives a clean
// single-threaded build) and call these helpers for thread ids and counts.
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
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

// Runs count_rows(row0, row1, scratch) -> int64 over blocks of `block` rows of [0, n_rows) in
// parallel (dynamic schedule: row costs are popularity-skewed), with one Scratch per thread made
// by make_scratch(); returns the sum of the counts. Exceptions (allocation included) are rethrown
// after the region. The per-row row solvers (ALS, ridge rows) share it.
template <typename Scratch, typename Make, typename Rows>
int64_t sum_over_row_blocks(int64_t n_rows, int64_t block, int n_threads, Make make_scratch, Rows count_rows) {
    const int64_t n_blocks = (n_rows + block - 1) / block;
    int64_t total = 0;
    ExceptionTrap trap;
#pragma omp parallel num_threads(n_threads)
    {
        // Every thread reaches the worksharing loop even if its scratch could not be allocated
        // (skipping it would deadlock the others); the error is rethrown after the region.
        std::unique_ptr<Scratch> scratch;
        trap.run([&] { scratch = make_scratch(); });
#pragma omp for schedule(dynamic, 1) reduction(+ : total)
        for (int64_t b = 0; b < n_blocks; ++b) {
            if (scratch)
                trap.run([&] { total += count_rows(b * block, (b + 1) * block < n_rows ? (b + 1) * block : n_rows, *scratch); });
        }
    }
    trap.rethrow();
    return total;
}

}  // namespace recforge

// Thread helpers: the only file that includes <omp.h>.
//
// Kernels use `#pragma omp` directly (ignored by a compiler without OpenMP, which gives a clean
// single-threaded build) and call these helpers for thread ids and counts.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif
#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#define RECFORGE_HAS_PTHREAD_ATFORK 1
#endif

namespace recforge {

inline bool openmp_enabled() {
#if defined(_OPENMP)
    return true;
#else
    return false;
#endif
}

// Fork safety. libgomp keeps its worker threads in a pool that a fork() does not copy: a child
// whose parent had started a team blocks forever in its first parallel region of more than one
// thread. As PyTorch and other OpenMP libraries do, a child forked after the parent ran a team
// runs every kernel with one thread (same results: the kernels do not depend on the thread count
// unless their docstring says so). A child forked before any team keeps its threads.
namespace detail {
inline std::atomic<bool>& team_started() {
    static std::atomic<bool> flag{false};
    return flag;
}
inline std::atomic<bool>& forked_after_team() {
    static std::atomic<bool> flag{false};
    return flag;
}
inline void on_fork_in_child() {
    if (team_started().load(std::memory_order_relaxed)) forked_after_team().store(true);
}
}  // namespace detail

// Registers the fork handler (once per process; the extension module calls it when loaded).
inline void install_fork_guard() {
#if defined(RECFORGE_HAS_PTHREAD_ATFORK)
    static const bool installed = (pthread_atfork(nullptr, nullptr, &detail::on_fork_in_child), true);
    (void)installed;
#endif
}

// Whether this process is a fork of one that had started a thread team (kernels then use one thread).
inline bool forked_after_team() { return detail::forked_after_team().load(std::memory_order_relaxed); }

// CPUs this process may run on (its affinity mask where the OpenMP runtime reads it). >= 1.
inline int usable_cpus() {
#if defined(_OPENMP)
    return std::max(1, omp_get_num_procs());
#else
    return 1;
#endif
}

// Threads a kernel will use for n_threads: 0 = the OpenMP default (the process's CPU affinity,
// capped by OMP_NUM_THREADS); any request is capped at usable_cpus() (more threads than CPUs
// only slow a kernel down, and a huge request would exhaust the stack or thread limits); 1 in a
// child forked after a team had started (see above), and 1 without OpenMP. Always >= 1. Every
// num_threads clause of the kernels takes a count that went through here.
inline int resolve_threads(int n_threads) {
#if defined(_OPENMP)
    if (forked_after_team()) return 1;
    const int n = std::min(n_threads > 0 ? n_threads : omp_get_max_threads(), usable_cpus());
    if (n > 1) detail::team_started().store(true, std::memory_order_relaxed);
    return std::max(n, 1);
#else
    (void)n_threads;
    return 1;
#endif
}

// Threads for a parallel region over `units` independent pieces of work: never more threads
// than pieces. A one-customer request (a web service's) then runs on its own thread: a team of
// two for one row would allocate a second set of per-thread buffers for nothing, and its end
// barrier would wait for a thread the OS may have descheduled (milliseconds on a busy machine).
inline int threads_for(int n_threads, int64_t units) {
    return units < static_cast<int64_t>(n_threads) ? static_cast<int>(std::max<int64_t>(units, 1)) : n_threads;
}

// Interruption (Ctrl-C). A long kernel asks a StopFlag between chunks of work; the flag asks the
// host's poll function (the Python bindings install one that runs PyErr_CheckSignals with the GIL)
// from the thread that entered the kernel only, at most every 20 ms. Once it says stop, every
// thread skips its remaining chunks and the kernel throws Interrupted after its parallel region,
// leaving its outputs partly written: callers write into fresh buffers and discard them.
using InterruptPoll = bool (*)();
namespace detail {
inline std::atomic<InterruptPoll>& interrupt_poll() {
    static std::atomic<InterruptPoll> poll{nullptr};
    return poll;
}
}  // namespace detail

inline void set_interrupt_poll(InterruptPoll poll) { detail::interrupt_poll().store(poll); }

struct Interrupted : std::exception {
    const char* what() const noexcept override { return "interrupted"; }
};

// Hot loops ask requested() once every kStopCheckMask + 1 iterations.
constexpr int64_t kStopCheckMask = (int64_t(1) << 14) - 1;

class StopFlag {
   public:
    // True once an interruption was seen; cheap for every thread (a relaxed load, plus a clock
    // read on the entering thread).
    bool requested() {
        if (stop_.load(std::memory_order_relaxed)) return true;
        if (std::this_thread::get_id() != owner_) return false;
        const auto now = std::chrono::steady_clock::now();
        if (now < next_poll_) return false;
        next_poll_ = now + std::chrono::milliseconds(20);
        const InterruptPoll poll = detail::interrupt_poll().load(std::memory_order_relaxed);
        if (poll != nullptr && poll()) stop_.store(true, std::memory_order_relaxed);
        return stop_.load(std::memory_order_relaxed);
    }
    // Throws Interrupted if an interruption was seen (call outside parallel regions).
    void throw_if_requested() const {
        if (stop_.load(std::memory_order_relaxed)) throw Interrupted();
    }
    // requested(), then throw_if_requested(): for sequential loops (between epochs).
    void check() {
        requested();
        throw_if_requested();
    }

   private:
    std::atomic<bool> stop_{false};
    std::thread::id owner_ = std::this_thread::get_id();
    std::chrono::steady_clock::time_point next_poll_{};
};

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
    StopFlag stop;
#pragma omp parallel num_threads(threads_for(n_threads, n_blocks))
    {
        // Every thread reaches the worksharing loop even if its scratch could not be allocated
        // (skipping it would deadlock the others); the error is rethrown after the region.
        std::unique_ptr<Scratch> scratch;
        trap.run([&] { scratch = make_scratch(); });
#pragma omp for schedule(dynamic, 1) reduction(+ : total)
        for (int64_t b = 0; b < n_blocks; ++b) {
            if (scratch && !stop.requested())
                trap.run([&] {
                    total += count_rows(b * block, (b + 1) * block < n_rows ? (b + 1) * block : n_rows, *scratch);
                });
        }
    }
    trap.rethrow();
    stop.throw_if_requested();
    return total;
}

// Fixed-order chunked sums of K per-row quantities, row(i, sums) adding row i's: rows in chunks
// of 4096 summed in row order, chunk sums added in chunk order, so the totals are bit-identical
// for any thread count (a reduction clause's order is not).
template <size_t K, typename Row>
std::array<double, K> chunked_sums(int64_t n, int n_threads, Row row) {
    constexpr int64_t chunk = 4096;
    const int64_t n_chunks = (n + chunk - 1) / chunk;
    std::vector<std::array<double, K>> partial(static_cast<size_t>(n_chunks));
#pragma omp parallel for schedule(static) num_threads(n_threads)
    for (int64_t c = 0; c < n_chunks; ++c) {
        std::array<double, K> s{};
        const int64_t end = std::min(n, (c + 1) * chunk);
        for (int64_t i = c * chunk; i < end; ++i) row(i, s);
        partial[static_cast<size_t>(c)] = s;
    }
    std::array<double, K> total{};
    for (const auto& s : partial)
        for (size_t j = 0; j < K; ++j) total[j] += s[j];
    return total;
}

}  // namespace recforge

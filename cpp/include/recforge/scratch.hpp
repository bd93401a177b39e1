// Scratch<T>: a large uninitialised array for a kernel's working space, every element of which
// the kernel writes before it reads it. UninitAllocator: the same for a std::vector that the
// kernel resizes and then fills (CsrMatrix, the transpose's output).
//
// Why not std::vector: a vector of n elements writes n zeros in the constructing thread before the
// kernel writes its own values. For the tens of megabytes of an inverted index that zeroing (and
// the page faults it takes, one per 4 KiB page) was as long as filling the index in parallel
// (beyond_accuracy.hpp: 19 ms of 0.21 s for 40 MB). Here the pages are first touched by the threads
// that fill them, and on Linux a buffer of at least 4 MiB is asked for in transparent huge pages
// (a hint the kernel may ignore), which takes one fault per 2 MiB instead of 512.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace recforge {

template <typename T>
class Scratch {
    static_assert(std::is_trivially_default_constructible_v<T> && std::is_trivially_destructible_v<T>,
                  "Scratch holds plain values only");

   public:
    Scratch() = default;
    explicit Scratch(size_t n) : size_(n) {
        if (n == 0) return;
        const size_t bytes = n * sizeof(T);
        void* p = nullptr;
#if defined(__linux__)
        constexpr size_t huge = size_t(2) << 20;
        if (bytes >= 2 * huge) {
            const size_t rounded = (bytes + huge - 1) / huge * huge;  // aligned_alloc: a multiple
            p = std::aligned_alloc(huge, rounded);
            if (p != nullptr) madvise(p, rounded, MADV_HUGEPAGE);  // advice only: failure is harmless
        }
#endif
        if (p == nullptr) p = std::malloc(bytes);
        if (p == nullptr) throw std::bad_alloc();
        data_.reset(static_cast<T*>(p));
    }

    T* data() { return data_.get(); }
    const T* data() const { return data_.get(); }
    size_t size() const { return size_; }
    T& operator[](size_t i) { return data_.get()[i]; }
    const T& operator[](size_t i) const { return data_.get()[i]; }

   private:
    struct Free {
        void operator()(T* p) const { std::free(p); }
    };
    std::unique_ptr<T, Free> data_;
    size_t size_ = 0;
};

// std::allocator whose value-less construct leaves the value uninitialised, so resize(n) does not
// write n zeros the caller overwrites anyway.
template <typename T>
struct UninitAllocator : std::allocator<T> {
    template <typename U>
    struct rebind {
        using other = UninitAllocator<U>;
    };
    UninitAllocator() = default;
    template <typename U>
    UninitAllocator(const UninitAllocator<U>&) noexcept {}
    template <typename U>
    void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
        ::new (static_cast<void*>(p)) U;
    }
    template <typename U, typename... Args>
    void construct(U* p, Args&&... args) {
        ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }
};

// AlignedAllocator: a std::vector's elements at a 64-byte boundary (a cache line, an AVX-512
// register). Why: GCC vectorises a loop over a small working vector with a scalar prologue up to
// that boundary, and contracts a * b + c into one fused multiply-add differently in the prologue
// and in the vector body; so a vector from malloc (16-byte aligned, its address differing by run
// and by thread) gave results that differed in the last bit from run to run (ALS's CG step).
// At a fixed boundary every run takes the same path through the loop.
template <typename T, size_t Align = 64>
struct AlignedAllocator {
    using value_type = T;
    template <typename U>
    struct rebind {
        using other = AlignedAllocator<U, Align>;
    };
    AlignedAllocator() = default;
    template <typename U>
    AlignedAllocator(const AlignedAllocator<U, Align>&) noexcept {}
    T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(Align))); }
    void deallocate(T* p, size_t) noexcept { ::operator delete(p, std::align_val_t(Align)); }
    template <typename U>
    bool operator==(const AlignedAllocator<U, Align>&) const noexcept {
        return true;
    }
    template <typename U>
    bool operator!=(const AlignedAllocator<U, Align>&) const noexcept {
        return false;
    }
};

template <typename T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

}  // namespace recforge

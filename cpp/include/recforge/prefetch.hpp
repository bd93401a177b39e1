// A portable software-prefetch hint (a no-op where the compiler has none).
#pragma once

#include <cstdint>

#if defined(_MSC_VER) && !defined(__clang__) && (defined(_M_X64) || defined(_M_IX86))
#include <xmmintrin.h>
#endif

// A prefetch hint into L2 only (x86's prefetcht1), for data needed after the current L1 working
// set. A macro, not a function: GCC dropped the prefetch of an inline helper called from a
// multiversioned function (no prefetcht1 left in the binary), and with it the gain.
#if defined(__GNUC__) || defined(__clang__)
#define RECFORGE_PREFETCH_L2(p) __builtin_prefetch((p), 0, 2)
#elif defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
#define RECFORGE_PREFETCH_L2(p) _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T1)
#else
#define RECFORGE_PREFETCH_L2(p) ((void)(p))
#endif

namespace recforge {

// Ask for the cache line holding p to be loaded for reading; never faults.
inline void prefetch(const void* p) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(p);
#elif defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
    _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0);
#else
    (void)p;
#endif
}

// Prefetch every cache line of [p, p + bytes) (a factor row before its SGD update).
inline void prefetch_span(const void* p, int64_t bytes) {
    const char* c = static_cast<const char*>(p);
    for (int64_t b = 0; b < bytes; b += 64) prefetch(c + b);
    prefetch(c + bytes - 1);  // the last line when the span is not line-aligned
}

}  // namespace recforge

// Seeded random numbers for the stochastic kernels (SGD, BPR): fast, identical on every platform
// (std:: distributions are not), and cheap to give one independent stream per thread.
#pragma once

#include <cstdint>
#include <utility>

namespace recforge {

// SplitMix64 (Steele, Lea & Flood 2014): used to expand one seed into generator states.
inline uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// The seed of epoch t of a run seeded with `seed`: epochs get unrelated streams, and running
// epochs one call at a time or all in one call draws the same numbers.
inline uint64_t epoch_seed(uint64_t seed, int64_t t) {
    uint64_t mix = seed ^ (0x632BE59BD9B4E019ULL * static_cast<uint64_t>(t + 1));
    return splitmix64(mix);
}

// xoshiro256** (Blackman & Vigna 2018): 256 bits of state, passes BigCrush, ~1 ns a draw.
class Rng {
   public:
    // Stream `stream` of seed `seed`: distinct (seed, stream) pairs give unrelated sequences.
    Rng(uint64_t seed, uint64_t stream = 0) {
        uint64_t x = seed ^ (0xD1B54A32D192ED03ULL * (stream + 1));
        for (auto& word : s_) word = splitmix64(x);
    }
    inline uint64_t next() {
        const uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }
    // Uniform in [0, n) for 0 < n < 2^32, by Lemire's multiply-shift (bias < n / 2^32, far below
    // anything SGD can notice; no division in the hot loop).
    inline uint64_t below(uint64_t n) { return ((next() >> 32) * n) >> 32; }
    // Uniform in [0, n) for any n > 0 (128-bit multiply-shift).
    inline uint64_t below_wide(uint64_t n) {
#if defined(__SIZEOF_INT128__)
        return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
#else
        return next() % n;
#endif
    }
    inline uint64_t index(uint64_t n) { return n < (1ULL << 32) ? below(n) : below_wide(n); }
    // Uniform double in [0, 1) with 53 random bits.
    inline double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

   private:
    static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    uint64_t s_[4];
};

// Fisher-Yates: applies one uniformly random permutation to the parallel arrays a, b, c
// (length n) in place. O(n), sequential (deterministic for a seed whatever the thread count).
template <typename A, typename B, typename C>
void shuffle_together(A* a, B* b, C* c, int64_t n, Rng& rng) {
    for (int64_t i = n - 1; i > 0; --i) {
        const auto j = static_cast<int64_t>(rng.index(static_cast<uint64_t>(i) + 1));
        std::swap(a[i], a[j]);
        std::swap(b[i], b[j]);
        std::swap(c[i], c[j]);
    }
}

}  // namespace recforge

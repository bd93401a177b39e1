// RECFORGE_MULTIVERSION: one compiled clone of a function per instruction set (AVX-512, AVX2,
// the x86-64 baseline), the best one picked when the module loads (GCC's target_clones), so a
// portable wheel still runs the wide vector code on the machines that have it.
//
// Put it on the hot per-chunk function of a kernel, template or not; the RECFORGE_INLINE
// helpers it calls (dense.hpp, score_tile.hpp) are compiled inside each clone. GCC accepts it on
// templates from version 12; elsewhere (clang, MSVC, macOS, older GCC) it expands to nothing and
// the build is the plain portable one.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12 && defined(__x86_64__) && defined(__linux__)
#define RECFORGE_MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define RECFORGE_MULTIVERSION
#endif

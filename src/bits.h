// SPDX-License-Identifier: MIT
/*
 * bits.h - bit scans shared by the TLSF core and libmemoman-malloc (private): the index of the
 * highest or lowest set bit, and a population count. With MM_USE_BUILTIN_BITSCAN (config.h) they
 * are the compiler's builtins, otherwise portable C.
 */
#ifndef MEMOMAN_BITS_H
#define MEMOMAN_BITS_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* Index of the highest set bit of x; x must not be 0. */
MM_INLINE unsigned mm_fls_size(size_t x)
{
#if MM_USE_BUILTIN_BITSCAN
	/* Written as an xor so that x86's bsr, which yields the index directly, needs no correction. */
#if SIZE_MAX > 0xFFFFFFFFu
	return 63u ^ (unsigned)__builtin_clzll((unsigned long long)x);
#else
	return 31u ^ (unsigned)__builtin_clz((unsigned)x);
#endif
#else
	unsigned r = 0;
#if SIZE_MAX > 0xFFFFFFFFu
	if (x >> 32) {
		x >>= 32;
		r += 32;
	}
#endif
	if (x >> 16) {
		x >>= 16;
		r += 16;
	}
	if (x >> 8) {
		x >>= 8;
		r += 8;
	}
	if (x >> 4) {
		x >>= 4;
		r += 4;
	}
	if (x >> 2) {
		x >>= 2;
		r += 2;
	}
	if (x >> 1) {
		r += 1;
	}
	return r;
#endif
}

/* Index of the lowest set bit of x; x must not be 0. */
MM_INLINE unsigned mm_ffs64(uint64_t x)
{
#if MM_USE_BUILTIN_BITSCAN
	return (unsigned)__builtin_ctzll(x);
#else
	unsigned r = 0;
	if (!(x & 0xFFFFFFFFu)) {
		x >>= 32;
		r += 32;
	}
	if (!(x & 0xFFFFu)) {
		x >>= 16;
		r += 16;
	}
	if (!(x & 0xFFu)) {
		x >>= 8;
		r += 8;
	}
	if (!(x & 0xFu)) {
		x >>= 4;
		r += 4;
	}
	if (!(x & 0x3u)) {
		x >>= 2;
		r += 2;
	}
	if (!(x & 0x1u)) {
		r += 1;
	}
	return r;
#endif
}

/* Index of the lowest set bit of x; x must not be 0. */
MM_INLINE unsigned mm_ffs32(uint32_t x)
{
#if MM_USE_BUILTIN_BITSCAN
	return (unsigned)__builtin_ctz(x);
#else
	/* Its own 32-bit steps: on a 32-bit CPU mm_ffs64's would take two words each. */
	unsigned r = 0;
	if (!(x & 0xFFFFu)) {
		x >>= 16;
		r += 16;
	}
	if (!(x & 0xFFu)) {
		x >>= 8;
		r += 8;
	}
	if (!(x & 0xFu)) {
		x >>= 4;
		r += 4;
	}
	if (!(x & 0x3u)) {
		x >>= 2;
		r += 2;
	}
	if (!(x & 0x1u)) {
		r += 1;
	}
	return r;
#endif
}

/* Set bits of x. */
MM_INLINE unsigned mm_popcount64(uint64_t x)
{
#if defined(__GNUC__) || defined(__clang__)
	return (unsigned)__builtin_popcountll(x);
#else
	unsigned n = 0;
	for (; x; x &= x - 1)
		n++;
	return n;
#endif
}

#endif /* MEMOMAN_BITS_H */

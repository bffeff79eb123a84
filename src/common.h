// SPDX-License-Identifier: MIT
/*
 * common.h - compiler helpers shared by every source file of libmemoman (private).
 */
#ifndef MEMOMAN_COMMON_H
#define MEMOMAN_COMMON_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../include/memoman.h"

/* ---- Compiler helpers --------------------------------------------------------------------------- */

#if defined(__GNUC__) || defined(__clang__)
#define MM_LIKELY(x) __builtin_expect(!!(x), 1)
#define MM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define MM_NOINLINE __attribute__((noinline))
#define MM_COLD __attribute__((cold))
#define MM_INLINE static inline __attribute__((always_inline))
#else
#define MM_LIKELY(x) (x)
#define MM_UNLIKELY(x) (x)
#define MM_NOINLINE
#define MM_COLD
#define MM_INLINE static inline
#endif

/*
 * MM_PART marks the parts the core operations are built from (list and block steps, the pointer
 * checks, the core operations themselves). Built for speed they are inlined into each entry point;
 * built small (MM_SMALL_CODE, config.h) each exists once and the entry points call it.
 */
#if MM_SMALL_CODE
#define MM_PART static MM_NOINLINE
#else
#define MM_PART MM_INLINE
#endif
/* A whole operation or a large step with several callers: left to the compiler built for speed,
 * one copy built small. */
#if MM_SMALL_CODE
#define MM_ONCE static MM_NOINLINE
#else
#define MM_ONCE static
#endif

#if MM_DEBUG
#include <assert.h>
#define MM_ASSERT(x) assert(x)
#else
#define MM_ASSERT(x) ((void)0)
#endif

/* log2 of a power-of-two constant expression (up to 2^20), usable in static assertions. */
// clang-format off
#define MM_LOG2_CONST(x)                                                                          \
	((x) >= 1048576 ? 20 : (x) >= 524288 ? 19 : (x) >= 262144 ? 18 : (x) >= 131072 ? 17           \
	: (x) >= 65536 ? 16 : (x) >= 32768 ? 15 : (x) >= 16384 ? 14 : (x) >= 8192 ? 13                \
	: (x) >= 4096 ? 12 : (x) >= 2048 ? 11 : (x) >= 1024 ? 10 : (x) >= 512 ? 9 : (x) >= 256 ? 8    \
	: (x) >= 128 ? 7 : (x) >= 64 ? 6 : (x) >= 32 ? 5 : (x) >= 16 ? 4 : (x) >= 8 ? 3 : (x) >= 4 ? 2 \
	: (x) >= 2 ? 1 : 0)
// clang-format on

/*
 * A 64-bit integer that asks for no more than a word's alignment: the cycle records and 64-bit
 * bitmaps of the instances' control structures. On 32-bit ABIs that align
 * uint64_t to 8 (ARM EABI, RISC-V, s390, PowerPC), a plain uint64_t would make every control
 * structure need 8, more than mm_align_size() promises with MM_ALIGNMENT=4. Accessed only as
 * plain (non-atomic) integers, under the instance's lock if any. Other compilers: uint64_t, and the
 * creation functions check the control's real alignment.
 */
#if defined(__GNUC__) || defined(__clang__)
typedef uint64_t mm_u64 __attribute__((aligned(sizeof(size_t))));
#else
typedef uint64_t mm_u64;
#endif

/*
 * Zeroes `bytes` (a multiple of the word) at a word-aligned p, a word at a time. The volatile store
 * keeps the compiler from turning the loop into a call to memset, which would bring a routine of its
 * own into a TLSF-only image that otherwise has none. For set-up only: not a hot path.
 */
#if defined(__GNUC__) || defined(__clang__)
#define MM_COMPILER_BARRIER() __asm__ __volatile__("" ::: "memory")
#else
#define MM_COMPILER_BARRIER() ((void)0)
#endif

MM_INLINE void mm_zero_words(void *p, size_t bytes)
{
	for (size_t i = 0; i < bytes / sizeof(size_t); i++)
		((volatile size_t *)p)[i] = 0;
	MM_COMPILER_BARRIER(); /* the stores of other types that follow stay after these */
}

/*
 * Moves `bytes` (a multiple of the word) between word-aligned addresses that may overlap, like
 * memmove. Built small (MM_SMALL_CODE), a word loop of its own, volatile for the reason above: the
 * TLSF core then needs no routine from the C library at all (newlib-nano's memmove alone is about
 * 250 bytes on Cortex-M4). Built for ASan (MM_ASAN) too: the C library's memmove is then ASan's,
 * which checks the poisoned bytes memoman moves (src/tool.h). Built for speed, memmove.
 */
MM_INLINE void mm_move_words(void *dst, const void *src, size_t bytes)
{
#if MM_SMALL_CODE || MM_ASAN
	volatile size_t *d = (volatile size_t *)dst;
	const volatile size_t *s = (const volatile size_t *)src;
	size_t n = bytes / sizeof(size_t);
	MM_COMPILER_BARRIER(); /* earlier stores of other types to the source are done */
	if ((uintptr_t)d < (uintptr_t)s) {
		for (size_t i = 0; i < n; i++)
			d[i] = s[i];
	} else {
		while (n--)
			d[n] = s[n];
	}
	MM_COMPILER_BARRIER();
#else
	memmove(dst, src, bytes);
#endif
}

/* memcpy and memset(0) of a block's bytes: built for ASan (MM_ASAN) byte loops of their own, for the
 * reason above. */
MM_INLINE void mm_copy_bytes(void *dst, const void *src, size_t n)
{
#if MM_ASAN
	volatile unsigned char *d = (volatile unsigned char *)dst;
	const volatile unsigned char *s = (const volatile unsigned char *)src;
	for (size_t i = 0; i < n; i++)
		d[i] = s[i];
#else
	memcpy(dst, src, n);
#endif
}

MM_INLINE void mm_zero_bytes(void *p, size_t n)
{
#if MM_ASAN
	volatile unsigned char *d = (volatile unsigned char *)p;
	for (size_t i = 0; i < n; i++)
		d[i] = 0;
#else
	memset(p, 0, n);
#endif
}

MM_INLINE uintptr_t mm_addr(const void *p) { return (uintptr_t)p; }

/* ---- Canaries ------------------------------------------------------------------------------------- */

/*
 * The canary of a block of `u` bytes at p (libmemoman at MM_CHECKS=3, libmemoman-malloc's secure
 * build): its last word, for a program that asked for n <= u - word bytes. It holds the slack (the
 * bytes from n to it) twice, once in each half, xor-ed with `code` (the block's address mixed with
 * a key: mm_canary_code), and the slack's bytes are kept zero; so a write past the n bytes changes
 * a zero byte or leaves the canary undecodable. A slack of half a word or more (a large block on a
 * 32-bit target) is held as the largest that fits: the bytes before it are the program's, unchecked.
 */
#define MM_CANARY_HALF (sizeof(uintptr_t) * 4)
#define MM_CANARY_SLACK_MAX (((uintptr_t)1 << MM_CANARY_HALF) - 1)
#define MM_CANARY_KEY ((uintptr_t)0xC3A5C85C97CB3127ull) /* libmemoman's key (MM_CHECKS=3) */

MM_INLINE uintptr_t mm_canary_code(const void *p, uintptr_t key)
{
	return (mm_addr(p) * (uintptr_t)0x9E3779B97F4A7C15ull) ^ key;
}

MM_INLINE uintptr_t *mm_canary_word(void *p, size_t u) { return (uintptr_t *)p + u / sizeof(uintptr_t) - 1; }

/* Writes the canary of p's first n bytes (the slack's bytes must be zero already). */
MM_INLINE void mm_canary_put(void *p, size_t u, size_t n, uintptr_t code)
{
	uintptr_t slack = u - sizeof(uintptr_t) - n;
	if (slack > MM_CANARY_SLACK_MAX)
		slack = MM_CANARY_SLACK_MAX;
	*mm_canary_word(p, u) = code ^ (slack | (slack << MM_CANARY_HALF));
}

/* The bytes a canary word `word` of such a block says are the program's (n, or more if the slack
 * was held short), or SIZE_MAX if it is no canary (overwritten). */
MM_INLINE size_t mm_canary_decode(uintptr_t word, size_t u, uintptr_t code)
{
	uintptr_t v = word ^ code;
	uintptr_t lo = v & MM_CANARY_SLACK_MAX, hi = v >> MM_CANARY_HALF;
	return lo == hi && lo <= u - sizeof(uintptr_t) ? u - sizeof(uintptr_t) - (size_t)lo : SIZE_MAX;
}

/* mm_canary_decode of p's canary. The slack's bytes are not looked at. */
MM_INLINE size_t mm_canary_get(const void *p, size_t u, uintptr_t code)
{
	return mm_canary_decode(*mm_canary_word((void *)(uintptr_t)p, u), u, code);
}

/* mm_canary_get, and the slack's bytes still zero; SIZE_MAX if not (a write past the end). O(slack). */
MM_INLINE size_t mm_canary_intact(const void *p, size_t u, uintptr_t code)
{
	size_t n = mm_canary_get(p, u, code);
	if (MM_UNLIKELY(n == SIZE_MAX))
		return SIZE_MAX;
	const unsigned char *b = (const unsigned char *)p;
	for (size_t i = n; i < u - sizeof(uintptr_t); i++)
		if (MM_UNLIKELY(b[i] != 0))
			return SIZE_MAX;
	return n;
}
MM_INLINE uintptr_t mm_align_up_addr(uintptr_t a, size_t align) { return (a + (align - 1)) & ~(uintptr_t)(align - 1); }

#endif /* MEMOMAN_COMMON_H */

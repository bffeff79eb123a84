// SPDX-License-Identifier: MIT
/*
 * tool.h - telling a memory checker which bytes of memoman's pools a program may touch (private).
 *
 * MM_VALGRIND=1 (CMake MEMOMAN_VALGRIND) speaks to Valgrind's memcheck through its client requests
 * (<valgrind/memcheck.h>, Debian's valgrind package): a block handed out is a heap block of the
 * requested size to memcheck (VALGRIND_MALLOCLIKE_BLOCK; the rest of the block, the headers and the
 * free blocks stay inaccessible), a freed block is inaccessible again, and one nobody points to any
 * more is a leak. (Memcheck's mempools would fit instances better, but its leak check skips them in
 * a program that never called malloc, which is what firmware tested on Linux looks like.) MM_ASAN=1 (CMake MEMOMAN_ASAN) poisons the same
 * bytes for AddressSanitizer (<sanitizer/asan_interface.h>): the program is built with
 * -fsanitize=address, memoman itself without (its own reads of headers and free lists would be
 * reported otherwise).
 *
 * Without them every macro is empty: nothing is compiled in. Under memcheck memoman's own reads of
 * headers and free lists are not reported: an entry point that touches pool memory runs between
 * MM_TOOL_QUIET_BEGIN and MM_TOOL_QUIET_END (error reports off for the calling thread, counted, so
 * nesting is fine). A callback into the program from there (an error handler, a walker) runs with
 * them off too.
 */
#ifndef MEMOMAN_TOOL_H
#define MEMOMAN_TOOL_H

#include "../include/memoman.h" /* MM_VALGRIND, MM_ASAN (config.h) */

#if MM_VALGRIND
#include <valgrind/memcheck.h>
#define MM_TOOL_QUIET_BEGIN() VALGRIND_DISABLE_ERROR_REPORTING
#define MM_TOOL_QUIET_END() VALGRIND_ENABLE_ERROR_REPORTING
#define MM_V_ALLOC(p, n) VALGRIND_MALLOCLIKE_BLOCK((p), (n), 0, 0)
#define MM_V_FREE(p) VALGRIND_FREELIKE_BLOCK((p), 0)
#define MM_V_NOACCESS(p, n) VALGRIND_MAKE_MEM_NOACCESS((p), (n))
#define MM_V_UNDEFINED(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#define MM_V_DEFINED(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))
#else
#define MM_TOOL_QUIET_BEGIN() ((void)0)
#define MM_TOOL_QUIET_END() ((void)0)
#define MM_V_ALLOC(p, n) ((void)0)
#define MM_V_FREE(p) ((void)0)
#define MM_V_NOACCESS(p, n) ((void)0)
#define MM_V_UNDEFINED(p, n) ((void)0)
#define MM_V_DEFINED(p, n) ((void)0)
#endif

#if MM_ASAN
#if defined(__SANITIZE_ADDRESS__)
#error "MM_ASAN=1: build memoman without -fsanitize=address (the program with it); CMake's MEMOMAN_ASAN does"
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#error "MM_ASAN=1: build memoman without -fsanitize=address (the program with it); CMake's MEMOMAN_ASAN does"
#endif
#endif
#include <sanitizer/asan_interface.h>
#define MM_A_POISON(p, n) __asan_poison_memory_region((const volatile void *)(p), (n))
#define MM_A_UNPOISON(p, n) __asan_unpoison_memory_region((const volatile void *)(p), (n))
#else
#define MM_A_POISON(p, n) ((void)0)
#define MM_A_UNPOISON(p, n) ((void)0)
#endif

#define MM_TOOLS (MM_VALGRIND || MM_ASAN)

/* A range of a pool that holds no block of the program's (a new pool, a freed block). */
#define MM_TOOL_HIDE(p, n)                                                                                             \
	do {                                                                                                           \
		MM_V_NOACCESS((p), (n));                                                                               \
		MM_A_POISON((p), (n));                                                                                 \
	} while (0)
/* A range given back to its owner (a pool removed, an instance destroyed): plain memory again. */
#define MM_TOOL_SHOW(p, n)                                                                                             \
	do {                                                                                                           \
		MM_V_UNDEFINED((p), (n));                                                                              \
		MM_A_UNPOISON((p), (n));                                                                               \
	} while (0)
/* A block of `n` bytes handed out at p: those bytes are the program's, not yet written. */
#define MM_TOOL_ALLOC(p, n)                                                                                            \
	do {                                                                                                           \
		MM_V_ALLOC((p), (n));                                                                                  \
		MM_A_UNPOISON((p), (n));                                                                               \
	} while (0)
/* The block at p, of `usable` bytes, taken back. */
#define MM_TOOL_FREE(p, usable)                                                                                        \
	do {                                                                                                           \
		MM_V_FREE(p);                                                                                          \
		MM_A_POISON((p), (usable));                                                                            \
	} while (0)
/* The first n bytes of a block were written by memoman (a copy, a zero fill): defined for memcheck. */
#define MM_TOOL_WRITTEN(p, n) MM_V_DEFINED((p), (n))

#endif /* MEMOMAN_TOOL_H */

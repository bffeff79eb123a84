// SPDX-License-Identifier: MIT
/*
 * memoman/config.h - every compile-time knob of libmemoman, in one place.
 *
 * Each knob is `#ifndef`-defaulted: define it on the compiler command line (-DMM_CHECKS=2), or put
 * your definitions in a header of your own and name it with -DMM_CONFIG_HEADER='"my_mm_config.h"'.
 * The library and every translation unit that includes memoman.h must see the same values; the
 * public API never depends on them except through functions (mm_size(), mm_align_size(), ...), so a
 * mismatch can only come from compiling the library's own sources with different flags.
 *
 * Everything that follows from these knobs (first-level shift, minimum block, class counts, largest
 * block) is derived in src/tlsf_internal.h and checked there with static assertions.
 * tests/test_knobs.c builds the library once per knob and checks that each one changes what it says.
 */
#ifndef MEMOMAN_CONFIG_H
#define MEMOMAN_CONFIG_H

#ifdef MM_CONFIG_HEADER
#include MM_CONFIG_HEADER
#endif

#include <stddef.h>
#include <stdint.h>

/* ---- Debug and checks --------------------------------------------------------------------------- */

/*
 * MM_DEBUG (0 or 1, default 0).
 * 1 turns on the library's internal assertions, raises MM_CHECKS to 2, and makes an error that no
 * handler is installed for print a message to stderr and abort(), like glibc's "free(): double free".
 * Use it while developing; ship with 0.
 */
#ifndef MM_DEBUG
#define MM_DEBUG 0
#endif

/*
 * MM_CHECKS (0, 1, 2 or 3; default 1, or 2 when MM_DEBUG is 1).
 * 0: no checks. A bad pointer given to mm_free/mm_realloc/mm_block_size is undefined behaviour, and
 *    free-list links are stored and followed as they are.
 * 1: cheap O(1) checks on every pointer the caller hands back: inside one of the instance's pools,
 *    aligned, header not free (double free), header flag and size bits consistent with the next
 *    header. A failed check reports the error and refuses the operation; the heap stays valid.
 *    Free-list links are stored sealed and checked before they are followed (mm_set_secret), so a
 *    write after free cannot steer an allocation or a write (MM_ERR_CORRUPTED_LINK).
 *    The cost is measured by `make bench` (rows "mm checks=0" and "mm checks=1").
 * 2: level 1, a link's target checked against the pools themselves rather than their range, and a
 *    full mm_validate() of the instance every MM_VALIDATE_INTERVAL operations.
 * 3: the hardened level, for debugging: level 2, and every layer (the TLSF core, the TLSF 3.1
 *    names, fixed pools, a heap's classes and remainder) catches overflows and writes after free,
 *    at a cost in proportion to the block (the operations are no longer O(1), and the worst-case bounds of docs/realtime.md are
 *    for levels 0 to 2):
 *    - each block ends in a canary word after the size asked for (mm_alloc_overhead() is two words);
 *      a write past the size asked for is reported at mm_free and mm_realloc (MM_ERR_OVERRUN, the
 *      call refused; a periodic validation names the block too, again at each validation until it
 *      is repaired or the instance reset), and mm_block_size gives the size asked for (1 for 0);
 *      mm_walk_pool's sizes still count the canary's word;
 *    - freed memory is zeroed (a block at free, the headers coalescing absorbs, a pool when added
 *      or reset) and a block handed out, or grown over by mm_realloc, must still be zero but for the
 *      free-list links and the word its successor used (MM_ERR_WRITE_AFTER_FREE, reported; a block
 *      handed out comes out zeroed).
 *    Fixed pools and a heap's classes do the same with a canary word added to each block's stride:
 *    mm_fixed_size and mm_heap_size count it, mm_fixed_block_size gives the block size asked for,
 *    mm_heap_block_size a class block's request size, and a block handed out is checked past its
 *    link (the lock-free mode: all of it); a double free in MM_FIXED_UNCHECKED mode is named one.
 */
#ifndef MM_CHECKS
#if MM_DEBUG
#define MM_CHECKS 2
#else
#define MM_CHECKS 1
#endif
#endif

/*
 * MM_VALIDATE_INTERVAL (default 1024): with MM_CHECKS == 2, run mm_validate() after every this many
 * malloc/free/realloc/memalign calls. 1 validates after every call (slow: O(blocks) each).
 */
#ifndef MM_VALIDATE_INTERVAL
#define MM_VALIDATE_INTERVAL 1024
#endif

/*
 * MM_CYCLES (0 or 1, default 0): compile in cycle tracking. With 1, mm_track_cycles() switches on,
 * per instance, the measurement of every operation (minimum, mean, maximum and a log2 histogram per
 * kind of operation) with the built-in counter (mm_cycle_source()) or one of your own. With 0 the
 * code is not there at all and mm_track_cycles() answers 0.
 */
#ifndef MM_CYCLES
#define MM_CYCLES 0
#endif

/*
 * MM_VALGRIND and MM_ASAN (0 or 1, default 0; CMake MEMOMAN_VALGRIND and MEMOMAN_ASAN): tell a
 * memory checker which bytes of the pools the program may touch, so that it reports a write past
 * the bytes asked for, a read after free and (memcheck) a leak in blocks of memoman's, as it does
 * for malloc's. MM_VALGRIND uses Valgrind's client requests (<valgrind/memcheck.h>, needed to
 * build; a program not under Valgrind runs a few instructions more a call). MM_ASAN poisons for
 * AddressSanitizer (<sanitizer/asan_interface.h>): build memoman without -fsanitize=address and
 * the program with it. Both need MM_OBSERVE=1. With 0 nothing is compiled in. docs/debugging.md.
 */
#ifndef MM_VALGRIND
#define MM_VALGRIND 0
#endif
#ifndef MM_ASAN
#define MM_ASAN 0
#endif

/*
 * MM_SMALL_CODE (0 or 1; default 1 when the compiler optimizes for size, -Os or -Oz, else 0).
 * 1 builds each step of the TLSF core once and calls it, instead of inlining the steps into every
 * entry point: about half the code, a few more instructions per call (README, "Footprint").
 */
#ifndef MM_SMALL_CODE
#if defined(__OPTIMIZE_SIZE__)
#define MM_SMALL_CODE 1
#else
#define MM_SMALL_CODE 0
#endif
#endif

/*
 * MM_OBSERVE (0 or 1, default 1): what watches the operations: statistics counters, hooks
 * (mm_set_hooks, mm_trace_record), the lock (mm_set_lock, mm_use_builtin_lock) and cycle tracking.
 * 0 compiles them out of the TLSF core's operations, for the smallest image (README, "Footprint"):
 * mm_get_stats, mm_set_lock, mm_use_builtin_lock and mm_track_cycles return 0 for every instance,
 * and mm_set_hooks reports MM_ERR_NOT_BUILT. Errors are still reported (mm_set_error_handler).
 * An instance without a lock is for one thread (or yours around every call). MM_CYCLES needs 1.
 */
#ifndef MM_OBSERVE
#define MM_OBSERVE 1
#endif

/*
 * MM_REALLOC_BOTH_SIDES (0 or 1, default 1): when a block can neither grow in place nor move to a
 * new block, mm_realloc joins it with the free blocks on both sides and moves the data down, so that
 * a nearly full pool still serves the request. 0 leaves that last resort out (about 100 bytes of
 * code on Cortex-M): such a realloc returns NULL, as TLSF 3.1's does.
 */
#ifndef MM_REALLOC_BOTH_SIDES
#define MM_REALLOC_BOTH_SIDES 1
#endif

/* ---- Layout ------------------------------------------------------------------------------------- */

/*
 * MM_ALIGNMENT (default alignof(max_align_t): 16 on x86-64, i386 and AArch64 with gcc and clang).
 * Every pointer the allocator returns is aligned to it, and every block size is a multiple of it.
 * Must be a power of two and at least sizeof(size_t). 8 on a 64-bit target gives TLSF 3.1's layout
 * (and its smaller blocks) at the price of pointers that are not suitable for every type.
 */
#ifndef MM_ALIGNMENT
#if defined(__cplusplus)
#define MM_ALIGNMENT alignof(max_align_t)
#else
#define MM_ALIGNMENT _Alignof(max_align_t)
#endif
#endif

/*
 * MM_SL_INDEX_COUNT_LOG2 (1..6; default 6 on 64-bit targets, 5 on 32-bit): log2 of the number of
 * second-level subdivisions of each power-of-two size range. A block is rounded up to its class
 * bound (so that a freed block always serves a later request of the same size), which wastes at most
 * one class step: 1/64 of the range with 6, 1/32 with 5. 6 uses 64-bit second-level bitmaps and
 * doubles the free-list heads in the control structure (mm_size(): about 13 KiB against 7 KiB on
 * 64-bit); on 32-bit targets, where the control structure's size matters more, 5 is the default.
 * `make bench` measures the memory each uses against TLSF 3.1 (README, "Memory").
 */
#ifndef MM_SL_INDEX_COUNT_LOG2
#if SIZE_MAX > 0xFFFFFFFFu
#define MM_SL_INDEX_COUNT_LOG2 6
#else
#define MM_SL_INDEX_COUNT_LOG2 5
#endif
#endif

/*
 * MM_FL_INDEX_MAX (default 32 on 64-bit targets, 30 on 32-bit, as TLSF 3.1): every block is smaller than
 * 2^MM_FL_INDEX_MAX bytes. A pool larger than the largest block is clamped to it (the excess is not
 * used; mm_add_pool still succeeds). Each extra unit adds one first-level row of 2^SL pointers to the
 * control structure. Limits: the first-level count (MM_FL_INDEX_MAX - log2(MM_ALIGNMENT) -
 * MM_SL_INDEX_COUNT_LOG2 + 1) must be between 2 and 32, and MM_FL_INDEX_MAX below the width of size_t.
 */
#ifndef MM_FL_INDEX_MAX
#if SIZE_MAX > 0xFFFFFFFFu
#define MM_FL_INDEX_MAX 32
#else
#define MM_FL_INDEX_MAX 30
#endif
#endif

/*
 * MM_MAX_POOLS (1..1024; default 32 on 64-bit targets, 4 on 32-bit): pools one instance can hold
 * (mm_add_pool reports MM_ERR_POOL_LIMIT beyond). The pool table lives in the control structure,
 * three words a pool; pointer checks search it in log2(MM_MAX_POOLS) steps. On 32-bit targets 4
 * keeps the control structure within TLSF 3.1's (README, "Footprint"); raise it if you add more.
 */
#ifndef MM_MAX_POOLS
#if SIZE_MAX > 0xFFFFFFFFu
#define MM_MAX_POOLS 32
#else
#define MM_MAX_POOLS 4
#endif
#endif

/* ---- Portability -------------------------------------------------------------------------------- */

/*
 * Atomics are not a knob: libmemoman asks the compiler what the target does without a library
 * (<stdatomic.h>'s ATOMIC_*_LOCK_FREE, 2 meaning "in hardware", src/observe.h) and uses only that,
 * so that it never calls libatomic (which bare-metal toolchains such as arm-none-eabi lack):
 *   - lock-free fixed pools (MM_FIXED_LOCKFREE) where there is a lock-free compare-and-swap: 64-bit
 *     (up to 2^32 - 2 blocks) or, on ARMv7-M and 32-bit PowerPC, 32-bit (up to 65534 blocks); on
 *     ARMv6-M (Cortex-M0/M0+) none, and the mode is refused (memoman/fixed.h);
 *   - mm_use_builtin_lock's spin lock where there is a lock-free atomic exchange of an unsigned int
 *     (not on ARMv6-M: there it returns 0 and a lock of your own goes in through mm_set_lock);
 *   - statistics counters: plain words (size_t: 32 bits on 32-bit targets, where allocs, frees and
 *     failures wrap after 2^32 and blocks in use, their difference, stays exact), written only by
 *     the thread that owns the instance or holds its lock; a lock-free pool's in atomic words.
 */

/*
 * MM_USE_BUILTIN_BITSCAN (default 1 with gcc and clang): use __builtin_clz/__builtin_ctz for the
 * bitmap searches. 0 selects portable C (a fixed sequence of shifts, still constant time).
 */
#ifndef MM_USE_BUILTIN_BITSCAN
#if defined(__GNUC__) || defined(__clang__)
#define MM_USE_BUILTIN_BITSCAN 1
#else
#define MM_USE_BUILTIN_BITSCAN 0
#endif
#endif

/*
 * MM_HAVE_STDIO (default 1 on hosted C implementations): lets mm_walk_pool's default walker and
 * MM_DEBUG's error messages print with stdio. 0 keeps libmemoman free of stdio for bare-metal builds.
 */
#ifndef MM_HAVE_STDIO
#if defined(__STDC_HOSTED__) && __STDC_HOSTED__
#define MM_HAVE_STDIO 1
#else
#define MM_HAVE_STDIO 0
#endif
#endif

#endif /* MEMOMAN_CONFIG_H */

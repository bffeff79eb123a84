// SPDX-License-Identifier: MIT
/*
 * memoman.h - deterministic O(1) allocation over memory the caller owns.
 *
 * The TLSF core (mm_*): a two-level segregated-fit allocator. Every allocation, free, aligned
 * allocation and in-place reallocation costs a bounded number of steps: two bitmap scans, at most
 * two free-list unlinks and one insert. The bound does not depend on the pools' sizes, the number of
 * blocks or the number of pools. libmemoman makes no system calls and keeps no global state: an
 * instance lives in memory the caller gives it, and so do its pools.
 *
 * Block layout (TLSF 3.1 semantics; W = sizeof(size_t), A = mm_align_size()):
 *
 *            header of block B                  payload of B (what mm_malloc returns)
 *   ... -----+--------------+---------------+----------------------------------------+-------
 *            | prev_phys    | size | F | P  | used: caller data                      | size of next
 *            | (valid only  |  (distance to | free: next_free, prev link, ...,       | block ...
 *            |  if P is set)|  next header) |       and the next block's prev_phys   |
 *   ... -----+--------------+---------------+----------------------------------------+-------
 *            ^ last word of the previous block  ^ aligned to A
 *
 *   - one size word of overhead per allocation (mm_alloc_overhead());
 *   - F: this block is free; P: the previous physical block is free, and then prev_phys is valid;
 *   - no two free blocks are ever adjacent (immediate coalescing); a pool ends in a zero-size used
 *     sentinel, so nothing coalesces across pools.
 *
 * Threads: an instance is not thread-safe unless it has a lock (mm_set_lock, mm_use_builtin_lock)
 * or is a lock-free fixed pool (memoman/fixed.h). Otherwise calls on one instance must not overlap;
 * distinct instances are independent.
 *
 * Errors: an invalid pointer, a double free, a corrupted header or a bad pool is reported to the
 * instance's error handler (mm_set_error_handler) and the operation is refused: the instance stays
 * valid. Which pointer errors are caught depends on MM_CHECKS (memoman/config.h).
 */
#ifndef MEMOMAN_H
#define MEMOMAN_H

#include <stddef.h>
#include <stdint.h>

#include "memoman/config.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MEMOMAN_VERSION_MAJOR 0
#define MEMOMAN_VERSION_MINOR 1
#define MEMOMAN_VERSION_PATCH 0

#if defined(__GNUC__) || defined(__clang__)
#define MM_ATTR_MALLOC __attribute__((malloc, warn_unused_result))
#define MM_ATTR_ALLOC_SIZE(...) __attribute__((alloc_size(__VA_ARGS__)))
#define MM_ATTR_ALLOC_ALIGN(n) __attribute__((alloc_align(n)))
#define MM_ATTR_NODISCARD __attribute__((warn_unused_result))
#else
#define MM_ATTR_MALLOC
#define MM_ATTR_ALLOC_SIZE(...)
#define MM_ATTR_ALLOC_ALIGN(n)
#define MM_ATTR_NODISCARD
#endif

/* ---- Types -------------------------------------------------------------------------------------- */

/* An allocator instance. It lives at the start of the memory given to mm_create*(). */
typedef struct mm_control *mm_t;

/* A pool: the address that was given to mm_add_pool() (or mm_get_pool()'s result). */
typedef struct mm_pool *mm_pool_t;

/* The untyped handle names of the original memoman API and of TLSF 3.1. They convert to and from
 * mm_t and mm_pool_t implicitly in C; new code should use the typed names. */
/* Also declared by memoman/tlsf.h; C99 does not allow the same typedef twice. */
#ifndef MM_TLSF_HANDLES_DEFINED
#define MM_TLSF_HANDLES_DEFINED
typedef void *tlsf_t;
typedef void *pool_t;
#endif

/* Called by mm_walk_pool() for every block: its payload, usable size, and whether it is in use. */
typedef void (*mm_walker)(void *ptr, size_t size, int used, void *user);

/* What went wrong, as reported to the error handler and by mm_last_error(). */
typedef enum mm_error {
	MM_OK = 0,
	MM_ERR_INVALID_POINTER,  /* not inside any pool of this instance, or a NULL instance */
	MM_ERR_INTERIOR_POINTER, /* inside a pool but not the start of a block */
	MM_ERR_DOUBLE_FREE,      /* the block (or the memory around the pointer) is already free */
	MM_ERR_CORRUPTED_HEADER, /* a block header fails its consistency checks: an overflow from the
	                            block before it, a stray write, or an instance that fails mm_validate */
	MM_ERR_BAD_POOL,         /* pool memory is NULL, not aligned to sizeof(size_t), too small, or
	                            not a pool of this instance */
	MM_ERR_POOL_OVERLAP,     /* pool memory overlaps a pool already added (or the control) */
	MM_ERR_POOL_LIMIT,       /* the instance already holds MM_MAX_POOLS pools */
	MM_ERR_POOL_IN_USE,      /* mm_remove_pool: a block of the pool is still allocated */
	/* Why a constructor would fail (mm_create_error, mm_fixed_create_error, mm_heap_create_error,
	 * mm_heap_preset_error), and a bad alignment given to a memalign: */
	MM_ERR_BAD_ARGUMENT,    /* NULL memory or configuration, an unknown flag or kind, a bad alignment
	                            argument, or a range that wraps around the address space */
	MM_ERR_MISALIGNED,      /* the memory given is not aligned as the constructor requires */
	MM_ERR_TOO_SMALL,       /* the memory given is too small (for the control, one block, or cfg) */
	MM_ERR_BAD_CONFIG,      /* a heap configuration that mm_heap_size() rejects */
	MM_ERR_NOT_BUILT,       /* the feature asked for is compiled out (mm_set_hooks with MM_OBSERVE=0) */
	MM_ERR_CORRUPTED_LINK,  /* a free block's list link fails its checks (MM_CHECKS >= 1): a write into
	                         freed memory (a use after free). Not followed; see mm_set_secret */
	MM_ERR_OVERRUN,         /* MM_CHECKS == 3: the bytes after the size asked for (up to the block's
	                          canary) were overwritten, found at mm_free or mm_realloc: refused */
	MM_ERR_WRITE_AFTER_FREE /* MM_CHECKS == 3: freed memory (zeroed at free) was written, found when
	                           a block over it is handed out (it is, zeroed); ptr is that block */
} mm_error_t;

/*
 * An error handler: receives the instance that found the problem (an mm_t, mm_fixed_t or mm_heap_t),
 * what went wrong, and the pointer involved: the pointer given to the failing call (mm_free,
 * mm_realloc, mm_add_pool, ...), or, for a failed periodic validation (MM_CHECKS == 2), the payload
 * of the first block found inconsistent. It may return (the operation is then refused and the
 * instance left as it was) or not return (abort, longjmp: the instance stays consistent, but a periodic
 * validation that fails after mm_realloc moved a block loses the new block). It must not call into
 * the same instance.
 */
typedef void (*mm_error_handler)(void *instance, mm_error_t error, const void *ptr, void *user);

/* ---- Observation types (shared by every kind of instance; functions at the end) ----------------- */

/* Statistics of an instance, O(1) to read (a heap adds up its classes: O(classes)). */
typedef struct mm_stats {
	size_t capacity;        /* bytes that blocks can occupy */
	size_t in_use;          /* bytes in allocated blocks (whole blocks: header and rounding included) */
	size_t peak_in_use;     /* the most in_use has been since creation (kept by mm_reset_stats); a heap
	                           adds up its parts' peaks, an upper bound of its own */
	size_t free;            /* capacity - in_use */
	size_t largest_free;    /* a request this large surely succeeds now (see each kind's contract) */
	size_t blocks_in_use;   /* blocks allocated now */
	uint64_t allocs;        /* blocks handed out (a realloc that moves counts one alloc, one free) */
	uint64_t frees;         /* blocks taken back */
	uint64_t failures;      /* allocation requests answered NULL because they could not be served;
	                           these three count in words: modulo 2^32 on 32-bit targets (blocks_in_use,
	                           their difference, stays exact) */
	unsigned fragmentation; /* per mille, of TLSF free space: 1000 * (1 - largest_free / free), 0 when
	                           nothing is free; a heap gives its remainder's; a fixed pool 0 (every free
	                           block serves its one size) */
} mm_stats;

/* Called after every allocation call with its result (NULL when it failed) and the size asked. */
typedef void (*mm_alloc_hook)(void *user, void *ptr, size_t size);
/* Called when a block has been taken back (by free, by realloc(p, 0), by a realloc that moves or
 * resizes it): the pointer is a value only, its memory must not be touched. A realloc is a free
 * and an allocation: for a block that moved, the allocation of the new one comes first (both
 * existed for a moment); for one resized in place, the free comes first. */
typedef void (*mm_free_hook)(void *user, void *ptr);

/* Lock callbacks (an RTOS mutex, say); both get the same user data. */
typedef void (*mm_lock_fn)(void *user);

/* A cycle counter: returns a count that grows monotonically (cycles, ticks or nanoseconds). */
typedef uint64_t (*mm_cycle_counter)(void *user);

/* The operations that cycle tracking tells apart. */
typedef enum mm_op {
	MM_OP_MALLOC,   /* mm_malloc, mm_fixed_alloc, mm_heap_malloc */
	MM_OP_FREE,     /* mm_free, mm_fixed_free, mm_heap_free */
	MM_OP_REALLOC,  /* mm_realloc, mm_heap_realloc */
	MM_OP_MEMALIGN, /* mm_memalign, mm_heap_memalign */
	MM_OP_CALLOC,   /* mm_heap_calloc */
	MM_OP_COUNT
} mm_op;

#define MM_TIMING_BUCKETS 32

/* Cycles of one kind of operation. histogram[k] counts operations that took [2^k, 2^(k+1)) counts
 * (k = 0 also takes 0); the last bucket takes everything larger. */
typedef struct mm_timing {
	uint64_t count, min, max, total; /* total / count is the mean */
	uint64_t histogram[MM_TIMING_BUCKETS];
} mm_timing;

/* ---- Creation ----------------------------------------------------------------------------------- */

/*
 * Creates an instance with no pool in the first mm_size() bytes of mem; add pools with mm_add_pool.
 * mem must be aligned to sizeof(size_t) (with 64 second-level classes the control's 64-bit bitmaps
 * are word-aligned with gcc and clang; other compilers may need 8 on 32-bit targets whose ABI aligns
 * 64-bit integers to 8, such as ARM) and stay valid, and untouched by the caller, for the life of the
 * instance.
 * Returns NULL if and only if mem is NULL or misaligned. O(1).
 */
MM_ATTR_NODISCARD mm_t mm_create(void *mem);

/*
 * Creates an instance in the first mm_size() bytes of mem and adds the rest as its first pool
 * (mm_get_pool() returns it). Same alignment rule as mm_create. Returns NULL if and only if
 * mm_create_error(mem, bytes) says why: mem NULL or misaligned, or the rest too small for a pool
 * (see mm_add_pool). O(1).
 */
MM_ATTR_NODISCARD mm_t mm_create_with_pool(void *mem, size_t bytes);

/*
 * Why mm_create_with_pool(mem, bytes) fails, without touching mem: MM_OK (it succeeds),
 * MM_ERR_BAD_ARGUMENT (mem NULL, or [mem, mem + bytes) wraps around the address space),
 * MM_ERR_MISALIGNED (mem not aligned as mm_create requires), MM_ERR_TOO_SMALL (bytes below mm_size()
 * plus the smallest pool). O(1).
 */
mm_error_t mm_create_error(const void *mem, size_t bytes);

/*
 * Like mm_create_with_pool, for a buffer of any alignment: the instance is placed at the first
 * suitably aligned address inside [mem, mem + bytes). Returns NULL if and only if mem is NULL or the
 * buffer is too small for the instance and one pool (those are the only reasons). O(1).
 */
MM_ATTR_NODISCARD mm_t mm_init_in_place(void *mem, size_t bytes);

/*
 * Ends the instance. The caller owns all the memory, so nothing is released; later calls on mm are
 * undefined (mm_validate reports a destroyed instance as invalid). NULL is ignored. O(1).
 */
void mm_destroy(mm_t mm);

/*
 * Free-list links live in freed memory, where a program's use after free writes. With MM_CHECKS >= 1
 * (the default) each is stored xor-ed with the instance's secret and its own address, and checked
 * before it is followed: in a TLSF instance (a heap's remainder too), the block it leads to lies in
 * the range of the pools and links back; in a fixed pool (a heap's classes) in its checked mode, it
 * is a block the pool has handed out. A link that fails is reported as MM_ERR_CORRUPTED_LINK and
 * never followed; the list is cut or emptied there (its blocks are lost to allocation until
 * mm_reset / mm_fixed_reset / mm_heap_reset) and the instance stays usable.
 * The secret defaults to a value derived from the instance's address: enough that a stray write
 * never makes a valid link, not enough against someone who knows the memory layout. mm_set_secret
 * (mm_fixed_set_secret, mm_heap_set_secret) gives it one from a source of randomness (a hardware
 * RNG, the OS's). It re-seals the links of the free blocks: O(free blocks); call it once, after
 * creation. Nothing with MM_CHECKS=0 (links are stored as they are). NULL or a destroyed instance
 * is ignored.
 */
void mm_set_secret(mm_t mm, uintptr_t secret);

/* ---- Pools -------------------------------------------------------------------------------------- */

/* The pool created by mm_create_with_pool / mm_init_in_place, or NULL if there is none (any more). */
mm_pool_t mm_get_pool(mm_t mm);

/*
 * Adds [mem, mem + bytes) as a pool and returns its handle (mem itself).
 * mem must be aligned to sizeof(size_t); bytes need not be a multiple of anything (the tail that
 * does not fit the alignment is unused). The pool's blocks span at most 2^MM_FL_INDEX_MAX -
 * mm_align_size() bytes: the memory of a larger pool beyond that is not used (nor part of the pool).
 * Returns NULL, and reports the error to the handler, if and only if:
 *   - mem is NULL or misaligned, or bytes < mm_pool_overhead() + mm_block_size_min() (for mem
 *     aligned to mm_align_size(); up to mm_align_size() - sizeof(size_t) more for mem aligned only
 *     to sizeof(size_t)), or mem + bytes wraps around the address space -> MM_ERR_BAD_POOL
 *   - the memory overlaps a pool of this instance (the same memory twice included) or the
 *     instance's own control structure                             -> MM_ERR_POOL_OVERLAP
 *   - the instance already holds MM_MAX_POOLS pools               -> MM_ERR_POOL_LIMIT
 * O(log MM_MAX_POOLS) to find the neighbours, O(MM_MAX_POOLS) to insert into the sorted pool table.
 */
mm_pool_t mm_add_pool(mm_t mm, void *mem, size_t bytes);

/*
 * Removes a pool whose every block is free; its memory returns to the caller.
 * Returns 1 if the pool was removed. Returns 0, reporting MM_ERR_BAD_POOL (not a pool of mm) or
 * MM_ERR_POOL_IN_USE (a block is still allocated), and changes nothing otherwise.
 * O(1) to check, O(MM_MAX_POOLS) to update the pool table.
 */
int mm_remove_pool(mm_t mm, mm_pool_t pool);

/*
 * The pool that contains ptr, or NULL if ptr is in no pool of mm (NULL included). A pool is the
 * memory the allocator uses: from mem to the end of its sentinel; an unaligned tail of the memory
 * given, or what lies beyond the clamp above, is not part of it. O(log MM_MAX_POOLS): a binary search
 * of the sorted pool table.
 */
mm_pool_t mm_get_pool_for_ptr(mm_t mm, const void *ptr);

/*
 * Discards every allocation at once: each pool becomes one free block again. Every pointer
 * previously returned becomes invalid. Returns 1, or 0 if mm is NULL.
 * O(number of pools) plus a clear of the non-empty free lists (at most their fixed count).
 * Worst case: at most 80 + 60*pools + 16*rows + 10*lists instructions at every check level, where
 * pools is the instance's pool count, lists its non-empty free lists and rows the first-level rows
 * holding them (on 64-bit targets at most 1,472 lists in 23 rows: 17,088 instructions with 32 pools
 * and every list non-empty); the whole call, x86-64, gcc -O2, default knobs; checked by
 * make test-bounds (docs/realtime.md).
 */
int mm_reset(mm_t mm);

/* ---- Allocation --------------------------------------------------------------------------------- */

/*
 * Allocates at least `bytes` bytes aligned to mm_align_size(). The memory is not zero-filled.
 * mm_malloc(mm, 0) returns a unique block of the minimum size (mm_block_size_min()) that must be
 * freed like any other. (MM_CHECKS=3, the hardened level: see memoman/config.h for what changes.)
 * Returns NULL if and only if mm is NULL, bytes > mm_block_size_max() (checked before any rounding,
 * so sizes near SIZE_MAX cannot wrap around), or no free block reaches the request's class bound
 * (the request plus its header, rounded up by at most 1/2^MM_SL_INDEX_COUNT_LOG2 of its power of
 * two) and the head of the request's own class is not large enough either. This is TLSF's good fit:
 * the search never walks a list.
 * The block is trimmed to the class bound, not to the request: freed (and neither split nor
 * coalesced since), it serves any later request no larger than the one that created it. Blocks
 * served when no block reaches the bound (the look at the request's own class, a memalign or a
 * realloc whose rounded size does not fit) are trimmed to the request and carry no such promise.
 * O(1): one mapping, at most two bitmap scans, one list pop, at most one split and one insert.
 * Worst case: at most 160 instructions with MM_CHECKS=1, 140 with MM_CHECKS=0, 270 with MM_CHECKS=2
 * (between its periodic validations); the whole call, x86-64, gcc -O2, default knobs; checked by
 * make test-bounds (docs/realtime.md).
 */
MM_ATTR_MALLOC MM_ATTR_ALLOC_SIZE(2) void *mm_malloc(mm_t mm, size_t bytes);

/*
 * Allocates at least `bytes` bytes aligned to `align`, which must be a power of two (any power of
 * two; 0 is not one: that is reported to the error handler as MM_ERR_BAD_ARGUMENT, the pointer NULL;
 * with MM_DEBUG and no handler, a report aborts).
 * An alignment up to mm_align_size() is mm_malloc.
 * Returns NULL if and only if mm is NULL, align is not a power of two, bytes > mm_block_size_max(),
 * bytes + align + mm_block_size_min() exceeds the largest request (checked without wrap-around), or
 * no free block can hold bytes plus the worst-case alignment gap (as mm_malloc's search).
 * The gap before the aligned address, when there is one, becomes a free block of its own.
 * O(1): as mm_malloc, plus at most one more split and insert for the leading gap.
 * Worst case: at most 270 instructions with MM_CHECKS=1, 240 with MM_CHECKS=0, 390 with MM_CHECKS=2
 * (between its periodic validations); the whole call, x86-64, gcc -O2, default knobs; checked by
 * make test-bounds (docs/realtime.md).
 */
MM_ATTR_MALLOC MM_ATTR_ALLOC_ALIGN(2) MM_ATTR_ALLOC_SIZE(3) void *mm_memalign(mm_t mm, size_t align, size_t bytes);

/*
 * Resizes the block at ptr to at least `size` bytes, keeping its contents up to the smaller size.
 *   - ptr == NULL: same as mm_malloc(mm, size).
 *   - size == 0 and ptr != NULL: frees ptr and returns NULL (as TLSF 3.1 and glibc do).
 *   - The block shrinks in place, grows in place when the next block is free and large enough, and
 *     otherwise moves: a new block is allocated, the contents copied, the old block freed. When
 *     neither works it tries the free space on both sides together (moving the data down).
 *   - On failure (size > mm_block_size_max(), or no room) it returns NULL and the block at ptr is
 *     left unchanged, contents and all.
 *   - An invalid ptr is reported (see mm_free) and NULL returned; nothing is freed.
 * O(1) in place; a move adds the copy, O(size).
 * Worst case in place (a move adds the copy and is not bounded): at most 410 instructions with
 * MM_CHECKS=1, 190 with MM_CHECKS=0, 590 with MM_CHECKS=2 (between its periodic validations); the
 * whole call, x86-64, gcc -O2, default knobs; checked by make test-bounds (docs/realtime.md).
 */
MM_ATTR_NODISCARD MM_ATTR_ALLOC_SIZE(3) void *mm_realloc(mm_t mm, void *ptr, size_t size);

/*
 * Frees a block returned by mm_malloc, mm_memalign or mm_realloc of the same instance, and coalesces
 * it with free neighbours. NULL is ignored.
 * With MM_CHECKS >= 1 (the default), before anything is written, the pointer and the headers around
 * it are checked; a failure is reported and nothing is freed:
 *   - outside every pool of mm (or mm NULL)                         -> MM_ERR_INVALID_POINTER
 *   - inside a pool but not a block's start (misaligned, interior)  -> MM_ERR_INTERIOR_POINTER
 *   - a block already free, also after it coalesced with another    -> MM_ERR_DOUBLE_FREE
 *   - the block's header or a neighbour's is inconsistent (an
 *     overflow into the next header, a stray write)                 -> MM_ERR_CORRUPTED_HEADER
 * The checks read only the header before the pointer, the header after the block and, for free
 * neighbours, their own neighbours' headers; MM_CHECKS == 2 also checks the free neighbours' list
 * links, which a write into freed memory could have forged. A pointer into the middle of a live block is caught
 * unless the caller's bytes there happen to form a consistent header; a block freed twice is caught
 * unless it was handed out again in between. Naming the error walks that pool once
 * (O(blocks in the pool)), on the error path only.
 * O(1): with one pool, a fixed number of steps (at most two unlinks and one insert); with several,
 * the check adds a binary search of the pool table, at most log2(MM_MAX_POOLS) steps.
 * Worst case: at most 380 instructions with MM_CHECKS=1, 140 with MM_CHECKS=0, 580 with MM_CHECKS=2
 * (between its periodic validations); the whole call, x86-64, gcc -O2, default knobs; checked by
 * make test-bounds (docs/realtime.md).
 */
void mm_free(mm_t mm, void *ptr);

/*
 * The usable size of the block at ptr (at least what was requested; may be more). 0 for NULL.
 * ptr must be a live block; with MM_CHECKS >= 1 a block whose header says free gives 0. O(1)
 * (MM_CHECKS=3: the size asked for, 1 for a request of 0, checked against the block's canary in
 * time proportional to the slack).
 * As with glibc's malloc_usable_size, the bytes beyond the request are slack: the allocation
 * functions carry alloc_size attributes, so _FORTIFY_SOURCE=3 and -fsanitize=object-size hold a
 * program to the size it asked for.
 */
size_t mm_block_size(void *ptr);

/* ---- Sizes and limits (constant for a build) ---------------------------------------------------- */

size_t mm_size(void);           /* bytes of the control structure (a multiple of mm_align_size()) */
size_t mm_align_size(void);     /* alignment of every returned pointer: MM_ALIGNMENT */
size_t mm_block_size_min(void); /* smallest usable block size */
size_t mm_block_size_max(void); /* largest request any pool can ever serve */
size_t mm_pool_overhead(void);  /* bytes of a pool (aligned start, aligned size) no block can use */
size_t mm_alloc_overhead(void); /* bytes per allocation beyond its size: sizeof(size_t), the header
                                   (MM_CHECKS=3: and a canary word, twice that) */

/* ---- Debugging and errors ----------------------------------------------------------------------- */

/*
 * Calls walker(ptr, usable size, used, user) for every block of the pool, in address order; a NULL
 * walker prints each block to stdout (when MM_HAVE_STDIO). Stops early at a header that is not
 * consistent. O(blocks in the pool).
 */
void mm_walk_pool(mm_pool_t pool, mm_walker walker, void *user);

/*
 * Checks every invariant of the instance; returns 1 if all hold, 0 otherwise (0 also for NULL).
 * Per pool: every header's size is aligned, at least the minimum, and inside the pool; the blocks
 * tile the pool exactly up to its sentinel; each P flag matches the previous block's F flag; each
 * free block's successor points back to it; no two free blocks are adjacent.
 * Per free list: the bitmaps agree with which lists are empty; every member is a free block of the
 * class of its list, inside a pool; every back-link points at its predecessor; no list has a cycle;
 * and the lists hold exactly the free blocks the pool walk found, each once.
 * O(blocks + free-list classes). Does not modify the instance and does not call the error handler.
 */
int mm_validate(mm_t mm);

/* The per-pool part of mm_validate for one pool, without its instance. 1 if valid, 0 if not. */
int mm_validate_pool(mm_pool_t pool);

/* TLSF-style spelling of the two above: 0 if valid, nonzero (negative) if not. */
int mm_check(mm_t mm);
int mm_check_pool(mm_pool_t pool);

/* ---- Observation: every function here takes any instance (mm_t, mm_fixed_t or mm_heap_t) ------- */
/*
 * `instance` must be a live instance; a NULL pointer is ignored (0 returned). A pointer that is not
 * an instance at all (or a destroyed one) is recognised by the kind word at its start and ignored.
 * None of these functions takes the instance's lock: call them from the thread that owns the
 * instance, or hold your lock around them.
 */

/* Installs (or with NULL removes) the error handler and the user data passed to it. */
void mm_set_error_handler(void *instance, mm_error_handler handler, void *user);

/* The last error reported on the instance since the previous call (MM_OK if none); reading clears. */
mm_error_t mm_last_error(void *instance);

/* A constant English name for the error ("double free"), never NULL. */
const char *mm_error_string(mm_error_t error);

/* Fills *out with the instance's statistics; returns 1, or 0 (and leaves *out) for a non-instance
 * or when statistics are compiled out (MM_OBSERVE=0). */
int mm_get_stats(void *instance, mm_stats *out);

/* Zeroes the counters (allocs, frees, failures) and the cycle timings; peaks and the current
 * in-use figures are kept. */
void mm_reset_stats(void *instance);

/*
 * Installs hooks (either may be NULL; both NULL removes them) and their user data. Hooks run inside
 * the instance's lock, if it has one, in the order of the operations; they must not call into the
 * same instance. With hooks installed, every call takes the observed path (see README, "Measured").
 * Compiled out with MM_OBSERVE=0: installs nothing and reports MM_ERR_NOT_BUILT.
 */
void mm_set_hooks(void *instance, mm_alloc_hook on_alloc, mm_free_hook on_free, void *user);

/*
 * Makes the instance thread-safe for allocation: every malloc, calloc, memalign, realloc and free
 * (mm_*, mm_fixed_*, mm_heap_*) runs between lock(user) and unlock(user) (both NULL: no lock again).
 * The other calls (resets, validation, block sizes, statistics, pool management) do not take it:
 * make them from one thread, or hold your own lock around them. mm_use_builtin_lock installs a
 * spinlock kept inside the instance, and returns 0 (installing nothing) where it could not be a
 * lock: without C11 atomics, or without a lock-free atomic exchange of an unsigned int
 * (ATOMIC_INT_LOCK_FREE below 2, as on ARMv6-M: Cortex-M0/M0+, where a lock needs your own,
 * interrupt-masking or hardware, one through mm_set_lock). Not for lock-free fixed pools, which need no lock (returns 0 there).
 * Both return 0 with MM_OBSERVE=0 (locks compiled out).
 */
int mm_set_lock(void *instance, mm_lock_fn lock, mm_lock_fn unlock, void *user);
int mm_use_builtin_lock(void *instance);

/*
 * Cycle tracking (compiled in with MM_CYCLES=1). mm_track_cycles(instance, 1) measures every
 * operation from then on, with the counter set by mm_set_cycle_counter (NULL: the built-in one,
 * described by mm_cycle_source()). Returns 1, or 0 when MM_CYCLES is 0 or instance is not one.
 * mm_get_timing copies the timing of one kind of operation; 0 if there is none to copy.
 */
int mm_track_cycles(void *instance, int on);
int mm_set_cycle_counter(void *instance, mm_cycle_counter counter, void *user);
int mm_get_timing(void *instance, mm_op op, mm_timing *out);

/* What the built-in cycle counter measures on this build ("x86-64 TSC, lfence-fenced", ...). */
const char *mm_cycle_source(void);

/* The built-in cycle counter itself (for measuring your own code the same way). */
uint64_t mm_cycles_now(void);

#if MM_HAVE_STDIO
#include <stdio.h>
/* Prints the instance's statistics (and timings when tracked) to stream, for debugging. */
void mm_print(void *instance, FILE *stream);
#endif

#ifdef __cplusplus
}
#endif

#include "memoman/fixed.h"
#include "memoman/heap.h"

#endif /* MEMOMAN_H */

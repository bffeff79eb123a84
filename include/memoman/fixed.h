// SPDX-License-Identifier: MIT
/*
 * memoman/fixed.h - fixed-size block pools (mm_fixed_*): N blocks of one size and alignment carved
 * from memory the caller owns. Allocate is a pop, free a push: O(1), a handful of instructions.
 *
 * Included by memoman.h; the observation functions there (mm_get_stats, mm_set_hooks, mm_set_lock,
 * mm_track_cycles, mm_set_error_handler, ...) take an mm_fixed_t as well.
 *
 * Modes, chosen at creation (the flags):
 *   checked (default)   one bit per block records which blocks are live: a double free, a foreign
 *                       pointer, a block never handed out and a pointer that is not a block's start
 *                       are caught in O(1) and reported (MM_ERR_DOUBLE_FREE, MM_ERR_INVALID_POINTER
 *                       for the next two, MM_ERR_INTERIOR_POINTER) to the error handler, and refused.
 *                       MM_FIXED_BITMAP names this mode explicitly; it costs a bit per block and
 *                       about 30 instructions per allocate+free pair (56 against 26 unchecked on
 *                       x86-64; bench/run.sh counts them).
 *   MM_FIXED_UNCHECKED  the explicit opt-out: no bitmap, nothing checked on free; a pointer that is
 *                       not a live block of the pool is undefined behaviour. The fastest mode.
 *   MM_FIXED_LOCKFREE   any number of threads may allocate and free at once, without a lock: a
 *                       Treiber stack of block indices with an ABA tag. Foreign and interior
 *                       pointers are always caught (the block index is computed anyway), double
 *                       frees too unless MM_FIXED_UNCHECKED is added. Needs a lock-free
 *                       compare-and-swap in hardware: with a 64-bit one (x86-64, AArch64, i386,
 *                       ARMv7-A, riscv64, s390x) a 32-bit index and a 32-bit tag, up to 2^32 - 2
 *                       blocks; with only a 32-bit one (ARMv7-M: Cortex-M3/M4/M7, 32-bit PowerPC)
 *                       a 16-bit index and a 16-bit tag, up to 65534 blocks; with none (ARMv6-M:
 *                       Cortex-M0/M0+) the mode is refused (mm_fixed_create returns NULL,
 *                       mm_fixed_create_error MM_ERR_BAD_ARGUMENT). The index takes only the bits
 *                       the capacity needs and the ABA tag all the others (a 255-block pool has a
 *                       24-bit tag with a 32-bit compare-and-swap, a 56-bit one with a 64-bit one).
 *                       The tag bounds the ABA hazard: a thread held up between reading the top
 *                       and its compare-and-swap while exactly a multiple of 2^tag-bits other
 *                       pushes and pops complete, leaving the same block on top, can put a live
 *                       block back on the stack. With a 32-bit compare-and-swap and a pool near
 *                       65534 blocks the tag is 16 bits: a delay of 65536 operations is reachable
 *                       (an ISR storm, a preempted low-priority task): keep such threads from being
 *                       preempted for that long, use a smaller pool, or use a lock. Its
 *                       allocs/frees/failures count in atomic words (modulo 2^32 on 32-bit targets).
 *                       Hooks installed on such a pool run in every thread at once (they must be
 *                       thread-safe themselves), and the error record (mm_last_error) is not
 *                       synchronized: errors reported at the same time may overwrite each other.
 *                       Statistics are a snapshot: operations in flight may or may not be counted.
 */
#ifndef MEMOMAN_FIXED_H
#define MEMOMAN_FIXED_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mm_fixed *mm_fixed_t;

#define MM_FIXED_BITMAP 1u    /* checked: the default, named explicitly */
#define MM_FIXED_LOCKFREE 2u  /* several threads without a lock */
#define MM_FIXED_UNCHECKED 4u /* no bitmap, no check on free: the explicit opt-out */

/*
 * Bytes of memory (aligned to mm_align_size()) that mm_fixed_create needs for `count` blocks of
 * `block_size` bytes aligned to `align` (0: mm_align_size()). 0 if the arguments are invalid: align
 * not a power of two, unknown flags, count 0, count above SIZE_MAX / 64, blocks taking more than
 * SIZE_MAX / 2 bytes, MM_FIXED_BITMAP and MM_FIXED_UNCHECKED together, or (MM_FIXED_LOCKFREE)
 * a target without a lock-free compare-and-swap, or count above the mode's limit there (2^32 - 2
 * with a 64-bit compare-and-swap, 65534 with a 32-bit one). O(1).
 */
size_t mm_fixed_size(size_t count, size_t block_size, size_t align, unsigned flags);

/*
 * Creates a pool in [mem, mem + bytes): the pool's control, its metadata (bitmap, link array) and
 * as many blocks as fit. Each block is block_size bytes (at least 1; at least a pointer in the
 * default mode, which keeps its free list inside free blocks) rounded up to a multiple of align,
 * and aligned to align (0: mm_align_size(); below a pointer's alignment it is raised to it).
 * mem must be aligned to a pointer's alignment (_Alignof(void *): 8 on 64-bit targets, 4 on 32-bit
 * ones; mm_align_size() always suffices).
 * Returns NULL if and only if mm_fixed_create_error() with the same arguments says why.
 * O(1): blocks are handed out from a bump pointer the first time, so nothing is threaded at creation.
 */
mm_fixed_t mm_fixed_create(void *mem, size_t bytes, size_t block_size, size_t align, unsigned flags);

/*
 * Why mm_fixed_create with these arguments fails, without creating anything: MM_OK (it succeeds),
 * MM_ERR_BAD_ARGUMENT (mem NULL, align not a power of two, an unknown flag, MM_FIXED_BITMAP with
 * MM_FIXED_UNCHECKED, MM_FIXED_LOCKFREE on a target without a lock-free compare-and-swap (ARMv6-M;
 * see the modes above), a block size that overflows once aligned, or a range that wraps around the
 * address space), MM_ERR_MISALIGNED (mem not aligned to a pointer's alignment), MM_ERR_TOO_SMALL (not
 * one block fits after the control and metadata; a lock-free pool holds at most its mode's limit of
 * blocks, the rest of a larger buffer is not used). O(1).
 */
mm_error_t mm_fixed_create_error(const void *mem, size_t bytes, size_t block_size, size_t align, unsigned flags);

/* Ends the pool; the memory is the caller's again. O(1). */
void mm_fixed_destroy(mm_fixed_t pool);

/*
 * A free block (block size bytes, aligned), or NULL when all are in use or pool is NULL.
 * Not zero-filled. O(1): a pop, or the bump pointer, and a bit set in the checked mode
 * (bench/run.sh counts the instructions of each mode).
 * Worst case: at most 40 instructions with MM_CHECKS=1, 40 with MM_CHECKS=0, 40 with MM_CHECKS=2
 * (between its periodic validations); the whole call, x86-64, gcc -O2, default knobs; checked by
 * make test-bounds (docs/realtime.md).
 */
void *mm_fixed_alloc(mm_fixed_t pool);

/*
 * Gives back a block of this pool. NULL is ignored. What is checked depends on the mode (above): in
 * the default (checked) mode a pointer that is not a live block of the pool is reported and refused;
 * with MM_FIXED_UNCHECKED it is undefined behaviour. O(1).
 * Worst case: at most 40 instructions with MM_CHECKS=1, 40 with MM_CHECKS=0, 40 with MM_CHECKS=2
 * (between its periodic validations); the whole call, x86-64, gcc -O2, default knobs; checked by
 * make test-bounds (docs/realtime.md).
 */
void mm_fixed_free(mm_fixed_t pool, void *ptr);

size_t mm_fixed_capacity(mm_fixed_t pool);   /* blocks in the pool; 0 for NULL */
size_t mm_fixed_available(mm_fixed_t pool);  /* blocks free now (a snapshot in lock-free mode) */
size_t mm_fixed_block_size(mm_fixed_t pool); /* usable bytes of every block (MM_CHECKS=3: as asked) */

/* 1 if ptr is the start of one of the pool's blocks (allocated or not), else 0. O(1). */
int mm_fixed_owns(mm_fixed_t pool, const void *ptr);

/*
 * Makes every block free again at once (earlier pointers become invalid). O(1), plus clearing the
 * bitmap (capacity / 8 bytes) in the checked mode. Not safe while other threads use a lock-free pool.
 */
void mm_fixed_reset(mm_fixed_t pool);

/*
 * The secret the pool's recycled-list links are sealed with (MM_CHECKS >= 1; mm_set_secret in
 * memoman.h says why): its list re-sealed, O(free blocks). A list whose head fails the checked mode's
 * check (a block the pool carved) is reported as MM_ERR_CORRUPTED_LINK and dropped; the unchecked
 * mode (MM_FIXED_UNCHECKED) seals its links but follows them unchecked. NULL or a destroyed pool is
 * ignored; nothing with MM_CHECKS=0; a lock-free pool keeps its links outside the blocks and only
 * takes the key.
 */
void mm_fixed_set_secret(mm_fixed_t pool, uintptr_t secret);

/*
 * Checks the pool's invariants: the free list holds distinct, never-live blocks of the pool, its
 * length matches the counters, and (checked mode) the bitmap agrees. 1 if valid, 0 if not or NULL.
 * O(capacity). Not safe while other threads use a lock-free pool.
 */
int mm_fixed_validate(mm_fixed_t pool);

#ifdef __cplusplus
}
#endif

#endif /* MEMOMAN_FIXED_H */

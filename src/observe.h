// SPDX-License-Identifier: MIT
/*
 * observe.h - what every memoman instance (TLSF, fixed pool, heap) carries at its start: the error
 * handler, statistics counters, hooks, the optional lock and, when compiled in, cycle tracking.
 *
 * Entry points test one word (`observed`) on their fast path, or a gate derived from it (a fixed
 * pool parks its free list, a heap zeroes its fast-path limits: fixed.c, heap.c), so that the test
 * costs nothing beyond what the fast path tests anyway. When hooks, a lock or cycle tracking are
 * on, they take an out-of-line path that locks, times the core operation, calls the hooks and
 * unlocks; otherwise they run the core operation directly.
 */
#ifndef MEMOMAN_OBSERVE_H
#define MEMOMAN_OBSERVE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "../include/memoman.h"
#include "common.h"

/*
 * What the target's atomics allow, from the compiler's own ATOMIC_*_LOCK_FREE (2: always lock-free,
 * done by the hardware; 1 or 0: through a library, libatomic, which bare-metal toolchains lack):
 * - MM_HAVE_ATOMICS: lock-free atomic words (size_t, pointers). The bitmap words and a lock-free
 *   pool's counters are atomic words then, and plain words otherwise (ARMv6-M: Cortex-M0/M0+).
 * - MM_HAVE_SPIN_LOCK: a lock-free atomic exchange of an unsigned int, the word mm_use_builtin_lock's
 *   spin lock is made of (not atomic_flag, a byte, whose ATOMIC_BOOL_LOCK_FREE is 1 on RISC-V although
 *   gcc does it in hardware there). ARMv6-M has none: there gcc would turn a test-and-set into a
 *   plain load and store, no lock at all, so mm_use_builtin_lock refuses.
 * - MM_LOCKFREE_TOP_BITS: the width of the lock-free pool's compare-and-swap (fixed.c): 64 where
 *   64-bit atomics are lock-free (x86-64, AArch64, i386, ARMv7-A, riscv64, s390x: a 32-bit index
 *   and a 32-bit tag), else 32 where 32-bit ones are (ARMv7-M, ppc32: a 16-bit index and a 16-bit
 *   tag), else 0: no lock-free pools (MM_FIXED_LOCKFREE is refused).
 */
#if !defined(__STDC_NO_ATOMICS__)
#include <stdatomic.h>
#endif
#if !defined(__STDC_NO_ATOMICS__) && defined(ATOMIC_POINTER_LOCK_FREE) && ATOMIC_POINTER_LOCK_FREE == 2
#define MM_HAVE_ATOMICS 1
#else
#define MM_HAVE_ATOMICS 0
#endif
#if MM_HAVE_ATOMICS && defined(ATOMIC_INT_LOCK_FREE) && ATOMIC_INT_LOCK_FREE == 2
#define MM_HAVE_SPIN_LOCK 1
#else
#define MM_HAVE_SPIN_LOCK 0
#endif
#if MM_HAVE_ATOMICS && defined(ATOMIC_LLONG_LOCK_FREE) && ATOMIC_LLONG_LOCK_FREE == 2
#define MM_LOCKFREE_TOP_BITS 64
#elif MM_HAVE_ATOMICS && defined(ATOMIC_INT_LOCK_FREE) && ATOMIC_INT_LOCK_FREE == 2 && UINT_MAX == 0xFFFFFFFFu
#define MM_LOCKFREE_TOP_BITS 32
#else
#define MM_LOCKFREE_TOP_BITS 0
#endif

/* Which instance a memoman pointer is: the first word of every instance. */
#define MM_KIND_TLSF ((uint32_t)0x6D656D6Fu)  /* "memo" */
#define MM_KIND_FIXED ((uint32_t)0x6D6D6678u) /* "mmfx" */
#define MM_KIND_HEAP ((uint32_t)0x6D6D6870u)  /* "mmhp" */

/* Bits of mm_observe.observed: any set sends entry points down the observed path. */
#define MM_OBSERVE_LOCK 1u
#define MM_OBSERVE_HOOKS 2u
#define MM_OBSERVE_CYCLES 4u
/* The instance runs in a mode of its own that takes neither a lock nor timing (a lock-free pool):
 * handled off the fast path, and mm_set_lock / mm_track_cycles refuse it. */
#define MM_OBSERVE_MODE 8u

#if MM_CYCLES
typedef struct mm_op_timing {
	mm_u64 count, min, max, total;
	mm_u64 histogram[MM_TIMING_BUCKETS];
} mm_op_timing;
#endif

#if MM_HAVE_STDIO
#include <stdio.h>
#endif

/*
 * What the shared code (observe.c) asks of each kind of instance, registered by the kind's own
 * creation (tlsf.c, fixed.c, heap.c) so that observe.c calls into no layer a program did not link:
 * a TLSF-only image asking for its statistics links neither fixed.c nor heap.c.
 */
typedef struct mm_observe_ops {
	const char *name; /* "TLSF", "fixed pool", "heap" (mm_print) */
	/* Fills capacity, in_use, peak_in_use, largest_free, fragmentation (and whatever the kind
	 * counts elsewhere: a lock-free pool's counters, a heap's parts'); the rest is mm_get_stats'. */
	void (*fill_stats)(void *instance, mm_stats *out);
	/* mm_reset_stats' part: zeroes allocs and frees keeping the blocks in use (NULL: the observe
	 * block's counters). failures and cycle records are reset by mm_reset_stats itself. */
	void (*reset_counters)(void *instance);
	/* After `observed` changed: a fixed pool moves its list, a heap opens or closes its fast-path
	 * gates. NULL: nothing to do (TLSF). */
	void (*gate)(void *instance);
#if MM_HAVE_STDIO
	void (*print)(void *instance, FILE *stream); /* mm_print's lines of its own, or NULL */
#endif
} mm_observe_ops;

typedef struct mm_observe {
	uint32_t kind;     /* MM_KIND_*, 0 once destroyed */
	uint32_t observed; /* MM_OBSERVE_* */
	/* Counters: blocks handed out and taken back, and requests answered NULL for lack of room.
	 * Blocks in use = live_base + allocs - frees (live_base: blocks in use at the last reset).
	 * Words (size_t): what every target changes in one instruction. On 32-bit targets allocs, frees
	 * and failures wrap after 2^32; blocks in use, computed modulo the word, stays exact. Plain
	 * integers changed by the one thread that owns the instance or holds its lock. A lock-free pool
	 * counts in atomic words instead (fixed.c). */
	size_t allocs, frees, failures, live_base;
	const mm_observe_ops *ops;
	mm_error_t last_error;
	mm_error_handler handler;
	void *handler_user;
	mm_alloc_hook on_alloc;
	mm_free_hook on_free;
	void *hook_user;
	mm_trace_writer trace_write; /* mm_trace_record's writer (its hooks get this block as user) */
	void *trace_user;
	mm_lock_fn lock, unlock;
	void *lock_user;
#if MM_HAVE_SPIN_LOCK
	_Atomic unsigned builtin_lock; /* mm_use_builtin_lock's: 1 while held */
#endif
#if MM_CYCLES
	mm_cycle_counter cycles;
	void *cycles_user;
	mm_op_timing timing[MM_OP_COUNT];
#endif
} mm_observe;

/* Sets up the block of a new instance of this kind (everything off, counters zero). */
void mm_observe_init(mm_observe *o, uint32_t kind, const mm_observe_ops *ops);

/* Records an error and hands it to the handler; without one, a debug build prints and aborts. */
MM_NOINLINE MM_COLD void mm_observe_report(mm_observe *o, mm_error_t error, const void *ptr);

/* The observed path's steps. */
MM_INLINE void mm_observe_lock(mm_observe *o)
{
	if (o->lock)
		o->lock(o->lock_user);
}

MM_INLINE void mm_observe_unlock(mm_observe *o)
{
	if (o->unlock)
		o->unlock(o->lock_user);
}

#if MM_CYCLES
MM_INLINE uint64_t mm_observe_start(mm_observe *o)
{
	return (o->observed & MM_OBSERVE_CYCLES) ? o->cycles(o->cycles_user) : 0;
}
void mm_observe_stop(mm_observe *o, mm_op op, uint64_t start);
#else
MM_INLINE uint64_t mm_observe_start(mm_observe *o)
{
	(void)o;
	return 0;
}
MM_INLINE void mm_observe_stop(mm_observe *o, mm_op op, uint64_t start)
{
	(void)o;
	(void)op;
	(void)start;
}
#endif

MM_INLINE void mm_observe_alloc(mm_observe *o, void *ptr, size_t size)
{
	if (o->on_alloc)
		o->on_alloc(o->hook_user, ptr, size);
}

MM_INLINE void mm_observe_free(mm_observe *o, void *ptr)
{
	if (o->on_free && ptr)
		o->on_free(o->hook_user, ptr);
}

/* Blocks in use now. */
MM_INLINE size_t mm_observe_live(const mm_observe *o) { return o->live_base + o->allocs - o->frees; }

/* The TLSF core's statistics, for the heap's remainder. */
void mm_tlsf_fill_stats(void *instance, mm_stats *out);

/* 1000 * (1 - largest / free), 0 when nothing is free. */
unsigned mm_fragmentation_permille(size_t largest, size_t free_bytes);

#endif /* MEMOMAN_OBSERVE_H */

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

#include <stddef.h>
#include <stdint.h>

#include "../include/memoman.h"
#include "common.h"

#if !defined(__STDC_NO_ATOMICS__)
#include <stdatomic.h>
#define MM_HAVE_ATOMICS 1
#else
#define MM_HAVE_ATOMICS 0
#endif

/* Which instance a memoman pointer is: the first word of every instance. */
#define MM_KIND_TLSF ((uint32_t)0x6D656D6Fu)  /* "memo" */
#define MM_KIND_FIXED ((uint32_t)0x6D6D6678u) /* "mmfx" */
#define MM_KIND_HEAP ((uint32_t)0x6D6D6870u)  /* "mmhp" */

/* Bits of mm_observe.observed: any set sends entry points down the observed path. */
#define MM_OBSERVE_LOCK 1u
#define MM_OBSERVE_HOOKS 2u
#define MM_OBSERVE_CYCLES 4u

#if MM_CYCLES
typedef struct mm_op_timing {
	uint64_t count, min, max, total;
	uint64_t histogram[MM_TIMING_BUCKETS];
} mm_op_timing;
#endif

typedef struct mm_observe {
	uint32_t kind;     /* MM_KIND_*, 0 once destroyed */
	uint32_t observed; /* MM_OBSERVE_* */
	/* Counters: blocks handed out and taken back, and requests answered NULL for lack of room.
	 * Blocks in use = live_base + allocs - frees (live_base: blocks in use at the last reset). */
	uint64_t allocs, frees, failures, live_base;
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
#if MM_HAVE_ATOMICS
	atomic_flag builtin_lock;
#endif
#if MM_CYCLES
	mm_cycle_counter cycles;
	void *cycles_user;
	mm_op_timing timing[MM_OP_COUNT];
#endif
} mm_observe;

/* Sets up the block of a new instance of this kind (everything off, counters zero). */
void mm_observe_init(mm_observe *o, uint32_t kind);

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
MM_INLINE size_t mm_observe_live(const mm_observe *o) { return (size_t)(o->live_base + o->allocs - o->frees); }

/* Statistics of one kind of instance, filled by that kind's code (tlsf.c, fixed.c, heap.c): capacity,
 * in_use, peak_in_use, largest_free (the rest is filled by mm_get_stats). */
void mm_tlsf_fill_stats(void *instance, mm_stats *out);
void mm_fixed_fill_stats(void *instance, mm_stats *out);
void mm_heap_fill_stats(void *instance, mm_stats *out);
int mm_fixed_is_lockfree(void *instance);
void mm_fixed_reset_counters(void *instance);
void mm_heap_reset_counters(void *instance);
/* After `observed` changed: a fixed pool moves its list, a heap opens or closes its fast-path gates. */
struct mm_fixed;
void mm_fixed_gate(struct mm_fixed *p);
void mm_heap_gate(void *instance);
#if MM_HAVE_STDIO
#include <stdio.h>
void mm_heap_print_classes(void *instance, FILE *stream);
#endif

/* 1000 * (1 - largest / free), 0 when nothing is free. */
unsigned mm_fragmentation_permille(size_t largest, size_t free_bytes);

#endif /* MEMOMAN_OBSERVE_H */

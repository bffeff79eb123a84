// SPDX-License-Identifier: MIT
/*
 * observe.c - the parts every kind of instance shares: error reporting, the observation functions of
 * memoman.h (statistics, hooks, locks, cycle tracking, printing) and the built-in cycle counter.
 */
#if !defined(_POSIX_C_SOURCE) && (defined(__unix__) || defined(__APPLE__))
#define _POSIX_C_SOURCE 200809L /* clock_gettime, for the fallback cycle counter */
#endif
#include <string.h>

#include "observe.h"

#if MM_HAVE_STDIO
#include <stdio.h>
#endif
#if MM_DEBUG
#include <stdlib.h>
#endif
#if !(defined(__x86_64__) || defined(__i386__) || defined(__aarch64__)) && (defined(__unix__) || defined(__APPLE__))
#include <time.h>
#define MM_CYCLES_CLOCK 1
#endif

/* ---- Errors ------------------------------------------------------------------------------------- */

const char *mm_error_string(mm_error_t error)
{
	switch (error) {
	case MM_OK: return "no error";
	case MM_ERR_INVALID_POINTER: return "invalid pointer";
	case MM_ERR_INTERIOR_POINTER: return "interior pointer";
	case MM_ERR_DOUBLE_FREE: return "double free";
	case MM_ERR_CORRUPTED_HEADER: return "corrupted block header";
	case MM_ERR_BAD_POOL: return "bad pool";
	case MM_ERR_POOL_OVERLAP: return "pool overlaps another pool";
	case MM_ERR_POOL_LIMIT: return "too many pools";
	case MM_ERR_POOL_IN_USE: return "pool still in use";
	case MM_ERR_BAD_ARGUMENT: return "bad argument";
	case MM_ERR_MISALIGNED: return "memory misaligned";
	case MM_ERR_TOO_SMALL: return "memory too small";
	case MM_ERR_BAD_CONFIG: return "invalid heap configuration";
	case MM_ERR_NOT_BUILT: return "compiled out";
	case MM_ERR_CORRUPTED_LINK: return "corrupted free-list link";
	case MM_ERR_OVERRUN: return "bytes after a block overwritten";
	case MM_ERR_WRITE_AFTER_FREE: return "freed memory written to";
	}
	return "unknown error";
}

void mm_observe_report(mm_observe *o, mm_error_t error, const void *ptr)
{
	if (o) {
		o->last_error = error;
		if (o->handler) {
			o->handler(o, error, ptr, o->handler_user);
			return;
		}
	}
#if MM_DEBUG
#if MM_HAVE_STDIO
	(void)fprintf(stderr, "memoman: %s (%p)\n", mm_error_string(error), ptr);
#endif
	abort();
#endif
}

/* The instance's observation block, or NULL if `instance` is not a live memoman instance. */
static mm_observe *observe_of(void *instance)
{
	mm_observe *o = (mm_observe *)instance;
	if (!o)
		return NULL;
	return o->kind == MM_KIND_TLSF || o->kind == MM_KIND_FIXED || o->kind == MM_KIND_HEAP ? o : NULL;
}

void mm_observe_init(mm_observe *o, uint32_t kind, const mm_observe_ops *ops)
{
	mm_zero_words(o, sizeof(*o)); /* word-aligned, a whole number of words */
	o->kind = kind;
	o->ops = ops;
#if MM_HAVE_SPIN_LOCK
	atomic_init(&o->builtin_lock, 0u);
#endif
#if MM_CYCLES
	o->cycles = NULL;
	for (int i = 0; i < MM_OP_COUNT; i++)
		o->timing[i].min = UINT64_MAX;
#endif
}

/* Sets the observed bits; fixed pools and heaps then re-gate their fast paths (their ops' gate). */
static void set_observed(mm_observe *o, uint32_t observed)
{
	o->observed = observed;
	if (o->ops->gate)
		o->ops->gate(o);
}

static void update_observed(mm_observe *o)
{
	uint32_t keep = o->observed & ~(MM_OBSERVE_LOCK | MM_OBSERVE_HOOKS); /* timing and kind-specific bits stay */
	set_observed(o, keep | (o->lock ? MM_OBSERVE_LOCK : 0) | (o->on_alloc || o->on_free ? MM_OBSERVE_HOOKS : 0));
}

void mm_set_error_handler(void *instance, mm_error_handler handler, void *user)
{
	mm_observe *o = observe_of(instance);
	if (o) {
		o->handler = handler;
		o->handler_user = user;
	}
}

mm_error_t mm_last_error(void *instance)
{
	mm_observe *o = observe_of(instance);
	mm_error_t e = MM_OK;
	if (o) {
		e = o->last_error;
		o->last_error = MM_OK;
	}
	return e;
}

/* ---- Statistics --------------------------------------------------------------------------------- */

unsigned mm_fragmentation_permille(size_t largest, size_t free_bytes)
{
	if (!free_bytes || largest >= free_bytes)
		return 0;
	/* 1000 * (free - largest) / free, without overflow for sizes near SIZE_MAX */
	size_t lost = free_bytes - largest;
	if (lost <= SIZE_MAX / 1000)
		return (unsigned)(lost * 1000 / free_bytes);
	return (unsigned)(lost / (free_bytes / 1000 + 1));
}

int mm_get_stats(void *instance, mm_stats *out)
{
	mm_observe *o = observe_of(instance);
	if (!MM_OBSERVE || !o || !out)
		return 0;
	memset(out, 0, sizeof(*out));
	out->allocs = o->allocs;
	out->frees = o->frees;
	out->failures = o->failures;
	out->blocks_in_use = mm_observe_live(o);
	o->ops->fill_stats(instance, out); /* the kind's figures, fragmentation included */
	out->free = out->capacity - out->in_use;
	return 1;
}

void mm_reset_stats(void *instance)
{
	mm_observe *o = observe_of(instance);
	if (!MM_OBSERVE || !o)
		return;
	if (o->ops->reset_counters) {
		o->ops->reset_counters(instance); /* a lock-free pool counts elsewhere, a heap in its parts */
	} else {
		o->live_base = mm_observe_live(o);
		o->allocs = o->frees = 0;
	}
	o->failures = 0;
#if MM_CYCLES
	memset(o->timing, 0, sizeof(o->timing));
	for (int i = 0; i < MM_OP_COUNT; i++)
		o->timing[i].min = UINT64_MAX;
#endif
	/* The blocks in use stay in use: each kind keeps its in-use count apart from the counters. */
}

/* ---- Hooks and locks ---------------------------------------------------------------------------- */

void mm_set_hooks(void *instance, mm_alloc_hook on_alloc, mm_free_hook on_free, void *user)
{
	mm_observe *o = observe_of(instance);
	if (!o)
		return;
	if (!MM_OBSERVE) {
		mm_observe_report(o, MM_ERR_NOT_BUILT, NULL);
		return;
	}
	o->on_alloc = on_alloc;
	o->on_free = on_free;
	o->hook_user = user;
	update_observed(o);
}

int mm_set_lock(void *instance, mm_lock_fn lock, mm_lock_fn unlock, void *user)
{
	mm_observe *o = observe_of(instance);
	if (!MM_OBSERVE || !o || !lock != !unlock ||
	    (o->observed & MM_OBSERVE_MODE)) /* a lock-free pool takes no lock */
		return 0;
	o->lock = lock;
	o->unlock = unlock;
	o->lock_user = user;
	update_observed(o);
	return 1;
}

#if MM_HAVE_SPIN_LOCK
static void builtin_lock(void *user)
{
	_Atomic unsigned *f = (_Atomic unsigned *)user;
	while (atomic_exchange_explicit(f, 1u, memory_order_acquire)) {
		/* wait reading, not writing, so that the line stays shared until the holder lets go */
		while (atomic_load_explicit(f, memory_order_relaxed)) {
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
		}
	}
}

static void builtin_unlock(void *user) { atomic_store_explicit((_Atomic unsigned *)user, 0u, memory_order_release); }
#endif

int mm_use_builtin_lock(void *instance)
{
#if MM_HAVE_SPIN_LOCK /* else no lock-free atomic exchange (ARMv6-M): it could not be a lock */
	mm_observe *o = observe_of(instance);
	return o ? mm_set_lock(instance, builtin_lock, builtin_unlock, &o->builtin_lock) : 0;
#else
	(void)instance;
	return 0;
#endif
}

/* ---- Cycles ------------------------------------------------------------------------------------- */

uint64_t mm_cycles_now(void)
{
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
	/* lfence before: earlier instructions have finished; lfence after: later ones wait. */
	uint32_t lo, hi;
	__asm__ __volatile__("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
	uint64_t v;
	__asm__ __volatile__("isb\n\tmrs %0, cntvct_el0" : "=r"(v)::"memory");
	return v;
#elif defined(MM_CYCLES_CLOCK)
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#else
	return 0;
#endif
}

const char *mm_cycle_source(void)
{
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
	return "x86 time-stamp counter (rdtsc between lfences): reference cycles at the TSC's constant rate, "
	       "not core clock cycles";
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
	return "AArch64 generic timer (cntvct_el0 after isb): ticks at the timer's fixed frequency (cntfrq_el0)";
#elif defined(MM_CYCLES_CLOCK)
	return "clock_gettime(CLOCK_MONOTONIC): nanoseconds";
#else
	return "none: install a counter with mm_set_cycle_counter (a Cortex-M DWT cycle counter, say)";
#endif
}

#if MM_CYCLES
static uint64_t builtin_counter(void *user)
{
	(void)user;
	return mm_cycles_now();
}

void mm_observe_stop(mm_observe *o, mm_op op, uint64_t start)
{
	if (!(o->observed & MM_OBSERVE_CYCLES))
		return;
	uint64_t d = o->cycles(o->cycles_user) - start;
	mm_op_timing *t = &o->timing[op];
	t->count++;
	t->total += d;
	if (d < t->min)
		t->min = d;
	if (d > t->max)
		t->max = d;
	unsigned k = 0;
	for (uint64_t v = d >> 1; v && k < MM_TIMING_BUCKETS - 1; v >>= 1)
		k++;
	t->histogram[k]++;
}
#endif

int mm_track_cycles(void *instance, int on)
{
#if MM_CYCLES
	mm_observe *o = observe_of(instance);
	if (!o || (o->observed & MM_OBSERVE_MODE))
		return 0; /* a lock-free pool's threads would race on the timing records */
	if (!o->cycles)
		o->cycles = builtin_counter;
	set_observed(o, on ? (o->observed | MM_OBSERVE_CYCLES) : (o->observed & ~MM_OBSERVE_CYCLES));
	return 1;
#else
	(void)instance;
	(void)on;
	return 0;
#endif
}

int mm_set_cycle_counter(void *instance, mm_cycle_counter counter, void *user)
{
#if MM_CYCLES
	mm_observe *o = observe_of(instance);
	if (!o)
		return 0;
	o->cycles = counter ? counter : builtin_counter;
	o->cycles_user = counter ? user : NULL;
	return 1;
#else
	(void)instance;
	(void)counter;
	(void)user;
	return 0;
#endif
}

int mm_get_timing(void *instance, mm_op op, mm_timing *out)
{
#if MM_CYCLES
	mm_observe *o = observe_of(instance);
	if (!o || !out || (unsigned)op >= MM_OP_COUNT)
		return 0;
	const mm_op_timing *t = &o->timing[op];
	out->count = t->count;
	out->min = t->count ? t->min : 0;
	out->max = t->max;
	out->total = t->total;
	memcpy(out->histogram, t->histogram, sizeof(out->histogram));
	return 1;
#else
	(void)instance;
	(void)op;
	(void)out;
	return 0;
#endif
}

/* ---- Printing ----------------------------------------------------------------------------------- */

#if MM_HAVE_STDIO
void mm_print(void *instance, FILE *stream)
{
	mm_observe *o = observe_of(instance);
	mm_stats s;
	if (!o || !stream || !mm_get_stats(instance, &s)) {
		if (stream && o)
			(void)fprintf(stream, "memoman %s %p: statistics compiled out (MM_OBSERVE=0)\n", o->ops->name,
			              instance);
		else if (stream)
			(void)fprintf(stream, "memoman: %p is not an instance\n", instance);
		return;
	}
	(void)fprintf(stream, "memoman %s %p\n", o->ops->name, instance);
	(void)fprintf(stream, "  capacity %zu B, in use %zu B (peak %zu B), free %zu B, largest free %zu B\n",
	              s.capacity, s.in_use, s.peak_in_use, s.free, s.largest_free);
	(void)fprintf(stream, "  blocks in use %zu; %llu allocs, %llu frees, %llu failures; fragmentation %u.%u%%\n",
	              s.blocks_in_use, (unsigned long long)s.allocs, (unsigned long long)s.frees,
	              (unsigned long long)s.failures, s.fragmentation / 10, s.fragmentation % 10);
	if (o->ops->print)
		o->ops->print(instance, stream);
#if MM_CYCLES
	static const char *const names[MM_OP_COUNT] = {"malloc", "free", "realloc", "memalign", "calloc"};
	for (int i = 0; i < MM_OP_COUNT; i++) {
		const mm_op_timing *t = &o->timing[i];
		if (t->count)
			(void)fprintf(stream, "  %-8s %10llu calls  min %llu  mean %llu  max %llu (counts of %s)\n",
			              names[i], (unsigned long long)t->count, (unsigned long long)t->min,
			              (unsigned long long)(t->total / t->count), (unsigned long long)t->max,
			              o->cycles == builtin_counter ? "the built-in counter" : "your counter");
	}
#endif
}
#endif

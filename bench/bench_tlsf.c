// SPDX-License-Identifier: MIT
/*
 * bench_tlsf.c - the TLSF core's benchmark: fixed-seed traces replayed through several allocators.
 *
 * Workloads (each a trace generated from a fixed seed, then replayed identically):
 *   small     sizes 16..4096 uniform, 10,000 live blocks, 200,000 replacements
 *   medium    sizes 16..65536 uniform, 2,000 live blocks, 100,000 replacements
 *   memalign  as small, but half of the allocations are memalign(2^5..2^12)
 * Allocators: memoman (mm_*), tlsf-api (memoman through memoman/tlsf.h), glibc (malloc/free/
 * memalign), tlsf31 (TLSF 3.1, only when built with -DBENCH_CONTE against its source with its
 * functions renamed conte_tlsf_*) and o1heap (o1heapInit/o1heapAllocate/o1heapFree, only when built
 * with -DBENCH_O1HEAP against its source; it has no memalign, so it sits out the memalign workload).
 * See bench/README.md: CMake's TLSF31_DIR and O1HEAP_DIR build both in.
 *
 * Modes:
 *   bench_tlsf                           timing: ns per call, median of 5 replays, allocators
 *                                        alternated within each round
 *   bench_tlsf --one W A                 replay workload W once with allocator A (for callgrind)
 *   bench_tlsf --probe P A [n]           repeat worst path P n times (split, merge, gap)
 *   bench_tlsf --memory W A              memory for workload W: the smallest pool that serves it and
 *                                        the highest byte used (glibc: its peak footprint)
 *   bench_tlsf --calls W                 print the number of calls in workload W
 *   bench_tlsf --has A                   exit status 0 if allocator A is built in
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_common.h"
#include "memoman.h"
#include "memoman/tlsf.h"

#ifdef BENCH_CONTE
/* TLSF 3.1 compiled with its symbols renamed (-Dtlsf_malloc=conte_tlsf_malloc ...). */
void *conte_tlsf_create_with_pool(void *mem, size_t bytes);
void *conte_tlsf_malloc(void *t, size_t bytes);
void *conte_tlsf_memalign(void *t, size_t align, size_t bytes);
void conte_tlsf_free(void *t, void *ptr);
size_t conte_tlsf_block_size(void *ptr);
#endif

#ifdef BENCH_O1HEAP
#include "o1heap.h"
#endif

#define NOINLINE __attribute__((noinline))

/* ---- Traces ------------------------------------------------------------------------------------- */

typedef struct op {
	uint32_t slot;
	uint32_t size;  /* 0 means free */
	uint32_t align; /* 0: malloc; else memalign */
} op;

typedef struct trace {
	const char *name;
	op *ops;
	size_t n_ops, n_calls, live;
	size_t pool_bytes; /* large enough for every allocator */
	int aligned;       /* some allocations are memalign */
} trace;

static void make_trace(trace *t, const char *name, size_t live, size_t replacements, uint32_t max_size,
                       int aligned_half, uint64_t seed)
{
	rng_state = seed;
	t->name = name;
	t->live = live;
	t->aligned = aligned_half;
	t->n_ops = 2 * live + 2 * replacements;
	t->ops = calloc(t->n_ops, sizeof(op));
	size_t n = 0;
	uint64_t bytes = 0;
#define ALLOC(slot_)                                                                                                   \
	do {                                                                                                           \
		op *o = &t->ops[n++];                                                                                  \
		o->slot = (uint32_t)(slot_);                                                                           \
		o->size = 16 + (uint32_t)(next_random() % (max_size - 15));                                            \
		o->align = aligned_half && (next_random() & 1) ? 1u << (5 + next_random() % 8) : 0;                    \
		bytes += o->size + o->align;                                                                           \
	} while (0)
	for (size_t i = 0; i < live; i++)
		ALLOC(i);
	for (size_t i = 0; i < replacements; i++) {
		uint32_t s = (uint32_t)(next_random() % live);
		t->ops[n++] = (op){s, 0, 0};
		ALLOC(s);
	}
	for (size_t i = 0; i < live; i++)
		t->ops[n++] = (op){(uint32_t)i, 0, 0};
#undef ALLOC
	t->n_calls = n;
	/* Twice the average live bytes plus the largest block, with room for alignment gaps. */
	t->pool_bytes = (size_t)(2 * bytes / (live + replacements) * live) + 8 * (size_t)max_size + (1 << 20);
}

/* ---- Allocators --------------------------------------------------------------------------------- */

typedef struct allocator {
	const char *name;
	void (*init)(void *mem, size_t bytes); /* a fresh heap over mem (unused by glibc) */
	void *(*malloc_)(size_t n);
	void *(*memalign_)(size_t align, size_t n); /* NULL: the allocator has none */
	void (*free_)(void *p);
	size_t (*usable)(void *p); /* NULL: unknown, the request's size is counted */
} allocator;

static mm_t mm;
static void mm_init(void *mem, size_t bytes) { mm = mm_create_with_pool(mem, bytes); }
static void *mm_malloc_(size_t n) { return mm_malloc(mm, n); }
static void *mm_memalign_(size_t a, size_t n) { return mm_memalign(mm, a, n); }
static void mm_free_(void *p) { mm_free(mm, p); }

static tlsf_t tl;
static void tl_init(void *mem, size_t bytes) { tl = tlsf_create_with_pool(mem, bytes); }
static void *tl_malloc_(size_t n) { return tlsf_malloc(tl, n); }
static void *tl_memalign_(size_t a, size_t n) { return tlsf_memalign(tl, a, n); }
static void tl_free_(void *p) { tlsf_free(tl, p); }

static void glibc_init(void *mem, size_t bytes) /* glibc manages its own memory */
{
	(void)mem;
	(void)bytes;
}
static void *glibc_malloc_(size_t n) { return malloc(n); }
static void *glibc_memalign_(size_t a, size_t n) { return memalign(a, n); }
static void glibc_free_(void *p) { free(p); }
static size_t glibc_usable(void *p) { return malloc_usable_size(p); }

#ifdef BENCH_CONTE
static void *ct;
static void ct_init(void *mem, size_t bytes) { ct = conte_tlsf_create_with_pool(mem, bytes); }
static void *ct_malloc_(size_t n) { return conte_tlsf_malloc(ct, n); }
static void *ct_memalign_(size_t a, size_t n) { return conte_tlsf_memalign(ct, a, n); }
static void ct_free_(void *p) { conte_tlsf_free(ct, p); }
#endif

#ifdef BENCH_O1HEAP
/* o1heap: every block a power of two (header included), aligned to O1HEAP_ALIGNMENT; no memalign. */
static O1HeapInstance *oh;
static void oh_init(void *mem, size_t bytes) { oh = o1heapInit(mem, bytes); }
static void *oh_malloc_(size_t n) { return o1heapAllocate(oh, n); }
static void oh_free_(void *p) { o1heapFree(oh, p); }
#endif

static const allocator allocators[] = {
    {"memoman", mm_init, mm_malloc_, mm_memalign_, mm_free_, mm_block_size},
    {"tlsf-api", tl_init, tl_malloc_, tl_memalign_, tl_free_, tlsf_block_size},
#ifdef BENCH_CONTE
    {"tlsf31", ct_init, ct_malloc_, ct_memalign_, ct_free_, conte_tlsf_block_size},
#endif
#ifdef BENCH_O1HEAP
    {"o1heap", oh_init, oh_malloc_, NULL, oh_free_, NULL},
#endif
    {"glibc", glibc_init, glibc_malloc_, glibc_memalign_, glibc_free_, glibc_usable},
};
#define N_ALLOCATORS (sizeof(allocators) / sizeof(allocators[0]))

static const allocator *find_allocator(const char *name)
{
	return (const allocator *)find_named(allocators, N_ALLOCATORS, sizeof(allocator), name, "allocator");
}

/* ---- Replay ------------------------------------------------------------------------------------- */

static void **slots;
static unsigned char *pool;
static size_t pool_size;

/* Replays the trace; returns the number of failed allocations. Tracks the highest byte used. */
static size_t replay(const trace *t, const allocator *a, uintptr_t *high)
{
	size_t failed = 0;
	for (size_t i = 0; i < t->n_ops; i++) {
		const op *o = &t->ops[i];
		if (o->size == 0) {
			a->free_(slots[o->slot]);
			slots[o->slot] = NULL;
			continue;
		}
		void *p = o->align ? a->memalign_(o->align, o->size) : a->malloc_(o->size);
		slots[o->slot] = p;
		failed += p == NULL;
		size_t used = p && high ? (a->usable ? a->usable(p) : o->size) : 0;
		if (high && p && (uintptr_t)p + used > *high)
			*high = (uintptr_t)p + used;
	}
	return failed;
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static trace traces[3];

static void make_traces(uint64_t seed)
{
	for (int i = 0; i < 3; i++)
		free(traces[i].ops);
	make_trace(&traces[0], "small", 10000, 200000, 4096, 0, 1 + 3 * seed);
	make_trace(&traces[1], "medium", 2000, 100000, 65536, 0, 2 + 3 * seed);
	make_trace(&traces[2], "memalign", 10000, 200000, 4096, 1, 3 + 3 * seed);
	if (pool)
		return;
	size_t most = 0, live = 0;
	for (int i = 0; i < 3; i++) {
		most = traces[i].pool_bytes > most ? traces[i].pool_bytes : most;
		live = traces[i].live > live ? traces[i].live : live;
	}
	pool_size = most;
	pool = aligned_alloc(4096, pool_size);
	memset(pool, 0, pool_size); /* fault the pages in before anything is timed */
	slots = calloc(live, sizeof(void *));
}

static const trace *find_trace(const char *name)
{
	return (const trace *)find_named(traces, 3, sizeof(trace), name, "workload");
}

static void timing(int reps)
{
	printf("%-9s %-9s %10s %9s\n", "workload", "allocator", "ns/call", "failed");
	for (int w = 0; w < 3; w++) {
		const trace *t = &traces[w];
		double ns[N_ALLOCATORS][16];
		size_t failed[N_ALLOCATORS] = {0};
		for (int r = 0; r < reps; r++) {
			for (size_t k = 0; k < N_ALLOCATORS; k++) {
				size_t i =
				    (k + (size_t)r) % N_ALLOCATORS; /* a different allocator goes first each round */
				const allocator *a = &allocators[i];
				if (t->aligned && !a->memalign_)
					continue;
				a->init(pool, pool_size);
				double t0 = now_ns();
				failed[i] += replay(t, a, NULL);
				ns[i][r] = (now_ns() - t0) / (double)t->n_calls;
			}
		}
		for (size_t i = 0; i < N_ALLOCATORS; i++) {
			if (t->aligned && !allocators[i].memalign_) {
				printf("%-9s %-9s %10s %9s\n", t->name, allocators[i].name, "n/a", "-");
				continue;
			}
			qsort(ns[i], (size_t)reps, sizeof(double), cmp_double);
			printf("%-9s %-9s %10.1f %9zu\n", t->name, allocators[i].name, ns[i][reps / 2],
			       failed[i] / (size_t)reps);
		}
	}
}

/* ---- Memory ----------------------------------------------------------------------------------- */

/* The smallest pool (to 1 KiB, control structure included) with which the whole trace runs without
 * a failed allocation: what an embedded user has to provide. Also the highest pool byte used. */
static void memory_pool(const trace *t, const allocator *a)
{
	uintptr_t high = 0;
	a->init(pool, pool_size);
	size_t failed = replay(t, a, &high);
	size_t extent = (size_t)(high - (uintptr_t)pool);
	size_t lo = 0, hi = extent + 65536 < pool_size ? extent + 65536 : pool_size;
	a->init(pool, hi);
	if (replay(t, a, NULL) != 0) /* the highest byte requested is not the highest byte held */
		hi = pool_size;
	while (hi - lo > 1024) {
		size_t mid = (lo + hi) / 2;
		a->init(pool, mid);
		if (replay(t, a, NULL) == 0)
			hi = mid;
		else
			lo = mid;
	}
	printf("%-9s %-9s %14zu %14zu%s\n", t->name, a->name, hi, extent, failed ? " (failures!)" : "");
}

/* glibc's footprint: the most heap it held from the OS during the trace (mallinfo2's arena + mmapped
 * bytes, sampled every 64 calls, less what was held before). Run in a fresh process. */
static void memory_glibc(const trace *t)
{
	struct mallinfo2 m0 = mallinfo2();
	size_t base = m0.arena + m0.hblkhd, peak = 0;
	for (size_t i = 0; i < t->n_ops; i++) {
		const op *o = &t->ops[i];
		if (o->size == 0) {
			free(slots[o->slot]);
			slots[o->slot] = NULL;
		} else {
			slots[o->slot] = o->align ? memalign(o->align, o->size) : malloc(o->size);
		}
		if (i % 64 == 0) {
			struct mallinfo2 m = mallinfo2();
			size_t now = m.arena + m.hblkhd - base;
			peak = now > peak ? now : peak;
		}
	}
	printf("%-9s %-9s %14zu %14s\n", t->name, "glibc", peak, "-");
}

/* ---- Worst paths -------------------------------------------------------------------------------- */

/* Each probe is one call, in a function of its own so that callgrind can count just it. */
static NOINLINE void *probe_split(const allocator *a) { return a->malloc_(100); }
static NOINLINE void probe_merge(const allocator *a, void *p) { a->free_(p); }
static NOINLINE void *probe_gap(const allocator *a) { return a->memalign_(4096, 100); }

static void probe(const char *which, const allocator *a, int n)
{
	static _Alignas(4096) unsigned char mem[1 << 20];
	if (strcmp(which, "gap") == 0 && !a->memalign_) {
		fprintf(stderr, "%s has no memalign: no gap path\n", a->name);
		exit(3);
	}
	for (int i = 0; i < n; i++) {
		a->init(mem, sizeof(mem));
		if (strcmp(which, "split") == 0) {
			/* A fresh pool is one large block: the request must search up and split it. */
			if (!probe_split(a))
				exit(1);
		} else if (strcmp(which, "merge") == 0) {
			/* Free a block whose two neighbours are free: two unlinks, one insert. */
			void *x = a->malloc_(200), *b = a->malloc_(200), *y = a->malloc_(200), *fence = a->malloc_(200);
			a->free_(x);
			a->free_(y);
			probe_merge(a, b);
			(void)fence;
		} else if (strcmp(which, "gap") == 0) {
			/* The free block's payload is not aligned: a leading gap is split off and filed. */
			void *first = a->malloc_(40);
			void *p = probe_gap(a);
			if (!first || !p || ((uintptr_t)p & 4095))
				exit(1);
		}
	}
}

int main(int argc, char **argv)
{
	const char *seed = getenv("BENCH_SEED");
	make_traces(seed ? strtoull(seed, NULL, 0) : 0);
	if (argc >= 3 && strcmp(argv[1], "--has") == 0) {
		for (size_t i = 0; i < N_ALLOCATORS; i++)
			if (strcmp(allocators[i].name, argv[2]) == 0)
				return 0;
		return 1;
	}
	if (argc >= 4 && (strcmp(argv[1], "--one") == 0 || strcmp(argv[1], "--memory") == 0) &&
	    find_trace(argv[2])->aligned && strcmp(argv[3], "glibc") != 0 && !find_allocator(argv[3])->memalign_) {
		fprintf(stderr, "%s has no memalign: workload %s does not apply\n", argv[3], argv[2]);
		return 3;
	}
	if (argc >= 4 && strcmp(argv[1], "--one") == 0) {
		const trace *t = find_trace(argv[2]);
		const allocator *a = find_allocator(argv[3]);
		a->init(pool, pool_size);
		return replay(t, a, NULL) == 0 ? 0 : 1;
	}
	if (argc >= 3 && strcmp(argv[1], "--calls") == 0) {
		printf("%zu\n", find_trace(argv[2])->n_calls);
		return 0;
	}
	if (argc >= 4 && strcmp(argv[1], "--probe") == 0) {
		probe(argv[2], find_allocator(argv[3]), argc > 4 ? atoi(argv[4]) : 1000);
		return 0;
	}
	if (argc >= 4 && strcmp(argv[1], "--memory") == 0) {
		const trace *t = find_trace(argv[2]);
		if (strcmp(argv[3], "glibc") == 0)
			memory_glibc(t);
		else
			memory_pool(t, find_allocator(argv[3]));
		return 0;
	}
	timing(argc >= 2 ? atoi(argv[1]) : 5);
	return 0;
}

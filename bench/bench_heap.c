// SPDX-License-Identifier: MIT
/*
 * bench_heap.c - fixed-size pools and the composed heap against the TLSF core and glibc: fixed-seed
 * traces replayed identically through each allocator, and the worst paths of each, one call at a time.
 *
 * Workloads (pairs = allocate + free of one block):
 *   pair64    64 blocks live; then 200,000 times: allocate 64 B and free it at once
 *   churn64   1,000 blocks of 64 B live; 200,000 times a random one is freed and replaced
 *   churn     as churn64 with sizes 16..1024 uniform (no fixed pool: it has one size)
 * Allocators: fixed (mm_fixed_*, 64-byte blocks, default mode), heap (mm_heap_*, classes 32, 64,
 * 128, 256, 512 and 1024 B of 2,000 blocks each, remainder, fallback larger then remainder), tlsf
 * (the TLSF core, mm_malloc/mm_free) and glibc (malloc/free); when built in (bench/README.md), tlsf31
 * (TLSF 3.1, -DBENCH_CONTE) and o1heap (o1heapAllocate/o1heapFree, -DBENCH_O1HEAP), each over the
 * same arena.
 *
 * Modes:
 *   bench_heap [reps]          cycles per call, noise-filtered: every call of the trace is timed on
 *                              its own (mm_cycles_now before and after), the trace is replayed reps
 *                              times (default 9), allocators alternated in each round, and each call
 *                              keeps its fastest time; printed: the median and the largest of those
 *                              per-call minima, less the timer's own cost
 *   bench_heap --one W A       replay workload W once with allocator A (for callgrind)
 *   bench_heap --calls W       the number of pairs in workload W
 *   bench_heap --probe P [n]   repeat worst path P n times (for callgrind; see probes[])
 *   bench_heap --probes [reps] noise-filtered cycles of every worst path (fastest of reps)
 *   bench_heap --probe-names   the worst paths' names; --probe-what P: what path P does
 *   bench_heap --has A         exit status 0 if allocator A is built in
 *   bench_heap --memory W A    the smallest arena (to 64 bytes) with which allocator A serves workload
 *                              W without a failure (not for heap, whose arena its configuration sets)
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "memoman.h"

#ifdef BENCH_O1HEAP
#include "o1heap.h"
#endif
#ifdef BENCH_CONTE
/* TLSF 3.1 compiled with its symbols renamed (-Dtlsf_malloc=conte_tlsf_malloc ...). */
void *conte_tlsf_create_with_pool(void *mem, size_t bytes);
void *conte_tlsf_malloc(void *t, size_t bytes);
void conte_tlsf_free(void *t, void *ptr);
#endif

#define NOINLINE __attribute__((noinline))

/* ---- Traces ------------------------------------------------------------------------------------- */

typedef struct op {
	uint32_t slot;
	uint32_t size; /* 0 means free */
} op;

typedef struct trace {
	const char *name;
	op *ops;
	size_t n_ops, pairs, live;
	int fixed_ok; /* every size fits the fixed pool's 64-byte blocks */
} trace;

static uint32_t trace_size(uint32_t lo, uint32_t hi) { return lo + (uint32_t)(next_random() % (hi - lo + 1)); }

/* live blocks, then `rounds` replacements (of the newest block when lifo, else of a random one),
 * then every block freed. */
static void make_trace(trace *t, const char *name, size_t live, size_t rounds, uint32_t lo, uint32_t hi, int lifo,
                       uint64_t seed)
{
	rng_state = seed;
	t->name = name;
	t->live = live + 1;
	t->fixed_ok = hi <= 64;
	t->n_ops = 2 * (live + rounds) + 2;
	t->ops = calloc(t->n_ops, sizeof(op));
	size_t n = 0;
	for (size_t i = 0; i < live; i++)
		t->ops[n++] = (op){(uint32_t)i, trace_size(lo, hi)};
	for (size_t i = 0; i < rounds; i++) {
		uint32_t s = lifo ? (uint32_t)live : (uint32_t)(next_random() % live);
		if (lifo) {
			t->ops[n++] = (op){s, trace_size(lo, hi)};
			t->ops[n++] = (op){s, 0};
		} else {
			t->ops[n++] = (op){s, 0};
			t->ops[n++] = (op){s, trace_size(lo, hi)};
		}
	}
	for (size_t i = 0; i < live; i++)
		t->ops[n++] = (op){(uint32_t)i, 0};
	t->n_ops = n;
	t->pairs = n / 2;
}

#define N_TRACES 3
static trace traces[N_TRACES];

static const trace *find_trace(const char *name)
{
	return (const trace *)find_named(traces, N_TRACES, sizeof(trace), name, "workload");
}

/* ---- Allocators --------------------------------------------------------------------------------- */

#define ARENA_BYTES (16u << 20)
static _Alignas(4096) unsigned char arena[ARENA_BYTES];
static size_t arena_bytes = ARENA_BYTES; /* how much of it an instance gets */

typedef struct allocator {
	const char *name;
	void (*init)(void); /* a fresh instance over the arena */
	void *(*alloc)(size_t n);
	void (*free_)(void *p);
} allocator;

static mm_fixed_t fixed;
static void fixed_init(void) { fixed = mm_fixed_create(arena, arena_bytes, 64, 0, 0); }
/* The explicit opt-out: no bitmap, nothing checked on free. */
static void fixed_unchecked_init(void) { fixed = mm_fixed_create(arena, arena_bytes, 64, 0, MM_FIXED_UNCHECKED); }
static void *fixed_alloc(size_t n)
{
	(void)n;
	return mm_fixed_alloc(fixed);
}
static void fixed_free(void *p) { mm_fixed_free(fixed, p); }

static mm_heap_t heap;
static void heap_config(mm_heap_config *cfg, size_t count)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->n_classes = 6;
	for (size_t i = 0; i < 6; i++)
		cfg->classes[i] = (mm_heap_class_config){(size_t)32 << i, count};
	cfg->remainder = 1u << 20;
	cfg->fallback = MM_HEAP_FALLBACK_LARGER | MM_HEAP_FALLBACK_REMAINDER;
}
static void heap_init(void)
{
	mm_heap_config cfg;
	heap_config(&cfg, 2000);
	heap = mm_heap_create(arena, arena_bytes, &cfg);
}
static void heap_unchecked_init(void)
{
	mm_heap_config cfg;
	heap_config(&cfg, 2000);
	cfg.flags = MM_FIXED_UNCHECKED;
	heap = mm_heap_create(arena, arena_bytes, &cfg);
}
static void *heap_alloc(size_t n) { return mm_heap_malloc(heap, n); }
static void heap_free(void *p) { mm_heap_free(heap, p); }

static mm_t core;
static void core_init(void) { core = mm_create_with_pool(arena, arena_bytes); }
static void *core_alloc(size_t n) { return mm_malloc(core, n); }
static void core_free(void *p) { mm_free(core, p); }

#ifdef BENCH_CONTE
static void *conte;
static void conte_init(void) { conte = conte_tlsf_create_with_pool(arena, arena_bytes); }
static void *conte_alloc(size_t n) { return conte_tlsf_malloc(conte, n); }
static void conte_free(void *p) { conte_tlsf_free(conte, p); }
#endif

#ifdef BENCH_O1HEAP
static O1HeapInstance *o1;
static void o1_init(void) { o1 = o1heapInit(arena, arena_bytes); }
static void *o1_alloc(size_t n) { return o1heapAllocate(o1, n); }
static void o1_free(void *p) { o1heapFree(o1, p); }
#endif

static void glibc_init(void) {}
static void *glibc_alloc(size_t n) { return malloc(n); }
static void glibc_free(void *p) { free(p); }

static const allocator allocators[] = {
    {"fixed", fixed_init, fixed_alloc, fixed_free},
    {"heap", heap_init, heap_alloc, heap_free},
    {"fixed-unchecked", fixed_unchecked_init, fixed_alloc, fixed_free},
    {"heap-unchecked", heap_unchecked_init, heap_alloc, heap_free},
    {"tlsf", core_init, core_alloc, core_free},
#ifdef BENCH_CONTE
    {"tlsf31", conte_init, conte_alloc, conte_free},
#endif
#ifdef BENCH_O1HEAP
    {"o1heap", o1_init, o1_alloc, o1_free},
#endif
    {"glibc", glibc_init, glibc_alloc, glibc_free},
};
#define N_ALLOCATORS (sizeof(allocators) / sizeof(allocators[0]))

static const allocator *find_allocator(const char *name)
{
	return (const allocator *)find_named(allocators, N_ALLOCATORS, sizeof(allocator), name, "allocator");
}

/* ---- Replay ------------------------------------------------------------------------------------- */

static void **slots;

static size_t replay(const trace *t, const allocator *a)
{
	size_t failed = 0;
	for (size_t i = 0; i < t->n_ops; i++) {
		const op *o = &t->ops[i];
		if (o->size == 0) {
			a->free_(slots[o->slot]);
		} else {
			slots[o->slot] = a->alloc(o->size);
			failed += slots[o->slot] == NULL;
		}
	}
	return failed;
}

/* The same, each call timed on its own; best[i] keeps the fastest time of call i so far. */
static size_t replay_timed(const trace *t, const allocator *a, uint64_t *best)
{
	size_t failed = 0;
	for (size_t i = 0; i < t->n_ops; i++) {
		const op *o = &t->ops[i];
		uint64_t t0, t1;
		if (o->size == 0) {
			void *p = slots[o->slot];
			t0 = mm_cycles_now();
			a->free_(p);
			t1 = mm_cycles_now();
		} else {
			t0 = mm_cycles_now();
			void *p = a->alloc(o->size);
			t1 = mm_cycles_now();
			slots[o->slot] = p;
			failed += p == NULL;
		}
		if (t1 - t0 < best[i])
			best[i] = t1 - t0;
	}
	return failed;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t r = a % b;
		a = b;
		b = r;
	}
	return a;
}

/* The timer's own cost, the fastest of many empty intervals; and its resolution, the greatest
 * common divisor of intervals around varying amounts of work (a counter that advances in steps). */
static uint64_t timer_floor(uint64_t *resolution)
{
	uint64_t best = UINT64_MAX, step = 0;
	volatile unsigned sink = 0;
	for (unsigned i = 0; i < 100000; i++) {
		uint64_t t0 = mm_cycles_now();
		for (unsigned k = 0; k < i % 7; k++)
			sink += k;
		uint64_t t1 = mm_cycles_now();
		if (i % 7 == 0)
			best = t1 - t0 < best ? t1 - t0 : best;
		step = gcd(step, t1 - t0);
	}
	(void)sink;
	if (resolution)
		*resolution = step;
	return best;
}

/* Mean, median and largest of the per-call minima of one kind of call (alloc or free), less the
 * timer's cost. */
typedef struct summary {
	double mean;
	uint64_t median, worst;
} summary;

static summary summarize(const trace *t, const uint64_t *best, int frees, uint64_t floor)
{
	uint64_t *v = malloc(t->n_ops * sizeof(uint64_t));
	size_t n = 0;
	double sum = 0;
	for (size_t i = 0; i < t->n_ops; i++)
		if ((t->ops[i].size == 0) == frees) {
			v[n] = best[i] > floor ? best[i] - floor : 0;
			sum += (double)v[n++];
		}
	qsort(v, n, sizeof(uint64_t), cmp_u64);
	summary r = {sum / (double)n, v[n / 2], v[n - 1]};
	free(v);
	return r;
}

static void timing(int reps)
{
	uint64_t resolution, floor = timer_floor(&resolution);
	printf("cycle source: %s\ntimer: own cost %llu (subtracted), resolution %llu\n", mm_cycle_source(),
	       (unsigned long long)floor, (unsigned long long)resolution);
	printf("%-8s %-15s %23s %23s %10s\n", "", "", "alloc (per-call min)", "free (per-call min)", "replay");
	printf("%-8s %-15s %7s %7s %7s %7s %7s %7s %10s\n", "workload", "alloc", "mean", "median", "worst", "mean",
	       "median", "worst", "per call");
	for (int w = 0; w < N_TRACES; w++) {
		const trace *t = &traces[w];
		uint64_t *best[N_ALLOCATORS];
		double whole[N_ALLOCATORS][64];
		size_t failed[N_ALLOCATORS] = {0};
		for (size_t k = 0; k < N_ALLOCATORS; k++) {
			best[k] = malloc(t->n_ops * sizeof(uint64_t));
			for (size_t i = 0; i < t->n_ops; i++)
				best[k][i] = UINT64_MAX;
		}
		for (int r = 0; r < reps; r++) {
			for (size_t k = 0; k < N_ALLOCATORS; k++) {
				size_t i = (k + (size_t)r) % N_ALLOCATORS; /* a different allocator first each round */
				const allocator *a = &allocators[i];
				if (!t->fixed_ok && strncmp(a->name, "fixed", 5) == 0)
					continue;
				/* The whole replay, untimed inside: the cost per call with the timer's out of it. */
				a->init();
				uint64_t t0 = mm_cycles_now();
				failed[i] += replay(t, a);
				whole[i][r] = (double)(mm_cycles_now() - t0) / (double)t->n_ops;
				/* Each call timed on its own. */
				a->init();
				failed[i] += replay_timed(t, a, best[i]);
			}
		}
		for (size_t i = 0; i < N_ALLOCATORS; i++) {
			if (!t->fixed_ok && strncmp(allocators[i].name, "fixed", 5) == 0)
				continue;
			summary al = summarize(t, best[i], 0, floor), fr = summarize(t, best[i], 1, floor);
			qsort(whole[i], (size_t)reps, sizeof(double), cmp_double);
			printf("%-8s %-15s %7.1f %7llu %7llu %7.1f %7llu %7llu %10.1f%s\n", t->name, allocators[i].name,
			       al.mean, (unsigned long long)al.median, (unsigned long long)al.worst, fr.mean,
			       (unsigned long long)fr.median, (unsigned long long)fr.worst, whole[i][reps / 2],
			       failed[i] ? " (failures!)" : "");
		}
		for (size_t k = 0; k < N_ALLOCATORS; k++)
			free(best[k]);
	}
}

/* ---- Worst paths -------------------------------------------------------------------------------- */

/*
 * Each probe builds a state (not measured), then makes one call in a function of its own named
 * probe_<name>_call, so that callgrind counts just that call (plus the 3 or so instructions of the
 * wrapper's call and return).
 */
static void *probe_ptr;
static mm_heap_t probe_heap;
static mm_t probe_core;
static mm_fixed_t probe_fixed;

static NOINLINE void probe_tlsf_split_call(void) { probe_ptr = mm_malloc(probe_core, 100); }
static NOINLINE void probe_tlsf_merge_call(void) { mm_free(probe_core, probe_ptr); }
static NOINLINE void probe_tlsf_gap_call(void) { probe_ptr = mm_memalign(probe_core, 4096, 100); }
static NOINLINE void probe_fixed_carve_call(void) { probe_ptr = mm_fixed_alloc(probe_fixed); }
static NOINLINE void probe_fixed_free_call(void) { mm_fixed_free(probe_fixed, probe_ptr); }
static NOINLINE void probe_heap_carve_call(void) { probe_ptr = mm_heap_malloc(probe_heap, 20); }
static NOINLINE void probe_heap_fallback_call(void) { probe_ptr = mm_heap_malloc(probe_heap, 20); }
static NOINLINE void probe_heap_split_call(void) { probe_ptr = mm_heap_malloc(probe_heap, 20); }
static NOINLINE void probe_heap_large_call(void) { probe_ptr = mm_heap_malloc(probe_heap, 5000); }
static NOINLINE void probe_heap_merge_call(void) { mm_heap_free(probe_heap, probe_ptr); }
static NOINLINE void probe_heap_gap_call(void) { probe_ptr = mm_heap_memalign(probe_heap, 4096, 100); }

static void must(int ok)
{
	if (!ok) {
		fprintf(stderr, "bench_heap: a probe's set-up failed\n");
		exit(1);
	}
}

/* A heap of 16 classes of one block each (32 B to 4 KiB, spaced evenly) and a remainder. */
static void sixteen_classes(void)
{
	mm_heap_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.n_classes = MM_HEAP_MAX_CLASSES;
	for (size_t i = 0; i < MM_HEAP_MAX_CLASSES; i++)
		cfg.classes[i] = (mm_heap_class_config){32 + 256 * i, 1};
	cfg.remainder = 64 * 1024;
	cfg.fallback = MM_HEAP_FALLBACK_LARGER | MM_HEAP_FALLBACK_REMAINDER;
	probe_heap = mm_heap_create(arena, 1u << 20, &cfg);
	must(probe_heap != NULL);
}

static void exhaust_classes(size_t from)
{
	for (size_t i = from; i < MM_HEAP_MAX_CLASSES; i++)
		must(mm_heap_malloc(probe_heap, 32 + 256 * i) != NULL);
}

/* Set-ups. */
static void setup_tlsf_split(void) { probe_core = mm_create_with_pool(arena, 1u << 20); }
static void setup_tlsf_merge(void)
{
	/* A block between two free blocks: the free unlinks both and files one. */
	probe_core = mm_create_with_pool(arena, 1u << 20);
	void *x = mm_malloc(probe_core, 200), *b = mm_malloc(probe_core, 200), *y = mm_malloc(probe_core, 200);
	must(x && b && y && mm_malloc(probe_core, 200));
	mm_free(probe_core, x);
	mm_free(probe_core, y);
	probe_ptr = b;
}
static void setup_tlsf_gap(void)
{
	/* The free block's payload is not aligned: a leading gap is split off and filed. */
	probe_core = mm_create_with_pool(arena, 1u << 20);
	must(mm_malloc(probe_core, 40) != NULL);
}
static void setup_fixed_carve(void) { probe_fixed = mm_fixed_create(arena, 1u << 20, 64, 0, 0); }
static void setup_fixed_free(void)
{
	probe_fixed = mm_fixed_create(arena, 1u << 20, 64, 0, 0);
	probe_ptr = mm_fixed_alloc(probe_fixed);
	must(probe_ptr != NULL);
}
static void setup_heap_carve(void) { sixteen_classes(); }
static void setup_heap_fallback(void)
{
	/* The request's class exhausted: the next class serves. */
	sixteen_classes();
	must(mm_heap_malloc(probe_heap, 32) != NULL);
}
static void setup_heap_split(void)
{
	/* The request's class and the next exhausted: the remainder's block is split. */
	sixteen_classes();
	must(mm_heap_malloc(probe_heap, 32) != NULL && mm_heap_malloc(probe_heap, 288) != NULL);
}
static void setup_heap_large(void) { sixteen_classes(); }
static void setup_heap_merge(void)
{
	/* A remainder block between two free remainder blocks. */
	sixteen_classes();
	void *x = mm_heap_malloc(probe_heap, 5000), *b = mm_heap_malloc(probe_heap, 5000),
	     *y = mm_heap_malloc(probe_heap, 5000);
	must(x && b && y && mm_heap_malloc(probe_heap, 5000));
	mm_heap_free(probe_heap, x);
	mm_heap_free(probe_heap, y);
	probe_ptr = b;
}
static void setup_heap_gap(void)
{
	/* No class aligned to 4 KiB has room: the remainder's memalign with a leading gap. */
	sixteen_classes();
	exhaust_classes(0);
	must(mm_heap_malloc(probe_heap, 5000) != NULL);
}

typedef struct probe_def {
	const char *name, *what;
	void (*setup)(void);
	void (*call)(void);
} probe_def;

static const probe_def probes[] = {
    {"tlsf_split", "TLSF core: malloc splitting a fresh pool's block", setup_tlsf_split, probe_tlsf_split_call},
    {"tlsf_merge", "TLSF core: free merging both neighbours", setup_tlsf_merge, probe_tlsf_merge_call},
    {"tlsf_gap", "TLSF core: memalign(4096) with a leading gap", setup_tlsf_gap, probe_tlsf_gap_call},
    {"fixed_carve", "fixed: alloc of a never-used block", setup_fixed_carve, probe_fixed_carve_call},
    {"fixed_free", "fixed: free", setup_fixed_free, probe_fixed_free_call},
    {"heap_carve", "heap: class alloc of a never-used block", setup_heap_carve, probe_heap_carve_call},
    {"heap_fallback", "heap: class exhausted, the next class serves", setup_heap_fallback, probe_heap_fallback_call},
    {"heap_split", "heap: class and next exhausted, remainder split", setup_heap_split, probe_heap_split_call},
    {"heap_large", "heap: larger than every class, remainder split", setup_heap_large, probe_heap_large_call},
    {"heap_merge", "heap: remainder free merging both neighbours", setup_heap_merge, probe_heap_merge_call},
    {"heap_gap", "heap: memalign(4096), no class has room, remainder gap", setup_heap_gap, probe_heap_gap_call},
};
#define N_PROBES (sizeof(probes) / sizeof(probes[0]))

static const probe_def *find_probe(const char *name)
{
	return (const probe_def *)find_named(probes, N_PROBES, sizeof(probe_def), name, "probe");
}

static void probe_cycles(int reps)
{
	uint64_t floor = timer_floor(NULL);
	printf("%-14s %8s  %s\n", "path", "cycles", "what (fastest of the repetitions, timer cost subtracted)");
	for (size_t i = 0; i < N_PROBES; i++) {
		uint64_t best = UINT64_MAX;
		for (int r = 0; r < reps; r++) {
			probes[i].setup();
			uint64_t t0 = mm_cycles_now();
			probes[i].call();
			uint64_t t1 = mm_cycles_now();
			best = t1 - t0 < best ? t1 - t0 : best;
		}
		printf("%-14s %8llu  %s\n", probes[i].name, (unsigned long long)(best > floor ? best - floor : 0),
		       probes[i].what);
	}
}

/* The smallest arena that serves the whole trace, by bisection (as bench_tlsf's memory mode). */
static void memory(const trace *t, const allocator *a)
{
	size_t lo = 0, hi = ARENA_BYTES;
	a->init();
	if (replay(t, a) != 0) {
		printf("%-8s %-15s %12s\n", t->name, a->name, "(failures with the whole arena!)");
		return;
	}
	while (hi - lo > 64) {
		arena_bytes = (lo + hi) / 2;
		a->init();
		if (replay(t, a) == 0)
			hi = arena_bytes;
		else
			lo = arena_bytes;
	}
	arena_bytes = ARENA_BYTES;
	printf("%-8s %-15s %12zu\n", t->name, a->name, hi);
}

int main(int argc, char **argv)
{
	make_trace(&traces[0], "pair64", 64, 200000, 64, 64, 1, 1);
	make_trace(&traces[1], "churn64", 1000, 200000, 64, 64, 0, 2);
	make_trace(&traces[2], "churn", 1000, 200000, 16, 1024, 0, 3);
	slots = calloc(1001, sizeof(void *));
	if (argc >= 3 && strcmp(argv[1], "--has") == 0) {
		for (size_t i = 0; i < N_ALLOCATORS; i++)
			if (strcmp(allocators[i].name, argv[2]) == 0)
				return 0;
		return 1;
	}
	if (argc >= 4 && strcmp(argv[1], "--memory") == 0) {
		const trace *t = find_trace(argv[2]);
		const allocator *a = find_allocator(argv[3]);
		if (strcmp(a->name, "glibc") == 0 || strncmp(a->name, "heap", 4) == 0 ||
		    (!t->fixed_ok && strncmp(a->name, "fixed", 5) == 0)) {
			fprintf(stderr, "--memory: not for %s on %s\n", a->name, t->name);
			return 3;
		}
		memory(t, a);
		return 0;
	}
	if (argc >= 4 && strcmp(argv[1], "--one") == 0) {
		const trace *t = find_trace(argv[2]);
		const allocator *a = find_allocator(argv[3]);
		a->init();
		return replay(t, a) == 0 ? 0 : 1;
	}
	if (argc >= 3 && strcmp(argv[1], "--calls") == 0) {
		printf("%zu\n", find_trace(argv[2])->pairs);
		return 0;
	}
	if (argc >= 3 && strcmp(argv[1], "--probe") == 0) {
		const probe_def *p = find_probe(argv[2]);
		int n = argc > 3 ? atoi(argv[3]) : 1000;
		for (int i = 0; i < n; i++) {
			p->setup();
			p->call();
		}
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "--probe-names") == 0) {
		for (size_t i = 0; i < N_PROBES; i++)
			printf("%s\n", probes[i].name);
		return 0;
	}
	if (argc >= 3 && strcmp(argv[1], "--probe-what") == 0) {
		printf("%s\n", find_probe(argv[2])->what);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "--probes") == 0) {
		probe_cycles(argc >= 3 ? atoi(argv[2]) : 1000);
		return 0;
	}
	int reps = argc >= 2 ? atoi(argv[1]) : 9;
	timing(reps < 1 ? 1 : reps > 64 ? 64 : reps);
	return 0;
}

// SPDX-License-Identifier: MIT
/*
 * bounds.c - every real-time entry point of libmemoman, one call at a time, for tests/bounds/run.sh.
 *
 * run.sh runs this program under valgrind --tool=callgrind with collection on only inside the entry
 * points (--toggle-collect=mm_malloc ...). Each measured call is bracketed by CALLGRIND_ZERO_STATS
 * and CALLGRIND_DUMP_STATS_AT("<entry> <case>"): one dump per call, whose total is the instructions
 * of that whole call, from the entry point's first instruction to its return. run.sh then compares
 * every dump with the bound the entry point's header states. Outside valgrind the requests are a few
 * no-op instructions and the program checks its own results, so it also runs as a plain program.
 *
 *   bounds --worst                 the constructed worst paths of every entry point (below)
 *   bounds --trace LAYER SEED N    N random calls on LAYER: core, fixed or heap
 *
 * Cases whose label starts with "-" are not bounded and run.sh leaves them out: a realloc that moves
 * the block (it copies, O(size)). Everything else is: successes, failures for lack of room, and
 * realloc's in-place, freeing and failing paths.
 */
#include <memoman.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsf_internal.h" /* the free lists' bitmaps: mm_reset's label counts the lists it clears */

#ifndef ARENA
#define ARENA (8u << 20)
#endif
static volatile size_t huge = SIZE_MAX; /* a size the compiler cannot see */
static _Alignas(4096) unsigned char arena[ARENA];

static void fail(const char *what)
{
	fprintf(stderr, "bounds: %s\n", what);
	exit(1);
}
#define must(x) ((x) ? (void)0 : fail(#x))

#if !defined(BOUNDS_WCET) && !defined(BOUNDS_M4)
#include <valgrind/callgrind.h>

/* One measured call: zero the counters, make the call, dump under `label`. */
#define MEASURE(label, stmt)                                                                                           \
	do {                                                                                                           \
		CALLGRIND_ZERO_STATS;                                                                                  \
		stmt;                                                                                                  \
		CALLGRIND_DUMP_STATS_AT(label);                                                                        \
	} while (0)
#elif defined(BOUNDS_M4)
#include "m4.h" /* MEASURE: the call's instructions on a Cortex-M4 under QEMU (tests/bounds/m4.sh) */
#else
#include "../../bench/wcet/cold.h" /* MEASURE: the call timed with cold caches (bench/wcet) */
#endif

/* xorshift64*: the traces' randomness (reproducible from the seed) */
static uint64_t rng_state;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}
static size_t below(size_t n) { return n ? (size_t)(rnd() % n) : 0; }
/* Log-uniform sizes 0..2^max_log2, so every first-level class is visited. */
static size_t any_size(unsigned max_log2)
{
	size_t top = (size_t)1 << below(max_log2 + 1);
	return below(top + 1);
}

/* ---- The TLSF core ----------------------------------------------------------------------------- */

/* Takes every byte the instance has left (largest first, halving on failure, to malloc(0)). */
static void fill(mm_t c)
{
	for (size_t n = ARENA;;) {
		if (!mm_malloc(c, n)) {
			if (!n)
				return;
			n /= 2;
		}
	}
}

/* Pools of `each` bytes at fixed places in the arena, 4 KiB apart (so that no two are adjacent): pool
 * i at pool_at(i, each). */
static unsigned char *pool_at(size_t i, size_t each)
{
	size_t at = ((mm_size() + 4095) & ~(size_t)4095) + i * (each + 4096);
	must(at + each <= ARENA);
	return arena + at;
}

/* An instance holding pools first..last-1 (of `each` bytes). */
static void add_pools(mm_t c, size_t first, size_t last, size_t each, size_t skip)
{
	for (size_t i = first; i < last; i++)
		if (i != skip)
			must(mm_add_pool(c, pool_at(i, each), each) != NULL);
}

static mm_t pools_instance(size_t pools, size_t each)
{
	mm_t c = mm_create(arena);
	must(c != NULL);
	add_pools(c, 0, pools, each, SIZE_MAX);
	return c;
}

/* An instance with pool k only, to place blocks in it; add_pools(c, 0, MM_MAX_POOLS, each, k) then
 * adds the others, so that k is the k-th of the sorted pool table. */
static mm_t pool_k_instance(size_t k, size_t each)
{
	mm_t c = mm_create(arena);
	must(c != NULL);
	must(mm_add_pool(c, pool_at(k, each), each) != NULL);
	return c;
}

/* mm_reset's cost grows with the pools, the non-empty first-level rows and the non-empty free lists:
 * its label names the three, and check.py evaluates the header's bound for them. */
static const char *reset_label(mm_t c)
{
	static char buf[64];
	size_t lists = 0;
	for (size_t f = 0; f < MM_FL_COUNT; f++)
		lists += (size_t)__builtin_popcountll((unsigned long long)c->sl_bitmap[f]);
	snprintf(buf, sizeof(buf), "mm_reset pools=%u,rows=%d,lists=%lu", (unsigned)c->pool_count,
	         __builtin_popcount(c->fl_bitmap), (unsigned long)lists);
	return buf;
}

static void worst_core(void)
{
	void *p, *x, *b, *y;
	mm_t c;

	/* malloc. A request's search: a list of the same first level, a first-level bitmap scan, or,
	 * when no class surely fits, the head of the request's own class. The block taken may leave its
	 * list empty (both bitmaps cleared) and its remainder may start a list (both set). */
	c = mm_create_with_pool(arena, 1u << 20); /* one free block in the top class: fl scan, split */
	MEASURE("mm_malloc fl-scan-split", p = mm_malloc(c, 100));
	must(p);
	for (size_t sz = 16; sz <= (1u << 16); sz = sz * 3 / 2 + 8) { /* own-class head, split */
		c = mm_create_with_pool(arena, 1u << 20);
		void *a = mm_memalign(c, 2 * mm_align_size(), sz + sz / 32 + 64); /* trimmed to the request */
		must(a);
		fill(c);
		mm_free(c, a);
		MEASURE("mm_malloc own-class-split", p = mm_malloc(c, sz));
		MEASURE("mm_malloc fail", p = mm_malloc(c, 1u << 19));
		must(!p);
	}
	c = mm_create_with_pool(arena, 1u << 20); /* the same first level, another second-level class */
	x = mm_malloc(c, 1000), b = mm_malloc(c, 64), y = mm_malloc(c, 1100);
	must(x && b && y && mm_malloc(c, 64));
	mm_free(c, y);
	MEASURE("mm_malloc sl-scan-split", p = mm_malloc(c, 1000));
	must(p);
	MEASURE("mm_malloc too-large", p = mm_malloc(c, huge));
	must(!p);

	/* free. It checks the pointer (with several pools, a binary search of the pool table; each pool
	 * of 32 tried), then merges: none, the next, the previous, or both, each neighbour the last of
	 * its list (its bits cleared), and inserts the result into an empty list. */
	const size_t each = 64 * 1024;
	for (size_t k = 0; k < MM_MAX_POOLS; k++) {
		/* In pool k: x b y z, with x and y in different classes. */
		c = pool_k_instance(k, each);
		x = mm_malloc(c, 200), b = mm_malloc(c, 300), y = mm_malloc(c, 3000);
		void *z = mm_malloc(c, 100);
		must(x && b && y && z);
		add_pools(c, 0, MM_MAX_POOLS, each, k);
		must(mm_get_pool_for_ptr(c, b) == (mm_pool_t)pool_at(k, each));
		mm_free(c, x);
		mm_free(c, y);
		MEASURE("mm_free merge-both", mm_free(c, b));
		c = pool_k_instance(k, each);
		x = mm_malloc(c, 200), b = mm_malloc(c, 300), y = mm_malloc(c, 3000), z = mm_malloc(c, 100);
		must(x && b && y && z && mm_malloc(c, 100));
		add_pools(c, 0, MM_MAX_POOLS, each, k);
		mm_free(c, x);
		MEASURE("mm_free merge-prev", mm_free(c, b));
		MEASURE("mm_free no-merge", mm_free(c, z));
		MEASURE("mm_free merge-both", mm_free(c, y));

		/* realloc in place, in pool k: grow into the free next block (split, or take it whole), shrink
		 * (the tail merges with a free next block, or becomes one), the same size, size 0 (a free). */
		c = pool_k_instance(k, each);
		x = mm_malloc(c, 200), b = mm_malloc(c, 3000), y = mm_malloc(c, 100);
		must(x && b && y && mm_malloc(c, 100));
		add_pools(c, 0, MM_MAX_POOLS, each, k);
		mm_free(c, b);
		MEASURE("mm_realloc grow-split", p = mm_realloc(c, x, 1000));
		must(p == x);
		MEASURE("mm_realloc grow-all", p = mm_realloc(c, x, 3100));
		must(p == x);
		MEASURE("mm_realloc shrink-split", p = mm_realloc(c, x, 40));
		must(p == x);
		MEASURE("mm_realloc shrink-merge", p = mm_realloc(c, x, 20));
		MEASURE("mm_realloc same", p = mm_realloc(c, x, 20));
		MEASURE("mm_realloc free", p = mm_realloc(c, y, 0));
		c = pool_k_instance(k, each);
		x = mm_malloc(c, 200), b = mm_malloc(c, 3000);
		must(x && b);
		add_pools(c, 0, MM_MAX_POOLS, each, k);
		MEASURE("mm_free merge-next", mm_free(c, b)); /* into the rest of the pool */
	}

	/* memalign: the search for the size plus the worst gap, then a leading gap that becomes a free
	 * block (too small for one: the next aligned address), and the trailing split. */
	for (size_t align = 2 * mm_align_size(); align <= (1u << 16); align *= 2)
		for (size_t off = 0; off < 4 * mm_align_size(); off += mm_align_size()) {
			c = mm_create_with_pool(arena, 1u << 20);
			if (off)
				must(mm_malloc(c, off));
			MEASURE("mm_memalign gap", p = mm_memalign(c, align, 100));
			must(p && ((uintptr_t)p & (align - 1)) == 0);
			MEASURE("mm_memalign gap-large", p = mm_memalign(c, align, 5000));
		}
	c = mm_create_with_pool(arena, 1u << 20);
	fill(c);
	MEASURE("mm_memalign fail", p = mm_memalign(c, 4096, 100));
	must(!p);

	/* reset: every pool becomes one free block again, every non-empty list is emptied: 1 to 32
	 * pools with a few lists, then one pool with a free block in each of ~430 classes (every class
	 * of 1 KiB to 32 KiB, every eighth below, between used blocks). */
	for (size_t n = 1; n <= MM_MAX_POOLS; n++) {
		c = pools_instance(n, 64 * 1024);
		for (size_t i = 0; i < 3000; i++)
			if (!mm_malloc(c, any_size(12)))
				break;
		const char *l = reset_label(c);
		MEASURE(l, must(mm_reset(c)));
	}
	static void *blocks[2048];
	size_t nb = 0;
	c = mm_create_with_pool(arena, ARENA);
	for (size_t f = 16; f <= ARENA / 256; f *= 2) /* 32 KiB with the 8 MiB arena */
		for (size_t j = 0; j < 64 && nb < 2048; j += f < 1024 ? 8 : 1) {
			blocks[nb] = mm_malloc(c, f + f * j / 64);
			must(blocks[nb] && mm_malloc(c, 1)); /* a used block between */
			nb++;
		}
	for (size_t i = 0; i < nb; i++)
		mm_free(c, blocks[i]);
	const char *l = reset_label(c);
	MEASURE(l, must(mm_reset(c)));
}

/* ---- Fixed pools ------------------------------------------------------------------------------- */

static void worst_fixed(void)
{
	static void *got[4096];
	mm_fixed_t f = mm_fixed_create(arena, 1u << 16, 48, 0, 0);
	must(f);
	size_t n = 0;
	for (;;) { /* carving never-used blocks until the pool is exhausted */
		void *p;
		MEASURE("mm_fixed_alloc carve", p = mm_fixed_alloc(f));
		if (!p)
			break;
		got[n++] = p;
	}
	MEASURE("mm_fixed_alloc exhausted", (void)mm_fixed_alloc(f));
	for (size_t i = 0; i < n; i++)
		MEASURE("mm_fixed_free checked", mm_fixed_free(f, got[i]));
	for (size_t i = 0; i < n; i++)
		MEASURE("mm_fixed_alloc pop", got[i] = mm_fixed_alloc(f));
}

/* ---- The composed heap ------------------------------------------------------------------------- */

/* 16 classes of 4 blocks (32 B to 3872 B, one of them 4 KiB-aligned) and a remainder. */
static mm_heap_t sixteen_classes(unsigned fallback)
{
	mm_heap_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.n_classes = MM_HEAP_MAX_CLASSES;
	for (size_t i = 0; i < MM_HEAP_MAX_CLASSES; i++)
		cfg.classes[i] = (mm_heap_class_config){i == 15 ? 4096 : 32 + 256 * i, 4};
	cfg.remainder = 64 * 1024;
	cfg.fallback = fallback;
	mm_heap_t h = mm_heap_create(arena, 1u << 20, &cfg);
	must(h);
	return h;
}

static void exhaust(mm_heap_t h, size_t from)
{
	for (size_t i = from; i < MM_HEAP_MAX_CLASSES; i++)
		for (int k = 0; k < 4; k++)
			must(mm_heap_malloc(h, i == 15 ? 4096 : 32 + 256 * i));
}

static void worst_heap(void)
{
	const unsigned both = MM_HEAP_FALLBACK_LARGER | MM_HEAP_FALLBACK_REMAINDER;
	void *p, *x, *b, *y;
	mm_heap_t h;

	h = sixteen_classes(both);
	MEASURE("mm_heap_malloc class-carve", p = mm_heap_malloc(h, 20));
	mm_heap_free(h, p);
	MEASURE("mm_heap_malloc class-pop", p = mm_heap_malloc(h, 20));
	MEASURE("mm_heap_calloc class", p = mm_heap_calloc(h, 2, 10));
	exhaust(h, 0);
	MEASURE("mm_heap_free class", mm_heap_free(h, p));
	h = sixteen_classes(both);
	exhaust(h, 0);
	/* the next class exhausted too: the remainder; its fresh block is the fl-scan split */
	MEASURE("mm_heap_malloc remainder-fallback", p = mm_heap_malloc(h, 20));
	MEASURE("mm_heap_calloc remainder-fallback", p = mm_heap_calloc(h, 1, 20));
	MEASURE("mm_heap_malloc large-split", p = mm_heap_malloc(h, 5000));
	MEASURE("mm_heap_memalign remainder-gap", p = mm_heap_memalign(h, 4096, 100));
	MEASURE("mm_heap_memalign remainder-gap-large", p = mm_heap_memalign(h, 1u << 16, 5000));
	h = sixteen_classes(both);
	exhaust(h, 1);
	MEASURE("mm_heap_malloc next-class", p = mm_heap_malloc(h, 20)); /* class 0 empty, 1 exhausted */
	h = sixteen_classes(both);
	MEASURE("mm_heap_memalign aligned-class", p = mm_heap_memalign(h, 4096, 100));
	h = sixteen_classes(0);
	exhaust(h, 0);
	MEASURE("mm_heap_malloc class-fail", p = mm_heap_malloc(h, 20));
	MEASURE("mm_heap_calloc overflow", p = mm_heap_calloc(h, huge / 2, 3));
	must(!p);

	/* The remainder's blocks: merges, in-place realloc (as the core's, behind the heap's routing). */
	h = sixteen_classes(both);
	exhaust(h, 0);
	x = mm_heap_malloc(h, 5000), b = mm_heap_malloc(h, 6000), y = mm_heap_malloc(h, 9000);
	must(x && b && y && mm_heap_malloc(h, 5000));
	mm_heap_free(h, x);
	mm_heap_free(h, y);
	MEASURE("mm_heap_free remainder-merge-both", mm_heap_free(h, b));
	x = mm_heap_malloc(h, 5000), b = mm_heap_malloc(h, 9000), y = mm_heap_malloc(h, 5000);
	must(x && b && y);
	mm_heap_free(h, b);
	MEASURE("mm_heap_realloc remainder-grow-split", p = mm_heap_realloc(h, x, 8000));
	must(p == x);
	MEASURE("mm_heap_realloc remainder-shrink", p = mm_heap_realloc(h, x, 5000));
	h = sixteen_classes(both);
	x = mm_heap_malloc(h, 4096);
	MEASURE("mm_heap_realloc class-same", p = mm_heap_realloc(h, x, 4000));
	must(p == x);
	MEASURE("mm_heap_realloc free", p = mm_heap_realloc(h, y, 0));
}

/* ---- Random traces ----------------------------------------------------------------------------- */

#define SLOTS 2048
static void *live[SLOTS];
static size_t live_size[SLOTS];

/* The core: 1 to MM_MAX_POOLS pools of random sizes, requests of every class and alignment, sized
 * so that the instance is often full (many failures), a reset now and then. */
static void trace_core(size_t n)
{
	size_t pools = 1 + below(MM_MAX_POOLS);
	mm_t c = pools_instance(pools, 16384 + below(ARENA / pools - 40960) / 16 * 16);
	memset(live, 0, sizeof(live));
	for (size_t i = 0; i < n; i++) {
		size_t k = below(SLOTS), r = below(100), sz = any_size(20);
		void *p = live[k];
		if (!p) {
			if (r < 70) {
				MEASURE("mm_malloc trace", p = mm_malloc(c, sz));
			} else {
				size_t align = (size_t)1 << below(17);
				MEASURE("mm_memalign trace", p = mm_memalign(c, align, sz));
				must(!p || ((uintptr_t)p & (align - 1)) == 0);
			}
			live[k] = p, live_size[k] = sz;
		} else if (r < 60) {
			MEASURE("mm_free trace", mm_free(c, p));
			live[k] = NULL;
		} else if (r < 99) {
			if (r < 80)
				sz = live_size[k] + below(live_size[k] / 4 + 64); /* grow a little: often in place */
			else if (r < 90)
				sz = below(live_size[k] + 1);
			void *q;
			/* the label is chosen once the outcome is known: the dump comes after the call */
			CALLGRIND_ZERO_STATS;
			q = mm_realloc(c, p, sz);
			CALLGRIND_DUMP_STATS_AT(q && q != p ? "mm_realloc -moved" : "mm_realloc trace");
			if (q || !sz)
				live[k] = q, live_size[k] = sz;
		} else {
			const char *l = reset_label(c);
			MEASURE(l, must(mm_reset(c)));
			memset(live, 0, sizeof(live));
		}
	}
	const char *l = reset_label(c); /* and one at the end, whatever the trace did */
	MEASURE(l, must(mm_reset(c)));
}

static void trace_fixed(size_t n)
{
	size_t block = 1 + any_size(10);
	mm_fixed_t f = mm_fixed_create(arena, 4096 + below(1u << 20), block, 0, 0);
	must(f);
	memset(live, 0, sizeof(live));
	for (size_t i = 0; i < n; i++) {
		size_t k = below(SLOTS);
		if (live[k]) {
			MEASURE("mm_fixed_free trace", mm_fixed_free(f, live[k]));
			live[k] = NULL;
		} else {
			MEASURE("mm_fixed_alloc trace", live[k] = mm_fixed_alloc(f));
		}
	}
}

static void trace_heap(size_t n)
{
	mm_heap_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	size_t bytes = (1u << 16) + below(ARENA / 4);
	if (rnd() & 1) { /* a preset */
		must(mm_heap_preset((mm_heap_preset_kind)below(4), bytes, &cfg));
		bytes = mm_heap_size(&cfg);
	} else { /* 1 to 16 random classes of a few blocks, a remainder, a random fallback */
		cfg.n_classes = 1 + below(MM_HEAP_MAX_CLASSES);
		size_t sz = 0;
		for (size_t i = 0; i < cfg.n_classes; i++) {
			sz += 1 + below(600);
			cfg.classes[i] = (mm_heap_class_config){sz, 1 + below(40)};
		}
		cfg.remainder = rnd() & 3 ? 4096 + below(1u << 18) : 0;
		cfg.fallback = (unsigned)below(4);
		bytes = mm_heap_size(&cfg) + (cfg.remainder ? below(1u << 18) : 0);
	}
	must(bytes && bytes <= ARENA);
	mm_heap_t h = mm_heap_create(arena, bytes, &cfg);
	must(h);
	memset(live, 0, sizeof(live));
	for (size_t i = 0; i < n; i++) {
		size_t k = below(SLOTS), r = below(100), sz = any_size(17);
		void *p = live[k];
		if (!p) {
			if (r < 60) {
				MEASURE("mm_heap_malloc trace", p = mm_heap_malloc(h, sz));
			} else if (r < 75) {
				size_t m = 1 + below(8);
				MEASURE("mm_heap_calloc trace", p = mm_heap_calloc(h, m, sz / m));
			} else {
				size_t align = (size_t)1 << below(14);
				MEASURE("mm_heap_memalign trace", p = mm_heap_memalign(h, align, sz));
				must(!p || ((uintptr_t)p & (align - 1)) == 0);
			}
			live[k] = p, live_size[k] = sz;
		} else if (r < 65) {
			MEASURE("mm_heap_free trace", mm_heap_free(h, p));
			live[k] = NULL;
		} else {
			if (r < 85)
				sz = live_size[k] + below(live_size[k] / 4 + 64);
			void *q;
			CALLGRIND_ZERO_STATS;
			q = mm_heap_realloc(h, p, sz);
			CALLGRIND_DUMP_STATS_AT(q && q != p ? "mm_heap_realloc -moved" : "mm_heap_realloc trace");
			if (q || !sz)
				live[k] = q, live_size[k] = sz;
		}
	}
}

int main(int argc, char **argv)
{
#ifdef BOUNDS_M4
	(void)argc;
	(void)argv;
	m4_run();
	return 0;
#endif
#ifdef BOUNDS_WCET
	if (argc >= 2 && strcmp(argv[1], "--wcet") == 0) {
		wcet_run(argc > 2 ? (size_t)atoi(argv[2]) : 30);
		return 0;
	}
#endif
	if (argc == 2 && strcmp(argv[1], "--worst") == 0) {
		worst_core();
		worst_fixed();
		worst_heap();
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "--trace") == 0) {
		rng_state = strtoull(argv[3], NULL, 10) * 0x9E3779B97F4A7C15ull + 1;
		size_t n = strtoull(argv[4], NULL, 10);
		if (strcmp(argv[2], "core") == 0)
			trace_core(n);
		else if (strcmp(argv[2], "fixed") == 0)
			trace_fixed(n);
		else if (strcmp(argv[2], "heap") == 0)
			trace_heap(n);
		else
			fail("unknown layer");
		return 0;
	}
	fprintf(stderr, "usage: bounds --worst | bounds --trace core|fixed|heap SEED N\n");
	return 2;
}

// SPDX-License-Identifier: MIT
/*
 * test_heap_sizing.c - mm_heap_required_size's guarantee, tested against adversarial orders.
 *
 * For each workload, a heap is created in a buffer of exactly the size returned (from malloc, so
 * that AddressSanitizer sees a write past it), and sequences of mallocs and frees are run in which,
 * at every moment, the live blocks can be assigned to the workload's lines (each block to a line at
 * least its size, at most `count` per line). The assignment may change from moment to moment: the
 * generator only checks that one exists (Hall's condition, below). Not one malloc may fail.
 *
 * Adversaries: tiny requests (which land in the smallest class whatever line they stand for),
 * requests just above a class bound, the largest allowed, random sizes; filling everything and
 * swapping blocks between sizes. Then the guarantee's necessity: the naive sizing (each class as
 * many blocks as its own line) fails against a small-block-first order.
 *
 *   test_heap_sizing [seed]
 */
#include "../src/tlsf_internal.h"
#include "check.h"

#define MAX_LINES 40
#define MAX_LIVE 2000

typedef struct workload {
	size_t n;
	mm_heap_workload w[MAX_LINES];
} workload;

/* Can blocks of these sizes (plus one of size extra, if not 0) be assigned to the lines? A block of
 * size r may go to any line of size >= r, so the neighbourhoods are nested: an assignment exists if
 * and only if, for every block size r, the blocks of size >= r are no more than the slots of the
 * lines of size >= r (Hall's condition, checked at each size present). */
static int assignable(const workload *wl, const size_t *sizes, size_t n, size_t extra)
{
	for (size_t k = 0; k <= n; k++) {
		size_t r = k < n ? sizes[k] : extra;
		if (r == 0)
			continue;
		size_t blocks = extra >= r, slots = 0;
		for (size_t i = 0; i < n; i++)
			blocks += sizes[i] >= r;
		for (size_t i = 0; i < wl->n; i++)
			if (wl->w[i].size >= r)
				slots += wl->w[i].count;
		if (blocks > slots)
			return 0;
	}
	return 1;
}

typedef enum adversary { TINY, ABOVE_BOUND, LARGEST, RANDOM, SWAP } adversary;

/* A request size the adversary wants next. */
static size_t pick_size(adversary a, const workload *wl, const mm_heap_config *cfg, rng *g)
{
	const mm_heap_workload *line = &wl->w[rng_next(g) % wl->n];
	switch (a) {
	case TINY: return rng_next(g) % 2;
	case ABOVE_BOUND: {
		size_t c = (size_t)(rng_next(g) % cfg->n_classes);
		size_t lo = c ? (cfg->classes[c - 1].size + 15) / 16 * 16 + 1 : 0;
		return lo <= line->size ? lo : line->size;
	}
	case LARGEST: return line->size;
	default: return rng_range(g, 0, line->size);
	}
}

static void attack(const workload *wl, adversary a, rng *g, size_t steps)
{
	mm_heap_config cfg;
	size_t bytes = mm_heap_required_size(wl->w, wl->n, &cfg);
	CHECK(bytes > 0);
	if (!bytes)
		return;
	/* Aligned to what the heap needs, and no larger than that allows: a write past the end is seen. */
	size_t alloc_bytes = (bytes + MM_ALIGN - 1) / MM_ALIGN * MM_ALIGN;
	void *buf = aligned_alloc(MM_ALIGN, alloc_bytes);
	CHECK(mm_heap_create(buf, bytes - 1, &cfg) == NULL); /* the size is tight */
	mm_heap_t h = mm_heap_create(buf, bytes, &cfg);
	CHECK(h != NULL);
	recorded_errors rec;
	record_errors(h, &rec);
	static void *ptr[MAX_LIVE];
	static size_t size[MAX_LIVE];
	size_t n = 0, failed = 0, served = 0;
	for (size_t step = 0; step < steps && n < MAX_LIVE; step++) {
		int grow = a == SWAP ? (step / 200) % 2 == 0 : rng_next(g) % 3 != 0;
		if (grow) {
			size_t s = pick_size(a == SWAP ? (adversary)(step % 4) : a, wl, &cfg, g);
			if (!assignable(wl, size, n, s ? s : 1))
				continue; /* the workload does not allow it now */
			void *p = mm_heap_malloc(h, s);
			if (!p) {
				failed++;
				continue;
			}
			served++;
			memset(p, 0xA5, s);
			ptr[n] = p;
			size[n++] = s ? s : 1;
		} else if (n) {
			size_t k = (size_t)(rng_next(g) % n);
			mm_heap_free(h, ptr[k]);
			ptr[k] = ptr[--n];
			size[k] = size[n];
		}
	}
	CHECK_MSG(failed == 0, "adversary %d: %zu of %zu allowed requests failed (%zu lines)", (int)a, failed,
	          failed + served, wl->n);
	CHECK(rec.count == 0 && mm_heap_validate(h));
	free(buf);
}

/* The naive sizing (each class with its own line's count) fails against small blocks first. */
static void naive_fails(void)
{
	workload wl = {2, {{64, 10}, {1024, 10}}};
	mm_heap_config cfg;
	size_t bytes = mm_heap_required_size(wl.w, wl.n, &cfg);
	CHECK(cfg.n_classes == 2 && cfg.classes[0].count == 20 && cfg.classes[1].count == 10);
	/* 20 blocks of 16 bytes: 10 on each line, all in the 64-byte class. */
	static _Alignas(64) unsigned char buf[1 << 16];
	mm_heap_t h = mm_heap_create(buf, bytes, &cfg);
	for (int i = 0; i < 20; i++)
		CHECK(mm_heap_malloc(h, 16) != NULL);
	/* The same order against the naive configuration: the eleventh small block fails. */
	mm_heap_config naive = cfg;
	naive.classes[0].count = 10;
	h = mm_heap_create(buf, sizeof(buf), &naive);
	int ok = 1;
	for (int i = 0; i < 20; i++)
		ok &= mm_heap_malloc(h, 16) != NULL;
	CHECK(!ok);
}

int main(int argc, char **argv)
{
	uint64_t seed = test_seed(argc, argv, 4242);
	rng g = {seed};
	/* Hand-picked workloads: one line; nested lines; many lines of close sizes (merged to 16
	 * classes); a wide spread. */
	workload fixed[] = {
	    {1, {{100, 50}}},
	    {3, {{16, 100}, {256, 20}, {4096, 4}}},
	    {4, {{48, 10}, {48, 5}, {200, 7}, {3000, 2}}},
	    {6, {{1, 1}, {2, 1}, {3, 1}, {17, 2}, {33, 3}, {65, 4}}},
	};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		for (int a = TINY; a <= SWAP; a++)
			attack(&fixed[i], (adversary)a, &g, 4000);
	workload many;
	many.n = 30;
	for (size_t i = 0; i < many.n; i++)
		many.w[i] = (mm_heap_workload){24 + 40 * i, 1 + i % 7};
	mm_heap_config cfg;
	CHECK(mm_heap_required_size(many.w, many.n, &cfg) > 0 && cfg.n_classes <= MM_HEAP_MAX_CLASSES);
	for (int a = TINY; a <= SWAP; a++)
		attack(&many, (adversary)a, &g, 6000);
	/* Random workloads. */
	for (int r = 0; r < 25; r++) {
		workload wl;
		wl.n = 1 + (size_t)(rng_next(&g) % MAX_LINES);
		for (size_t i = 0; i < wl.n; i++)
			wl.w[i] =
			    (mm_heap_workload){1 + (size_t)(rng_next(&g) % 5000), 1 + (size_t)(rng_next(&g) % 20)};
		for (int a = TINY; a <= SWAP; a++)
			attack(&wl, (adversary)a, &g, 3000);
	}
	naive_fails();
	/* Bad input. */
	mm_heap_workload bad[] = {{0, 1}, {10, 0}, {opaque_size(SIZE_MAX), 1}};
	CHECK(mm_heap_required_size(bad, 1, &cfg) == 0 && mm_heap_required_size(bad + 1, 1, &cfg) == 0);
	CHECK(mm_heap_required_size(bad + 2, 1, &cfg) == 0 && mm_heap_required_size(NULL, 1, &cfg) == 0);
	CHECK(mm_heap_required_size(fixed[0].w, 0, &cfg) == 0);
	mm_heap_workload huge[] = {{1 << 20, opaque_size(SIZE_MAX / 2)}};
	CHECK(mm_heap_required_size(huge, 1, &cfg) == 0);
	return check_summary("test_heap_sizing");
}

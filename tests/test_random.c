// SPDX-License-Identifier: MIT
/*
 * test_random.c - a randomized run against a shadow model.
 *
 * The model keeps every live block (pointer, requested size, fill byte). Each step is a malloc,
 * memalign, realloc, free or, rarely, a reset, with sizes from small to large. After each step:
 * alignment, placement inside a pool, no overlap with any live block, usable size >= request;
 * on free and realloc the contents are checked byte for byte. Every 64 steps mm_validate runs, and a
 * walk of the pools must find exactly the model's blocks. When an allocation fails, the walk must
 * show that no free block could have served it (TLSF's good-fit guarantee).
 *
 *   test_random [seed] [steps]      (or MEMOMAN_SEED / MEMOMAN_STEPS)
 */
#include "../src/tlsf_internal.h"
#include "check.h"

#define MAX_LIVE 600

static _Alignas(64) unsigned char arena[1 << 20];
static _Alignas(64) unsigned char arena2[1 << 17];

typedef struct live_block {
	unsigned char *p;
	size_t size;
	unsigned char fill;
} live_block;

static live_block live[MAX_LIVE];
static size_t n_malloc, n_malloc_failed, n_memalign, n_memalign_failed, n_realloc, n_realloc_failed, n_free, n_reset;
static size_t n_live;
static mm_t mm;

static void fill(live_block *b)
{
	for (size_t i = 0; i < b->size; i++)
		b->p[i] = (unsigned char)(b->fill + i);
}

static int contents_ok(const live_block *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b->p[i] != (unsigned char)(b->fill + i))
			return 0;
	return 1;
}

static int overlaps(const unsigned char *p, size_t n, size_t skip)
{
	size_t len = n ? n : 1;
	for (size_t i = 0; i < n_live; i++) {
		if (i == skip)
			continue;
		size_t other = live[i].size ? live[i].size : 1;
		if (p < live[i].p + other && live[i].p < p + len)
			return 1;
	}
	return 0;
}

static void check_new(const unsigned char *p, size_t n, size_t align, size_t skip)
{
	CHECK_MSG(((uintptr_t)p & (align - 1)) == 0 && ((uintptr_t)p & (mm_align_size() - 1)) == 0,
	          "alignment %zu of %p", align, (const void *)p);
	CHECK_MSG(mm_get_pool_for_ptr(mm, p) != NULL, "%p outside the pools", (const void *)p);
	CHECK_MSG(mm_block_size((void *)p) >= n, "usable size %zu < %zu", mm_block_size((void *)p), n);
	CHECK_MSG(!overlaps(p, n, skip), "%p (+%zu) overlaps a live block", (const void *)p, n);
}

/* ---- The walk against the model ----------------------------------------------------------------- */

typedef struct walk_state {
	size_t used, used_bytes, largest_free_stride;
} walk_state;

static void walker(void *ptr, size_t size, int used, void *user)
{
	walk_state *w = (walk_state *)user;
	(void)ptr;
	if (used) {
		w->used++;
		w->used_bytes += size;
	} else if (size + MM_W > w->largest_free_stride) {
		w->largest_free_stride = size + MM_W;
	}
}

static walk_state walk_all(void)
{
	walk_state w = {0, 0, 0};
	mm_walk_pool(mm_get_pool(mm), walker, &w);
	mm_walk_pool((mm_pool_t)arena2, walker, &w);
	return w;
}

static void check_model(void)
{
	walk_state w = walk_all();
	size_t bytes = 0;
	for (size_t i = 0; i < n_live; i++)
		bytes += mm_block_size(live[i].p);
	CHECK_MSG(w.used == n_live && w.used_bytes == bytes, "walk: %zu used (%zu B), model: %zu (%zu B)", w.used,
	          w.used_bytes, n_live, bytes);
}

/* A failed request of `stride` is allowed only if no free block reaches the search class bound. */
static void check_failure(size_t stride)
{
	size_t rounded;
	(void)mm_class_search(stride, &rounded);
	walk_state w = walk_all();
	CHECK_MSG(w.largest_free_stride < rounded, "failed for stride %zu with a free block of %zu", stride,
	          w.largest_free_stride);
}

/* ---- Steps -------------------------------------------------------------------------------------- */

static size_t random_size(rng *g)
{
	unsigned kind = (unsigned)(rng_next(g) % 100);
	if (kind < 60)
		return rng_range(g, 0, 256);
	if (kind < 90)
		return rng_range(g, 257, 4096);
	if (kind < 99)
		return rng_range(g, 4097, 65536);
	return rng_range(g, 65537, 300000);
}

static size_t request_stride_of(size_t n)
{
	size_t s = (n + MM_W + MM_LOW_MASK) & ~MM_LOW_MASK;
	return s < MM_MIN_STRIDE ? MM_MIN_STRIDE : s;
}

static void step(rng *g, size_t i_step)
{
	unsigned op = (unsigned)(rng_next(g) % 100);
	if (op < 40 && n_live < MAX_LIVE) { /* malloc */
		size_t n = random_size(g);
		unsigned char *p = mm_malloc(mm, n);
		n_malloc++;
		if (!p) {
			n_malloc_failed++;
			check_failure(request_stride_of(n));
			return;
		}
		check_new(p, n, 1, SIZE_MAX);
		live_block b = {p, n, (unsigned char)rng_next(g)};
		fill(&b);
		live[n_live++] = b;
	} else if (op < 50 && n_live < MAX_LIVE) { /* memalign */
		size_t align = (size_t)1 << rng_range(g, 0, 13);
		size_t n = random_size(g) / 4;
		unsigned char *p = mm_memalign(mm, align, n);
		n_memalign++;
		if (!p) {
			n_memalign_failed++;
			/* The search asked for the stride plus the worst alignment gap. */
			size_t s = request_stride_of(n);
			check_failure(align <= MM_ALIGN ? s : s + MM_MIN_STRIDE - MM_ALIGN + align);
			return;
		} /* the search adds the worst-case gap; no exact claim to check */
		check_new(p, n, align, SIZE_MAX);
		live_block b = {p, n, (unsigned char)rng_next(g)};
		fill(&b);
		live[n_live++] = b;
	} else if (op < 70 && n_live) { /* realloc */
		size_t i = (size_t)(rng_next(g) % n_live);
		size_t n = rng_next(g) % 4 ? random_size(g) : live[i].size / 2 + 1;
		CHECK_MSG(contents_ok(&live[i], live[i].size), "contents damaged before realloc (step %zu)", i_step);
		unsigned char *p = mm_realloc(mm, live[i].p, n);
		n_realloc++;
		if (n == 0) { /* realloc(p, 0) frees p and returns NULL */
			CHECK(p == NULL);
			live[i] = live[--n_live];
			return;
		}
		if (!p) {
			n_realloc_failed++;
			CHECK(contents_ok(&live[i], live[i].size)); /* failed: untouched */
			check_failure(request_stride_of(n));        /* a move would have found such a block */
			return;
		}
		size_t keep = n < live[i].size ? n : live[i].size;
		live[i].p = p;
		CHECK_MSG(contents_ok(&live[i], keep), "realloc lost contents (step %zu)", i_step);
		check_new(p, n, 1, i);
		live[i].size = n;
		fill(&live[i]);
	} else if (op < 99 && n_live) { /* free */
		size_t i = (size_t)(rng_next(g) % n_live);
		CHECK_MSG(contents_ok(&live[i], live[i].size), "contents damaged before free (step %zu)", i_step);
		mm_free(mm, live[i].p);
		n_free++;
		live[i] = live[--n_live];
	} else if (op == 99 && rng_next(g) % 20 == 0) { /* rare: reset */
		CHECK(mm_reset(mm));
		n_reset++;
		n_live = 0;
	}
}

int main(int argc, char **argv)
{
	uint64_t seed = test_seed(argc, argv, 20261121);
	const char *s = argc > 2 ? argv[2] : getenv("MEMOMAN_STEPS");
	size_t steps = s ? (size_t)strtoull(s, NULL, 0) : 300000;
	rng g = {seed};

	mm = mm_create_with_pool(arena, sizeof(arena));
	recorded_errors rec;
	record_errors(mm, &rec);
	CHECK(mm_add_pool(mm, arena2, sizeof(arena2)) != NULL);
	for (size_t i = 0; i < steps && check_failures < 20; i++) {
		step(&g, i);
		if (i % 64 == 0) {
			CHECK_MSG(mm_validate(mm), "invalid heap after step %zu (seed %llu)", i,
			          (unsigned long long)seed);
			check_model();
		}
	}
	printf("%zu malloc (%zu failed), %zu memalign (%zu failed), %zu realloc (%zu failed), %zu free, %zu reset\n",
	       n_malloc, n_malloc_failed, n_memalign, n_memalign_failed, n_realloc, n_realloc_failed, n_free, n_reset);
	while (n_live) {
		CHECK(contents_ok(&live[n_live - 1], live[n_live - 1].size));
		mm_free(mm, live[--n_live].p);
	}
	CHECK(mm_validate(mm));
	CHECK(rec.count == 0);
	/* Everything freed: each pool is whole again. */
	CHECK(mm_malloc(mm, sizeof(arena) - mm_size() - mm_pool_overhead()) != NULL);
	CHECK(mm_malloc(mm, sizeof(arena2) - mm_pool_overhead()) != NULL);
	return check_summary("test_random");
}

// SPDX-License-Identifier: MIT
/*
 * test_fixed.c - fixed-size pools: creation and sizing, every mode (checked, unchecked, lock-free with
 * and without the bitmap), misuse with the exact error,
 * observation (hooks, lock callbacks), and a randomized run against a shadow model whose statistics
 * must equal the pool's at every step.
 *
 *   test_fixed [seed] [steps]
 */
#include "../src/fixed_internal.h"
#include "check.h"

static _Alignas(64) unsigned char arena[1 << 20];

/* modes[0] is the only one that checks nothing; the rest catch foreign and interior pointers. */
static const unsigned modes[] = {MM_FIXED_UNCHECKED, MM_FIXED_BITMAP, MM_FIXED_LOCKFREE | MM_FIXED_UNCHECKED,
                                 MM_FIXED_LOCKFREE, 0};

/* ---- Creation and sizing ------------------------------------------------------------------------ */

static void test_create(void)
{
	CHECK(mm_fixed_create(NULL, 4096, 32, 0, 0) == NULL);
	CHECK(mm_fixed_create(arena + 1, 4096, 32, 0, 0) == NULL);
	CHECK(mm_fixed_create(arena, 4096, 32, 24, 0) == NULL); /* align not a power of two */
	CHECK(mm_fixed_create(arena, 4096, 32, 0, 0x80) == NULL);
	CHECK(mm_fixed_create(arena, 16, 32, 0, 0) == NULL); /* not even the control */
	CHECK(mm_fixed_create(arena, 4096, opaque_size(SIZE_MAX - 3), 0, 0) == NULL);
	CHECK(mm_fixed_size(0, 32, 0, 0) == 0 && mm_fixed_size(10, 32, 3, 0) == 0 &&
	      mm_fixed_size(10, 32, 0, 0x80) == 0);
	CHECK(mm_fixed_size(opaque_size(SIZE_MAX / 8), 64, 0, 0) == 0);
	/* The lock-free mode where the hardware has a compare-and-swap for it, up to its index's limit;
	 * refused (MM_ERR_BAD_ARGUMENT) where it has none. */
#if MM_LOCKFREE_TOP_BITS
	if (MM_LF_CAPACITY_MAX <= SIZE_MAX / 64) { /* not 2^32 - 2 blocks on a 32-bit target */
		CHECK(mm_fixed_size(MM_LF_CAPACITY_MAX, 8, 0, MM_FIXED_LOCKFREE) != 0);
		CHECK(mm_fixed_size(MM_LF_CAPACITY_MAX + 1, 8, 0, MM_FIXED_LOCKFREE) == 0);
	}
	CHECK(mm_fixed_create_error(arena, 4096, 32, 0, MM_FIXED_LOCKFREE) == MM_OK);
#else
	CHECK(mm_fixed_size(8, 32, 0, MM_FIXED_LOCKFREE) == 0);
	CHECK(mm_fixed_create_error(arena, 4096, 32, 0, MM_FIXED_LOCKFREE) == MM_ERR_BAD_ARGUMENT);
	CHECK(mm_fixed_create(arena, 4096, 32, 0, MM_FIXED_LOCKFREE) == NULL);
#endif
	CHECK(mm_fixed_capacity(NULL) == 0 && mm_fixed_available(NULL) == 0 && mm_fixed_alloc(NULL) == NULL);
	mm_fixed_free(NULL, NULL);

	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		for (size_t bs = 1; bs < 300; bs = bs * 3 + 1) {
			for (size_t align = 0; align <= 256; align = align ? align * 4 : 1) {
				for (size_t count = 1; count < 200; count = count * 5 + 2) {
					size_t need = mm_fixed_size(count, bs, align, modes[m]);
					CHECK(need > 0);
					mm_fixed_t p = mm_fixed_create(arena, need, bs, align, modes[m]);
					CHECK_MSG(p && mm_fixed_capacity(p) >= count,
					          "mode %u size %zu align %zu count %zu: capacity %zu", modes[m], bs,
					          align, count, mm_fixed_capacity(p));
					size_t a = align ? align : mm_align_size();
#if MM_CHECKS >= 3 /* the size asked for (1 for 0): the canary follows it */
					CHECK(mm_fixed_block_size(p) == (bs ? bs : 1));
#else
					CHECK(mm_fixed_block_size(p) >= bs && mm_fixed_block_size(p) % a == 0);
#endif
					/* Every block inside the memory given, aligned, distinct. */
					unsigned char *prev = NULL;
					for (size_t i = 0; i < mm_fixed_capacity(p); i++) {
						unsigned char *b = mm_fixed_alloc(p);
						CHECK(b && ((uintptr_t)b & (a - 1)) == 0 && b >= arena &&
						      b + mm_fixed_block_size(p) <= arena + need && b > prev);
						prev = b;
					}
					CHECK(mm_fixed_alloc(p) == NULL && mm_fixed_validate(p));
				}
			}
		}
	}
	/* With mem aligned to mm_align_size() and align no larger, mm_fixed_size is exact. */
	size_t need = mm_fixed_size(100, 48, 0, MM_FIXED_BITMAP);
	CHECK(mm_fixed_capacity(mm_fixed_create(arena, need, 48, 0, MM_FIXED_BITMAP)) == 100);
	CHECK(mm_fixed_capacity(mm_fixed_create(arena, need - 1, 48, 0, MM_FIXED_BITMAP)) == 99);
}

/* ---- Basic use ------------------------------------------------------------------------------------ */

static void test_use(void)
{
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		mm_fixed_t p = mm_fixed_create(arena, mm_fixed_size(64, 40, 0, modes[m]), 40, 0, modes[m]);
		CHECK(p && mm_fixed_capacity(p) == 64 && mm_fixed_available(p) == 64);
		void *b[64];
		for (int i = 0; i < 64; i++) {
			b[i] = mm_fixed_alloc(p);
			CHECK(b[i] && mm_fixed_owns(p, b[i]));
			memset(b[i], i, mm_fixed_block_size(p));
		}
		CHECK(mm_fixed_available(p) == 0 && mm_fixed_alloc(p) == NULL);
		CHECK(!mm_fixed_owns(p, (char *)b[3] + 1) && !mm_fixed_owns(p, arena) && !mm_fixed_owns(p, &p));
		for (int i = 0; i < 64; i += 2)
			mm_fixed_free(p, b[i]);
		CHECK(mm_fixed_available(p) == 32 && mm_fixed_validate(p));
		for (int i = 1; i < 64; i += 2) {
			unsigned char *c = b[i];
			CHECK(c[0] == (unsigned char)i && c[mm_fixed_block_size(p) - 1] == (unsigned char)i);
		}
		/* Recycled blocks come back (the most recently freed first in the default mode). */
		void *again = mm_fixed_alloc(p);
		CHECK(again && (modes[m] & MM_FIXED_LOCKFREE || again == b[62]));
		mm_fixed_free(p, again);
		mm_fixed_free(p, NULL);
		mm_fixed_reset(p);
		CHECK(mm_fixed_available(p) == 64 && mm_fixed_validate(p));
		for (int i = 0; i < 64; i++)
			CHECK(mm_fixed_alloc(p) != NULL);
		mm_fixed_destroy(p);
		CHECK(!mm_fixed_validate(p));
		mm_stats st;
		CHECK(!mm_get_stats(p, &st)); /* destroyed: not an instance any more */
	}
}

/* ---- Misuse: the bitmap and lock-free modes catch it, with the exact error ------------------------ */

static void test_misuse(void)
{
	for (size_t m = 1; m < sizeof(modes) / sizeof(modes[0]); m++) {
		unsigned mode = modes[m];
		size_t need = mm_fixed_size(16, 64, 0, mode);
		mm_fixed_t p = mm_fixed_create(arena, need, 64, 0, mode);
		recorded_errors rec;
		record_errors(p, &rec);
		unsigned char *a = mm_fixed_alloc(p), *b = mm_fixed_alloc(p);
		int local;
		mm_fixed_free(p, &local);
		CHECK(take_error(&rec) == MM_ERR_INVALID_POINTER);
		mm_fixed_free(p, a + 8);
		CHECK(take_error(&rec) == MM_ERR_INTERIOR_POINTER);
		mm_fixed_free(p, a + need); /* past the last block */
		CHECK(take_error(&rec) == MM_ERR_INVALID_POINTER);
		mm_fixed_free(p, a);
		CHECK(rec.count == 0);
		mm_fixed_free(p, a);
		if (!(mode & MM_FIXED_UNCHECKED)) {
			CHECK(take_error(&rec) == MM_ERR_DOUBLE_FREE);
			/* A block start never handed out is not a pointer the pool returned (the stride is
			 * the distance between the first two blocks: 64, or more at the hardened level). */
			mm_fixed_free(p, b + (b - a) * 5);
			CHECK(take_error(&rec) == MM_ERR_INVALID_POINTER);
			CHECK(mm_fixed_validate(p));
			CHECK(mm_fixed_available(p) == 15);
		} else {
			take_error(&rec); /* lock-free without a bitmap: a double free is not caught */
		}
		(void)b;
	}
}

/* ---- Observation: hooks and a lock on a pool ------------------------------------------------------ */

typedef struct hook_log {
	int allocs, frees, locks, unlocks, depth;
	void *last;
} hook_log;

static void on_alloc(void *user, void *ptr, size_t size)
{
	hook_log *l = (hook_log *)user;
	l->allocs++;
	l->last = ptr;
	CHECK(l->depth == 1); /* inside the lock */
	(void)size;
}

static void on_free(void *user, void *ptr)
{
	hook_log *l = (hook_log *)user;
	l->frees++;
	l->last = ptr;
	CHECK(l->depth == 1);
}

static void lock_fn(void *user)
{
	hook_log *l = (hook_log *)user;
	l->locks++;
	l->depth++;
}

static void unlock_fn(void *user)
{
	hook_log *l = (hook_log *)user;
	l->unlocks++;
	l->depth--;
}

static void test_observe(void)
{
	mm_fixed_t p = mm_fixed_create(arena, mm_fixed_size(8, 32, 0, 0), 32, 0, 0);
	hook_log log = {0, 0, 0, 0, 0, NULL};
	mm_set_hooks(p, on_alloc, on_free, &log);
	CHECK(mm_set_lock(p, lock_fn, unlock_fn, &log));
	CHECK(!mm_set_lock(p, lock_fn, NULL, &log)); /* both or neither */
	void *a = mm_fixed_alloc(p);
	CHECK(log.allocs == 1 && log.last == a && log.locks == 1 && log.unlocks == 1);
	mm_fixed_free(p, a);
	CHECK(log.frees == 1 && log.last == a && log.locks == 2 && log.depth == 0);
	for (int i = 0; i < 9; i++)
		(void)mm_fixed_alloc(p); /* the ninth fails: the hook sees NULL */
	CHECK(log.allocs == 10 && log.last == NULL);
	mm_set_hooks(p, NULL, NULL, NULL);
	CHECK(mm_set_lock(p, NULL, NULL, NULL));
	mm_fixed_reset(p);
	(void)mm_fixed_alloc(p);
	CHECK(log.allocs == 10 && log.locks == 11);
	/* Hooks see only what the pool took back: a refused free (bitmap mode) calls no free hook. */
	mm_fixed_t bp = mm_fixed_create(arena, mm_fixed_size(8, 32, 0, MM_FIXED_BITMAP), 32, 0, MM_FIXED_BITMAP);
	hook_log blog = {0, 0, 0, 0, 0, NULL};
	recorded_errors brec;
	record_errors(bp, &brec);
	mm_set_hooks(bp, on_alloc, on_free, &blog);
	CHECK(mm_set_lock(bp, lock_fn, unlock_fn, &blog));
	void *x = mm_fixed_alloc(bp);
	mm_fixed_free(bp, x);
	mm_fixed_free(bp, x);                      /* a double free */
	mm_fixed_free(bp, (unsigned char *)x + 1); /* an interior pointer */
	mm_fixed_free(bp, (void *)&blog);          /* a foreign one */
	mm_stats bst;
	CHECK(blog.frees == 1 && mm_get_stats(bp, &bst) && bst.frees == 1 && brec.count == 3);
	/* A lock-free pool refuses a lock and cycle tracking (its threads would race on them). */
	mm_fixed_t lf = mm_fixed_create(arena, mm_fixed_size(8, 32, 0, MM_FIXED_LOCKFREE), 32, 0, MM_FIXED_LOCKFREE);
	CHECK(!mm_set_lock(lf, lock_fn, unlock_fn, &log) && !mm_use_builtin_lock(lf) && !mm_track_cycles(lf, 1));
}

/* ---- Randomized run against a shadow model --------------------------------------------------------- */

#define MAX_BLOCKS 256

typedef struct model {
	void *live[MAX_BLOCKS];
	size_t n_live, peak;
	uint64_t allocs, frees, failures;
} model;

static void compare(mm_fixed_t p, const model *md, size_t step)
{
	mm_stats s;
	CHECK(mm_get_stats(p, &s));
	size_t bs = mm_fixed_block_size(p), cap = mm_fixed_capacity(p);
	/* The bytes count blocks' strides: the block size, and at the hardened level (MM_CHECKS=3)
	 * the canary's word and padding too. */
	size_t stride = MM_CHECKS >= 3 ? s.capacity / cap : bs;
	int same = s.capacity == cap * stride && s.in_use == md->n_live * stride &&
	           s.peak_in_use == md->peak * stride && s.free == (cap - md->n_live) * stride &&
	           s.blocks_in_use == md->n_live && s.allocs == md->allocs && s.frees == md->frees &&
	           s.failures == md->failures && s.largest_free == (md->n_live < cap ? bs : 0) &&
	           s.fragmentation == 0 && mm_fixed_available(p) == cap - md->n_live;
	CHECK_MSG(same,
	          "statistics differ from the model at step %zu: allocs %llu/%llu frees %llu/%llu failures %llu/%llu "
	          "in use %zu/%zu peak %zu/%zu largest %zu",
	          step, (unsigned long long)s.allocs, (unsigned long long)md->allocs, (unsigned long long)s.frees,
	          (unsigned long long)md->frees, (unsigned long long)s.failures, (unsigned long long)md->failures,
	          s.blocks_in_use, md->n_live, s.peak_in_use / bs, md->peak, s.largest_free);
}

static void random_run(unsigned mode, rng *g, size_t steps)
{
	size_t cap = 1 + (size_t)(rng_next(g) % MAX_BLOCKS);
	size_t bs = 1 + (size_t)(rng_next(g) % 200);
	mm_fixed_t p = mm_fixed_create(arena, mm_fixed_size(cap, bs, 0, mode), bs, 0, mode);
	CHECK(p != NULL && mm_fixed_capacity(p) == cap);
	if (!p)
		return;
	model md;
	memset(&md, 0, sizeof(md));
	for (size_t i = 0; i < steps; i++) {
		unsigned op = (unsigned)(rng_next(g) % 100);
		if (op < 50) {
			unsigned char *b = mm_fixed_alloc(p);
			if (md.n_live == cap) {
				CHECK(b == NULL);
				md.failures++;
			} else {
				CHECK(b != NULL && mm_fixed_owns(p, b));
				for (size_t k = 0; b && k < md.n_live; k++)
					CHECK(md.live[k] != b);
				if (b) {
					memset(b, (int)(md.n_live & 0xFF), mm_fixed_block_size(p));
					md.live[md.n_live++] = b;
					md.allocs++;
					if (md.n_live > md.peak)
						md.peak = md.n_live;
				}
			}
		} else if (op < 97 && md.n_live) {
			size_t k = (size_t)(rng_next(g) % md.n_live);
			mm_fixed_free(p, md.live[k]);
			md.live[k] = md.live[--md.n_live];
			md.frees++;
		} else if (op == 97) {
			/* The counters restart; in use and the peak stay. */
			mm_reset_stats(p);
			md.allocs = md.frees = md.failures = 0;
		} else if (op == 98 && rng_next(g) % 8 == 0) {
			mm_fixed_reset(p);
			md.frees += md.n_live;
			md.n_live = 0;
		}
		compare(p, &md, i);
		if (i % 64 == 0)
			CHECK(mm_fixed_validate(p));
	}
}

int main(int argc, char **argv)
{
	uint64_t seed = test_seed(argc, argv, 77);
	const char *s = argc > 2 ? argv[2] : getenv("MEMOMAN_STEPS");
	size_t steps = s ? (size_t)strtoull(s, NULL, 0) : 4000;
	test_create();
	test_use();
	test_misuse();
	test_observe();
	rng g = {seed};
	for (int r = 0; r < 40 && check_failures < 10; r++)
		random_run(modes[r % 4], &g, steps);
	return check_summary("test_fixed");
}

// SPDX-License-Identifier: MIT
/*
 * test_api.c - the mm_* API on ordinary input: creation, limits, malloc/memalign/realloc/free
 * contracts, block sizes, walking, reset and the error record.
 */
#include "../src/tlsf_internal.h"
#include "check.h"

static _Alignas(64) unsigned char arena[1 << 22];
static _Alignas(64) unsigned char arena2[1 << 16];

/* ---- Constants ---------------------------------------------------------------------------------- */

static void test_constants(void)
{
	CHECK(mm_align_size() == (size_t)MM_ALIGNMENT);
	CHECK(mm_alloc_overhead() == sizeof(size_t));
	CHECK(mm_size() >= sizeof(struct mm_control) && mm_size() % mm_align_size() == 0);
	CHECK(mm_block_size_min() >= 3 * sizeof(void *));
	CHECK((mm_block_size_min() + mm_alloc_overhead()) % mm_align_size() == 0);
	CHECK((mm_block_size_max() + mm_alloc_overhead()) % mm_align_size() == 0);
	CHECK(mm_block_size_max() < ((size_t)1 << MM_FL_INDEX_MAX));
	CHECK(mm_pool_overhead() >= 3 * sizeof(size_t) && mm_pool_overhead() <= 2 * mm_align_size() + sizeof(size_t));
}

/* ---- Creation ----------------------------------------------------------------------------------- */

static void test_create(void)
{
	CHECK(mm_create(NULL) == NULL);
	CHECK(mm_create(arena + 1) == NULL);
	CHECK(mm_create_with_pool(NULL, sizeof(arena)) == NULL);
	CHECK(mm_create_with_pool(arena + 1, sizeof(arena) - 1) == NULL);
	CHECK(mm_create_with_pool(arena, mm_size()) == NULL); /* no room for a pool */
	CHECK(mm_create_with_pool(arena, 0) == NULL);
	CHECK(mm_create_with_pool(arena, mm_size() + mm_pool_overhead() + mm_block_size_min() - 1) == NULL);

	/* The smallest instance with a pool: exactly one minimum block. */
	mm_t mm = mm_create_with_pool(arena, mm_size() + mm_pool_overhead() + mm_block_size_min());
	CHECK(mm != NULL);
	CHECK(mm_validate(mm));
	void *p = mm_malloc(mm, mm_block_size_min());
	CHECK(p != NULL);
	CHECK(mm_malloc(mm, 1) == NULL);
	mm_free(mm, p);
	CHECK(mm_validate(mm));

	/* Control only, then pools. */
	mm = mm_create(arena);
	CHECK(mm != NULL && mm_validate(mm));
	CHECK(mm_get_pool(mm) == NULL);
	CHECK(mm_malloc(mm, 16) == NULL); /* no pool yet */
	mm_pool_t pool = mm_add_pool(mm, arena + mm_size(), 4096);
	CHECK(pool == (mm_pool_t)(arena + mm_size()));
	CHECK(mm_get_pool(mm) == pool); /* TLSF: the pool right after the control */
	CHECK(mm_malloc(mm, 16) != NULL);
	CHECK(mm_validate(mm));

	/* In place, from a buffer of any alignment. */
	for (size_t off = 0; off < 16; off++) {
		mm = mm_init_in_place(arena + off, 65536);
		CHECK(mm != NULL);
		CHECK(((uintptr_t)mm & (mm_align_size() - 1)) == 0);
		CHECK((unsigned char *)mm >= arena + off);
		void *q = mm_malloc(mm, 1000);
		CHECK(q != NULL && (unsigned char *)q + 1000 <= arena + off + 65536);
		CHECK(mm_get_pool(mm) != NULL);
		CHECK(mm_validate(mm));
	}
	CHECK(mm_init_in_place(NULL, 65536) == NULL);
	CHECK(mm_init_in_place(arena + 3, 100) == NULL);

	/* Destroy: the instance is no longer valid. */
	mm = mm_create_with_pool(arena, sizeof(arena));
	CHECK(mm_validate(mm));
	mm_destroy(mm);
	CHECK(!mm_validate(mm));
	mm_destroy(NULL);
	CHECK(!mm_validate(NULL));
	CHECK(mm_check(NULL) != 0);
}

/* ---- malloc / free ------------------------------------------------------------------------------ */

static void test_malloc(void)
{
	mm_t mm = mm_create_with_pool(arena, sizeof(arena));
	CHECK(mm != NULL);
	CHECK(mm_malloc(NULL, 16) == NULL);

	/* Every size up to 2 KiB: aligned, at least as large as asked, inside the arena, writable. */
	void *ptrs[2049];
	for (size_t n = 0; n <= 2048; n++) {
		void *p = mm_malloc(mm, n);
		ptrs[n] = p;
		CHECK(p != NULL);
		if (!p)
			continue;
		CHECK(((uintptr_t)p & (mm_align_size() - 1)) == 0);
		CHECK(mm_block_size(p) >= n && mm_block_size(p) >= mm_block_size_min());
		/* At most one class step of rounding: (stride) / MM_SL_COUNT above a power of two. */
		CHECK(mm_block_size(p) < n + mm_block_size_min() + mm_align_size() + (n + 8) / MM_SL_COUNT);
		CHECK((unsigned char *)p >= arena && (unsigned char *)p + n <= arena + sizeof(arena));
		memset(p, (int)(n & 0xFF), n);
	}
	CHECK(mm_validate(mm));
	for (size_t n = 0; n <= 2048; n++) {
		unsigned char *p = ptrs[n];
		int intact = 1;
		for (size_t i = 0; i < n; i++)
			intact &= p[i] == (unsigned char)(n & 0xFF);
		CHECK_MSG(intact, "contents of block %zu", n);
	}
	for (size_t n = 0; n <= 2048; n += 2)
		mm_free(mm, ptrs[n]);
	CHECK(mm_validate(mm));
	for (size_t n = 1; n <= 2048; n += 2)
		mm_free(mm, ptrs[n]);
	CHECK(mm_validate(mm));

	/* malloc(0): a unique minimum block each time. */
	void *z1 = mm_malloc(mm, 0), *z2 = mm_malloc(mm, 0);
	CHECK(z1 && z2 && z1 != z2);
	CHECK(mm_block_size(z1) == mm_block_size_min());
	mm_free(mm, z1);
	mm_free(mm, z2);
	mm_free(mm, NULL); /* nothing */
	CHECK(mm_block_size(NULL) == 0);

	/* The whole pool in one block, and not a byte more. */
	size_t whole = sizeof(arena) - mm_size() - mm_pool_overhead();
	CHECK(mm_malloc(mm, whole + 1) == NULL);
	void *all = mm_malloc(mm, whole);
	CHECK(all != NULL);
	CHECK(mm_block_size(all) == whole);
	CHECK(mm_malloc(mm, 0) == NULL);
	mm_free(mm, all);
	CHECK(mm_validate(mm));

	/* Free, then the same size again: always served (TLSF 3.1 can fail this). */
	for (size_t n = 1; n < 70000; n = n * 3 + 7) {
		void *a = mm_malloc(mm, n);
		void *fence = mm_malloc(mm, 1);
		CHECK(a && fence);
		mm_free(mm, a);
		void *b = mm_malloc(mm, n);
		CHECK(b != NULL);
		mm_free(mm, b);
		mm_free(mm, fence);
	}
	CHECK(mm_validate(mm));
}

/* ---- memalign ----------------------------------------------------------------------------------- */

static void test_memalign(void)
{
	mm_t mm = mm_create_with_pool(arena, sizeof(arena));
	CHECK(mm_memalign(NULL, 64, 16) == NULL);
	/* Not a power of two: NULL, and reported as a bad argument. */
	recorded_errors r;
	record_errors(mm, &r);
	CHECK(mm_memalign(mm, opaque_size(0), 16) == NULL);
	CHECK(take_error(&r) == MM_ERR_BAD_ARGUMENT);
	CHECK(mm_memalign(mm, opaque_size(3), 16) == NULL);
	CHECK(take_error(&r) == MM_ERR_BAD_ARGUMENT);
	CHECK(mm_memalign(mm, opaque_size(48), 16) == NULL);
	CHECK(take_error(&r) == MM_ERR_BAD_ARGUMENT);
	CHECK(mm_memalign(mm, opaque_size(SIZE_MAX), 16) == NULL);
	CHECK(take_error(&r) == MM_ERR_BAD_ARGUMENT);
	CHECK(mm_memalign(mm, opaque_size(((size_t)1 << (sizeof(size_t) * 8 - 1)) + 1), 16) == NULL);
	CHECK(take_error(&r) == MM_ERR_BAD_ARGUMENT);
	mm_set_error_handler(mm, NULL, NULL);

	void *keep[64];
	size_t nkeep = 0;
	for (size_t align = 1; align <= (size_t)1 << 17; align <<= 1) {
		for (size_t n = 0; n < 600; n += 97) {
			void *p = mm_memalign(mm, align, n);
			CHECK_MSG(p != NULL, "memalign(%zu, %zu)", align, n);
			if (!p)
				continue;
			CHECK(((uintptr_t)p & (align - 1)) == 0);
			CHECK(((uintptr_t)p & (mm_align_size() - 1)) == 0);
			CHECK(mm_block_size(p) >= n);
			memset(p, 0x5A, n);
			if (n == 97 && nkeep < 64)
				keep[nkeep++] = p; /* kept live so later calls see a fragmented pool */
			else
				mm_free(mm, p);
		}
		CHECK(mm_validate(mm));
	}
	/* Alignments too large for the pool fail cleanly. */
	CHECK(mm_memalign(mm, (size_t)1 << 22, 16) == NULL);
	CHECK(mm_memalign(mm, (size_t)1 << 30, 16) == NULL);
	for (size_t i = 0; i < nkeep; i++)
		mm_free(mm, keep[i]);
	CHECK(mm_validate(mm));
	/* Everything coalesced back: the whole pool is one block again. */
	CHECK(mm_malloc(mm, sizeof(arena) - mm_size() - mm_pool_overhead()) != NULL);
}

/* ---- realloc ------------------------------------------------------------------------------------ */

static void fill(void *p, size_t n, unsigned char seed)
{
	for (size_t i = 0; i < n; i++)
		((unsigned char *)p)[i] = (unsigned char)(seed + i * 7);
}

static int filled(const void *p, size_t n, unsigned char seed)
{
	for (size_t i = 0; i < n; i++)
		if (((const unsigned char *)p)[i] != (unsigned char)(seed + i * 7))
			return 0;
	return 1;
}

static void test_realloc(void)
{
	mm_t mm = mm_create_with_pool(arena, sizeof(arena));
	recorded_errors rec;
	record_errors(mm, &rec);

	/* NULL pointer: malloc. Zero size: free, NULL. */
	void *p = mm_realloc(mm, NULL, 100);
	CHECK(p != NULL && mm_block_size(p) >= 100);
	CHECK(mm_realloc(mm, p, 0) == NULL);
	CHECK(mm_validate(mm));
	CHECK(rec.count == 0);
	p = mm_realloc(mm, NULL, 0); /* malloc(0) */
	CHECK(p != NULL);
	mm_free(mm, p);

	/* Shrink in place; the tail returns to the pool. */
	p = mm_malloc(mm, 4000);
	void *fence = mm_malloc(mm, 16);
	fill(p, 4000, 1);
	void *q = mm_realloc(mm, p, 100);
	CHECK(q == p && filled(q, 100, 1));
	CHECK(mm_block_size(q) < 4000 && mm_block_size(q) >= 100);
	CHECK(mm_validate(mm));
	/* Grow in place into the freed tail. */
	q = mm_realloc(mm, p, 3000);
	CHECK(q == p && filled(q, 100, 1));
	CHECK(mm_validate(mm));
	/* Grow past the fence: the block moves, contents kept. */
	fill(q, 3000, 2);
	void *r = mm_realloc(mm, q, 10000);
	CHECK(r != NULL && r != q && filled(r, 3000, 2));
	CHECK(mm_validate(mm));
	/* Same size: same pointer. */
	CHECK(mm_realloc(mm, r, 10000) == r && filled(r, 3000, 2));
	/* Too large: NULL, block intact. */
	CHECK(mm_realloc(mm, r, sizeof(arena)) == NULL);
	CHECK(filled(r, 3000, 2));
	CHECK(mm_realloc(mm, r, opaque_size(SIZE_MAX)) == NULL);
	CHECK(filled(r, 3000, 2) && mm_validate(mm));
	mm_free(mm, r);
	mm_free(mm, fence);
	CHECK(mm_validate(mm));

	/* Growing into the free space before the block when nothing else fits: a free block A before
	 * B, too small alone, the rest of the pool taken. */
	static _Alignas(64) unsigned char small_pool[1 << 14];
	for (int next_free = 0; next_free <= 1; next_free++) {
		mm_t pm = mm_create(arena); /* the control apart, the pool exactly small_pool */
		CHECK(mm_add_pool(pm, small_pool, sizeof(small_pool)) != NULL);
		record_errors(pm, &rec);
		unsigned char *pa = mm_malloc(pm, 6000), *pb = mm_malloc(pm, 1000), *pn = mm_malloc(pm, 900);
		void *pc = mm_malloc(pm, 16);
		CHECK(pa && pb && pn && pc);
		void *t;
		while ((t = mm_malloc(pm, 64)) != NULL)
			; /* nothing else is free */
		mm_free(pm, pa);
		if (next_free)
			mm_free(pm, pn);
		fill(pb, 1000, 3);
		/* A alone is too small for 6500 and nothing else is free: only A + B (+ N) together fit. */
		unsigned char *pr = mm_realloc(pm, pb, 6500);
		CHECK(pr == pa && filled(pr, 1000, 3) && mm_block_size(pr) >= 6500);
		CHECK(mm_validate(pm));
		if (next_free) {
			pr = mm_realloc(pm, pr, 7500); /* in place now: A + B + N */
			CHECK(pr == pa && filled(pr, 1000, 3) && mm_block_size(pr) >= 7500 && mm_validate(pm));
		} else {
			/* A + B cannot hold 7100: NULL, the block intact. */
			CHECK(mm_realloc(pm, pr, 7100) == NULL && filled(pr, 1000, 3) && mm_validate(pm));
		}
		CHECK(rec.count == 0);
	}
	mm = mm_create_with_pool(arena, sizeof(arena));
	record_errors(mm, &rec);

	/* Random resizes of one block keep its prefix. */
	p = mm_malloc(mm, 1);
	size_t size = 1;
	fill(p, 1, 9);
	rng g = {42};
	for (int i = 0; i < 2000; i++) {
		size_t n = rng_range(&g, 1, 20000);
		void *np = mm_realloc(mm, p, n);
		CHECK(np != NULL);
		if (!np)
			break;
		size_t keep = size < n ? size : n;
		CHECK(filled(np, keep, 9));
		fill(np, n, 9);
		p = np;
		size = n;
	}
	mm_free(mm, p);
	CHECK(mm_validate(mm));
}

/* ---- walk, reset, pool lookup ------------------------------------------------------------------- */

typedef struct walk_count {
	size_t used, free, bytes;
} walk_count;

static void counter(void *ptr, size_t size, int used, void *user)
{
	walk_count *w = (walk_count *)user;
	(void)ptr;
	if (used)
		w->used++;
	else
		w->free++;
	w->bytes += size + mm_alloc_overhead();
}

static void test_walk_reset(void)
{
	mm_t mm = mm_create_with_pool(arena, sizeof(arena));
	mm_pool_t pool = mm_get_pool(mm);
	CHECK(pool == (mm_pool_t)(arena + mm_size()));
	void *p[10];
	for (int i = 0; i < 10; i++)
		p[i] = mm_malloc(mm, 100 * (size_t)(i + 1));
	mm_free(mm, p[3]);
	mm_free(mm, p[7]);
	walk_count w = {0, 0, 0};
	mm_walk_pool(pool, counter, &w);
	CHECK(w.used == 8 && w.free == 3); /* two holes and the tail */
	CHECK(w.bytes == sizeof(arena) - mm_size() - mm_pool_overhead() + mm_alloc_overhead());
	mm_walk_pool(NULL, counter, &w);
	CHECK(mm_validate_pool(pool) && mm_check_pool(pool) == 0 && mm_check(mm) == 0);
	CHECK(!mm_validate_pool(NULL));

	CHECK(mm_get_pool_for_ptr(mm, p[0]) == pool);
	CHECK(mm_get_pool_for_ptr(mm, arena + sizeof(arena) - 1) == pool);
	CHECK(mm_get_pool_for_ptr(mm, arena) == NULL); /* the control structure */
	CHECK(mm_get_pool_for_ptr(mm, arena2) == NULL);
	CHECK(mm_get_pool_for_ptr(mm, NULL) == NULL);
	CHECK(mm_get_pool_for_ptr(NULL, p[0]) == NULL);

	/* A second pool, then reset: every pool is one free block again. */
	mm_pool_t pool2 = mm_add_pool(mm, arena2, sizeof(arena2));
	CHECK(pool2 != NULL);
	void *q = mm_malloc(mm, 60000); /* from either pool; reset must free it wherever it is */
	CHECK(q != NULL);
	CHECK(mm_reset(mm) == 1);
	CHECK(mm_reset(NULL) == 0);
	CHECK(mm_validate(mm));
	w.used = w.free = w.bytes = 0;
	mm_walk_pool(pool, counter, &w);
	CHECK(w.used == 0 && w.free == 1);
	w.used = w.free = w.bytes = 0;
	mm_walk_pool(pool2, counter, &w);
	CHECK(w.used == 0 && w.free == 1);
	/* Both pools whole again. */
	CHECK(mm_malloc(mm, sizeof(arena) - mm_size() - mm_pool_overhead()) != NULL);
	CHECK(mm_malloc(mm, sizeof(arena2) - mm_pool_overhead()) != NULL);
	CHECK(mm_validate(mm));
	/* The default walker prints; it must walk the same blocks without crashing. */
	mm_walk_pool(pool2, NULL, NULL);
}

static void test_errors_record(void)
{
	mm_t mm = mm_create_with_pool(arena, sizeof(arena));
	CHECK(mm_last_error(mm) == MM_OK);
	CHECK(mm_last_error(NULL) == MM_OK);
#if !MM_DEBUG && MM_CHECKS >= 1
	/* Without a handler the bad call is refused and recorded. */
	int local;
	mm_free(mm, &local);
	CHECK(mm_last_error(mm) == MM_ERR_INVALID_POINTER);
	CHECK(mm_last_error(mm) == MM_OK); /* reading clears */
#endif
	for (int e = MM_OK; e <= MM_ERR_WRITE_AFTER_FREE; e++) {
		const char *s = mm_error_string((mm_error_t)e);
		CHECK(s != NULL && s[0] != 0 && strcmp(s, "unknown error") != 0);
	}
	CHECK(strcmp(mm_error_string((mm_error_t)999), "unknown error") == 0);
	CHECK(strcmp(mm_error_string(MM_ERR_DOUBLE_FREE), "double free") == 0);
}

int main(void)
{
	test_constants();
	test_create();
	test_malloc();
	test_memalign();
	test_realloc();
	test_walk_reset();
	test_errors_record();
	return check_summary("test_api");
}

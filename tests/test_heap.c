// SPDX-License-Identifier: MIT
/*
 * test_heap.c - the composed heap: creation and sizing, routing to classes and the remainder, each
 * fallback mode, realloc between classes and the remainder, calloc and memalign, misuse with the
 * exact error, hooks, and a randomized run whose statistics must equal a model's at every step.
 *
 *   test_heap [seed] [steps]
 */
#include "../src/tlsf_internal.h"
#include "check.h"

static _Alignas(64) unsigned char arena[1 << 22];

/* The distance between a class's blocks: its size, and at the hardened level (MM_CHECKS=3) the
 * canary's word rounded up to the alignment. */
static size_t class_stride(size_t size)
{
	size_t a = mm_align_size();
	return size + (MM_CHECKS >= 3 ? (sizeof(uintptr_t) + a - 1) / a * a : 0);
}

static mm_heap_config three_classes(unsigned fallback, size_t remainder)
{
	mm_heap_config c;
	memset(&c, 0, sizeof(c));
	c.n_classes = 3;
	c.classes[0] = (mm_heap_class_config){32, 8};
	c.classes[1] = (mm_heap_class_config){100, 4};
	c.classes[2] = (mm_heap_class_config){500, 2};
	c.remainder = remainder;
	c.fallback = fallback;
	return c;
}

static size_t class_in_use(mm_heap_t h, size_t i)
{
	mm_heap_class_stats s;
	return mm_heap_get_class_stats(h, i, &s) ? s.in_use : SIZE_MAX;
}

/* ---- Creation ------------------------------------------------------------------------------------- */

static void test_create(void)
{
	mm_heap_config c = three_classes(0, 0);
	size_t need = mm_heap_size(&c);
	CHECK(need > 0);
	CHECK(mm_heap_create(NULL, need, &c) == NULL);
	CHECK(mm_heap_create(arena + mm_align_size() / 2, need, &c) == NULL);
	CHECK(mm_heap_create(arena, need, NULL) == NULL);
	CHECK(mm_heap_create(arena, need - 1, &c) == NULL);
	mm_heap_t h = mm_heap_create(arena, need, &c);
	CHECK(h && mm_heap_validate(h) && mm_heap_class_count(h) == 3 && mm_heap_remainder(h) == NULL);
	/* Invalid configurations. */
	mm_heap_config bad = c;
	bad.classes[1].size = 20; /* not increasing */
	CHECK(mm_heap_size(&bad) == 0 && mm_heap_create(arena, sizeof(arena), &bad) == NULL);
	bad = c;
	bad.classes[1].size = 40; /* 32 and 40 round to different strides, but 33..48 -> 48: fine */
	CHECK(mm_heap_size(&bad) > 0);
	bad.classes[1].size = 30; /* rounds to 32 like class 0 */
	CHECK(mm_heap_size(&bad) == 0);
	bad = c;
	bad.classes[2].count = 0;
	CHECK(mm_heap_size(&bad) == 0);
	bad = c;
	bad.n_classes = MM_HEAP_MAX_CLASSES + 1;
	CHECK(mm_heap_size(&bad) == 0);
	bad = c;
	bad.fallback = 8;
	CHECK(mm_heap_size(&bad) == 0);
	bad = c;
	bad.classes[2].count = opaque_size(SIZE_MAX / 64);
	CHECK(mm_heap_size(&bad) == 0);
	bad = c;
	bad.remainder = opaque_size(SIZE_MAX - 5);
	CHECK(mm_heap_size(&bad) == 0);
	/* No classes at all: only a remainder. */
	mm_heap_config only;
	memset(&only, 0, sizeof(only));
	only.remainder = 10000;
	h = mm_heap_create(arena, mm_heap_size(&only), &only);
	CHECK(h && mm_heap_remainder(h) != NULL);
	void *p = mm_heap_malloc(h, 0), *q = mm_heap_malloc(h, 10000 - 64);
	CHECK(p && q && mm_heap_validate(h));
	mm_heap_free(h, p);
	mm_heap_free(h, q);
	/* A remainder of R bytes serves one request of R bytes when empty. */
	c = three_classes(0, 50000);
	h = mm_heap_create(arena, mm_heap_size(&c), &c);
	CHECK(h && mm_heap_malloc(h, 50000) != NULL);
	/* NULL heaps. */
	CHECK(mm_heap_malloc(NULL, 1) == NULL && mm_heap_calloc(NULL, 1, 1) == NULL);
	CHECK(mm_heap_memalign(NULL, 64, 1) == NULL && mm_heap_realloc(NULL, NULL, 1) == NULL);
	CHECK(mm_heap_block_size(NULL, p) == 0 && mm_heap_class_count(NULL) == 0 && !mm_heap_validate(NULL));
}

/* ---- Routing and fallback ------------------------------------------------------------------------- */

static void test_routing(void)
{
	mm_heap_config c = three_classes(MM_HEAP_FALLBACK_NONE, 20000);
	mm_heap_t h = mm_heap_create(arena, mm_heap_size(&c), &c);
	recorded_errors rec;
	record_errors(h, &rec);
	/* Each request to the smallest class that holds it; larger ones to the remainder. */
	/* Class sizes round up to mm_align_size(): with 16 the classes hold 32, 112 and 512 bytes. */
	const size_t al = mm_align_size(), s0 = (32 + al - 1) / al * al, s1 = (100 + al - 1) / al * al,
	             s2 = (500 + al - 1) / al * al;
	const size_t sizes[] = {0, 1, s0, s0 + 1, s1, s1 + 1, s2, s2 + 1, 5000};
	const size_t expect[] = {0, 0, 0, 1, 1, 2, 2, 3, 3}; /* 3: the remainder */
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t before[3] = {class_in_use(h, 0), class_in_use(h, 1), class_in_use(h, 2)};
		void *p = mm_heap_malloc(h, sizes[i]);
		CHECK(p != NULL && ((uintptr_t)p & (mm_align_size() - 1)) == 0);
		CHECK(mm_heap_block_size(h, p) >= sizes[i]);
		if (expect[i] < 3)
			CHECK_MSG(class_in_use(h, expect[i]) == before[expect[i]] + 1, "size %zu", sizes[i]);
		else
			CHECK(mm_get_pool_for_ptr(mm_heap_remainder(h), p) != NULL);
		mm_heap_free(h, p);
	}
	/* No fallback: an exhausted class fails, even with room elsewhere. */
	void *a[8];
	for (int i = 0; i < 8; i++)
		a[i] = mm_heap_malloc(h, 20);
	CHECK(a[7] != NULL && mm_heap_malloc(h, 20) == NULL);
	mm_heap_class_stats cs;
	CHECK(mm_heap_get_class_stats(h, 0, &cs) && cs.exhausted == 1 && cs.in_use == 8 && cs.peak == 8);
	mm_stats st;
	CHECK(mm_get_stats(h, &st) && st.failures == 1);
	for (int i = 0; i < 8; i++)
		mm_heap_free(h, a[i]);
	CHECK(rec.count == 0 && mm_heap_validate(h));

	/* LARGER: the next classes; REMAINDER: the remainder; both: classes first. */
	unsigned modes[] = {MM_HEAP_FALLBACK_LARGER, MM_HEAP_FALLBACK_REMAINDER,
	                    MM_HEAP_FALLBACK_LARGER | MM_HEAP_FALLBACK_REMAINDER};
	for (int m = 0; m < 3; m++) {
		c = three_classes(modes[m], 20000);
		h = mm_heap_create(arena, mm_heap_size(&c), &c);
		for (int i = 0; i < 8; i++)
			a[i] = mm_heap_malloc(h, 20);
		void *extra = mm_heap_malloc(h, 20);
		CHECK(extra != NULL);
		if (modes[m] & MM_HEAP_FALLBACK_LARGER)
			CHECK(class_in_use(h, 1) == 1);
		else
			CHECK(mm_get_pool_for_ptr(mm_heap_remainder(h), extra) != NULL);
		/* Every class full: LARGER alone fails, with the remainder it succeeds. */
		void *more[6];
		for (int i = 0; i < 6; i++)
			more[i] = mm_heap_malloc(h, 90);
		void *last = mm_heap_malloc(h, 20);
		CHECK((last != NULL) == ((modes[m] & MM_HEAP_FALLBACK_REMAINDER) != 0));
		mm_heap_free(h, last);
		mm_heap_free(h, extra);
		for (int i = 0; i < 6; i++)
			mm_heap_free(h, more[i]);
		for (int i = 0; i < 8; i++)
			mm_heap_free(h, a[i]);
		CHECK(mm_heap_validate(h));
		CHECK(mm_get_stats(h, &st) && st.blocks_in_use == 0 && st.in_use == 0);
	}

	/* LARGER is one step: class 0's requests may take class 1's blocks, never class 2's. */
	for (int bitmap = 0; bitmap <= 1; bitmap++) {
		c = three_classes(MM_HEAP_FALLBACK_LARGER, 20000);
		c.flags = bitmap ? MM_FIXED_BITMAP : MM_FIXED_UNCHECKED;
		h = mm_heap_create(arena, mm_heap_size(&c), &c);
		for (int i = 0; i < 8; i++)
			a[i] = mm_heap_malloc(h, 20); /* class 0 full */
		void *b1[4];
		for (int i = 0; i < 4; i++)
			b1[i] = mm_heap_malloc(h, 20); /* four fall back into class 1, filling it */
		CHECK(b1[3] != NULL && class_in_use(h, 1) == 4 && class_in_use(h, 2) == 0);
		CHECK(mm_heap_malloc(h, 20) == NULL); /* class 2 is free, but two steps up */
		CHECK(mm_heap_get_class_stats(h, 0, &cs) && cs.exhausted == 5);
		/* class 1 was found full once: by the fifth fallback */
		CHECK(mm_heap_get_class_stats(h, 1, &cs) && cs.exhausted == 1 && cs.allocs == 4);
		mm_heap_free(h, b1[2]); /* a class-1 block back: class 0's next request takes it */
		CHECK(mm_heap_malloc(h, 20) == b1[2]);
		CHECK(mm_get_stats(h, &st) && st.failures == 1 && st.blocks_in_use == 12);
		CHECK(mm_heap_validate(h));
	}
}

/* ---- Small remainders, largest_free ---------------------------------------------------------------- */

static void test_stats_edges(void)
{
	/* Any remainder from 1 byte up: mm_heap_size's bytes suffice. */
	for (size_t rem = 1; rem <= 64; rem++) {
		mm_heap_config c;
		memset(&c, 0, sizeof(c));
		c.n_classes = 1;
		c.classes[0] = (mm_heap_class_config){64, 4};
		c.remainder = rem;
		mm_heap_t h = mm_heap_create(arena, mm_heap_size(&c), &c);
		CHECK_MSG(h != NULL && mm_heap_validate(h), "remainder %zu", rem);
	}
	/* largest_free names a size whose request succeeds: with the class full and no fallback, the
	 * remainder's room does not count for sizes that map to the class. */
	mm_heap_config c;
	memset(&c, 0, sizeof(c));
	c.n_classes = 1;
	c.classes[0] = (mm_heap_class_config){4096, 1};
	c.remainder = 1024;
	c.fallback = MM_HEAP_FALLBACK_NONE;
	mm_heap_t h = mm_heap_create(arena, mm_heap_size(&c), &c);
	void *blk = mm_heap_malloc(h, 4096);
	mm_stats st;
	CHECK(blk && mm_get_stats(h, &st) && st.largest_free == 0);
	c.fallback = MM_HEAP_FALLBACK_REMAINDER;
	h = mm_heap_create(arena, mm_heap_size(&c), &c);
	blk = mm_heap_malloc(h, 4096);
	CHECK(blk && mm_get_stats(h, &st) && st.largest_free >= 1024);
	void *r = mm_heap_malloc(h, st.largest_free);
	CHECK(r != NULL);
	mm_heap_free(h, r);
	mm_heap_free(h, blk);
	CHECK(mm_get_stats(h, &st) && st.largest_free >= 4096);
	r = mm_heap_malloc(h, st.largest_free);
	CHECK(r != NULL);
}

/* ---- Gates: observation switched on and off with blocks live and recycled -------------------------- */

static void nop_alloc_hook(void *user, void *ptr, size_t size)
{
	(void)ptr;
	(void)size;
	++*(int *)user;
}

static void test_gates(void)
{
	mm_heap_config c = three_classes(MM_HEAP_FALLBACK_LARGER | MM_HEAP_FALLBACK_REMAINDER, 20000);
	mm_heap_t h = mm_heap_create(arena, mm_heap_size(&c), &c);
	void *a[6];
	for (int i = 0; i < 6; i++)
		a[i] = mm_heap_malloc(h, 20);
	mm_heap_free(h, a[1]);
	mm_heap_free(h, a[3]); /* class 0's recycled list: a[3], a[1] */
	int calls = 0;
	mm_set_hooks(h, nop_alloc_hook, NULL, &calls);
	/* Observed: every call goes through the hook, and the recycled blocks are still found. */
	CHECK(mm_heap_malloc(h, 20) == a[3] && calls == 1);
	void *big = mm_heap_malloc(h, 5000);
	CHECK(big != NULL && calls == 2);
	mm_heap_free(h, a[0]);
	mm_set_hooks(h, NULL, NULL, NULL);
	/* Unobserved again: the fast path sees the list the observed path left. */
	CHECK(mm_heap_malloc(h, 20) == a[0] && mm_heap_malloc(h, 20) == a[1] && calls == 2);
	CHECK(mm_heap_validate(h));

	/* A fixed pool moves its list aside while observed, and back. */
	mm_fixed_t p = mm_fixed_create(arena + (1 << 21), 4096, 32, 0, 0);
	void *b[4];
	for (int i = 0; i < 4; i++)
		b[i] = mm_fixed_alloc(p);
	mm_fixed_free(p, b[0]);
	mm_fixed_free(p, b[2]);
	calls = 0;
	mm_set_hooks(p, nop_alloc_hook, NULL, &calls);
	CHECK(mm_fixed_validate(p));
	CHECK(mm_fixed_alloc(p) == b[2] && calls == 1);
	mm_fixed_free(p, b[1]);
	CHECK(mm_track_cycles(p, 1) == MM_CYCLES);
	mm_set_hooks(p, NULL, NULL, NULL);
	CHECK(mm_fixed_validate(p));
	mm_track_cycles(p, 0);
	CHECK(mm_fixed_validate(p));
	CHECK(mm_fixed_alloc(p) == b[1] && mm_fixed_alloc(p) == b[0] && calls == 1);
	mm_stats st;
	CHECK(mm_get_stats(p, &st) && st.blocks_in_use == 4 && st.allocs == 7 && st.frees == 3);
}

/* ---- realloc, calloc, memalign -------------------------------------------------------------------- */

static void fill(unsigned char *p, size_t n, unsigned char s)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(s + i);
}

static int filled(const unsigned char *p, size_t n, unsigned char s)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(s + i))
			return 0;
	return 1;
}

static void test_realloc(void)
{
	mm_heap_config c = three_classes(MM_HEAP_FALLBACK_LARGER | MM_HEAP_FALLBACK_REMAINDER, 40000);
	mm_heap_t h = mm_heap_create(arena, mm_heap_size(&c), &c);
	recorded_errors rec;
	record_errors(h, &rec);
	unsigned char *p = mm_heap_realloc(h, NULL, 30); /* malloc */
	CHECK(p && class_in_use(h, 0) == 1);
	fill(p, 30, 1);
	CHECK(mm_heap_realloc(h, p, 20) == p);        /* still the smallest class that holds it */
	unsigned char *q = mm_heap_realloc(h, p, 90); /* grows into class 1 */
	CHECK(q && q != p && class_in_use(h, 0) == 0 && class_in_use(h, 1) == 1 && filled(q, 20, 1));
	fill(q, 90, 2);
	unsigned char *r = mm_heap_realloc(h, q, 3000); /* into the remainder */
	CHECK(r && mm_get_pool_for_ptr(mm_heap_remainder(h), r) && filled(r, 90, 2) && class_in_use(h, 1) == 0);
	fill(r, 3000, 3);
	unsigned char *r2 = mm_heap_realloc(h, r, 6000); /* the remainder grows in place when it can */
	CHECK(r2 == r && filled(r2, 3000, 3));
	unsigned char *s = mm_heap_realloc(h, r2, 60); /* back down into a class */
	CHECK(s && class_in_use(h, 1) == 1 && filled(s, 60, 3));
	unsigned char *t = mm_heap_realloc(h, s, 10); /* a smaller class with room: moves down */
	CHECK(t && t != s && class_in_use(h, 0) == 1 && class_in_use(h, 1) == 0 && filled(t, 10, 3));
	/* A smaller class without room: stays. */
	void *full[8];
	for (int i = 0; i < 7; i++)
		full[i] = mm_heap_malloc(h, 8);
	unsigned char *u = mm_heap_realloc(h, t, 60); /* t moves up: class 0 has one block free again */
	CHECK(u && class_in_use(h, 1) == 1 && class_in_use(h, 0) == 7);
	full[7] = mm_heap_malloc(h, 8);
	CHECK(class_in_use(h, 0) == 8);
	CHECK(mm_heap_realloc(h, u, 10) == u); /* class 0 is full: u stays in class 1 */
	/* Too large for everything: NULL, the block (of 10 bytes now) intact. */
	fill(u, 10, 4);
	CHECK(mm_heap_realloc(h, u, 100000) == NULL && filled(u, 10, 4));
	CHECK(mm_heap_realloc(h, u, opaque_size(SIZE_MAX)) == NULL && filled(u, 10, 4));
	CHECK(mm_heap_realloc(h, u, 0) == NULL && class_in_use(h, 1) == 0); /* frees */
	for (int i = 0; i < 8; i++)
		mm_heap_free(h, full[i]);
	CHECK(rec.count == 0 && mm_heap_validate(h));

	/* calloc: zeroed, and a checked multiply. */
	unsigned char *z = mm_heap_malloc(h, 400);
	memset(z, 0xFF, 400);
	mm_heap_free(h, z);
	z = mm_heap_calloc(h, 20, 20);
	int zero = z != NULL;
	for (size_t i = 0; z && i < 400; i++)
		zero &= z[i] == 0;
	CHECK(zero);
	mm_heap_free(h, z);
	mm_stats st;
	mm_get_stats(h, &st);
	uint64_t failures = st.failures;
	CHECK(mm_heap_calloc(h, opaque_size(SIZE_MAX / 2), 3) == NULL);
	CHECK(mm_heap_calloc(h, 3, opaque_size(SIZE_MAX / 2)) == NULL);
	mm_get_stats(h, &st);
	CHECK(st.failures == failures + 2);
	CHECK(mm_heap_calloc(h, 0, 100) != NULL); /* a zero-size block, like malloc(0) */

	/* memalign: the smallest class that holds the request and whose blocks are all aligned, else
	 * the remainder. */
	CHECK(mm_heap_memalign(h, opaque_size(3), 10) == NULL && mm_heap_memalign(h, opaque_size(0), 10) == NULL);
	void *m16 = mm_heap_memalign(h, 16, 20);
	CHECK(m16 && class_in_use(h, 0) >= 1);
	void *m64 = mm_heap_memalign(h, 64, 20); /* class 0 has 32-byte blocks: not all 64-aligned */
	CHECK(m64 && ((uintptr_t)m64 & 63) == 0);
	void *m4k = mm_heap_memalign(h, 4096, 100);
	CHECK(m4k && ((uintptr_t)m4k & 4095) == 0 && mm_get_pool_for_ptr(mm_heap_remainder(h), m4k));
	CHECK(mm_heap_memalign(h, (size_t)1 << 30, 100) == NULL);
	mm_heap_free(h, m16);
	mm_heap_free(h, m64);
	mm_heap_free(h, m4k);
	CHECK(mm_heap_validate(h));
#if MM_CHECKS < 3 /* the hardened level's strides have the canary's word more: not 64-aligned */
	/* A class whose blocks are 64-aligned serves memalign(64). */
	mm_heap_config c64;
	memset(&c64, 0, sizeof(c64));
	c64.n_classes = 1;
	c64.classes[0] = (mm_heap_class_config){128, 4};
	mm_heap_t h64 = mm_heap_create(arena, mm_heap_size(&c64), &c64);
	void *a64 = mm_heap_memalign(h64, 64, 100);
	CHECK(a64 && ((uintptr_t)a64 & 63) == 0 && class_in_use(h64, 0) == 1);
	/* Two 64-aligned classes: the smaller one serves; when it is full, the remainder (one step of
	 * choice, as with malloc's fallback), never the larger class. */
	c64.n_classes = 2;
	c64.classes[0] = (mm_heap_class_config){64, 1};
	c64.classes[1] = (mm_heap_class_config){128, 4};
	c64.remainder = 10000;
	h64 = mm_heap_create(arena, mm_heap_size(&c64), &c64);
	void *m1 = mm_heap_memalign(h64, 64, 40), *m2 = mm_heap_memalign(h64, 64, 40);
	CHECK(m1 && m2 && class_in_use(h64, 0) == 1 && class_in_use(h64, 1) == 0);
	CHECK(((uintptr_t)m2 & 63) == 0 && mm_get_pool_for_ptr(mm_heap_remainder(h64), m2));
	void *m3 = mm_heap_memalign(h64, 64, 100); /* too large for class 0: class 1 */
	CHECK(m3 && class_in_use(h64, 1) == 1 && ((uintptr_t)m3 & 63) == 0);
#endif
}

/* ---- Misuse ------------------------------------------------------------------------------------ */

static void test_misuse(void)
{
	for (int bitmap = 0; bitmap <= 1; bitmap++) {
		mm_heap_config c = three_classes(MM_HEAP_FALLBACK_LARGER, 20000);
		c.flags = bitmap ? MM_FIXED_BITMAP : MM_FIXED_UNCHECKED;
		mm_heap_t h = mm_heap_create(arena, mm_heap_size(&c), &c);
		recorded_errors rec;
		record_errors(h, &rec);
		unsigned char *a = mm_heap_malloc(h, 20), *b = mm_heap_malloc(h, 200), *r = mm_heap_malloc(h, 3000);
		CHECK(a && b && r);
		int local;
		mm_heap_free(h, &local);
		CHECK(take_error(&rec) == MM_ERR_INVALID_POINTER);
		mm_heap_free(h, a + 8);
		CHECK(take_error(&rec) == MM_ERR_INTERIOR_POINTER);
		mm_heap_free(h, a + class_stride(32) * 5); /* a block of class 0 never handed out */
		CHECK(take_error(&rec) == MM_ERR_INVALID_POINTER);
		mm_heap_free(h, r + 16);
		CHECK(take_error(&rec) == MM_ERR_INTERIOR_POINTER); /* found by the remainder's checks */
		CHECK(mm_heap_realloc(h, a + 8, 50) == NULL && take_error(&rec) == MM_ERR_INTERIOR_POINTER);
		CHECK(mm_heap_block_size(h, a + 8) == 0 && take_error(&rec) == MM_ERR_INTERIOR_POINTER);
		mm_heap_free(h, a);
		mm_heap_free(h, r);
		CHECK(rec.count == 0);
		mm_heap_free(h, r);
		CHECK(take_error(&rec) == MM_ERR_DOUBLE_FREE); /* the remainder catches its double frees */
		mm_heap_free(h, a);
		if (bitmap)
			CHECK(take_error(&rec) == MM_ERR_DOUBLE_FREE);
		else
			take_error(&rec); /* without the bitmap a class's double free is not caught */
		if (bitmap) {
			/* realloc and block_size of a freed class block: refused (the bitmap knows it is free),
			 * whether the new size keeps the class or not, and the block stays free exactly once. */
			CHECK(mm_heap_realloc(h, a, 10) == NULL && take_error(&rec) == MM_ERR_DOUBLE_FREE);
			CHECK(mm_heap_realloc(h, a, 300) == NULL && take_error(&rec) == MM_ERR_DOUBLE_FREE);
			CHECK(mm_heap_block_size(h, a) == 0 && take_error(&rec) == MM_ERR_DOUBLE_FREE);
			CHECK(mm_heap_malloc(h, 20) == a && mm_heap_malloc(h, 20) != a);
			CHECK(mm_heap_validate(h));
		}
		(void)b;
	}
	/* Without a remainder, anything outside the classes is invalid. */
	mm_heap_config c = three_classes(0, 0);
	mm_heap_t h = mm_heap_create(arena, mm_heap_size(&c), &c);
	recorded_errors rec;
	record_errors(h, &rec);
	mm_heap_free(h, arena + sizeof(arena) - 64);
	CHECK(take_error(&rec) == MM_ERR_INVALID_POINTER);
	CHECK(mm_heap_malloc(h, 513) == NULL); /* larger than every class, and no remainder */
}

/* ---- Hooks and reset ------------------------------------------------------------------------------ */

typedef struct counts {
	int allocs, frees, failed;
} counts;

static void count_alloc(void *user, void *ptr, size_t size)
{
	counts *c = (counts *)user;
	(void)size;
	if (ptr)
		c->allocs++;
	else
		c->failed++;
}

static void count_free(void *user, void *ptr)
{
	(void)ptr;
	((counts *)user)->frees++;
}

static void test_hooks_reset(void)
{
	mm_heap_config c = three_classes(MM_HEAP_FALLBACK_REMAINDER, 20000);
	mm_heap_t h = mm_heap_create(arena, mm_heap_size(&c), &c);
	counts n = {0, 0, 0};
	recorded_errors rec;
	record_errors(h, &rec);
	mm_set_hooks(h, count_alloc, count_free, &n);
	void *p = mm_heap_malloc(h, 10);
	p = mm_heap_realloc(h, p, 400); /* a move: one free, one allocation */
	void *q = mm_heap_calloc(h, 2, 2);
	void *r = mm_heap_memalign(h, 256, 10);
	CHECK(mm_heap_malloc(h, 1000000) == NULL);
	mm_heap_free(h, q);
	CHECK(n.allocs == 4 && n.frees == 2 && n.failed == 1);
	mm_heap_free(h, &n); /* refused: no free hook */
	CHECK(n.frees == 2 && take_error(&rec) == MM_ERR_INVALID_POINTER);
	mm_set_hooks(h, NULL, NULL, NULL);
	mm_heap_reset(h);
	mm_stats st;
	CHECK(mm_get_stats(h, &st) && st.blocks_in_use == 0 && st.in_use == 0 && mm_heap_validate(h));
	CHECK(mm_heap_malloc(h, 20000) != NULL);
	(void)p;
	(void)r;
}

/* ---- Randomized run against a model --------------------------------------------------------------- */

#define MAX_LIVE 400

typedef struct live {
	unsigned char *p;
	size_t size, cls; /* cls: the class index, or SIZE_MAX for the remainder */
	unsigned char fill;
} live;

static void check_stats(mm_heap_t h, const live *lv, size_t n, uint64_t allocs, uint64_t frees, uint64_t failures,
                        size_t step)
{
	mm_stats st;
	CHECK(mm_get_stats(h, &st));
	size_t class_bytes = 0, class_blocks[MM_HEAP_MAX_CLASSES] = {0};
	for (size_t i = 0; i < n; i++)
		if (lv[i].cls != SIZE_MAX) {
			class_blocks[lv[i].cls]++;
			class_bytes += mm_heap_block_size(h, lv[i].p);
		}
	mm_stats rs;
	memset(&rs, 0, sizeof(rs));
	if (mm_heap_remainder(h))
		mm_get_stats(mm_heap_remainder(h), &rs);
	int ok = st.blocks_in_use == n && st.allocs == allocs && st.frees == frees && st.failures == failures &&
	         st.free == st.capacity - st.in_use;
#if MM_CHECKS < 3 /* the hardened level's block sizes are the sizes asked for; in_use counts strides */
	ok &= st.in_use == class_bytes + rs.in_use;
#else
	ok &= st.in_use >= class_bytes + rs.in_use;
#endif
	for (size_t c = 0; c < mm_heap_class_count(h); c++) {
		mm_heap_class_stats cs;
		mm_heap_get_class_stats(h, c, &cs);
		ok &= cs.in_use == class_blocks[c] && cs.peak >= cs.in_use;
	}
	CHECK_MSG(ok,
	          "statistics differ from the model at step %zu (blocks %zu/%zu, allocs %llu/%llu, failures %llu/%llu)",
	          step, st.blocks_in_use, n, (unsigned long long)st.allocs, (unsigned long long)allocs,
	          (unsigned long long)st.failures, (unsigned long long)failures);
}

/* Blocks in use in each class now. */
static void class_counts(mm_heap_t h, size_t *out)
{
	for (size_t c = 0; c < mm_heap_class_count(h); c++)
		out[c] = class_in_use(h, c);
}

/* Where block p, just handed out or resized, is: the remainder (SIZE_MAX), the class whose count of
 * blocks in use grew since before[] was taken, or else the class it was in (`was`). Not by its size:
 * at the hardened level (MM_CHECKS=3) that is the size asked for, not the class's. */
static size_t which_class(mm_heap_t h, void *p, const size_t *before, size_t was)
{
	if (mm_heap_remainder(h) && mm_get_pool_for_ptr(mm_heap_remainder(h), p))
		return SIZE_MAX;
	for (size_t c = 0; c < mm_heap_class_count(h); c++)
		if (class_in_use(h, c) > before[c])
			return c;
	return was;
}

static void random_run(rng *g, size_t steps)
{
	mm_heap_config c;
	memset(&c, 0, sizeof(c));
	c.n_classes = 1 + (size_t)(rng_next(g) % 6);
	size_t size = 16;
	for (size_t i = 0; i < c.n_classes; i++) {
		size += 16 + (size_t)(rng_next(g) % 400);
		c.classes[i] = (mm_heap_class_config){size, 1 + (size_t)(rng_next(g) % 60)};
	}
	c.fallback = (unsigned)(rng_next(g) % 4);
	c.remainder = rng_next(g) % 3 ? 20000 + (size_t)(rng_next(g) % 100000) : 0;
	c.flags = rng_next(g) % 3 == 0 ? MM_FIXED_UNCHECKED : 0;
	mm_heap_t h = mm_heap_create(arena, mm_heap_size(&c), &c);
	CHECK(h != NULL);
	recorded_errors rec;
	record_errors(h, &rec);
	static live lv[MAX_LIVE];
	size_t n = 0;
	uint64_t allocs = 0, frees = 0, failures = 0;
	for (size_t step = 0; step < steps && check_failures < 10; step++) {
		unsigned op = (unsigned)(rng_next(g) % 100);
		if (op < 45 && n < MAX_LIVE) {
			size_t want =
			    rng_next(g) % 5 ? (size_t)(rng_next(g) % (size + 64)) : (size_t)(rng_next(g) % 9000);
			size_t before[MM_HEAP_MAX_CLASSES];
			class_counts(h, before);
			unsigned char *p =
			    op < 40 ? mm_heap_malloc(h, want) : mm_heap_memalign(h, (size_t)32 << (op % 4), want);
			if (!p) {
				failures++;
				continue;
			}
			CHECK(mm_heap_block_size(h, p) >= want);
			for (size_t i = 0; i < n; i++)
				CHECK(
				    !(p < lv[i].p + (lv[i].size ? lv[i].size : 1) && lv[i].p < p + (want ? want : 1)));
			lv[n] = (live){p, want, which_class(h, p, before, SIZE_MAX - 1), (unsigned char)rng_next(g)};
			fill(p, want, lv[n].fill);
			n++;
			allocs++;
		} else if (op < 70 && n) {
			size_t k = (size_t)(rng_next(g) % n);
			size_t want =
			    rng_next(g) % 4 ? (size_t)(rng_next(g) % (size + 64)) : (size_t)(rng_next(g) % 9000);
			CHECK(filled(lv[k].p, lv[k].size, lv[k].fill));
			size_t before[MM_HEAP_MAX_CLASSES];
			class_counts(h, before);
			unsigned char *p = mm_heap_realloc(h, lv[k].p, want);
			if (want == 0) {
				lv[k] = lv[--n];
				frees++;
			} else if (!p) {
				failures++;
				CHECK(filled(lv[k].p, lv[k].size, lv[k].fill));
			} else {
				size_t keep = want < lv[k].size ? want : lv[k].size;
				CHECK(filled(p, keep, lv[k].fill));
				if (p != lv[k].p) {
					allocs++;
					frees++;
				}
				lv[k].p = p;
				lv[k].size = want;
				lv[k].cls = which_class(h, p, before, lv[k].cls);
				fill(p, want, lv[k].fill);
			}
		} else if (n) {
			size_t k = (size_t)(rng_next(g) % n);
			CHECK(filled(lv[k].p, lv[k].size, lv[k].fill));
			mm_heap_free(h, lv[k].p);
			lv[k] = lv[--n];
			frees++;
		}
		check_stats(h, lv, n, allocs, frees, failures, step);
		if (step % 128 == 0)
			CHECK(mm_heap_validate(h));
	}
	CHECK(rec.count == 0);
}

int main(int argc, char **argv)
{
	uint64_t seed = test_seed(argc, argv, 99);
	const char *s = argc > 2 ? argv[2] : getenv("MEMOMAN_STEPS");
	size_t steps = s ? (size_t)strtoull(s, NULL, 0) : 3000;
	test_create();
	test_routing();
	test_gates();
	test_stats_edges();
	test_realloc();
	test_misuse();
	test_hooks_reset();
	rng g = {seed};
	for (int r = 0; r < 30 && check_failures < 10; r++)
		random_run(&g, steps);
	return check_summary("test_heap");
}

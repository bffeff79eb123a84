// SPDX-License-Identifier: MIT
/*
 * test_hardened.c - libmemoman's hardened level, MM_CHECKS=3 (tests/CMakeLists.txt builds the library
 * at that level for this test alone), over a static array as firmware would use it:
 *   - a write 1 or 8 bytes past the size asked for (malloc, memalign, after a realloc, and in a
 *     heap's TLSF remainder) is reported at free and realloc (MM_ERR_OVERRUN, the block pointer),
 *     the call refused and the instance still valid for everything else; mm_validate finds it too;
 *   - a write into freed memory is reported when a block over it is handed out
 *     (MM_ERR_WRITE_AFTER_FREE), also after the freed block coalesced with its neighbours, after
 *     realloc gave a tail back, and when realloc grows a block over it; the block comes out zeroed;
 *   - a block left with a broken canary is named an overrun by the periodic validation too, and a
 *     heap's realloc refuses it;
 *   - a double free of a block that coalesced is still named a double free;
 *   - correct use is never reported: a randomized run of malloc, memalign, realloc and free whose
 *     blocks are filled to mm_block_size (the size asked for) and checked, blocks handed out zeroed,
 *     realloc keeping the bytes, validation passing throughout, and mm_reset making it all new;
 *   - fixed pools (in each mode) and a heap's size classes the same way: a write past the block size
 *     asked for (a pool) or past the request (a class, also after an in-place realloc) reported at
 *     free (MM_ERR_OVERRUN, refused) and by validation, a write into a freed block reported when it
 *     is handed out again (MM_ERR_WRITE_AFTER_FREE, zeroed), a double free named as such in the
 *     unchecked mode too, reset zeroing every block, a pool or heap sized with mm_fixed_size or
 *     mm_heap_size still holding every block it was sized for, and a randomized run of correct use
 *     never reported.
 */
#include "check.h"
#include "memoman/fixed.h"
#include "memoman/heap.h"

static _Alignas(64) unsigned char arena[1 << 20];
static _Alignas(64) unsigned char heap_arena[1 << 18];

static recorded_errors rec;

static mm_t fresh(void)
{
	mm_t mm = mm_create_with_pool(arena, sizeof(arena));
	CHECK(mm != NULL);
	record_errors(mm, &rec);
	return mm;
}

static int all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* ---- Overruns ------------------------------------------------------------------------------------- */

static void overrun(size_t n, size_t align, size_t by)
{
	mm_t mm = fresh();
	unsigned char *p = launder(align ? mm_memalign(mm, align, n) : mm_malloc(mm, n));
	CHECK(p != NULL && mm_block_size(p) == n);
	memset(p, 0x5A, n);
	unsigned char *q = mm_malloc(mm, 64); /* a neighbour, to see it untouched by the refused free */
	mm_stats st;
	CHECK(mm_get_stats(mm, &st));
	size_t in_use = st.in_use;
	p[n + by - 1] ^= 0x20;
	CHECK(!mm_validate(mm));
	mm_free(mm, p);
	CHECK_MSG(rec.count == 1 && rec.last == MM_ERR_OVERRUN && rec.last_ptr == p, "n %zu align %zu by %zu: %d", n,
	          align, by, (int)rec.last);
	take_error(&rec);
	CHECK(mm_get_stats(mm, &st) && st.in_use == in_use); /* refused: still in use */
	CHECK(mm_realloc(mm, p, n + 100) == NULL && take_error(&rec) == MM_ERR_OVERRUN);
	p[n + by - 1] ^= 0x20; /* repaired: freed as any block */
	CHECK(mm_validate(mm));
	mm_free(mm, p);
	mm_free(mm, q);
	CHECK(take_error(&rec) == MM_OK && mm_get_stats(mm, &st) && st.in_use == 0 && mm_validate(mm));
}

static void test_overruns(void)
{
	static const size_t sizes[] = {1, 8, 20, 24, 100, 1000, 4096, 30000};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		overrun(sizes[i], 0, 1);
		overrun(sizes[i], 0, sizeof(size_t)); /* the canary's last byte, when there is no slack */
		overrun(sizes[i], 256, 1);
	}
	/* After a realloc, the canary follows the new size: grown, shrunk, moved. */
	static const size_t to[] = {10, 90, 200, 5000};
	for (size_t i = 0; i < sizeof(to) / sizeof(to[0]); i++) {
		mm_t mm = fresh();
		unsigned char *p = mm_malloc(mm, 100);
		unsigned char *blocker = mm_malloc(mm, 32); /* so that a large growth moves */
		memset(p, 1, 100);
		p = launder(mm_realloc(mm, p, to[i]));
		CHECK(p != NULL && mm_block_size(p) == to[i]);
		p[to[i]] ^= 1;
		mm_free(mm, p);
		CHECK(take_error(&rec) == MM_ERR_OVERRUN);
		p[to[i]] ^= 1;
		mm_free(mm, p);
		mm_free(mm, blocker);
		CHECK(take_error(&rec) == MM_OK && mm_validate(mm));
	}
	/* A heap's TLSF remainder is the same core. */
	mm_heap_config c;
	memset(&c, 0, sizeof(c));
	c.n_classes = 1;
	c.classes[0] = (mm_heap_class_config){64, 8};
	c.remainder = 10000;
	mm_heap_t h = mm_heap_create(heap_arena, sizeof(heap_arena), &c);
	CHECK(h != NULL);
	recorded_errors hrec;
	record_errors(h, &hrec);
	unsigned char *r = launder(mm_heap_malloc(h, 3000));
	CHECK(r != NULL);
	memset(r, 7, 3000);
	r[3000] ^= 1;
	mm_heap_free(h, r);
	CHECK(take_error(&hrec) == MM_ERR_OVERRUN);
	CHECK(mm_heap_realloc(h, r, 40) == NULL && take_error(&hrec) == MM_ERR_OVERRUN); /* not into a class */
	r[3000] ^= 1;
	mm_heap_free(h, r);
	CHECK(take_error(&hrec) == MM_OK);
	/* The periodic validation names a block left broken an overrun too. */
	r = launder(mm_malloc(mm_heap_remainder(h), 100));
	r[100] ^= 1;
	for (int i = 0; i < 1100; i++)
		mm_free(mm_heap_remainder(h), mm_malloc(mm_heap_remainder(h), 50));
	CHECK(take_error(&hrec) == MM_ERR_OVERRUN);
	r[100] ^= 1;
	mm_free(mm_heap_remainder(h), r);
	CHECK(take_error(&hrec) == MM_OK);
}

/* ---- Writes after free -------------------------------------------------------------------------- */

static void test_write_after_free(void)
{
	mm_t mm = fresh();
	/* The block itself, handed out again for the same size. */
	unsigned char *p = launder(mm_malloc(mm, 200));
	memset(p, 3, 200);
	mm_free(mm, p);
	p[100] = 'x';
	unsigned char *again = mm_malloc(mm, 200);
	CHECK(again == p && take_error(&rec) == MM_ERR_WRITE_AFTER_FREE && rec.last_ptr == p);
	CHECK(all_zero(again, 200));
	mm_free(mm, again);
	CHECK(take_error(&rec) == MM_OK);

	/* Three blocks freed and coalesced: a write into the middle one's old header and one into its
	 * payload are both in freed memory. */
	unsigned char *a = mm_malloc(mm, 300), *b = launder(mm_malloc(mm, 300)), *c = mm_malloc(mm, 300);
	unsigned char *guard = mm_malloc(mm, 16);
	mm_free(mm, a);
	mm_free(mm, c);
	mm_free(mm, b);
	CHECK(take_error(&rec) == MM_OK && mm_validate(mm));
	b[-1] = 0x44; /* the old size word's top byte (little or big endian: inside freed memory) */
	unsigned char *big = mm_malloc(mm, 900);
	CHECK(big != NULL && big <= b && take_error(&rec) == MM_ERR_WRITE_AFTER_FREE);
	CHECK(all_zero(big, 900));
	mm_free(mm, big);
	b = launder(mm_malloc(mm, 300));
	mm_free(mm, b);
	b[250] = 0x45;
	big = mm_malloc(mm, 900);
	CHECK(big != NULL && take_error(&rec) == MM_ERR_WRITE_AFTER_FREE);
	mm_free(mm, big);

	/* A block realloc grows over: its successor was freed and written. */
	unsigned char *g = launder(mm_malloc(mm, 200)), *h2 = launder(mm_malloc(mm, 500));
	unsigned char *stop = mm_malloc(mm, 16);
	mm_free(mm, h2);
	h2[300] = 0x47;
	CHECK(mm_realloc(mm, g, 600) == g && take_error(&rec) == MM_ERR_WRITE_AFTER_FREE);
	mm_free(mm, g);
	mm_free(mm, stop);

	/* A tail realloc gave back is freed memory too. */
	unsigned char *t = launder(mm_malloc(mm, 2000));
	memset(t, 9, 2000);
	CHECK(mm_realloc(mm, t, 100) == t);
	t[1500] = 0x46;
	unsigned char *tail = mm_malloc(mm, 1500);
	CHECK(tail != NULL && take_error(&rec) == MM_ERR_WRITE_AFTER_FREE);
	mm_free(mm, tail);
	mm_free(mm, t);

	/* A double free of a block that coalesced: still a double free. */
	unsigned char *d = mm_malloc(mm, 100), *e = mm_malloc(mm, 100);
	mm_free(mm, d);
	mm_free(mm, e); /* e's header is in d's free block now */
	CHECK(mm_block_size(e) == 0);
	mm_free(mm, e);
	CHECK(take_error(&rec) == MM_ERR_DOUBLE_FREE);
	mm_free(mm, guard);
	mm_stats st;
	CHECK(take_error(&rec) == MM_OK && mm_get_stats(mm, &st) && st.in_use == 0 && mm_validate(mm));
}

/* ---- Correct use ------------------------------------------------------------------------------------- */

static void test_correct_use(void)
{
	mm_t mm = fresh();
	enum { LIVE = 200 };
	unsigned char *live[LIVE] = {0};
	size_t size[LIVE] = {0};
	rng g = {11};
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 40000; i++) {
			size_t k = (size_t)(rng_next(&g) % LIVE);
			unsigned char tag = (unsigned char)(k + 1);
			if (live[k]) {
				for (size_t j = 0; j < size[k]; j++)
					if (live[k][j] != tag) {
						CHECK_MSG(0, "block %zu byte %zu", k, j);
						break;
					}
				if (rng_next(&g) % 3 == 0) {
					size_t n = (size_t)rng_range(&g, 1, rng_next(&g) % 8 ? 600 : 12000);
					unsigned char *p = mm_realloc(mm, live[k], n);
					if (p) {
						for (size_t j = 0; j < (n < size[k] ? n : size[k]); j++)
							if (p[j] != tag) {
								CHECK_MSG(0, "realloc lost byte %zu", j);
								break;
							}
						CHECK(mm_block_size(p) == n);
						memset(p, tag, n);
						live[k] = p;
						size[k] = n;
					}
				} else {
					mm_free(mm, live[k]);
					live[k] = NULL;
				}
			} else {
				size_t n = (size_t)rng_range(&g, 0, rng_next(&g) % 8 ? 600 : 12000);
				unsigned char *p =
				    rng_next(&g) % 4 ? mm_malloc(mm, n) : mm_memalign(mm, (size_t)32 << (k % 5), n);
				if (p) {
					CHECK(all_zero(p, n) && mm_block_size(p) == (n ? n : 1)); /* 0 reads as 1 */
					memset(p, tag, n);
					live[k] = p;
					size[k] = n;
				}
			}
			if (i % 4000 == 0)
				CHECK(mm_validate(mm));
		}
		CHECK_MSG(rec.count == 0, "%d errors, the last %d", rec.count, (int)rec.last);
		CHECK(mm_validate(mm));
		/* A reset: every block gone, the pool zeroed as freed memory. */
		CHECK(mm_reset(mm));
		memset(live, 0, sizeof(live));
		unsigned char *all = mm_malloc(mm, sizeof(arena) / 2);
		CHECK(all != NULL && all_zero(all, sizeof(arena) / 2) && rec.count == 0);
		mm_free(mm, all);
	}
	CHECK(mm_alloc_overhead() == 2 * sizeof(size_t));
	CHECK(mm_malloc(mm, mm_block_size_max() + 1) == NULL);
}

/* ---- Fixed pools ------------------------------------------------------------------------------------ */

static _Alignas(64) unsigned char pool_arena[1 << 14];

static void fixed_mode(unsigned flags)
{
	enum { N = 16, SIZE = 20 };
	size_t bytes = mm_fixed_size(N, SIZE, 0, flags);
	CHECK(bytes != 0 && bytes <= sizeof(pool_arena));
	mm_fixed_t f = mm_fixed_create(pool_arena, bytes, SIZE, 0, flags);
	if (!f && (flags & MM_FIXED_LOCKFREE))
		return; /* no lock-free compare-and-swap here: the mode is refused */
	CHECK(f != NULL && mm_fixed_capacity(f) == N && mm_fixed_block_size(f) == SIZE);
	recorded_errors frec;
	record_errors(f, &frec);
	int checked = !(flags & MM_FIXED_UNCHECKED);
	unsigned char *b[N];
	for (int i = 0; i < N; i++) { /* sized for N: every block there, each zero */
		b[i] = launder(mm_fixed_alloc(f));
		CHECK(b[i] != NULL && all_zero(b[i], SIZE));
		memset(b[i], i + 1, SIZE);
	}
	CHECK(mm_fixed_alloc(f) == NULL && mm_fixed_validate(f));
	/* 1 and 8 bytes past the block size. */
	for (size_t by = 1; by <= sizeof(uintptr_t); by += sizeof(uintptr_t) - 1) {
		unsigned char *p = b[3];
		size_t off = SIZE + by - 1;
		p[off] ^= 0x10;
		CHECK(!checked || !mm_fixed_validate(f));
		mm_fixed_free(f, p);
		CHECK_MSG(take_error(&frec) == MM_ERR_OVERRUN && frec.last_ptr == p, "flags %u by %zu", flags, by);
		CHECK(mm_fixed_available(f) == 0); /* refused: still live */
		p[off] ^= 0x10;
		CHECK(mm_fixed_validate(f));
	}
	/* A write after free, past the link, found when the block comes back. */
	mm_fixed_free(f, b[5]);
	CHECK(take_error(&frec) == MM_OK && mm_fixed_validate(f));
	b[5][SIZE - 4] = 'x';
	CHECK(!mm_fixed_validate(f));
	unsigned char *again = mm_fixed_alloc(f);
	CHECK(again == b[5] && take_error(&frec) == MM_ERR_WRITE_AFTER_FREE && all_zero(again, SIZE));
	CHECK(mm_fixed_validate(f));
	/* A link forged into a freed block (the address of memory outside the pool) is never followed:
	 * reported as a broken link (a write after free, where the lock-free mode keeps no link). */
	static size_t outside[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	unsigned char *victim = b[6];
	mm_fixed_free(f, victim);
	CHECK(take_error(&frec) == MM_OK);
	*(void **)(void *)victim = outside;
	unsigned char *got = mm_fixed_alloc(f); /* the block itself; its link is the list's next head */
	int lockfree = (flags & MM_FIXED_LOCKFREE) != 0;
	CHECK(got == victim && take_error(&frec) == (lockfree ? MM_ERR_WRITE_AFTER_FREE : MM_OK));
	CHECK(mm_fixed_alloc(f) == NULL && outside[0] == 1 && outside[7] == 8); /* the pool is full */
	CHECK_MSG(take_error(&frec) == (lockfree ? MM_OK : MM_ERR_CORRUPTED_LINK), "flags %u", flags);
	mm_fixed_free(f, got);
	CHECK(take_error(&frec) == MM_OK);
	/* A double free is named one, with or without the bitmap. */
	mm_fixed_free(f, again);
	mm_fixed_free(f, again);
	CHECK(take_error(&frec) == MM_ERR_DOUBLE_FREE);
	/* A reset zeroes every block. */
	mm_fixed_reset(f);
	for (int i = 0; i < N; i++) {
		unsigned char *p = mm_fixed_alloc(f);
		CHECK(p != NULL && all_zero(p, SIZE));
	}
	CHECK(take_error(&frec) == MM_OK && mm_fixed_validate(f));
	mm_fixed_destroy(f);
}

static void test_fixed(void)
{
	fixed_mode(0);
	fixed_mode(MM_FIXED_UNCHECKED);
	fixed_mode(MM_FIXED_LOCKFREE);
	fixed_mode(MM_FIXED_LOCKFREE | MM_FIXED_UNCHECKED);
}

/* ---- A heap's size classes ---------------------------------------------------------------------------- */

static void test_heap_classes(void)
{
	mm_heap_config c;
	memset(&c, 0, sizeof(c));
	c.n_classes = 2;
	c.classes[0] = (mm_heap_class_config){24, 8};
	c.classes[1] = (mm_heap_class_config){64, 8};
	c.fallback = MM_HEAP_FALLBACK_NONE;
	size_t bytes = mm_heap_size(&c);
	CHECK(bytes != 0 && bytes <= sizeof(heap_arena));
	mm_heap_t h = mm_heap_create(heap_arena, bytes, &c);
	CHECK(h != NULL);
	recorded_errors hrec;
	record_errors(h, &hrec);
	/* Sized for 8 of each: all there, of the sizes asked for. */
	unsigned char *k[16];
	for (int i = 0; i < 16; i++) {
		size_t n = i < 8 ? 24 : 64;
		k[i] = launder(mm_heap_malloc(h, n));
		CHECK(k[i] != NULL && all_zero(k[i], n) && mm_heap_block_size(h, k[i]) == n);
		memset(k[i], 0x33, n);
	}
	CHECK(mm_heap_malloc(h, 1) == NULL && mm_heap_malloc(h, 30) == NULL);
	CHECK(take_error(&hrec) == MM_OK && mm_heap_validate(h));
	for (int i = 0; i < 16; i++)
		mm_heap_free(h, k[i]);
	CHECK(take_error(&hrec) == MM_OK && mm_heap_validate(h));

	/* 1 byte past a request that leaves room in its class: at free, at realloc, by validation. */
	unsigned char *p = launder(mm_heap_malloc(h, 10));
	CHECK(p != NULL && mm_heap_block_size(h, p) == 10);
	memset(p, 1, 10);
	p[10] ^= 1;
	CHECK(!mm_heap_validate(h));
	mm_heap_free(h, p);
	CHECK(take_error(&hrec) == MM_ERR_OVERRUN && hrec.last_ptr == p);
	CHECK(mm_heap_realloc(h, p, 50) == NULL && take_error(&hrec) == MM_ERR_OVERRUN);
	CHECK(mm_heap_block_size(h, p) == 0 && take_error(&hrec) == MM_ERR_OVERRUN);
	p[10] ^= 1;
	/* In place, grown and shrunk: the canary follows, the bytes given up are zeroed. */
	CHECK(mm_heap_realloc(h, p, 20) == p && mm_heap_block_size(h, p) == 20);
	memset(p + 10, 2, 10);
	p[20] ^= 1;
	mm_heap_free(h, p);
	CHECK(take_error(&hrec) == MM_ERR_OVERRUN);
	p[20] ^= 1;
	CHECK(mm_heap_realloc(h, p, 5) == p && mm_heap_block_size(h, p) == 5 && all_zero(p + 5, 15));
	p[5] = 9;
	mm_heap_free(h, p);
	CHECK(take_error(&hrec) == MM_ERR_OVERRUN);
	p[5] = 0;
	mm_heap_free(h, p);
	CHECK(take_error(&hrec) == MM_OK && mm_heap_validate(h));

	/* A write into a freed class block, found when it is handed out. */
	unsigned char *q = launder(mm_heap_malloc(h, 40));
	mm_heap_free(h, q);
	q[30] = 'w';
	CHECK(!mm_heap_validate(h));
	unsigned char *r = mm_heap_malloc(h, 40);
	CHECK(r == q && take_error(&hrec) == MM_ERR_WRITE_AFTER_FREE && all_zero(r, 40));
	mm_heap_free(h, r);
	mm_heap_free(h, r);
	CHECK(take_error(&hrec) == MM_ERR_DOUBLE_FREE && mm_heap_validate(h));

	/* Correct use is never reported: random sizes and reallocs, every byte checked. */
	unsigned char *live[12] = {0};
	size_t size[12] = {0};
	rng g = {5};
	for (int i = 0; i < 20000; i++) {
		size_t j = (size_t)(rng_next(&g) % 12);
		unsigned char tag = (unsigned char)(j + 1);
		if (live[j]) {
			for (size_t b = 0; b < size[j]; b++)
				if (live[j][b] != tag) {
					CHECK_MSG(0, "class block %zu byte %zu", j, b);
					break;
				}
			size_t n = (size_t)rng_range(&g, 0, 64);
			if (rng_next(&g) % 2) {
				unsigned char *m = mm_heap_realloc(h, live[j], n);
				if (n == 0) {
					live[j] = NULL;
				} else if (m) {
					CHECK(mm_heap_block_size(h, m) == n &&
					      all_zero(m + (n < size[j] ? n : size[j]), n > size[j] ? n - size[j] : 0));
					memset(m, tag, n);
					live[j] = m;
					size[j] = n;
				}
			} else {
				mm_heap_free(h, live[j]);
				live[j] = NULL;
			}
		} else {
			size_t n = (size_t)rng_range(&g, 0, 64);
			unsigned char *m = mm_heap_malloc(h, n);
			if (m) {
				CHECK(all_zero(m, n) && mm_heap_block_size(h, m) == (n ? n : 1));
				memset(m, tag, n);
				live[j] = m;
				size[j] = n;
			}
		}
	}
	CHECK_MSG(hrec.count == 0, "%d errors, the last %d", hrec.count, (int)hrec.last);
	CHECK(mm_heap_validate(h));
	mm_heap_destroy(h);
}

int main(void)
{
	test_overruns();
	test_write_after_free();
	test_correct_use();
	test_fixed();
	test_heap_classes();
	return check_summary("test_hardened");
}

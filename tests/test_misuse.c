// SPDX-License-Identifier: MIT
/*
 * test_misuse.c - the misuse catalog: every kind of bad pointer and bad pool at every entry point
 * that takes one, with the exact error reported, the operation refused, and the heap still valid.
 *
 * Pointer errors need MM_CHECKS >= 1 (the default); with MM_CHECKS == 0 this test only checks pools.
 */
#include "../src/tlsf_internal.h"
#include "check.h"

static _Alignas(64) unsigned char arena[1 << 18];
static _Alignas(64) unsigned char other[1 << 14];

static mm_t fresh(recorded_errors *rec)
{
	memset(arena, 0, sizeof(arena)); /* no leftovers from an earlier case */
	mm_t mm = mm_create_with_pool(arena, sizeof(arena));
	record_errors(mm, rec);
	return mm;
}

/* Checks that ptr, handed to mm_free, mm_realloc (growing and shrinking) and mm_realloc(.., 0),
 * is refused with `expected` each time, that the error names ptr, and that the heap still validates. */
static void expect_refused(mm_t mm, recorded_errors *rec, void *ptr, mm_error_t expected, const char *what)
{
	mm_free(mm, ptr);
	CHECK_MSG(rec->count == 1 && rec->last == expected && rec->last_ptr == ptr, "free(%s): %d errors, %s", what,
	          rec->count, mm_error_string(rec->last));
	take_error(rec);
	CHECK_MSG(mm_realloc(mm, ptr, 100000) == NULL && take_error(rec) == expected, "realloc(%s, grow)", what);
	CHECK_MSG(mm_realloc(mm, ptr, 1) == NULL && take_error(rec) == expected, "realloc(%s, shrink)", what);
	CHECK_MSG(mm_realloc(mm, ptr, 0) == NULL && take_error(rec) == expected, "realloc(%s, 0)", what);
	CHECK_MSG(mm_validate(mm), "heap valid after %s", what);
}

#if MM_CHECKS >= 1

static void test_foreign(void)
{
	recorded_errors rec;
	mm_t mm = fresh(&rec);
	void *live = mm_malloc(mm, 64);
	int on_stack = 0;
	expect_refused(mm, &rec, &on_stack, MM_ERR_INVALID_POINTER, "stack variable");
	expect_refused(mm, &rec, other + 64, MM_ERR_INVALID_POINTER, "other arena");
	expect_refused(mm, &rec, arena + 64, MM_ERR_INVALID_POINTER, "control structure");
	expect_refused(mm, &rec, arena + sizeof(arena), MM_ERR_INVALID_POINTER, "one past the pool");
	expect_refused(mm, &rec, (void *)(uintptr_t)16, MM_ERR_INVALID_POINTER, "low address");
	expect_refused(mm, &rec, (void *)(UINTPTR_MAX & ~(uintptr_t)15), MM_ERR_INVALID_POINTER, "top address");
	/* A pointer of another instance is foreign to this one. */
	mm_t mm2 = mm_create_with_pool(other, sizeof(other));
	void *theirs = mm_malloc(mm2, 32);
	expect_refused(mm, &rec, theirs, MM_ERR_INVALID_POINTER, "another instance's block");
	CHECK(mm_validate(mm2));
	mm_free(mm2, theirs);
	/* The live block is untouched by all of it. */
	CHECK(mm_block_size(live) >= 64);
	mm_free(mm, live);
	CHECK(rec.count == 0 && mm_validate(mm));
#if !MM_DEBUG
	/* A NULL instance: nothing to report to, nothing done, no crash (a debug build aborts). */
	mm_free(NULL, live);
	CHECK(mm_realloc(NULL, live, 10) == NULL);
#endif
}

static void test_interior(void)
{
	recorded_errors rec;
	mm_t mm = fresh(&rec);
	unsigned char *a = mm_malloc(mm, 256);
	void *b = mm_malloc(mm, 256);
	CHECK(a && b);
	const unsigned char patterns[] = {0x00, 0xAA, 0xFF, 0x55, 0x11};
	for (size_t i = 0; i < sizeof(patterns); i++) {
		memset(a, patterns[i], 256);
		expect_refused(mm, &rec, a + 16, MM_ERR_INTERIOR_POINTER, "a + 16");
		expect_refused(mm, &rec, a + 128, MM_ERR_INTERIOR_POINTER, "a + 128");
		expect_refused(mm, &rec, a + 1, MM_ERR_INTERIOR_POINTER, "a + 1 (misaligned)");
		expect_refused(mm, &rec, a + 8, MM_ERR_INTERIOR_POINTER, "a + 8");
	}
	expect_refused(mm, &rec, a - 8, MM_ERR_INTERIOR_POINTER, "a - 8 (its size word)");
	/* The padding before the first block and the sentinel at the end are no blocks either. */
	expect_refused(mm, &rec, arena + mm_size(), MM_ERR_INTERIOR_POINTER, "pool start");
	expect_refused(mm, &rec, arena + sizeof(arena) - sizeof(size_t), MM_ERR_INTERIOR_POINTER, "sentinel");
	/* Inside a free block: a stale pointer into freed memory is a double free. */
	void *c = mm_malloc(mm, 256);
	memset(b, 0xFF, 256);
	mm_free(mm, b);
	expect_refused(mm, &rec, (char *)b + 64, MM_ERR_DOUBLE_FREE, "inside a free block");
	mm_free(mm, a);
	mm_free(mm, c);
	CHECK(rec.count == 0 && mm_validate(mm));
}

static void test_double_free(void)
{
	recorded_errors rec;
	mm_t mm = fresh(&rec);
	void *fence0 = mm_malloc(mm, 32);
	void *a = mm_malloc(mm, 100);
	void *b = mm_malloc(mm, 100);
	void *c = mm_malloc(mm, 100);
	void *fence1 = mm_malloc(mm, 32);

	/* Plain: the block is free and alone. */
	mm_free(mm, b);
	expect_refused(mm, &rec, b, MM_ERR_DOUBLE_FREE, "b twice");
	CHECK(mm_block_size(b) == 0); /* a freed block has no usable size */
	/* Absorbed into the free block before it (a freed after b: b merges into a's block). */
	mm_free(mm, a);
	expect_refused(mm, &rec, a, MM_ERR_DOUBLE_FREE, "a twice (merged with b)");
	expect_refused(mm, &rec, b, MM_ERR_DOUBLE_FREE, "b three times (merged into a)");
	/* Absorbed the other way: c freed, merging with the free a+b before it. */
	mm_free(mm, c);
	expect_refused(mm, &rec, c, MM_ERR_DOUBLE_FREE, "c twice (merged into a)");
	/* realloc after free. */
	CHECK(mm_realloc(mm, c, 50) == NULL && take_error(&rec) == MM_ERR_DOUBLE_FREE);
	mm_free(mm, fence0);
	mm_free(mm, fence1);
	expect_refused(mm, &rec, fence1, MM_ERR_DOUBLE_FREE, "last block twice (merged with the pool rest)");
	CHECK(mm_validate(mm));
	/* Everything coalesced: the whole pool in one block. */
	CHECK(mm_malloc(mm, sizeof(arena) - mm_size() - mm_pool_overhead()) != NULL);
	CHECK(rec.count == 0);
}

static void test_corrupted_header(void)
{
	recorded_errors rec;
	mm_t mm = fresh(&rec);
	/* A 1-byte overflow from a into b's header, then b freed: the header is not b's any more. */
	unsigned char *a = launder(mm_malloc(mm, 40));
	unsigned char *b = launder(mm_malloc(mm, 40));
	unsigned char *c = launder(mm_malloc(mm, 40));
	/* Bytes that leave b's header inconsistent. (One that turns it into another consistent header,
	 * say a stride that swallows c exactly, cannot be told from a real heap by any structural check:
	 * that would take canaries.) 0x70 makes b's stride end inside the free tail's payload. */
	const unsigned char bytes[] = {0x41, 0xFF, 0x00, 0x01, 0x02, 0x10, 0x70, 0x31, 0x38};
	for (size_t i = 0; i < sizeof(bytes); i++) {
		unsigned char saved = a[mm_block_size(a)];
		if (bytes[i] == saved)
			continue; /* writing the same value corrupts nothing */
		a[mm_block_size(a)] = bytes[i];
		mm_free(mm, b);
		CHECK_MSG(take_error(&rec) == MM_ERR_CORRUPTED_HEADER, "overflow byte %02x, free(b)", bytes[i]);
		CHECK(mm_realloc(mm, b, 10) == NULL && take_error(&rec) == MM_ERR_CORRUPTED_HEADER);
		CHECK(!mm_validate(mm)); /* the corruption is real: validate must see it */
		a[mm_block_size(a)] = saved;
		CHECK(mm_validate(mm));
	}
	/* Overflow into a free successor's header, then the block before it freed: the free neighbour
	 * it would absorb is not genuine, so nothing is merged. */
	mm_free(mm, b);
	unsigned char saved = a[mm_block_size(a)];
	a[mm_block_size(a)] = (unsigned char)(saved ^ 0x40); /* b's stride changes by 64 */
	mm_free(mm, a);
	CHECK(rec.count == 1 && rec.last == MM_ERR_CORRUPTED_HEADER && rec.last_ptr == a);
	take_error(&rec);
	a[mm_block_size(a)] = saved;
	CHECK(mm_validate(mm));
	/* An underflow into a block's own size word. */
	size_t word;
	memcpy(&word, c - sizeof(size_t), sizeof(word));
	memset(c - sizeof(size_t), 0, sizeof(size_t));
	mm_free(mm, c);
	CHECK(take_error(&rec) == MM_ERR_CORRUPTED_HEADER);
	memcpy(c - sizeof(size_t), &word, sizeof(word));
	/* A corrupted prev_phys of a block whose predecessor is free (the word lives at the end of the
	 * free predecessor, so a use-after-free write reaches it). */
	mm_free(mm, a); /* a and b free and merged, c after them */
	void *saved_prev;
	memcpy(&saved_prev, c - 2 * sizeof(size_t), sizeof(saved_prev));
	memset(c - 2 * sizeof(size_t), 0x5A, sizeof(void *));
	mm_free(mm, c);
	CHECK(take_error(&rec) == MM_ERR_CORRUPTED_HEADER);
	memcpy(c - 2 * sizeof(size_t), &saved_prev, sizeof(saved_prev));
	mm_free(mm, c);
	CHECK(rec.count == 0 && mm_validate(mm));
}

#endif /* MM_CHECKS >= 1 */

/* ---- Pools -------------------------------------------------------------------------------------- */

static _Alignas(64) unsigned char pools[8][4096];

static void expect_pool_error(mm_t mm, recorded_errors *rec, void *mem, size_t bytes, mm_error_t expected,
                              const char *what)
{
	CHECK_MSG(mm_add_pool(mm, mem, bytes) == NULL, "add_pool(%s) refused", what);
	CHECK_MSG(rec->count == 1 && rec->last == expected && rec->last_ptr == mem, "add_pool(%s): %s", what,
	          mm_error_string(rec->last));
	take_error(rec);
	CHECK_MSG(mm_validate(mm), "heap valid after add_pool(%s)", what);
}

static void test_pools(void)
{
	recorded_errors rec;
	mm_t mm = mm_create(arena);
	record_errors(mm, &rec);
	size_t min_pool = mm_pool_overhead() + mm_block_size_min();

	expect_pool_error(mm, &rec, NULL, 4096, MM_ERR_BAD_POOL, "NULL");
	expect_pool_error(mm, &rec, pools[0] + 1, 4000, MM_ERR_BAD_POOL, "misaligned by 1");
	expect_pool_error(mm, &rec, pools[0] + sizeof(size_t) / 2, 4000, MM_ERR_BAD_POOL, "misaligned by half a word");
	expect_pool_error(mm, &rec, pools[0], 0, MM_ERR_BAD_POOL, "0 bytes");
	expect_pool_error(mm, &rec, pools[0], min_pool - 1, MM_ERR_BAD_POOL, "one byte too small");
	expect_pool_error(mm, &rec, (void *)(UINTPTR_MAX - 4095), 8192, MM_ERR_BAD_POOL, "wrapping the address space");
	expect_pool_error(mm, &rec, pools[0], opaque_size(SIZE_MAX), MM_ERR_BAD_POOL, "SIZE_MAX bytes");
	expect_pool_error(mm, &rec, arena, 4096, MM_ERR_POOL_OVERLAP, "the control structure");
	expect_pool_error(mm, &rec, arena + mm_size() - 64, 4096, MM_ERR_POOL_OVERLAP, "the control's tail");

	/* The smallest pool: exactly one minimum block. */
	mm_pool_t smallest = mm_add_pool(mm, pools[7], min_pool);
	CHECK(smallest != NULL && rec.count == 0);
	void *only = mm_malloc(mm, mm_block_size_min());
	CHECK(only != NULL && mm_get_pool_for_ptr(mm, only) == smallest);
	mm_free(mm, only);
	CHECK(mm_remove_pool(mm, smallest) == 1);

	mm_pool_t p0 = mm_add_pool(mm, pools[0], sizeof(pools[0]));
	CHECK(p0 == (mm_pool_t)pools[0]);
	expect_pool_error(mm, &rec, pools[0], sizeof(pools[0]), MM_ERR_POOL_OVERLAP, "the same memory twice");
	expect_pool_error(mm, &rec, pools[0] + 1024, 1024, MM_ERR_POOL_OVERLAP, "inside a pool");
	expect_pool_error(mm, &rec, pools[0] + 2048, 4096, MM_ERR_POOL_OVERLAP, "over a pool's end");
	CHECK(mm_add_pool(mm, pools[2], sizeof(pools[2])) != NULL);
	/* [pools[2] - 1024, pools[2] + 1024): over pools[2]'s start, clear of pools[0] and pools[1]. */
	expect_pool_error(mm, &rec, pools[2] - 1024, 2048, MM_ERR_POOL_OVERLAP, "over a pool's start");
	expect_pool_error(mm, &rec, pools[0], 4 * 4096, MM_ERR_POOL_OVERLAP, "around two pools");
	/* Adjacent but not overlapping: fine, and blocks do not coalesce across the boundary. */
	mm_pool_t p1 = mm_add_pool(mm, pools[1], sizeof(pools[1]));
	CHECK(p1 != NULL);
	void *x = mm_malloc(mm, 3000), *y = mm_malloc(mm, 3000), *z = mm_malloc(mm, 3000);
	CHECK(x && y && z);
	CHECK(mm_malloc(mm, 5000) == NULL); /* 3 pools of 4 KiB never make one 5000-byte block */
	mm_free(mm, x);
	mm_free(mm, y);
	mm_free(mm, z);
	CHECK(mm_malloc(mm, 5000) == NULL);
	CHECK(mm_validate(mm));

	/* Removal. */
	void *held = mm_malloc(mm, 100);
	mm_pool_t holder = mm_get_pool_for_ptr(mm, held);
	CHECK(holder != NULL);
	CHECK(mm_remove_pool(mm, holder) == 0 && take_error(&rec) == MM_ERR_POOL_IN_USE);
	CHECK(mm_validate(mm));
	CHECK(mm_remove_pool(mm, (mm_pool_t)(pools[3])) == 0 && take_error(&rec) == MM_ERR_BAD_POOL);
	CHECK(mm_remove_pool(mm, (mm_pool_t)(pools[0] + 64)) == 0 && take_error(&rec) == MM_ERR_BAD_POOL);
	CHECK(mm_remove_pool(mm, NULL) == 0 && take_error(&rec) == MM_ERR_BAD_POOL);
	CHECK(mm_remove_pool(NULL, holder) == 0);
	mm_free(mm, held);
	CHECK(mm_remove_pool(mm, holder) == 1 && rec.count == 0);
	CHECK(mm_remove_pool(mm, holder) == 0 && take_error(&rec) == MM_ERR_BAD_POOL); /* twice */
	CHECK(mm_get_pool_for_ptr(mm, held) == NULL);
#if MM_CHECKS >= 1
	expect_refused(mm, &rec, held, MM_ERR_INVALID_POINTER, "a block of a removed pool");
#endif
	CHECK(mm_validate(mm));
	/* The removed memory can be added again. */
	CHECK(mm_add_pool(mm, holder, 4096) == holder);
	CHECK(mm_validate(mm));

	/* The pool table's limit. */
	mm_t lim = mm_create(other);
	recorded_errors rec2;
	record_errors(lim, &rec2);
	static _Alignas(64) unsigned char many[MM_MAX_POOLS + 1][256];
	CHECK(min_pool <= sizeof(many[0]));
	for (size_t i = 0; i < MM_MAX_POOLS; i++)
		CHECK(mm_add_pool(lim, many[i], min_pool) != NULL); /* one minimum block each */
	expect_pool_error(lim, &rec2, many[MM_MAX_POOLS], min_pool, MM_ERR_POOL_LIMIT, "one too many");
	/* Every pool serves one minimum block, each from a different pool. */
	void *blocks[MM_MAX_POOLS];
	int served[MM_MAX_POOLS] = {0};
	for (size_t i = 0; i < MM_MAX_POOLS; i++) {
		blocks[i] = mm_malloc(lim, mm_block_size_min());
		mm_pool_t from = mm_get_pool_for_ptr(lim, blocks[i]);
		CHECK(blocks[i] != NULL && from != NULL);
		if (from) {
			size_t k = (size_t)((unsigned char *)from - many[0]) / sizeof(many[0]);
			CHECK(k < MM_MAX_POOLS && (mm_pool_t)many[k] == from && !served[k]);
			served[k] = 1;
		}
	}
	CHECK(mm_malloc(lim, 1) == NULL);
	CHECK(mm_validate(lim));
#if MM_CHECKS >= 1
	/* Pointers between pools are foreign; a pointer into a pool's sentinel is not a block. */
	expect_refused(lim, &rec2, many[3] + min_pool + 64, MM_ERR_INVALID_POINTER, "between two pools");
	expect_refused(lim, &rec2, many[3] + min_pool - sizeof(size_t), MM_ERR_INTERIOR_POINTER, "a pool's sentinel");
#endif
	for (size_t i = 0; i < MM_MAX_POOLS; i++)
		mm_free(lim, blocks[i]);
	CHECK(rec2.count == 0 && mm_validate(lim));

	/* A NULL instance. */
	CHECK(mm_add_pool(NULL, pools[5], 4096) == NULL);
}

/* Without a handler the bad call is still refused and the heap stays valid (release builds; a debug
 * build aborts, which test_debug_abort checks). */
static void test_no_handler(void)
{
#if !MM_DEBUG
	mm_t mm = mm_create_with_pool(arena, sizeof(arena));
	void *a = mm_malloc(mm, 100);
	CHECK(mm_add_pool(mm, arena, 4096) == NULL);
	CHECK(mm_last_error(mm) == MM_ERR_POOL_OVERLAP);
#if MM_CHECKS >= 1
	mm_free(mm, (char *)a + 16);
	CHECK(mm_last_error(mm) == MM_ERR_INTERIOR_POINTER);
	mm_free(mm, a);
	mm_free(mm, a);
	CHECK(mm_last_error(mm) == MM_ERR_DOUBLE_FREE);
#else
	mm_free(mm, a);
#endif
	CHECK(mm_validate(mm));
#endif
}

int main(void)
{
#if MM_CHECKS >= 1
	test_foreign();
	test_interior();
	test_double_free();
	test_corrupted_header();
#endif
	test_pools();
	test_no_handler();
	return check_summary("test_misuse");
}

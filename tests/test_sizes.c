// SPDX-License-Identifier: MIT
/*
 * test_sizes.c - the size gate: sizes near SIZE_MAX (SIZE_MAX - k for every k < 4096),
 * PTRDIFF_MAX + 1 and the first size above mm_block_size_max() at every entry point that takes a
 * size or an alignment, through both APIs. Each must give NULL (a pool: a reported error), leave
 * live blocks and their contents alone, and leave the heap valid and unchanged.
 */
#include <stdint.h>

#include "../include/memoman/tlsf.h"
#include "../src/tlsf_internal.h"
#include "check.h"

static _Alignas(64) unsigned char arena[1 << 20];

typedef struct heap_shape {
	size_t used, free, bytes;
} heap_shape;

static void shape_walker(void *ptr, size_t size, int used, void *user)
{
	heap_shape *s = (heap_shape *)user;
	(void)ptr;
	s->used += used != 0;
	s->free += used == 0;
	s->bytes += used ? size : 0;
}

static heap_shape shape(mm_t mm)
{
	heap_shape s = {0, 0, 0};
	mm_walk_pool(mm_get_pool(mm), shape_walker, &s);
	return s;
}

static int same_shape(heap_shape a, heap_shape b) { return a.used == b.used && a.free == b.free && a.bytes == b.bytes; }

static int intact(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(i * 13 + 5))
			return 0;
	return 1;
}

/* Every entry point with one size that cannot be served. */
static void refuse_size(mm_t mm, unsigned char *live, size_t live_size, size_t n)
{
	heap_shape before = shape(mm);
	int ok = 1;
	ok &= mm_malloc(mm, n) == NULL;
	ok &= tlsf_malloc(mm, n) == NULL;
	ok &= mm_realloc(mm, NULL, n) == NULL;
	ok &= tlsf_realloc(mm, NULL, n) == NULL;
	ok &= mm_realloc(mm, live, n) == NULL;
	ok &= tlsf_realloc(mm, live, n) == NULL;
	for (size_t align = 1; align <= (size_t)1 << 20; align <<= 3) {
		ok &= mm_memalign(mm, align, n) == NULL;
		ok &= tlsf_memalign(mm, align, n) == NULL;
	}
	/* A huge alignment with a small size, and a huge size as the alignment. */
	if ((n & (n - 1)) == 0) {
		ok &= mm_memalign(mm, n, 16) == NULL;
		ok &= tlsf_memalign(mm, n, 16) == NULL;
	}
	CHECK_MSG(ok, "size %zu (SIZE_MAX - %zu) was served", n, SIZE_MAX - n);
	CHECK_MSG(intact(live, live_size), "live block damaged by size %zu", n);
	CHECK_MSG(same_shape(before, shape(mm)), "heap changed by size %zu", n);
}

int main(void)
{
	mm_t mm = mm_create_with_pool(arena, sizeof(arena));
	recorded_errors rec;
	record_errors(mm, &rec);
	size_t live_size = 1000;
	unsigned char *live = mm_malloc(mm, live_size);
	void *other = mm_malloc(mm, 5000);
	CHECK(live && other);
	for (size_t i = 0; i < live_size; i++)
		live[i] = (unsigned char)(i * 13 + 5);

	for (size_t k = 0; k < 4096; k++)
		refuse_size(mm, live, live_size, opaque_size(SIZE_MAX - k));
	refuse_size(mm, live, live_size, opaque_size((size_t)PTRDIFF_MAX + 1));
	refuse_size(mm, live, live_size, opaque_size((size_t)PTRDIFF_MAX));
	refuse_size(mm, live, live_size, opaque_size(mm_block_size_max() + 1));
	refuse_size(mm, live, live_size, opaque_size(mm_block_size_max() + mm_align_size()));
	/* The largest request is well-formed: it fails only for lack of memory here. */
	refuse_size(mm, live, live_size, opaque_size(mm_block_size_max()));
	/* Alignments that are powers of two near the top of size_t. */
	for (unsigned bit = 21; bit < sizeof(size_t) * 8; bit++) {
		CHECK(mm_memalign(mm, (size_t)1 << bit, 1) == NULL);
		CHECK(tlsf_memalign(mm, (size_t)1 << bit, 1) == NULL);
	}
	/* Non-powers of two near the top. */
	CHECK(mm_memalign(mm, opaque_size(SIZE_MAX), 1) == NULL &&
	      mm_memalign(mm, opaque_size(SIZE_MAX - 1), 1) == NULL);
	CHECK(mm_memalign(mm, opaque_size(((size_t)1 << 40 % (sizeof(size_t) * 8)) + 16), 1) == NULL);

	/* Pools whose size wraps the address space are refused, not truncated. */
	for (size_t k = 0; k < 4096; k += 61) {
		CHECK(mm_add_pool(mm, arena + 4096, opaque_size(SIZE_MAX - k)) == NULL);
		CHECK(take_error(&rec) == MM_ERR_BAD_POOL);
	}
	CHECK(rec.count == 0);

	/* The heap works on: the live block resizes, everything frees, the pool is whole again. */
	unsigned char *bigger = mm_realloc(mm, live, 2 * live_size);
	CHECK(bigger && intact(bigger, live_size));
	mm_free(mm, bigger);
	mm_free(mm, other);
	CHECK(mm_validate(mm) && tlsf_check(mm) == 0);
	CHECK(mm_malloc(mm, sizeof(arena) - mm_size() - mm_pool_overhead()) != NULL);
	return check_summary("test_sizes");
}

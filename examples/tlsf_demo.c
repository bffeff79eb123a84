// SPDX-License-Identifier: MIT
/*
 * demo.c - memoman's TLSF core at work on a static arena (`make demo`).
 *
 * A message-passing loop allocates, resizes and frees variable-size buffers and cache-aligned DMA
 * buffers; the demo prints what the heap looks like, then shows misuse being caught instead of
 * corrupting the heap, and a frame reset.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "memoman.h"

static _Alignas(64) unsigned char arena[256 * 1024];

typedef struct heap_map {
	size_t used, free, used_bytes, free_bytes, largest_free;
} heap_map;

static void map_block(void *ptr, size_t size, int used, void *user)
{
	heap_map *m = (heap_map *)user;
	(void)ptr;
	if (used) {
		m->used++;
		m->used_bytes += size;
	} else {
		m->free++;
		m->free_bytes += size;
		if (size > m->largest_free)
			m->largest_free = size;
	}
}

static void print_map(mm_t mm, const char *when)
{
	heap_map m = {0, 0, 0, 0, 0};
	mm_walk_pool(mm_get_pool(mm), map_block, &m);
	printf("  %-28s %4zu used (%6zu B)  %4zu free (%6zu B, largest %6zu B)  valid: %s\n", when, m.used,
	       m.used_bytes, m.free, m.free_bytes, m.largest_free, mm_validate(mm) ? "yes" : "NO");
}

static void on_error(void *mm, mm_error_t error, const void *ptr, void *user)
{
	(void)mm;
	(void)user;
	printf("  caught: %-22s at %p -> refused, heap left as it was\n", mm_error_string(error), ptr);
}

/* The misuse below writes past a block on purpose. Passing the pointer through a volatile keeps
 * compilers and sanitizers that know mm_malloc's size from stopping the demo before memoman does. */
static unsigned char *past_the_compiler(void *p)
{
	void *volatile v = p;
	return (unsigned char *)v;
}

static uint32_t next_random(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

int main(void)
{
	mm_t mm = mm_create_with_pool(arena, sizeof(arena));
	if (!mm)
		return 1;
	mm_set_error_handler(mm, on_error, NULL);
	printf("memoman %d.%d.%d TLSF core on a %zu KiB static arena\n", MEMOMAN_VERSION_MAJOR, MEMOMAN_VERSION_MINOR,
	       MEMOMAN_VERSION_PATCH, sizeof(arena) / 1024);
	printf("  control structure %zu B, per-allocation overhead %zu B, alignment %zu B,\n", mm_size(),
	       mm_alloc_overhead(), mm_align_size());
	printf("  smallest block %zu B, largest request %zu B\n\n", mm_block_size_min(), mm_block_size_max());

	/* A message loop: 64 slots of messages from 16 B to 2 KiB, replaced at random, some grown, and
	 * a 64-byte aligned DMA buffer every eighth step. */
	enum { SLOTS = 64, STEPS = 20000 };
	void *slot[SLOTS] = {0};
	void *dma[8] = {0};
	uint32_t rnd = 12345;
	size_t failures = 0;
	print_map(mm, "empty:");
	for (int step = 0; step < STEPS; step++) {
		unsigned i = next_random(&rnd) % SLOTS;
		mm_free(mm, slot[i]);
		size_t n = 16 + next_random(&rnd) % 2033;
		slot[i] = mm_malloc(mm, n);
		failures += slot[i] == NULL;
		if (slot[i])
			memset(slot[i], (int)i, n);
		if (step % 3 == 0 && slot[i]) {
			void *grown = mm_realloc(mm, slot[i], n * 2);
			if (grown)
				slot[i] = grown;
		}
		if (step % 8 == 0) {
			unsigned d = (unsigned)(step / 8) % 8;
			mm_free(mm, dma[d]);
			dma[d] = mm_memalign(mm, 64, 1500);
			failures += dma[d] == NULL || ((uintptr_t)dma[d] & 63) != 0;
		}
		if (step == 1000)
			print_map(mm, "after 1000 steps:");
	}
	print_map(mm, "after 20000 steps:");
	printf("  failed allocations: %zu\n\n", failures);

	/* Frame reset: everything goes at once, in time bounded by the number of pools. */
	mm_reset(mm);
	print_map(mm, "after mm_reset:");
	printf("\n");

	printf("Misuse is reported, not absorbed:\n");
	int on_stack = 0;
	unsigned char *a = past_the_compiler(mm_malloc(mm, 40));
	unsigned char *b = mm_malloc(mm, 40); /* right after a: the heap was just reset */
	mm_free(mm, &on_stack);               /* not from this heap */
	mm_free(mm, a + 16);                  /* inside a block */
	void *once = mm_malloc(mm, 100);
	mm_free(mm, once);
	mm_free(mm, once); /* twice */
	unsigned char saved = a[mm_block_size(a)];
	a[mm_block_size(a)] = 0x41; /* one byte past a's end: into b's header */
	mm_free(mm, b);
	a[mm_block_size(a)] = saved; /* (repaired, for the rest of the demo) */
	mm_free(mm, b);
	mm_free(mm, a);
	print_map(mm, "after the misuse:");
	return mm_validate(mm) ? 0 : 1;
}

// SPDX-License-Identifier: MIT
/*
 * test_malloc_random.c - libmemoman-malloc against a model, one thread: random malloc, calloc,
 * realloc, aligned allocations and frees over every size range (classes, zones, the large region,
 * huge blocks), each block filled with a pattern checked before it is freed or resized, never
 * overlapping another live block, aligned as asked, its usable size at least what was asked.
 * In a debug build (MM_DEBUG) the library also checks a page's free list every MM_VALIDATE_INTERVAL calls.
 *
 *   test_malloc_random [seed] [steps]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memoman-malloc.h"
#include "names.h"

static int failures;
#define CHECK(c)                                                                                                       \
	do {                                                                                                           \
		if (!(c) && failures++ < 20)                                                                           \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);                          \
	} while (0)

static uint64_t state;
static uint64_t next_random(void)
{
	uint64_t z = (state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

typedef struct live {
	unsigned char *p;
	size_t size, align;
	unsigned char seed;
} live;

#define SLOTS 512
static live slots[SLOTS];

/* Every 7th byte and the last one: enough to see an overlap or a lost copy. */
static void fill(const live *l)
{
	for (size_t i = 0; i + 1 < l->size; i += 7)
		l->p[i] = (unsigned char)(l->seed + i);
	if (l->size)
		l->p[l->size - 1] = (unsigned char)(l->seed ^ 0x5A);
}

/* Are the first n bytes of l's pattern (n <= l->size) found at p? */
static int intact_at(const unsigned char *p, const live *l, size_t n)
{
	for (size_t i = 0; i + 1 < l->size && i < n; i += 7)
		if (p[i] != (unsigned char)(l->seed + i))
			return 0;
	return n < l->size || !l->size || p[l->size - 1] == (unsigned char)(l->seed ^ 0x5A);
}

static int intact(const live *l, size_t n) { return intact_at(l->p, l, n); }

static size_t random_size(void)
{
	uint64_t r = next_random();
	switch (r % 16) {
	case 0: return (size_t)(r >> 8) % 17;              /* tiny, zero included */
	case 1: return 1024 + (size_t)(r >> 8) % 16000;    /* medium classes */
	case 2: return 16384 + (size_t)(r >> 8) % 1100000; /* zones */
	case 3:
		return (r >> 8) % 8 ? 16 + (size_t)(r >> 8) % 300
		                    : ((size_t)1 << 20) + (size_t)(r >> 12) % ((size_t)40 << 20); /* large, huge */
	default: return 1 + (size_t)(r >> 8) % 1024;                                              /* small */
	}
}

static void check_new(size_t k, unsigned char *p, size_t size, size_t align)
{
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK(((uintptr_t)p & (align - 1)) == 0);
	if (size >= 16)
		CHECK(((uintptr_t)p & 15) == 0);
	CHECK(malloc_usable_size(p) >= size);
	for (size_t i = 0; i < SLOTS; i++) {
		const live *o = &slots[i];
		if (i == k || !o->p)
			continue;
		size_t a = size ? size : 1, b = o->size ? o->size : 1;
		CHECK(!(p < o->p + b && o->p < p + a));
	}
}

int main(int argc, char **argv)
{
	state = argc > 1 ? strtoull(argv[1], NULL, 0) : 77;
	long steps = argc > 2 ? atol(argv[2]) : 60000;
	printf("seed %llu\n", (unsigned long long)state);
	for (long step = 0; step < steps && failures < 20; step++) {
		size_t k = (size_t)(next_random() % SLOTS);
		live *l = &slots[k];
		uint64_t op = next_random() % 10;
		if (l->p) {
			CHECK(intact(l, l->size));
			if (op < 3) { /* realloc */
				size_t n = random_size();
				unsigned char *q = realloc(l->p, n);
				if (n == 0) {
					CHECK(q == NULL);
					l->p = NULL;
					continue;
				}
				size_t keep = n < l->size ? n : l->size;
				if (q) {
					CHECK(intact_at(q, l, keep));
					l->p = NULL;
					check_new(k, q, n, 16);
					*l = (live){q, n, 1, (unsigned char)next_random()};
					fill(l);
				} else {
					CHECK(intact(l, l->size)); /* a failed realloc leaves the block */
				}
				continue;
			}
			free(l->p);
			l->p = NULL;
			continue;
		}
		size_t size = random_size(), align = 1;
		unsigned char *p;
		if (op < 2) {
			p = calloc(1, size);
			for (size_t i = 0; p && i < size; i += 61)
				CHECK(p[i] == 0);
		} else if (op < 4) {
			align = (size_t)1 << (next_random() % 24);
			p = aligned_alloc(align, size);
		} else {
			p = malloc(size);
		}
		check_new(k, p, size, align);
		*l = (live){p, size, align, (unsigned char)next_random()};
		if (p)
			fill(l);
	}
	for (size_t k = 0; k < SLOTS; k++)
		if (slots[k].p) {
			CHECK(intact(&slots[k], slots[k].size));
			free(slots[k].p);
		}
	memoman_malloc_stats st;
	CHECK(memoman_malloc_get_stats(&st));
	printf("test_malloc_random: %s (live %zu, mapped %zu)\n", failures ? "FAILED" : "all checks passed", st.live,
	       st.mapped);
	return failures != 0;
}

// SPDX-License-Identifier: MIT
/*
 * test_tlsf_compat.c - a program written for TLSF 3.1, using all twenty functions of its API through
 * memoman/tlsf.h, with TLSF 3.1's documented behaviour where memoman keeps it (zero sizes, the pool
 * handle of tlsf_create_with_pool, the walker's arguments, tlsf_check's sign).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "memoman/tlsf.h"

static int failures;
#define EXPECT(cond)                                                                                                   \
	do {                                                                                                           \
		if (!(cond)) {                                                                                         \
			failures++;                                                                                    \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond);                                     \
		}                                                                                                      \
	} while (0)

static _Alignas(64) unsigned char memory[1 << 18];
static _Alignas(64) unsigned char extra[1 << 16];

typedef struct tally {
	int used, free;
	size_t bytes;
} tally;

static void count(void *ptr, size_t size, int used, void *user)
{
	tally *t = (tally *)user;
	EXPECT(ptr != NULL && size >= tlsf_block_size_min());
	if (used)
		t->used++;
	else
		t->free++;
	t->bytes += size;
}

int main(void)
{
	/* Sizes and limits. */
	EXPECT(tlsf_size() > 0 && tlsf_size() % tlsf_align_size() == 0);
	EXPECT(tlsf_align_size() >= sizeof(void *) && (tlsf_align_size() & (tlsf_align_size() - 1)) == 0);
	EXPECT(tlsf_block_size_min() >= 2 * sizeof(void *));
	/* As TLSF 3.1: blocks up to about 2^30 on 32-bit targets (both default to a first-level limit of
	 * 30 there; memoman's largest request is one class step below it), far more on 64-bit. */
	EXPECT(tlsf_block_size_max() > ((size_t)1 << 29));
	EXPECT(tlsf_pool_overhead() > 0 && tlsf_alloc_overhead() == sizeof(size_t));

	/* tlsf_create_with_pool: the pool sits right after the control structure. */
	tlsf_t t = tlsf_create_with_pool(memory, sizeof(memory));
	EXPECT(t != NULL);
	pool_t pool = tlsf_get_pool(t);
	EXPECT(pool == (pool_t)(memory + tlsf_size()));
	EXPECT(tlsf_check(t) == 0 && tlsf_check_pool(pool) == 0);

	/* TLSF 3.1's zero-size behaviour is kept. */
	EXPECT(tlsf_malloc(t, 0) == NULL);
	EXPECT(tlsf_memalign(t, 64, 0) == NULL);
	void *p = tlsf_malloc(t, 10);
	EXPECT(tlsf_realloc(t, p, 0) == NULL); /* frees */
	EXPECT(tlsf_realloc(t, NULL, 0) == NULL);
	tlsf_free(t, NULL);
	EXPECT(tlsf_block_size(NULL) == 0);

	/* Ordinary use. */
	char *s = tlsf_malloc(t, 100);
	EXPECT(s && tlsf_block_size(s) >= 100);
	strcpy(s, "two-level segregated fit");
	s = tlsf_realloc(t, s, 5000);
	EXPECT(s && strcmp(s, "two-level segregated fit") == 0);
	void *aligned = tlsf_memalign(t, 256, 300);
	EXPECT(aligned && ((uintptr_t)aligned & 255) == 0);
	tally w = {0, 0, 0};
	tlsf_walk_pool(pool, count, &w);
	EXPECT(w.used == 2 && w.free >= 1);

	/* A second pool, used once the first is full, and removed when empty again. */
	pool_t second = tlsf_add_pool(t, extra, sizeof(extra));
	EXPECT(second == (pool_t)extra);
	void *big = tlsf_malloc(t, sizeof(memory) - tlsf_size() - 20000); /* most of the first pool */
	void *from_second = tlsf_malloc(t, 30000);
	EXPECT(big && from_second);
	EXPECT((unsigned char *)from_second >= extra && (unsigned char *)from_second < extra + sizeof(extra));
	EXPECT(tlsf_check(t) == 0 && tlsf_check_pool(second) == 0);
	tlsf_free(t, from_second);
	tlsf_remove_pool(t, second);
	EXPECT(tlsf_malloc(t, 30000) == NULL); /* the second pool is gone */
	EXPECT(tlsf_check(t) == 0);

	tlsf_free(t, big);
	tlsf_free(t, aligned);
	tlsf_free(t, s);
	w.used = w.free = 0;
	w.bytes = 0;
	tlsf_walk_pool(pool, count, &w);
	EXPECT(w.used == 0 && w.free == 1);
	tlsf_destroy(t);

	/* tlsf_create then tlsf_add_pool, as TLSF 3.1 programs do. */
	t = tlsf_create(memory);
	EXPECT(t == (tlsf_t)memory);
	EXPECT(tlsf_add_pool(t, memory + tlsf_size(), sizeof(memory) - tlsf_size()) != NULL);
	EXPECT(tlsf_get_pool(t) == (pool_t)(memory + tlsf_size()));
	void *q = tlsf_malloc(t, 1234);
	EXPECT(q != NULL && tlsf_check(t) == 0);
	tlsf_free(t, q);
	/* A damaged heap gives a nonzero (negative) tlsf_check, as in TLSF 3.1. */
	unsigned char *r = tlsf_malloc(t, 64);
	unsigned char *next_header = r + tlsf_block_size(r);
	unsigned char saved = *next_header;
	*next_header ^= 0x48;
	EXPECT(tlsf_check(t) < 0);
	*next_header = saved;
	EXPECT(tlsf_check(t) == 0);
	tlsf_destroy(t);

	printf("test_tlsf_compat: %d failed\n", failures);
	return failures ? 1 : 0;
}

// SPDX-License-Identifier: MIT
/*
 * tlsf31_program.c - a program written for TLSF 3.1 and nothing else: it includes "tlsf.h", calls only
 * tlsf_* functions, and is plain C89. The packaging tests build it unchanged
 * against memoman every way a user can: the amalgamation (tlsf.c + tlsf.h) with a bare `cc`,
 * pkg-config memoman-tlsf, and CMake's memoman::tlsf.
 */
#include "tlsf.h"

#include <stdio.h>
#include <string.h>

static double arena[8192]; /* 64 KiB, aligned for any TLSF */
static double extra[4096];

static int blocks, used_blocks;

static void count(void *ptr, size_t size, int used, void *user)
{
	(void)ptr;
	(void)size;
	(void)user;
	blocks++;
	used_blocks += used != 0;
}

int main(void)
{
	tlsf_t t;
	pool_t pool, second;
	char *a, *b, *c;
	int failures = 0;

	t = tlsf_create_with_pool(arena, sizeof(arena));
	if (!t) {
		puts("tlsf31_program: tlsf_create_with_pool failed");
		return 1;
	}
	pool = tlsf_get_pool(t);
	second = tlsf_add_pool(t, extra, sizeof(extra));

	a = (char *)tlsf_malloc(t, 100);
	b = (char *)tlsf_memalign(t, 256, 1000);
	c = (char *)tlsf_malloc(t, 0); /* TLSF 3.1: NULL */
	failures += !a || !b || c != NULL;
	failures += b && ((size_t)b % 256) != 0;
	failures += a && tlsf_block_size(a) < 100;
	if (a) {
		memset(a, 'x', 100);
		a = (char *)tlsf_realloc(t, a, 5000);
		failures += !a || a[99] != 'x';
	}
	failures += tlsf_check(t) != 0 || tlsf_check_pool(pool) != 0;
	tlsf_walk_pool(pool, count, NULL);
	if (second)
		tlsf_walk_pool(second, count, NULL);
	failures += blocks < 3 || used_blocks != 2;
	failures += tlsf_size() == 0 || tlsf_align_size() < sizeof(void *) || tlsf_block_size_min() == 0;
	failures += tlsf_block_size_max() <= tlsf_block_size_min() || tlsf_pool_overhead() == 0;
	failures += tlsf_alloc_overhead() == 0;
	failures += tlsf_realloc(t, b, 0) != NULL; /* frees b */
	tlsf_free(t, a);
	if (second)
		tlsf_remove_pool(t, second);
	failures += !second || tlsf_check(t) != 0;
	tlsf_destroy(t);
	puts(failures ? "tlsf31_program: FAILED" : "tlsf31_program: ok");
	return failures != 0;
}

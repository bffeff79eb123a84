// SPDX-License-Identifier: MIT
/*
 * buggy_malloc.c - buggy.c's bugs made with libmemoman-malloc's blocks, for tests/tools/run.sh:
 * run under memcheck with libmemoman-malloc in LD_PRELOAD (and Valgrind told not to replace malloc),
 * or, built with MM_TEST_PREFIXED and AddressSanitizer, on the prefixed copy (mmt_malloc ...), since
 * ASan brings its own malloc.
 *
 *   buggy_malloc <size> <bug>
 *   size: the block's size: 24 (a class block), 3000 (a larger class), 100000 (a zone),
 *         2000000 (the large region), 50000000 (a huge block)
 *   bug:  overflow, after, leak (as buggy.c), uninit (a branch on a byte never written: memcheck
 *         only), none (correct use of malloc, realloc, calloc, posix_memalign, malloc_usable_size)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../malloc/names.h"

static volatile unsigned char sink;
static void *volatile keep;

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: buggy_malloc <size> overflow|after|leak|uninit|none\n");
		return 2;
	}
	size_t n = strtoul(argv[1], NULL, 10);
	const char *bug = argv[2];
	unsigned char *p = malloc(n);
	if (!p)
		return 2;
	memset(p, 1, n);
	if (strcmp(bug, "overflow") == 0) {
		p[n] = 2;
	} else if (strcmp(bug, "after") == 0) {
		free(p);
		sink = p[3];
		return 0;
	} else if (strcmp(bug, "leak") == 0) {
		keep = malloc(n);
		memset(keep, 3, n);
		keep = NULL;
	} else if (strcmp(bug, "uninit") == 0) {
		unsigned char *q = malloc(n);
		if (q[n - 1] == 7)
			sink = 1;
		free(q);
	} else {
		p = realloc(p, 2 * n);
		memset(p + n, 4, n);
		sink = p[2 * n - 1];
		p = realloc(p, n / 2);
		sink = p[n / 2 - 1];
		size_t usable = malloc_usable_size(p);
		p[usable - 1] = 5; /* the whole usable size is the program's */
		unsigned char *c = calloc(n, 2);
		sink = c[2 * n - 1];
		free(c);
		void *a;
		if (posix_memalign(&a, 64, n) == 0) {
			memset(a, 1, n);
			free(a);
		}
	}
	free(p);
	return 0;
}

// SPDX-License-Identifier: MIT
/*
 * buggy.c - a program with one memory bug of a kind, made on a memoman instance over a static array
 * (as firmware does), for tests/tools/run.sh: run under Valgrind's memcheck or built with
 * AddressSanitizer, the checker must report it as it would for malloc's blocks.
 *
 *   buggy <layer> <bug>
 *   layer: tlsf (mm_malloc), fixed (mm_fixed_alloc), heap (mm_heap_malloc; small blocks come from
 *          its classes, 3000-byte ones from its TLSF remainder: heap-large)
 *   bug:   overflow  a write one byte past the bytes asked for (fixed: past the block)
 *          after     a read of a freed block
 *          leak      a block nobody points to at exit
 *          none      correct use: allocate, realloc, write, read, free (must give no report)
 * Exit status: 0 (the checker's own status tells what it found).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memoman.h"

static _Alignas(16) unsigned char arena[64 * 1024];
static volatile unsigned char sink;
static void *volatile keep; /* a pointer the compiler cannot drop */

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: buggy tlsf|fixed|heap|heap-large overflow|after|leak|none\n");
		return 2;
	}
	const char *layer = argv[1], *bug = argv[2];
	size_t n = strcmp(layer, "heap-large") == 0 ? 3000 : 24;
	void *(*alloc)(void *, size_t);
	void (*release)(void *, void *);
	void *inst;
	if (strcmp(layer, "tlsf") == 0) {
		inst = mm_create_with_pool(arena, sizeof(arena));
		alloc = (void *(*)(void *, size_t))mm_malloc;
		release = (void (*)(void *, void *))mm_free;
	} else if (strcmp(layer, "fixed") == 0) {
		inst = mm_fixed_create(arena, sizeof(arena), n, 0, 0);
		alloc = NULL;
		release = NULL;
	} else {
		mm_heap_config cfg = {.n_classes = 2, .remainder = 8192};
		cfg.classes[0].size = 32;
		cfg.classes[0].count = 64;
		cfg.classes[1].size = 64;
		cfg.classes[1].count = 32;
		inst = mm_heap_create(arena, sizeof(arena), &cfg);
		alloc = (void *(*)(void *, size_t))mm_heap_malloc;
		release = (void (*)(void *, void *))mm_heap_free;
	}
	if (!inst) {
		fprintf(stderr, "buggy: no instance\n");
		return 2;
	}
#define ALLOC(size) (alloc ? alloc(inst, (size)) : mm_fixed_alloc((mm_fixed_t)inst))
#define RELEASE(p) (release ? release(inst, (p)) : mm_fixed_free((mm_fixed_t)inst, (p)))
	unsigned char *p = ALLOC(n);
	if (!p)
		return 2;
	memset(p, 1, n);
	if (strcmp(bug, "overflow") == 0) {
		p[n] = 2;
	} else if (strcmp(bug, "after") == 0) {
		RELEASE(p);
		sink = p[3];
		return 0;
	} else if (strcmp(bug, "leak") == 0) {
		keep = ALLOC(n);
		memset(keep, 3, n);
		keep = NULL;
	} else if (strcmp(layer, "tlsf") == 0) {
		p = mm_realloc((mm_t)inst, p, 2 * n);
		memset(p + n, 4, n);
		sink = p[2 * n - 1];
		p = mm_realloc((mm_t)inst, p, n / 2);
		sink = p[n / 2 - 1];
	} else if (strcmp(layer, "heap") == 0 || strcmp(layer, "heap-large") == 0) {
		p = mm_heap_realloc((mm_heap_t)inst, p, 2 * n);
		memset(p + n, 4, n);
		sink = p[2 * n - 1];
	}
	RELEASE(p);
	return 0;
}

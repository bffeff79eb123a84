// SPDX-License-Identifier: MIT
/*
 * early.c - a shared library whose constructor runs before libmemoman-malloc's own (with
 * LD_PRELOAD, an independent library loaded later is set up first) and calls the entry points that
 * do not allocate — free(NULL), malloc_usable_size(NULL), free_sized(NULL, 0) — before any malloc:
 * they must do nothing, not read state that set-up has not made yet.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

void *volatile mm_early_pointer; /* NULL, but the compiler cannot know it */
int mm_early_ok;

__attribute__((constructor)) static void early(void)
{
	free(mm_early_pointer);
	size_t n = malloc_usable_size(mm_early_pointer);
	void *p = realloc(mm_early_pointer, 10); /* the first allocation, through realloc */
	free(p);
	mm_early_ok = n == 0 && p != NULL;
}

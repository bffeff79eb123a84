// SPDX-License-Identifier: MIT
/* consumer_malloc.c - a user program linked with an installed libmemoman-malloc (shared or static,
 * through CMake's memoman::malloc / memoman::malloc_static or pkg-config memoman-malloc): its malloc
 * must be memoman's, which the allocator's own statistics show. */
#include <memoman-malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	memoman_malloc_stats stats;
	char *p = (char *)malloc(100);
	int ok;
	if (p)
		memset(p, 1, 100);
	ok = p && memoman_malloc_get_stats(&stats) && stats.live >= 100 && stats.mapped > 0;
	free(p);
	puts(ok ? "consumer_malloc: ok" : "consumer_malloc: FAILED (malloc is not memoman's)");
	return ok ? 0 : 1;
}

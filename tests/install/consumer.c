// SPDX-License-Identifier: MIT
/* A user program against an installed memoman. */
#include <memoman.h>
#include <memoman/tlsf.h>
#include <stdio.h>

static _Alignas(16) unsigned char arena[65536];

int main(void)
{
	mm_t mm = mm_create_with_pool(arena, sizeof(arena));
	void *p = mm_malloc(mm, 1000);
	void *q = tlsf_malloc(mm, 1000);
	int ok = mm && p && q && mm_validate(mm);
	mm_free(mm, p);
	tlsf_free(mm, q);
	puts(ok ? "consumer: ok" : "consumer: FAILED");
	return ok ? 0 : 1;
}

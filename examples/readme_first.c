// SPDX-License-Identifier: MIT
/* The README's first example: a TLSF instance over a static buffer, typed handles, and a double
 * free reported to the error handler and refused. The tests build and run it. */
#include "memoman.h"
#include <stdio.h>

static _Alignas(16) unsigned char buf[64 * 1024];

static void on_error(void *instance, mm_error_t e, const void *ptr, void *user)
{
	(void)instance, (void)user;
	printf("memoman: %s at %p\n", mm_error_string(e), ptr);
}

int main(void)
{
	mm_t mm = mm_create_with_pool(buf, sizeof(buf)); /* a TLSF instance over buf */
	if (!mm)
		return 1; /* mm_create_error(buf, sizeof(buf)) says why */
	mm_set_error_handler(mm, on_error, NULL);
	void *p = mm_malloc(mm, 100);
	p = mm_realloc(mm, p, 200);
	mm_free(mm, p);
	mm_free(mm, p); /* a double free: reported (MM_ERR_DOUBLE_FREE) and refused */
	return mm_last_error(mm) == MM_ERR_DOUBLE_FREE && mm_validate(mm) ? 0 : 1;
}

// SPDX-License-Identifier: MIT
/* The "Minimal Example" of memoman's README (seed 000), unchanged: it must compile and run. */
#include "memoman.h"
#include <stdint.h>

int main(void)
{
	static uint8_t arena[1024 * 1024] __attribute__((aligned(16)));

	tlsf_t mm = mm_create_with_pool(arena, sizeof(arena));
	if (!mm)
		return 1;

	void *p = mm_malloc(mm, 128);
	if (!p)
		return 1;

	p = mm_realloc(mm, p, 256);
	mm_free(mm, p);

	if (!mm_validate(mm))
		return 1;
	mm_destroy(mm); /* no-op by design */
	return 0;
}

// SPDX-License-Identifier: MIT
/* The "Multiple Pools" snippet of memoman's README (seed 000), inside a main that checks it did what it
 * says; the request is 63 KiB (the snippet's 60 KiB fits in pool1 where the control structure is
 * small, as on 32-bit targets). */
#include "memoman.h"
#include <stdint.h>

int main(void)
{
	uint8_t pool1[64 * 1024] __attribute__((aligned(16)));
	uint8_t pool2[64 * 1024] __attribute__((aligned(16)));

	tlsf_t mm = mm_create_with_pool(pool1, sizeof(pool1));
	pool_t pool = mm_add_pool(mm, pool2, sizeof(pool2));

	if (!mm || !pool)
		return 1;
	/* Larger than what is left of pool1 after the control structure: served from pool2. */
	void *big = mm_malloc(mm, 63 * 1024);
	if (!big || mm_get_pool_for_ptr(mm, big) != pool)
		return 1;
	mm_free(mm, big);
	return mm_validate(mm) ? 0 : 1;
}

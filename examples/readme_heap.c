// SPDX-License-Identifier: MIT
/* The README's heap example: a buffer sized for a stated workload, a heap that can then never fail
 * on it, a fixed pool beside it, and the statistics. The tests build and run it. */
#include "memoman.h"
#include <stdio.h>

static void on_error(void *instance, mm_error_t e, const void *ptr, void *user)
{
	(void)instance;
	printf("error: %s at %p\n", mm_error_string(e), ptr);
	*(mm_error_t *)user = e;
}

int main(void)
{
	/* The workload: at most 32 live messages of up to 48 bytes and 8 live frames of up to 4 KiB. */
	mm_heap_workload w[] = {{48, 32}, {4096, 8}};
	mm_heap_config cfg;
	size_t need = mm_heap_required_size(w, 2, &cfg);

	static _Alignas(64) unsigned char buf[64 * 1024];
	if (need == 0 || need > sizeof(buf))
		return 1;
	mm_heap_t h = mm_heap_create(buf, need, &cfg);
	if (!h)
		return 1;

	void *msg[32], *frame[8];
	for (int i = 0; i < 8; i++)
		frame[i] = mm_heap_malloc(h, 4096);
	for (int i = 0; i < 32; i++)
		msg[i] = mm_heap_malloc(h, 48); /* never NULL: the guarantee of mm_heap_required_size */
	for (int i = 0; i < 32; i++)
		if (!msg[i])
			return 1;

	mm_stats st;
	mm_get_stats(h, &st);
	printf("buffer %zu B, %zu blocks in use, %zu B in use, peak %zu B\n", need, st.blocks_in_use, st.in_use,
	       st.peak_in_use);
	for (int i = 0; i < 32; i++)
		mm_heap_free(h, msg[i]);
	for (int i = 0; i < 8; i++)
		mm_heap_free(h, frame[i]);

	/* A fixed pool of 64-byte blocks aligned to 64: a pop and a push each, checked by default. */
	static _Alignas(64) unsigned char pool_mem[8 * 1024];
	mm_fixed_t pool = mm_fixed_create(pool_mem, sizeof(pool_mem), 64, 64, MM_FIXED_BITMAP);
	mm_error_t seen = MM_OK;
	mm_set_error_handler(pool, on_error, &seen);
	void *b = mm_fixed_alloc(pool);
	mm_fixed_free(pool, b);
	mm_fixed_free(pool, b); /* a double free: reported to the handler and refused */
	return seen == MM_ERR_DOUBLE_FREE && mm_heap_validate(h) && mm_fixed_validate(pool) ? 0 : 1;
}

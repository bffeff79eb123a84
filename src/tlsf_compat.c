// SPDX-License-Identifier: MIT
/*
 * tlsf_compat.c - TLSF 3.1's API (include/memoman/tlsf.h) over the memoman core.
 *
 * Each function forwards to its mm_* twin; only TLSF 3.1's choices for zero sizes are kept here
 * (malloc(0) and memalign(a, 0) give NULL), since mm_malloc(0) returns a unique block.
 */
#include "../include/memoman/tlsf.h"
#include "../include/memoman.h"

tlsf_t tlsf_create(void *mem) { return mm_create(mem); }
tlsf_t tlsf_create_with_pool(void *mem, size_t bytes) { return mm_create_with_pool(mem, bytes); }
void tlsf_destroy(tlsf_t tlsf) { mm_destroy(tlsf); }
pool_t tlsf_get_pool(tlsf_t tlsf) { return mm_get_pool(tlsf); }

pool_t tlsf_add_pool(tlsf_t tlsf, void *mem, size_t bytes) { return mm_add_pool(tlsf, mem, bytes); }
void tlsf_remove_pool(tlsf_t tlsf, pool_t pool) { (void)mm_remove_pool(tlsf, pool); }

void *tlsf_malloc(tlsf_t tlsf, size_t bytes) { return bytes ? mm_malloc(tlsf, bytes) : NULL; }
void *tlsf_memalign(tlsf_t tlsf, size_t align, size_t bytes) { return bytes ? mm_memalign(tlsf, align, bytes) : NULL; }
void *tlsf_realloc(tlsf_t tlsf, void *ptr, size_t size)
{
	if (size == 0) { /* TLSF 3.1: free (ignoring NULL) and return NULL, never malloc(0) */
		mm_free(tlsf, ptr);
		return NULL;
	}
	return mm_realloc(tlsf, ptr, size);
}
void tlsf_free(tlsf_t tlsf, void *ptr) { mm_free(tlsf, ptr); }
size_t tlsf_block_size(void *ptr) { return mm_block_size(ptr); }

size_t tlsf_size(void) { return mm_size(); }
size_t tlsf_align_size(void) { return mm_align_size(); }
size_t tlsf_block_size_min(void) { return mm_block_size_min(); }
size_t tlsf_block_size_max(void) { return mm_block_size_max(); }
size_t tlsf_pool_overhead(void) { return mm_pool_overhead(); }
size_t tlsf_alloc_overhead(void) { return mm_alloc_overhead(); }

void tlsf_walk_pool(pool_t pool, tlsf_walker walker, void *user) { mm_walk_pool(pool, walker, user); }
int tlsf_check(tlsf_t tlsf) { return mm_check(tlsf); }
int tlsf_check_pool(pool_t pool) { return mm_check_pool(pool); }

// SPDX-License-Identifier: MIT
/*
 * memoman/tlsf.h - the TLSF 3.1 API (Matthew Conte's tlsf.h), served by memoman.
 *
 * A program written for TLSF 3.1 builds against this header unchanged and behaves the same, except
 * where TLSF 3.1 was wrong:
 *   - sizes near SIZE_MAX, and tlsf_memalign's size + alignment, no longer wrap around to a tiny
 *     block: every call returns NULL for a size it cannot serve;
 *   - tlsf_realloc(p, huge) returns NULL and leaves p and its contents intact;
 *   - a pool of exactly the maximum block size no longer corrupts the control structure; a larger
 *     one is clamped; overlapping, duplicate and misaligned pools are rejected (NULL);
 *   - a freed block is found again by a request of the same size;
 *   - tlsf_check also checks free-list back-links, cycles, used blocks in lists and every header of
 *     every pool (a 1-byte overflow into the next header is caught);
 *   - tlsf_memalign with an alignment that is not a power of two returns NULL;
 *   - tlsf_free / tlsf_realloc of a pointer that is not a live block is refused and reported through
 *     mm_set_error_handler (see memoman.h) instead of corrupting the heap;
 *   - pointers are aligned to alignof(max_align_t) (16 on x86-64), not 8: build with
 *     -DMM_ALIGNMENT=8 for TLSF 3.1's alignment and block sizes.
 * Kept as TLSF 3.1 has them: tlsf_malloc(t, 0) and tlsf_memalign(t, a, 0) return NULL;
 * tlsf_realloc(t, p, 0) frees p and returns NULL; tlsf_destroy does nothing.
 *
 * Each function is the memoman function of the same name (tlsf_malloc is mm_malloc, ...); the
 * contracts are in memoman.h. tlsf_t and pool_t are memoman's mm_t and mm_pool_t, untyped.
 *
 * Under TLSF 3.1's own name, `#include "tlsf.h"`: include/memoman-tlsf/tlsf.h forwards here, from a
 * folder that holds nothing else (pkg-config memoman-tlsf and CMake's memoman::tlsf put it on the
 * include path); `make amalgamation` writes this header as tlsf.h beside a one-file tlsf.c.
 */
#ifndef MEMOMAN_TLSF_H
#define MEMOMAN_TLSF_H

#include <stddef.h>

#if defined(__cplusplus)
extern "C" {
#endif

/* tlsf_t: a TLSF structure. Can contain 1 to N pools. */
/* pool_t: a block of memory that TLSF can manage. */
/* Also declared by memoman.h; C99 does not allow the same typedef twice. */
#ifndef MM_TLSF_HANDLES_DEFINED
#define MM_TLSF_HANDLES_DEFINED
typedef void *tlsf_t;
typedef void *pool_t;
#endif

/* Create/destroy a memory pool. */
tlsf_t tlsf_create(void *mem);
tlsf_t tlsf_create_with_pool(void *mem, size_t bytes);
void tlsf_destroy(tlsf_t tlsf);
pool_t tlsf_get_pool(tlsf_t tlsf);

/* Add/remove memory pools. */
pool_t tlsf_add_pool(tlsf_t tlsf, void *mem, size_t bytes);
void tlsf_remove_pool(tlsf_t tlsf, pool_t pool);

/* malloc/memalign/realloc/free replacements. */
void *tlsf_malloc(tlsf_t tlsf, size_t bytes);
void *tlsf_memalign(tlsf_t tlsf, size_t align, size_t bytes);
void *tlsf_realloc(tlsf_t tlsf, void *ptr, size_t size);
void tlsf_free(tlsf_t tlsf, void *ptr);

/* Returns internal block size, not original request size */
size_t tlsf_block_size(void *ptr);

/* Overheads/limits of internal structures. */
size_t tlsf_size(void);
size_t tlsf_align_size(void);
size_t tlsf_block_size_min(void);
size_t tlsf_block_size_max(void);
size_t tlsf_pool_overhead(void);
size_t tlsf_alloc_overhead(void);

/* Debugging. */
typedef void (*tlsf_walker)(void *ptr, size_t size, int used, void *user);
void tlsf_walk_pool(pool_t pool, tlsf_walker walker, void *user);
/* Returns nonzero if any internal consistency check fails. */
int tlsf_check(tlsf_t tlsf);
int tlsf_check_pool(pool_t pool);

#if defined(__cplusplus)
}
#endif

#endif /* MEMOMAN_TLSF_H */

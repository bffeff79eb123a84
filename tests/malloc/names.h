// SPDX-License-Identifier: MIT
/*
 * names.h - included last by the malloc tests. Built with MM_TEST_PREFIXED, the tests call the
 * prefixed copy of libmemoman-malloc (mmt_malloc, ...), which sanitizer builds need, since
 * AddressSanitizer and ThreadSanitizer bring their own malloc; otherwise the standard names, which
 * the test program gets from libmemoman-malloc by linking it.
 */
#ifndef MEMOMAN_TEST_MALLOC_NAMES_H
#define MEMOMAN_TEST_MALLOC_NAMES_H

#include <stddef.h>

#ifdef MM_TEST_PREFIXED
void *mmt_malloc(size_t n);
void *mmt_calloc(size_t count, size_t size);
void mmt_free(void *ptr);
void mmt_free_sized(void *ptr, size_t size);
void mmt_free_aligned_sized(void *ptr, size_t align, size_t size);
size_t mmt_malloc_usable_size(void *ptr);
void *mmt_realloc(void *ptr, size_t n);
void *mmt_reallocarray(void *ptr, size_t count, size_t size);
int mmt_posix_memalign(void **memptr, size_t align, size_t n);
void *mmt_aligned_alloc(size_t align, size_t n);
void *mmt_memalign(size_t align, size_t n);
void *mmt_valloc(size_t n);
void *mmt_pvalloc(size_t n);
int mmt_malloc_trim(size_t pad);
#define malloc mmt_malloc
#define calloc mmt_calloc
#define free mmt_free
#define free_sized mmt_free_sized
#define free_aligned_sized mmt_free_aligned_sized
#define malloc_usable_size mmt_malloc_usable_size
#define realloc mmt_realloc
#define reallocarray mmt_reallocarray
#define posix_memalign mmt_posix_memalign
#define aligned_alloc mmt_aligned_alloc
#define memalign mmt_memalign
#define valloc mmt_valloc
#define pvalloc mmt_pvalloc
#define malloc_trim mmt_malloc_trim
#else
void free_sized(void *ptr, size_t size);
void free_aligned_sized(void *ptr, size_t align, size_t size);
#endif

#endif /* MEMOMAN_TEST_MALLOC_NAMES_H */

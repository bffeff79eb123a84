// SPDX-License-Identifier: MIT
/*
 * entry.h - the names of libmemoman-malloc's entry points. Normally the standard ones (malloc,
 * free, ...). Built with MM_MALLOC_PREFIX=x they are x##malloc, x##free, ...: a copy of the
 * allocator that a program can call beside its own malloc (the ThreadSanitizer and
 * AddressSanitizer tests do, since those tools replace malloc themselves).
 */
#ifndef MEMOMAN_MALLOC_ENTRY_H
#define MEMOMAN_MALLOC_ENTRY_H

#include <stddef.h>

#ifdef MM_MALLOC_PREFIX
#define MM_CAT2(a, b) a##b
#define MM_CAT(a, b) MM_CAT2(a, b)
#define MM_NAME(x) MM_CAT(MM_MALLOC_PREFIX, x)
struct mallinfo;
struct mallinfo2;
void *MM_NAME(malloc)(size_t n);
void *MM_NAME(calloc)(size_t count, size_t size);
void MM_NAME(free)(void *ptr);
void MM_NAME(free_sized)(void *ptr, size_t size);
void MM_NAME(free_aligned_sized)(void *ptr, size_t align, size_t size);
size_t MM_NAME(malloc_usable_size)(void *ptr);
void *MM_NAME(realloc)(void *ptr, size_t n);
void *MM_NAME(reallocarray)(void *ptr, size_t count, size_t size);
int MM_NAME(posix_memalign)(void **memptr, size_t align, size_t n);
void *MM_NAME(aligned_alloc)(size_t align, size_t n);
void *MM_NAME(memalign)(size_t align, size_t n);
void *MM_NAME(valloc)(size_t n);
void *MM_NAME(pvalloc)(size_t n);
int MM_NAME(malloc_trim)(size_t pad);
void MM_NAME(malloc_stats)(void);
int MM_NAME(mallopt)(int param, int value);
struct mallinfo2 MM_NAME(mallinfo2)(void);
struct mallinfo MM_NAME(mallinfo)(void);
#else
#define MM_NAME(x) x
#endif

#endif /* MEMOMAN_MALLOC_ENTRY_H */

/*
 * memoman/malloc.h - libmemoman-malloc, the general-purpose allocator: what it adds to the standard
 * entry points (malloc, free, calloc, realloc, reallocarray, posix_memalign, aligned_alloc,
 * memalign, valloc, pvalloc, malloc_usable_size, free_sized, free_aligned_sized, malloc_trim,
 * malloc_stats, mallinfo2), which it defines with the C and POSIX contracts.
 *
 * Load it with LD_PRELOAD=libmemoman-malloc.so, or link libmemoman-malloc (shared or static) ahead
 * of the C library. Environment:
 *   MEMOMAN_STATS=1       print the statistics below to standard error when the process exits
 *   MEMOMAN_ERRORS=report a bad free (double free, a pointer no allocation returned) is reported and
 *                         refused, and the program goes on; by default it is reported and the
 *                         process aborts, as glibc does
 */
#ifndef MEMOMAN_MALLOC_H
#define MEMOMAN_MALLOC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define MM_MALLOC_API __attribute__((visibility("default")))
#else
#define MM_MALLOC_API
#endif

#define MM_MALLOC_CLASSES 36 /* size classes of small and medium-small requests (up to 16 KiB) */

typedef struct mm_malloc_stats {
	size_t mapped;      /* bytes mapped from the OS now */
	size_t resident;    /* the process's resident set (/proc/self/statm), 0 if unknown */
	size_t in_use;      /* bytes of pages, arena pools and huge blocks holding live allocations */
	size_t peak_in_use; /* the most in_use has been */
	size_t purged;      /* bytes handed back to the OS (madvise, munmap) since the start */
	size_t threads;     /* thread heaps alive */
	struct {
		size_t size;     /* block size of the class */
		uint64_t allocs; /* allocations served by it */
	} classes[MM_MALLOC_CLASSES];
	uint64_t arena_allocs; /* allocations above the classes, up to 1 MiB (TLSF arenas) */
	uint64_t huge_allocs;  /* allocations mapped on their own */
} mm_malloc_stats;

/* Fills *out; 1, or 0 if out is NULL. Safe from any thread at any time (the figures of other
 * threads are snapshots). */
MM_MALLOC_API int mm_malloc_get_stats(mm_malloc_stats *out);

/* Writes the statistics to standard error, as MEMOMAN_STATS=1 does at exit. */
MM_MALLOC_API void mm_malloc_print_stats(void);

/* Returns every free page of the calling thread and every cached segment and huge block to the OS
 * now (malloc_trim does the same). Returns the bytes returned. */
MM_MALLOC_API size_t mm_malloc_collect(void);

#ifdef __cplusplus
}
#endif

#endif /* MEMOMAN_MALLOC_H */

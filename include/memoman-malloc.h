// SPDX-License-Identifier: MIT
/*
 * memoman-malloc.h - libmemoman-malloc, the general-purpose allocator: what it adds to the standard
 * entry points (malloc, free, calloc, realloc, reallocarray, posix_memalign, aligned_alloc,
 * memalign, valloc, pvalloc, malloc_usable_size, free_sized, free_aligned_sized, malloc_trim,
 * malloc_stats, mallinfo2), which it defines with the C and POSIX contracts. Its own names start
 * with memoman_malloc_ / MEMOMAN_MALLOC_ (the mm_ prefix is the TLSF core's, in memoman.h).
 *
 * Load it with LD_PRELOAD=libmemoman-malloc.so, or link libmemoman-malloc (shared or static) ahead
 * of the C library. Environment:
 *   MEMOMAN_STATS=1       at exit, a short report (the figures below) on standard error:
 *                         descriptor 2 as the program left it; if the program has closed it (some
 *                         do in their own exit handlers), a duplicate made at set-up, provided it
 *                         still refers to the same file (a forked child closes that duplicate, so
 *                         a daemon does not keep its caller's pipe open)
 *   MEMOMAN_STATS=2       the same with one line per size class (also MEMOMAN_STATS=verbose)
 *   MEMOMAN_STATS=PATH    a value with a '/' in it (./stats, /tmp/stats): the short report to the
 *                         file PATH.PID (created or truncated at exit, not through a symbolic
 *                         link), so that every process of a script gets its own
 *   MEMOMAN_STATS=0       no report (nor when unset or empty); any value other than these: one
 *                         warning line on standard error at set-up, then the short report there
 *   MEMOMAN_ERRORS=report a bad free (double free, a pointer no allocation returned) is reported and
 *                         refused, and the program goes on; by default it is reported and the
 *                         process aborts, as glibc does
 *
 * The report's first line names the program and its pid. Sizes are in B, KiB, MiB or GiB.
 *
 * Where requests go (the size ranges of the report and of the fields below):
 *   size classes   up to 16 KiB: 36 classes (16-byte steps up to 128, then four per power of two)
 *   zones          above 16 KiB up to 1 MiB: each thread's TLSF instance over 4 MiB chunks
 *   large region   above 1 MiB up to 32 MiB: one TLSF instance for the process, under a lock
 *   huge blocks    above 32 MiB (or aligned beyond what the others serve): a mapping each
 */
#ifndef MEMOMAN_MALLOC_H
#define MEMOMAN_MALLOC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define MEMOMAN_MALLOC_API __attribute__((visibility("default")))
#else
#define MEMOMAN_MALLOC_API
#endif

#define MEMOMAN_MALLOC_CLASSES 36 /* size classes (requests up to 16 KiB) */

/* Every size is in bytes. The figures of other threads are snapshots: each is exact for a moment,
 * not all for the same one. */
typedef struct memoman_malloc_stats {
	/* What the program holds: the usable sizes of its live blocks (a class block counts its class's
	 * block size; a block freed by another thread counts until its owner takes it back). */
	size_t live;         /* the sum of the four below */
	size_t live_classes; /* blocks of the size classes (up to 16 KiB) */
	size_t live_zones;   /* zone blocks (above 16 KiB, up to 1 MiB) */
	size_t live_large;   /* blocks of the large region (above 1 MiB, up to 32 MiB) */
	size_t live_huge;    /* huge blocks (above 32 MiB, a mapping each) */
	/* What the allocator holds. */
	size_t mapped;      /* address space mapped from the OS now (live blocks, free space, headers) */
	size_t mapped_peak; /* the most `mapped` has been */
	size_t returned;    /* bytes of `mapped` whose memory was given back with madvise and not reused
	                       since (never more than `mapped`; unmapped memory leaves both) */
	size_t resident;    /* the process's resident set, all of it (/proc/self/statm), 0 if unknown */
	size_t threads;     /* threads with a thread cache now */
	struct {
		size_t size;     /* block size of the class */
		uint64_t allocs; /* blocks handed out since the start */
		uint64_t live;   /* blocks live now */
	} classes[MEMOMAN_MALLOC_CLASSES];
	uint64_t zone_allocs;  /* zone blocks handed out since the start */
	uint64_t large_allocs; /* large-region blocks handed out since the start */
	uint64_t huge_allocs;  /* huge blocks handed out since the start */
} memoman_malloc_stats;

/* Fills *out; 1, or 0 if out is NULL. Safe from any thread at any time. */
MEMOMAN_MALLOC_API int memoman_malloc_get_stats(memoman_malloc_stats *out);

/* Writes the report to standard error (verbose: one line per size class too), without allocating,
 * as malloc_stats() does (short) and MEMOMAN_STATS does at exit. */
MEMOMAN_MALLOC_API void memoman_malloc_print_stats(int verbose);

/* Returns every free page of the calling thread and every cached chunk and huge block to the OS
 * now (malloc_trim does the same). Returns the bytes given back. */
MEMOMAN_MALLOC_API size_t memoman_malloc_collect(void);

#ifdef __cplusplus
}
#endif

#endif /* MEMOMAN_MALLOC_H */

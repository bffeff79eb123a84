// SPDX-License-Identifier: MIT
/*
 * alloc.c - the entry points: malloc, free, calloc, realloc, reallocarray, posix_memalign,
 * aligned_alloc, memalign, valloc, pvalloc, malloc_usable_size, free_sized, free_aligned_sized,
 * and glibc's introspection calls, with the C and POSIX contracts:
 *
 *   - blocks are aligned to 16 (alignof(max_align_t)); malloc(0) is a unique 16-byte block;
 *   - a size that cannot be served (above PTRDIFF_MAX, an overflowing calloc or reallocarray
 *     product, or no memory) gives NULL with errno = ENOMEM;
 *   - posix_memalign returns EINVAL for an alignment that is not a power of two multiple of
 *     sizeof(void *), ENOMEM when it cannot serve, and leaves *memptr and errno alone then;
 *     aligned_alloc returns NULL with errno = EINVAL for an alignment that is not a power of two;
 *     memalign, as glibc's does, rounds such an alignment up to a power of two;
 *   - realloc(NULL, n) is malloc(n); realloc(p, 0) frees p and returns NULL (as glibc does); a
 *     failed realloc leaves the block as it was;
 *   - free(NULL) does nothing; a double free, or a pointer no allocation returned, is reported
 *     ("free(): double free", "free(): invalid pointer") and the process aborts, as with glibc
 *     (MEMOMAN_ERRORS=report: reported and refused).
 *
 * The fast paths are malloc of up to 1 KiB from the current page of its class and free of a class
 * block; each is a handful of loads and stores without a lock or an atomic operation. What they
 * check costs a few instructions and is what lets free() refuse bad pointers: the segment map
 * (the pointer is ours), the block index (it is the start of a block handed out), the cookie (the
 * block is not free already).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "../tool.h"
#include "malloc_internal.h"
#include "os/os.h"

#define MM_API MEMOMAN_MALLOC_API

#if MM_DEBUG
void mm_page_check(const mm_page *p);
#define MM_PAGE_CHECK(p) mm_page_check(p)
#else
#define MM_PAGE_CHECK(p) ((void)0)
#endif

#include "entry.h"

/* ---- Errors ------------------------------------------------------------------------------------------ */

static int errors_go_on = -1; /* MEMOMAN_ERRORS=report; read on the first error */

void mm_report_misuse(const char *what, const void *p)
{
	char buf[160];
	size_t n = 0;
	const char *prefix = "memoman: ";
	while (*prefix)
		buf[n++] = *prefix++;
	while (*what && n < sizeof(buf) - 24) /* room for " 0x", 16 digits and the newline */
		buf[n++] = *what++;
	buf[n++] = ' ';
	buf[n++] = '0';
	buf[n++] = 'x';
	n += mm_digits(buf + n, (uint64_t)(uintptr_t)p, 16);
	buf[n++] = '\n';
	mm_os_write_error(buf, n);
	if (errors_go_on < 0) {
		const char *e = mm_os_getenv("MEMOMAN_ERRORS");
		errors_go_on = e && strcmp(e, "report") == 0;
	}
	if (!errors_go_on) {
#if MM_VALGRIND
		/* The checker's reports were off for the entry point (src/tool.h): on again, so that it
		 * does not warn about a thread that ends with them off. */
		VALGRIND_ENABLE_ERROR_REPORTING;
#endif
		abort();
	}
}

/* ---- Allocation ---------------------------------------------------------------------------------------- */

/* A class block from the class's current page, or the class's slow path. */
MM_INLINE void *class_alloc(mm_tcache *tc, unsigned c)
{
	mm_page *p = tc->queues[c].first;
	mm_cblock *b = p ? p->free : NULL;
	if (MM_LIKELY(b != NULL)) {
		mm_cblock *next = mm_cblock_next(b);
		if (MM_UNLIKELY(!mm_cblock_link_ok(b, next)) && next)
			return mm_cblock_pop_broken(p, b);
		p->free = next;
		p->used++;
		p->allocs++;
		b->cookie = 0;
		MM_SECURE_HANDOUT(b, p->free, p->bsize);
		return b;
	}
	return mm_class_alloc_slow(tc, c);
}

/* Any request: classes, the zone, or a mapping of its own. NULL (errno untouched) if none. */
static void *alloc_route(size_t n, size_t align, int *zeroed)
{
	if (zeroed)
		*zeroed = 0;
	if (MM_UNLIKELY(n > PTRDIFF_MAX))
		return NULL;
	mm_tcache *tc = mm_tcache_get();
	if (MM_UNLIKELY(!tc))
		return NULL;
	if (align <= MM_MIN_ALIGN) {
		if (n + MM_CANARY_BYTES <= MM_CLASS_MAX) {
			unsigned c = mm_class_of(n + MM_CANARY_BYTES);
			return MM_SECURE_SEAL(class_alloc(tc, c), mm_class_size(c), n);
		}
	} else if (align <= MM_CLASS_ALIGN_MAX && n + MM_CANARY_BYTES <= MM_CLASS_MAX) {
		/* A class whose blocks are all so aligned: pages start on MM_CLASS_ALIGN_MAX boundaries
		 * whatever the OS page size, so a class whose size is a multiple of align has every
		 * block aligned. */
		unsigned c = mm_class_of(n + MM_CANARY_BYTES > align ? n + MM_CANARY_BYTES : align);
		while (c < MM_CLASSES && mm_class_size(c) % align)
			c++;
		if (c < MM_CLASSES)
			return MM_SECURE_SEAL(class_alloc(tc, c), mm_class_size(c), n);
	}
#if MM_SECURE
	if (n > MM_GUARDED_MIN && align <= MM_MIN_ALIGN) {
		void *p = mm_huge_malloc_guarded(n, zeroed);
		if (p)
			mm_relaxed_add(&tc->huge_allocs, 1);
		return p;
	}
#endif
	if (n <= MM_ZONE_MAX && align <= MM_ZONE_MAX / 4) {
		void *p = mm_zone_malloc(tc, n, align > MM_MIN_ALIGN ? align : 0);
		if (p)
			return p;
	}
	if (n <= MM_LARGE_MAX && align <= MM_ZONE_MAX) {
		void *p = mm_large_malloc(n, align, tc->large_shard);
		if (p) {
			mm_relaxed_add(&tc->large_allocs, 1);
			return p;
		}
	}
	void *p = mm_huge_malloc(n, align, zeroed);
	if (p)
		mm_relaxed_add(&tc->huge_allocs, 1);
	return p;
}

/*
 * alloc_route, and when it finds no memory, once more after the caches have given back the address
 * space they hold: empty segments, pools and mappings kept for reuse that a request of another size
 * range cannot use. Under a limit on the address space (ulimit -v) or on committed memory
 * (overcommit off), where mmap fails, that is what would make malloc(100) fail after a few
 * megabytes of large blocks were freed. The caches are the calling thread's and the process's
 * (other threads' are theirs); memory in use stays as it is (mm_reclaim_mappings). Only when
 * something was given back is the request tried again.
 */
static void *alloc_any(size_t n, size_t align, int *zeroed)
{
	void *p = alloc_route(n, align, zeroed);
	if (MM_LIKELY(p != NULL) || n > PTRDIFF_MAX || mm_reclaim_mappings() == 0)
		return p;
	return alloc_route(n, align, zeroed);
}

static MM_NOINLINE void *malloc_slow(size_t n)
{
	void *p = alloc_any(n, 0, NULL);
	if (MM_UNLIKELY(!p))
		errno = ENOMEM;
	return p;
}

#if MM_SECURE
/* The secure build's malloc(0): a block of no bytes, at the start of a guard page (a mapping of
 * its own, huge.c), so that reading or writing it faults; unique, freed and reallocated as any. */
static MM_NOINLINE MM_COLD void *zero_size_block(void) { return mm_huge_malloc_guarded(0, NULL); }
#endif

/* The entry point's miss (entry: called from malloc itself): the trace first, if it records
 * (while it does, every thread's direct entries point at the empty page, so that malloc's fast
 * path always misses and needs no test of its own). */
static MM_NOINLINE void *malloc_entry_slow(size_t n);

/* malloc's work; entry (a constant) says whether it is the entry point's call, whose misses go
 * through malloc_entry_slow, or one of the library's own (a realloc's, the trace's), which are not
 * recorded again. */
MM_INLINE void *malloc_impl(size_t n, int entry)
{
	/* Fast path: the current page of the request's class, through the 16-byte-step table. A thread
	 * not set up yet has the empty thread cache, whose table points at an empty page: it falls through. */
	mm_tcache *tc = mm_tl_tcache;
#if MM_SECURE
	if (MM_UNLIKELY(n == 0)) {
		if (entry && MM_UNLIKELY(mm_trace_state != MM_TRACE_OFF))
			return malloc_entry_slow(n);
		void *z = zero_size_block(); /* NULL past MM_ZERO_GUARDED_MAX live, or no mapping: a class block */
		if (z)
			return z;
	}
#endif
	if (MM_LIKELY(n <= MM_DIRECT_MAX - MM_CANARY_BYTES)) {
		mm_page *p = tc->direct[(n + MM_CANARY_BYTES + 15) >> 4];
		mm_cblock *b = p->free;
		if (MM_LIKELY(b != NULL)) {
			MM_PAGE_CHECK(p);
			MM_ASSERT(p->bsize >= n + MM_CANARY_BYTES && p->cls == mm_class_of(n + MM_CANARY_BYTES));
			/* The link is unsealed and checked (malloc_internal.h): a use after free cannot make
			 * the next call hand out an address of its choosing. */
			mm_cblock *next = mm_cblock_next(b);
			if (MM_UNLIKELY(!mm_cblock_link_ok(b, next)) &&
			    next) /* a tail call: no registers to save here */
				return MM_SECURE_SEAL(mm_cblock_pop_broken(p, b), p->bsize, n);
			p->free = next;
			p->used++;
			p->allocs++; /* the statistics' count, on the line written anyway */
			b->cookie = 0;
			MM_SECURE_HANDOUT(b, p->free, p->bsize);
			return MM_SECURE_SEAL(b, p->bsize, n);
		}
	}
	return entry ? malloc_entry_slow(n) : malloc_slow(n);
}

MM_INLINE void *do_malloc(size_t n) { return malloc_impl(n, 0); }

static void *do_calloc(size_t count, size_t size)
{
	size_t n;
	if (MM_UNLIKELY(__builtin_mul_overflow(count, size, &n))) {
		errno = ENOMEM;
		return NULL;
	}
	int zeroed = 0;
	void *p;
	if (n <= MM_DIRECT_MAX) {
		p = do_malloc(n);
	} else {
		p = alloc_any(n, 0, &zeroed);
		if (!p)
			errno = ENOMEM;
	}
	if (p && !zeroed)
		mm_zero_bytes(p, n);
	return p;
}

/* ---- Free ---------------------------------------------------------------------------------------------- */

/* The huge mapping whose block is ptr, aligned to a segment or more and so one segment past the
 * mapping's header (huge.c), or NULL: the only block of ours at an address outside the map. */
static mm_segment *huge_beyond_of(const void *ptr)
{
	uintptr_t a = (uintptr_t)ptr;
	if ((a & MM_SEG_MASK) || a < 2 * MM_SEG_SIZE || !mm_segmap_has(a - MM_SEG_SIZE))
		return NULL;
	mm_segment *s = mm_segment_of(a - MM_SEG_SIZE);
	return s->kind == MM_SEG_HUGE && s->huge_block == ptr ? s : NULL;
}

/*
 * The trace's line of a free made by the entry point (entry; not by the library's own calls, a
 * realloc's, whose lines the realloc writes), if the trace records: before the block is free, so
 * that no other thread can have it yet. free()'s fast path has no test of its own: while the trace
 * records, every page's owner word carries MM_OWNER_TRACED, so that its frees all come here.
 */
static void trace_free_line(const void *ptr, int entry)
{
	if (entry && MM_UNLIKELY(mm_trace_state != MM_TRACE_OFF) && mm_trace_start())
		mm_trace_free(ptr);
}

/* In a segment without class pages (code MM_MAP_SEGMENT): a medium, large or huge block, or a bad
 * pointer. */
static MM_NOINLINE void free_other(mm_segment *s, void *ptr, int entry);

/* Not in a segment of class pages (code, the segment map's byte): NULL, a block of a zone, of the
 * large region or a huge one, or a bad pointer. */
static MM_NOINLINE void free_unknown(void *ptr, unsigned code, int entry)
{
	uintptr_t a = (uintptr_t)ptr;
	if (code == MM_MAP_SEGMENT) {
		free_other(mm_segment_of(a), ptr, entry);
		return;
	}
	if (!ptr)
		return;
	trace_free_line(ptr, entry);
	mm_segment *pool = mm_large_segment_of(a);
	if (pool) { /* in a later segment of a large pool */
		mm_large_free(pool, ptr);
		return;
	}
	mm_segment *s = huge_beyond_of(ptr);
	if (s) {
		mm_huge_free(s, ptr);
		return;
	}
	mm_report_misuse("free(): invalid pointer", ptr);
}

/* In a segment of ours but not a class block: a medium, large or huge block, or a bad pointer. */
static MM_NOINLINE void free_other(mm_segment *s, void *ptr, int entry)
{
	trace_free_line(ptr, entry);
	switch (s->kind) {
	case MM_SEG_ZONE: mm_zone_free(s, ptr); return;
	case MM_SEG_LARGE: mm_large_free(s, ptr); return;
	case MM_SEG_HUGE: mm_huge_free(s, ptr); return;
	default: mm_report_misuse("free(): invalid pointer", ptr); return;
	}
}

/* Refused frees write their trace line too, as every free from the entry points does (a zone's,
 * the large region's and huge blocks' are written before their own checks run). */
static MM_NOINLINE MM_COLD void double_free(void *ptr, int entry)
{
	trace_free_line(ptr, entry);
	mm_report_misuse("free(): double free", ptr);
}
#if MM_SECURE
void mm_secure_overflow(const void *ptr)
{
	mm_report_misuse("heap corruption: the bytes after a block were overwritten (a write past its end) at", ptr);
}

void mm_secure_underflow(const void *ptr)
{
	mm_report_misuse("heap corruption: the bytes before a block were overwritten (a write before it, or past the "
	                 "block below) at",
	                 ptr);
}

void mm_secure_written_after_free(const void *block)
{
	mm_report_misuse("heap corruption: a freed block was written to after free (a write after free) at", block);
}
#endif

/* Puts b, a block of the calling thread's page p, on p's free list. */
MM_INLINE void free_push(mm_page *p, mm_cblock *b)
{
#if MM_SECURE
	/* Second on the list, not first: the next request of the class gets another block. */
	mm_cblock *head = p->free;
	if (head) {
		mm_cblock *after = mm_cblock_next(head);
		if (MM_UNLIKELY(after && !mm_cblock_link_ok(head, after))) {
			mm_cblock_broken(head); /* a write after free: not copied on, the rest of the list cut */
			after = NULL;
		}
		mm_cblock_set_next(b, after);
		mm_cblock_set_next(head, b);
	} else {
		mm_cblock_set_next(b, NULL);
		p->free = b;
	}
#else
	mm_cblock_set_next(b, p->free);
	p->free = b;
#endif
	MM_PAGE_CHECK(p);
}

/* A free that is not the fast path's: into a page of the calling thread's full list (which goes
 * back to its class's queue), into another thread's page, or any while the trace records. */
static MM_NOINLINE void free_not_fast(mm_tcache *tc, mm_page *p, mm_cblock *b, int entry)
{
	trace_free_line(b, entry);
	if (mm_page_owner(p) == tc) {
		free_push(p, b);
		if (--p->used == 0 || p->in_full)
			mm_page_freed(tc, p); /* empty, or back from the full list */
		return;
	}
	mm_remote_free(p, b);
}

/* Is a in one of tc's recent segments (mm_tcache.recent_segments: SMALL segments of tc's own,
 * mapped)? The latest is compared first: a hit there costs what one entry did. */
_Static_assert(MM_RECENT_SEGMENTS == 2, "in_recent_segments, free_small and mm_tcache_empty write out two");
MM_INLINE int in_recent_segments(const mm_tcache *tc, uintptr_t a)
{
	uintptr_t seg = a & ~(uintptr_t)MM_SEG_MASK;
	return seg == tc->recent_segments[0] || seg == tc->recent_segments[1];
}

/* free's work on a pointer a in a SMALL segment (mapped: the caller knows); entry as malloc_impl's.
 * found_by_map: the segment was found through the map, not as one of tc's recent segments, and
 * becomes the latest of them if the page is tc's (the latest before it becomes the other). */
MM_INLINE void free_small(mm_tcache *tc, uintptr_t a, int entry, int found_by_map)
{
	void *ptr = (void *)a;
	mm_page *p = mm_page_at(a); /* from the address: no read of the header */
	if (MM_UNLIKELY(mm_block_index(p, a) >= mm_page_capacity(p))) {
		free_other(mm_segment_of(a), ptr, entry);
		return;
	}
	mm_cblock *b = (mm_cblock *)ptr;
	uintptr_t cookie = a ^ mm_secret;
	if (MM_UNLIKELY(b->cookie == cookie)) {
		double_free(ptr, entry);
		return;
	}
#if MM_SECURE
	if (MM_UNLIKELY(!mm_secure_before_intact(p, a))) {
		trace_free_line(ptr, entry);
		mm_secure_underflow(ptr); /* with MEMOMAN_ERRORS=report: refused, the block stays in use */
		return;
	}
	if (MM_UNLIKELY(!mm_secure_release(b, p->bsize))) {
		trace_free_line(ptr, entry);
		mm_secure_overflow(ptr); /* with MEMOMAN_ERRORS=report: refused, the block stays in use */
		return;
	}
#endif
	b->cookie = cookie;
	/* One comparison: the page is the calling thread's and not on its full list. */
	if (MM_LIKELY(atomic_load_explicit(&p->owner, memory_order_relaxed) == (uintptr_t)tc)) {
		if (found_by_map) {
			tc->recent_segments[1] = tc->recent_segments[0];
			tc->recent_segments[0] = a & ~(uintptr_t)MM_SEG_MASK;
		}
		free_push(p, b);
		if (MM_UNLIKELY(--p->used == 0))
			mm_page_freed(tc, p); /* now empty */
		return;
	}
	free_not_fast(tc, p, b, entry);
}

/* free's work when the pointer is not in one of the calling thread's recent segments: the segment
 * map says what it is. */
static MM_NOINLINE void free_mapped(void *ptr, mm_tcache *tc, int entry)
{
	uintptr_t a = (uintptr_t)ptr;
	unsigned code = mm_segmap_get(a);
	if (MM_UNLIKELY(code != MM_MAP_SMALL)) { /* NULL too: segment 0 is never ours */
		free_unknown(ptr, code, entry);
		return;
	}
#ifdef __clang_analyzer__
	if (!ptr) /* the analyzer does not know that the map's byte of segment 0 is MM_MAP_NONE */
		return;
#endif
	free_small(tc, a, entry, 1);
}

/* free's work; entry as malloc_impl's. The segment map's two loads and their bounds test are
 * skipped for a pointer in one of the calling thread's recent segments (tc->recent_segments),
 * known to be SMALL segments of ours: a comparison with each, from the thread cache's first line
 * (which malloc's direct entries of the smallest sizes share). Every check after the map's still
 * runs. */
MM_INLINE void free_impl(void *ptr, int entry)
{
	uintptr_t a = (uintptr_t)ptr;
	mm_tcache *tc = mm_tl_tcache;
	if (MM_LIKELY(in_recent_segments(tc, a))) {
		free_small(tc, a, entry, 0);
		return;
	}
	free_mapped(ptr, tc, entry);
}

MM_INLINE void do_free(void *ptr) { free_impl(ptr, 0); }

/* ---- Built for a memory checker (src/tool.h) --------------------------------------------------------------- */

/*
 * With MM_VALGRIND or MM_ASAN each entry point runs with the checker's reports off (memoman reads
 * headers and the links in free blocks) and tells it what it did: a block handed out is the
 * program's for the bytes it asked for (the rest of the block stays hidden: page_init hides a new
 * page, the zones and the large region hide their pools), a block freed is nobody's. A realloc is a
 * free and an allocation whose first bytes memoman copied (defined for memcheck);
 * malloc_usable_size makes the whole usable size the program's, as its contract says. Without a
 * checker these are empty and the entry points are as they were.
 */
#if MM_TOOLS
/* The usable size of the block at ptr if it is one of ours (anything for a freed class block), 0
 * otherwise; nothing is reported. */
static size_t tool_usable(void *ptr)
{
	uintptr_t a = (uintptr_t)ptr;
	if (!ptr)
		return 0;
	mm_segment *s;
	if (mm_segmap_has(a)) {
		s = mm_segment_of(a);
	} else if (!(s = mm_large_segment_of(a))) {
		s = huge_beyond_of(ptr);
		return s ? s->huge_size : 0;
	}
	switch (s->kind) {
	case MM_SEG_SMALL: {
		mm_page *p = mm_page_at(a);
		return mm_block_index(p, a) < mm_page_capacity(p) ? p->bsize : 0;
	}
	case MM_SEG_ZONE: return mm_tlsf_tool_usable(s->zone->tlsf, ptr);
	case MM_SEG_LARGE: return mm_large_tool_usable(s, ptr);
	case MM_SEG_HUGE: return s->huge_block == ptr ? s->huge_size : 0;
	default: return 0;
	}
}

static void tool_handed(void *p, size_t n)
{
	if (p) {
		MM_TOOL_HIDE(p, tool_usable(p)); /* what it has beyond n, left from before */
		MM_TOOL_ALLOC(p, n);
	}
}

static void tool_freed(void *ptr, size_t usable)
{
	if (usable)
		MM_TOOL_FREE(ptr, usable);
}

static void tool_resized(void *ptr, size_t old, void *q, size_t n)
{
	if (ptr && (q || n == 0))
		tool_freed(ptr, old);
	if (q) {
		tool_handed(q, n);
		MM_TOOL_WRITTEN(q, old < n ? old : n);
	}
}

/* The bytes of [p, p + n) the checker hides become the program's (not yet written). */
static void tool_expose(void *p, size_t n)
{
#if MM_VALGRIND
	uintptr_t bad = (uintptr_t)VALGRIND_CHECK_MEM_IS_ADDRESSABLE(p, n); /* the first hidden byte, or 0 */
	if (bad)
		MM_V_UNDEFINED((void *)bad, (uintptr_t)p + n - bad);
#endif
#if MM_ASAN
	void *bad_a = __asan_region_is_poisoned(p, n);
	if (bad_a)
		MM_A_UNPOISON(bad_a, (uintptr_t)p + n - (uintptr_t)bad_a);
#endif
}
#else
#define tool_usable(ptr) ((void)(ptr), (size_t)0)
#define tool_handed(p, n) ((void)(p), (void)(n))
#define tool_freed(ptr, usable) ((void)(ptr), (void)(usable))
#define tool_resized(ptr, old, q, n) ((void)(ptr), (void)(old), (void)(q), (void)(n))
#define tool_expose(p, n) ((void)(p), (void)(n))
#endif

/* ---- Sizes of blocks ------------------------------------------------------------------------------------ */

#if MM_SECURE
/* A block with a canary (a class, zone or large-region block, of `usable` bytes for the program) is now the
 * program's for its first n (SIZE_MAX: only checked): the bytes after the size it had are checked
 * (a write past the end is reported, 0), those it gives back zeroed, the canary resealed (realloc,
 * malloc_usable_size). */
static int secure_resize(const mm_segment *s, void *ptr, size_t usable, size_t n)
{
	if (s->kind == MM_SEG_HUGE)
		return 1; /* a guarded block ends at its guard page instead */
	size_t bsize = usable + MM_CANARY_BYTES;
	size_t old = mm_secure_intact(ptr, bsize);
	if (old == SIZE_MAX) {
		mm_secure_overflow(ptr);
		return 0;
	}
	if (n == SIZE_MAX)
		return 1;
	if (n < old)
		mm_zero_bytes((unsigned char *)ptr + n, old - n);
	mm_secure_seal(ptr, bsize, n);
	return 1;
}
#endif

/* usable_size's other cases: not in a segment of class pages (code, the segment map's byte). */
static MM_NOINLINE size_t usable_other(void *ptr, unsigned code, mm_segment **seg_out, const char *who)
{
	uintptr_t a = (uintptr_t)ptr;
	*seg_out = NULL;
	if (code == MM_MAP_SEGMENT) {
		mm_segment *s = mm_segment_of(a);
		*seg_out = s;
		if (s->kind == MM_SEG_ZONE)
			return mm_zone_usable(s, ptr, who);
		if (s->kind == MM_SEG_HUGE)
			return mm_huge_usable(s, ptr);
		if (s->kind == MM_SEG_LARGE)
			return mm_large_usable(s, ptr);
		*seg_out = NULL;
	} else {
		mm_segment *ls = mm_large_segment_of(a);
		if (ls) {
			*seg_out = ls;
			return mm_large_usable(ls, ptr);
		}
		mm_segment *h = huge_beyond_of(ptr);
		if (h) {
			*seg_out = h;
			return h->huge_size;
		}
	}
	mm_report_misuse(who, ptr);
	return 0;
}

/* The usable size of a live class block at a, in a segment of class pages (the segment map's byte
 * MM_MAP_SMALL), found as free() finds its page; 0 and reported if a is not one. */
MM_INLINE size_t usable_class(uintptr_t a, const char *who)
{
	mm_page *p = mm_page_at(a);
	if (MM_LIKELY(mm_block_index(p, a) < mm_page_capacity(p)) &&
	    MM_LIKELY(((mm_cblock *)a)->cookie != (a ^ mm_secret)))
		return p->bsize - MM_CANARY_BYTES;
	mm_report_misuse(who, (void *)a); /* not a block's start, or a block that is free */
	return 0;
}

/* What the segment map says of the segment of a, without reading it when that is one of the
 * calling thread's recent segments. */
MM_INLINE unsigned segment_code(uintptr_t a)
{
	if (MM_LIKELY(in_recent_segments(mm_tl_tcache, a)))
		return MM_MAP_SMALL;
	return mm_segmap_get(a);
}

/* The usable size of a live block and its segment (*seg_out); 0 and reported if it is not one. */
MM_INLINE size_t usable_size(void *ptr, mm_segment **seg_out, const char *who)
{
	uintptr_t a = (uintptr_t)ptr;
	unsigned code = segment_code(a);
	if (MM_UNLIKELY(code != MM_MAP_SMALL))
		return usable_other(ptr, code, seg_out, who);
	*seg_out = mm_segment_of(a);
	return usable_class(a, who);
}

#if !MM_SECURE && !MM_TOOLS
/* malloc_usable_size of a block not of a class (NULL too). */
static MM_NOINLINE size_t usable_entry_other(void *ptr, unsigned code)
{
	if (!ptr)
		return 0;
	mm_segment *s;
	return usable_other(ptr, code, &s, "malloc_usable_size(): invalid pointer");
}
#endif

#if MM_SECURE
/* A block just handed out (or resized) for `want` bytes is the program's for n <= want: the bytes
 * between zeroed (no more than n were copied in), its canary says n. */
static void secure_reseal(void *q, size_t n)
{
	mm_segment *s;
	size_t usable = usable_size(q, &s, "realloc(): invalid pointer");
	if (usable)
		(void)secure_resize(s, q, usable, n);
}
#endif

MM_API size_t MM_NAME(malloc_usable_size)(void *ptr)
{
#if !MM_SECURE && !MM_TOOLS
	/* As free's fast path: some programs ask it of every block (redis, for its accounting). */
	uintptr_t a = (uintptr_t)ptr;
	unsigned code = segment_code(a);
	if (MM_UNLIKELY(code != MM_MAP_SMALL)) /* NULL too: segment 0 is never ours */
		return usable_entry_other(ptr, code);
	return usable_class(a, "malloc_usable_size(): invalid pointer");
#else
	if (!ptr)
		return 0;
	mm_segment *s;
	MM_TOOL_QUIET_BEGIN();
	size_t n = usable_size(ptr, &s, "malloc_usable_size(): invalid pointer");
#if MM_SECURE
	if (n && !secure_resize(s, ptr, n, n)) /* all of it is the program's now */
		n = 0;
#endif
	tool_expose(ptr, n);
	MM_TOOL_QUIET_END();
	return n;
#endif
}

/* ---- Realloc --------------------------------------------------------------------------------------------- */

static void *do_realloc(void *ptr, size_t n)
{
	if (!ptr)
		return do_malloc(n);
	if (n == 0) {
		do_free(ptr);
		return NULL;
	}
	mm_segment *s;
	size_t usable = usable_size(ptr, &s, "realloc(): invalid pointer");
	if (!usable && !(MM_SECURE && s && s->kind == MM_SEG_HUGE && s->huge_block == ptr))
		return NULL; /* reported (not the secure build's malloc(0)); with MEMOMAN_ERRORS=report the call fails */
	if (MM_UNLIKELY(n > PTRDIFF_MAX)) {
		errno = ENOMEM;
		return NULL;
	}
#if MM_SECURE
	if (!secure_resize(s, ptr, usable, SIZE_MAX))
		return NULL; /* a write past the end, reported; with MEMOMAN_ERRORS=report the call fails */
#endif
	/* It fits, and is not so much smaller that a smaller block would do: stays. */
	if (n <= usable && n > usable / 2) {
#if MM_SECURE
		if (!secure_resize(s, ptr, usable, n))
			return NULL; /* reported; with MEMOMAN_ERRORS=report the call fails */
#endif
		return ptr;
	}
	/* Growing a little: take a quarter more than asked, so that a block grown in small steps
	 * moves a logarithmic number of times, not a linear one (each move copies it). */
	size_t want = n;
	if (n > usable && n - usable < usable / 4 && usable + usable / 4 <= PTRDIFF_MAX)
		want = usable + usable / 4;
#if MM_SECURE
	if (want > MM_GUARDED_MIN)
		want = n; /* a guarded block's guard page follows the size asked for, not a headroom */
#endif
#if MM_SECURE
	int zone_may = want <= MM_GUARDED_MIN; /* larger: a guarded block of its own */
#else
	int zone_may = 1;
#endif
	if (s->kind == MM_SEG_ZONE && zone_may) {
		void *q = mm_zone_realloc(mm_tcache_get(), s, ptr, want);
		if (q) {
#if MM_SECURE
			secure_reseal(q, n);
#endif
			return q;
		}
	} else if (s->kind == MM_SEG_LARGE) {
		if (want > MM_ZONE_MAX && want <= MM_LARGE_MAX) {
			void *q = mm_large_realloc(s, ptr, want);
			if (q) {
#if MM_SECURE
				secure_reseal(q, n);
#endif
				return q;
			}
		}
	} else if (s->kind == MM_SEG_HUGE && want > MM_LARGE_MAX) {
		void *q = mm_huge_realloc(s, ptr, want);
		if (q)
			return q; /* else a new block below, with its retry after a reclaim */
	}
	void *q = do_malloc(want);
	if (!q)
		return NULL;
	mm_copy_bytes(q, ptr, n < usable ? n : usable);
	do_free(ptr);
#if MM_SECURE
	secure_reseal(q, n); /* the canary follows the size asked for, not the headroom */
#endif
	return q;
}

static void *do_reallocarray(void *ptr, size_t count, size_t size)
{
	size_t n;
	if (__builtin_mul_overflow(count, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return do_realloc(ptr, n);
}

/* ---- Aligned allocation ------------------------------------------------------------------------------------ */

static void *aligned(size_t align, size_t n)
{
	if (align > PTRDIFF_MAX / 2 + 1) /* no such block fits in the address space */
		return NULL;
	return alloc_any(n, align, NULL);
}

static int do_posix_memalign(void **memptr, size_t align, size_t n)
{
	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	int saved = errno;
	void *p = aligned(align, n);
	errno = saved;
	if (!p)
		return ENOMEM;
	*memptr = p;
	return 0;
}

static void *do_aligned_alloc(size_t align, size_t n)
{
	if (align == 0 || (align & (align - 1))) {
		errno = EINVAL;
		return NULL;
	}
	void *p = aligned(align, n);
	if (!p)
		errno = ENOMEM;
	return p;
}

/* memalign is glibc's older call, and takes what glibc takes: an alignment that is not a power of
 * two is rounded up to one (0 is 1); above the largest power of two, EINVAL. */
static void *do_memalign(size_t align, size_t n)
{
	if (align > SIZE_MAX / 2 + 1) {
		errno = EINVAL;
		return NULL;
	}
	size_t a = 1;
	while (a < align)
		a <<= 1;
	return do_aligned_alloc(a, n);
}

static void *do_valloc(size_t n) { return do_aligned_alloc(mm_os_page_size(), n); }

static void *do_pvalloc(size_t n)
{
	size_t page = mm_os_page_size();
	if (n > SIZE_MAX - page) {
		errno = ENOMEM;
		return NULL;
	}
	return do_aligned_alloc(page, n ? (n + page - 1) & ~(page - 1) : page);
}

/* ---- glibc's introspection --------------------------------------------------------------------------------- */

MM_API int MM_NAME(malloc_trim)(size_t pad)
{
	(void)pad;
	return memoman_malloc_collect() > 0;
}

MM_API void MM_NAME(malloc_stats)(void) { memoman_malloc_print_stats(0); }

MM_API int MM_NAME(mallopt)(int param, int value)
{
	(void)param;
	(void)value;
	return 1; /* accepted; memoman has no such tunables */
}

MM_API struct mallinfo2 MM_NAME(mallinfo2)(void)
{
	memoman_malloc_stats st;
	memoman_malloc_get_stats(&st);
	struct mallinfo2 mi;
	memset(&mi, 0, sizeof(mi));
	mi.arena = st.mapped;
	mi.uordblks = st.live;
	mi.fordblks = st.mapped > st.live ? st.mapped - st.live : 0;
	mi.usmblks = st.mapped_peak;
	return mi;
}

MM_API struct mallinfo MM_NAME(mallinfo)(void)
{
	struct mallinfo2 m2 = MM_NAME(mallinfo2)();
	struct mallinfo mi;
	memset(&mi, 0, sizeof(mi));
	mi.arena = (int)(m2.arena > INT_MAX ? INT_MAX : m2.arena);
	mi.uordblks = (int)(m2.uordblks > INT_MAX ? INT_MAX : m2.uordblks);
	mi.fordblks = (int)(m2.fordblks > INT_MAX ? INT_MAX : m2.fordblks);
	mi.usmblks = (int)(m2.usmblks > INT_MAX ? INT_MAX : m2.usmblks);
	return mi;
}

/* ---- The entry points -------------------------------------------------------------------------------------- */

/*
 * Each tests one byte, mm_trace_state, and goes on to its do_ function (inlined, so malloc and free
 * keep their fast paths) unless it says "off": before the process is set up (the first call decides)
 * and while MEMOMAN_TRACE records (trace.c), the traced_ functions below make the call and write its
 * line. The do_ functions call each other, never the entry points, so a realloc is one record.
 */
/* A plain read, one compare with memory: the byte is written by mm_process_init, which runs from the
 * library's constructor before the program has threads (and, like mm_secret, before they allocate). */
#define TRACING() MM_UNLIKELY(mm_trace_state != MM_TRACE_OFF)

static MM_NOINLINE void *traced_malloc(size_t n)
{
	void *p = do_malloc(n);
	if (mm_trace_start())
		mm_trace_alloc(p, n);
	return p;
}

#if MM_TOOLS
static MM_NOINLINE void traced_free(void *ptr)
{
	if (ptr && mm_trace_start())
		mm_trace_free(ptr); /* before the block is free: no other thread can have it yet */
	do_free(ptr);
}
#endif

static void *malloc_entry_slow(size_t n)
{
	if (TRACING())
		return traced_malloc(n);
	return malloc_slow(n);
}

/* A product that overflows is recorded as a failed request for SIZE_MAX bytes. */
static size_t product(size_t count, size_t size)
{
	size_t n;
	return __builtin_mul_overflow(count, size, &n) ? SIZE_MAX : n;
}

/* realloc and reallocarray: the call and its lines under the trace lock, since the old block is
 * free (and could be taken by another thread, whose line would come first) before the call returns. */
static MM_NOINLINE void *traced_realloc(void *ptr, size_t count, size_t size, int array)
{
	if (!mm_trace_start())
		return array ? do_reallocarray(ptr, count, size) : do_realloc(ptr, size);
	size_t n = array ? product(count, size) : size;
	mm_trace_lock();
	void *q = array ? do_reallocarray(ptr, count, size) : do_realloc(ptr, size);
	if (ptr && (q || n == 0))
		mm_trace_put_free(ptr); /* moved, resized in place (recorded as a new block), or freed */
	if (!ptr || n != 0)
		mm_trace_put_alloc(q, n); /* NULL: failed, and ptr is still live */
	mm_trace_unlock();
	return q;
}

MM_API void *MM_NAME(malloc)(size_t n)
{
#if MM_TOOLS
	MM_TOOL_QUIET_BEGIN();
	void *p = TRACING() ? traced_malloc(n) : do_malloc(n);
	tool_handed(p, n);
	MM_TOOL_QUIET_END();
	return p;
#else
	return malloc_impl(n, 1); /* no test of the trace here: see malloc_entry_slow */
#endif
}

/* free, and C++'s unsized operator delete. */
MM_INLINE void free_entry(void *ptr)
{
#if MM_TOOLS
	MM_TOOL_QUIET_BEGIN();
	size_t usable = tool_usable(ptr);
	if (TRACING())
		traced_free(ptr);
	else
		do_free(ptr);
	tool_freed(ptr, usable); /* not reached after a bad free, which aborts; refused, it changes nothing */
	MM_TOOL_QUIET_END();
#else
	free_impl(ptr, 1);        /* no test of the trace here: see trace_free_line */
#endif
}

MM_API void MM_NAME(free)(void *ptr) { free_entry(ptr); }

#if MM_SECURE
/* The secure build checks the size a sized free names: more than the block's usable size is not
 * the size it was allocated with (reported; with MEMOMAN_ERRORS=report the block is not freed). */
static void free_with_size(void *ptr, size_t size, const char *who)
{
	if (ptr) {
		mm_segment *s;
		MM_TOOL_QUIET_BEGIN();
		size_t usable = usable_size(ptr, &s, who);
		MM_TOOL_QUIET_END();
		int zero = s && s->kind == MM_SEG_HUGE && s->huge_block == ptr; /* malloc(0)'s, of 0 bytes */
		if (!usable && !zero)
			return; /* reported */
		if (size > usable) {
			mm_report_misuse(who, ptr);
			return;
		}
	}
	MM_NAME(free)(ptr);
}

#define FREE_WITH_SIZE(ptr, size, who) free_with_size((ptr), (size), (who))
#else
#define FREE_WITH_SIZE(ptr, size, who) ((void)(size), MM_NAME(free)(ptr))
#endif

MM_API void MM_NAME(free_sized)(void *ptr, size_t size)
{
	FREE_WITH_SIZE(ptr, size, "free_sized(): not the size allocated, or an invalid pointer");
}

MM_API void MM_NAME(free_aligned_sized)(void *ptr, size_t align, size_t size)
{
	(void)align;
	FREE_WITH_SIZE(ptr, size, "free_aligned_sized(): not the size allocated, or an invalid pointer");
}

/* ---- C++'s operator new and delete ---------------------------------------------------------------------- */

#if !defined(MM_MALLOC_PREFIX) && MM_MALLOC_SHARED && defined(__linux__) && defined(__SIZEOF_SIZE_T__)
/*
 * The shared library's own operator new, new[], delete, delete[] and sized deletes (the Itanium
 * C++ ABI's names), so that a C++ program's blocks skip libstdc++'s wrappers around malloc and free.
 * They keep the standard's contract:
 *   - new never returns NULL: when memory runs out it calls the new-handler
 *     (std::get_new_handler) and tries again, and throws std::bad_alloc once there is none
 *     (libstdc++'s own thrower, found when needed, also in a libstdc++ loaded later by dlopen; the
 *     library is built with -fexceptions, so the exception passes through these frames);
 *   - a program that defines its own operator new or delete keeps them (its definitions come
 *     first), and the forms it leaves to the library call them as the standard's defaults do:
 *     new[] its new, delete[] and the sized deletes its delete (so its bookkeeping sees every
 *     block); the secure build's sized deletes check the size as free_sized does.
 * The nothrow, aligned and placement forms stay libstdc++'s (the secure build adds the sized
 * aligned deletes): they call these, or aligned_alloc. Not in the static library, whose strong
 * definitions would clash with a program's own at link time.
 */
#include <dlfcn.h>

/* The mangling follows size_t's type, not its width: unsigned long on the 64-bit Linux ABIs and on
 * 31-bit s390, unsigned int on the other 32-bit ones (i386, armhf, ppc32, riscv32, mips). */
#if __SIZEOF_SIZE_T__ == 8 || (defined(__s390__) && !defined(__s390x__))
#define MM_CXX_SIZED(x) x##m
#define MM_CXX_SIZED_ALIGNED(x) x##mSt11align_val_t
#elif __SIZEOF_SIZE_T__ == 4
#define MM_CXX_SIZED(x) x##j
#define MM_CXX_SIZED_ALIGNED(x) x##jSt11align_val_t
#endif
#ifdef MM_CXX_SIZED
#define MM_STR2(x) #x
#define MM_STR(x) MM_STR2(x)
MM_API void *MM_CXX_SIZED(_Znw)(size_t n);
MM_API void *MM_CXX_SIZED(_Zna)(size_t n);
MM_API void _ZdlPv(void *ptr);
MM_API void _ZdaPv(void *ptr);
MM_API void MM_CXX_SIZED(_ZdlPv)(void *ptr, size_t size);
MM_API void MM_CXX_SIZED(_ZdaPv)(void *ptr, size_t size);

typedef void (*mm_new_handler)(void);

/* malloc found no memory for new: the new-handler and another try, until one succeeds or there is
 * no handler left (std::bad_alloc). libstdc++'s two functions are looked up by name here, not bound
 * at load time: a C program may load C++ code (and libstdc++) later. */
static MM_NOINLINE MM_COLD void *cxx_out_of_memory(size_t n)
{
	mm_new_handler (*get_handler)(void) = NULL;
	void (*throw_bad_alloc)(void) = NULL;
	void *sym = dlsym(RTLD_DEFAULT, "_ZSt15get_new_handlerv"); /* POSIX: a function's address */
	memcpy(&get_handler, &sym, sizeof(sym));
	sym = dlsym(RTLD_DEFAULT, "_ZSt17__throw_bad_allocv");
	memcpy(&throw_bad_alloc, &sym, sizeof(sym));
	for (;;) {
		mm_new_handler h = get_handler ? get_handler() : NULL;
		if (!h) {
			if (throw_bad_alloc)
				throw_bad_alloc();
			mm_report_misuse("operator new: out of memory, and no C++ runtime to throw std::bad_alloc",
			                 NULL);
			abort(); /* not reached but with MEMOMAN_ERRORS=report: new never returns NULL */
		}
		h();
		void *p = MM_NAME(malloc)(n);
		if (p)
			return p;
	}
}

/* Fast path: malloc's, then a test of its answer; no wrapper frame in between. */
MM_INLINE void *cxx_new(size_t n)
{
#if MM_TOOLS
	void *p = MM_NAME(malloc)(n);
#else
	void *p = malloc_impl(n, 1);
#endif
	return MM_LIKELY(p != NULL) ? p : cxx_out_of_memory(n);
}

MM_API void *MM_CXX_SIZED(_Znw)(size_t n) { return cxx_new(n); }
MM_API void _ZdlPv(void *ptr) { free_entry(ptr); }

/* Local names of the two (hidden aliases: their addresses are these definitions'). */
extern void *mm_cxx_new_self(size_t n) __attribute__((alias(MM_STR(MM_CXX_SIZED(_Znw))), visibility("hidden")));
extern void mm_cxx_delete_self(void *ptr) __attribute__((alias("_ZdlPv"), visibility("hidden")));

/* Does the program define its own operator new, or delete? The exported name's address comes
 * through the symbol table (the GOT), which finds the program's definition first; the library is
 * built with semantic interposition (gcc's default), so that it is not taken as the local one. */
MM_INLINE int cxx_new_replaced(void) { return (void *(*)(size_t))MM_CXX_SIZED(_Znw) != mm_cxx_new_self; }
MM_INLINE int cxx_delete_replaced(void) { return (void (*)(void *))_ZdlPv != mm_cxx_delete_self; }

MM_API void *MM_CXX_SIZED(_Zna)(size_t n)
{
	if (MM_UNLIKELY(cxx_new_replaced()))
		return MM_CXX_SIZED(_Znw)(n);
	return cxx_new(n);
}
MM_API void _ZdaPv(void *ptr)
{
	if (MM_UNLIKELY(cxx_delete_replaced()))
		_ZdlPv(ptr);
	else
		free_entry(ptr);
}
extern void mm_cxx_delete_array_self(void *ptr) __attribute__((alias("_ZdaPv"), visibility("hidden")));
/* Is the unsized delete[] in effect not this library's own path to free (the program's delete[], or
 * ours calling the program's delete)? */
MM_INLINE int cxx_delete_array_replaced(void)
{
	return cxx_delete_replaced() || (void (*)(void *))_ZdaPv != mm_cxx_delete_array_self;
}

/* The sized deletes, unless the program has its own unsized delete: free's fast path (the size is
 * not needed), or the secure build's check of the size. */
#if MM_SECURE
#define MM_CXX_DELETE "operator delete: not the size allocated, or an invalid pointer"
#define CXX_SIZED_FREE(ptr, size) free_with_size((ptr), (size), MM_CXX_DELETE)
#else
#define CXX_SIZED_FREE(ptr, size) ((void)(size), free_entry(ptr))
#endif
MM_API void MM_CXX_SIZED(_ZdlPv)(void *ptr, size_t size)
{
	if (MM_UNLIKELY(cxx_delete_replaced()))
		_ZdlPv(ptr);
	else
		CXX_SIZED_FREE(ptr, size);
}
MM_API void MM_CXX_SIZED(_ZdaPv)(void *ptr, size_t size)
{
	if (MM_UNLIKELY(cxx_delete_array_replaced()))
		_ZdaPv(ptr);
	else
		CXX_SIZED_FREE(ptr, size);
}

#if MM_SECURE
/* Is p in memory of ours (a block or not)? For the aligned sized deletes, which may be given a
 * pointer from the program's own aligned operator new. */
static int ours(const void *p)
{
	uintptr_t a = (uintptr_t)p;
	return mm_segmap_has(a) || mm_large_segment_of(a) || huge_beyond_of(p);
}

/* The aligned unsized deletes a pointer not of ours goes to (weak: absent without C++). */
extern void _ZdlPvSt11align_val_t(void *ptr, size_t align) __attribute__((weak));
extern void _ZdaPvSt11align_val_t(void *ptr, size_t align) __attribute__((weak));
MM_API void MM_CXX_SIZED_ALIGNED(_ZdlPv)(void *ptr, size_t size, size_t align);
MM_API void MM_CXX_SIZED_ALIGNED(_ZdaPv)(void *ptr, size_t size, size_t align);
MM_API void MM_CXX_SIZED_ALIGNED(_ZdlPv)(void *ptr, size_t size, size_t align)
{
	if (ptr && !ours(ptr) && _ZdlPvSt11align_val_t)
		_ZdlPvSt11align_val_t(ptr, align);
	else
		free_with_size(ptr, size, MM_CXX_DELETE);
}
MM_API void MM_CXX_SIZED_ALIGNED(_ZdaPv)(void *ptr, size_t size, size_t align)
{
	if (ptr && !ours(ptr) && _ZdaPvSt11align_val_t)
		_ZdaPvSt11align_val_t(ptr, align);
	else
		free_with_size(ptr, size, MM_CXX_DELETE);
}
#endif
#endif
#endif

MM_API void *MM_NAME(calloc)(size_t count, size_t size)
{
	MM_TOOL_QUIET_BEGIN();
	void *p = do_calloc(count, size);
	if (TRACING() && mm_trace_start())
		mm_trace_alloc(p, product(count, size));
	if (p) {
		tool_handed(p, count * size); /* no overflow: it succeeded */
		MM_TOOL_WRITTEN(p, count * size);
	}
	MM_TOOL_QUIET_END();
	return p;
}

MM_API void *MM_NAME(realloc)(void *ptr, size_t n)
{
#if MM_TOOLS
	MM_TOOL_QUIET_BEGIN();
	size_t old = tool_usable(ptr);
	void *q = TRACING() ? traced_realloc(ptr, 1, n, 0) : do_realloc(ptr, n);
	tool_resized(ptr, old, q, n);
	MM_TOOL_QUIET_END();
	return q;
#else
	if (TRACING())
		return traced_realloc(ptr, 1, n, 0);
	return do_realloc(ptr, n);
#endif
}

MM_API void *MM_NAME(reallocarray)(void *ptr, size_t count, size_t size)
{
#if MM_TOOLS
	MM_TOOL_QUIET_BEGIN();
	size_t old = tool_usable(ptr);
	void *q = TRACING() ? traced_realloc(ptr, count, size, 1) : do_reallocarray(ptr, count, size);
	size_t n;
	if (__builtin_mul_overflow(count, size, &n))
		n = SIZE_MAX; /* refused: not a free */
	tool_resized(ptr, old, q, n);
	MM_TOOL_QUIET_END();
	return q;
#else
	if (TRACING())
		return traced_realloc(ptr, count, size, 1);
	return do_reallocarray(ptr, count, size);
#endif
}

MM_API int MM_NAME(posix_memalign)(void **memptr, size_t align, size_t n)
{
	MM_TOOL_QUIET_BEGIN();
	int r = do_posix_memalign(memptr, align, n);
	if (TRACING() && r != EINVAL && mm_trace_start()) /* EINVAL: a bad argument, no request */
		mm_trace_alloc(r == 0 ? *memptr : NULL, n);
	if (r == 0)
		tool_handed(*memptr, n);
	MM_TOOL_QUIET_END();
	return r;
}

/* The aligned calls: the block and the size asked for. */
static void *traced_aligned(void *p, size_t n)
{
	if (TRACING() && mm_trace_start())
		mm_trace_alloc(p, n);
	return p;
}

/* An aligned call's block, after it was made: traced, and told to a memory checker. */
#define ALIGNED_CALL(call, n)                                                                                          \
	MM_TOOL_QUIET_BEGIN();                                                                                         \
	void *p = traced_aligned(call, n);                                                                             \
	tool_handed(p, n);                                                                                             \
	MM_TOOL_QUIET_END();                                                                                           \
	return p

MM_API void *MM_NAME(aligned_alloc)(size_t align, size_t n) { ALIGNED_CALL(do_aligned_alloc(align, n), n); }
MM_API void *MM_NAME(memalign)(size_t align, size_t n) { ALIGNED_CALL(do_memalign(align, n), n); }
MM_API void *MM_NAME(valloc)(size_t n) { ALIGNED_CALL(do_valloc(n), n); }
MM_API void *MM_NAME(pvalloc)(size_t n) { ALIGNED_CALL(do_pvalloc(n), n); }

// SPDX-License-Identifier: MIT
/*
 * huge.c - huge blocks: above MM_LARGE_MAX (or when the zones and the large region cannot serve a
 * request or its alignment), a mapping each, starting with a segment header, and a cache of
 * recently freed mappings.
 *
 * Mapping sizes are rounded up to four steps per power of two, so that a freed mapping fits many
 * later requests: a program that allocates and frees blocks of 5 to 25 MiB over and over reuses
 * mappings whose pages are still there, instead of taking a page fault for every page of every
 * block. A cached mapping is unmapped after MM_HUGE_DELAY ms, or at once beyond the cache's limits;
 * malloc_trim empties the cache.
 *
 * Layout: [header | block]; the block at MM_SEG_HEADER, or at the first multiple of its alignment
 * after the header. An alignment of MM_SEG_SIZE or more would put the block at a segment boundary,
 * where its own address would be taken for its header; such a block goes one segment further, the
 * header stays at the mapping's start, and free() finds it one segment below the pointer.
 */
#include <string.h>

#include "../tool.h"
#include "malloc_internal.h"
#include "os/os.h"

#define MM_HUGE_DELAY 1000                      /* ms a freed mapping stays cached */
#define MM_HUGE_CACHE_MAX 8                     /* mappings cached at most */
#define MM_HUGE_CACHE_BYTES ((size_t)256 << 20) /* bytes cached at most */

static mm_segment *cache;
static size_t cache_count, cache_bytes;

/* The mapping size for a block of n bytes at offset `offset`, rounded to four steps per power of
 * two (and to the page size); 0 on overflow. */
static size_t mapping_size(size_t n, size_t offset)
{
	if (n > SIZE_MAX / 2 - offset)
		return 0;
	size_t need = n + offset + 1; /* at least one byte: the block's own segment must be mapped */
	unsigned b = mm_fls_size(need);
	size_t step = b >= 3 ? (size_t)1 << (b - 2) : 1;
	size_t page = mm_os_page_size();
	if (step < page)
		step = page;
	return (need + step - 1) & ~(step - 1);
}

static void header_init(mm_segment *s, size_t mapped, void *block, size_t usable)
{
	mm_segment_init(s, MM_SEG_HUGE, mapped, NULL); /* one page, capacity 0: free() takes the slow path */
	s->huge_block = block;
	s->huge_size = usable;
	/* A memory checker's leak search must not count this as the program's pointer to the block
	 * (src/tool.h): memoman reads it with the checker's reports off. */
	MM_V_NOACCESS(&s->huge_block, sizeof(s->huge_block));
}

/* A cached mapping of at least `mapped` bytes, not wastefully larger; NULL if none. */
static mm_segment *cache_take(size_t mapped)
{
	mm_global_lock();
	mm_segment **best = NULL;
	for (mm_segment **link = &cache; *link; link = &(*link)->next)
		if ((*link)->mapped >= mapped && (*link)->mapped / 2 <= mapped &&
		    (!best || (*link)->mapped < (*best)->mapped))
			best = link;
	mm_segment *s = NULL;
	if (best) {
		s = *best;
		*best = s->next;
		cache_count--;
		cache_bytes -= s->mapped;
	}
	mm_global_unlock();
	return s;
}

void *mm_huge_malloc(size_t n, size_t align, int *zeroed)
{
	if (align < MM_MIN_ALIGN)
		align = MM_MIN_ALIGN;
	int beyond = align >= MM_SEG_SIZE; /* the block one segment or more into the mapping */
	size_t offset = beyond ? align : (MM_SEG_HEADER + align - 1) & ~(align - 1);
	size_t mapped = mapping_size(n, offset);
	if (!mapped)
		return NULL;
	mm_segment *s = beyond ? NULL : cache_take(mapped);
	if (zeroed)
		*zeroed = s == NULL; /* a fresh mapping reads as zero; a cached one does not */
	if (s) {
		mapped = s->mapped;
		mm_stat_purged_add(-(int64_t)s->purged_bytes); /* a tail purged by realloc: in use again */
	} else {
		s = mm_segment_map(mapped, beyond ? align : MM_SEG_SIZE);
		if (!s)
			return NULL;
	}
	if (beyond) {
		/* The header where masking the pointer minus one segment lands: the mapping's start is
		 * aligned to align, so offset - MM_SEG_SIZE is a multiple of MM_SEG_SIZE. */
		mm_segment *h = (mm_segment *)((uintptr_t)s + offset - MM_SEG_SIZE);
		if (h != s) {
			/* Leave the mapping's start as the only header: unmap the unused segments before it. */
			size_t skip = (size_t)((uintptr_t)h - (uintptr_t)s);
			mm_os_unmap(s, skip);
			mm_stat_mapped_add(-(int64_t)skip);
			mapped -= skip;
			offset -= skip;
			s = h;
		}
	}
	void *block = (unsigned char *)s + offset;
	header_init(s, mapped, block, mapped - offset);
	mm_segmap_set(s, 1);
	atomic_fetch_add_explicit(&mm_stat_huge_bytes, s->huge_size, memory_order_relaxed);
	return block;
}

#if MM_SECURE
/*
 * The secure build's guarded blocks: a block of n bytes (rounded to 16) ends exactly where a guard
 * page starts, so a write past its end faults (a block of 0 bytes, malloc(0), is the guard page's
 * start: any access faults); the block starts less than a page after the header,
 * inside the mapping's first segment, where free() finds it. A freed mapping is purged and made
 * inaccessible, and kept so (quarantined) until MM_QUARANTINE later ones or MM_QUARANTINE_BYTES of
 * address space push it out: a use after free faults, and the address is not handed out again at
 * once. malloc_trim (and a request that finds no memory) unmaps them all.
 */
#define MM_QUARANTINE 64
#define MM_QUARANTINE_BYTES ((size_t)1 << 30)
/* malloc(0)'s guarded blocks live at once, at most: each is two mappings (the kernel allows about
 * 65,000 a process) and a segment of address space; past this, malloc(0) is an ordinary block. */
#define MM_ZERO_GUARDED_MAX 1024

static _Atomic size_t zero_live;

static struct {
	void *at;
	size_t bytes;
} quarantine[MM_QUARANTINE];
static size_t quarantine_next, quarantine_bytes;

void *mm_huge_malloc_guarded(size_t n, int *zeroed)
{
	size_t page = mm_os_page_size();
	if (n > SIZE_MAX / 4)
		return NULL;
	if (n == 0 && atomic_fetch_add_explicit(&zero_live, 1, memory_order_relaxed) >= MM_ZERO_GUARDED_MAX) {
		atomic_fetch_sub_explicit(&zero_live, 1, memory_order_relaxed);
		return NULL;
	}
	size_t n16 = (n + 15) & ~(size_t)15;
	size_t body = (MM_SEG_HEADER + n16 + page - 1) & ~(page - 1);
	size_t mapped = body + page;
	mm_segment *s = mm_segment_map(mapped, MM_SEG_SIZE);
	if (!s) {
		if (n == 0)
			atomic_fetch_sub_explicit(&zero_live, 1, memory_order_relaxed);
		return NULL;
	}
	(void)mm_os_guard((unsigned char *)s + body, page); /* if refused, the block is only unguarded */
	void *block = (unsigned char *)s + body - n16;
	header_init(s, mapped, block, n16);
	mm_segmap_set(s, 1);
	atomic_fetch_add_explicit(&mm_stat_huge_bytes, s->huge_size, memory_order_relaxed);
	if (zeroed)
		*zeroed = 1;
	return block;
}

/* A mapping leaves the quarantine: unmapped (its memory was returned, and counted given back,
 * when it came in). */
static void quarantine_unmap(void *at, size_t bytes)
{
	atomic_fetch_sub_explicit(&mm_stat_purged, bytes, memory_order_relaxed);
	mm_stat_mapped_add(-(int64_t)bytes);
	mm_os_unmap(at, bytes);
}

static void quarantine_put(mm_segment *s)
{
	void *at = s;
	size_t bytes = s->mapped;
	mm_stat_purged_add((int64_t)(bytes - s->purged_bytes)); /* all of it returned now */
	(void)mm_os_purge(at, bytes);
	(void)mm_os_guard(at, bytes);
	void *out = NULL;
	size_t out_bytes = 0;
	mm_global_lock();
	if (quarantine[quarantine_next].at) {
		out = quarantine[quarantine_next].at;
		out_bytes = quarantine[quarantine_next].bytes;
		quarantine_bytes -= out_bytes;
	}
	quarantine[quarantine_next].at = at;
	quarantine[quarantine_next].bytes = bytes;
	quarantine_next = (quarantine_next + 1) % MM_QUARANTINE;
	quarantine_bytes += bytes;
	mm_global_unlock();
	if (out)
		quarantine_unmap(out, out_bytes);
	for (;;) { /* beyond its address space: the oldest out first */
		mm_global_lock();
		if (quarantine_bytes <= MM_QUARANTINE_BYTES) {
			mm_global_unlock();
			break;
		}
		out = NULL;
		for (size_t k = 0; k < MM_QUARANTINE && !out; k++) {
			size_t i = (quarantine_next + k) % MM_QUARANTINE;
			if (quarantine[i].at) {
				out = quarantine[i].at;
				out_bytes = quarantine[i].bytes;
				quarantine[i].at = NULL;
				quarantine_bytes -= out_bytes;
			}
		}
		mm_global_unlock();
		if (!out)
			break;
		quarantine_unmap(out, out_bytes);
	}
}

/* The secure build's SIGSEGV explanation (mm_os_on_fault): a fault on a guard page or in a
 * quarantined mapping is said to be the misuse it is. Async-signal-safe: reads without the lock. */
static void explain_fault(const void *addr)
{
	uintptr_t a = (uintptr_t)addr;
	const char *what = NULL;
	for (size_t i = 0; i < MM_QUARANTINE && !what; i++) {
		uintptr_t at = (uintptr_t)quarantine[i].at;
		if (at && a - at < quarantine[i].bytes)
			what = "memoman: heap misuse: an access to a freed block (a use after free) at 0x";
	}
	uintptr_t seg = a & ~(uintptr_t)MM_SEG_MASK;
	if (!what && seg >= MM_SEG_SIZE && !mm_addr_unmappable(seg) && mm_segmap_has(seg)) {
		const mm_segment *s = (const mm_segment *)seg;
		uintptr_t end = (uintptr_t)s->huge_block + s->huge_size;
		if (s->kind == MM_SEG_HUGE && a >= end && a - end < mm_os_page_size())
			what = s->huge_size
			           ? "memoman: heap misuse: an access past the end of a block (its guard page) at 0x"
			           : "memoman: heap misuse: an access to the bytes of malloc(0), which has none, at 0x";
		else if (s->kind != MM_SEG_HUGE && s->kind != MM_SEG_LARGE && a >= seg + MM_SEG_SIZE - MM_SEG_GUARD)
			what = "memoman: heap misuse: an access past the end of a segment's last block (its guard "
			       "page) at 0x";
	}
	const mm_segment *pool = what || seg < MM_SEG_SIZE || mm_addr_unmappable(seg) ? NULL : mm_large_segment_of(a);
	if (pool && a >= (uintptr_t)pool + MM_LARGE_POOL - MM_SEG_GUARD)
		what = "memoman: heap misuse: an access past the end of a segment's last block (its guard page) at 0x";
	if (!what)
		return;
	char buf[160];
	size_t n = 0;
	while (*what && n < 120)
		buf[n++] = *what++;
	n += mm_digits(buf + n, (uint64_t)a, 16);
	buf[n++] = '\n';
	mm_os_write_error(buf, n);
}

void mm_secure_fault_setup(void) { mm_os_on_fault(explain_fault); }

static void quarantine_flush(void)
{
	for (size_t i = 0; i < MM_QUARANTINE; i++) {
		mm_global_lock();
		void *out = quarantine[i].at;
		size_t out_bytes = quarantine[i].bytes;
		quarantine[i].at = NULL;
		if (out)
			quarantine_bytes -= out_bytes;
		mm_global_unlock();
		if (out)
			quarantine_unmap(out, out_bytes);
	}
}
#endif

/* Is p the block of a live huge mapping? (The caller found s through the segment map.) */
static int huge_block_ok(const mm_segment *s, const void *p)
{
	return s->cookie == ((uintptr_t)s ^ mm_secret) && s->kind == MM_SEG_HUGE && s->huge_block == p;
}

void mm_huge_free(mm_segment *s, void *p)
{
	if (!huge_block_ok(s, p)) {
		mm_report_misuse("free(): invalid pointer", p);
		return;
	}
	atomic_fetch_sub_explicit(&mm_stat_huge_bytes, s->huge_size, memory_order_relaxed);
	mm_segmap_set(s, 0);
	s->cookie = 0;
#if MM_SECURE
	if (s->huge_size == 0)
		atomic_fetch_sub_explicit(&zero_live, 1, memory_order_relaxed);
	quarantine_put(s);
	return;
#endif
	/* Keep it for reuse if it is a plain one (block right after the header) and the cache has room. */
	if (s->huge_block == (unsigned char *)s + MM_SEG_HEADER) {
		mm_global_lock();
		if (cache_count < MM_HUGE_CACHE_MAX && cache_bytes + s->mapped <= MM_HUGE_CACHE_BYTES) {
			s->cached_at = mm_os_now_ms();
			s->next = cache;
			cache = s;
			cache_count++;
			cache_bytes += s->mapped;
			mm_global_unlock();
			return;
		}
		mm_global_unlock();
	}
	mm_segment_unmap(s);
}

size_t mm_huge_usable(mm_segment *s, const void *p)
{
	if (!huge_block_ok(s, p)) {
		mm_report_misuse("malloc_usable_size(): invalid pointer", p);
		return 0;
	}
	return s->huge_size;
}

void *mm_huge_realloc(mm_segment *s, void *p, size_t n)
{
	if (!huge_block_ok(s, p)) {
		mm_report_misuse("realloc(): invalid pointer", p);
		return NULL;
	}
#if MM_SECURE
	return NULL; /* never resized in place (the block ends at its guard): the caller moves it */
#endif
	size_t offset = (size_t)((uintptr_t)p - (uintptr_t)s);
	size_t page = mm_os_page_size();
	uintptr_t lo = ((uintptr_t)p + n + page - 1) & ~(uintptr_t)(page - 1); /* the end of what is asked */
	uintptr_t hi = (uintptr_t)s + s->mapped;
	if (n <= s->huge_size) {
		/* Shrinking: give the tail's pages back when it is at least half the block. The purged
		 * tail is always the end of the mapping: its count grows or shrinks to [lo, hi). */
		size_t tail = hi > lo ? (size_t)(hi - lo) : 0;
		if (n < s->huge_size / 2 && tail > s->purged_bytes) {
			mm_os_purge((void *)lo, tail);
			mm_stat_purged_add((int64_t)(tail - s->purged_bytes));
			s->purged_bytes = tail;
		} else if (tail < s->purged_bytes) { /* grown back into the purged tail */
			mm_stat_purged_add(-(int64_t)(s->purged_bytes - tail));
			s->purged_bytes = tail;
		}
		return p;
	}
	size_t mapped = mapping_size(n, offset);
	if (mapped && mm_os_resize_in_place(s, s->mapped, mapped)) {
		mm_stat_mapped_add((int64_t)(mapped - s->mapped));
		mm_stat_purged_add(-(int64_t)s->purged_bytes); /* the whole block is in use again */
		s->purged_bytes = 0;
		atomic_fetch_add_explicit(&mm_stat_huge_bytes, (mapped - offset) - s->huge_size, memory_order_relaxed);
		s->mapped = mapped;
		s->huge_size = mapped - offset;
		return p;
	}
	void *q = mm_huge_malloc(n, MM_MIN_ALIGN, NULL);
	if (!q)
		return NULL;
	mm_copy_bytes(q, p, s->huge_size);
	mm_huge_free(s, p);
	return q;
}

void mm_huge_cache_trim(uint64_t now, int level)
{
	int force = level == MM_PURGE_ALL;
#if MM_SECURE
	if (force)
		quarantine_flush();
#endif
	mm_global_lock();
	mm_segment *expired = NULL;
	for (mm_segment **link = &cache; *link;) {
		mm_segment *s = *link;
		if (force || now - s->cached_at >= MM_HUGE_DELAY) {
			*link = s->next;
			cache_count--;
			cache_bytes -= s->mapped;
			s->next = expired;
			expired = s;
		} else {
			link = &s->next;
		}
	}
	mm_global_unlock();
	while (expired) {
		mm_segment *next = expired->next;
		mm_segment_unmap(expired);
		expired = next;
	}
}

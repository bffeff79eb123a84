// SPDX-License-Identifier: MIT
/*
 * zone.c - medium requests (above the size classes, up to MM_ZONE_MAX): each thread's zone (struct
 * mm_zone), a TLSF instance of the lower layer (mm_t) over ZONE segments, one pool each. "Zone" is
 * this layer's word for it: the lower layer's own heap (mm_heap_t) and pools are other things.
 *
 * The TLSF core is reused as it is: good fit with at most 1/64 rounding, O(1) malloc and free,
 * in-place realloc, exact memalign, and its O(1) checks, which name a double free or an interior
 * pointer through the error handler (set to mm_report_misuse here). Only the owner thread calls
 * into its instance; other threads push freed blocks on the zone's remote list (one CAS), which
 * the owner drains on its next medium call.
 *
 * Memory goes back: a pool that becomes entirely free is removed and its segment released; inside
 * a pool, a free block of at least MM_ZONE_PURGE_MIN bytes that has stayed free for MM_PURGE_DELAY
 * ms has its interior pages purged. Its payload words 2..4 (never part of the TLSF free-list links)
 * remember that: a "seen" mark with the time, and a "purged" mark.
 */
#include <string.h>

#include "../tlsf_internal.h" /* the TLSF core's unlocked calls, block headers and free lists */
#include "malloc_internal.h"
#include "os/os.h"

_Static_assert(!MM_SECURE || MM_ZERO_FREED, "the secure build's zones need freed memory kept zero: MM_ZERO_FREED=1");

_Static_assert(MM_MIN_ALIGN == MM_ALIGN, "the malloc layer's alignment is the TLSF core's");

#define MM_ZONE_PURGE_MIN ((size_t)256 * 1024)
#define MM_ZONE_PURGE_DELAY 500

static mm_zone *abandoned_zones;

/* ---- Set-up --------------------------------------------------------------------------------------- */

static void zone_error(void *instance, mm_error_t e, const void *ptr, void *user)
{
	(void)instance;
	(void)user;
	mm_report_misuse(e == MM_ERR_DOUBLE_FREE        ? "free(): double free"
	                 : e == MM_ERR_CORRUPTED_HEADER ? "free(): corrupted block header (a write past a block?)"
	                 : e == MM_ERR_CORRUPTED_LINK
	                     ? "heap corruption: a freed block's list link was overwritten (a write after free?) at"
	                     : "free(): invalid pointer",
	                 ptr);
}

MM_INLINE size_t block_usable(const void *p) { return mm_stride_of(MM_SIZE_LOAD(mm_block_from_ptr(p))) - MM_W; }

#if MM_SECURE
/* The secure build's zone and large-region blocks end in a canary as class blocks do
 * (malloc_internal.h): the TLSF core was asked for MM_CANARY_BYTES more; the block is the program's
 * for n bytes, the slack up to the canary zeroed (a split-off rest leaves little). */
void *mm_secure_tlsf_seal(void *p, size_t n)
{
	size_t bsize = block_usable(p);
	mm_zero_bytes((unsigned char *)p + n, bsize - MM_CANARY_BYTES - n);
	return mm_secure_seal(p, bsize, n);
}

/* A block just handed out: the TLSF core keeps freed memory zero (MM_ZERO_FREED) but for the words a
 * free block holds (its links, and the zone's cookie and purge marks: the first five) and its last
 * (the successor's prev_phys). Anything else was written after free: reported, and zeroed. */
static void zone_check_fresh(void *p)
{
	uintptr_t *w = (uintptr_t *)p;
	size_t n = block_usable(p) / sizeof(uintptr_t);
	for (size_t i = 5; i + 1 < n; i++)
		if (MM_UNLIKELY(w[i] != 0)) {
			mm_secure_written_after_free(p);
			mm_zero_bytes(w, n * sizeof(uintptr_t));
			return;
		}
	for (size_t i = 0; i < 5 && i < n; i++)
		w[i] = 0;
	w[n - 1] = 0;
}

/* At free: the canary and the slack as sealed (else a write past the end, reported: 0). */
int mm_secure_tlsf_intact(void *p, size_t usable)
{
	if (MM_UNLIKELY(mm_secure_intact(p, usable) == SIZE_MAX)) {
		mm_secure_overflow(p);
		return 0;
	}
	return 1;
}
#endif

static int zone_add_pool(mm_zone *a, mm_tcache *tc)
{
	mm_segment *s = mm_segment_new_raw(MM_SEG_ZONE, tc);
	if (!s)
		return 0;
	s->zone = a;
	unsigned char *pool = (unsigned char *)s + MM_SEG_HEADER;
	s->huge_block = pool; /* no block starts lower: remote frees are checked against it */
	if (!mm_add_pool(a->tlsf, pool, MM_SEG_SIZE - MM_SEG_HEADER - MM_SEG_GUARD)) {
		mm_segment_release(s);
		return 0;
	}
	s->next = a->segments->next; /* after the first, which holds the control */
	s->prev = a->segments;
	if (s->next)
		s->next->prev = s;
	a->segments->next = s;
	a->pools++;
	return 1;
}

static mm_zone *zone_create(mm_tcache *tc)
{
	mm_segment *s = mm_segment_new_raw(MM_SEG_ZONE, tc);
	if (!s)
		return NULL;
	unsigned char *base = (unsigned char *)s + MM_SEG_HEADER;
	mm_zone *a = (mm_zone *)(void *)base; /* MM_SEG_HEADER keeps 64-byte alignment */
	memset(a, 0, sizeof(*a));
	size_t control_at = (sizeof(mm_zone) + 63) & ~(size_t)63;
	unsigned char *control = base + control_at; /* the TLSF control, then its first pool */
	a->tlsf = mm_create_with_pool(control, MM_SEG_SIZE - MM_SEG_HEADER - control_at - MM_SEG_GUARD);
	if (!a->tlsf) {
		mm_segment_release(s);
		return NULL;
	}
	mm_set_error_handler(a->tlsf, zone_error, NULL);
	mm_set_secret(a->tlsf, mm_secret ^ (uintptr_t)mm_os_random()); /* its free lists' links sealed with it */
	atomic_init(&a->owner, tc);
	atomic_init(&a->remote, NULL);
	s->zone = a;
	s->huge_block = (unsigned char *)a->tlsf + mm_size();
	s->next = s->prev = NULL;
	a->segments = s;
	a->pools = 1;
	return a;
}

/* The usable size of a block of a TLSF instance, from its header (the block is in one of our pools:
 * the read is safe whatever the header says). */

/* Frees what other threads freed into the zone; tc (the calling thread's) counts them freed. */
static void zone_drain(mm_tcache *tc, mm_zone *a)
{
	if (!atomic_load_explicit(&a->remote, memory_order_relaxed))
		return;
	mm_cblock *b = atomic_exchange_explicit(&a->remote, NULL, memory_order_acquire);
	while (b) {
		/* A link to follow leads to an aligned address in a segment of this zone. */
		mm_cblock *next = mm_cblock_next(b);
		if (next && (((uintptr_t)next & (MM_MIN_ALIGN - 1)) || !mm_segmap_has((uintptr_t)next) ||
		             mm_segment_of((uintptr_t)next)->zone != a)) {
			mm_cblock_broken(b);
			next = NULL; /* the rest stays in use */
		}
		uint64_t before = a->tlsf->obs.frees;
		size_t usable = block_usable(b);
		mm_tlsf_free(a->tlsf, b); /* the full checks, which the other thread could not make */
		if (a->tlsf->obs.frees != before) {
			a->live--;
			mm_relaxed_add(&tc->zone_bytes, (uint64_t)0 - usable);
		}
		b = next;
	}
}

/* Releases every segment of a zone with no block in use. */
static void zone_destroy(mm_zone *a)
{
	mm_stat_purged_add(-(int64_t)a->purged_bytes); /* its spans' count: the segments count anew */
	a->purged_bytes = 0;
	mm_segment *s = a->segments;
	while (s) {
		mm_segment *next = s->next;
		s->zone = NULL;
		mm_segment_release(s); /* the first one last: it holds a itself */
		s = next;
	}
}

static mm_zone *zone_get(mm_tcache *tc)
{
	mm_global_lock();
	mm_zone *a = abandoned_zones;
	if (a)
		abandoned_zones = a->next_abandoned;
	mm_global_unlock();
	if (a) {
		atomic_store_explicit(&a->owner, tc, memory_order_release);
		for (mm_segment *s = a->segments; s; s = s->next)
			atomic_store_explicit(&s->tcache, tc, memory_order_relaxed);
		a->next_abandoned = NULL;
		zone_drain(tc, a);
	} else {
		a = zone_create(tc);
	}
	tc->zone = a;
	return a;
}

/* ---- Allocation and free --------------------------------------------------------------------------- */

void *mm_zone_malloc(mm_tcache *tc, size_t n, size_t align)
{
	mm_zone *a = tc->zone ? tc->zone : zone_get(tc);
	if (!a)
		return NULL;
	zone_drain(tc, a);
	mm_maybe_tick(tc);
	size_t want = n + MM_CANARY_BYTES;
	for (int attempt = 0; attempt < 2; attempt++) {
		void *p = align ? mm_tlsf_memalign(a->tlsf, align, want) : mm_tlsf_malloc(a->tlsf, want);
		if (p) {
#if MM_SECURE
			zone_check_fresh(p);
#endif
			/* Stale marks of a free block that started here: the "freed" cookie (word 1) and
			 * the "purged" mark (word 4, see mm_tlsf_purge_spans), which would make a block
			 * freed again with the same size look purged while its pages are dirty. (A smaller
			 * block has a header of its own split-off rest over word 4.) */
			((mm_cblock *)p)->cookie = 0;
			if (n >= 5 * sizeof(uintptr_t))
				((uintptr_t *)p)[4] = 0;
			a->live++;
			mm_relaxed_add(&tc->zone_allocs, 1);
			mm_relaxed_add(&tc->zone_bytes, block_usable(p));
#if MM_SECURE
			mm_secure_tlsf_seal(p, n);
#endif
			return p;
		}
		if (a->pools >= MM_MAX_POOLS || !zone_add_pool(a, tc))
			break;
	}
	return NULL; /* the caller maps the block on its own */
}

/*
 * What a thread may check of a block of a zone it does not own, without racing with the owner
 * (which only ever changes this header's P bit while the block is in use): p is an aligned address
 * inside the segment's blocks; its header says "in use", with a stride that stays inside the
 * segment; and it is not waiting on the remote list already (its cookie). The owner makes the TLSF
 * core's full checks when it drains the list. The usable size, or 0 (reported as `who`).
 */
static size_t foreign_check(mm_segment *s, void *p, const char *who)
{
	uintptr_t a = (uintptr_t)p, end = (uintptr_t)s + MM_SEG_SIZE - MM_SEG_GUARD;
	if (a <= (uintptr_t)s->huge_block || a >= end || (a & (MM_ALIGN - 1))) {
		mm_report_misuse(who, p);
		return 0;
	}
	size_t size = MM_SIZE_LOAD(mm_block_from_ptr(p));
	size_t stride = mm_stride_of(size);
	if ((size & (MM_FREE_BIT | MM_SPARE_MASK)) || stride < MM_MIN_STRIDE || stride > end - a) {
		mm_report_misuse((size & MM_FREE_BIT) && !(size & MM_SPARE_MASK) ? "free(): double free" : who, p);
		return 0;
	}
	if (((mm_cblock *)p)->cookie == (a ^ mm_secret)) {
		mm_report_misuse("free(): double free", p);
		return 0;
	}
	return stride - MM_W;
}

/* p lies below the segment's guard page, with room for the two words a free looks at (else it is
 * no block: reported). */
static int below_guard(const mm_segment *s, const void *p, const char *who)
{
	if (MM_LIKELY((uintptr_t)p <= (uintptr_t)s + MM_SEG_SIZE - MM_SEG_GUARD - 2 * sizeof(uintptr_t)))
		return 1;
	mm_report_misuse(who, p);
	return 0;
}

void mm_zone_free(mm_segment *s, void *p)
{
	if (MM_SEG_GUARD && !below_guard(s, p, "free(): invalid pointer"))
		return;
	mm_zone *a = s->zone;
	mm_tcache *tc = mm_tl_tcache;
	mm_cblock *b = (mm_cblock *)p;
	uintptr_t cookie = (uintptr_t)p ^ mm_secret;
	if (MM_LIKELY(atomic_load_explicit(&a->owner, memory_order_relaxed) == tc)) {
		if (MM_UNLIKELY(b->cookie == cookie)) { /* freed by another thread, not drained yet */
			mm_report_misuse("free(): double free", p);
			return;
		}
#if MM_SECURE
		size_t checked = mm_tlsf_checked_size(a->tlsf, p); /* a bad pointer: reported, 0 */
		if (!checked || !mm_secure_tlsf_intact(p, checked))
			return;
#endif
		uint64_t before = a->tlsf->obs.frees;
		size_t usable = block_usable(p);
		mm_tlsf_free(a->tlsf, p);
		if (a->tlsf->obs.frees != before) { /* not if the checks refused p (reported already) */
			a->live--;
			mm_relaxed_add(&tc->zone_bytes, (uint64_t)0 - usable);
		}
		mm_maybe_tick(tc);
		return;
	}
	/* Another thread's (or an abandoned) zone: its owner frees it later. The list link and the
	 * cookie are written into the block now, so it is checked first. */
	size_t usable = foreign_check(s, p, "free(): invalid pointer");
	if (!usable)
		return;
#if MM_SECURE
	if (!mm_secure_tlsf_intact(p, usable))
		return;
#else
	(void)usable;
#endif
	b->cookie = cookie;
	mm_cblock *old = atomic_load_explicit(&a->remote, memory_order_relaxed);
	do {
		mm_cblock_set_next(b, old);
	} while (
	    !atomic_compare_exchange_weak_explicit(&a->remote, &old, b, memory_order_release, memory_order_relaxed));
}

size_t mm_zone_usable(mm_segment *s, void *p, const char *who)
{
	if (MM_SEG_GUARD && !below_guard(s, p, who))
		return 0;
	mm_zone *a = s->zone;
	size_t n;
	if (atomic_load_explicit(&a->owner, memory_order_relaxed) != mm_tl_tcache) {
		n = foreign_check(s, p, who);
	} else if (((mm_cblock *)p)->cookie == ((uintptr_t)p ^ mm_secret)) {
		mm_report_misuse(who, p); /* freed by another thread, not drained yet */
		return 0;
	} else {
		n = mm_tlsf_checked_size(a->tlsf, p); /* the full checks; a bad pointer is reported */
	}
	return n ? n - MM_CANARY_BYTES : 0; /* the secure build's canary is not the program's */
}

/* Resizes in the owner's zone; NULL if the block is not ours to resize or no room (the caller
 * then allocates, copies and frees). */
void *mm_zone_realloc(mm_tcache *tc, mm_segment *s, void *p, size_t n)
{
	mm_zone *a = s->zone;
	if (atomic_load_explicit(&a->owner, memory_order_relaxed) != tc || n > MM_ZONE_MAX || n <= MM_CLASS_MAX)
		return NULL;
	zone_drain(tc, a);
	size_t before = block_usable(p);
	void *q = mm_tlsf_realloc(a->tlsf, p, n + MM_CANARY_BYTES);
	if (q) {
		mm_relaxed_add(&tc->zone_bytes, (uint64_t)block_usable(q) - before);
#if MM_SECURE
		mm_secure_tlsf_seal(q, n); /* the caller checked the old canary */
#endif
	}
	return q;
}

/* ---- Upkeep -------------------------------------------------------------------------------------- */

/* Is pool i of a TLSF instance one free block? */
int mm_tlsf_pool_empty(const mm_control *c, size_t i)
{
	const mm_block *b = mm_block_from_ptr((const void *)c->pools[i].first);
	return (b->size & MM_FREE_BIT) && mm_stride_of(b->size) == mm_pool_end(&c->pools[i]) - c->pools[i].first;
}

/* Purges the interior pages of large free blocks of a TLSF instance that have stayed free long
 * enough. */
size_t mm_tlsf_purge_spans(mm_control *c, uint64_t now, int force)
{
	size_t purged = 0;
	size_t page = mm_os_page_size();
	size_t first = mm_class_search(MM_ZONE_PURGE_MIN, &(size_t){0});
	for (size_t k = first; k < MM_CLASS_COUNT; k++) {
		for (mm_block *b = c->heads[k], *next; b; b = next) {
			next = mm_tlsf_next_checked(c, b); /* a broken link: not followed */
			size_t stride = mm_stride_of(b->size);
			if (stride < MM_ZONE_PURGE_MIN)
				continue;
			uintptr_t *w = (uintptr_t *)mm_block_payload(b);
			uintptr_t mark = (uintptr_t)b ^ mm_secret ^ stride;
			uintptr_t lo = ((uintptr_t)(w + 5) + page - 1) & ~(uintptr_t)(page - 1);
			uintptr_t hi = ((uintptr_t)b + stride - MM_W) & ~(uintptr_t)(page - 1);
			if (w[4] == (mark ^ 1)) {
				purged += hi > lo ? (size_t)(hi - lo) : 0;
				continue; /* purged already, unchanged since */
			}
			if (w[2] != mark) {
				w[2] = mark; /* first seen now */
				w[3] = (uintptr_t)now;
				if (!force)
					continue;
			}
			if (!force && now - (uint64_t)w[3] < MM_ZONE_PURGE_DELAY)
				continue;
			if (hi > lo) {
				/* A zone's pool is one segment, its header at its start; in a pool of the
				 * large region only the first segment has one (the others are blocks), and
				 * no THP was asked for there. */
				uintptr_t seg = lo & ~(uintptr_t)MM_SEG_MASK;
				if (mm_segmap_has(seg) && ((mm_segment *)seg)->kind == MM_SEG_ZONE)
					mm_segment_thp_off((mm_segment *)seg);
				mm_os_purge((void *)lo, (size_t)(hi - lo));
				purged += (size_t)(hi - lo);
			}
			w[4] = mark ^ 1;
		}
	}
	return purged;
}

/* A new pass over a zone's free spans: its count in mm_stat_purged follows. */
static void zone_purge(mm_zone *a, uint64_t now, int force)
{
	size_t purged = mm_tlsf_purge_spans(a->tlsf, now, force);
	mm_stat_purged_add((int64_t)purged - (int64_t)a->purged_bytes);
	a->purged_bytes = purged;
}

/* Removes the pools (other than the first) that are entirely free. */
static void release_empty_pools(mm_zone *a)
{
	mm_control *c = a->tlsf;
	for (mm_segment *s = a->segments->next, *next; s; s = next) {
		next = s->next;
		uintptr_t pool = (uintptr_t)s + MM_SEG_HEADER;
		for (size_t i = 0; i < c->pool_count; i++) {
			if (c->pools[i].start != pool)
				continue;
			if (mm_tlsf_pool_empty(c, i) && mm_remove_pool(c, (mm_pool_t)pool)) {
				s->prev->next = s->next;
				if (s->next)
					s->next->prev = s->prev;
				a->pools--;
				s->zone = NULL;
				mm_segment_release(s);
			}
			break;
		}
	}
}

void mm_zone_tick(mm_tcache *tc, uint64_t now, int level)
{
	int force = level == MM_PURGE_ALL;
	mm_zone *a = tc->zone;
	if (a) {
		zone_drain(tc, a);
		release_empty_pools(a);
		zone_purge(a, now, force);
	}
	/* An abandoned zone all of whose blocks were freed since: take it and give its memory back. */
	mm_global_lock();
	mm_zone *x = abandoned_zones, **link = &abandoned_zones;
	while (x && (atomic_load_explicit(&x->remote, memory_order_relaxed) == NULL)) {
		link = &x->next_abandoned;
		x = x->next_abandoned;
	}
	if (x)
		*link = x->next_abandoned;
	mm_global_unlock();
	if (x) {
		zone_drain(tc, x);
		if (x->live == 0) {
			zone_destroy(x);
		} else {
			release_empty_pools(x);
			zone_purge(x, now, 1);
			mm_global_lock();
			x->next_abandoned = abandoned_zones;
			abandoned_zones = x;
			mm_global_unlock();
		}
	}
}

void mm_zone_abandon(mm_tcache *tc)
{
	mm_zone *a = tc->zone;
	if (!a)
		return;
	tc->zone = NULL;
	zone_drain(tc, a);
	if (a->live == 0) {
		zone_destroy(a);
		return;
	}
	/* Blocks still in use: its free memory goes back now, as no one ticks for it any more. */
	release_empty_pools(a);
	zone_purge(a, mm_os_now_ms(), 1);
	atomic_store_explicit(&a->owner, NULL, memory_order_release);
	for (mm_segment *s = a->segments; s; s = s->next)
		atomic_store_explicit(&s->tcache, NULL, memory_order_relaxed);
	mm_global_lock();
	a->next_abandoned = abandoned_zones;
	abandoned_zones = a;
	mm_global_unlock();
}

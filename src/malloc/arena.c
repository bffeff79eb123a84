/*
 * arena.c - medium requests (above the size classes, up to MM_ARENA_MAX): each thread's TLSF arena,
 * the lower layer's mm_* instance over ARENA segments, one pool each.
 *
 * The TLSF core is reused as it is: good fit with at most 1/64 rounding, O(1) malloc and free,
 * in-place realloc, exact memalign, and its O(1) checks, which name a double free or an interior
 * pointer through the error handler (set to mm_malloc_error here). Only the owner thread calls
 * into its instance; other threads push freed blocks on the arena's remote list (one CAS), which
 * the owner drains on its next medium call.
 *
 * Memory goes back: a pool that becomes entirely free is removed and its segment released; inside
 * a pool, a free block of at least MM_ARENA_PURGE_MIN bytes that has stayed free for MM_PURGE_DELAY
 * ms has its interior pages purged. Its payload words 2..4 (never part of the TLSF free-list links)
 * remember that: a "seen" mark with the time, and a "purged" mark.
 */
#include <string.h>

#include "malloc_internal.h"
#include "os/os.h"

#define MM_ARENA_PURGE_MIN ((size_t)256 * 1024)
#define MM_ARENA_PURGE_DELAY 500

static mm_arena *abandoned_arenas;

/* ---- Set-up --------------------------------------------------------------------------------------- */

static void arena_error(void *instance, mm_error_t e, const void *ptr, void *user)
{
	(void)instance;
	(void)user;
	mm_malloc_error(e == MM_ERR_DOUBLE_FREE        ? "free(): double free"
	                : e == MM_ERR_CORRUPTED_HEADER ? "free(): corrupted block header (a write past a block?)"
	                                               : "free(): invalid pointer",
	                ptr);
}

static int arena_add_pool(mm_arena *a, mm_heap *h)
{
	mm_segment *s = mm_segment_new_raw(MM_SEG_ARENA, h);
	if (!s)
		return 0;
	s->arena = a;
	unsigned char *pool = (unsigned char *)s + MM_SEG_HEADER;
	s->huge_block = pool; /* no block starts lower: remote frees are checked against it */
	if (!mm_add_pool(a->tlsf, pool, MM_SEG_SIZE - MM_SEG_HEADER)) {
		mm_segment_release(s);
		return 0;
	}
	s->next = a->segments->next; /* after the first, which holds the control */
	s->prev = a->segments;
	if (s->next)
		s->next->prev = s;
	a->segments->next = s;
	a->pools++;
	mm_stat_in_use_add((int64_t)MM_SEG_SIZE);
	return 1;
}

static mm_arena *arena_create(mm_heap *h)
{
	mm_segment *s = mm_segment_new_raw(MM_SEG_ARENA, h);
	if (!s)
		return NULL;
	unsigned char *base = (unsigned char *)s + MM_SEG_HEADER;
	mm_arena *a = (mm_arena *)(void *)base; /* MM_SEG_HEADER keeps 64-byte alignment */
	memset(a, 0, sizeof(*a));
	size_t control_at = (sizeof(mm_arena) + 63) & ~(size_t)63;
	unsigned char *control = base + control_at; /* the TLSF control, then its first pool */
	a->tlsf = mm_create_with_pool(control, MM_SEG_SIZE - MM_SEG_HEADER - control_at);
	if (!a->tlsf) {
		mm_segment_release(s);
		return NULL;
	}
	mm_set_error_handler(a->tlsf, arena_error, NULL);
	atomic_init(&a->owner, h);
	atomic_init(&a->remote, NULL);
	s->arena = a;
	s->huge_block = (unsigned char *)a->tlsf + mm_size();
	s->next = s->prev = NULL;
	a->segments = s;
	a->pools = 1;
	mm_stat_in_use_add((int64_t)MM_SEG_SIZE);
	return a;
}

/* Frees what other threads freed into the arena. */
static void arena_drain(mm_arena *a)
{
	if (!atomic_load_explicit(&a->remote, memory_order_relaxed))
		return;
	mm_cblock *b = atomic_exchange_explicit(&a->remote, NULL, memory_order_acquire);
	while (b) {
		mm_cblock *next = b->next;
		uint64_t before = a->tlsf->obs.frees;
		mm_tlsf_free(a->tlsf, b); /* the full checks, which the other thread could not make */
		if (a->tlsf->obs.frees != before)
			a->live--;
		b = next;
	}
}

/* Releases every segment of an arena with no block in use. */
static void arena_destroy(mm_arena *a)
{
	mm_segment *s = a->segments;
	while (s) {
		mm_segment *next = s->next;
		s->arena = NULL;
		mm_stat_in_use_add(-(int64_t)MM_SEG_SIZE);
		mm_segment_release(s); /* the first one last: it holds a itself */
		s = next;
	}
}

static mm_arena *arena_get(mm_heap *h)
{
	mm_global_lock();
	mm_arena *a = abandoned_arenas;
	if (a)
		abandoned_arenas = a->next_abandoned;
	mm_global_unlock();
	if (a) {
		atomic_store_explicit(&a->owner, h, memory_order_release);
		for (mm_segment *s = a->segments; s; s = s->next)
			atomic_store_explicit(&s->heap, h, memory_order_relaxed);
		a->next_abandoned = NULL;
		arena_drain(a);
	} else {
		a = arena_create(h);
	}
	h->arena = a;
	return a;
}

/* ---- Allocation and free --------------------------------------------------------------------------- */

void *mm_arena_malloc(mm_heap *h, size_t n, size_t align)
{
	mm_arena *a = h->arena ? h->arena : arena_get(h);
	if (!a)
		return NULL;
	arena_drain(a);
	mm_maybe_tick(h);
	for (int attempt = 0; attempt < 2; attempt++) {
		void *p = align ? mm_tlsf_memalign(a->tlsf, align, n) : mm_tlsf_malloc(a->tlsf, n);
		if (p) {
			/* Stale marks of a free block that started here: the "freed" cookie (word 1) and
			 * the "purged" mark (word 4, see mm_tlsf_purge_spans), which would make a block
			 * freed again with the same size look purged while its pages are dirty. (A smaller
			 * block has a header of its own split-off rest over word 4.) */
			((mm_cblock *)p)->cookie = 0;
			if (n >= 5 * sizeof(uintptr_t))
				((uintptr_t *)p)[4] = 0;
			a->live++;
			mm_relaxed_add(&h->arena_allocs, 1);
			return p;
		}
		if (a->pools >= MM_MAX_POOLS || !arena_add_pool(a, h))
			break;
	}
	return NULL; /* the caller maps the block on its own */
}

/*
 * What a thread may check of a block of an arena it does not own, without racing with the owner
 * (which only ever changes this header's P bit while the block is in use): p is an aligned address
 * inside the segment's blocks; its header says "in use", with a stride that stays inside the
 * segment; and it is not waiting on the remote list already (its cookie). The owner makes the TLSF
 * core's full checks when it drains the list. The usable size, or 0 (reported as `who`).
 */
static size_t foreign_check(mm_segment *s, void *p, const char *who)
{
	uintptr_t a = (uintptr_t)p, end = (uintptr_t)s + MM_SEG_SIZE;
	if (a <= (uintptr_t)s->huge_block || a >= end || (a & (MM_ALIGN - 1))) {
		mm_malloc_error(who, p);
		return 0;
	}
	size_t size = MM_SIZE_LOAD(mm_block_from_ptr(p));
	size_t stride = mm_stride_of(size);
	if ((size & (MM_FREE_BIT | MM_SPARE_MASK)) || stride < MM_MIN_STRIDE || stride > end - a) {
		mm_malloc_error((size & MM_FREE_BIT) && !(size & MM_SPARE_MASK) ? "free(): double free" : who, p);
		return 0;
	}
	if (((mm_cblock *)p)->cookie == (a ^ mm_secret)) {
		mm_malloc_error("free(): double free", p);
		return 0;
	}
	return stride - MM_W;
}

void mm_arena_free(mm_segment *s, void *p)
{
	mm_arena *a = s->arena;
	mm_heap *h = mm_tl_heap;
	mm_cblock *b = (mm_cblock *)p;
	uintptr_t cookie = (uintptr_t)p ^ mm_secret;
	if (MM_LIKELY(atomic_load_explicit(&a->owner, memory_order_relaxed) == h)) {
		if (MM_UNLIKELY(b->cookie == cookie)) { /* freed by another thread, not drained yet */
			mm_malloc_error("free(): double free", p);
			return;
		}
		uint64_t before = a->tlsf->obs.frees;
		mm_tlsf_free(a->tlsf, p);
		if (a->tlsf->obs.frees != before)
			a->live--; /* not if the checks refused p (reported already) */
		mm_maybe_tick(h);
		return;
	}
	/* Another thread's (or an abandoned) arena: its owner frees it later. The list link and the
	 * cookie are written into the block now, so it is checked first. */
	if (!foreign_check(s, p, "free(): invalid pointer"))
		return;
	b->cookie = cookie;
	mm_cblock *old = atomic_load_explicit(&a->remote, memory_order_relaxed);
	do {
		b->next = old;
	} while (
	    !atomic_compare_exchange_weak_explicit(&a->remote, &old, b, memory_order_release, memory_order_relaxed));
}

size_t mm_arena_usable(mm_segment *s, void *p, const char *who)
{
	mm_arena *a = s->arena;
	if (atomic_load_explicit(&a->owner, memory_order_relaxed) != mm_tl_heap)
		return foreign_check(s, p, who);
	if (((mm_cblock *)p)->cookie == ((uintptr_t)p ^ mm_secret)) {
		mm_malloc_error(who, p); /* freed by another thread, not drained yet */
		return 0;
	}
	return mm_tlsf_checked_size(a->tlsf, p); /* the full checks; a bad pointer is reported */
}

/* Resizes in the owner's arena; NULL if the block is not ours to resize or no room (the caller
 * then allocates, copies and frees). */
void *mm_arena_realloc(mm_heap *h, mm_segment *s, void *p, size_t n)
{
	mm_arena *a = s->arena;
	if (atomic_load_explicit(&a->owner, memory_order_relaxed) != h || n > MM_ARENA_MAX || n <= MM_CLASS_MAX)
		return NULL;
	arena_drain(a);
	return mm_tlsf_realloc(a->tlsf, p, n);
}

/* ---- Upkeep -------------------------------------------------------------------------------------- */

/* Is pool i of a TLSF instance one free block? */
int mm_tlsf_pool_empty(const mm_control *c, size_t i)
{
	const mm_block *b = mm_block_from_ptr((const void *)c->pools[i].first);
	return (b->size & MM_FREE_BIT) && mm_stride_of(b->size) == c->pools[i].end - c->pools[i].first;
}

/* Purges the interior pages of large free blocks of a TLSF instance that have stayed free long
 * enough. */
void mm_tlsf_purge_spans(mm_control *c, uint64_t now, int force)
{
	size_t page = mm_os_page_size();
	size_t first = mm_class_search(MM_ARENA_PURGE_MIN, &(size_t){0});
	for (size_t k = first; k < MM_CLASS_COUNT; k++) {
		for (mm_block *b = c->heads[k]; b; b = b->next_free) {
			size_t stride = mm_stride_of(b->size);
			if (stride < MM_ARENA_PURGE_MIN)
				continue;
			uintptr_t *w = (uintptr_t *)mm_block_payload(b);
			uintptr_t mark = (uintptr_t)b ^ mm_secret ^ stride;
			if (w[4] == (mark ^ 1))
				continue; /* purged already, unchanged since */
			if (w[2] != mark) {
				w[2] = mark; /* first seen now */
				w[3] = (uintptr_t)now;
				if (!force)
					continue;
			}
			if (!force && now - (uint64_t)w[3] < MM_ARENA_PURGE_DELAY)
				continue;
			uintptr_t lo = ((uintptr_t)(w + 5) + page - 1) & ~(uintptr_t)(page - 1);
			uintptr_t hi = ((uintptr_t)b + stride - MM_W) & ~(uintptr_t)(page - 1);
			if (hi > lo) {
				mm_os_purge((void *)lo, (size_t)(hi - lo));
				atomic_fetch_add_explicit(&mm_stat_purged, hi - lo, memory_order_relaxed);
			}
			w[4] = mark ^ 1;
		}
	}
}

/* Removes the pools (other than the first) that are entirely free. */
static void release_empty_pools(mm_arena *a)
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
				s->arena = NULL;
				mm_stat_in_use_add(-(int64_t)MM_SEG_SIZE);
				mm_segment_release(s);
			}
			break;
		}
	}
}

void mm_arena_tick(mm_heap *h, uint64_t now, int level)
{
	int force = level == MM_PURGE_ALL;
	mm_arena *a = h->arena;
	if (a) {
		arena_drain(a);
		release_empty_pools(a);
		mm_tlsf_purge_spans(a->tlsf, now, force);
	}
	/* An abandoned arena all of whose blocks were freed since: take it and give its memory back. */
	mm_global_lock();
	mm_arena *x = abandoned_arenas, **link = &abandoned_arenas;
	while (x && (atomic_load_explicit(&x->remote, memory_order_relaxed) == NULL)) {
		link = &x->next_abandoned;
		x = x->next_abandoned;
	}
	if (x)
		*link = x->next_abandoned;
	mm_global_unlock();
	if (x) {
		arena_drain(x);
		if (x->live == 0) {
			arena_destroy(x);
		} else {
			release_empty_pools(x);
			mm_tlsf_purge_spans(x->tlsf, now, 1);
			mm_global_lock();
			x->next_abandoned = abandoned_arenas;
			abandoned_arenas = x;
			mm_global_unlock();
		}
	}
}

void mm_arena_abandon(mm_heap *h)
{
	mm_arena *a = h->arena;
	if (!a)
		return;
	h->arena = NULL;
	arena_drain(a);
	if (a->live == 0) {
		arena_destroy(a);
		return;
	}
	/* Blocks still in use: its free memory goes back now, as no one ticks for it any more. */
	release_empty_pools(a);
	mm_tlsf_purge_spans(a->tlsf, mm_os_now_ms(), 1);
	atomic_store_explicit(&a->owner, NULL, memory_order_release);
	for (mm_segment *s = a->segments; s; s = s->next)
		atomic_store_explicit(&s->heap, NULL, memory_order_relaxed);
	mm_global_lock();
	a->next_abandoned = abandoned_arenas;
	abandoned_arenas = a;
	mm_global_unlock();
}

// SPDX-License-Identifier: MIT
/*
 * page.c - pages of size-class blocks: setting them up, carving blocks lazily, the per-class queues
 * of a thread cache, taking back blocks freed by other threads, retiring empty pages, and adopting the
 * pages of an abandoned segment.
 *
 * A thread cache keeps, for each class, a queue of pages that may have free blocks; the first one is the
 * "current" page that malloc's fast path pops from (through tcache->direct for requests up to
 * MM_DIRECT_MAX). Pages found with nothing to give move to the thread cache's full list; a remote free sets
 * tcache->remote_pending, and the next slow path looks at the full list again.
 */
#include <string.h>

#include "../tool.h"
#include "malloc_internal.h"
#include "os/os.h"

/* Blocks carved at a time: about 16 KiB, so that a fresh page is touched a little at a time. */
#define MM_EXTEND_BYTES 16384
#define MM_EXTEND_MIN 4

/* Per class: block size and the block-index constants. Filled by mm_classes_init. */
static struct {
	uint32_t size;
	uint8_t shift;
	uintptr_t inv;
} classes[MM_CLASSES];

static uintptr_t inverse_of_odd(uintptr_t odd)
{
	uintptr_t x = odd; /* correct to 3 bits; each step doubles them */
	for (int i = 0; i < 6; i++)
		x *= 2 - odd * x;
	return x;
}

void mm_classes_init(void)
{
	for (unsigned c = 0; c < MM_CLASSES; c++) {
		size_t size = mm_class_size(c);
		unsigned shift = 0;
		while (!((size >> shift) & 1))
			shift++;
		classes[c].size = (uint32_t)size;
		classes[c].shift = (uint8_t)shift;
		classes[c].inv = inverse_of_odd((uintptr_t)(size >> shift));
	}
}

/* ---- Queues ----------------------------------------------------------------------------------------- */

static void queue_unlink(mm_page_queue *q, mm_page *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		q->first = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		q->last = p->prev;
	p->next = p->prev = NULL;
}

static void queue_push_front(mm_page_queue *q, mm_page *p)
{
	p->prev = NULL;
	p->next = q->first;
	if (q->first)
		q->first->prev = p;
	else
		q->last = p;
	q->first = p;
}

static void queue_push_back(mm_page_queue *q, mm_page *p)
{
	p->next = NULL;
	p->prev = q->last;
	if (q->last)
		q->last->next = p;
	else
		q->first = p;
	q->last = p;
}

/* Points the direct entries of class c at its queue's first page (or the empty page). */
static void direct_update(mm_tcache *tc, unsigned c)
{
	size_t size = classes[c].size;
	if (size > MM_DIRECT_MAX)
		return;
	mm_page *p = tc->queues[c].first ? tc->queues[c].first : &mm_page_empty;
	if (MM_UNLIKELY(mm_trace_state == MM_TRACE_ON))
		p = &mm_page_empty; /* malloc's fast path misses, and its miss writes the trace's line */
	size_t lo = c == 0 ? 0 : mm_class_size(c - 1) / 16 + 1; /* steps of sizes above the class below */
	for (size_t step = lo; step <= size / 16; step++)
		tc->direct[step] = p;
}

/* Makes p its class's current page. The direct entries are set even when p is first already: the
 * slow path may have moved the pages before it to the full list, leaving the entries on one of
 * them. */
static void queue_make_first(mm_tcache *tc, mm_page *p)
{
	mm_page_queue *q = &tc->queues[p->cls];
	if (q->first != p) {
		queue_unlink(q, p);
		queue_push_front(q, p);
	}
	direct_update(tc, p->cls);
}

/* ---- Pages ------------------------------------------------------------------------------------------- */

static void page_init(mm_tcache *tc, mm_page *p, unsigned c, size_t bytes)
{
	MM_TOOL_HIDE((void *)p->start, bytes); /* a memory checker: no block of the program's yet */
	p->free = NULL;
	p->used = 0;
	atomic_store_explicit(&p->capacity, 0, memory_order_relaxed);
	p->bsize = classes[c].size;
	p->shift = classes[c].shift;
	p->inv = classes[c].inv;
	p->cls = (uint8_t)c;
	p->in_full = 0;
	p->reserved = (uint32_t)(bytes / p->bsize);
	p->next = p->prev = NULL;
	atomic_store_explicit(&p->thread_free, NULL, memory_order_relaxed);
	mm_page_set_owner(p, tc, 0, memory_order_relaxed);
}

#if MM_SECURE
/* The secure build's carving: blocks [cap, cap + n) filled, and linked in a random order (a
 * Fisher-Yates shuffle driven by a per-thread xorshift generator), so that the next blocks handed
 * out are not the next addresses. */
static void carve_shuffled(mm_page *p, uint32_t cap, uint32_t n)
{
	static _Thread_local uint64_t rng MM_TLS_MODEL;
	if (!rng)
		rng = (mm_canary_key ^ (uintptr_t)&rng) | 1;
	uint16_t order[MM_EXTEND_BYTES / MM_MIN_ALIGN]; /* n <= MM_EXTEND_BYTES / the smallest block */
	for (uint32_t i = 0; i < n; i++)
		order[i] = (uint16_t)i;
	for (uint32_t i = n - 1; i > 0; i--) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		uint32_t j = (uint32_t)(rng % (i + 1));
		uint16_t t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	mm_cblock *next = p->free;
	for (uint32_t i = 0; i < n; i++) { /* built from the end: order[0] comes out first */
		uintptr_t a = p->start + (uintptr_t)(cap + order[n - 1 - i]) * p->bsize;
		mm_cblock *b = (mm_cblock *)a;
		/* Free memory is zero in the secure build (a segment is clean when taken, page_wipe leaves
		 * a slot so): a write after free into a page that was given back shows here. */
		uintptr_t *w = (uintptr_t *)b;
		for (size_t k = 0; k < p->bsize / sizeof(uintptr_t); k++)
			if (MM_UNLIKELY(w[k] != 0)) {
				mm_secure_written_after_free(b);
				memset(b, 0, p->bsize);
				break;
			}
		mm_cblock_set_next(b, next);
		b->cookie = a ^ mm_secret;
		next = b;
	}
	p->free = next;
	atomic_store_explicit(&p->capacity, cap + n, memory_order_relaxed);
}
#endif

/* Carves the next blocks of the page onto its (empty) free list, each marked free. */
static void page_extend(mm_page *p)
{
	uint32_t cap = mm_page_capacity(p);
	uint32_t n = MM_EXTEND_BYTES / p->bsize;
	if (n < MM_EXTEND_MIN)
		n = MM_EXTEND_MIN;
	if (n > p->reserved - cap)
		n = p->reserved - cap;
#if MM_SECURE
	carve_shuffled(p, cap, n);
#else
	uintptr_t a = p->start + (uintptr_t)cap * p->bsize;
	mm_cblock *first = (mm_cblock *)a;
	for (uint32_t i = 0; i + 1 < n; i++, a += p->bsize) {
		mm_cblock *b = (mm_cblock *)a;
		mm_cblock_set_next(b, (mm_cblock *)(a + p->bsize));
		b->cookie = a ^ mm_secret;
	}
	mm_cblock *last = (mm_cblock *)a;
	mm_cblock_set_next(last, p->free);
	last->cookie = a ^ mm_secret;
	p->free = first;
	atomic_store_explicit(&p->capacity, cap + n, memory_order_relaxed);
#endif
}

/* Takes back the blocks other threads freed into the page (its owner's, or anyone's while it has
 * none). Returns how many. */
static uint32_t page_collect(mm_page *p)
{
	if (!atomic_load_explicit(&p->thread_free, memory_order_relaxed))
		return 0;
	mm_cblock *b = atomic_exchange_explicit(&p->thread_free, NULL, memory_order_acquire);
	uint32_t n = 0;
	mm_cblock *last = NULL;
	for (mm_cblock *x = b; x;) {
		n++;
		last = x;
		x = mm_cblock_next(x);
		if (x && !mm_cblock_link_ok(last, x)) {
			mm_cblock_broken(last); /* the rest is not followed: those blocks stay used */
			break;
		}
	}
	if (last) {
		mm_cblock_set_next(last, p->free);
		p->free = b;
		p->used -= n;
	}
	return n;
}

#if MM_SECURE
/* A page whose blocks are all free gives its slot back: each block carved must still be as its
 * free left it (zero after its link and cookie: else a write after free, reported), and the link
 * and cookie are cleared. The slot's bytes are then all zero, which carve_shuffled checks when a
 * page takes the slot again: a write after free into the retired page is reported then. */
static void page_wipe(mm_page *p)
{
	uint32_t cap = mm_page_capacity(p);
	for (uint32_t i = 0; i < cap; i++) {
		uintptr_t *w = (uintptr_t *)(p->start + (uintptr_t)i * p->bsize);
		mm_secure_check_zero(w, p->bsize);
		w[0] = w[1] = 0;
	}
}
#else
#define page_wipe(p) ((void)0)
#endif

static void page_retire(mm_tcache *tc, mm_page *p)
{
	page_wipe(p);
	if (p->in_full) {
		queue_unlink(&tc->full, p);
	} else {
		int was_first = tc->queues[p->cls].first == p;
		queue_unlink(&tc->queues[p->cls], p);
		if (was_first)
			direct_update(tc, p->cls);
	}
	mm_page_slot_free(tc, p);
}

MM_INLINE void *page_pop(mm_page *p)
{
	mm_cblock *b = p->free;
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

static void to_full(mm_tcache *tc, mm_page *p)
{
	queue_unlink(&tc->queues[p->cls], p);
	p->in_full = 1;
	mm_page_set_owner(p, tc, 1, memory_order_relaxed); /* its frees leave free()'s fast path */
	queue_push_back(&tc->full, p);
}

static void from_full(mm_tcache *tc, mm_page *p)
{
	queue_unlink(&tc->full, p);
	p->in_full = 0;
	mm_page_set_owner(p, tc, 0, memory_order_relaxed);
	queue_push_back(&tc->queues[p->cls], p);
	if (tc->queues[p->cls].first == p)
		direct_update(tc, p->cls);
}

void mm_page_collect_full(mm_tcache *tc)
{
	mm_page *p = tc->full.first;
	while (p) {
		mm_page *next = p->next;
		if (page_collect(p)) {
			if (p->used == 0)
				page_retire(tc, p);
			else
				from_full(tc, p);
		}
		p = next;
	}
}

#if MM_DEBUG
#include <stdio.h>
#include <stdlib.h>
/* Every block on the page's free list is a carved block of the page, marked free; no cycle. Run on
 * every MM_VALIDATE_INTERVAL-th call of the thread (the cadence of the TLSF core's mm_validate): the
 * walk is O(blocks of the page), up to 4,096, and on every call it made the debug build's malloc
 * and free a hundred times slower than the release build's. */
void mm_page_check(const mm_page *p);
void mm_page_check(const mm_page *p)
{
	static _Thread_local unsigned calls MM_TLS_MODEL;
	if (++calls < MM_VALIDATE_INTERVAL)
		return;
	calls = 0;
	size_t n = 0;
	for (const mm_cblock *b = p->free, *next; b; b = next) {
		next = mm_cblock_next(b);
		if (next && !mm_cblock_link_ok(b, next))
			next = NULL; /* a link a program overwrote: the pop that meets it reports it */
		uintptr_t a = (uintptr_t)b;
		if (mm_block_index(p, a) >= mm_page_capacity(p) || b->cookie != (a ^ mm_secret) ||
		    ++n > mm_page_capacity(p)) {
			fprintf(stderr, "memoman: page %p (class %u) free list broken at %p (n %zu, used %u, cap %u)\n",
			        (const void *)p, p->cls, (const void *)b, n, p->used, mm_page_capacity(p));
			abort();
		}
	}
}
#endif

/* ---- The slow path of malloc for a class ----------------------------------------------------------- */

void *mm_class_alloc_slow(mm_tcache *tc, unsigned c)
{
	mm_maybe_tick(tc);
	if (atomic_load_explicit(&tc->remote_pending, memory_order_relaxed) &&
	    atomic_exchange_explicit(&tc->remote_pending, 0, memory_order_seq_cst))
		mm_page_collect_full(tc);
	mm_page_queue *q = &tc->queues[c];
	for (int adopted = 0;; adopted = 1) {
		/* The class's pages in order: take back remote frees, carve more, or give up on the page. */
		mm_page *p = q->first;
		while (p) {
			mm_page *next = p->next;
			if (!p->free)
				page_collect(p);
			if (!p->free && mm_page_capacity(p) < p->reserved)
				page_extend(p);
			if (p->free) {
				queue_make_first(tc, p);
				return page_pop(p);
			}
			to_full(tc, p);
			p = next;
		}
		direct_update(tc, c);
		/* Out of page slots, exited threads' segments are adopted before a fresh page is set up, and
		 * the queue looked at again: their pages of this class join it, and a short-lived thread
		 * uses the page its predecessor left rather than a new one in an adopted segment. */
		if (adopted || !mm_segment_adopt(tc, MM_SEG_SMALL))
			break;
	}
	/* A fresh page. */
	size_t bytes;
	mm_page *p = mm_page_slot_alloc(tc, MM_SEG_SMALL, &bytes);
	if (!p)
		return NULL;
	page_init(tc, p, c, bytes);
	page_extend(p);
	queue_push_front(q, p);
	direct_update(tc, c);
	return page_pop(p);
}

/* The owner freed a block of a page that is now empty, or that was on the full list. An empty page
 * is kept if it is its class's only page (so that one block allocated and freed over and over does
 * not take a page each time), otherwise its slot is given back; a page from the full list goes back
 * to its class's queue. */
void mm_page_freed(mm_tcache *tc, mm_page *p)
{
	if (p->used == 0) {
		mm_page_queue *q = &tc->queues[p->cls];
		if (!(!p->in_full && q->first == p && q->last == p))
			page_retire(tc, p);
	} else {
		from_full(tc, p);
	}
	mm_maybe_tick(tc); /* after p is settled: a program whose calls all take the fast paths still ticks here */
}

/* For an abandoned segment that the caller holds alone (taken off the abandoned list): takes back
 * what other threads freed into its pages, and frees (to be purged by age, or used by a thread that
 * adopts the segment) the
 * pages that are empty then. Returns the pages still holding blocks. */
unsigned mm_segment_reclaim_free(mm_segment *s)
{
	uint64_t all = s->page_count == 64 ? ~(uint64_t)0 : (((uint64_t)1 << s->page_count) - 1);
	for (uint64_t used = ~s->free_slots & all; used; used &= used - 1) {
		mm_page *p = &s->pages[mm_ffs64(used)];
		page_collect(p);
		if (p->used == 0) {
			page_wipe(p);
			mm_segment_free_abandoned_slot(s, p);
		}
	}
	return s->used_pages;
}

/* Retires the pages that mm_page_freed kept, empty, as their class's only page. Called on a tick:
 * a block allocated and freed over and over still finds its page between ticks, but a class that
 * has gone quiet gives its page back. */
void mm_tcache_retire_idle(mm_tcache *tc)
{
	for (unsigned c = 0; c < MM_CLASSES; c++) {
		mm_page *p = tc->queues[c].first;
		if (p && p->used == 0 && !p->next)
			page_retire(tc, p);
	}
}

/* Takes back every remote free and retires every empty page (malloc_trim). */
void mm_tcache_release_empty(mm_tcache *tc)
{
	mm_page_collect_full(tc);
	for (unsigned c = 0; c < MM_CLASSES; c++)
		for (mm_page *p = tc->queues[c].first, *next; p; p = next) {
			next = p->next;
			page_collect(p);
			if (p->used == 0)
				page_retire(tc, p);
		}
	for (unsigned k = 0; k < MM_SEG_ZONE; k++) {
		mm_segment *s = tc->segments[k];
		if (s && !s->next && s->used_pages == 0) { /* the one kept for reuse */
			tc->segments[k] = NULL;
			mm_segment_release(s);
		}
	}
}

void mm_tcache_untrace(mm_tcache *tc)
{
	for (unsigned c = 0; c < MM_CLASSES; c++) {
		for (mm_page *p = tc->queues[c].first; p; p = p->next)
			mm_page_set_owner(p, tc, 0, memory_order_relaxed);
		direct_update(tc, c);
	}
	for (mm_page *p = tc->full.first; p; p = p->next)
		mm_page_set_owner(p, tc, 1, memory_order_relaxed);
}

/* ---- Frees from other threads ----------------------------------------------------------------------- */

void mm_cblock_broken(const mm_cblock *b)
{
	mm_report_misuse("heap corruption: a freed block's list link was overwritten (a write after free?) at", b);
}

void *mm_cblock_pop_broken(mm_page *p, mm_cblock *b)
{
	mm_cblock_broken(b);
	p->free = NULL; /* the rest of the list is not followed: those blocks stay counted in use */
	p->used++;
	p->allocs++;
	b->cookie = 0;
	MM_SECURE_HANDOUT(b, p->free, p->bsize);
	return b;
}

void mm_remote_free(mm_page *p, mm_cblock *b)
{
	/* The owner is read before the block is handed over: after that, the owner may take the
	 * block, find the page empty and give the segment back, and the page may be gone. If the
	 * owner changes in between, the wrong thread cache is told (thread caches are never unmapped: a safe place to
	 * write) or none; the block then waits until the page is looked at again — the owner's next
	 * tick looks at every full page. */
	mm_tcache *tc = mm_page_owner(p);
	mm_cblock *old = atomic_load_explicit(&p->thread_free, memory_order_relaxed);
	do {
		mm_cblock_set_next(b, old);
	} while (!atomic_compare_exchange_weak_explicit(&p->thread_free, &old, b, memory_order_seq_cst,
	                                                memory_order_relaxed));
	/* Tell the owner, if there is one: its full pages are looked at again on its next slow path. */
	if (tc && !atomic_load_explicit(&tc->remote_pending, memory_order_relaxed))
		atomic_store_explicit(&tc->remote_pending, 1, memory_order_seq_cst);
}

/* ---- Adopting and abandoning ------------------------------------------------------------------------ */

void mm_segment_adopt_pages(mm_tcache *tc, mm_segment *s)
{
	uint64_t all = s->page_count == 64 ? ~(uint64_t)0 : (((uint64_t)1 << s->page_count) - 1);
	uint64_t used = ~s->free_slots & all;
	while (used) {
		unsigned i = mm_ffs64(used);
		used &= used - 1;
		mm_page *p = &s->pages[i];
		mm_page_set_owner(p, tc, 0, memory_order_seq_cst);
		page_collect(p);
		p->in_full = 0;
		p->next = p->prev = NULL;
		int last = s->used_pages == 1;
		if (p->used == 0) {
			queue_push_back(&tc->queues[p->cls], p);
			page_retire(tc, p); /* may release the segment: then this was its last page */
			if (last)
				return;
		} else if (p->free || mm_page_capacity(p) < p->reserved) {
			queue_push_back(&tc->queues[p->cls], p);
			if (tc->queues[p->cls].first == p)
				direct_update(tc, p->cls);
		} else {
			p->in_full = 1;
			mm_page_set_owner(p, tc, 1, memory_order_relaxed);
			queue_push_back(&tc->full, p);
		}
	}
}

void mm_tcache_abandon(mm_tcache *tc)
{
	/* Take back what other threads freed; retire the pages that are empty then. */
	for (unsigned c = 0; c < MM_CLASSES; c++)
		for (mm_page *p = tc->queues[c].first, *next; p; p = next) {
			next = p->next;
			page_collect(p);
			if (p->used == 0)
				page_retire(tc, p);
		}
	mm_page_collect_full(tc);
	for (unsigned c = 0; c < MM_CLASSES; c++)
		for (mm_page *p = tc->queues[c].first, *next; p; p = next) {
			next = p->next;
			if (p->used == 0)
				page_retire(tc, p);
		}
	/* What is left has blocks in use: the segments go to the abandoned lists, their pages ownerless. */
	for (unsigned k = 0; k < MM_SEG_ZONE; k++) {
		mm_segment *s = tc->segments[k];
		tc->segments[k] = NULL;
		while (s) {
			mm_segment *next = s->next;
			s->next = s->prev = NULL;
			if (s->used_pages == 0) {
				mm_segment_release(s);
			} else {
				uint64_t all =
				    s->page_count == 64 ? ~(uint64_t)0 : (((uint64_t)1 << s->page_count) - 1);
				for (uint64_t used = ~s->free_slots & all; used; used &= used - 1) {
					mm_page *p = &s->pages[mm_ffs64(used)];
					mm_page_set_owner(p, NULL, 0, memory_order_release);
				}
				mm_segment_abandon(s);
			}
			s = next;
		}
	}
	for (unsigned c = 0; c < MM_CLASSES; c++)
		tc->queues[c].first = tc->queues[c].last = NULL;
	tc->full.first = tc->full.last = NULL;
	for (size_t i = 0; i < MM_DIRECT_STEPS; i++)
		tc->direct[i] = &mm_page_empty;
}

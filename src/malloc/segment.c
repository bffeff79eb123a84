// SPDX-License-Identifier: MIT
/*
 * segment.c - segments: the segment map, getting them from the OS, the cache of empty ones, the
 * lists of abandoned ones, page slots inside them, and handing memory back (purging).
 *
 * Memory goes back to the OS in three steps, all on the slow paths of ordinary calls (no thread of
 * our own), and only by age: a page slot freed in a segment (a live thread's or an exited one's) is
 * purged (madvise) once it has stayed free MM_PURGE_DELAY ms; an empty segment goes to the global
 * cache at once and is purged there after the same delay, then unmapped after MM_UNMAP_DELAY ms or
 * when the cache holds too many (at most MM_CACHE_MAX segments, MM_CACHE_DIRTY_MAX of them not
 * purged, bounds kept as a segment enters it). No slot or segment is purged because a thread exits
 * or because much was freed at once: memory freed and soon used again (threads that come and go,
 * pages emptied by other threads' frees) would otherwise be faulted straight back in. (A zone's free
 * spans are purged at its thread's exit: zone.c.) A request that finds no memory makes
 * the caches give back everything first (alloc.c), and malloc_trim does at once.
 */
#include <pthread.h>
#include <string.h>

#include "malloc_internal.h"
#include "os/os.h"

#define MM_PURGE_DELAY 500   /* ms a free slot or a cached segment keeps its memory */
#define MM_UNMAP_DELAY 3000  /* ms a cached segment keeps its address space */
#define MM_CACHE_MAX 16      /* segments the cache holds at most */
#define MM_CACHE_DIRTY_MAX 8 /* of them, not purged yet: beyond, the oldest are purged at once */
#define MM_TICK_INTERVAL 100 /* ms between a thread cache's purge passes */

#if MM_SEGMAP_TWO_LEVEL
_Atomic uintptr_t mm_segmap_top[MM_SEGMAP_TOP];
#endif
_Atomic uint8_t mm_segmap_zero[MM_SEGMAP_BYTES];
uintptr_t mm_secret;
uintptr_t mm_link_key;
uintptr_t mm_canary_key;
_Atomic uint64_t mm_stat_mapped, mm_stat_mapped_peak, mm_stat_purged, mm_stat_given_back;
_Atomic uint64_t mm_stat_large_bytes, mm_stat_huge_bytes;

static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;
static mm_segment *cache; /* empty segments, newest first */
static size_t cache_count;
static mm_segment *abandoned[MM_SEG_KINDS];          /* SMALL segments of exited threads */
static _Atomic size_t abandoned_count[MM_SEG_KINDS]; /* their number, for a look without the lock */

void mm_global_lock(void) { pthread_mutex_lock(&global_lock); }
void mm_global_unlock(void) { pthread_mutex_unlock(&global_lock); }

void mm_stat_mapped_add(int64_t delta)
{
	uint64_t now =
	    atomic_fetch_add_explicit(&mm_stat_mapped, (uint64_t)delta, memory_order_relaxed) + (uint64_t)delta;
	uint64_t peak = atomic_load_explicit(&mm_stat_mapped_peak, memory_order_relaxed);
	while (delta > 0 && now > peak &&
	       !atomic_compare_exchange_weak_explicit(&mm_stat_mapped_peak, &peak, now, memory_order_relaxed,
	                                              memory_order_relaxed)) {
	}
}

void mm_stat_purged_add(int64_t delta)
{
	if (!delta)
		return;
	atomic_fetch_add_explicit(&mm_stat_purged, (uint64_t)delta, memory_order_relaxed);
	if (delta > 0)
		atomic_fetch_add_explicit(&mm_stat_given_back, (uint64_t)delta, memory_order_relaxed);
}

/* ---- The segment map ---------------------------------------------------------------------------- */

int mm_segmap_reserve(uintptr_t start, size_t bytes)
{
	if (!bytes || start + (bytes - 1) < start || mm_addr_unmappable(start + (bytes - 1)))
		return 0;
#if MM_SEGMAP_TWO_LEVEL
	const unsigned shift = MM_SEG_SHIFT + MM_SEGMAP_LEAF_BITS;
	for (uintptr_t i = start >> shift; i <= (start + (bytes - 1)) >> shift; i++) {
		if (atomic_load_explicit(&mm_segmap_top[i], memory_order_acquire))
			continue;
		void *leaf = mm_os_map(MM_SEGMAP_LEAF); /* zeros: every segment MM_MAP_NONE */
		if (!leaf)
			return 0;
		uintptr_t expected = 0, off = (uintptr_t)leaf - (uintptr_t)mm_segmap_zero;
		if (!atomic_compare_exchange_strong_explicit(&mm_segmap_top[i], &expected, off, memory_order_acq_rel,
		                                             memory_order_acquire))
			mm_os_unmap(leaf, MM_SEGMAP_LEAF); /* another thread was first */
	}
#endif
	return 1;
}

void mm_segmap_mark(uintptr_t segment, unsigned value)
{
	_Atomic uint8_t *leaf = mm_segmap_leaf(segment);
	if (leaf == mm_segmap_zero && MM_SEGMAP_TWO_LEVEL) {
		/* Not reserved: nothing to clear, and nothing may be set there (mm_segment_map reserves). */
		MM_ASSERT(value == MM_MAP_NONE);
		return;
	}
	atomic_store_explicit(&leaf[(segment >> MM_SEG_SHIFT) & (MM_SEGMAP_LEAF - 1)], (uint8_t)value,
	                      memory_order_release);
}

void mm_segmap_set(mm_segment *s, int present)
{
	unsigned code = s->kind == MM_SEG_SMALL ? MM_MAP_SMALL : MM_MAP_SEGMENT;
	mm_segmap_mark((uintptr_t)s, present ? code : MM_MAP_NONE);
}

/* ---- Segments from the OS ------------------------------------------------------------------------ */

mm_segment *mm_segment_map(size_t bytes, size_t align)
{
	for (int tries = 0; tries < 2; tries++) {
		void *p = mm_os_map_aligned(bytes, align);
		if (!p)
			return NULL;
		/* Segment 0 would make a NULL pointer look like ours; addresses beyond the map (2^57 on
		 * 64-bit targets) cannot be recorded. Neither happens with the kernel's usual placement;
		 * refuse them if they do. The leaves of the map for the range are mapped now, so that
		 * marking its segments later cannot fail. */
		if ((uintptr_t)p >= MM_SEG_SIZE && mm_segmap_reserve((uintptr_t)p, bytes)) {
			mm_stat_mapped_add((int64_t)bytes);
			return (mm_segment *)p;
		}
		mm_os_unmap(p, bytes);
	}
	return NULL;
}

void mm_segment_unmap(mm_segment *s)
{
	size_t bytes = s->mapped;
	/* Its purged bytes leave `returned` as they leave `mapped`; the rest is given back now. */
	atomic_fetch_sub_explicit(&mm_stat_purged, s->purged_bytes, memory_order_relaxed);
	mm_stat_mapped_add(-(int64_t)bytes);
	atomic_fetch_add_explicit(&mm_stat_given_back, bytes - s->purged_bytes, memory_order_relaxed);
	s->purged_bytes = 0;
	mm_os_unmap(s, bytes);
}

void mm_segment_init(mm_segment *s, unsigned kind, size_t mapped, mm_tcache *tc)
{
	memset(s, 0, offsetof(mm_segment, pages));
	s->cookie = (uintptr_t)s ^ mm_secret;
	s->kind = (uint8_t)kind;
	s->mapped = mapped;
	atomic_init(&s->tcache, tc);
	unsigned shift = kind == MM_SEG_SMALL ? MM_SMALL_PAGE_SHIFT : MM_SEG_SHIFT;
	s->page_shift = (uint8_t)shift;
	unsigned slots = (unsigned)(MM_SEG_SIZE >> shift);
	/* The secure build's guard (MM_SEG_GUARD) shortens the last slot, or takes it all (64 KiB OS pages
	 * in a segment of 64 KiB slots): then the segment has one slot less. */
	s->page_count = (uint8_t)(MM_SEG_GUARD >= ((size_t)1 << shift) && slots > 1 ? slots - 1 : slots);
	s->free_slots = s->page_count == 64 ? ~(uint64_t)0 : (((uint64_t)1 << s->page_count) - 1);
	for (unsigned i = 0; i < slots; i++) { /* all: a pointer into a slot left out finds no blocks */
		mm_page *p = &s->pages[i];
		memset(p, 0, sizeof(*p));
		p->slot = (uint8_t)i;
		atomic_init(&p->owner, 0);
		atomic_init(&p->thread_free, NULL);
		atomic_init(&p->capacity, 0);
	}
}

/* ---- Transparent huge pages (THP) ------------------------------------------------------------------ */

/*
 * A segment (4 MiB, aligned) spans two of the kernel's transparent huge pages (2 MiB with 4 KiB base
 * pages; nothing to do with HUGE blocks). Backed by THP, a thread that fills its segments takes 2
 * page faults per segment instead of 1,024, and fewer TLB misses after; but a segment with a few
 * blocks in use may hold all of its 4 MiB. So memoman asks for THP (MADV_HUGEPAGE) only for a segment
 * taken by a thread that already holds MM_THP_AFTER segments of that kind, whose footprint it hardly
 * changes (MEMOMAN_THP unset), for every segment (MEMOMAN_THP=1), or never (MEMOMAN_THP=0). The
 * kernel's mode decides first: in mode "always" it gives THP without asking, in "never" not at all.
 *
 * A purge returns parts of a segment: the kernel splits its THP, and khugepaged would later collapse
 * the rest back, making the purged parts resident again. So before the first purge in a segment that
 * may have THP, memoman refuses them there (MADV_NOHUGEPAGE); a thread that takes the segment from
 * the cache later asks again if it qualifies.
 */
#define MM_THP_AFTER 4

static uint8_t thp_policy; /* 0: never ask; 1: auto; 2: every segment */

void mm_thp_setup(void)
{
	const char *v = mm_os_getenv("MEMOMAN_THP");
	thp_policy = v && v[0] == '0' && !v[1] ? 0 : v && v[0] == '1' && !v[1] ? 2 : 1;
	if (mm_os_thp_mode() != MM_OS_THP_ADVISED) /* read once, cached by the OS layer */
		thp_policy = 0;                    /* nothing to ask for: the kernel decides alone */
}

/* Up to MM_THP_AFTER: the segments of a kind the thread holds. */
static unsigned held(const mm_tcache *tc, unsigned kind)
{
	if (kind == MM_SEG_ZONE)
		return tc->zone ? tc->zone->pools : 0;
	unsigned n = 0;
	for (const mm_segment *s = tc->segments[kind]; s && n < MM_THP_AFTER; s = s->next)
		n++;
	return n;
}

/* The advice for a segment about to be taken by tc for a kind, whose advice so far is `thp`. Given
 * before the segment's header is written: a fresh mapping's first touch decides its page size. */
static unsigned thp_on(mm_segment *s, unsigned thp, const mm_tcache *tc, unsigned kind)
{
	if (!thp_policy || thp == MM_THP_ASKED || !tc)
		return thp;
	if (thp_policy == 1 && held(tc, kind) < MM_THP_AFTER)
		return thp;
	return mm_os_huge_advise(s, MM_SEG_SIZE, 1) ? MM_THP_ASKED : thp;
}

void mm_segment_thp_off(mm_segment *s)
{
	if (s->thp == MM_THP_ASKED || (s->thp == MM_THP_NONE && mm_os_thp_mode() == MM_OS_THP_ALWAYS))
		if (mm_os_huge_advise(s, MM_SEG_SIZE, 0))
			s->thp = MM_THP_REFUSED;
}

/* ---- New segments ---------------------------------------------------------------------------------- */

/* A segment of MM_SEG_SIZE for a kind, from the cache or the OS, mapped in the segment map (not on
 * any of the thread cache's lists: zone.c keeps its own). */
mm_segment *mm_segment_new_raw(unsigned kind, mm_tcache *tc)
{
	mm_global_lock();
	mm_segment *s = cache;
	if (s) {
		cache = s->next;
		cache_count--;
		/* Under the lock: a statistics walk that finds s on a list later (mm_segments_count) reads
		 * this link or a newer one, never one to a cached segment that may be unmapped by then. */
		s->next = s->prev = NULL;
	}
	mm_global_unlock();
	unsigned thp = MM_THP_NONE; /* a fresh mapping's */
	if (s) {
		mm_stat_purged_add(-(int64_t)s->purged_bytes); /* in use again: no longer "returned" */
		thp = s->thp;                                  /* the cached mapping's advice */
#if MM_SECURE
		/* The secure build checks that free memory is zero (a class page's carving, a zone's
		 * blocks): what the segment's previous use left goes. Whole OS pages are purged (zero
		 * pages come back on the next touch), the part page after the header is written. */
		size_t page = mm_os_page_size();
		uintptr_t from = (uintptr_t)s + MM_SEG_HEADER, to = (uintptr_t)s + MM_SEG_SIZE - MM_SEG_GUARD;
		uintptr_t lo = (from + page - 1) & ~(uintptr_t)(page - 1);
		memset((void *)from, 0, (size_t)(lo - from));
		(void)mm_os_purge((void *)lo, (size_t)(to - lo));
#endif
	} else if (!(s = mm_segment_map(MM_SEG_SIZE, MM_SEG_SIZE))) {
		return NULL;
	} else if (MM_SEG_GUARD) { /* kept while the segment is cached (only these segments are) */
		(void)mm_os_guard((unsigned char *)s + MM_SEG_SIZE - MM_SEG_GUARD,
		                  MM_SEG_GUARD); /* refused: unguarded */
	}
	thp = thp_on(s, thp, tc, kind);
	mm_segment_init(s, kind, MM_SEG_SIZE, tc);
	s->thp = (uint8_t)thp;
	mm_segmap_set(s, 1);
	return s;
}

/* ---- Page slots -------------------------------------------------------------------------------- */

static void list_push_front(mm_segment **list, mm_segment *s)
{
	s->prev = NULL;
	s->next = *list;
	if (*list)
		(*list)->prev = s;
	*list = s;
}

static void list_unlink(mm_segment **list, mm_segment *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		*list = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

static void list_move_back(mm_segment **list, mm_segment *s)
{
	if (!s->next)
		return;
	list_unlink(list, s);
	mm_segment *t = *list;
	while (t->next)
		t = t->next;
	t->next = s;
	s->prev = t;
}

/* Memory of slot i: [*start, *start + *bytes). */
static void slot_range(const mm_segment *s, unsigned i, uintptr_t *start, size_t *bytes)
{
	uintptr_t lo = (uintptr_t)s + ((uintptr_t)i << s->page_shift);
	uintptr_t hi = lo + ((uintptr_t)1 << s->page_shift);
	if (i == 0)
		lo += MM_SEG_HEADER;
	if (hi > (uintptr_t)s + MM_SEG_SIZE - MM_SEG_GUARD)
		hi = (uintptr_t)s + MM_SEG_SIZE - MM_SEG_GUARD;
	*start = lo;
	*bytes = (size_t)(hi - lo);
}

/* The bytes of slot i that purging returns: its whole OS pages (all of it, but for slot 0's, whose
 * start is MM_SEG_HEADER into the segment: with pages above that, its first page stays). The
 * accounting of purged bytes goes by this; a run of slots is purged with one call, which returns
 * at least as much. */
static size_t slot_purgeable(const mm_segment *s, unsigned i)
{
	uintptr_t lo;
	size_t bytes;
	slot_range(s, i, &lo, &bytes);
	size_t page = mm_os_page_size();
	uintptr_t a = (lo + page - 1) & ~(uintptr_t)(page - 1), b = (lo + bytes) & ~(uintptr_t)(page - 1);
	return b > a ? (size_t)(b - a) : 0;
}

/* A free page slot of the kind in one of tc's segments, taken: the descriptor with its memory range
 * in start (and the bytes in *bytes). NULL if no memory. Segments with free slots stay at the
 * front of tc's list, full ones at the back. */
mm_page *mm_page_slot_alloc(mm_tcache *tc, unsigned kind, size_t *bytes)
{
	mm_segment *s = tc->segments[kind];
	if (!s || !s->free_slots) {
		s = mm_segment_acquire(tc, kind);
		if (!s)
			return NULL;
	}
	unsigned i = mm_ffs64(s->free_slots);
	s->free_slots &= ~((uint64_t)1 << i);
	s->dirty_slots &= ~((uint64_t)1 << i);
	s->used_pages++;
	if (!s->free_slots)
		list_move_back(&tc->segments[kind], s);
	mm_page *p = &s->pages[i];
	uintptr_t start;
	slot_range(s, i, &start, bytes);
	p->start = start;
	if (s->purged_slots & ((uint64_t)1 << i)) { /* purged before: in use again */
		size_t purged = slot_purgeable(s, i);
		s->purged_slots &= ~((uint64_t)1 << i);
		s->purged_bytes -= purged;
		mm_stat_purged_add(-(int64_t)purged);
	}
	return p;
}

/* Gives a page slot back to its segment; an empty segment goes to the cache. */
void mm_page_slot_free(mm_tcache *tc, mm_page *p)
{
	mm_segment *s = mm_segment_of((uintptr_t)p);
	unsigned i = p->slot;
	uintptr_t start;
	size_t bytes;
	slot_range(s, i, &start, &bytes);
	atomic_store_explicit(&p->capacity, 0, memory_order_relaxed); /* a stale pointer into it is no block of ours */
	p->reserved = 0;
	p->free = NULL;
	mm_stat_page_retired(p);
	mm_page_set_owner(p, NULL, 0, memory_order_relaxed);
	if (!s->dirty_slots)
		s->dirty_since = mm_os_now_ms();
	s->free_slots |= (uint64_t)1 << i;
	s->dirty_slots |= (uint64_t)1 << i;
	s->used_pages--;
	if (s->used_pages == 0 && (tc->segments[s->kind] != s || s->next)) {
		/* Empty, and not the thread cache's only segment of its kind (which stays, so that a page
		 * allocated and freed over and over does not take a segment from the cache each time;
		 * its slots are purged like any other). */
		list_unlink(&tc->segments[s->kind], s);
		mm_segment_release(s);
	} else if (tc->segments[s->kind] != s) {
		list_unlink(&tc->segments[s->kind], s); /* it has a free slot now: to the front */
		list_push_front(&tc->segments[s->kind], s);
	}
}

/* ---- Acquire, release, abandon ------------------------------------------------------------------ */

/* Takes the first abandoned segment of a kind off its list, or NULL. */
static mm_segment *abandoned_pop(unsigned kind)
{
	if (!atomic_load_explicit(&abandoned_count[kind], memory_order_relaxed))
		return NULL; /* a look without the lock; the lock below decides */
	mm_global_lock();
	mm_segment *s = abandoned[kind];
	if (s) {
		abandoned[kind] = s->next;
		if (s->next)
			s->next->prev = NULL;
		s->next = s->prev = NULL;
		s->abandoned = 0;
		atomic_fetch_sub_explicit(&abandoned_count[kind], 1, memory_order_relaxed);
	}
	mm_global_unlock();
	return s;
}

/* Adopts abandoned segments of a kind, at most `max`: their pages become tc's, what other threads
 * freed into them is taken back, and empty pages and segments are given back. The segments of an
 * exited thread would otherwise wait for a thread that runs out of page slots. Returns the last
 * segment adopted that is still tc's and has a free slot, or NULL. */
static mm_segment *adopt_abandoned(mm_tcache *tc, unsigned kind, unsigned max)
{
	mm_segment *with_room = NULL;
	for (unsigned n = 0; n < max; n++) {
		mm_segment *s = abandoned_pop(kind);
		if (!s)
			break;
		atomic_store_explicit(&s->tcache, tc, memory_order_relaxed);
		list_push_front(&tc->segments[kind], s);
		mm_segment_adopt_pages(tc, s); /* may free pages, even release the segment */
		if (tc->segments[kind] == s && !s->free_slots)
			list_move_back(&tc->segments[kind], s); /* full: behind the ones with room */
		else if (tc->segments[kind] && tc->segments[kind]->free_slots)
			with_room = tc->segments[kind];
	}
	return with_room;
}

/* A page slot of an abandoned segment whose blocks are all free: free, and purged by age like any
 * other (the thread that adopts the segment may use it before then). */
void mm_segment_free_abandoned_slot(mm_segment *s, mm_page *p)
{
	atomic_store_explicit(&p->capacity, 0, memory_order_relaxed);
	p->reserved = 0;
	p->free = NULL;
	mm_stat_page_retired(p);
	if (!s->dirty_slots)
		s->dirty_since = mm_os_now_ms();
	s->free_slots |= (uint64_t)1 << p->slot;
	s->dirty_slots |= (uint64_t)1 << p->slot;
	s->used_pages--;
}

/*
 * Looks at abandoned segments of a kind, at most `max`, without adopting them: what other threads
 * freed into their pages is taken back, empty pages are given back, and a segment left with no
 * page goes to the cache; the others go back, at the end of the list (so that the next look sees
 * others). A tick does this rather than adopt, since the ticking thread may not allocate again for
 * a long time, and the frees into an adopted page would wait for it.
 */
static size_t purge_segment(mm_segment *s);
static void reclaim_abandoned(unsigned kind, size_t max, uint64_t now, int level)
{
	size_t count = atomic_load_explicit(&abandoned_count[kind], memory_order_relaxed);
	if (max > count)
		max = count; /* each one once: those still in use come back at the end */
	for (size_t n = 0; n < max; n++) {
		mm_segment *s = abandoned_pop(kind);
		if (!s)
			return;
		if (mm_segment_reclaim_free(s) == 0) {
			mm_segment_release(s);
			continue;
		}
		if (s->dirty_slots &&
		    (level > MM_PURGE_DELAYED || (now >= s->dirty_since && now - s->dirty_since >= MM_PURGE_DELAY)))
			purge_segment(s); /* free slots no thread has taken for a while */
		mm_global_lock();
		mm_segment **link = &abandoned[kind], *last = NULL;
		while (*link) {
			last = *link;
			link = &last->next;
		}
		s->prev = last;
		s->abandoned = 1;
		*link = s;
		atomic_fetch_add_explicit(&abandoned_count[kind], 1, memory_order_relaxed);
		mm_global_unlock();
	}
}

int mm_segment_adopt(mm_tcache *tc, unsigned kind)
{
	mm_segment *s = tc->segments[kind];
	if ((s && s->free_slots) || !atomic_load_explicit(&abandoned_count[kind], memory_order_relaxed))
		return 0; /* a slot of its own first, as mm_segment_acquire: adopting is for a thread out of room */
	(void)adopt_abandoned(tc, kind, 1);
	return 1;
}

mm_segment *mm_segment_acquire(mm_tcache *tc, unsigned kind)
{
	/* An abandoned segment first: its pages have blocks in use, and maybe frees waiting. */
	mm_segment *s = adopt_abandoned(tc, kind, 1);
	if (s)
		return s;
	s = mm_segment_new_raw(kind, tc);
	if (s)
		list_push_front(&tc->segments[kind], s);
	return s;
}

/* Purges a whole empty segment (of the cache, or on its way there) but for its first OS page, which
 * holds the header fields and the cache's links (madvise would zero them): the bytes not counted
 * purged yet are counted now. */
static void purge_whole(mm_segment *s)
{
	size_t keep = mm_os_page_size();
	mm_segment_thp_off(s);
	size_t end = MM_SEG_SIZE - MM_SEG_GUARD; /* the guard page is no memory */
	size_t purged = keep < end ? mm_os_purge((unsigned char *)s + keep, end - keep) : 0;
	mm_stat_purged_add((int64_t)purged - (int64_t)s->purged_bytes);
	s->purged_bytes = purged;
	s->dirty_slots = 0;
}

/*
 * Under the global lock: keeps the cache within its bounds, at every release as at every tick — at
 * most MM_CACHE_MAX segments and none older than MM_UNMAP_DELAY ms (none at all with force): the
 * others are taken off and returned, to be unmapped after the lock (unmap_all); of those kept, one
 * not purged yet is purged once it is MM_PURGE_DELAY ms old or beyond the MM_CACHE_DIRTY_MAX newest
 * (a system call under the lock: only when many segments empty at once, or at a tick).
 */
static mm_segment *cache_sweep(uint64_t now, int force)
{
	mm_segment **link = &cache, *unmap = NULL;
	size_t kept = 0, dirty = 0;
	while (*link) {
		mm_segment *s = *link;
		uint64_t age = now >= s->cached_at ? now - s->cached_at : 0;
		if (force || kept >= MM_CACHE_MAX || age >= MM_UNMAP_DELAY) {
			*link = s->next;
			cache_count--;
			s->next = unmap;
			unmap = s;
			continue;
		}
		if (s->dirty_slots && (age >= MM_PURGE_DELAY || ++dirty > MM_CACHE_DIRTY_MAX))
			purge_whole(s);
		kept++;
		link = &s->next;
	}
	return unmap;
}

static void unmap_all(mm_segment *s)
{
	while (s) {
		mm_segment *next = s->next;
		s->mapped = MM_SEG_SIZE;
		mm_segment_unmap(s);
		s = next;
	}
}

/* s leaves its thread cache's lists: free() must not take it for one of the thread's recent
 * segments any more. A SMALL segment with a thread cache is released or abandoned by that thread
 * alone. */
static void forget_recent(mm_segment *s)
{
	mm_tcache *tc = atomic_load_explicit(&s->tcache, memory_order_relaxed);
	if (s->kind != MM_SEG_SMALL || !tc)
		return;
	for (size_t i = 0; i < MM_RECENT_SEGMENTS; i++)
		if (tc->recent_segments[i] == (uintptr_t)s)
			tc->recent_segments[i] = MM_NO_RECENT_SEGMENT;
}

void mm_segment_release(mm_segment *s)
{
	forget_recent(s);
	atomic_store_explicit(&s->tcache, NULL, memory_order_relaxed);
	s->cookie = 0;
	mm_segmap_set(s, 0); /* a stale pointer into it is not ours any more */
	if (s->mapped != MM_SEG_SIZE) {
		mm_segment_unmap(s);
		return;
	}
	s->cached_at = mm_os_now_ms();
	s->dirty_slots = 1; /* purged as a whole by cache_sweep */
	/* The cache's bounds hold at every release, not only at the next tick: a process whose threads
	 * exited may not tick again for a long time. */
	mm_global_lock();
	s->prev = NULL;
	s->next = cache;
	cache = s;
	cache_count++;
	mm_segment *unmap = cache_sweep(s->cached_at, 0);
	mm_global_unlock();
	unmap_all(unmap);
}

/* Puts a segment of an exiting thread on the abandoned list (its pages' owner already cleared). Its
 * free slots keep their memory: a thread that adopts the segment soon uses them as they are, and
 * the ticks of other threads purge them once they have stayed free MM_PURGE_DELAY ms. */
void mm_segment_abandon(mm_segment *s)
{
	forget_recent(s);
	atomic_store_explicit(&s->tcache, NULL, memory_order_release);
	mm_global_lock();
	s->abandoned = 1;
	s->prev = NULL;
	s->next = abandoned[s->kind];
	if (s->next)
		s->next->prev = s;
	abandoned[s->kind] = s;
	atomic_fetch_add_explicit(&abandoned_count[s->kind], 1, memory_order_relaxed);
	mm_global_unlock();
}

/* ---- Counting --------------------------------------------------------------------------------------- */

/*
 * The statistics of the size classes live in the pages: a page counts the blocks it handed out
 * (allocs) and those not back on its free list (used), both written by its owner alone with plain
 * adds on the descriptor line that malloc and free write anyway. What a page counted goes to its
 * class's retired total when its slot is given back (mm_stat_page_retired), so a free slot holds
 * zeros and the sum over every page of every segment in a list, plus the retired totals, is the
 * count. A snapshot reads the pages while their owners change them, without a lock they take:
 *   - memory: the walk holds the global lock, and a SMALL segment is cached,
 *     reused or unmapped only after it left its list and passed through that lock; the list links
 *     and page fields are read with single loads (volatile), so what is read is some value each
 *     field had, and a stale link leads to a segment that is still mapped;
 *   - exactness: a page changed during the walk, a segment between two lists (being adopted or
 *     reclaimed) or a page being retired may be counted off by what changes meanwhile; when no
 *     other thread runs, nothing changes and the count is exact (test_malloc_stats checks this).
 * The walk is a reader that races with its owners by design: ThreadSanitizer does not look at it
 * (the owners' writes are seen by it as before).
 */
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 8)
#define MM_NO_TSAN __attribute__((no_sanitize("thread")))
#else
#define MM_NO_TSAN
#endif

static MM_NO_TSAN MM_NOINLINE void count_segment(const mm_segment *s, uint64_t allocs[MM_CLASSES],
                                                 int64_t live[MM_CLASSES])
{
	unsigned slots = *(volatile const uint8_t *)&s->page_count;
	for (unsigned i = 0; i < slots && i < MM_PAGES_MAX; i++) {
		const mm_page *p = &s->pages[i];
		unsigned c = *(volatile const uint8_t *)&p->cls;
		if (c < MM_CLASSES) {
			allocs[c] += *(volatile const uint64_t *)&p->allocs;
			live[c] += *(volatile const uint32_t *)&p->used;
		}
	}
}

static MM_NO_TSAN MM_NOINLINE void count_list(const mm_segment *s, uint64_t allocs[MM_CLASSES],
                                              int64_t live[MM_CLASSES])
{
	for (size_t n = 0; s && n < ((size_t)1 << 24); n++) { /* bounded: a list read while it changes */
		count_segment(s, allocs, live);
		s = *(mm_segment *const volatile *)&s->next;
	}
}

MM_NO_TSAN void mm_segments_count(const mm_tcache *tc, uint64_t allocs[MM_CLASSES], int64_t live[MM_CLASSES])
{
	for (unsigned k = 0; k < MM_SEG_ZONE; k++)
		count_list(tc ? *(mm_segment *const volatile *)&tc->segments[k] : abandoned[k], allocs, live);
}

/* ---- Purging -------------------------------------------------------------------------------------- */

/* Returns the memory of the dirty slots of a segment. */
static size_t purge_segment(mm_segment *s)
{
	size_t total = 0;
	uint64_t d = s->dirty_slots;
	if (d)
		mm_segment_thp_off(s);
	while (d) {
		unsigned i = mm_ffs64(d);
		if (i >= 64)
			break; /* not reached: d is not 0 */
		unsigned j = i;
		while (j + 1 < s->page_count && ((d >> (j + 1)) & 1))
			j++; /* a run of dirty slots: one madvise */
		uintptr_t lo, lo_j;
		size_t bytes, bytes_j;
		slot_range(s, i, &lo, &bytes);
		slot_range(s, j, &lo_j, &bytes_j);
		mm_os_purge((void *)lo, (size_t)(lo_j + bytes_j - lo));
		for (unsigned k = i; k <= j; k++)
			total += slot_purgeable(s, k);
		uint64_t run = (j - i + 1 == 64) ? ~(uint64_t)0 : (((uint64_t)1 << (j - i + 1)) - 1) << i;
		d &= ~run;
		s->purged_slots |= run;
	}
	s->dirty_slots = 0;
	s->purged_bytes += total;
	mm_stat_purged_add((int64_t)total);
	return total;
}

void mm_segment_cache_trim(int level)
{
	if (level > MM_PURGE_DELAYED)
		mm_global_lock();
	else if (pthread_mutex_trylock(&global_lock) != 0)
		return; /* someone else is at it */
	mm_segment *unmap = cache_sweep(mm_os_now_ms(), level == MM_PURGE_ALL);
	mm_global_unlock();
	unmap_all(unmap);
}

void mm_purge_tick(mm_tcache *tc, int level)
{
	uint64_t now = mm_os_now_ms();
	if (level == MM_PURGE_DELAYED && now < tc->next_tick_ms)
		return;
	tc->next_tick_ms = now + MM_TICK_INTERVAL;
	/* Frees from other threads that reached full pages without telling (mm_remote_free), and the
	 * free pages of exited threads' segments: a few segments of each kind a tick (a bounded pause),
	 * all of them when trimming. Never from inside page and segment bookkeeping, which this changes. */
	mm_page_collect_full(tc);
	mm_tcache_retire_idle(tc);
	for (unsigned k = 0; k < MM_SEG_ZONE; k++)
		reclaim_abandoned(k, level == MM_PURGE_ALL ? SIZE_MAX : 8, now, level);
	for (unsigned k = 0; k < MM_SEG_ZONE; k++)
		for (mm_segment *s = tc->segments[k]; s; s = s->next)
			if (s->dirty_slots && (level > MM_PURGE_DELAYED ||
			                       (now >= s->dirty_since && now - s->dirty_since >= MM_PURGE_DELAY)))
				purge_segment(s);
	mm_zone_tick(tc, now, level);
	mm_large_tick(now, level);
	mm_segment_cache_trim(level);
	mm_huge_cache_trim(now, level);
}

/* ---- Fork --------------------------------------------------------------------------------------- */

/* The global lock is held across a fork, so that the child finds the cache, the abandoned lists and
 * the thread cache list consistent; the child's one thread is the one that took it and releases it. Other
 * threads' thread caches stay as they were in the child: their pages are not reused there. */
void mm_fork_prepare(void)
{
	mm_trace_fork_prepare();
	mm_large_fork_prepare();
	mm_global_lock();
}
void mm_fork_parent(void)
{
	mm_global_unlock();
	mm_large_fork_parent();
	mm_trace_fork_parent();
}
void mm_fork_child(void)
{
	mm_global_unlock(); /* the child's one thread is the one that locked them */
	mm_large_fork_child();
	mm_stats_fork_child();
	int traced = __atomic_load_n(&mm_trace_state, __ATOMIC_RELAXED) == MM_TRACE_ON;
	mm_trace_fork_child();
	if (traced && mm_tl_tcache->initialized)
		mm_tcache_untrace(mm_tl_tcache); /* the child is not traced: its fast paths back */
}

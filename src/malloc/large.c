// SPDX-License-Identifier: MIT
/*
 * large.c - large requests (above MM_ZONE_MAX, up to MM_LARGE_MAX): the large region, shared by
 * the whole process: a few TLSF instances (shards), each under its lock, over pools of
 * MM_LARGE_POOL bytes.
 *
 * Blocks of a few MiB come and go in many programs (buffers, images, tables that grow). Mapping
 * each on its own costs an mmap, a munmap and a page fault per page every time; here a freed block
 * is merged with its free neighbours and reused at once, its pages still present, and handed back
 * to the OS only when it has stayed free MM_PURGE_DELAY ms (mm_tlsf_purge_spans), a whole empty pool
 * after MM_LARGE_RELEASE_DELAY ms. The TLSF core's good fit keeps the waste small.
 *
 * A pool spans several segments; its first has the header (kind LARGE) and is MM_MAP_SEGMENT in the segment
 * map, the others are MM_MAP_INTERIOR there, so that free() of a pointer in them (never on the fast
 * path, which takes only MM_MAP_SEGMENT) walks back to the header.
 */
#include <pthread.h>
#include <string.h>

#include "../tlsf_internal.h" /* the TLSF core's unlocked calls, block headers and free lists */
#include "../tool.h"
#include "malloc_internal.h"
#include "os/os.h"

#define MM_LARGE_RELEASE_DELAY 1000 /* ms an entirely free pool stays mapped */

/*
 * The region is MM_LARGE_SHARDS instances, each with its own lock and pools, so that threads
 * allocating large blocks at once do not wait for one lock (with one, two threads that each
 * allocate and free a few MiB at a time spent a third of their time asleep on it). A thread starts
 * at its own shard (mm_tcache.large_shard, given out in turn) and takes another whose lock is free
 * if its own is busy; a block goes back to the shard of its pool (mm_segment.shard).
 */
#define MM_LARGE_SHARDS 4

typedef struct large_shard {
	/* Held for one TLSF call (or a purge pass): a waiter spins a little before it sleeps, where
	 * the C library offers that (a sleep and a wake-up cost more than the call). */
	pthread_mutex_t lock;
	mm_t tlsf;
	size_t purged_bytes; /* bytes of the instance's free spans counted in mm_stat_purged (under the lock) */
	_Alignas(64) unsigned char control_mem[sizeof(mm_control)];
} large_shard;

#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
#define LARGE_LOCK_INIT PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
#else
#define LARGE_LOCK_INIT PTHREAD_MUTEX_INITIALIZER
#endif
static large_shard shards[MM_LARGE_SHARDS] = {
    {.lock = LARGE_LOCK_INIT}, {.lock = LARGE_LOCK_INIT}, {.lock = LARGE_LOCK_INIT}, {.lock = LARGE_LOCK_INIT}};
_Static_assert(MM_LARGE_SHARDS == 4, "one initializer per shard");

static large_shard *shard_of(const mm_segment *pool) { return &shards[pool->shard]; }

/* The usable size of a block of the instance, from its header (under the lock). */
MM_INLINE size_t block_usable(const void *p) { return mm_stride_of(MM_SIZE_LOAD(mm_block_from_ptr(p))) - MM_W; }

static void large_error(void *instance, mm_error_t e, const void *ptr, void *user)
{
	(void)instance;
	(void)user;
	mm_report_misuse(e == MM_ERR_DOUBLE_FREE ? "free(): double free" : "free(): invalid pointer", ptr);
}

static void interior_set(uintptr_t pool, int present)
{
	for (uintptr_t a = pool + MM_SEG_SIZE; a < pool + MM_LARGE_POOL; a += MM_SEG_SIZE)
		mm_segmap_mark(a, present ? MM_MAP_INTERIOR : MM_MAP_NONE);
}

/* Maps a pool and gives it to the instance (under the lock); 0 when the instance holds all the pools
 * it can (the request then gets a mapping of its own, mm_huge_malloc) or the OS refuses. */
static int pool_add(large_shard *sh)
{
	if (sh->tlsf->pool_count >= MM_MAX_POOLS)
		return 0;
	mm_segment *s = mm_segment_map(MM_LARGE_POOL, MM_SEG_SIZE);
	if (!s)
		return 0;
	if (MM_SEG_GUARD) /* if refused, the pool is only unguarded */
		(void)mm_os_guard((unsigned char *)s + MM_LARGE_POOL - MM_SEG_GUARD, MM_SEG_GUARD);
	mm_segment_init(s, MM_SEG_LARGE, MM_LARGE_POOL, NULL);
	s->huge_block = (unsigned char *)s + MM_SEG_HEADER;
	s->shard = (uint8_t)(sh - shards);
	if (!mm_add_pool(sh->tlsf, s->huge_block, MM_LARGE_POOL - MM_SEG_HEADER - MM_SEG_GUARD)) {
		mm_segment_unmap(s);
		return 0;
	}
	interior_set((uintptr_t)s, 1);
	mm_segmap_set(s, 1);
	return 1;
}

/* Locks a shard for a thread whose own is `home`: the first whose lock is free, or home. */
static large_shard *shard_lock(unsigned home)
{
	for (unsigned k = 0; k < MM_LARGE_SHARDS; k++) {
		large_shard *sh = &shards[(home + k) % MM_LARGE_SHARDS];
		if (pthread_mutex_trylock(&sh->lock) == 0)
			return sh;
	}
	large_shard *sh = &shards[home % MM_LARGE_SHARDS];
	pthread_mutex_lock(&sh->lock);
	return sh;
}

/* A block of the shard (under its lock), with a new pool if `grow` and it has no room; NULL if none. */
static void *shard_alloc(large_shard *sh, size_t n, size_t align, int grow)
{
	if (!sh->tlsf) {
		sh->tlsf = mm_create(sh->control_mem);
		mm_set_error_handler(sh->tlsf, large_error, NULL);
	}
	void *p = NULL;
	for (int attempt = 0; attempt < 2 && sh->tlsf; attempt++) {
		p = align > MM_ALIGN ? mm_tlsf_memalign(sh->tlsf, align, n) : mm_tlsf_malloc(sh->tlsf, n);
		if (p || !grow || !pool_add(sh))
			break;
	}
	if (p)
		atomic_fetch_add_explicit(&mm_stat_large_bytes, block_usable(p), memory_order_relaxed);
	return p;
}

/*
 * The secure build: each block ends in a canary as a zone's block does (asked for MM_CANARY_BYTES
 * more, sealed under the shard's lock, which guards the header's flag bits), checked at free,
 * realloc and malloc_usable_size. Freed memory is zeroed (the TLSF core's MM_ZERO_FREED) but not
 * checked when handed out again: a block here is megabytes, and most of it purged pages.
 */
#if MM_SECURE
#define LARGE_SEAL(p, n) ((p) ? mm_secure_tlsf_seal((p), (n)) : NULL)
#else
#define LARGE_SEAL(p, n) (p)
#endif

void *mm_large_malloc(size_t n, size_t align, unsigned home)
{
	size_t want = n + MM_CANARY_BYTES; /* n <= MM_LARGE_MAX: no overflow */
	large_shard *sh = shard_lock(home);
	void *p = LARGE_SEAL(shard_alloc(sh, want, align, 1), n);
	pthread_mutex_unlock(&sh->lock);
	/* No room and no new pool (an address-space limit): the free space of the other shards, before
	 * a mapping of its own is tried, so that memory freed in one shard is not lost to the others. */
	for (unsigned k = 0; !p && k < MM_LARGE_SHARDS; k++) {
		large_shard *other = &shards[k];
		if (other == sh)
			continue;
		pthread_mutex_lock(&other->lock);
		p = LARGE_SEAL(shard_alloc(other, want, align, 0), n);
		pthread_mutex_unlock(&other->lock);
	}
	return p;
}

void mm_large_free(mm_segment *pool, void *p)
{
	if (MM_SEG_GUARD && (uintptr_t)p > (uintptr_t)pool + MM_LARGE_POOL - MM_SEG_GUARD - 2 * sizeof(uintptr_t)) {
		mm_report_misuse("free(): invalid pointer", p); /* in the guard page: not read */
		return;
	}
	large_shard *sh = shard_of(pool);
	pthread_mutex_lock(&sh->lock);
#if MM_SECURE
	/* A block of the region (else reported), its canary intact (else reported, and kept). */
	size_t checked = mm_tlsf_checked_size(sh->tlsf, p);
	if (!checked || !mm_secure_tlsf_intact(p, checked)) {
		pthread_mutex_unlock(&sh->lock);
		return;
	}
#endif
	uint64_t before = sh->tlsf->obs.frees;
	size_t usable = block_usable(p);
	mm_tlsf_free(sh->tlsf, p);
	if (sh->tlsf->obs.frees != before) /* not if the checks refused p (reported already) */
		atomic_fetch_sub_explicit(&mm_stat_large_bytes, usable, memory_order_relaxed);
	pthread_mutex_unlock(&sh->lock);
	mm_tcache *tc = mm_tl_tcache;
	if (tc->initialized)
		mm_maybe_tick(tc);
}

void *mm_large_realloc(mm_segment *pool, void *p, size_t n)
{
	large_shard *sh = shard_of(pool);
	pthread_mutex_lock(&sh->lock);
	size_t before = block_usable(p);
	void *q = LARGE_SEAL(mm_tlsf_realloc(sh->tlsf, p, n + MM_CANARY_BYTES), n); /* the caller checked the canary */
	if (q)
		atomic_fetch_add_explicit(&mm_stat_large_bytes, (uint64_t)block_usable(q) - before,
		                          memory_order_relaxed);
	pthread_mutex_unlock(&sh->lock);
	return q;
}

size_t mm_large_usable(mm_segment *pool, void *p)
{
	large_shard *sh = shard_of(pool);
	pthread_mutex_lock(&sh->lock); /* the header's flag bits change under the lock */
	size_t n = mm_tlsf_checked_size(sh->tlsf, p);
	pthread_mutex_unlock(&sh->lock);
	return n ? n - MM_CANARY_BYTES : 0; /* the secure build's canary out */
}

#if MM_TOOLS
size_t mm_large_tool_usable(mm_segment *pool, const void *p)
{
	large_shard *sh = shard_of(pool);
	pthread_mutex_lock(&sh->lock);
	size_t n = sh->tlsf ? mm_tlsf_tool_usable(sh->tlsf, p) : 0;
	pthread_mutex_unlock(&sh->lock);
	return n;
}
#endif

mm_segment *mm_large_segment_of(uintptr_t a)
{
	if (mm_segmap_get(a) != MM_MAP_INTERIOR)
		return NULL;
	uintptr_t i = a >> MM_SEG_SHIFT;
	for (uintptr_t k = 1; k < MM_LARGE_POOL / MM_SEG_SIZE && k <= i; k++)
		if (mm_segmap_has((i - k) << MM_SEG_SHIFT)) {
			mm_segment *s = (mm_segment *)((i - k) << MM_SEG_SHIFT);
			return s->kind == MM_SEG_LARGE ? s : NULL;
		}
	return NULL;
}

static void shard_tick(large_shard *sh, uint64_t now, int force)
{
	if (force)
		pthread_mutex_lock(&sh->lock);
	else if (pthread_mutex_trylock(&sh->lock) != 0)
		return;
	if (sh->tlsf) {
		/* Pools entirely free for long enough: unmapped (first, so that the purge pass after counts
		 * what stays mapped). */
		mm_control *c = sh->tlsf;
		for (size_t i = 0; i < c->pool_count;) {
			mm_segment *s = (mm_segment *)(c->pools[i].start - MM_SEG_HEADER);
			if (!mm_tlsf_pool_empty(c, i)) {
				s->cached_at = 0;
				i++;
				continue;
			}
			if (!s->cached_at)
				s->cached_at = now ? now : 1;
			if ((force || now - s->cached_at >= MM_LARGE_RELEASE_DELAY) &&
			    mm_remove_pool(c, (mm_pool_t)c->pools[i].start)) {
				mm_segmap_set(s, 0);
				interior_set((uintptr_t)s, 0);
				s->cookie = 0;
				mm_segment_unmap(s);
				continue; /* the pools after it moved down one */
			}
			i++;
		}
		size_t purged = mm_tlsf_purge_spans(sh->tlsf, now, force);
		mm_stat_purged_add((int64_t)purged - (int64_t)sh->purged_bytes);
		sh->purged_bytes = purged;
	}
	pthread_mutex_unlock(&sh->lock);
}

void mm_large_tick(uint64_t now, int level)
{
	for (unsigned k = 0; k < MM_LARGE_SHARDS; k++)
		shard_tick(&shards[k], now, level == MM_PURGE_ALL);
}

/* Fork: the locks are held across it, so that the child finds the instances whole. */
void mm_large_fork_prepare(void)
{
	for (unsigned k = 0; k < MM_LARGE_SHARDS; k++)
		pthread_mutex_lock(&shards[k].lock);
}

void mm_large_fork_parent(void)
{
	for (unsigned k = 0; k < MM_LARGE_SHARDS; k++)
		pthread_mutex_unlock(&shards[k].lock);
}

void mm_large_fork_child(void)
{
	for (unsigned k = 0; k < MM_LARGE_SHARDS; k++)
		pthread_mutex_unlock(&shards[k].lock);
}

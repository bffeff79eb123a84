// SPDX-License-Identifier: MIT
/*
 * tcache.c - thread caches (struct mm_tcache: what one thread allocates from without a lock — its
 * pages of each size class, its zone, its counters) and the process around them: set-up on the
 * first call (before main, too), the thread-local pointer, thread exit, fork, and the spare thread
 * caches of exited threads. (Not to be confused with the lower layer's heap, mm_heap_t.)
 *
 * A thread starts with mm_tl_tcache pointing at mm_tcache_empty, whose direct entries all point at
 * mm_page_empty (no free block): its first malloc falls to the slow path, which sets up a thread
 * cache. A free before that is a remote free (the empty thread cache owns no page), which is right.
 *
 * Thread exit is seen through a pthread key whose destructor abandons the thread cache. Calls after
 * that (other destructors that allocate) get a new thread cache and a new registration: the key's
 * destructor runs again, up to PTHREAD_DESTRUCTOR_ITERATIONS times.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../tool.h"
#include "malloc_internal.h"
#include "os/os.h"

mm_page mm_page_empty;

/* The empty thread cache, pointing at the empty page from the start: malloc may be called before any
 * constructor of ours has run (another library's constructor, or the dynamic loader). */
#define E1 &mm_page_empty
#define E4 E1, E1, E1, E1
#define E16 E4, E4, E4, E4
#define E64 E16, E16, E16, E16
_Static_assert(MM_DIRECT_STEPS == 65, "the initializer below lists 65 entries");
mm_tcache mm_tcache_empty = {.recent_segments = {MM_NO_RECENT_SEGMENT, MM_NO_RECENT_SEGMENT}, .direct = {E64, E1}};
_Thread_local mm_tcache *mm_tl_tcache MM_TLS_MODEL = &mm_tcache_empty;

static _Atomic int init_state; /* 0: not yet, 1: under way, 2: done */
static pthread_key_t exit_key;
static int exit_key_ok;

static mm_tcache *tcaches;       /* every live thread cache */
static mm_tcache *spare_tcaches; /* thread caches of exited threads, for reuse */
static size_t tcache_count;

/* ---- Process set-up ------------------------------------------------------------------------------- */

/* Set up at load time too, so that the first call in a thread need not. */
__attribute__((constructor(101))) static void load_init(void) { mm_process_init(); }

static void thread_done(void *value);

void mm_process_init(void)
{
	int expected = 0;
	if (atomic_load_explicit(&init_state, memory_order_acquire) == 2)
		return;
	if (!atomic_compare_exchange_strong(&init_state, &expected, 1)) {
		while (atomic_load_explicit(&init_state, memory_order_acquire) != 2) {
		} /* another thread is setting up (a few system calls) */
		return;
	}
	mm_classes_init();
	(void)mm_os_page_size(); /* cached now, before any thread reads it */
	mm_secret = (uintptr_t)mm_os_random();
	mm_link_key = (uintptr_t)mm_os_random();
	mm_canary_key = (uintptr_t)mm_os_random();
	mm_thp_setup();
#if MM_SECURE
	mm_secure_fault_setup();
#endif
	mm_trace_setup(); /* MEMOMAN_TRACE: decided before the first allocation is served */
	/* From here malloc works; the rest may allocate through it (pthread_key_create, atexit). */
	atomic_store_explicit(&init_state, 2, memory_order_release);
	exit_key_ok = pthread_key_create(&exit_key, thread_done) == 0;
	(void)pthread_atfork(mm_fork_prepare, mm_fork_parent, mm_fork_child);
	mm_stats_setup();
	mm_trace_setup_exit();
}

/* ---- Heaps ---------------------------------------------------------------------------------------- */

static mm_tcache *tcache_new(void)
{
	mm_global_lock();
	mm_tcache *tc = spare_tcaches;
	if (tc)
		spare_tcaches = tc->next_free;
	mm_global_unlock();
	if (!tc) {
		/* Heaps come from the OS in chunks and are never unmapped: a remote free may still write
		 * to the thread cache of a thread that has exited. */
		size_t chunk = (size_t)64 * 1024, n = chunk / sizeof(mm_tcache);
		unsigned char *mem = mm_os_map(chunk);
		if (!mem)
			return NULL;
		mm_stat_mapped_add((int64_t)chunk);
		tc = (mm_tcache *)(void *)mem; /* page-aligned mapping */
		mm_global_lock();
		for (size_t i = 1; i < n; i++) {
			mm_tcache *x = (mm_tcache *)(void *)(mem + i * sizeof(mm_tcache));
			x->next_free = spare_tcaches;
			spare_tcaches = x;
		}
		mm_global_unlock();
	}
	/* Everything but remote_pending, which a remote free may be setting even now (a spurious flag
	 * only costs one look at the full list). */
	memset(tc, 0, offsetof(mm_tcache, remote_pending));
	memset(&tc->initialized, 0, sizeof(*tc) - offsetof(mm_tcache, initialized));
	for (size_t i = 0; i < MM_RECENT_SEGMENTS; i++)
		tc->recent_segments[i] = MM_NO_RECENT_SEGMENT;
	for (size_t i = 0; i < MM_DIRECT_STEPS; i++)
		tc->direct[i] = &mm_page_empty;
	tc->initialized = 1;
	static _Atomic unsigned next_shard;
	tc->large_shard = atomic_fetch_add_explicit(&next_shard, 1, memory_order_relaxed);
	mm_global_lock();
	tc->next_all = tcaches;
	if (tcaches)
		tcaches->prev_all = tc;
	tcaches = tc;
	tcache_count++;
	mm_global_unlock();
	return tc;
}

static void tcache_free(mm_tcache *tc)
{
	mm_global_lock();
	if (tc->prev_all)
		tc->prev_all->next_all = tc->next_all;
	else
		tcaches = tc->next_all;
	if (tc->next_all)
		tc->next_all->prev_all = tc->prev_all;
	tcache_count--;
	mm_stats_tcache_exit(tc); /* under the lock: a reader sees its figures here or there, once */
	tc->initialized = 0;
	tc->next_free = spare_tcaches;
	spare_tcaches = tc;
	mm_global_unlock();
}

mm_tcache *mm_tcache_get(void)
{
	mm_tcache *tc = mm_tl_tcache;
	if (MM_LIKELY(tc->initialized))
		return tc;
	mm_process_init();
	tc = tcache_new();
	if (!tc)
		return NULL;
	mm_tl_tcache = tc;
	if (exit_key_ok)
		pthread_setspecific(exit_key, tc); /* thread_done runs at this thread's exit */
	return tc;
}

static void thread_done(void *value)
{
	mm_tcache *tc = (mm_tcache *)value;
	if (!tc || tc != mm_tl_tcache)
		return;
	mm_tl_tcache = &mm_tcache_empty;
	MM_TOOL_QUIET_BEGIN(); /* it follows the links in free blocks (src/tool.h) */
	mm_tcache_abandon(tc); /* its segments wait, their memory with them, for a thread to adopt them */
	mm_zone_abandon(tc);
	mm_segment_cache_trim(MM_PURGE_DELAYED); /* what has aged in the cache: this may be the last tick */
	tcache_free(tc);
	MM_TOOL_QUIET_END();
}

/* ---- Walking the thread caches (statistics) ------------------------------------------------------------- */

void mm_tcaches_visit(mm_tcache_visitor visit, void *user, size_t *count)
{
	mm_global_lock();
	visit(NULL, user);
	for (mm_tcache *tc = tcaches; tc; tc = tc->next_all)
		visit(tc, user);
	if (count)
		*count = tcache_count;
	mm_global_unlock();
}

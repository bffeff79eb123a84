/*
 * heap.c - thread heaps and the process around them: set-up on the first call (before main, too),
 * the thread-local heap pointer, thread exit, fork, and the pool of heaps of exited threads.
 *
 * A thread starts with mm_tl_heap pointing at mm_heap_empty, whose direct entries all point at
 * mm_page_empty (no free block): its first malloc falls to the slow path, which sets up a heap.
 * A free before that is a remote free (the empty heap owns no page), which is right.
 *
 * Thread exit is seen through a pthread key whose destructor abandons the heap. Calls after that
 * (other destructors that allocate) get a new heap and a new registration: the key's destructor
 * runs again, up to PTHREAD_DESTRUCTOR_ITERATIONS times.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "malloc_internal.h"
#include "os/os.h"

mm_page mm_page_empty;

/* The empty heap, pointing at the empty page from the start: malloc may be called before any
 * constructor of ours has run (another library's constructor, or the dynamic loader). */
#define E1 &mm_page_empty
#define E4 E1, E1, E1, E1
#define E16 E4, E4, E4, E4
#define E64 E16, E16, E16, E16
_Static_assert(MM_DIRECT_STEPS == 65, "the initializer below lists 65 entries");
mm_heap mm_heap_empty = {.direct = {E64, E1}};
_Thread_local mm_heap *mm_tl_heap MM_TLS_MODEL = &mm_heap_empty;

static _Atomic int init_state; /* 0: not yet, 1: under way, 2: done */
static pthread_key_t exit_key;
static int exit_key_ok;

static mm_heap *heaps;     /* every live heap */
static mm_heap *heap_pool; /* heaps of exited threads, for reuse */
static size_t heap_count;

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
	/* From here malloc works; the rest may allocate through it (pthread_key_create, atexit). */
	atomic_store_explicit(&init_state, 2, memory_order_release);
	exit_key_ok = pthread_key_create(&exit_key, thread_done) == 0;
	(void)pthread_atfork(mm_fork_prepare, mm_fork_parent, mm_fork_child);
	const char *stats = mm_os_getenv("MEMOMAN_STATS");
	if (stats && stats[0] && stats[0] != '0')
		(void)atexit(mm_stats_at_exit);
}

/* ---- Heaps ---------------------------------------------------------------------------------------- */

static mm_heap *heap_new(void)
{
	mm_global_lock();
	mm_heap *h = heap_pool;
	if (h)
		heap_pool = h->next_free;
	mm_global_unlock();
	if (!h) {
		/* Heaps come from the OS in chunks and are never unmapped: a remote free may still write
		 * to the heap of a thread that has exited. */
		size_t chunk = (size_t)64 * 1024, n = chunk / sizeof(mm_heap);
		unsigned char *mem = mm_os_map(chunk);
		if (!mem)
			return NULL;
		atomic_fetch_add_explicit(&mm_stat_mapped, chunk, memory_order_relaxed);
		h = (mm_heap *)(void *)mem; /* page-aligned mapping */
		mm_global_lock();
		for (size_t i = 1; i < n; i++) {
			mm_heap *x = (mm_heap *)(void *)(mem + i * sizeof(mm_heap));
			x->next_free = heap_pool;
			heap_pool = x;
		}
		mm_global_unlock();
	}
	/* Everything but remote_pending, which a remote free may be setting even now (a spurious flag
	 * only costs one look at the full list). */
	memset(h, 0, offsetof(mm_heap, remote_pending));
	memset(&h->initialized, 0, sizeof(*h) - offsetof(mm_heap, initialized));
	for (size_t i = 0; i < MM_DIRECT_STEPS; i++)
		h->direct[i] = &mm_page_empty;
	h->initialized = 1;
	mm_global_lock();
	h->next_all = heaps;
	if (heaps)
		heaps->prev_all = h;
	heaps = h;
	heap_count++;
	mm_global_unlock();
	return h;
}

static void heap_free(mm_heap *h)
{
	mm_global_lock();
	if (h->prev_all)
		h->prev_all->next_all = h->next_all;
	else
		heaps = h->next_all;
	if (h->next_all)
		h->next_all->prev_all = h->prev_all;
	heap_count--;
	h->initialized = 0;
	h->next_free = heap_pool;
	heap_pool = h;
	mm_global_unlock();
}

mm_heap *mm_heap_get(void)
{
	mm_heap *h = mm_tl_heap;
	if (MM_LIKELY(h->initialized))
		return h;
	mm_process_init();
	h = heap_new();
	if (!h)
		return NULL;
	mm_tl_heap = h;
	if (exit_key_ok)
		pthread_setspecific(exit_key, h); /* thread_done runs at this thread's exit */
	return h;
}

static void thread_done(void *value)
{
	mm_heap *h = (mm_heap *)value;
	if (!h || h != mm_tl_heap)
		return;
	mm_tl_heap = &mm_heap_empty;
	mm_heap_abandon(h);  /* its segments' free slots are purged as they are abandoned */
	mm_arena_abandon(h); /* and its arena's free spans */
	mm_segment_cache_trim(MM_PURGE_NOW);
	mm_stats_heap_exit(h);
	heap_free(h);
}

/* ---- Walking the heaps (statistics) ------------------------------------------------------------- */

void mm_heaps_visit(mm_heap_visitor visit, void *user, size_t *count)
{
	mm_global_lock();
	for (mm_heap *h = heaps; h; h = h->next_all)
		visit(h, user);
	if (count)
		*count = heap_count;
	mm_global_unlock();
}

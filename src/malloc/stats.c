/*
 * stats.c - what libmemoman-malloc reports: mm_malloc_get_stats, the print at exit
 * (MEMOMAN_STATS=1), and mm_malloc_collect (malloc_trim).
 *
 * Allocation counts per class come from each page's counter. A page's count joins its heap's
 * totals when the page is retired or its thread exits; until then only the calling thread's own
 * pages are counted live, so that reading the statistics never touches another thread's pages
 * while it runs.
 */
#include <string.h>

#include "malloc_internal.h"
#include "os/os.h"

static void add_queue(const mm_page_queue *q, mm_malloc_stats *out)
{
	for (const mm_page *p = q->first; p; p = p->next)
		out->classes[p->cls].allocs += mm_relaxed_load((_Atomic uint64_t *)&p->allocs);
}

static void visit(mm_heap *h, void *user)
{
	mm_malloc_stats *out = (mm_malloc_stats *)user;
	for (unsigned c = 0; c < MM_CLASSES; c++)
		out->classes[c].allocs += mm_relaxed_load(&h->class_allocs[c]);
	out->arena_allocs += mm_relaxed_load(&h->arena_allocs);
	out->huge_allocs += mm_relaxed_load(&h->huge_allocs);
	if (h == mm_tl_heap) {
		for (unsigned c = 0; c < MM_CLASSES; c++)
			add_queue(&h->queues[c], out);
		add_queue(&h->full, out);
	}
}

/* The counts of heaps whose threads have exited. */
static _Atomic uint64_t exited_class[MM_CLASSES], exited_arena_allocs, exited_huge_allocs;

void mm_stats_heap_exit(mm_heap *h)
{
	for (unsigned c = 0; c < MM_CLASSES; c++)
		atomic_fetch_add_explicit(&exited_class[c], mm_relaxed_load(&h->class_allocs[c]), memory_order_relaxed);
	atomic_fetch_add_explicit(&exited_arena_allocs, mm_relaxed_load(&h->arena_allocs), memory_order_relaxed);
	atomic_fetch_add_explicit(&exited_huge_allocs, mm_relaxed_load(&h->huge_allocs), memory_order_relaxed);
}

MM_MALLOC_API int mm_malloc_get_stats(mm_malloc_stats *out)
{
	if (!out)
		return 0;
	mm_process_init();
	memset(out, 0, sizeof(*out));
	out->mapped = (size_t)atomic_load_explicit(&mm_stat_mapped, memory_order_relaxed);
	out->in_use = (size_t)atomic_load_explicit(&mm_stat_in_use, memory_order_relaxed);
	out->peak_in_use = (size_t)atomic_load_explicit(&mm_stat_peak, memory_order_relaxed);
	out->purged = (size_t)atomic_load_explicit(&mm_stat_purged, memory_order_relaxed);
	out->resident = mm_os_resident();
	for (unsigned c = 0; c < MM_CLASSES; c++) {
		out->classes[c].size = mm_class_size(c);
		out->classes[c].allocs = mm_relaxed_load(&exited_class[c]);
	}
	mm_heaps_visit(visit, out, &out->threads);
	out->arena_allocs += mm_relaxed_load(&exited_arena_allocs);
	out->huge_allocs += mm_relaxed_load(&exited_huge_allocs);
	return 1;
}

/* ---- Printing without allocating ---------------------------------------------------------------------- */

typedef struct line {
	char buf[256];
	size_t n;
} line;

static void put(line *l, const char *s)
{
	while (*s && l->n < sizeof(l->buf) - 1)
		l->buf[l->n++] = *s++;
}

static void put_num(line *l, uint64_t v)
{
	char d[24];
	size_t k = 0;
	do {
		d[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (k && l->n < sizeof(l->buf) - 1)
		l->buf[l->n++] = d[--k];
}

static void put_bytes(line *l, uint64_t v)
{
	put_num(l, v);
	put(l, " B");
	if (v >= 10u << 20) {
		put(l, " (");
		put_num(l, v >> 20);
		put(l, " MiB)");
	}
}

static void flush(line *l)
{
	put(l, "\n");
	mm_os_write_error(l->buf, l->n);
	l->n = 0;
}

MM_MALLOC_API void mm_malloc_print_stats(void)
{
	mm_malloc_stats st;
	mm_malloc_get_stats(&st);
	line l = {{0}, 0};
	put(&l, "memoman: in use ");
	put_bytes(&l, st.in_use);
	put(&l, ", peak ");
	put_bytes(&l, st.peak_in_use);
	flush(&l);
	put(&l, "memoman: mapped ");
	put_bytes(&l, st.mapped);
	put(&l, ", resident (process) ");
	put_bytes(&l, st.resident);
	put(&l, ", returned to the OS ");
	put_bytes(&l, st.purged);
	put(&l, ", threads ");
	put_num(&l, st.threads);
	flush(&l);
	put(&l, "memoman: allocations per size class (block size: count)");
	flush(&l);
	for (unsigned c = 0; c < MM_MALLOC_CLASSES; c++) {
		if (!st.classes[c].allocs)
			continue;
		put(&l, "  ");
		put_num(&l, st.classes[c].size);
		put(&l, ": ");
		put_num(&l, st.classes[c].allocs);
		flush(&l);
	}
	put(&l, "  up to 1 MiB (arenas): ");
	put_num(&l, st.arena_allocs);
	flush(&l);
	put(&l, "  larger (own mappings): ");
	put_num(&l, st.huge_allocs);
	flush(&l);
}

void mm_stats_at_exit(void) { mm_malloc_print_stats(); }

/* ---- Collect ------------------------------------------------------------------------------------------------- */

MM_MALLOC_API size_t mm_malloc_collect(void)
{
	mm_process_init();
	uint64_t before = atomic_load_explicit(&mm_stat_purged, memory_order_relaxed);
	mm_heap *h = mm_tl_heap;
	if (h->initialized) {
		mm_heap_release_empty(h);
		mm_purge_tick(h, MM_PURGE_ALL);
	} else {
		mm_large_tick(mm_os_now_ms(), MM_PURGE_ALL);
		mm_segment_cache_trim(MM_PURGE_ALL);
		mm_huge_cache_trim(0, MM_PURGE_ALL);
	}
	return (size_t)(atomic_load_explicit(&mm_stat_purged, memory_order_relaxed) - before);
}

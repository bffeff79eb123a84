// SPDX-License-Identifier: MIT
/*
 * stats.c - what libmemoman-malloc reports: memoman_malloc_get_stats, the report (MEMOMAN_STATS,
 * malloc_stats), and memoman_malloc_collect (malloc_trim).
 *
 * What each figure is, and where it comes from:
 *   live      the usable sizes of live blocks. Size classes: the blocks of each class not back on
 *             their pages' free lists, times the class's block size, counted in the pages
 *             themselves (segment.c, "Counting": malloc's fast path adds to its page's count, free's
 *             fast path only takes one from the page's count of used blocks, which it keeps
 *             anyway). Zones: bytes allocated minus bytes freed, per thread cache, written by their
 *             thread alone with plain adds, and summed here (one thread's figure may be negative;
 *             the sum is what counts). The large region and huge blocks: global counters, changed
 *             on their slow paths.
 *   mapped    address space mapped from the OS now, and its peak (segment.c).
 *   returned  bytes of that address space purged (madvise) and not reused since: page slots and
 *             whole cached segments (each segment knows what of it is counted), the free spans of
 *             zones and of the large region (recounted by every purge pass), the purged tail of a
 *             shrunk huge block. Unmapping takes bytes out of mapped and returned alike.
 *   resident  the process's resident set, from /proc/self/statm when asked.
 *
 * The report is written without allocating. MEMOMAN_STATS is read at set-up. The report at exit
 * goes to descriptor 2 if it is open then. A duplicate of descriptor 2 is kept from set-up for a
 * program that closes standard error in its own exit handlers (coreutils do): it is used only when
 * descriptor 2 is closed at exit and only if it still refers to the file it was made from, and a
 * forked child closes it (a daemon must not keep its caller's pipe open).
 */
#include <stdlib.h>
#include <string.h>

#include "../tool.h"
#include "malloc_internal.h"
#include "os/os.h"

/* ---- Counting ------------------------------------------------------------------------------------- */

/* What exited threads counted (under the global lock). */
static uint64_t exited_zone_allocs, exited_large_allocs, exited_huge_allocs, exited_zone_bytes;
/* Blocks handed out by pages whose slots were given back, per class. */
static _Atomic uint64_t retired_class_allocs[MM_CLASSES];

void mm_stat_page_retired(mm_page *p)
{
	if (p->allocs && p->cls < MM_CLASSES)
		atomic_fetch_add_explicit(&retired_class_allocs[p->cls], p->allocs, memory_order_relaxed);
	p->allocs = 0;
}

void mm_stats_tcache_exit(mm_tcache *tc)
{
	exited_zone_allocs += mm_relaxed_load(&tc->zone_allocs);
	exited_large_allocs += mm_relaxed_load(&tc->large_allocs);
	exited_huge_allocs += mm_relaxed_load(&tc->huge_allocs);
	exited_zone_bytes += mm_relaxed_load(&tc->zone_bytes);
}

typedef struct totals {
	uint64_t allocs[MM_CLASSES];
	int64_t live[MM_CLASSES];
	uint64_t zone_allocs, large_allocs, huge_allocs, zone_bytes; /* zone_bytes modulo 2^64 */
} totals;

static void visit(mm_tcache *tc, void *user)
{
	totals *t = (totals *)user;
	mm_segments_count(tc, t->allocs, t->live); /* tc NULL: the abandoned segments */
	if (!tc) {
		t->zone_allocs += exited_zone_allocs;
		t->large_allocs += exited_large_allocs;
		t->huge_allocs += exited_huge_allocs;
		t->zone_bytes += exited_zone_bytes;
		return;
	}
	t->zone_allocs += mm_relaxed_load(&tc->zone_allocs);
	t->large_allocs += mm_relaxed_load(&tc->large_allocs);
	t->huge_allocs += mm_relaxed_load(&tc->huge_allocs);
	t->zone_bytes += mm_relaxed_load(&tc->zone_bytes);
}

void mm_stats_snapshot(mm_stats_raw *out)
{
	mm_process_init();
	memset(out, 0, sizeof(*out));
	totals t;
	memset(&t, 0, sizeof(t));
	/* The retired totals before the pages: a page retired during the walk is then missed (the next
	 * snapshot counts it) rather than counted twice: a snapshot taken while threads run may fall
	 * short of what they did meanwhile, never beyond. */
	for (unsigned c = 0; c < MM_CLASSES; c++)
		t.allocs[c] = atomic_load_explicit(&retired_class_allocs[c], memory_order_relaxed);
	mm_tcaches_visit(visit, &t, &out->threads);
	for (unsigned c = 0; c < MM_CLASSES; c++) {
		out->class_allocs[c] = t.allocs[c];
		out->class_live[c] = t.live[c];
	}
	out->zone_bytes = (int64_t)t.zone_bytes;
	out->large_bytes = (int64_t)atomic_load_explicit(&mm_stat_large_bytes, memory_order_relaxed);
	out->huge_bytes = (int64_t)atomic_load_explicit(&mm_stat_huge_bytes, memory_order_relaxed);
	out->zone_allocs = t.zone_allocs;
	out->large_allocs = t.large_allocs;
	out->huge_allocs = t.huge_allocs;
	out->mapped = (int64_t)atomic_load_explicit(&mm_stat_mapped, memory_order_relaxed);
	out->mapped_peak = (int64_t)atomic_load_explicit(&mm_stat_mapped_peak, memory_order_relaxed);
	out->purged = (int64_t)atomic_load_explicit(&mm_stat_purged, memory_order_relaxed);
}

/* A figure of the snapshot as a size: never below zero. Only a snapshot taken while other threads
 * run can be below (their figures are read at different moments); test_malloc_stats checks the
 * unclamped figures of mm_stats_snapshot where no other thread runs. */
static size_t clamped(int64_t v) { return v > 0 ? (size_t)v : 0; }

MEMOMAN_MALLOC_API int memoman_malloc_get_stats(memoman_malloc_stats *out)
{
	if (!out)
		return 0;
	mm_stats_raw raw;
	mm_stats_snapshot(&raw);
	memset(out, 0, sizeof(*out));
	out->threads = raw.threads;
	for (unsigned c = 0; c < MM_CLASSES; c++) {
		uint64_t live = (uint64_t)clamped(raw.class_live[c]);
		out->classes[c].size = mm_class_size(c);
		out->classes[c].allocs = raw.class_allocs[c];
		out->classes[c].live = live;
		out->live_classes += (size_t)(live * mm_class_size(c));
	}
	out->live_zones = clamped(raw.zone_bytes);
	out->live_large = clamped(raw.large_bytes);
	out->live_huge = clamped(raw.huge_bytes);
	out->live = out->live_classes + out->live_zones + out->live_large + out->live_huge;
	out->zone_allocs = raw.zone_allocs;
	out->large_allocs = raw.large_allocs;
	out->huge_allocs = raw.huge_allocs;
	out->mapped = clamped(raw.mapped);
	out->mapped_peak = clamped(raw.mapped_peak);
	/* The accounting keeps it within `mapped`; the bound is for a snapshot read while other threads
	 * change both (the two are read apart). */
	size_t purged = clamped(raw.purged);
	out->returned = purged > out->mapped ? out->mapped : purged;
	out->resident = mm_os_resident();
	return 1;
}

/* ---- The report, written without allocating ---------------------------------------------------------- */

typedef struct line {
	char buf[320];
	size_t n;
} line;

static void put(line *l, const char *s)
{
	while (*s && l->n < sizeof(l->buf) - 1)
		l->buf[l->n++] = *s++;
}

static void put_num(line *l, uint64_t v)
{
	char d[20];
	size_t k = mm_digits(d, v, 10);
	for (size_t i = 0; i < k && l->n < sizeof(l->buf) - 1; i++)
		l->buf[l->n++] = d[i];
}

/* A size in B below 1 KiB, else in KiB, MiB, GiB or TiB with one decimal. */
static void put_size(line *l, uint64_t v)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
	if (v < 1024) {
		put_num(l, v);
		put(l, " B");
		return;
	}
	unsigned u = 0;
	while (u < 3 && v >= (uint64_t)1 << (10 * (u + 2)))
		u++;
	/* v / 2^(10(u+1)) in tenths, rounded: the low bits that the shift drops do not matter here. */
	uint64_t tenths = ((v >> (10 * u)) * 10 + 512) / 1024;
	put_num(l, tenths / 10);
	put(l, ".");
	put_num(l, tenths % 10);
	put(l, " ");
	put(l, units[u]);
}

static void flush(line *l, int fd)
{
	put(l, "\n");
	mm_os_write(fd, l->buf, l->n);
	l->n = 0;
}

static void report(int fd, int verbose)
{
	memoman_malloc_stats st;
	memoman_malloc_get_stats(&st);
	char name[64];
	mm_os_program_name(name, sizeof(name));
	uint64_t allocs = st.zone_allocs + st.large_allocs + st.huge_allocs;
	for (unsigned c = 0; c < MEMOMAN_MALLOC_CLASSES; c++)
		allocs += st.classes[c].allocs;
	line l = {{0}, 0};
	put(&l, "memoman: ");
	put(&l, name[0] ? name : "?");
	put(&l, " (pid ");
	put_num(&l, (uint64_t)mm_os_pid());
	put(&l, "): live blocks ");
	put_size(&l, st.live);
	put(&l, ", mapped ");
	put_size(&l, st.mapped);
	put(&l, " (peak ");
	put_size(&l, st.mapped_peak);
	put(&l, "), returned to the OS ");
	put_size(&l, st.returned);
	put(&l, ", resident (whole process) ");
	put_size(&l, st.resident);
	flush(&l, fd);
	put(&l, "memoman:   live by size: classes <= 16 KiB ");
	put_size(&l, st.live_classes);
	put(&l, ", zones <= 1 MiB ");
	put_size(&l, st.live_zones);
	put(&l, ", large region <= 32 MiB ");
	put_size(&l, st.live_large);
	put(&l, ", huge blocks ");
	put_size(&l, st.live_huge);
	flush(&l, fd);
	put(&l, "memoman:   blocks handed out ");
	put_num(&l, allocs);
	put(&l, " (zones ");
	put_num(&l, st.zone_allocs);
	put(&l, ", large region ");
	put_num(&l, st.large_allocs);
	put(&l, ", huge ");
	put_num(&l, st.huge_allocs);
	put(&l, "), threads ");
	put_num(&l, st.threads);
	flush(&l, fd);
	if (!verbose)
		return;
	for (unsigned c = 0; c < MEMOMAN_MALLOC_CLASSES; c++) {
		if (!st.classes[c].allocs)
			continue;
		put(&l, "memoman:     ");
		put_num(&l, st.classes[c].size);
		put(&l, " B class: ");
		put_num(&l, st.classes[c].allocs);
		put(&l, " handed out, ");
		put_num(&l, st.classes[c].live);
		put(&l, " live (");
		put_size(&l, st.classes[c].live * st.classes[c].size);
		put(&l, ")");
		flush(&l, fd);
	}
}

MEMOMAN_MALLOC_API void memoman_malloc_print_stats(int verbose) { report(2, verbose); }

/* ---- MEMOMAN_STATS ------------------------------------------------------------------------------------- */

static int stats_level;           /* 0: off, 1: short, 2: with the classes */
static int stats_fd = -1;         /* the duplicate of standard error made at set-up */
static mm_os_file_id stats_fd_id; /* the file it referred to then */
static char stats_path[4096];     /* MEMOMAN_STATS=PATH: the file is PATH.PID */

/* Where the report goes: standard error if it is open (wherever the program has pointed it since);
 * if the program has closed it, the duplicate made at set-up, provided it still refers to the same
 * file (the program may have closed it too and reused its number); -1 if neither. */
static int report_fd(void)
{
	if (mm_os_fd_open(2))
		return 2;
	mm_os_file_id id;
	if (stats_fd >= 0 && mm_os_fd_identity(stats_fd, &id) && id.dev == stats_fd_id.dev && id.ino == stats_fd_id.ino)
		return stats_fd;
	return -1;
}

/* In the child of a fork: the duplicate goes, so that a daemon (which closes standard error)
 * does not keep its caller's pipe or terminal open. The child's report goes to its standard error
 * if it has one. */
void mm_stats_fork_child(void)
{
	if (stats_fd < 0)
		return;
	mm_os_file_id id;
	if (mm_os_fd_identity(stats_fd, &id) && id.dev == stats_fd_id.dev && id.ino == stats_fd_id.ino)
		mm_os_close(stats_fd);
	stats_fd = -1;
}

static void at_exit(void)
{
	if (!stats_path[0]) {
		int fd = report_fd();
		if (fd >= 0)
			report(fd, stats_level > 1);
		return;
	}
	line name = {{0}, 0};
	char file[sizeof(stats_path) + 24];
	size_t n = strlen(stats_path);
	memcpy(file, stats_path, n);
	file[n++] = '.';
	put_num(&name, (uint64_t)mm_os_pid());
	memcpy(file + n, name.buf, name.n);
	file[n + name.n] = 0;
	int fd = mm_os_create(file);
	if (fd < 0) {
		int err = report_fd();
		if (err >= 0) {
			line l = {{0}, 0};
			put(&l, "memoman: MEMOMAN_STATS: cannot create ");
			put(&l, file);
			flush(&l, err);
		}
		return;
	}
	report(fd, stats_level > 1);
	mm_os_close(fd);
}

/* MEMOMAN_STATS: unset, empty or 0: off; 1: the short report on standard error; 2 or verbose: with
 * the classes; a value with a '/': the short report to the file VALUE.PID. Anything else is said to
 * be not understood, and the short report goes to standard error. */
void mm_stats_setup(void)
{
	const char *v = mm_os_getenv("MEMOMAN_STATS");
	if (!v || !v[0] || strcmp(v, "0") == 0)
		return;
	stats_level = 1;
	if (strcmp(v, "2") == 0 || strcmp(v, "verbose") == 0) {
		stats_level = 2;
	} else if (strcmp(v, "1") != 0) {
		line l = {{0}, 0};
		size_t n = strlen(v);
		if (strchr(v, '/') && n < sizeof(stats_path)) {
			memcpy(stats_path, v, n + 1);
		} else {
			put(&l, "memoman: MEMOMAN_STATS=");
			put(&l, v);
			put(&l, strchr(v, '/') ? ": the path is too long; the report goes to standard error"
			                       : " not understood: use 1, 2, verbose or a path with a /");
			if (l.n > sizeof(l.buf) - 2) /* a value too long for the line: the line still ends */
				l.n = sizeof(l.buf) - 2;
			put(&l, "\n");
			mm_os_write_error(l.buf, l.n);
		}
	}
	/* Also for a path: where to say that it cannot be created. */
	stats_fd = mm_os_dup_error();
	if (stats_fd >= 0 && !mm_os_fd_identity(stats_fd, &stats_fd_id)) {
		mm_os_close(stats_fd);
		stats_fd = -1;
	}
	(void)atexit(at_exit);
}

/* ---- Collect ------------------------------------------------------------------------------------------------- */

size_t mm_reclaim_mappings(void)
{
	uint64_t before = atomic_load_explicit(&mm_stat_given_back, memory_order_relaxed);
	uint64_t now = mm_os_now_ms();
	mm_tcache *tc = mm_tl_tcache;
	if (tc->initialized) {
		mm_tcache_release_empty(tc); /* empty pages to their segments, empty segments to the cache */
		mm_zone_tick(tc, now, MM_PURGE_ALL);
	}
	mm_large_tick(now, MM_PURGE_ALL);
	mm_segment_cache_trim(MM_PURGE_ALL);
	mm_huge_cache_trim(now, MM_PURGE_ALL);
	return (size_t)(atomic_load_explicit(&mm_stat_given_back, memory_order_relaxed) - before);
}

MEMOMAN_MALLOC_API size_t memoman_malloc_collect(void)
{
	mm_process_init();
	uint64_t before = atomic_load_explicit(&mm_stat_given_back, memory_order_relaxed);
	mm_tcache *tc = mm_tl_tcache;
	MM_TOOL_QUIET_BEGIN(); /* the purges read the headers of free blocks (src/tool.h) */
	if (tc->initialized) {
		mm_tcache_release_empty(tc);
		mm_purge_tick(tc, MM_PURGE_ALL);
	} else {
		mm_large_tick(mm_os_now_ms(), MM_PURGE_ALL);
		mm_segment_cache_trim(MM_PURGE_ALL);
		mm_huge_cache_trim(0, MM_PURGE_ALL);
	}
	MM_TOOL_QUIET_END();
	return (size_t)(atomic_load_explicit(&mm_stat_given_back, memory_order_relaxed) - before);
}

// SPDX-License-Identifier: MIT
/*
 * test_malloc_stats.c - each figure of memoman_malloc_get_stats means what its field says, against
 * known allocation patterns and /proc/self/statm:
 *   - live bytes grow by N x the class's block size for N class blocks (and the class's live count
 *     by N), by the usable sizes for zone, large-region and huge blocks, and fall back by as much
 *     when they are freed (a 2 MiB block: by 2 MiB);
 *   - blocks allocated by a thread that exited and freed by another leave live once taken back;
 *   - after every step, with no other thread running, the figures as counted (mm_stats_snapshot,
 *     from the private header: memoman_malloc_get_stats bounds them at zero, and returned at
 *     mapped, which would hide a counting error) are never negative, a class never has more blocks
 *     live than handed out, purged bytes are never above mapped, the peak never below mapped, and
 *     memoman_malloc_get_stats gives the same figures unchanged;
 *   - returned grows when free zone spans are purged;
 *   - resident is the process's /proc/self/statm figure; touching about 67 MiB of new blocks, it is
 *     at least the bytes touched and grows by at most the bytes touched plus 2 MiB (headers of new
 *     pools and segments, and the rest of the process).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/malloc/malloc_internal.h" /* mm_stats_snapshot: the figures before bounding */
#include "mcheck.h"
#include "names.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

/* A snapshot, taken where no other thread runs (this test's own threads are joined before): the
 * counted figures then are exact, so none may be out of range, and the public figures must be the
 * counted ones, not bounded. */
static memoman_malloc_stats get(void)
{
	memoman_malloc_stats st;
	mm_stats_raw raw;
	mm_stats_snapshot(&raw);
	CHECK(memoman_malloc_get_stats(&st));
	int bad = 0;
	for (int c = 0; c < MEMOMAN_MALLOC_CLASSES; c++) {
		bad += raw.class_live[c] < 0 || (uint64_t)raw.class_live[c] > raw.class_allocs[c];
		bad += st.classes[c].live != (uint64_t)raw.class_live[c] || st.classes[c].allocs != raw.class_allocs[c];
	}
	CHECK(bad == 0);
	CHECK(raw.zone_bytes >= 0 && raw.large_bytes >= 0 && raw.huge_bytes >= 0);
	CHECK(st.live_zones == (size_t)raw.zone_bytes && st.live_large == (size_t)raw.large_bytes &&
	      st.live_huge == (size_t)raw.huge_bytes);
	CHECK(raw.purged >= 0 && raw.purged <= raw.mapped);
	CHECK(raw.mapped_peak >= raw.mapped);
	CHECK(st.returned == (size_t)raw.purged && st.mapped == (size_t)raw.mapped);
	CHECK(st.threads >= 1 && st.threads == raw.threads);
	if (bad || raw.zone_bytes < 0 || raw.purged < 0 || raw.purged > raw.mapped)
		fprintf(stderr, "counted: zones %lld, large %lld, huge %lld, purged %lld, mapped %lld\n",
		        (long long)raw.zone_bytes, (long long)raw.large_bytes, (long long)raw.huge_bytes,
		        (long long)raw.purged, (long long)raw.mapped);
	return st;
}

#ifndef MM_TEST_PREFIXED
/* The resident set from /proc/self/statm, read here. */
static size_t statm_resident(void)
{
	char buf[128];
	int fd = open("/proc/self/statm", O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	unsigned long size = 0, res = 0;
	if (sscanf(buf, "%lu %lu", &size, &res) != 2)
		return 0;
	return (size_t)res * (size_t)sysconf(_SC_PAGESIZE);
}
#endif

/* The class whose blocks serve requests of n bytes (the stats' class table). */
static int class_of(const memoman_malloc_stats *st, size_t n)
{
	for (int c = 0; c < MEMOMAN_MALLOC_CLASSES; c++)
		if (st->classes[c].size >= n)
			return c;
	return -1;
}

static void *volatile sink;

static void classes(void)
{
	enum { N = 1000 };
	static void *p[N];
	for (size_t size = 24; size <= 16 * KiB; size = size * 3 + 8) {
		memoman_malloc_stats a = get();
		int c = class_of(&a, size);
		CHECK(c >= 0);
		for (int i = 0; i < N; i++)
			p[i] = malloc(size);
		memoman_malloc_stats b = get();
		size_t block = b.classes[c].size;
		CHECK(block >= size && block <= size + size / 4 + 16);
		CHECK(b.classes[c].live == a.classes[c].live + N);
		CHECK(b.classes[c].allocs == a.classes[c].allocs + N);
		CHECK(b.live_classes == a.live_classes + N * block);
		CHECK(b.live == a.live + N * block);
		CHECK(b.live_classes - a.live_classes >= N * size);
		for (int i = 0; i < N; i++)
			free(p[i]);
		memoman_malloc_stats d = get();
		CHECK(d.classes[c].live == a.classes[c].live);
		CHECK(d.classes[c].allocs == b.classes[c].allocs);
		CHECK(d.live == a.live);
		if (d.live != a.live)
			fprintf(stderr, "class %zu: live %zu before, %zu after\n", block, a.live, d.live);
		/* The pages emptied are given back: what they handed out stays counted. */
		memoman_malloc_collect();
		memoman_malloc_stats e = get();
		CHECK(e.classes[c].allocs == b.classes[c].allocs && e.classes[c].live == a.classes[c].live);
	}
}

static size_t part(const memoman_malloc_stats *st, int which)
{
	return which == 0 ? st->live_zones : which == 1 ? st->live_large : st->live_huge;
}

/* count blocks of n bytes: live (and its part `which`) grows by their usable sizes, and falls back
 * by each one's as it is freed. */
static void sized(size_t n, int count, int which)
{
	void *p[16];
	memoman_malloc_stats a = get();
	size_t usable = 0;
	for (int i = 0; i < count; i++) {
		p[i] = malloc(n);
		CHECK(p[i] != NULL);
		usable += malloc_usable_size(p[i]);
	}
	memoman_malloc_stats b = get();
	CHECK(part(&b, which) == part(&a, which) + usable);
	CHECK(b.live == a.live + usable);
	/* TLSF rounds by at most 1/32 here; a huge block's mapping by at most a quarter. */
	size_t slack = which == 2 ? n / 4 + 64 * KiB : n / 32 + 4096;
	CHECK(usable >= (size_t)count * n && usable <= (size_t)count * (n + slack));
	if (part(&b, which) != part(&a, which) + usable)
		fprintf(stderr, "%zu x %d: part %zu -> %zu, usable %zu\n", n, count, part(&a, which), part(&b, which),
		        usable);
	for (int i = 0; i < count; i++) {
		size_t u = malloc_usable_size(p[i]);
		memoman_malloc_stats x = get();
		free(p[i]);
		memoman_malloc_stats y = get();
		CHECK(x.live - y.live == u); /* a 2 MiB block freed: live falls by 2 MiB */
	}
	memoman_malloc_stats d = get();
	CHECK(d.live == a.live);
	CHECK(part(&d, which) == part(&a, which));
}

static void counts(void)
{
	memoman_malloc_stats a = get();
	void *z = malloc(100000), *l = malloc(3 * MiB), *h = malloc(40 * MiB);
	memoman_malloc_stats b = get();
	CHECK(b.zone_allocs == a.zone_allocs + 1);
	CHECK(b.large_allocs == a.large_allocs + 1);
	CHECK(b.huge_allocs == a.huge_allocs + 1);
	free(z);
	free(l);
	free(h);
}

/* ---- A thread's blocks freed by another after it exited ------------------------------------------ */

enum { T_BLOCKS = 3000 };
static void *t_blocks[T_BLOCKS];

static void *allocator(void *arg)
{
	(void)arg;
	for (int i = 0; i < T_BLOCKS; i++)
		t_blocks[i] = malloc(48);
	return NULL;
}

static void other_thread(void)
{
	memoman_malloc_stats a = get();
	pthread_t t;
	CHECK(pthread_create(&t, NULL, allocator, NULL) == 0);
	pthread_join(t, NULL);
	memoman_malloc_stats b = get();
	int c = class_of(&b, 48);
	CHECK(b.classes[c].live == a.classes[c].live + T_BLOCKS);
	/* The C library's thread set-up allocates a little too. */
	CHECK(b.classes[c].allocs >= a.classes[c].allocs + T_BLOCKS);
	CHECK(b.live_classes >= a.live_classes + T_BLOCKS * b.classes[c].size);
	CHECK(b.live_classes <= a.live_classes + T_BLOCKS * b.classes[c].size + 16 * KiB);
	if (b.live_classes != a.live_classes + T_BLOCKS * b.classes[c].size)
		fprintf(stderr, "other thread: %zu before, %zu after\n", a.live_classes, b.live_classes);
	for (int i = 0; i < T_BLOCKS; i++)
		free(t_blocks[i]);
	memoman_malloc_collect(); /* takes back what was freed into the exited thread's pages */
	memoman_malloc_stats d = get();
	CHECK(d.classes[c].live == a.classes[c].live);
	CHECK(d.classes[c].allocs == b.classes[c].allocs); /* the exited thread's pages are given back */
	CHECK(d.live_classes <= a.live_classes + 16 * KiB);
	if (d.live_classes != a.live_classes)
		fprintf(stderr, "other thread: %zu before, %zu after the frees\n", a.live_classes, d.live_classes);
}

/* ---- Mapped, returned, resident ------------------------------------------------------------------ */

static void returned(void)
{
	enum { N = 20 };
	void *p[N];
	for (int i = 0; i < N; i++) {
		p[i] = malloc(500000);
		memset(p[i], 1, 500000);
	}
	memoman_malloc_stats a = get();
	for (int i = 0; i < N - 1; i++) /* the last one keeps its zone alive */
		free(p[i]);
	memoman_malloc_collect();
	memoman_malloc_stats b = get();
	CHECK(b.returned > a.returned); /* free zone spans purged, still mapped */
	/* Class pages and whole segments: purged or unmapped, never counted beyond mapped. */
	enum { M = 40000 };
	static void *q[M];
	for (int i = 0; i < M; i++)
		memset(q[i] = malloc(1000), 2, 1000);
	for (int i = 0; i < M; i++)
		free(q[i]);
	get();
	memoman_malloc_collect();
	get();
	for (int round = 0; round < 3; round++) { /* reuse and give back again: still within mapped */
		for (int i = 0; i < M; i++)
			memset(q[i] = malloc(1000), 3, 1000);
		get();
		for (int i = 0; i < M; i++)
			free(q[i]);
		memoman_malloc_collect();
		get(); /* purged bytes, as counted, never above mapped */
	}
	free(p[N - 1]);
	get();
}

#ifndef MM_TEST_PREFIXED
/* Transparent huge pages on for every mapping ("[always]" in the kernel's setting)? */
static int thp_always(void)
{
	char buf[128] = {0};
	int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 && strstr(buf, "[always]") != NULL;
}
#endif

static void resident(void)
{
#ifndef MM_TEST_PREFIXED /* a sanitizer's shadow memory makes resident mean little */
	if (getenv("MEMOMAN_TEST_EMULATED")) {
		/* Under qemu-user /proc/self/statm is the emulator's, counted in the host's pages. */
		printf("resident: not checked under emulation\n");
		return;
	}
	memoman_malloc_stats a = get();
	size_t r = statm_resident();
	/* The same figure, read at nearly the same moment: within a few pages. */
	CHECK(a.resident + 256 * KiB >= r && r + 256 * KiB >= a.resident);
	/* Touching new blocks: all they hold is resident now, and resident grows by no more than the
	 * bytes touched, plus 2 MiB for the headers of new pools and segments and for the rest of the
	 * process (memory reused from before may have been resident already: it grows by less). */
	enum { N = 48 };
	void *p[N];
	size_t touched = 0;
	for (int i = 0; i < N; i++) {
		size_t n = i % 2 ? 700000 : 2 * MiB;
		p[i] = malloc(n);
		memset(p[i], 5, n);
		touched += n;
	}
	memoman_malloc_stats b = get();
	size_t grew_resident = b.resident > a.resident ? b.resident - a.resident : 0;
	CHECK(b.live - a.live >= touched);
	CHECK(b.resident >= touched);
	/* With transparent huge pages always on (Debian's arm64 kernel), a touched byte may bring in
	 * a 2 MiB page: the pools' and segments' partly touched huge pages on top. */
	size_t slack = 2 * MiB + (thp_always() ? touched / 4 : 0);
	CHECK(grew_resident <= touched + slack);
	if (grew_resident > touched + slack || b.resident < touched)
		fprintf(stderr, "resident %zu -> %zu, touched %zu\n", a.resident, b.resident, touched);
	CHECK(b.mapped >= b.live);
	for (int i = 0; i < N; i++)
		free(p[i]);
	get();
#endif
}

int main(void)
{
	sink = malloc(1); /* set up */
	classes();
	sized(100000, 10, 0);     /* zones */
	sized(2 * MiB, 3, 1);     /* the large region */
	sized(5 * MiB + 3, 4, 1); /* the large region */
	sized(40 * MiB, 2, 2);    /* huge blocks */
	counts();
	other_thread();
	returned();
	resident();
	free(sink);
	return check_done("test_malloc_stats");
}

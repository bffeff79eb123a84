// SPDX-License-Identifier: MIT
/*
 * test_malloc_rss.c - memory goes back to the OS: after a working set of about 300 MiB (small
 * objects, medium ones, zone and large blocks) is freed, the process's resident memory falls back
 * within about two seconds of ordinary activity (some allocations of every size every 10 ms), whether the
 * working set belonged to the main thread or to a thread that has exited, or was allocated by a
 * thread that exited and freed by another; after a huge block, even if every later call takes the
 * fast paths; and malloc_trim(0) gives it back at once.
 * And the other side: memory freed and soon used again is not given back and faulted in again.
 * Generations of threads that allocate, free and exit take few page faults after the first (their
 * successors adopt the segments they leave, memory and all); and short threads that each leave one
 * small block behind share pages instead of taking one each.
 * On a kernel that gives transparent huge pages (THP) when asked, the working set has them, and
 * after it is freed and purged they are gone.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <malloc.h>
#include <pthread.h>
#include <sys/resource.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "memoman-malloc.h"
#include "mcheck.h"
#include "names.h"

#define MiB ((size_t)1 << 20)

static size_t resident(void)
{
	memoman_malloc_stats st;
	memoman_malloc_get_stats(&st);
	return st.resident;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static size_t peak_resident; /* measured at the working set's height */
static size_t peak_thp;      /* the same moment's transparent huge pages (THP) */

/* Bytes of the process's anonymous memory backed by THP (0 if unknown). */
static size_t thp_bytes(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	size_t kib = 0;
	char line[256];
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %zu kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib * 1024;
}

/* The kernel's count of THP it could not give at a page fault (the system's, not ours: 0 if unknown). */
static unsigned long thp_fallbacks(void)
{
	FILE *f = fopen("/proc/vmstat", "r");
	unsigned long n = 0;
	char line[256];
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "thp_fault_fallback %lu", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

/* 1 if the kernel gives THP to the ranges that ask for them ("[madvise]" mode). */
static int thp_when_asked(void)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	char line[128] = "";
	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = 0;
		fclose(f);
	}
	return strstr(line, "[madvise]") != NULL;
}

/* About 300 MiB in blocks of every range, touched, then freed. */
static void *working_set(void *arg)
{
	(void)arg;
	static void *small[2000000];
	static void *medium[25000];
	static void *zone_blocks[500];
	static void *large[10];
	for (size_t i = 0; i < 2000000; i++)
		memset(small[i] = malloc(64), 1, 64);
	for (size_t i = 0; i < 25000; i++)
		memset(medium[i] = malloc(4000), 2, 4000);
	for (size_t i = 0; i < 500; i++)
		memset(zone_blocks[i] = malloc(100000), 3, 100000);
	for (size_t i = 0; i < 10; i++)
		memset(large[i] = malloc(3 * MiB), 4, 3 * MiB);
	peak_resident = resident();
	peak_thp = thp_bytes();
	for (size_t i = 0; i < 2000000; i++)
		free(small[i]);
	for (size_t i = 0; i < 25000; i++)
		free(medium[i]);
	for (size_t i = 0; i < 500; i++)
		free(zone_blocks[i]);
	for (size_t i = 0; i < 10; i++)
		free(large[i]);
	return NULL;
}

/* The same working set allocated by a thread that exits with it; the caller frees it. */
static void *held[2000000 + 25000 + 500 + 10];
static void *working_set_kept(void *arg)
{
	(void)arg;
	size_t k = 0;
	for (size_t i = 0; i < 2000000; i++)
		memset(held[k++] = malloc(64), 1, 64);
	for (size_t i = 0; i < 25000; i++)
		memset(held[k++] = malloc(4000), 2, 4000);
	for (size_t i = 0; i < 500; i++)
		memset(held[k++] = malloc(100000), 3, 100000);
	for (size_t i = 0; i < 10; i++)
		memset(held[k++] = malloc(3 * MiB), 4, 3 * MiB);
	peak_resident = resident();
	return NULL;
}

static void *volatile sink; /* keeps the compiler from dropping a malloc + free pair */

/* One thread of a generation: a working set of small blocks (about 2.5 MiB), allocated, touched,
 * freed, twice. Small enough that a generation takes well under the purge delay (500 ms) even in a
 * debug build: what this shows is reuse, not the delay. */
enum { GEN_BLOCKS = 25000 };
static void *generation_thread(void *arg)
{
	void **p = (void **)arg;
	for (int r = 0; r < 2; r++) {
		for (size_t i = 0; i < GEN_BLOCKS; i++) {
			p[i] = malloc(16 + (i % 13) * 16);
			memset(p[i], 1, 16);
		}
		for (size_t i = 0; i < GEN_BLOCKS; i++)
			free(p[i]);
	}
	return NULL;
}

static long minor_faults(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/* Four threads at a time, `generations` times over; the page faults they took. */
static long generations_of_threads(int generations)
{
	static void *blocks[4][GEN_BLOCKS];
	long before = minor_faults();
	for (int g = 0; g < generations; g++) {
		pthread_t t[4];
		for (int i = 0; i < 4; i++)
			pthread_create(&t[i], NULL, generation_thread, blocks[i]);
		for (int i = 0; i < 4; i++)
			pthread_join(t[i], NULL);
	}
	return minor_faults() - before;
}

static void *leave_one(void *arg)
{
	(void)arg;
	return calloc(1, 128); /* left live: the thread's only block */
}

/* Rounds of a hand-over: each round's thread frees the blocks the previous round's thread (now
 * exited) allocated, allocates its own and exits. */
enum { HAND_BLOCKS = 20000 };
static void *hand[HAND_BLOCKS];
static void *hand_over_round(void *arg)
{
	uint64_t seed = (uintptr_t)arg;
	for (size_t i = 0; i < HAND_BLOCKS; i++) {
		free(hand[i]);
		seed = seed * 6364136223846793005u + 1442695040888963407u;
		hand[i] = malloc(16 + (size_t)((seed >> 33) % 400));
		memset(hand[i], 1, 16);
	}
	return NULL;
}

/* Ordinary activity until resident memory is below `limit`; the seconds it took (or 99). With
 * `small_only`, only small blocks, whose calls all take the fast paths. */
static double settle_with(size_t limit, double give_up, int small_only)
{
	double t0 = now();
	while (now() - t0 < give_up) {
		for (int i = 0; i < 100; i++) {
			/* small_only: 400 bytes, a class the C library holds no block of (a static glibc
			 * keeps one of 48 bytes live: that page would never empty, and a thread whose
			 * calls all take the fast paths ticks only when a page empties). */
			sink = malloc(small_only ? 400 : (size_t)(16 + i * 8));
			free(sink);
		}
		if (!small_only) {
			sink = malloc(20000); /* and a medium one */
			free(sink);
		}
		if (resident() <= limit)
			return now() - t0;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return 99;
}
static double settle(size_t limit, double give_up) { return settle_with(limit, give_up, 0); }

int main(void)
{
	free(malloc(1));
	size_t base = resident();
	size_t limit = base + 48 * MiB;

	unsigned long fallbacks = thp_fallbacks();
	working_set(NULL);
	fallbacks = thp_fallbacks() - fallbacks;
	size_t peak = peak_resident;
	CHECK(peak > base + 250 * MiB); /* the working set was resident */
	double t = settle(limit, 5.0);
	printf("main thread: resident %zu MiB -> below %zu MiB in %.2f s\n", peak / MiB, limit / MiB, t);
	CHECK(t <= 2.5);
	/* THP: a thread holding many segments asks for them (MEMOMAN_THP unset); a purge refuses them
	 * again, so what was given back stays given back. */
	size_t thp_after = thp_bytes();
	printf("THP: %zu MiB at the height, %zu MiB after (%lu refused by the kernel meanwhile)\n", peak_thp / MiB,
	       thp_after / MiB, fallbacks);
	if (thp_when_asked() && !getenv("MEMOMAN_THP")) {
		CHECK(peak_thp >= 64 * MiB || fallbacks > 0); /* most of the 128 MiB of small blocks */
		CHECK(thp_after <= 8 * MiB);
	} else {
		printf("THP: not checked (the kernel's mode is not madvise, or MEMOMAN_THP is set)\n");
	}

	pthread_t th;
	pthread_create(&th, NULL, working_set, NULL);
	pthread_join(th, NULL);
	peak = peak_resident;
	t = settle(limit, 5.0);
	printf("exited thread: resident %zu MiB -> below %zu MiB in %.2f s\n", peak / MiB, limit / MiB, t);
	CHECK(t <= 2.5);

	/* Allocated by a thread that exits, freed here (each free goes to a page no thread owns). */
	pthread_create(&th, NULL, working_set_kept, NULL);
	pthread_join(th, NULL);
	peak = peak_resident;
	for (size_t i = 0; i < sizeof(held) / sizeof(held[0]); i++)
		free(held[i]);
	t = settle(limit, 5.0);
	printf("freed after its thread exited: resident %zu MiB -> below %zu MiB in %.2f s\n", peak / MiB, limit / MiB,
	       t);
	CHECK(t <= 2.5);

	/* Threads that hand their blocks over and exit, one after the other, while the main thread
	 * allocates a little between them (a thread that ticks but does not allocate much must not
	 * take the exited threads' pages over and sit on them). Resident memory stays flat. */
	size_t after_warmup = 0;
	for (size_t round = 0; round < 40; round++) {
		pthread_create(&th, NULL, hand_over_round, (void *)(round + 1));
		pthread_join(th, NULL);
		for (int i = 0; i < 20; i++) {
			sink = malloc(500);
			free(sink);
		}
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
		if (round == 4)
			after_warmup = resident();
	}
	size_t after_rounds = resident();
	printf("40 rounds of hand-over: resident %zu MiB after 5, %zu MiB after 40\n", after_warmup / MiB,
	       after_rounds / MiB);
	CHECK(after_rounds <= after_warmup + 8 * MiB);
	for (size_t i = 0; i < HAND_BLOCKS; i++)
		free(hand[i]);

	/* A huge block freed, then only small blocks on their fast paths. */
	char *huge = malloc(200 * MiB);
	memset(huge, 5, 200 * MiB);
	peak = resident();
	free(huge);
	t = settle_with(limit, 5.0, 1);
	printf("huge block, then small calls only: resident %zu MiB -> below %zu MiB in %.2f s\n", peak / MiB,
	       limit / MiB, t);
	CHECK(t <= 2.5);

	/* Generations of threads: the later ones reuse what the earlier ones left (before, every exit
	 * purged, and each generation faulted its working set in again). */
	long first = generations_of_threads(1);
	long next = generations_of_threads(8);
	printf("generations of threads: %ld page faults in the first, %ld in the next eight\n", first, next);
	CHECK(next < first * 2); /* eight generations for less than two first ones */

	/* Short threads that leave one 128-byte block each: 2000 blocks share pages. */
	memoman_malloc_stats st;
	memoman_malloc_get_stats(&st);
	size_t mapped_before = st.mapped;
	static void *left[2000];
	for (size_t i = 0; i < 2000; i++) {
		pthread_create(&th, NULL, leave_one, NULL);
		pthread_join(th, &left[i]);
	}
	memoman_malloc_get_stats(&st);
	printf("2000 threads leaving a 128-byte block each: mapped %zu MiB -> %zu MiB\n", mapped_before / MiB,
	       st.mapped / MiB);
	CHECK(st.mapped <= mapped_before + 16 * MiB);
	for (size_t i = 0; i < 2000; i++)
		free(left[i]);

	working_set(NULL);
	peak = peak_resident;
	malloc_trim(0);
	size_t after = resident();
	printf("malloc_trim: resident %zu MiB -> %zu MiB at once\n", peak / MiB, after / MiB);
	CHECK(after <= limit);
	return check_done("test_malloc_rss");
}

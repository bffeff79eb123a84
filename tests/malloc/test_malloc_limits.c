// SPDX-License-Identifier: MIT
/*
 * test_malloc_limits.c - libmemoman-malloc under an address-space limit (ulimit -v, RLIMIT_AS), as
 * a server in a container or a user with limits meets it. Each case runs in a child process whose
 * limit is its address space at the start plus a budget:
 *   - rounds: allocate 64-byte blocks until malloc says no, free them all, six times over: every
 *     round serves as many blocks as the first (to within one segment, 4 MiB: where the last
 *     segment-aligned mapping fits depends on what the caches had unmapped when the limit was
 *     met), and after each round's frees and a malloc_trim the address space is back within a few
 *     MiB of the first round's (nothing leaks; the caches, which keep empty segments up to 3 s,
 *     are emptied so that the figure does not depend on the clock);
 *   - ranges: blocks of one size range until malloc says no, all freed, then blocks of another
 *     range (1 MiB, then 64 bytes, then 100 KB, then 1 MiB again): each is served without
 *     malloc_trim, fopen works in between, and the last round serves about what the first did;
 *   - shards: one thread allocates 2 MiB blocks (the large region) until malloc says no and frees
 *     them all but the first (so that its pool stays); a second thread, which starts at another shard of the large region, is then served
 *     about as many: the space freed in one shard is not lost to the others;
 *   - threads: 16 threads at once, each 200,000 allocations of 16 to 255 bytes and their frees, a
 *     quarter of the frees by another thread (through a shared array of slots), with a live set
 *     of about 1 MiB, under a budget of THREADS_BUDGET: no request fails (a thread cache that kept
 *     more than its share, or a cross-thread free that stranded memory, runs the others out), and
 *     every block still holds what its thread wrote when it is freed.
 * Not under sanitizers (their shadow memory needs the address space) nor qemu-user (the emulator's
 * own mappings count against the limit).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mcheck.h"
#include "names.h"
#include "xorshift.h"

#define MiB ((size_t)1 << 20)
#define SEGMENT_BLOCKS ((4 * MiB) / 64) /* 64-byte blocks in one 4 MiB segment */
#define MAX_BLOCKS ((size_t)4 << 20)

static void *blocks[MAX_BLOCKS]; /* in .bss: counted in the address space before the limit is set */

/* The process's address space (VmSize), in bytes; 0 if it cannot be read (checked by the callers:
 * stdio allocates, and must still work under the limit). */
static size_t vm_size(void)
{
	static char buf[4096];
	FILE *f = fopen("/proc/self/statm", "r");
	size_t pages = 0;
	if (f) {
		if (fgets(buf, sizeof(buf), f))
			pages = strtoul(buf, NULL, 10);
		fclose(f);
	}
	return pages * (size_t)sysconf(_SC_PAGESIZE);
}

/* Limits the address space to what it is now plus budget; 0 if it cannot (a lower hard limit). */
static int limit_to(size_t budget)
{
	size_t now = vm_size();
	struct rlimit r;
	CHECK(now > 0 && getrlimit(RLIMIT_AS, &r) == 0);
	if (r.rlim_max != RLIM_INFINITY && r.rlim_max < now + budget) {
		printf("skipped: the hard address-space limit is below %zu MiB\n", (now + budget) / MiB);
		return 0;
	}
	r.rlim_cur = now + budget;
	CHECK(setrlimit(RLIMIT_AS, &r) == 0);
	return 1;
}

/* Blocks of `size` until malloc returns NULL (or MAX_BLOCKS), each touched; returns how many. */
static size_t fill(size_t size)
{
	size_t n = 0;
	while (n < MAX_BLOCKS && (blocks[n] = malloc(size)) != NULL) {
		memset(blocks[n], (int)(n & 0xFF), size < 64 ? size : 64);
		n++;
	}
	return n;
}

static void release(size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(blocks[i]);
}

static int run_rounds(void)
{
	enum { ROUNDS = 6 };
	size_t served[ROUNDS], vm_after[ROUNDS];
	if (!limit_to(192 * MiB))
		return 0;
	for (int r = 0; r < ROUNDS; r++) {
		served[r] = fill(64);
		release(served[r]);
		malloc_trim(0);
		vm_after[r] = vm_size();
	}
	for (int r = 0; r < ROUNDS; r++) {
		printf("rounds: round %d served %zu blocks of 64 bytes; address space after its frees and a trim %zu "
		       "MiB\n",
		       r, served[r], vm_after[r] / MiB);
		CHECK(served[r] + SEGMENT_BLOCKS >= served[0]);
		CHECK(vm_after[r] > 0);
		CHECK(vm_after[r] <= vm_after[0] + 8 * MiB);
	}
	CHECK(served[0] > 1000000); /* 64 MiB at least of a 192 MiB budget */
	return check_done("test_malloc_limits (rounds)");
}

static int run_ranges(void)
{
	if (!limit_to(64 * MiB))
		return 0;
	size_t big = fill(MiB);
	release(big);
	void *p = malloc(100);
	CHECK(p != NULL);
	free(p);
	FILE *f = fopen("/proc/self/statm", "r");
	CHECK(f != NULL);
	if (f)
		fclose(f);
	size_t small = fill(64);
	release(small);
	size_t zone = fill(100000);
	release(zone);
	size_t big2 = fill(MiB);
	release(big2);
	printf("ranges: 1 MiB blocks %zu, then 64 bytes %zu, then 100 KB %zu, then 1 MiB %zu\n", big, small, zone,
	       big2);
	CHECK(big >= 16);
	CHECK(small >= 250000); /* 16 MiB of 64 MiB, headers included */
	CHECK(zone >= 150);     /* 15 MiB of 64 MiB */
	CHECK(big2 + 2 >= big);
	return check_done("test_malloc_limits (ranges)");
}

/* Fills with 2 MiB blocks and frees them, but for the first if `keep` (whose pool then cannot be
 * unmapped to make room). */
static void *fill_large(void *arg)
{
	size_t *served = arg, n = fill(2 * MiB);
	for (size_t i = served[0]; i < n; i++)
		free(blocks[i]);
	served[0] = n;
	return NULL;
}

static int run_shards(void)
{
	if (!limit_to(256 * MiB))
		return 0;
	size_t served[2] = {1, 0}; /* the first thread keeps its first block */
	void *kept = NULL;
	for (int t = 0; t < 2; t++) {
		pthread_t th;
		CHECK(pthread_create(&th, NULL, fill_large, &served[t]) == 0);
		CHECK(pthread_join(th, NULL) == 0);
		if (t == 0)
			kept = blocks[0];
	}
	free(kept);
	printf("shards: the first thread got %zu blocks of 2 MiB, the second %zu\n", served[0], served[1]);
	CHECK(served[0] >= 32); /* 64 MiB of 256 MiB */
	CHECK(served[1] + 3 >= served[0]);
	return check_done("test_malloc_limits (shards)");
}

/* ---- threads -------------------------------------------------------------------------------- */

#define THREADS 16
#define THREAD_OPS 200000
#define THREAD_LIVE 256
#define EXCHANGE_SLOTS 4096
#define THREADS_BUDGET (128 * MiB)

static _Atomic(unsigned char *) exchange[EXCHANGE_SLOTS];
static _Atomic size_t thread_refused, thread_damaged;

/* A block of n bytes (16 to 255) holds n in its first byte and n ^ 0x5A in its last. */
static void free_checked(unsigned char *b)
{
	if (!b)
		return;
	size_t n = b[0];
	if (n < 16 || b[n - 1] != (unsigned char)(n ^ 0x5A))
		atomic_fetch_add(&thread_damaged, 1);
	free(b);
}

static void *churn_thread(void *arg)
{
	uint32_t r = (uint32_t)(uintptr_t)arg;
	unsigned char *live[THREAD_LIVE] = {0};
	for (long i = 0; i < THREAD_OPS; i++) {
		size_t k = xorshift32(&r) % THREAD_LIVE;
		if (xorshift32(&r) % 4 == 0) /* handed to whichever thread takes the slot next */
			live[k] = atomic_exchange(&exchange[xorshift32(&r) % EXCHANGE_SLOTS], live[k]);
		free_checked(live[k]);
		size_t n = 16 + xorshift32(&r) % 240;
		live[k] = malloc(n);
		if (!live[k]) {
			atomic_fetch_add(&thread_refused, 1);
			continue;
		}
		live[k][0] = (unsigned char)n;
		live[k][n - 1] = (unsigned char)(n ^ 0x5A);
	}
	for (size_t k = 0; k < THREAD_LIVE; k++)
		free_checked(live[k]);
	return NULL;
}

static int run_threads(void)
{
	pthread_attr_t attr;
	CHECK(pthread_attr_init(&attr) == 0);
	CHECK(pthread_attr_setstacksize(&attr, 256 * 1024) == 0); /* the budget is the allocator's */
	if (!limit_to(THREADS_BUDGET + THREADS * 256 * 1024))
		return 0;
	pthread_t th[THREADS];
	int made = 0;
	for (int t = 0; t < THREADS; t++)
		if (pthread_create(&th[made], &attr, churn_thread, (void *)(uintptr_t)(t + 1)) == 0)
			made++;
	for (int t = 0; t < made; t++)
		CHECK(pthread_join(th[t], NULL) == 0);
	for (size_t i = 0; i < EXCHANGE_SLOTS; i++)
		free_checked(atomic_exchange(&exchange[i], NULL));
	pthread_attr_destroy(&attr);
	size_t refused = atomic_load(&thread_refused), damaged = atomic_load(&thread_damaged);
	printf("threads: %d of %d threads started; %zu requests refused, %zu blocks damaged of %ld\n", made, THREADS,
	       refused, damaged, (long)made * THREAD_OPS);
	CHECK(made == THREADS);
	CHECK(refused == 0);
	CHECK(damaged == 0);
	return check_done("test_malloc_limits (threads)");
}

static int in_child(int (*body)(void))
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		failures = 0; /* the child's own count, not the parent's so far */
		int status = body();
		fflush(stdout);
		_exit(status);
	}
	int status = 0;
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return status;
}

int main(void)
{
	in_child(run_rounds);
	in_child(run_ranges);
	in_child(run_shards);
	in_child(run_threads);
	return check_done("test_malloc_limits");
}

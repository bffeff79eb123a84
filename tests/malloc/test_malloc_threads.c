// SPDX-License-Identifier: MIT
/*
 * test_malloc_threads.c - libmemoman-malloc under threads: a stress in which objects, filled with a
 * pattern that names their size and owner, are handed between threads through a shared array and
 * freed by whichever thread takes them out (checking the pattern first), in rounds of threads that
 * are created and destroyed; then many short-lived threads, with no growth of the memory mapped;
 * then fork while other threads allocate.
 *
 * Built twice: against libmemoman-malloc itself (MM(x) is x), and against a copy whose entry points
 * are prefixed (MM(x) is mmt_##x) so that ThreadSanitizer, which brings its own malloc, can watch the
 * allocator's internals (make test-tsan).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "memoman-malloc.h"
#include "names.h"
#include "xorshift.h"
#define MM(x) x

static atomic_int failures;
#define CHECK(c)                                                                                                       \
	do {                                                                                                           \
		if (!(c)) {                                                                                            \
			atomic_fetch_add(&failures, 1);                                                                \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);                          \
		}                                                                                                      \
	} while (0)

/* ---- Objects with a pattern --------------------------------------------------------------------------- */

typedef struct object {
	size_t size;
	uint32_t seed;
} object;

static void fill(unsigned char *p, size_t size, uint32_t seed)
{
	object o = {size, seed};
	memcpy(p, &o, sizeof(o));
	for (size_t i = sizeof(o); i < size; i += (i < 256 ? 1 : 61))
		p[i] = (unsigned char)(seed + i);
}

static int intact(const unsigned char *p)
{
	object o;
	memcpy(&o, p, sizeof(o));
	for (size_t i = sizeof(o); i < o.size; i += (i < 256 ? 1 : 61))
		if (p[i] != (unsigned char)(o.seed + i))
			return 0;
	return 1;
}

static size_t random_size(uint32_t *r)
{
	uint32_t k = xorshift32(r) % 1000;
	if (k < 900)
		return sizeof(object) + xorshift32(r) % 512; /* small */
	if (k < 990)
		return 1024 + xorshift32(r) % 60000; /* classes and zones */
	return 200000 + xorshift32(r) % 3000000;     /* up to huge */
}

/* ---- The hand-over stress -------------------------------------------------------------------------------- */

#define SLOTS 4096
static _Atomic(unsigned char *) slots[SLOTS];

typedef struct worker {
	uint32_t seed;
	int steps;
} worker;

static void *hand_over(void *arg)
{
	worker *w = (worker *)arg;
	uint32_t r = w->seed;
	for (int i = 0; i < w->steps; i++) {
		size_t size = random_size(&r);
		unsigned char *p;
		switch (xorshift32(&r) % 4) {
		case 0: p = MM(calloc)(1, size); break;
		case 1: p = MM(aligned_alloc)((size_t)16 << (xorshift32(&r) % 6), size); break;
		default: p = MM(malloc)(size); break;
		}
		CHECK(p != NULL);
		if (!p)
			continue;
		fill(p, size, r);
		unsigned char *old = atomic_exchange(&slots[xorshift32(&r) % SLOTS], p);
		if (old) {
			CHECK(intact(old));
			if (xorshift32(&r) % 8 == 0) { /* some grow or shrink on the way out */
				object o;
				memcpy(&o, old, sizeof(o));
				size_t n = sizeof(object) + xorshift32(&r) % (o.size * 2);
				unsigned char *q = MM(realloc)(old, n);
				CHECK(q != NULL);
				if (q) {
					size_t keep = n < o.size ? n : o.size;
					object k = {keep, o.seed};
					memcpy(q, &k, sizeof(k));
					CHECK(intact(q));
					old = q;
				}
			}
			MM(free)(old);
		}
	}
	return NULL;
}

static void test_hand_over(int threads, int rounds, int steps)
{
	for (int round = 0; round < rounds; round++) {
		pthread_t t[16];
		worker w[16];
		for (int i = 0; i < threads; i++) {
			w[i] = (worker){(uint32_t)(round * 131 + i * 7919 + 1), steps};
			CHECK(pthread_create(&t[i], NULL, hand_over, &w[i]) == 0);
		}
		for (int i = 0; i < threads; i++)
			pthread_join(t[i], NULL);
	}
	for (int i = 0; i < SLOTS; i++) {
		unsigned char *p = atomic_exchange(&slots[i], NULL);
		if (p) {
			CHECK(intact(p));
			MM(free)(p);
		}
	}
}

/* ---- Short-lived threads ----------------------------------------------------------------------------------- */

static void *short_life(void *arg)
{
	uint32_t r = (uint32_t)(uintptr_t)arg;
	void *keep[64];
	for (int i = 0; i < 64; i++)
		keep[i] = MM(malloc)(16 + xorshift32(&r) % 2000);
	for (int i = 0; i < 64; i += 2)
		MM(free)(keep[i]);
	/* Half its blocks outlive it: the next thread frees them from its own thread cache. */
	unsigned char *left = MM(malloc)(100);
	unsigned char *prev = atomic_exchange(&slots[0], left);
	if (prev)
		MM(free)(prev);
	for (int i = 1; i < 64; i += 2)
		MM(free)(keep[i]);
	return NULL;
}

static void test_short_lived(int count)
{
	memoman_malloc_stats before, after;
	/* Warm up, then measure: the mapped memory must not grow with the number of threads. */
	for (int round = 0; round < 2; round++) {
		if (round == 1)
			memoman_malloc_get_stats(&before);
		for (int i = 0; i < count; i++) {
			pthread_t t;
			CHECK(pthread_create(&t, NULL, short_life, (void *)(uintptr_t)(i + 1)) == 0);
			pthread_join(t, NULL);
		}
	}
	memoman_malloc_get_stats(&after);
	CHECK(after.mapped <= before.mapped + ((size_t)16 << 20));
	if (after.mapped > before.mapped + ((size_t)16 << 20))
		fprintf(stderr, "mapped grew from %zu to %zu over %d threads\n", before.mapped, after.mapped, count);
	MM(free)(atomic_exchange(&slots[0], NULL));
}

/* ---- fork while other threads allocate ----------------------------------------------------------------------- */

static atomic_int forking;

static void *busy(void *arg)
{
	uint32_t r = (uint32_t)(uintptr_t)arg;
	while (atomic_load(&forking)) {
		void *p = MM(malloc)(random_size(&r) % 70000);
		unsigned char *old = atomic_exchange(&slots[xorshift32(&r) % 64], p);
		MM(free)(old);
	}
	return NULL;
}

static void test_fork(int forks)
{
	atomic_store(&forking, 1);
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		CHECK(pthread_create(&t[i], NULL, busy, (void *)(uintptr_t)(i + 5)) == 0);
	for (int f = 0; f < forks; f++) {
		pid_t pid = fork();
		if (pid == 0) {
			/* The child: one thread, allocating and freeing, including blocks of other threads. */
			uint32_t r = 99;
			void *held[256] = {0};
			for (int i = 0; i < 20000; i++) {
				int k = (int)(xorshift32(&r) % 256);
				MM(free)(held[k]);
				held[k] = MM(malloc)(random_size(&r) % 100000);
				if (!held[k])
					_exit(2);
			}
			for (int k = 0; k < 256; k++)
				MM(free)(held[k]);
			_exit(0);
		}
		CHECK(pid > 0);
		int status = 0;
		waitpid(pid, &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	atomic_store(&forking, 0);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 64; i++)
		MM(free)(atomic_exchange(&slots[i], NULL));
}

int main(int argc, char **argv)
{
	int scale = argc > 1 ? atoi(argv[1]) : 1;
	test_hand_over(4, 3 * scale, 40000);
	test_short_lived(300 * scale);
	test_fork(8 * scale);
	int f = atomic_load(&failures);
	if (f)
		fprintf(stderr, "test_malloc_threads: %d checks failed\n", f);
	else
		printf("test_malloc_threads: all checks passed\n");
	return f != 0;
}

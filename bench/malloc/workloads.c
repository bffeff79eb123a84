// SPDX-License-Identifier: MIT
/*
 * workloads.c - the general-purpose malloc benchmark's workloads, one program; the allocator is
 * whatever malloc the process has (run_bench.c sets LD_PRELOAD). Modelled on what the field
 * measures (daanx/mimalloc-bench's set), written for this project:
 *
 *   churn       one thread, small objects (8..512 B, most of them small), a working set of 20,000
 *               replaced at random and in bursts (cfrac, espresso)
 *   larson      server-style: 2 threads each replace random objects (16..400 B) in their own array;
 *               every round new threads take over the arrays, freeing what the previous ones
 *               allocated (larson)
 *   prodcons    2 producers allocate messages (16..1024 B) and hand them through queues to 2
 *               consumers that free them (xmalloc-test)
 *   mixed       2 threads, sizes from 16 B to 4 MiB (log-uniform), random lifetimes (mstress, rptest)
 *   realloc     strings and arrays grown by realloc in small steps, then freed (realloc growth)
 *   frag        a transient peak of 1.5 million small objects, 95% freed at random, then medium
 *               objects allocated into the holes (fragmentation; peak RSS matters)
 *   large       blocks of 5 to 25 MiB allocated, touched and freed over and over (malloc-large)
 *   falseshare  2 threads each get objects first allocated by the other thread and write them
 *               over and over (cache-scratch: an allocator that puts two threads' objects on one
 *               cache line makes the writes fight)
 *   scatter     one thread, 1.5 million blocks of 64 bytes live, 4 million times a random one
 *               replaced: frees spread over many segments (not in run.sh's set: a probe, counted
 *               with callgrind, of free's path through the segment map; docs/malloc.md)
 *
 *   workloads <name> [scale]     scale multiplies the work (default 1)
 * Prints "<name> <checksum>": a checksum of what was computed, the same whatever the allocator.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int scale = 1;

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static void *must(void *p)
{
	if (!p) {
		fprintf(stderr, "workloads: out of memory\n");
		exit(1);
	}
	return p;
}

/* ---- churn --------------------------------------------------------------------------------------------- */

static uint64_t churn(void)
{
	enum { LIVE = 20000 };
	static unsigned char *live[LIVE];
	uint64_t s = 1, sum = 0;
	long steps = 12000000L * scale;
	for (long i = 0; i < steps; i++) {
		uint64_t r = rnd(&s);
		size_t k = (size_t)(r % LIVE);
		size_t size = (r >> 32) % 8 ? 8 + (r >> 40) % 56 : 64 + (r >> 40) % 448;
		if (live[k]) {
			sum += live[k][0];
			free(live[k]);
		}
		live[k] = must(malloc(size));
		live[k][0] = (unsigned char)size;
		if ((r & 0xFFF) == 0) { /* a burst: free a run of objects and allocate them again */
			for (size_t j = 0; j < 64; j++) {
				size_t m = (k + j) % LIVE;
				free(live[m]);
				live[m] = must(malloc(16 + j));
				live[m][0] = (unsigned char)j;
			}
		}
	}
	for (size_t k = 0; k < LIVE; k++)
		free(live[k]);
	return sum;
}

/* ---- scatter ------------------------------------------------------------------------------------------- */

static uint64_t scatter(void)
{
	enum { LIVE = 1500000 };
	unsigned char **live = must(calloc(LIVE, sizeof(*live)));
	uint64_t s = 1, sum = 0;
	for (size_t k = 0; k < LIVE; k++)
		live[k] = must(malloc(64));
	long steps = 4000000L * scale;
	for (long i = 0; i < steps; i++) {
		size_t k = (size_t)(rnd(&s) % LIVE);
		free(live[k]);
		live[k] = must(malloc(64));
		live[k][0] = (unsigned char)i;
		sum += live[k][0];
	}
	for (size_t k = 0; k < LIVE; k++)
		free(live[k]);
	free(live);
	return sum;
}

/* ---- larson -------------------------------------------------------------------------------------------- */

enum { LARSON_THREADS = 2, LARSON_SLOTS = 8000 };
static unsigned char *larson_slots[LARSON_THREADS][LARSON_SLOTS];

typedef struct larson_arg {
	int id;
	long steps;
	uint64_t seed, sum;
} larson_arg;

static void *larson_worker(void *p)
{
	larson_arg *a = (larson_arg *)p;
	unsigned char **slots = larson_slots[a->id];
	for (long i = 0; i < a->steps; i++) {
		uint64_t r = rnd(&a->seed);
		size_t k = (size_t)(r % LARSON_SLOTS);
		size_t size = 16 + (r >> 32) % 385;
		if (slots[k]) {
			a->sum += slots[k][0];
			free(slots[k]);
		}
		slots[k] = must(malloc(size));
		slots[k][0] = (unsigned char)size;
	}
	return NULL;
}

static uint64_t larson(void)
{
	uint64_t sum = 0, s = 7;
	for (int t = 0; t < LARSON_THREADS; t++)
		for (int k = 0; k < LARSON_SLOTS; k++) {
			larson_slots[t][k] = must(malloc(16 + rnd(&s) % 385));
			larson_slots[t][k][0] = 1;
		}
	for (int round = 0; round < 10 * scale; round++) {
		pthread_t th[LARSON_THREADS];
		larson_arg args[LARSON_THREADS];
		for (int t = 0; t < LARSON_THREADS; t++) {
			args[t] = (larson_arg){t, 600000, (uint64_t)(round * 31 + t + 1), 0};
			pthread_create(&th[t], NULL, larson_worker, &args[t]);
		}
		for (int t = 0; t < LARSON_THREADS; t++) {
			pthread_join(th[t], NULL);
			sum += args[t].sum;
		}
	}
	for (int t = 0; t < LARSON_THREADS; t++)
		for (int k = 0; k < LARSON_SLOTS; k++)
			free(larson_slots[t][k]);
	return sum;
}

/* ---- prodcons ------------------------------------------------------------------------------------------- */

enum { QUEUE = 4096 };
typedef struct queue {
	_Atomic(unsigned char *) items[QUEUE];
	atomic_size_t head, tail; /* single producer, single consumer */
} queue;
static queue queues[2];

typedef struct pc_arg {
	queue *q;
	long count;
	uint64_t seed, sum;
} pc_arg;

static void *producer(void *p)
{
	pc_arg *a = (pc_arg *)p;
	for (long i = 0; i < a->count; i++) {
		size_t size = 16 + rnd(&a->seed) % 1009;
		unsigned char *m = must(malloc(size));
		m[0] = (unsigned char)size;
		m[size - 1] = 1;
		size_t t = atomic_load_explicit(&a->q->tail, memory_order_relaxed);
		while (t - atomic_load_explicit(&a->q->head, memory_order_acquire) >= QUEUE)
			sched_yield(); /* more threads than cores: let the consumer run */
		atomic_store_explicit(&a->q->items[t % QUEUE], m, memory_order_relaxed);
		atomic_store_explicit(&a->q->tail, t + 1, memory_order_release);
	}
	return NULL;
}

static void *consumer(void *p)
{
	pc_arg *a = (pc_arg *)p;
	for (long i = 0; i < a->count; i++) {
		size_t h = atomic_load_explicit(&a->q->head, memory_order_relaxed);
		while (atomic_load_explicit(&a->q->tail, memory_order_acquire) == h)
			sched_yield();
		unsigned char *m = atomic_load_explicit(&a->q->items[h % QUEUE], memory_order_relaxed);
		atomic_store_explicit(&a->q->head, h + 1, memory_order_release);
		a->sum += m[0];
		free(m);
	}
	return NULL;
}

static uint64_t prodcons(void)
{
	pthread_t th[4];
	pc_arg args[4];
	long count = 2500000L * scale;
	for (int i = 0; i < 2; i++) {
		args[i] = (pc_arg){&queues[i], count, (uint64_t)(i + 3), 0};
		args[i + 2] = (pc_arg){&queues[i], count, 0, 0};
		pthread_create(&th[i], NULL, producer, &args[i]);
		pthread_create(&th[i + 2], NULL, consumer, &args[i + 2]);
	}
	uint64_t sum = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		sum += args[i].sum;
	}
	return sum;
}

/* ---- mixed ---------------------------------------------------------------------------------------------- */

typedef struct mixed_arg {
	uint64_t seed, sum;
} mixed_arg;

static void *mixed_worker(void *p)
{
	mixed_arg *a = (mixed_arg *)p;
	enum { LIVE = 2000 };
	unsigned char *live[LIVE] = {0};
	size_t sizes[LIVE] = {0};
	long steps = 600000L * scale;
	for (long i = 0; i < steps; i++) {
		uint64_t r = rnd(&a->seed);
		size_t k = (size_t)(r % LIVE);
		if (live[k]) {
			a->sum += live[k][sizes[k] - 1];
			free(live[k]);
		}
		/* log-uniform from 16 B to 4 MiB, weighted to the small end */
		unsigned bits = 4 + (unsigned)((r >> 20) % 19);
		if ((r >> 40) % 4)
			bits = 4 + (unsigned)((r >> 44) % 8);
		size_t size = ((size_t)1 << bits) + (size_t)((r >> 48) % ((size_t)1 << bits));
		live[k] = must(malloc(size));
		sizes[k] = size;
		live[k][0] = 1;
		live[k][size - 1] = (unsigned char)bits;
	}
	for (size_t k = 0; k < LIVE; k++)
		free(live[k]);
	return NULL;
}

static uint64_t mixed(void)
{
	pthread_t th[2];
	mixed_arg args[2] = {{11, 0}, {12, 0}};
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, mixed_worker, &args[i]);
	uint64_t sum = 0;
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		sum += args[i].sum;
	}
	return sum;
}

/* ---- realloc ------------------------------------------------------------------------------------------------ */

static uint64_t realloc_growth(void)
{
	uint64_t s = 5, sum = 0;
	enum { N = 500 };
	for (int round = 0; round < 30 * scale; round++) {
		char *bufs[N];
		size_t lens[N];
		for (int i = 0; i < N; i++) {
			bufs[i] = NULL;
			lens[i] = 0;
		}
		for (int step = 0; step < 400; step++) {
			for (int i = 0; i < N; i++) {
				size_t add =
				    1 + rnd(&s) % (i % 50 == 0 ? 4000 : 40); /* a few grow to hundreds of KiB */
				bufs[i] = must(realloc(bufs[i], lens[i] + add));
				memset(bufs[i] + lens[i], 'a' + (int)(add % 26), add);
				lens[i] += add;
			}
		}
		for (int i = 0; i < N; i++) {
			sum += (unsigned char)bufs[i][lens[i] / 2];
			free(bufs[i]);
		}
	}
	return sum;
}

/* ---- frag ------------------------------------------------------------------------------------------------------- */

static uint64_t frag(void)
{
	uint64_t s = 9, sum = 0;
	size_t n = 1500000;
	unsigned char **objs = must(malloc(n * sizeof(*objs)));
	for (int round = 0; round < scale; round++) {
		for (size_t i = 0; i < n; i++) {
			size_t size = 16 + rnd(&s) % 240;
			objs[i] = must(malloc(size));
			objs[i][0] = (unsigned char)size;
		}
		size_t kept = 0;
		for (size_t i = 0; i < n; i++) {
			if (rnd(&s) % 20) {
				sum += objs[i][0];
				free(objs[i]);
			} else {
				objs[kept++] = objs[i];
			}
		}
		/* The holes, now reused by objects of other sizes. */
		size_t m = 60000;
		unsigned char **more = must(malloc(m * sizeof(*more)));
		for (size_t i = 0; i < m; i++) {
			size_t size = 300 + rnd(&s) % 1700;
			more[i] = must(malloc(size));
			memset(more[i], 1, size);
		}
		for (size_t i = 0; i < m; i++)
			free(more[i]);
		free(more);
		for (size_t i = 0; i < kept; i++) {
			sum += objs[i][0];
			free(objs[i]);
		}
	}
	free(objs);
	return sum;
}

/* ---- large ------------------------------------------------------------------------------------------------------- */

static uint64_t large(void)
{
	uint64_t s = 13, sum = 0;
	enum { HELD = 4 };
	unsigned char *held[HELD] = {0};
	for (int i = 0; i < 400 * scale; i++) {
		size_t k = (size_t)(rnd(&s) % HELD);
		free(held[k]);
		size_t size = ((size_t)5 << 20) + (size_t)(rnd(&s) % ((size_t)20 << 20));
		held[k] = must(malloc(size));
		for (size_t off = 0; off < size; off += 4096 * 8) /* touch every eighth page */
			held[k][off] = (unsigned char)(off >> 15);
		sum += held[k][(size / 2) & ~(size_t)(4096 * 8 - 1)];
	}
	for (int k = 0; k < HELD; k++)
		free(held[k]);
	return sum;
}

/* ---- falseshare --------------------------------------------------------------------------------------------------- */

enum { FS_OBJECTS = 64 };
static _Atomic(unsigned char *) fs_handoff[2][FS_OBJECTS];

typedef struct fs_arg {
	int id;
	uint64_t sum;
} fs_arg;

static void *fs_worker(void *p)
{
	fs_arg *a = (fs_arg *)p;
	for (int round = 0; round < 400 * scale; round++) {
		/* Objects the other thread allocated: free them, allocate our own, write them hard. */
		unsigned char *mine[FS_OBJECTS];
		for (int i = 0; i < FS_OBJECTS; i++) {
			unsigned char *o;
			while (!(o = atomic_exchange(&fs_handoff[a->id][i], NULL)))
				sched_yield();
			free(o);
			mine[i] = must(malloc(8));
			memset(mine[i], 0, 8);
		}
		for (int w = 0; w < 100000; w++)
			for (int i = 0; i < FS_OBJECTS; i += 8)
				mine[i][w & 7]++;
		for (int i = 0; i < FS_OBJECTS; i++) {
			a->sum += mine[i][0];
			atomic_store(&fs_handoff[1 - a->id][i], mine[i]);
		}
	}
	return NULL;
}

static uint64_t falseshare(void)
{
	/* The main thread allocates the first objects in one run, so that neighbours go to both. */
	for (int i = 0; i < FS_OBJECTS; i++)
		for (int t = 0; t < 2; t++)
			atomic_store(&fs_handoff[t][i], (unsigned char *)must(calloc(1, 8)));
	pthread_t th[2];
	fs_arg args[2] = {{0, 0}, {1, 0}};
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, fs_worker, &args[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	for (int t = 0; t < 2; t++)
		for (int i = 0; i < FS_OBJECTS; i++)
			free(atomic_exchange(&fs_handoff[t][i], NULL));
	return (args[0].sum + args[1].sum) % 1000003;
}

/* ---- main ----------------------------------------------------------------------------------------------------------- */

static const struct {
	const char *name;
	uint64_t (*run)(void);
} workloads[] = {
    {"churn", churn}, {"larson", larson}, {"prodcons", prodcons},     {"mixed", mixed},     {"realloc", realloc_growth},
    {"frag", frag},   {"large", large},   {"falseshare", falseshare}, {"scatter", scatter},
};

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: workloads <name> [scale]\n");
		return 2;
	}
	if (argc > 2)
		scale = atoi(argv[2]) > 0 ? atoi(argv[2]) : 1;
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++)
		if (strcmp(workloads[i].name, argv[1]) == 0) {
			printf("%s %llu\n", argv[1], (unsigned long long)workloads[i].run());
			return 0;
		}
	fprintf(stderr, "unknown workload %s\n", argv[1]);
	return 2;
}

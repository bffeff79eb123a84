// SPDX-License-Identifier: MIT
/*
 * test_threads.c - several threads on one instance: lock-free fixed pools (with and without the
 * bitmap), and the built-in lock and user lock callbacks on a fixed pool, a TLSF instance and a
 * heap. Each thread stamps the blocks it holds with its id and a counter and checks the stamp
 * before it frees them, so a block handed to two threads at once is found. Run under
 * ThreadSanitizer by `make test-tsan`.
 */
#define _GNU_SOURCE /* pthread barriers under -std=c11 */
#include <pthread.h>
#include <stdatomic.h>

#include "../src/observe.h"
#include "check.h"

#define THREADS 4
#define HELD 48

static _Alignas(64) unsigned char arena[1 << 22];

typedef enum target_kind { FIXED, TLSF, HEAP } target_kind;

typedef struct shared {
	target_kind kind;
	void *instance;
	size_t block; /* fixed: the block size */
	int iterations;
	int failures; /* stamp mismatches, under the result mutex */
	pthread_mutex_t result;
	pthread_barrier_t start;
} shared;

typedef struct worker {
	shared *s;
	unsigned id;
} worker;

static void *take(shared *s, size_t size)
{
	switch (s->kind) {
	case FIXED: return mm_fixed_alloc((mm_fixed_t)s->instance);
	case TLSF: return mm_malloc((mm_t)s->instance, size);
	default: return mm_heap_malloc((mm_heap_t)s->instance, size);
	}
}

static void give(shared *s, void *p)
{
	switch (s->kind) {
	case FIXED: mm_fixed_free((mm_fixed_t)s->instance, p); break;
	case TLSF: mm_free((mm_t)s->instance, p); break;
	default: mm_heap_free((mm_heap_t)s->instance, p); break;
	}
}

static void stamp(unsigned char *p, size_t n, unsigned id, unsigned counter)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(id * 31 + counter + i);
}

static int stamped(const unsigned char *p, size_t n, unsigned id, unsigned counter)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(id * 31 + counter + i))
			return 0;
	return 1;
}

static void *work(void *arg)
{
	worker *w = (worker *)arg;
	shared *s = w->s;
	void *held[HELD] = {0};
	size_t size[HELD] = {0};
	unsigned counter[HELD] = {0};
	rng g = {w->id * 7919u + 1};
	int bad = 0;
	pthread_barrier_wait(&s->start); /* all at once */
	for (int i = 0; i < s->iterations; i++) {
		/* The first HELD steps fill every slot, and nobody frees before all have: together the
		 * threads ask for more than a small pool has. Then slots are freed and refilled at random. */
		if (i == HELD)
			pthread_barrier_wait(&s->start); /* every thread has asked for its HELD blocks */
		size_t k = i < HELD ? (size_t)i : (size_t)(rng_next(&g) % HELD);
		if (held[k]) {
			bad += !stamped(held[k], size[k], w->id, counter[k]);
			give(s, held[k]);
			held[k] = NULL;
		} else {
			size_t n = s->kind == FIXED ? s->block : rng_range(&g, 1, rng_next(&g) % 8 ? 256 : 4000);
			unsigned char *p = take(s, n);
			if (p) {
				held[k] = p;
				size[k] = n < 64 ? n : 64; /* stamp the start: enough to see sharing */
				counter[k] = (unsigned)i;
				stamp(p, size[k], w->id, counter[k]);
			}
		}
	}
	for (size_t k = 0; k < HELD; k++)
		if (held[k]) {
			bad += !stamped(held[k], size[k], w->id, counter[k]);
			give(s, held[k]);
		}
	pthread_mutex_lock(&s->result);
	s->failures += bad;
	pthread_mutex_unlock(&s->result);
	return NULL;
}

static void run(shared *s)
{
	pthread_t t[THREADS];
	worker w[THREADS];
	pthread_mutex_init(&s->result, NULL);
	pthread_barrier_init(&s->start, NULL, THREADS);
	s->failures = 0;
	for (unsigned i = 0; i < THREADS; i++) {
		w[i].s = s;
		w[i].id = i + 1;
		CHECK(pthread_create(&t[i], NULL, work, &w[i]) == 0);
	}
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_mutex_destroy(&s->result);
	pthread_barrier_destroy(&s->start);
	CHECK_MSG(s->failures == 0, "%d blocks were changed by another thread", s->failures);
	/* Everything freed: the counters balance. */
	mm_stats st;
	CHECK(mm_get_stats(s->instance, &st) && st.blocks_in_use == 0 && st.in_use == 0 && st.allocs == st.frees);
}

/* A watcher reads a lock-free pool's figures while the workers run: always within capacity. */
typedef struct watch {
	mm_fixed_t pool;
	atomic_int stop;
	int bad;
} watch;

static void *watcher(void *arg)
{
	watch *w = (watch *)arg;
	size_t cap = mm_fixed_capacity(w->pool);
	while (!atomic_load(&w->stop)) {
		mm_stats st;
		if (mm_fixed_available(w->pool) > cap || !mm_get_stats(w->pool, &st) || st.in_use > st.capacity ||
		    st.blocks_in_use > cap)
			w->bad++;
	}
	return NULL;
}

/* The configuration functions from several threads at once: each gets the sequential answer. */
typedef struct config_job {
	size_t expect;
	int wrong;
} config_job;

static void *configure(void *arg)
{
	config_job *j = (config_job *)arg;
	mm_heap_workload w[40];
	for (size_t i = 0; i < 40; i++)
		w[i] = (mm_heap_workload){16 + 24 * i, 1 + i % 7};
	for (int k = 0; k < 300; k++) {
		mm_heap_config c;
		if (mm_heap_required_size(w, 40, &c) != j->expect)
			j->wrong++;
	}
	return NULL;
}

static void user_lock(void *m) { pthread_mutex_lock((pthread_mutex_t *)m); }
static void user_unlock(void *m) { pthread_mutex_unlock((pthread_mutex_t *)m); }

int main(void)
{
	int iterations = 60000;
	/* Lock-free fixed pools, with and without the bitmap, tight enough that threads contend for the
	 * last blocks. */
	unsigned lf_modes[] = {MM_FIXED_LOCKFREE | MM_FIXED_UNCHECKED, MM_FIXED_LOCKFREE};
	for (int m = 0; m < 2; m++) {
		size_t count = THREADS * HELD / 2; /* the threads hold about half their slots: often dry */
		mm_fixed_t p = mm_fixed_create(arena, mm_fixed_size(count, 64, 0, lf_modes[m]), 64, 0, lf_modes[m]);
		CHECK(p != NULL);
		recorded_errors rec;
		record_errors(p, &rec);
		shared s = {.kind = FIXED, .instance = p, .block = 64, .iterations = iterations};
		watch wt = {.pool = p};
		atomic_init(&wt.stop, 0);
		pthread_t wid;
		CHECK(pthread_create(&wid, NULL, watcher, &wt) == 0);
		run(&s);
		atomic_store(&wt.stop, 1);
		pthread_join(wid, NULL);
		CHECK(wt.bad == 0);
		CHECK(mm_fixed_available(p) == count && mm_fixed_validate(p) && rec.count == 0);
		mm_stats st;
		CHECK(mm_get_stats(p, &st) && st.failures > 0); /* the pool did run dry: the threads asked for
		                                                   THREADS * HELD blocks at the start */
	}
	/* The built-in lock on each kind of instance. */
	mm_fixed_t fp = mm_fixed_create(arena, mm_fixed_size(THREADS * HELD, 64, 0, 0), 64, 0, 0);
	CHECK(mm_use_builtin_lock(fp));
	shared s1 = {.kind = FIXED, .instance = fp, .block = 64, .iterations = iterations};
	run(&s1);
	CHECK(mm_fixed_validate(fp));

	mm_t tl = mm_create_with_pool(arena, sizeof(arena));
	CHECK(mm_use_builtin_lock(tl));
	shared s2 = {.kind = TLSF, .instance = tl, .iterations = iterations};
	run(&s2);
	CHECK(mm_validate(tl));

	mm_heap_config cfg;
	CHECK(mm_heap_preset(MM_HEAP_PRESET_NETWORKING, sizeof(arena), &cfg));
	mm_heap_t hp = mm_heap_create(arena, sizeof(arena), &cfg);
	CHECK(hp && mm_use_builtin_lock(hp));
	shared s3 = {.kind = HEAP, .instance = hp, .iterations = iterations};
	run(&s3);
	CHECK(mm_heap_validate(hp));

	/* User lock callbacks (an RTOS mutex, here a pthread one). */
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	mm_t tl2 = mm_create_with_pool(arena, sizeof(arena));
	CHECK(mm_set_lock(tl2, user_lock, user_unlock, &m));
	shared s4 = {.kind = TLSF, .instance = tl2, .iterations = iterations};
	run(&s4);
	CHECK(mm_validate(tl2));

	mm_heap_workload w[40];
	for (size_t i = 0; i < 40; i++)
		w[i] = (mm_heap_workload){16 + 24 * i, 1 + i % 7};
	mm_heap_config c;
	config_job jobs[THREADS];
	pthread_t tid[THREADS];
	for (int t = 0; t < THREADS; t++) {
		jobs[t] = (config_job){mm_heap_required_size(w, 40, &c), 0};
		CHECK(jobs[t].expect > 0 && pthread_create(&tid[t], NULL, configure, &jobs[t]) == 0);
	}
	for (int t = 0; t < THREADS; t++) {
		pthread_join(tid[t], NULL);
		CHECK(jobs[t].wrong == 0);
	}
	return check_summary("test_threads");
}

// SPDX-License-Identifier: MIT
/*
 * test_cycles.c - cycle tracking on every kind of instance. Built twice: against a library with
 * MM_CYCLES=1 (the timings are checked exactly with a counter that advances by a known amount) and
 * against the default library (tracking must say it is not there).
 */
#define _DEFAULT_SOURCE
#include <unistd.h>

#include "../src/observe.h"
#include "check.h"

static _Alignas(64) unsigned char arena[1 << 20];

/* A counter that advances by *step each time it is read: each operation reads it twice, so it
 * measures exactly *step. */
static uint64_t fake_now;
static uint64_t fake_counter(void *user)
{
	fake_now += *(uint64_t *)user;
	return fake_now;
}

static void exact_timings(void *instance, void *(*alloc)(void *), void (*release)(void *, void *))
{
	uint64_t step = 100;
	CHECK(mm_set_cycle_counter(instance, fake_counter, &step));
	CHECK(mm_track_cycles(instance, 1));
	void *p[10];
	for (int i = 0; i < 10; i++) {
		step = 100 * (uint64_t)(i + 1); /* 100, 200, ... 1000 */
		p[i] = alloc(instance);
	}
	step = 5;
	for (int i = 0; i < 10; i++)
		release(instance, p[i]);
	mm_timing t;
	CHECK(mm_get_timing(instance, MM_OP_MALLOC, &t));
	CHECK(t.count == 10 && t.min == 100 && t.max == 1000 && t.total == 5500);
	/* 100..127 -> bucket 6, 200..255 -> 7, 300..500 -> 8, 600..1000 -> 9 */
	CHECK(t.histogram[6] == 1 && t.histogram[7] == 1 && t.histogram[8] == 3 && t.histogram[9] == 5);
	CHECK(mm_get_timing(instance, MM_OP_FREE, &t) && t.count == 10 && t.min == 5 && t.max == 5);
	CHECK(t.histogram[2] == 10);
	CHECK(mm_get_timing(instance, MM_OP_REALLOC, &t) && t.count == 0 && t.min == 0);
	CHECK(!mm_get_timing(instance, MM_OP_COUNT, &t));
	/* Switched off, nothing more is recorded; the stats reset clears the timings. */
	CHECK(mm_track_cycles(instance, 0));
	release(instance, alloc(instance));
	CHECK(mm_get_timing(instance, MM_OP_MALLOC, &t) && t.count == 10);
	mm_reset_stats(instance);
	CHECK(mm_get_timing(instance, MM_OP_MALLOC, &t) && t.count == 0 && t.total == 0);
	/* The built-in counter: real readings, every operation counted. */
	CHECK(mm_set_cycle_counter(instance, NULL, NULL) && mm_track_cycles(instance, 1));
	for (int i = 0; i < 100; i++)
		release(instance, alloc(instance));
	CHECK(mm_get_timing(instance, MM_OP_MALLOC, &t) && t.count == 100 && t.min <= t.max);
	uint64_t in_buckets = 0;
	for (int k = 0; k < MM_TIMING_BUCKETS; k++)
		in_buckets += t.histogram[k];
	CHECK(in_buckets == 100 && t.total >= t.max);
	mm_track_cycles(instance, 0);
}

static void *tlsf_alloc(void *i) { return mm_malloc((mm_t)i, 100); }
static void tlsf_release(void *i, void *p) { mm_free((mm_t)i, p); }
static void *fixed_alloc(void *i) { return mm_fixed_alloc((mm_fixed_t)i); }
static void fixed_release(void *i, void *p) { mm_fixed_free((mm_fixed_t)i, p); }
static void *heap_alloc(void *i) { return mm_heap_malloc((mm_heap_t)i, 100); }
static void heap_release(void *i, void *p) { mm_heap_free((mm_heap_t)i, p); }

int main(void)
{
	CHECK(mm_cycle_source() != NULL && strlen(mm_cycle_source()) > 10);
	uint64_t a = mm_cycles_now(), b = mm_cycles_now();
	CHECK(b >= a);
	mm_t tl = mm_create_with_pool(arena, sizeof(arena));
#if MM_CYCLES
	exact_timings(tl, tlsf_alloc, tlsf_release);
	mm_fixed_t fp = mm_fixed_create(arena, mm_fixed_size(16, 64, 0, 0), 64, 0, 0);
	exact_timings(fp, fixed_alloc, fixed_release);
	mm_heap_config c;
	CHECK(mm_heap_preset(MM_HEAP_PRESET_AUDIO, sizeof(arena), &c));
	mm_heap_t hp = mm_heap_create(arena, sizeof(arena), &c);
	exact_timings(hp, heap_alloc, heap_release);
	/* mm_print shows the timings. */
	FILE *f = tmpfile();
	mm_print(hp, f);
	long n = ftell(f);
	rewind(f);
	char text[4096] = {0};
	size_t got = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	CHECK(n > 0 && got > 0 && strstr(text, "malloc") && strstr(text, "class  0:") && strstr(text, "remainder:"));
#else
	/* Not compiled in: nothing to switch on, nothing to read. */
	mm_timing t;
	CHECK(!mm_track_cycles(tl, 1) && !mm_set_cycle_counter(tl, NULL, NULL) && !mm_get_timing(tl, MM_OP_MALLOC, &t));
	(void)exact_timings;
	(void)tlsf_alloc;
	(void)tlsf_release;
	(void)fixed_alloc;
	(void)fixed_release;
	(void)heap_alloc;
	(void)heap_release;
#endif
	return check_summary("test_cycles");
}

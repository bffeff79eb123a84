// SPDX-License-Identifier: MIT
/*
 * test_heap_config.c - presets, suggestions from a workload and from a trace, trace parsing errors,
 * and a round trip: a program's allocations recorded with mm_trace_record, a configuration suggested
 * from the recording, and the same program run again on a heap of that configuration without one
 * failed allocation.
 */
#include "../src/tlsf_internal.h"
#include "check.h"

static _Alignas(64) unsigned char arena[1 << 23];
static _Alignas(64) unsigned char scratch[1 << 20];

/* n rounded up to mm_align_size(): a class's block size. */
static size_t up(size_t n) { return (n + mm_align_size() - 1) / mm_align_size() * mm_align_size(); }

/* ---- Presets -------------------------------------------------------------------------------------- */

static void test_presets(void)
{
	const mm_heap_preset_kind kinds[] = {MM_HEAP_PRESET_AUDIO, MM_HEAP_PRESET_ROBOTICS, MM_HEAP_PRESET_NETWORKING,
	                                     MM_HEAP_PRESET_EMBEDDED};
	const size_t buffers[] = {1 << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20, 1 << 23};
	for (size_t k = 0; k < 4; k++) {
		int fitted = 0;
		for (size_t b = 0; b < sizeof(buffers) / sizeof(buffers[0]); b++) {
			mm_heap_config c;
			if (!mm_heap_preset(kinds[k], buffers[b], &c))
				continue;
			fitted++;
			size_t need = mm_heap_size(&c);
			CHECK_MSG(need > 0 && need <= buffers[b], "preset %zu in %zu bytes needs %zu", k, buffers[b],
			          need);
			/* Most of the buffer is used: the counts scale with it. */
			CHECK_MSG(need > buffers[b] / 10 * 9, "preset %zu uses %zu of %zu bytes", k, need, buffers[b]);
			mm_heap_t h = mm_heap_create(arena, buffers[b], &c);
			CHECK(h != NULL && mm_heap_validate(h));
			/* Every class serves its size. */
			for (size_t i = 0; i < c.n_classes; i++) {
				void *p = mm_heap_malloc(h, c.classes[i].size);
				CHECK(p != NULL && mm_heap_block_size(h, p) >= c.classes[i].size);
			}
			CHECK((c.remainder > 0) == (kinds[k] != MM_HEAP_PRESET_EMBEDDED));
		}
		CHECK_MSG(fitted >= 3, "preset %zu fitted %d buffers", k, fitted);
	}
	/* The embedded preset fits a few KiB; the others need room for a remainder's control. */
	mm_heap_config c;
	CHECK(mm_heap_preset(MM_HEAP_PRESET_EMBEDDED, 4096, &c) && c.n_classes == 4);
	CHECK(!mm_heap_preset(MM_HEAP_PRESET_AUDIO, 4096, &c));
	CHECK(!mm_heap_preset((mm_heap_preset_kind)99, 1 << 20, &c));
	CHECK(!mm_heap_preset(MM_HEAP_PRESET_EMBEDDED, 100, &c));
}

/* ---- Suggestions from a workload ------------------------------------------------------------------ */

static void test_suggest(void)
{
	mm_heap_workload w[] = {{24, 100}, {40, 50}, {100, 10}, {1000, 4}, {50000, 2}};
	mm_heap_config c;
	CHECK(mm_heap_suggest_config(w, 5, 0, &c));
	CHECK(c.n_classes == 4 && c.remainder >= 2 * 50000);
	CHECK(c.classes[0].size == up(24) && c.classes[0].count == 100 && c.classes[3].size == up(1000));
	CHECK(c.fallback == (MM_HEAP_FALLBACK_LARGER | MM_HEAP_FALLBACK_REMAINDER));
	/* The suggestion serves its workload. */
	mm_heap_t h = mm_heap_create(arena, mm_heap_size(&c), &c);
	for (size_t i = 0; i < 5; i++)
		for (size_t k = 0; k < w[i].count; k++)
			CHECK(mm_heap_malloc(h, w[i].size) != NULL);
	/* More sizes than classes: merged by least waste, every size served, counts kept. */
	mm_heap_workload many[40];
	size_t total = 0;
	for (size_t i = 0; i < 40; i++) {
		many[i] = (mm_heap_workload){16 + 16 * i * i, 1 + i % 5};
		total += many[i].count;
	}
	CHECK(mm_heap_suggest_config(many, 40, 1 << 20, &c) && c.n_classes == MM_HEAP_MAX_CLASSES);
	size_t counted = 0;
	for (size_t i = 0; i < c.n_classes; i++)
		counted += c.classes[i].count;
	CHECK(counted == total && c.classes[c.n_classes - 1].size >= many[39].size && c.remainder == 0);
	CHECK(!mm_heap_suggest_config(NULL, 1, 0, &c) && !mm_heap_suggest_config(w, 0, 0, &c));
	mm_heap_workload zero[] = {{0, 1}};
	CHECK(!mm_heap_suggest_config(zero, 1, 0, &c));
	/* Large requests whose total does not fit in size_t: refused, not wrapped. */
	size_t big = (SIZE_MAX / 8) / (100000 + 64) - 1;
	mm_heap_workload huge[20];
	for (size_t i = 0; i < 20; i++)
		huge[i] = (mm_heap_workload){100000, big};
	CHECK(!mm_heap_suggest_config(huge, 20, 0, &c));
	/* 128 lines at most. */
	mm_heap_workload lines[129];
	for (size_t i = 0; i < 129; i++)
		lines[i] = (mm_heap_workload){16 * (i + 1), 1};
	CHECK(mm_heap_suggest_config(lines, 128, 0, &c) && !mm_heap_suggest_config(lines, 129, 0, &c));
	CHECK(mm_heap_required_size(lines, 128, &c) && !mm_heap_required_size(lines, 129, &c));
}

/* ---- Traces --------------------------------------------------------------------------------------- */

typedef struct text {
	char buf[1 << 20];
	size_t len;
} text;

static void append(void *user, const char *s, size_t n)
{
	text *t = (text *)user;
	if (t->len + n <= sizeof(t->buf)) {
		memcpy(t->buf + t->len, s, n);
		t->len += n;
	}
}

static int suggest(const char *trace, mm_heap_config *c, size_t *line)
{
	return mm_heap_suggest_from_trace(trace, strlen(trace), 0, scratch, sizeof(scratch), c, line);
}

static void test_trace_parsing(void)
{
	mm_heap_config c;
	size_t line = 99;
	/* 20 blocks of 100 and one of 2000 at most: two classes (merging would waste far more than a
	 * class costs). Comments, blank lines, spaces and 0x are fine. */
	static char t1[4096];
	size_t n1 = 0;
	n1 += (size_t)snprintf(t1 + n1, sizeof(t1) - n1, "# a comment\n\n");
	for (int i = 1; i <= 20; i++)
		n1 += (size_t)snprintf(t1 + n1, sizeof(t1) - n1, "a %x 100\n", i);
	n1 += (size_t)snprintf(t1 + n1, sizeof(t1) - n1, "f 1\na 15 100\n  a 0x40 2000  \nf 2\n");
	CHECK(suggest(t1, &c, &line));
	CHECK(c.n_classes == 2 && c.classes[0].size == up(100) && c.classes[0].count == 20 && c.classes[1].count == 1);
	/* Two sizes in one class: the class gets their joint peak, not the sum of peaks. */
	CHECK(suggest("a 1 100\nf 1\na 2 100\na 3 100\nf 2\nf 3\na 4 104\n", &c, &line));
	CHECK(c.n_classes == 1 && c.classes[0].size == up(104) && c.classes[0].count == 2);
	/* Large requests go to the remainder: a quarter more than their peak bytes. */
	CHECK(suggest("a 1 100000\na 2 100000\nf 1\n", &c, &line) && c.n_classes == 0);
	CHECK(c.remainder >= 200000 + 50000 + 200000 && (c.fallback & MM_HEAP_FALLBACK_REMAINDER));
	/* Failed allocations (id 0) are skipped. */
	CHECK(suggest("a 0 100\na 5 50\n", &c, &line) && c.n_classes == 1 && c.classes[0].count == 1);
	/* Errors name the line. */
	const char *bad[] = {"a 1 100\nx 2\n", "a 1 100\nf 2\n",
	                     "a 1\n",          "a 1 100\na 1 100\n",
	                     "a zz 10\n",      "f\n",
	                     "a 1 100 7\n",    "a 1 99999999999999999999999\n"};
	const size_t bad_line[] = {2, 2, 1, 2, 1, 1, 1, 1};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		line = 0;
		CHECK_MSG(!suggest(bad[i], &c, &line) && line == bad_line[i], "bad trace %zu: line %zu", i, line);
	}
	line = 5;
	CHECK(!suggest("# nothing\n", &c, &line) && line == 0); /* no allocation */
	/* Scratch too small for the live table. */
	size_t small = mm_heap_trace_scratch_size(2, 0);
	CHECK(small > 0 && mm_heap_trace_scratch_size(100, 0) > small);
	static char many[1 << 16];
	size_t n = 0;
	for (int i = 1; i <= 100; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "a %x 64\n", i);
	CHECK(!mm_heap_suggest_from_trace(many, n, 0, scratch, small, &c, &line) && line == 0);
	CHECK(mm_heap_suggest_from_trace(many, n, 0, scratch, mm_heap_trace_scratch_size(100, 0), &c, &line));
	CHECK(c.n_classes == 1 && c.classes[0].count == 100);
	CHECK(!mm_heap_suggest_from_trace(many, n, 0, NULL, 4096, &c, &line));
}

/* A program's allocation pattern: messages of many sizes in a rolling window, some resized, and a
 * few large buffers. */
static void program(void *instance, int is_heap, uint64_t seed)
{
	void *live[300] = {0};
	rng g = {seed};
	for (int step = 0; step < 20000; step++) {
		size_t k = (size_t)(rng_next(&g) % 300);
		if (live[k]) {
			if (rng_next(&g) % 4 == 0) {
				size_t n = 8 + (size_t)(rng_next(&g) % 600);
				void *p = is_heap ? mm_heap_realloc((mm_heap_t)instance, live[k], n)
				                  : mm_realloc((mm_t)instance, live[k], n);
				CHECK_MSG(p != NULL, "realloc %zu failed at step %d", n, step);
				if (p)
					live[k] = p;
				continue;
			}
			if (is_heap)
				mm_heap_free((mm_heap_t)instance, live[k]);
			else
				mm_free((mm_t)instance, live[k]);
			live[k] = NULL;
		} else {
			size_t n = rng_next(&g) % 50 ? 8 + (size_t)(rng_next(&g) % 600)
			                             : 20000 + (size_t)(rng_next(&g) % 20000);
			void *p = is_heap ? mm_heap_malloc((mm_heap_t)instance, n) : mm_malloc((mm_t)instance, n);
			CHECK_MSG(p != NULL, "malloc %zu failed at step %d", n, step);
			live[k] = p;
		}
	}
}

static void round_trip(uint64_t seed);

static void test_round_trip(void)
{
	for (uint64_t seed = 1; seed <= 8; seed++)
		round_trip(seed);
}

static void round_trip(uint64_t seed)
{
	/* Record the program on a TLSF instance. */
	static text rec;
	rec.len = 0;
	mm_t mm = mm_create_with_pool(arena, sizeof(arena));
	mm_trace_record(mm, append, &rec);
	program(mm, 0, seed);
	CHECK(rec.len > 0 && rec.len < sizeof(rec.buf));
	mm_set_hooks(mm, NULL, NULL, NULL);
	/* Suggest from it, create that heap, run the same program: no failure. */
	mm_heap_config c;
	size_t line = 0;
	CHECK(mm_heap_suggest_from_trace(rec.buf, rec.len, 0, scratch, sizeof(scratch), &c, &line));
	CHECK(c.n_classes >= 4 && c.remainder > 0);
	size_t need = mm_heap_size(&c);
	CHECK(need > 0 && need < sizeof(arena));
	mm_heap_t h = mm_heap_create(arena, need, &c);
	CHECK(h != NULL);
	int before = check_failures;
	program(h, 1, seed);
	CHECK(check_failures == before && mm_heap_validate(h));
	/* Recording a heap works the same way. */
	static text again_buf;
	text *again = &again_buf;
	again->len = 0;
	mm_trace_record(h, append, again);
	void *p = mm_heap_malloc(h, 10);
	mm_heap_free(h, p);
	char expect[64];
	int n = snprintf(expect, sizeof(expect), "a %lx 10\nf %lx\n", (unsigned long)(uintptr_t)p,
	                 (unsigned long)(uintptr_t)p);
	CHECK(again->len == (size_t)n && memcmp(again->buf, expect, (size_t)n) == 0);
	mm_set_hooks(h, NULL, NULL, NULL);
}

int main(void)
{
	test_presets();
	test_suggest();
	test_trace_parsing();
	test_round_trip();
	return check_summary("test_heap_config");
}

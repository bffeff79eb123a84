// SPDX-License-Identifier: MIT
/*
 * selftest.c - memoman's lower layer tested on bare metal: a TLSF instance, fixed pools and a heap
 * on static buffers sized for the board, every misuse checked for its exact error, a randomized run
 * against a shadow model, statistics, and the worst cycles per operation from the board's cycle
 * counter (the DWT on a Cortex-M4).
 *
 * No C library beyond memcpy/memset; output and exit status go through semihosting (semihost.h).
 * Prints one line per phase and "N passed, N failed"; main() returns 0 only when all passed.
 * Built with -DSELFTEST_CORE_ONLY=1 it tests the TLSF core alone (tlsf.c, tlsf_compat.c,
 * observe.c linked, fixed.c, heap.c and heap_config.c not).
 * Run with the argument "unaligned" (QEMU: -semihosting-config ...,arg=unaligned), it ends with an
 * unaligned word load on purpose, to show that the trap is on: the board reports a HardFault.
 */
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "memoman.h"
#include "semihost.h"

#ifndef SELFTEST_CORE_ONLY
#define SELFTEST_CORE_ONLY 0
#endif

/* ---- Sizes for the board ------------------------------------------------------------------------- */

#if defined(__ARM_ARCH_6M__) /* Cortex-M0: 16 KiB of RAM for everything */
#define TLSF_BYTES (5 * 1024)
#define FIXED_BYTES 1024
#define HEAP_BYTES (3 * 1024)
#define SLOTS 24
#define STEPS 3000
#define MAX_REQUEST 600
#define MAX_ALIGN 256
#define SIZES_LIMIT 300
#define FIXED_MAX 64
#else /* Cortex-M4 */
#define TLSF_BYTES (64 * 1024)
#define FIXED_BYTES (8 * 1024)
#define HEAP_BYTES (16 * 1024)
#define SLOTS 128
#define STEPS 6000
#define MAX_REQUEST 2048
#define MAX_ALIGN 4096
#define SIZES_LIMIT 4096
#define FIXED_MAX 512
#endif

/* The buffers: aligned to 8, which is mm_align_size() on 32-bit ARM (ARM's ABI aligns 64-bit
 * integers to 8) and what every constructor asks for. */
static _Alignas(8) unsigned char tlsf_buf[TLSF_BYTES];
static _Alignas(8) unsigned char foreign[64];
#if !SELFTEST_CORE_ONLY
static _Alignas(8) unsigned char fixed_buf[FIXED_BYTES];
static _Alignas(8) unsigned char heap_buf[HEAP_BYTES];
#endif

/* ---- Checks ----------------------------------------------------------------------------------------- */

static int passed, failed;

#define CHECK(cond) check((cond) != 0, #cond, __LINE__)

static int check(int ok, const char *what, int line)
{
	if (ok)
		passed++;
	else {
		failed++;
		sh_printf("    FAILED (selftest.c:%d): %s\n", line, what);
	}
	return ok;
}

/* The error handler records what it is told; expect() checks that exactly one error was reported. */
typedef struct recorder {
	int count;
	mm_error_t last;
	const void *ptr;
} recorder;

static void on_error(void *instance, mm_error_t error, const void *ptr, void *user)
{
	(void)instance;
	recorder *r = (recorder *)user;
	r->count++;
	r->last = error;
	r->ptr = ptr;
}

static void expect_at(recorder *r, mm_error_t want, const void *ptr, const char *what, int line)
{
	int ok = r->count == 1 && r->last == want && r->ptr == ptr;
	if (!check(ok, what, line))
		sh_printf("      expected one \"%s\" at %p, got %d error(s), the last \"%s\" at %p\n",
		          mm_error_string(want), ptr, r->count, mm_error_string(r->last), r->ptr);
	r->count = 0;
	r->last = MM_OK;
	r->ptr = NULL;
}
#define EXPECT(r, want, ptr, what) expect_at((r), (want), (ptr), (what), __LINE__)

static void expect_error_at(mm_error_t got, mm_error_t want, const char *what, int line)
{
	if (!check(got == want, what, line))
		sh_printf("      expected \"%s\", got \"%s\"\n", mm_error_string(want), mm_error_string(got));
}
#define EXPECT_ERROR(got, want) expect_error_at((got), (want), #got, __LINE__)

static int aligned(const void *p, size_t a) { return ((uintptr_t)p & (a - 1)) == 0; }

static int inside(const void *p, size_t n, const void *buf, size_t bytes)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)buf;
	return a >= b && a + n <= b + bytes;
}

static void fill(void *p, size_t n, unsigned seed)
{
	unsigned char *b = (unsigned char *)p;
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(seed + i * 31u);
}

static int intact(const void *p, size_t n, unsigned seed)
{
	const unsigned char *b = (const unsigned char *)p;
	for (size_t i = 0; i < n; i++)
		if (b[i] != (unsigned char)(seed + i * 31u))
			return 0;
	return 1;
}

/* xorshift32: the randomized run's generator, seeded with a fixed value so that runs repeat. */
static uint32_t rng_state = 2463534242u;
static uint32_t rng(void)
{
	uint32_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return rng_state = x;
}

static void phase(const char *name) { sh_printf("%-28s", name); }

static int phase_failed_before;
static void phase_end(void)
{
	sh_printf("%s (%d checks so far)\n", failed > phase_failed_before ? "FAILED" : "ok", passed + failed);
	phase_failed_before = failed;
}

/* ---- TLSF: constructors ----------------------------------------------------------------------------- */

static mm_t tlsf_create(recorder *rec)
{
	phase("tlsf: constructor errors");
	EXPECT_ERROR(mm_create_error(NULL, sizeof(tlsf_buf)), MM_ERR_BAD_ARGUMENT);
	EXPECT_ERROR(mm_create_error(tlsf_buf + 2, sizeof(tlsf_buf) - 2), MM_ERR_MISALIGNED);
	EXPECT_ERROR(mm_create_error(tlsf_buf, 64), MM_ERR_TOO_SMALL);
	EXPECT_ERROR(mm_create_error(tlsf_buf, mm_size()), MM_ERR_TOO_SMALL);
	EXPECT_ERROR(mm_create_error((void *)(uintptr_t)0xFFFFF000u, 0x2000), MM_ERR_BAD_ARGUMENT);
	EXPECT_ERROR(mm_create_error(tlsf_buf, sizeof(tlsf_buf)), MM_OK);
	CHECK(mm_create_with_pool(tlsf_buf + 2, sizeof(tlsf_buf) - 2) == NULL);
	CHECK(mm_create_with_pool(tlsf_buf, 64) == NULL);
	mm_t mm = mm_create_with_pool(tlsf_buf, sizeof(tlsf_buf));
	CHECK(mm != NULL);
	if (mm) {
		mm_set_error_handler(mm, on_error, rec);
		CHECK(mm_validate(mm));
		CHECK(mm_get_pool(mm) != NULL);
	}
	phase_end();
	return mm;
}

/* ---- TLSF: sizes, realloc, memalign ------------------------------------------------------------------ */

/* Request sizes around the class boundaries; those above SIZES_LIMIT are left out on a small board. */
static const size_t all_sizes[] = {0,  1,  2,   3,   7,   8,   9,   15,  16,  17,  24,  31,  32,  33, 63,
                                   64, 65, 100, 127, 128, 129, 255, 256, 257, 500, 511, 512, 513, 600};
#define NSIZES_MAX (sizeof(all_sizes) / sizeof(all_sizes[0]))
static size_t sizes[NSIZES_MAX];
static size_t NSIZES;

static void tlsf_sizes(mm_t mm)
{
	phase("tlsf: malloc/free");
	NSIZES = 0;
	for (size_t i = 0; i < NSIZES_MAX; i++)
		if (all_sizes[i] <= SIZES_LIMIT)
			sizes[NSIZES++] = all_sizes[i];
	void *p[NSIZES_MAX];
	mm_stats s0, s;
	CHECK(mm_get_stats(mm, &s0));
	size_t asked = 0;
	for (size_t i = 0; i < NSIZES; i++) {
		p[i] = mm_malloc(mm, sizes[i]);
		CHECK(p[i] != NULL);
		if (!p[i])
			continue;
		CHECK(aligned(p[i], mm_align_size()));
		CHECK(mm_block_size(p[i]) >= (sizes[i] ? sizes[i] : 1));
		CHECK(inside(p[i], sizes[i], tlsf_buf, sizeof(tlsf_buf)));
		fill(p[i], sizes[i], (unsigned)i);
		asked += sizes[i];
	}
	CHECK(mm_validate(mm));
	CHECK(mm_get_stats(mm, &s));
	CHECK(s.blocks_in_use == NSIZES && s.allocs - s0.allocs == NSIZES && s.frees == s0.frees);
	CHECK(s.in_use >= asked + NSIZES * mm_alloc_overhead() && s.free == s.capacity - s.in_use);
	CHECK(s.peak_in_use >= s.in_use && s.capacity == s0.capacity && s.largest_free <= s.free);
	for (size_t i = 0; i < NSIZES; i += 2) { /* every other one: free blocks between live ones */
		mm_free(mm, p[i]);
		p[i] = NULL;
	}
	CHECK(mm_validate(mm));
	for (size_t i = 1; i < NSIZES; i += 2)
		CHECK(intact(p[i], sizes[i], (unsigned)i));
	phase_end();

	phase("tlsf: realloc");
	for (size_t i = 1; i < NSIZES; i += 2) { /* grow: in place or moved, contents kept */
		size_t n = sizes[i] * 2 + 8;
		void *q = mm_realloc(mm, p[i], n);
		CHECK(q != NULL);
		if (!q)
			continue;
		CHECK(intact(q, sizes[i], (unsigned)i) && mm_block_size(q) >= n && aligned(q, mm_align_size()));
		p[i] = q;
		fill(q, n, (unsigned)i + 100u);
	}
	CHECK(mm_validate(mm));
	for (size_t i = 1; i < NSIZES; i += 2) { /* shrink in place */
		size_t n = (sizes[i] * 2 + 8) / 3;
		void *q = mm_realloc(mm, p[i], n);
		CHECK(q == p[i] && intact(q, n, (unsigned)i + 100u));
	}
	CHECK(mm_validate(mm));
	CHECK(mm_realloc(mm, p[1], mm_block_size_max() + 1) == NULL); /* too large: block unchanged */
	CHECK(intact(p[1], (sizes[1] * 2 + 8) / 3, 101u));
	CHECK(mm_realloc(mm, p[1], 0) == NULL); /* size 0 frees */
	p[1] = NULL;
	CHECK(mm_validate(mm));
	phase_end();

	phase("tlsf: memalign");
	void *a[16];
	size_t na = 0;
	for (size_t align = 1; align <= MAX_ALIGN && na < 16; align <<= 1) {
		size_t n = align < 64 ? 24 : align / 2;
		void *q = mm_memalign(mm, align, n);
		CHECK(q != NULL && aligned(q, align) && mm_block_size(q) >= n);
		if (q) {
			fill(q, n, (unsigned)align);
			a[na++] = q;
		}
		CHECK(mm_validate(mm));
	}
	for (size_t i = 0; i < na; i++)
		mm_free(mm, a[i]);
	CHECK(mm_validate(mm));
	phase_end();

	phase("tlsf: statistics");
	for (size_t i = 0; i < NSIZES; i++)
		mm_free(mm, p[i]);
	CHECK(mm_validate(mm));
	CHECK(mm_get_stats(mm, &s));
	CHECK(s.in_use == 0 && s.blocks_in_use == 0 && s.allocs == s.frees);
	/* One free block: largest_free is the largest request it serves, its size less the header. */
	if (!CHECK(s.free == s.capacity && s.largest_free > 0 && s.free - s.largest_free <= mm_alloc_overhead() &&
	           s.fragmentation <= 1))
		sh_printf("      capacity %u free %u largest_free %u fragmentation %u\n", (unsigned)s.capacity,
		          (unsigned)s.free, (unsigned)s.largest_free, s.fragmentation);
	uint64_t failures = s.failures;
	CHECK(mm_malloc(mm, sizeof(tlsf_buf)) == NULL);        /* no room */
	CHECK(mm_malloc(mm, mm_block_size_max() + 1) == NULL); /* above every pool */
	volatile size_t huge = (size_t)-1;                     /* volatile: a deliberate huge request, not a mistake */
	CHECK(mm_malloc(mm, huge) == NULL);                    /* no wrap-around */
	CHECK(mm_get_stats(mm, &s) && s.failures >= failures + 1);
	void *q = mm_malloc(mm, 100);
	CHECK(q != NULL && mm_reset(mm) == 1 && mm_validate(mm));
	CHECK(mm_get_stats(mm, &s) && s.in_use == 0 && s.blocks_in_use == 0);
	phase_end();
}

/* ---- TLSF: misuse -------------------------------------------------------------------------------------- */

static void tlsf_misuse(mm_t mm, recorder *rec)
{
	phase("tlsf: misuse reported");
	unsigned char *a = mm_malloc(mm, 64);
	unsigned char *b = mm_malloc(mm, 64);
	unsigned char *c = mm_malloc(mm, 128);
	CHECK(a && b && c);
	mm_free(mm, a);
	CHECK(rec->count == 0);
	mm_free(mm, a);
	EXPECT(rec, MM_ERR_DOUBLE_FREE, a, "double free");
	mm_free(mm, foreign + 8);
	EXPECT(rec, MM_ERR_INVALID_POINTER, foreign + 8, "foreign pointer");
	static const unsigned char patterns[] = {0x00, 0xFF, 0xA5};
	for (size_t i = 0; i < sizeof(patterns); i++) {
		memset(c, patterns[i], 128);
		mm_free(mm, c + 16);
		EXPECT(rec, MM_ERR_INTERIOR_POINTER, c + 16, "interior pointer (free)");
		mm_free(mm, c + 1);
		EXPECT(rec, MM_ERR_INTERIOR_POINTER, c + 1, "misaligned interior pointer");
		CHECK(mm_realloc(mm, c + 64, 10) == NULL);
		EXPECT(rec, MM_ERR_INTERIOR_POINTER, c + 64, "interior pointer (realloc)");
	}
	CHECK(mm_memalign(mm, 3, 16) == NULL);
	EXPECT(rec, MM_ERR_BAD_ARGUMENT, NULL, "memalign(3)");
	CHECK(mm_memalign(mm, 0, 16) == NULL);
	CHECK(rec->count == 1 && rec->last == MM_ERR_BAD_ARGUMENT);
	rec->count = 0;
	EXPECT_ERROR(mm_last_error(mm), MM_ERR_BAD_ARGUMENT); /* the last one, then cleared */
	EXPECT_ERROR(mm_last_error(mm), MM_OK);
	mm_free(mm, NULL);
	CHECK(rec->count == 0);
	CHECK(mm_validate(mm)); /* refused, so nothing changed */
	memset(c, 0x5A, 128);
	mm_free(mm, c);
	mm_free(mm, b);
	CHECK(rec->count == 0 && mm_validate(mm));
	mm_stats s;
	CHECK(mm_get_stats(mm, &s) && s.blocks_in_use == 0 && s.in_use == 0);
	phase_end();
}

/* ---- Randomized run against a shadow model ------------------------------------------------------------ */

/* One allocator's entry points, so the run drives a TLSF instance and a heap alike. */
typedef struct target {
	const char *name;
	void *instance;
	const void *buf;
	size_t bytes;
	size_t max_request;
	void *(*alloc)(void *inst, size_t n);
	void *(*memalign)(void *inst, size_t align, size_t n);
	void *(*realloc)(void *inst, void *p, size_t n);
	void (*free)(void *inst, void *p);
	size_t (*usable)(void *inst, void *p);
	int (*validate)(void *inst);
} target;

static void *t_malloc(void *i, size_t n) { return mm_malloc((mm_t)i, n); }
static void *t_memalign(void *i, size_t a, size_t n) { return mm_memalign((mm_t)i, a, n); }
static void *t_realloc(void *i, void *p, size_t n) { return mm_realloc((mm_t)i, p, n); }
static void t_free(void *i, void *p) { mm_free((mm_t)i, p); }
static size_t t_usable(void *i, void *p)
{
	(void)i;
	return mm_block_size(p);
}
static int t_validate(void *i) { return mm_validate((mm_t)i); }

typedef struct slot {
	unsigned char *p;
	size_t size;
	unsigned seed;
} slot;

static slot slots[SLOTS];

/* Calls of each kind made, to hold the cycle tracking's counts against. */
static uint32_t calls[MM_OP_COUNT];

static size_t random_size(size_t max)
{
	uint32_t r = rng();
	switch (r & 3u) { /* mostly small, some medium, a few up to max */
	case 0:
	case 1: return (r >> 8) % 65u;
	case 2: return (r >> 8) % (max / 4 + 1);
	default: return (r >> 8) % (max + 1);
	}
}

static int overlaps_other(size_t self, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < SLOTS; i++)
		if (i != self && slots[i].p && p < slots[i].p + slots[i].size + (slots[i].size == 0) &&
		    slots[i].p < p + n + (n == 0))
			return 1;
	return 0;
}

/* A new block in slot i: aligned, usable, inside the buffer, overlapping no live block; filled. */
static void took(const target *t, size_t i, unsigned char *p, size_t n, size_t align)
{
	CHECK(aligned(p, align) && t->usable(t->instance, p) >= n && inside(p, n, t->buf, t->bytes));
	CHECK(!overlaps_other(i, p, n));
	slots[i].p = p;
	slots[i].size = n;
	slots[i].seed = rng() & 0xFFu;
	fill(p, n, slots[i].seed);
}

static void random_run(const target *t, int track)
{
	phase(t->name);
	mm_stats s0, s;
	CHECK(mm_get_stats(t->instance, &s0));
	memset(slots, 0, sizeof(slots));
	memset(calls, 0, sizeof(calls));
	uint32_t nulls = 0, live = 0, max_live = 0;
#if MM_CYCLES
	if (track) {
		CHECK(mm_set_cycle_counter(t->instance, board_cycles, NULL) == 1);
		CHECK(mm_track_cycles(t->instance, 1) == 1);
	}
#else
	if (track) /* not compiled in: the calls say so */
		CHECK(mm_track_cycles(t->instance, 1) == 0);
#endif
	for (uint32_t step = 0; step < STEPS; step++) {
		size_t i = rng() % SLOTS;
		slot *sl = &slots[i];
		uint32_t r = rng() % 100u;
		if (!sl->p) {
			size_t n = random_size(t->max_request);
			unsigned char *p;
			size_t align = mm_align_size();
			if (r < 70) {
				p = t->alloc(t->instance, n);
				calls[MM_OP_MALLOC]++;
			} else if (r < 85) {
				align = (size_t)8 << (rng() % 5u); /* 8 .. 128 */
				p = t->memalign(t->instance, align, n);
				calls[MM_OP_MEMALIGN]++;
			} else {
				p = t->realloc(t->instance, NULL, n);
				calls[MM_OP_REALLOC]++;
			}
			if (p) {
				took(t, i, p, n, align);
				live++;
			} else
				nulls++;
		} else {
			CHECK(intact(sl->p, sl->size, sl->seed));
			if (r < 50) {
				t->free(t->instance, sl->p);
				calls[MM_OP_FREE]++;
				sl->p = NULL;
				live--;
			} else {
				size_t n = random_size(t->max_request);
				unsigned char *q = t->realloc(t->instance, sl->p, n);
				calls[MM_OP_REALLOC]++;
				if (n == 0) {
					CHECK(q == NULL);
					sl->p = NULL;
					live--;
				} else if (!q) {
					nulls++;
					CHECK(intact(sl->p, sl->size, sl->seed)); /* a failed realloc leaves it */
				} else {
					size_t keep = n < sl->size ? n : sl->size;
					CHECK(intact(q, keep, sl->seed));
					took(t, i, q, n, mm_align_size());
				}
			}
		}
		if (live > max_live)
			max_live = live;
		if ((step & 255u) == 255u) {
			CHECK(t->validate(t->instance));
			CHECK(mm_get_stats(t->instance, &s) && s.blocks_in_use == s0.blocks_in_use + live);
		}
	}
	CHECK(t->validate(t->instance));
	CHECK(mm_get_stats(t->instance, &s));
	CHECK(s.blocks_in_use == live && s.allocs - s.frees == live);
	CHECK(s.failures - s0.failures == nulls);
	CHECK(s.peak_in_use >= s.in_use && s.free == s.capacity - s.in_use);
	for (size_t i = 0; i < SLOTS; i++)
		if (slots[i].p) {
			CHECK(intact(slots[i].p, slots[i].size, slots[i].seed));
			t->free(t->instance, slots[i].p);
			calls[MM_OP_FREE]++;
			slots[i].p = NULL;
		}
	CHECK(t->validate(t->instance));
	CHECK(mm_get_stats(t->instance, &s) && s.in_use == 0 && s.blocks_in_use == 0);
	if (track)
		mm_track_cycles(t->instance, 0);
	sh_printf("%s (%d checks so far; %d steps, %lu live at most, %lu NULL)\n",
	          failed > phase_failed_before ? "FAILED" : "ok", passed + failed, STEPS, (unsigned long)max_live,
	          (unsigned long)nulls);
	phase_failed_before = failed;

	if (!track)
		return;
#if !MM_CYCLES
	sh_printf("    cycles: not compiled in (MM_CYCLES=0 on this board)\n");
#else
	static const char *const names[MM_OP_COUNT] = {"malloc", "free", "realloc", "memalign", "calloc"};
	int runs = board_cycle_counter_runs();
	for (int op = 0; op < MM_OP_COUNT; op++) {
		mm_timing tm;
		if (!mm_get_timing(t->instance, (mm_op)op, &tm) || tm.count == 0)
			continue;
		CHECK(tm.count == calls[op]); /* every call timed once */
		if (runs)
			sh_printf("    %-9s %6lu calls  cycles min %4lu  mean %4lu  max %5lu\n", names[op],
			          (unsigned long)tm.count, (unsigned long)tm.min, (unsigned long)(tm.total / tm.count),
			          (unsigned long)tm.max);
	}
	if (!runs)
		sh_printf("    cycles: %s\n",
		          board_has_cycle_counter()
		              ? "DWT_CYCCNT does not count on this target (QEMU does not model it): "
		                "the timing was collected, every figure is 0"
		              : "this core has no cycle counter (Armv6-M): no figures");
#endif
}

#if !SELFTEST_CORE_ONLY
/* ---- Fixed pools ------------------------------------------------------------------------------------ */

#define FIXED_BLOCK 24

static void *fixed_ptrs[FIXED_MAX];

static void fixed_pools(recorder *rec)
{
	phase("fixed: constructor errors");
	size_t need = mm_fixed_size(16, FIXED_BLOCK, 0, 0);
	CHECK(need > 0 && need <= sizeof(fixed_buf));
	CHECK(mm_fixed_size(16, FIXED_BLOCK, 3, 0) == 0);
	CHECK(mm_fixed_size(0, FIXED_BLOCK, 0, 0) == 0);
	EXPECT_ERROR(mm_fixed_create_error(NULL, sizeof(fixed_buf), FIXED_BLOCK, 0, 0), MM_ERR_BAD_ARGUMENT);
	EXPECT_ERROR(mm_fixed_create_error(fixed_buf + 2, sizeof(fixed_buf) - 2, FIXED_BLOCK, 0, 0), MM_ERR_MISALIGNED);
	EXPECT_ERROR(mm_fixed_create_error(fixed_buf, 16, FIXED_BLOCK, 0, 0), MM_ERR_TOO_SMALL);
	EXPECT_ERROR(mm_fixed_create_error(fixed_buf, sizeof(fixed_buf), FIXED_BLOCK, 3, 0), MM_ERR_BAD_ARGUMENT);
	EXPECT_ERROR(
	    mm_fixed_create_error(fixed_buf, sizeof(fixed_buf), FIXED_BLOCK, 0, MM_FIXED_BITMAP | MM_FIXED_UNCHECKED),
	    MM_ERR_BAD_ARGUMENT);
	EXPECT_ERROR(mm_fixed_create_error(fixed_buf, sizeof(fixed_buf), FIXED_BLOCK, 0, 0x80u), MM_ERR_BAD_ARGUMENT);
	CHECK(mm_fixed_create(fixed_buf + 2, sizeof(fixed_buf) - 2, FIXED_BLOCK, 0, 0) == NULL);
	/* Lock-free pools need lock-free atomics: Armv7-M has them (32-bit), Armv6-M has none. */
	mm_error_t lf = mm_fixed_create_error(fixed_buf, sizeof(fixed_buf), FIXED_BLOCK, 0, MM_FIXED_LOCKFREE);
	CHECK(lf == MM_OK || lf == MM_ERR_BAD_ARGUMENT);
	if (lf == MM_ERR_BAD_ARGUMENT)
		CHECK(mm_fixed_create(fixed_buf, sizeof(fixed_buf), FIXED_BLOCK, 0, MM_FIXED_LOCKFREE) == NULL);
	phase_end();
	sh_printf("    MM_FIXED_LOCKFREE on this core: %s\n",
	          lf == MM_OK ? "available" : "refused (no lock-free atomics on this core): MM_ERR_BAD_ARGUMENT");
	if (lf == MM_OK) {
		phase("fixed: lock-free mode");
		mm_fixed_t p = mm_fixed_create(fixed_buf, sizeof(fixed_buf), FIXED_BLOCK, 0, MM_FIXED_LOCKFREE);
		CHECK(p != NULL);
		void *x = mm_fixed_alloc(p), *y = mm_fixed_alloc(p);
		CHECK(x && y && x != y);
		mm_fixed_free(p, x);
		mm_fixed_free(p, y);
		CHECK(mm_fixed_validate(p) && mm_fixed_available(p) == mm_fixed_capacity(p));
		mm_fixed_destroy(p);
		phase_end();
	}

	for (int mode = 0; mode < 2; mode++) {
		unsigned flags = mode ? MM_FIXED_UNCHECKED : 0;
		phase(mode ? "fixed: unchecked mode" : "fixed: checked mode");
		mm_fixed_t p = mm_fixed_create(fixed_buf, sizeof(fixed_buf), FIXED_BLOCK, 0, flags);
		CHECK(p != NULL);
		if (!p) {
			phase_end();
			continue;
		}
		mm_set_error_handler(p, on_error, rec);
		size_t cap = mm_fixed_capacity(p);
		CHECK(cap > 0 && cap <= FIXED_MAX && mm_fixed_available(p) == cap);
		CHECK(mm_fixed_block_size(p) >= FIXED_BLOCK);
		CHECK(mm_fixed_size(cap, FIXED_BLOCK, 0, flags) <= sizeof(fixed_buf));
		size_t n = 0;
		void *q;
		while (n < FIXED_MAX && (q = mm_fixed_alloc(p)) != NULL) {
			CHECK(aligned(q, mm_align_size()) && inside(q, FIXED_BLOCK, fixed_buf, sizeof(fixed_buf)));
			CHECK(mm_fixed_owns(p, q));
			fill(q, FIXED_BLOCK, (unsigned)n);
			fixed_ptrs[n++] = q;
		}
		CHECK(n == cap && mm_fixed_available(p) == 0);
		for (size_t i = 0; i < n; i++) /* no two blocks overlap: each still holds its own pattern */
			CHECK(intact(fixed_ptrs[i], FIXED_BLOCK, (unsigned)i));
		mm_stats s;
		CHECK(mm_get_stats(p, &s) && s.blocks_in_use == cap && s.failures == 1 && s.largest_free == 0);
		CHECK(mm_fixed_validate(p));
		if (!mode) { /* the checked default catches every misuse */
			void *a = fixed_ptrs[0];
			mm_fixed_free(p, a);
			CHECK(rec->count == 0);
			mm_fixed_free(p, a);
			EXPECT(rec, MM_ERR_DOUBLE_FREE, a, "fixed: double free");
			unsigned char *b = (unsigned char *)fixed_ptrs[1] + 4;
			mm_fixed_free(p, b);
			EXPECT(rec, MM_ERR_INTERIOR_POINTER, b, "fixed: interior pointer");
			mm_fixed_free(p, foreign);
			EXPECT(rec, MM_ERR_INVALID_POINTER, foreign, "fixed: foreign pointer");
			CHECK(!mm_fixed_owns(p, foreign) && !mm_fixed_owns(p, b));
			CHECK(mm_fixed_validate(p));
			fixed_ptrs[0] = mm_fixed_alloc(p);
			CHECK(fixed_ptrs[0] == a);
			fill(a, FIXED_BLOCK, 0);
		}
		for (size_t i = 0; i < n; i++) {
			CHECK(intact(fixed_ptrs[i], FIXED_BLOCK, (unsigned)i));
			mm_fixed_free(p, fixed_ptrs[i]);
		}
		CHECK(rec->count == 0 && mm_fixed_validate(p) && mm_fixed_available(p) == cap);
		CHECK(mm_get_stats(p, &s) && s.blocks_in_use == 0 && s.in_use == 0);
		if (!mode) { /* a block never handed out (after a reset, beyond the first) */
			mm_fixed_reset(p);
			void *first = mm_fixed_alloc(p);
			unsigned char *never = (unsigned char *)first + mm_fixed_block_size(p);
			CHECK(first != NULL && mm_fixed_owns(p, never));
			mm_fixed_free(p, never);
			EXPECT(rec, MM_ERR_INVALID_POINTER, never, "fixed: block never handed out");
			mm_fixed_free(p, first);
			CHECK(rec->count == 0 && mm_fixed_validate(p));
		}
		mm_fixed_destroy(p);
		phase_end();
	}
}

/* ---- Heap ----------------------------------------------------------------------------------------- */

static void *h_malloc(void *i, size_t n) { return mm_heap_malloc((mm_heap_t)i, n); }
static void *h_memalign(void *i, size_t a, size_t n) { return mm_heap_memalign((mm_heap_t)i, a, n); }
static void *h_realloc(void *i, void *p, size_t n) { return mm_heap_realloc((mm_heap_t)i, p, n); }
static void h_free(void *i, void *p) { mm_heap_free((mm_heap_t)i, p); }
static size_t h_usable(void *i, void *p) { return mm_heap_block_size((mm_heap_t)i, p); }
static int h_validate(void *i) { return mm_heap_validate((mm_heap_t)i); }

static mm_heap_t heap_tests(recorder *rec)
{
	phase("heap: preset and errors");
	EXPECT_ERROR(mm_heap_preset_error(MM_HEAP_PRESET_EMBEDDED, 64), MM_ERR_TOO_SMALL);
	EXPECT_ERROR(mm_heap_preset_error((mm_heap_preset_kind)99, sizeof(heap_buf)), MM_ERR_BAD_ARGUMENT);
	EXPECT_ERROR(mm_heap_preset_error(MM_HEAP_PRESET_EMBEDDED, sizeof(heap_buf)), MM_OK);
	mm_heap_config cfg;
	CHECK(mm_heap_preset(MM_HEAP_PRESET_EMBEDDED, sizeof(heap_buf), &cfg) == 1);
	size_t need = mm_heap_size(&cfg);
	CHECK(need > 0 && need <= sizeof(heap_buf));
	EXPECT_ERROR(mm_heap_create_error(NULL, sizeof(heap_buf), &cfg), MM_ERR_BAD_ARGUMENT);
	EXPECT_ERROR(mm_heap_create_error(heap_buf, sizeof(heap_buf), NULL), MM_ERR_BAD_ARGUMENT);
	EXPECT_ERROR(mm_heap_create_error(heap_buf + 2, sizeof(heap_buf) - 2, &cfg), MM_ERR_MISALIGNED);
	EXPECT_ERROR(mm_heap_create_error(heap_buf, need - 1, &cfg), MM_ERR_TOO_SMALL);
	mm_heap_config bad = cfg;
	bad.classes[1].size = bad.classes[0].size; /* sizes must increase */
	EXPECT_ERROR(mm_heap_create_error(heap_buf, sizeof(heap_buf), &bad), MM_ERR_BAD_CONFIG);
	CHECK(mm_heap_create(heap_buf, need - 1, &cfg) == NULL);
	mm_heap_t h = mm_heap_create(heap_buf, sizeof(heap_buf), &cfg);
	CHECK(h != NULL && mm_heap_validate(h));
	phase_end();
	sh_printf("    MM_HEAP_PRESET_EMBEDDED in %u bytes: needs %u; classes", (unsigned)sizeof(heap_buf),
	          (unsigned)need);
	for (size_t i = 0; i < cfg.n_classes; i++)
		sh_printf(" %ux%u", (unsigned)cfg.classes[i].count, (unsigned)cfg.classes[i].size);
	sh_printf(", remainder %u\n", (unsigned)cfg.remainder);
	if (!h)
		return NULL;
	mm_set_error_handler(h, on_error, rec);

	phase("heap: classes and misuse");
	size_t nc = mm_heap_class_count(h);
	CHECK(nc == cfg.n_classes);
	void *blk[MM_HEAP_MAX_CLASSES];
	for (size_t i = 0; i < nc; i++) {
		size_t n = cfg.classes[i].size;
		blk[i] = mm_heap_malloc(h, n);
		CHECK(blk[i] != NULL && mm_heap_block_size(h, blk[i]) >= n && aligned(blk[i], mm_align_size()));
		if (blk[i])
			fill(blk[i], n, (unsigned)i);
	}
	unsigned char *z = mm_heap_calloc(h, 3, 10);
	CHECK(z != NULL);
	if (z)
		for (int i = 0; i < 30; i++)
			CHECK(z[i] == 0);
	volatile size_t many = (size_t)-1 / 8;      /* volatile: a deliberate overflow, not a mistake */
	CHECK(mm_heap_calloc(h, many, 16) == NULL); /* count * size overflows */
	unsigned char *m = mm_heap_memalign(h, 32, 20);
	CHECK(m != NULL && aligned(m, 32));
	CHECK(mm_heap_memalign(h, 3, 8) == NULL);
	EXPECT(rec, MM_ERR_BAD_ARGUMENT, NULL, "heap: memalign(3)");
	/* realloc across classes keeps the contents */
	unsigned char *r = mm_heap_malloc(h, 10);
	CHECK(r != NULL);
	fill(r, 10, 7);
	unsigned char *r2 = mm_heap_realloc(h, r, cfg.classes[nc - 1].size);
	CHECK(r2 != NULL && intact(r2, 10, 7) && mm_heap_block_size(h, r2) >= cfg.classes[nc - 1].size);
	r = mm_heap_realloc(h, r2, 5);
	CHECK(r != NULL && intact(r, 5, 7));
	/* misuse */
	mm_heap_free(h, z);
	mm_heap_free(h, z);
	EXPECT(rec, MM_ERR_DOUBLE_FREE, z, "heap: double free");
	unsigned char *in = (unsigned char *)blk[nc - 1] + 8;
	mm_heap_free(h, in);
	EXPECT(rec, MM_ERR_INTERIOR_POINTER, in, "heap: interior pointer");
	mm_heap_free(h, foreign + 16);
	EXPECT(rec, MM_ERR_INVALID_POINTER, foreign + 16, "heap: foreign pointer");
	CHECK(mm_heap_realloc(h, in, 4) == NULL);
	EXPECT(rec, MM_ERR_INTERIOR_POINTER, in, "heap: realloc of an interior pointer");
	CHECK(mm_heap_validate(h));
	for (size_t i = 0; i < nc; i++) {
		CHECK(intact(blk[i], cfg.classes[i].size, (unsigned)i));
		mm_heap_free(h, blk[i]);
	}
	mm_heap_free(h, m);
	mm_heap_free(h, r);
	CHECK(rec->count == 0 && mm_heap_validate(h));
	mm_stats s;
	CHECK(mm_get_stats(h, &s) && s.in_use == 0 && s.blocks_in_use == 0 && s.allocs == s.frees);
	phase_end();

	phase("heap: exhaustion");
	/* The largest class has no fallback above it and there is no remainder: it runs out. */
	size_t big = cfg.classes[nc - 1].size, got = 0;
	uint64_t f0 = s.failures;
	while (got < cfg.classes[nc - 1].count + 1 && mm_heap_malloc(h, big))
		got++;
	CHECK(got == cfg.classes[nc - 1].count);
	CHECK(mm_heap_malloc(h, big + 1) == NULL); /* larger than every class, no remainder */
	mm_heap_class_stats cs;
	CHECK(mm_heap_get_class_stats(h, nc - 1, &cs) && cs.in_use == got && cs.exhausted >= 1);
	CHECK(mm_get_stats(h, &s) && s.failures == f0 + 2);
	mm_heap_reset(h);
	CHECK(mm_heap_validate(h) && mm_get_stats(h, &s) && s.blocks_in_use == 0);
	phase_end();
	return h;
}

/* The sizing guarantee: a heap of mm_heap_required_size bytes never fails its workload. */
static void heap_guarantee(void)
{
	phase("heap: sizing guarantee");
	mm_heap_workload w[] = {{24, 8}, {100, 4}};
	mm_heap_config cfg;
	size_t need = mm_heap_required_size(w, 2, &cfg);
	CHECK(need > 0 && need <= sizeof(heap_buf));
	mm_heap_t h = need && need <= sizeof(heap_buf) ? mm_heap_create(heap_buf, need, &cfg) : NULL;
	CHECK(h != NULL);
	if (h) {
		void *p[12];
		for (int round = 0; round < 50; round++) {
			/* 12 live blocks, sizes in a shuffled order: 8 of up to 24 bytes, 4 of up to 100 */
			int small = 0, large = 0;
			for (int i = 0; i < 12; i++) {
				int take_large = large < 4 && (small == 8 || (rng() & 1u));
				size_t n = take_large ? 25 + rng() % 76u : 1 + rng() % 24u;
				p[i] = mm_heap_malloc(h, n);
				CHECK(p[i] != NULL);
				if (take_large)
					large++;
				else
					small++;
			}
			for (int i = 0; i < 12; i++)
				mm_heap_free(h, p[i]);
		}
		CHECK(mm_heap_validate(h));
		sh_printf("ok (%d checks so far; %u bytes for {24 x 8, 100 x 4})\n", passed + failed, (unsigned)need);
		phase_failed_before = failed;
		mm_heap_destroy(h);
	} else
		phase_end();
}
#endif /* !SELFTEST_CORE_ONLY */

/* 1 if word is in the command line. (Not newlib's strstr: its Armv7-M build reads unaligned words,
 * which the trap turns into a HardFault.) */
static int has_word(const char *line, const char *word)
{
	for (; *line; line++) {
		size_t i = 0;
		while (word[i] && line[i] == word[i])
			i++;
		if (!word[i])
			return 1;
	}
	return 0;
}

/* ---- main ---------------------------------------------------------------------------------------------- */

int main(void)
{
	const char *args = sh_cmdline();
	sh_printf("memoman self-test on %s%s\n", board_name(), SELFTEST_CORE_ONLY ? ", TLSF core only" : "");
	sh_printf("  mm_size %u, align %u, block min %u max %u, unaligned accesses %s\n", (unsigned)mm_size(),
	          (unsigned)mm_align_size(), (unsigned)mm_block_size_min(), (unsigned)mm_block_size_max(),
	          board_unaligned_traps() ? "trap" : "allowed");
	sh_printf("  cycle counter: %s; mm_cycles_now() = %lu (%s)\n",
	          !board_has_cycle_counter()   ? "none on this core"
	          : board_cycle_counter_runs() ? "DWT_CYCCNT, counting"
	                                       : "DWT_CYCCNT enabled but it stays 0 (QEMU does not model it)",
	          (unsigned long)mm_cycles_now(), mm_cycle_source());
	CHECK(mm_cycles_now() == 0); /* bare metal: no built-in counter; install one */

	recorder rec = {0, MM_OK, NULL};
	mm_t mm = tlsf_create(&rec);
	if (mm) {
		tlsf_sizes(mm);
		tlsf_misuse(mm, &rec);
		target t = {"tlsf: randomized vs shadow",
		            mm,
		            tlsf_buf,
		            sizeof(tlsf_buf),
		            MAX_REQUEST,
		            t_malloc,
		            t_memalign,
		            t_realloc,
		            t_free,
		            t_usable,
		            t_validate};
		random_run(&t, 1);
		CHECK(rec.count == 0);
		mm_destroy(mm);
	}
#if !SELFTEST_CORE_ONLY
	fixed_pools(&rec);
	mm_heap_t h = heap_tests(&rec);
	if (h) {
		mm_heap_config cfg;
		(void)mm_heap_preset(MM_HEAP_PRESET_EMBEDDED, sizeof(heap_buf), &cfg);
		target t = {"heap: randomized vs shadow",
		            h,
		            heap_buf,
		            sizeof(heap_buf),
		            cfg.classes[cfg.n_classes - 1].size,
		            h_malloc,
		            h_memalign,
		            h_realloc,
		            h_free,
		            h_usable,
		            h_validate};
		random_run(&t, 1);
		CHECK(rec.count == 0);
		mm_heap_destroy(h);
	}
	heap_guarantee();
#endif
	sh_printf("stack: %u of %u bytes used at most\n", (unsigned)board_stack_used(), (unsigned)board_stack_size());

	if (has_word(args, "unaligned")) {
		sh_printf("now an unaligned word load, on purpose: this must fault\n");
		/* The address through a volatile, or gcc, seeing tlsf_buf + 1, would load byte by byte. */
		volatile uintptr_t addr = (uintptr_t)tlsf_buf + 1;
		uint32_t v = *(volatile uint32_t *)addr;
		sh_printf("no fault: read %lu\n", (unsigned long)v);
		return 1;
	}

	sh_printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

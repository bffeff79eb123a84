// SPDX-License-Identifier: MIT
/*
 * fuzz_heap.c - a libFuzzer target driving the composed heap and a fixed pool with operation
 * sequences.
 *
 * The input's first bytes choose a heap configuration (classes, counts, remainder, fallback, bitmap
 * mode); the rest is read as a program, one byte per operation followed by its arguments: malloc,
 * calloc (with overflowing products), memalign (any power of two, and non-powers), realloc, free,
 * double free (where the heap promises to catch it: bitmap classes, the remainder), interior and
 * foreign frees, reset, hooks switched on and off (the observed path and its gates), and the same
 * on a fixed pool in bitmap mode. After every operation the heap and the pool must validate, every
 * live block must keep its contents, no two live blocks may overlap, the statistics must count the
 * live blocks, and an error must be reported exactly for the misuse operations.
 *
 * Built with clang -fsanitize=fuzzer,address,undefined (make fuzz); fuzz/replay.c runs the same
 * function over the corpus in ordinary builds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_NAME "fuzz_heap"
#include "fuzz_common.h"

#include "memoman.h"

#define SLOTS 48
#define FIXED_SLOTS 16

static _Alignas(64) unsigned char arena[1 << 19];
static _Alignas(64) unsigned char pool_mem[1 << 13];

typedef struct state {
	input input;
	mm_heap_t h;
	mm_fixed_t pool;
	int bitmap;
	slot s[SLOTS];
	unsigned char *f[FIXED_SLOTS];
	int errors;
	mm_error_t last;
} state;

static void on_error(void *instance, mm_error_t e, const void *ptr, void *user)
{
	(void)instance;
	(void)ptr;
	state *st = (state *)user;
	st->errors++;
	st->last = e;
}

static void on_alloc(void *user, void *ptr, size_t size)
{
	(void)user;
	(void)ptr;
	(void)size;
}

static uint8_t byte(state *st) { return next_byte(&st->input); }

static size_t size_arg(state *st)
{
	uint8_t k = byte(st);
	switch (k % 8) {
	case 0: return 0;
	case 1: return SIZE_MAX - byte(st);
	case 2: return (size_t)PTRDIFF_MAX + 1;
	case 3: return (size_t)byte(st) << (byte(st) % 20);
	default: return ((size_t)byte(st) << 4 | byte(st) % 16) % 2048 + (k > 200 ? 3000 : 0);
	}
}

/* ---- The model ---------------------------------------------------------------------------------- */

static void check_new(state *st, size_t k, const unsigned char *p, size_t n, size_t align)
{
	if (((uintptr_t)p & (align - 1)) || ((uintptr_t)p & (mm_align_size() - 1)))
		FINDING("misaligned block");
	if (mm_heap_block_size(st->h, (void *)p) < n)
		FINDING("block smaller than asked");
	if (p < arena || p + n > arena + sizeof(arena))
		FINDING("block outside the buffer");
	for (size_t i = 0; i < SLOTS; i++) {
		const slot *o = &st->s[i];
		if (i == k || !o->p)
			continue;
		size_t a = n ? n : 1, b = o->size ? o->size : 1;
		if (p < o->p + b && o->p < p + a)
			FINDING("overlapping blocks");
	}
}

static void take(state *st, size_t k, unsigned char *p, size_t n, size_t align)
{
	slot *s = &st->s[k];
	if (s->p) {
		check_contents(s, s->size);
		mm_heap_free(st->h, s->p);
		s->p = NULL;
	}
	check_new(st, k, p, n, align);
	*s = (slot){p, n, byte(st)};
	fill(s);
}

static size_t live_blocks(const state *st)
{
	size_t n = 0;
	for (size_t i = 0; i < SLOTS; i++)
		n += st->s[i].p != NULL;
	return n;
}

/* Is p a block of the remainder (whose double frees the TLSF checks catch)? */
static int in_remainder(const state *st, const void *p)
{
	mm_t r = mm_heap_remainder(st->h);
	return r && mm_get_pool_for_ptr(r, p) != NULL;
}

/* ---- Operations --------------------------------------------------------------------------------- */

static void op(state *st)
{
	uint8_t kind = byte(st);
	size_t k = byte(st) % SLOTS;
	slot *s = &st->s[k];
	int errors_before = st->errors;
	int misuse = 0;
	switch (kind % 12) {
	case 0:
	case 1: { /* malloc */
		size_t n = size_arg(st);
		unsigned char *p = mm_heap_malloc(st->h, n);
		if (p)
			take(st, k, p, n, 1);
		break;
	}
	case 2: { /* calloc, sometimes overflowing */
		size_t a = size_arg(st) % 64, b = byte(st) < 32 ? SIZE_MAX / 2 : byte(st);
		unsigned char *p = mm_heap_calloc(st->h, a, b);
		if (p && b && a > SIZE_MAX / b)
			FINDING("calloc(%zu, %zu) served", a, b);
		if (p) {
			for (size_t i = 0; i < a * b; i++)
				if (p[i])
					FINDING("calloc block not zeroed");
			take(st, k, p, a * b, 1);
		}
		break;
	}
	case 3: { /* memalign */
		uint8_t ak = byte(st);
		size_t align = ak < 220 ? (size_t)1 << (ak % (sizeof(size_t) * 8)) : (size_t)ak * 3;
		size_t n = size_arg(st);
		unsigned char *p = mm_heap_memalign(st->h, align, n);
		if (p && (align & (align - 1)))
			FINDING("memalign with a bad alignment served");
		if (align & (align - 1)) { /* a bad argument: reported as such */
			if (st->errors != errors_before + 1 || st->last != MM_ERR_BAD_ARGUMENT)
				FINDING("memalign(%zu) not reported as a bad argument", align);
			misuse = 1;
		}
		if (p)
			take(st, k, p, n, align);
		break;
	}
	case 4:
	case 5: { /* realloc */
		size_t n = size_arg(st);
		if (s->p)
			check_contents(s, s->size);
		unsigned char *p = mm_heap_realloc(st->h, s->p, n);
		if (s->p && n == 0) {
			if (p)
				FINDING("realloc(p, 0) returned a block");
			s->p = NULL;
		} else if (p) {
			size_t keep = s->p ? (s->size < n ? s->size : n) : 0;
			slot moved = {p, keep, s->fill};
			check_contents(&moved, keep);
			s->p = NULL;
			check_new(st, k, p, n, 1);
			*s = (slot){p, n, byte(st)};
			fill(s);
		} else if (s->p) {
			check_contents(s, s->size);
		}
		break;
	}
	case 6: /* free, and a double free where the heap promises to catch it */
		if (s->p) {
			check_contents(s, s->size);
			int catchable = st->bitmap || in_remainder(st, s->p);
			mm_heap_free(st->h, s->p);
			if (catchable && byte(st) < 64) {
				mm_heap_free(st->h, s->p);
				misuse = 1;
				if (st->errors != errors_before + 1 || st->last != MM_ERR_DOUBLE_FREE)
					FINDING("double free not reported as such");
			}
			s->p = NULL;
		}
		break;
	case 7: /* an interior pointer: free, realloc and block_size refuse it */
		if (s->p && s->size >= 2 * mm_align_size()) {
			unsigned char *q = s->p + mm_align_size() * (1 + byte(st) % (s->size / mm_align_size() - 1));
			switch (byte(st) % 3) {
			case 0: mm_heap_free(st->h, q); break;
			case 1:
				if (mm_heap_realloc(st->h, q, 10))
					FINDING("realloc of an interior pointer served");
				break;
			default:
				if (mm_heap_block_size(st->h, q))
					FINDING("block_size of an interior pointer");
				break;
			}
			misuse = 1;
			if (st->errors != errors_before + 1 || st->last != MM_ERR_INTERIOR_POINTER)
				FINDING("an interior pointer was not reported as such");
		}
		break;
	case 8: { /* a foreign pointer */
		static unsigned char outside[64];
		mm_heap_free(st->h, outside + (byte(st) % 4) * 16);
		if (st->errors != errors_before + 1 || st->last != MM_ERR_INVALID_POINTER)
			FINDING("a foreign pointer was not reported");
		misuse = 1;
		break;
	}
	case 9: /* hooks on and off: the observed path, and the gates moving */
		mm_set_hooks(st->h, byte(st) & 1 ? on_alloc : NULL, NULL, NULL);
		break;
	case 10: /* reset, rarely */
		if (byte(st) < 8) {
			mm_heap_reset(st->h);
			memset(st->s, 0, sizeof(st->s));
		}
		break;
	case 11: { /* the fixed pool (bitmap mode): alloc, free, double, foreign and interior frees */
		size_t j = byte(st) % FIXED_SLOTS;
		uint8_t what = byte(st) % 4;
		if (what == 0 && !st->f[j]) {
			st->f[j] = mm_fixed_alloc(st->pool);
			if (st->f[j] && !mm_fixed_owns(st->pool, st->f[j]))
				FINDING("a fixed block the pool does not own");
		} else if (st->f[j]) {
			unsigned char *q = st->f[j];
			mm_fixed_free(st->pool, what == 3 ? q + 8 : q);
			if (what == 3) {
				misuse = 1;
				if (st->last != MM_ERR_INTERIOR_POINTER)
					FINDING("fixed: interior pointer not reported");
			} else {
				st->f[j] = NULL;
				if (what == 2) {
					mm_fixed_free(st->pool, q);
					misuse = 1;
					if (st->last != MM_ERR_DOUBLE_FREE)
						FINDING("fixed: double free not reported");
				}
			}
		} else {
			mm_fixed_free(st->pool, (void *)st);
			misuse = 1;
			if (st->last != MM_ERR_INVALID_POINTER)
				FINDING("fixed: foreign pointer not reported");
		}
		if (!mm_fixed_validate(st->pool))
			FINDING("fixed pool invalid");
		break;
	}
	}
	if (!misuse && st->errors != errors_before)
		FINDING("an error was reported for a valid operation: %s", mm_error_string(st->last));
	if (misuse && st->errors != errors_before + 1)
		FINDING("a misuse was reported %d times", st->errors - errors_before);
	if (!mm_heap_validate(st->h))
		FINDING("heap invalid after operation %u", kind % 12);
	mm_stats stats;
	if (!mm_get_stats(st->h, &stats) || stats.blocks_in_use != live_blocks(st))
		FINDING("statistics count %zu blocks, the model %zu", stats.blocks_in_use, live_blocks(st));
}

/* The configuration from the input's first bytes: 0..6 classes, each larger than the last. */
static int configure(state *st, mm_heap_config *c)
{
	memset(c, 0, sizeof(*c));
	c->n_classes = byte(st) % 7;
	size_t size = 0;
	for (size_t i = 0; i < c->n_classes; i++) {
		size += 1 + (size_t)byte(st) * 4;
		c->classes[i] = (mm_heap_class_config){size, 1 + byte(st) % 24};
	}
	uint8_t r = byte(st);
	c->remainder = r < 40 ? 0 : (size_t)r * 64;
	c->fallback = byte(st) % 4;
	st->bitmap = byte(st) % 2;
	c->flags = st->bitmap ? 0 : MM_FIXED_UNCHECKED; /* the checked default, or the opt-out */
	return mm_heap_size(c) != 0 && mm_heap_size(c) <= sizeof(arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static state st;
	memset(&st, 0, sizeof(st));
	st.input = (input){data, size};
	mm_heap_config c;
	if (!configure(&st, &c))
		return 0;
	/* Exactly the bytes it needs, or some more for the remainder. */
	size_t bytes = mm_heap_size(&c) + (byte(&st) % 2 ? (size_t)byte(&st) * 256 : 0);
	st.h = mm_heap_create(arena, bytes < sizeof(arena) ? bytes : sizeof(arena), &c);
	if (!st.h)
		FINDING("cannot create a heap for a valid configuration");
	if (mm_heap_create(arena, mm_heap_size(&c) - 1, &c) != NULL)
		FINDING("a heap created in too small a buffer");
	st.h = mm_heap_create(arena, bytes < sizeof(arena) ? bytes : sizeof(arena), &c);
	mm_set_error_handler(st.h, on_error, &st);
	st.pool = mm_fixed_create(pool_mem, sizeof(pool_mem), 24 + byte(&st) % 100, 0, MM_FIXED_BITMAP);
	if (!st.pool)
		FINDING("cannot create the fixed pool");
	mm_set_error_handler(st.pool, on_error, &st);
	while (st.input.left)
		op(&st);
	for (size_t i = 0; i < SLOTS; i++)
		if (st.s[i].p) {
			check_contents(&st.s[i], st.s[i].size);
			mm_heap_free(st.h, st.s[i].p);
		}
	mm_stats stats;
	if (!mm_heap_validate(st.h) || !mm_get_stats(st.h, &stats) || stats.blocks_in_use != 0)
		FINDING("heap invalid at the end");
	return 0;
}

// SPDX-License-Identifier: MIT
/*
 * fuzz_tlsf.c - a libFuzzer target driving the TLSF core with operation sequences.
 *
 * The input is read as a program: each operation is one byte (its kind) followed by its arguments.
 * Sizes come from a table of edge values (0, the minimum block, the largest request and just above
 * it, SIZE_MAX - k, PTRDIFF_MAX + 1) or from the input; alignments are any power of two up to 2^63
 * or a non-power; pools are added (good, misaligned, too small, overlapping) and removed; the heap is
 * reset; pointers are freed twice and foreign pointers are freed. After every operation the heap must
 * validate, every live block must keep its contents, and no two live blocks may overlap; an error
 * must be reported exactly for the misuse operations. Anything else aborts (a finding).
 *
 * Built with clang -fsanitize=fuzzer,address,undefined (make fuzz); fuzz/replay.c runs the same
 * function over the corpus in ordinary builds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_NAME "fuzz_tlsf"
#include "fuzz_common.h"

#include "../src/tlsf_internal.h"

#define SLOTS 64
#define EXTRA_POOLS 4

static _Alignas(64) unsigned char arena[1 << 19];
static _Alignas(64) unsigned char extra[EXTRA_POOLS][1 << 14];

typedef struct state {
	input input;
	mm_t mm;
	slot s[SLOTS];
	int errors;
	mm_error_t last;
} state;

static void on_error(void *mm, mm_error_t e, const void *ptr, void *user)
{
	(void)mm;
	(void)ptr;
	state *st = (state *)user;
	st->errors++;
	st->last = e;
}

static uint8_t byte(state *st) { return next_byte(&st->input); }

static size_t word(state *st)
{
	size_t v = 0;
	for (size_t i = 0; i < sizeof(size_t); i++)
		v = (v << 8) | byte(st);
	return v;
}

static size_t size_arg(state *st)
{
	uint8_t k = byte(st);
	switch (k % 16) {
	case 0: return 0;
	case 1: return mm_block_size_min();
	case 2: return mm_block_size_max();
	case 3: return mm_block_size_max() + 1;
	case 4: return SIZE_MAX - byte(st) * (size_t)16 - byte(st);
	case 5: return (size_t)PTRDIFF_MAX + 1;
	case 6: return word(st);
	case 7: return (size_t)byte(st) << (byte(st) % 24);
	default: return ((size_t)byte(st) << 8 | byte(st)) % 4096 + (k % 16 == 15 ? 60000 : 0);
	}
}

static size_t align_arg(state *st)
{
	uint8_t k = byte(st);
	if (k < 200)
		return (size_t)1 << (k % (sizeof(size_t) * 8));
	return (size_t)byte(st) * 3 + 1; /* mostly not a power of two */
}

/* ---- The model ---------------------------------------------------------------------------------- */

static void check_new(state *st, size_t k, const unsigned char *p, size_t n, size_t align)
{
	if (((uintptr_t)p & (align - 1)) || ((uintptr_t)p & (mm_align_size() - 1)))
		FINDING("misaligned block");
	if (mm_block_size((void *)p) < n || !mm_get_pool_for_ptr(st->mm, p))
		FINDING("block too small or outside the pools");
	for (size_t i = 0; i < SLOTS; i++) {
		const slot *o = &st->s[i];
		if (i == k || !o->p)
			continue;
		size_t a = n ? n : 1, b = o->size ? o->size : 1;
		if (p < o->p + b && o->p < p + a)
			FINDING("overlapping blocks");
	}
}

/* Does any live block belong to the pool with this handle? */
static int pool_busy(state *st, mm_pool_t pool)
{
	for (size_t i = 0; i < SLOTS; i++)
		if (st->s[i].p && mm_get_pool_for_ptr(st->mm, st->s[i].p) == pool)
			return 1;
	return 0;
}

static int too_large(size_t n) { return n > mm_block_size_max(); }

/* ---- Operations --------------------------------------------------------------------------------- */

static void op(state *st)
{
	uint8_t kind = byte(st);
	size_t k = byte(st) % SLOTS;
	slot *s = &st->s[k];
	int errors_before = st->errors;
	int misuse = 0;
	switch (kind % 10) {
	case 0:
	case 1: { /* malloc */
		size_t n = size_arg(st);
		unsigned char *p = mm_malloc(st->mm, n);
		if (p && too_large(n))
			FINDING("malloc(%zu) served", n);
		if (p) {
			if (s->p)
				mm_free(st->mm, s->p);
			check_new(st, k, p, n, 1);
			*s = (slot){p, n, byte(st)};
			fill(s);
		}
		break;
	}
	case 2: { /* memalign */
		size_t align = align_arg(st);
		size_t n = size_arg(st);
		unsigned char *p = mm_memalign(st->mm, align, n);
		if (p && (too_large(n) || (align & (align - 1)) || align > mm_block_size_max()))
			FINDING("memalign(%zu, %zu) served", align, n);
		if (align == 0 || (align & (align - 1))) { /* a bad argument: reported as such */
			if (st->errors != errors_before + 1 || st->last != MM_ERR_BAD_ARGUMENT)
				FINDING("memalign(%zu) not reported as a bad argument", align);
			misuse = 1;
		}
		if (p) {
			if (s->p)
				mm_free(st->mm, s->p);
			check_new(st, k, p, n, align);
			*s = (slot){p, n, byte(st)};
			fill(s);
		}
		break;
	}
	case 3:
	case 4: { /* realloc */
		size_t n = size_arg(st);
		if (s->p)
			check_contents(s, s->size);
		unsigned char *p = mm_realloc(st->mm, s->p, n);
		if (p && too_large(n))
			FINDING("realloc(%zu) served", n);
		if (s->p && n == 0) {
			if (p)
				FINDING("realloc(p, 0) returned a block");
			s->p = NULL;
		} else if (p) {
			if (s->p)
				check_contents(&(slot){p, s->size < n ? s->size : n, s->fill},
				               s->size < n ? s->size : n);
			check_new(st, k, p, n, 1);
			*s = (slot){p, n, byte(st)};
			fill(s);
		} else if (s->p) {
			check_contents(s, s->size);
		}
		break;
	}
	case 5: /* free, sometimes twice */
		if (s->p) {
			check_contents(s, s->size);
			mm_free(st->mm, s->p);
			if (byte(st) < 32) {
				mm_free(st->mm, s->p);
				misuse = 1;
				if (st->errors != errors_before + 1 || st->last != MM_ERR_DOUBLE_FREE)
					FINDING("double free not reported as such");
			}
			s->p = NULL;
		}
		break;
	case 6: { /* add a pool: good, misaligned, too small, or overlapping */
		size_t pool = k % EXTRA_POOLS;
		size_t offset = byte(st) % 4 == 0 ? byte(st) : 0;
		size_t bytes = byte(st) % 4 == 0 ? byte(st) : sizeof(extra[pool]) - offset;
		mm_pool_t got = mm_add_pool(st->mm, extra[pool] + offset, bytes);
		if (!got && st->errors == errors_before)
			FINDING("a refused pool was not reported");
		if (got && mm_get_pool_for_ptr(st->mm, extra[pool] + offset) != got)
			FINDING("an added pool is not found");
		misuse = !got;
		break;
	}
	case 7: { /* remove a pool */
		mm_pool_t pool = (mm_pool_t)extra[k % EXTRA_POOLS];
		int busy = pool_busy(st, pool);
		int ok = mm_remove_pool(st->mm, pool);
		if (ok && busy)
			FINDING("a pool with live blocks was removed");
		if (ok && mm_get_pool_for_ptr(st->mm, pool) != NULL)
			FINDING("a removed pool is still found");
		misuse = !ok;
		break;
	}
	case 8: /* reset, rarely */
		if (byte(st) < 16) {
			mm_reset(st->mm);
			memset(st->s, 0, sizeof(st->s));
		}
		break;
	case 9: { /* foreign pointers */
		static unsigned char outside[64];
		mm_free(st->mm, outside + (byte(st) % 4) * 16);
		if (st->errors != errors_before + 1 || st->last != MM_ERR_INVALID_POINTER)
			FINDING("a foreign pointer was not reported");
		misuse = 1;
		break;
	}
	}
	if (!misuse && st->errors != errors_before)
		FINDING("an error was reported for a valid operation: %s", mm_error_string(st->last));
	if (!mm_validate(st->mm))
		FINDING("heap invalid after operation %u", kind % 10);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static state st;
	memset(&st, 0, sizeof(st));
	st.input = (input){data, size};
	st.mm = mm_create_with_pool(arena, sizeof(arena));
	if (!st.mm)
		FINDING("cannot create the instance");
	mm_set_error_handler(st.mm, on_error, &st);
	while (st.input.left)
		op(&st);
	for (size_t i = 0; i < SLOTS; i++)
		if (st.s[i].p) {
			check_contents(&st.s[i], st.s[i].size);
			mm_free(st.mm, st.s[i].p);
		}
	if (!mm_validate(st.mm) || st.errors < 0)
		FINDING("heap invalid at the end");
	return 0;
}

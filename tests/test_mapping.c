// SPDX-License-Identifier: MIT
/*
 * test_mapping.c - the size-to-class mapping against an independent formula.
 *
 * The independent side computes classes the slow, obvious way: the linear row below 2^FL_SHIFT in
 * steps of the alignment, then for each power of two [2^k, 2^(k+1)) SL_COUNT equal steps, with k
 * found by a loop and the class bounds enumerated in a table. The library's branch-free formulas
 * (mm_class_insert, mm_class_search) must agree with it on a sweep of every stride up to 1 MiB and
 * on the neighbourhood of every class bound up to the largest block.
 */
#include "../src/tlsf_internal.h"
#include "check.h"

/* Lower bound (a stride) of every class, enumerated from the definition. */
static size_t bound[MM_CLASS_COUNT];

static void build_bounds(void)
{
	for (size_t sl = 0; sl < MM_SL_COUNT; sl++)
		bound[sl] = sl * MM_ALIGN;
	for (size_t fl = 1; fl < MM_FL_COUNT; fl++) {
		size_t base = (size_t)1 << (MM_FL_SHIFT + fl - 1);
		for (size_t sl = 0; sl < MM_SL_COUNT; sl++)
			bound[fl * MM_SL_COUNT + sl] = base + sl * (base / MM_SL_COUNT);
	}
}

/* The class holding a stride: the last class whose bound is <= stride (a linear search). */
static size_t slow_insert(size_t stride)
{
	size_t c = 0;
	while (c + 1 < MM_CLASS_COUNT && bound[c + 1] <= stride)
		c++;
	return c;
}

/* The first class whose bound is >= stride: every block filed there fits the stride. */
static size_t slow_search(size_t stride)
{
	size_t c = 0;
	while (bound[c] < stride)
		c++;
	return c;
}

static void check_stride(size_t s)
{
	size_t rounded = 0;
	size_t ins = mm_class_insert(s);
	size_t srch = mm_class_search(s, &rounded);
	size_t want_ins = slow_insert(s), want_srch = slow_search(s);
	CHECK_MSG(ins == want_ins, "insert(%zu) = %zu, want %zu", s, ins, want_ins);
	CHECK_MSG(srch == want_srch, "search(%zu) = %zu, want %zu", s, srch, want_srch);
	CHECK_MSG(rounded == bound[want_srch], "rounded(%zu) = %zu, want %zu", s, rounded, bound[want_srch]);
}

int main(void)
{
	build_bounds();
	/* The bounds are increasing, aligned, and the last one is the largest request stride. */
	for (size_t c = 1; c < MM_CLASS_COUNT; c++)
		CHECK(bound[c] > bound[c - 1] && bound[c] % MM_ALIGN == 0);
	CHECK(bound[MM_CLASS_COUNT - 1] == MM_REQ_STRIDE_MAX);
	CHECK(MM_BLOCK_MAX < ((size_t)1 << MM_FL_INDEX_MAX) && MM_BLOCK_MAX >= MM_REQ_STRIDE_MAX);
	CHECK(slow_insert(MM_BLOCK_MAX) == MM_CLASS_COUNT - 1);
	CHECK(mm_class_insert(MM_BLOCK_MAX) == MM_CLASS_COUNT - 1);

	/* Every stride up to 1 MiB (or the largest block). */
	size_t sweep = (size_t)1 << 20;
	if (sweep > MM_REQ_STRIDE_MAX)
		sweep = MM_REQ_STRIDE_MAX;
	for (size_t s = MM_MIN_STRIDE; s <= sweep; s += MM_ALIGN)
		check_stride(s);
	/* Around every class bound, all the way up. */
	for (size_t c = 0; c < MM_CLASS_COUNT; c++) {
		size_t b = bound[c];
		for (size_t d = 0; d <= 4 * MM_ALIGN; d += MM_ALIGN) {
			if (b >= d + MM_MIN_STRIDE)
				check_stride(b - d);
			if (b + d <= MM_REQ_STRIDE_MAX && b + d >= MM_MIN_STRIDE)
				check_stride(b + d);
		}
	}
	/* Insert classes beyond the largest request stride, up to the largest block. */
	for (size_t s = MM_BLOCK_MAX; s > MM_REQ_STRIDE_MAX; s -= (MM_BLOCK_MAX - MM_REQ_STRIDE_MAX) / 16 + MM_ALIGN)
		CHECK(mm_class_insert(s & ~MM_LOW_MASK) == MM_CLASS_COUNT - 1);

	/* The bit scans on their edges. */
	CHECK(mm_fls_size(1) == 0 && mm_fls_size(2) == 1 && mm_fls_size(3) == 1);
	CHECK(mm_fls_size(SIZE_MAX) == sizeof(size_t) * 8 - 1);
	CHECK(mm_fls_size((size_t)1 << (sizeof(size_t) * 8 - 1)) == sizeof(size_t) * 8 - 1);
	CHECK(mm_ffs32(1) == 0 && mm_ffs32(0x80000000u) == 31 && mm_ffs32(0x80008000u) == 15);
	for (unsigned i = 0; i < sizeof(size_t) * 8; i++) {
		CHECK(mm_fls_size((size_t)1 << i) == i);
		CHECK(mm_fls_size(((size_t)1 << i) | 1) == i);
	}
	for (unsigned i = 0; i < 32; i++)
		CHECK(mm_ffs32(0xFFFFFFFFu << i) == i);
	return check_summary("test_mapping");
}

// SPDX-License-Identifier: MIT
/*
 * test_validate.c - mm_validate catches every invariant broken on purpose.
 *
 * Each case builds the same small heap, checks it is valid, breaks one thing through the private
 * layout (tlsf_internal.h), checks that mm_validate, mm_check and (where the damage is physical)
 * mm_validate_pool see it, then repairs it and checks the heap is valid again. None of the cases
 * may crash the validator.
 */
#include "../src/tlsf_internal.h"
#include "check.h"

static _Alignas(64) unsigned char arena[1 << 16];
static mm_t mm;
/* u: used blocks, f: free blocks: u0 f0 u1 f1 u2 f2 u3 u4 tail (f1 and f2 in one class) */
static unsigned char *u[5], *f[3];

static mm_block *hdr(void *p) { return mm_block_from_ptr(p); }

/* The stored (sealed) form of a link to `to` in the word at `slot` (tlsf_internal.h). */
#define SEALED(slot, to) ((__typeof__(*(slot)))(mm_addr(to) ^ mm_link_code(mm, (slot))))

static void build(void)
{
	memset(arena, 0, sizeof(arena));
	mm = mm_create_with_pool(arena, sizeof(arena));
	u[0] = mm_malloc(mm, 100);
	f[0] = mm_malloc(mm, 200);
	u[1] = mm_malloc(mm, 100);
	f[1] = mm_malloc(mm, 300);
	u[2] = mm_malloc(mm, 100);
	f[2] = mm_malloc(mm, 300);
	u[3] = mm_malloc(mm, 100);
	u[4] = mm_malloc(mm, 100);
	for (int i = 0; i < 3; i++)
		mm_free(mm, f[i]);
	CHECK(mm_validate(mm) && mm_check(mm) == 0 && mm_validate_pool(mm_get_pool(mm)));
}

static void expect_invalid(const char *what, int physical)
{
	CHECK_MSG(!mm_validate(mm), "mm_validate missed: %s", what);
	CHECK_MSG(mm_check(mm) != 0, "mm_check missed: %s", what);
	if (physical)
		CHECK_MSG(!mm_validate_pool(mm_get_pool(mm)) && mm_check_pool(mm_get_pool(mm)) != 0,
		          "mm_validate_pool missed: %s", what);
}

static void expect_repaired(const char *what)
{
	CHECK_MSG(mm_validate(mm) && mm_validate_pool(mm_get_pool(mm)), "not valid after repairing: %s", what);
}

/* Swap a word in and out. */
#define BREAK(lvalue, value, what, physical)                                                                           \
	do {                                                                                                           \
		build();                                                                                               \
		__typeof__(lvalue) saved_ = (lvalue);                                                                  \
		(lvalue) = (value);                                                                                    \
		expect_invalid(what, physical);                                                                        \
		(lvalue) = saved_;                                                                                     \
		expect_repaired(what);                                                                                 \
	} while (0)

static void test_lists(void)
{
	/* Back-links (TLSF 3.1's tlsf_check never reads them). */
	BREAK(hdr(f[0])->prev_link, SEALED(&hdr(f[0])->prev_link, &hdr(u[0])->next_free),
	      "a back-link pointing elsewhere", 0);
	BREAK(hdr(f[2])->prev_link, SEALED(&hdr(f[2])->prev_link, NULL), "a NULL back-link", 0);
	build();
	/* f[2] was freed last: it heads the class list, f[1] follows. */
	CHECK(mm_next_free(mm, hdr(f[2])) == hdr(f[1]));
	BREAK(hdr(f[1])->prev_link, SEALED(&hdr(f[1])->prev_link, &mm->heads[0]), "a back-link to another list's head",
	      0);
	/* Cycles (TLSF 3.1's tlsf_check loops forever on these). */
	BREAK(hdr(f[1])->next_free, SEALED(&hdr(f[1])->next_free, hdr(f[2])), "a two-member cycle", 0);
	BREAK(hdr(f[1])->next_free, SEALED(&hdr(f[1])->next_free, hdr(f[1])), "a block linked to itself", 0);
	/* Members that are not free blocks. */
	BREAK(hdr(f[1])->next_free, SEALED(&hdr(f[1])->next_free, hdr(u[1])), "a used block in a free list", 0);
	BREAK(hdr(f[1])->next_free, SEALED(&hdr(f[1])->next_free, hdr(u[1] + 16)),
	      "a pointer into a used block in a free list", 0);
	BREAK(hdr(f[1])->next_free, SEALED(&hdr(f[1])->next_free, arena + 64), "the control structure in a free list",
	      0);
	BREAK(hdr(f[1])->next_free, SEALED(&hdr(f[1])->next_free, (void *)(uintptr_t)0x1000),
	      "a foreign address in a free list", 0);
	/* A free block in the wrong class. */
	build();
	{
		mm_block *b = hdr(f[0]);
		size_t right = mm_class_insert(mm_stride_of(b->size));
		size_t wrong = right + 3;
		mm->heads[right] = NULL; /* f[0] is alone in its class */
		mm->sl_bitmap[right >> MM_SL_LOG2] &= ~((mm_slmap)1 << (right & MM_SL_MASK));
		if (!mm->sl_bitmap[right >> MM_SL_LOG2])
			mm->fl_bitmap &= ~((uint32_t)1 << (right >> MM_SL_LOG2));
		mm->heads[wrong] = b;
		mm_set_prev_link(mm, b, &mm->heads[wrong]);
		mm->sl_bitmap[wrong >> MM_SL_LOG2] |= (mm_slmap)1 << (wrong & MM_SL_MASK);
		mm->fl_bitmap |= (uint32_t)1 << (wrong >> MM_SL_LOG2);
		expect_invalid("a block in the wrong class", 0);
	}
	/* A free block missing from every list (alone in its class: the list and its bits go, so that
	 * only the count of listed against walked free blocks can tell). */
	build();
	{
		mm_block *b = hdr(f[0]);
		size_t cls0 = mm_class_insert(mm_stride_of(b->size));
		CHECK(mm->heads[cls0] == b && mm_next_free(mm, b) == NULL);
		mm->heads[cls0] = NULL;
		mm->sl_bitmap[cls0 >> MM_SL_LOG2] &= ~((mm_slmap)1 << (cls0 & MM_SL_MASK));
		if (!mm->sl_bitmap[cls0 >> MM_SL_LOG2])
			mm->fl_bitmap &= ~((uint32_t)1 << (cls0 >> MM_SL_LOG2));
		expect_invalid("a free block in no list", 0);
	}
}

static void test_bitmaps(void)
{
	build();
	size_t cls = mm_class_insert(mm_stride_of(hdr(f[0])->size));
	size_t fl = cls >> MM_SL_LOG2, sl = cls & MM_SL_MASK;
	BREAK(mm->sl_bitmap[fl], mm->sl_bitmap[fl] & ~((mm_slmap)1 << sl), "a list without its second-level bit", 0);
	BREAK(mm->fl_bitmap, 0, "a first-level bitmap cleared", 0);
	BREAK(mm->fl_bitmap, mm->fl_bitmap | ((uint32_t)1 << (MM_FL_COUNT - 1)), "a first-level bit without lists", 0);
	BREAK(mm->sl_bitmap[MM_FL_COUNT - 1], 1u, "a second-level bit without a list", 0);
}

static void test_headers(void)
{
	/* 1-byte overflows from a used block into the next header (TLSF 3.1's tlsf_check misses them). */
	const unsigned char bytes[] = {0x41, 0x00, 0xFF, 0x01, 0x02, 0x04, 0x08, 0x10, 0x80};
	for (size_t i = 0; i < sizeof(bytes); i++) {
		for (int victim = 0; victim < 5;
		     victim++) { /* u3 overflows into used u4, the others into free blocks */
			build();
			unsigned char *over = launder(u[victim]);
			unsigned char *at = over + mm_block_size(over);
			unsigned char saved = *at;
			if (saved == bytes[i])
				continue;
			*at = bytes[i];
			CHECK_MSG(!mm_validate(mm), "1-byte overflow %02x after u%d missed", bytes[i], victim);
			CHECK_MSG(!mm_validate_pool(mm_get_pool(mm)), "pool check missed overflow %02x after u%d",
			          bytes[i], victim);
			*at = saved;
			expect_repaired("1-byte overflow");
		}
	}
	/* Other header damage. */
	BREAK(hdr(u[1])->size, hdr(u[1])->size + MM_ALIGN, "a used block's size grown", 1);
	BREAK(hdr(u[1])->size, hdr(u[1])->size - MM_ALIGN, "a used block's size shrunk", 1);
	BREAK(hdr(u[1])->size, hdr(u[1])->size | MM_FREE_BIT, "a used block marked free", 1);
	BREAK(hdr(u[0])->size, hdr(u[0])->size | MM_PREV_FREE_BIT, "a prev-free flag on the first block", 1);
	BREAK(hdr(u[4])->size, hdr(u[4])->size | MM_PREV_FREE_BIT, "a prev-free flag after a used block", 1);
	BREAK(hdr(u[1])->size, hdr(u[1])->size & ~MM_PREV_FREE_BIT, "a missing prev-free flag", 1);
	BREAK(hdr(u[1])->size, 0, "a zero size word", 1);
	BREAK(hdr(u[1])->size, SIZE_MAX, "an all-ones size word", 1);
	BREAK(hdr(f[1])->size, hdr(f[1])->size & ~MM_FREE_BIT, "a free block marked used", 1);
	BREAK(hdr(u[2])->prev_phys, hdr(u[0]), "a wrong prev_phys", 1);
	BREAK(hdr(u[0])->size, hdr(u[0])->size | MM_FREE_BIT, "two adjacent free blocks", 1);
	if (MM_SPARE_MASK)
		BREAK(hdr(u[3])->size, hdr(u[3])->size | (MM_SPARE_MASK & (0 - MM_SPARE_MASK)), "a spare bit set", 1);
	/* The sentinel and the pool record. */
	build();
	{
		mm_block *s = mm_block_at(mm_pool_end(&mm->pools[0]) - 2 * MM_W);
		BREAK(s->size, s->size | MM_FREE_BIT, "a free sentinel", 1);
		BREAK(s->size, s->size + MM_ALIGN * 4, "a sentinel with a size", 1);
		BREAK(mm->pools[0].span_r, mm->pools[0].span_r - 1, "a pool end that is not the sentinel", 0);
		BREAK(mm->pools[0].first, mm->pools[0].first + MM_ALIGN, "a pool's first block moved", 0);
		BREAK(mm->pool_count, MM_MAX_POOLS + 1, "a pool count out of range", 0);
		BREAK(hdr((void *)mm->pools[0].first)->prev_phys, NULL, "the pool's recorded end lost", 1);
	}
	/* A destroyed instance. */
	build();
	mm_destroy(mm);
	CHECK(!mm_validate(mm));
}

/* With MM_CHECKS == 2 a broken heap is reported by the periodic validation of an ordinary call. */
static int periodic_reports;
static void count_reports(void *h, mm_error_t e, const void *ptr, void *user)
{
	(void)h;
	(void)ptr;
	(void)user;
	if (e == MM_ERR_CORRUPTED_HEADER)
		periodic_reports++;
}

static void test_periodic(void)
{
#if MM_CHECKS >= 2
	build();
	mm_set_error_handler(mm, count_reports, NULL);
	hdr(f[1])->prev_link = NULL; /* not touched by the calls below, which use other classes */
	for (int i = 0; i < 2 * MM_VALIDATE_INTERVAL + 1; i++)
		mm_free(mm, mm_malloc(mm, 16));
	CHECK(periodic_reports >= 1);
#else
	(void)count_reports;
#endif
}

int main(void)
{
	test_lists();
	test_bitmaps();
	test_headers();
	test_periodic();
	return check_summary("test_validate");
}

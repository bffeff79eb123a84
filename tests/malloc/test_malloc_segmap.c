// SPDX-License-Identifier: MIT
/*
 * test_malloc_segmap.c - the segment map over the whole address space of 64-bit Linux, and the OS
 * page size, through the private header:
 *   - synthetic addresses at and above 2^47 (2^47, 2^47 + k segments, 2^48 - 4 MiB, 2^52 - 4 MiB,
 *     2^56 + k, 2^57 - 4 MiB) can be reserved, marked, read back and cleared, and a mark changes
 *     nothing at the same index of another leaf nor at the neighbouring segments; ranges across a
 *     leaf boundary get both leaves; addresses from 2^57 up are beyond the map: never ours, and
 *     cannot be reserved;
 *   - free() and malloc_usable_size() of addresses no one mapped there (MEMOMAN_ERRORS=report)
 *     are reported and refused without reading them;
 *   - a mapping the kernel places above 2^47 when asked with a hint (Linux with 5-level paging, or
 *     arm64 with 48-bit addresses) is recorded like any other; where the kernel ignores the hint
 *     that part says so and is skipped;
 *   - the map's byte of a segment of class pages is MM_MAP_SMALL (free() finds the page from
 *     the map and the address), that of a zone's, the large region's or a huge block's
 *     MM_MAP_SEGMENT, and blocks of each are freed through it;
 *   - the page size the allocator uses is the kernel's (getauxval(AT_PAGESZ), sysconf), blocks of
 *     every size range work, a block freed and reused is intact, and valloc/pvalloc align to it.
 * The address of a block and of an mmap are printed: on a real arm64 kernel both are above 2^47.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../src/malloc/malloc_internal.h"
#include "../../src/malloc/os/os.h"
#include "mcheck.h"
#include "names.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wfree-nonheap-object" /* the bad frees are the point */
#endif

#define SEG ((uintptr_t)MM_SEG_SIZE)

static void *volatile sink;

/* One synthetic segment: reserve, mark, read back, clear. */
static void one_segment(uintptr_t a)
{
	CHECK(mm_segmap_get(a) == MM_MAP_NONE);
	CHECK(mm_segmap_reserve(a, MM_SEG_SIZE));
	CHECK(mm_segmap_get(a) == MM_MAP_NONE); /* reserved is not ours yet */
	mm_segmap_mark(a, MM_MAP_SEGMENT);
	CHECK(mm_segmap_has(a) && mm_segmap_has(a + 16) && mm_segmap_has(a + SEG - 1));
	CHECK(!mm_segmap_has(a + SEG) && !mm_segmap_has(a - 1));
	mm_segmap_mark(a, MM_MAP_INTERIOR);
	CHECK(mm_segmap_get(a + 4096) == MM_MAP_INTERIOR && !mm_segmap_has(a));
#if MM_SEGMAP_TWO_LEVEL
	/* The same index in the neighbouring leaves (2 TiB away): untouched. */
	uintptr_t span = (uintptr_t)1 << (MM_SEG_SHIFT + MM_SEGMAP_LEAF_BITS);
	CHECK(mm_segmap_get(a + span) == MM_MAP_NONE);
	if (a >= span)
		CHECK(mm_segmap_get(a - span) == MM_MAP_NONE);
#endif
	mm_segmap_mark(a, MM_MAP_NONE);
	CHECK(mm_segmap_get(a) == MM_MAP_NONE);
}

static void synthetic(void)
{
#if UINTPTR_MAX > 0xFFFFFFFFu
	const uintptr_t b47 = (uintptr_t)1 << 47, b48 = (uintptr_t)1 << 48;
	const uintptr_t list[] = {
	    b47 - SEG,                            /* the last segment of 4-level x86-64 */
	    b47,                                  /* the first one above */
	    b47 + 3 * SEG,                        /* 2^47 + k */
	    b47 + 12345 * SEG,                    /* 2^47 + k, further */
	    b48 - SEG,                            /* the last of arm64's 48-bit space, where its mmaps go */
	    b48,                                  /* 5-level x86-64, 52-bit arm64 */
	    ((uintptr_t)1 << 52) - SEG,           /* the last of 52-bit arm64 and ppc64 */
	    ((uintptr_t)1 << 56) + 777 * SEG,     /* 5-level x86-64's upper half */
	    ((uintptr_t)1 << MM_ADDR_BITS) - SEG, /* the last segment the map covers */
	};
	for (size_t i = 0; i < sizeof(list) / sizeof(list[0]); i++)
		one_segment(list[i]);
	/* Two at once in one leaf, then a range across a leaf boundary: both leaves reserved. */
	mm_segmap_mark(b47 + 3 * SEG, MM_MAP_SEGMENT);
	CHECK(mm_segmap_reserve(b47 + 4 * SEG, MM_SEG_SIZE));
	mm_segmap_mark(b47 + 4 * SEG, MM_MAP_SEGMENT);
	CHECK(mm_segmap_has(b47 + 3 * SEG) && mm_segmap_has(b47 + 4 * SEG) && !mm_segmap_has(b47 + 5 * SEG));
	mm_segmap_mark(b47 + 3 * SEG, MM_MAP_NONE);
	mm_segmap_mark(b47 + 4 * SEG, MM_MAP_NONE);
	uintptr_t edge = ((uintptr_t)3 << 50) - SEG; /* 16 MiB across the boundary of two leaves */
	CHECK(mm_segmap_reserve(edge, 4 * MM_SEG_SIZE));
	for (uintptr_t a = edge; a < edge + 4 * SEG; a += SEG) {
		mm_segmap_mark(a, MM_MAP_INTERIOR);
		CHECK(mm_segmap_get(a) == MM_MAP_INTERIOR);
		mm_segmap_mark(a, MM_MAP_NONE);
	}
	/* Beyond the map: never ours, and nothing can be reserved there. */
	const uintptr_t beyond[] = {(uintptr_t)1 << MM_ADDR_BITS, ((uintptr_t)1 << 63) + SEG, UINTPTR_MAX - SEG + 1};
	for (size_t i = 0; i < sizeof(beyond) / sizeof(beyond[0]); i++) {
		CHECK(mm_addr_unmappable(beyond[i]));
		CHECK(mm_segmap_get(beyond[i]) == MM_MAP_NONE);
		CHECK(!mm_segmap_reserve(beyond[i], MM_SEG_SIZE));
	}
	CHECK(!mm_segmap_reserve(((uintptr_t)1 << MM_ADDR_BITS) - SEG, 2 * MM_SEG_SIZE)); /* straddles the end */
	CHECK(!mm_segmap_reserve(UINTPTR_MAX - SEG + 1, 2 * MM_SEG_SIZE));                /* wraps around */
	/* Pointers no one mapped, up there: refused without being read (a read would crash). */
	free((void *)(b47 + 64));
	free((void *)(b48 - SEG + 4096));
	free((void *)(((uintptr_t)1 << 60) + 32));
	sink = (void *)(uintptr_t)malloc_usable_size((void *)(b47 + 3 * SEG + 64));
	CHECK(sink == NULL);
	printf("segment map: synthetic segments from 2^47 to 2^%d recorded, addresses from 2^%d refused\n",
	       MM_ADDR_BITS, MM_ADDR_BITS);
#else
	/* 32-bit: one flat map over the whole address space; nothing is beyond it. */
	one_segment((uintptr_t)0x80000000u);
	one_segment((uintptr_t)0xFFC00000u);
	CHECK(!mm_addr_unmappable(UINTPTR_MAX));
	printf("segment map: flat, %u segments\n", (unsigned)MM_SEGMAP_BYTES);
#endif
}

/* A real mapping above 2^47 if the kernel gives one for a hint there; recorded like any other. */
static void hinted_mapping(void)
{
#if UINTPTR_MAX > 0xFFFFFFFFu
	const uintptr_t want = ((uintptr_t)1 << 47) + ((uintptr_t)1 << 40);
	void *p = mmap((void *)want, 2 * MM_SEG_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		printf("mmap with a hint above 2^47: refused, skipped\n");
		return;
	}
	uintptr_t a = ((uintptr_t)p + SEG - 1) & ~(SEG - 1); /* the segment inside it */
	if ((uintptr_t)p >> 47) {
		CHECK(mm_segmap_reserve(a, MM_SEG_SIZE));
		mm_segmap_mark(a, MM_MAP_SEGMENT);
		CHECK(mm_segmap_has(a + 100) && !mm_segmap_has(a + SEG));
		mm_segmap_mark(a, MM_MAP_NONE);
		printf("mmap with a hint above 2^47: %p, recorded\n", p);
	} else {
		printf("mmap with a hint above 2^47: %p (the kernel keeps below 2^47: skipped)\n", p);
	}
	munmap(p, 2 * MM_SEG_SIZE);
#endif
}

static void page_size(void)
{
	size_t page = mm_os_page_size();
	CHECK(page == (size_t)sysconf(_SC_PAGESIZE) && page == (size_t)getpagesize());
	CHECK(page >= 4096 && (page & (page - 1)) == 0);
	/* Every range, written, freed, reused; what is freed and purged reads back as written or zero. */
	static const size_t sizes[] = {16, 1000, 5000, 16384, 70000, 900000, (size_t)3 << 20, (size_t)40 << 20};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *p = malloc(sizes[i]);
		CHECK(p != NULL);
		if (!p)
			continue;
		memset(p, 0xA5, sizes[i]);
		CHECK(p[0] == 0xA5 && p[sizes[i] - 1] == 0xA5);
		free(p);
	}
	(void)memoman_malloc_collect(); /* purges everything that can go, by whole pages */
	void *v = valloc(100), *pv = pvalloc(page + 1);
	CHECK(v && ((uintptr_t)v & (page - 1)) == 0);
	CHECK(pv && ((uintptr_t)pv & (page - 1)) == 0 && malloc_usable_size(pv) >= 2 * page);
	free(v);
	free(pv);
	void *blk = malloc(100);
	void *m = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("page size %zu (AT_PAGESZ/sysconf); a block at %p, an mmap at %p%s\n", page, blk, m,
	       ((uintptr_t)blk > UINT32_MAX && ((uint64_t)(uintptr_t)blk >> 47)) ? " (above 2^47)" : "");
	if (m != MAP_FAILED)
		munmap(m, page);
	free(blk);
}

/* The map's codes of the segments blocks of each kind live in, and free() through them. */
static void codes(void)
{
	static const struct {
		size_t size;
		unsigned code;
	} kinds[] = {{48, MM_MAP_SMALL},       {8000, MM_MAP_SMALL},       {12000, MM_MAP_SMALL},
	             {100000, MM_MAP_SEGMENT}, {2u << 20, MM_MAP_SEGMENT}, {(size_t)40 << 20, MM_MAP_SEGMENT}};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		unsigned char *p = malloc(kinds[i].size);
		CHECK(p != NULL);
		if (!p)
			continue;
		uintptr_t a = (uintptr_t)p;
		unsigned code = mm_segmap_get(a);
		if (kinds[i].size == (2u << 20) && code == MM_MAP_INTERIOR)
			code = mm_segmap_get((uintptr_t)mm_large_segment_of(a)); /* a later segment of its pool */
		CHECK(code == kinds[i].code);
		if (code != kinds[i].code)
			fprintf(stderr, "block of %zu: map code %u, expected %u\n", kinds[i].size, code, kinds[i].code);
		p[0] = 1;
		p[kinds[i].size - 1] = 2;
		free(p);
	}
}

int main(void)
{
	setenv("MEMOMAN_ERRORS", "report", 1); /* the bad frees above are reported and refused */
	free(malloc(1));                       /* set up */
	page_size();
	codes();
	synthetic();
	hinted_mapping();
	return check_done("test_malloc_segmap");
}

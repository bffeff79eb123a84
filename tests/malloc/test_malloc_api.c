// SPDX-License-Identifier: MIT
/*
 * test_malloc_api.c - the contract of every entry point of libmemoman-malloc, in the style of
 * glibc's tst-malloc-too-large: sizes SIZE_MAX - k and PTRDIFF_MAX + 1 at every entry point with the
 * errno of each failure, every power-of-two alignment, zero sizes, realloc's cases, usable sizes,
 * and the statistics. Linked against libmemoman-malloc (so malloc here is memoman's), or against
 * its prefixed copy in sanitizer builds (names.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memoman-malloc.h"
#include "mcheck.h"
#include "names.h"

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wuse-after-free" /* a failed realloc leaves the block: it is used on purpose */
#endif

/* Keeps the compiler from folding a size it can see. */
static size_t opaque(size_t n)
{
	volatile size_t v = n;
	return v;
}

static int is_memoman(void *p)
{
	/* The library's statistics count it: a quick sign that the malloc in use is memoman's. */
	memoman_malloc_stats st;
	return p && memoman_malloc_get_stats(&st) && st.mapped > 0;
}

static void test_too_large(void)
{
	for (size_t k = 0; k < 4096; k += (k < 64 ? 1 : 37)) {
		size_t n = opaque(SIZE_MAX - k);
		errno = 0;
		CHECK(malloc(n) == NULL && errno == ENOMEM);
		errno = 0;
		CHECK(calloc(1, n) == NULL && errno == ENOMEM);
		errno = 0;
		CHECK(calloc(n, 2) == NULL && errno == ENOMEM); /* the product overflows */
		void *p = malloc(16);
		memset(p, 7, 16);
		errno = 0;
		CHECK(realloc(p, n) == NULL && errno == ENOMEM);
		CHECK(((unsigned char *)p)[15] == 7); /* the block is intact */
		errno = 0;
		CHECK(reallocarray(p, n, 2) == NULL && errno == ENOMEM);
		free(p);
		errno = 0;
		CHECK(aligned_alloc(64, n) == NULL && errno == ENOMEM);
		errno = 0;
		CHECK(memalign(64, n) == NULL && errno == ENOMEM);
		errno = 0;
		CHECK(valloc(n) == NULL && errno == ENOMEM);
		errno = 0;
		CHECK(pvalloc(n) == NULL && errno == ENOMEM);
		void *out = (void *)&out;
		errno = 1234;
		CHECK(posix_memalign(&out, 64, n) == ENOMEM && out == (void *)&out && errno == 1234);
	}
	size_t big = opaque((size_t)PTRDIFF_MAX + 1);
	errno = 0;
	CHECK(malloc(big) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(calloc(big, 1) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(calloc(opaque((size_t)1 << (sizeof(size_t) * 4)), opaque((size_t)1 << (sizeof(size_t) * 4))) == NULL &&
	      errno == ENOMEM);
}

static void test_alignment(void)
{
	for (size_t a = 1; a && a <= ((size_t)1 << 26); a <<= 1) {
		for (size_t n = 0; n <= 3 * a && n < ((size_t)1 << 27); n += a ? a : 1) {
			void *p = aligned_alloc(a, n);
			CHECK(p != NULL && ((uintptr_t)p & (a - 1)) == 0 && ((uintptr_t)p & 15) == 0);
			if (p)
				memset(p, 1, n);
			void *q = memalign(a, n + 1);
			CHECK(q != NULL && ((uintptr_t)q & (a - 1)) == 0);
			void *r = NULL;
			if (a >= sizeof(void *)) {
				CHECK(posix_memalign(&r, a, n + 3) == 0 && r && ((uintptr_t)r & (a - 1)) == 0);
				CHECK(malloc_usable_size(r) >= n + 3);
			}
			free(p);
			free(q);
			free(r);
			if (n == 0)
				n = 0;
		}
	}
	/* Alignments that are not powers of two, or too small for posix_memalign. */
	void *out = (void *)&out;
	CHECK(posix_memalign(&out, 24, 100) == EINVAL && out == (void *)&out);
	CHECK(posix_memalign(&out, sizeof(void *) / 2, 100) == EINVAL && out == (void *)&out);
	CHECK(posix_memalign(&out, 0, 100) == EINVAL);
	errno = 0;
	CHECK(aligned_alloc(opaque(24), 100) == NULL && errno == EINVAL);
	errno = 0;
	CHECK(aligned_alloc(opaque(0), 100) == NULL && errno == EINVAL);
	/* memalign, as glibc's, rounds an alignment that is not a power of two up to one. */
	for (size_t a = 0; a <= 5000; a += 7) {
		size_t pow2 = 1;
		while (pow2 < a)
			pow2 <<= 1;
		char *m = memalign(opaque(a), 100);
		CHECK(m != NULL && (uintptr_t)m % pow2 == 0 && (uintptr_t)m % 16 == 0);
		free(m);
	}
	errno = 0;
	CHECK(memalign(opaque(SIZE_MAX / 2 + 2), 100) == NULL && errno == EINVAL);
	/* valloc and pvalloc: page-aligned; pvalloc rounds the size up to pages. */
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *v = valloc(10), *pv = pvalloc(10), *pv0 = pvalloc(0);
	CHECK(v && ((uintptr_t)v & (page - 1)) == 0);
	CHECK(pv && ((uintptr_t)pv & (page - 1)) == 0 && malloc_usable_size(pv) >= page);
	CHECK(pv0 && malloc_usable_size(pv0) >= page);
	free(v);
	free(pv);
	free(pv0);
}

static void test_ordinary(void)
{
	/* malloc(0): a unique pointer, each time. */
	void *z1 = malloc(0), *z2 = malloc(0);
	CHECK(z1 && z2 && z1 != z2);
	free(z1);
	free(z2);
	free(NULL);
	free_sized(NULL, 0);
	/* Every size up to 64 KiB and some beyond: 16-byte alignment from 16 bytes up, the usable size,
	 * contents kept by realloc in both directions. */
	for (size_t n = 1; n < ((size_t)1 << 23); n = n < 4096 ? n + 1 : n * 5 / 4) {
		unsigned char *p = malloc(n);
		CHECK(p != NULL);
		if (!p)
			continue;
		if (n >= 16)
			CHECK(((uintptr_t)p & 15) == 0);
		CHECK(malloc_usable_size(p) >= n);
		p[0] = 1;
		p[n - 1] = 2;
		unsigned char *q = realloc(p, n * 2 + 1);
		CHECK(q && q[n - 1] == 2 && (n == 1 || q[0] == 1));
		unsigned char *r = realloc(q, n / 2 + 1);
		CHECK(r && (n == 1 ? r[0] == 2 : r[0] == 1));
		free(r);
	}
	/* calloc zeroes, also memory that was used before. */
	for (int round = 0; round < 3; round++) {
		size_t sizes[] = {1, 100, 5000, 100000, 3 << 20};
		for (size_t i = 0; i < 5; i++) {
			unsigned char *p = calloc(1, sizes[i]);
			CHECK(p != NULL);
			size_t nz = 0;
			for (size_t k = 0; p && k < sizes[i]; k++)
				nz += p[k] != 0;
			CHECK(nz == 0);
			if (p)
				memset(p, 0xAB, sizes[i]);
			free(p);
		}
	}
	/* realloc(NULL, n) is malloc; realloc(p, 0) frees and returns NULL. */
	void *p = realloc(NULL, 40);
	CHECK(p != NULL && malloc_usable_size(p) >= 40);
	CHECK(realloc(p, 0) == NULL);
	CHECK(reallocarray(NULL, 10, 10) != NULL);
	/* free_sized, free_aligned_sized. */
	void *a = malloc(100), *b = aligned_alloc(256, 300);
	free_sized(a, 100);
	free_aligned_sized(b, 256, 300);
	/* The statistics see this program's allocations. */
	memoman_malloc_stats st;
	CHECK(memoman_malloc_get_stats(&st) && st.mapped > 0 && st.live > 0 && st.mapped_peak >= st.mapped);
	uint64_t total = st.zone_allocs + st.large_allocs + st.huge_allocs;
	for (int c = 0; c < MEMOMAN_MALLOC_CLASSES; c++)
		total += st.classes[c].allocs;
	CHECK(total > 1000);
	CHECK(is_memoman(malloc(1)));
	CHECK(malloc_trim(0) >= 0);
#ifndef MM_TEST_PREFIXED
	struct mallinfo2 mi = mallinfo2();
	CHECK(mi.arena > 0);
#endif
}

/* More blocks of the large region's range (above 1 MiB, up to 32 MiB) than its pools hold (32 of
 * 64 MiB): the rest are served as mappings of their own, not refused (nor reported). 64-bit only:
 * 2.2 GiB of address space, never touched. */
static void test_many_large(void)
{
	if (sizeof(void *) < 8)
		return;
	enum { N = 140 };
	static void *p[N];
	size_t served = 0;
	for (size_t i = 0; i < N; i++)
		served += (p[i] = malloc((size_t)16 << 20)) != NULL;
	CHECK(served == N);
	for (size_t i = 0; i < N; i++)
		free(p[i]);
}

/* The large region's free spans are purged (malloc_trim) without a write into a live block: a pool
 * spans several segments, and only its first has a header. A 6 MiB block fills the start of a fresh
 * pool, so the segment in which the free span after it starts holds the block's bytes; they must be
 * unchanged (every byte value a header field could take). */
static void test_large_purge_keeps_blocks(void)
{
	for (int v = 1; v <= 4; v++) {
		size_t n = (size_t)6 << 20;
		unsigned char *a = malloc(n), *c = malloc((size_t)2 << 20), *d = malloc((size_t)2 << 20);
		CHECK(a && c && d);
		if (!a || !c || !d)
			return;
		memset(a, v & 3, n);
		memset(c, 0x5A, (size_t)2 << 20); /* so that the span is purged again, not known purged */
		free(c);
		malloc_trim(0);
		size_t bad = 0;
		for (size_t i = 0; i < n; i++)
			bad += a[i] != (v & 3);
		CHECK(bad == 0);
		free(a);
		free(d);
	}
}

int main(void)
{
	test_large_purge_keeps_blocks();
	test_too_large();
	test_many_large();
	test_alignment();
	test_ordinary();
	return check_done("test_malloc_api");
}

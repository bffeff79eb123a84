// SPDX-License-Identifier: MIT
/*
 * test_malloc_secure.c - libmemoman-malloc-secure, the secure build (MM_SECURE=1):
 *   - a write past the bytes asked for (1 byte past 20, 4,096 and 20,001 bytes, whose blocks have
 *     more; 1 and 8 bytes past the usable size of 8, 24, 3,000 and 60,000-byte blocks, the last a
 *     zone's; 1 byte past 1,000 bytes aligned to 64 KiB; past 2 and 3 MiB aligned to 4 KiB, the
 *     large region's) is reported at free, from the owner and from another thread, at realloc and
 *     by malloc_usable_size;
 *   - a write of 1 or 32 bytes before a class block (into the block below it, live or free) is
 *     reported when the block is freed;
 *   - a write into a freed class block is reported when the block is handed out again, also when
 *     another thread freed it, and when its page was given back (when a page takes the slot again);
 *   - each case in a child that must die of SIGABRT with the message; with MEMOMAN_ERRORS=report it
 *     says so and the program goes on;
 *   - correct use is not reported: the whole usable size (the class size less the canary's 8 bytes)
 *     is the program's, in every size range and the large region's aligned blocks; calloc zeroes; realloc keeps the bytes; a freed block is zeroed after its
 *     link and cookie; malloc hands out zeroed blocks; a block freed is not the next one handed out;
 *   - the blocks of a fresh page come out in a random order, not address after address;
 *   - free_sized naming more than the block has is reported, and so is C++'s sized delete, also of a
 *     pointer not memoman's (the program defines no operator delete of its own to hand it to);
 *   - malloc(0) is unique and faults on any access; a fault on a guard page or a freed mapping is
 *     named (memoman's SIGSEGV handler, when the program has none) before the process dies of it;
 *   - a segment (and a large pool) ends at a guard page: a write running on from a block faults
 *     there, named, and a pointer into it is refused by free;
 *   - a block above 128 KiB ends at a guard page (a write 1 byte past what was asked for, rounded
 *     to 16, faults) and a freed one faults on any access, also after the size is allocated again.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mcheck.h"
#include "names.h"
#include "child.h"

static void *volatile sink;

static unsigned char *opaque(void *p)
{
	sink = p;
	return (unsigned char *)sink;
}

/* ---- The misuses ---------------------------------------------------------------------------------- */

static void *free_it(void *p)
{
	free(p);
	return NULL;
}

static void overflow(size_t n, size_t by)
{
	unsigned char *p = opaque(malloc(n));
	size_t usable = malloc_usable_size(p);
	memset(p, 1, usable);
	for (size_t i = 0; i < by; i++) /* past the end; xor: the byte changes whatever it held */
		p[usable + i] ^= 'x';
	free(p);
}
static void overflow_1_small(void) { overflow(24, 1); }
/* One byte past the size asked for, where the block has more: the bytes between stay zero. */
static void overflow_asked(size_t n)
{
	unsigned char *p = opaque(malloc(n));
	memset(p, 1, n);
	p[n] ^= 'x';
	free(p);
}
static void overflow_asked_small(void) { overflow_asked(20); }
static void overflow_asked_medium(void) { overflow_asked(4096); }
static void overflow_after_realloc(void)
{
	unsigned char *p = opaque(malloc(100));
	p = opaque(realloc(p, 120)); /* a new block with headroom: the canary still follows 120 */
	p[120] ^= 'x';
	free(p);
}
static void overflow_then_realloc(void)
{
	unsigned char *p = opaque(malloc(100));
	p[100] ^= 'x';
	sink = realloc(p, 90); /* in place: the bytes after the block are checked there too */
}
static void overflow_zone_realloc(void)
{
	unsigned char *p = opaque(malloc(30000));
	p[30000] ^= 'x';
	sink = realloc(p, 50000); /* in place or moved: the bytes after the block are checked first */
}
static void overflow_zone_aligned(void)
{
	unsigned char *p = opaque(aligned_alloc(65536, 1000)); /* a zone's block at this alignment */
	p[1000] ^= 'x';
	free(p);
}
/* The large region's blocks (above 1 MiB, aligned beyond 16 bytes). */
static void overflow_large(void)
{
	unsigned char *p = opaque(aligned_alloc(4096, ((size_t)2 << 20) + 100));
	p[((size_t)2 << 20) + 100] ^= 'x';
	free(p);
}
static void overflow_large_realloc(void)
{
	unsigned char *p = opaque(aligned_alloc(4096, (size_t)3 << 20));
	p[(size_t)3 << 20] ^= 'x';
	sink = realloc(p, (size_t)4 << 20);
}
static void overflow_large_usable(void)
{
	unsigned char *p = opaque(aligned_alloc(64, (size_t)2 << 20));
	p[malloc_usable_size(p)] ^= 'x';
	sink = (void *)(uintptr_t)malloc_usable_size(p);
}
/* Writes before a 24-byte block (a 32-byte class block) whose neighbour below is live or free. */
static unsigned char *with_neighbour_below(int free_it_first)
{
	static unsigned char *held[400];
	for (int i = 0; i < 400; i++) {
		held[i] = opaque(malloc(24));
		for (int j = 0; j < i; j++)
			if (held[j] == held[i] - 32) {
				if (free_it_first)
					free(held[j]);
				return held[i];
			}
	}
	return NULL; /* not reached: a page carves its blocks side by side */
}
static void underflow_1_live(void)
{
	unsigned char *p = with_neighbour_below(0);
	p[-1] ^= 'x';
	free(p);
}
static void underflow_1_free(void)
{
	unsigned char *p = with_neighbour_below(1);
	p[-1] ^= 'x';
	free(p);
}
static void underflow_32(void)
{
	unsigned char *p = with_neighbour_below(0);
	memset(p - 32, 'A', 32);
	free(p);
}
static void overflow_8_small(void) { overflow(24, 8); }
static void overflow_1_tiny(void) { overflow(8, 1); }
static void overflow_1_medium(void) { overflow(3000, 1); }
static void overflow_1_zone(void) { overflow(60000, 1); }
static void overflow_asked_zone(void) { overflow_asked(20001); }

/* 1 byte past the usable size, the block freed by another thread. */
static void overflow_remote_n(size_t n)
{
	unsigned char *p = opaque(malloc(n));
	p[malloc_usable_size(p)] ^= 'x';
	pthread_t t;
	pthread_create(&t, NULL, free_it, p);
	pthread_join(t, NULL);
}
static void overflow_remote(void) { overflow_remote_n(40); }
static void overflow_zone_remote(void) { overflow_remote_n(40000); }

static void write_after_free(size_t n)
{
	unsigned char *p = opaque(malloc(n));
	free(p);
	p[n / 2] = 'x';
	for (int i = 0; i < 200000; i++) /* until the block comes back (its page may not be the current one) */
		if ((sink = malloc(n)) == p)
			break;
}
static void write_after_free_small(void) { write_after_free(64); }
static void write_after_free_medium(void) { write_after_free(3000); }
static void write_after_free_zone(void) { write_after_free(40000); }

/* Into a zone block that merged with its freed neighbours: found when a block over it is handed out. */
static void write_after_free_zone_merged(void)
{
	unsigned char *a = opaque(malloc(30000)), *b = opaque(malloc(30000)), *c = opaque(malloc(30000));
	sink = malloc(30000); /* after them: the three merge with each other only */
	free(a);
	free(c);
	free(b);
	b[100] = 'x';
	for (int i = 0; i < 4000; i++) { /* until a block over the written byte is handed out */
		unsigned char *q = opaque(malloc(30000));
		if (q <= b + 100 && b + 100 < q + 30000)
			break;
	}
}

/* Into a block whose page was given back (emptied while not its class's only page): the write is
 * found when a page takes the slot again. */
static void write_after_page_retired(void)
{
	enum { N = 3000 }; /* 64-byte blocks: three pages' worth */
	static unsigned char *b[N];
	for (int i = 0; i < N; i++)
		b[i] = opaque(malloc(64));
	for (int i = 0; i < N; i++)
		free(b[i]);
	b[0][40] = 'x';
	for (int i = 0; i < N; i++)
		sink = malloc(64);
}

static void write_after_remote_free(void)
{
	unsigned char *p[200];
	for (int i = 0; i < 200; i++)
		p[i] = opaque(malloc(96));
	pthread_t t;
	pthread_create(&t, NULL, free_it, p[7]);
	pthread_join(t, NULL);
	p[7][50] = 'x';
	for (int i = 0; i < 200; i++)
		if (i != 7)
			free(p[i]);
	for (int i = 0; i < 400; i++)
		sink = malloc(96);
}

static void free_sized_wrong(void)
{
	unsigned char *p = opaque(malloc(1));
	free_sized(p, 32); /* C++'s delete of a char as a 32-byte struct comes here too */
}

/* C++'s sized delete, which the secure build exports (not its prefixed copy): called by its
 * mangled name (size_t unsigned long on 64-bit Linux, unsigned int on the 32-bit ABIs but s390's). */
#if !defined(MM_TEST_PREFIXED) && defined(__linux__)
#if __SIZEOF_SIZE_T__ == 8 || (defined(__s390__) && !defined(__s390x__))
#define CXX_SIZED_DELETE _ZdlPvm
#else
#define CXX_SIZED_DELETE _ZdlPvj
#endif
void CXX_SIZED_DELETE(void *ptr, size_t size);
static void cxx_delete_wrong_size(void) { CXX_SIZED_DELETE(opaque(malloc(1)), 32); }
/* Not memoman's, in a program with no operator delete of its own to hand it to: reported. */
static void cxx_delete_foreign(void)
{
	static uintptr_t x[4];
	CXX_SIZED_DELETE(opaque(x), sizeof(x));
}
#endif

/* Blocks above 128 KiB: a mapping each, ending at a guard page; freed, made inaccessible. */
enum { BIG = 256 << 10 };
static void big_past_usable(void)
{
	unsigned char *p = opaque(malloc(BIG));
	p[malloc_usable_size(p)] ^= 'x';
}
static void big_past_asked(void)
{
	unsigned char *p = opaque(malloc(BIG + 40));
	p[BIG + 48] ^= 'x'; /* rounded to 16: the guard starts at BIG + 48 */
}
static void big_write_after_free(void)
{
	unsigned char *p = opaque(malloc(BIG));
	free(p);
	p[64 * 1024 + 1] = 'a';
}
static void big_read_after_free(void)
{
	unsigned char *p = opaque(malloc(BIG));
	free(p);
	sink = (void *)(uintptr_t)p[5];
}
static void big_write_after_free_reuse(void)
{
	unsigned char *p = opaque(malloc(BIG));
	free(p);
	sink = malloc(BIG);
	p[64 * 1024 + 1] = 'a';
}

static void zero_size_write(void) { *opaque(malloc(0)) = 'x'; }
static void zero_size_read(void) { sink = (void *)(uintptr_t)*opaque(malloc(0)); }
/* A write that runs on from a block, past the blocks after it: it faults at the end of the block's
 * segment (or large pool) instead of reaching the next one's header. (One byte in 64: each page of
 * the way is written, the run through a 64 MiB pool stays short.) */
static void run_off(unsigned char *p)
{
	for (volatile unsigned char *q = p;; q += 64)
		*q = 0x41;
}
static void run_off_small(void) { run_off(opaque(malloc(64))); }
static void run_off_medium(void) { run_off(opaque(malloc(60000))); }                       /* a zone's block */
static void run_off_large(void) { run_off(opaque(aligned_alloc(4096, (size_t)2 << 20))); } /* the large region's */

/* A pointer into a segment's guard page (segments are 4 MiB, aligned) is refused without a look. */
static void free_guard_page(unsigned char *p)
{
	uintptr_t seg = (uintptr_t)p & ~(((uintptr_t)4 << 20) - 1);
	free((void *)(seg + ((uintptr_t)4 << 20) - 64));
}
static void free_guard_page_small(void) { free_guard_page(opaque(malloc(64))); }
static void free_guard_page_zone(void) { free_guard_page(opaque(malloc(60000))); }
static void usable_guard_page_zone(void)
{
	uintptr_t seg = (uintptr_t)opaque(malloc(60000)) & ~(((uintptr_t)4 << 20) - 1);
	sink = (void *)(uintptr_t)malloc_usable_size((void *)(seg + ((uintptr_t)4 << 20) - 64));
}

static void zero_size_double_free(void)
{
	unsigned char *p = opaque(malloc(0));
	free(p);
	free(opaque(p));
}

static const struct {
	const char *name, *message;
	void (*run)(void);
	int fault; /* a guard page's SIGSEGV, not a report */
} cases[] = {
    {"1 byte past a 24-byte block", "bytes after a block were overwritten", overflow_1_small, 0},
    {"1 byte past the 20 bytes asked for (a 32-byte block)", "bytes after a block were overwritten",
     overflow_asked_small, 0},
    {"1 byte past the 4096 bytes asked for", "bytes after a block were overwritten", overflow_asked_medium, 0},
    {"1 byte past what a realloc asked for", "bytes after a block were overwritten", overflow_after_realloc, 0},
    {"1 byte past, then realloc", "bytes after a block were overwritten", overflow_then_realloc, 0},
    {"8 bytes past a 24-byte block", "bytes after a block were overwritten", overflow_8_small, 0},
    {"1 byte past an 8-byte block", "bytes after a block were overwritten", overflow_1_tiny, 0},
    {"1 byte past a 3000-byte block", "bytes after a block were overwritten", overflow_1_medium, 0},
    {"1 byte past, freed by another thread", "bytes after a block were overwritten", overflow_remote, 0},
    {"1 byte past a 60000-byte block (a zone's)", "bytes after a block were overwritten", overflow_1_zone, 0},
    {"1 byte past the 20001 bytes asked for", "bytes after a block were overwritten", overflow_asked_zone, 0},
    {"1 byte past 30000 bytes, then realloc", "bytes after a block were overwritten", overflow_zone_realloc, 0},
    {"1 byte past a 40000-byte block, freed by another thread", "bytes after a block were overwritten",
     overflow_zone_remote, 0},
    {"1 byte past 1000 bytes aligned to 64 KiB", "bytes after a block were overwritten", overflow_zone_aligned, 0},
    {"1 byte past 2 MiB + 100 bytes aligned to 4 KiB (the large region)", "bytes after a block were overwritten",
     overflow_large, 0},
    {"1 byte past 3 MiB aligned to 4 KiB, then realloc", "bytes after a block were overwritten", overflow_large_realloc,
     0},
    {"1 byte past a large-region block's usable size, then malloc_usable_size", "bytes after a block were overwritten",
     overflow_large_usable, 0},
    {"1 byte before a block, its neighbour below live", "bytes before a block were overwritten", underflow_1_live, 0},
    {"1 byte before a block, its neighbour below free", "bytes before a block were overwritten", underflow_1_free, 0},
    {"32 bytes before a block", "bytes before a block were overwritten", underflow_32, 0},
    {"write after free (small)", "written to after free", write_after_free_small, 0},
    {"write after free (medium class)", "written to after free", write_after_free_medium, 0},
    {"write after free (a zone's block)", "written to after free", write_after_free_zone, 0},
    {"write after free (a zone's block, merged)", "written to after free", write_after_free_zone_merged, 0},
    {"write after another thread's free", "written to after free", write_after_remote_free, 0},
    {"write after free, the page given back", "written to after free", write_after_page_retired, 0},
    {"free_sized with more than was allocated", "free_sized(): not the size allocated", free_sized_wrong, 0},
#ifdef CXX_SIZED_DELETE
    {"C++ sized delete with more than was allocated", "operator delete: not the size allocated", cxx_delete_wrong_size,
     0},
    {"C++ sized delete of a pointer not memoman's", "operator delete: not the size allocated, or an invalid pointer",
     cxx_delete_foreign, 0},
#endif
    {"double free of malloc(0)", "free(): invalid pointer", zero_size_double_free, 0},
    {"free of a pointer into a segment's guard page", "free(): invalid pointer", free_guard_page_small, 0},
    {"free of a pointer into a zone segment's guard page", "free(): invalid pointer", free_guard_page_zone, 0},
    {"malloc_usable_size of a pointer into a zone segment's guard page", "malloc_usable_size(): invalid pointer",
     usable_guard_page_zone, 0},
    {"a write running off a 64-byte block", "past the end of a segment's last block", run_off_small, 1},
    {"a write running off a 60,000-byte block", "past the end of a segment's last block", run_off_medium, 1},
    {"a write running off a 2 MiB block aligned to 4096", "past the end of a segment's last block", run_off_large, 1},
    {"a write into malloc(0)", "the bytes of malloc(0)", zero_size_write, 1},
    {"a read of malloc(0)", "the bytes of malloc(0)", zero_size_read, 1},
    {"1 byte past a 256 KiB block's usable size", "past the end of a block", big_past_usable, 1},
    {"1 byte past a 256 KiB + 40 request", "past the end of a block", big_past_asked, 1},
    {"write after free (256 KiB)", "a use after free", big_write_after_free, 1},
    {"read after free (256 KiB)", "a use after free", big_read_after_free, 1},
    {"write after free, the size allocated again (256 KiB)", "a use after free", big_write_after_free_reuse, 1},
};

/* ---- Correct use ----------------------------------------------------------------------------------- */

static void *fresh_order(void *arg)
{
	/* A new thread, a new page of the 48-byte class: how many blocks follow the one before? */
	enum { N = 64 };
	unsigned char *b[N];
	for (int i = 0; i < N; i++)
		b[i] = malloc(40);
	int consecutive = 0;
	for (int i = 1; i < N; i++)
		consecutive += b[i] == b[i - 1] + 48 || b[i] == b[i - 1] - 48;
	for (int i = 0; i < N; i++)
		free(b[i]);
	*(int *)arg = consecutive;
	return NULL;
}

static void correct_use(void)
{
	for (size_t n = 0; n <= 300000; n = n * 3 / 2 + 1) {
		unsigned char *p = malloc(n);
		CHECK(p != NULL);
		size_t usable = malloc_usable_size(p);
		CHECK(usable >= n);
		memset(p, 0x5A, usable); /* all of it is the program's */
		p = realloc(p, n + 100);
		CHECK(p != NULL);
		for (size_t i = 0; i < n; i++)
			if (p[i] != 0x5A) {
				CHECK(!"realloc kept the bytes");
				break;
			}
		free(p);
		unsigned char *z = calloc(1, n);
		CHECK(z != NULL);
		for (size_t i = 0; i < n; i++)
			if (z[i]) {
				CHECK(!"calloc zeroes");
				break;
			}
		free(z);
	}
	/* A buffer grown and shrunk in small steps (in place, or moved, in each size range) keeps its
	 * bytes, and all of its usable size is the program's at every step. */
	unsigned char *grown = NULL;
	size_t had = 0;
	for (size_t n = 1000; n <= 200000; n += 1500) {
		grown = realloc(grown, n);
		CHECK(grown != NULL);
		for (size_t i = 0; i < had; i++)
			if (grown[i] != (unsigned char)i) {
				CHECK(!"realloc kept the bytes");
				break;
			}
		size_t usable = malloc_usable_size(grown);
		for (size_t i = 0; i < usable; i++)
			grown[i] = (unsigned char)i;
		had = n;
	}
	for (size_t n = had; n >= 7000; n -= 7000) {
		grown = realloc(grown, n);
		CHECK(grown != NULL);
		for (size_t i = 0; i < n; i++)
			if (grown[i] != (unsigned char)i) {
				CHECK(!"realloc kept the bytes");
				break;
			}
		memset(grown, 0x11, n);
		for (size_t i = 0; i < n; i++)
			grown[i] = (unsigned char)i;
	}
	free(grown);
	/* The large region's blocks: all their usable size the program's, kept by realloc both ways. */
	for (size_t n = (size_t)3 << 19; n <= (size_t)12 << 20; n = n * 3 / 2) {
		unsigned char *p = aligned_alloc(4096, n);
		CHECK(p != NULL && ((uintptr_t)p & 4095) == 0);
		size_t usable = malloc_usable_size(p);
		CHECK(usable >= n);
		memset(p, 0x3C, usable);
		p = realloc(p, n + n / 3);
		CHECK(p != NULL && p[n - 1] == 0x3C && malloc_usable_size(p) >= n + n / 3);
		memset(p, 0x3D, n + n / 3);
		p = realloc(p, n - n / 4);
		CHECK(p != NULL && p[n - n / 4 - 1] == 0x3D && malloc_usable_size(p) >= n - n / 4);
		free(p);
	}
	/* malloc(0): unique, no usable bytes, reallocated and freed as any block. */
	unsigned char *z1 = malloc(0), *z2 = malloc(0);
	CHECK(z1 && z2 && z1 != z2 && malloc_usable_size(z1) == 0);
	z1 = realloc(z1, 50);
	CHECK(z1 != NULL);
	memset(z1, 3, 50);
	free(z1);
	free(z2);
	/* Past 1,024 live ones, malloc(0) is an ordinary block: still unique, still freed. */
	enum { ZEROS = 1100 };
	static unsigned char *zeros[ZEROS];
	for (int i = 0; i < ZEROS; i++) {
		zeros[i] = malloc(0);
		CHECK(zeros[i] != NULL && (i == 0 || zeros[i] != zeros[i - 1]));
	}
	for (int i = 0; i < ZEROS; i++)
		free(zeros[i]);
	/* The class's size less the canary (a word): a 24-byte request takes a 32-byte block. */
	unsigned char *q = malloc(24);
	CHECK(malloc_usable_size(q) == 32 - sizeof(uintptr_t));
	free(q);
	/* A freed block is zeroed after its link and cookie (what a write after free would break), and
	 * is not the next block of its class handed out. */
	unsigned char *f = opaque(malloc(200));
	memset(f, 0x77, 200);
	free(f);
	CHECK(f[100] == 0 && f[16] == 0 && f[199] == 0);
	unsigned char *g = opaque(malloc(200));
	CHECK(g != f);
	for (size_t i = 0; i < 200; i++)
		if (g[i]) {
			CHECK(!"malloc hands out zeroed blocks");
			break;
		}
	free(g);
	int consecutive = 0;
	pthread_t t;
	CHECK(pthread_create(&t, NULL, fresh_order, &consecutive) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	printf("test_malloc_secure: %d of 63 blocks of a fresh page follow the one before\n", consecutive);
	CHECK(consecutive < 16); /* in address order it would be 63 */
}

int main(void)
{
	correct_use();
	char out[4096];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].fault) {
			int status = run_child(cases[i].run, 1, out, sizeof(out));
			/* Killed by the fault, which memoman named; under a sanitizer, whose handler comes
			 * first, reports it and exits, the sanitizer said so. */
			int faulted =
			    (WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV && strstr(out, cases[i].message)) ||
			    strstr(out, "SEGV on unknown address");
			CHECK(faulted);
			if (!faulted)
				fprintf(stderr, "  case \"%s\": status %d, said \"%s\"\n", cases[i].name, status, out);
			continue;
		}
		check_reported(cases[i].name, cases[i].message, cases[i].run);
	}
	return check_done("test_malloc_secure");
}

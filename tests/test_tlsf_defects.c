// SPDX-License-Identifier: MIT
/*
 * test_tlsf_defects.c - TLSF 3.1's known defects, each as a case that TLSF 3.1 fails and memoman
 * passes.
 *
 * Written against the TLSF 3.1 API alone (tlsf_* and the C library), so that the same file also
 * builds against Conte's tlsf.c: compile it with -DTLSF_HEADER='"tlsf.h"' next to that source to see
 * each case fail there (the README says how). Each case runs in a child process with a time limit,
 * because on TLSF 3.1 some of them crash or never return.
 *
 * The cases that damage the heap on purpose use the block layout the two share: a block's header
 * starts two words before its payload, the size word is the word just before the payload, and a
 * free block keeps its next and previous free-list links in its first two payload words.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE under -std=c11 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef TLSF_HEADER
#define TLSF_HEADER "memoman/tlsf.h"
#endif
#include TLSF_HEADER

#define W sizeof(size_t)

static _Alignas(64) unsigned char arena[1 << 20];

static size_t opaque(size_t n)
{
	volatile size_t v = n;
	return v;
}

static tlsf_t fresh(size_t bytes)
{
	memset(arena, 0, bytes);
	return tlsf_create_with_pool(arena, bytes);
}

static unsigned char *laundered(void *p)
{
	void *volatile v = p;
	return (unsigned char *)v;
}

/* ---- The cases: each returns 1 if the allocator behaves correctly -------------------------------- */

/* Sizes near SIZE_MAX must give NULL, not a tiny block (TLSF issue #22). */
static int malloc_near_size_max(void)
{
	tlsf_t t = fresh(sizeof(arena));
	for (size_t k = 0; k < 4096; k++)
		if (tlsf_malloc(t, opaque(SIZE_MAX - k)) != NULL)
			return 0;
	return tlsf_malloc(t, opaque((size_t)PTRDIFF_MAX + 1)) == NULL && tlsf_check(t) == 0;
}

/* realloc(p, huge) must give NULL and leave p and its contents alone. */
static int realloc_near_size_max(void)
{
	tlsf_t t = fresh(sizeof(arena));
	unsigned char *p = tlsf_malloc(t, 200);
	void *q = tlsf_malloc(t, 200);
	if (!p || !q)
		return 0;
	memset(p, 0x77, 200);
	for (size_t k = 0; k < 4096; k += 7)
		if (tlsf_realloc(t, p, opaque(SIZE_MAX - k)) != NULL)
			return 0;
	for (size_t i = 0; i < 200; i++)
		if (p[i] != 0x77)
			return 0;
	if (tlsf_check(t) != 0 || tlsf_block_size(p) < 200)
		return 0;
	tlsf_free(t, p);
	tlsf_free(t, q);
	return tlsf_check(t) == 0;
}

/* memalign(align, huge) must give NULL, not wrap around. */
static int memalign_near_size_max(void)
{
	tlsf_t t = fresh(sizeof(arena));
	for (size_t align = 16; align <= 4096; align <<= 1)
		for (size_t k = 0; k < 4096; k += 3)
			if (tlsf_memalign(t, align, opaque(SIZE_MAX - k)) != NULL)
				return 0;
	return tlsf_check(t) == 0;
}

/* A pool of exactly the largest block size (TLSF issue #9). Needs address space, not memory: only
 * the headers at the two ends of the pool are ever touched. Returns -1 if it cannot be reserved. */
static int pool_of_max_block_size(void)
{
	size_t bytes = tlsf_size() + tlsf_block_size_max() + tlsf_pool_overhead();
	if (bytes < tlsf_block_size_max())
		return -1;
	void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return -1;
	tlsf_t t = tlsf_create_with_pool(mem, bytes);
	if (!t || tlsf_check(t) != 0)
		return 0;
	void *a = tlsf_malloc(t, 1000), *b = tlsf_malloc(t, 100000);
	if (!a || !b || tlsf_check(t) != 0)
		return 0;
	tlsf_free(t, a);
	tlsf_free(t, b);
	return tlsf_check(t) == 0 && tlsf_check_pool(tlsf_get_pool(t)) == 0;
}

/* Free a block, ask for the same size again: it must be served from the block just freed. TLSF 3.1
 * trims blocks to the unrounded size and files the freed block in a class below the one the
 * search for the same size looks in. */
static int same_size_after_free(void)
{
	for (size_t n = 600; n < 60000; n = n * 5 / 4 + 3) {
		tlsf_t t = fresh(1 << 18);
		void *a = tlsf_malloc(t, n);
		if (!a)
			return 0;
		/* Take everything else, so that the freed block is the only free memory. */
		for (size_t chunk = 1 << 17; chunk >= 1; chunk /= 2)
			while (tlsf_malloc(t, chunk))
				;
		tlsf_free(t, a);
		if (!tlsf_malloc(t, n))
			return 0;
	}
	return 1;
}

/* tlsf_check must see a free-list back-link that points elsewhere. */
static int check_sees_bad_back_link(void)
{
	tlsf_t t = fresh(1 << 16);
	void *a = tlsf_malloc(t, 100), *x = tlsf_malloc(t, 100), *b = tlsf_malloc(t, 100);
	if (!a || !x || !b)
		return 0;
	tlsf_free(t, x);
	void **links = (void **)x;
	links[1] = (unsigned char *)a - 2 * W; /* "previous in list": a used block's header */
	return tlsf_check(t) != 0;
}

/* tlsf_check must see a cycle in a free list (and return). */
static int check_sees_cycle(void)
{
	tlsf_t t = fresh(1 << 16);
	void *a = tlsf_malloc(t, 100), *x = tlsf_malloc(t, 100), *b = tlsf_malloc(t, 100), *y = tlsf_malloc(t, 100),
	     *c = tlsf_malloc(t, 100);
	if (!a || !x || !b || !y || !c)
		return 0;
	tlsf_free(t, x);
	tlsf_free(t, y);                              /* y heads the list, x follows */
	((void **)x)[0] = (unsigned char *)y - 2 * W; /* x -> y: a cycle */
	return tlsf_check(t) != 0;
}

/* tlsf_check must see a damaged header of a used block. */
static int check_sees_used_header(void)
{
	tlsf_t t = fresh(1 << 16);
	unsigned char *a = tlsf_malloc(t, 100), *b = tlsf_malloc(t, 100), *c = tlsf_malloc(t, 100);
	if (!a || !b || !c)
		return 0;
	size_t *size_word = (size_t *)(void *)(laundered(b) - W);
	*size_word += 4 * 16; /* b now claims to run into c */
	return tlsf_check(t) != 0;
}

/* tlsf_check must see a 1-byte overflow into the next block's header. */
static int check_sees_one_byte_overflow(void)
{
	tlsf_t t = fresh(1 << 16);
	unsigned char *a = tlsf_malloc(t, 40), *b = tlsf_malloc(t, 40), *c = tlsf_malloc(t, 40);
	if (!a || !b || !c)
		return 0;
	unsigned char *over = laundered(a);
	over[tlsf_block_size(a)] = 0x41;
	return tlsf_check(t) != 0;
}

/* ---- Runner ------------------------------------------------------------------------------------- */

typedef struct defect {
	const char *name;
	int (*run)(void);
} defect;

static const defect defects[] = {
    {"malloc(SIZE_MAX - k) returns NULL", malloc_near_size_max},
    {"realloc(p, SIZE_MAX - k) returns NULL, p intact", realloc_near_size_max},
    {"memalign(a, SIZE_MAX - k) returns NULL", memalign_near_size_max},
    {"a pool of exactly the largest block size works", pool_of_max_block_size},
    {"free then malloc of the same size succeeds", same_size_after_free},
    {"tlsf_check sees a bad free-list back-link", check_sees_bad_back_link},
    {"tlsf_check sees a free-list cycle", check_sees_cycle},
    {"tlsf_check sees a damaged used-block header", check_sees_used_header},
    {"tlsf_check sees a 1-byte overflow into the next header", check_sees_one_byte_overflow},
};

int main(void)
{
	int failed = 0;
	for (size_t i = 0; i < sizeof(defects) / sizeof(defects[0]); i++) {
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			alarm(20);
			int r = defects[i].run();
			_exit(r == 1 ? 0 : r == -1 ? 3 : 1);
		}
		int status = 0;
		waitpid(pid, &status, 0);
		const char *verdict;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			verdict = "pass";
		else if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
			/* Only a 32-bit process may lack the address space; on 64-bit it must run. */
			verdict = sizeof(void *) < 8 ? "not run (address space could not be reserved)"
			                             : "FAIL (address space could not be reserved)";
		else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
			verdict = "FAIL (never returned)";
		else if (WIFSIGNALED(status))
			verdict = "FAIL (crashed)";
		else
			verdict = "FAIL";
		if (verdict[0] == 'F')
			failed++;
		printf("%-58s %s\n", defects[i].name, verdict);
	}
	printf("test_tlsf_defects: %d of %zu failed\n", failed, sizeof(defects) / sizeof(defects[0]));
	return failed ? 1 : 0;
}

// SPDX-License-Identifier: MIT
/*
 * fuzz_malloc.c - a libFuzzer target driving libmemoman-malloc itself (a copy whose entry points are
 * prefixed mmt_, beside the sanitizers' own malloc) with operation sequences: malloc, calloc (with
 * overflowing products), realloc (growing, shrinking, to 0), free, posix_memalign, aligned_alloc and
 * memalign (every power of two to 1 MiB, and bad alignments), malloc_usable_size, malloc_trim; a
 * second thread that frees some of the live blocks and allocates others (frees across threads); and
 * fork, whose child checks the blocks it inherited, allocates and frees, and exits.
 *
 * Every live block is filled with a pattern and checked when it is freed or moved; malloc_usable_size
 * must cover the size asked, an alignment must be honoured, calloc must zero, a failed call must
 * leave errno at ENOMEM (EINVAL for a bad alignment) and the block untouched. Sizes reach the large
 * region (up to 16 MiB) now and then. The pattern covers each block's first and last 256 bytes and
 * one byte in 4,096 (large blocks would otherwise make an input slow).
 *
 * Built with clang -fsanitize=fuzzer,address,undefined (make fuzz); fuzz/replay.c runs the same
 * function over the corpus in ordinary builds (test fuzz_malloc_corpus_replay).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define FUZZ_NAME "fuzz_malloc"
#include "fuzz_common.h"

void *mmt_malloc(size_t n);
void *mmt_calloc(size_t count, size_t size);
void mmt_free(void *ptr);
size_t mmt_malloc_usable_size(void *ptr);
void *mmt_realloc(void *ptr, size_t n);
int mmt_posix_memalign(void **memptr, size_t align, size_t n);
void *mmt_aligned_alloc(size_t align, size_t n);
void *mmt_memalign(size_t align, size_t n);
int mmt_malloc_trim(size_t pad);

#define SLOTS 64

static slot slots[SLOTS];

/* A size: mostly small, sometimes up to a MiB, rarely up to 64 MiB (the large region, huge blocks). */
static size_t any_size(input *r)
{
	uint8_t k = next_byte(r), lo = next_byte(r), hi = next_byte(r);
	size_t v = (size_t)lo | (size_t)hi << 8;
	switch (k & 7) {
	case 0: return v & 1023;
	case 1: return v & 63;
	case 2: return v;
	case 3: return v << 4;                       /* to 1 MiB */
	case 4: return k & 0x80 ? v << 8 : v & 4095; /* to 16 MiB, or small */
	default: return v & 255;
	}
}

/* The pattern (fuzz_common.h's) on the bytes that tell: the first and last 256 and one in 4096. */
static int marked(size_t i, size_t size) { return i < 256 || size - i <= 256 || (i & 4095) == 0; }

static void mark(slot *s)
{
	for (size_t i = 0; i < s->size; i = marked(i + 1, s->size) ? i + 1 : (i + 4096) & ~(size_t)4095)
		s->p[i] = (unsigned char)(s->fill + i);
}

/* The first n bytes at p hold s's pattern where s marked them (n: all of s, or what a realloc kept). */
static int intact_at(const unsigned char *p, const slot *s, size_t n)
{
	for (size_t i = 0; i < n; i = marked(i + 1, s->size) ? i + 1 : (i + 4096) & ~(size_t)4095)
		if (p[i] != (unsigned char)(s->fill + i))
			return 0;
	return 1;
}

static int intact(const slot *s, size_t n) { return intact_at(s->p, s, n); }

static void set(slot *s, void *p, size_t size, uint8_t seed)
{
	s->p = p;
	s->size = size;
	s->fill = seed;
	mark(s);
}

static void release(slot *s)
{
	if (!s->p)
		return;
	if (!intact(s, s->size))
		FINDING("contents of a live block changed");
	mmt_free(s->p);
	s->p = NULL;
}

static void check_block(void *p, size_t size, size_t align)
{
	if (((uintptr_t)p & (align - 1)) != 0)
		FINDING("a block of %zu bytes not aligned to %zu", size, align);
	if (mmt_malloc_usable_size(p) < size)
		FINDING("malloc_usable_size %zu below the %zu bytes asked", mmt_malloc_usable_size(p), size);
}

/* The second thread: frees the odd live slots, allocates into the empty even ones. */
typedef struct worker {
	size_t sizes[SLOTS];
	uint8_t seed;
} worker;

static void *work(void *arg)
{
	worker *w = arg;
	for (size_t i = 0; i < SLOTS; i++) {
		if (i & 1) {
			release(&slots[i]);
		} else if (!slots[i].p && w->sizes[i]) {
			void *p = mmt_malloc(w->sizes[i]);
			if (p)
				set(&slots[i], p, w->sizes[i], (uint8_t)(w->seed + i));
		}
	}
	return NULL;
}

static void in_thread(input *r)
{
	static worker w;
	for (size_t i = 0; i < SLOTS; i++)
		w.sizes[i] = (next_byte(r) & 3) ? (size_t)next_byte(r) * 8 : 0;
	w.seed = next_byte(r);
	pthread_t t;
	if (pthread_create(&t, NULL, work, &w) != 0)
		return; /* no thread to be had: nothing to test */
	pthread_join(t, NULL);
}

/* fork: the child checks what it inherited, allocates and frees, and reports by its exit status. */
static void in_child(input *r)
{
	size_t n = any_size(r) & 0xFFFF;
	pid_t pid = fork();
	if (pid < 0)
		return;
	if (pid == 0) {
		int bad = 0;
		for (size_t i = 0; i < SLOTS && !bad; i++)
			bad = slots[i].p && !intact(&slots[i], slots[i].size);
		for (int k = 0; k < 64 && !bad; k++) {
			unsigned char *p = mmt_malloc(n + (size_t)k);
			if (!p) {
				bad = 2;
				break;
			}
			memset(p, k, n + (size_t)k);
			mmt_free(p);
		}
		for (size_t i = 0; i < SLOTS && !bad; i += 2)
			if (slots[i].p) {
				mmt_free(slots[i].p); /* the child's copy: the parent's stays live */
				slots[i].p = NULL;
			}
		_exit(bad);
	}
	int status = 0;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		FINDING("the child of fork: %s", !WIFEXITED(status)         ? "killed by a signal"
		                                 : WEXITSTATUS(status) == 1 ? "its inherited blocks changed"
		                                 : WEXITSTATUS(status) == 2 ? "malloc failed"
		                                                            : "exit status not 0");
}

static void op(input *r)
{
	uint8_t code = next_byte(r), which = next_byte(r);
	slot *s = &slots[which % SLOTS];
	switch (code % 12) {
	case 0:
	case 1: { /* malloc */
		size_t n = any_size(r);
		release(s);
		void *p = mmt_malloc(n);
		if (!p) {
			if (errno != ENOMEM)
				FINDING("malloc(%zu) failed without ENOMEM", n);
			break;
		}
		check_block(p, n, 16);
		set(s, p, n, which);
		break;
	}
	case 2: { /* calloc, its product overflowing now and then */
		size_t count = next_byte(r), size = any_size(r);
		if (next_byte(r) == 0xFF)
			count = SIZE_MAX / (size ? size : 1) + 2; /* the product overflows */
		else if (size && count > ((size_t)64 << 20) / size)
			count = 1; /* no more than 64 MiB to check for zeros */
		release(s);
		errno = 0;
		unsigned char *p = mmt_calloc(count, size);
		if (!p) {
			if (errno != ENOMEM)
				FINDING("calloc failed without ENOMEM");
			break;
		}
		size_t n = count * size;
		for (size_t i = 0; i < n; i++)
			if (p[i])
				FINDING("calloc(%zu, %zu) not zeroed at %zu", count, size, i);
		set(s, p, n, which);
		break;
	}
	case 3:
	case 4: { /* realloc: grow, shrink, or to 0 */
		size_t n = (code & 0x10) ? 0 : any_size(r);
		if (!s->p && n == 0)
			break;
		errno = 0;
		unsigned char *q = mmt_realloc(s->p, n);
		if (n == 0) { /* realloc(p, 0) frees p */
			s->p = NULL;
			break;
		}
		if (!q) {
			if (errno != ENOMEM)
				FINDING("realloc failed without ENOMEM");
			if (s->p && !intact(s, s->size))
				FINDING("a failed realloc changed the block"); /* it must be as it was */
			break;
		}
		if (s->p && !intact_at(q, s, s->size < n ? s->size : n))
			FINDING("realloc lost the contents");
		check_block(q, n, 16);
		set(s, q, n, (uint8_t)(which + 1));
		break;
	}
	case 5:
	case 6: /* free */ release(s); break;
	case 7: { /* aligned: posix_memalign, aligned_alloc, memalign */
		uint8_t k = next_byte(r);
		size_t align = (size_t)1 << (k % 21), n = any_size(r);
		release(s);
		void *p = NULL;
		if (k & 0x40) {
			size_t bad = align + 8 * (size_t)(k >> 7); /* not always a power of two */
			int rc = mmt_posix_memalign(&p, bad, n);
			int valid = bad >= sizeof(void *) && (bad & (bad - 1)) == 0;
			if (rc == EINVAL ? valid : !valid)
				FINDING("posix_memalign(%zu) answered %d", bad, rc);
			if (rc)
				break;
			align = bad;
		} else {
			errno = 0;
			p = (k & 0x80) ? mmt_aligned_alloc(align, n) : mmt_memalign(align, n);
			if (!p) {
				if (errno != ENOMEM)
					FINDING("an aligned allocation failed without ENOMEM");
				break;
			}
		}
		check_block(p, n, align < 16 ? 16 : align);
		set(s, p, n, which);
		break;
	}
	case 8: /* malloc_usable_size of a live block */
		if (s->p)
			check_block(s->p, s->size, 16);
		break;
	case 9: (void)mmt_malloc_trim(0); break;
	case 10: in_thread(r); break;
	default:
		if (which < 8) /* forks are slow: rarely */
			in_child(r);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	input r = {data, size};
	for (int steps = 0; r.left && steps < 2000; steps++)
		op(&r);
	for (size_t i = 0; i < SLOTS; i++)
		release(&slots[i]);
	return 0;
}

// SPDX-License-Identifier: MIT
/*
 * check.h - the tests' tiny harness: CHECK that reports file and line and keeps going, a summary
 * for main to return, a recording error handler, a seedable PRNG, and aligned arenas.
 *
 * Each test program owns its arenas and runs alone; none depends on another having run.
 */
#ifndef MEMOMAN_TESTS_CHECK_H
#define MEMOMAN_TESTS_CHECK_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memoman.h"

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                                                    \
	do {                                                                                                           \
		check_count++;                                                                                         \
		if (!(cond)) {                                                                                         \
			check_failures++;                                                                              \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                       \
		}                                                                                                      \
	} while (0)

#define CHECK_MSG(cond, ...)                                                                                           \
	do {                                                                                                           \
		check_count++;                                                                                         \
		if (!(cond)) {                                                                                         \
			check_failures++;                                                                              \
			fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);                       \
			fprintf(stderr, __VA_ARGS__);                                                                  \
			fputc('\n', stderr);                                                                           \
		}                                                                                                      \
	} while (0)

/* Ends main: prints a one-line summary and returns the exit status. */
static inline int check_summary(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
	return check_failures ? 1 : 0;
}

/* A size the compiler cannot see through: deliberate huge requests are tests, not mistakes, and
 * must not trip -Walloc-size-larger-than or be folded away. */
static inline size_t opaque_size(size_t n)
{
	volatile size_t v = n;
	return v;
}

/* A pointer the compiler cannot trace back to its allocation: tests that write outside a block on
 * purpose (to corrupt a header) must not be flagged by -fsanitize=object-size or
 * -Wstringop-overflow, which see mm_malloc's alloc_size attribute. */
static inline unsigned char *launder(void *p)
{
	void *volatile v = p;
	return (unsigned char *)v;
}

/* ---- Recording error handler -------------------------------------------------------------------- */

typedef struct recorded_errors {
	int count;
	mm_error_t last;
	const void *last_ptr;
} recorded_errors;

static inline void record_error(void *instance, mm_error_t error, const void *ptr, void *user)
{
	(void)instance;
	recorded_errors *r = (recorded_errors *)user;
	r->count++;
	r->last = error;
	r->last_ptr = ptr;
}

/* Installs a fresh recorder on an instance (mm_t, mm_fixed_t or mm_heap_t). */
static inline void record_errors(void *mm, recorded_errors *r)
{
	memset(r, 0, sizeof(*r));
	mm_set_error_handler(mm, record_error, r);
}

/* Takes the last recorded error and clears the record. */
static inline mm_error_t take_error(recorded_errors *r)
{
	mm_error_t e = r->count ? r->last : MM_OK;
	r->count = 0;
	r->last = MM_OK;
	return e;
}

/* ---- PRNG: xoshiro-style, seedable and printed --------------------------------------------------- */

typedef struct rng {
	uint64_t s;
} rng;

static inline uint64_t rng_next(rng *r)
{
	/* splitmix64: a fine generator for tests, one word of state */
	uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static inline size_t rng_range(rng *r, size_t lo, size_t hi)
{
	return lo + (size_t)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

/* The seed: argv[1] or $MEMOMAN_SEED if given, else a fixed default; always printed. */
static inline uint64_t test_seed(int argc, char **argv, uint64_t fallback)
{
	const char *s = argc > 1 ? argv[1] : getenv("MEMOMAN_SEED");
	uint64_t seed = s ? strtoull(s, NULL, 0) : fallback;
	printf("seed %" PRIu64 " (rerun with: %s %" PRIu64 ")\n", seed, argc > 0 ? argv[0] : "test", seed);
	return seed;
}

#endif /* MEMOMAN_TESTS_CHECK_H */

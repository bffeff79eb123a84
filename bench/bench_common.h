// SPDX-License-Identifier: MIT
/*
 * bench_common.h - what the benchmark programs share: a seeded random generator (splitmix64, so
 * that every trace is the same on every machine), sorting helpers and lookup of a named entry.
 */
#ifndef MEMOMAN_BENCH_COMMON_H
#define MEMOMAN_BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;

static inline uint64_t next_random(void)
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The entry of table (n entries of `stride` bytes, each starting with its name) named `name`; exits
 * with a message naming `what` if there is none. */
static inline const void *find_named(const void *table, size_t n, size_t stride, const char *name, const char *what)
{
	for (size_t i = 0; i < n; i++) {
		const void *e = (const char *)table + i * stride;
		if (strcmp(*(const char *const *)e, name) == 0)
			return e;
	}
	fprintf(stderr, "unknown %s %s\n", what, name);
	exit(2);
}

#endif /* MEMOMAN_BENCH_COMMON_H */

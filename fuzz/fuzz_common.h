// SPDX-License-Identifier: MIT
/*
 * fuzz_common.h - what the fuzz targets share: reading the input as a program, the live-block
 * slots whose contents are checked, and how a finding ends the run.
 */
#ifndef MEMOMAN_FUZZ_COMMON_H
#define MEMOMAN_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* A finding: say what, then abort so that libFuzzer keeps the input. FUZZ_NAME names the target. */
#define FINDING(...)                                                                                                   \
	do {                                                                                                           \
		fprintf(stderr, FUZZ_NAME ": " __VA_ARGS__);                                                           \
		fputc('\n', stderr);                                                                                   \
		abort();                                                                                               \
	} while (0)

/* The input, read a byte at a time; past its end every byte is 0. */
typedef struct input {
	const uint8_t *in;
	size_t left;
} input;

static inline uint8_t next_byte(input *r)
{
	if (!r->left)
		return 0;
	r->left--;
	return *r->in++;
}

/* A live block: its pointer, the size asked, and the seed of the pattern it was filled with. */
typedef struct slot {
	unsigned char *p;
	size_t size;
	unsigned char fill;
} slot;

static inline void fill(slot *s)
{
	for (size_t i = 0; i < s->size; i++)
		s->p[i] = (unsigned char)(s->fill + i);
}

static inline void check_contents(const slot *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s->p[i] != (unsigned char)(s->fill + i))
			FINDING("contents of a live block changed");
}

#endif /* MEMOMAN_FUZZ_COMMON_H */

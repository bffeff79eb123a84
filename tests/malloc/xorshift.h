// SPDX-License-Identifier: MIT
/*
 * xorshift.h - a thread's own random numbers for the malloc tests that run many threads
 * (xorshift32): no lock and no shared state; the state must not start at 0.
 */
#ifndef MEMOMAN_TESTS_XORSHIFT_H
#define MEMOMAN_TESTS_XORSHIFT_H

#include <stdint.h>

static inline uint32_t xorshift32(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

#endif

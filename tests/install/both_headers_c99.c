// SPDX-License-Identifier: MIT
/*
 * both_headers_c99.c - a C99 translation unit that includes memoman.h and the TLSF 3.1 header together
 * (both orders are covered: MEMOMAN_TLSF_FIRST). The packaging tests compile it with
 * -std=c99 -pedantic -Werror against the source tree, the install and the amalgamation.
 */
#ifdef MEMOMAN_TLSF_FIRST
#include "tlsf.h"
#include "memoman.h"
#else
#include "memoman.h"
#include "tlsf.h"
#endif

int both_headers_c99(void *mem, size_t bytes);

int both_headers_c99(void *mem, size_t bytes)
{
	tlsf_t t = tlsf_create_with_pool(mem, bytes);
	mm_t m = mm_create_with_pool((char *)mem + bytes / 2, bytes / 2);
	return t != NULL && m != NULL && tlsf_check(t) == 0 && mm_validate(m);
}

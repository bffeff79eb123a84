// SPDX-License-Identifier: MIT
/*
 * mcheck.h - the malloc tests' harness: CHECK reports file and line and keeps going; check_done
 * prints the summary and gives main its exit status. (tests/check.h is the lower layer's; it brings
 * memoman.h and the TLSF tests' memory buffers, which these tests do not want.)
 */
#ifndef MEMOMAN_TESTS_MCHECK_H
#define MEMOMAN_TESTS_MCHECK_H

#include <stdio.h>

static int failures;
#define CHECK(c)                                                                                                       \
	do {                                                                                                           \
		if (!(c)) {                                                                                            \
			failures++;                                                                                    \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);                          \
		}                                                                                                      \
	} while (0)

static inline int check_done(const char *test)
{
	if (failures)
		fprintf(stderr, "%s: %d checks failed\n", test, failures);
	else
		printf("%s: all checks passed\n", test);
	return failures != 0;
}

#endif

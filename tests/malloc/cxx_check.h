// SPDX-License-Identifier: MIT
/*
 * cxx_check.h - the C++ tests' checks (test_malloc_cxx.cpp, test_malloc_cxx_own.cpp): CHECK counts
 * and reports, cxx_summary prints the count, from_memoman tells which library defines a function.
 */
#ifndef MEMOMAN_TESTS_CXX_CHECK_H
#define MEMOMAN_TESTS_CXX_CHECK_H

#include <dlfcn.h>

#include <cstdio>
#include <cstring>

static int checks, failed;
#define CHECK(x)                                                                                                       \
	do {                                                                                                           \
		checks++;                                                                                              \
		if (!(x)) {                                                                                            \
			failed++;                                                                                      \
			std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #x);                     \
		}                                                                                                      \
	} while (0)

/* Prints the test's count; the exit status. */
static inline int cxx_summary(const char *name)
{
	std::printf("%s: %d checks, %d failed\n", name, checks, failed);
	return failed != 0;
}

/* Is the function at f defined by libmemoman-malloc (either build)? */
static inline bool from_memoman(const void *f)
{
	Dl_info info;
	return dladdr(f, &info) && info.dli_fname && std::strstr(info.dli_fname, "libmemoman-malloc");
}

#endif /* MEMOMAN_TESTS_CXX_CHECK_H */

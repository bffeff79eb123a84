// SPDX-License-Identifier: MIT
// test_cxx_headers.cpp - memoman.h and memoman/tlsf.h are usable from C++ (extern "C", no C-only
// syntax), and both headers together in one translation unit.
#include "memoman.h"
#include "memoman/tlsf.h"

#include <cstdio>

alignas(64) static unsigned char arena[1 << 16];

int main()
{
	mm_t mm = mm_create_with_pool(arena, sizeof(arena));
	void *p = mm_malloc(mm, 100);
	tlsf_t t = mm; // the untyped name holds the typed handle
	void *q = tlsf_malloc(t, 200);
	int ok = mm && p && q && mm_validate(mm) && tlsf_check(t) == 0;
	mm_free(mm, p);
	tlsf_free(t, q);
	std::printf("test_cxx_headers: %s\n", ok ? "ok" : "FAILED");
	return ok ? 0 : 1;
}

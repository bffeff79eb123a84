// SPDX-License-Identifier: MIT
/*
 * cxx_plugin.cpp - C++ code that a C program loads with dlopen (test_malloc_cxx_dlopen.c), bringing
 * libstdc++ in after libmemoman-malloc: operator new, the library's, must still find the
 * new-handler and throw std::bad_alloc.
 */
#include <cstddef>
#include <cstdint>
#include <new>

static int handler_calls;
static void handler()
{
	if (++handler_calls == 2)
		std::set_new_handler(nullptr);
}

/* 0: the handler was called twice, then std::bad_alloc was caught. */
extern "C" int plugin_run(void)
{
	std::set_new_handler(handler);
	volatile std::size_t huge = SIZE_MAX / 2;
	try {
		void *p = ::operator new(huge);
		::operator delete(p);
	} catch (const std::bad_alloc &) {
		return handler_calls == 2 ? 0 : 2;
	}
	return 1;
}

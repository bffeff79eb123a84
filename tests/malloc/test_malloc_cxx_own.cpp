// SPDX-License-Identifier: MIT
/*
 * test_malloc_cxx_own.cpp - a program that defines its own operator new and delete (the single
 * forms only, counting, over malloc and free), linked with libmemoman-malloc: its definitions are
 * the ones in effect, and the forms it leaves to the library call them as the standard's defaults
 * do: new[] its new, delete[] and the sized deletes its delete, so its counts see every block.
 * Linked with the shared library, new[] and the sized deletes must be the library's (dladdr): the
 * test is about them. Linked with the static library (MM_TEST_STATIC), which leaves C++ to
 * libstdc++, it checks that the program links at all.
 */
#include <cstdlib>
#include <new>

#include "cxx_check.h"

static long news, deletes;

void *operator new(std::size_t n)
{
	news++;
	void *p = std::malloc(n ? n : 1);
	if (!p)
		throw std::bad_alloc();
	return p;
}

void operator delete(void *p) noexcept
{
	if (p)
		deletes++;
	std::free(p);
}

struct widget {
	long v[5];
};

int main()
{
#ifndef MM_TEST_STATIC
	CHECK(from_memoman(reinterpret_cast<const void *>(static_cast<void *(*)(std::size_t)>(&::operator new[]))));
	CHECK(from_memoman(
	    reinterpret_cast<const void *>(static_cast<void (*)(void *, std::size_t) noexcept>(&::operator delete))));
	CHECK(!from_memoman(reinterpret_cast<const void *>(static_cast<void *(*)(std::size_t)>(&::operator new))));
#endif
	static widget *w[100];
	static int *a[100];
	for (int i = 0; i < 100; i++) {
		w[i] = new widget;
		a[i] = new int[(size_t)i + 1];
	}
	CHECK(news == 200);
	for (int i = 0; i < 100; i++) {
		delete w[i]; /* the sized delete (-fsized-deallocation) */
		delete[] a[i];
	}
	void *p = ::operator new(24), *q = ::operator new[](24);
	::operator delete(p, 24);
	::operator delete[](q, 24);
	CHECK(news == 202 && deletes == 202);
	return cxx_summary("test_malloc_cxx_own");
}

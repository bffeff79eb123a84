// SPDX-License-Identifier: MIT
/*
 * test_malloc_cxx.cpp - C++'s operator new and delete, as libmemoman-malloc defines them (linked
 * before libstdc++, as LD_PRELOAD puts it):
 *   - new, new[], delete, delete[] and the sized deletes are the library's own (dladdr names it), and
 *     their blocks are memoman's (counted by its statistics, all given back);
 *   - the standard's contract when memory runs out: the new-handler is called until it is removed,
 *     then std::bad_alloc is thrown (through the library's frames); an exception a handler throws
 *     reaches the program; nothrow new returns a null pointer; new of 0 bytes gives distinct blocks;
 *   - aligned new (libstdc++'s, through aligned_alloc) is aligned and memoman's;
 *   - bad pointers given to delete (not memoman's, freed already, inside a block) are reported and
 *     refused (MEMOMAN_ERRORS=report), memoman's figures unchanged.
 * test_malloc_cxx_own.cpp checks a program that defines its own new and delete.
 */
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "cxx_check.h"
#include "memoman-malloc.h"

static size_t live_now()
{
	memoman_malloc_stats st;
	memoman_malloc_get_stats(&st);
	return st.live;
}

static uint64_t allocs_now()
{
	memoman_malloc_stats st;
	memoman_malloc_get_stats(&st);
	uint64_t n = st.zone_allocs + st.large_allocs + st.huge_allocs;
	for (const auto &c : st.classes)
		n += c.allocs;
	return n;
}

/* A size no allocator serves, hidden from the compiler (which may otherwise warn or fold). */
static size_t huge_size()
{
	volatile size_t n = SIZE_MAX / 2;
	return n;
}

static int handler_calls;
static void give_up_after_three()
{
	if (++handler_calls == 3)
		std::set_new_handler(nullptr);
}

struct from_handler {
};
static void throw_own() { throw from_handler(); }

struct widget {
	char bytes[40];
};

/* A pointer the compiler cannot trace back to a delete (it would warn of the use after free). */
__attribute__((noinline)) static void *opaque(void *p)
{
	void *volatile v = p;
	return v;
}

int main()
{
	setenv("MEMOMAN_ERRORS", "report", 1); /* bad input is reported and refused, not fatal */
	/* The entry points in effect are the library's. */
	CHECK(from_memoman(reinterpret_cast<const void *>(static_cast<void *(*)(std::size_t)>(&::operator new))));
	CHECK(from_memoman(reinterpret_cast<const void *>(static_cast<void *(*)(std::size_t)>(&::operator new[]))));
	CHECK(from_memoman(reinterpret_cast<const void *>(static_cast<void (*)(void *) noexcept>(&::operator delete))));
	CHECK(
	    from_memoman(reinterpret_cast<const void *>(static_cast<void (*)(void *) noexcept>(&::operator delete[]))));
	CHECK(from_memoman(
	    reinterpret_cast<const void *>(static_cast<void (*)(void *, std::size_t) noexcept>(&::operator delete))));
	CHECK(from_memoman(
	    reinterpret_cast<const void *>(static_cast<void (*)(void *, std::size_t) noexcept>(&::operator delete[]))));

	/* Their blocks are memoman's, and all come back (sized and unsized deletes). */
	size_t live = live_now();
	uint64_t allocs = allocs_now();
	for (int round = 0; round < 3; round++) {
		static char *arrays[300];
		static widget *widgets[300];
		for (int i = 0; i < 300; i++) {
			arrays[i] = new char[(size_t)i * 37 + 1];
			std::memset(arrays[i], i, (size_t)i * 37 + 1);
			widgets[i] = new widget;
			widgets[i]->bytes[0] = (char)i;
		}
		CHECK(live_now() >= live + 300 * sizeof(widget));
		for (int i = 0; i < 300; i++) {
			CHECK(arrays[i][(size_t)i * 37] == (char)i && widgets[i]->bytes[0] == (char)i);
			delete[] arrays[i];
			delete widgets[i]; /* the sized delete, with -fsized-deallocation (C++14's default) */
			void *raw = ::operator new((size_t)i + 1);
			::operator delete(raw, (size_t)i + 1);
			void *raw_array = ::operator new[]((size_t)i * 3 + 1);
			::operator delete[](raw_array, (size_t)i * 3 + 1);
		}
	}
	CHECK(allocs_now() - allocs >= 3 * 4 * 300);
	CHECK(live_now() == live);

	/* new of 0 bytes: a block, distinct from another. */
	void *z1 = ::operator new(0), *z2 = ::operator new(0);
	CHECK(z1 && z2 && z1 != z2);
	::operator delete(z1);
	::operator delete(z2);

	/* Out of memory: the handler, called until it removes itself, then std::bad_alloc. */
	std::set_new_handler(give_up_after_three);
	bool threw = false;
	try {
		void *p = ::operator new(huge_size());
		::operator delete(p);
	} catch (const std::bad_alloc &) {
		threw = true;
	}
	CHECK(threw && handler_calls == 3);
	/* Without a handler: at once. new[] too. */
	threw = false;
	try {
		char *p = new char[huge_size()];
		delete[] p;
	} catch (const std::bad_alloc &) {
		threw = true;
	}
	CHECK(threw && handler_calls == 3);
	/* A handler's own exception reaches the program. */
	std::set_new_handler(throw_own);
	threw = false;
	try {
		void *p = ::operator new(huge_size());
		::operator delete(p);
	} catch (const from_handler &) {
		threw = true;
	}
	CHECK(threw);
	std::set_new_handler(nullptr);
	/* Bad pointers given to delete (reported; MEMOMAN_ERRORS=report, set at the start, lets the
	 * program go on): refused, and memoman's figures unchanged. */
	size_t live_before = live_now();
	static long not_ours[4];
	::operator delete(opaque(not_ours));
	::operator delete(opaque(not_ours), sizeof(not_ours));
	static void *volatile twice;
	twice = ::operator new[](48);
	::operator delete[](twice);
	::operator delete[](twice); /* a double free */
	char *inner = static_cast<char *>(opaque(::operator new(64)));
	size_t with_inner = live_now();
	::operator delete(opaque(inner + 16), 48); /* not a block's start */
	CHECK(live_now() == with_inner && with_inner > live_before);
	::operator delete(inner, 64);
	CHECK(live_now() == live_before);
	/* nothrow: a null pointer instead. */
	CHECK(new (std::nothrow) char[huge_size()] == nullptr);
	char *small = new (std::nothrow) char[10];
	CHECK(small != nullptr);
	delete[] small;

	/* Aligned new: aligned, and memoman's block. */
	allocs = allocs_now();
	uint64_t aligned = 0;
	for (size_t align = 32; align <= 8192; align *= 4, aligned++) {
		void *p = ::operator new(100, std::align_val_t(align));
		CHECK(p && (reinterpret_cast<std::uintptr_t>(p) & (align - 1)) == 0);
		::operator delete(p, std::align_val_t(align));
	}
	CHECK(allocs_now() - allocs == aligned);
	CHECK(live_now() == live);

	return cxx_summary("test_malloc_cxx");
}

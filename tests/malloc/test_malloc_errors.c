// SPDX-License-Identifier: MIT
/*
 * test_malloc_errors.c - what libmemoman-malloc does with a bad free: double frees and pointers no
 * allocation returned (on the stack, inside a block, past a block, of a freed huge block), in every
 * size range; and writes after free into a freed block's list link, which are never followed. By
 * default the process says what and where, and aborts (each case runs in a child
 * process, which must die of SIGABRT with the message); with MEMOMAN_ERRORS=report it says so, the
 * free is refused, and the program goes on with an allocator that still works.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "memoman-malloc.h"
#include "mcheck.h"
#include "names.h"
#include "child.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wfree-nonheap-object" /* the bad frees are the point */
#endif

static void *volatile sink;

/* The pointer, through a volatile: the compiler may not see that it frees what it allocated (it
 * would drop the pair, knowing what malloc and free do). */
static char *opaque(void *p)
{
	sink = p;
	return (char *)sink;
}

/* The bad calls; each returns after the call (when errors are reported and refused). */
static void double_free(size_t n)
{
	char *p = opaque(malloc(n));
	opaque(malloc(n)); /* a neighbour, so that the block does not merge away */
	free(p);
	free(opaque(p));
}
static void double_free_small(void) { double_free(24); }
static void double_free_medium(void) { double_free(5000); }
static void double_free_zone(void) { double_free(100000); }
static void double_free_large(void) { double_free(3 << 20); }
static void double_free_huge(void) { double_free(100 << 20); }
static void stack_pointer(void)
{
	int x;
	free(opaque(&x));
}
static void interior_small(void) { free(opaque(malloc(64)) + 16); }
static void interior_zone(void) { free(opaque(malloc(70000)) + 4096); }
static void interior_huge(void) { free(opaque(malloc(100 << 20)) + 8192); }
static void never_allocated(void) { free(opaque(malloc(32)) + 32 * 40); } /* a block of the page not handed out */
static void realloc_freed(void)
{
	char *p = opaque(malloc(40));
	free(p);
	sink = realloc(opaque(p), 80);
}
static void usable_freed(void)
{
	char *p = opaque(malloc(40));
	free(p);
	sink = (void *)(uintptr_t)malloc_usable_size(opaque(p));
}

/* The same from another thread than the one whose zone holds the block: those frees go on a list
 * that the owner drains later, so they are checked before anything is written. */
static void *free_in_thread(void *p)
{
	free(p);
	return NULL;
}
/* fn(arg) in a new thread, waited for. */
static void in_new_thread(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	if (pthread_create(&t, NULL, fn, arg) == 0)
		pthread_join(t, NULL);
}
static void free_elsewhere(void *p) { in_new_thread(free_in_thread, p); }
static void double_free_zone_remote(void) /* freed here, then there */
{
	char *p = opaque(malloc(100000));
	opaque(malloc(100000));
	free(p);
	free_elsewhere(opaque(p));
}
static void double_free_zone_remote_twice(void) /* freed there twice, before the owner drained */
{
	char *p = opaque(malloc(100000));
	opaque(malloc(100000));
	free_elsewhere(p);
	free_elsewhere(opaque(p));
}
static void double_free_zone_remote_then_owner(void) /* freed there, then here */
{
	char *p = opaque(malloc(100000));
	opaque(malloc(100000));
	free_elsewhere(p);
	free(opaque(p));
}
static void interior_zone_remote(void) { free_elsewhere(opaque(malloc(70000)) + 4096); }
static void usable_interior_zone(void) { sink = (void *)(uintptr_t)malloc_usable_size(opaque(malloc(70000)) + 4096); }
static void usable_interior_small(void) { sink = (void *)(uintptr_t)malloc_usable_size(opaque(malloc(64)) + 16); }
static void usable_stack(void)
{
	char local[32];
	sink = (void *)(uintptr_t)malloc_usable_size(opaque(local));
}
/* A pointer into a segment that has gone back to the OS, freed by the thread whose segment it was
 * and that freed into it just before: free() skips the segment map for the segment it last freed
 * into (its recent segment), which must stop being that when the segment goes. A new thread, so
 * that the segment is its own and holds nothing else. */
static void *free_after_trim(void *arg)
{
	(void)arg;
	char *p = opaque(malloc(64)), *q = opaque(malloc(64));
	free(q);        /* found through the map: the thread's recent segment now */
	free(p);        /* the segment holds nothing now */
	malloc_trim(0); /* the page to the segment, the segment to the cache, the cache to the OS */
	free(opaque(p));
	return NULL;
}
static void free_into_trimmed(void) { in_new_thread(free_after_trim, NULL); }
/* The same for the older of the thread's two recent segments (free() skips the map for the two
 * segments it last freed into): blocks in two segments of the thread's own, a free into each (the
 * first is the older then), the first segment emptied and given back, and a pointer into it freed.
 * The process exits 4 if the first segment was not given back (the case would not test this). */
#define SEGMENT_SIZE ((uintptr_t)4 << 20) /* libmemoman-malloc's segments (MM_SEG_SIZE) */
/* Is address a in a mapping of the process? From /proc/self/maps, read without malloc (an allocation
 * could map a new segment there), which qemu-user writes for its guest: msync and mincore would
 * see its host's reservation of a 32-bit guest's address space instead. */
static int is_mapped(uintptr_t a)
{
	static char maps[1 << 18];
	int fd = open("/proc/self/maps", O_RDONLY);
	if (fd < 0)
		return msync((void *)a, 4096, MS_ASYNC) == 0;
	size_t len = 0;
	ssize_t got;
	while (len < sizeof maps - 1 && (got = read(fd, maps + len, sizeof maps - 1 - len)) > 0)
		len += (size_t)got;
	close(fd);
	maps[len] = 0;
	for (char *line = maps; *line;) {
		char *end;
		unsigned long long lo = strtoull(line, &end, 16), hi = *end == '-' ? strtoull(end + 1, &end, 16) : 0;
		if (a >= lo && a < hi)
			return 1;
		char *next = strchr(line, '\n');
		if (!next)
			break;
		line = next + 1;
	}
	return 0;
}
static void *free_after_trim_older(void *arg)
{
	(void)arg;
	enum { N = 6000 }; /* blocks of 1 KiB: more than a segment holds */
	static char *block[N];
	uintptr_t first = 0;
	int n = 0; /* blocks in the first segment; block[n] is in a second */
	for (; n < N; n++) {
		block[n] = opaque(malloc(1024));
		uintptr_t seg = (uintptr_t)block[n] & ~(SEGMENT_SIZE - 1);
		if (!first)
			first = seg;
		if (seg != first)
			break;
	}
	if (n == N)
		_exit(4);
	for (int i = 1; i < n; i++)
		free(block[i]); /* the first segment is the recent one */
	free(block[n]);         /* the second is, the first the older */
	free(block[0]);         /* the first holds nothing now */
	malloc_trim(0);
	if (is_mapped(first))
		_exit(4); /* still mapped */
	free(opaque(block[0]));
	return NULL;
}
static void free_into_trimmed_older(void) { in_new_thread(free_after_trim_older, NULL); }
static void realloc_freed_zone(void)
{
	char *p = opaque(malloc(100000));
	opaque(malloc(100000));
	free(p);
	sink = realloc(opaque(p), 200000);
}

/* Writes after free into a freed block's list link (its first words): the allocator never hands
 * out the forged address nor writes through it (the process exits 3 if it does). */
static uintptr_t forged_target[32];
static void no_forged(void *p)
{
	if ((uintptr_t)p >= (uintptr_t)forged_target && (uintptr_t)p < (uintptr_t)(forged_target + 32))
		_exit(3);
	for (int i = 0; i < 32; i++)
		if (forged_target[i])
			_exit(3);
}
static void write_after_free(size_t n, int word)
{
	char *a = opaque(malloc(n));
	char *x = opaque(malloc(n));
	char *b = opaque(malloc(n));
	char *y = opaque(malloc(n));
	free(a);
	free(b);
	uintptr_t forged = (uintptr_t)&forged_target[4];
	memcpy(b + (size_t)word * sizeof(uintptr_t), &forged, sizeof(forged)); /* the use after free */
	if (word == 1) {
		free(x); /* merges with a and b (a zone's TLSF blocks): unlinks them */
		no_forged(NULL);
		return;
	}
	for (int i = 0; i < 4; i++)
		no_forged(opaque(malloc(n)));
	(void)y;
}
static void write_after_free_small(void) { write_after_free(64, 0); }
static void write_after_free_medium(void) { write_after_free(3000, 0); }
static void write_after_free_zone(void) { write_after_free(100000, 0); }
static void write_after_free_zone_back_link(void) { write_after_free(100000, 1); }
/* Into a block on another thread's free list of the page (its remote frees), taken back when the
 * page's own list runs out. */
static char *remote_blocks[2000];
static void *free_two(void *arg)
{
	(void)arg;
	free(remote_blocks[500]);
	free(remote_blocks[501]);
	return NULL;
}
static void write_after_remote_free(void)
{
	for (int i = 0; i < 2000; i++)
		remote_blocks[i] = opaque(malloc(48));
	pthread_t t;
	pthread_create(&t, NULL, free_two, NULL);
	pthread_join(t, NULL);
	uintptr_t forged = (uintptr_t)&forged_target[4];
	memcpy(remote_blocks[501], &forged, sizeof(forged));
	for (int i = 0; i < 4000; i++)
		no_forged(opaque(malloc(48)));
}

static const struct {
	const char *name, *message;
	void (*run)(void);
} cases[] = {
    {"double free (small)", "free(): double free", double_free_small},
    {"double free (medium class)", "free(): double free", double_free_medium},
    {"double free (zone)", "free(): double free", double_free_zone},
    {"double free (large)", "free(): double free", double_free_large},
    {"double free (huge)", "free(): invalid pointer", double_free_huge},
    {"stack pointer", "free(): invalid pointer", stack_pointer},
    {"interior (small)", "free(): invalid pointer", interior_small},
    {"interior (zone)", "free(): invalid pointer", interior_zone},
    {"interior (huge)", "free(): invalid pointer", interior_huge},
    {"never handed out", "free(): ", never_allocated}, /* "double free": it is on the free list */
    {"realloc of a freed block", "realloc(): invalid pointer", realloc_freed},
    {"malloc_usable_size of a freed block", "malloc_usable_size(): invalid pointer", usable_freed},
    {"double free (zone, then another thread)", "free(): double free", double_free_zone_remote},
    {"double free (zone, another thread twice)", "free(): double free", double_free_zone_remote_twice},
    {"double free (zone, another thread, then the owner)", "free(): double free", double_free_zone_remote_then_owner},
    {"interior (zone, another thread)", "free(): invalid pointer", interior_zone_remote},
    {"malloc_usable_size of an interior pointer (zone)", "invalid pointer", usable_interior_zone},
    {"malloc_usable_size of an interior pointer (small)", "malloc_usable_size(): invalid pointer",
     usable_interior_small},
    {"malloc_usable_size of a stack pointer", "malloc_usable_size(): invalid pointer", usable_stack},
    {"realloc of a freed block (zone)", "double free", realloc_freed_zone},
    {"free into a segment given back to the OS", "free(): invalid pointer", free_into_trimmed},
    {"free into a segment given back to the OS (the older recent one)", "free(): invalid pointer",
     free_into_trimmed_older},
    {"write after free (small)", "a freed block's list link was overwritten", write_after_free_small},
    {"write after free (medium class)", "a freed block's list link was overwritten", write_after_free_medium},
    {"write after free (zone)", "a freed block's list link was overwritten", write_after_free_zone},
    {"write after free (zone, back-link)", "a freed block's list link was overwritten",
     write_after_free_zone_back_link},
    {"write after free (another thread's free)", "a freed block's list link was overwritten", write_after_remote_free},
};

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_reported(cases[i].name, cases[i].message, cases[i].run);
	free(NULL); /* never an error */
	return check_done("test_malloc_errors");
}

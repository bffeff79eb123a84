// SPDX-License-Identifier: MIT
/*
 * probe.c - the programs bench/footprint/run.sh links for Cortex-M to measure what an allocator adds
 * to firmware. Each is main() calling one allocator's functions once, on inputs the compiler cannot
 * see (volatile), so that everything a real program would call is linked. PROBE_* selects which:
 *   BASELINE  the same program calling nothing (what every other one is measured against)
 *   CORE      memoman's TLSF core: create with a pool, malloc, memalign, realloc, free
 *   FIXED     a fixed-size block pool alone: create, alloc, free
 *   ALL       the whole lower layer in use: the TLSF core as CORE, a fixed pool as FIXED, and a heap
 *             from a preset (create, malloc, calloc, memalign, realloc, free, statistics)
 *   TLSF31    Conte's TLSF 3.1 (tlsf.c of a checkout given by TLSF31_DIR): the calls of CORE
 *   O1HEAP    o1heap (O1HEAP_DIR): init, allocate, free (it has no memalign or realloc)
 */
#include <stddef.h>
#include <stdint.h>

#if defined(PROBE_CORE) || defined(PROBE_FIXED) || defined(PROBE_ALL)
#include "memoman.h"
#endif
#ifdef PROBE_TLSF31
#include "tlsf.h"
/* TLSF 3.1 reports bad pools with printf: stubbed, as firmware without stdio would. */
int printf(const char *format, ...);
int printf(const char *format, ...)
{
	(void)format;
	return 0;
}
#endif
#ifdef PROBE_O1HEAP
#include "o1heap.h"
#endif

/* Never run (only linked and measured): sized to fit the smallest board's RAM beside the stack. */
static _Alignas(16) uint32_t arena[1024];
static _Alignas(16) uint32_t arena2[1024];
volatile size_t in_size = 100, in_align = 64;
void *volatile sink;

int main(void);
int main(void)
{
#if defined(PROBE_CORE) || defined(PROBE_ALL)
	mm_t t = mm_create_with_pool(arena, sizeof arena);
	void *a = mm_malloc(t, in_size);
	void *b = mm_memalign(t, in_align, in_size);
	a = mm_realloc(t, a, in_size * 2);
	mm_free(t, b);
	sink = a;
	mm_free(t, a);
#endif
#if defined(PROBE_FIXED) || defined(PROBE_ALL)
	mm_fixed_t f = mm_fixed_create(arena2, sizeof arena2 / 2, in_size, 0, 0);
	void *c = mm_fixed_alloc(f);
	sink = c;
	mm_fixed_free(f, c);
#endif
#ifdef PROBE_ALL
	mm_heap_config cfg;
	size_t half = sizeof arena2 / 2;
	mm_heap_t h = mm_heap_preset(MM_HEAP_PRESET_EMBEDDED, half, &cfg)
	                  ? mm_heap_create((char *)arena2 + half, half, &cfg)
	                  : NULL;
	void *d = mm_heap_malloc(h, in_size);
	void *e = mm_heap_calloc(h, 2, in_size);
	void *g = mm_heap_memalign(h, in_align, in_size);
	d = mm_heap_realloc(h, d, in_size * 3);
	mm_stats st;
	sink = mm_get_stats(h, &st) ? g : e;
	mm_heap_free(h, d);
	mm_heap_free(h, e);
	mm_heap_free(h, g);
#endif
#ifdef PROBE_TLSF31
	tlsf_t t = tlsf_create_with_pool(arena, sizeof arena);
	void *a = tlsf_malloc(t, in_size);
	void *b = tlsf_memalign(t, in_align, in_size);
	a = tlsf_realloc(t, a, in_size * 2);
	tlsf_free(t, b);
	sink = a;
	tlsf_free(t, a);
#endif
#ifdef PROBE_O1HEAP
	O1HeapInstance *h = o1heapInit(arena, sizeof arena);
	void *a = o1heapAllocate(h, in_size);
	void *b = o1heapAllocate(h, in_align);
	o1heapFree(h, b);
	sink = a;
	o1heapFree(h, a);
#endif
	/* Every probe, the baseline included, keeps both arenas and both inputs. */
	sink = (void *)((uintptr_t)arena + (uintptr_t)arena2 + in_size + in_align);
	return 0;
}

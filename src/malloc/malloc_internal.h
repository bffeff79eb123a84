// SPDX-License-Identifier: MIT
/*
 * malloc_internal.h - libmemoman-malloc's layout: segments, pages, size classes, thread caches, and
 * the inline pieces of the fast paths (private; the tests reach internals through here).
 *
 * Address space comes from the OS in segments of MM_SEG_SIZE bytes, aligned to their size, so that
 * a pointer's segment is its address with the low bits cleared. A bitmap over the whole address
 * space (the segment map) says which segments are ours: free() looks there first and never reads
 * memory it does not own. A segment is one of four kinds:
 *
 *   SMALL    64 pages of 64 KiB; each page holds blocks of one size class (up to 16 KiB)
 *   ZONE     one pool of a thread's zone, a TLSF instance (the lower layer's mm_t): requests up to
 *            1 MiB
 *   LARGE    a pool of MM_LARGE_POOL bytes (several segments) of the large region, the process's
 *            shared TLSF instance for requests up to MM_LARGE_MAX; its other segments are marked
 *            MM_MAP_INTERIOR in the segment map
 *   HUGE     one huge block, mapped for it (anything larger, or a large alignment)
 *
 * Every segment starts with the same header (struct mm_segment), whose page descriptors describe
 * the pages of SMALL segments; page i of a segment starts at i << page_shift (page 0
 * after the header). A page belongs to one thread cache (struct mm_tcache, a thread's own state).
 * Its owner allocates and frees without atomic operations; other threads push freed blocks on the
 * page's thread_free list (one CAS) and the owner takes them back when it runs out. A thread that
 * exits abandons its segments; other threads adopt them when they need pages.
 *
 * Free blocks hold the next free block in their first word and a cookie (their address xor a
 * per-process secret) in the second: free() refuses a block whose cookie says it is free already.
 */
#ifndef MEMOMAN_MALLOC_INTERNAL_H
#define MEMOMAN_MALLOC_INTERNAL_H

#include <limits.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../bits.h"
#include "../common.h"
#include "memoman-malloc.h"
#include "memoman.h"

/* ---- Sizes --------------------------------------------------------------------------------------- */

/* The zones and the large region tell a successful free from a refused one by the TLSF core's
 * counters, and grow to many pools. */
_Static_assert(MM_OBSERVE, "libmemoman-malloc needs MM_OBSERVE=1");
_Static_assert(MM_CHECKS <= 2, "libmemoman-malloc's copy of the TLSF core is built at MM_CHECKS 0 to 2 (its "
                               "hardening is the secure build, MM_SECURE=1)");
_Static_assert(MM_MAX_POOLS >= 32, "libmemoman-malloc needs MM_MAX_POOLS of 32 or more (CMakeLists.txt sets it)");

#define MM_SEG_SHIFT 22
#define MM_SEG_SIZE ((size_t)1 << MM_SEG_SHIFT) /* 4 MiB */
#define MM_SEG_MASK (MM_SEG_SIZE - 1)
#define MM_SMALL_PAGE_SHIFT 16                            /* 64 KiB */
#define MM_PAGES_MAX (MM_SEG_SIZE >> MM_SMALL_PAGE_SHIFT) /* 64 */
#define MM_SEG_HEADER ((size_t)16384)                     /* the header; page 0 starts after it */
/* The secure build's guard at the end of each segment of MM_SEG_SIZE and of each large pool: its last
 * OS page, made inaccessible when mapped, so that a write running off the last block faults instead
 * of reaching the next segment's header and blocks (mm_os_page_size(): os/os.h). 0 otherwise. */
#define MM_SEG_GUARD (MM_SECURE ? mm_os_page_size() : (size_t)0)

#define MM_MIN_ALIGN ((size_t)16)                /* every block's alignment (the TLSF core's MM_ALIGN too) */
#define MM_DIRECT_MAX 1024                       /* largest request of malloc's fast path (tcache->direct) */
#define MM_CLASS_MAX 16384                       /* largest size class */
#define MM_ZONE_MAX 1048576                      /* largest request served by a thread's zone */
#define MM_LARGE_POOL ((size_t)64 << 20)         /* a pool of the large region */
#define MM_LARGE_MAX ((size_t)32 << 20)          /* largest request served there */
#define MM_DIRECT_STEPS (MM_DIRECT_MAX / 16 + 1) /* requests up to MM_DIRECT_MAX, by 16-byte steps */
#define MM_CLASSES 36

/*
 * MM_SECURE=1 builds libmemoman-malloc-secure, the secure build (docs/malloc.md, "The secure build"):
 *   - the last word of every class block and zone block is a canary: the slack after the size asked
 *     for, mixed with the block's address and a per-process key. At free the canary must decode, and
 *     the slack's bytes must still be zero: a write past the end is reported (the usable
 *     size is MM_CANARY_BYTES smaller than the class's);
 *   - a freed class block is zeroed (but for its link and cookie) and checked when it is handed out
 *     again: a write after free is reported then, and malloc hands out zeroed memory; a segment
 *     taken from the cache is cleaned (segment.c), a page that gives its slot back checks its
 *     blocks and leaves the slot all zero, and the next page there checks each block it carves
 *     (page.c); the zones' TLSF core keeps freed memory zero
 *     (MM_ZERO_FREED, which the build sets beside MM_SECURE) and a zone block handed out is checked
 *     (zone.c);
 *   - a freed block goes second on its page's list, not first: the next request does not get it;
 *   - the blocks a page carves join its free list in a random order;
 *   - each segment and large pool ends at a guard page (MM_SEG_GUARD);
 *   - requests above MM_GUARDED_MIN get a mapping each, ending at a guard page, quarantined
 *     inaccessible when freed (huge.c);
 *   - sized frees (free_sized, C++'s sized delete) naming more than the block holds are reported.
 * 0 (libmemoman-malloc): none of it is compiled in.
 */
#ifndef MM_SECURE
#define MM_SECURE 0
#endif
#define MM_CANARY_BYTES (MM_SECURE ? sizeof(uintptr_t) : 0)
_Static_assert(MM_CLASSES == MEMOMAN_MALLOC_CLASSES, "the public class count is the internal one");

/* Addresses the segment map covers. On 64-bit targets: below 2^57, the widest user address space
 * of any 64-bit Linux (x86-64 with 5-level paging; arm64 and ppc64 reach 2^52, arm64 with 4 KiB
 * pages and 4-level x86-64 2^48 and 2^47). The map has two levels there: a top array in .bss (one
 * word per 2^MM_SEGMAP_LEAF_BITS segments, 2 TiB of address space) whose entries are the offsets
 * of leaves (one byte per segment) mapped on demand when a segment first lands in their range; an
 * entry still 0 points at mm_segmap_zero, a leaf of zeros in .bss, so that a look-up never tests
 * for a missing leaf. On 32-bit targets one flat byte array covers the whole address space. */
#if UINTPTR_MAX > 0xFFFFFFFFu
#define MM_ADDR_BITS 57
#define MM_SEGMAP_LEAF_BITS 19
#define MM_SEGMAP_TWO_LEVEL 1
#else
#define MM_ADDR_BITS 32
#define MM_SEGMAP_LEAF_BITS (MM_ADDR_BITS - MM_SEG_SHIFT)
#define MM_SEGMAP_TWO_LEVEL 0
#endif
#define MM_SEGMAP_LEAF ((size_t)1 << MM_SEGMAP_LEAF_BITS) /* bytes of a leaf: segments it covers */
#define MM_SEGMAP_TOP ((size_t)1 << (MM_ADDR_BITS - MM_SEG_SHIFT - MM_SEGMAP_LEAF_BITS)) /* top entries */
#define MM_SEGMAP_BYTES MM_SEGMAP_LEAF /* the flat map of 32-bit targets, the zero leaf of 64-bit ones */
/* What the segment map says of a segment of the address space: nothing of ours, a segment without
 * size-class pages (ZONE, LARGE, HUGE), a later segment of a LARGE pool, or a segment of size-class
 * pages (SMALL): every page of those is MM_SMALL_PAGE_SHIFT long, so free() finds the page of a
 * pointer from the map's byte and the address alone, without reading the segment's header. */
enum { MM_MAP_NONE = 0, MM_MAP_SEGMENT = 1, MM_MAP_INTERIOR = 2, MM_MAP_SMALL = 3 };

/* Blocks of a class whose size is a multiple of an alignment up to this are all so aligned: page 0
 * of a segment starts at MM_SEG_HEADER, the others at multiples of 64 KiB (not the OS page size,
 * which only decides what can be purged). */
#define MM_CLASS_ALIGN_MAX ((size_t)4096)
_Static_assert(MM_SEG_HEADER % MM_CLASS_ALIGN_MAX == 0,
               "page 0 starts on a boundary of MM_CLASS_ALIGN_MAX, for memalign from classes");
_Static_assert(MM_PAGES_MAX <= 64, "a segment's page slots fit a 64-bit mask");

/* Size class of a request of n bytes (n <= MM_CLASS_MAX): 16-byte steps up to 128, then four
 * classes per power of two (at most 25% rounding, 12.5% on average). */
/* v's digits in base 10 or 16 (lower case), most significant first, into out (room for 20); returns
 * their count. For what is written without stdio: messages, the report, the trace. */
MM_INLINE size_t mm_digits(char *out, uint64_t v, unsigned base)
{
	char t[20];
	size_t n = 0;
	do {
		t[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = t[n - 1 - i];
	return n;
}

MM_INLINE unsigned mm_class_of(size_t n)
{
	if (n <= 128)
		return n ? (unsigned)((n - 1) >> 4) : 0;
	unsigned b = mm_fls_size(n - 1); /* 7 .. 13 */
	return 8 + (b - 7) * 4 + (unsigned)(((n - 1) >> (b - 2)) & 3);
}

/* Block size of class c. */
MM_INLINE size_t mm_class_size(unsigned c)
{
	if (c < 8)
		return (size_t)(c + 1) << 4;
	unsigned b = 7 + (c - 8) / 4, sub = (c - 8) % 4;
	return (size_t)(5 + sub) << (b - 2);
}

/* ---- Blocks, pages, segments ---------------------------------------------------------------------- */

typedef struct mm_cblock {
	struct mm_cblock *next;
	uintptr_t cookie; /* address ^ mm_secret while free */
} mm_cblock;

struct mm_tcache;

/* A page descriptor. The first 64 bytes are what the fast paths touch. */
typedef struct mm_page {
	mm_cblock *free;                  /* the owner's free list */
	uint32_t used;                    /* blocks not on the owner's free list */
	_Atomic uint32_t capacity;        /* blocks carved so far: index < capacity is a block of ours
	                                       (relaxed: a remote free reads it, the owner grows it) */
	uintptr_t start;                  /* the first block */
	uintptr_t inv;                    /* block index: rotr((a - start) * inv, shift), see fixed_internal.h */
	_Atomic uintptr_t owner;          /* the owner's thread cache | MM_OWNER_FULL; 0 while abandoned */
	_Atomic(mm_cblock *) thread_free; /* blocks freed by other threads */
	uint32_t bsize;                   /* block size */
	uint8_t shift;                    /* block index rotation */
	uint8_t cls;                      /* size class */
	uint8_t in_full;                  /* on the thread cache's full list */
	uint8_t slot;                     /* index in its segment */
	uint64_t allocs; /* blocks handed out since the page was set up (statistics: see mm_segments_count) */
	/* Second line: the owner's bookkeeping. */
	uint32_t reserved; /* blocks that fit */
	uint32_t unused;
	struct mm_page *next, *prev; /* the thread cache's queue for the class, or its full list */
	uint64_t pad[5];
} mm_page;

_Static_assert(sizeof(mm_page) == 128 || UINTPTR_MAX <= 0xFFFFFFFFu, "two cache lines per page descriptor");

/* The kinds of segments; those before MM_SEG_ZONE hold size-class pages (a thread cache's own). */
enum mm_segment_kind { MM_SEG_SMALL, MM_SEG_ZONE, MM_SEG_HUGE, MM_SEG_LARGE, MM_SEG_KINDS };

/* The advice a segment's mapping carries about the kernel's transparent huge pages (THP; it outlives
 * a reuse from the cache): none given, THP asked for, or refused (see segment.c). */
enum mm_segment_thp { MM_THP_NONE, MM_THP_ASKED, MM_THP_REFUSED };

struct mm_zone;

typedef struct mm_segment {
	uintptr_t cookie;                   /* the segment's address ^ mm_secret: a live segment header */
	uint8_t kind;                       /* enum mm_segment_kind */
	uint8_t page_shift;                 /* page i starts at i << page_shift; MM_SEG_SHIFT: one page */
	uint8_t page_count;                 /* page slots */
	uint8_t abandoned;                  /* on the abandoned list */
	uint8_t thp;                        /* enum mm_segment_thp: its THP advice */
	uint8_t shard;                      /* LARGE: its shard of the large region */
	uint32_t used_pages;                /* slots in use */
	uint64_t free_slots;                /* bit i: slot i is free */
	uint64_t dirty_slots;               /* bit i: slot i is free and its memory not yet returned */
	uint64_t dirty_since;               /* ms: when the oldest dirty slot was freed */
	_Atomic(struct mm_tcache *) tcache; /* owner; NULL while abandoned or cached */
	struct mm_segment *next, *prev;     /* the owner's list, the abandoned list or the cache */
	size_t mapped;                      /* bytes mapped (HUGE: the whole mapping) */
	struct mm_zone *zone;               /* ZONE: its zone */
	void *huge_block;                   /* HUGE: the block; ZONE: the start of its pool's blocks */
	size_t huge_size;                   /* HUGE: its usable size */
	uint64_t cached_at;                 /* in the cache since (ms) */
	uint64_t purged_slots; /* bit i: slot i is free and was purged (its bytes counted in mm_stat_purged) */
	size_t purged_bytes;   /* bytes of this segment counted in mm_stat_purged now */
	_Alignas(64) mm_page pages[MM_PAGES_MAX]; /* each descriptor's first half on one cache line */
} mm_segment;

_Static_assert(sizeof(mm_segment) <= MM_SEG_HEADER, "the segment header fits before page 0");

/* ---- The thread cache ------------------------------------------------------------------------------- */

typedef struct mm_page_queue {
	mm_page *first, *last;
} mm_page_queue;

/* An entry of a thread cache's recent_segments that holds none: no segment's address (those are aligned). */
#define MM_NO_RECENT_SEGMENT ((uintptr_t)1)
/* How many recent segments a thread cache keeps (free's fast path compares with each, written out). */
#define MM_RECENT_SEGMENTS 2

typedef struct mm_tcache {
	/* The two SMALL segments of this thread cache's that free() last found through the segment map
	 * with a page of this thread's, the latest first: free() compares a pointer's segment with them
	 * before it reads the map, so most frees skip the map (two, because a program's blocks of one
	 * phase often lie in two segments: with one, a quarter of alloc-test's frees read the map). Only
	 * ever segments in this thread cache's lists (mapped, their map byte MM_MAP_SMALL);
	 * mm_segment_release and mm_segment_abandon reset an entry to MM_NO_RECENT_SEGMENT when its
	 * segment leaves them. Written and read by the owner thread alone. */
	uintptr_t recent_segments[MM_RECENT_SEGMENTS];
	mm_page *direct[MM_DIRECT_STEPS];  /* the current page for requests of each 16-byte step */
	mm_page_queue queues[MM_CLASSES];  /* pages of each class that may have free blocks */
	mm_page_queue full;                /* pages with none (until remote frees arrive) */
	_Atomic int remote_pending;        /* a remote free happened since the owner last looked */
	int initialized;                   /* 0: the shared empty thread cache of threads not yet set up */
	mm_segment *segments[MM_SEG_ZONE]; /* SMALL segments owned */
	struct mm_zone *zone;              /* the zone for medium requests, or NULL */
	uint32_t slow_calls;               /* slow-path calls, to pace the clock */
	uint32_t large_shard;              /* the large region's shard it tries first */
	uint64_t next_tick_ms;
	/* Statistics (relaxed atomics: the owner writes with plain loads and stores, anyone reads). Size
	 * classes are counted in their pages (mm_page.allocs, mm_page.used). A zone block is counted
	 * freed by the thread that frees it into its zone, so one thread cache's zone_bytes alone may be
	 * negative (modulo 2^64); the sum over every thread cache and the exited ones is exact. */
	_Atomic uint64_t zone_allocs, large_allocs, huge_allocs;
	_Atomic uint64_t zone_bytes;           /* usable bytes of zone blocks allocated minus freed by this thread */
	struct mm_tcache *next_all, *prev_all; /* every thread cache (under the global lock) */
	struct mm_tcache *next_free;           /* the list of spare thread caches of exited threads */
} mm_tcache;

/* The zone of a thread: medium requests (above MM_CLASS_MAX, up to MM_ZONE_MAX). */
typedef struct mm_zone {
	mm_t tlsf;                   /* its instance (control in the first segment) */
	_Atomic(mm_tcache *) owner;  /* NULL while abandoned */
	_Atomic(mm_cblock *) remote; /* blocks freed by other threads */
	mm_segment *segments;        /* its pools, first one holding this and the control */
	uint32_t pools;              /* segments */
	struct mm_zone *next_abandoned;
	uint64_t live;       /* blocks in use */
	size_t purged_bytes; /* bytes of its free spans counted in mm_stat_purged now */
} mm_zone;

/* ---- Globals --------------------------------------------------------------------------------------- */

/* The segment map: MM_MAP_* for every segment of the address space. Zero-filled arrays in .bss, not
 * mappings made at set-up: free() and its kin may be called before malloc ever was (a constructor
 * of another library that runs first calls free(NULL)), and they find every segment MM_MAP_NONE
 * then. Their pages cost nothing until a segment near them is mapped (the zero leaf's never: it
 * is only read). 64-bit: mm_segmap_top[i] is the address of the leaf of segments
 * [i << MM_SEGMAP_LEAF_BITS, (i + 1) << MM_SEGMAP_LEAF_BITS) minus that of mm_segmap_zero, set
 * once (mm_segmap_reserve) and never cleared; 32-bit: mm_segmap_zero is the map itself. */
/* Data of this layer only, even in the shared library: addressed directly, not through the GOT (on
 * arm64 that is one load less for each on the fast paths). */
#if defined(__GNUC__) || defined(__clang__)
#define MM_HIDDEN __attribute__((visibility("hidden")))
#else
#define MM_HIDDEN
#endif
#if MM_SEGMAP_TWO_LEVEL
extern _Atomic uintptr_t mm_segmap_top[MM_SEGMAP_TOP] MM_HIDDEN;
#endif
extern _Atomic uint8_t mm_segmap_zero[MM_SEGMAP_BYTES] MM_HIDDEN;
extern uintptr_t mm_secret MM_HIDDEN;     /* per process: free blocks hold their address ^ secret */
extern uintptr_t mm_link_key MM_HIDDEN;   /* per process: what free blocks' links are sealed with */
extern uintptr_t mm_canary_key MM_HIDDEN; /* per process (MM_SECURE): what class blocks' canaries mix in */

extern mm_page mm_page_empty MM_HIDDEN;     /* a page with nothing: the direct entries of an empty thread cache */
extern mm_tcache mm_tcache_empty MM_HIDDEN; /* the thread cache of a thread not set up yet */

#if defined(__GNUC__) || defined(__clang__)
#define MM_TLS_MODEL __attribute__((tls_model("initial-exec")))
#else
#define MM_TLS_MODEL
#endif
extern _Thread_local mm_tcache *mm_tl_tcache MM_TLS_MODEL;

/* ---- Inline pieces of the fast paths ---------------------------------------------------------------- */

#if MM_SECURE
void mm_secure_written_after_free(const void *block) MM_HIDDEN; /* reported (alloc.c) */
void mm_secure_overflow(const void *block) MM_HIDDEN;           /* reported (alloc.c) */
void mm_secure_underflow(const void *block) MM_HIDDEN;          /* reported (alloc.c) */
/* A class or zone block's canary code (common.h's canary, keyed per process). */
MM_INLINE uintptr_t mm_canary_of(const void *block) { return mm_canary_code(block, mm_canary_key); }

/* Everything after a free class block's link and cookie must still be zero (else a write after
 * free is reported). O(bsize). */
MM_INLINE void mm_secure_check_zero(void *block, size_t bsize)
{
	uintptr_t *w = (uintptr_t *)block;
	for (size_t i = 2; i < bsize / sizeof(uintptr_t); i++)
		if (MM_UNLIKELY(w[i] != 0)) {
			mm_secure_written_after_free(block);
			for (; i < bsize / sizeof(uintptr_t); i++) /* reported once (MEMOMAN_ERRORS=report) */
				w[i] = 0;
			break;
		}
}

/* A class block of `bsize` bytes leaves a free list: it and the one that becomes the list's head
 * (`next`, or NULL) are checked, since a freed block goes second on the list (the next request
 * would not look at it), and its link is cleared (the block comes out all zero). */
MM_INLINE void mm_secure_handout(void *block, void *next, size_t bsize)
{
	mm_secure_check_zero(block, bsize);
	if (next)
		mm_secure_check_zero(next, bsize);
	((uintptr_t *)block)[0] = 0;
}

/* The block (of bsize bytes, a class block or a zone's block) is the program's for its first n
 * bytes: its canary (common.h) written; the slack's bytes are zero (they were checked or made so). */
MM_INLINE void *mm_secure_seal(void *block, size_t bsize, size_t n)
{
	if (block)
		mm_canary_put(block, bsize, n, mm_canary_of(block));
	return block;
}

/* A zone's or the large region's block (a TLSF block asked for MM_CANARY_BYTES more) is the
 * program's for n bytes: the slack zeroed, the canary written (zone.c). */
void *mm_secure_tlsf_seal(void *p, size_t n) MM_HIDDEN;
/* At free: such a block's canary and slack as sealed; else reported (a write past the end) and 0. */
int mm_secure_tlsf_intact(void *p, size_t usable) MM_HIDDEN;

/* The size the block's canary holds, if the canary and the bytes between that size and it are
 * untouched; SIZE_MAX if not (a write past the end). */
MM_INLINE size_t mm_secure_intact(void *block, size_t bsize)
{
	return mm_canary_intact(block, bsize, mm_canary_of(block));
}

/* At free of the class block at a in page p: the word before it, the previous block's last (unless
 * it is the page's first), is what that block's state leaves there: its canary if it is live, zero
 * if it is free or was never handed out, or its cookie if it is free and two words long. Anything
 * else was written there: an underflow of this block, or an overflow of that one (0). Another
 * thread may free, hand out or resize the previous block meanwhile, going from one of those values
 * to another with one store: the word is loaded once (relaxed), and that value is judged. */
MM_INLINE int mm_secure_before_intact(const mm_page *p, uintptr_t a)
{
	if (a == p->start)
		return 1;
	void *prev = (void *)(a - p->bsize);
	uintptr_t w = __atomic_load_n((const uintptr_t *)a - 1, __ATOMIC_RELAXED);
	return w == 0 || w == ((uintptr_t)prev ^ mm_secret) ||
	       mm_canary_decode(w, p->bsize, mm_canary_of(prev)) != SIZE_MAX;
}

/* At free: the block intact (else 0, for the caller to report), then zeroed after its link and
 * cookie, for mm_secure_handout to check. */
MM_INLINE int mm_secure_release(void *block, size_t bsize)
{
	if (MM_UNLIKELY(mm_secure_intact(block, bsize) == SIZE_MAX))
		return 0;
	uintptr_t *w = (uintptr_t *)block;
	for (size_t i = 2; i < bsize / sizeof(uintptr_t); i++)
		w[i] = 0;
	return 1;
}
#define MM_SECURE_HANDOUT(b, next, bsize) mm_secure_handout((b), (next), (bsize))
#define MM_SECURE_SEAL(b, bsize, n) mm_secure_seal((b), (bsize), (n))
#else
#define MM_SECURE_HANDOUT(b, next, bsize) ((void)0)
#define MM_SECURE_SEAL(b, bsize, n) (b)
#endif

MM_INLINE uint64_t mm_relaxed_load(_Atomic uint64_t *a) { return atomic_load_explicit(a, memory_order_relaxed); }
/* An owner-only counter that others may read: a plain add on x86, no lock prefix. */
MM_INLINE void mm_relaxed_add(_Atomic uint64_t *a, uint64_t v)
{
	atomic_store_explicit(a, atomic_load_explicit(a, memory_order_relaxed) + v, memory_order_relaxed);
}

/* Is address a beyond what the segment map covers? (Never on 32-bit targets.) */
MM_INLINE int mm_addr_unmappable(uintptr_t a)
{
#if MM_SEGMAP_TWO_LEVEL
	return (a >> (MM_SEG_SHIFT + MM_SEGMAP_LEAF_BITS)) >= MM_SEGMAP_TOP; /* a >> MM_ADDR_BITS != 0 */
#else
	(void)a;
	return 0;
#endif
}

/* The leaf of the segment map for address a (a covered: !mm_addr_unmappable(a)): the zero leaf if
 * none was mapped for its range. */
MM_INLINE _Atomic uint8_t *mm_segmap_leaf(uintptr_t a)
{
#if MM_SEGMAP_TWO_LEVEL
	uintptr_t off =
	    atomic_load_explicit(&mm_segmap_top[a >> (MM_SEG_SHIFT + MM_SEGMAP_LEAF_BITS)], memory_order_relaxed);
	return (_Atomic uint8_t *)((uintptr_t)mm_segmap_zero + off);
#else
	(void)a;
	return mm_segmap_zero;
#endif
}

/* What the segment map says of the segment of address a (MM_MAP_*). Relaxed loads, both levels: a
 * thread that frees a pointer of ours got it after the segment was marked (which came after its
 * leaf was installed); a leaf read through a stale or foreign pointer is zeros from the kernel or
 * a byte being changed, never anything else. */
MM_INLINE unsigned mm_segmap_get(uintptr_t a)
{
	if (MM_UNLIKELY(mm_addr_unmappable(a)))
		return MM_MAP_NONE;
	return (unsigned)atomic_load_explicit(&mm_segmap_leaf(a)[(a >> MM_SEG_SHIFT) & (MM_SEGMAP_LEAF - 1)],
	                                      memory_order_relaxed);
}

/* Is address a inside a segment of ours (one with a header)? */
MM_INLINE int mm_segmap_has(uintptr_t a)
{
	unsigned code = mm_segmap_get(a);
	return code == MM_MAP_SEGMENT || code == MM_MAP_SMALL;
}

MM_INLINE uint32_t mm_page_capacity(const mm_page *p)
{
	return atomic_load_explicit((_Atomic uint32_t *)&p->capacity, memory_order_relaxed);
}

MM_INLINE mm_segment *mm_segment_of(uintptr_t a) { return (mm_segment *)(a & ~(uintptr_t)MM_SEG_MASK); }

/*
 * A free class block's link to the next (a page's free list, its list of other threads' frees, a
 * zone's list of them) lives in freed memory, where a program's use after free writes. It is stored
 * sealed, xor-ed with the process's mm_link_key and the block's own address, and a link read from a
 * page's lists is followed only if it leads to a 16-byte-aligned address in the same segment
 * (mm_cblock_link_ok: memory of ours, 3 instructions). What a stray write leaves there unseals to an
 * address that fails it; a forged link that passed would still lead into our own segment, never to
 * an address a program chose outside it.
 */
MM_INLINE mm_cblock *mm_cblock_next(const mm_cblock *b)
{
	return (mm_cblock *)((uintptr_t)b->next ^ mm_link_key ^ (uintptr_t)b);
}
MM_INLINE void mm_cblock_set_next(mm_cblock *b, const mm_cblock *next)
{
	b->next = (mm_cblock *)((uintptr_t)next ^ mm_link_key ^ (uintptr_t)b);
}
/* next (not NULL), read from b, lies in b's segment and is aligned as every block is. */
MM_INLINE int mm_cblock_link_ok(const mm_cblock *b, const mm_cblock *next)
{
	return (((uintptr_t)next ^ (uintptr_t)b) & (~(uintptr_t)MM_SEG_MASK | (MM_MIN_ALIGN - 1))) == 0;
}
/* A link that failed mm_cblock_link_ok (in a page's lists, or a zone's remote list): reported as heap
 * corruption (the misuse message, then abort unless MEMOMAN_ERRORS=report). Cold. */
void mm_cblock_broken(const mm_cblock *b);
/* The pop of b, the head of page p's free list, whose link failed: reported (mm_cblock_broken), the
 * rest of the list dropped, b handed out. Out of line, so that the fast paths that call it last
 * (a tail call) save no registers for it. */
MM_NOINLINE MM_COLD void *mm_cblock_pop_broken(mm_page *p, mm_cblock *b);

/*
 * A page's owner word: the address of its owner's thread cache, with MM_OWNER_FULL set while the
 * page is on the owner's full list (in_full), and MM_OWNER_TRACED while MEMOMAN_TRACE records.
 * free()'s fast path compares it with the calling thread's cache: one comparison tells "not mine",
 * "mine, but full" (whose free must move the page back to its class's queue) and "to be recorded"
 * from the common case. Written by the owner (and by a thread that adopts or abandons the page);
 * read by any thread that frees into it.
 */
#define MM_OWNER_FULL ((uintptr_t)1)
#define MM_OWNER_TRACED ((uintptr_t)2)
extern unsigned mm_trace_state; /* read and written with relaxed __atomic builtins (trace.c) */
enum { MM_TRACE_UNDECIDED = 0, MM_TRACE_OFF = 1, MM_TRACE_ON = 2 };
_Static_assert(_Alignof(mm_tcache) >= 4, "the owner word's two low bits are free");
MM_INLINE struct mm_tcache *mm_page_owner(const mm_page *p)
{
	uintptr_t w = atomic_load_explicit((_Atomic uintptr_t *)&p->owner, memory_order_seq_cst);
	return (struct mm_tcache *)(w & ~(MM_OWNER_FULL | MM_OWNER_TRACED));
}
MM_INLINE void mm_page_set_owner(mm_page *p, const struct mm_tcache *tc, int full, memory_order order)
{
	uintptr_t w = (uintptr_t)tc;
	if (tc && full)
		w |= MM_OWNER_FULL;
	if (tc && MM_UNLIKELY(__atomic_load_n(&mm_trace_state, __ATOMIC_RELAXED) == MM_TRACE_ON))
		w |= MM_OWNER_TRACED;
	atomic_store_explicit(&p->owner, w, order);
}

/* The page descriptor of address a, in a segment of class pages (MM_MAP_SMALL): found from the
 * address alone, a constant shift and mask, so that free() need not read the segment's header. */
MM_INLINE mm_page *mm_page_at(uintptr_t a)
{
	uintptr_t off = ((a & MM_SEG_MASK) >> MM_SMALL_PAGE_SHIFT) * sizeof(mm_page);
	if (sizeof(mm_page) == 128) /* the index scaled by one shift and one mask: (a >> 9) & 0x1f80 */
		off = (a >> (MM_SMALL_PAGE_SHIFT - 7)) & ((MM_PAGES_MAX - 1) << 7);
	mm_page *p = (mm_page *)((a & ~(uintptr_t)MM_SEG_MASK) + offsetof(mm_segment, pages) + off);
#if defined(__GNUC__) || defined(__clang__)
	/* p in one register, every field at an offset from it: otherwise GCC keeps two bases (the
	 * segment plus the scaled index for the fields, and p for the calls), three more instructions. */
	__asm__("" : "+r"(p));
#endif
	return p;
}

/* The index of the block at a in page p, or a number >= capacity if a is not the start of a block
 * carved there (a multiply and a rotate instead of a division: see fixed_internal.h). */
MM_INLINE size_t mm_block_index(const mm_page *p, uintptr_t a)
{
	uintptr_t x = (a - p->start) * p->inv;
	const unsigned bits = sizeof(uintptr_t) * CHAR_BIT;
	return (size_t)((x >> p->shift) | (x << ((bits - p->shift) % bits)));
}

/* ---- Internal functions (segment.c, page.c, tcache.c, zone.c, huge.c, stats.c) ---------------------- */

/* Process set-up, idempotent and thread-safe: the secret, the segment map, the thread-exit key. */
void mm_process_init(void);
/* The calling thread's thread cache, set up on first use (never the empty thread cache). */
mm_tcache *mm_tcache_get(void);
/* The global lock (segment cache, abandoned lists, thread cache list, huge cache) and fork support. */
void mm_global_lock(void);
void mm_global_unlock(void);

/* Small and medium classes: the slow path of malloc for class c, and page upkeep. */
void *mm_class_alloc_slow(mm_tcache *tc, unsigned c);
void mm_page_freed(mm_tcache *tc, mm_page *p);
/* After the trace stopped recording (a child of fork): tc's pages' owner words without
 * MM_OWNER_TRACED and its direct entries on its pages again, so that its fast paths hit. */
void mm_tcache_untrace(mm_tcache *tc);
void mm_page_collect_full(mm_tcache *tc);
void mm_tcache_retire_idle(mm_tcache *tc);
unsigned mm_segment_reclaim_free(mm_segment *s);
void mm_segment_free_abandoned_slot(mm_segment *s, mm_page *p);
/* When tc has no free page slot of a kind: adopts a few abandoned segments of it (their pages join
 * tc's queues), as taking a slot would; 0 if it did not (tc has room, or nothing is abandoned). */
int mm_segment_adopt(mm_tcache *tc, unsigned kind);
void mm_tcache_release_empty(mm_tcache *tc);
void mm_remote_free(mm_page *p, mm_cblock *b);
void mm_tcache_abandon(mm_tcache *tc);

/* Segments. */
mm_segment *mm_segment_acquire(mm_tcache *tc, unsigned kind);
void mm_segment_release(mm_segment *s);
void mm_segment_adopt_pages(mm_tcache *tc, mm_segment *s);
/* Makes the segment map able to record every segment of [start, start + bytes) (maps the leaves
 * missing there): 1, or 0 if the range is beyond the map or a leaf cannot be mapped. Thread-safe. */
int mm_segmap_reserve(uintptr_t start, size_t bytes);
/* Records a segment (reserved before, its header set up) in the map, with its code (MM_MAP_*): a
 * release store. */
void mm_segmap_set(mm_segment *s, int present);
void mm_segmap_mark(uintptr_t segment, unsigned value);
/* Handing memory back: MM_PURGE_DELAYED returns what has been free long enough (the periodic
 * tick), MM_PURGE_ALL everything that can go, unmapping caches and empty pools too (malloc_trim,
 * and a request that found no memory). */
enum { MM_PURGE_DELAYED, MM_PURGE_ALL };
/* For a request that found no memory: unmaps what the process's caches and the calling thread's hold
 * (empty segments, empty pools, cached mappings; free spans of zones and the large region are purged
 * on the way), without purging the free slots of segments in use. Bytes given back. */
size_t mm_reclaim_mappings(void);
void mm_purge_tick(mm_tcache *tc, int level);
/* On the slow paths: a tick every few calls (it reads the clock and returns at once if it is not
 * time yet). */
MM_INLINE void mm_maybe_tick(mm_tcache *tc)
{
	if (MM_UNLIKELY(++tc->slow_calls % 8 == 0))
		mm_purge_tick(tc, MM_PURGE_DELAYED);
}
void mm_segment_cache_trim(int level);
/* Segments and the mappings of large pools and huge blocks: `bytes` mapped from the OS with its start
 * aligned to `align` (at least MM_SEG_SIZE), in the range the segment map covers and never at
 * address 0, counted as mapped; NULL if the OS refuses. */
mm_segment *mm_segment_map(size_t bytes, size_t align);
/* Gives s->mapped bytes at s back to the OS (counted as returned). */
void mm_segment_unmap(mm_segment *s);
/* Sets up the header of a segment of a kind over `mapped` bytes (the memory may hold an older
 * header): page slots of SMALL segments, one page for the other kinds. */
void mm_segment_init(mm_segment *s, unsigned kind, size_t mapped, mm_tcache *tc);

/* Medium requests (zones). */
void *mm_zone_malloc(mm_tcache *tc, size_t n, size_t align);
void mm_zone_free(mm_segment *s, void *p);
void *mm_zone_realloc(mm_tcache *tc, mm_segment *s, void *p, size_t n);
size_t mm_zone_usable(mm_segment *s, void *p, const char *who);
void mm_zone_abandon(mm_tcache *tc);
void mm_zone_tick(mm_tcache *tc, uint64_t now, int level);

/* The TLSF helpers shared by the zones and the large pools. */
int mm_tlsf_pool_empty(const struct mm_control *c, size_t i);
/* Returns the bytes of the instance's free spans that are purged now (the ones purged by this
 * pass and the ones purged before and unchanged since). */
size_t mm_tlsf_purge_spans(struct mm_control *c, uint64_t now, int force);

/* Large requests (the shared TLSF instance over LARGE pools). */
void *mm_large_malloc(size_t n, size_t align, unsigned home); /* home: the thread's shard */
void mm_large_free(mm_segment *pool, void *p);                /* pool: the first segment of p's pool */
void *mm_large_realloc(mm_segment *pool, void *p, size_t n);
size_t mm_large_usable(mm_segment *pool, void *p);
#if MM_VALGRIND || MM_ASAN
size_t mm_large_tool_usable(mm_segment *pool, const void *p);            /* nothing reported (src/tool.h) */
size_t mm_tlsf_tool_usable(const struct mm_control *c, const void *ptr); /* tlsf.c */
#endif
mm_segment *mm_large_segment_of(uintptr_t a); /* the pool of a pointer in a later segment, or NULL */
void mm_large_tick(uint64_t now, int level);

/* Huge blocks. */
void *mm_huge_malloc(size_t n, size_t align, int *zeroed);
#if MM_SECURE
/* The secure build: requests above MM_GUARDED_MIN get a mapping each, the block's end at a guard
 * page, and a freed one is made inaccessible and quarantined before it is unmapped (huge.c). */
#define MM_GUARDED_MIN ((size_t)128 << 10)
void *mm_huge_malloc_guarded(size_t n, int *zeroed);
void mm_secure_fault_setup(void); /* a fault on a guard page or a freed mapping is explained */
#endif
void mm_huge_free(mm_segment *s, void *p);
size_t mm_huge_usable(mm_segment *s, const void *p);
void *mm_huge_realloc(mm_segment *s, void *p, size_t n);
void mm_huge_cache_trim(uint64_t now, int level);

/* Errors: "free(): invalid pointer" and the like, then abort (MEMOMAN_ERRORS=report: go on). */
MM_NOINLINE MM_COLD void mm_report_misuse(const char *what, const void *p);

/* Entry points of C23 that the C library's headers may not declare yet. */
void free_sized(void *ptr, size_t size);
void free_aligned_sized(void *ptr, size_t align, size_t size);

/* Statistics kept globally (relaxed atomics, changed on slow paths only): bytes mapped from the OS
 * now and at most; bytes of those mappings purged (madvise) and not reused since; bytes given back
 * since the start (newly purged or unmapped), for memoman_malloc_collect; usable bytes of live
 * large and huge blocks; counts of exited threads' blocks freed into abandoned pages. */
extern _Atomic uint64_t mm_stat_mapped, mm_stat_mapped_peak, mm_stat_purged, mm_stat_given_back;
extern _Atomic uint64_t mm_stat_large_bytes, mm_stat_huge_bytes;
void mm_stat_mapped_add(int64_t delta);
void mm_stat_purged_add(int64_t delta); /* a positive delta also counts as given back */
/* A page slot given back: the blocks its page handed out (p->allocs) go to its class's total of
 * retired pages, and p->allocs to 0. */
void mm_stat_page_retired(mm_page *p);
/* Adds what the pages of tc's segments (tc NULL: the abandoned segments) hold to allocs and live,
 * per class; under the global lock. Their owners change them meanwhile (see segment.c). */
void mm_segments_count(const mm_tcache *tc, uint64_t allocs[MM_CLASSES], int64_t live[MM_CLASSES]);

/* Between the files of this layer (what each does: at its definition). */
void mm_classes_init(void);
mm_segment *mm_segment_new_raw(unsigned kind, mm_tcache *tc);
mm_page *mm_page_slot_alloc(mm_tcache *tc, unsigned kind, size_t *bytes);
void mm_page_slot_free(mm_tcache *tc, mm_page *p);
void mm_segment_abandon(mm_segment *s);
void mm_fork_prepare(void);
void mm_fork_parent(void);
void mm_fork_child(void);
void mm_large_fork_prepare(void);
void mm_large_fork_parent(void);
void mm_large_fork_child(void);
/* Calls visit(NULL, user) and then visit(tc, user) for every live thread cache, all under the
 * global lock (NULL: the place for the totals of exited threads, which change under it too). */
typedef void (*mm_tcache_visitor)(mm_tcache *tc, void *user);
void mm_tcaches_visit(mm_tcache_visitor visit, void *user, size_t *count);
/* MEMOMAN_STATS: read at set-up (which keeps a duplicate of standard error for the report, for a
 * program that closes descriptor 2 before it exits), printed by an atexit handler. A forked child
 * closes the duplicate (mm_fork_child). */
void mm_stats_setup(void);
/* MEMOMAN_THP and the kernel's THP mode, read at set-up (segment.c). */
void mm_thp_setup(void);
/* Before a purge inside segment s: no THP there any more (see segment.c). */
void mm_segment_thp_off(mm_segment *s);
void mm_stats_fork_child(void);

/* MEMOMAN_TRACE (trace.c; its state, mm_trace_state, is declared with the page's owner word). The
 * entry points take the traced path unless it is MM_TRACE_OFF: before set-up (UNDECIDED) and
 * while tracing (ON). malloc and free test it only on their slow paths, which their fast paths
 * always take while the trace records (direct_update, mm_page_set_owner). */
int mm_trace_start(void); /* sets the process up; 1 if tracing */
void mm_trace_setup(void);
void mm_trace_setup_exit(void);
void mm_trace_alloc(const void *p, size_t size); /* "a <p> <size>" (p NULL: a failed allocation) */
void mm_trace_free(const void *p);               /* "f <p>" */
void mm_trace_lock(void);                        /* a realloc's call and its two lines, together */
void mm_trace_unlock(void);
void mm_trace_put_alloc(const void *p, size_t size); /* the two above, with the lock held */
void mm_trace_put_free(const void *p);
void mm_trace_fork_prepare(void);
void mm_trace_fork_parent(void);
void mm_trace_fork_child(void);
/* The statistics as counted, before memoman_malloc_get_stats bounds them at zero (and returned at
 * mapped) for snapshots read while other threads run: with no other thread running every figure is
 * exact, none negative, and purged never above mapped (test_malloc_stats checks this). */
typedef struct mm_stats_raw {
	uint64_t class_allocs[MM_CLASSES];           /* blocks handed out since the start */
	int64_t class_live[MM_CLASSES];              /* blocks handed out minus blocks given back */
	int64_t zone_bytes, large_bytes, huge_bytes; /* usable bytes of live blocks */
	uint64_t zone_allocs, large_allocs, huge_allocs;
	int64_t mapped, mapped_peak, purged;
	size_t threads;
} mm_stats_raw;
void mm_stats_snapshot(mm_stats_raw *out);
/* Adds the statistics of a thread cache whose thread exits to the exited totals (under the global
 * lock). */
void mm_stats_tcache_exit(mm_tcache *tc);

#endif /* MEMOMAN_MALLOC_INTERNAL_H */

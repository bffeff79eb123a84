// SPDX-License-Identifier: MIT
/*
 * tlsf_internal.h - the TLSF core's private layout: derived constants, the block header, the control
 * structure, bit scans and the size-to-class mapping.
 *
 * Private to libmemoman. Tests include it (tests reach internals through this header, never through
 * copied structs), so it holds only what the core and its tests share.
 */
#ifndef MEMOMAN_TLSF_INTERNAL_H
#define MEMOMAN_TLSF_INTERNAL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "../include/memoman.h"
#include "bits.h"
#include "common.h"
#include "observe.h"

/* ---- Derived constants -------------------------------------------------------------------------- */

#define MM_W ((size_t)sizeof(size_t))   /* the header word */
#define MM_ALIGN ((size_t)MM_ALIGNMENT) /* alignment of payloads and of block strides */
#define MM_ALIGN_LOG2 MM_LOG2_CONST(MM_ALIGNMENT)
#define MM_LOW_MASK (MM_ALIGN - 1)                                      /* bits of the size word below the alignment */
#define MM_FREE_BIT ((size_t)1)                                         /* this block is free */
#define MM_PREV_FREE_BIT ((size_t)2)                                    /* the previous physical block is free */
#define MM_SPARE_MASK (MM_LOW_MASK & ~(MM_FREE_BIT | MM_PREV_FREE_BIT)) /* always zero */

#define MM_SL_LOG2 MM_SL_INDEX_COUNT_LOG2
#define MM_SL_COUNT ((size_t)1 << MM_SL_LOG2)
#define MM_SL_MASK (MM_SL_COUNT - 1)
/* Below 2^FL_SHIFT the classes are linear with a step of MM_ALIGN (first-level row 0); above it each
 * power of two [2^k, 2^(k+1)) is one first-level row split into MM_SL_COUNT equal classes. */
#define MM_FL_SHIFT (MM_SL_LOG2 + MM_ALIGN_LOG2)
#define MM_FL_COUNT (MM_FL_INDEX_MAX - MM_FL_SHIFT + 1)
#define MM_SMALL ((size_t)1 << MM_FL_SHIFT)
#define MM_CLASS_COUNT ((size_t)MM_FL_COUNT * MM_SL_COUNT)

/*
 * A block's stride is the distance from its header to the next header, a multiple of MM_ALIGN.
 * Its payload (usable size) is stride - W: the payload runs up to the next block's size word and so
 * includes the word the next block uses as prev_phys while this one is free.
 * A free block's payload holds next_free, prev_link and the next block's prev_phys: 3 words.
 */
#define MM_ALIGN_UP_CONST(x, a) (((x) + (a)-1) & ~((a)-1))
#define MM_MIN_STRIDE MM_ALIGN_UP_CONST(4 * MM_W, MM_ALIGN)
/* Largest stride a block may have: the last aligned size below 2^FL_INDEX_MAX. */
#define MM_BLOCK_MAX (((size_t)1 << MM_FL_INDEX_MAX) - MM_ALIGN)
/* Largest stride a request may ask for: the lower bound of the last class. A search rounds a request
 * up to a class bound, so a larger one would round past the last class. */
#define MM_REQ_STRIDE_MAX (((size_t)1 << MM_FL_INDEX_MAX) - ((size_t)1 << (MM_FL_INDEX_MAX - 1 - MM_SL_LOG2)))
#define MM_REQUEST_MAX (MM_REQ_STRIDE_MAX - MM_W)
/* Bytes of a pool (start and size aligned to MM_ALIGN) no block can use: the first header, in which
 * the first block's unused prev_phys word records the pool's end, and the sentinel's size word. */
#define MM_POOL_OVERHEAD (MM_ALIGN_UP_CONST(2 * MM_W, MM_ALIGN) + MM_W)

/* ---- Static checks of the configuration --------------------------------------------------------- */

_Static_assert((MM_ALIGNMENT & (MM_ALIGNMENT - 1)) == 0, "MM_ALIGNMENT must be a power of two");
_Static_assert(MM_ALIGNMENT >= sizeof(size_t), "MM_ALIGNMENT must be at least sizeof(size_t)");
_Static_assert(MM_ALIGNMENT <= 1048576, "MM_ALIGNMENT above 1 MiB is not supported");
_Static_assert(((size_t)1 << MM_ALIGN_LOG2) == MM_ALIGN, "alignment log2 derivation");
_Static_assert(MM_SL_INDEX_COUNT_LOG2 >= 1 && MM_SL_INDEX_COUNT_LOG2 <= 6,
               "MM_SL_INDEX_COUNT_LOG2 must be 1..6 (second-level bitmaps are at most 64 bits)");
_Static_assert(MM_FL_COUNT >= 2 && MM_FL_COUNT <= 32,
               "MM_FL_INDEX_MAX gives between 2 and 32 first-level rows (first-level bitmap is 32 bits)");
_Static_assert(MM_FL_INDEX_MAX < sizeof(size_t) * CHAR_BIT, "MM_FL_INDEX_MAX must be below size_t's width");
_Static_assert(sizeof(size_t) == sizeof(void *), "a header word holds a pointer");
_Static_assert(MM_SMALL / MM_SL_COUNT == MM_ALIGN, "first-level row 0 steps by the alignment");
_Static_assert(MM_MIN_STRIDE >= 4 * sizeof(size_t), "a free block holds its size, two links and prev_phys");
_Static_assert(MM_MIN_STRIDE % MM_ALIGN == 0, "strides are multiples of the alignment");
_Static_assert(MM_REQ_STRIDE_MAX % MM_ALIGN == 0 && MM_REQ_STRIDE_MAX <= MM_BLOCK_MAX,
               "the largest request stride is a storable class bound");
_Static_assert(MM_ALIGN >= 4, "the two flag bits live below the alignment");
_Static_assert(MM_MAX_POOLS >= 1 && MM_MAX_POOLS <= 1024, "MM_MAX_POOLS must be 1..1024");
/* MM_ZERO_FREED (internal): freed memory of a TLSF instance is kept zero (a block's bytes at free,
 * the words a merge absorbs, a tail realloc gives back). On at MM_CHECKS=3, whose check of a block
 * handed out needs it; libmemoman-malloc's secure build turns it on for its zones, which check their
 * blocks themselves (src/malloc/zone.c). */
#ifndef MM_ZERO_FREED
#define MM_ZERO_FREED (MM_CHECKS >= 3)
#endif
_Static_assert(MM_CHECKS >= 0 && MM_CHECKS <= 3, "MM_CHECKS must be 0, 1, 2 or 3");
_Static_assert(MM_ZERO_FREED || MM_CHECKS < 3, "MM_CHECKS=3 keeps freed memory zero (MM_ZERO_FREED)");
_Static_assert(MM_OBSERVE == 0 || MM_OBSERVE == 1, "MM_OBSERVE must be 0 or 1");
_Static_assert(MM_OBSERVE || !MM_CYCLES, "MM_CYCLES=1 needs MM_OBSERVE=1 (cycle tracking is an observation)");
_Static_assert(MM_SMALL_CODE == 0 || MM_SMALL_CODE == 1, "MM_SMALL_CODE must be 0 or 1");
_Static_assert(MM_REALLOC_BOTH_SIDES == 0 || MM_REALLOC_BOTH_SIDES == 1, "MM_REALLOC_BOTH_SIDES must be 0 or 1");
_Static_assert(MM_VALIDATE_INTERVAL >= 1, "MM_VALIDATE_INTERVAL must be at least 1");

/* ---- Block header ------------------------------------------------------------------------------- */

/*
 * The header of a block at address b. Only `size` belongs to the block itself: prev_phys is the last
 * word of the previous block (valid only while that block is free, P set), and next_free/prev_link
 * are the first two payload words (valid only while this block is free).
 *
 * prev_link points at whatever points at this block: the list head in the control structure, or
 * the next_free field of the block before it in the list. Unlinking therefore never needs the
 * block's class, and the list head is recognised by its address.
 *
 * Both links live in freed memory, where a program's use after free writes. With MM_CHECKS >= 1 they
 * are stored sealed (mm_link_code): read and written only through mm_next_free, mm_prev_link and
 * their setters, never as they are.
 */
typedef struct mm_block {
	struct mm_block *prev_phys;
	size_t size;                 /* stride | MM_PREV_FREE_BIT | MM_FREE_BIT */
	struct mm_block *next_free;  /* sealed: mm_next_free() */
	struct mm_block **prev_link; /* sealed: mm_prev_link() */
} mm_block;

_Static_assert(offsetof(mm_block, size) == sizeof(size_t), "size word follows prev_phys");
_Static_assert(offsetof(mm_block, next_free) == 2 * sizeof(size_t), "payload follows the size word");

/*
 * The size word of a block that may be live, written while the block itself is not being changed:
 * freeing or allocating its physical predecessor flips its P bit. A thread that does not own the
 * instance may read a live block's size at that moment (libmemoman-malloc's usable size of another
 * thread's block), so these accesses are relaxed atomic ones: plain loads and stores on the targets
 * memoman supports, and no data race in the language's terms (nor for ThreadSanitizer).
 */
#if defined(__GNUC__) || defined(__clang__)
#define MM_SIZE_LOAD(b) __atomic_load_n(&(b)->size, __ATOMIC_RELAXED)
#define MM_SIZE_STORE(b, v) __atomic_store_n(&(b)->size, (v), __ATOMIC_RELAXED)
#else
#define MM_SIZE_LOAD(b) ((b)->size)
#define MM_SIZE_STORE(b, v) ((void)((b)->size = (v)))
#endif

MM_INLINE mm_block *mm_block_at(uintptr_t a) { return (mm_block *)a; }
MM_INLINE mm_block *mm_block_from_ptr(const void *p) { return mm_block_at(mm_addr(p) - 2 * MM_W); }
MM_INLINE void *mm_block_payload(const mm_block *b) { return (void *)(mm_addr(b) + 2 * MM_W); }
MM_INLINE mm_block *mm_block_after(const mm_block *b, size_t stride) { return mm_block_at(mm_addr(b) + stride); }
MM_INLINE size_t mm_stride_of(size_t size_word) { return size_word & ~MM_LOW_MASK; }

/* offset rotated right by log2(MM_ALIGN): an aligned offset becomes offset / MM_ALIGN, a misaligned
 * one a huge number, so one comparison checks range and alignment together. */
MM_INLINE uintptr_t mm_rotate_offset(uintptr_t offset)
{
	return (offset >> MM_ALIGN_LOG2) |
	       (offset << ((sizeof(uintptr_t) * CHAR_BIT - MM_ALIGN_LOG2) % (sizeof(uintptr_t) * CHAR_BIT)));
}

/* ---- Control structure -------------------------------------------------------------------------- */

/*
 * A pool: three words, as the control structure holds MM_MAX_POOLS of them. A block's payload lies at
 * an aligned offset 0..span (span = end - first - MM_MIN_STRIDE) from `first`; the record keeps
 * span / MM_ALIGN, which a rotated offset (mm_rotate_offset) is compared with in one step, and gives
 * the span and the end through the functions below.
 */
typedef struct mm_pool_rec {
	uintptr_t first;  /* payload address of the pool's first block */
	uintptr_t span_r; /* (end - first - MM_MIN_STRIDE) / MM_ALIGN */
	uintptr_t start;  /* the pool handle: the memory given to mm_add_pool */
} mm_pool_rec;

MM_INLINE uintptr_t mm_pool_span(const mm_pool_rec *p) { return p->span_r << MM_ALIGN_LOG2; }
/* End of the sentinel's size word = payload address of the sentinel. */
MM_INLINE uintptr_t mm_pool_end(const mm_pool_rec *p) { return p->first + mm_pool_span(p) + MM_MIN_STRIDE; }

typedef struct mm_control mm_control;

/* A second-level bitmap: 32 bits, or 64 when there are 64 subdivisions. */
#if MM_SL_INDEX_COUNT_LOG2 <= 5
typedef uint32_t mm_slmap;
#else
typedef mm_u64 mm_slmap; /* word-aligned: the control needs no more than a word's alignment (common.h) */
#endif

struct mm_control {
	mm_observe obs; /* first: errors, counters, hooks, lock, timing (observe.h) */

	/* Hot: read by every allocation and free. */
	uint32_t fl_bitmap;
	uint32_t pool_count;
	mm_slmap sl_bitmap[MM_FL_COUNT];
	mm_block *heads[MM_CLASS_COUNT]; /* flat index fl * MM_SL_COUNT + sl; NULL when empty */
	size_t in_use;                   /* bytes in allocated blocks (strides) */
	size_t peak_in_use;

#if MM_CHECKS >= 1
	/* What a free-list link is checked and sealed with: the payloads of every pool lie at an aligned
	 * offset 0..link_span_r * MM_ALIGN from pools[0].first (the lowest pool's first payload to the
	 * highest pool's last), and links are stored xor-ed with link_key and their own address. */
	uintptr_t link_span_r, link_key;
#endif

	/* Cold. */
#if MM_CHECKS >= 2
	size_t ops; /* calls since the last periodic validation */
#endif
	mm_pool_rec pools[MM_MAX_POOLS]; /* sorted by start, disjoint */
};

/* ---- Free-list links ---------------------------------------------------------------------------- */

/*
 * A link is stored xor-ed with the instance's key and the address of the word that holds it (sealed),
 * so that what a stray write leaves there (a pointer of the program's, a copy of another link, a
 * string) unseals to an address that fails the checks made before a link is followed (tlsf.c:
 * inside the pools' range, aligned, and the block it leads to linking back). MM_CHECKS=0 stores links
 * as they are.
 */
MM_INLINE uintptr_t mm_link_code(const mm_control *c, const void *slot)
{
#if MM_CHECKS >= 1
	return c->link_key ^ mm_addr(slot);
#else
	(void)c;
	(void)slot;
	return 0;
#endif
}
MM_INLINE mm_block *mm_next_free(const mm_control *c, const mm_block *b)
{
	return (mm_block *)(mm_addr(b->next_free) ^ mm_link_code(c, &b->next_free));
}
MM_INLINE void mm_set_next_free(const mm_control *c, mm_block *b, const mm_block *next)
{
	b->next_free = (mm_block *)(mm_addr(next) ^ mm_link_code(c, &b->next_free));
}
MM_INLINE mm_block **mm_prev_link(const mm_control *c, const mm_block *b)
{
	return (mm_block **)(mm_addr(b->prev_link) ^ mm_link_code(c, &b->prev_link));
}
MM_INLINE void mm_set_prev_link(const mm_control *c, mm_block *b, mm_block *const *link)
{
	b->prev_link = (mm_block **)(mm_addr(link) ^ mm_link_code(c, &b->prev_link));
}

/* b's successor in its list, or NULL: also where the link fails the checks made before a link is
 * followed (tlsf.c; reported by the call that next pops or unlinks b). For walks outside the core. */
mm_block *mm_tlsf_next_checked(const mm_control *c, const mm_block *b);

/* The TLSF operations without the observed path (no lock, timing or hooks); the heap calls these
 * for its remainder, under its own lock. Statistics are kept. */
void *mm_tlsf_malloc(mm_control *c, size_t bytes);
void *mm_tlsf_memalign(mm_control *c, size_t align, size_t bytes);
/* align: a power of two above MM_ALIGN, checked by the caller */
void *mm_tlsf_memalign_checked(mm_control *c, size_t align, size_t bytes);
void *mm_tlsf_realloc(mm_control *c, void *ptr, size_t size);
void mm_tlsf_free(mm_control *c, void *ptr);
/* mm_set_secret's work for a TLSF instance (the heap's remainder too). */
void mm_tlsf_set_secret(mm_control *c, uintptr_t secret);
/* The usable size of a live block after the checks of mm_free (0, reported, if it is not one). */
#if MM_VALGRIND || MM_ASAN
size_t mm_tlsf_tool_usable(const mm_control *c, const void *ptr); /* tool.h's builds: tlsf.c */
#endif
size_t mm_tlsf_checked_size(mm_control *c, const void *ptr);

/* ---- Bit scans (mm_fls_size, mm_ffs64, mm_ffs32: bits.h) ------------------------------------------ */

/* Lowest and highest set bit of a second-level bitmap. */
#if MM_SL_INDEX_COUNT_LOG2 <= 5
#define mm_ffs_sl(x) mm_ffs32(x)
#define mm_fls_sl(x) mm_fls_size((size_t)(x))
#else
#define mm_ffs_sl(x) mm_ffs64(x)
MM_INLINE unsigned mm_fls_sl(uint64_t x)
{
#if SIZE_MAX > 0xFFFFFFFFu
	return mm_fls_size((size_t)x);
#else
	return (x >> 32) ? 32 + mm_fls_size((size_t)(x >> 32)) : mm_fls_size((size_t)x);
#endif
}
#endif

/* ---- Mapping: stride -> class ------------------------------------------------------------------- */

/*
 * The class a free block of this stride is filed under: the class whose range contains it.
 * Branch-free: or-ing MM_SMALL in makes the linear row 0 come out of the same formula as the
 * logarithmic rows (for a small stride the top bit is FL_SHIFT, the step MM_ALIGN, and the index
 * below MM_SL_COUNT lands in row 0).
 */
MM_INLINE size_t mm_class_insert(size_t stride)
{
	unsigned top = mm_fls_size(stride | MM_SMALL);
	unsigned shift = top - MM_SL_LOG2;
	return ((size_t)(top - MM_FL_SHIFT) << MM_SL_LOG2) + (stride >> shift);
}

/*
 * The first class all of whose blocks can hold this stride, and the stride rounded up to that
 * class's lower bound (*rounded). Adding step - 1 before the shift rounds up; a carry into the next
 * power of two makes the index (stride >> shift) reach 2 * MM_SL_COUNT, which the flat formula turns
 * into the first class of the next first-level row by itself.
 */
MM_INLINE size_t mm_class_search(size_t stride, size_t *rounded)
{
	unsigned top = mm_fls_size(stride | MM_SMALL);
	unsigned shift = top - MM_SL_LOG2;
	size_t index = (stride + ((size_t)1 << shift) - 1) >> shift;
	*rounded = index << shift;
	return ((size_t)(top - MM_FL_SHIFT) << MM_SL_LOG2) + index;
}

#endif /* MEMOMAN_TLSF_INTERNAL_H */

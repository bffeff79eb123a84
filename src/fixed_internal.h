// SPDX-License-Identifier: MIT
/*
 * fixed_internal.h - the fixed-size pool's layout and its inline fast paths (private; the heap
 * embeds pools and uses these directly, tests reach internals through here).
 */
#ifndef MEMOMAN_FIXED_INTERNAL_H
#define MEMOMAN_FIXED_INTERNAL_H

#include "observe.h"

/* The lock-free mode's stack top (MM_LOCKFREE_TOP_BITS, observe.h): the index + 1 of the top block
 * in the low half (0: empty), an ABA tag bumped by every change in the high half. */
#if MM_LOCKFREE_TOP_BITS == 64
typedef uint64_t mm_lf_top;
#define MM_LF_INDEX_BITS 32
#define MM_LF_CAPACITY_MAX ((size_t)UINT32_MAX - 1) /* index + 1 fits in 32 bits */
#elif MM_LOCKFREE_TOP_BITS == 32
typedef uint32_t mm_lf_top;
#define MM_LF_INDEX_BITS 16
#define MM_LF_CAPACITY_MAX ((size_t)0xFFFEu) /* index + 1 fits in 16 bits */
#endif

#if MM_HAVE_ATOMICS
typedef _Atomic size_t mm_bitmap_word;
#else
typedef size_t mm_bitmap_word;
#endif
#define MM_BITMAP_BITS (sizeof(size_t) * CHAR_BIT)

struct mm_fixed {
	mm_observe obs;
	/* The recycled free blocks, each holding the next in its first word, the last MM_LIST_END: in
	 * `head` while the pool is not observed, in `parked` while it is (hooks, a lock, timing, the
	 * lock-free mode), the other field NULL. So mm_fixed_alloc's one test of `head` (<= END)
	 * catches both an empty list and an observed pool, and mm_fixed_free's (NULL) an observed pool.
	 * fixed.c's gate (its mm_observe_ops) moves the list when `observed` changes. */
	void *head;
	void *parked;
	size_t carved;            /* blocks handed out from the untouched region so far: blocks [0, carved) have been
	                   used. Since recycled blocks are reused first, this is also the most blocks
	                   ever live at once. */
	size_t peak_before_reset; /* the most blocks live at once before the last mm_fixed_reset */
	uintptr_t base;           /* the first block */
	uintptr_t end;            /* base + capacity * stride */
	size_t stride;            /* usable bytes of a block, a multiple of the alignment */
	size_t capacity;
	/* A block's index without a division: stride = odd << shift, and for an offset d,
	 * rotr(d * inv, shift) is d / stride when stride divides d, and is >= capacity otherwise
	 * (inv is odd's inverse modulo 2^N; multiplying by it maps multiples of odd onto 0, 1, 2 ...). */
	uintptr_t inv;
	unsigned shift;
	unsigned flags;
	mm_bitmap_word *bitmap; /* MM_FIXED_BITMAP (the default): bit i set while block i is live */
	uintptr_t link_key;     /* what the recycled list's links are sealed with (mm_fixed_next) */
#if MM_VALGRIND || MM_ASAN || MM_CHECKS >= 3
	size_t asked; /* mm_fixed_create's block_size: the bytes a memory checker lets the program touch,
	                 and at MM_CHECKS=3 the bytes the canary is written after (a heap's class: its
	                 stride less the canary) */
#endif
#if MM_LOCKFREE_TOP_BITS
	/* MM_FIXED_LOCKFREE: *top = (tag << lf_bits) | (index + 1), 0 index part = empty; lf_bits is
	 * just wide enough for the pool's capacity (at most MM_LF_INDEX_BITS), so that the tag gets every
	 * other bit of the top: the ABA tag of a small pool is wide even where the top is 32 bits.
	 * links[i] is the index + 1 of the block below block i. The top and the links live in the
	 * metadata, outside the blocks (so that a block's new owner writing into it never races with a
	 * thread still reading the stack) and outside this structure (so that a 64-bit top's alignment
	 * is not the structure's: a heap embeds pools at word-aligned places). */
	_Atomic mm_lf_top *top;
	_Atomic uint32_t *links;
	unsigned lf_bits;
	_Atomic size_t fresh; /* blocks handed out from the bump region so far */
	/* Counted in atomic words: 64-bit on 64-bit targets, modulo 2^32 on 32-bit ones (mm_get_stats
	 * reports them as they are; blocks_in_use stays exact). */
	_Atomic size_t lf_allocs, lf_frees, lf_failures;
#endif
};

typedef struct mm_fixed mm_fixed;

/*
 * The hardened level (MM_CHECKS == 3, for debugging; O(block) per call). Each block is one word
 * longer, its last word a canary (common.h) after the bytes the program may use: the pool's block
 * size, or for a heap's class the size each request asked for. Freed blocks are kept zero (zeroed at
 * free, and all of a pool's blocks when it is created or reset): a block handed out must still be
 * zero past its link (else MM_ERR_WRITE_AFTER_FREE, reported; it comes out zeroed), and a block
 * freed must have its canary intact (else MM_ERR_OVERRUN, reported and the free refused).
 */
#if MM_CHECKS >= 3
#define MM_FIXED_CANARY sizeof(uintptr_t)
/* Block b, just taken off the free list or carved, checked and zeroed, then sealed for n bytes.
 * Returns b (NULL stays NULL). */
void *mm_fixed_hand_out(mm_fixed *p, void *b, size_t n, mm_observe *report_to);
/* A free of ptr, after the bitmap (if any) took it back: a carved block with its canary intact,
 * then zeroed; 0 (reported to report_to, the block unchanged) if not, and the caller gives the
 * bitmap's bit back. Without a bitmap, a block all zero past its link is named a double free. */
int mm_fixed_release(mm_fixed *p, void *ptr, mm_observe *report_to);
/* The bytes ptr's canary says the program has, or 0 if it was overwritten (reported). */
size_t mm_fixed_sealed_size(const mm_fixed *p, const void *ptr, mm_observe *report_to);
/* A live block resized in place from `old` to n bytes (both within the block): the bytes after n
 * zeroed, the canary written for n. */
void mm_fixed_resize(const mm_fixed *p, void *ptr, size_t old, size_t n);
#define MM_FIXED_HAND_OUT(p, b, n, report_to) mm_fixed_hand_out((p), (b), (n), (report_to))
/* The unchecked mode's list head, which its block is read and zeroed through: a block the pool
 * carved (not what a write after free left in a link), as the bitmap's claim checks. */
#define MM_FIXED_CARVED(p, b) (mm_fixed_index((p), mm_addr(b)) < (p)->carved)
#else
#define MM_FIXED_CARVED(p, b) ((void)(p), (void)(b), 1)
#define MM_FIXED_CANARY ((size_t)0)
#define MM_FIXED_HAND_OUT(p, b, n, report_to) (b)
#endif

/* The index of the block at a, or a number >= capacity if a is not a block's start. */
MM_INLINE size_t mm_fixed_index(const mm_fixed *p, uintptr_t a)
{
	uintptr_t x = (a - p->base) * p->inv;
	const unsigned bits = sizeof(uintptr_t) * CHAR_BIT;
	return (size_t)((x >> p->shift) | (x << ((bits - p->shift) % bits)));
}

#if MM_HAVE_ATOMICS
#define BIT_LOAD(w) atomic_load_explicit((w), memory_order_relaxed)
#define BIT_STORE(w, v) atomic_store_explicit((w), (v), memory_order_relaxed)
#else
#define BIT_LOAD(w) (*(w))
#define BIT_STORE(w, v) (*(w) = (v))
#endif

/* The end of every recycled list: not NULL, which marks an observed pool's `head`. */
#define MM_LIST_END ((void *)1)

/* Where the recycled list is now (see `head`). */
MM_INLINE void **mm_fixed_list(mm_fixed *p) { return p->obs.observed ? &p->parked : &p->head; }

/*
 * A recycled block's first word links it to the next (MM_LIST_END last). That word is freed memory,
 * where a program's use after free writes: with MM_CHECKS >= 1 the link is stored xor-ed with the
 * pool's key and the block's address (sealed), so that what a stray write leaves there unseals to an
 * address that is no block of the pool. In the checked mode a list's head is checked before it is
 * read or handed out: its index (computed anyway, for its bit) below the carved count. A head that
 * fails is reported (MM_ERR_CORRUPTED_LINK) and the list dropped (mm_fixed_drop_list). MM_CHECKS=0
 * stores links as they are.
 */
MM_INLINE uintptr_t mm_fixed_code(const mm_fixed *p, const void *b)
{
#if MM_CHECKS >= 1
	return p->link_key ^ mm_addr(b);
#else
	(void)p;
	(void)b;
	return 0;
#endif
}
MM_INLINE void *mm_fixed_next(const mm_fixed *p, const void *b)
{
	return (void *)(*(const uintptr_t *)b ^ mm_fixed_code(p, b));
}
MM_INLINE void mm_fixed_set_next(const mm_fixed *p, void *b, const void *next)
{
	*(uintptr_t *)b = mm_addr(next) ^ mm_fixed_code(p, b);
}

/* A list whose head `bad` is no block the pool carved: reported to report_to as MM_ERR_CORRUPTED_LINK
 * (at `bad`, what the forged link held, unsealed) and emptied; the blocks that were on it are lost to
 * allocation until mm_fixed_reset. Cold. */
void mm_fixed_drop_list(const mm_fixed *p, void **list, const void *bad, mm_observe *report_to);

/* mm_set_secret's work for a pool (a heap's classes too): its list re-sealed, checked as it goes. */
void mm_fixed_reseal(mm_fixed *p, uintptr_t secret, mm_observe *report_to);

/* The checked mode, one thread at a time: a list's head b claimed, its bit set; 0 (nothing changed)
 * if b is no block the pool carved (MM_CHECKS >= 1), the link it came from forged. The index
 * computed for the bit is the check. */
MM_INLINE int mm_fixed_claim(mm_fixed *p, const void *b)
{
	size_t i = mm_fixed_index(p, mm_addr(b));
	if (MM_CHECKS >= 1 && MM_UNLIKELY(i >= p->carved))
		return 0;
	mm_bitmap_word *w = &p->bitmap[i / MM_BITMAP_BITS];
	BIT_STORE(w, BIT_LOAD(w) | ((size_t)1 << (i % MM_BITMAP_BITS)));
	return 1;
}

/* Pop from a recycled list: its first block (marked live in the checked mode), or NULL (the caller
 * carves or fails). */
MM_INLINE void *mm_list_pop(mm_fixed *p, void **list, mm_observe *report_to)
{
	void *b = *list;
	if (b == MM_LIST_END)
		return NULL;
	if ((p->bitmap && MM_UNLIKELY(!mm_fixed_claim(p, b))) || (!p->bitmap && MM_UNLIKELY(!MM_FIXED_CARVED(p, b)))) {
		mm_fixed_drop_list(p, list, b, report_to);
		return NULL;
	}
	*list = mm_fixed_next(p, b);
	return b;
}

/* Default-mode allocation when the recycled list is empty: the next never-used block, or NULL. */
MM_INLINE void *mm_fixed_carve(mm_fixed *p)
{
	if (p->carved == p->capacity)
		return NULL;
	return (void *)(p->base + p->carved++ * p->stride);
}

/* The modes a creation's flags ask for: the bitmap (the checked default) unless MM_FIXED_UNCHECKED.
 * The pool keeps the result: its `flags` never hold MM_FIXED_UNCHECKED. */
MM_INLINE unsigned mm_fixed_mode(unsigned flags)
{
	return (flags & MM_FIXED_UNCHECKED) ? flags & ~MM_FIXED_UNCHECKED : flags | MM_FIXED_BITMAP;
}

/* Bitmap mode, one thread at a time: block b is live now. */
MM_INLINE void mm_fixed_mark(mm_fixed *p, const void *b)
{
	size_t i = mm_fixed_index(p, mm_addr(b));
	mm_bitmap_word *w = &p->bitmap[i / MM_BITMAP_BITS];
	BIT_STORE(w, BIT_LOAD(w) | ((size_t)1 << (i % MM_BITMAP_BITS)));
}

/* Bitmap mode, one thread at a time: block i (below capacity) is free now. Returns 0, changing
 * nothing, if it was not live: a double free. */
MM_INLINE int mm_fixed_unmark(mm_fixed *p, size_t i)
{
	size_t bit = (size_t)1 << (i % MM_BITMAP_BITS);
	mm_bitmap_word *w = &p->bitmap[i / MM_BITMAP_BITS];
	size_t was = BIT_LOAD(w);
	if (MM_UNLIKELY(!(was & bit)))
		return 0;
	BIT_STORE(w, was & ~bit);
	return 1;
}

/* Bitmap mode: is the block at ptr (a block start below the carved count) live? */
MM_INLINE int mm_fixed_is_live(const mm_fixed *p, const void *ptr)
{
	size_t i = mm_fixed_index(p, mm_addr(ptr));
#if MM_HAVE_ATOMICS
	size_t w = atomic_load_explicit(&p->bitmap[i / MM_BITMAP_BITS], memory_order_relaxed);
#else
	size_t w = p->bitmap[i / MM_BITMAP_BITS];
#endif
	return (int)((w >> (i % MM_BITMAP_BITS)) & 1);
}

/* Sets a pool up in place (the heap uses it for its classes). Returns 0 if it cannot. */
int mm_fixed_init(mm_fixed *p, void *blocks, size_t capacity, size_t stride, void *bitmap_mem, unsigned flags);

/* The most blocks live at once since creation. */
size_t mm_fixed_peak(const mm_fixed *p);

/* Bytes of bitmap for this many blocks. */
MM_INLINE size_t mm_fixed_bitmap_bytes(size_t capacity)
{
	return (capacity + MM_BITMAP_BITS - 1) / MM_BITMAP_BITS * sizeof(mm_bitmap_word);
}

/* Names and reports a pointer that a checked pool refuses: not a block, never handed out (index i
 * at or above the carved count), or already free. Cold: the error path only. */
void mm_fixed_refuse(const mm_fixed *p, const void *ptr, mm_observe *report_to);

/* Takes block ptr back into a pool that is not lock-free, pushing it on *list: in the checked mode
 * only if it is a carved block whose bit is set (else reported to report_to and refused: 0). The
 * free fast paths of fixed pools and heap classes, and the observed path. */
MM_INLINE int mm_fixed_put(mm_fixed *p, void **list, void *ptr, mm_observe *report_to)
{
	void *next = *list; /* read before the bitmap store, which the compiler cannot move it past */
	if (p->bitmap) {
		size_t i = mm_fixed_index(p, mm_addr(ptr));
		if (MM_UNLIKELY(i >= p->carved || !mm_fixed_unmark(p, i))) {
			mm_fixed_refuse(p, ptr, report_to);
			return 0;
		}
	}
#if MM_CHECKS >= 3
	if (MM_UNLIKELY(!mm_fixed_release(p, ptr, report_to))) {
		if (p->bitmap)
			mm_fixed_mark(p, ptr); /* refused: still live */
		return 0;
	}
#endif
	mm_fixed_set_next(p, ptr, next);
	*list = ptr;
	p->obs.frees++;
	return 1;
}

/* The mode-aware operations (bitmap, lock-free) without locking, timing or hooks; errors are
 * reported to `report_to`. Return 1 / the block on success. */
void *mm_fixed_alloc_core(mm_fixed *p);
int mm_fixed_free_core(mm_fixed *p, void *ptr, mm_observe *report_to);

#endif /* MEMOMAN_FIXED_INTERNAL_H */

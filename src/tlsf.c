// SPDX-License-Identifier: MIT
/*
 * tlsf.c - the TLSF core of libmemoman: instances, pools, malloc/memalign/realloc/free, reset,
 * walking, validation and error reporting.
 *
 * The algorithm is Masmano et al.'s two-level segregated fit with TLSF 3.1's block layout (see
 * memoman.h and tlsf_internal.h). What differs from Conte's TLSF 3.1, and why:
 *   - A request is rounded up to its search class's lower bound before the block is trimmed, as the
 *     TLSF paper does. Trimming to the unrounded size (TLSF 3.1) files the freed block in a class
 *     below the one a new request of the same size searches, so free + same malloc can fail.
 *   - Every entry point rejects sizes above mm_block_size_max() before any rounding.
 *   - Free lists end in NULL, and each member records the address of the pointer that points at it
 *     (prev_link), so unlinking a neighbour during coalescing needs no class computation and no
 *     comparison with the list head; the list head is recognised by its address.
 *   - When the search finds nothing, the head of the request's own (unrounded) class is tried: it may
 *     hold a block just large enough, e.g. the whole of a fresh pool.
 *   - Pools are recorded in the instance (sorted), so pointers can be checked, pools removed safely
 *     and the heap reset in one call.
 */
#include <string.h>

#include "tlsf_internal.h"
#include "tool.h"

#if MM_HAVE_STDIO
#include <stdio.h>
#endif

/* ---- Small helpers ------------------------------------------------------------------------------ */

MM_INLINE uintptr_t align_up_ptr(uintptr_t a, size_t align) { return (a + (align - 1)) & ~(uintptr_t)(align - 1); }
MM_INLINE uintptr_t align_down_ptr(uintptr_t a, size_t align) { return a & ~(uintptr_t)(align - 1); }

/* Stride of a block for a request of `bytes` (bytes <= MM_REQUEST_MAX, so nothing wraps). */
MM_INLINE size_t request_stride(size_t bytes)
{
	size_t s = (bytes + MM_W + MM_LOW_MASK) & ~MM_LOW_MASK;
	return s < MM_MIN_STRIDE ? MM_MIN_STRIDE : s;
}

/* memmove for word-aligned blocks (common.h); one copy of it, built small. */
MM_PART void move_words(void *dst, const void *src, size_t bytes) { mm_move_words(dst, src, bytes); }

/* ---- Error reporting ---------------------------------------------------------------------------- */

MM_INLINE void report(mm_control *c, mm_error_t error, const void *ptr)
{
	mm_observe_report(c ? &c->obs : NULL, error, ptr);
}

/* ---- The hardened level (MM_CHECKS == 3) ----------------------------------------------------------- */

/*
 * Freed memory is kept zero: a block's payload at free, the header words a coalescing absorbs and a
 * pool when formatted. A block handed out must then be zero but for its first two payload words (the
 * free-list links it had) and its last (its successor's prev_phys): anything else is a write after
 * free, reported; the block comes out all zero. Each request is served one word larger, that word
 * (the block's last) a canary holding the slack between the size asked for and it, twice, mixed with
 * the block's address; the slack stays zero. O(block) each: a debugging level, not a real-time one.
 */
#if MM_ZERO_FREED
/* Zeroes [p, p + bytes): word-aligned, whole words. */
static void hard_zero(void *p, size_t bytes)
{
	size_t *w = (size_t *)p;
	for (size_t i = 0; i < bytes / MM_W; i++)
		w[i] = 0;
}

/* The words of a free block n (stride `stride`) that a coalescing absorbs, zeroed: its size word and
 * the first five of its payload (the links, and the marks libmemoman-malloc's zones keep in free
 * blocks), as many as it has. Its prev_phys is the block before's payload, zeroed with it. */
MM_INLINE void hard_absorb(mm_block *n, size_t stride) { hard_zero(&n->size, stride < 6 * MM_W ? stride : 6 * MM_W); }
#define HARD_FREED(b) hard_zero(mm_block_payload(b), mm_stride_of((b)->size) - MM_W)
#define HARD_ABSORB(n, stride) hard_absorb((n), (stride))
#else
#define HARD_FREED(b) ((void)0)
#define HARD_ABSORB(n, stride) ((void)0)
#endif

#if MM_CHECKS >= 3
#define HARD_W MM_W /* the canary word each request is served beyond its size (common.h) */
MM_INLINE size_t hard_usable(const void *p) { return mm_stride_of(mm_block_from_ptr(p)->size) - MM_W; }

/* A block just marked used: still zero where freed memory must be (else reported), then zeroed. */
static void hard_take(mm_control *c, void *p)
{
	size_t *w = (size_t *)p;
	size_t n = hard_usable(p) / MM_W;
	for (size_t i = 2; i + 1 < n; i++)
		if (MM_UNLIKELY(w[i] != 0)) {
			report(c, MM_ERR_WRITE_AFTER_FREE, p);
			break;
		}
	hard_zero(p, n * MM_W);
}

/* The block (all zero past `bytes`) is the program's for `bytes`: its canary written. */
static void *hard_seal(void *p, size_t bytes)
{
	if (bytes == 0)
		bytes = 1; /* a size of 0 would read as no block at all (mm_tlsf_checked_size) */
	if (p)
		mm_canary_put(p, hard_usable(p), bytes, mm_canary_code(p, MM_CANARY_KEY));
	return p;
}

/* The size the canary says the program has (the bytes from it to the canary are zero), or
 * SIZE_MAX if the canary or those bytes were overwritten. */
static size_t hard_size(const void *p) { return mm_canary_intact(p, hard_usable(p), mm_canary_code(p, MM_CANARY_KEY)); }

/* A block resized to `bytes`: the bytes after them zeroed (old data, a canary, absorbed headers),
 * the canary written. */
static void *hard_resized(void *p, size_t bytes)
{
	size_t u = hard_usable(p);
	unsigned char *b = (unsigned char *)p;
	for (size_t i = bytes; i < u - HARD_W; i++)
		b[i] = 0;
	return hard_seal(p, bytes);
}
#define HARD_RESIZED(p, bytes) hard_resized((p), (bytes))

/* A free block f that a realloc grows over: still zero but for its links and its last word (as
 * hard_take checks a block handed out), else a write after free, reported with the block being
 * resized. */
static void hard_check_free(mm_control *c, const mm_block *f, const void *resized)
{
	const size_t *w = (const size_t *)mm_block_payload(f);
	size_t n = (mm_stride_of(f->size) - MM_W) / MM_W;
	for (size_t i = 2; i + 1 < n; i++)
		if (MM_UNLIKELY(w[i] != 0)) {
			report(c, MM_ERR_WRITE_AFTER_FREE, resized);
			return;
		}
}

/* The program's block is intact (else reported: the caller refuses the call). */
static int hard_intact(mm_control *c, const void *p)
{
	if (MM_LIKELY(hard_size(p) != SIZE_MAX))
		return 1;
	report(c, MM_ERR_OVERRUN, p);
	return 0;
}

#else
#define HARD_W 0
#define HARD_RESIZED(p, bytes) ((void)0)
#endif

/* ---- Free lists --------------------------------------------------------------------------------- */

/* A list link's address is one of the heads (in the control, stored as they are) rather than a free
 * block's next_free (sealed). */
MM_INLINE int link_is_head(const mm_control *c, mm_block *const *link)
{
	return mm_addr(link) - mm_addr(c->heads) < sizeof(c->heads);
}

/* Makes the link at `link` (a head or a free block's next_free) point at `to`. */
MM_INLINE void link_store(const mm_control *c, mm_block **link, mm_block *to)
{
	*link = MM_CHECKS >= 1 && !link_is_head(c, link) ? (mm_block *)(mm_addr(to) ^ mm_link_code(c, link)) : to;
}

MM_PART void list_insert(mm_control *c, mm_block *b, size_t stride)
{
	size_t cls = mm_class_insert(stride);
	mm_block **head = &c->heads[cls];
	mm_block *first = *head;
	mm_set_next_free(c, b, first);
	mm_set_prev_link(c, b, head);
	if (first)
		mm_set_prev_link(c, first, &b->next_free);
	*head = b;
	c->sl_bitmap[cls >> MM_SL_LOG2] |= (mm_slmap)1 << (cls & MM_SL_MASK);
	c->fl_bitmap |= (uint32_t)1 << (cls >> MM_SL_LOG2);
}

/* The class's list just became empty: clear its bits. */
MM_PART void class_emptied(mm_control *c, size_t cls)
{
	size_t fl = cls >> MM_SL_LOG2;
	c->sl_bitmap[fl] &= ~((mm_slmap)1 << (cls & MM_SL_MASK));
	if (!c->sl_bitmap[fl])
		c->fl_bitmap &= ~((uint32_t)1 << fl);
}

#if MM_CHECKS >= 1
static const mm_pool_rec *payload_pool(const mm_control *c, uintptr_t a);

/*
 * The checks made before a link is followed. The block it leads to must be safe to read: at level 1
 * its payload lies at an aligned offset within the range of the pools (one rotated comparison); at
 * level 2 inside a pool itself (the pool table searched). And it must link back: its prev_link names
 * the link that led to it. What a use after free leaves in a link unseals to an address that fails
 * them (tlsf_internal.h); so does a forged one, unless the forger knows the key.
 */
MM_INLINE int link_target_ok(const mm_control *c, uintptr_t payload)
{
#if MM_CHECKS >= 2
	return payload_pool(c, payload) != NULL;
#else
	return mm_rotate_offset(payload - c->pools[0].first) <= c->link_span_r;
#endif
}

/* next, read from the link at `link`, may be followed: a target that may be read, linking back. */
MM_INLINE int follows(const mm_control *c, mm_block *const *link, const mm_block *next)
{
	return link_target_ok(c, mm_addr(mm_block_payload(next))) && mm_prev_link(c, next) == link;
}

/* b's own links, before b is unlinked: what points at it (a head, or a free block's next_free in
 * range) does, and its successor (if any) links back to it. */
MM_INLINE int unlink_ok(const mm_control *c, const mm_block *b, mm_block *const *link, const mm_block *next)
{
	if (link_is_head(c, link)) {
		if ((mm_addr(link) & (sizeof(void *) - 1)) || *link != b)
			return 0;
	} else if (!link_target_ok(c, mm_addr(link)) || (mm_addr(*link) ^ mm_link_code(c, link)) != mm_addr(b)) {
		return 0;
	}
	return !next || follows(c, &b->next_free, next);
}

/*
 * A free list found broken at block b (a use after free wrote into a free block): reported, and the
 * list of b's class emptied, so that no head leads to b or to the forged link any more. The blocks of
 * that list are lost to allocation (until mm_reset); the instance stays usable. Cold.
 */
static MM_NOINLINE MM_COLD void list_broken(mm_control *c, const mm_block *b)
{
	report(c, MM_ERR_CORRUPTED_LINK, mm_block_payload(b));
	size_t stride = mm_stride_of(b->size);
	size_t cls = stride >= MM_MIN_STRIDE && stride <= MM_BLOCK_MAX ? mm_class_insert(stride) : MM_CLASS_COUNT;
	if (cls < MM_CLASS_COUNT && c->heads[cls]) {
		c->heads[cls] = NULL;
		class_emptied(c, cls);
	}
}
#endif

mm_block *mm_tlsf_next_checked(const mm_control *c, const mm_block *b)
{
	mm_block *next = mm_next_free(c, b);
#if MM_CHECKS >= 1
	if (next && !follows(c, &b->next_free, next))
		return NULL;
#endif
	return next;
}

/*
 * Removes any member of any list. Its class is computed only when its list becomes empty, from the
 * address of the head slot that pointed at it. With MM_CHECKS >= 1 the links are checked first; if
 * they fail, the list is reported broken (list_broken) and b is out of every list all the same.
 */
MM_PART void list_unlink(mm_control *c, mm_block *b)
{
	mm_block *next = mm_next_free(c, b);
	mm_block **link = mm_prev_link(c, b);
#if MM_CHECKS >= 1
	if (MM_UNLIKELY(!unlink_ok(c, b, link, next))) {
		list_broken(c, b);
		return;
	}
#endif
	link_store(c, link, next);
	if (next)
		mm_set_prev_link(c, next, link);
	else if (link_is_head(c, link))
		class_emptied(c, (size_t)(link - c->heads));
}

/* Removes the head of list `cls`: list_unlink without the search for the class. A successor that
 * does not link back is not followed: the rest of the list is dropped and reported (list_broken).
 * Built small, list_unlink does it. */
#if MM_SMALL_CODE
#define list_pop(c, b, cls) ((void)(cls), list_unlink(c, b))
#else
MM_INLINE void list_pop(mm_control *c, mm_block *b, size_t cls)
{
	mm_block *next = mm_next_free(c, b);
#if MM_CHECKS >= 1
	if (next && MM_UNLIKELY(!follows(c, &b->next_free, next))) {
		list_broken(c, b);
		return;
	}
#endif
	c->heads[cls] = next;
	if (next)
		mm_set_prev_link(c, next, &c->heads[cls]);
	else
		class_emptied(c, cls);
}
#endif

/* The stride rounded up to its search class's lower bound: what a block for it is trimmed to. */
MM_PART size_t class_bound(size_t stride)
{
	size_t rounded;
	(void)mm_class_search(stride, &rounded);
	return rounded;
}

/* ---- Finding and preparing blocks --------------------------------------------------------------- */

/*
 * Takes a free block of at least `stride` bytes out of its list, or returns NULL.
 * *target is set to the stride the caller should trim to: the stride rounded up to its search class,
 * or `stride` itself for a block from the fallback class that is smaller than the rounded stride.
 */
MM_PART mm_block *find_block(mm_control *c, size_t stride, size_t *target)
{
	size_t cls = mm_class_search(stride, target);
	size_t fl = cls >> MM_SL_LOG2;
	mm_slmap sl_map = c->sl_bitmap[fl] & (~(mm_slmap)0 << (cls & MM_SL_MASK));
	if (!sl_map) {
		uint32_t fl_map = c->fl_bitmap & (~(uint32_t)1 << fl);
		if (MM_UNLIKELY(!fl_map)) {
			/* Nothing in any class that surely fits. The request's own class may still hold one
			 * that does; its head is the only member looked at (O(1)). */
			size_t own = mm_class_insert(stride);
			mm_block *b = c->heads[own];
			if (own == cls || !b || mm_stride_of(b->size) < stride)
				return NULL;
			list_pop(c, b, own);
			*target = stride;
			return b;
		}
		fl = mm_ffs32(fl_map);
		sl_map = c->sl_bitmap[fl];
	}
	cls = (fl << MM_SL_LOG2) | mm_ffs_sl(sl_map);
	mm_block *b = c->heads[cls];
	MM_ASSERT(b && (b->size & MM_FREE_BIT) && mm_stride_of(b->size) >= stride);
	list_pop(c, b, cls);
	return b;
}

/*
 * Marks the free block b (out of its list) used with stride `target`, splitting off the rest as a
 * free block when it is large enough to be one. prev_bits is b's P flag, kept as it is.
 * The rest's successor already has P set (b was free); only its prev_phys moves.
 */
MM_ONCE void trim_used(mm_control *c, mm_block *b, size_t stride, size_t target);

MM_PART size_t use_block(mm_control *c, mm_block *b, size_t target, size_t prev_bits)
{
	size_t stride = mm_stride_of(b->size);
	mm_block *next = mm_block_after(b, stride);
#if MM_SMALL_CODE
	/* Built small: mark the whole block used, then trim it as realloc does. trim_used takes the
	 * tail out of in_use before the caller counts the whole block in: the sum comes out right. */
	b->size = stride | prev_bits;
	MM_SIZE_STORE(next, next->size & ~MM_PREV_FREE_BIT);
	trim_used(c, b, stride, target);
	return stride;
#else
	if (stride - target >= MM_MIN_STRIDE) {
		mm_block *rest = mm_block_after(b, target);
		rest->size = (stride - target) | MM_FREE_BIT;
		next->prev_phys = rest;
		list_insert(c, rest, stride - target);
		b->size = target | prev_bits;
		return target;
	}
	b->size = stride | prev_bits;
	MM_SIZE_STORE(next, next->size & ~MM_PREV_FREE_BIT);
	return stride;
#endif
}

/* Statistics of a block handed out / taken back. */
#if MM_OBSERVE
MM_PART void count_alloc(mm_control *c, size_t stride)
{
	c->obs.allocs++;
	c->in_use += stride;
	if (c->in_use > c->peak_in_use)
		c->peak_in_use = c->in_use;
}

/* A request refused for lack of room (counted): NULL. */
MM_PART void *refuse(mm_control *c)
{
	c->obs.failures++;
	return NULL;
}

MM_PART void count_free(mm_control *c, size_t stride)
{
	c->obs.frees++;
	c->in_use -= stride;
}

/* A block grew in place by delta bytes; `moved`: it moved down (counted as a free and an allocation). */
MM_INLINE void count_grow(mm_control *c, size_t delta, int moved)
{
	if (moved) {
		c->obs.frees++;
		c->obs.allocs++;
	}
	c->in_use += delta;
	if (c->in_use > c->peak_in_use)
		c->peak_in_use = c->in_use;
}

/* Bytes a block trimmed by realloc gives back. */
MM_INLINE void count_shrink(mm_control *c, size_t delta) { c->in_use -= delta; }
#else
/* MM_OBSERVE=0: nothing counted. */
#define count_alloc(c, stride) ((void)(c), (void)(stride))
#define count_free(c, stride) ((void)(c), (void)(stride))
#define count_grow(c, delta, moved) ((void)(c), (void)(delta), (void)(moved))
#define count_shrink(c, delta) ((void)(c), (void)(delta))
#define refuse(c) ((void)(c), (void *)NULL)
#endif

/*
 * Gives back the tail of a used block b (stride `stride`) beyond `target`, if it is large enough to
 * be a block; the tail coalesces with a free successor. b's own flags are kept.
 */
MM_ONCE void trim_used(mm_control *c, mm_block *b, size_t stride, size_t target)
{
	size_t rest_stride = stride - target;
	if (rest_stride < MM_MIN_STRIDE)
		return;
	count_shrink(c, rest_stride); /* the tail leaves the block */
	mm_block *next = mm_block_after(b, stride);
	size_t next_size = next->size;
	if (next_size & MM_FREE_BIT) {
		list_unlink(c, next);
		HARD_ABSORB(next, mm_stride_of(next_size));
		rest_stride += mm_stride_of(next_size);
		next = mm_block_after(b, target + rest_stride);
		next_size = next->size;
	}
	mm_block *rest = mm_block_after(b, target);
	rest->size = rest_stride | MM_FREE_BIT;
	next->prev_phys = rest;
	MM_SIZE_STORE(next, next_size | MM_PREV_FREE_BIT);
	list_insert(c, rest, rest_stride);
	b->size = target | (b->size & MM_PREV_FREE_BIT);
}

/* A realloc's trim: the tail it gives back held the program's bytes (or headers it grew over), zeroed
 * first when freed memory is kept zero (a split of a free block, as use_block built small makes,
 * leaves free memory as it is: already zero, or written after free, for the check to find). */
#if MM_ZERO_FREED
static void trim_data(mm_control *c, mm_block *b, size_t stride, size_t target)
{
	if (stride - target >= MM_MIN_STRIDE)
		hard_zero(mm_block_payload(mm_block_after(b, target)), stride - target - MM_W);
	trim_used(c, b, stride, target);
}
#define TRIM_DATA(c, b, stride, target) trim_data((c), (b), (stride), (target))
#else
#define TRIM_DATA(c, b, stride, target) trim_used((c), (b), (stride), (target))
#endif

/* ---- Pools -------------------------------------------------------------------------------------- */

/*
 * The first payload of a pool that starts at mem. The whole first header lies inside the pool; its
 * prev_phys word is never needed as such (the first block has no predecessor), so it records the
 * pool's end: walks that are given only the pool (mm_walk_pool, mm_validate_pool) stay inside it.
 */
MM_INLINE uintptr_t pool_first_payload(uintptr_t mem) { return align_up_ptr(mem + 2 * MM_W, MM_ALIGN); }

/* The end recorded in a pool's first header, or 0 if it is not plausible. */
static uintptr_t pool_recorded_end(uintptr_t mem)
{
	uintptr_t first = pool_first_payload(mem);
	uintptr_t end = (uintptr_t)mm_block_from_ptr((void *)first)->prev_phys;
	if (end <= first || end - first < MM_MIN_STRIDE || end - first > MM_BLOCK_MAX || (end & MM_LOW_MASK))
		return 0;
	return end;
}

/* The end of a pool over [mem, mem + bytes): the sentinel's payload address, clamped so that the
 * first block is no larger than MM_BLOCK_MAX. 0 if the memory cannot hold one block. */
static uintptr_t pool_layout_end(uintptr_t mem, size_t bytes)
{
	uintptr_t p0 = pool_first_payload(mem);
	uintptr_t end = align_down_ptr(mem + bytes, MM_ALIGN);
	if (end < p0 || end - p0 < MM_MIN_STRIDE)
		return 0;
	if (end - p0 > MM_BLOCK_MAX)
		end = p0 + MM_BLOCK_MAX;
	return end;
}

/* Makes the pool one free block followed by the sentinel, and files the block. */
static void pool_format(mm_control *c, const mm_pool_rec *pool)
{
	size_t stride = (size_t)(mm_pool_end(pool) - pool->first);
	mm_block *b = mm_block_from_ptr((void *)pool->first);
	mm_block *sentinel = mm_block_after(b, stride);
#if MM_CHECKS >= 3
	hard_zero((void *)pool->first, stride - MM_W); /* the caller's bytes, or a reset's blocks */
#endif
	b->prev_phys = (mm_block *)mm_pool_end(pool);
	b->size = stride | MM_FREE_BIT;
	sentinel->prev_phys = b;
	sentinel->size = MM_PREV_FREE_BIT; /* stride 0, used */
	list_insert(c, b, stride);
}

/* Index of the first pool whose start is above a (0..pool_count). log2(MM_MAX_POOLS) steps. */
static size_t pool_upper_bound(const mm_control *c, uintptr_t a)
{
	size_t lo = 0, n = c->pool_count;
	while (n > 0) {
		size_t half = n / 2;
		if (c->pools[lo + half].start <= a) {
			lo += half + 1;
			n -= half + 1;
		} else {
			n = half;
		}
	}
	return lo;
}

/* The pool whose memory [start, end) contains address a, or NULL. */
static const mm_pool_rec *pool_find(const mm_control *c, uintptr_t a)
{
	size_t i = pool_upper_bound(c, a);
	if (i == 0)
		return NULL;
	const mm_pool_rec *p = &c->pools[i - 1];
	return a < mm_pool_end(p) ? p : NULL;
}

/* The pool in which a can be a block's payload (an aligned offset 0..span from its first payload),
 * or NULL. The first pool of the table is tried first: with one pool that is the whole search. */
static const mm_pool_rec *payload_pool(const mm_control *c, uintptr_t a)
{
	const mm_pool_rec *p = &c->pools[0];
	if (mm_rotate_offset(a - p->first) > p->span_r) {
		p = pool_find(c, a);
		if (!p || mm_rotate_offset(a - p->first) > p->span_r)
			return NULL;
	}
	return p;
}

/* The range a followed link must lie in (MM_CHECKS >= 1): from the lowest pool's first payload to
 * the highest one's last, after the pool table changed. No pools: the empty record's, which holds no
 * block. */
static void link_range_update(mm_control *c)
{
#if MM_CHECKS >= 1
	const mm_pool_rec *top = &c->pools[c->pool_count ? c->pool_count - 1 : 0];
	c->link_span_r = (top->first + mm_pool_span(top) - c->pools[0].first) >> MM_ALIGN_LOG2;
#else
	(void)c;
#endif
}

/* Adds a pool, or returns the reason it cannot be added. */
static mm_error_t pool_add(mm_control *c, void *mem, size_t bytes)
{
	uintptr_t m = mm_addr(mem);
	uintptr_t end;
	/* Size checks first: below the minimum, the address arithmetic of pool_layout_end could wrap. */
	if (!mem || (m & (MM_W - 1)) || bytes < MM_POOL_OVERHEAD + MM_MIN_STRIDE - MM_W || bytes > UINTPTR_MAX - m ||
	    !(end = pool_layout_end(m, bytes)))
		return MM_ERR_BAD_POOL;
	/* The pool is [m, end): the bytes the allocator will write. None of them may belong to another
	 * pool or to the control structure. */
	uintptr_t ctl = mm_addr(c);
	size_t i = pool_upper_bound(c, m);
	if ((m < ctl + mm_size() && ctl < end) || (i > 0 && mm_pool_end(&c->pools[i - 1]) > m) ||
	    (i < c->pool_count && c->pools[i].start < end))
		return MM_ERR_POOL_OVERLAP;
	if (c->pool_count == MM_MAX_POOLS)
		return MM_ERR_POOL_LIMIT;
	move_words(&c->pools[i + 1], &c->pools[i], (c->pool_count - i) * sizeof(c->pools[0]));
	c->pools[i].start = m;
	c->pools[i].first = pool_first_payload(m);
	c->pools[i].span_r = (end - c->pools[i].first - MM_MIN_STRIDE) >> MM_ALIGN_LOG2;
	c->pool_count++;
	link_range_update(c);
	pool_format(c, &c->pools[i]);
	return MM_OK;
}

/* The pools' memory holds no block of the program's (yet, or any more: a reset): each block in
 * use is told freed, and the whole of each pool is hidden (tool.h; nothing without a checker). */
static void tool_hide_pools(const mm_control *c);

/* A pool just added holds no block of the program's. */
static void tool_hide_pool(const mm_control *c, uintptr_t start)
{
#if MM_TOOLS
	const mm_pool_rec *p = pool_find(c, start);
	if (p)
		MM_TOOL_HIDE((void *)p->start, mm_pool_end(p) - p->start);
#else
	(void)c;
	(void)start;
#endif
}

static void tool_hide_pools(const mm_control *c)
{
#if MM_TOOLS
	MM_TOOL_QUIET_BEGIN();
	for (size_t i = 0; i < c->pool_count; i++) {
		uintptr_t end = mm_pool_end(&c->pools[i]);
		for (uintptr_t p = c->pools[i].first; p < end;) {
			size_t size = mm_block_from_ptr((void *)p)->size, stride = mm_stride_of(size);
			if (stride < MM_MIN_STRIDE || stride > end - p)
				break; /* the sentinel, or a header a bug overwrote */
			if (!(size & MM_FREE_BIT))
				MM_V_FREE((void *)p);
			p += stride;
		}
		MM_TOOL_HIDE((void *)c->pools[i].start, end - c->pools[i].start);
	}
	MM_TOOL_QUIET_END();
#else
	(void)c;
#endif
}

mm_pool_t mm_add_pool(mm_t c, void *mem, size_t bytes)
{
	if (!c)
		return NULL;
	MM_TOOL_QUIET_BEGIN();
	mm_error_t e = pool_add(c, mem, bytes);
	MM_TOOL_QUIET_END();
	if (e != MM_OK) {
		report(c, e, mem);
		return NULL;
	}
	tool_hide_pool(c, mm_addr(mem));
	return (mm_pool_t)mem;
}

int mm_remove_pool(mm_t c, mm_pool_t pool)
{
	if (!c)
		return 0;
	uintptr_t m = mm_addr(pool);
	size_t i = pool_upper_bound(c, m);
	if (!pool || i == 0 || c->pools[i - 1].start != m) {
		report(c, MM_ERR_BAD_POOL, pool);
		return 0;
	}
	i--;
	/* Fully free means one free block that reaches the sentinel (free blocks never touch). */
	mm_block *b = mm_block_from_ptr((void *)c->pools[i].first);
	MM_TOOL_QUIET_BEGIN();
	int in_use = !(b->size & MM_FREE_BIT) || mm_stride_of(b->size) != mm_pool_end(&c->pools[i]) - c->pools[i].first;
	if (!in_use)
		list_unlink(c, b);
	MM_TOOL_QUIET_END();
	if (in_use) {
		report(c, MM_ERR_POOL_IN_USE, pool);
		return 0;
	}
	MM_TOOL_SHOW((void *)m, mm_pool_end(&c->pools[i]) - m); /* the caller's memory again */
	move_words(&c->pools[i], &c->pools[i + 1], (c->pool_count - i - 1) * sizeof(c->pools[0]));
	c->pool_count--;
	c->pools[c->pool_count] = (mm_pool_rec){0}; /* an empty entry matches no pointer */
	link_range_update(c);
	return 1;
}

mm_pool_t mm_get_pool_for_ptr(mm_t c, const void *ptr)
{
	if (!c || !ptr)
		return NULL;
	const mm_pool_rec *p = pool_find(c, mm_addr(ptr));
	return p ? (mm_pool_t)p->start : NULL;
}

mm_pool_t mm_get_pool(mm_t c)
{
	if (!c)
		return NULL;
	uintptr_t m = mm_addr(c) + mm_size();
	const mm_pool_rec *p = pool_find(c, m);
	return p && p->start == m ? (mm_pool_t)m : NULL;
}

/* ---- Creation ----------------------------------------------------------------------------------- */

/* What observe.c asks of a TLSF instance (observe.h). */
static const mm_observe_ops tlsf_ops = {
    .name = "TLSF",
    .fill_stats = MM_OBSERVE ? mm_tlsf_fill_stats : NULL, /* MM_OBSERVE=0: mm_get_stats refuses */
    .reset_counters = NULL,
    .gate = NULL,
#if MM_HAVE_STDIO
    .print = NULL,
#endif
};

mm_t mm_create(void *mem)
{
	if (!mem || (mm_addr(mem) & (_Alignof(mm_control) - 1)))
		return NULL;
	mm_control *c = (mm_control *)mem;
	mm_zero_words(c, sizeof(*c)); /* word-aligned, a whole number of words */
	mm_observe_init(&c->obs, MM_KIND_TLSF, &tlsf_ops);
#if MM_CHECKS >= 1
	/* The default secret: the address, mixed (mm_set_secret replaces it). */
	uintptr_t k = mm_addr(c) * (uintptr_t)0x9E3779B97F4A7C15ull;
	c->link_key = k ^ (k >> (sizeof(uintptr_t) * 4)) ^ (uintptr_t)0x5bd1e995u;
#endif
	return c;
}

void mm_tlsf_set_secret(mm_control *c, uintptr_t secret)
{
#if MM_CHECKS >= 1
	/* Every member of every list is unsealed with the old key, checked as list_pop checks it, and
	 * sealed with the new one. A member that fails ends its list there (reported). */
	uintptr_t old = c->link_key;
	for (size_t cls = 0; cls < MM_CLASS_COUNT; cls++) {
		mm_block **link = &c->heads[cls];
		for (mm_block *b = *link; b;) {
			c->link_key = old;
			mm_block *next = mm_next_free(c, b);
			if (next && !follows(c, &b->next_free, next)) {
				report(c, MM_ERR_CORRUPTED_LINK, mm_block_payload(b));
				next = NULL;
			}
			c->link_key = secret;
			mm_set_next_free(c, b, next);
			mm_set_prev_link(c, b, link);
			link = &b->next_free;
			b = next;
		}
	}
	c->link_key = secret;
#else
	(void)c;
	(void)secret;
#endif
}

void mm_set_secret(mm_t c, uintptr_t secret)
{
	if (c && c->obs.kind == MM_KIND_TLSF) {
		MM_TOOL_QUIET_BEGIN();
		mm_tlsf_set_secret(c, secret);
		MM_TOOL_QUIET_END();
	}
}

mm_error_t mm_create_error(const void *mem, size_t bytes)
{
	if (!mem)
		return MM_ERR_BAD_ARGUMENT;
	uintptr_t m = mm_addr(mem);
	if (m & (_Alignof(mm_control) - 1))
		return MM_ERR_MISALIGNED;
	if (bytes > UINTPTR_MAX - m)
		return MM_ERR_BAD_ARGUMENT;
	/* The pool after the control: pool_add's size checks (its alignment follows from the control's). */
	size_t rest = bytes - (bytes < mm_size() ? bytes : mm_size());
	if (bytes < mm_size() || rest < MM_POOL_OVERHEAD + MM_MIN_STRIDE - MM_W ||
	    !pool_layout_end(m + mm_size(), rest))
		return MM_ERR_TOO_SMALL;
	return MM_OK;
}

mm_t mm_create_with_pool(void *mem, size_t bytes)
{
	/* Nothing is written unless it succeeds: the sizes are checked here (the pool's minimum is what
	 * pool_add asks, which is then met), the alignment by mm_create. mm_create_error says which. */
	if (bytes < mm_size() || bytes - mm_size() < MM_POOL_OVERHEAD + MM_MIN_STRIDE - MM_W ||
	    bytes > UINTPTR_MAX - mm_addr(mem))
		return NULL;
	mm_t c = mm_create(mem);
	if (!c)
		return NULL;
	MM_TOOL_QUIET_BEGIN();
	mm_error_t e = pool_add(c, (char *)mem + mm_size(), bytes - mm_size());
	MM_TOOL_QUIET_END();
	if (e != MM_OK) {
		c->obs.kind = 0;
		return NULL;
	}
	tool_hide_pools(c);
	return c;
}

mm_t mm_init_in_place(void *mem, size_t bytes)
{
	if (!mem)
		return NULL;
	uintptr_t m = mm_addr(mem);
	uintptr_t at = align_up_ptr(m, MM_ALIGN);
	if (at < m || bytes < at - m)
		return NULL;
	return mm_create_with_pool((void *)at, bytes - (size_t)(at - m));
}

void mm_destroy(mm_t c)
{
	if (!c)
		return;
#if MM_TOOLS
	if (c->obs.kind == MM_KIND_TLSF) { /* its blocks are gone, the pools the caller's memory again */
		tool_hide_pools(c);
		for (size_t i = 0; i < c->pool_count; i++)
			MM_TOOL_SHOW((void *)c->pools[i].start, mm_pool_end(&c->pools[i]) - c->pools[i].start);
	}
#endif
	c->obs.kind = 0;
}

int mm_reset(mm_t c)
{
	if (!c)
		return 0;
	/* Empty every list that is not empty: at most MM_CLASS_COUNT, found through the bitmaps. */
	uint32_t fl_map = c->fl_bitmap;
	while (fl_map) {
		size_t fl = mm_ffs32(fl_map);
		mm_slmap sl_map = c->sl_bitmap[fl];
		while (sl_map) {
			c->heads[(fl << MM_SL_LOG2) | mm_ffs_sl(sl_map)] = NULL;
			sl_map &= sl_map - 1;
		}
		c->sl_bitmap[fl] = 0;
		fl_map &= fl_map - 1;
	}
	c->fl_bitmap = 0;
	tool_hide_pools(c); /* every block the program had is gone */
	MM_TOOL_QUIET_BEGIN();
	for (size_t i = 0; i < c->pool_count; i++)
		pool_format(c, &c->pools[i]);
	MM_TOOL_QUIET_END();
	c->obs.frees += mm_observe_live(&c->obs); /* every block is taken back at once */
	c->in_use = 0;
	return 1;
}

/* ---- Sizes -------------------------------------------------------------------------------------- */

size_t mm_size(void) { return MM_ALIGN_UP_CONST(sizeof(mm_control), MM_ALIGN); }
size_t mm_align_size(void) { return MM_ALIGN; }
size_t mm_block_size_min(void) { return MM_MIN_STRIDE - MM_W - HARD_W; }
size_t mm_block_size_max(void) { return MM_REQUEST_MAX - HARD_W; }
size_t mm_pool_overhead(void) { return MM_POOL_OVERHEAD; }
size_t mm_alloc_overhead(void) { return MM_W + HARD_W; }

/* ---- Pointer checks ----------------------------------------------------------------------------- */

/* The successor of a free block n (stride `stride`, inside the pool) agrees that n is free. */
MM_INLINE int successor_agrees(const mm_block *n, size_t stride)
{
	const mm_block *after = mm_block_after(n, stride);
	return (after->size & MM_PREV_FREE_BIT) && after->prev_phys == n;
}

/*
 * A free block n that a coalescing step is about to absorb is genuine when its header is consistent
 * (F set, P and spare bits clear, stride inside the pool) and its successor agrees. A stray write
 * into a used block's header that sets F (a 1-byte overflow from the block before it, say) fails
 * the second test.
 */
MM_INLINE int free_block_ok(const mm_pool_rec *pool, const mm_block *n, size_t n_size)
{
	uintptr_t a = mm_addr(mm_block_payload(n));
	size_t stride = mm_stride_of(n_size);
	if ((n_size & MM_LOW_MASK) != MM_FREE_BIT || stride < MM_MIN_STRIDE || stride > mm_pool_end(pool) - a)
		return 0;
	return successor_agrees(n, stride);
}

#if MM_CHECKS >= 1
/* b's P flag says its predecessor is free: prev_phys must point inside the pool, before b, at a free
 * header whose stride ends exactly at b. */
MM_INLINE int free_prev_ok(const mm_pool_rec *pool, const mm_block *b)
{
	const mm_block *prev = b->prev_phys;
	uintptr_t pa = mm_addr(mm_block_payload(prev));
	uintptr_t ba = mm_addr(mm_block_payload(b));
	/* Aligned and before b inside the pool (one rotated comparison), before reading its header. */
	return mm_rotate_offset(pa - pool->first) < (ba - pool->first) >> MM_ALIGN_LOG2 &&
	       (prev->size & MM_LOW_MASK) == MM_FREE_BIT && pa + mm_stride_of(prev->size) == ba;
}
#endif

#if MM_CHECKS >= 1
/*
 * Names the error behind a pointer that failed the cheap checks, by walking its pool once. Only
 * called on misuse; the walk is bounded by the pool and stops at the first inconsistent header.
 */
static MM_NOINLINE MM_COLD void pointer_error(mm_control *c, const void *ptr)
{
	uintptr_t a = mm_addr(ptr);
	const mm_pool_rec *pool = c ? pool_find(c, a) : NULL;
	if (!pool) {
		report(c, MM_ERR_INVALID_POINTER, ptr);
		return;
	}
	mm_error_t e = MM_ERR_INTERIOR_POINTER; /* before the first block, or in the sentinel */
	uintptr_t end = mm_pool_end(pool);
	for (uintptr_t p = pool->first; a >= pool->first && p < end;) {
		const mm_block *b = mm_block_from_ptr((void *)p);
		size_t size = b->size;
		size_t stride = mm_stride_of(size);
		if ((size & MM_SPARE_MASK) || stride < MM_MIN_STRIDE || stride > end - p) {
			e = MM_ERR_CORRUPTED_HEADER; /* the walk cannot go on: corrupted before or at ptr */
			break;
		}
		if (a < p + stride - MM_W) { /* ptr is in this block (its size word or its payload) */
			if (!(size & MM_FREE_BIT))
				e = a == p ? MM_ERR_CORRUPTED_HEADER : MM_ERR_INTERIOR_POINTER;
			else
				e = free_block_ok(pool, b, size) ? MM_ERR_DOUBLE_FREE : MM_ERR_CORRUPTED_HEADER;
			break;
		}
		p += stride;
	}
	report(c, e, ptr);
}
#endif

/*
 * The O(1) checks on a pointer handed back to the allocator, before anything is written:
 *   - ptr is an aligned payload address of one of the pools (the first pool in the table is tried
 *     first, so with one pool this is one subtraction and one comparison);
 *   - its header has F and the spare bits clear, and a stride of at least MM_MIN_STRIDE that stays
 *     inside the pool (one unsigned comparison covers both ends);
 *   - the next header has P and the spare bits clear and a stride that stays inside the pool (or is
 *     the sentinel's, at the pool's end);
 *   - a free neighbour the block will coalesce with is genuine: the next one's successor points back
 *     at it; the previous one ends exactly at this block.
 * Returns the block, or reports and returns NULL. Without checks (MM_CHECKS == 0) it only converts.
 */
MM_PART mm_block *live_block(mm_control *c, const void *ptr)
{
#if MM_CHECKS >= 1
	uintptr_t a = mm_addr(ptr);
	if (MM_UNLIKELY(!c))
		goto bad_pointer;
	const mm_pool_rec *pool = &c->pools[0];
	uintptr_t offset = a - pool->first;
	if (MM_UNLIKELY(mm_rotate_offset(offset) > pool->span_r)) {
		pool = payload_pool(c, a);
		if (!pool)
			goto bad_pointer;
		offset = a - pool->first;
	}
	size_t room = (size_t)(mm_pool_span(pool) - offset); /* end - a - MM_MIN_STRIDE */
	mm_block *b = mm_block_from_ptr(ptr);
	size_t size = b->size;
	size_t stride = mm_stride_of(size);
	if (MM_UNLIKELY(size & (MM_FREE_BIT | MM_SPARE_MASK)) || MM_UNLIKELY(stride - MM_MIN_STRIDE > room))
		goto bad_pointer;
	mm_block *next = mm_block_after(b, stride);
	size_t next_size = next->size;
	size_t next_stride = mm_stride_of(next_size);
	/* The next header is plausible: flags, and a stride of MM_MIN_STRIDE..(end - its payload), or 0
	 * exactly when it is the sentinel at the pool's end (next_room 0). */
	size_t next_room = room + MM_MIN_STRIDE - stride; /* end - next's payload; stride - MIN <= room */
	if (MM_UNLIKELY(next_size & (MM_PREV_FREE_BIT | MM_SPARE_MASK)) || MM_UNLIKELY(next_stride > next_room) ||
	    MM_UNLIKELY(next_stride < MM_MIN_STRIDE && (next_stride | next_room)))
		goto bad_pointer;
	/* A free successor will be absorbed: its own successor must agree that it is free. */
	if ((next_size & MM_FREE_BIT) && MM_UNLIKELY(!successor_agrees(next, next_stride)))
		goto corrupted;
	if ((size & MM_PREV_FREE_BIT) && MM_UNLIKELY(!free_prev_ok(pool, b)))
		goto corrupted;
	return b;
corrupted:
	report(c, MM_ERR_CORRUPTED_HEADER, ptr); /* a free neighbour that is not genuine */
	return NULL;
bad_pointer:
	pointer_error(c, ptr);
	return NULL;
#else
	(void)c;
	return mm_block_from_ptr(ptr);
#endif
}

#if MM_CHECKS >= 2
static int validate(const mm_control *c, const void **where, mm_error_t *why);

/* Periodic full validation (MM_CHECKS == 2). */
static void periodic_validate(mm_control *c)
{
	if (++c->ops < MM_VALIDATE_INTERVAL)
		return;
	c->ops = 0;
	const void *where = NULL;
	mm_error_t why = MM_ERR_CORRUPTED_HEADER;
	if (!validate(c, &where, &why))
		report(c, why, where); /* MM_ERR_OVERRUN: a used block's canary (MM_CHECKS == 3) */
}
#define PERIODIC_VALIDATE(c) periodic_validate(c)
#else
#define PERIODIC_VALIDATE(c) ((void)0)
#endif

/* ---- malloc, memalign, free, realloc: the core operations ------------------------------------- */

/* A block for bytes (<= MM_REQUEST_MAX - HARD_W), counted; NULL (not counted) when none is free. */
MM_PART void *alloc_block(mm_control *c, size_t bytes)
{
	size_t target;
	mm_block *b = find_block(c, request_stride(bytes + HARD_W), &target);
	if (MM_UNLIKELY(!b))
		return NULL;
	count_alloc(c, use_block(c, b, target, 0)); /* a free block's predecessor is never free */
#if MM_CHECKS >= 3
	hard_take(c, mm_block_payload(b));
	hard_seal(mm_block_payload(b), bytes);
#endif
	PERIODIC_VALIDATE(c);
	return mm_block_payload(b);
}

MM_PART void *malloc_core(mm_control *c, size_t bytes)
{
	void *p = MM_LIKELY(bytes <= MM_REQUEST_MAX - HARD_W) ? alloc_block(c, bytes) : NULL;
	return MM_LIKELY(p != NULL) ? p : refuse(c);
}

/* memalign for an align already checked: a power of two above MM_ALIGN. */
MM_ONCE void *aligned_core(mm_control *c, size_t align, size_t bytes)
{
	/* The payload found is MM_ALIGN-aligned; the aligned address is at most align - MM_ALIGN past it,
	 * plus MM_MIN_STRIDE when that gap is too small to be a free block of its own and the next
	 * aligned address is used instead. Search for the stride plus that worst-case gap. */
	size_t stride = request_stride(bytes < MM_REQUEST_MAX - HARD_W ? bytes + HARD_W : MM_REQUEST_MAX);
	size_t worst_gap = MM_MIN_STRIDE - MM_ALIGN; /* + align, added below without wrap-around */
	size_t target;
	mm_block *b;
	if (bytes > MM_REQUEST_MAX - HARD_W || align > MM_REQ_STRIDE_MAX ||
	    stride + worst_gap > MM_REQ_STRIDE_MAX - align || !(b = find_block(c, stride + worst_gap + align, &target)))
		return refuse(c);
	size_t found = mm_stride_of(b->size);
	uintptr_t p = mm_addr(mm_block_payload(b));
	uintptr_t aligned = align_up_ptr(p, align);
	size_t prev_bits = 0;
	if (aligned != p) {
		if (aligned - p < MM_MIN_STRIDE)
			aligned = align_up_ptr(p + MM_MIN_STRIDE, align);
		/* The gap before the aligned payload becomes a free block; its predecessor is used. */
		size_t gap = (size_t)(aligned - p);
		mm_block *rest = mm_block_after(b, gap);
		b->size = gap | MM_FREE_BIT;
		rest->prev_phys = b;
		list_insert(c, b, gap);
		found -= gap;
		rest->size = found | MM_FREE_BIT;
		b = rest;
		prev_bits = MM_PREV_FREE_BIT;
	}
	size_t rounded = class_bound(stride);
	count_alloc(c, use_block(c, b, rounded <= found ? rounded : stride, prev_bits));
#if MM_CHECKS >= 3
	hard_take(c, mm_block_payload(b));
	hard_seal(mm_block_payload(b), bytes);
#endif
	PERIODIC_VALIDATE(c);
	return mm_block_payload(b);
}

MM_ONCE void *memalign_core(mm_control *c, size_t align, size_t bytes)
{
	if (MM_UNLIKELY(align == 0 || (align & (align - 1)))) {
		report(c, MM_ERR_BAD_ARGUMENT, NULL); /* a bad argument, not a failure to serve */
		return NULL;
	}
	if (align <= MM_ALIGN)
		return malloc_core(c, bytes);
	return aligned_core(c, align, bytes);
}

/* Frees a live block, coalescing it with its free neighbours. */
MM_ONCE void free_block(mm_control *c, mm_block *b)
{
	size_t size = b->size;
	size_t stride = mm_stride_of(size);
	HARD_FREED(b);
	count_free(c, stride);
	mm_block *next = mm_block_after(b, stride);
	size_t next_size = next->size;
	if (next_size & MM_FREE_BIT) {
		list_unlink(c, next);
		HARD_ABSORB(next, mm_stride_of(next_size));
		stride += mm_stride_of(next_size);
		next = mm_block_after(b, stride);
		next_size = next->size;
	}
	if (size & MM_PREV_FREE_BIT) {
		/* Leave F set in the header being absorbed, so that freeing this pointer again is named a
		 * double free rather than passing as a live block. */
		b->size = size | MM_FREE_BIT;
		mm_block *prev = b->prev_phys;
		list_unlink(c, prev);
		stride += mm_stride_of(prev->size);
#if MM_ZERO_FREED
		b->prev_phys = NULL; /* its header is the predecessor's payload now (a double free of it is
		                        still named: by the walk, which finds it inside a free block) */
		b->size = 0;
#endif
		b = prev;
	}
	b->size = stride | MM_FREE_BIT;
	next->prev_phys = b;
	MM_SIZE_STORE(next, next_size | MM_PREV_FREE_BIT);
	list_insert(c, b, stride);
}

/* Frees a block that passed live_block. */
MM_PART void release(mm_control *c, mm_block *b)
{
	size_t size = b->size; /* F is clear: b is live */
	mm_block *next = mm_block_after(b, mm_stride_of(size));
	/* Built small, free_block does it all (it handles neighbours that are not free too). */
	if (MM_SMALL_CODE || ((size | next->size) & (MM_PREV_FREE_BIT | MM_FREE_BIT))) {
		free_block(c, b); /* a free neighbour: coalesce (out of line, so that the common path below
		                     needs no callee-saved registers) */
	} else {
		HARD_FREED(b);
		count_free(c, size);
		b->size = size | MM_FREE_BIT;
		next->prev_phys = b;
		MM_SIZE_STORE(next, next->size | MM_PREV_FREE_BIT);
		list_insert(c, b, size);
	}
	PERIODIC_VALIDATE(c);
}

MM_PART void free_core(mm_control *c, void *ptr)
{
	mm_block *b = live_block(c, ptr);
#if MM_CHECKS >= 3
	if (b && !hard_intact(c, ptr))
		return; /* a write past the end: refused */
#endif
	if (MM_LIKELY(b != NULL))
		release(c, b);
}

MM_ONCE void *realloc_core(mm_control *c, void *ptr, size_t size)
{
	if (!ptr)
		return malloc_core(c, size);
	mm_block *b = live_block(c, ptr);
	if (MM_UNLIKELY(!b))
		return NULL;
#if MM_CHECKS >= 3
	if (!hard_intact(c, ptr))
		return NULL; /* a write past the end: refused */
#endif
	if (size == 0) {
		release(c, b);
		return NULL;
	}
	if (size > MM_REQUEST_MAX - HARD_W)
		return refuse(c);
	size_t need = request_stride(size + HARD_W);
	size_t rounded = class_bound(need);
	size_t stride = mm_stride_of(b->size);
	mm_block *next = mm_block_after(b, stride);
	size_t next_size = next->size;
	size_t next_free = (next_size & MM_FREE_BIT) ? mm_stride_of(next_size) : 0;
	size_t before = 0;  /* the free predecessor's stride, when it is taken too */
	mm_block *into = b; /* where the resized block starts */

	if (need <= stride) {
		/* Shrink (or keep) in place; the tail coalesces with a free successor. */
		TRIM_DATA(c, b, stride, rounded <= stride ? rounded : stride);
		HARD_RESIZED(ptr, size);
		PERIODIC_VALIDATE(c);
		return ptr;
	}
	if (stride + next_free < need) {
		void *moved = alloc_block(c, size);
		if (moved) {
			move_words(moved, ptr, stride - MM_W);
			free_block(c, b);
			HARD_RESIZED(moved, size);
			PERIODIC_VALIDATE(c);
			return moved;
		}
		/* Nothing else fits: the free space on both sides together, the data moved down. */
		if (!MM_REALLOC_BOTH_SIDES || !(b->size & MM_PREV_FREE_BIT) ||
		    mm_stride_of(b->prev_phys->size) + stride + next_free < need)
			return refuse(c);
		into = b->prev_phys;
		before = mm_stride_of(into->size);
#if MM_CHECKS >= 3
		hard_check_free(c, into, ptr);
#endif
		list_unlink(c, into);
	}
	/* Grow into the free neighbours: [into, the end of the free successor). */
	size_t total = before + stride + next_free;
#if MM_CHECKS >= 3
	if (next_free)
		hard_check_free(c, next, ptr);
#endif
	if (next_free)
		list_unlink(c, next);
	mm_block *after = mm_block_after(into, total);
	MM_SIZE_STORE(after, after->size & ~MM_PREV_FREE_BIT);
	into->size = total | (into->size & MM_PREV_FREE_BIT); /* 0 for a free predecessor: its own is used */
	void *result = mm_block_payload(into);
	if (before)
		move_words(result, ptr, stride - MM_W); /* overlapping: down */
	count_grow(c, total - stride, before != 0);
	TRIM_DATA(c, into, total, rounded <= total ? rounded : need);
	HARD_RESIZED(result, size);
	PERIODIC_VALIDATE(c);
	return result;
}

/* ---- The observed path: lock, timing, hooks ------------------------------------------------------- */

/*
 * The four operations on an observed instance (or a NULL one): lock, time the core operation, call
 * the hooks, unlock. What the hooks see follows from what the operation did, read
 * from the counters: an allocation hook for a block handed out or a request refused for lack of
 * room, a free hook for a block taken back (a bad pointer or alignment, reported, calls neither).
 * Hooks see a realloc as the free of the old block and the allocation of the new one. A block that
 * moved existed twice for a moment: its allocation comes first, so that a trace shows the peak; one
 * resized in place is freed first (its address is reused at once).
 * The entry points call it only when the instance is observed (or NULL).
 */
/* One of the four core operations, by its kind. */
MM_INLINE void *core_op(mm_control *c, mm_op op, void *ptr, size_t align, size_t size)
{
	switch (op) {
	case MM_OP_MALLOC: return malloc_core(c, size);
	case MM_OP_MEMALIGN: return memalign_core(c, align, size);
	case MM_OP_FREE: free_core(c, ptr); return NULL;
	default: return realloc_core(c, ptr, size);
	}
}

static MM_NOINLINE void *run(mm_control *c, mm_op op, void *ptr, size_t align, size_t size)
{
	if (!MM_OBSERVE || !c) { /* MM_OBSERVE=0: the entry points come here only for a NULL instance */
		if (ptr)
			report(NULL, MM_ERR_INVALID_POINTER, ptr);
		return NULL;
	}
	mm_observe *o = &c->obs;
	mm_observe_lock(o);
	/* One operation changes each counter by at most one: their low halves tell what it did. */
	uint32_t a0 = (uint32_t)o->allocs, f0 = (uint32_t)o->frees, x0 = (uint32_t)o->failures;
	uint64_t t = mm_observe_start(o);
	void *p = core_op(c, op, ptr, align, size);
	mm_observe_stop(o, op, t);
	if (p && p != ptr && ptr) {
		mm_observe_alloc(o, p, size);
		mm_observe_free(o, ptr);
	} else {
		if (p || (uint32_t)o->frees != f0)
			mm_observe_free(o, ptr);
		if (p || (uint32_t)o->allocs != a0 || (uint32_t)o->failures != x0)
			mm_observe_alloc(o, p, size);
	}
	mm_observe_unlock(o);
	return p;
}

/* ---- The entry points: the fast path tests one word --------------------------------------------- */

/* Whether an entry point runs the core operation itself: when the instance is not observed (one word
 * tested). Built for speed the operation is inlined there; built small it is a call to its one copy. */
#if !MM_OBSERVE
#define RUN_INLINE(c) MM_LIKELY((c) != NULL) /* and run() reports a NULL instance only */
#else
#define RUN_INLINE(c) MM_LIKELY((c) && !(c)->obs.observed)
#endif

#if !MM_TOOLS
void *mm_malloc(mm_t c, size_t bytes)
{
	if (RUN_INLINE(c))
		return malloc_core(c, bytes);
	return run(c, MM_OP_MALLOC, NULL, 0, bytes);
}

void *mm_memalign(mm_t c, size_t align, size_t bytes)
{
	if (RUN_INLINE(c))
		return memalign_core(c, align, bytes);
	return run(c, MM_OP_MEMALIGN, NULL, align, bytes);
}

void mm_free(mm_t c, void *ptr)
{
	if (!ptr)
		return;
	if (RUN_INLINE(c))
		free_core(c, ptr);
	else
		(void)run(c, MM_OP_FREE, ptr, 0, 0);
}

void *mm_realloc(mm_t c, void *ptr, size_t size)
{
	if (RUN_INLINE(c))
		return realloc_core(c, ptr, size);
	return run(c, MM_OP_REALLOC, ptr, 0, size);
}
#else
/*
 * Built for a memory checker (tool.h): each operation runs with the checker's reports off, and what
 * it did is told to the checker after, from the free counter and the result: a block handed out is
 * the program's for the bytes it asked for, a block taken back is nobody's. A realloc is the free of
 * the old block and the allocation of the new one, whose first bytes memoman wrote (copied): those
 * are defined for memcheck, the bytes the old block had not set included. On an instance shared by
 * threads this runs after the lock is released: a refused free that races with another thread's free
 * may be told as done.
 */
_Static_assert(MM_OBSERVE, "MM_VALGRIND and MM_ASAN need MM_OBSERVE=1 (the free counter)");

/* The usable size of the block at ptr if it is one, else anything (read only when a free took it
 * back); 0 for a pointer outside the pools, whose header is not read. */
size_t mm_tlsf_tool_usable(const mm_control *c, const void *ptr)
{
	if (!c || !ptr || !c->pool_count || !payload_pool(c, mm_addr(ptr)))
		return 0;
	return mm_stride_of(mm_block_from_ptr(ptr)->size) - MM_W;
}

static void *tool_run(mm_control *c, mm_op op, void *ptr, size_t align, size_t size)
{
	MM_TOOL_QUIET_BEGIN();
	size_t old = op == MM_OP_FREE || op == MM_OP_REALLOC ? mm_tlsf_tool_usable(c, ptr) : 0;
	uint64_t frees = c ? c->obs.frees : 0;
	void *p = RUN_INLINE(c) ? core_op(c, op, ptr, align, size) : run(c, op, ptr, align, size);
	int freed = ptr && c && c->obs.frees != frees;
	if (ptr && (p || freed))
		MM_TOOL_FREE(ptr, old);
	if (p) {
		MM_TOOL_ALLOC(p, size);
		if (ptr)
			MM_TOOL_WRITTEN(p, old < size ? old : size);
	}
	MM_TOOL_QUIET_END();
	return p;
}

void *mm_malloc(mm_t c, size_t bytes) { return tool_run(c, MM_OP_MALLOC, NULL, 0, bytes); }
void *mm_memalign(mm_t c, size_t align, size_t bytes) { return tool_run(c, MM_OP_MEMALIGN, NULL, align, bytes); }
void mm_free(mm_t c, void *ptr)
{
	if (ptr)
		(void)tool_run(c, MM_OP_FREE, ptr, 0, 0);
}
void *mm_realloc(mm_t c, void *ptr, size_t size) { return tool_run(c, MM_OP_REALLOC, ptr, 0, size); }
#endif

/* For the heap's remainder: the core operations (no lock, timing or hooks; those are the heap's). */
void *mm_tlsf_malloc(mm_control *c, size_t bytes) { return malloc_core(c, bytes); }
void *mm_tlsf_memalign(mm_control *c, size_t align, size_t bytes) { return memalign_core(c, align, bytes); }
void *mm_tlsf_memalign_checked(mm_control *c, size_t align, size_t bytes) { return aligned_core(c, align, bytes); }
void *mm_tlsf_realloc(mm_control *c, void *ptr, size_t size) { return realloc_core(c, ptr, size); }
void mm_tlsf_free(mm_control *c, void *ptr)
{
	if (ptr)
		free_core(c, ptr);
}

size_t mm_tlsf_checked_size(mm_control *c, const void *ptr)
{
	const mm_block *b = live_block(c, ptr);
#if MM_CHECKS >= 3
	if (b) { /* the size asked for; a broken canary is reported (0: the caller refuses) */
		size_t n = hard_size(ptr);
		if (n == SIZE_MAX)
			report(c, MM_ERR_OVERRUN, ptr);
		return n != SIZE_MAX ? n : 0;
	}
#endif
	return b ? mm_stride_of(b->size) - MM_W : 0;
}

/* ---- Statistics ----------------------------------------------------------------------------------- */

void mm_tlsf_fill_stats(void *instance, mm_stats *out)
{
	const mm_control *c = (const mm_control *)instance;
	/* Bytes blocks can occupy: the sum over the pools of (end - first), O(pools). Not kept in the
	 * control, whose 32-bit size stays within TLSF 3.1's. */
	size_t capacity = 0;
	for (size_t i = 0; i < c->pool_count; i++)
		capacity += (size_t)(mm_pool_end(&c->pools[i]) - c->pools[i].first);
	out->capacity = capacity;
	out->in_use = c->in_use;
	out->peak_in_use = c->peak_in_use;
	/* The head of the highest non-empty class: every request up to its size succeeds (the search,
	 * or the look at the request's own class head, finds it). Within one class step of the largest
	 * free block. */
	out->largest_free = 0;
	if (c->fl_bitmap) {
		size_t fl = mm_fls_size(c->fl_bitmap);
		size_t sl = mm_fls_sl(c->sl_bitmap[fl]);
		const mm_block *b = c->heads[(fl << MM_SL_LOG2) | sl];
		MM_TOOL_QUIET_BEGIN();
		out->largest_free = mm_stride_of(b->size) - MM_W - HARD_W; /* a request's size: the canary's word out */
		MM_TOOL_QUIET_END();
	}
	out->fragmentation = mm_fragmentation_permille(out->largest_free, capacity - c->in_use);
}

size_t mm_block_size(void *ptr)
{
	if (!ptr)
		return 0;
	MM_TOOL_QUIET_BEGIN();
	size_t size = MM_SIZE_LOAD(mm_block_from_ptr(ptr));
	MM_TOOL_QUIET_END();
#if MM_CHECKS >= 1
	if (size & MM_FREE_BIT)
		return 0;
#endif
#if MM_CHECKS >= 3
	if (mm_stride_of(size) < MM_MIN_STRIDE)
		return 0; /* a header a merge absorbed (zeroed): a freed block */
	MM_TOOL_QUIET_BEGIN();
	size_t n = hard_size(ptr); /* the size asked for: the bytes after it are checked */
	MM_TOOL_QUIET_END();
	if (n != SIZE_MAX)
		return n;
#endif
	return mm_stride_of(size) - MM_W - HARD_W;
}

/* ---- Walking and validation --------------------------------------------------------------------- */

#if MM_HAVE_STDIO
static void default_walker(void *ptr, size_t size, int used, void *user)
{
	(void)user;
	printf("\t%p %s size: %zx (%p)\n", ptr, used ? "used" : "free", size, (void *)mm_block_from_ptr(ptr));
}
#endif

void mm_walk_pool(mm_pool_t pool, mm_walker walker, void *user)
{
	if (!pool)
		return;
#if MM_HAVE_STDIO
	if (!walker)
		walker = default_walker;
#else
	if (!walker)
		return;
#endif
	MM_TOOL_QUIET_BEGIN();
	uintptr_t end = pool_recorded_end(mm_addr(pool));
	for (uintptr_t p = pool_first_payload(mm_addr(pool)); p < end;) {
		size_t size = mm_block_from_ptr((void *)p)->size;
		size_t stride = mm_stride_of(size);
		if (stride < MM_MIN_STRIDE || (size & MM_SPARE_MASK) || stride > end - p)
			break; /* an inconsistent header: stop rather than leave the pool */
		walker((void *)p, stride - MM_W, !(size & MM_FREE_BIT), user);
		p += stride;
	}
	MM_TOOL_QUIET_END();
}

/*
 * Physical checks of one pool: the end recorded in the pool matches; the blocks tile
 * [first payload, end) exactly up to the sentinel; flags agree with the neighbours; free blocks are
 * linked back from their successor and never adjacent. Adds the free blocks found to *free_count.
 */
static int validate_blocks(uintptr_t start, uintptr_t end, size_t *free_count, const void **where, mm_error_t *why)
{
	uintptr_t p = pool_first_payload(start);
	*where = (void *)p;
	if (!end || pool_recorded_end(start) != end)
		return 0;
	size_t prev_free = 0;
	mm_block *prev = NULL;
	size_t n_free = 0;
	for (;;) {
		mm_block *b = mm_block_from_ptr((void *)p);
		size_t size = b->size;
		size_t stride = mm_stride_of(size);
		*where = (void *)p;
		if (size & MM_SPARE_MASK)
			return 0;
		if (((size & MM_PREV_FREE_BIT) != 0) != (prev_free != 0))
			return 0;
		if (prev_free && b->prev_phys != prev)
			return 0;
		if (p == end) /* the sentinel: used, stride 0 */
			return stride == 0 && !(size & MM_FREE_BIT) ? (*free_count += n_free, 1) : 0;
		if (stride < MM_MIN_STRIDE || stride > end - p)
			return 0;
		if ((size & MM_FREE_BIT) && prev_free)
			return 0; /* two adjacent free blocks */
#if MM_CHECKS >= 3
		if (!(size & MM_FREE_BIT) && hard_size((void *)p) == SIZE_MAX) {
			*why = MM_ERR_OVERRUN; /* a used block's canary or slack overwritten */
			return 0;
		}
#else
		(void)why;
#endif
		prev_free = size & MM_FREE_BIT;
		n_free += prev_free != 0;
		prev = b;
		p += stride;
	}
}

static int validate(const mm_control *c, const void **where, mm_error_t *why)
{
	*where = NULL;
	if (c->obs.kind != MM_KIND_TLSF || c->pool_count > MM_MAX_POOLS)
		return 0;
	/* The pool table: sorted, disjoint, each pool tiled by its blocks. */
	size_t walk_free = 0;
	for (size_t i = 0; i < c->pool_count; i++) {
		const mm_pool_rec *p = &c->pools[i];
		uintptr_t end = mm_pool_end(p);
		if (p->first != pool_first_payload(p->start) || end <= p->first || end - p->first > MM_BLOCK_MAX ||
		    (i > 0 && mm_pool_end(&c->pools[i - 1]) > p->start))
			return 0;
		if (!validate_blocks(p->start, end, &walk_free, where, why))
			return 0;
	}
	/* The lists: bitmaps, classes, back-links, no cycles, and exactly the free blocks walked. */
	size_t listed = 0;
	for (size_t fl = 0; fl < MM_FL_COUNT; fl++) {
		if (((c->fl_bitmap >> fl) & 1u) != (c->sl_bitmap[fl] != 0))
			return 0;
		for (size_t sl = 0; sl < MM_SL_COUNT; sl++) {
			size_t cls = (fl << MM_SL_LOG2) | sl;
			mm_block *const *link = &c->heads[cls];
			if (((c->sl_bitmap[fl] >> sl) & 1u) != (*link != NULL))
				return 0;
			for (mm_block *b = *link; b; link = &b->next_free, b = mm_next_free(c, b)) {
				*where = b;
				if (++listed > walk_free)
					return 0; /* more members than free blocks: a cycle or a foreign block */
				uintptr_t a = mm_addr(mm_block_payload(b));
				const mm_pool_rec *pool = payload_pool(c, a);
				if (!pool || (a & MM_LOW_MASK) || !free_block_ok(pool, b, b->size))
					return 0;
				if (mm_class_insert(mm_stride_of(b->size)) != cls || mm_prev_link(c, b) != link)
					return 0;
			}
		}
	}
	*where = NULL;
	return listed == walk_free;
}

int mm_validate(mm_t c)
{
	const void *where;
	mm_error_t why;
	MM_TOOL_QUIET_BEGIN();
	int ok = c ? validate(c, &where, &why) : 0;
	MM_TOOL_QUIET_END();
	return ok;
}

int mm_validate_pool(mm_pool_t pool)
{
	size_t n = 0;
	const void *where;
	mm_error_t why;
	MM_TOOL_QUIET_BEGIN();
	int ok = pool ? validate_blocks(mm_addr(pool), pool_recorded_end(mm_addr(pool)), &n, &where, &why) : 0;
	MM_TOOL_QUIET_END();
	return ok;
}

int mm_check(mm_t c) { return mm_validate(c) ? 0 : -1; }

int mm_check_pool(mm_pool_t pool) { return mm_validate_pool(pool) ? 0 : -1; }

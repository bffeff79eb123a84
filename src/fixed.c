// SPDX-License-Identifier: MIT
/*
 * fixed.c - fixed-size block pools: creation, the default fast paths, the bitmap and lock-free
 * modes, statistics and validation.
 */
#include <string.h>

#include "fixed_internal.h"
#include "tool.h"

/* Lock-free pools where the hardware has a lock-free compare-and-swap of the stack top's width
 * (MM_LOCKFREE_TOP_BITS, observe.h); MM_FIXED_LOCKFREE is refused elsewhere. */
#if MM_LOCKFREE_TOP_BITS
#define MM_LOCKFREE_OK 1
#else
#define MM_LOCKFREE_OK 0
#endif

/* ---- Layout ------------------------------------------------------------------------------------- */

/* The block stride for a request, or 0 if it overflows. */
static size_t fixed_stride(size_t block_size, size_t align, unsigned flags)
{
	size_t min = (flags & MM_FIXED_LOCKFREE) ? 1 : sizeof(void *);
	if (block_size < min)
		block_size = min;
	if (block_size > SIZE_MAX - align - MM_FIXED_CANARY)
		return 0;
	block_size += MM_FIXED_CANARY; /* MM_CHECKS=3: the canary's word */
	return (block_size + align - 1) & ~(align - 1);
}

static size_t effective_align(size_t align, unsigned flags)
{
	if (align == 0)
		align = MM_ALIGNMENT;
	/* A link (or MM_CHECKS=3's canary, a word at the end of each block) needs a pointer's. */
	if ((!(flags & MM_FIXED_LOCKFREE) || MM_CHECKS >= 3) && align < _Alignof(void *))
		align = _Alignof(void *);
	return align;
}

static int arguments_ok(size_t align, unsigned flags)
{
	if (align & (align - 1))
		return 0;
	if (flags & ~(MM_FIXED_BITMAP | MM_FIXED_LOCKFREE | MM_FIXED_UNCHECKED))
		return 0;
	if ((flags & MM_FIXED_BITMAP) && (flags & MM_FIXED_UNCHECKED))
		return 0; /* checked and unchecked at once */
	if ((flags & MM_FIXED_LOCKFREE) && !MM_LOCKFREE_OK)
		return 0;
	return 1;
}

/* What mem must be aligned to: the control's alignment, a pointer's with gcc and clang on every
 * target (its 64-bit counters are mm_u64, word-aligned), which mm_align_size() always is. */
#define MM_FIXED_MEM_ALIGN (_Alignof(mm_fixed) > _Alignof(void *) ? _Alignof(mm_fixed) : _Alignof(void *))
_Static_assert(MM_FIXED_MEM_ALIGN <= MM_ALIGNMENT, "memory aligned to mm_align_size() suits a pool's control");

#if MM_LOCKFREE_TOP_BITS
/* The lock-free stack top's bytes in the metadata, with the padding that aligns it there (the
 * metadata starts on a word). */
#define LF_TOP_ALIGN _Alignof(_Atomic mm_lf_top)
#define LF_TOP_BYTES (sizeof(_Atomic mm_lf_top) + (LF_TOP_ALIGN > sizeof(size_t) ? LF_TOP_ALIGN - sizeof(size_t) : 0))
#endif

/* Metadata bytes (bitmap, lock-free top and links) for a capacity, each part rounded to a word. */
static size_t metadata_bytes(size_t capacity, unsigned flags)
{
	size_t m = 0;
	if (flags & MM_FIXED_BITMAP)
		m += mm_fixed_bitmap_bytes(capacity);
#if MM_LOCKFREE_TOP_BITS
	if (flags & MM_FIXED_LOCKFREE) /* the stack top (aligned: up to its alignment less a word's) and the links */
		m += LF_TOP_BYTES + ((capacity * sizeof(uint32_t) + sizeof(size_t) - 1) & ~(sizeof(size_t) - 1));
#endif
	return m;
}

#define CONTROL_BYTES ((sizeof(mm_fixed) + sizeof(size_t) - 1) & ~(sizeof(size_t) - 1))

size_t mm_fixed_size(size_t count, size_t block_size, size_t align, unsigned flags)
{
	if (!arguments_ok(align, flags) || count == 0)
		return 0;
	flags = mm_fixed_mode(flags);
	align = effective_align(align, flags);
	size_t stride = fixed_stride(block_size, align, flags);
	if (!stride || count > (SIZE_MAX / 2) / stride || count > SIZE_MAX / 64)
		return 0;
#if MM_LOCKFREE_TOP_BITS
	if ((flags & MM_FIXED_LOCKFREE) && count > MM_LF_CAPACITY_MAX)
		return 0;
#endif
	/* mem is aligned to mm_align_size(): the blocks start at most align - that past the metadata. */
	size_t pad = align > MM_ALIGNMENT ? align - MM_ALIGNMENT : 0;
	size_t head = CONTROL_BYTES + metadata_bytes(count, flags);
	head = (head + MM_ALIGNMENT - 1) & ~((size_t)MM_ALIGNMENT - 1);
	return head + pad + count * stride;
}

/* odd's inverse modulo 2^N: Newton's iteration doubles the correct low bits each step. */
static uintptr_t inverse_of_odd(uintptr_t odd)
{
	uintptr_t x = odd; /* correct to 3 bits: odd * odd = 1 mod 8 */
	for (int i = 0; i < 6; i++)
		x *= 2 - odd * x;
	return x;
}

static void fixed_fill_stats(void *instance, mm_stats *out);
static void fixed_reset_counters(void *instance);
static void fixed_gate(void *instance);

/* What observe.c asks of a fixed pool (observe.h). */
static const mm_observe_ops fixed_ops = {
    .name = "fixed pool",
    .fill_stats = fixed_fill_stats,
    .reset_counters = fixed_reset_counters,
    .gate = fixed_gate,
#if MM_HAVE_STDIO
    .print = NULL,
#endif
};

int mm_fixed_init(mm_fixed *p, void *blocks, size_t capacity, size_t stride, void *bitmap_mem, unsigned flags)
{
	memset(p, 0, sizeof(*p));
	mm_observe_init(&p->obs, MM_KIND_FIXED, &fixed_ops);
	p->base = mm_addr(blocks);
	p->stride = stride;
	p->capacity = capacity;
	p->end = p->base + capacity * stride;
	unsigned shift = 0;
	while (!((stride >> shift) & 1))
		shift++;
	p->shift = shift;
	p->inv = inverse_of_odd((uintptr_t)(stride >> shift));
	p->flags = flags;
	p->bitmap = (mm_bitmap_word *)bitmap_mem;
	if (p->bitmap)
		memset(bitmap_mem, 0, mm_fixed_bitmap_bytes(capacity));
	p->head = MM_LIST_END;
#if MM_CHECKS >= 3
	p->asked = stride - MM_FIXED_CANARY;  /* mm_fixed_create sets the block size asked for */
	memset(blocks, 0, capacity * stride); /* freed memory is kept zero */
#endif
	/* The default secret: the address, mixed (mm_set_secret replaces it). */
	uintptr_t k = mm_addr(p) * (uintptr_t)0x9E3779B97F4A7C15ull;
	p->link_key = k ^ (k >> (sizeof(uintptr_t) * 4)) ^ (uintptr_t)0x27d4eb2fu;
	if (flags & MM_FIXED_LOCKFREE) {
		p->obs.observed |= MM_OBSERVE_MODE;
		fixed_gate(p); /* the list lives in `parked` for good */
	}
	return 1;
}

/* The largest capacity whose control, metadata and blocks fit in [m, m + bytes) (0: none); *blocks
 * gets where the blocks start. A binary search (at most 64 steps), since the metadata's size and
 * the alignment padding depend on the capacity. flags are a mode (mm_fixed_mode). */
static size_t fixed_capacity(uintptr_t m, size_t bytes, size_t stride, size_t align, unsigned flags, uintptr_t *blocks)
{
	if (bytes < CONTROL_BYTES)
		return 0;
	uintptr_t end = m + bytes;
	size_t lo = 0, hi = (bytes - CONTROL_BYTES) / stride + 1; /* fits(lo), !fits(hi) */
#if MM_LOCKFREE_TOP_BITS
	if ((flags & MM_FIXED_LOCKFREE) && hi > MM_LF_CAPACITY_MAX)
		hi = MM_LF_CAPACITY_MAX + 1; /* capacity <= MM_LF_CAPACITY_MAX as in mm_fixed_size: index + 1 fits */
#endif
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		uintptr_t at = mm_align_up_addr(m + CONTROL_BYTES + metadata_bytes(mid, flags), align);
		if (at <= end && (end - at) / stride >= mid)
			lo = mid;
		else
			hi = mid;
	}
	*blocks = mm_align_up_addr(m + CONTROL_BYTES + metadata_bytes(lo, flags), align);
	return lo;
}

/* What mm_fixed_create would make of its arguments: the mode, stride and capacity, and where the
 * blocks start; or why it cannot. Both mm_fixed_create and mm_fixed_create_error use it. */
typedef struct fixed_plan {
	unsigned mode;
	size_t stride, capacity;
	uintptr_t blocks;
} fixed_plan;

static mm_error_t plan_pool(const void *mem, size_t bytes, size_t block_size, size_t align, unsigned flags,
                            fixed_plan *out)
{
	if (!mem || !arguments_ok(align, flags))
		return MM_ERR_BAD_ARGUMENT;
	if (mm_addr(mem) & (MM_FIXED_MEM_ALIGN - 1))
		return MM_ERR_MISALIGNED;
	out->mode = mm_fixed_mode(flags);
	align = effective_align(align, out->mode);
	out->stride = fixed_stride(block_size, align, out->mode);
	if (!out->stride || bytes > UINTPTR_MAX - mm_addr(mem))
		return MM_ERR_BAD_ARGUMENT;
	out->capacity = fixed_capacity(mm_addr(mem), bytes, out->stride, align, out->mode, &out->blocks);
	return out->capacity ? MM_OK : MM_ERR_TOO_SMALL;
}

mm_error_t mm_fixed_create_error(const void *mem, size_t bytes, size_t block_size, size_t align, unsigned flags)
{
	fixed_plan plan;
	return plan_pool(mem, bytes, block_size, align, flags, &plan);
}

mm_fixed_t mm_fixed_create(void *mem, size_t bytes, size_t block_size, size_t align, unsigned flags)
{
	fixed_plan plan;
	if (plan_pool(mem, bytes, block_size, align, flags, &plan) != MM_OK)
		return NULL;
	flags = plan.mode;
	size_t capacity = plan.capacity;
	mm_fixed *p = (mm_fixed *)mem;
	unsigned char *meta = (unsigned char *)mem + CONTROL_BYTES;
	mm_fixed_init(p, (void *)plan.blocks, capacity, plan.stride, (flags & MM_FIXED_BITMAP) ? meta : NULL, flags);
#if MM_LOCKFREE_TOP_BITS
	if (flags & MM_FIXED_LOCKFREE) {
		uintptr_t top = mm_align_up_addr(
		    mm_addr(meta) + ((flags & MM_FIXED_BITMAP) ? mm_fixed_bitmap_bytes(capacity) : 0), LF_TOP_ALIGN);
		p->top = (_Atomic mm_lf_top *)top;
		p->lf_bits = 1;
		while (p->lf_bits < MM_LF_INDEX_BITS && (capacity >> p->lf_bits) != 0)
			p->lf_bits++; /* index + 1 <= capacity < 2^lf_bits */
		p->links = (_Atomic uint32_t *)(top + sizeof(_Atomic mm_lf_top));
		atomic_init(p->top, 0);
		atomic_init(&p->fresh, 0);
		atomic_init(&p->lf_allocs, 0);
		atomic_init(&p->lf_frees, 0);
		atomic_init(&p->lf_failures, 0);
	}
#endif
#if MM_TOOLS || MM_CHECKS >= 3
	p->asked = block_size;
#endif
#if MM_TOOLS
	MM_TOOL_HIDE((void *)p->base, p->end - p->base); /* no block of the program's yet */
#endif
	return p;
}

/* Every block the program had is gone (a reset or a destroy) and the blocks hidden (tool.h). The
 * blocks that were not live are told freed too, blind: memcheck's complaint about those is off. */
static void tool_forget_blocks(const mm_fixed *p)
{
#if MM_TOOLS
	MM_TOOL_QUIET_BEGIN();
	for (uintptr_t b = p->base; b < p->end; b += p->stride)
		MM_V_FREE((void *)b);
	MM_TOOL_QUIET_END();
	MM_TOOL_HIDE((void *)p->base, p->end - p->base);
#else
	(void)p;
#endif
}

void mm_fixed_destroy(mm_fixed_t p)
{
	if (!p)
		return;
#if MM_TOOLS
	if (p->obs.kind == MM_KIND_FIXED) {
		tool_forget_blocks(p);
		MM_TOOL_SHOW((void *)p->base, p->end - p->base); /* the caller's memory again */
	}
#endif
	p->obs.kind = 0;
}

/* ---- The default mode ----------------------------------------------------------------------------- */

static MM_NOINLINE void *fixed_alloc_observed(mm_fixed *p);
static MM_NOINLINE MM_COLD void *fixed_alloc_forged(mm_fixed *p);
static MM_NOINLINE void fixed_free_observed(mm_fixed *p, void *ptr);

static void fixed_gate(void *instance)
{
	mm_fixed *p = (mm_fixed *)instance;
	void *list = p->head ? p->head : p->parked;
	p->head = p->parked = NULL;
	*mm_fixed_list(p) = list;
}

/* The recycled list reads empty: carve a fresh block or fail, or the pool is observed. Out of line:
 * once per block carved, at most. */
static MM_NOINLINE void *fixed_alloc_slow(mm_fixed *p)
{
	if (p->obs.observed)
		return fixed_alloc_observed(p);
	void *b = mm_fixed_carve(p);
	if (!b) {
		p->obs.failures++;
		return NULL;
	}
	if (p->bitmap)
		mm_fixed_mark(p, b);
	p->obs.allocs++;
	return MM_FIXED_HAND_OUT(p, b, p->asked, &p->obs);
}

/* Built for a memory checker (tool.h) the two entry points are wrapped (at the end of this file). */
#if MM_TOOLS
static void *fixed_alloc_entry(mm_fixed_t p)
#else
void *mm_fixed_alloc(mm_fixed_t p)
#endif
{
	/* Fast path: a pop, and the block's bit set in the (default) bitmap mode. One test of `head`
	 * catches an empty list (MM_LIST_END) and an observed pool (NULL: hooks, a lock, timing, the
	 * lock-free mode): no lock, hook or timing test here. */
	if (MM_UNLIKELY(!p))
		return NULL;
	void *b = p->head;
	if (MM_UNLIKELY(mm_addr(b) <= mm_addr(MM_LIST_END)))
		return fixed_alloc_slow(p);
	/* The index, for the bit, also checks the head: a block the pool carved, not what a write
	 * after free left in the link it came from (fixed_internal.h). */
	if (p->bitmap && MM_UNLIKELY(!mm_fixed_claim(p, b)))
		return fixed_alloc_forged(p);
#if MM_CHECKS >= 3
	if (!p->bitmap && MM_UNLIKELY(!MM_FIXED_CARVED(p, b)))
		return fixed_alloc_forged(p);
#endif
	p->head = mm_fixed_next(p, b);
	p->obs.allocs++;
	return MM_FIXED_HAND_OUT(p, b, p->asked, &p->obs);
}

#if MM_TOOLS
static void fixed_free_entry(mm_fixed_t p, void *ptr)
#else
void mm_fixed_free(mm_fixed_t p, void *ptr)
#endif
{
	if (!ptr)
		return;
	/* Fast path: in the (default) bitmap mode, the block's index (a multiply and a rotate) below the
	 * carved count and its bit set, then cleared; then a push. `head` is NULL only while the pool is
	 * observed: the push's own load is the test. */
	if (MM_UNLIKELY(!p || !p->head)) {
		fixed_free_observed(p, ptr);
		return;
	}
	mm_fixed_put(p, &p->head, ptr, &p->obs);
}

/* ---- Bitmap and lock-free modes --------------------------------------------------------------- */

static size_t fixed_carved(const mm_fixed *p);

/* Names the error of a pointer that is not a block start: outside the pool, or inside it. */
static mm_error_t not_a_block(const mm_fixed *p, const void *ptr)
{
	uintptr_t a = mm_addr(ptr);
	return a >= p->base && a < p->end ? MM_ERR_INTERIOR_POINTER : MM_ERR_INVALID_POINTER;
}

#if MM_LOCKFREE_TOP_BITS
/* The index + 1 part of a top (0: empty). */
MM_INLINE uint32_t lf_index1(const mm_fixed *p, mm_lf_top top)
{
	return (uint32_t)(top & ((((mm_lf_top)1) << p->lf_bits) - 1));
}

/* The top that puts `index1` (an index + 1, or 0) on top after `old`: the tag bumped (wrapping). */
MM_INLINE mm_lf_top lf_next(const mm_fixed *p, mm_lf_top old, mm_lf_top index1)
{
	return (mm_lf_top)((((old >> p->lf_bits) + 1) << p->lf_bits) | index1);
}

/* Pops the stack: a block, or NULL if it was empty when looked at. */
static void *lockfree_pop(mm_fixed *p)
{
	mm_lf_top old = atomic_load_explicit(p->top, memory_order_acquire);
	for (;;) {
		uint32_t top = lf_index1(p, old);
		if (top == 0)
			return NULL;
		uint32_t below = atomic_load_explicit(&p->links[top - 1], memory_order_relaxed);
		mm_lf_top next = lf_next(p, old, below);
		if (atomic_compare_exchange_weak_explicit(p->top, &old, next, memory_order_acquire,
		                                          memory_order_acquire))
			return (void *)(p->base + (size_t)(top - 1) * p->stride);
	}
}

static void *lockfree_alloc(mm_fixed *p)
{
	void *b = lockfree_pop(p);
	if (b)
		return b;
	/* The stack was empty: a block never handed out, if any is left. */
	size_t f = atomic_load_explicit(&p->fresh, memory_order_relaxed);
	while (f < p->capacity) {
		if (atomic_compare_exchange_weak_explicit(&p->fresh, &f, f + 1, memory_order_relaxed,
		                                          memory_order_relaxed))
			return (void *)(p->base + f * p->stride);
	}
	/* None left there either; a block may have been pushed since the stack was looked at. Once the
	 * bump region is used up it stays so, and every block is then on the stack or live: NULL now
	 * means that every block was live at some moment during this call. */
	return lockfree_pop(p);
}

static void lockfree_free(mm_fixed *p, size_t index)
{
	mm_lf_top old = atomic_load_explicit(p->top, memory_order_relaxed);
	for (;;) {
		atomic_store_explicit(&p->links[index], lf_index1(p, old), memory_order_relaxed);
		mm_lf_top next = lf_next(p, old, (mm_lf_top)(index + 1));
		if (atomic_compare_exchange_weak_explicit(p->top, &old, next, memory_order_release,
		                                          memory_order_relaxed))
			return;
	}
}
#endif

void *mm_fixed_alloc_core(mm_fixed *p)
{
	void *b;
#if MM_LOCKFREE_TOP_BITS
	if (p->flags & MM_FIXED_LOCKFREE) {
		b = lockfree_alloc(p);
		if (!b) {
			atomic_fetch_add_explicit(&p->lf_failures, 1, memory_order_relaxed);
			return NULL;
		}
		atomic_fetch_add_explicit(&p->lf_allocs, 1, memory_order_relaxed);
		if (p->bitmap) {
			size_t i = mm_fixed_index(p, mm_addr(b));
			atomic_fetch_or_explicit(&p->bitmap[i / MM_BITMAP_BITS], (size_t)1 << (i % MM_BITMAP_BITS),
			                         memory_order_relaxed);
		}
		return MM_FIXED_HAND_OUT(p, b, p->asked, &p->obs);
	}
#endif
	b = mm_list_pop(p, mm_fixed_list(p), &p->obs); /* marked live */
	if (!b && (b = mm_fixed_carve(p)) != NULL && p->bitmap)
		mm_fixed_mark(p, b);
	if (!b) {
		p->obs.failures++;
		return NULL;
	}
	p->obs.allocs++;
	return MM_FIXED_HAND_OUT(p, b, p->asked, &p->obs);
}

void mm_fixed_reseal(mm_fixed *p, uintptr_t secret, mm_observe *report_to)
{
	/* The lock-free mode keeps its links outside the blocks: only the key changes. */
	void **link = mm_fixed_list(p);
	uintptr_t old = p->link_key;
	for (void *b = *link; b != MM_LIST_END && !(p->flags & MM_FIXED_LOCKFREE);) {
		if (p->bitmap && mm_fixed_index(p, mm_addr(b)) >= p->carved) {
			mm_fixed_drop_list(p, link, b, report_to); /* the link to b ends the list instead */
			break;
		}
		p->link_key = old;
		void *next = mm_fixed_next(p, b);
		p->link_key = secret;
		mm_fixed_set_next(p, b, next);
		link = (void **)b; /* b's link, sealed with the new key: an END there is written as such */
		b = next;
	}
	p->link_key = secret;
}

void mm_fixed_set_secret(mm_fixed_t p, uintptr_t secret)
{
	if (p && p->obs.kind == MM_KIND_FIXED && MM_CHECKS >= 1) {
		MM_TOOL_QUIET_BEGIN();
		mm_fixed_reseal(p, secret, &p->obs);
		MM_TOOL_QUIET_END();
	}
}

void mm_fixed_drop_list(const mm_fixed *p, void **list, const void *bad, mm_observe *report_to)
{
	mm_observe_report(report_to, MM_ERR_CORRUPTED_LINK, bad);
	if (list == &p->head || list == &p->parked)
		*list = MM_LIST_END;
	else
		mm_fixed_set_next(p, list, MM_LIST_END); /* a block's link (mm_fixed_reseal) */
}

/* mm_fixed_alloc's head failed its check: the list dropped (reported), and a block carved instead. */
static MM_NOINLINE MM_COLD void *fixed_alloc_forged(mm_fixed *p)
{
	mm_fixed_drop_list(p, &p->head, p->head, &p->obs);
	return fixed_alloc_slow(p);
}

void mm_fixed_refuse(const mm_fixed *p, const void *ptr, mm_observe *report_to)
{
	size_t i = mm_fixed_index(p, mm_addr(ptr));
	mm_error_t e = i >= p->capacity       ? not_a_block(p, ptr)
	               : i >= fixed_carved(p) ? MM_ERR_INVALID_POINTER /* never handed out */
	                                      : MM_ERR_DOUBLE_FREE;
	mm_observe_report(report_to, e, ptr);
}

int mm_fixed_free_core(mm_fixed *p, void *ptr, mm_observe *report_to)
{
#if MM_LOCKFREE_TOP_BITS
	if (p->flags & MM_FIXED_LOCKFREE) { /* the index is computed anyway, so the pointer is checked */
		size_t i = mm_fixed_index(p, mm_addr(ptr));
		if (MM_UNLIKELY(i >= fixed_carved(p))) { /* not a block, or one never handed out */
			mm_fixed_refuse(p, ptr, report_to);
			return 0;
		}
		size_t bit = (size_t)1 << (i % MM_BITMAP_BITS);
		if (p->bitmap) { /* cleared in one atomic step: two threads freeing it cannot both win */
			if (MM_UNLIKELY(!(
			        atomic_fetch_and_explicit(&p->bitmap[i / MM_BITMAP_BITS], ~bit, memory_order_relaxed) &
			        bit))) {
				mm_observe_report(report_to, MM_ERR_DOUBLE_FREE, ptr);
				return 0;
			}
		}
#if MM_CHECKS >= 3
		/* After the bit: the loser of two racing frees never touches the block. */
		if (MM_UNLIKELY(!mm_fixed_release(p, ptr, report_to))) {
			if (p->bitmap) /* refused: live again */
				atomic_fetch_or_explicit(&p->bitmap[i / MM_BITMAP_BITS], bit, memory_order_relaxed);
			return 0;
		}
#endif
		lockfree_free(p, i);
		atomic_fetch_add_explicit(&p->lf_frees, 1, memory_order_relaxed);
		return 1;
	}
#endif
	return mm_fixed_put(p, mm_fixed_list(p), ptr, report_to);
}

/* ---- The observed path: lock, time, hooks, modes ------------------------------------------------ */

static MM_NOINLINE void *fixed_alloc_observed(mm_fixed *p)
{
	mm_observe *o = &p->obs;
	mm_observe_lock(o);
	uint64_t t = mm_observe_start(o);
	void *b = mm_fixed_alloc_core(p);
	mm_observe_stop(o, MM_OP_MALLOC, t);
	mm_observe_alloc(o, b, p->stride);
	mm_observe_unlock(o);
	return b;
}

static MM_NOINLINE void fixed_free_observed(mm_fixed *p, void *ptr)
{
	if (!p) {
		mm_observe_report(NULL, MM_ERR_INVALID_POINTER, ptr);
		return;
	}
	mm_observe *o = &p->obs;
	mm_observe_lock(o);
	uint64_t t = mm_observe_start(o);
	int freed = mm_fixed_free_core(p, ptr, o);
	mm_observe_stop(o, MM_OP_FREE, t);
	if (freed) /* a refused pointer was not taken back: no hook */
		mm_observe_free(o, ptr);
	mm_observe_unlock(o);
}

/* ---- Queries -------------------------------------------------------------------------------------- */

size_t mm_fixed_capacity(mm_fixed_t p) { return p ? p->capacity : 0; }
/* Usable bytes of a block: its stride; at MM_CHECKS=3 the size asked for (1 for 0, as the canary
 * holds it), the canary's word and padding out. */
static size_t block_size_of(const mm_fixed *p)
{
#if MM_CHECKS >= 3
	return p->asked ? p->asked : 1;
#else
	return p->stride;
#endif
}

size_t mm_fixed_block_size(mm_fixed_t p) { return p ? block_size_of(p) : 0; }
int mm_fixed_owns(mm_fixed_t p, const void *ptr) { return p && mm_fixed_index(p, mm_addr(ptr)) < p->capacity; }

/* Blocks live now. */
static size_t fixed_live(const mm_fixed *p)
{
#if MM_LOCKFREE_TOP_BITS
	if (p->flags & MM_FIXED_LOCKFREE) {
		/* The counters are bumped after the stack operations, so a snapshot can be off by the
		 * operations in flight: keep it within [0, capacity]. Words that may wrap around: their
		 * difference modulo the word is exact, "negative" (above SIZE_MAX / 2) when frees in flight
		 * were counted before their allocations. */
		size_t d = (size_t)p->obs.live_base + atomic_load_explicit(&p->lf_allocs, memory_order_relaxed) -
		           atomic_load_explicit(&p->lf_frees, memory_order_relaxed);
		return d > SIZE_MAX / 2 ? 0 : d > p->capacity ? p->capacity : d;
	}
#endif
	return mm_observe_live(&p->obs);
}

/* Blocks ever handed out from the bump region: the most that were live at once, since the free list
 * is used first and a fresh block is carved only when every carved block is live. */
static size_t fixed_carved(const mm_fixed *p)
{
#if MM_LOCKFREE_TOP_BITS
	if (p->flags & MM_FIXED_LOCKFREE)
		return atomic_load_explicit(&p->fresh, memory_order_relaxed);
#endif
	return p->carved;
}

size_t mm_fixed_available(mm_fixed_t p) { return p ? p->capacity - fixed_live(p) : 0; }

/* The most blocks live at once since creation. */
size_t mm_fixed_peak(const mm_fixed *p)
{
	size_t c = fixed_carved(p);
	return c > p->peak_before_reset ? c : p->peak_before_reset;
}

static void fixed_fill_stats(void *instance, mm_stats *out)
{
	const mm_fixed *p = (const mm_fixed *)instance;
	size_t live = fixed_live(p);
#if MM_LOCKFREE_TOP_BITS
	if (p->flags & MM_FIXED_LOCKFREE) {
		out->allocs = atomic_load_explicit(&p->lf_allocs, memory_order_relaxed);
		out->frees = atomic_load_explicit(&p->lf_frees, memory_order_relaxed);
		out->failures = atomic_load_explicit(&p->lf_failures, memory_order_relaxed);
	}
#endif
	out->blocks_in_use = live;
	out->capacity = p->capacity * p->stride;
	out->in_use = live * p->stride;
	out->peak_in_use = mm_fixed_peak(p) * p->stride;
	out->largest_free = live < p->capacity ? block_size_of(p) : 0;
}

static void fixed_reset_counters(void *instance)
{
	mm_fixed *p = (mm_fixed *)instance;
	p->obs.live_base = fixed_live(p); /* before any counter changes */
	p->obs.allocs = p->obs.frees = 0;
#if MM_LOCKFREE_TOP_BITS
	if (p->flags & MM_FIXED_LOCKFREE) {
		atomic_store(&p->lf_allocs, 0);
		atomic_store(&p->lf_frees, 0);
		atomic_store(&p->lf_failures, 0);
	}
#endif
}

void mm_fixed_reset(mm_fixed_t p)
{
	if (!p)
		return;
#if MM_CHECKS >= 3
	mm_zero_bytes((void *)p->base, fixed_carved(p) * p->stride); /* freed memory is kept zero */
#endif
	tool_forget_blocks(p);
	size_t live = fixed_live(p);
	p->peak_before_reset = mm_fixed_peak(p);
	p->head = p->parked = NULL;
	*mm_fixed_list(p) = MM_LIST_END;
	p->carved = 0;
	if (!(p->flags & MM_FIXED_LOCKFREE))
		p->obs.frees += live; /* every live block is taken back at once */
	if (p->bitmap)
		memset((void *)p->bitmap, 0, mm_fixed_bitmap_bytes(p->capacity));
#if MM_LOCKFREE_TOP_BITS
	if (p->flags & MM_FIXED_LOCKFREE) {
		atomic_store(p->top, 0);
		atomic_store(&p->fresh, 0);
		atomic_fetch_add(&p->lf_frees, live);
	}
#endif
}

#if MM_CHECKS >= 3
/* ---- The hardened level (fixed_internal.h) --------------------------------------------------------- */

MM_INLINE uintptr_t canary_code(const void *b) { return mm_canary_code(b, MM_CANARY_KEY); }

/* The first word of a free block that is kept zero: its link is the first, but for the lock-free
 * mode, whose links are outside the blocks. */
MM_INLINE size_t first_zero_word(const mm_fixed *p) { return (p->flags & MM_FIXED_LOCKFREE) ? 0 : 1; }

/* Is free block b still zero past its link? */
static int still_zero(const mm_fixed *p, const void *b)
{
	const size_t *w = (const size_t *)b;
	for (size_t i = first_zero_word(p); i < p->stride / sizeof(size_t); i++)
		if (w[i] != 0)
			return 0;
	return 1;
}

void *mm_fixed_hand_out(mm_fixed *p, void *b, size_t n, mm_observe *report_to)
{
	if (!b)
		return NULL;
	if (MM_UNLIKELY(!still_zero(p, b)))
		mm_observe_report(report_to, MM_ERR_WRITE_AFTER_FREE, b);
	mm_zero_bytes(b, p->stride);
	mm_canary_put(b, p->stride, n ? n : 1, canary_code(b));
	return b;
}

int mm_fixed_release(mm_fixed *p, void *ptr, mm_observe *report_to)
{
	/* The index first (the unchecked mode's check), so that nothing is read outside the pool's
	 * carved blocks. */
	if (MM_UNLIKELY(mm_fixed_index(p, mm_addr(ptr)) >= fixed_carved(p))) {
		mm_fixed_refuse(p, ptr, report_to);
		return 0;
	}
	if (MM_UNLIKELY(mm_canary_intact(ptr, p->stride, canary_code(ptr)) == SIZE_MAX)) {
		/* Without a bitmap, a block freed already is all zero past its link: anything else (and
		 * any live block the bitmap took back) is a write past the end. */
		int freed = !p->bitmap && still_zero(p, ptr);
		mm_observe_report(report_to, freed ? MM_ERR_DOUBLE_FREE : MM_ERR_OVERRUN, ptr);
		return 0;
	}
	mm_zero_bytes(ptr, p->stride);
	return 1;
}

size_t mm_fixed_sealed_size(const mm_fixed *p, const void *ptr, mm_observe *report_to)
{
	size_t n = mm_canary_intact(ptr, p->stride, canary_code(ptr));
	if (MM_LIKELY(n != SIZE_MAX))
		return n;
	mm_observe_report(report_to, MM_ERR_OVERRUN, ptr);
	return 0;
}

void mm_fixed_resize(const mm_fixed *p, void *ptr, size_t old, size_t n)
{
	if (n < old)
		mm_zero_bytes((unsigned char *)ptr + n, old - n);
	mm_canary_put(ptr, p->stride, n ? n : 1, canary_code(ptr));
}

/* Validation (with the walk of the free list, which checks each free block still zero past its
 * link): every live block's canary intact, where the bitmap tells which are live. */
static int canaries_intact(const mm_fixed *p, size_t carved)
{
	for (size_t i = 0; p->bitmap && i < carved; i++) {
		const void *b = (const void *)(p->base + i * p->stride);
		if (mm_fixed_is_live(p, b) && mm_canary_intact(b, p->stride, canary_code(b)) == SIZE_MAX)
			return 0;
	}
	return 1;
}
#define FREE_BLOCK_OK(p, b) still_zero((p), (b))
#else
#define FREE_BLOCK_OK(p, b) 1
#endif

/* ---- Validation ----------------------------------------------------------------------------------- */

static int fixed_validate(mm_fixed_t p);

int mm_fixed_validate(mm_fixed_t p)
{
	MM_TOOL_QUIET_BEGIN(); /* it reads the links in free blocks */
	int ok = fixed_validate(p);
	MM_TOOL_QUIET_END();
	return ok;
}

static int fixed_validate(mm_fixed_t p)
{
	if (!p || p->obs.kind != MM_KIND_FIXED || !p->capacity || p->end != p->base + p->capacity * p->stride)
		return 0;
	size_t carved = fixed_carved(p);
	size_t live = fixed_live(p);
	if (carved > p->capacity || live > carved)
		return 0;
	/* Walk the free list (or the lock-free stack) with a bound: each member a carved block, not live
	 * in the bitmap, and the count equal to carved - live (no block twice, none missing). */
	size_t n = 0;
	size_t limit = carved - live;
#if MM_LOCKFREE_TOP_BITS
	if (p->flags & MM_FIXED_LOCKFREE) {
		uint32_t top = lf_index1(p, atomic_load(p->top));
		while (top) {
			size_t i = top - 1;
			if (i >= carved || ++n > limit || !FREE_BLOCK_OK(p, (const void *)(p->base + i * p->stride)))
				return 0;
			if (p->bitmap && (BIT_LOAD(&p->bitmap[i / MM_BITMAP_BITS]) >> (i % MM_BITMAP_BITS)) & 1)
				return 0;
			top = atomic_load(&p->links[i]);
		}
#if MM_CHECKS >= 3
		return n == limit && canaries_intact(p, carved);
#else
		return n == limit;
#endif
	}
#endif
	if (p->obs.observed ? p->head != NULL : p->parked != NULL)
		return 0; /* the list is where `observed` says, and only there */
	for (void *b = *mm_fixed_list(p); b != MM_LIST_END; b = mm_fixed_next(p, b)) {
		size_t i = mm_fixed_index(p, mm_addr(b));
		if (i >= carved || ++n > limit || !FREE_BLOCK_OK(p, b))
			return 0;
		if (p->bitmap && (BIT_LOAD(&p->bitmap[i / MM_BITMAP_BITS]) >> (i % MM_BITMAP_BITS)) & 1)
			return 0;
	}
	if (n != limit)
		return 0;
	if (p->bitmap) { /* as many bits set as blocks live, none beyond the carved ones */
		size_t set = 0;
		for (size_t w = 0; w < (p->capacity + MM_BITMAP_BITS - 1) / MM_BITMAP_BITS; w++) {
			size_t v = BIT_LOAD(&p->bitmap[w]);
			for (; v; v &= v - 1)
				set++;
		}
		if (set != live)
			return 0;
	}
#if MM_CHECKS >= 3
	return canaries_intact(p, carved);
#else
	return 1;
#endif
}

/* ---- Built for a memory checker (tool.h) ---------------------------------------------------------- */

#if MM_TOOLS
/* Frees so far (the lock-free mode's own counter there). */
static uint64_t fixed_frees(const mm_fixed *p)
{
#if MM_LOCKFREE_TOP_BITS
	if (p->flags & MM_FIXED_LOCKFREE)
		return (uint64_t)atomic_load_explicit(&p->lf_frees, memory_order_relaxed);
#endif
	return (uint64_t)p->obs.frees;
}

void *mm_fixed_alloc(mm_fixed_t p)
{
	MM_TOOL_QUIET_BEGIN();
	void *b = fixed_alloc_entry(p);
	if (b)
		MM_TOOL_ALLOC(b, p->asked);
	MM_TOOL_QUIET_END();
	return b;
}

void mm_fixed_free(mm_fixed_t p, void *ptr)
{
	MM_TOOL_QUIET_BEGIN();
	uint64_t frees = p && ptr ? fixed_frees(p) : 0;
	fixed_free_entry(p, ptr);
	if (p && ptr && fixed_frees(p) != frees) /* taken back, not refused (a count that only grows) */
		MM_TOOL_FREE(ptr, p->stride);
	MM_TOOL_QUIET_END();
}
#endif

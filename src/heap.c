// SPDX-License-Identifier: MIT
/*
 * heap.c - the composed real-time heap: fixed-size classes carved from one buffer plus a TLSF
 * remainder, with O(1) routing both ways.
 *
 * Buffer layout (every part aligned to mm_align_size()):
 *   [struct mm_heap, size map][class pools' control][class map][bitmaps][class regions][remainder]
 * - size map: one byte per mm_align_size() step up to the largest class: a request's class is
 *   size_map[(n + A - 1) / A], one load instead of a search.
 * - class regions: each class's blocks, each region starting on a MM_HEAP_GRANULE boundary; the
 *   class map has one byte per granule, so a pointer's class is class_map[(p - class_lo) / G].
 * - remainder: a TLSF instance (tlsf.c) over the rest, for requests larger than every class and
 *   for fallbacks; its errors are forwarded to the heap's handler.
 */
#include <string.h>

#include "fixed_internal.h"
#include "tlsf_internal.h"
#include "tool.h"

/* Class regions start on granules of 64 bytes (a cache line), or of the alignment if larger. */
#define MM_HEAP_GRANULE (MM_ALIGN > 64 ? MM_ALIGN : (size_t)64)
#define MM_HEAP_GRANULE_LOG2 MM_LOG2_CONST(MM_HEAP_GRANULE)

_Static_assert(MM_HEAP_MAX_CLASSES <= 255, "class indices are bytes");

struct mm_heap {
	mm_observe obs; /* first: errors, hooks, lock, timing; allocs and frees are the parts', failures
	                   the heap's own plus the remainder's (the remainder is always the last resort) */
	/* The fast paths' fields. fast_limit and fast_span are their gates: class_limit and class_span
	 * while the heap is not observed, 0 while it is (hooks, a lock, timing), so that the
	 * range tests the fast paths make anyway also send observed calls down the observed path. */
	size_t fast_limit;
	uintptr_t class_lo; /* the first class region */
	size_t fast_span;
	const uint8_t *class_map;                    /* granule -> class */
	mm_fixed *class_at[MM_HEAP_MAX_CLASSES];     /* &classes[i], without a multiply */
	uint16_t aligned[sizeof(size_t) * CHAR_BIT]; /* bit i of aligned[k]: class i's blocks are aligned to 2^k */
	uint32_t n_classes;
	uint32_t fallback;
	size_t max_class;   /* the largest class's block size (0 without classes) */
	size_t class_limit; /* max_class + 1, or 0 without classes: requests below go to a class */
	size_t class_span;  /* bytes from class_lo to the end of the last region */
	mm_fixed *classes;  /* n_classes pools, in the buffer */
	mm_control *tlsf;   /* the remainder, or NULL */
	uint8_t size_map[]; /* request -> class, size_map[(n + A - 1) / A]; inline: no pointer to load */
};

typedef struct mm_heap mm_heap;

/* ---- Layout --------------------------------------------------------------------------------------- */

#define ALIGNED(x) (((x) + MM_ALIGN - 1) & ~(MM_ALIGN - 1))

/* What a class block's stride has beyond its class size: at MM_CHECKS=3 the canary's word
 * (fixed_internal.h), rounded up to the alignment so that class sizes stay multiples of it (the
 * size map's steps); else nothing. */
#define CLASS_CANARY ALIGNED(MM_FIXED_CANARY)

typedef struct heap_layout {
	size_t classes_at, size_map_at, class_map_at, bitmaps_at, regions_at, remainder_at, total;
	size_t stride[MM_HEAP_MAX_CLASSES], region[MM_HEAP_MAX_CLASSES];
	size_t size_map_bytes, class_map_bytes, span, remainder_bytes;
} heap_layout;

/* Fills *l for cfg, offsets from a buffer aligned to MM_ALIGN. 0 if cfg is invalid or too large. */
static int layout(const mm_heap_config *cfg, heap_layout *l)
{
	const unsigned known = MM_FIXED_BITMAP | MM_FIXED_UNCHECKED;
	if (!cfg || cfg->n_classes > MM_HEAP_MAX_CLASSES || (cfg->fallback & ~3u) || (cfg->flags & ~known) ||
	    (cfg->flags & known) == known)
		return 0;
	const unsigned mode = mm_fixed_mode(cfg->flags);
	memset(l, 0, sizeof(*l));
	size_t bitmaps = 0, span = 0;
	for (size_t i = 0; i < cfg->n_classes; i++) {
		size_t size = cfg->classes[i].size, count = cfg->classes[i].count;
		if (size == 0 || count == 0 || size > SIZE_MAX / 4)
			return 0;
		size_t stride = ALIGNED(size) + CLASS_CANARY;
		if (i > 0 && stride <= l->stride[i - 1])
			return 0; /* strictly increasing once rounded */
		if (count > (SIZE_MAX / 4) / stride)
			return 0;
		l->stride[i] = stride;
		l->region[i] = (count * stride + MM_HEAP_GRANULE - 1) & ~(MM_HEAP_GRANULE - 1);
		if (l->region[i] > SIZE_MAX / 4 - span)
			return 0;
		span += l->region[i];
		if (mode & MM_FIXED_BITMAP)
			bitmaps += ALIGNED(mm_fixed_bitmap_bytes(count));
	}
	size_t max_class = cfg->n_classes ? l->stride[cfg->n_classes - 1] - CLASS_CANARY : 0;
	l->size_map_bytes = cfg->n_classes ? max_class / MM_ALIGN + 1 : 0;
	l->class_map_bytes = span >> MM_HEAP_GRANULE_LOG2;
	l->span = span;
	l->size_map_at = offsetof(mm_heap, size_map);
	size_t at = ALIGNED(l->size_map_at + l->size_map_bytes);
	l->classes_at = at;
	at += ALIGNED(cfg->n_classes * sizeof(mm_fixed));
	l->class_map_at = at;
	at += ALIGNED(l->class_map_bytes);
	l->bitmaps_at = at;
	at += bitmaps;
	/* Regions start on a granule: up to G - A bytes of padding for a buffer aligned to A. */
	l->regions_at = at;
	at += MM_HEAP_GRANULE - MM_ALIGN;
	if (span > SIZE_MAX / 2 - at)
		return 0;
	at += span;
	l->remainder_at = at;
	if (cfg->remainder) {
		if (cfg->remainder > mm_block_size_max())
			return 0;
		/* A fresh pool whose one block holds a request of cfg->remainder bytes (at least the smallest
		 * block a pool can hold) and its overhead (the size word, which mm_pool_overhead() counts
		 * too, and at MM_CHECKS=3 the canary). */
		size_t r = cfg->remainder < mm_block_size_min() ? mm_block_size_min() : cfg->remainder;
		l->remainder_bytes = mm_size() + mm_pool_overhead() + ALIGNED(r + mm_alloc_overhead()) - sizeof(size_t);
		if (l->remainder_bytes > SIZE_MAX / 2 - at)
			return 0;
		at += l->remainder_bytes;
	}
	l->total = at;
	return 1;
}

size_t mm_heap_size(const mm_heap_config *cfg)
{
	heap_layout l;
	return layout(cfg, &l) ? l.total : 0;
}

/* ---- Creation ------------------------------------------------------------------------------------- */

/* Errors found by the remainder's TLSF instance are the heap's. */
static void forward_error(void *instance, mm_error_t error, const void *ptr, void *user)
{
	(void)instance;
	mm_observe_report(&((mm_heap *)user)->obs, error, ptr);
}

/* Lays out cfg in [mem, mem + bytes) (*l), or says why it cannot be: mm_heap_create_error's answer. */
static mm_error_t plan_heap(const void *mem, size_t bytes, const mm_heap_config *cfg, heap_layout *l)
{
	if (!mem || !cfg || bytes > UINTPTR_MAX - mm_addr(mem))
		return MM_ERR_BAD_ARGUMENT;
	if (mm_addr(mem) & (MM_ALIGN - 1))
		return MM_ERR_MISALIGNED;
	if (!layout(cfg, l))
		return MM_ERR_BAD_CONFIG;
	return bytes < l->total ? MM_ERR_TOO_SMALL : MM_OK;
}

mm_error_t mm_heap_create_error(const void *mem, size_t bytes, const mm_heap_config *cfg)
{
	heap_layout l;
	return plan_heap(mem, bytes, cfg, &l);
}

static void heap_fill_stats(void *instance, mm_stats *out);
static void heap_reset_counters(void *instance);
static void heap_gate(void *instance);
#if MM_HAVE_STDIO
static void heap_print_classes(void *instance, FILE *stream);
#endif

/* What observe.c asks of a heap (observe.h). */
static const mm_observe_ops heap_ops = {
    .name = "heap",
    .fill_stats = heap_fill_stats,
    .reset_counters = heap_reset_counters,
    .gate = heap_gate,
#if MM_HAVE_STDIO
    .print = heap_print_classes,
#endif
};

mm_heap_t mm_heap_create(void *mem, size_t bytes, const mm_heap_config *cfg)
{
	heap_layout l;
	if (plan_heap(mem, bytes, cfg, &l) != MM_OK)
		return NULL;
	const unsigned mode = mm_fixed_mode(cfg->flags);
	unsigned char *base = (unsigned char *)mem;
	mm_heap *h = (mm_heap *)mem;
	memset(h, 0, sizeof(*h));
	mm_observe_init(&h->obs, MM_KIND_HEAP, &heap_ops);
	h->n_classes = (uint32_t)cfg->n_classes;
	h->fallback = cfg->fallback;
	h->classes = (mm_fixed *)(void *)(base + l.classes_at);
	h->max_class = cfg->n_classes ? l.stride[cfg->n_classes - 1] - CLASS_CANARY : 0;
	h->class_limit = cfg->n_classes ? h->max_class + 1 : 0;

	/* The class regions, granule-aligned, and their pools. */
	uintptr_t lo = mm_align_up_addr(mm_addr(base + l.regions_at), MM_HEAP_GRANULE);
	h->class_lo = lo;
	h->class_span = l.span;
	unsigned char *bitmap = base + l.bitmaps_at;
	uint8_t *class_map = base + l.class_map_at;
	uintptr_t region = lo;
	for (size_t i = 0; i < cfg->n_classes; i++) {
		void *bm = NULL;
		if (mode & MM_FIXED_BITMAP) {
			bm = bitmap;
			bitmap += ALIGNED(mm_fixed_bitmap_bytes(cfg->classes[i].count));
		}
		mm_fixed_init(&h->classes[i], (void *)region, cfg->classes[i].count, l.stride[i], bm, mode);
		MM_TOOL_HIDE((void *)region, cfg->classes[i].count * l.stride[i]); /* no block of the program's yet */
		h->class_at[i] = &h->classes[i];
		for (size_t k = 0; k < sizeof(h->aligned) / sizeof(h->aligned[0]); k++)
			if (!((l.stride[i] | region) & (((uintptr_t)1 << k) - 1)))
				h->aligned[k] |= (uint16_t)(1u << i);
		memset(class_map + ((region - lo) >> MM_HEAP_GRANULE_LOG2), (int)i,
		       l.region[i] >> MM_HEAP_GRANULE_LOG2);
		region += l.region[i];
	}
	h->class_map = class_map;

	/* Request size -> the smallest class that holds it. */
	size_t c = 0;
	for (size_t k = 0; k < l.size_map_bytes; k++) {
		while (l.stride[c] - CLASS_CANARY < k * MM_ALIGN)
			c++;
		h->size_map[k] = (uint8_t)c;
	}

	/* The remainder: everything after the regions, when one was asked for. */
	if (cfg->remainder) {
		h->tlsf = mm_create_with_pool(base + l.remainder_at, bytes - l.remainder_at);
		if (!h->tlsf)
			return NULL; /* not reached: the layout made room for it */
		mm_set_error_handler(h->tlsf, forward_error, h);
	}
	heap_gate(h);
	return h;
}

/* Each part its own key, derived from the one given. */
void mm_heap_set_secret(mm_heap_t h, uintptr_t secret)
{
	if (!h || h->obs.kind != MM_KIND_HEAP || MM_CHECKS < 1)
		return;
	MM_TOOL_QUIET_BEGIN();
	for (size_t i = 0; i < h->n_classes; i++)
		mm_fixed_reseal(&h->classes[i], secret ^ (uintptr_t)((i + 1) * 0x9E3779B97F4A7C15ull), &h->obs);
	if (h->tlsf)
		mm_tlsf_set_secret(h->tlsf, secret);
	MM_TOOL_QUIET_END();
}

static void heap_gate(void *instance)
{
	mm_heap *h = (mm_heap *)instance;
	int open = !h->obs.observed;
	h->fast_limit = open ? h->class_limit : 0;
	h->fast_span = open ? h->class_span : 0;
}

void mm_heap_destroy(mm_heap_t h)
{
	if (!h)
		return;
#if MM_TOOLS
	if (h->obs.kind == MM_KIND_HEAP) { /* its blocks are gone, the buffer the caller's again */
		for (size_t i = 0; i < h->n_classes; i++)
			mm_fixed_destroy(&h->classes[i]);
		if (h->tlsf)
			mm_destroy(h->tlsf);
	}
#endif
	h->obs.kind = 0;
}

void mm_heap_reset(mm_heap_t h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n_classes; i++)
		mm_fixed_reset(&h->classes[i]); /* built for a memory checker: its blocks told freed too */
	if (h->tlsf)
		mm_reset(h->tlsf);
}

/* ---- Classes -------------------------------------------------------------------------------------- */

/* The bytes a block of class pool p holds for the program: its stride, less CLASS_CANARY. */
MM_INLINE size_t class_size(const mm_fixed *p) { return p->stride - CLASS_CANARY; }

/* The class of a request below class_limit. */
MM_INLINE size_t class_index(const mm_heap *h, size_t n) { return h->size_map[(n + MM_ALIGN - 1) >> MM_ALIGN_LOG2]; }

/* A block of class c (recycled, else never used) for a request of n bytes, marked live in the
 * checked mode, counted; or NULL, counted as the class found exhausted. */
MM_INLINE void *class_take(mm_heap *h, size_t c, size_t n)
{
	mm_fixed *p = h->class_at[c];
	void *b = mm_list_pop(p, &p->head, &h->obs); /* marked live */
	if (!b) {
		if (p->carved == p->capacity) {
			p->obs.failures++;
			return NULL;
		}
		b = (void *)(p->base + p->carved++ * p->stride);
		if (p->bitmap)
			mm_fixed_mark(p, b);
	}
	p->obs.allocs++;
	(void)n;
	return MM_FIXED_HAND_OUT(p, b, n, &h->obs);
}

/* A request for the remainder; a heap without one counts the failure itself. */
MM_INLINE void *remainder_malloc(mm_heap *h, size_t n)
{
	if (MM_LIKELY(h->tlsf != NULL))
		return mm_tlsf_malloc(h->tlsf, n);
	h->obs.failures++;
	return NULL;
}

/* Class c is exhausted: the fallback as configured, class c + 1 and then the remainder. O(1). */
static MM_NOINLINE void *fall_back(mm_heap *h, size_t c, size_t n)
{
	if ((h->fallback & MM_HEAP_FALLBACK_LARGER) && c + 1 < h->n_classes) {
		void *b = class_take(h, c + 1, n);
		if (b)
			return b;
	}
	if (h->fallback & MM_HEAP_FALLBACK_REMAINDER)
		return remainder_malloc(h, n);
	h->obs.failures++;
	return NULL;
}

/* Class c's request off the fast path: a never-used block of c, else the fallback. */
static MM_NOINLINE void *class_malloc(mm_heap *h, size_t c, size_t n)
{
	void *b = class_take(h, c, n);
	return MM_LIKELY(b != NULL) ? b : fall_back(h, c, n);
}

/* A pointer's class, or -1 for "not in the class regions". */
MM_INLINE long class_of(const mm_heap *h, const void *ptr)
{
	uintptr_t off = mm_addr(ptr) - h->class_lo;
	return off < h->class_span ? (long)h->class_map[off >> MM_HEAP_GRANULE_LOG2] : -1;
}

/* A pointer inside the class regions that is not a block handed out: name it and report it. */
static MM_NOINLINE MM_COLD void class_bad_pointer(mm_heap *h, mm_fixed *p, const void *ptr)
{
	size_t i = mm_fixed_index(p, mm_addr(ptr));
	mm_observe_report(&h->obs, i >= p->capacity ? MM_ERR_INTERIOR_POINTER : MM_ERR_INVALID_POINTER, ptr);
}

/* The O(1) check of a class pointer (MM_CHECKS >= 1): a block handed out at some point. The checked
 * mode checks more (live, not just carved) in class_put. */
MM_INLINE int class_pointer_ok(const mm_fixed *p, const void *ptr)
{
#if MM_CHECKS >= 1
	return mm_fixed_index(p, mm_addr(ptr)) < p->carved;
#else
	(void)p;
	(void)ptr;
	return 1;
#endif
}

/* Takes back a block of class c after class_pointer_ok (the checked mode refuses, reporting it, a
 * block that is not live: 0). */
MM_INLINE int class_put(mm_heap *h, size_t c, void *ptr)
{
	mm_fixed *p = h->class_at[c];
	return mm_fixed_put(p, &p->head, ptr, &h->obs);
}

/* ---- The core operations (no lock, timing or hooks) ---------------------------------------------- */

static void *malloc_core(mm_heap *h, size_t n)
{
	if (n < h->class_limit)
		return class_malloc(h, class_index(h, n), n);
	return remainder_malloc(h, n);
}

static void free_core(mm_heap *h, void *ptr)
{
	long c = class_of(h, ptr);
	if (c >= 0) {
		mm_fixed *p = h->class_at[c];
		if (MM_UNLIKELY(!class_pointer_ok(p, ptr)))
			class_bad_pointer(h, p, ptr);
		else
			class_put(h, (size_t)c, ptr);
		return;
	}
	if (h->tlsf)
		mm_tlsf_free(h->tlsf, ptr);
	else
		mm_observe_report(&h->obs, MM_ERR_INVALID_POINTER, ptr);
}

static void *calloc_core(mm_heap *h, size_t count, size_t size)
{
	if (size && count > SIZE_MAX / size) {
		h->obs.failures++;
		return NULL;
	}
	void *p = malloc_core(h, count * size);
	if (p)
		mm_zero_bytes(p, count * size);
	return p;
}

static void *memalign_core(mm_heap *h, size_t align, size_t n)
{
	if (MM_UNLIKELY(align == 0 || (align & (align - 1)))) {
		mm_observe_report(&h->obs, MM_ERR_BAD_ARGUMENT, NULL);
		return NULL;
	}
	if (align <= MM_ALIGN)
		return malloc_core(h, n);
	/* The smallest class that holds n and whose every block is so aligned, if it has room: O(1). */
	if (n < h->class_limit) {
		unsigned fits = h->aligned[mm_fls_size(align)] & ~((1u << class_index(h, n)) - 1);
		void *b = fits ? class_take(h, mm_ffs32(fits), n) : NULL;
		if (b)
			return b;
	}
	if (MM_LIKELY(h->tlsf != NULL))
		return mm_tlsf_memalign_checked(h->tlsf, align, n); /* align is checked: not again */
	h->obs.failures++;
	return NULL;
}

/* The usable size of a block whose class_of is c (-1: the remainder), checking it (0 and reported
 * if it is not one). */
static size_t checked_size(mm_heap *h, void *ptr, long c)
{
	if (c >= 0) {
		mm_fixed *p = h->class_at[c];
		if (!class_pointer_ok(p, ptr)) {
			class_bad_pointer(h, p, ptr);
			return 0;
		}
		if (p->bitmap && !mm_fixed_is_live(p, ptr)) {
			mm_observe_report(&h->obs, MM_ERR_DOUBLE_FREE, ptr); /* a block already freed */
			return 0;
		}
#if MM_CHECKS >= 3
		return mm_fixed_sealed_size(p, ptr, &h->obs); /* the size asked for */
#else
		return class_size(p);
#endif
	}
	if (!h->tlsf) {
		mm_observe_report(&h->obs, MM_ERR_INVALID_POINTER, ptr);
		return 0;
	}
	return mm_tlsf_checked_size(h->tlsf, ptr); /* reported through forward_error */
}

static void *realloc_core(mm_heap *h, void *ptr, size_t n)
{
	if (!ptr)
		return malloc_core(h, n);
	long c = class_of(h, ptr);
	if (c < 0) {
		/* A remainder block: into a class when it now fits one that has room; else TLSF's realloc,
		 * which checks the pointer itself (checking it here too would do it twice). */
		if (!h->tlsf) {
			mm_observe_report(&h->obs, MM_ERR_INVALID_POINTER, ptr);
			return NULL;
		}
		if (n && n < h->class_limit) {
			size_t to = class_index(h, n);
			void *b = class_take(h, to, n);
			if (b) {
				size_t usable = mm_tlsf_checked_size(h->tlsf, ptr);
				if (!usable) { /* reported: the class block goes back */
					class_put(h, to, b);
					return NULL;
				}
				mm_copy_bytes(b, ptr, n < usable ? n : usable);
				mm_tlsf_free(h->tlsf, ptr);
				return b;
			}
		}
		return mm_tlsf_realloc(h->tlsf, ptr, n);
	}
	size_t usable = checked_size(h, ptr, c); /* MM_CHECKS=3: the size asked for */
	if (!usable)
		return NULL;
	if (n == 0) {
		class_put(h, (size_t)c, ptr);
		return NULL;
	}
#if MM_CHECKS >= 3
	size_t room = class_size(h->class_at[c]), keep = n < usable ? n : usable;
#else
	size_t room = usable, keep = n;
#endif
	if (n <= room) {
		/* It fits. Move down to a smaller class only if that one has room. */
		size_t to = class_index(h, n);
		if (to != (size_t)c) {
			void *b = class_take(h, to, n);
			if (b) {
				mm_copy_bytes(b, ptr, keep);
				class_put(h, (size_t)c, ptr);
				return b;
			}
		}
#if MM_CHECKS >= 3
		mm_fixed_resize(h->class_at[c], ptr, usable, n);
#endif
		return ptr;
	}
	void *b = malloc_core(h, n); /* a larger class, a fallback, or the remainder */
	if (!b)
		return NULL;
	mm_copy_bytes(b, ptr, usable);
	if (!class_put(h, (size_t)c, ptr)) { /* bitmap mode found it was not live after all */
		free_core(h, b);
		return NULL;
	}
	return b;
}

/* ---- The observed path ---------------------------------------------------------------------------- */

/* Allocations and frees so far, for the hooks to tell what happened. */
static uint64_t heap_allocs(const mm_heap *h);
static uint64_t heap_frees(const mm_heap *h);
static uint64_t heap_failures(const mm_heap *h) { return h->obs.failures + (h->tlsf ? h->tlsf->obs.failures : 0); }

static MM_NOINLINE void *observed_alloc(mm_heap *h, mm_op op, size_t a, size_t b, void *ptr)
{
	if (!h) {
		if (ptr)
			mm_observe_report(NULL, MM_ERR_INVALID_POINTER, ptr);
		return NULL;
	}
	mm_observe *o = &h->obs;
	mm_observe_lock(o);
	uint64_t allocs = heap_allocs(h), frees = heap_frees(h), failures = heap_failures(h);
	uint64_t t = mm_observe_start(o);
	void *r;
	size_t asked = a;
	switch (op) {
	case MM_OP_MALLOC: r = malloc_core(h, a); break;
	case MM_OP_CALLOC:
		r = calloc_core(h, a, b);
		asked = b && a > SIZE_MAX / b ? SIZE_MAX : a * b; /* the hook's size: all of it, or "too much" */
		break;
	case MM_OP_MEMALIGN:
		r = memalign_core(h, a, b);
		asked = b;
		break;
	default: r = realloc_core(h, ptr, a); break;
	}
	mm_observe_stop(o, op, t);
	if (r && ptr && r != ptr) { /* a move: the new block existed before the old one went */
		mm_observe_alloc(o, r, asked);
		mm_observe_free(o, ptr);
	} else {
		if (ptr && (r || heap_frees(h) != frees))
			mm_observe_free(o, ptr);
		if (r || heap_allocs(h) != allocs || heap_failures(h) != failures)
			mm_observe_alloc(o, r, asked);
	}
	mm_observe_unlock(o);
	return r;
}

static MM_NOINLINE void observed_free(mm_heap *h, void *ptr)
{
	if (!h) {
		mm_observe_report(NULL, MM_ERR_INVALID_POINTER, ptr);
		return;
	}
	mm_observe *o = &h->obs;
	mm_observe_lock(o);
	uint64_t frees = heap_frees(h);
	uint64_t t = mm_observe_start(o);
	free_core(h, ptr);
	mm_observe_stop(o, MM_OP_FREE, t);
	if (heap_frees(h) != frees)
		mm_observe_free(o, ptr);
	mm_observe_unlock(o);
}

/* ---- Entry points --------------------------------------------------------------------------------- */

/* Built for a memory checker (tool.h) the entry points are wrapped (at the end of this file). */

/* Off the fast path: a NULL heap, a large request, or an observed heap (its gate is closed). */
static MM_NOINLINE void *heap_malloc_slow(mm_heap *h, size_t n)
{
	if (!h || h->obs.observed)
		return observed_alloc(h, MM_OP_MALLOC, n, 0, NULL);
	return remainder_malloc(h, n); /* n >= class_limit: the gate is open */
}

#if MM_TOOLS
static void *heap_malloc_entry(mm_heap_t h, size_t n)
#else
void *mm_heap_malloc(mm_heap_t h, size_t n)
#endif
{
	/* Fast path: a request below the gate (the class limit, 0 while observed) pops its class's
	 * recycled list and, in the checked mode, sets the block's bit; no lock, hook or timing test, no
	 * search. */
	if (MM_LIKELY(h != NULL) && MM_LIKELY(n < h->fast_limit)) {
		size_t c = class_index(h, n);
		mm_fixed *p = h->class_at[c];
		void *b = p->head;
		if (MM_LIKELY(b != MM_LIST_END) && MM_CHECKS < 3) { /* MM_CHECKS=3: class_take checks and seals */
			/* The index, for the bit, also checks the head (fixed_internal.h). */
			if (p->bitmap && MM_UNLIKELY(!mm_fixed_claim(p, b)))
				return class_malloc(h, c, n); /* class_take drops the list, reported */
			p->head = mm_fixed_next(p, b);
			p->obs.allocs++;
			return b;
		}
		return class_malloc(h, c, n); /* a never-used block, or the fallback */
	}
	return heap_malloc_slow(h, n);
}

/* Off the fast path: NULL, a NULL heap, a remainder block, a foreign pointer or an observed heap. */
static MM_NOINLINE void heap_free_slow(mm_heap *h, void *ptr)
{
	if (!ptr)
		return;
	if (!h || h->obs.observed)
		observed_free(h, ptr);
	else
		free_core(h, ptr);
}

#if MM_TOOLS
static void heap_free_entry(mm_heap_t h, void *ptr)
#else
void mm_heap_free(mm_heap_t h, void *ptr)
#endif
{
	/* Fast path: a pointer inside the gate (the class regions, none while observed) is checked
	 * (MM_CHECKS >= 1: a block start the class has handed out; the checked mode: live) and pushed on
	 * its class's list. */
	if (MM_LIKELY(h != NULL)) {
		uintptr_t off = mm_addr(ptr) - h->class_lo;
		if (MM_LIKELY(off < h->fast_span)) {
			size_t c = h->class_map[off >> MM_HEAP_GRANULE_LOG2];
			mm_fixed *p = h->class_at[c];
			if (MM_UNLIKELY(!class_pointer_ok(p, ptr))) {
				class_bad_pointer(h, p, ptr);
				return;
			}
			class_put(h, c, ptr);
			return;
		}
	}
	heap_free_slow(h, ptr);
}

#if MM_TOOLS
static void *heap_calloc_entry(mm_heap_t h, size_t count, size_t size)
#else
void *mm_heap_calloc(mm_heap_t h, size_t count, size_t size)
#endif
{
	if (MM_UNLIKELY(!h || h->obs.observed))
		return observed_alloc(h, MM_OP_CALLOC, count, size, NULL);
	return calloc_core(h, count, size);
}

#if MM_TOOLS
static void *heap_memalign_entry(mm_heap_t h, size_t align, size_t n)
#else
void *mm_heap_memalign(mm_heap_t h, size_t align, size_t n)
#endif
{
	if (MM_UNLIKELY(!h || h->obs.observed))
		return observed_alloc(h, MM_OP_MEMALIGN, align, n, NULL);
	return memalign_core(h, align, n);
}

#if MM_TOOLS
static void *heap_realloc_entry(mm_heap_t h, void *ptr, size_t n)
#else
void *mm_heap_realloc(mm_heap_t h, void *ptr, size_t n)
#endif
{
	if (MM_UNLIKELY(!h || h->obs.observed))
		return observed_alloc(h, MM_OP_REALLOC, n, 0, ptr);
	return realloc_core(h, ptr, n);
}

size_t mm_heap_block_size(mm_heap_t h, void *ptr)
{
	if (!h || !ptr)
		return 0;
	MM_TOOL_QUIET_BEGIN();
	size_t n = checked_size(h, ptr, class_of(h, ptr));
	MM_TOOL_QUIET_END();
	return n;
}

/* ---- Inspection ----------------------------------------------------------------------------------- */

static uint64_t heap_allocs(const mm_heap *h)
{
	uint64_t n = h->tlsf ? h->tlsf->obs.allocs : 0;
	for (size_t i = 0; i < h->n_classes; i++)
		n += h->classes[i].obs.allocs;
	return n;
}

static uint64_t heap_frees(const mm_heap *h)
{
	uint64_t n = h->tlsf ? h->tlsf->obs.frees : 0;
	for (size_t i = 0; i < h->n_classes; i++)
		n += h->classes[i].obs.frees;
	return n;
}

size_t mm_heap_class_count(mm_heap_t h) { return h ? h->n_classes : 0; }
mm_t mm_heap_remainder(mm_heap_t h) { return h ? h->tlsf : NULL; }

int mm_heap_get_class_stats(mm_heap_t h, size_t i, mm_heap_class_stats *out)
{
	if (!h || i >= h->n_classes || !out)
		return 0;
	const mm_fixed *p = &h->classes[i];
	out->size = class_size(p);
	out->capacity = p->capacity;
	out->in_use = mm_observe_live(&p->obs);
	out->peak = mm_fixed_peak(p);
	out->allocs = p->obs.allocs;
	out->frees = p->obs.frees;
	out->exhausted = p->obs.failures;
	return 1;
}

static void heap_fill_stats(void *instance, mm_stats *out)
{
	const mm_heap *h = (const mm_heap *)instance;
	mm_stats r;
	memset(&r, 0, sizeof(r));
	if (h->tlsf) {
		mm_tlsf_fill_stats(h->tlsf, &r);
		out->fragmentation = r.fragmentation;
		/* A request of the remainder's largest_free reaches the remainder only if it is larger than
		 * every class, or if its class may fall back there. */
		if (r.largest_free < h->class_limit && !(h->fallback & MM_HEAP_FALLBACK_REMAINDER))
			r.largest_free = 0;
		r.allocs = h->tlsf->obs.allocs;
		r.frees = h->tlsf->obs.frees;
		out->failures += h->tlsf->obs.failures; /* requests the remainder, the last resort, refused */
		r.blocks_in_use = mm_observe_live(&h->tlsf->obs);
	}
	for (size_t i = 0; i < h->n_classes; i++) {
		const mm_fixed *p = &h->classes[i];
		size_t live = mm_observe_live(&p->obs);
		r.capacity += p->capacity * p->stride;
		r.in_use += live * p->stride;
		r.peak_in_use += mm_fixed_peak(p) * p->stride;
		r.blocks_in_use += live;
		r.allocs += p->obs.allocs;
		r.frees += p->obs.frees;
		if (live < p->capacity && class_size(p) > r.largest_free)
			r.largest_free = class_size(p); /* a request of exactly this size maps to this class */
	}
	out->capacity = r.capacity;
	out->in_use = r.in_use;
	out->peak_in_use = r.peak_in_use;
	out->largest_free = r.largest_free;
	out->blocks_in_use = r.blocks_in_use;
	out->allocs = r.allocs;
	out->frees = r.frees;
}

static void heap_reset_counters(void *instance)
{
	mm_heap *h = (mm_heap *)instance;
	h->obs.live_base = mm_observe_live(&h->obs); /* the heap's own counters, as for every instance */
	h->obs.allocs = h->obs.frees = 0;
	for (size_t i = 0; i < h->n_classes; i++)
		mm_reset_stats(&h->classes[i]);
	if (h->tlsf)
		mm_reset_stats(h->tlsf);
}

#if MM_HAVE_STDIO
static void heap_print_classes(void *instance, FILE *stream)
{
	mm_heap *h = (mm_heap *)instance;
	for (size_t i = 0; i < h->n_classes; i++) {
		mm_heap_class_stats s;
		mm_heap_get_class_stats(h, i, &s);
		(void)fprintf(stream,
		              "  class %2zu: %6zu B x %6zu, in use %6zu (peak %6zu), %llu allocs, %llu exhausted\n", i,
		              s.size, s.capacity, s.in_use, s.peak, (unsigned long long)s.allocs,
		              (unsigned long long)s.exhausted);
	}
	if (h->tlsf) {
		mm_stats s;
		mm_get_stats(h->tlsf, &s);
		(void)fprintf(stream, "  remainder: capacity %zu B, in use %zu B (peak %zu B), largest free %zu B\n",
		              s.capacity, s.in_use, s.peak_in_use, s.largest_free);
	}
}
#endif

int mm_heap_validate(mm_heap_t h)
{
	if (!h || h->obs.kind != MM_KIND_HEAP || h->n_classes > MM_HEAP_MAX_CLASSES)
		return 0;
	uintptr_t region = h->class_lo;
	for (size_t i = 0; i < h->n_classes; i++) {
		mm_fixed *p = &h->classes[i];
		if (!mm_fixed_validate(p) || p->base != region || (i && p->stride <= h->classes[i - 1].stride))
			return 0;
		size_t granules =
		    ((p->capacity * p->stride + MM_HEAP_GRANULE - 1) & ~(MM_HEAP_GRANULE - 1)) >> MM_HEAP_GRANULE_LOG2;
		for (size_t g = 0; g < granules; g++)
			if (h->class_map[((region - h->class_lo) >> MM_HEAP_GRANULE_LOG2) + g] != i)
				return 0;
		region += granules << MM_HEAP_GRANULE_LOG2;
	}
	if (region - h->class_lo != h->class_span)
		return 0;
	if (h->n_classes) {
		if (h->max_class != class_size(&h->classes[h->n_classes - 1]))
			return 0;
		for (size_t k = 0; k <= h->max_class / MM_ALIGN; k++) {
			const mm_fixed *p = &h->classes[h->size_map[k]];
			if (class_size(p) < k * MM_ALIGN || (p > h->classes && class_size(p - 1) >= k * MM_ALIGN))
				return 0;
		}
	}
	return h->tlsf ? mm_validate(h->tlsf) : 1;
}

/* ---- Built for a memory checker (tool.h) ---------------------------------------------------------- */

#if MM_TOOLS
/* The usable size of the block at ptr if it is one, else anything (read only when a free took it
 * back); 0 for a pointer that is not in the heap. */
static size_t tool_usable(const mm_heap *h, const void *ptr)
{
	if (!h || !ptr || h->obs.kind != MM_KIND_HEAP)
		return 0;
	long c = class_of(h, ptr);
	if (c >= 0)
		return h->classes[c].stride;
	return h->tlsf ? mm_tlsf_tool_usable(h->tlsf, ptr) : 0;
}

/* One operation, with the checker's reports off, then told to it from the free counters and the
 * result (as tlsf.c's tool_run: a realloc is a free and an allocation whose first bytes memoman
 * wrote; calloc's are all written). a, b: as observed_alloc's. */
static void *tool_run(mm_heap *h, mm_op op, size_t a, size_t b, void *ptr)
{
	MM_TOOL_QUIET_BEGIN();
	size_t old = tool_usable(h, ptr);
	uint64_t frees = h && h->obs.kind == MM_KIND_HEAP ? heap_frees(h) : 0;
	void *p = NULL;
	size_t size = a;
	switch (op) {
	case MM_OP_MALLOC: p = heap_malloc_entry(h, a); break;
	case MM_OP_CALLOC:
		p = heap_calloc_entry(h, a, b);
		size = a * b; /* used only if p: no overflow then */
		break;
	case MM_OP_MEMALIGN:
		p = heap_memalign_entry(h, a, b);
		size = b;
		break;
	case MM_OP_REALLOC: p = heap_realloc_entry(h, ptr, a); break;
	default: heap_free_entry(h, ptr); break;
	}
	int freed = ptr && h && h->obs.kind == MM_KIND_HEAP && heap_frees(h) != frees;
	if (ptr && (p || freed))
		MM_TOOL_FREE(ptr, old);
	if (p) {
		MM_TOOL_ALLOC(p, size);
		if (op == MM_OP_CALLOC)
			MM_TOOL_WRITTEN(p, size);
		else if (ptr)
			MM_TOOL_WRITTEN(p, old < size ? old : size);
	}
	MM_TOOL_QUIET_END();
	return p;
}

void *mm_heap_malloc(mm_heap_t h, size_t n) { return tool_run(h, MM_OP_MALLOC, n, 0, NULL); }
void *mm_heap_calloc(mm_heap_t h, size_t count, size_t size) { return tool_run(h, MM_OP_CALLOC, count, size, NULL); }
void *mm_heap_memalign(mm_heap_t h, size_t align, size_t n) { return tool_run(h, MM_OP_MEMALIGN, align, n, NULL); }
void *mm_heap_realloc(mm_heap_t h, void *ptr, size_t n) { return tool_run(h, MM_OP_REALLOC, n, 0, ptr); }
void mm_heap_free(mm_heap_t h, void *ptr)
{
	if (ptr)
		(void)tool_run(h, MM_OP_FREE, 0, 0, ptr);
}
#endif

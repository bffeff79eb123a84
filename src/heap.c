/*
 * heap.c - the composed real-time heap: fixed-size classes carved from one buffer plus a TLSF
 * remainder, with O(1) routing both ways.
 *
 * Buffer layout (every part aligned to mm_align_size()):
 *   [struct mm_heap][class pools' control][size map][class map][bitmaps][class regions][remainder]
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

/* Class regions start on granules of 64 bytes (a cache line), or of the alignment if larger. */
#define MM_HEAP_GRANULE (MM_ALIGN > 64 ? MM_ALIGN : (size_t)64)
#define MM_HEAP_GRANULE_LOG2 MM_LOG2_CONST(MM_HEAP_GRANULE)

_Static_assert(MM_HEAP_MAX_CLASSES <= 255, "class indices are bytes");

struct mm_heap {
	mm_observe obs; /* first: errors, failures, hooks, lock, timing; allocs and frees are the parts' */
	uint32_t n_classes;
	uint32_t fallback;
	unsigned flags;
	size_t max_class;         /* the largest class's block size (0 without classes) */
	size_t class_limit;       /* max_class + 1, or 0 without classes: requests below go to a class */
	const uint8_t *size_map;  /* request -> class */
	uintptr_t class_lo;       /* the first class region */
	size_t class_span;        /* bytes from class_lo to the end of the last region */
	const uint8_t *class_map; /* granule -> class */
	mm_fixed *classes;        /* n_classes pools, in the buffer */
	mm_control *tlsf;         /* the remainder, or NULL */
};

typedef struct mm_heap mm_heap;

/* ---- Layout --------------------------------------------------------------------------------------- */

#define ALIGNED(x) (((x) + MM_ALIGN - 1) & ~(MM_ALIGN - 1))

typedef struct heap_layout {
	size_t classes_at, size_map_at, class_map_at, bitmaps_at, regions_at, remainder_at, total;
	size_t stride[MM_HEAP_MAX_CLASSES], region[MM_HEAP_MAX_CLASSES];
	size_t size_map_bytes, class_map_bytes, span, remainder_bytes;
} heap_layout;

/* Fills *l for cfg, offsets from a buffer aligned to MM_ALIGN. 0 if cfg is invalid or too large. */
static int layout(const mm_heap_config *cfg, heap_layout *l)
{
	if (!cfg || cfg->n_classes > MM_HEAP_MAX_CLASSES || (cfg->fallback & ~3u) || (cfg->flags & ~MM_FIXED_BITMAP))
		return 0;
	memset(l, 0, sizeof(*l));
	size_t at = ALIGNED(sizeof(mm_heap));
	l->classes_at = at;
	at += ALIGNED(cfg->n_classes * sizeof(mm_fixed));
	size_t bitmaps = 0, span = 0;
	for (size_t i = 0; i < cfg->n_classes; i++) {
		size_t size = cfg->classes[i].size, count = cfg->classes[i].count;
		if (size == 0 || count == 0 || size > SIZE_MAX / 4)
			return 0;
		size_t stride = ALIGNED(size);
		if (i > 0 && stride <= l->stride[i - 1])
			return 0; /* strictly increasing once rounded */
		if (count > (SIZE_MAX / 4) / stride)
			return 0;
		l->stride[i] = stride;
		l->region[i] = (count * stride + MM_HEAP_GRANULE - 1) & ~(MM_HEAP_GRANULE - 1);
		if (l->region[i] > SIZE_MAX / 4 - span)
			return 0;
		span += l->region[i];
		if (cfg->flags & MM_FIXED_BITMAP)
			bitmaps += ALIGNED(mm_fixed_bitmap_bytes(count));
	}
	size_t max_class = cfg->n_classes ? l->stride[cfg->n_classes - 1] : 0;
	l->size_map_bytes = cfg->n_classes ? max_class / MM_ALIGN + 1 : 0;
	l->class_map_bytes = span >> MM_HEAP_GRANULE_LOG2;
	l->span = span;
	l->size_map_at = at;
	at += ALIGNED(l->size_map_bytes);
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
		/* A fresh pool whose one block holds a request of cfg->remainder bytes and its header. */
		l->remainder_bytes = mm_size() + mm_pool_overhead() + ALIGNED(cfg->remainder + mm_alloc_overhead()) -
		                     mm_alloc_overhead();
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

mm_heap_t mm_heap_create(void *mem, size_t bytes, const mm_heap_config *cfg)
{
	heap_layout l;
	if (!mem || (mm_addr(mem) & (MM_ALIGN - 1)) || !layout(cfg, &l) || bytes < l.total ||
	    bytes > UINTPTR_MAX - mm_addr(mem))
		return NULL;
	unsigned char *base = (unsigned char *)mem;
	mm_heap *h = (mm_heap *)mem;
	memset(h, 0, sizeof(*h));
	mm_observe_init(&h->obs, MM_KIND_HEAP);
	h->n_classes = (uint32_t)cfg->n_classes;
	h->fallback = cfg->fallback;
	h->flags = cfg->flags;
	if (h->flags)
		h->obs.observed |= MM_OBSERVE_MODE; /* bitmap classes: off the fast path */
	h->classes = (mm_fixed *)(void *)(base + l.classes_at);
	h->max_class = cfg->n_classes ? l.stride[cfg->n_classes - 1] : 0;
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
		if (cfg->flags & MM_FIXED_BITMAP) {
			bm = bitmap;
			bitmap += ALIGNED(mm_fixed_bitmap_bytes(cfg->classes[i].count));
		}
		mm_fixed_init(&h->classes[i], (void *)region, cfg->classes[i].count, l.stride[i], bm, cfg->flags);
		memset(class_map + ((region - lo) >> MM_HEAP_GRANULE_LOG2), (int)i,
		       l.region[i] >> MM_HEAP_GRANULE_LOG2);
		region += l.region[i];
	}
	h->class_map = class_map;

	/* Request size -> the smallest class that holds it. */
	uint8_t *size_map = base + l.size_map_at;
	size_t c = 0;
	for (size_t k = 0; k < l.size_map_bytes; k++) {
		while (l.stride[c] < k * MM_ALIGN)
			c++;
		size_map[k] = (uint8_t)c;
	}
	h->size_map = size_map;

	/* The remainder: everything after the regions, when one was asked for. */
	if (cfg->remainder) {
		h->tlsf = mm_create_with_pool(base + l.remainder_at, bytes - l.remainder_at);
		if (!h->tlsf)
			return NULL; /* not reached: the layout made room for it */
		mm_set_error_handler(h->tlsf, forward_error, h);
	}
	return h;
}

void mm_heap_destroy(mm_heap_t h)
{
	if (h)
		h->obs.kind = 0;
}

void mm_heap_reset(mm_heap_t h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n_classes; i++)
		mm_fixed_reset(&h->classes[i]);
	if (h->tlsf)
		mm_reset(h->tlsf);
}

/* ---- Classes -------------------------------------------------------------------------------------- */

MM_INLINE mm_fixed *class_for(const mm_heap *h, size_t n)
{
	return &h->classes[h->size_map[(n + MM_ALIGN - 1) >> MM_ALIGN_LOG2]];
}

/* A block of class p, counted, or NULL (not counted as exhausted). */
static void *class_take(mm_heap *h, mm_fixed *p)
{
	if (h->flags & MM_FIXED_BITMAP) {
		uint64_t failures = p->obs.failures;
		void *b = mm_fixed_alloc_core(p);
		p->obs.failures = failures;
		return b;
	}
	void *b = mm_fixed_pop(p);
	if (!b)
		b = mm_fixed_carve(p);
	if (b)
		p->obs.allocs++;
	return b;
}

/* The request's class is empty: the fallback, as configured. */
static void *fall_back(mm_heap *h, mm_fixed *p, size_t n)
{
	p->obs.failures++; /* the class was exhausted */
	if (h->fallback & MM_HEAP_FALLBACK_LARGER) {
		for (mm_fixed *q = p + 1; q < h->classes + h->n_classes; q++) {
			void *b = class_take(h, q);
			if (b)
				return b;
		}
	}
	if ((h->fallback & MM_HEAP_FALLBACK_REMAINDER) && h->tlsf) {
		void *b = mm_tlsf_malloc(h->tlsf, n);
		if (b)
			return b;
	}
	h->obs.failures++;
	return NULL;
}

/* Default mode, the class's recycled list empty: a fresh block, else the fallback. */
static MM_NOINLINE void *class_refill(mm_heap *h, mm_fixed *p, size_t n)
{
	void *b = mm_fixed_carve(p);
	if (MM_LIKELY(b != NULL)) {
		p->obs.allocs++;
		return b;
	}
	return fall_back(h, p, n);
}

static MM_NOINLINE void *remainder_malloc(mm_heap *h, size_t n)
{
	void *b = h->tlsf ? mm_tlsf_malloc(h->tlsf, n) : NULL;
	if (!b)
		h->obs.failures++;
	return b;
}

/* Where a pointer lives: its class, or NULL for "not in the class regions". */
MM_INLINE mm_fixed *class_of(const mm_heap *h, const void *ptr)
{
	uintptr_t off = mm_addr(ptr) - h->class_lo;
	return off < h->class_span ? &h->classes[h->class_map[off >> MM_HEAP_GRANULE_LOG2]] : NULL;
}

/* A pointer inside the class regions that is not a block handed out: name it and report it. */
static MM_NOINLINE MM_COLD void class_bad_pointer(mm_heap *h, mm_fixed *p, const void *ptr)
{
	size_t i = mm_fixed_index(p, mm_addr(ptr));
	mm_observe_report(&h->obs, i >= p->capacity ? MM_ERR_INTERIOR_POINTER : MM_ERR_INVALID_POINTER, ptr);
}

/* Takes back a block of class p after the checks. `general` is a constant at each call: 0 on the
 * fast path, which the bitmap mode never reaches, so that the test compiles away there. */
MM_INLINE int class_put(mm_heap *h, mm_fixed *p, void *ptr, int general)
{
	if (general && (h->flags & MM_FIXED_BITMAP))
		return mm_fixed_free_core(p, ptr, &h->obs);
	mm_fixed_push(p, ptr);
	p->obs.frees++;
	return 1;
}

/* The O(1) check of a class pointer (MM_CHECKS >= 1): a block handed out at some point. The bitmap
 * mode checks more (live, not just carved) in mm_fixed_free_core. */
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

/* ---- The core operations (no lock, timing or hooks) ---------------------------------------------- */

MM_INLINE void *malloc_core(mm_heap *h, size_t n, int general)
{
	if (MM_LIKELY(n < h->class_limit)) {
		mm_fixed *p = class_for(h, n);
		if (general && h->flags) { /* bitmap mode: reached only through the observed path */
			void *b = class_take(h, p);
			return b ? b : fall_back(h, p, n);
		}
		void *b = mm_fixed_pop(p);
		if (MM_LIKELY(b != NULL)) {
			p->obs.allocs++;
			return b;
		}
		return class_refill(h, p, n);
	}
	return remainder_malloc(h, n);
}

MM_INLINE void free_core(mm_heap *h, void *ptr, int general)
{
	mm_fixed *p = class_of(h, ptr);
	if (MM_LIKELY(p != NULL)) {
		if (MM_UNLIKELY(!class_pointer_ok(p, ptr))) {
			class_bad_pointer(h, p, ptr);
			return;
		}
		class_put(h, p, ptr, general);
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
	void *p = malloc_core(h, count * size, 1);
	if (p)
		memset(p, 0, count * size);
	return p;
}

static void *memalign_core(mm_heap *h, size_t align, size_t n)
{
	if (align == 0 || (align & (align - 1)))
		return NULL;
	if (align <= MM_ALIGN)
		return malloc_core(h, n, 1);
	/* A class whose every block is so aligned (its stride and its region start are multiples). */
	if (n < h->class_limit) {
		for (mm_fixed *p = class_for(h, n); p < h->classes + h->n_classes; p++) {
			if ((p->stride & (align - 1)) || (p->base & (align - 1)))
				continue;
			void *b = class_take(h, p);
			if (b)
				return b;
		}
	}
	void *b = h->tlsf ? mm_tlsf_memalign(h->tlsf, align, n) : NULL;
	if (!b)
		h->obs.failures++;
	return b;
}

/* The usable size of a block, checking it (0 and reported if it is not one). */
static size_t checked_size(mm_heap *h, void *ptr, mm_fixed **class_out)
{
	mm_fixed *p = class_of(h, ptr);
	*class_out = p;
	if (p) {
		if (!class_pointer_ok(p, ptr)) {
			class_bad_pointer(h, p, ptr);
			return 0;
		}
		return p->stride;
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
		return malloc_core(h, n, 1);
	mm_fixed *p;
	size_t usable = checked_size(h, ptr, &p);
	if (!usable)
		return NULL;
	if (n == 0) {
		if (p)
			class_put(h, p, ptr, 1);
		else
			mm_tlsf_free(h->tlsf, ptr);
		return NULL;
	}
	if (p) {
		if (n <= usable) {
			/* It fits. Move down to a smaller class only if that one has room. */
			mm_fixed *to = class_for(h, n);
			if (to != p) {
				void *b = class_take(h, to);
				if (b) {
					memcpy(b, ptr, n);
					class_put(h, p, ptr, 1);
					return b;
				}
			}
			return ptr;
		}
		void *b = malloc_core(h, n, 1); /* a larger class, a fallback, or the remainder */
		if (!b)
			return NULL;
		memcpy(b, ptr, usable);
		if (!class_put(h, p, ptr, 1)) { /* bitmap mode found it was not live after all */
			free_core(h, b, 1);
			return NULL;
		}
		return b;
	}
	/* A remainder block: into a class when it now fits one that has room, else TLSF's realloc. */
	if (n < h->class_limit) {
		void *b = class_take(h, class_for(h, n));
		if (b) {
			memcpy(b, ptr, n < usable ? n : usable);
			mm_tlsf_free(h->tlsf, ptr);
			return b;
		}
	}
	uint64_t failures = h->tlsf->obs.failures;
	void *b = mm_tlsf_realloc(h->tlsf, ptr, n);
	if (!b && h->tlsf->obs.failures != failures)
		h->obs.failures++;
	return b;
}

/* ---- The observed path ---------------------------------------------------------------------------- */

/* Allocations and frees so far, for the hooks to tell what happened. */
static uint64_t heap_allocs(const mm_heap *h);
static uint64_t heap_frees(const mm_heap *h);

static MM_NOINLINE void *observed_alloc(mm_heap *h, mm_op op, size_t a, size_t b, void *ptr)
{
	if (!h) {
		if (ptr)
			mm_observe_report(NULL, MM_ERR_INVALID_POINTER, ptr);
		return NULL;
	}
	mm_observe *o = &h->obs;
	mm_observe_lock(o);
	uint64_t allocs = heap_allocs(h), frees = heap_frees(h), failures = o->failures;
	uint64_t t = mm_observe_start(o);
	void *r;
	size_t asked = a;
	switch (op) {
	case MM_OP_MALLOC: r = malloc_core(h, a, 1); break;
	case MM_OP_CALLOC:
		r = calloc_core(h, a, b);
		asked = a * b;
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
		if (r || heap_allocs(h) != allocs || o->failures != failures)
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
	free_core(h, ptr, 1);
	mm_observe_stop(o, MM_OP_FREE, t);
	if (heap_frees(h) != frees)
		mm_observe_free(o, ptr);
	mm_observe_unlock(o);
}

/* ---- Entry points --------------------------------------------------------------------------------- */

void *mm_heap_malloc(mm_heap_t h, size_t n)
{
	if (MM_UNLIKELY(!h || h->obs.observed))
		return observed_alloc(h, MM_OP_MALLOC, n, 0, NULL);
	return malloc_core(h, n, 0);
}

void mm_heap_free(mm_heap_t h, void *ptr)
{
	if (!ptr)
		return;
	if (MM_UNLIKELY(!h || h->obs.observed)) {
		observed_free(h, ptr);
		return;
	}
	free_core(h, ptr, 0);
}

void *mm_heap_calloc(mm_heap_t h, size_t count, size_t size)
{
	if (MM_UNLIKELY(!h || h->obs.observed))
		return observed_alloc(h, MM_OP_CALLOC, count, size, NULL);
	return calloc_core(h, count, size);
}

void *mm_heap_memalign(mm_heap_t h, size_t align, size_t n)
{
	if (MM_UNLIKELY(!h || h->obs.observed))
		return observed_alloc(h, MM_OP_MEMALIGN, align, n, NULL);
	return memalign_core(h, align, n);
}

void *mm_heap_realloc(mm_heap_t h, void *ptr, size_t n)
{
	if (MM_UNLIKELY(!h || h->obs.observed))
		return observed_alloc(h, MM_OP_REALLOC, n, 0, ptr);
	return realloc_core(h, ptr, n);
}

size_t mm_heap_block_size(mm_heap_t h, void *ptr)
{
	if (!h || !ptr)
		return 0;
	mm_fixed *p;
	return checked_size(h, ptr, &p);
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
	out->size = p->stride;
	out->capacity = p->capacity;
	out->in_use = mm_observe_live(&p->obs);
	out->peak = mm_fixed_peak(p);
	out->allocs = p->obs.allocs;
	out->frees = p->obs.frees;
	out->exhausted = p->obs.failures;
	return 1;
}

void mm_heap_fill_stats(void *instance, mm_stats *out)
{
	const mm_heap *h = (const mm_heap *)instance;
	mm_stats r;
	memset(&r, 0, sizeof(r));
	if (h->tlsf) {
		mm_tlsf_fill_stats(h->tlsf, &r);
		out->fragmentation = mm_fragmentation_permille(r.largest_free, r.capacity - r.in_use);
		r.allocs = h->tlsf->obs.allocs;
		r.frees = h->tlsf->obs.frees;
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
		if (live < p->capacity && p->stride > r.largest_free)
			r.largest_free = p->stride;
	}
	out->capacity = r.capacity;
	out->in_use = r.in_use;
	out->peak_in_use = r.peak_in_use;
	out->largest_free = r.largest_free;
	out->blocks_in_use = r.blocks_in_use;
	out->allocs = r.allocs;
	out->frees = r.frees;
}

void mm_heap_reset_counters(void *instance)
{
	mm_heap *h = (mm_heap *)instance;
	for (size_t i = 0; i < h->n_classes; i++)
		mm_reset_stats(&h->classes[i]);
	if (h->tlsf)
		mm_reset_stats(h->tlsf);
}

#if MM_HAVE_STDIO
void mm_heap_print_classes(void *instance, FILE *stream)
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
		if (h->max_class != h->classes[h->n_classes - 1].stride)
			return 0;
		for (size_t k = 0; k <= h->max_class / MM_ALIGN; k++) {
			const mm_fixed *p = &h->classes[h->size_map[k]];
			if (p->stride < k * MM_ALIGN || (p > h->classes && (p - 1)->stride >= k * MM_ALIGN))
				return 0;
		}
	}
	return h->tlsf ? mm_validate(h->tlsf) : 1;
}

// SPDX-License-Identifier: MIT
/*
 * memoman/heap.h - the composed real-time heap (mm_heap_*): one caller buffer and one configuration
 * become a set of fixed-size classes plus a TLSF remainder.
 *
 * A request goes to the smallest class whose blocks hold it; larger requests go to the remainder.
 * When a class is exhausted the request falls back, as configured, to the next class and/or to the
 * remainder. Class allocation and free are a pop and a push, plus a bit set and cleared in the
 * checked default (bench/run.sh counts the instructions of both modes); the remainder is the TLSF core
 * (memoman.h). Everything stays inside the buffer, O(1) per call: no operation looks at more than
 * two classes.
 *
 * Included by memoman.h; the observation functions there (mm_get_stats, mm_set_hooks, mm_set_lock,
 * mm_track_cycles, mm_set_error_handler, mm_print, ...) take an mm_heap_t as well.
 */
#ifndef MEMOMAN_HEAP_H
#define MEMOMAN_HEAP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mm_heap *mm_heap_t;

#define MM_HEAP_MAX_CLASSES 16

/* What an exhausted class does (bits; LARGER | REMAINDER: the next class first, then the remainder). */
#define MM_HEAP_FALLBACK_NONE 0u      /* the request fails */
#define MM_HEAP_FALLBACK_LARGER 1u    /* the next class (one step: a bounded waste per block) */
#define MM_HEAP_FALLBACK_REMAINDER 2u /* the TLSF remainder */

typedef struct mm_heap_class_config {
	size_t size;  /* block size: requests up to this many bytes (rounded up to mm_align_size()) */
	size_t count; /* blocks */
} mm_heap_class_config;

typedef struct mm_heap_config {
	size_t n_classes;                                  /* 0..MM_HEAP_MAX_CLASSES */
	mm_heap_class_config classes[MM_HEAP_MAX_CLASSES]; /* sizes strictly increasing */
	size_t remainder;  /* the largest request the TLSF remainder must be able to serve when it is empty
	                     (0: no remainder); mm_heap_create gives it whatever the buffer has left
	                     beyond mm_heap_size() as well */
	unsigned fallback; /* MM_HEAP_FALLBACK_* */
	unsigned flags;    /* 0 (or MM_FIXED_BITMAP): the checked default, every class keeps a bit per block
	                      and catches double, foreign and interior frees in O(1); MM_FIXED_UNCHECKED:
	                      the explicit opt-out (no bitmap; a class block freed twice is then undefined) */
} mm_heap_config;

/* ---- Creation and sizing ------------------------------------------------------------------------ */

/*
 * Bytes of buffer (aligned to mm_align_size()) that mm_heap_create needs for cfg: the heap's
 * control, its maps, the classes' blocks and, if cfg->remainder > 0, a TLSF instance whose pool
 * can serve a single request of cfg->remainder bytes; with the checked default, each class's bitmap.
 * 0 if cfg is invalid: more than MM_HEAP_MAX_CLASSES classes, sizes not strictly increasing, a class
 * with size or count 0, unknown fallback or flag bits (or MM_FIXED_BITMAP with MM_FIXED_UNCHECKED),
 * or a total that does not fit in size_t. O(classes).
 */
size_t mm_heap_size(const mm_heap_config *cfg);

/*
 * Creates a heap in [mem, mem + bytes) for cfg; the remainder gets what the buffer has left.
 * mem must be aligned to mm_align_size(). Returns NULL if and only if mm_heap_create_error() with
 * the same arguments says why. O(classes + size of the largest class / mm_align_size()): the maps are
 * filled once.
 */
mm_heap_t mm_heap_create(void *mem, size_t bytes, const mm_heap_config *cfg);

/*
 * Why mm_heap_create(mem, bytes, cfg) fails, without touching mem: MM_OK (it succeeds),
 * MM_ERR_BAD_ARGUMENT (mem or cfg NULL, or the range wraps around the address space),
 * MM_ERR_MISALIGNED (mem not aligned to mm_align_size()), MM_ERR_BAD_CONFIG (cfg invalid: see
 * mm_heap_size), MM_ERR_TOO_SMALL (bytes < mm_heap_size(cfg)). O(classes).
 */
mm_error_t mm_heap_create_error(const void *mem, size_t bytes, const mm_heap_config *cfg);

/* Ends the heap; the buffer is the caller's again. O(1). */
void mm_heap_destroy(mm_heap_t heap);

/* Frees every block at once (earlier pointers become invalid): the frame reset of real-time loops.
 * O(classes + remainder pools), plus clearing the bitmaps in the checked mode. */
void mm_heap_reset(mm_heap_t heap);

/*
 * The secret the heap's free-list links are sealed with: each class's and the remainder's, derived
 * from it (mm_set_secret, mm_fixed_set_secret say why). Re-seals the free blocks' links: O(free
 * blocks); call it once, after creation. A link found broken on the way is reported as
 * MM_ERR_CORRUPTED_LINK and its list cut there. NULL or a destroyed heap is ignored; nothing with
 * MM_CHECKS=0.
 */
void mm_heap_set_secret(mm_heap_t heap, uintptr_t secret);

/* ---- Allocation ---------------------------------------------------------------------------------- */

/*
 * At least `bytes` bytes aligned to mm_align_size(); not zero-filled. mm_heap_malloc(h, 0) is a
 * unique block of the smallest class (or of the remainder).
 * Returns NULL if and only if heap is NULL, the request's class is exhausted and the fallback finds
 * nothing, or a request larger than every class finds no room in the remainder (or there is none).
 * O(1): a class pop; with fallback, one more class, then one TLSF malloc.
 * Worst case: at most 230 instructions with MM_CHECKS=1, 190 with MM_CHECKS=0, 240 with MM_CHECKS=2
 * (between its periodic validations); the whole call, x86-64, gcc -O2, default knobs; checked by
 * make test-bounds (docs/realtime.md).
 */
MM_ATTR_MALLOC MM_ATTR_ALLOC_SIZE(2) void *mm_heap_malloc(mm_heap_t heap, size_t bytes);

/* mm_heap_malloc(heap, count * size) zero-filled; NULL if count * size overflows (the multiply is
 * checked). O(count * size) for the zero-fill.
 * Worst case, the zero-fill left out: at most 250 instructions with MM_CHECKS=1, 210 with
 * MM_CHECKS=0, 270 with MM_CHECKS=2 (between its periodic validations); the whole call, x86-64, gcc
 * -O2, default knobs; checked by make test-bounds (docs/realtime.md).
 */
MM_ATTR_MALLOC MM_ATTR_ALLOC_SIZE(2, 3) void *mm_heap_calloc(mm_heap_t heap, size_t count, size_t size);

/*
 * At least `bytes` bytes aligned to `align` (a power of two). An align of mm_align_size() or less is
 * mm_heap_malloc (its class and fallback). A larger one: from the smallest class whose blocks hold
 * `bytes` and are all so aligned, if it has a free block; else from the remainder (mm_memalign),
 * whatever the fallback setting. NULL if align is not a power of two (reported as
 * MM_ERR_BAD_ARGUMENT: with MM_DEBUG and no handler, that aborts) or nothing fits. O(1): one class, then one TLSF memalign.
 * Worst case: at most 310 instructions with MM_CHECKS=1, 260 with MM_CHECKS=0, 310 with MM_CHECKS=2
 * (between its periodic validations); the whole call, x86-64, gcc -O2, default knobs; checked by
 * make test-bounds (docs/realtime.md).
 */
MM_ATTR_MALLOC MM_ATTR_ALLOC_ALIGN(2)
    MM_ATTR_ALLOC_SIZE(3) void *mm_heap_memalign(mm_heap_t heap, size_t align, size_t bytes);

/*
 * Resizes a block of the heap, moving it between classes and the remainder as the size changes:
 * it stays where it is while the new size fits and no smaller class would hold it; it moves to a
 * smaller class when one has room; it moves to a larger class or the remainder when it must grow
 * (the remainder grows in place when it can). ptr NULL: mm_heap_malloc. size 0: frees ptr, NULL.
 * On failure NULL, and the block at ptr is unchanged. A bad ptr is reported as by mm_heap_free.
 * O(1) plus the copy when the block moves.
 * Worst case in place (a move adds the copy and is not bounded): at most 410 instructions with
 * MM_CHECKS=1, 240 with MM_CHECKS=0, 420 with MM_CHECKS=2 (between its periodic validations); the
 * whole call, x86-64, gcc -O2, default knobs; checked by make test-bounds (docs/realtime.md).
 */
MM_ATTR_NODISCARD MM_ATTR_ALLOC_SIZE(3) void *mm_heap_realloc(mm_heap_t heap, void *ptr, size_t size);

/*
 * Gives a block back. NULL is ignored. A pointer that is not a live block handed out by a class
 * (outside the classes, inside a block, never handed out, already free) is reported
 * (MM_ERR_INVALID_POINTER, MM_ERR_INTERIOR_POINTER, MM_ERR_DOUBLE_FREE) and refused; with
 * MM_FIXED_UNCHECKED a class block freed twice is not caught (the others still are with
 * MM_CHECKS >= 1); remainder blocks get mm_free's checks. O(1).
 * Worst case: at most 330 instructions with MM_CHECKS=1, 160 with MM_CHECKS=0, 340 with MM_CHECKS=2
 * (between its periodic validations); the whole call, x86-64, gcc -O2, default knobs; checked by
 * make test-bounds (docs/realtime.md).
 */
void mm_heap_free(mm_heap_t heap, void *ptr);

/* Usable bytes of a live block: its class's block size (MM_CHECKS=3: the size asked for), or
 * mm_block_size for the remainder. 0 for
 * NULL; 0, and reported as mm_heap_free would report it (a freed class block as MM_ERR_DOUBLE_FREE
 * in the checked mode), for a pointer that is not a live block. O(1). */
size_t mm_heap_block_size(mm_heap_t heap, void *ptr);

/* ---- Inspection ---------------------------------------------------------------------------------- */

typedef struct mm_heap_class_stats {
	size_t size;     /* usable bytes of a block */
	size_t capacity; /* blocks */
	size_t in_use;   /* blocks live now */
	size_t peak;     /* the most blocks ever live at once */
	uint64_t allocs; /* blocks handed out (its own requests and fallbacks from smaller classes) */
	uint64_t frees;
	uint64_t exhausted; /* requests that found the class empty: its own (then falling back, or
	                       failing), fallbacks from the class below, memalign and realloc moves */
} mm_heap_class_stats;

/* A heap's mm_stats (mm_get_stats): capacity, in_use and blocks add up the classes and the remainder;
 * peak_in_use adds up their peaks (an upper bound); failures counts requests answered NULL;
 * largest_free is a size whose request surely succeeds now (a class with room, or the remainder's
 * figure where the routing reaches it; 0: none): a smaller request may still find its own class
 * exhausted;
 * fragmentation is the remainder's. */

size_t mm_heap_class_count(mm_heap_t heap);
/* Statistics of class i (0 = smallest); 0 if there is no such class. O(1). */
int mm_heap_get_class_stats(mm_heap_t heap, size_t i, mm_heap_class_stats *out);
/* The remainder's TLSF instance (for mm_get_stats, mm_walk_pool ...), or NULL if there is none. */
mm_t mm_heap_remainder(mm_heap_t heap);

/* Every invariant of the classes and the remainder (mm_fixed_validate, mm_validate). 1 if valid. */
int mm_heap_validate(mm_heap_t heap);

/* ---- Configurations ------------------------------------------------------------------------------ */

/* These run at set-up, not on a real-time path: O(n^2) or so in their input, reentrant, no static
 * state; their work tables take about 5 KiB of stack. */

typedef enum mm_heap_preset_kind {
	MM_HEAP_PRESET_AUDIO,      /* audio processing: events, voice state, sample buffers, FFT frames */
	MM_HEAP_PRESET_ROBOTICS,   /* control loops: samples, joint states, poses, scans, trajectories */
	MM_HEAP_PRESET_NETWORKING, /* packet buffers from ACKs to jumbo frames, connection state */
	MM_HEAP_PRESET_EMBEDDED    /* a few KiB: four small classes and no remainder */
} mm_heap_preset_kind;

/*
 * Fills *out with the preset's classes, with counts scaled so that mm_heap_size(out) fits in
 * buffer_bytes, in the checked default mode (flags 0: the bitmaps are counted in). docs/realtime.md
 * gives each preset's reasoning. Returns 1, or 0 if out is NULL, the kind is unknown or buffer_bytes
 * is too small for one block of every class (mm_heap_preset_error says which).
 */
int mm_heap_preset(mm_heap_preset_kind kind, size_t buffer_bytes, mm_heap_config *out);

/* Why mm_heap_preset(kind, buffer_bytes, &cfg) fails: MM_OK (it succeeds), MM_ERR_BAD_ARGUMENT (an
 * unknown kind), MM_ERR_TOO_SMALL (buffer_bytes below the preset's smallest heap). */
mm_error_t mm_heap_preset_error(mm_heap_preset_kind kind, size_t buffer_bytes);

/* "At most count live blocks of at most size bytes", one line of a workload. */
typedef struct mm_heap_workload {
	size_t size;
	size_t count;
} mm_heap_workload;

/*
 * The guarantee. Fills *out with a configuration for the workload and returns the buffer size it
 * needs (0 if the workload is empty, has more than 128 lines, has a zero size or count, or does not
 * fit in size_t):
 *
 *   A heap made by mm_heap_create(buf, mm_heap_required_size(w, n, &cfg), &cfg) never returns NULL
 *   from mm_heap_malloc(h, s), whatever the order of calls, as long as at every moment the live
 *   blocks (including the one asked for) can be assigned to the workload's lines, each block to a
 *   line whose size is at least the block's, with at most `count` blocks on each line.
 *
 * How: one class per distinct size (merged to MM_HEAP_MAX_CLASSES by the least total bytes), no
 * fallback, no remainder; the class of size s_j holds as many blocks as all lines of size >= s_j
 * together, since a request that the smaller classes are too small for can only be on those lines.
 * (Without moving blocks, nothing less suffices for every order: a small block parked in a large
 * class can't be moved out of the way.) O(n^2 log n + n^2 MM_HEAP_MAX_CLASSES) to choose the merge.
 */
size_t mm_heap_required_size(const mm_heap_workload *w, size_t n, mm_heap_config *out);

/*
 * Proposes a configuration from expected request sizes and how many of each are live at most (an
 * estimate, not the guarantee above): sizes up to class_limit get classes (at most
 * MM_HEAP_MAX_CLASSES, merged by least waste), each with the count of its sizes; larger requests
 * get a remainder for their total plus a quarter; fallback LARGER | REMAINDER. Returns 1, or 0 if
 * the workload is empty, has more than 128 lines or a zero size, or its total does not fit in
 * size_t. class_limit 0 means 16384.
 */
int mm_heap_suggest_config(const mm_heap_workload *w, size_t n, size_t class_limit, mm_heap_config *out);

/*
 * The same from a recorded allocation trace (text, README "Traces"): lines "a <id> <size>" (an
 * allocation; id 0: one that failed), "f <id>" (a free), '#' comments, blank lines; ids in
 * hexadecimal (an optional 0x). A realloc is recorded as "f <old>" then "a <new> <size>".
 * The trace is replayed to measure the peak number of live blocks of each size (rounded up to
 * mm_align_size(); more than 128 distinct sizes are merged, least waste first, down to 128); classes
 * are chosen from those as mm_heap_suggest_config does; a second replay
 * measures each chosen class's own peak, which becomes its count, so the trace itself never finds a
 * class exhausted; the remainder gets the peak bytes of the larger requests, a quarter more, and
 * twice the largest of them (room against fragmentation: an estimate, not mm_heap_required_size's
 * guarantee).
 * scratch (aligned to sizeof(size_t)) holds the replay's tables: mm_heap_trace_scratch_size(max_live,
 * class_limit) bytes suffice for a trace with at most max_live blocks live at once.
 * Returns 1, or 0 for a malformed line (*error_line, if not NULL, gets its 1-based number), a free
 * of an id that is not live, a trace with no allocation, or scratch too small (*error_line 0).
 */
int mm_heap_suggest_from_trace(const char *trace, size_t length, size_t class_limit, void *scratch,
                               size_t scratch_bytes, mm_heap_config *out, size_t *error_line);
size_t mm_heap_trace_scratch_size(size_t max_live, size_t class_limit);

/*
 * Records a trace: installs hooks on an instance (mm_t, mm_fixed_t or mm_heap_t) that write the
 * lines above through write(user, text, length) as the program runs. No stdio, no allocation.
 * mm_set_hooks(instance, NULL, NULL, NULL) stops it.
 */
typedef void (*mm_trace_writer)(void *user, const char *text, size_t length);
void mm_trace_record(void *instance, mm_trace_writer write, void *user);

#ifdef __cplusplus
}
#endif

#endif /* MEMOMAN_HEAP_H */

// SPDX-License-Identifier: MIT
/*
 * memoman-trace - from a recorded allocation trace to a heap that serves it: reads a trace (the
 * text lines MEMOMAN_TRACE=<file> writes under libmemoman-malloc, or mm_trace_record under
 * libmemoman) and prints the request sizes, the peak of live bytes, the configuration
 * mm_heap_suggest_from_trace gives and the trace replayed on it, the buffer mm_heap_required_size
 * guarantees never to fail for the trace's per-size peaks and that replay too, and a C snippet of
 * the configuration to paste into firmware. `memoman-trace --help` is its manual.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* malloc_usable_size, for glibc's row of the fragmentation report */
#endif
#include <errno.h>
#include <malloc.h>
#include <inttypes.h>
#include <memoman.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "NAME\n"
    "    memoman-trace - turn a recorded allocation trace into a memoman heap configuration\n"
    "\n"
    "SYNOPSIS\n"
    "    memoman-trace [--class-limit BYTES] [--no-replay] [--no-frag] [--preset NAME]\n"
    "                  [--frag-csv FILE] [--frag-summary FILE] [--snippet] TRACE\n"
    "    memoman-trace --help\n"
    "\n"
    "DESCRIPTION\n"
    "    TRACE is a text file of one operation per line, as libmemoman-malloc writes it when a\n"
    "    program runs with MEMOMAN_TRACE=<file> (and mm_trace_record writes it for an instance):\n"
    "        a <id> <size>   an allocation; id in hexadecimal (0x optional), size in decimal;\n"
    "                        id 0 is an allocation that failed\n"
    "        f <id>          a free of a live id\n"
    "        # ...           a comment; blank lines are ignored\n"
    "    A realloc is 'f <old>' then 'a <new> <size>'. TRACE '-' is standard input.\n"
    "\n"
    "    memoman-trace prints:\n"
    "      - the operations, and the request sizes as a histogram by power of two;\n"
    "      - the peak of live bytes and of live blocks, and the line where each was reached;\n"
    "      - the configuration mm_heap_suggest_from_trace gives (classes up to --class-limit,\n"
    "        default 16384, each with the trace's own peak; a remainder for the rest), its\n"
    "        buffer size (mm_heap_size), and the trace replayed on such a heap: the allocations\n"
    "        that failed there (the suggestion is an estimate: the remainder can fragment);\n"
    "      - the guarantee: the workload of the trace's per-size peaks (sizes rounded up to\n"
    "        mm_align_size(), at most 128 lines), the buffer mm_heap_required_size gives for it,\n"
    "        which no order of those requests can make fail, and the trace replayed on it;\n"
    "      - the fragmentation report: the trace replayed on the TLSF core (on the smallest pool\n"
    "        that serves it, found by bisection), on the suggested heap, on a preset's heap over\n"
    "        the same buffer and on the C library's malloc: internal fragmentation (bytes held\n"
    "        by the live blocks over bytes asked) and external (1 - largest free block / free\n"
    "        bytes), p50, p95 and max over ~400 samples;\n"
    "      - the suggested configuration as C, to paste into firmware.\n"
    "\n"
    "OPTIONS\n"
    "    --class-limit BYTES  the largest request that gets a class in the suggestion\n"
    "    --no-replay          skip the two replays\n"
    "    --no-frag            skip the fragmentation report (its bisection replays the trace ~25 times)\n"
    "    --preset NAME        the preset of the report's heap-preset row: audio, robotics (default),\n"
    "                         networking, embedded\n"
    "    --frag-csv FILE      append the report's samples: trace,allocator,operation,internal,external\n"
    "    --frag-summary FILE  append its rows: trace,allocator,bytes,failed,internal p50,p95,max,\n"
    "                         external p50,p95,max (-1: not measured)\n"
    "    --snippet            print only the C snippet\n"
    "    --help               this text\n"
    "\n"
    "EXIT STATUS\n"
    "    0 on success; 1 for a trace that cannot be read (the message names the line: a malformed\n"
    "    line, a free of an id that is not live, an allocation of an id that is live, a number\n"
    "    out of range); 2 for a bad command line.\n"
    "\n"
    "EXAMPLE\n"
    "    MEMOMAN_TRACE=app.trace LD_PRELOAD=libmemoman-malloc.so ./app\n"
    "    memoman-trace app.trace\n";

/* ---- The trace ------------------------------------------------------------------------------------ */

typedef struct op {
	uint64_t id;
	size_t size; /* allocations */
	char kind;   /* 'a' or 'f' */
	size_t line;
} op;

static const char *trace_name;

static void die_line(size_t line, const char *what, uint64_t id)
{
	fprintf(stderr, "memoman-trace: %s:%zu: %s", trace_name, line, what);
	if (id)
		fprintf(stderr, " (id %" PRIx64 ")", id);
	fputc('\n', stderr);
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fprintf(stderr, "memoman-trace: out of memory\n");
		exit(1);
	}
	return p;
}

/* The whole input in memory, with a terminating NUL. */
static char *read_all(FILE *f, size_t *length)
{
	size_t cap = 1 << 20, n = 0;
	char *b = xmalloc(cap);
	for (;;) {
		if (cap - n < 2) {
			if (cap > SIZE_MAX / 2) {
				fprintf(stderr, "memoman-trace: %s: too large\n", trace_name);
				exit(1);
			}
			char *nb = realloc(b, cap *= 2);
			if (!nb) {
				fprintf(stderr, "memoman-trace: out of memory\n");
				exit(1);
			}
			b = nb;
		}
		size_t got = fread(b + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "memoman-trace: %s: %s\n", trace_name, strerror(errno));
		exit(1);
	}
	b[n] = 0;
	*length = n;
	return b;
}

static int skip_space(const char **p)
{
	const char *s = *p;
	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	int moved = s != *p;
	*p = s;
	return moved;
}

/* A number (hexadecimal ids, decimal sizes) that fits `max`; the line is named when it does not. */
static uint64_t number(const char **p, int hex, uint64_t max, size_t line)
{
	const char *s = *p;
	if (hex && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	uint64_t v = 0, base = hex ? 16 : 10;
	int digits = 0;
	for (;; s++, digits++) {
		int d = *s >= '0' && *s <= '9' ? *s - '0' : -1;
		if (hex && d < 0)
			d = *s >= 'a' && *s <= 'f' ? *s - 'a' + 10 : *s >= 'A' && *s <= 'F' ? *s - 'A' + 10 : -1;
		if (d < 0)
			break;
		if (v > (max - (uint64_t)d) / base)
			die_line(line, hex ? "id out of range" : "size out of range (above SIZE_MAX)", 0);
		v = v * base + (uint64_t)d;
	}
	if (!digits)
		die_line(line, hex ? "malformed line: an id expected" : "malformed line: a size expected", 0);
	*p = s;
	return v;
}

/* Parses every line into ops (comments and blank lines dropped). */
static op *parse(const char *text, size_t length, size_t *count)
{
	size_t cap = 1024, n = 0, line = 0;
	op *ops = xmalloc(cap * sizeof(op));
	for (const char *p = text, *end = text + length; p < end;) {
		line++;
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		if (memchr(p, 0, (size_t)(eol - p)))
			die_line(line, "malformed line: a NUL byte", 0);
		skip_space(&p);
		if (p < eol && *p != '#' && *p != '\n') {
			op o = {0, 0, *p++, line};
			if ((o.kind != 'a' && o.kind != 'f') || !skip_space(&p))
				die_line(line, "malformed line: 'a <id> <size>' or 'f <id>' expected", 0);
			o.id = number(&p, 1, UINT64_MAX, line);
			if (o.kind == 'a') {
				if (!skip_space(&p))
					die_line(line, "malformed line: a size expected after the id", 0);
				o.size = (size_t)number(&p, 0, SIZE_MAX, line);
			} else if (o.id == 0) {
				die_line(line, "a free of id 0", 0);
			}
			skip_space(&p);
			if (p != eol)
				die_line(line, "malformed line: unexpected text at its end", 0);
			if (n == cap) {
				op *no = realloc(ops, (cap *= 2) * sizeof(op));
				if (!no) {
					fprintf(stderr, "memoman-trace: out of memory\n");
					exit(1);
				}
				ops = no;
			}
			ops[n++] = o;
		}
		p = eol < end ? eol + 1 : end;
	}
	*count = n;
	return ops;
}

/* ---- Live blocks: id -> (size, replay pointer), open addressing -------------------------------------- */

typedef struct live {
	uint64_t id; /* 0: empty; UINT64_MAX: deleted (ids are addresses: never all ones) */
	size_t size;
	void *ptr;
} live;

typedef struct table {
	live *slot;
	size_t cap, used, tombs;
} table;

static uint64_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ull;
	x ^= x >> 27;
	x *= 0x81dadef4bc2dd44dull;
	return x ^ (x >> 33);
}

static live *find(table *t, uint64_t id, int insert)
{
	if (insert && (t->used + t->tombs + 1) * 4 > t->cap * 3) { /* grow (or clean) at 3/4 */
		table old = *t;
		t->cap = old.cap && old.used * 2 < old.cap ? old.cap : (old.cap ? old.cap * 2 : 1024);
		t->slot = calloc(t->cap, sizeof(live));
		if (!t->slot) {
			fprintf(stderr, "memoman-trace: out of memory\n");
			exit(1);
		}
		t->used = t->tombs = 0;
		for (size_t i = 0; i < old.cap; i++)
			if (old.slot[i].id && old.slot[i].id != UINT64_MAX)
				*find(t, old.slot[i].id, 1) = old.slot[i];
		free(old.slot);
	}
	if (!t->cap)
		return NULL;
	size_t mask = t->cap - 1;
	live *tomb = NULL;
	for (size_t i = (size_t)mix(id) & mask;; i = (i + 1) & mask) {
		live *e = &t->slot[i];
		if (e->id == id)
			return e;
		if (e->id == UINT64_MAX && !tomb)
			tomb = e;
		if (e->id == 0) {
			if (!insert)
				return NULL;
			if (tomb) {
				t->tombs--;
				e = tomb;
			}
			t->used++;
			e->id = id;
			return e;
		}
	}
}

static void forget(table *t, live *e)
{
	e->id = UINT64_MAX;
	t->used--;
	t->tombs++;
}

/* ---- What the trace asks for ----------------------------------------------------------------------- */

typedef struct size_peak {
	size_t size, live, peak;
} size_peak;

typedef struct summary {
	size_t allocs, frees, failed, zero;
	size_t hist[66]; /* [0]: size 0; [k]: 2^(k-2) < size <= 2^(k-1) */
	size_t live_bytes, peak_bytes, peak_bytes_line, live_blocks, peak_blocks, peak_blocks_line;
	size_t largest;
	size_peak *sizes; /* per size rounded up to mm_align_size(): live now and peak */
	size_t n_sizes;
} summary;

static int by_size(const void *a, const void *b)
{
	size_t x = ((const size_peak *)a)->size, y = ((const size_peak *)b)->size;
	return x < y ? -1 : x > y;
}

/* A size as the heap sees it: rounded up to mm_align_size() (0 to it: the smallest block). */
static size_t round_up(size_t n)
{
	size_t a = mm_align_size();
	return n == 0 ? a : n > SIZE_MAX - a ? SIZE_MAX : (n + a - 1) / a * a;
}

/* The histogram's bucket: 0 for size 0, 1 for 1, k for 2^(k-2) < size <= 2^(k-1). */
static size_t bucket(size_t size)
{
	if (size <= 1)
		return size;
	return 1 + (size_t)(64 - __builtin_clzll((unsigned long long)(size - 1)));
}

static void summarize(const op *ops, size_t n, summary *s)
{
	table t = {0}, sz = {0}; /* live ids; sizes (id = size + 1) -> index into s->sizes */
	size_t cap = 256;
	memset(s, 0, sizeof(*s));
	s->sizes = xmalloc(cap * sizeof(size_peak));
	for (size_t i = 0; i < n; i++) {
		const op *o = &ops[i];
		if (o->kind == 'a') {
			s->hist[bucket(o->size)]++;
			if (o->id == 0) {
				s->failed++;
				continue;
			}
			s->allocs++;
			s->zero += o->size == 0;
			live *e = find(&t, o->id, 0);
			if (e)
				die_line(o->line, "an allocation of an id that is live (no free since)", o->id);
			e = find(&t, o->id, 1);
			e->size = o->size;
			if (o->size > s->largest)
				s->largest = o->size;
			s->live_bytes += o->size; /* cannot wrap: the live sizes are addressable blocks */
			if (s->live_bytes < o->size)
				die_line(o->line, "live bytes above SIZE_MAX", 0);
			if (s->live_bytes > s->peak_bytes)
				s->peak_bytes = s->live_bytes, s->peak_bytes_line = o->line;
			if (++s->live_blocks > s->peak_blocks)
				s->peak_blocks = s->live_blocks, s->peak_blocks_line = o->line;
			size_t r = round_up(o->size);
			live *z = find(&sz, (uint64_t)r + 1, 0);
			if (!z) {
				if (s->n_sizes == cap) {
					size_peak *ns = realloc(s->sizes, (cap *= 2) * sizeof(size_peak));
					if (!ns) {
						fprintf(stderr, "memoman-trace: out of memory\n");
						exit(1);
					}
					s->sizes = ns;
				}
				z = find(&sz, (uint64_t)r + 1, 1);
				z->size = s->n_sizes;
				s->sizes[s->n_sizes++] = (size_peak){r, 0, 0};
			}
			size_peak *p = &s->sizes[z->size];
			if (++p->live > p->peak)
				p->peak = p->live;
		} else {
			live *e = find(&t, o->id, 0);
			if (!e)
				die_line(o->line, "a free of an id that is not live", o->id);
			s->frees++;
			s->live_bytes -= e->size;
			s->live_blocks--;
			s->sizes[find(&sz, (uint64_t)round_up(e->size) + 1, 0)->size].live--;
			forget(&t, e);
		}
	}
	free(t.slot);
	free(sz.slot);
	qsort(s->sizes, s->n_sizes, sizeof(size_peak), by_size);
}

/* The per-size peaks as at most 128 workload lines: while there are more, the neighbouring pair
 * whose merge (the smaller size's blocks counted at the larger size) adds the fewest bytes is merged.
 * A merged line's count is the sum of the peaks: at least the peak of the sum. */
static size_t workload_of(const summary *s, mm_heap_workload *w, size_t max)
{
	size_t m = 0;
	for (size_t i = 0; i < s->n_sizes; i++)
		w[m++] = (mm_heap_workload){s->sizes[i].size, s->sizes[i].peak};
	while (m > max) {
		size_t best = 0;
		long double best_cost = -1;
		for (size_t i = 0; i + 1 < m; i++) {
			long double c = (long double)w[i].count * (long double)(w[i + 1].size - w[i].size);
			if (best_cost < 0 || c < best_cost)
				best_cost = c, best = i;
		}
		w[best + 1].count += w[best].count;
		memmove(&w[best], &w[best + 1], (m - best - 1) * sizeof(*w));
		m--;
	}
	return m;
}

/* ---- Replays ------------------------------------------------------------------------------------- */

typedef struct replay_result {
	size_t failed, asked;
	int made; /* the heap could be created */
} replay_result;

static replay_result replay(const op *ops, size_t n, const mm_heap_config *cfg, size_t bytes)
{
	replay_result r = {0, 0, 0};
	void *buf = bytes ? malloc(bytes) : NULL;
	mm_heap_t h = buf ? mm_heap_create(buf, bytes, cfg) : NULL;
	if (!h) {
		free(buf);
		return r;
	}
	r.made = 1;
	table t = {0};
	for (size_t i = 0; i < n; i++) {
		const op *o = &ops[i];
		if (o->kind == 'a') {
			if (!o->id)
				continue; /* failed in the program too */
			r.asked++;
			void *p = mm_heap_malloc(h, o->size);
			if (!p)
				r.failed++;
			live *e = find(&t, o->id, 1);
			e->ptr = p;
		} else {
			live *e = find(&t, o->id, 0);
			if (e->ptr)
				mm_heap_free(h, e->ptr);
			forget(&t, e);
		}
	}
	free(t.slot);
	mm_heap_destroy(h);
	free(buf);
	return r;
}

/* ---- Fragmentation -------------------------------------------------------------------------------- */

/*
 * The trace replayed on one allocator, sampled about 400 times: internal fragmentation, the bytes
 * the live blocks hold (their usable size) over the bytes asked for them; external, 1 - the largest
 * free block over all free bytes (mm_get_stats: the TLSF core's, the heap remainder's), which says
 * how much of the free memory a large request cannot use. Each gives p50, p95 and max over the
 * samples.
 */
typedef struct frag_result {
	const char *name;
	size_t bytes, failed;
	double internal[3], external[3]; /* p50, p95, max; external < 0: not measured */
} frag_result;

/* The allocators of the report. With TRACE_PEERS (bench/CMakeLists.txt, a checkout the user gives),
 * TLSF 3.1 (its functions renamed conte_tlsf_*) and o1heap too. */
typedef enum { FRAG_TLSF, FRAG_HEAP, FRAG_GLIBC, FRAG_TLSF31, FRAG_O1HEAP } frag_kind;

#ifdef TRACE_PEERS
#include "o1heap.h"
void *conte_tlsf_create_with_pool(void *mem, size_t bytes);
void *conte_tlsf_malloc(void *t, size_t bytes);
void conte_tlsf_free(void *t, void *ptr);
size_t conte_tlsf_block_size(void *ptr);
void *conte_tlsf_get_pool(void *t);
void conte_tlsf_walk_pool(void *pool, void (*walker)(void *ptr, size_t size, int used, void *user), void *user);

typedef struct free_walk {
	size_t free, largest;
} free_walk;
static void walk_free(void *ptr, size_t size, int used, void *user)
{
	(void)ptr;
	free_walk *w = user;
	if (!used) {
		w->free += size;
		if (size > w->largest)
			w->largest = size;
	}
}
#endif

static void *fa_create(frag_kind kind, void *buf, size_t bytes, const mm_heap_config *cfg)
{
	switch (kind) {
	case FRAG_TLSF: return mm_create_with_pool(buf, bytes);
	case FRAG_HEAP: return mm_heap_create(buf, bytes, cfg);
#ifdef TRACE_PEERS
	case FRAG_TLSF31: return conte_tlsf_create_with_pool(buf, bytes);
	case FRAG_O1HEAP: return o1heapInit(buf, bytes);
#endif
	default: return NULL;
	}
}

static void *fa_malloc(frag_kind kind, void *inst, size_t n)
{
	switch (kind) {
	case FRAG_TLSF: return mm_malloc((mm_t)inst, n);
	case FRAG_HEAP: return mm_heap_malloc((mm_heap_t)inst, n);
#ifdef TRACE_PEERS
	case FRAG_TLSF31: return conte_tlsf_malloc(inst, n);
	case FRAG_O1HEAP: return o1heapAllocate(inst, n);
#endif
	default: return malloc(n);
	}
}

static void fa_free(frag_kind kind, void *inst, void *p)
{
	switch (kind) {
	case FRAG_TLSF: mm_free((mm_t)inst, p); break;
	case FRAG_HEAP: mm_heap_free((mm_heap_t)inst, p); break;
#ifdef TRACE_PEERS
	case FRAG_TLSF31: conte_tlsf_free(inst, p); break;
	case FRAG_O1HEAP: o1heapFree(inst, p); break;
#endif
	default: free(p); break;
	}
}

/* A live block's usable bytes (o1heap has no such call: its blocks are counted at sampling time). */
static size_t fa_usable(frag_kind kind, void *inst, void *p)
{
	switch (kind) {
	case FRAG_TLSF: return mm_block_size(p);
	case FRAG_HEAP: return mm_heap_block_size((mm_heap_t)inst, p);
#ifdef TRACE_PEERS
	case FRAG_TLSF31: return conte_tlsf_block_size(p);
#endif
	case FRAG_GLIBC: return malloc_usable_size(p);
	default: return 0;
	}
}

/* 1 - largest free / free, or -1 where the allocator cannot say. */
static double fa_external(frag_kind kind, void *inst)
{
	mm_stats st;
	switch (kind) {
	case FRAG_TLSF:
	case FRAG_HEAP: return mm_get_stats(inst, &st) ? st.fragmentation / 1000.0 : -1;
#ifdef TRACE_PEERS
	case FRAG_TLSF31: {
		free_walk w = {0, 0};
		conte_tlsf_walk_pool(conte_tlsf_get_pool(inst), walk_free, &w);
		return w.free ? 1.0 - (double)w.largest / (double)w.free : 0;
	}
#endif
	default: return -1;
	}
}

static int by_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void percentiles(double *v, size_t n, double out[3])
{
	if (!n) {
		out[0] = out[1] = out[2] = -1;
		return;
	}
	qsort(v, n, sizeof(double), by_double);
	out[0] = v[(n - 1) / 2];
	out[1] = v[(size_t)((double)(n - 1) * 0.95)];
	out[2] = v[n - 1];
}

/* One replay: on an instance of `kind` in a buffer of `bytes` (glibc: its own memory). Returns the
 * allocations that failed (SIZE_MAX: the instance could not be made); with res, the samples too (and
 * to csv if given); without, it stops at the first failure (a size search needs no more). */
static size_t frag_replay(const op *ops, size_t n, frag_kind kind, const mm_heap_config *cfg, size_t bytes,
                          frag_result *res, FILE *csv)
{
	void *buf = NULL, *inst = NULL;
	if (kind != FRAG_GLIBC) {
		buf = aligned_alloc(64, (bytes + 63) / 64 * 64); /* o1heap wants its arena aligned */
		inst = buf ? fa_create(kind, buf, bytes, cfg) : NULL;
		if (!inst) {
			free(buf);
			return SIZE_MAX;
		}
	}
	size_t step = n / 400 + 1, samples = 0, failed = 0, blocks = 0;
	double *in = res ? xmalloc((n / step + 2) * sizeof(double)) : NULL;
	double *ex = res ? xmalloc((n / step + 2) * sizeof(double)) : NULL;
	size_t asked = 0, held = 0;
	table t = {0};
	for (size_t i = 0; i < n; i++) {
		const op *o = &ops[i];
		if (o->kind == 'a' && o->id) {
			void *p = fa_malloc(kind, inst, o->size);
			live *e = find(&t, o->id, 1);
			e->ptr = p;
			e->size = o->size;
			if (!p) {
				failed++;
				if (!res)
					break;
				continue;
			}
			asked += o->size;
			held += fa_usable(kind, inst, p);
			blocks++;
		} else if (o->kind == 'f') {
			live *e = find(&t, o->id, 0);
			void *p = e->ptr;
			if (p) {
				asked -= e->size;
				held -= fa_usable(kind, inst, p);
				blocks--;
				fa_free(kind, inst, p);
			}
			forget(&t, e);
		}
		if (res && i % step == 0 && asked) {
			size_t h = held;
#ifdef TRACE_PEERS
			if (kind == FRAG_O1HEAP) /* its fragments, less each one's header */
				h = o1heapGetDiagnostics(inst).allocated - blocks * O1HEAP_ALIGNMENT;
#endif
			in[samples] = (double)h / (double)asked;
			ex[samples] = fa_external(kind, inst);
			if (csv)
				fprintf(csv, "%s,%s,%zu,%.4f,%.4f\n", trace_name, res->name, i, in[samples],
				        ex[samples]);
			samples++;
		}
	}
	if (kind == FRAG_GLIBC) /* what the replay left live */
		for (size_t i = 0; i < t.cap; i++)
			if (t.slot[i].id && t.slot[i].id != UINT64_MAX)
				free(t.slot[i].ptr);
	free(t.slot);
	if (res) {
		res->failed = failed;
		res->bytes = bytes;
		percentiles(in, samples, res->internal);
		percentiles(ex, samples && ex[0] >= 0 ? samples : 0, res->external);
		free(in);
		free(ex);
	}
	free(buf);
	return failed;
}

/* The smallest pool (to 64 bytes) of `kind` that serves the whole trace: a bisection. */
static size_t smallest_pool(const op *ops, size_t n, size_t peak, frag_kind kind)
{
	size_t hi = peak + peak / 2 + 65536, lo = 0;
	while (frag_replay(ops, n, kind, NULL, hi, NULL, NULL) != 0) {
		if (hi > SIZE_MAX / 4)
			return 0;
		lo = hi;
		hi *= 2;
	}
	while (hi - lo > 64) {
		size_t mid = lo + (hi - lo) / 2;
		if (frag_replay(ops, n, kind, NULL, mid, NULL, NULL) == 0)
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

static void print_frag(const frag_result *r, FILE *rows)
{
	printf("  %-15s %12zu %7zu   %6.3f %6.3f %6.3f", r->name, r->bytes, r->failed, r->internal[0], r->internal[1],
	       r->internal[2]);
	if (r->external[0] < 0)
		printf("        -      -      -\n");
	else
		printf("   %6.3f %6.3f %6.3f\n", r->external[0], r->external[1], r->external[2]);
	if (rows)
		fprintf(rows, "%s,%s,%zu,%zu,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f\n", trace_name, r->name, r->bytes, r->failed,
		        r->internal[0], r->internal[1], r->internal[2], r->external[0], r->external[1], r->external[2]);
}

static void frag_report(const op *ops, size_t n, const summary *s, const mm_heap_config *sug, size_t sug_bytes,
                        mm_heap_preset_kind preset, FILE *csv, FILE *rows)
{
	printf("\nfragmentation (the trace replayed; internal: bytes held / bytes asked by the live blocks;\n"
	       "external: 1 - largest free / free; p50 / p95 / max of ~400 samples):\n");
	printf("  %-15s %12s %7s   %-20s   %-20s\n", "allocator", "bytes", "failed", "internal", "external");
	static const struct {
		const char *name;
		frag_kind kind;
	} pools[] = {
	    {"tlsf-smallest", FRAG_TLSF},
#ifdef TRACE_PEERS
	    {"tlsf31-smallest", FRAG_TLSF31},
	    {"o1heap-smallest", FRAG_O1HEAP},
#endif
	};
	frag_result r;
	for (size_t k = 0; k < sizeof(pools) / sizeof(pools[0]); k++) {
		size_t pool = smallest_pool(ops, n, s->peak_bytes, pools[k].kind);
		r = (frag_result){pools[k].name, 0, 0, {0}, {0}};
		if (pool && frag_replay(ops, n, pools[k].kind, NULL, pool, &r, csv) != SIZE_MAX)
			print_frag(&r, rows);
	}
	r = (frag_result){"heap-suggested", 0, 0, {0}, {0}};
	if (frag_replay(ops, n, FRAG_HEAP, sug, sug_bytes, &r, csv) != SIZE_MAX)
		print_frag(&r, rows);
	mm_heap_config pc;
	if (mm_heap_preset(preset, sug_bytes, &pc)) {
		r = (frag_result){"heap-preset", 0, 0, {0}, {0}};
		if (frag_replay(ops, n, FRAG_HEAP, &pc, sug_bytes, &r, csv) != SIZE_MAX)
			print_frag(&r, rows);
	}
	r = (frag_result){"glibc", 0, 0, {0}, {0}};
	frag_replay(ops, n, FRAG_GLIBC, NULL, 0, &r, csv);
	print_frag(&r, rows);
	printf("  (*-smallest: on the smallest pool that serves the whole trace (tlsf: memoman's TLSF core);\n"
	       "   heap-preset: the preset's classes over the suggested heap's buffer; glibc: its own memory,\n"
	       "   internal only)\n");
}

/* ---- Output ---------------------------------------------------------------------------------------- */

static void print_config(const mm_heap_config *c, size_t bytes)
{
	for (size_t i = 0; i < c->n_classes; i++)
		printf("    class %2zu: %8zu bytes x %zu\n", i, c->classes[i].size, c->classes[i].count);
	printf("    remainder: %zu bytes (the largest request it must serve when empty)\n", c->remainder);
	printf("    fallback: %s\n", c->fallback == (MM_HEAP_FALLBACK_LARGER | MM_HEAP_FALLBACK_REMAINDER)
	                                 ? "MM_HEAP_FALLBACK_LARGER | MM_HEAP_FALLBACK_REMAINDER"
	                             : c->fallback == MM_HEAP_FALLBACK_LARGER    ? "MM_HEAP_FALLBACK_LARGER"
	                             : c->fallback == MM_HEAP_FALLBACK_REMAINDER ? "MM_HEAP_FALLBACK_REMAINDER"
	                                                                         : "none");
	printf("    buffer (mm_heap_size): %zu bytes\n", bytes);
}

static void print_replay(const char *what, replay_result r)
{
	if (!r.made)
		printf("  replay on %s: the heap could not be made (the buffer could not be allocated here)\n", what);
	else
		printf("  replay on %s: %zu allocations, %zu failed\n", what, r.asked, r.failed);
}

static void print_snippet(const mm_heap_config *c, size_t bytes, const char *trace)
{
	printf("/* memoman-trace %s: mm_heap_suggest_from_trace's configuration. */\n", trace);
	printf("static const mm_heap_config heap_config = {\n");
	printf("    .n_classes = %zu,\n    .classes = {", c->n_classes);
	for (size_t i = 0; i < c->n_classes; i++)
		printf("%s{%zu, %zu}", i ? (i % 4 ? ", " : ",\n                ") : "", c->classes[i].size,
		       c->classes[i].count);
	printf("},\n    .remainder = %zu,\n", c->remainder);
	printf("    .fallback = %s,\n", c->fallback == 3   ? "MM_HEAP_FALLBACK_LARGER | MM_HEAP_FALLBACK_REMAINDER"
	                                : c->fallback == 1 ? "MM_HEAP_FALLBACK_LARGER"
	                                : c->fallback == 2 ? "MM_HEAP_FALLBACK_REMAINDER"
	                                                   : "0");
	printf("};\n");
	printf("/* mm_heap_size(&heap_config) is %zu on the machine that ran memoman-trace; check it on the\n"
	       " * target, whose alignment and word size may differ. */\n",
	       bytes);
	printf("static _Alignas(16) unsigned char heap_buffer[%zu];\n", bytes);
	printf("/* mm_heap_t heap = mm_heap_create(heap_buffer, sizeof(heap_buffer), &heap_config); */\n");
}

int main(int argc, char **argv)
{
	size_t class_limit = 16384;
	int do_replay = 1, snippet_only = 0, do_frag = 1;
	mm_heap_preset_kind preset = MM_HEAP_PRESET_ROBOTICS;
	const char *path = NULL, *csv_path = NULL, *summary_path = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return 0;
		} else if (strcmp(argv[i], "--class-limit") == 0 && i + 1 < argc) {
			char *e;
			errno = 0;
			unsigned long long v = strtoull(argv[++i], &e, 10);
			if (*e || errno || v == 0 || v > (1u << 30)) {
				fprintf(stderr, "memoman-trace: --class-limit wants a number of bytes (1 to 2^30)\n");
				return 2;
			}
			class_limit = (size_t)v;
		} else if (strcmp(argv[i], "--no-replay") == 0) {
			do_replay = 0;
		} else if (strcmp(argv[i], "--no-frag") == 0) {
			do_frag = 0;
		} else if (strcmp(argv[i], "--frag-csv") == 0 && i + 1 < argc) {
			csv_path = argv[++i];
		} else if (strcmp(argv[i], "--frag-summary") == 0 && i + 1 < argc) {
			summary_path = argv[++i];
		} else if (strcmp(argv[i], "--preset") == 0 && i + 1 < argc) {
			static const char *const names[] = {"audio", "robotics", "networking", "embedded"};
			static const mm_heap_preset_kind kinds[] = {MM_HEAP_PRESET_AUDIO, MM_HEAP_PRESET_ROBOTICS,
			                                            MM_HEAP_PRESET_NETWORKING, MM_HEAP_PRESET_EMBEDDED};
			size_t k = 0;
			while (k < 4 && strcmp(argv[i + 1], names[k]) != 0)
				k++;
			if (k == 4) {
				fprintf(stderr, "memoman-trace: --preset: audio, robotics, networking or embedded\n");
				return 2;
			}
			preset = kinds[k];
			i++;
		} else if (strcmp(argv[i], "--snippet") == 0) {
			snippet_only = 1;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "memoman-trace: unknown option %s (see --help)\n", argv[i]);
			return 2;
		} else if (!path) {
			path = argv[i];
		} else {
			fprintf(stderr, "memoman-trace: one trace at a time (see --help)\n");
			return 2;
		}
	}
	if (!path) {
		fputs(usage, stderr);
		return 2;
	}
	trace_name = strcmp(path, "-") == 0 ? "(standard input)" : path;
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "memoman-trace: %s: %s\n", path, strerror(errno));
		return 1;
	}
	size_t length, n;
	char *text = read_all(f, &length);
	if (f != stdin)
		fclose(f);
	op *ops = parse(text, length, &n);
	summary s;
	summarize(ops, n, &s);
	if (!s.allocs) {
		fprintf(stderr, "memoman-trace: %s: no allocation in the trace\n", trace_name);
		return 1;
	}

	/* The suggestion, through the library's own reader of the same text. */
	mm_heap_config sug;
	size_t scratch_bytes = mm_heap_trace_scratch_size(s.peak_blocks + 1, class_limit), err_line = 0;
	void *scratch = scratch_bytes ? xmalloc(scratch_bytes) : NULL;
	if (!scratch ||
	    !mm_heap_suggest_from_trace(text, length, class_limit, scratch, scratch_bytes, &sug, &err_line)) {
		fprintf(stderr, "memoman-trace: %s:%zu: mm_heap_suggest_from_trace refused the trace\n", trace_name,
		        err_line);
		return 1;
	}
	free(scratch);
	size_t sug_bytes = mm_heap_size(&sug);

	if (snippet_only) {
		print_snippet(&sug, sug_bytes, trace_name);
		return 0;
	}
	printf("trace %s: %zu lines of operations\n", trace_name, n);
	printf("  allocations %zu (of them size 0: %zu), frees %zu, failed in the program %zu, live at the end %zu\n",
	       s.allocs, s.zero, s.frees, s.failed, s.live_blocks);
	printf("  peak live bytes %zu (line %zu); peak live blocks %zu (line %zu); largest request %zu\n", s.peak_bytes,
	       s.peak_bytes_line, s.peak_blocks, s.peak_blocks_line, s.largest);
	printf("\nrequest sizes (all allocations, failed ones too):\n");
	size_t total = s.allocs + s.failed;
	for (size_t k = 0; k < 66; k++) {
		if (!s.hist[k])
			continue;
		char range[64];
		if (k == 0)
			snprintf(range, sizeof(range), "0");
		else if (k == 1)
			snprintf(range, sizeof(range), "1");
		else
			snprintf(range, sizeof(range), "%zu..%zu", ((size_t)1 << (k - 2)) + 1,
			         k - 1 < sizeof(size_t) * 8 ? (size_t)1 << (k - 1) : SIZE_MAX);
		int bar = (int)(50.0 * (double)s.hist[k] / (double)total + 0.5);
		printf("  %24s %10zu %5.1f%% %.*s\n", range, s.hist[k], 100.0 * (double)s.hist[k] / (double)total, bar,
		       "##################################################");
	}

	printf("\nsuggested (mm_heap_suggest_from_trace, class limit %zu):\n", class_limit);
	print_config(&sug, sug_bytes);

	mm_heap_workload *w = xmalloc((s.n_sizes + 1) * sizeof(*w));
	size_t m = workload_of(&s, w, 128);
	mm_heap_config req;
	size_t req_bytes = mm_heap_required_size(w, m, &req);
	printf("\nguaranteed (mm_heap_required_size for the per-size peaks, %zu workload lines from %zu sizes):\n", m,
	       s.n_sizes);
	if (req_bytes)
		printf("    buffer: %zu bytes, %zu classes, no remainder: no order of these requests fails\n",
		       req_bytes, req.n_classes);
	else
		printf("    none: the workload does not fit in size_t\n");

	if (do_replay) {
		printf("\n");
		print_replay("the suggested heap", replay(ops, n, &sug, sug_bytes));
		if (req_bytes)
			print_replay("the guaranteed heap", replay(ops, n, &req, req_bytes));
	}
	if (do_frag) {
		FILE *csv = csv_path ? fopen(csv_path, "a") : NULL,
		     *sum = summary_path ? fopen(summary_path, "a") : NULL;
		if ((csv_path && !csv) || (summary_path && !sum)) {
			fprintf(stderr, "memoman-trace: cannot write %s\n", csv_path && !csv ? csv_path : summary_path);
			return 1;
		}
		frag_report(ops, n, &s, &sug, sug_bytes, preset, csv, sum);
		if (csv)
			fclose(csv);
		if (sum)
			fclose(sum);
	}
	printf("\n");
	print_snippet(&sug, sug_bytes, trace_name);
	free(w);
	free(ops);
	free(text);
	free(s.sizes);
	return 0;
}

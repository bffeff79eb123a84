// SPDX-License-Identifier: MIT
/*
 * heap_config.c - choosing a heap's configuration: the presets, the sizing guarantee
 * (mm_heap_required_size), suggestions from a workload or a recorded trace, and trace recording.
 *
 * None of this is on a real-time path: it runs at set-up, in O(n^2)-ish time over small inputs. It
 * still makes no system call and allocates nothing: what it needs beyond the stack is the caller's
 * scratch memory.
 */
#include <string.h>

#include "observe.h"

#define ALIGN_UP(x) (((x) + MM_ALIGNMENT - 1) & ~((size_t)MM_ALIGNMENT - 1))

/* ---- Presets -------------------------------------------------------------------------------------- */

typedef struct preset_class {
	size_t size;
	unsigned weight; /* share of the class budget, in percent */
} preset_class;

typedef struct preset {
	unsigned n;
	preset_class classes[8];
	unsigned remainder; /* share of the whole budget for the remainder, in percent */
	unsigned fallback;
} preset;

/*
 * The reasoning behind each preset is in README.md ("Presets"). In brief:
 * audio: 48 kHz, callbacks of 64..1024 frames of 32-bit float: events, voice state and 64-frame
 *        buffers, 256-frame buffers, 1024-frame mono / 512-frame stereo, 1024-point complex FFT
 *        frames; the remainder for plug-in state and odd sizes.
 * robotics: 100 Hz..1 kHz control loops: IMU samples and commands, a 7-joint arm's joint state,
 *        poses with covariance, trajectory segments, 2-D laser scans; the remainder for point
 *        clouds, maps and plans.
 * networking: descriptors and ACKs, small datagrams, connection state, Ethernet frames with
 *        headroom, jumbo frames; a small remainder.
 * embedded: four small classes and no remainder (a TLSF control alone is 3 KiB on 32-bit).
 */
static const preset presets[] = {
    [MM_HEAP_PRESET_AUDIO] = {5,
                              {{64, 10}, {256, 20}, {1024, 25}, {4096, 25}, {8192, 20}},
                              20,
                              MM_HEAP_FALLBACK_LARGER | MM_HEAP_FALLBACK_REMAINDER},
    [MM_HEAP_PRESET_ROBOTICS] = {5,
                                 {{64, 20}, {192, 20}, {512, 20}, {2048, 20}, {8192, 20}},
                                 25,
                                 MM_HEAP_FALLBACK_LARGER | MM_HEAP_FALLBACK_REMAINDER},
    [MM_HEAP_PRESET_NETWORKING] = {5,
                                   {{128, 20}, {256, 10}, {512, 10}, {2048, 50}, {9216, 10}},
                                   10,
                                   MM_HEAP_FALLBACK_LARGER | MM_HEAP_FALLBACK_REMAINDER},
    [MM_HEAP_PRESET_EMBEDDED] = {4, {{16, 25}, {32, 25}, {64, 25}, {128, 25}}, 0, MM_HEAP_FALLBACK_LARGER},
};

static int fit_preset(mm_heap_config *cc, const preset *p, size_t buffer_bytes);

int mm_heap_preset(mm_heap_preset_kind kind, size_t buffer_bytes, mm_heap_config *out)
{
	if ((unsigned)kind >= sizeof(presets) / sizeof(presets[0]) || !out)
		return 0;
	const preset *p = &presets[kind];
	if (p->n == 0)
		return 0;
	mm_heap_config c;
	memset(&c, 0, sizeof(c));
	c.n_classes = p->n;
	c.fallback = p->fallback;
	for (unsigned i = 0; i < p->n; i++) {
		c.classes[i].size = p->classes[i].size;
		c.classes[i].count = 1;
	}
	/* What one block of each class and the fixed parts take; the rest is shared out by weight. */
	c.remainder = p->remainder ? MM_ALIGNMENT : 0;
	size_t base = mm_heap_size(&c);
	if (!base || base > buffer_bytes)
		return 0;
	size_t budget = buffer_bytes - base;
	size_t rest = budget / 100 * p->remainder;
	if (p->remainder)
		c.remainder += rest;
	size_t for_classes = budget - rest;
	for (unsigned i = 0; i < p->n; i++) {
		size_t stride = ALIGN_UP(p->classes[i].size);
		c.classes[i].count = 1 + for_classes / 100 * p->classes[i].weight / stride;
	}
	/* The maps and bitmaps grow with the counts: trim until it fits (a few percent at most); then
	 * what the rounding left goes to the remainder or, without one, to the smallest class. */
	for (int round = 0; round < 3; round++) {
		if (!fit_preset(&c, p, buffer_bytes))
			return 0;
		size_t left = buffer_bytes - mm_heap_size(&c);
		if (p->remainder)
			c.remainder += left;
		else if (c.classes[0].size)
			c.classes[0].count += left / ALIGN_UP(c.classes[0].size);
	}
	if (!fit_preset(&c, p, buffer_bytes))
		return 0;
	*out = c;
	return 1;
}

mm_error_t mm_heap_preset_error(mm_heap_preset_kind kind, size_t buffer_bytes)
{
	if ((unsigned)kind >= sizeof(presets) / sizeof(presets[0]) || presets[kind].n == 0)
		return MM_ERR_BAD_ARGUMENT;
	mm_heap_config c;
	return mm_heap_preset(kind, buffer_bytes, &c) ? MM_OK : MM_ERR_TOO_SMALL;
}

/* Trims counts (then the remainder) until the configuration fits. 0 if it cannot. */
static int fit_preset(mm_heap_config *cc, const preset *p, size_t buffer_bytes)
{
	mm_heap_config c = *cc;
	while (mm_heap_size(&c) > buffer_bytes) {
		size_t over = mm_heap_size(&c) - buffer_bytes;
		int changed = 0;
		for (unsigned i = 0; i < p->n && over; i++) {
			size_t stride = ALIGN_UP(c.classes[i].size);
			if (!stride)
				return 0;
			size_t cut = over / stride / p->n + 1;
			if (c.classes[i].count > cut) {
				c.classes[i].count -= cut;
				changed = 1;
			}
		}
		if (!changed) {
			if (c.remainder > MM_ALIGNMENT + over)
				c.remainder -= over;
			else
				return 0;
		}
	}
	*cc = c;
	return 1;
}

/* ---- Choosing classes: an optimal merge of sorted sizes into at most MM_HEAP_MAX_CLASSES ---------- */

/* Distinct rounded sizes a configuration is chosen from: a workload may have this many lines, and a
 * trace's sizes are merged down to this many. The work tables live on the stack (about 5 KiB), so
 * that these functions are reentrant and keep no state. */
#define MAX_LINES 128

typedef struct size_line {
	size_t size;  /* rounded up to MM_ALIGNMENT */
	size_t count; /* blocks of this size */
} size_line;

/*
 * Groups lines[0..m) (sizes increasing, m <= MAX_LINES) into at most MM_HEAP_MAX_CLASSES consecutive
 * groups. A group becomes a class of its largest size. cost(first, last) is the bytes the group
 * costs; the grouping with the least total is chosen by dynamic programming, O(m^2 * K). Writes the
 * classes' sizes and returns their number (0 if a cost overflows).
 */
typedef size_t (*group_cost)(const size_line *lines, size_t m, size_t first, size_t last);

static size_t choose_classes(const size_line *lines, size_t m, group_cost cost, size_t *class_size, size_t *class_first)
{
	enum { K = MM_HEAP_MAX_CLASSES };
	_Static_assert(MAX_LINES <= 255, "from[] holds a line index in a byte");
	const size_t NONE = SIZE_MAX;
	/* prev[j], cur[j]: the least cost of lines[0..j) in k - 1 and k groups; at_m[k]: of all m lines in
	 * k groups; from[k][j]: where the last of k groups starts. */
	size_t prev[MAX_LINES + 1], cur[MAX_LINES + 1], at_m[K + 1];
	uint8_t from[K + 1][MAX_LINES + 1];
	if (m == 0 || m > MAX_LINES)
		return 0;
	size_t groups = m < K ? m : K;
	for (size_t j = 0; j <= m; j++)
		prev[j] = NONE;
	prev[0] = 0;
	for (size_t k = 1; k <= groups; k++) {
		for (size_t j = 0; j <= m; j++)
			cur[j] = NONE;
		for (size_t j = k; j <= m; j++) {
			for (size_t i = k - 1; i < j; i++) {
				if (prev[i] == NONE)
					continue;
				size_t g = cost(lines, m, i, j - 1);
				if (g == NONE || g > NONE - 1 - prev[i])
					continue;
				if (prev[i] + g < cur[j]) {
					cur[j] = prev[i] + g;
					from[k][j] = (uint8_t)i;
				}
			}
		}
		at_m[k] = cur[m];
		memcpy(prev, cur, sizeof(prev));
	}
	size_t k_best = 0;
	for (size_t k = 1; k <= groups; k++)
		if (at_m[k] != NONE && (k_best == 0 || at_m[k] < at_m[k_best]))
			k_best = k;
	if (!k_best)
		return 0;
	for (size_t k = k_best, j = m; k > 0; k--) {
		size_t i = from[k][j];
		class_size[k - 1] = lines[j - 1].size;
		if (class_first)
			class_first[k - 1] = i;
		j = i;
	}
	return k_best;
}

/* Sorts lines by size and merges equal sizes (adding their counts); returns how many remain, or 0 if
 * a count overflows. Insertion sort: these lists are short and come from configuration code. */
static size_t sort_lines(size_line *lines, size_t m)
{
	for (size_t i = 1; i < m; i++) {
		size_line x = lines[i];
		size_t j = i;
		for (; j > 0 && lines[j - 1].size > x.size; j--)
			lines[j] = lines[j - 1];
		lines[j] = x;
	}
	size_t out = 0;
	for (size_t i = 0; i < m; i++) {
		if (out && lines[out - 1].size == lines[i].size) {
			if (lines[i].count > SIZE_MAX - lines[out - 1].count)
				return 0;
			lines[out - 1].count += lines[i].count;
		} else {
			lines[out++] = lines[i];
		}
	}
	return out;
}

/* ---- The guarantee -------------------------------------------------------------------------------- */

/* Blocks a group's class needs for the guarantee: every line from the group's first size up. */
static size_t suffix_count(const size_line *lines, size_t m, size_t first)
{
	size_t n = 0;
	for (size_t i = first; i < m; i++) {
		if (lines[i].count > SIZE_MAX - n)
			return SIZE_MAX;
		n += lines[i].count;
	}
	return n;
}

static size_t guarantee_cost(const size_line *lines, size_t m, size_t first, size_t last)
{
	size_t n = suffix_count(lines, m, first);
	size_t stride = lines[last].size;
	return n == SIZE_MAX || n > SIZE_MAX / 4 / stride ? SIZE_MAX : n * stride;
}

size_t mm_heap_required_size(const mm_heap_workload *w, size_t n, mm_heap_config *out)
{
	size_line lines[MAX_LINES];
	if (!w || !out || n == 0 || n > MAX_LINES)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (w[i].size == 0 || w[i].count == 0 || w[i].size > SIZE_MAX / 4)
			return 0;
		lines[i].size = ALIGN_UP(w[i].size);
		lines[i].count = w[i].count;
	}
	size_t m = sort_lines(lines, n);
	size_t sizes[MM_HEAP_MAX_CLASSES], firsts[MM_HEAP_MAX_CLASSES];
	size_t k = m ? choose_classes(lines, m, guarantee_cost, sizes, firsts) : 0;
	if (!k)
		return 0;
	mm_heap_config c;
	memset(&c, 0, sizeof(c));
	c.n_classes = k;
	for (size_t i = 0; i < k; i++) {
		c.classes[i].size = sizes[i];
		c.classes[i].count = suffix_count(lines, m, firsts[i]);
	}
	c.fallback = MM_HEAP_FALLBACK_NONE;
	size_t bytes = mm_heap_size(&c);
	if (bytes)
		*out = c;
	return bytes;
}

/* ---- Suggestions ---------------------------------------------------------------------------------- */

/* A group's cost for a suggestion: the memory its blocks waste to rounding up to the class size,
 * plus what the class itself costs in metadata (a little, so that needless classes are avoided). */
static size_t waste_cost(const size_line *lines, size_t m, size_t first, size_t last)
{
	(void)m;
	size_t waste = 256; /* a class's own overhead: its pool control and map entries */
	for (size_t i = first; i <= last; i++) {
		size_t d = (lines[last].size - lines[i].size) * lines[i].count;
		if (d > SIZE_MAX / 4 - waste)
			return SIZE_MAX;
		waste += d;
	}
	return waste;
}

/* Fills the classes of *c from lines (sizes up to the class limit): the least-waste merge, each
 * class with the count of its sizes. Returns 0 on overflow. */
static int fill_classes(mm_heap_config *c, const size_line *lines, size_t m)
{
	size_t sizes[MM_HEAP_MAX_CLASSES], firsts[MM_HEAP_MAX_CLASSES];
	size_t k = m ? choose_classes(lines, m, waste_cost, sizes, firsts) : 0;
	if (m && !k)
		return 0;
	c->n_classes = k;
	for (size_t i = 0; i < k; i++) {
		size_t end = i + 1 < k ? firsts[i + 1] : m, n = 0;
		for (size_t j = firsts[i]; j < end; j++)
			n += lines[j].count;
		c->classes[i].size = sizes[i];
		c->classes[i].count = n;
	}
	return 1;
}

int mm_heap_suggest_config(const mm_heap_workload *w, size_t n, size_t class_limit, mm_heap_config *out)
{
	size_line lines[MAX_LINES];
	if (!w || !out || n == 0 || n > MAX_LINES)
		return 0;
	if (class_limit == 0)
		class_limit = 16384;
	mm_heap_config c;
	memset(&c, 0, sizeof(c));
	size_t m = 0, large = 0;
	for (size_t i = 0; i < n; i++) {
		if (w[i].size == 0 || w[i].size > SIZE_MAX / 8 || w[i].count > SIZE_MAX / 8 / (w[i].size + 64))
			return 0;
		if (w[i].size <= class_limit) {
			lines[m].size = ALIGN_UP(w[i].size);
			lines[m++].count = w[i].count;
		} else {
			size_t bytes = w[i].count * (ALIGN_UP(w[i].size) + mm_alloc_overhead()); /* < SIZE_MAX / 8 */
			if (bytes > SIZE_MAX / 8 - large)
				return 0; /* the large requests' total does not fit */
			large += bytes;
		}
	}
	m = sort_lines(lines, m);
	if (!fill_classes(&c, lines, m))
		return 0;
	c.remainder = large ? large + large / 4 : 0;
	c.fallback = MM_HEAP_FALLBACK_LARGER | (large ? MM_HEAP_FALLBACK_REMAINDER : 0);
	if (!mm_heap_size(&c))
		return 0;
	*out = c;
	return 1;
}

/* ---- Traces --------------------------------------------------------------------------------------- */

typedef struct live_entry {
	mm_u64 id; /* 0: empty; ~0: deleted. Word-aligned (common.h): scratch need only be aligned to a word */
	size_t size;
} live_entry;

#define DELETED (~(uint64_t)0)

typedef struct trace_tables {
	live_entry *live;
	size_t slots;                      /* a power of two */
	size_t *bucket_live, *bucket_peak; /* per rounded size up to the class limit */
	size_t buckets;
} trace_tables;

static size_t table_slots(size_t max_live)
{
	size_t slots = 16;
	while (slots < 2 * max_live && slots < SIZE_MAX / 4)
		slots *= 2;
	return slots;
}

size_t mm_heap_trace_scratch_size(size_t max_live, size_t class_limit)
{
	if (class_limit == 0)
		class_limit = 16384;
	if (max_live > SIZE_MAX / 64 || class_limit > SIZE_MAX / 64)
		return 0;
	size_t buckets = class_limit / MM_ALIGNMENT + 2;
	return table_slots(max_live) * sizeof(live_entry) + 2 * buckets * sizeof(size_t);
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xFF51AFD7ED558CCDull;
	x ^= x >> 33;
	return x;
}

/* The slot of id, or of the first free slot on its probe sequence (insert = 1). NULL if full. */
static live_entry *slot_of(trace_tables *t, uint64_t id, int insert)
{
	size_t mask = t->slots - 1;
	live_entry *tomb = NULL;
	for (size_t i = 0, at = (size_t)mix(id) & mask; i < t->slots; i++, at = (at + 1) & mask) {
		live_entry *e = &t->live[at];
		if (e->id == id)
			return e;
		if (e->id == DELETED && !tomb)
			tomb = e;
		if (e->id == 0)
			return insert ? (tomb ? tomb : e) : NULL;
	}
	return insert ? tomb : NULL;
}

typedef struct trace_reader {
	const char *p, *end;
	size_t line;
} trace_reader;

static int is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\r'; }

static int hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Reads a number (hex: ids; decimal: sizes). 0 on a malformed number. */
static int read_number(trace_reader *r, int hex, uint64_t *out)
{
	while (r->p < r->end && is_space(*r->p))
		r->p++;
	if (hex && r->end - r->p >= 2 && r->p[0] == '0' && (r->p[1] == 'x' || r->p[1] == 'X'))
		r->p += 2;
	uint64_t v = 0;
	int digits = 0;
	for (; r->p < r->end; r->p++, digits++) {
		int d = hex ? hex_value(*r->p) : (*r->p >= '0' && *r->p <= '9' ? *r->p - '0' : -1);
		if (d < 0)
			break;
		uint64_t base = hex ? 16u : 10u;
		if (v > (UINT64_MAX - (uint64_t)d) / base)
			return 0;
		v = v * base + (uint64_t)d;
	}
	*out = v;
	return digits > 0;
}

/* One event of the trace: kind 'a' (id, size) or 'f' (id); 0 at the end; -1 on a malformed line. */
static int next_event(trace_reader *r, char *kind, uint64_t *id, uint64_t *size)
{
	while (r->p < r->end) {
		r->line++;
		const char *eol = r->p;
		while (eol < r->end && *eol != '\n')
			eol++;
		const char *save_end = r->end;
		r->end = eol;
		while (r->p < r->end && is_space(*r->p))
			r->p++;
		int ok = 1, event = 0;
		if (r->p < r->end && *r->p != '#') {
			*kind = *r->p++;
			if (*kind == 'a')
				ok = read_number(r, 1, id) && read_number(r, 0, size);
			else if (*kind == 'f')
				ok = read_number(r, 1, id);
			else
				ok = 0;
			while (ok && r->p < r->end && is_space(*r->p))
				r->p++;
			ok = ok && r->p == r->end;
			event = 1;
		}
		r->end = save_end;
		r->p = eol < r->end ? eol + 1 : eol;
		if (!ok)
			return -1;
		if (event)
			return 1;
	}
	return 0;
}

/* Replays the trace. With classes == NULL: per-bucket live and peak, and the large requests' peak
 * bytes. With classes: the peak of each class (by the size map of `classes`). 0 on an error. */
static int replay(const char *trace, size_t length, size_t class_limit, trace_tables *t, const mm_heap_config *classes,
                  size_t *class_peak, size_t *large_peak, size_t *largest, size_t *error_line)
{
	trace_reader r = {trace, trace + length, 0};
	size_t class_live[MM_HEAP_MAX_CLASSES] = {0};
	size_t large_live = 0, allocations = 0;
	memset(t->live, 0, t->slots * sizeof(live_entry));
	memset(t->bucket_live, 0, t->buckets * sizeof(size_t));
	if (!classes)
		memset(t->bucket_peak, 0, t->buckets * sizeof(size_t));
	*large_peak = 0;
	*largest = 0;
	char kind = 0;
	uint64_t id = 0, size = 0;
	int ev;
	while ((ev = next_event(&r, &kind, &id, &size)) > 0) {
		if (kind == 'a' && id == 0)
			continue; /* a failed allocation: nothing became live */
		if (id == DELETED || (kind == 'a' && size > SIZE_MAX / 4)) {
			*error_line = r.line;
			return 0;
		}
		live_entry *e = slot_of(t, id, kind == 'a');
		if (kind == 'a') {
			if (!e) {
				*error_line = 0; /* the table is full: scratch too small */
				return 0;
			}
			if (e->id == id) { /* allocated again without a free: the trace is inconsistent */
				*error_line = r.line;
				return 0;
			}
			e->id = id;
			e->size = (size_t)size;
			allocations++;
		} else {
			if (!e) {
				*error_line = r.line;
				return 0;
			}
			size = e->size;
			e->id = DELETED;
		}
		size_t n = (size_t)size;
		int up = kind == 'a';
		if (n <= class_limit) {
			if (classes) {
				size_t c = 0;
				while (c + 1 < classes->n_classes && classes->classes[c].size < n)
					c++;
				class_live[c] = up ? class_live[c] + 1 : class_live[c] - 1;
				if (class_live[c] > class_peak[c])
					class_peak[c] = class_live[c];
			} else {
				size_t b = (n + MM_ALIGNMENT - 1) / MM_ALIGNMENT;
				t->bucket_live[b] = up ? t->bucket_live[b] + 1 : t->bucket_live[b] - 1;
				if (t->bucket_live[b] > t->bucket_peak[b])
					t->bucket_peak[b] = t->bucket_live[b];
			}
		} else {
			size_t bytes = ALIGN_UP(n) + mm_alloc_overhead();
			if (bytes > *largest)
				*largest = bytes;
			large_live = up ? large_live + bytes : large_live - bytes;
			if (large_live > *large_peak)
				*large_peak = large_live;
		}
	}
	if (ev < 0) {
		*error_line = r.line;
		return 0;
	}
	if (!allocations) {
		*error_line = 0;
		return 0;
	}
	return 1;
}

/* Merges adjacent lines (sizes increasing) until at most `limit` remain, each time the pair whose
 * merge wastes the least (the smaller line's blocks rounded up to the larger size). O(m^2). */
static size_t merge_lines(size_t *size, size_t *count, size_t m, size_t limit)
{
	while (m > limit) {
		size_t best = 0, least = SIZE_MAX;
		for (size_t i = 0; i + 1 < m; i++) {
			size_t d = size[i + 1] - size[i];
			size_t waste = count[i] > SIZE_MAX / d ? SIZE_MAX : d * count[i];
			if (waste < least) {
				least = waste;
				best = i;
			}
		}
		count[best + 1] = count[best] > SIZE_MAX - count[best + 1] ? SIZE_MAX : count[best] + count[best + 1];
		memmove(size + best, size + best + 1, (m - best - 1) * sizeof(size_t));
		memmove(count + best, count + best + 1, (m - best - 1) * sizeof(size_t));
		m--;
	}
	return m;
}

int mm_heap_suggest_from_trace(const char *trace, size_t length, size_t class_limit, void *scratch,
                               size_t scratch_bytes, mm_heap_config *out, size_t *error_line)
{
	size_line lines[MAX_LINES];
	size_t dummy;
	if (!error_line)
		error_line = &dummy;
	*error_line = 0;
	if (!trace || !out || !scratch || (mm_addr(scratch) & (sizeof(size_t) - 1)))
		return 0;
	if (class_limit == 0)
		class_limit = 16384;
	if (class_limit > SIZE_MAX / 64)
		return 0;
	/* The tables: as many live slots as fit after the buckets. */
	trace_tables t;
	t.buckets = class_limit / MM_ALIGNMENT + 2;
	size_t bucket_bytes = 2 * t.buckets * sizeof(size_t);
	if (scratch_bytes < bucket_bytes + 16 * sizeof(live_entry))
		return 0;
	t.bucket_live = (size_t *)scratch;
	t.bucket_peak = t.bucket_live + t.buckets;
	t.live = (live_entry *)(void *)(t.bucket_peak + t.buckets);
	t.slots = 16;
	while (t.slots * 2 * sizeof(live_entry) <= scratch_bytes - bucket_bytes)
		t.slots *= 2;

	size_t large_peak, largest, class_peak[MM_HEAP_MAX_CLASSES] = {0};
	if (!replay(trace, length, class_limit, &t, NULL, NULL, &large_peak, &largest, error_line))
		return 0;
	/* The sizes seen (buckets 0 and 1 share one), in the bucket tables themselves (sizes over the
	 * live counts, which the second replay resets), merged down to MAX_LINES. */
	size_t m = 0, *sizes = t.bucket_live, *counts = t.bucket_peak;
	for (size_t b = 0; b < t.buckets; b++) {
		if (!counts[b])
			continue;
		size_t size = b ? b * MM_ALIGNMENT : MM_ALIGNMENT, count = counts[b];
		if (m && sizes[m - 1] == size) {
			counts[m - 1] += count;
			continue;
		}
		sizes[m] = size;
		counts[m++] = count; /* m <= b: nothing unread is overwritten */
	}
	m = merge_lines(sizes, counts, m, MAX_LINES);
	for (size_t i = 0; i < m; i++)
		lines[i] = (size_line){sizes[i], counts[i]};
	mm_heap_config c;
	memset(&c, 0, sizeof(c));
	if (!fill_classes(&c, lines, m))
		return 0;
	/* Each chosen class's own peak: sizes sharing a class rarely peak together. */
	if (c.n_classes) {
		if (!replay(trace, length, class_limit, &t, &c, class_peak, &large_peak, &largest, error_line))
			return 0;
		for (size_t i = 0; i < c.n_classes; i++)
			c.classes[i].count = class_peak[i] ? class_peak[i] : 1;
	}
	/* The remainder: the peak, a quarter more, and room for two of the largest requests beside it,
	 * against TLSF's fragmentation (an estimate, not a bound: mm_heap_required_size gives one). */
	c.remainder = large_peak ? large_peak + large_peak / 4 + 2 * largest : 0;
	c.fallback = MM_HEAP_FALLBACK_LARGER | (large_peak ? MM_HEAP_FALLBACK_REMAINDER : 0);
	if (!mm_heap_size(&c))
		return 0;
	*out = c;
	return 1;
}

/* ---- Recording ------------------------------------------------------------------------------------ */

/* Writes "<prefix><hex>[ <decimal>]\n" through the instance's trace writer. */
static void trace_line(mm_observe *o, char prefix, uint64_t id, int with_size, size_t size)
{
	char buf[64];
	size_t n = 0;
	buf[n++] = prefix;
	buf[n++] = ' ';
	char digits[24];
	size_t d = 0;
	do {
		digits[d++] = "0123456789abcdef"[id & 15];
		id >>= 4;
	} while (id);
	while (d)
		buf[n++] = digits[--d];
	if (with_size) {
		buf[n++] = ' ';
		do {
			digits[d++] = (char)('0' + size % 10);
			size /= 10;
		} while (size);
		while (d)
			buf[n++] = digits[--d];
	}
	buf[n++] = '\n';
	o->trace_write(o->trace_user, buf, n);
}

static void trace_alloc(void *user, void *ptr, size_t size)
{
	trace_line((mm_observe *)user, 'a', (uint64_t)mm_addr(ptr), 1, size);
}

static void trace_free(void *user, void *ptr) { trace_line((mm_observe *)user, 'f', (uint64_t)mm_addr(ptr), 0, 0); }

void mm_trace_record(void *instance, mm_trace_writer write, void *user)
{
	mm_observe *o = (mm_observe *)instance;
	if (!o || (o->kind != MM_KIND_TLSF && o->kind != MM_KIND_FIXED && o->kind != MM_KIND_HEAP) || !write)
		return;
	o->trace_write = write;
	o->trace_user = user;
	mm_set_hooks(instance, trace_alloc, trace_free, o);
}

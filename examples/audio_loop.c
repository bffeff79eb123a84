// SPDX-License-Identifier: MIT
/*
 * audio_loop.c - the demo (`make demo`): a simulated real-time audio loop on a memoman heap (the
 * audio preset over a buffer touched before the loop starts) and on the system malloc, under the
 * same background load, with every allocation, free and callback measured the same way for both.
 *
 * Each callback (48 kHz, 256 frames: a 5.33 ms period) allocates input and output buffers, a
 * handful of events, an FFT frame every fourth period, starts and ends voices that live across
 * periods, and, every 500 periods, a delay line of 64 to 512 KiB (a reverb's length changed) that
 * lives for 200 periods; it processes (a gain, a mix, the delay line cleared when it starts) and
 * frees what it allocated. The callbacks run back to back, not paced to the period: 20,000 periods
 * take well under a second. Meanwhile two background threads allocate with malloc and write to what
 * they get, during both runs. Everything is measured from the first callback on: the memoman heap's
 * page faults were taken at set-up, when its buffer was touched; malloc takes its own inside the
 * callbacks, the first times it needs memory.
 *
 * It prints two kinds of figures. The allocator's: page faults the audio thread took inside the
 * callbacks (getrusage(RUSAGE_THREAD) around each), failed allocations, and the worst instruction
 * count of an allocation and of a free where the CPU's counter can be read (perf_event_open). The
 * machine's: the latency of each call and of each callback, the callbacks that overran the period
 * (deadline misses) and the preemptions - timing that descheduling, interrupts and the VM move as
 * much as the allocator does.
 *
 * Real-time priority (SCHED_FIFO for the audio thread only) and memory locking (mlock of the heap's
 * buffer, never mlockall) are attempted, reported, and optional; neither failing is fatal. --verbose
 * adds the heap's own account (mm_print) after one more round with its cycle tracking on.
 *
 *   audio_loop [--no-rt] [--no-lock] [--verbose] [periods [svg path]]
 */
#define _GNU_SOURCE
#include <errno.h>
#if defined(__linux__)
#include <linux/perf_event.h>
#endif
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "memoman.h"

#ifndef RUSAGE_THREAD /* Linux's; elsewhere the process's figures, the background threads' included */
#define RUSAGE_THREAD RUSAGE_SELF
#endif

#define RATE 48000
#define FRAMES 256
#define MAX_VOICES 32
#define DELAY_MIN (64 << 10)
#define BUFFER_BYTES (4 << 20)
#define RT_PRIORITY 80
#define BACKGROUND_THREADS 2

static _Alignas(64) unsigned char buffer[BUFFER_BYTES];

/* ---- The two allocators behind one interface -------------------------------------------------- */

typedef struct allocator {
	const char *name;
	void *(*alloc)(void *self, size_t n);
	void (*release)(void *self, void *p);
	void *self;
} allocator;

/* The worst cases include/memoman/heap.h states for the two calls the callback makes (instructions
 * of the whole call, x86-64, gcc -O2, the default MM_CHECKS=1), which make test-bounds checks call by
 * call under callgrind; tests/bounds/check.py also checks that these copies match the header. */
static const unsigned bound_heap_malloc = 230, bound_heap_free = 330;

static void *heap_alloc(void *self, size_t n) { return mm_heap_malloc((mm_heap_t)self, n); }
static void heap_release(void *self, void *p) { mm_heap_free((mm_heap_t)self, p); }
static void *sys_alloc(void *self, size_t n)
{
	(void)self;
	return malloc(n);
}
static void sys_release(void *self, void *p)
{
	(void)self;
	free(p);
}

/* ---- Meters: the timer, and the CPU's instruction counter where there is one --------------------- */

static double ns_per_count; /* of mm_cycles_now() */
static int insn_fd = -1;    /* perf_event_open: instructions retired in user mode, this thread */

static uint64_t insn_now(void)
{
	uint64_t v = 0;
	if (read(insn_fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return 0;
	return v;
}

/* Opens the instruction counter; on failure fills why[] and returns 0. */
static int open_insn_counter(char *why, size_t why_size)
{
#if defined(__linux__) && defined(SYS_perf_event_open)
	struct perf_event_attr pe;
	memset(&pe, 0, sizeof(pe));
	pe.type = PERF_TYPE_HARDWARE;
	pe.size = sizeof(pe);
	pe.config = PERF_COUNT_HW_INSTRUCTIONS;
	pe.exclude_kernel = 1;
	pe.exclude_hv = 1;
	long fd = syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0);
	if (fd < 0) {
		snprintf(why, why_size, "%s", strerror(errno));
		return 0;
	}
	insn_fd = (int)fd;
	uint64_t a = insn_now(), b = insn_now();
	if (b <= a) { /* opened, but counts nothing (some VMs) */
		close(insn_fd);
		insn_fd = -1;
		snprintf(why, why_size, "the counter does not count");
		return 0;
	}
	return 1;
#else
	snprintf(why, why_size, "not on this system");
	return 0;
#endif
}

/* ---- What one run measured -------------------------------------------------------------------------- */

/* Latencies in ns, in log-linear buckets: 0..15 exact, then 16 buckets per power of two (6 %). */
#define SUB 16
#define BUCKETS (SUB + 60 * SUB)

typedef struct histogram {
	uint64_t n, worst;
	uint64_t b[BUCKETS];
} histogram;

static int log2_floor(uint64_t v) /* 0 for 0 and 1 */
{
	int e = 0;
	while (v >>= 1)
		e++;
	return e;
}

static int bucket_of(uint64_t ns)
{
	if (ns < SUB)
		return (int)ns;
	int e = log2_floor(ns); /* >= 4 */
	int b = SUB + (e - 4) * SUB + (int)((ns >> (e - 4)) & (SUB - 1));
	return b < BUCKETS ? b : BUCKETS - 1;
}

static uint64_t bucket_top(int b) /* the largest ns a bucket holds */
{
	if (b < SUB)
		return (uint64_t)b;
	int e = (b - SUB) / SUB + 4, s = (b - SUB) % SUB;
	return ((uint64_t)(SUB + s + 1) << (e - 4)) - 1;
}

static void record(histogram *h, uint64_t ns)
{
	h->b[bucket_of(ns)]++;
	h->n++;
	if (ns > h->worst)
		h->worst = ns;
}

/* The q-quantile, as the top of its bucket (so within 6 % above the true value). */
static uint64_t quantile(const histogram *h, double q)
{
	uint64_t rank = (uint64_t)((double)h->n * q), seen = 0;
	for (int b = 0; b < BUCKETS; b++) {
		seen += h->b[b];
		if (seen > rank)
			return bucket_top(b) < h->worst ? bucket_top(b) : h->worst;
	}
	return h->worst;
}

typedef struct tally {
	histogram calls;                /* each allocation and free, timed outside the call */
	histogram callbacks;            /* each whole callback: allocations, processing, frees */
	uint64_t overruns;              /* callbacks longer than the period: deadline misses */
	uint64_t overruns_descheduled;  /* ... in callbacks during which the thread was preempted */
	uint64_t failures;              /* allocations answered NULL */
	long faults;                    /* minor + major page faults of the audio thread in the callbacks */
	uint64_t fault_callbacks;       /* callbacks that took at least one */
	uint64_t last_fault_callback;   /* the last of them (1-based), 0 if none */
	long forced_switches;           /* involuntary context switches in the callbacks */
	uint64_t insn_alloc, insn_free; /* the worst instruction counts (counting pass) */
} tally;

static tally tallies[2]; /* memoman, malloc: static, so touched (and lockable) before the loop */

/* ---- The audio callback ---------------------------------------------------------------------------- */

typedef struct voice {
	float *state; /* 192 bytes of filter and envelope state */
	int periods_left;
} voice;

typedef struct session {
	voice voices[MAX_VOICES];
	float *delay;
	uint32_t rnd;
	int period;
} session;

static uint32_t next_random(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static volatile float sink; /* keeps the processing from being optimised away */
static int counting;        /* 1: the pass that counts instructions instead of timing */

static void *measured_alloc(const allocator *a, tally *t, size_t n)
{
	void *p;
	if (counting) {
		uint64_t i0 = insn_now();
		p = a->alloc(a->self, n);
		uint64_t i = insn_now() - i0;
		if (i > t->insn_alloc)
			t->insn_alloc = i;
	} else {
		uint64_t c0 = mm_cycles_now();
		p = a->alloc(a->self, n);
		uint64_t c = mm_cycles_now() - c0;
		record(&t->calls, (uint64_t)((double)c * ns_per_count));
	}
	if (!p)
		t->failures++;
	return p;
}

static void measured_release(const allocator *a, tally *t, void *p)
{
	if (!p)
		return;
	if (counting) {
		uint64_t i0 = insn_now();
		a->release(a->self, p);
		uint64_t i = insn_now() - i0;
		if (i > t->insn_free)
			t->insn_free = i;
	} else {
		uint64_t c0 = mm_cycles_now();
		a->release(a->self, p);
		uint64_t c = mm_cycles_now() - c0;
		record(&t->calls, (uint64_t)((double)c * ns_per_count));
	}
}

static void callback(const allocator *a, tally *t, session *s)
{
	int period = s->period++;
	if (period % 500 == 250 && !s->delay) {
		size_t bytes = (size_t)DELAY_MIN << (next_random(&s->rnd) % 4); /* the reverb's length: 64..512 KiB */
		s->delay = measured_alloc(a, t, bytes);
		if (s->delay)
			memset(s->delay, 0, bytes); /* a delay line starts silent */
	} else if (s->delay && period % 500 == 450) {
		measured_release(a, t, s->delay);
		s->delay = NULL;
	}
	float *in = measured_alloc(a, t, FRAMES * 2 * sizeof(float));
	float *out = measured_alloc(a, t, FRAMES * 2 * sizeof(float));
	int n_events = (int)(next_random(&s->rnd) % 6);
	void *events[8];
	for (int e = 0; e < n_events; e++)
		events[e] = measured_alloc(a, t, 24 + next_random(&s->rnd) % 40);
	float *fft = period % 4 == 0 ? measured_alloc(a, t, 1024 * 2 * sizeof(float)) : NULL;
	/* Voices start on note-on events and last a while. */
	for (int v = 0; v < MAX_VOICES; v++) {
		voice *vo = &s->voices[v];
		if (vo->state && --vo->periods_left == 0) {
			measured_release(a, t, vo->state);
			vo->state = NULL;
		} else if (!vo->state && next_random(&s->rnd) % 64 == 0) {
			vo->state = measured_alloc(a, t, 192);
			vo->periods_left = 10 + (int)(next_random(&s->rnd) % 400);
			if (vo->state)
				memset(vo->state, 0, 192);
		}
	}
	/* Process: a gain and a mix (skipped if a buffer could not be had: the callback stays silent). */
	if (in && out) {
		for (int i = 0; i < FRAMES * 2; i++) {
			in[i] = (float)i * 0.001f;
			out[i] = in[i] * 0.5f;
		}
		if (fft) {
			for (int i = 0; i < 2048; i++)
				fft[i] = out[i % (FRAMES * 2)];
			out[0] += fft[2047] * 0.0f;
		}
		sink = out[FRAMES];
	}
	measured_release(a, t, fft);
	for (int e = 0; e < n_events; e++)
		measured_release(a, t, events[e]);
	measured_release(a, t, out);
	measured_release(a, t, in);
}

static void finish(const allocator *a, tally *t, session *s)
{
	for (int v = 0; v < MAX_VOICES; v++) {
		measured_release(a, t, s->voices[v].state);
		s->voices[v].state = NULL;
	}
	measured_release(a, t, s->delay);
	s->delay = NULL;
}

/* Runs `periods` callbacks; counts what the OS did to the audio thread in each (getrusage, outside
 * the timed span). */
static void run(const allocator *a, tally *t, session *s, int periods, uint64_t period_counts)
{
	for (int i = 0; i < periods; i++) {
		struct rusage r0, r1;
		getrusage(RUSAGE_THREAD, &r0);
		uint64_t c0 = mm_cycles_now();
		callback(a, t, s);
		uint64_t c = mm_cycles_now() - c0;
		getrusage(RUSAGE_THREAD, &r1);
		if (counting)
			continue;
		long faults = (r1.ru_minflt - r0.ru_minflt) + (r1.ru_majflt - r0.ru_majflt);
		long preempted = r1.ru_nivcsw - r0.ru_nivcsw;
		record(&t->callbacks, (uint64_t)((double)c * ns_per_count));
		t->faults += faults;
		t->forced_switches += preempted;
		if (faults) {
			t->fault_callbacks++;
			t->last_fault_callback = t->callbacks.n;
		}
		if (c > period_counts) {
			t->overruns++;
			t->overruns_descheduled += preempted > 0;
		}
	}
}

/* ---- The background load: threads allocating with malloc and writing to it ---------------------- */

static atomic_int background_running;

static void *background(void *arg)
{
	uint32_t rnd = 77u + (uint32_t)(uintptr_t)arg;
	void *held[32] = {0};
	while (atomic_load_explicit(&background_running, memory_order_relaxed)) {
		unsigned k = next_random(&rnd) % 32;
		free(held[k]);
		size_t n = (size_t)1024 << (next_random(&rnd) % 9); /* 1 KiB .. 256 KiB: some mmapped, some not */
		held[k] = malloc(n);
		if (held[k])
			memset(held[k], 1, n);
	}
	for (int k = 0; k < 32; k++)
		free(held[k]);
	return NULL;
}

/* ---- Results ------------------------------------------------------------------------------------- */

static double counts_per_ns(void)
{
	struct timespec t0, t1;
	double ns;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint64_t c0 = mm_cycles_now();
	do {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
	} while (ns < 20e6);
	uint64_t c1 = mm_cycles_now();
	return (double)(c1 - c0) / ns;
}

/* "1234 ns", "56.7 us", "1.23 ms" */
static const char *duration(char *buf, size_t size, double ns)
{
	if (ns < 1e4)
		snprintf(buf, size, "%.0f ns", ns);
	else if (ns < 1e6)
		snprintf(buf, size, "%.1f us", ns / 1e3);
	else
		snprintf(buf, size, "%.2f ms", ns / 1e6);
	return buf;
}

static void row_ns(const char *label, double a, double b)
{
	char x[32], y[32];
	printf("  %-44s %14s %14s\n", label, duration(x, sizeof(x), a), duration(y, sizeof(y), b));
}

static void row_s(const char *label, const char *a, const char *b) { printf("  %-44s %14s %14s\n", label, a, b); }

static const char *fault_cell(char *buf, size_t size, const tally *t)
{
	if (t->fault_callbacks)
		snprintf(buf, size, "%llu, last #%llu", (unsigned long long)t->fault_callbacks,
		         (unsigned long long)t->last_fault_callback);
	else
		snprintf(buf, size, "0");
	return buf;
}

static void row_n(const char *label, long long a, long long b) { printf("  %-44s %14lld %14lld\n", label, a, b); }

/* ---- The SVG: two histograms (each call, each callback), log2 bins of ns, counts on a log axis ---- */

static const char *const colour[2] = {"#1f77b4", "#ff7f0e"};
static const char *const series[2] = {"memoman heap (audio preset)", "system malloc"};

/* "512 ns", "1.02 µs", "4.19 ms" */
static void svg_duration(char *buf, size_t size, double ns)
{
	if (ns < 1e3)
		snprintf(buf, size, "%.0f ns", ns);
	else if (ns < 1e6)
		snprintf(buf, size, "%.3g \xc2\xb5s", ns / 1e3);
	else
		snprintf(buf, size, "%.3g ms", ns / 1e6);
}

/* One panel at y = top: bars for bins [2^k, 2^(k+1)) ns, k = first..last; a dashed line at mark_ns if
 * mark_ns > 0. Returns the panel's height. */
static int svg_panel(FILE *f, int top, const char *title, const char *xlabel, const histogram *h0, const histogram *h1,
                     int first, int last, double mark_ns, const char *mark_label)
{
	const int left = 90, width = 820, height = 170, base = top + 28 + height;
	const histogram *h[2] = {h0, h1};
	uint64_t per_log2[2][64] = {{0}};
	uint64_t most = 1;
	for (int j = 0; j < 2; j++)
		for (int b = 0; b < BUCKETS; b++) {
			uint64_t hi = bucket_top(b); /* every value of a bucket has the same log2 */
			per_log2[j][log2_floor(hi)] += h[j]->b[b];
		}
	for (int j = 0; j < 2; j++)
		for (int k = 0; k < 64; k++)
			most = per_log2[j][k] > most ? per_log2[j][k] : most;
	int decades = (int)ceil(log10((double)most + 0.5));
	decades = decades < 1 ? 1 : decades;
	fprintf(f, "<text x='%d' y='%d' font-size='14' font-weight='bold'>%s</text>\n", left, top + 16, title);
	for (int e = 0; e <= decades; e++) { /* y grid: 1, 10, 100 ... */
		double y = base - (double)e / decades * height;
		fprintf(f, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='#ddd'/>\n", left, y, left + width, y);
		fprintf(f, "<text x='%d' y='%.1f' text-anchor='end'>%.0f</text>\n", left - 6, y + 4, pow(10, e));
	}
	double bw = (double)width / (last - first + 1);
	for (int k = first; k <= last; k++) {
		double x = left + (k - first) * bw;
		for (int j = 0; j < 2; j++) {
			uint64_t c = per_log2[j][k];
			if (!c)
				continue;
			double bar = c == 1 ? 2 : log10((double)c) / decades * height; /* one still shows */
			fprintf(f,
			        "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='%s'><title>%s: "
			        "%llu</title></rect>\n",
			        x + j * bw / 2 + 1, base - bar, bw / 2 - 1.5, bar, colour[j], series[j],
			        (unsigned long long)c);
		}
		/* the bin's range, under its own pair of bars */
		char lo[24], hi[24];
		svg_duration(lo, sizeof(lo), ldexp(1, k));
		svg_duration(hi, sizeof(hi), ldexp(1, k + 1));
		double xc = x + bw / 2;
		fprintf(f,
		        "<text x='%.1f' y='%d' font-size='10' text-anchor='end' transform='rotate(-40 %.1f %d)'>%s"
		        "\xe2\x80\x93%s</text>\n",
		        xc + 3, base + 12, xc + 3, base + 12, lo, hi);
	}
	fprintf(f, "<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='black'/>\n", left, base, left + width, base);
	fprintf(f, "<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='black'/>\n", left, base, left, base - height);
	if (mark_ns > 0) {
		double xm = left + (log2(mark_ns) - first) * bw;
		fprintf(f,
		        "<line x1='%.1f' y1='%d' x2='%.1f' y2='%d' stroke='#d62728' stroke-dasharray='5,3'/>\n"
		        "<text x='%.1f' y='%d' fill='#d62728' text-anchor='end'>%s</text>\n",
		        xm, base, xm, base - height, xm - 4, base - height + 12, mark_label);
	}
	fprintf(f, "<text x='%d' y='%d' text-anchor='middle'>%s</text>\n", left + width / 2, base + 78, xlabel);
	fprintf(f, "<text x='%d' y='%d' transform='rotate(-90 %d %d)' text-anchor='middle'>count (log scale)</text>\n",
	        30, base - height / 2, 30, base - height / 2);
	return base + 90 - top;
}

/* The lowest and highest log2 bins with a count in either histogram. */
static void svg_range(const histogram *h0, const histogram *h1, int *first, int *last)
{
	*first = 63;
	*last = 0;
	for (int b = 0; b < BUCKETS; b++)
		if (h0->b[b] || h1->b[b]) {
			uint64_t hi = bucket_top(b);
			int k = log2_floor(hi);
			*first = k < *first ? k : *first;
			*last = k > *last ? k : *last;
		}
	if (*first > *last)
		*first = *last = 0;
}

static int write_svg(const char *path, const tally *t, int periods, const char *conditions)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return 0;
	fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='960' height='670' font-family='sans-serif' "
	           "font-size='12'>\n<rect width='100%%' height='100%%' fill='white'/>\n");
	fprintf(f,
	        "<text x='90' y='26' font-size='16' font-weight='bold'>memoman demo: a simulated audio callback "
	        "(48 kHz, %d frames), %d periods per allocator</text>\n",
	        FRAMES, periods);
	fprintf(f, "<text x='90' y='46' fill='#444'>%s</text>\n", conditions);
	for (int j = 0; j < 2; j++)
		fprintf(f,
		        "<rect x='%d' y='58' width='12' height='12' fill='%s'/><text x='%d' y='69'>%s: %ld page "
		        "faults in the callbacks</text>\n",
		        90 + j * 420, colour[j], 108 + j * 420, series[j], t[j].faults);
	int first, last, y = 84;
	svg_range(&t[0].calls, &t[1].calls, &first, &last);
	y += svg_panel(f, y, "Each allocation and each free (timer read just outside the call)",
	               "duration of one call, in bins of powers of two", &t[0].calls, &t[1].calls, first, last, 0, "");
	double period_ns = 1e9 * FRAMES / RATE;
	svg_range(&t[0].callbacks, &t[1].callbacks, &first, &last);
	int deadline_bin = (int)log2(period_ns);
	last = last > deadline_bin ? last : deadline_bin;
	char mark[64];
	snprintf(mark, sizeof(mark), "deadline: the %.2f ms period", period_ns / 1e6);
	svg_panel(f, y, "Each callback (its allocations, processing and frees)",
	          "duration of one callback, in bins of powers of two", &t[0].callbacks, &t[1].callbacks, first, last,
	          period_ns, mark);
	fprintf(f, "</svg>\n");
	return fclose(f) == 0;
}

/* ---- Main ---------------------------------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr, "usage: audio_loop [--no-rt] [--no-lock] [--verbose] [periods [svg path]]\n");
}

int main(int argc, char **argv)
{
	int use_rt = 1, use_lock = 1, verbose = 0, periods = 20000;
	const char *svg = NULL;
	int positional = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--no-rt"))
			use_rt = 0;
		else if (!strcmp(argv[i], "--no-lock"))
			use_lock = 0;
		else if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v"))
			verbose = 1;
		else if (argv[i][0] == '-') {
			usage();
			return 2;
		} else if (positional == 0) {
			periods = atoi(argv[i]);
			positional++;
		} else if (positional == 1) {
			svg = argv[i];
			positional++;
		} else {
			usage();
			return 2;
		}
	}
	if (periods < 20) {
		usage();
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	int rounds = 10, per_round = periods / rounds;
	periods = per_round * rounds;

	/* Set-up, before anything real-time: the timer, the heap over a buffer touched page by page. */
	double per_ns = counts_per_ns();
	ns_per_count = 1 / per_ns;
	uint64_t period_counts = (uint64_t)(1e9 * FRAMES / RATE * per_ns);
	struct rusage r0, r1;
	getrusage(RUSAGE_THREAD, &r0);
	memset(buffer, 0, sizeof(buffer));
	memset(tallies, 0, sizeof(tallies));
	getrusage(RUSAGE_THREAD, &r1);
	long setup_faults = r1.ru_minflt - r0.ru_minflt;
	mm_heap_config cfg;
	mm_heap_t heap = NULL;
	if (mm_heap_preset(MM_HEAP_PRESET_AUDIO, sizeof(buffer), &cfg))
		heap = mm_heap_create(buffer, sizeof(buffer), &cfg);
	if (!heap) {
		fprintf(stderr, "audio_loop: cannot create the heap from the audio preset\n");
		return 1;
	}
	allocator alloc[2] = {{"memoman", heap_alloc, heap_release, heap}, {"malloc", sys_alloc, sys_release, NULL}};

	/* The background load, at ordinary priority (not inherited from the audio thread), small stacks. */
	pthread_t bg[BACKGROUND_THREADS];
	int n_bg = 0, bg_err = 0;
	pthread_attr_t attr;
	if (pthread_attr_init(&attr) == 0) {
		struct sched_param normal = {.sched_priority = 0};
		pthread_attr_setstacksize(&attr, 256 << 10);
		pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
		pthread_attr_setschedpolicy(&attr, SCHED_OTHER);
		pthread_attr_setschedparam(&attr, &normal);
		atomic_store(&background_running, 1);
		for (int i = 0; i < BACKGROUND_THREADS; i++) {
			int e = pthread_create(&bg[n_bg], &attr, background, (void *)(uintptr_t)i);
			if (e)
				bg_err = e;
			else
				n_bg++;
		}
		pthread_attr_destroy(&attr);
	}

	/* Real-time priority and locked memory: attempted, reported, optional. */
	char rt_text[128], lock_text[160];
	int rt_ok = 0, lock_ok = 0;
	if (!use_rt)
		snprintf(rt_text, sizeof(rt_text), "off (--no-rt)");
	else {
		struct sched_param sp = {.sched_priority = RT_PRIORITY};
		int e = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
		rt_ok = e == 0;
		if (e == 0)
			snprintf(rt_text, sizeof(rt_text), "SCHED_FIFO priority %d for the audio thread", RT_PRIORITY);
		else
			snprintf(rt_text, sizeof(rt_text), "refused (%s): ordinary priority; --no-rt skips it",
			         strerror(e));
	}
	if (!use_lock)
		snprintf(lock_text, sizeof(lock_text), "off (--no-lock)");
	else if ((lock_ok = mlock(buffer, sizeof(buffer)) == 0))
		snprintf(lock_text, sizeof(lock_text), "the heap's %d MiB buffer locked (mlock)", BUFFER_BYTES >> 20);
	else {
		int e = errno;
		struct rlimit rl;
		char limit[48] = "";
		if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
			snprintf(limit, sizeof(limit), ", ulimit -l %llu KiB", (unsigned long long)(rl.rlim_cur >> 10));
		snprintf(lock_text, sizeof(lock_text), "refused (%s%s): not locked; --no-lock skips it", strerror(e),
		         limit);
	}

	/* Measured from the first callback on, as a real stream is: the set-up above is the time for OS
	 * work, the callbacks are not. Alternating rounds, so that the load reaches both alike. */
	session sess[2];
	memset(sess, 0, sizeof(sess));
	for (int round = 0; round < rounds; round++)
		for (int j = 0; j < 2; j++) {
			if (round == 0)
				sess[j].rnd = 2026;
			run(&alloc[j], &tallies[j], &sess[j], per_round, period_counts);
		}
	for (int j = 0; j < 2; j++)
		finish(&alloc[j], &tallies[j], &sess[j]);

	/* The instructions of each call, where the CPU's counter can be read: one more round each. */
	char insn_why[96] = "";
	int have_insn = open_insn_counter(insn_why, sizeof(insn_why));
	if (have_insn) {
		uint64_t i0 = insn_now(), empty = insn_now() - i0; /* the read itself, taken off below */
		counting = 1;
		for (int j = 0; j < 2; j++) {
			run(&alloc[j], &tallies[j], &sess[j], per_round, period_counts);
			finish(&alloc[j], &tallies[j], &sess[j]);
			tallies[j].insn_alloc -= tallies[j].insn_alloc > empty ? empty : tallies[j].insn_alloc;
			tallies[j].insn_free -= tallies[j].insn_free > empty ? empty : tallies[j].insn_free;
		}
		counting = 0;
		close(insn_fd);
	}
	atomic_store(&background_running, 0);
	for (int i = 0; i < n_bg; i++)
		pthread_join(bg[i], NULL);
	if (use_rt) { /* back to ordinary priority for the printing */
		struct sched_param sp = {.sched_priority = 0};
		pthread_setschedparam(pthread_self(), SCHED_OTHER, &sp);
	}

	/* ---- Report ---- */
	const tally *m = &tallies[0], *g = &tallies[1];
	char bg_text[96];
	if (n_bg == BACKGROUND_THREADS)
		snprintf(bg_text, sizeof(bg_text), "%d threads allocating with malloc and writing to it", n_bg);
	else
		snprintf(bg_text, sizeof(bg_text), "%d of %d threads (pthread_create: %s)", n_bg, BACKGROUND_THREADS,
		         strerror(bg_err));
	printf("memoman demo: a simulated audio callback (48 kHz, %d frames: a %.2f ms period) on a memoman heap\n"
	       "(the audio preset over a %d MiB buffer whose %ld page faults were taken at set-up) and on the system\n"
	       "malloc: %d periods each, from the first callback on, in alternating rounds of %d, back to back.\n",
	       FRAMES, 1e3 * FRAMES / RATE, BUFFER_BYTES >> 20, setup_faults, periods, per_round);
	printf("  background load:    %s, during both runs\n", bg_text);
	printf("  real-time priority: %s\n", rt_text);
	printf("  memory locking:     %s\n", lock_text);
	printf("\n  %-44s %14s %14s\n", "", "memoman heap", "system malloc");
	printf("  The allocator's figures:\n");
	char label[64], x[48], y[48];
	row_n("page faults in the callbacks", m->faults, g->faults);
	row_s("callbacks that took page faults", fault_cell(x, sizeof(x), m), fault_cell(y, sizeof(y), g));
	row_n("failed allocations", (long long)m->failures, (long long)g->failures);
	snprintf(x, sizeof(x), "%u / %u", bound_heap_malloc, bound_heap_free);
	row_s("worst case stated, allocation / free", x, "none");
	printf("  %-44s (instructions, x86-64 gcc -O2; checked by make test-bounds)\n", "");
	if (have_insn) {
		row_n("worst instructions, one allocation", (long long)m->insn_alloc, (long long)g->insn_alloc);
		row_n("worst instructions, one free", (long long)m->insn_free, (long long)g->insn_free);
	} else
		printf("  instructions per call: no CPU counter here (perf_event_open: %s); see `make bench`\n",
		       insn_why);
	printf("  The machine's figures:\n");
	row_ns("each allocation or free: median", (double)quantile(&m->calls, 0.5), (double)quantile(&g->calls, 0.5));
	row_ns("                         99.9th percentile", (double)quantile(&m->calls, 0.999),
	       (double)quantile(&g->calls, 0.999));
	row_ns("                         worst", (double)m->calls.worst, (double)g->calls.worst);
	row_ns("each callback:           99.9th percentile", (double)quantile(&m->callbacks, 0.999),
	       (double)quantile(&g->callbacks, 0.999));
	row_ns("                         worst", (double)m->callbacks.worst, (double)g->callbacks.worst);
	snprintf(label, sizeof(label), "deadline misses: callbacks over %.2f ms", 1e3 * FRAMES / RATE);
	row_n(label, (long long)m->overruns, (long long)g->overruns);
	row_n("                 ... in a preempted callback", (long long)m->overruns_descheduled,
	      (long long)g->overruns_descheduled);
	row_n("preemptions in the callbacks", m->forced_switches, g->forced_switches);
	printf("  (%llu calls, %llu callbacks each; timed with %s, %.3g counts/ns, outside each call.)\n",
	       (unsigned long long)m->calls.n, (unsigned long long)m->callbacks.n,
	       strncmp(mm_cycle_source(), "x86", 3) == 0 ? "the x86 TSC" : mm_cycle_source(), per_ns);
	printf("Page faults, failures and instruction counts are the allocator's: they follow from what it does\n"
	       "and no timing noise changes them; every time, and so the deadline misses, is the machine's as much\n"
	       "as the allocator's (descheduling, interrupts, the VM, the load).\n");

	if (verbose) {
		printf("\nThe heap's own account (mm_print, after one more round with its cycle tracking on):\n");
		mm_reset_stats(heap);
		if (mm_track_cycles(heap, 1)) {
			session extra;
			memset(&extra, 0, sizeof(extra));
			extra.rnd = 7;
			tally scratch;
			memset(&scratch, 0, sizeof(scratch));
			run(&alloc[0], &scratch, &extra, per_round, period_counts);
			finish(&alloc[0], &scratch, &extra);
		}
		mm_print(heap, stdout);
	}

	int status = 0;
	if (!mm_heap_validate(heap)) {
		fprintf(stderr, "audio_loop: the heap fails validation\n");
		status = 1;
	}
	if (m->failures) {
		fprintf(stderr, "audio_loop: the heap, sized for this workload, failed %llu allocations\n",
		        (unsigned long long)m->failures);
		status = 1;
	}
	const char *svg_path = svg ? svg : "audio_latency.svg";
	char conditions[256];
	snprintf(conditions, sizeof(conditions), "audio thread: %s; buffer %s; background: %d threads using malloc",
	         rt_ok ? "SCHED_FIFO" : "ordinary priority", lock_ok ? "locked" : "not locked", n_bg);
	if (write_svg(svg_path, tallies, periods, conditions))
		printf("Histograms: %s\n", svg_path);
	else {
		printf("Histograms: not written (%s: %s)\n", svg_path, strerror(errno));
		if (svg)
			status = 1;
	}
	printf("Summary: in the callbacks, memoman took %ld page faults, %llu failed allocations, %llu deadline "
	       "misses;\n         the system malloc %ld, %llu, %llu.\n",
	       m->faults, (unsigned long long)m->failures, (unsigned long long)m->overruns, g->faults,
	       (unsigned long long)g->failures, (unsigned long long)g->overruns);
	return status;
}

/*
 * audio_loop.c - the demo (`make demo`): a simulated real-time audio loop on a memoman heap (the
 * audio preset over a static arena) and on the system malloc, with the latency of every allocation
 * and free measured the same way for both.
 *
 * Each callback (48 kHz, 256 frames) allocates input and output buffers, a handful of events,
 * an FFT frame every fourth period, starts and ends voices that live across periods, and, every
 * 500 periods, a 256 KiB delay line (a reverb's length changed) that lives for 200 periods; it
 * processes (a gain and a mix) and frees what it allocated. Meanwhile a "UI thread" allocates and
 * frees with the system malloc, as applications do: in the malloc run the two threads share
 * malloc; in the memoman run the audio thread has its own heap.
 *
 * Prints median, 99.9th percentile and worst case per allocator, the heap's own statistics and
 * cycle timings (the library is built with MM_CYCLES=1 for this demo), and writes an SVG histogram.
 *
 *   audio_loop [periods] [svg path]
 */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "memoman.h"

#define FRAMES 256
#define MAX_VOICES 32

static _Alignas(64) unsigned char arena[4 << 20];

/* ---- The two allocators behind one interface -------------------------------------------------- */

typedef struct allocator {
	const char *name;
	void *(*alloc)(void *self, size_t n);
	void (*release)(void *self, void *p);
	void *self;
} allocator;

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

/* ---- Measuring every call ------------------------------------------------------------------------- */

typedef struct samples {
	uint32_t *v;
	size_t n, cap;
	uint64_t worst;    /* the slowest call, and what it was */
	size_t worst_size; /* bytes allocated, or 0 for a free */
} samples;

static void add(samples *s, uint64_t cycles, size_t size)
{
	if (s->n < s->cap)
		s->v[s->n++] = cycles > UINT32_MAX ? UINT32_MAX : (uint32_t)cycles;
	if (cycles > s->worst) {
		s->worst = cycles;
		s->worst_size = size;
	}
}

static void *timed_alloc(const allocator *a, samples *s, size_t n)
{
	uint64_t t0 = mm_cycles_now();
	void *p = a->alloc(a->self, n);
	add(s, mm_cycles_now() - t0, n);
	if (!p) {
		fprintf(stderr, "%s: allocation of %zu bytes failed\n", a->name, n);
		exit(1);
	}
	return p;
}

static void timed_release(const allocator *a, samples *s, void *p)
{
	uint64_t t0 = mm_cycles_now();
	a->release(a->self, p);
	add(s, mm_cycles_now() - t0, 0);
}

/* ---- The audio callback ---------------------------------------------------------------------------- */

#define DELAY_BYTES (256 << 10)

typedef struct voice {
	float *state; /* 192 bytes of filter and envelope state */
	int periods_left;
} voice;

static uint32_t next_random(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static float sink; /* keeps the processing from being optimised away */

static void run(const allocator *a, samples *s, int periods)
{
	voice voices[MAX_VOICES] = {{0}};
	uint32_t rnd = 2026;
	float *delay = NULL;
	for (int period = 0; period < periods; period++) {
		if (period % 500 == 250) {
			delay = timed_alloc(a, s, DELAY_BYTES);
			memset(delay, 0, DELAY_BYTES); /* a delay line starts silent */
		} else if (delay && period % 500 == 450) {
			timed_release(a, s, delay);
			delay = NULL;
		}
		float *in = timed_alloc(a, s, FRAMES * 2 * sizeof(float));
		float *out = timed_alloc(a, s, FRAMES * 2 * sizeof(float));
		int n_events = (int)(next_random(&rnd) % 6);
		void *events[8];
		for (int e = 0; e < n_events; e++)
			events[e] = timed_alloc(a, s, 24 + next_random(&rnd) % 40);
		float *fft = period % 4 == 0 ? timed_alloc(a, s, 1024 * 2 * sizeof(float)) : NULL;
		/* Voices start on note-on events and last a while. */
		for (int v = 0; v < MAX_VOICES; v++) {
			if (voices[v].state && --voices[v].periods_left == 0) {
				timed_release(a, s, voices[v].state);
				voices[v].state = NULL;
			} else if (!voices[v].state && next_random(&rnd) % 64 == 0) {
				voices[v].state = timed_alloc(a, s, 192);
				voices[v].periods_left = 10 + (int)(next_random(&rnd) % 400);
			}
		}
		/* Process: a gain and a mix. */
		for (int i = 0; i < FRAMES * 2; i++) {
			in[i] = (float)i * 0.001f;
			out[i] = in[i] * 0.5f + (fft ? fft[i % 2048] * 0.0f : 0.0f);
		}
		sink += out[FRAMES];
		if (fft)
			timed_release(a, s, fft);
		for (int e = 0; e < n_events; e++)
			timed_release(a, s, events[e]);
		timed_release(a, s, out);
		timed_release(a, s, in);
	}
	for (int v = 0; v < MAX_VOICES; v++)
		if (voices[v].state)
			timed_release(a, s, voices[v].state);
	if (delay)
		timed_release(a, s, delay);
}

/* ---- The UI thread: ordinary allocation with the system malloc ------------------------------------- */

static atomic_int ui_running;

static void *ui_thread(void *arg)
{
	(void)arg;
	uint32_t rnd = 77;
	void *held[64] = {0};
	while (atomic_load(&ui_running)) {
		unsigned k = next_random(&rnd) % 64;
		free(held[k]);
		size_t n = 1024u << (next_random(&rnd) % 10); /* 1 KiB .. 512 KiB: some mmapped, some not */
		held[k] = malloc(n);
		if (held[k])
			memset(held[k], 1, n);
	}
	for (int k = 0; k < 64; k++)
		free(held[k]);
	return NULL;
}

/* ---- Results ------------------------------------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Counts per second of mm_cycles_now(), measured against CLOCK_MONOTONIC. */
static double counts_per_ns(void)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint64_t c0 = mm_cycles_now();
	do
		clock_gettime(CLOCK_MONOTONIC, &t1);
	while ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec) < 50e6);
	uint64_t c1 = mm_cycles_now();
	return (double)(c1 - c0) / ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec));
}

typedef struct summary {
	double median, p999, worst; /* ns */
	uint64_t hist[40];          /* log2 buckets of ns */
} summary;

static summary summarize(samples *s, double per_ns)
{
	summary r;
	memset(&r, 0, sizeof(r));
	qsort(s->v, s->n, sizeof(uint32_t), cmp_u32);
	r.median = s->v[s->n / 2] / per_ns;
	r.p999 = s->v[(size_t)((double)s->n * 0.999)] / per_ns;
	r.worst = s->v[s->n - 1] / per_ns;
	for (size_t i = 0; i < s->n; i++) {
		double ns = s->v[i] / per_ns;
		int k = ns < 1 ? 0 : (int)log2(ns);
		r.hist[k < 39 ? k : 39]++;
	}
	return r;
}

static void write_svg(const char *path, const summary *m, const summary *g, size_t calls)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "cannot write %s\n", path);
		return;
	}
	const int W = 860, H = 430, L = 80, B = 350, T = 100, first = 3, last = 21; /* buckets 8 ns .. 4 ms */
	double top = log10((double)calls) + 0.3;
	fprintf(
	    f,
	    "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' font-family='sans-serif' font-size='12'>\n",
	    W, H);
	fprintf(f, "<rect width='100%%' height='100%%' fill='white'/>\n");
	fprintf(f,
	        "<text x='%d' y='24' font-size='15'>Latency of each allocation and free in a simulated audio callback "
	        "(%zu calls each)</text>\n",
	        L, calls);
	double bw = (double)(W - L - 20) / (last - first + 1);
	for (int k = first; k <= last; k++) {
		double x = L + (k - first) * bw;
		const summary *s[2] = {m, g};
		const char *color[2] = {"#1f77b4", "#ff7f0e"};
		for (int j = 0; j < 2; j++) {
			uint64_t c = s[j]->hist[k];
			if (!c)
				continue;
			double h = (log10((double)c) + 0.3) / top * (B - T);
			fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='%s'/>\n",
			        x + j * bw / 2 + 1, B - h, bw / 2 - 2, h, color[j]);
		}
		if ((k - first) % 3 == 0) {
			double ns = ldexp(1, k);
			const char *unit = ns >= 1e6 ? "ms" : ns >= 1e3 ? "us" : "ns";
			double v = ns >= 1e6 ? ns / 1e6 : ns >= 1e3 ? ns / 1e3 : ns;
			fprintf(f, "<text x='%.1f' y='%d' text-anchor='middle'>%.3g %s</text>\n", x + bw / 2, B + 18, v,
			        unit);
		}
	}
	fprintf(f, "<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='black'/>\n", L, B, W - 20, B);
	for (int e = 0; e <= (int)top; e++) { /* y ticks at 1, 10, 100 ... calls */
		double y = B - (e + 0.3) / top * (B - T);
		fprintf(f, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='#ccc'/>\n", L, y, W - 20, y);
		fprintf(f, "<text x='%d' y='%.1f' text-anchor='end'>%.0f</text>\n", L - 6, y + 4, pow(10, e));
	}
	fprintf(f, "<text x='%d' y='%d' text-anchor='middle'>latency (log2 buckets)</text>\n", W / 2, B + 40);
	fprintf(f, "<text x='20' y='%d' transform='rotate(-90 20 %d)' text-anchor='middle'>calls (log scale)</text>\n",
	        (B + T) / 2, (B + T) / 2);
	fprintf(f,
	        "<rect x='%d' y='40' width='12' height='12' fill='#1f77b4'/><text x='%d' y='51'>memoman heap (audio "
	        "preset): median %.0f ns, p99.9 %.0f ns, worst %.0f ns</text>\n",
	        L + 10, L + 28, m->median, m->p999, m->worst);
	fprintf(f,
	        "<rect x='%d' y='58' width='12' height='12' fill='#ff7f0e'/><text x='%d' y='69'>system malloc: median "
	        "%.0f ns, p99.9 %.0f ns, worst %.0f ns</text>\n",
	        L + 10, L + 28, g->median, g->p999, g->worst);
	fprintf(f, "</svg>\n");
	fclose(f);
}

int main(int argc, char **argv)
{
	int periods = argc > 1 ? atoi(argv[1]) : 20000;
	const char *svg = argc > 2 ? argv[2] : "audio_latency.svg";
	double per_ns = counts_per_ns();
	/* What a real audio thread does: a real-time priority and memory that cannot be paged out. On a
	 * shared machine without them, the worst cases below are the scheduler's as much as the
	 * allocators'. */
	struct sched_param sp = {.sched_priority = 80};
	int rt = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0;
	int locked = mlockall(MCL_CURRENT | MCL_FUTURE) == 0;

	memset(arena, 0, sizeof(arena)); /* fault the arena in before the loop: no OS work after this */
	mm_heap_config cfg;
	if (!mm_heap_preset(MM_HEAP_PRESET_AUDIO, sizeof(arena), &cfg))
		return 1;
	mm_heap_t heap = mm_heap_create(arena, sizeof(arena), &cfg);

	size_t cap = (size_t)periods * 40;
	samples ms = {malloc(cap * sizeof(uint32_t)), 0, cap, 0, 0},
	        gs = {malloc(cap * sizeof(uint32_t)), 0, cap, 0, 0};
	allocator mm = {"memoman", heap_alloc, heap_release, heap};
	allocator sys = {"system malloc", sys_alloc, sys_release, NULL};

	pthread_t ui;
	atomic_store(&ui_running, 1);
	pthread_create(&ui, NULL, ui_thread, NULL);
	run(&mm, &ms, periods / 10); /* warm up both, then measure */
	run(&sys, &gs, periods / 10);
	ms.n = gs.n = 0;
	ms.worst = gs.worst = 0;
	for (int round = 0; round < 10; round++) { /* alternate, so the machine's noise reaches both */
		run(&mm, &ms, periods / 10);
		run(&sys, &gs, periods / 10);
	}
	/* The library's own account: one more run with its cycle tracking on (two fenced counter reads
	 * inside every call, which is why the comparison above ran without it). */
	mm_reset_stats(heap);
	int tracked = mm_track_cycles(heap, 1);
	samples scratch_samples = {ms.v, 0, 0, 0, 0};
	run(&mm, &scratch_samples, periods / 10);
	atomic_store(&ui_running, 0);
	pthread_join(ui, NULL);

	summary m = summarize(&ms, per_ns), g = summarize(&gs, per_ns);
	printf("Simulated audio loop: %d callbacks of %d frames, a UI thread allocating with malloc meanwhile.\n",
	       periods, FRAMES);
	printf("Audio thread: %s, %s.\n", rt ? "SCHED_FIFO priority 80" : "ordinary priority (SCHED_FIFO refused)",
	       locked ? "memory locked" : "memory not locked (mlockall refused)");
	printf("Latency of each allocation and free (%zu calls each), measured with %s:\n\n", ms.n, mm_cycle_source());
	printf("  %-28s %10s %10s %12s\n", "", "median", "p99.9", "worst");
	printf("  %-28s %8.0f ns %8.0f ns %10.0f ns\n", "memoman heap (audio preset)", m.median, m.p999, m.worst);
	printf("  %-28s %8.0f ns %8.0f ns %10.0f ns\n", "system malloc", g.median, g.p999, g.worst);
	printf(
	    "\n  slowest call: memoman %s, system malloc %s\n",
	    ms.worst_size ? (ms.worst_size >= DELAY_BYTES ? "allocating the 256 KiB delay line" : "a small allocation")
	                  : "a free",
	    gs.worst_size ? (gs.worst_size >= DELAY_BYTES ? "allocating the 256 KiB delay line" : "a small allocation")
	                  : "a free");
	printf("\nThe heap's own account (mm_print, after one more run of %d callbacks with its cycle tracking on):\n",
	       periods / 10);
	mm_print(heap, stdout);
	if (tracked) {
		mm_timing t;
		mm_get_timing(heap, MM_OP_MALLOC, &t);
		printf("\nWorst malloc the library measured: %.0f ns; worst free: ", t.max / per_ns);
		mm_get_timing(heap, MM_OP_FREE, &t);
		printf("%.0f ns (the library's timer sits inside the call; the demo's outside).\n", t.max / per_ns);
	}
	write_svg(svg, &m, &g, ms.n);
	printf("\nHistogram: %s\n", svg);
	free(ms.v);
	free(gs.v);
	return mm_heap_validate(heap) ? 0 : 1;
}

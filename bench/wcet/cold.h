// SPDX-License-Identifier: MIT
/*
 * cold.h - the WCET harness (make wcet, bench/wcet/run.sh). tests/bounds/bounds.c, built with
 * BOUNDS_WCET, includes this instead of callgrind: its constructed worst paths of every real-time
 * entry point then run with cold caches, each call timed alone. MEASURE(label, call):
 *   1. walks 8,192 pages of a buffer of its own (one load each), so that the TLB's entries for the
 *      allocator's memory are gone (about 1,500 second-level entries on current x86 cores);
 *   2. flushes, with clflush, every cache line of the arena the instances live in (8 MiB) and of the
 *      program's code (the allocator is linked in), and for glibc's rows libc's whole mapping and
 *      its heap: the call finds neither its data nor its instructions in any cache level;
 *   3. reads the time-stamp counter around the call (lfence on both sides).
 * Each label is measured at most 4 times a round (a construction may repeat a path many times);
 * the rounds rebuild every state. The figures are TSC ticks (the constant-rate counter: on this
 * machine's virtual CPU, about one per nanosecond at the nominal frequency), timer included; the
 * "timer" row is an empty MEASURE. x86-64 only (rdtsc, clflush).
 */
#if !defined(__x86_64__)
#error "the WCET harness reads the x86-64 time-stamp counter and flushes with clflush"
#endif
#include <link.h>
#include <malloc.h>
#include <unistd.h>
#include <x86intrin.h>

#define CALLGRIND_ZERO_STATS ((void)0)
#define CALLGRIND_DUMP_STATS_AT(label) ((void)(label))

extern char __executable_start[], etext[];

typedef struct series {
	char label[64];
	uint64_t *t;
	size_t n, cap, taken;
} series;
static series wcet_all[256];
static size_t wcet_n;
static int wcet_glibc; /* flush libc and its heap too */
static _Alignas(4096) unsigned char tlb_walk[8192 * 4096];

static series *take(const char *label)
{
	char key[64];
	size_t k = 0;
	while (label[k] && label[k] != '=' && k < sizeof(key) - 1) /* "mm_reset pools=3,..." -> "mm_reset pools" */
		key[k] = label[k], k++;
	key[k] = 0;
	for (size_t i = 0; i < wcet_n; i++)
		if (strcmp(wcet_all[i].label, key) == 0)
			return wcet_all[i].taken++ < 4 ? &wcet_all[i] : NULL;
	must(wcet_n < sizeof(wcet_all) / sizeof(wcet_all[0]));
	series *s = &wcet_all[wcet_n++];
	memcpy(s->label, key, k + 1);
	s->taken = 1;
	return s;
}

static void add(series *s, uint64_t t)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->t = realloc(s->t, s->cap * sizeof(uint64_t));
		must(s->t != NULL);
	}
	s->t[s->n++] = t;
}

static void flush_range(const void *from, const void *to)
{
	for (const char *p = (const char *)((uintptr_t)from & ~(uintptr_t)63); p < (const char *)to; p += 64)
		_mm_clflush(p);
}

static int flush_libc(struct dl_phdr_info *info, size_t size, void *user)
{
	(void)size;
	(void)user;
	if (!strstr(info->dlpi_name, "libc.so"))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_LOAD) {
			const char *a = (const char *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
			flush_range(a, a + info->dlpi_phdr[i].p_memsz);
		}
	return 1;
}

static void cold(void)
{
	volatile unsigned char sink = 0;
	for (size_t i = 0; i < sizeof(tlb_walk); i += 4096)
		sink = (unsigned char)(sink + tlb_walk[i]);
	flush_range(arena, arena + ARENA);
	flush_range(__executable_start, etext);
	if (wcet_glibc) {
		dl_iterate_phdr(flush_libc, NULL);
		char *top = sbrk(0);
		flush_range(top - mallinfo2().arena, top);
	}
	_mm_mfence();
}

static inline uint64_t ticks(void)
{
	_mm_lfence();
	uint64_t t = __rdtsc();
	_mm_lfence();
	return t;
}

#define MEASURE(label, stmt)                                                                                           \
	do {                                                                                                           \
		series *s_ = take(label);                                                                              \
		if (s_) {                                                                                              \
			cold();                                                                                        \
			uint64_t t0_ = ticks();                                                                        \
			stmt;                                                                                          \
			uint64_t t1_ = ticks();                                                                        \
			add(s_, t1_ - t0_);                                                                            \
		} else {                                                                                               \
			stmt;                                                                                          \
		}                                                                                                      \
	} while (0)

static void worst_core(void);
static void worst_fixed(void);
static void worst_heap(void);

#ifdef BENCH_CONTE /* TLSF 3.1 from a checkout the user gives (bench/CMakeLists.txt), renamed */
void *conte_tlsf_create_with_pool(void *mem, size_t bytes);
void *conte_tlsf_malloc(void *t, size_t bytes);
void *conte_tlsf_memalign(void *t, size_t align, size_t bytes);
void conte_tlsf_free(void *t, void *ptr);
#endif

/* The peers on the same kinds of path: TLSF 3.1's (its split, merge and gap, as bench_tlsf's
 * probes), glibc's malloc, free and memalign in a heap of a few thousand blocks. */
static void worst_peers(void)
{
#ifdef BENCH_CONTE
	for (size_t off = 0; off < 64; off += 16) {
		void *t = conte_tlsf_create_with_pool(arena, 1u << 20), *p, *x, *b, *y;
		must(t != NULL);
		MEASURE("tlsf31 malloc-split", p = conte_tlsf_malloc(t, 100 + off));
		x = conte_tlsf_malloc(t, 200), b = conte_tlsf_malloc(t, 300), y = conte_tlsf_malloc(t, 3000);
		must(p && x && b && y && conte_tlsf_malloc(t, 100));
		conte_tlsf_free(t, x);
		conte_tlsf_free(t, y);
		MEASURE("tlsf31 free-merge-both", conte_tlsf_free(t, b));
		MEASURE("tlsf31 memalign-gap", p = conte_tlsf_memalign(t, 4096, 100));
		must(p);
	}
#endif
	static void *keep[4096];
	wcet_glibc = 1;
	for (size_t i = 0; i < 4096; i++)
		keep[i] = malloc(16 + (i * 7919) % 3000);
	for (size_t i = 0; i < 4096; i += 2)
		free(keep[i]);
	for (int i = 0; i < 4; i++) {
		void *p, *q;
		MEASURE("glibc malloc", p = malloc(100));
		MEASURE("glibc malloc-large", q = malloc(5000));
		MEASURE("glibc free", free(p));
		MEASURE("glibc free-large", free(q));
		MEASURE("glibc memalign", p = memalign(4096, 100));
		free(p);
	}
	for (size_t i = 1; i < 4096; i += 2)
		free(keep[i]);
	wcet_glibc = 0;
}

static int by_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void print_row(const char *entry, const char *what, uint64_t *t, size_t n)
{
	qsort(t, n, sizeof(uint64_t), by_u64);
	printf("%s,%s,%zu,%llu,%llu,%llu,%llu,%llu\n", entry, what, n, (unsigned long long)t[0],
	       (unsigned long long)t[(n - 1) / 2], (unsigned long long)t[(size_t)((double)(n - 1) * 0.99)],
	       (unsigned long long)t[(size_t)((double)(n - 1) * 0.999)], (unsigned long long)t[n - 1]);
}

/* `rounds` rounds of every construction; then one line per label (entry, case) and one per entry
 * point with every case's samples together (case "all"): n min p50 p99 p99.9 max. */
static void wcet_run(size_t rounds)
{
	for (size_t r = 0; r < rounds; r++) {
		for (size_t i = 0; i < wcet_n; i++)
			wcet_all[i].taken = 0;
		for (int i = 0; i < 4; i++)
			MEASURE("timer empty", (void)0);
		worst_core();
		worst_fixed();
		worst_heap();
		worst_peers();
	}
	printf("entry,case,n,min,p50,p99,p99.9,max\n");
	for (size_t i = 0; i < wcet_n; i++) {
		series *s = &wcet_all[i];
		char entry[64];
		const char *sp = strchr(s->label, ' ');
		size_t k = sp ? (size_t)(sp - s->label) : strlen(s->label);
		memcpy(entry, s->label, k);
		entry[k] = 0;
		print_row(entry, sp ? sp + 1 : "", s->t, s->n);
	}
	for (size_t i = 0; i < wcet_n; i++) { /* each entry point once, at its first label */
		size_t k = strcspn(wcet_all[i].label, " "), n = 0, seen = 0;
		for (size_t j = 0; j < i; j++)
			seen |= strncmp(wcet_all[j].label, wcet_all[i].label, k) == 0 && wcet_all[j].label[k] == ' ';
		if (seen)
			continue;
		uint64_t *all = NULL;
		for (size_t j = i; j < wcet_n; j++)
			if (strncmp(wcet_all[j].label, wcet_all[i].label, k) == 0 && wcet_all[j].label[k] == ' ') {
				all = realloc(all, (n + wcet_all[j].n) * sizeof(uint64_t));
				must(all != NULL);
				memcpy(all + n, wcet_all[j].t, wcet_all[j].n * sizeof(uint64_t));
				n += wcet_all[j].n;
			}
		char entry[64];
		memcpy(entry, wcet_all[i].label, k);
		entry[k] = 0;
		print_row(entry, "all", all, n);
		free(all);
	}
}

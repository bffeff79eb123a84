// SPDX-License-Identifier: MIT
/*
 * run_bench.c - runs the general-purpose malloc benchmark: every workload under every allocator
 * (glibc, and the others through LD_PRELOAD), alternated within each round so that the machine's
 * noise reaches them alike, several rounds; measures wall time and peak resident memory of each
 * run (wait4's ru_maxrss); prints a table of medians, the geometric means and the ratios, and
 * writes a CSV and an SVG plot.
 *
 *   run_bench -o <dir> -r <rounds> -a name=/path/lib.so ... -w name=command ... [-c name] [-k name]
 *
 * -a adds an allocator ("glibc=" for none), -w a workload (a shell command), -c names the allocator
 * that the ratios compare (default: the last one added), -k a peer to compare it with (repeatable,
 * e.g. -k glibc -k mimalloc). A run whose exit status is not 0 is reported and counted as failed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX 24
#define MAX_ROUNDS 15

typedef struct entry {
	const char *name, *value;
} entry;

static entry allocs[MAX], works[MAX];
static size_t n_allocs, n_works;
static double secs[MAX][MAX][MAX_ROUNDS], rss[MAX][MAX][MAX_ROUNDS]; /* [work][alloc][round] */
static int failed[MAX][MAX];

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Runs a command under an allocator; 0 on success. */
static int run(const entry *a, const entry *w, double *seconds, double *max_rss_mib)
{
	double t0 = now();
	pid_t pid = fork();
	if (pid == 0) {
		if (a->value[0])
			setenv("LD_PRELOAD", a->value, 1);
		else
			unsetenv("LD_PRELOAD");
		setenv("BENCH_ALLOCATOR", a->name, 1);
		execl("/bin/sh", "sh", "-c", w->value, (char *)NULL);
		_exit(127);
	}
	int status = 0;
	struct rusage ru;
	if (pid < 0 || wait4(pid, &status, 0, &ru) < 0)
		return -1;
	*seconds = now() - t0;
	*max_rss_mib = (double)ru.ru_maxrss / 1024.0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double s[MAX_ROUNDS];
	memcpy(s, v, (size_t)n * sizeof(double));
	qsort(s, (size_t)n, sizeof(double), cmp);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static size_t find(const entry *e, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(e[i].name, name) == 0)
			return i;
	fprintf(stderr, "run_bench: no allocator %s\n", name);
	exit(2);
}

static void add(entry *e, size_t *n, char *arg)
{
	char *eq = strchr(arg, '=');
	if (!eq || *n >= MAX) {
		fprintf(stderr, "run_bench: expected name=value, got %s\n", arg);
		exit(2);
	}
	*eq = 0;
	e[*n].name = arg;
	e[*n].value = eq + 1;
	(*n)++;
}

/* ---- The plot: one group of bars per workload, time relative to the first allocator ----------------- */

static void plot(FILE *f, int rounds)
{
	const char *colors[] = {"#888888", "#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd", "#8c564b"};
	int w = 140 + (int)n_works * 110, h = 380;
	fprintf(f,
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" "
	        "font-size=\"11\">\n",
	        w, h);
	fprintf(f,
	        "<text x=\"10\" y=\"18\" font-size=\"14\">Wall time relative to %s (median of %d; lower is "
	        "better)</text>\n",
	        allocs[0].name, rounds);
	double top = 2.0;
	int x0 = 60, y0 = 320, plot_h = 260;
	for (int g = 0; g <= 4; g++) {
		double v = top * g / 4;
		int y = y0 - (int)(plot_h * v / top);
		fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>\n", x0, y, w - 10, y);
		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.1f</text>\n", x0 - 4, y + 4, v);
	}
	for (size_t wi = 0; wi < n_works; wi++) {
		double base = median(secs[wi][0], rounds);
		int gx = x0 + 10 + (int)wi * 110;
		for (size_t ai = 0; ai < n_allocs; ai++) {
			double v = median(secs[wi][ai], rounds) / base;
			double shown = v > top ? top : v;
			int bh = (int)(plot_h * shown / top), bx = gx + (int)ai * (90 / (int)n_allocs);
			fprintf(f,
			        "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"><title>%s %s: "
			        "%.2f</title></rect>\n",
			        bx, y0 - bh, 90 / (int)n_allocs - 2, bh, colors[ai % 7], works[wi].name,
			        allocs[ai].name, v);
		}
		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", gx + 45, y0 + 16,
		        works[wi].name);
	}
	for (size_t ai = 0; ai < n_allocs; ai++) {
		int lx = x0 + (int)ai * 100;
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>\n", lx, h - 30,
		        colors[ai % 7]);
		fprintf(f, "<text x=\"%d\" y=\"%d\">%s</text>\n", lx + 14, h - 21, allocs[ai].name);
	}
	fprintf(f, "</svg>\n");
}

int main(int argc, char **argv)
{
	const char *out = ".", *compare = NULL, *peers[MAX];
	size_t n_peers = 0;
	int rounds = 3;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-o") && i + 1 < argc)
			out = argv[++i];
		else if (!strcmp(argv[i], "-r") && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-a") && i + 1 < argc)
			add(allocs, &n_allocs, argv[++i]);
		else if (!strcmp(argv[i], "-w") && i + 1 < argc)
			add(works, &n_works, argv[++i]);
		else if (!strcmp(argv[i], "-c") && i + 1 < argc)
			compare = argv[++i];
		else if (!strcmp(argv[i], "-k") && i + 1 < argc && n_peers < MAX)
			peers[n_peers++] = argv[++i];
		else {
			fprintf(stderr, "run_bench: bad argument %s\n", argv[i]);
			return 2;
		}
	}
	if (!n_allocs || !n_works || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "run_bench: need allocators, workloads and 1..%d rounds\n", MAX_ROUNDS);
		return 2;
	}
	size_t me = compare ? find(allocs, n_allocs, compare) : n_allocs - 1;

	char path[4096];
	snprintf(path, sizeof(path), "%s/malloc.csv", out);
	FILE *csv = fopen(path, "w");
	if (!csv) {
		fprintf(stderr, "run_bench: cannot write %s: %s\n", path, strerror(errno));
		return 1;
	}
	fprintf(csv, "workload,allocator,round,seconds,peak_rss_mib,ok\n");
	for (int r = 0; r < rounds; r++) {
		for (size_t wi = 0; wi < n_works; wi++) {
			for (size_t k = 0; k < n_allocs; k++) {
				size_t ai = (k + (size_t)r + wi) % n_allocs; /* a different allocator first each time */
				double s = 0, m = 0;
				int rc = run(&allocs[ai], &works[wi], &s, &m);
				if (rc) {
					failed[wi][ai]++;
					fprintf(stderr, "run_bench: %s under %s failed\n", works[wi].name,
					        allocs[ai].name);
				}
				secs[wi][ai][r] = s;
				rss[wi][ai][r] = m;
				fprintf(csv, "%s,%s,%d,%.4f,%.1f,%d\n", works[wi].name, allocs[ai].name, r, s, m,
				        rc == 0);
				fflush(csv);
			}
		}
		fprintf(stderr, "round %d of %d done\n", r + 1, rounds);
	}
	fclose(csv);

	/* The table. */
	printf("%-12s", "seconds");
	for (size_t ai = 0; ai < n_allocs; ai++)
		printf(" %10s", allocs[ai].name);
	printf("\n");
	double glog[MAX] = {0}, rlog[MAX] = {0};
	for (size_t wi = 0; wi < n_works; wi++) {
		printf("%-12s", works[wi].name);
		for (size_t ai = 0; ai < n_allocs; ai++) {
			double t = median(secs[wi][ai], rounds);
			glog[ai] += log(t);
			printf(" %9.3f%s", t, failed[wi][ai] ? "!" : " ");
		}
		printf("\n");
	}
	printf("%-12s", "geomean");
	for (size_t ai = 0; ai < n_allocs; ai++)
		printf(" %9.3f ", exp(glog[ai] / (double)n_works));
	printf("\n\n%-12s", "peak RSS MiB");
	for (size_t ai = 0; ai < n_allocs; ai++)
		printf(" %10s", allocs[ai].name);
	printf("\n");
	for (size_t wi = 0; wi < n_works; wi++) {
		printf("%-12s", works[wi].name);
		for (size_t ai = 0; ai < n_allocs; ai++) {
			double m = median(rss[wi][ai], rounds);
			rlog[ai] += log(m > 0.01 ? m : 0.01);
			printf(" %10.1f", m);
		}
		printf("\n");
	}
	printf("%-12s", "geomean");
	for (size_t ai = 0; ai < n_allocs; ai++)
		printf(" %10.1f", exp(rlog[ai] / (double)n_works));
	printf("\n");

	/* The comparison asked for. */
	for (size_t p = 0; p < n_peers; p++) {
		size_t pi = find(allocs, n_allocs, peers[p]);
		int slower = 0;
		printf("\n%s against %s: time ratio per workload", allocs[me].name, allocs[pi].name);
		for (size_t wi = 0; wi < n_works; wi++) {
			double ratio = median(secs[wi][me], rounds) / median(secs[wi][pi], rounds);
			slower += ratio >= 1.0;
			printf("%s %s %.2f", wi ? "," : "", works[wi].name, ratio);
		}
		printf("\n  geomean time %.3fx, geomean peak RSS %.3fx, slower on %d of %zu workloads\n",
		       exp((glog[me] - glog[pi]) / (double)n_works), exp((rlog[me] - rlog[pi]) / (double)n_works),
		       slower, n_works);
	}

	snprintf(path, sizeof(path), "%s/malloc.svg", out);
	FILE *svg = fopen(path, "w");
	if (svg) {
		plot(svg, rounds);
		fclose(svg);
	}
	printf("\nresults: %s/malloc.csv, %s/malloc.svg\n", out, out);
	return 0;
}

/*
 * test_malloc_report.c - the MEMOMAN_STATS report as a user meets it. Built without memoman and run
 * under LD_PRELOAD=libmemoman-malloc.so: it runs itself again as children, each of which allocates
 * a little and closes standard error in an atexit handler (as sort and ls do), and checks
 *   - MEMOMAN_STATS=1: the report still reaches what was standard error (a pipe here), its first
 *     line naming the program and the child's pid, sizes in human units, a few lines only;
 *   - MEMOMAN_STATS=2: the same with one line per size class;
 *   - MEMOMAN_STATS=<path>: nothing on standard error, and the file <path>.<pid> holds the report,
 *     its first line naming the program and the pid.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;
#define CHECK(c)                                                                                                       \
	do {                                                                                                           \
		if (!(c)) {                                                                                            \
			failures++;                                                                                    \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);                          \
		}                                                                                                      \
	} while (0)

static void close_stderr(void)
{
	fclose(stderr);
	close(2);
}

static int child(void)
{
	atexit(close_stderr); /* runs before the allocator's handler, registered at its set-up */
	void *keep[100];
	for (int i = 0; i < 100; i++)
		keep[i] = malloc((size_t)i * 40 + 1);
	for (int i = 0; i < 50; i++)
		free(keep[i]);
	void *big = malloc(3 << 20);
	(void)big;
	return 0;
}

/* Runs this program as a child with MEMOMAN_STATS=value, its standard output and error into a pipe;
 * the output in buf, the child's pid returned. */
static pid_t run(const char *self, const char *value, char *buf, size_t size)
{
	int fds[2];
	if (pipe(fds) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		setenv("MEMOMAN_STATS", value, 1);
		execl(self, self, "child", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	size_t n = 0;
	ssize_t r;
	while (n < size - 1 && (r = read(fds[0], buf + n, size - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
	close(fds[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return pid;
}

static int lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The first line names the program and the pid. */
static void check_first_line(const char *text, pid_t pid)
{
	char want[64];
	snprintf(want, sizeof(want), "memoman: test_malloc_report ");
	CHECK(strncmp(text, want, strlen(want)) == 0);
	snprintf(want, sizeof(want), "(pid %ld): live blocks ", (long)pid);
	const char *eol = strchr(text, '\n');
	const char *at = strstr(text, want);
	CHECK(at != NULL && eol != NULL && at < eol);
	CHECK(strstr(text, "mapped ") && strstr(text, "returned to the OS ") && strstr(text, "resident"));
	CHECK(strstr(text, " KiB") || strstr(text, " MiB"));
	CHECK(strstr(text, "large region <= 32 MiB 3.")); /* the 3 MiB block, alive at exit (and rounded) */
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "child") == 0)
		return child();
	static char out[65536];
	char self[4096];
	ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (k <= 0)
		return 1;
	self[k] = 0;

	pid_t pid = run(self, "1", out, sizeof(out));
	check_first_line(out, pid);
	CHECK(lines(out) >= 2 && lines(out) <= 5);
	if (failures)
		fprintf(stderr, "MEMOMAN_STATS=1 gave:\n%s", out);

	int before = failures;
	pid = run(self, "2", out, sizeof(out));
	check_first_line(out, pid);
	CHECK(strstr(out, "\nmemoman:     16 B class: ") != NULL); /* the class lines */
	CHECK(lines(out) > 6);
	if (failures > before)
		fprintf(stderr, "MEMOMAN_STATS=2 gave:\n%s", out);

	before = failures;
	char path[64], file[96];
	snprintf(path, sizeof(path), "/tmp/memoman-report-test.%ld", (long)getpid());
	pid = run(self, path, out, sizeof(out));
	CHECK(out[0] == 0); /* nothing on standard error */
	snprintf(file, sizeof(file), "%s.%ld", path, (long)pid);
	FILE *f = fopen(file, "r");
	CHECK(f != NULL);
	if (f) {
		size_t n = fread(out, 1, sizeof(out) - 1, f);
		out[n] = 0;
		fclose(f);
		check_first_line(out, pid);
		CHECK(lines(out) >= 2 && lines(out) <= 5);
		remove(file);
	}
	if (failures > before)
		fprintf(stderr, "MEMOMAN_STATS=%s gave:\n%s", path, out);

	if (failures)
		fprintf(stderr, "test_malloc_report: %d checks failed\n", failures);
	else
		printf("test_malloc_report: all checks passed\n");
	return failures != 0;
}

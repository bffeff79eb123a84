// SPDX-License-Identifier: MIT
/*
 * test_malloc_report.c - the MEMOMAN_STATS report as a user meets it. Built without memoman and run
 * under LD_PRELOAD=libmemoman-malloc.so: it runs itself again as children (argv[0] kept, so the
 * program's name is its basename), each of which allocates a little, and checks
 *   - MEMOMAN_STATS=1, the child closing standard error in an atexit handler (as sort and ls do):
 *     the report still reaches what was standard error (a pipe here), its first line naming the
 *     program and the child's pid, live blocks as a figure in KiB or MiB, a few lines only;
 *   - MEMOMAN_STATS=2: the same with one line per size class;
 *   - MEMOMAN_STATS=PATH (with a /): nothing on standard error, and the file PATH.PID holds the
 *     report, its first line naming the program and the pid;
 *   - MEMOMAN_STATS=PATH where PATH.PID is a symbolic link: not followed, "cannot create" said;
 *   - MEMOMAN_STATS=true: one warning line on standard error, then the short report there, and no
 *     file created (the child runs in an empty folder);
 *   - a child that points descriptor 2 at a file (dup2) after set-up: the report is in the file,
 *     nothing in the pipe that was standard error;
 *   - a child that closes standard error and every other descriptor, then puts a file of its own at
 *     the number of the allocator's copy of standard error: the file stays empty;
 *   - a child that forks a daemon-like grandchild (closes 0, 1 and 2, sleeps) and exits: the pipe
 *     that was the child's standard error reaches end of file at once (within 2 s), not when the
 *     grandchild exits.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mcheck.h"

static void *volatile sink; /* keeps the 3 MiB block alive, whatever the compiler knows of malloc */

static void close_stderr(void)
{
	fclose(stderr);
	close(2);
}

static void allocate(void)
{
	void *keep[100];
	for (int i = 0; i < 100; i++)
		keep[i] = malloc((size_t)i * 40 + 1);
	for (int i = 0; i < 50; i++)
		free(keep[i]);
	sink = malloc(3 << 20);
}

/* The children: argv[1] says which, argv[2] is a file for some. */
static int child(int argc, char **argv)
{
	const char *mode = argv[1];
	const char *file = argc > 2 ? argv[2] : "";
	allocate();
	if (strcmp(mode, "child") == 0) {
		atexit(close_stderr); /* runs before the allocator's handler, registered at its set-up */
	} else if (strcmp(mode, "redirect") == 0) {
		int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || dup2(fd, 2) != 2)
			return 3;
		close(fd);
	} else if (strcmp(mode, "reuse") == 0) {
		/* Every descriptor above 2 open now is the allocator's (the pipe's were closed before exec). */
		int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			return 3;
		for (int d = 3; d < 1024; d++)
			if (d != fd && fcntl(d, F_GETFD) != -1 && (dup2(fd, d) != d))
				return 4;
		close(fd);
		atexit(close_stderr);
	} else if (strcmp(mode, "symlink") == 0) {
		/* MEMOMAN_STATS=DIR/link: DIR/link.PID made a symbolic link to `file`. */
		char link[4200];
		snprintf(link, sizeof(link), "%s.%ld", getenv("MEMOMAN_STATS"), (long)getpid());
		if (symlink(file, link) != 0)
			return 3;
	} else if (strcmp(mode, "daemon") == 0) {
		pid_t g = fork();
		if (g < 0)
			return 5;
		if (g == 0) {
			close(0);
			close(1);
			close(2);
			sleep(10);
			_exit(0);
		}
		printf("grandchild %ld\n", (long)g);
		fflush(stdout);
	}
	return 0;
}

/* Runs this program as a child (mode, file) with MEMOMAN_STATS=value, in folder dir, its standard
 * output and error into a pipe; the output in buf, the child's pid returned. Reads with a deadline
 * of `seconds`; *eof_in_time says whether the pipe reached end of file by then. */
static pid_t run_ex(const char *self, const char *argv0, const char *mode, const char *file, const char *value,
                    const char *dir, char *buf, size_t size, int seconds, int *eof_in_time)
{
	int fds[2];
	buf[0] = 0;
	if (pipe(fds) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		if (chdir(dir) != 0)
			_exit(126);
		setenv("MEMOMAN_STATS", value, 1);
		execl(self, argv0, mode, file, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	size_t n = 0;
	int eof = 0;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = seconds * 1000L - ((t.tv_sec - t0.tv_sec) * 1000L + (t.tv_nsec - t0.tv_nsec) / 1000000L);
		if (left <= 0)
			break;
		struct pollfd p = {fds[0], POLLIN, 0};
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		ssize_t r = read(fds[0], buf + n, size - 1 - n);
		if (r <= 0) {
			eof = 1;
			break;
		}
		n += (size_t)r;
		if (n == size - 1)
			break;
	}
	buf[n] = 0;
	close(fds[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (eof_in_time)
		*eof_in_time = eof;
	return pid;
}

static pid_t run(const char *self, const char *argv0, const char *mode, const char *file, const char *value,
                 const char *dir, char *buf, size_t size)
{
	int eof = 0;
	pid_t pid = run_ex(self, argv0, mode, file, value, dir, buf, size, 30, &eof);
	CHECK(eof);
	return pid;
}

static int lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static int matches(const char *text, const char *pattern)
{
	regex_t re;
	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
		return 0;
	int m = regexec(&re, text, 0, NULL, 0) == 0;
	regfree(&re);
	return m;
}

static const char *name; /* the program's name: the basename of argv[0] */

/* The report's first line names the program and the pid; its figures are in human units. */
static void check_report(const char *text, pid_t pid)
{
	char want[512];
	snprintf(want, sizeof(want), "memoman: %s ", name);
	CHECK(strncmp(text, want, strlen(want)) == 0);
	snprintf(want, sizeof(want), "(pid %ld): live blocks ", (long)pid);
	const char *eol = strchr(text, '\n');
	const char *at = strstr(text, want);
	CHECK(at != NULL && eol != NULL && at < eol);
	/* 50 small blocks and the 3 MiB one: a figure with one decimal, in MiB. */
	CHECK(matches(text, "^memoman: [^\n]* \\(pid [0-9]+\\): live blocks 3\\.[0-9] MiB, mapped [0-9]+\\.[0-9] MiB "
	                    "\\(peak [0-9]+\\.[0-9] MiB\\), returned to the OS [0-9]+(\\.[0-9] [KMG]iB| B), "
	                    "resident \\(whole process\\) [0-9]+\\.[0-9] [KMG]iB\n"));
	CHECK(matches(text, "large region <= 32 MiB 3\\.[0-9] MiB")); /* the 3 MiB block, alive at exit */
}

static int file_text(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	buf[0] = 0;
	if (!f)
		return 0;
	size_t n = fread(buf, 1, size - 1, f);
	buf[n] = 0;
	fclose(f);
	return 1;
}

static int folder_empty(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int empty = 1;
	for (struct dirent *e; (e = readdir(d));)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	return empty;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		return child(argc, argv);
	const char *slash = strrchr(argv[0], '/');
	name = slash ? slash + 1 : argv[0];
	static char out[65536];
	char self[4096];
	ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (k <= 0)
		return 1;
	self[k] = 0;
	char dir[64];
	snprintf(dir, sizeof(dir), "/tmp/memoman-report-test.XXXXXX");
	if (!mkdtemp(dir))
		return 1;

	pid_t pid = run(self, argv[0], "child", "", "1", dir, out, sizeof(out));
	check_report(out, pid);
	CHECK(lines(out) >= 2 && lines(out) <= 5);
	if (failures)
		fprintf(stderr, "MEMOMAN_STATS=1 gave:\n%s", out);

	int before = failures;
	pid = run(self, argv[0], "child", "", "2", dir, out, sizeof(out));
	check_report(out, pid);
	CHECK(strstr(out, "\nmemoman:     16 B class: ") != NULL); /* the class lines */
	CHECK(lines(out) > 6);
	if (failures > before)
		fprintf(stderr, "MEMOMAN_STATS=2 gave:\n%s", out);

	before = failures;
	char path[128], file[160];
	snprintf(path, sizeof(path), "%s/report", dir);
	pid = run(self, argv[0], "child", "", path, dir, out, sizeof(out));
	CHECK(out[0] == 0); /* nothing on standard error */
	snprintf(file, sizeof(file), "%s.%ld", path, (long)pid);
	CHECK(file_text(file, out, sizeof(out)));
	check_report(out, pid);
	CHECK(lines(out) >= 2 && lines(out) <= 5);
	remove(file);
	if (failures > before)
		fprintf(stderr, "MEMOMAN_STATS=%s gave:\n%s", path, out);

	/* A value that is neither a level nor a path: a warning, the short report, no file. */
	before = failures;
	pid = run(self, argv[0], "child", "", "true", dir, out, sizeof(out));
	const char *warning = "memoman: MEMOMAN_STATS=true not understood: use 1, 2, verbose or a path with a /\n";
	CHECK(strncmp(out, warning, strlen(warning)) == 0);
	check_report(out + strlen(warning), pid);
	CHECK(lines(out) >= 3 && lines(out) <= 6);
	CHECK(folder_empty(dir));
	if (failures > before)
		fprintf(stderr, "MEMOMAN_STATS=true gave:\n%s", out);

	/* Standard error pointed elsewhere after set-up: the report follows it. */
	before = failures;
	snprintf(file, sizeof(file), "%s/stderr", dir);
	pid = run(self, argv[0], "redirect", file, "1", dir, out, sizeof(out));
	CHECK(out[0] == 0);
	static char text[65536];
	CHECK(file_text(file, text, sizeof(text)));
	check_report(text, pid);
	remove(file);
	if (failures > before)
		fprintf(stderr, "redirected: the pipe had:\n%s\nthe file had:\n%s", out, text);

	/* Standard error closed, and the copy's number reused for a file of the program's. */
	before = failures;
	snprintf(file, sizeof(file), "%s/own", dir);
	run(self, argv[0], "reuse", file, "1", dir, out, sizeof(out));
	CHECK(out[0] == 0);
	CHECK(file_text(file, text, sizeof(text)));
	CHECK(text[0] == 0);
	remove(file);
	if (failures > before)
		fprintf(stderr, "reused: the pipe had:\n%s\nthe file had:\n%s", out, text);

	/* The report's file is not created through a symbolic link. */
	before = failures;
	char link[160];
	snprintf(file, sizeof(file), "%s/target", dir);
	snprintf(path, sizeof(path), "%s/link", dir);
	pid = run(self, argv[0], "symlink", file, path, dir, out, sizeof(out));
	snprintf(link, sizeof(link), "%s.%ld", path, (long)pid);
	CHECK(access(file, F_OK) != 0); /* the link's target was not created */
	CHECK(strstr(out, "memoman: MEMOMAN_STATS: cannot create ") != NULL);
	remove(link);
	remove(file);
	if (failures > before)
		fprintf(stderr, "symbolic link: the pipe had:\n%s", out);

	/* A daemon (forked, standard descriptors closed) does not hold the pipe open. */
	before = failures;
	int eof = 0;
	pid = run_ex(self, argv[0], "daemon", "", "1", dir, out, sizeof(out), 2, &eof);
	CHECK(eof); /* end of file within 2 s; the grandchild sleeps 10 */
	long g = 0;
	const char *at = strstr(out, "grandchild ");
	CHECK(at && sscanf(at, "grandchild %ld", &g) == 1 && g > 0);
	if (g > 0)
		kill((pid_t)g, SIGKILL);
	at = strstr(out, "memoman: ");
	CHECK(at != NULL);
	if (at)
		check_report(at, pid); /* the child's own report, on its standard error */
	if (failures > before)
		fprintf(stderr, "daemon: the pipe had:\n%s", out);

	rmdir(dir);
	if (failures)
		fprintf(stderr, "test_malloc_report: %d checks failed\n", failures);
	else
		printf("test_malloc_report: all checks passed\n");
	return failures != 0;
}

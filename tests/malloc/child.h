// SPDX-License-Identifier: MIT
/*
 * child.h - runs a misuse in a child process, for the malloc tests that expect one to abort with a
 * message (test_malloc_errors, test_malloc_secure). Included after mcheck.h (CHECK) and names.h, so
 * that a sanitizer build's child calls the prefixed allocator too.
 */
#ifndef MEMOMAN_TESTS_CHILD_H
#define MEMOMAN_TESTS_CHILD_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs `run` in a child with its standard error captured into out (cap bytes, terminated), and with
 * MEMOMAN_ERRORS=report if `report`; a child still there afterwards must find the allocator working
 * (1,000 allocations and frees) and exits 0. Returns the child's wait status (-1: no pipe). */
static inline int run_child(void (*run)(void), int report, char *out, size_t cap)
{
	int fds[2];
	if (pipe(fds) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		if (report)
			setenv("MEMOMAN_ERRORS", "report", 1);
		run();
		for (int i = 0; i < 1000; i++)
			free(malloc((size_t)i * 37));
		_exit(0);
	}
	close(fds[1]);
	size_t n = 0;
	ssize_t r;
	while (n + 1 < cap && (r = read(fds[0], out + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = 0;
	close(fds[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	return status;
}

/* A misuse case: by default the child must die of SIGABRT having said `message`; with
 * MEMOMAN_ERRORS=report it must say it and go on (exit 0). */
static inline void check_reported(const char *name, const char *message, void (*run)(void))
{
	char out[4096];
	int status = run_child(run, 0, out, sizeof(out));
	int aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
	CHECK(aborted && strstr(out, message));
	if (!aborted || !strstr(out, message))
		fprintf(stderr, "  case \"%s\": status %d, said \"%s\"\n", name, status, out);
	status = run_child(run, 1, out, sizeof(out));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0 && strstr(out, message));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !strstr(out, message))
		fprintf(stderr, "  case \"%s\" (report): status %d, said \"%s\"\n", name, status, out);
}

#endif

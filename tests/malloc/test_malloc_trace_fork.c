// SPDX-License-Identifier: MIT
/*
 * test_malloc_trace_fork.c - malloc's and free's fast paths while MEMOMAN_TRACE records, and in a
 * child of fork, which is not traced (run with MEMOMAN_TRACE set; through the private header):
 *   - while the trace records, the thread's direct entries point at the empty page and its pages'
 *     owner words carry MM_OWNER_TRACED, so that both fast paths miss (and their misses write the
 *     trace's lines: tests/malloc/trace.sh checks those);
 *   - in the child, the trace is off, the direct entries point at the thread's pages again and the
 *     owner words are plain, so that its fast paths hit; its blocks work.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/malloc/malloc_internal.h"
#include "mcheck.h"

static void *volatile sink;

int main(void)
{
	if (!getenv("MEMOMAN_TRACE")) {
		fprintf(stderr, "test_malloc_trace_fork: run with MEMOMAN_TRACE set (ctest does)\n");
		return 1;
	}
	enum { SIZE = 32 };
	void *keep = malloc(SIZE); /* the page stays its class's current page */
	sink = keep;
	free(malloc(SIZE));
	mm_tcache *tc = mm_tl_tcache;
	size_t step = (SIZE + MM_CANARY_BYTES + 15) >> 4;
	mm_page *page = tc->queues[mm_class_of(SIZE + MM_CANARY_BYTES)].first;
	CHECK(__atomic_load_n(&mm_trace_state, __ATOMIC_RELAXED) == MM_TRACE_ON);
	CHECK(tc->direct[step] == &mm_page_empty);
	CHECK(page != NULL);
	if (!page)
		return check_done("test_malloc_trace_fork");
	CHECK((atomic_load(&page->owner) & MM_OWNER_TRACED) != 0);
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		int bad = 0;
		bad |= (__atomic_load_n(&mm_trace_state, __ATOMIC_RELAXED) != MM_TRACE_OFF) << 0;
		bad |= (tc->direct[step] != page) << 1;
		bad |= (atomic_load(&page->owner) != (uintptr_t)tc) << 2;
		for (int i = 0; i < 1000; i++) {
			unsigned char *p = malloc(SIZE);
			bad |= (p == NULL) << 3;
			if (p) {
				memset(p, i, SIZE);
				free(p);
			}
		}
		_exit(bad);
	}
	int status = 0;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fprintf(stderr, "child: status %d\n", status);
	free(keep);
	return check_done("test_malloc_trace_fork");
}

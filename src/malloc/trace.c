// SPDX-License-Identifier: MIT
/*
 * trace.c - MEMOMAN_TRACE=<file>: every allocation and free of the program, as the trace lines the
 * lower layer reads (docs/realtime.md, "Suggestions and traces"), for memoman-trace and
 * mm_heap_suggest_from_trace:
 *
 *   a <id> <size>     an allocation (id: the block's address in hexadecimal; 0: it failed)
 *   f <id>            a free
 *
 * A realloc is "f <old>" then "a <new> <size>"; calloc, memalign and the other aligned calls are
 * allocations of their size. One buffer for the process, under a lock, written with write(2) when
 * full and at exit: the lines of all threads in one order that a replay can follow, because
 *   - an allocation's line is written after the block exists, and before the caller can hand the
 *     block to another thread that would free it;
 *   - a free's line is written before the block is freed, so before another thread can get it;
 *   - a realloc holds the lock from its call to its lines (it frees the old block inside).
 * The entry points test one byte (mm_trace_state) and come here only when it is not "off"; the
 * first call of the process comes here too, and decides.
 *
 * "%p" in the path is replaced by the process id. A child of fork() is not traced (its parent's file
 * stays whole); a program it executes with the same environment opens the file again, so give such
 * programs a path with %p. Lines after the program closed the file's descriptor are dropped, with a
 * message on standard error; so are those of a process that ends without exit() (killed, _exit).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "malloc_internal.h"
#include "os/os.h"

unsigned mm_trace_state; /* MM_TRACE_UNDECIDED until set-up, then OFF or ON */

static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;
static char buf[1 << 16];
static size_t used;
static int fd = -1;
static mm_os_file_id fd_id;
static int unbuffered; /* after the exit flush: every line is written at once */

/* Writes the buffer out, if the descriptor is still the file opened (the program may have closed
 * it, and the number may name another file now). Under the lock. */
static void flush(void)
{
	if (!used || fd < 0)
		return;
	mm_os_file_id id;
	if (!mm_os_fd_identity(fd, &id) || id.dev != fd_id.dev || id.ino != fd_id.ino) {
		static const char msg[] = "memoman: MEMOMAN_TRACE: the trace file's descriptor was closed; "
		                          "the rest of the trace is lost\n";
		mm_os_write_error(msg, sizeof(msg) - 1);
		fd = -1;
		used = 0;
		return;
	}
	mm_os_write(fd, buf, used);
	used = 0;
}

/* One line: "a <id> <size>" or "f <id>". Under the lock. */
static void put_line(char op, const void *p, int with_size, size_t size)
{
	if (fd < 0)
		return;
	if (used > sizeof(buf) - 64)
		flush();
	buf[used++] = op;
	buf[used++] = ' ';
	used += mm_digits(buf + used, (uint64_t)(uintptr_t)p, 16);
	if (with_size) {
		buf[used++] = ' ';
		used += mm_digits(buf + used, (uint64_t)size, 10);
	}
	buf[used++] = '\n';
	if (unbuffered)
		flush();
}

void mm_trace_lock(void) { (void)pthread_mutex_lock(&trace_lock); }
void mm_trace_unlock(void) { (void)pthread_mutex_unlock(&trace_lock); }
void mm_trace_put_alloc(const void *p, size_t size) { put_line('a', p, 1, size); }
void mm_trace_put_free(const void *p) { put_line('f', p, 0, 0); }

void mm_trace_alloc(const void *p, size_t size)
{
	mm_trace_lock();
	put_line('a', p, 1, size);
	mm_trace_unlock();
}

void mm_trace_free(const void *p)
{
	mm_trace_lock();
	put_line('f', p, 0, 0);
	mm_trace_unlock();
}

int mm_trace_start(void)
{
	mm_process_init(); /* decides mm_trace_state (mm_trace_setup) */
	return __atomic_load_n(&mm_trace_state, __ATOMIC_RELAXED) == MM_TRACE_ON;
}

static void at_exit(void)
{
	mm_trace_lock();
	flush();
	unbuffered = 1; /* the frees of later exit handlers and destructors */
	mm_trace_unlock();
}

/* From mm_process_init once malloc works (atexit may allocate; that allocation is traced). */
void mm_trace_setup_exit(void)
{
	if (__atomic_load_n(&mm_trace_state, __ATOMIC_RELAXED) == MM_TRACE_ON)
		(void)atexit(at_exit);
}

/* From mm_process_init, once, before any allocation is served: nothing here allocates. */
void mm_trace_setup(void)
{
	const char *v = mm_os_getenv("MEMOMAN_TRACE");
	unsigned char state = MM_TRACE_OFF;
	if (v && v[0]) {
		char path[4096];
		size_t n = 0;
		for (const char *s = v; *s && n < sizeof(path) - 24; s++) {
			if (s[0] == '%' && s[1] == 'p') {
				n += mm_digits(path + n, (uint64_t)mm_os_pid(), 10);
				s++;
			} else {
				path[n++] = *s;
			}
		}
		path[n] = 0;
		fd = mm_os_create(path);
		if (fd >= 0 && mm_os_fd_identity(fd, &fd_id)) {
			static const char head[] = "# memoman trace (MEMOMAN_TRACE): a <id> <size>, f <id>\n";
			memcpy(buf, head, sizeof(head) - 1);
			used = sizeof(head) - 1;
			state = MM_TRACE_ON;
		} else {
			static const char msg[] = "memoman: MEMOMAN_TRACE: cannot create the trace file; not tracing\n";
			mm_os_write_error(msg, sizeof(msg) - 1);
			if (fd >= 0)
				mm_os_close(fd);
			fd = -1;
		}
	}
	__atomic_store_n(&mm_trace_state, (unsigned)state, __ATOMIC_RELAXED);
}

/* fork(): the trace lock is taken first (a realloc holds it while it takes the allocator's locks). */
void mm_trace_fork_prepare(void) { mm_trace_lock(); }
void mm_trace_fork_parent(void) { mm_trace_unlock(); }
void mm_trace_fork_child(void)
{
	/* The child is not traced: its parent writes the buffered lines, and the file is the parent's. */
	if (__atomic_load_n(&mm_trace_state, __ATOMIC_RELAXED) == MM_TRACE_ON) {
		__atomic_store_n(&mm_trace_state, MM_TRACE_OFF, __ATOMIC_RELAXED);
		used = 0;
		if (fd >= 0)
			mm_os_close(fd);
		fd = -1;
	}
	mm_trace_unlock();
}

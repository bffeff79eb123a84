// SPDX-License-Identifier: MIT
/*
 * posix.c - the OS layer of libmemoman-malloc for Linux and other POSIX systems: mmap, munmap,
 * madvise, mremap where there is one, clock_gettime, /proc/self/statm.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/auxv.h>
#include <sys/random.h>
#endif

#include "os.h"

static size_t page_size;

/* The kernel's page size (4, 16 or 64 KiB on arm64, 64 KiB on most ppc64le kernels): from the
 * auxiliary vector, which needs nothing set up, else sysconf. Read at set-up (mm_process_init) and
 * cached; every madvise and munmap goes by it. 4096 only if neither answers. */
size_t mm_os_page_size(void)
{
	if (!page_size) {
		size_t p = 0;
#if defined(__linux__)
		p = (size_t)getauxval(AT_PAGESZ);
#endif
		if (!p || (p & (p - 1))) {
			long q = sysconf(_SC_PAGESIZE);
			p = q > 0 ? (size_t)q : 4096;
		}
		page_size = p;
	}
	return page_size;
}

static void *map(size_t bytes)
{
	int saved = errno;
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	errno = saved;
	return p == MAP_FAILED ? NULL : p;
}

void *mm_os_map(size_t bytes) { return map(bytes); }

void mm_os_unmap(void *p, size_t bytes)
{
	int saved = errno;
	(void)munmap(p, bytes);
	errno = saved;
}

void *mm_os_map_aligned(size_t bytes, size_t align)
{
	if (align < mm_os_page_size())
		align = mm_os_page_size(); /* what the kernel gives anyway; the trimming below needs it */
	/* Usually the kernel places a mapping right after the previous one, aligned or not: try the
	 * exact size first, and over-map and trim only when it comes back misaligned. */
	void *p = map(bytes);
	if (!p || ((uintptr_t)p & (align - 1)) == 0)
		return p;
	mm_os_unmap(p, bytes);
	if (bytes > SIZE_MAX - align)
		return NULL;
	unsigned char *q = map(bytes + align);
	if (!q)
		return NULL;
	uintptr_t a = ((uintptr_t)q + align - 1) & ~(uintptr_t)(align - 1);
	size_t before = (size_t)(a - (uintptr_t)q), after = align - before;
	if (before)
		mm_os_unmap(q, before);
	if (after)
		mm_os_unmap((void *)(a + bytes), after);
	return (void *)a;
}

static void (*fault_explain)(const void *addr);

static void on_fault(int sig, siginfo_t *info, void *context)
{
	(void)sig;
	(void)context;
	if (fault_explain)
		fault_explain(info->si_addr);
	/* The default back (SA_RESETHAND did it, unless a handler installed later called this one):
	 * the access runs again and ends the process. */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	(void)sigaction(SIGSEGV, &dfl, NULL);
}

void mm_os_on_fault(void (*explain)(const void *addr))
{
	struct sigaction old;
	if (sigaction(SIGSEGV, NULL, &old) != 0 || (old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL)
		return; /* the program's own handler (or a sanitizer's) stays */
	fault_explain = explain;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = (int)(SA_SIGINFO | SA_RESETHAND | (unsigned)SA_NODEFER);
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGSEGV, &sa, NULL);
}

int mm_os_guard(void *p, size_t bytes)
{
	int saved = errno;
	int ok = mprotect(p, bytes, PROT_NONE) == 0;
	errno = saved;
	return ok;
}

size_t mm_os_purge(void *p, size_t bytes)
{
	/* Only the whole pages inside the range: madvise refuses a start that is not on a page
	 * boundary and rounds the length up, which would zero bytes after the range. */
	size_t page = mm_os_page_size();
	uintptr_t lo = ((uintptr_t)p + page - 1) & ~(uintptr_t)(page - 1);
	uintptr_t hi = ((uintptr_t)p + bytes) & ~(uintptr_t)(page - 1);
	if (!bytes || hi <= lo)
		return 0;
	int saved = errno;
	(void)madvise((void *)lo, (size_t)(hi - lo), MADV_DONTNEED);
	errno = saved;
	return (size_t)(hi - lo);
}

int mm_os_thp_mode(void)
{
	static int mode = -1;
	if (mode >= 0)
		return mode;
	int m = MM_OS_THP_NEVER;
#if defined(__linux__) && defined(MADV_HUGEPAGE) && defined(MADV_NOHUGEPAGE)
	/* "always [madvise] never": the bracketed word is the mode. */
	int saved = errno;
	int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		char buf[128];
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = 0;
		m = strstr(buf, "[always]")    ? MM_OS_THP_ALWAYS
		    : strstr(buf, "[madvise]") ? MM_OS_THP_ADVISED
		                               : MM_OS_THP_NEVER;
	}
	errno = saved;
#endif
	mode = m;
	return mode;
}

int mm_os_huge_advise(void *p, size_t bytes, int on)
{
#if defined(MADV_HUGEPAGE) && defined(MADV_NOHUGEPAGE)
	int saved = errno;
	int r = madvise(p, bytes, on ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	errno = saved;
	return r == 0;
#else
	(void)p;
	(void)bytes;
	(void)on;
	return 0;
#endif
}

int mm_os_resize_in_place(void *p, size_t old_bytes, size_t new_bytes)
{
#if defined(__linux__)
	int saved = errno;
	void *q = mremap(p, old_bytes, new_bytes, 0);
	errno = saved;
	return q == p;
#else
	(void)p;
	(void)old_bytes;
	(void)new_bytes;
	return 0;
#endif
}

uint64_t mm_os_now_ms(void)
{
	struct timespec ts;
#if defined(CLOCK_MONOTONIC_COARSE)
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
#else
	clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t mm_os_random(void)
{
	uint64_t r = 0;
	int saved = errno;
#if defined(__linux__)
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = 0;
#endif
	errno = saved;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	r ^= (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)&r ^ ((uint64_t)getpid() << 32);
	return r | 1;
}

size_t mm_os_resident(void)
{
	int saved = errno;
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	size_t pages = 0;
	if (fd >= 0) {
		char buf[128];
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = 0;
			const char *s = buf;
			while (*s && *s != ' ')
				s++; /* skip the total size: the second field is the resident set */
			while (*s == ' ')
				s++;
			while (*s >= '0' && *s <= '9')
				pages = pages * 10 + (size_t)(*s++ - '0');
		}
	}
	errno = saved;
	return pages * mm_os_page_size();
}

void mm_os_write_error(const char *text, size_t length)
{
	int saved = errno;
	while (length) {
		ssize_t n = write(2, text, length);
		if (n <= 0)
			break;
		text += n;
		length -= (size_t)n;
	}
	errno = saved;
}

void mm_os_write(int fd, const char *text, size_t length)
{
	int saved = errno;
	while (length) {
		ssize_t n = write(fd, text, length);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		text += n;
		length -= (size_t)n;
	}
	errno = saved;
}

int mm_os_dup_error(void)
{
	int saved = errno;
	/* High, out of the way of a program that counts on the lowest free descriptors; lower if the
	 * descriptor limit is small. */
	int fd = fcntl(2, F_DUPFD_CLOEXEC, 900);
	if (fd < 0)
		fd = fcntl(2, F_DUPFD_CLOEXEC, 100);
	if (fd < 0)
		fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
	errno = saved;
	return fd;
}

int mm_os_fd_open(int fd)
{
	int saved = errno;
	int is_open = fcntl(fd, F_GETFD) != -1;
	errno = saved;
	return is_open;
}

int mm_os_fd_identity(int fd, mm_os_file_id *id)
{
	int saved = errno;
	struct stat st;
	int ok = fstat(fd, &st) == 0;
	errno = saved;
	if (!ok)
		return 0;
	id->dev = (uint64_t)st.st_dev;
	id->ino = (uint64_t)st.st_ino;
	return 1;
}

int mm_os_create(const char *path)
{
	int saved = errno;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	errno = saved;
	return fd;
}

void mm_os_close(int fd)
{
	int saved = errno;
	(void)close(fd);
	errno = saved;
}

long mm_os_pid(void) { return (long)getpid(); }

size_t mm_os_program_name(char *buf, size_t size)
{
	int saved = errno;
	size_t n = 0;
#if defined(__GLIBC__)
	/* The whole name (comm is cut to 15 characters), set by the C library before any constructor. */
	if (program_invocation_short_name)
		for (const char *p = program_invocation_short_name; *p && n < size - 1; p++)
			buf[n++] = *p;
#endif
	if (!n) {
		int fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t r = read(fd, buf, size - 1);
			close(fd);
			n = r > 0 ? (size_t)r : 0;
			while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
				n--;
		}
	}
	buf[n] = 0;
	errno = saved;
	return n;
}

extern char **environ;

const char *mm_os_getenv(const char *name)
{
	size_t n = strlen(name);
	for (char **e = environ; e && *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

// SPDX-License-Identifier: MIT
/*
 * os.h - what libmemoman-malloc asks of the operating system, in one place: address space, page
 * return, a coarse clock, randomness, the process's resident size and a way to write a message.
 * posix.c implements it for Linux (and other POSIX systems where the calls exist).
 *
 * None of these functions changes errno as seen by the caller: the allocator's entry points set
 * errno themselves, and only when they fail.
 */
#ifndef MEMOMAN_MALLOC_OS_H
#define MEMOMAN_MALLOC_OS_H

#include <stddef.h>
#include <stdint.h>

/* The OS page size (a power of two; 4, 16 or 64 KiB and others), read once at set-up. */
size_t mm_os_page_size(void);

/* Readable and writable zero-filled memory of `bytes` (a multiple of the page size), or NULL. */
void *mm_os_map(size_t bytes);

/* The same, its start aligned to `align` (a power of two, at least the page size), or NULL. */
void *mm_os_map_aligned(size_t bytes, size_t align);

/* Gives [p, p + bytes) back to the OS. */
void mm_os_unmap(void *p, size_t bytes);

/* Makes [p, p + bytes) (whole pages) fault on any access: a guard. 1 if done. */
int mm_os_guard(void *p, size_t bytes);

/* If the program has no handler for invalid memory accesses (SIGSEGV) yet: `explain` is called
 * once with the faulting address on the first one, from the signal handler (it may only use
 * async-signal-safe calls), and the default action follows (the process dies of the signal). */
void mm_os_on_fault(void (*explain)(const void *addr));

/* Returns the physical memory of the whole OS pages inside [p, p + bytes) to the OS (the bytes
 * of partial pages at either end stay as they are); those pages stay mapped and read as zero
 * afterwards. Returns the bytes returned (0 if no whole page lies inside). */
size_t mm_os_purge(void *p, size_t bytes);

/* Transparent huge pages: what the kernel does with them (MM_OS_THP_NEVER when it has none, or
 * they are off; MM_OS_THP_ADVISED when a range must ask for them; MM_OS_THP_ALWAYS), read once. */
enum { MM_OS_THP_NEVER, MM_OS_THP_ADVISED, MM_OS_THP_ALWAYS };
int mm_os_thp_mode(void);

/* Asks for huge pages on [p, p + bytes) (on = 1), or that the kernel never use them there, nor
 * collapse its small pages into one (on = 0). 1 if the kernel took the advice. */
int mm_os_huge_advise(void *p, size_t bytes, int on);

/* Grows or shrinks the mapping [p, p + old_bytes) in place to new_bytes; 1 on success. */
int mm_os_resize_in_place(void *p, size_t old_bytes, size_t new_bytes);

/* Milliseconds of a monotonic clock, coarse (a few ms) and cheap. */
uint64_t mm_os_now_ms(void);

/* 64 random bits (not for cryptography: a per-process secret against accidental matches). */
uint64_t mm_os_random(void);

/* The process's resident memory in bytes (0 if unknown). */
size_t mm_os_resident(void);

/* Writes a message to standard error without allocating. */
void mm_os_write_error(const char *text, size_t length);

/* Writes all of a message to descriptor fd (what can be written). */
void mm_os_write(int fd, const char *text, size_t length);

/* A duplicate of standard error at a high descriptor number, closed on exec; -1 if none. */
int mm_os_dup_error(void);

/* 1 if descriptor fd is open. */
int mm_os_fd_open(int fd);

/* What file an open descriptor refers to (device and inode), to tell later whether the descriptor
 * still refers to it. */
typedef struct mm_os_file_id {
	uint64_t dev, ino;
} mm_os_file_id;

/* Fills *id for descriptor fd; 1, or 0 if fd is not open. */
int mm_os_fd_identity(int fd, mm_os_file_id *id);

/* A file created (or truncated) for writing, closed on exec, not through a symbolic link at its
 * last component; -1 if it cannot be. */
int mm_os_create(const char *path);

void mm_os_close(int fd);

/* The process id. */
long mm_os_pid(void);

/* The program's name (the C library's short invocation name, else /proc/self/comm) in buf, cut
 * to `size` - 1 characters and terminated; its length. */
size_t mm_os_program_name(char *buf, size_t size);

/* The value of an environment variable, without allocating (NULL if unset). */
const char *mm_os_getenv(const char *name);

#endif /* MEMOMAN_MALLOC_OS_H */

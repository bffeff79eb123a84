// SPDX-License-Identifier: MIT
/*
 * semihost.h - output and exit through ARM semihosting, with no C library stdio.
 *
 * Semihosting hands a request to the debugger (or to QEMU with -semihosting): the program executes
 * `bkpt 0xab` with the operation in r0 and its argument in r1. It is how this example prints and
 * reports its exit status under QEMU and under a debug probe (OpenOCD, pyOCD, J-Link with
 * semihosting on). On a board with no debugger attached a `bkpt` is a fault (HardFault, or lockup):
 * in your firmware, replace these three functions with your UART or RTT output.
 */
#ifndef CORTEX_M_SEMIHOST_H
#define CORTEX_M_SEMIHOST_H

#include <stdarg.h>

/* Writes a NUL-terminated string to the host's console (SYS_WRITE0). */
void sh_puts(const char *s);

/*
 * printf for the formats this example needs: %d %i %u %x %X %c %s %p %%, the length modifiers
 * h, l, ll, z, and a width with the '-' and '0' flags. Output goes to the console in chunks of at
 * most 128 bytes. Returns the number of characters written.
 */
int sh_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int sh_vprintf(const char *fmt, va_list ap);

/* Ends the program: the host (QEMU) exits with `status` (SYS_EXIT_EXTENDED). Never returns. */
__attribute__((noreturn)) void sh_exit(int status);

/* The command line given to the host (QEMU: -semihosting-config ...,arg=...), or "" if none. */
const char *sh_cmdline(void);

#endif /* CORTEX_M_SEMIHOST_H */

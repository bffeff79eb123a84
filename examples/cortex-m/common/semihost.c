// SPDX-License-Identifier: MIT
/*
 * semihost.c - ARM semihosting: console output, exit status, command line (semihost.h).
 *
 * The operation numbers and the exit reason are those of Arm's semihosting specification:
 *   SYS_WRITE0 0x04, SYS_GET_CMDLINE 0x15, SYS_EXIT 0x18, SYS_EXIT_EXTENDED 0x20,
 *   ADP_Stopped_ApplicationExit 0x20026.
 * Works the same on ARMv6-M (Cortex-M0) and ARMv7-M (Cortex-M4): `bkpt 0xab` exists on both.
 */
#include "semihost.h"

#include <stddef.h>
#include <stdint.h>

#define SYS_WRITE0 0x04u
#define SYS_GET_CMDLINE 0x15u
#define SYS_EXIT 0x18u
#define SYS_EXIT_EXTENDED 0x20u
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

static uintptr_t sh_call(uintptr_t op, const void *arg)
{
	register uintptr_t r0 __asm__("r0") = op;
	register const void *r1 __asm__("r1") = arg;
	__asm__ __volatile__("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
	return r0;
}

void sh_puts(const char *s) { (void)sh_call(SYS_WRITE0, s); }

void sh_exit(int status)
{
	/* SYS_EXIT_EXTENDED carries the status; plain SYS_EXIT on 32-bit ARM only says "success". */
	uintptr_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uintptr_t)(unsigned)status};
	(void)sh_call(SYS_EXIT_EXTENDED, block);
	/* A host without the extended call: report "application exit" (status 0) or an error. */
	(void)sh_call(SYS_EXIT, (const void *)(uintptr_t)(status == 0 ? ADP_STOPPED_APPLICATION_EXIT : 0x20024u));
	for (;;)
		__asm__ __volatile__("bkpt 0");
}

const char *sh_cmdline(void)
{
	static char line[96];
	uintptr_t block[2] = {(uintptr_t)line, sizeof(line) - 1};
	if (sh_call(SYS_GET_CMDLINE, block) != 0)
		line[0] = '\0';
	line[sizeof(line) - 1] = '\0';
	return line;
}

/* ---- A small printf ------------------------------------------------------------------------------ */

typedef struct out {
	char buf[129];
	size_t n;
	int total;
} out;

static void flush(out *o)
{
	if (o->n) {
		o->buf[o->n] = '\0';
		sh_puts(o->buf);
		o->n = 0;
	}
}

static void put(out *o, char c)
{
	if (o->n == sizeof(o->buf) - 1)
		flush(o);
	o->buf[o->n++] = c;
	o->total++;
}

static void put_padded(out *o, const char *s, size_t len, int width, int left, char pad)
{
	int fill = width > (int)len ? width - (int)len : 0;
	if (!left && pad == '0' && len && (*s == '-')) { /* the sign goes before zeros */
		put(o, *s++);
		len--;
	}
	if (!left)
		while (fill-- > 0)
			put(o, pad);
	while (len--)
		put(o, *s++);
	if (left)
		while (fill-- > 0)
			put(o, ' ');
}

/* Digits of v in base (10 or 16) into the end of tmp; returns the first digit. */
static char *digits(char *end, unsigned long long v, unsigned base, int upper)
{
	const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char *p = end;
	do {
		*--p = set[v % base];
		v /= base;
	} while (v);
	return p;
}

int sh_vprintf(const char *fmt, va_list ap)
{
	out o;
	o.n = 0;
	o.total = 0;
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		int left = 0;
		char pad = ' ';
		for (;; fmt++) {
			if (*fmt == '-')
				left = 1;
			else if (*fmt == '0')
				pad = '0';
			else
				break;
		}
		int width = 0;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		int size = 0; /* 0 int, 1 long, 2 long long, 3 size_t */
		for (;; fmt++) {
			if (*fmt == 'l')
				size = size == 1 ? 2 : 1;
			else if (*fmt == 'z')
				size = 3;
			else if (*fmt == 'h')
				continue;
			else
				break;
		}
		char tmp[24];
		char *end = tmp + sizeof(tmp);
		char *s;
		switch (*fmt) {
		case 'd':
		case 'i': {
			long long v = size == 2   ? va_arg(ap, long long)
			              : size == 1 ? va_arg(ap, long)
			              : size == 3 ? (long long)va_arg(ap, ptrdiff_t)
			                          : va_arg(ap, int);
			unsigned long long m = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
			s = digits(end, m, 10, 0);
			if (v < 0)
				*--s = '-';
			put_padded(&o, s, (size_t)(end - s), width, left, pad);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			unsigned long long v = size == 2   ? va_arg(ap, unsigned long long)
			                       : size == 1 ? va_arg(ap, unsigned long)
			                       : size == 3 ? va_arg(ap, size_t)
			                                   : va_arg(ap, unsigned);
			s = digits(end, v, *fmt == 'u' ? 10 : 16, *fmt == 'X');
			put_padded(&o, s, (size_t)(end - s), width, left, pad);
			break;
		}
		case 'p': {
			s = digits(end, (uintptr_t)va_arg(ap, void *), 16, 0);
			*--s = 'x';
			*--s = '0';
			put_padded(&o, s, (size_t)(end - s), width, left, ' ');
			break;
		}
		case 'c':
			tmp[0] = (char)va_arg(ap, int);
			put_padded(&o, tmp, 1, width, left, ' ');
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);
			if (!str)
				str = "(null)";
			size_t len = 0;
			while (str[len])
				len++;
			put_padded(&o, str, len, width, left, ' ');
			break;
		}
		case '%': put(&o, '%'); break;
		case '\0':
			fmt--; /* a lone '%' at the end */
			break;
		default:
			put(&o, '%');
			put(&o, *fmt);
			break;
		}
	}
	flush(&o);
	return o.total;
}

int sh_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = sh_vprintf(fmt, ap);
	va_end(ap);
	return n;
}

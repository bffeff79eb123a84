// SPDX-License-Identifier: MIT
/*
 * aligned_string.c - memcpy, memmove and memset that never make an unaligned access, for firmware
 * that runs with the Cortex-M4's unaligned-access trap on (SCB->CCR.UNALIGN_TRP).
 *
 * Why: newlib's Armv7-M memcpy (Debian's libnewlib-arm-none-eabi, memcpy-armv7m.S) ends an
 * odd-length copy between word-aligned buffers with a byte and then a halfword at an odd address:
 * legal on an M4 by default, a UsageFault (escalated to HardFault) with the trap on. memoman calls
 * memcpy with the caller's sizes (mm_heap_realloc moving a 13-byte block, say), so an image with
 * the trap on needs a C library whose string functions stay aligned: these. Linked as object
 * files they take precedence over the C library's archive members.
 *
 * Compiled with -fno-builtin -fno-tree-loop-distribute-patterns (the Makefile does), so that gcc
 * does not turn these loops back into calls to themselves.
 */
#include <stddef.h>
#include <stdint.h>

#define WORD sizeof(uint32_t)

static int both_aligned(const void *a, const void *b) { return (((uintptr_t)a | (uintptr_t)b) & (WORD - 1)) == 0; }

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	unsigned char *d = (unsigned char *)dst;
	const unsigned char *s = (const unsigned char *)src;
	/* Bytes until dst is aligned; words if src is then aligned too. */
	while (n && ((uintptr_t)d & (WORD - 1))) {
		*d++ = *s++;
		n--;
	}
	if (both_aligned(d, s)) {
		uint32_t *dw = (uint32_t *)(void *)d;
		const uint32_t *sw = (const uint32_t *)(const void *)s;
		for (; n >= 4 * WORD; n -= 4 * WORD, dw += 4, sw += 4) {
			dw[0] = sw[0];
			dw[1] = sw[1];
			dw[2] = sw[2];
			dw[3] = sw[3];
		}
		for (; n >= WORD; n -= WORD)
			*dw++ = *sw++;
		d = (unsigned char *)dw;
		s = (const unsigned char *)sw;
	}
	while (n--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = (unsigned char *)dst;
	const unsigned char *s = (const unsigned char *)src;
	if (d == s || n == 0)
		return dst;
	if (d < s || d >= s + n) /* forward is safe */
		return memcpy(dst, src, n);
	/* Overlapping with dst above src: backwards. */
	d += n;
	s += n;
	if ((((uintptr_t)d ^ (uintptr_t)s) & (WORD - 1)) == 0) {
		while (n && ((uintptr_t)d & (WORD - 1))) {
			*--d = *--s;
			n--;
		}
		uint32_t *dw = (uint32_t *)(void *)d;
		const uint32_t *sw = (const uint32_t *)(const void *)s;
		for (; n >= WORD; n -= WORD)
			*--dw = *--sw;
		d = (unsigned char *)dw;
		s = (const unsigned char *)sw;
	}
	while (n--)
		*--d = *--s;
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = (unsigned char *)dst;
	unsigned char b = (unsigned char)c;
	while (n && ((uintptr_t)d & (WORD - 1))) {
		*d++ = b;
		n--;
	}
	uint32_t w = b * 0x01010101u;
	uint32_t *dw = (uint32_t *)(void *)d;
	for (; n >= WORD; n -= WORD)
		*dw++ = w;
	d = (unsigned char *)dw;
	while (n--)
		*d++ = b;
	return dst;
}

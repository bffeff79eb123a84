// SPDX-License-Identifier: MIT
/*
 * start.c - the least startup a Cortex-M image needs (initial stack pointer, reset vector, .data
 * copied, .bss zeroed, main called), for bench/footprint/run.sh's probes. Compiled with
 * -fno-tree-loop-distribute-patterns so that its loops stay loops: a call to memcpy or memset here
 * would hide the same routines when an allocator needs them. The board's link.ld places it.
 */
#include <stdint.h>

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[], __stack_top[];
int main(void);
void Reset_Handler(void);

__attribute__((noreturn)) void Reset_Handler(void)
{
	for (uint32_t *s = __data_load, *d = __data_start; d < __data_end;)
		*d++ = *s++;
	for (uint32_t *d = __bss_start; d < __bss_end;)
		*d++ = 0;
	(void)main();
	for (;;) {
	}
}

__attribute__((section(".vectors"), used)) void (*const vectors[2])(void) = {
    (void (*)(void))(uintptr_t)__stack_top,
    Reset_Handler,
};

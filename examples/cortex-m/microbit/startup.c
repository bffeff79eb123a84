// SPDX-License-Identifier: MIT
/*
 * startup.c - vector table, reset handler and fault handler for the BBC micro:bit (nRF51822, a
 * Cortex-M0, as QEMU models it: qemu-system-arm -M microbit).
 *
 * Armv6-M has no cycle counter (no DWT CYCCNT) and no unaligned-access setting: every unaligned
 * word or halfword access faults, always. So this is the M4's startup.c without those two parts:
 * .data copied, .bss zeroed, the stack painted, main() called, its return value the exit status,
 * a HardFault printed and turned into exit status BOARD_FAULT_STATUS.
 */
#include <stdint.h>

#include "../common/board.h"
#include "../common/semihost.h"

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[];
extern uint32_t __stack_limit[], __stack_top[];

int main(void);

#define STACK_PAINT 0x5AC3A53Cu

/* ---- Board functions (board.h) ------------------------------------------------------------------ */

const char *board_name(void) { return "microbit (Cortex-M0)"; }

int board_has_cycle_counter(void) { return 0; }

int board_cycle_counter_runs(void) { return 0; }

uint64_t board_cycles(void *user)
{
	/* No cycle counter on Armv6-M. On an nRF51 a TIMER peripheral in counter mode, or SysTick, can
	 * stand in (SysTick counts down from its reload value: widen and invert it here). */
	(void)user;
	return 0;
}

int board_unaligned_traps(void) { return 1; }

size_t board_stack_size(void) { return (size_t)((char *)__stack_top - (char *)__stack_limit); }

size_t board_stack_used(void)
{
	uint32_t *p = __stack_limit;
	while (p < __stack_top && *p == STACK_PAINT)
		p++;
	return (size_t)((char *)__stack_top - (char *)p);
}

/* ---- Reset ------------------------------------------------------------------------------------ */

__attribute__((noreturn)) void Reset_Handler(void)
{
	uint32_t *sp;
	__asm__ __volatile__("mov %0, sp" : "=r"(sp));
	for (uint32_t *p = __stack_limit; p < sp - 16; p++)
		*p = STACK_PAINT;

	for (uint32_t *src = __data_load, *dst = __data_start; dst < __data_end;)
		*dst++ = *src++;
	for (uint32_t *dst = __bss_start; dst < __bss_end;)
		*dst++ = 0;

	sh_exit(main());
}

/* ---- Faults ----------------------------------------------------------------------------------- */

/* frame: r0, r1, r2, r3, r12, lr, pc, xpsr as the core stacked them. */
void fault_report(const uint32_t *frame, uint32_t exc_return)
{
	sh_printf("\nHardFault: pc %08lx lr %08lx xpsr %08lx (EXC_RETURN %08lx)\n", (unsigned long)frame[6],
	          (unsigned long)frame[5], (unsigned long)frame[7], (unsigned long)exc_return);
	sh_printf("  r0 %08lx r1 %08lx r2 %08lx r3 %08lx r12 %08lx\n", (unsigned long)frame[0], (unsigned long)frame[1],
	          (unsigned long)frame[2], (unsigned long)frame[3], (unsigned long)frame[4]);
	sh_puts("  (Armv6-M does not say why: an unaligned access, a bad address or an undefined "
	        "instruction at that pc)\n");
	sh_exit(BOARD_FAULT_STATUS);
}

/* Finds the stacked frame (main or process stack, EXC_RETURN bit 2) and reports it; Thumb-1 only. */
__attribute__((naked)) void HardFault_Handler(void)
{
	__asm__ __volatile__("movs r0, #4\n\t"
	                     "mov r1, lr\n\t"
	                     "tst r0, r1\n\t"
	                     "beq 1f\n\t"
	                     "mrs r0, psp\n\t"
	                     "b 2f\n"
	                     "1:\n\t"
	                     "mrs r0, msp\n"
	                     "2:\n\t"
	                     "ldr r2, =fault_report\n\t"
	                     "bx r2\n\t"
	                     ".ltorg\n");
}

static void Default_Handler(void)
{
	uint32_t ipsr;
	__asm__ __volatile__("mrs %0, ipsr" : "=r"(ipsr));
	sh_printf("\nunexpected exception %lu\n", (unsigned long)ipsr);
	sh_exit(BOARD_FAULT_STATUS);
}

/* ---- Vector table (placed at address 0 by link.ld) ------------------------------------------------ */

typedef void (*vector)(void);

__attribute__((section(".vectors"), used)) const vector vectors[16] = {
    (vector)(uintptr_t)__stack_top, /* initial main stack pointer */
    Reset_Handler,
    Default_Handler,   /* NMI */
    HardFault_Handler, /* HardFault: every fault on Armv6-M */
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    Default_Handler, /* SVCall */
    0,
    0,
    Default_Handler, /* PendSV */
    Default_Handler, /* SysTick */
                     /* your interrupt handlers follow here (nRF51: POWER_CLOCK, RADIO, UART0, ...) */
};

// SPDX-License-Identifier: MIT
/*
 * startup.c - vector table, reset handler and fault handler for the Arm MPS2 board with the AN386
 * image (a Cortex-M4, as QEMU models it: qemu-system-arm -M mps2-an386). Nothing but C and three
 * lines of assembly; the register addresses below are from the Armv7-M Architecture Reference
 * Manual (System Control Block, Debug Exception and Monitor Control, Data Watchpoint and Trace).
 *
 * What it sets up before main():
 *   - .data copied from flash, .bss zeroed, the stack painted (board_stack_used);
 *   - the unaligned-access trap (SCB->CCR.UNALIGN_TRP): any unaligned LDR/STR/LDRH/STRH faults,
 *     so code that only works because the M4 tolerates unaligned accesses is caught here;
 *   - the DWT cycle counter (DEMCR.TRCENA, DWT_CTRL.CYCCNTENA), read by board_cycles().
 * main()'s return value becomes the exit status (semihosting); a fault prints its cause and the
 * faulting pc and exits with BOARD_FAULT_STATUS.
 */
#include <stdint.h>

#include "../common/board.h"
#include "../common/semihost.h"

/* ---- Registers -------------------------------------------------------------------------------- */

#define REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* System Control Block */
#define SCB_CCR REG32(0xE000ED14u)  /* Configuration and Control Register */
#define CCR_UNALIGN_TRP (1u << 3)   /*   unaligned LDR/STR/LDRH/STRH fault (UsageFault) */
#define CCR_DIV_0_TRP (1u << 4)     /*   SDIV/UDIV by zero faults */
#define SCB_CFSR REG32(0xE000ED28u) /* Configurable Fault Status: MMFSR[7:0] BFSR[15:8] UFSR[31:16] */
#define SCB_HFSR REG32(0xE000ED2Cu) /* HardFault Status */
#define SCB_BFAR REG32(0xE000ED38u) /* BusFault Address */

/* Debug Exception and Monitor Control Register */
#define DEMCR REG32(0xE000EDFCu)
#define DEMCR_TRCENA (1u << 24) /* powers the DWT and ITM */

/* Data Watchpoint and Trace unit */
#define DWT_CTRL REG32(0xE0001000u)
#define DWT_CTRL_CYCCNTENA (1u << 0) /* the cycle counter counts */
#define DWT_CTRL_NOCYCCNT (1u << 25) /* read-only: 1 if there is no cycle counter */
#define DWT_CYCCNT REG32(0xE0001004u)

/* ---- Memory laid out by link.ld -------------------------------------------------------------------- */

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[];
extern uint32_t __stack_limit[], __stack_top[];

#if STARTUP_CALLS_TESTS_MAIN
/* The library's test programs (tests/test_*.c, unchanged) print with stdio: newlib's rdimon sends
 * it to the host through semihosting once its handles are open. */
#include <stdio.h>
void initialise_monitor_handles(void);
int main(int argc, char **argv);
#else
int main(void);
#endif

#define STACK_PAINT 0x5AC3A53Cu

/* ---- Board functions (board.h) ------------------------------------------------------------------ */

static int cycle_counter_runs;

const char *board_name(void) { return "mps2-an386 (Cortex-M4)"; }

int board_has_cycle_counter(void) { return (DWT_CTRL & DWT_CTRL_NOCYCCNT) == 0; }

int board_cycle_counter_runs(void) { return cycle_counter_runs; }

uint64_t board_cycles(void *user)
{
	/* CYCCNT is 32 bits: widened here by counting its wrap-arounds, which is right as long as it is
	 * read at least once per 2^32 cycles (26 s at 168 MHz). Not interrupt-safe as written: read it
	 * from one context, or disable interrupts around the update in your firmware. */
	static uint32_t last, high;
	(void)user;
	uint32_t now = DWT_CYCCNT;
	if (now < last)
		high++;
	last = now;
	return ((uint64_t)high << 32) | now;
}

int board_unaligned_traps(void) { return (SCB_CCR & CCR_UNALIGN_TRP) != 0; }

size_t board_stack_size(void) { return (size_t)((char *)__stack_top - (char *)__stack_limit); }

size_t board_stack_used(void)
{
	uint32_t *p = __stack_limit;
	while (p < __stack_top && *p == STACK_PAINT)
		p++;
	return (size_t)((char *)__stack_top - (char *)p);
}

/* ---- Reset ------------------------------------------------------------------------------------ */

static void enable_cycle_counter(void)
{
	DEMCR |= DEMCR_TRCENA;
	if (DWT_CTRL & DWT_CTRL_NOCYCCNT)
		return;
	DWT_CYCCNT = 0;
	DWT_CTRL |= DWT_CTRL_CYCCNTENA;
	/* Does it count? On silicon it does; QEMU does not model it (reads stay 0). */
	uint32_t a = DWT_CYCCNT;
	for (volatile int i = 0; i < 100; i++) {
	}
	cycle_counter_runs = DWT_CYCCNT != a;
}

__attribute__((noreturn)) void Reset_Handler(void)
{
	/* Paint the stack below the current frame, to measure later how deep it went. */
	uint32_t *sp;
	__asm__ __volatile__("mov %0, sp" : "=r"(sp));
	for (uint32_t *p = __stack_limit; p < sp - 16; p++)
		*p = STACK_PAINT;

	for (uint32_t *src = __data_load, *dst = __data_start; dst < __data_end;)
		*dst++ = *src++;
	for (uint32_t *dst = __bss_start; dst < __bss_end;)
		*dst++ = 0;

	SCB_CCR |= CCR_UNALIGN_TRP | CCR_DIV_0_TRP;
	__asm__ __volatile__("dsb\n\tisb" ::: "memory");
	enable_cycle_counter();

#if STARTUP_CALLS_TESTS_MAIN
	initialise_monitor_handles();
	static char name[] = "test";
	static char *argv[] = {name, NULL};
	int status = main(1, argv);
	(void)fflush(stdout);
	(void)fflush(stderr);
	sh_exit(status);
#else
	sh_exit(main());
#endif
}

/* ---- Faults ----------------------------------------------------------------------------------- */

/* frame: r0, r1, r2, r3, r12, lr, pc, xpsr as the core stacked them. */
void fault_report(const uint32_t *frame, uint32_t exc_return)
{
	uint32_t cfsr = SCB_CFSR, hfsr = SCB_HFSR;
	sh_printf("\nHardFault: pc %08lx lr %08lx xpsr %08lx (EXC_RETURN %08lx)\n", (unsigned long)frame[6],
	          (unsigned long)frame[5], (unsigned long)frame[7], (unsigned long)exc_return);
	sh_printf("  r0 %08lx r1 %08lx r2 %08lx r3 %08lx r12 %08lx\n", (unsigned long)frame[0], (unsigned long)frame[1],
	          (unsigned long)frame[2], (unsigned long)frame[3], (unsigned long)frame[4]);
	sh_printf("  CFSR %08lx HFSR %08lx%s\n", (unsigned long)cfsr, (unsigned long)hfsr,
	          (hfsr & (1u << 30)) ? " (escalated: FORCED)" : "");
	if (cfsr & (1u << 24))
		sh_puts("  UsageFault UNALIGNED: an unaligned access with SCB->CCR.UNALIGN_TRP set\n");
	if (cfsr & (1u << 25))
		sh_puts("  UsageFault DIVBYZERO\n");
	if (cfsr & (1u << 16))
		sh_puts("  UsageFault UNDEFINSTR\n");
	if (cfsr & (1u << 17))
		sh_puts("  UsageFault INVSTATE\n");
	if (cfsr & 0xFF00u) {
		sh_printf("  BusFault");
		if (cfsr & (1u << 15))
			sh_printf(" at %08lx", (unsigned long)SCB_BFAR);
		sh_puts("\n");
	}
	if (cfsr & 0xFFu)
		sh_puts("  MemManage fault\n");
	sh_exit(BOARD_FAULT_STATUS);
}

/* Finds the stacked frame (main or process stack, EXC_RETURN bit 2) and reports it. */
__attribute__((naked)) void HardFault_Handler(void)
{
	__asm__ __volatile__("tst lr, #4\n\t"
	                     "ite eq\n\t"
	                     "mrseq r0, msp\n\t"
	                     "mrsne r0, psp\n\t"
	                     "mov r1, lr\n\t"
	                     "b fault_report\n");
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
    HardFault_Handler, /* HardFault: every fault here, as the others are not enabled */
    Default_Handler,   /* MemManage */
    Default_Handler,   /* BusFault */
    Default_Handler,   /* UsageFault */
    0,
    0,
    0,
    0,
    Default_Handler, /* SVCall */
    Default_Handler, /* DebugMonitor */
    0,
    Default_Handler, /* PendSV */
    Default_Handler, /* SysTick */
                     /* your interrupt handlers follow here (IRQ0, IRQ1, ...) */
};

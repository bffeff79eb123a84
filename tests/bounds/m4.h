// SPDX-License-Identifier: MIT
/*
 * m4.h - tests/bounds/bounds.c on a Cortex-M4 under QEMU (tests/bounds/m4.sh): the constructed worst
 * paths counted in instructions without a debugger or a trace. QEMU runs with -icount shift=10: its
 * virtual clock advances exactly 1,024 ns per instruction executed, so the board's CMSDK timer 0
 * (25 MHz, 40 ns a tick) advances 25.6 ticks per instruction. MEASURE reads the timer before and
 * after the call and prints the difference; m4.sh divides by the ratio it calibrates here (a run of
 * 10,000 NOPs) and subtracts what an empty MEASURE counts. Instructions, not cycles: QEMU models no
 * pipeline, wait states or flash accelerator.
 */
#include <stdint.h>

#define CALLGRIND_ZERO_STATS ((void)0)
#define CALLGRIND_DUMP_STATS_AT(label) ((void)(label))

#define M4_TIMER ((volatile uint32_t *)0x40000000u) /* CTRL, VALUE, RELOAD */

static void m4_timer_start(void)
{
	M4_TIMER[0] = 0;
	M4_TIMER[2] = 0xFFFFFFFFu;
	M4_TIMER[1] = 0xFFFFFFFFu;
	M4_TIMER[0] = 1;
}

/* The timer counts down. Printed: "M <label> <ticks>". */
#define MEASURE(label, stmt)                                                                                           \
	do {                                                                                                           \
		uint32_t a_ = M4_TIMER[1];                                                                             \
		stmt;                                                                                                  \
		uint32_t b_ = M4_TIMER[1];                                                                             \
		printf("M %s %lu\n", label, (unsigned long)(a_ - b_));                                                 \
	} while (0)

/* newlib's exit() (bounds.c's fail) runs the finalizers: nothing to run without crt files. */
void _init(void);
void _fini(void);
void _init(void) {}
void _fini(void) {}

static void worst_core(void);
static void worst_fixed(void);
static void worst_heap(void);

__attribute__((noinline)) static void nops(void) { __asm__ volatile(".rept 10000\n\tnop\n\t.endr"); }

static void m4_run(void)
{
	m4_timer_start();
	for (int i = 0; i < 3; i++) {
		MEASURE("calibrate empty", (void)0);
		MEASURE("calibrate nops", nops()); /* 10,000 NOPs, a call and a return */
	}
	worst_core();
	worst_fixed();
	worst_heap();
}

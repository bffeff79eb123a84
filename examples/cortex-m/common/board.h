// SPDX-License-Identifier: MIT
/*
 * board.h - what each board's startup.c gives the programs of this example.
 *
 * The reset handler (startup.c) copies .data, zeroes .bss, paints the stack, sets the core up
 * (on the Cortex-M4: the unaligned-access trap and the DWT cycle counter), calls main() and hands
 * its return value to the host as the exit status (semihost.h). A fault prints what faulted and
 * exits with status BOARD_FAULT_STATUS.
 */
#ifndef CORTEX_M_BOARD_H
#define CORTEX_M_BOARD_H

#include <stddef.h>
#include <stdint.h>

#define BOARD_FAULT_STATUS 3

/* "mps2-an386 (Cortex-M4)", "microbit (Cortex-M0)". */
const char *board_name(void);

/* 1 if the core has a cycle counter (the DWT's CYCCNT: Armv7-M and later; not Armv6-M). */
int board_has_cycle_counter(void);

/* 1 if the cycle counter advances. Real silicon: yes. QEMU does not model DWT_CYCCNT: it stays 0. */
int board_cycle_counter_runs(void);

/*
 * The counter, widened to 64 bits, with the signature of mm_cycle_counter (memoman.h):
 * mm_set_cycle_counter(instance, board_cycles, NULL). Returns 0 when there is no counter.
 */
uint64_t board_cycles(void *user);

/* 1 if unaligned word accesses fault (Armv6-M always; Armv7-M with SCB->CCR.UNALIGN_TRP set). */
int board_unaligned_traps(void);

/* Stack: its size, and the most of it used since reset (measured against the paint). */
size_t board_stack_size(void);
size_t board_stack_used(void);

#endif /* CORTEX_M_BOARD_H */

// SPDX-License-Identifier: MIT
/*
 * mm_config.h - memoman's knobs for the micro:bit's 16 KiB of RAM (named by
 * -DMM_CONFIG_HEADER='"mm_config.h"'; every file that includes memoman.h must see it, the library's
 * sources included). The defaults are in include/memoman/config.h.
 *
 * MM_FL_INDEX_MAX 14: blocks below 16 KiB (all the RAM there is), so the TLSF control structure
 * holds 7 first-level rows of free lists instead of 23: 1,064 bytes instead of 3,184.
 * MM_MAX_POOLS 4: the default on 32-bit targets, written out because the board has room for no more.
 */
#ifndef EXAMPLE_MM_CONFIG_H
#define EXAMPLE_MM_CONFIG_H

#define MM_FL_INDEX_MAX 14
#define MM_MAX_POOLS 4

#endif

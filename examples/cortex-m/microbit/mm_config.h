// SPDX-License-Identifier: MIT
/*
 * mm_config.h - memoman's knobs for the micro:bit's 16 KiB of RAM (named by
 * -DMM_CONFIG_HEADER='"mm_config.h"'; every file that includes memoman.h must see it, the library's
 * sources included). The defaults are in include/memoman/config.h.
 *
 * MM_FL_INDEX_MAX 14: blocks below 16 KiB (all the RAM there is), so the TLSF control structure
 * holds 7 first-level rows of free lists instead of 24: about 1 KiB instead of 3.4 KiB.
 * MM_MAX_POOLS 4: the pool table shrinks from 32 entries to 4.
 */
#ifndef EXAMPLE_MM_CONFIG_H
#define EXAMPLE_MM_CONFIG_H

#define MM_FL_INDEX_MAX 14
#define MM_MAX_POOLS 4

#endif

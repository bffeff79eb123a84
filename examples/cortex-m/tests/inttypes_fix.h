// SPDX-License-Identifier: MIT
/*
 * inttypes_fix.h - forced in front of each tests/test_*.c built for the M4 (-include): Debian's
 * newlib <inttypes.h> for arm-none-eabi leaves out the 64-bit PRI macros (PRIu64 and company) with
 * this gcc, so the test programs, which print their seeds with them, would not compile unchanged.
 * On Arm EABI, int64_t is long long.
 */
#include <inttypes.h>
#ifndef PRIu64
#define PRId64 "lld"
#define PRIi64 "lli"
#define PRIu64 "llu"
#define PRIx64 "llx"
#define PRIX64 "llX"
#endif

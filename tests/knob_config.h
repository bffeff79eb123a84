// SPDX-License-Identifier: MIT
/* A user configuration header, named with -DMM_CONFIG_HEADER='"knob_config.h"' (test_knobs). */
#define MM_MAX_POOLS 3

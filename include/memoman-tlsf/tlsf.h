// SPDX-License-Identifier: MIT
/*
 * tlsf.h - the TLSF 3.1 header's name, for programs written for TLSF 3.1 (`#include "tlsf.h"`).
 *
 * This folder holds this one file so that it can go on the include path (-I.../memoman-tlsf, which is
 * what `pkg-config --cflags memoman-tlsf` and CMake's memoman::tlsf give) without shadowing any
 * system header. The declarations are in memoman/tlsf.h, which this forwards to; the two can be
 * included together, and together with memoman.h.
 */
#include "../memoman/tlsf.h"

// SPDX-License-Identifier: MIT
/* cycles_on.c - built against a libmemoman configured with -DMEMOMAN_CYCLES=ON: cycle tracking is
 * there (mm_track_cycles answers 1), and MM_CYCLES reaches the program through the build flags. */
#include <memoman.h>
#include <stdio.h>

static _Alignas(16) unsigned char arena[65536];

int main(void)
{
	mm_t mm = mm_create_with_pool(arena, sizeof(arena));
	int ok = mm && mm_track_cycles(mm, 1) == 1 && MM_CYCLES == 1;
	puts(ok ? "cycles_on: ok" : "cycles_on: FAILED (cycle tracking not compiled in)");
	return ok ? 0 : 1;
}

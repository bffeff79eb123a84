#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/cross/bare_link.sh - proves the bare-metal link: libmemoman's six sources compiled with
# arm-none-eabi-gcc (-Os -ffunction-sections -fdata-sections, the project's warnings as errors) for
# Cortex-M0+ (ARMv6-M: no atomics at all), M3, M4 and M7 (ARMv7-M: 32-bit atomics only) and linked
# with newlib-nano (-specs=nano.specs -specs=nosys.specs -Wl,--gc-sections) into
#   all-<cpu>.elf   a program using a TLSF instance, fixed pools (checked and lock-free), a heap,
#                   statistics, hooks, resets and the built-in lock;
#   tlsf-<cpu>.elf  a TLSF-only program asking for its statistics, linked from tlsf.c and observe.c
#                   alone (no fixed.c, no heap.c);
# and fails if any image calls an __atomic_* or __sync_* library function (arm-none-eabi has no
# libatomic). Prints arm-none-eabi-size. Needs gcc-arm-none-eabi and libnewlib-arm-none-eabi.
# Output in $BUILD/cross-baremetal (BUILD defaults to build).
set -eu
cd "$(dirname "$0")/../.."
out=${BUILD:-build}/cross-baremetal
mkdir -p "$out"
cat > "$out/main_all.c" <<'C'
#include "memoman.h"
static _Alignas(8) unsigned char buf[8192];
static _Alignas(8) unsigned char fbuf[2048];
static _Alignas(8) unsigned char lbuf[2048];
static _Alignas(8) unsigned char hbuf[16384];
int main(void)
{
	mm_t mm = mm_create_with_pool(buf, sizeof(buf));
	mm_stats s;
	mm_free(mm, mm_malloc(mm, 100));
	mm_fixed_t f = mm_fixed_create(fbuf, sizeof(fbuf), 32, 0, 0);
	mm_fixed_free(f, mm_fixed_alloc(f));
	mm_fixed_t lf = mm_fixed_create(lbuf, sizeof(lbuf), 32, 0, MM_FIXED_LOCKFREE); /* NULL on ARMv6-M */
	mm_fixed_free(lf, mm_fixed_alloc(lf));
	mm_heap_config cfg;
	mm_heap_preset(MM_HEAP_PRESET_EMBEDDED, sizeof(hbuf), &cfg);
	mm_heap_t h = mm_heap_create(hbuf, sizeof(hbuf), &cfg);
	mm_heap_free(h, mm_heap_malloc(h, 40));
	int locked = mm_use_builtin_lock(mm); /* 0 on ARMv6-M */
	mm_set_hooks(h, 0, 0, 0);
	mm_reset_stats(h);
	return mm_get_stats(mm, &s) + mm_get_stats(h, &s) + mm_get_stats(f, &s) + locked + (int)s.allocs;
}
C
cat > "$out/main_tlsf.c" <<'C'
#include "memoman.h"
static _Alignas(8) unsigned char buf[8192];
int main(void)
{
	mm_t mm = mm_create_with_pool(buf, sizeof(buf));
	mm_stats s;
	mm_free(mm, mm_malloc(mm, 100));
	mm_set_lock(mm, 0, 0, 0);
	mm_set_hooks(mm, 0, 0, 0);
	mm_reset_stats(mm);
	int locked = mm_use_builtin_lock(mm);
	return mm_get_stats(mm, &s) + locked + (int)s.allocs;
}
C
flags="-std=c11 -Os -ffunction-sections -fdata-sections -Wall -Wextra -Wpedantic -Wconversion -Wshadow
 -Wcast-align -Wstrict-prototypes -Wmissing-prototypes -Werror -Iinclude"
link="-specs=nano.specs -specs=nosys.specs -Wl,--gc-sections"
for cpu in cortex-m0plus cortex-m3 cortex-m4 cortex-m7; do
	# shellcheck disable=SC2086
	arm-none-eabi-gcc $flags -mcpu=$cpu -mthumb "$out/main_all.c" src/tlsf.c src/tlsf_compat.c src/observe.c \
		src/fixed.c src/heap.c src/heap_config.c $link -o "$out/all-$cpu.elf"
	# shellcheck disable=SC2086
	arm-none-eabi-gcc $flags -mcpu=$cpu -mthumb "$out/main_tlsf.c" src/tlsf.c src/observe.c $link \
		-o "$out/tlsf-$cpu.elf"
	for e in "$out/all-$cpu.elf" "$out/tlsf-$cpu.elf"; do
		if arm-none-eabi-nm "$e" | grep -q '__atomic_\|__sync_'; then
			echo "$e calls atomics library functions:"
			arm-none-eabi-nm "$e" | grep '__atomic_\|__sync_'
			exit 1
		fi
	done
done
(cd "$out" && arm-none-eabi-size ./*.elf)
echo "bare_link: every image linked, no __atomic_*/__sync_* calls"

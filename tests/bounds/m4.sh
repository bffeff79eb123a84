#!/bin/sh
# SPDX-License-Identifier: MIT
# The worst paths of tests/bounds/bounds.c counted in instructions on a Cortex-M4 (mps2-an386) under
# qemu-system-arm with -icount (tests/bounds/m4.h says how), the library built with arm-none-eabi-gcc
# at each level of optimization given (default: -O2 -Os), the default knobs (MM_CHECKS=1). Prints,
# per entry point, the largest count over its constructed paths and that path. A report, not a check:
# the stated bounds are x86-64's (make test-bounds).
# Usage: tests/bounds/m4.sh [OPT...]   (needs gcc-arm-none-eabi, libnewlib-arm-none-eabi, qemu-system-arm)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cm=$root/examples/cortex-m
out=${M4_BUILD:-$root/build/bounds-m4}
cpu="-mcpu=cortex-m4 -mthumb -mfloat-abi=soft -mno-unaligned-access"
for tool in arm-none-eabi-gcc qemu-system-arm; do
	command -v $tool > /dev/null || { echo "m4.sh: $tool missing (make test-cortex-m installs it as root)"; exit 77; }
done
mkdir -p "$out"
tb=$out/cm/mps2-an386/tests
# The board's start-up (stdio over semihosting), as make test-cortex-m builds it.
make -s -C "$cm" BUILD="$out/cm" "$tb/startup-tests.o" "$out/cm/mps2-an386/semihost.o" \
	"$out/cm/mps2-an386/aligned_string.o" > "$out/make.log" 2>&1 || { cat "$out/make.log"; exit 1; }
[ $# -gt 0 ] || set -- -O2 -Os
for opt in "$@"; do
	dir=$out/${opt#-}
	mkdir -p "$dir"
	objs=""
	for src in tlsf tlsf_compat observe fixed heap heap_config; do
		arm-none-eabi-gcc $cpu -std=c11 $opt -ffunction-sections -fdata-sections -I"$root/include" \
			-c "$root/src/$src.c" -o "$dir/$src.o"
		objs="$objs $dir/$src.o"
	done
	arm-none-eabi-gcc $cpu -std=c11 $opt -ffunction-sections -fdata-sections -DBOUNDS_M4 "-DARENA=(4u << 20)" \
		-I"$root/include" -I"$root/src" -include "$cm/tests/inttypes_fix.h" -c "$root/tests/bounds/bounds.c" \
		-o "$dir/bounds.o"
	# shellcheck disable=SC2086 # lists of objects
	arm-none-eabi-gcc $cpu --specs=rdimon.specs -nostartfiles -Wl,--gc-sections -L"$cm/common" \
		-T"$cm/mps2-an386/link-psram.ld" -o "$dir/bounds.elf" "$dir/bounds.o" "$tb/startup-tests.o" \
		"$out/cm/mps2-an386/semihost.o" "$out/cm/mps2-an386/aligned_string.o" $objs
	timeout 600 qemu-system-arm -M mps2-an386 -icount shift=10 -semihosting-config enable=on,target=native \
		-nographic -monitor none -serial null -kernel "$dir/bounds.elf" > "$dir/run.txt" 2>&1 ||
		{ echo "m4.sh: the $opt image failed under QEMU:"; tail -5 "$dir/run.txt"; exit 1; }
	echo "== Cortex-M4 (mps2-an386, QEMU -icount), arm-none-eabi-gcc $opt, MM_CHECKS=1: instructions of one call"
	awk -v opt="$opt" '
		$1 == "M" && $2 == "calibrate" && $3 == "empty" { empty = $4 }
		$1 == "M" && $2 == "calibrate" && $3 == "nops" { nops = $4 }
		$1 == "M" && $2 != "calibrate" {
			if (!ratio) { ratio = (nops - empty) / 10002; printf "   (%.3f timer ticks per instruction; an empty measure %d ticks)\n", ratio, empty }
			split($3, c, "=")
			n = int(($4 - empty) / ratio + 0.5)
			if (!($2 in worst) || n > worst[$2]) { worst[$2] = n; path[$2] = c[1] }
			if (!($2 in seen)) { order[++k] = $2; seen[$2] = 1 }
		}
		END {
			if (!ratio) { print "m4.sh: no measurement in the output"; exit 1 }
			printf "   %-18s %8s  %s\n", "entry point", "largest", "its path"
			for (i = 1; i <= k; i++) printf "   %-18s %8d  %s\n", order[i], worst[order[i]], path[order[i]]
		}' "$dir/run.txt"
done

#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/footprint/run.sh [output folder] - what memoman adds to firmware, measured (make size, also run
# by make bench): flash (text + data) and static RAM (data + bss) of Cortex-M4 and Cortex-M0+ images
# built with arm-none-eabi-gcc -Os, newlib-nano and --gc-sections, minus a baseline program that calls
# nothing (probe.c, start.c); and the control structure's size on 32- and 64-bit targets.
#
# Rows: memoman's TLSF core with its default knobs; the same with the knobs that leave out what
# TLSF 3.1 does not have (MM_CHECKS=0 MM_OBSERVE=0 MM_REALLOC_BOTH_SIDES=0); the default knobs built
# for speed (MM_SMALL_CODE=0, what -Os gave before that knob); a fixed pool alone; the whole lower layer
# in use; and, when their checkouts are given as for make bench (TLSF31_DIR: the folder holding tlsf.c;
# O1HEAP_DIR: o1heap's checkout or its o1heap folder), TLSF 3.1 and o1heap with the same calls.
# Neither is downloaded here. "of it, C library" is the part of the flash figure that is newlib's
# and libgcc's routines (memcpy, memset, division helpers) the allocator pulled in.
#
# --check (first argument) also enforces the bounds the README states, exiting 1 when one is broken:
# the TLSF core with its default knobs at most 3,000 bytes of M4 flash; with the three knobs at most
# 1,860 and at most TLSF 3.1's own figure when TLSF31_DIR is given; the 32-bit control structure at
# most 3,188 bytes (TLSF 3.1's) and at most TLSF 3.1's measured one when given. make test-cortex-m
# runs it so.
#
# Needs gcc-arm-none-eabi and libnewlib-arm-none-eabi; without them it says so and exits 0 (make
# bench goes on). Writes <output>/footprint.csv. Environment: CC_HOST (default cc) for the 64-bit
# control sizes.
set -u
check=0
if [ "${1:-}" = "--check" ]; then
	check=1
	shift
fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/build/footprint}
mkdir -p "$out" || exit 1
out=$(cd "$out" && pwd)

if ! command -v arm-none-eabi-gcc >/dev/null 2>&1; then
	echo "footprint: skipped: needs gcc-arm-none-eabi and libnewlib-arm-none-eabi (Debian)"
	exit 0
fi

# The peers' folders, made absolute (the sources are compiled from other folders).
# peer_dir VAR DIR FILE SUB...: the absolute path of the first DIR/SUB that holds FILE.
peer_dir() {
	var=$1 dir=$2 file=$3
	shift 3
	for sub in "$@"; do
		[ -f "$dir/$sub/$file" ] && (cd "$dir/$sub" && pwd) && return 0
	done
	echo "footprint: $var=$dir holds no $file" >&2
	return 1
}
o1dir="" t31dir=""
if [ -n "${O1HEAP_DIR:-}" ]; then o1dir=$(peer_dir O1HEAP_DIR "$O1HEAP_DIR" o1heap.c o1heap .) || exit 1; fi
if [ -n "${TLSF31_DIR:-}" ]; then t31dir=$(peer_dir TLSF31_DIR "$TLSF31_DIR" tlsf.c .) || exit 1; fi

CFLAGS_COMMON="-std=c11 -Os -ffunction-sections -fdata-sections -DMM_HAVE_STDIO=0 -I$root/include"
LDFLAGS="--specs=nano.specs -nostartfiles -Wl,--gc-sections -Wl,--defsym=STACK_SIZE=1024"
cpu_m4="-mcpu=cortex-m4 -mthumb -mfloat-abi=soft"
cpu_m0plus="-mcpu=cortex-m0plus -mthumb"
link_m4=$root/examples/cortex-m/mps2-an386/link.ld
link_m0plus=$root/examples/cortex-m/microbit/link.ld
MINIMAL="-DMM_CHECKS=0 -DMM_OBSERVE=0 -DMM_REALLOC_BOTH_SIDES=0"
CORE="tlsf.c observe.c"

# build <cpu> <name> <probe> <extra cflags> <sources...>: links $out/<cpu>/<name>.elf; 1 on failure.
build() {
	cpu=$1 name=$2 probe=$3 extra=$4
	shift 4
	eval "flags=\"\$cpu_$cpu $CFLAGS_COMMON $extra\""
	eval "ld=\$link_$cpu"
	d=$out/$cpu/$name
	mkdir -p "$d" || return 1
	objs=""
	for s in "$@"; do
		case $s in /*) src=$s ;; *) src=$root/src/$s ;; esac
		o=$d/$(basename "$s" .c).o
		# shellcheck disable=SC2086 # $flags is a list
		arm-none-eabi-gcc $flags -c "$src" -o "$o" 2>>"$d/log" || return 1
		objs="$objs $o"
	done
	# shellcheck disable=SC2086
	arm-none-eabi-gcc $flags -DPROBE_$probe -c "$here/probe.c" -o "$d/probe.o" 2>>"$d/log" || return 1
	# shellcheck disable=SC2086
	arm-none-eabi-gcc $flags -fno-tree-loop-distribute-patterns -c "$here/start.c" -o "$d/start.o" 2>>"$d/log" || return 1
	# shellcheck disable=SC2086
	arm-none-eabi-gcc $flags $LDFLAGS -T"$ld" -L"$root/examples/cortex-m/common" -Wl,-Map="$d/map" \
		-o "$d/image.elf" "$d/probe.o" "$d/start.o" $objs 2>>"$d/log" || return 1
}

# flash and RAM of an image: "<text+data> <data+bss>"
sizes() { arm-none-eabi-size "$1" | awk 'NR == 2 { print $1 + $2, $2 + $3 }'; }

# bytes of the image's code and constants taken from the C library and libgcc (from the link map)
libc_bytes() {
	awk '
	/^Linker script and memory map/ { on = 1 }
	!on { next }
	/^ \.(text|rodata|data)/ {
		if (NF >= 4) { size = $3; file = $4 } else { getline; size = $2; file = $3 }
		if (file ~ /lib(c_nano|c|gcc|nosys|m)\.a\(/) total += strtonum_(size)
	}
	function strtonum_(h,    i, c, v) { v = 0; h = tolower(h); sub(/^0x/, "", h)
		for (i = 1; i <= length(h); i++) { c = index("0123456789abcdef", substr(h, i, 1)) - 1; v = v * 16 + c }
		return v }
	END { print total + 0 }' "$1"
}

csv=$out/footprint.csv
echo "target,program,flash_bytes,ram_bytes,libc_bytes" > "$csv"
echo "== Flash and static RAM added to a Cortex-M image (arm-none-eabi-gcc -Os, newlib-nano, --gc-sections),"
echo "   minus a baseline program; $(arm-none-eabi-gcc --version | head -1)"
printf "%-8s %-44s %7s %11s %7s\n" target program flash "of it, libc" RAM
for cpu in m4 m0plus; do
	build "$cpu" baseline BASELINE "" || { echo "footprint: the baseline did not build (see $out/$cpu/baseline/log)"; exit 1; }
	set -- $(sizes "$out/$cpu/baseline/image.elf")
	base_flash=$1 base_ram=$2
	base_libc=$(libc_bytes "$out/$cpu/baseline/map")
	rows="core|CORE||$CORE
core-minimal|CORE|$MINIMAL|$CORE
core-speed|CORE|-DMM_SMALL_CODE=0|$CORE
fixed|FIXED||fixed.c observe.c
lower-layer|ALL||tlsf.c observe.c fixed.c heap.c heap_config.c"
	[ -n "$t31dir" ] && rows="$rows
tlsf31|TLSF31|-DNDEBUG -I$t31dir|$t31dir/tlsf.c"
	[ -n "$o1dir" ] && rows="$rows
o1heap|O1HEAP|-DNDEBUG -I$o1dir|$o1dir/o1heap.c"
	echo "$rows" | while IFS='|' read -r name probe extra srcs; do
		case $name in
		core) label="memoman TLSF core (default knobs)" ;;
		core-minimal) label="memoman TLSF core, TLSF 3.1's features (*)" ;;
		core-speed) label="memoman TLSF core, MM_SMALL_CODE=0" ;;
		fixed) label="memoman fixed pool alone" ;;
		lower-layer) label="memoman lower layer (core, pool, heap)" ;;
		tlsf31) label="TLSF 3.1 (printf stubbed)" ;;
		o1heap) label="o1heap (no memalign, no realloc)" ;;
		esac
		# shellcheck disable=SC2086 # $srcs is a list
		if ! build "$cpu" "$name" "$probe" "$extra" $srcs; then
			printf "%-8s %-44s %s\n" "$cpu" "$label" "did not build (see $out/$cpu/$name/log)"
			continue
		fi
		set -- $(sizes "$out/$cpu/$name/image.elf")
		flash=$(($1 - base_flash)) ram=$(($2 - base_ram))
		libc=$(($(libc_bytes "$out/$cpu/$name/map") - base_libc))
		printf "%-8s %-44s %7d %11d %7d\n" "$cpu" "$label" "$flash" "$libc" "$ram"
		echo "$cpu,$name,$flash,$ram,$libc" >> "$csv"
	done
done
echo "   (*) -DMM_CHECKS=0 -DMM_OBSERVE=0 -DMM_REALLOC_BOTH_SIDES=0. RAM: static data only; every"
echo "   allocator here keeps its control structure in the memory it is given (below)."

# ---- Control structures ----------------------------------------------------------------------------
# The size of each allocator's control structure, read from the compiler: a probe file includes the
# allocator's source and defines an array of that size, whose size nm reports. 32-bit: Cortex-M4;
# 64-bit: the host compiler.
echo
echo "== Control structure (bytes of the memory given that hold the allocator's own state)"
hex_size() { # hex_size <compiler> <name>
	cc=$1 name=$2
	f=$out/ctl-$name.c
	case $name in
	memoman) printf '#include "tlsf_internal.h"\nchar control_size_probe[MM_ALIGN_UP_CONST(sizeof(mm_control), MM_ALIGN)];\n' > "$f" ; inc="-I$root/src -I$root/include" ;;
	tlsf31) printf '#define NDEBUG 1\n#include "tlsf.c"\nchar control_size_probe[sizeof(control_t)];\n' > "$f"; inc="-I$t31dir" ;;
	o1heap) printf '#define NDEBUG 1\n#include "o1heap.c"\nchar control_size_probe[INSTANCE_SIZE_PADDED];\n' > "$f"; inc="-I$o1dir" ;;
	esac
	# shellcheck disable=SC2086
	$cc -std=c11 -w $inc -c "$f" -o "$f.o" 2>/dev/null || { echo "-"; return; }
	h=$(nm -S "$f.o" 2>/dev/null | awk '$4 == "control_size_probe" { print $2 }' | head -1)
	[ -n "$h" ] && echo $((0x$h)) || echo "-"
}
printf "%-10s %12s %12s\n" allocator "32-bit (M4)" "64-bit (host)"
names="memoman"
[ -n "$t31dir" ] && names="$names tlsf31"
[ -n "$o1dir" ] && names="$names o1heap"
for n in $names; do
	a=$(hex_size "arm-none-eabi-gcc $cpu_m4" "$n")
	b=$(hex_size "${CC_HOST:-cc}" "$n")
	printf "%-10s %12s %12s\n" "$n" "$a" "$b"
	echo "control-32,$n,$a,," >> "$csv"
	echo "control-64,$n,$b,," >> "$csv"
done
echo "   memoman: mm_size() with the default knobs; TLSF 3.1: tlsf_size(); o1heap: its padded instance."
echo "footprint: $csv"

[ "$check" = 1 ] || exit 0
# ---- The stated bounds ----------------------------------------------------------------------------
value() { awk -F, -v t="$1" -v p="$2" '$1 == t && $2 == p { print $3 }' "$csv"; }
failed=0
isnum() { case $1 in '' | *[!0-9]*) return 1 ;; *) return 0 ;; esac; }
bound() { # bound <what> <value> <limit>: a value or a limit that is missing breaks it too
	if ! isnum "$2" || ! isnum "$3" || [ "$2" -gt "$3" ]; then
		echo "footprint: BOUND BROKEN: $1 is ${2:-missing}, above $3"
		failed=1
	else
		echo "footprint: bound kept: $1 $2 <= $3"
	fi
}
# 3,000 until the free-list links were sealed and checked (about 380 bytes at -Os).
bound "M4 flash of the TLSF core (default knobs)" "$(value m4 core)" 3400
bound "M4 flash of the TLSF core with TLSF 3.1's features" "$(value m4 core-minimal)" 1860
bound "32-bit control structure" "$(value control-32 memoman)" 3188
if [ -n "$t31dir" ]; then
	bound "M4 flash of the TLSF core with TLSF 3.1's features, against TLSF 3.1" "$(value m4 core-minimal)" "$(value m4 tlsf31)"
	bound "32-bit control structure, against TLSF 3.1" "$(value control-32 memoman)" "$(value control-32 tlsf31)"
fi
exit $failed

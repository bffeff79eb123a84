#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/security/run.sh: runs the heap-misuse programs of two public suites under several
# allocators, loaded with LD_PRELOAD, and counts what each allocator stops:
#
#   - GrapheneOS/hardened_malloc's test/ folder: the programs its own test_smc.py expects to be
#     killed (a return code of -6 or -11 there: "must stop"). Built here without hardened_malloc
#     linked in, with that folder's Makefile's flags. A program counts as stopped when a signal
#     ends it; "named" when, besides, the allocator's own message is on its standard error.
#   - daanx/mimalloc-bench's bench/security folder, built with its own CMake file (each source at
#     8 bytes, 4 KiB and 256 KiB). A program counts as caught unless it prints NOT_CAUGHT (as that
#     suite counts); "named" as above.
#
# It drives checkouts the user fetched into folders of their own; it never downloads anything,
# and nothing of the suites is part of this repository. See bench/security/README.md.
#
# Usage:
#   bench/security/run.sh [--hardened DIR] [--mimalloc-bench DIR] [--lib NAME=SO]... [--out DIR]
#                         [--timeout S]
#
#   --hardened DIR        a hardened_malloc checkout (DIR/test/test_smc.py, DIR/test/*.c)
#   --mimalloc-bench DIR  a mimalloc-bench checkout (DIR/bench/security)
#   --lib NAME=SO         an allocator to preload; NAME=  (empty) runs without one. Default: glibc=,
#                         memoman=build/release/libmemoman-malloc.so and
#                         memoman-secure=build/release/libmemoman-malloc-secure.so of this repository
#                         (make release), when built. Give hardened_malloc=DIR/out/libhardened_malloc.so
#                         for the peer.
#   --out DIR             results folder (default ./security-results): results.csv (suite, program,
#                         allocator, status, return code, named, first line of standard error) and
#                         summary.md (also printed)
#   --timeout S           limit for one run (default 20 s)
#
# "Named" looks for the allocator's name in its message: "memoman:" for memoman's libraries,
# "fatal allocator error" for hardened_malloc, "free(): " / "malloc(): " / "double free" and
# "corrupted" for glibc, "mimalloc:" for mimalloc; another allocator's named column counts any
# message on standard error.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd) || exit 2
HM="" MB="" OUT=./security-results TIMEOUT=20
LIBS=()
while [ $# -gt 0 ]; do
	case $1 in
	--hardened) HM=$2; shift 2 ;;
	--mimalloc-bench) MB=$2; shift 2 ;;
	--lib) LIBS+=("$2"); shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	-h | --help) sed -n '3,38p' "$0"; exit 0 ;;
	*) echo "unknown argument: $1" >&2; exit 2 ;;
	esac
done
[ -n "$HM$MB" ] || { echo "give --hardened DIR and/or --mimalloc-bench DIR (see --help)" >&2; exit 2; }
if [ ${#LIBS[@]} = 0 ]; then
	LIBS=("glibc=")
	for l in memoman:libmemoman-malloc.so memoman-secure:libmemoman-malloc-secure.so; do
		so=$ROOT/build/release/${l#*:}
		if [ -f "$so" ]; then LIBS+=("${l%%:*}=$so"); else echo "left out: ${l%%:*} ($so not built: make release)" >&2; fi
	done
fi
for l in "${LIBS[@]}"; do
	so=${l#*=}
	[ -z "$so" ] || [ -f "$so" ] || { echo "no such library: $so" >&2; exit 2; }
done
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
CSV=$OUT/results.csv
echo "suite,program,allocator,status,rc,named,message" >"$CSV"

# The pattern of an allocator's own message, by its name and library.
own_message() {
	case "$1:$2" in
	memoman*) echo "memoman:" ;;
	*hardened*) echo "fatal allocator error" ;;
	glibc:*) echo 'free\(\): |malloc\(\): |realloc\(\): |double free|corrupted' ;;
	*mimalloc*) echo "mimalloc:" ;;
	*) echo "." ;;
	esac
}

# run SUITE PROGRAM: every allocator, one line of the CSV each.
run() {
	local suite=$1 prog=$2 l name so rc status named msg
	local o=$OUT/.stdout e=$OUT/.stderr
	for l in "${LIBS[@]}"; do
		name=${l%%=*} so=${l#*=}
		# glibc writes its fatal messages to the terminal unless LIBC_FATAL_STDERR_ is set; the
		# shell's own "Segmentation fault" line goes to /dev/null.
		{ (cd "$(dirname "$prog")" && if [ -n "$so" ]; then
			LD_PRELOAD=$so LIBC_FATAL_STDERR_=1 exec timeout "$TIMEOUT" "./$(basename "$prog")"
		else
			LIBC_FATAL_STDERR_=1 exec timeout "$TIMEOUT" "./$(basename "$prog")"
		fi) >"$o" 2>"$e"; } 2>/dev/null
		rc=$?
		if [ "$rc" = 124 ] || [ "$rc" = 126 ] || [ "$rc" = 127 ]; then
			status=error # timed out, or did not start: neither caught nor stopped
		elif [ "$suite" = mimalloc-bench ]; then
			# As that suite counts: caught unless NOT_CAUGHT was printed (on either stream).
			if grep -q NOT_CAUGHT "$o" "$e"; then status=not_caught; else status=caught; fi
		elif [ "$rc" -ge 128 ] && [ "$rc" != 124 ]; then
			status=stopped
		else
			status=not_stopped
		fi
		named=0
		if [ "$status" = caught ] || [ "$status" = stopped ]; then
			grep -Eq "$(own_message "$name" "$so")" "$e" && named=1
		fi
		msg=$(grep -v NOT_CAUGHT "$e" | head -1 | tr -d '\r' | tr ',"' ';;' | cut -c1-100)
		echo "$suite,$(basename "$prog"),$name,$status,$rc,$named,\"$msg\"" >>"$CSV"
	done
	rm -f "$o" "$e"
}

if [ -n "$HM" ]; then
	[ -f "$HM/test/test_smc.py" ] || { echo "not a hardened_malloc checkout: $HM" >&2; exit 2; }
	bin=$OUT/hardened-tests
	mkdir -p "$bin"
	# The must-stop programs: those whose test asserts a return code of -6 or -11.
	musts=$(python3 - "$HM/test/test_smc.py" <<'EOF'
import re, sys
src = open(sys.argv[1]).read()
for block in re.split(r"\n    def test_", src)[1:]:
    name = re.search(r'run_test\(\s*"([^"]+)"', block)
    if name and re.search(r"assertEqual\(returncode, -(6|11)\)", block):
        print(name.group(1))
EOF
)
	cstd=-std=c23
	echo 'int main(void){return 0;}' | cc -std=c23 -x c - -o /dev/null 2>/dev/null || cstd=-std=c2x
	flags="-D_GNU_SOURCE -DSLAB_CANARY=true -DCONFIG_EXTENDED_SIZE_CLASSES=true -O3"
	n=0
	for t in $musts; do
		if [ -f "$HM/test/$t.c" ]; then
			# shellcheck disable=SC2086 # a list of flags
			cc $cstd $flags -include stdalign.h -include stdbool.h -o "$bin/$t" "$HM/test/$t.c" -lpthread \
				>"$bin/$t.log" 2>&1 || { echo "build failed: $t (see $bin/$t.log)" >&2; continue; }
		elif [ -f "$HM/test/$t.cc" ]; then
			# shellcheck disable=SC2086
			c++ -std=c++17 -fsized-deallocation $flags -o "$bin/$t" "$HM/test/$t.cc" -lpthread \
				>"$bin/$t.log" 2>&1 || { echo "build failed: $t (see $bin/$t.log)" >&2; continue; }
		else
			continue
		fi
		run hardened_malloc "$bin/$t"
		n=$((n + 1))
	done
	echo "hardened_malloc: $n must-stop programs run" >&2
fi

if [ -n "$MB" ]; then
	[ -f "$MB/bench/security/CMakeLists.txt" ] || { echo "not a mimalloc-bench checkout: $MB" >&2; exit 2; }
	b=$OUT/mimalloc-bench-security
	cmake -S "$MB/bench/security" -B "$b" -DCMAKE_BUILD_TYPE=Release >"$OUT/mb-configure.log" 2>&1 &&
		cmake --build "$b" -j "$(nproc 2>/dev/null || echo 2)" >"$OUT/mb-build.log" 2>&1 ||
		echo "some of mimalloc-bench's security programs did not build (see $OUT/mb-build.log)" >&2
	n=0
	for p in "$b"/*; do
		if [ ! -f "$p" ] || [ ! -x "$p" ]; then continue; fi
		run mimalloc-bench "$p"
		n=$((n + 1))
	done
	echo "mimalloc-bench: $n programs run" >&2
fi

# The summary: per suite and allocator, how many were stopped (caught) and how many named.
{
	echo "| suite | programs | $(printf '%s | ' "${LIBS[@]%%=*}")"
	echo "|---|---:|$(printf -- '---: |%.0s' "${LIBS[@]}")"
	for suite in hardened_malloc mimalloc-bench; do
		total=$(awk -F, -v s="$suite" -v a="${LIBS[0]%%=*}" '$1 == s && $3 == a' "$CSV" | wc -l)
		[ "$total" -gt 0 ] || continue
		row="| $suite | $total |"
		for l in "${LIBS[@]}"; do
			row="$row $(awk -F, -v s="$suite" -v a="${l%%=*}" '$1 == s && $3 == a {
				if ($4 == "stopped" || $4 == "caught") { c++; if ($6 == 1) m++ }
			} END { printf "%d (%d named)", c, m }' "$CSV") |"
		done
		echo "$row"
	done
	echo
	echo "hardened_malloc: programs its test_smc.py expects to be killed, counted when a signal ended them."
	echo "mimalloc-bench: programs of bench/security that did not print NOT_CAUGHT."
	echo "Named: the allocator's own message was on standard error. A run that timed out or did not"
	echo "start counts as neither (status error in $CSV, which lists every run)."
} | tee "$OUT/summary.md"

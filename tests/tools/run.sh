#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh - a memory checker must see memoman's blocks as it sees malloc's (make test-tools).
#
#   run.sh memcheck|asan <buggy> [<buggy_malloc> <libmemoman-malloc.so>]
#
# Runs each program of buggy.c (libmemoman: TLSF core, fixed pool, heap classes, heap remainder)
# and of buggy_malloc.c (libmemoman-malloc: small and larger class, zone, large-region and huge blocks)
# with each bug, and checks the checker's report:
#   memcheck: under valgrind (libmemoman-malloc in LD_PRELOAD, Valgrind told not to put its own
#             malloc in its place, and its statistics must show it served the program): the
#             overflow as "Invalid write ... after a block of size N", the read after free as
#             "Invalid read ... inside a block ... free'd", the leak as lost, a branch on bytes
#             never written as uninitialised; correct use gives no report at all.
#   asan:     built with -fsanitize=address: the overflow and the read after free as ASan errors
#             whose first frame is the program's main (not memoman); correct use gives none.
#             ASan's leak check knows only ASan's own heap: no leak case (docs/debugging.md).
set -u
checker=$1
buggy=$2
bmalloc=${3:-}
lib=${4:-}
failures=0
cases=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# check <label> <pattern> [<pattern> ...]: each extended regular expression is in the output ("-"
# first: the output must have no report at all, and the program must have exited 0).
check() {
	label=$1
	shift
	cases=$((cases + 1))
	if [ "$1" = "-" ]; then
		if [ "$status" -ne 0 ] || grep -Eq 'Invalid|lost in loss|uninitialised|AddressSanitizer' "$out"; then
			echo "FAIL $label: a report (or exit $status) for correct use:"
			sed 's/^/    /' "$out" | head -20
			failures=$((failures + 1))
		fi
		return
	fi
	for pattern in "$@"; do
		if ! grep -Eq "$pattern" "$out"; then
			echo "FAIL $label: no /$pattern/ in:"
			sed 's/^/    /' "$out" | head -30
			failures=$((failures + 1))
			return
		fi
	done
}

run() {
	status=0
	"$@" > "$out" 2>&1 || status=$?
}

vg() { run valgrind -q --leak-check=full --error-exitcode=9 --soname-synonyms=somalloc=nouserintercepts "$@"; }

if [ "$checker" = memcheck ]; then
	command -v valgrind > /dev/null || { echo "run.sh: valgrind is not installed"; exit 1; }
	for layer in tlsf fixed heap heap-large; do
		vg "$buggy" "$layer" none
		check "$layer none" -
		vg "$buggy" "$layer" overflow
		check "$layer overflow" 'Invalid write of size 1' '0 bytes after a block of size'
		vg "$buggy" "$layer" after
		check "$layer after" 'Invalid read of size 1' "inside a block of size .* free'd"
		vg "$buggy" "$layer" leak
		check "$layer leak" 'bytes in 1 blocks are (definitely|possibly) lost'
	done
	if [ -n "$bmalloc" ]; then
		for size in 24 3000 100000 2000000 50000000; do
			MEMOMAN_STATS=1 LD_PRELOAD=$lib vg "$bmalloc" "$size" none
			check "malloc $size none" -
			check "malloc $size none: memoman served it" 'memoman: +blocks handed out [1-9]'
			LD_PRELOAD=$lib vg "$bmalloc" "$size" overflow
			check "malloc $size overflow" 'Invalid write of size 1' '0 bytes after a block of size'
			LD_PRELOAD=$lib vg "$bmalloc" "$size" after
			check "malloc $size after" 'Invalid read of size 1' "inside a block of size .* free'd"
			LD_PRELOAD=$lib vg "$bmalloc" "$size" leak
			check "malloc $size leak" 'bytes in 1 blocks are (definitely|possibly) lost'
			LD_PRELOAD=$lib vg "$bmalloc" "$size" uninit
			check "malloc $size uninit" 'depends on uninitialised value'
		done
	fi
else
	for layer in tlsf fixed heap heap-large; do
		run "$buggy" "$layer" none
		check "$layer none" -
		run "$buggy" "$layer" overflow
		check "$layer overflow" 'AddressSanitizer: use-after-poison' 'WRITE of size 1' '#0 .* in main '
		run "$buggy" "$layer" after
		check "$layer after" 'AddressSanitizer: use-after-poison' 'READ of size 1' '#0 .* in main '
	done
	if [ -n "$bmalloc" ]; then
		for size in 24 3000 100000 2000000 50000000; do
			run "$bmalloc" "$size" none
			check "malloc $size none" -
			run "$bmalloc" "$size" overflow
			check "malloc $size overflow" 'AddressSanitizer: use-after-poison' 'WRITE of size 1' '#0 .* in main '
			run "$bmalloc" "$size" after
			check "malloc $size after" 'AddressSanitizer: use-after-poison' 'READ of size 1' '#0 .* in main '
		done
	fi
fi
if [ "$failures" -ne 0 ]; then
	echo "tools ($checker): $failures of $cases checks failed"
	exit 1
fi
echo "tools ($checker): all $cases checks passed"

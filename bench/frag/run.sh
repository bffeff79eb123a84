#!/bin/sh
# SPDX-License-Identifier: MIT
# make frag-report (also the end of make bench): internal and external fragmentation of the TLSF
# core, the composed heap (suggested and preset configurations), glibc's malloc and (given their
# checkouts: TLSF31_DIR, O1HEAP_DIR) TLSF 3.1 and o1heap, on synthetic
# request distributions (gen.py) and on real programs' traces recorded with MEMOMAN_TRACE (sqlite3
# and CPython, when installed). memoman-trace replays each trace; report.py writes the table
# (frag.md), the samples and rows (samples.csv, summary.csv) and the plots (frag_external.svg,
# frag_internal.svg) in <build>/frag.
# Usage: bench/frag/run.sh <cmake build folder>   (needs python3)
set -eu
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
out=$build/frag
tool=$build/memoman-trace
# Built when the build was configured with TLSF31_DIR and O1HEAP_DIR (bench/README.md): the same
# report with TLSF 3.1's and o1heap's rows.
[ -x "$build/bench/memoman-trace-peers" ] && tool=$build/bench/memoman-trace-peers
lib=$build/libmemoman-malloc.so
[ -x "$tool" ] || { echo "frag: $tool missing (build first: make all)"; exit 1; }
command -v python3 > /dev/null || { echo "frag: python3 needed"; exit 1; }
mkdir -p "$out"
rm -f "$out"/*.trace "$out/samples.csv" "$out/summary.csv"
for d in uniform exponential pow2 bimodal; do
	python3 "$here/gen.py" "$d" "${FRAG_OPERATIONS:-200000}" 1 > "$out/$d.trace"
done
if [ -e "$lib" ] && command -v sqlite3 > /dev/null; then
	MEMOMAN_TRACE=$out/sqlite3.trace LD_PRELOAD=$lib sqlite3 :memory: < "$src/tests/programs/sqlite.sql" > /dev/null
fi
if [ -e "$lib" ] && command -v python3 > /dev/null; then
	PYTHONMALLOC=malloc MEMOMAN_TRACE=$out/cpython.trace LD_PRELOAD=$lib python3 -c '
import json, re
d = {i: str(i) * 3 for i in range(20000)}
s = json.dumps(d)
print(len(s), len(re.findall(r"1+", s)))' > /dev/null
fi
for t in "$out"/*.trace; do
	(cd "$out" && "$tool" --no-replay --frag-csv samples.csv --frag-summary summary.csv "$(basename "$t")" \
		> "$(basename "$t" .trace).txt")
done
python3 "$here/report.py" "$out"

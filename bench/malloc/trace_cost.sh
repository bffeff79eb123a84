#!/bin/sh
# SPDX-License-Identifier: MIT
# What MEMOMAN_TRACE costs: each program run under libmemoman-malloc without and with the recorder,
# alternated, ROUNDS times (default 5); the medians of wall and CPU time, the calls recorded (lines
# of the trace) and the cost per call. Programs: the churn and larson workloads of bench/malloc
# (one thread; several) and, where installed, sqlite3 on tests/programs/sqlite.sql.
# Usage: bench/malloc/trace_cost.sh <cmake build folder>   (make all first; GNU time needed)
set -eu
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
lib=$build/libmemoman-malloc.so
work=$build/bench/malloc_workloads
rounds=${ROUNDS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -x /usr/bin/time ] || { echo "trace_cost.sh: GNU time needed (apt-get install time)"; exit 1; }
[ -e "$lib" ] && [ -x "$work" ] || { echo "trace_cost.sh: build $build first (make all)"; exit 1; }

median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

printf "%-10s %9s %9s %9s %9s %11s %12s %12s\n" program wall cpu "wall+tr" "cpu+tr" calls "ns/call wall" "ns/call cpu"
run() { # run NAME INPUT command...
	name=$1 input=$2
	shift 2
	: > "$tmp/plain" && : > "$tmp/traced"
	for r in $(seq "$rounds"); do
		LD_PRELOAD=$lib /usr/bin/time -f "%e %U %S" -o "$tmp/t" "$@" < "$input" > /dev/null 2>&1
		awk '{print $1, $2 + $3}' "$tmp/t" >> "$tmp/plain"
		MEMOMAN_TRACE=$tmp/trace LD_PRELOAD=$lib /usr/bin/time -f "%e %U %S" -o "$tmp/t" "$@" < "$input" > /dev/null 2>&1
		awk '{print $1, $2 + $3}' "$tmp/t" >> "$tmp/traced"
	done
	calls=$(grep -c '^[af] ' "$tmp/trace")
	w0=$(cut -d' ' -f1 "$tmp/plain" | median) c0=$(cut -d' ' -f2 "$tmp/plain" | median)
	w1=$(cut -d' ' -f1 "$tmp/traced" | median) c1=$(cut -d' ' -f2 "$tmp/traced" | median)
	awk -v n="$name" -v w0="$w0" -v c0="$c0" -v w1="$w1" -v c1="$c1" -v k="$calls" 'BEGIN {
		printf "%-10s %9.2f %9.2f %9.2f %9.2f %11d %12.1f %12.1f\n", n, w0, c0, w1, c1, k, (w1 - w0) * 1e9 / k, (c1 - c0) * 1e9 / k }'
}
run churn /dev/null "$work" churn
run larson /dev/null "$work" larson
if command -v sqlite3 > /dev/null; then
	run sqlite3 "$src/tests/programs/sqlite.sql" sqlite3 :memory:
fi
echo "(calls: allocations and frees recorded; a realloc is two. Medians of $rounds rounds, alternated.)"

#!/bin/sh
# make bench: the TLSF core against glibc, in one run. Prints tables and writes
# <build>/bench/tlsf.csv. Instruction counts need valgrind (apt-get install valgrind).
# Usage: bench/run.sh <cmake build folder>
set -eu
dir=$1/bench
csv=$dir/tlsf.csv
echo "kind,workload,allocator,checks,value" > "$csv"

echo "== Time: ns per call, median of 5 replays, allocators alternated in each round"
for variant in bench_tlsf:1 bench_tlsf_nocheck:0; do
	bin=${variant%%:*}; checks=${variant##*:}
	echo "-- libmemoman built with MM_CHECKS=$checks"
	"$dir/$bin" 5 | tee "$dir/time_$checks.txt"
	tail -n +2 "$dir/time_$checks.txt" | awk -v c="$checks" '{print "ns_per_call," $1 "," $2 "," c "," $3}' >> "$csv"
done

echo
echo "== Memory: memoman's smallest pool that serves the whole trace (and its highest byte used);"
echo "   glibc's peak footprint from the OS during the same trace (each in a fresh process)"
printf "%-9s %-9s %14s %14s\n" workload allocator bytes "highest byte"
for w in small medium memalign; do
	for a in memoman glibc; do
		"$dir/bench_tlsf" --memory $w $a | tee -a "$dir/memory.txt"
	done
done
awk '{print "memory," $1 "," $2 ",1," $3}' "$dir/memory.txt" >> "$csv"
rm -f "$dir/memory.txt"

if ! command -v valgrind >/dev/null 2>&1; then
	echo
	echo "valgrind not found: instruction counts skipped (apt-get install valgrind)"
	exit 0
fi

# Instructions inside the allocator's own entry points (and what they call), per call.
toggles() {
	case $1 in
	memoman) echo "--toggle-collect=mm_malloc --toggle-collect=mm_free --toggle-collect=mm_memalign" ;;
	tlsf-api) echo "--toggle-collect=tlsf_malloc --toggle-collect=tlsf_free --toggle-collect=tlsf_memalign" ;;
	glibc) echo "--toggle-collect=malloc --toggle-collect=free --toggle-collect=memalign" ;;
	esac
}
count() { # count <binary> <toggles> <args...>: instructions collected
	bin=$1; shift; tg=$1; shift
	out=$(mktemp)
	# shellcheck disable=SC2086
	valgrind --tool=callgrind --callgrind-out-file="$out" $tg "$dir/$bin" "$@" > /dev/null 2>&1
	grep '^summary:' "$out" | awk '{print $2}'
	rm -f "$out"
}

echo
echo "== Instructions per call (valgrind --tool=callgrind, inside the allocator's entry points)"
printf "%-9s %-9s %8s %12s\n" workload allocator checks instr/call
for w in small medium memalign; do
	calls=$("$dir/bench_tlsf" --calls $w)
	for a in memoman tlsf-api glibc; do
		ir=$(count bench_tlsf "$(toggles $a)" --one $w $a)
		v=$(awk -v i="$ir" -v c="$calls" 'BEGIN {printf "%.1f", i / c}')
		printf "%-9s %-9s %8s %12s\n" $w $a 1 "$v"
		echo "instr_per_call,$w,$a,1,$v" >> "$csv"
	done
	ir=$(count bench_tlsf_nocheck "$(toggles memoman)" --one $w memoman)
	v=$(awk -v i="$ir" -v c="$calls" 'BEGIN {printf "%.1f", i / c}')
	printf "%-9s %-9s %8s %12s\n" $w memoman 0 "$v"
	echo "instr_per_call,$w,memoman,0,$v" >> "$csv"
done

echo
echo "== Worst paths: instructions of one call (callgrind, mean of 1000, including a 3-instruction call wrapper)"
printf "%-6s %-9s %8s %12s\n" path allocator checks instr
for p in split merge gap; do
	for v in bench_tlsf:1 bench_tlsf_nocheck:0; do
		bin=${v%%:*}; checks=${v##*:}
		ir=$(count "$bin" "--toggle-collect=probe_$p*" --probe $p memoman 1000)
		val=$(awk -v i="$ir" 'BEGIN {printf "%.1f", i / 1000}')
		printf "%-6s %-9s %8s %12s\n" $p memoman "$checks" "$val"
		echo "worst_path,$p,memoman,$checks,$val" >> "$csv"
	done
done
echo
echo "results: $csv"

#!/bin/sh
# SPDX-License-Identifier: MIT
# make bench: the TLSF core, fixed pools and the composed heap against glibc, in one run. Prints
# tables and writes <build>/bench/tlsf.csv and <build>/bench/heap.csv. Instruction counts need
# valgrind (apt-get install valgrind). TLSF 3.1 and o1heap are measured beside them when the build was
# configured with TLSF31_DIR / O1HEAP_DIR (their rows say "not given" otherwise). See bench/README.md.
# Usage: bench/run.sh <cmake build folder>
set -eu
dir=$1/bench
# peers: the optional allocators; has <binary> <allocator>: built in?
peers="tlsf31 o1heap"
has() { "$dir/$1" --has "$2"; }
notgiven() { case $1 in tlsf31) echo "not given (TLSF31_DIR)" ;; o1heap) echo "not given (O1HEAP_DIR)" ;; esac; }
csv=$dir/tlsf.csv
hcsv=$dir/heap.csv
echo "kind,workload,allocator,checks,value" > "$csv"
echo "kind,workload,allocator,checks,value" > "$hcsv"

echo "==== The TLSF core"
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
	for a in memoman $peers glibc; do
		if ! has bench_tlsf "$a"; then
			printf "%-9s %-9s %s\n" $w "$a" "$(notgiven "$a")"
		elif [ $w = memalign ] && [ "$a" = o1heap ]; then
			printf "%-9s %-9s %14s\n" $w "$a" "n/a (no memalign)"
		else
			"$dir/bench_tlsf" --memory $w "$a" | tee -a "$dir/memory.txt"
		fi
	done
done
awk '{c = $2 == "tlsf31" || $2 == "o1heap" ? "-" : 1; print "memory," $1 "," $2 "," c "," $3}' "$dir/memory.txt" >> "$csv"
rm -f "$dir/memory.txt"

echo
echo "==== Fixed pools and the heap (bench_heap)"
echo "== Cycles per call: each call timed alone, fastest of 9 replays kept (allocators alternated);"
echo "   and the whole replay's cycles per call (median of the 9)"
"$dir/bench_heap" 9 | tee "$dir/heap_time.txt"
awk 'NF >= 9 && $3 ~ /^[0-9.]+$/ {
	print "cycles_alloc_mean," $1 "," $2 ",1," $3; print "cycles_alloc_worst," $1 "," $2 ",1," $5
	print "cycles_free_mean," $1 "," $2 ",1," $6; print "cycles_free_worst," $1 "," $2 ",1," $8
	print "cycles_replay," $1 "," $2 ",1," $9 }' "$dir/heap_time.txt" >> "$hcsv"
echo
echo "== Worst paths, cycles (fastest of 1000 repetitions)"
"$dir/bench_heap" --probes 1000 | tee "$dir/heap_probes.txt"
tail -n +2 "$dir/heap_probes.txt" | awk '{print "worst_path_cycles," $1 ",-,1," $2}' >> "$hcsv"
rm -f "$dir/heap_time.txt" "$dir/heap_probes.txt"
echo
echo "== Memory: the smallest arena (to 64 bytes) that serves the whole trace (not for heap: its"
echo "   configuration sets its arena)"
printf "%-8s %-15s %12s\n" workload alloc bytes
for w in pair64 churn64 churn; do
	for a in fixed fixed-unchecked tlsf $peers; do
		[ $w = churn ] && case $a in fixed*) true ;; *) false ;; esac && continue
		if ! has bench_heap "$a"; then
			printf "%-8s %-15s %12s\n" $w "$a" "$(notgiven "$a")"
			continue
		fi
		"$dir/bench_heap" --memory $w "$a" | tee -a "$dir/heap_memory.txt"
	done
done
awk '{print "arena_bytes," $1 "," $2 ",1," $3}' "$dir/heap_memory.txt" >> "$hcsv"
rm -f "$dir/heap_memory.txt"

if ! command -v valgrind >/dev/null 2>&1; then
	echo
	echo "valgrind not found: instruction counts skipped (apt-get install valgrind)"
	exit 0
fi

count() { # count <binary> <toggles> <args...>: instructions collected
	bin=$1; shift; tg=$1; shift
	out=$(mktemp)
	# shellcheck disable=SC2086
	valgrind --tool=callgrind --callgrind-out-file="$out" $tg "$dir/$bin" "$@" > /dev/null 2>&1
	grep '^summary:' "$out" | awk '{print $2}'
	rm -f "$out"
}
per() { awk -v i="$1" -v n="$2" 'BEGIN {printf "%.1f", i / n}'; }

# Instructions inside the allocator's own entry points (and what they call), per call.
toggles() {
	case $1 in
	memoman) echo "--toggle-collect=mm_malloc --toggle-collect=mm_free --toggle-collect=mm_memalign" ;;
	tlsf-api) echo "--toggle-collect=tlsf_malloc --toggle-collect=tlsf_free --toggle-collect=tlsf_memalign" ;;
	glibc) echo "--toggle-collect=malloc --toggle-collect=free --toggle-collect=memalign" ;;
	fixed | fixed-unchecked) echo "--toggle-collect=mm_fixed_alloc --toggle-collect=mm_fixed_free" ;;
	heap | heap-unchecked) echo "--toggle-collect=mm_heap_malloc --toggle-collect=mm_heap_free" ;;
	tlsf) echo "--toggle-collect=mm_malloc --toggle-collect=mm_free" ;;
	tlsf31) echo "--toggle-collect=conte_tlsf_malloc --toggle-collect=conte_tlsf_free --toggle-collect=conte_tlsf_memalign" ;;
	o1heap) echo "--toggle-collect=o1heapAllocate --toggle-collect=o1heapFree" ;;
	esac
}

echo
echo "==== The TLSF core"
echo "== Instructions per call (valgrind --tool=callgrind, inside the allocator's entry points)"
printf "%-9s %-9s %8s %12s\n" workload allocator checks instr/call
for w in small medium memalign; do
	calls=$("$dir/bench_tlsf" --calls $w)
	for a in memoman tlsf-api $peers glibc; do
		if ! has bench_tlsf "$a"; then
			printf "%-9s %-9s %8s %12s\n" $w "$a" - "$(notgiven "$a")"
			continue
		elif [ $w = memalign ] && [ "$a" = o1heap ]; then
			printf "%-9s %-9s %8s %12s\n" $w "$a" - "n/a (no memalign)"
			continue
		fi
		v=$(per "$(count bench_tlsf "$(toggles "$a")" --one $w "$a")" "$calls")
		checks=1 # MM_CHECKS concerns memoman's code only
		case $a in tlsf31 | o1heap) checks=- ;; esac
		printf "%-9s %-9s %8s %12s\n" $w "$a" $checks "$v"
		echo "instr_per_call,$w,$a,$checks,$v" >> "$csv"
	done
	v=$(per "$(count bench_tlsf_nocheck "$(toggles memoman)" --one $w memoman)" "$calls")
	printf "%-9s %-9s %8s %12s\n" $w memoman 0 "$v"
	echo "instr_per_call,$w,memoman,0,$v" >> "$csv"
	v=$(per "$(count bench_tlsf_small "$(toggles memoman)" --one $w memoman)" "$calls")
	printf "%-9s %-9s %8s %12s   (built small: MM_SMALL_CODE=1)\n" $w mm-small 1 "$v"
	echo "instr_per_call,$w,memoman-small,1,$v" >> "$csv"
done

echo
echo "== Worst paths: instructions of one call (callgrind, mean of 1000, including a 3-instruction call wrapper)"
printf "%-6s %-9s %8s %12s\n" path allocator checks instr
for p in split merge gap; do
	for v in bench_tlsf:1 bench_tlsf_nocheck:0; do
		bin=${v%%:*}; checks=${v##*:}
		val=$(per "$(count "$bin" "--toggle-collect=probe_$p*" --probe $p memoman 1000)" 1000)
		printf "%-6s %-9s %8s %12s\n" $p memoman "$checks" "$val"
		echo "worst_path,$p,memoman,$checks,$val" >> "$csv"
	done
	# The peers on the same set-ups (o1heap has no memalign, hence no gap path).
	for a in $peers; do
		if ! has bench_tlsf "$a"; then
			printf "%-6s %-9s %8s %12s\n" $p "$a" - "$(notgiven "$a")"
		elif [ $p = gap ] && [ "$a" = o1heap ]; then
			printf "%-6s %-9s %8s %12s\n" $p "$a" - "n/a (no memalign)"
		else
			val=$(per "$(count bench_tlsf "--toggle-collect=probe_$p*" --probe $p "$a" 1000)" 1000)
			printf "%-6s %-9s %8s %12s\n" $p "$a" - "$val"
			echo "worst_path,$p,$a,-,$val" >> "$csv"
		fi
	done
done

echo
echo "==== Fixed pools and the heap"
echo "== Instructions per allocate+free pair (callgrind, inside the entry points)"
printf "%-8s %-15s %12s %12s\n" workload alloc "checks on" "checks off"
for w in pair64 churn64 churn; do
	pairs=$("$dir/bench_heap" --calls $w)
	for a in fixed fixed-unchecked heap heap-unchecked tlsf glibc; do
		[ $w = churn ] && case $a in fixed*) true ;; *) false ;; esac && continue
		on=$(per "$(count bench_heap "$(toggles $a)" --one $w $a)" "$pairs")
		off=$(per "$(count bench_heap_nocheck "$(toggles $a)" --one $w $a)" "$pairs")
		printf "%-8s %-15s %12s %12s\n" $w $a "$on" "$off"
		echo "instr_per_pair,$w,$a,1,$on" >> "$hcsv"
		echo "instr_per_pair,$w,$a,0,$off" >> "$hcsv"
	done
	for a in $peers; do # not memoman's code: MM_CHECKS does not apply
		if ! has bench_heap "$a"; then
			printf "%-8s %-15s %12s\n" $w "$a" "$(notgiven "$a")"
			continue
		fi
		v=$(per "$(count bench_heap "$(toggles "$a")" --one $w "$a")" "$pairs")
		printf "%-8s %-15s %12s %12s\n" $w "$a" "$v" -
		echo "instr_per_pair,$w,$a,-,$v" >> "$hcsv"
	done
done

echo
echo "== Worst paths: instructions of one call (callgrind, mean of 1000, including a call wrapper of"
echo "   about 7 instructions that loads the instance)"
printf "%-14s %10s  %s\n" path instr what
for p in $("$dir/bench_heap" --probe-names); do
	val=$(per "$(count bench_heap "--toggle-collect=probe_${p}_call" --probe "$p" 1000)" 1000)
	printf "%-14s %10s  %s\n" "$p" "$val" "$("$dir/bench_heap" --probe-what "$p")"
	echo "worst_path,$p,-,1,$val" >> "$hcsv"
done

echo
echo "== The targets (issue 3), from the figures above (checks on)"
awk -F, '
	$1 == "instr_per_pair" && $4 == 1 && $3 == "fixed" && $5 > fixed { fixed = $5 }
	$1 == "instr_per_pair" && $4 == 1 && $3 == "heap" && $5 > heap { heap = $5 }
	$1 == "worst_path" && $2 ~ /^tlsf_/ && $5 > tlsf { tlsf = $5; tp = $2 }
	$1 == "worst_path" && $2 ~ /^heap_/ && $2 != "heap_gap" && $5 > hw { hw = $5; hp = $2 }
	$1 == "worst_path" && $2 == "heap_gap" { gap = $5 }
	END {
		printf "fixed pair <= 20 instructions:        %5.1f  %s\n", fixed, fixed <= 20 ? "met" : "MISSED"
		printf "heap class pair <= 40 instructions:   %5.1f  %s\n", heap, heap <= 40 ? "met" : "MISSED"
		printf "heap malloc/free worst <= TLSF worst: %5.1f (%s) vs %5.1f (%s)  %s\n", hw, hp, tlsf, tp, hw <= tlsf ? "met" : "MISSED"
		printf "heap memalign worst <= TLSF worst:    %5.1f (heap_gap) vs %5.1f (%s)  %s\n", gap, tlsf, tp, gap <= tlsf ? "met" : "MISSED"
	}' "$hcsv"
echo
echo "results: $csv $hcsv"

if [ -x "$dir/malloc_workloads" ]; then
	echo
	echo "==== libmemoman-malloc against the system malloc and its peers (bench/malloc/run.sh)"
	sh "$(dirname "$0")/malloc/run.sh" "$1"
fi

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/suite/run.sh: runs the programs of the public allocator benchmark suite mimalloc-bench
# (daanx/mimalloc-bench) under several allocators, loaded with LD_PRELOAD, and reports the median
# of several rounds per test and allocator. It drives a checkout that the user fetched beforehand
# into a folder of their own; it never downloads anything. See bench/suite/README.md.
#
# Allocators: glibc (nothing preloaded), jemalloc, tcmalloc (minimal) and mimalloc from Debian's
# packages (libjemalloc2, libtcmalloc-minimal4, libmimalloc2.0), a newer mimalloc when one is
# given (--mimalloc), and memoman's libmemoman-malloc (--memoman). An allocator whose library is
# not found is left out, and the script says so.
#
# Each round runs every test under every allocator, one after another, the order of the
# allocators reversed every other round. Each run is measured from outside (GNU time, or a
# python3 fallback using wait4): wall time, CPU time (user + sys) and peak RSS of the process.
# Fixed-duration tests (larson, rptest, xmalloc-test, glibc-thread, redis) report a throughput;
# for those the "time" column is the relative time that mimalloc-bench's bench.sh derives from
# the program's output, so that lower is better everywhere. A run that exits non-zero, dies of
# a signal, times out or prints no result is recorded with that status, its output kept, and
# reported in the summary; its figures never enter a median.
#
# Usage:
#   bench/suite/run.sh --suite DIR [--build DIR] [--memoman SO] [--mimalloc SO]
#                      [--mimalloc-label NAME] [--rounds N] [--tests "T1 T2 ..."]
#                      [--allocs "A1 A2 ..."] [--procs N] [--timeout S] [--out DIR]
#                      [--wait-idle LOAD] [--list]
#
#   --suite DIR       a mimalloc-bench checkout (its bench/ folder holds the programs' sources)
#   --build DIR       where its programs are (a CMake build of DIR/bench). If a program is
#                     missing there, the script configures and builds DIR/bench into this folder
#                     (default: <out>/build). Programs whose sources the checkout lacks (the
#                     shbench pair, fetched by the suite's own set-up script) are left out.
#   --memoman SO      libmemoman-malloc.so (default: build-suite/release/libmemoman-malloc.so
#                     of this repository, if built)
#   --mimalloc SO     a newer mimalloc's libmimalloc.so; becomes the reference of the ratios
#   --mimalloc-label  its name in the tables (default: mimalloc-new)
#   --rounds N        rounds (default 3); medians are over the rounds that succeeded
#   --tests LIST      tests to run (default: all that can run here; --list shows them)
#   --allocs LIST     allocators to run (default: all found)
#   --procs N         the "N" of the multi-threaded tests (default: nproc), as bench.sh does
#   --timeout S       limit for one run, in seconds (default 300)
#   --out DIR         results folder (default: ./suite-results)
#   --wait-idle LOAD  before starting, wait (up to 30 minutes) while the 1-minute load average
#                     is above LOAD; then, before each test, wait (up to 10 minutes) while other
#                     processes keep more than IDLE_CPU cores busy (default 0.25, sampled over 2 s),
#                     and run a test again (twice at most) when other processes kept more than
#                     REDO_CPU cores (default 0.5) busy during one of its runs
#   --list            print the tests and whether each can run here, then exit
#
# Environment: JEMALLOC_SO, TCMALLOC_SO, MIMALLOC_SO override where Debian's libraries are looked
# for; PYTHON (default python3) runs report.py beside this script; IDLE_CPU and REDO_CPU (see
# --wait-idle).
#
# Output in --out: results.csv (one line per run: test, allocator, round, wall_s, cpu_s, rss_kb,
# status, time_s, others_cpu: the cores other processes kept busy on average during the run),
# summary.md (also printed), time.svg (time ratios per test), logs/ (each run's output),
# redone.csv (the runs of tests run again, if any).

set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
PYTHON=${PYTHON:-python3}

suite='' build='' memoman='' mimalloc='' mimalloc_label=mimalloc-new rounds=3 tests='' allocs=''
procs=$(nproc 2>/dev/null || echo 2) timeout_s=300 out=./suite-results wait_idle='' list_only=''

die() { echo "run.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--suite) suite=$2; shift ;;
	--build) build=$2; shift ;;
	--memoman) memoman=$2; shift ;;
	--mimalloc) mimalloc=$2; shift ;;
	--mimalloc-label) mimalloc_label=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	--tests) tests=$2; shift ;;
	--allocs) allocs=$2; shift ;;
	--procs) procs=$2; shift ;;
	--timeout) timeout_s=$2; shift ;;
	--out) out=$2; shift ;;
	--wait-idle) wait_idle=$2; shift ;;
	--list) list_only=1 ;;
	-h|--help) sed -n '4,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument: $1 (see --help)" ;;
	esac
	shift
done
[ -n "$suite" ] || die "--suite <mimalloc-bench checkout> is required"
[ -d "$suite/bench" ] || die "$suite/bench: not a mimalloc-bench checkout"
suite=$(cd "$suite" && pwd)
src=$suite/bench
case $rounds in ''|*[!0-9]*|0) die "--rounds: a positive number" ;; esac
case $procs in ''|*[!0-9]*|0) die "--procs: a positive number" ;; esac
abspath() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
out=$(abspath "$out")
if [ -n "$build" ]; then build=$(abspath "$build"); else build=$out/build; fi
ulimit -c 0 2>/dev/null    # a crashing run should not leave a core file per round

# ---------------------------------------------------------------------------------------------
# The tests. Names, arguments and inputs follow bench.sh's; N is --procs.
# test_def NAME sets: cmd (array), input (stdin file), kind (how the time is read: wall, or the
# name of an output format), needs (what must exist for the test to run).
procs2=$((procs * 2))
procs16=$((procs > 16 ? 16 : procs))
all_tests="cfrac espresso barnes larsonN larsonN-sized mstressN rptestN xmalloc-testN
cache-scratch1 cache-scratchN cache-thrash1 cache-thrashN glibc-simple glibc-thread
alloc-test1 alloc-testN sh6benchN sh8benchN malloc-large mleak10 mleak100
z3 rbstress1 rbstressN redis rocksdb"

test_def() {
	input=/dev/null kind=wall needs=
	local b=$build
	case $1 in
	cfrac) cmd=("$b/cfrac" 17545186520507317056371138836327483792789528) ;;
	espresso) cmd=("$b/espresso" "$src/espresso/largest.espresso") ;;
	barnes) cmd=("$b/barnes"); input=$src/barnes/input ;;
	larsonN) cmd=("$b/larson" 5 8 1000 5000 100 4141 "$procs"); kind=larson ;;
	larsonN-sized) cmd=("$b/larson-sized" 5 8 1000 5000 100 4141 "$procs"); kind=larson ;;
	mstressN) cmd=("$b/mstress" "$procs" 50 25) ;;
	rptestN) cmd=("$b/rptest" "$procs" 0 1 2 500 1000 100 8 16000); kind=rptest ;;
	xmalloc-testN) cmd=("$b/xmalloc-test" -w "$procs" -t 5 -s 64); kind=xmalloc ;;
	cache-scratch1) cmd=("$b/cache-scratch" 1 1000 1 2000000 "$procs") ;;
	cache-scratchN) cmd=("$b/cache-scratch" "$procs" 1000 1 2000000 "$procs") ;;
	cache-thrash1) cmd=("$b/cache-thrash" 1 1000 1 2000000 "$procs") ;;
	cache-thrashN) cmd=("$b/cache-thrash" "$procs" 1000 1 2000000 "$procs") ;;
	glibc-simple) cmd=("$b/glibc-simple") ;;
	glibc-thread) cmd=("$b/glibc-thread" "$procs"); kind=glibc-thread ;;
	alloc-test1) cmd=("$b/alloc-test" 1) ;;
	alloc-testN) cmd=("$b/alloc-test" "$procs16") ;;
	sh6benchN) cmd=("$b/sh6bench" "$procs2") ;;
	sh8benchN) cmd=("$b/sh8bench" "$procs2") ;;
	malloc-large) cmd=("$b/malloc-large") ;;
	mleak10) cmd=("$b/mleak" 5) ;;
	mleak100) cmd=("$b/mleak" 50) ;;
	# Programs from the system (Debian's z3, ruby, redis and rocksdb-tools packages) rather
	# than the versions bench.sh's set-up script downloads and builds; their inputs are the
	# checkout's.
	z3) cmd=(z3 -smt2 "$src/z3/test1.smt2"); needs=z3 ;;
	rbstress1) cmd=(ruby "$src/rbstress/stress_mem.rb" 1); needs=ruby ;;
	rbstressN) cmd=(ruby "$src/rbstress/stress_mem.rb" "$procs"); needs=ruby ;;
	redis) cmd=(redis-server); kind=redis; needs="redis-server redis-benchmark redis-cli" ;;
	rocksdb) cmd=(db_bench --benchmarks=fillrandom --db="$out/work/rocksdb"); needs=db_bench ;;
	*) return 1 ;;
	esac
	case ${cmd[0]} in "$b"/*) needs=${cmd[0]} ;; esac
	return 0
}

# The suite's program a build target makes, and whether the checkout has its sources.
target_of() { basename "$1"; }
has_sources() {
	case $1 in
	sh6bench) [ -f "$src/shbench/sh6bench-new.c" ] ;;
	sh8bench) [ -f "$src/shbench/sh8bench-new.c" ] ;;
	*) return 0 ;;
	esac
}
# why_missing NAME: the reason a test cannot run here, empty if it can.
why_missing() {
	local n
	test_def "$1" || { echo "unknown test"; return; }
	for n in $needs; do
		case $n in
		/*) [ -x "$n" ] || { has_sources "$(target_of "$n")" &&
			echo "not built ($n)" ||
			echo "sources not in the checkout (bench.sh's set-up downloads them)"; return; } ;;
		*) command -v "$n" > /dev/null || { echo "$n not installed"; return; } ;;
		esac
	done
}

# Build the suite's programs the selected tests need into $build, if any is missing.
build_suite() {
	local t n targets='' cmsrc=$src
	for t in $1; do
		test_def "$t" || continue
		for n in $needs; do
			case $n in /*)
				[ -x "$n" ] && continue
				has_sources "$(target_of "$n")" || continue
				case " $targets " in *" $(target_of "$n") "*) ;; *) targets="$targets $(target_of "$n")" ;; esac ;;
			esac
		done
	done
	[ -n "$targets" ] || return 0
	command -v cmake > /dev/null || die "cmake is needed to build the suite's programs"
	mkdir -p "$build" || die "cannot create $build"
	# The checkout's CMakeLists.txt names the shbench sources, which only its set-up script
	# fetches; without them, configure a copy of the folder (symbolic links) whose
	# CMakeLists.txt leaves those two targets out. The checkout itself is not changed.
	if ! has_sources sh6bench || ! has_sources sh8bench; then
		cmsrc=$build/_src
		rm -rf "$cmsrc" && mkdir -p "$cmsrc" || die "cannot create $cmsrc"
		for n in "$src"/* "$src"/.[!.]*; do
			[ -e "$n" ] || continue
			[ "$(basename "$n")" = CMakeLists.txt ] || ln -s "$n" "$cmsrc/"
		done
		local drop=''
		has_sources sh6bench || drop='/sh6bench/d;'
		has_sources sh8bench || drop="$drop/sh8bench/d;"
		sed "$drop" "$src/CMakeLists.txt" > "$cmsrc/CMakeLists.txt"
	fi
	echo "== building the suite's programs into $build:$targets"
	cmake -S "$cmsrc" -B "$build" -DCMAKE_BUILD_TYPE=Release > "$build/cmake-configure.log" 2>&1 ||
		die "cmake configure failed, see $build/cmake-configure.log"
	# shellcheck disable=SC2086
	cmake --build "$build" -j "$procs" --target $targets > "$build/cmake-build.log" 2>&1 ||
		die "build failed, see $build/cmake-build.log"
}

# ---------------------------------------------------------------------------------------------
# The allocators: name -> library ("" for glibc).
find_lib() {   # find_lib PACKAGE NAME-PATTERN FALLBACK...
	local f
	f=$(dpkg -L "$1" 2>/dev/null | grep -E "/$2\$" | head -n 1)
	[ -n "$f" ] && [ -e "$f" ] && { echo "$f"; return; }
	shift 2
	for f in "$@"; do [ -e "$f" ] && { echo "$f"; return; }; done
}
declare -A LIB DESC
alloc_list=
add_alloc() {   # add_alloc NAME LIBRARY DESCRIPTION
	if [ "$1" != glibc ] && { [ -z "$2" ] || [ ! -e "$2" ]; }; then
		echo "-- $1: library not found${2:+ ($2)}, left out"
		return
	fi
	LIB[$1]=$2 DESC[$1]=$3
	alloc_list="$alloc_list $1"
}
pkgver() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo "?"; }
[ -n "$memoman" ] || memoman=$repo/build-suite/release/libmemoman-malloc.so
[ -n "${JEMALLOC_SO:-}" ] || JEMALLOC_SO=$(find_lib libjemalloc2 'libjemalloc\.so\.2' /usr/lib/x86_64-linux-gnu/libjemalloc.so.2)
[ -n "${TCMALLOC_SO:-}" ] || TCMALLOC_SO=$(find_lib libtcmalloc-minimal4 'libtcmalloc_minimal\.so\.4' /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4)
[ -n "${MIMALLOC_SO:-}" ] || MIMALLOC_SO=$(find_lib libmimalloc2.0 'libmimalloc\.so\.2' /usr/lib/x86_64-linux-gnu/libmimalloc.so.2)

echo "== allocators"
add_alloc glibc "" "libc6 $(pkgver libc6), nothing preloaded"
add_alloc jemalloc "$JEMALLOC_SO" "libjemalloc2 $(pkgver libjemalloc2)"
add_alloc tcmalloc "$TCMALLOC_SO" "libtcmalloc-minimal4 $(pkgver libtcmalloc-minimal4)"
add_alloc mimalloc "$MIMALLOC_SO" "libmimalloc2.0 $(pkgver libmimalloc2.0)"
if [ -n "$mimalloc" ]; then
	[ -e "$mimalloc" ] || die "--mimalloc $mimalloc: not found"
	mimalloc=$(cd "$(dirname "$mimalloc")" && pwd)/$(basename "$mimalloc")
	[ -z "${LIB[$mimalloc_label]+x}" ] || die "--mimalloc-label $mimalloc_label: name already taken"
	add_alloc "$mimalloc_label" "$mimalloc" "given with --mimalloc"
fi
[ -e "$memoman" ] && memoman=$(cd "$(dirname "$memoman")" && pwd)/$(basename "$memoman")
add_alloc memoman "$memoman" "libmemoman-malloc built $(date -r "$memoman" '+%Y-%m-%d %H:%M' 2>/dev/null); repository at $(git -C "$repo" describe --always --dirty 2>/dev/null || echo '?')"
if [ -n "$allocs" ]; then
	for a in $allocs; do
		[ -n "${LIB[$a]+x}" ] || die "--allocs: $a is not available (have:$alloc_list)"
	done
	alloc_list=$allocs
fi
alloc_list=$(echo $alloc_list)
if [ -n "$mimalloc" ] && [ -n "${LIB[$mimalloc_label]+x}" ] && case " $alloc_list " in *" $mimalloc_label "*) true ;; *) false ;; esac; then
	ref=$mimalloc_label
elif case " $alloc_list " in *" mimalloc "*) true ;; *) false ;; esac; then
	ref=mimalloc
else
	ref=${alloc_list%% *}
fi
for a in $alloc_list; do printf '   %-14s %s%s\n' "$a" "${LIB[$a]:-}" "${LIB[$a]:+  }(${DESC[$a]})"; done
echo "   reference of the ratios: $ref"

# ---------------------------------------------------------------------------------------------
# Which tests run.
[ -n "$tests" ] || tests=$all_tests
tests=$(echo $tests)
for t in $tests; do test_def "$t" || die "unknown test: $t (see --list)"; done
[ -n "$list_only" ] || build_suite "$tests"

run_tests='' skipped='' notes=''
echo "== tests (N = $procs)"
for t in $tests; do
	why=$(why_missing "$t")
	if [ -n "$why" ]; then
		printf '   %-15s skipped: %s\n' "$t" "$why"
		skipped="$skipped$t: $why
"
	else
		test_def "$t"
		printf '   %-15s %s%s\n' "$t" "${cmd[*]}" "$([ "$input" = /dev/null ] || echo " < $input")"
		run_tests="$run_tests $t"
		# A program that links an allocator of its own (Debian's redis-server links jemalloc)
		# runs on it when nothing is preloaded: its "glibc" figures are that allocator's.
		own=$(ldd "$(command -v "${cmd[0]}" 2> /dev/null || echo "${cmd[0]}")" 2> /dev/null |
			grep -o -E 'lib(jemalloc|tcmalloc[a-z_]*|mimalloc)\.so[.0-9]*' | head -n 1)
		if [ -n "$own" ]; then
			printf '   %-15s note: links %s, which serves it when nothing is preloaded (the glibc column)\n' "$t" "$own"
			notes="$notes$t: ${cmd[0]} links $own: its glibc column (nothing preloaded) measures that allocator
"
		fi
	fi
done
run_tests=$(echo $run_tests)
[ -z "$list_only" ] || exit 0
[ -n "$run_tests" ] || die "no test can run"

if [ -n "$wait_idle" ]; then
	for i in $(seq 30); do
		load=$(cut -d' ' -f1 /proc/loadavg)
		awk -v l="$load" -v m="$wait_idle" 'BEGIN { exit !(l > m) }' || break
		echo "-- load average $load above $wait_idle, waiting a minute ($i/30)"
		sleep 60
	done
fi

# ---------------------------------------------------------------------------------------------
# Measuring one run.
mkdir -p "$out/logs" "$out/work" || die "cannot create $out"
rm -f "$out"/logs/*.txt
csv=$out/results.csv
echo "test,allocator,round,wall_s,cpu_s,rss_kb,status,time_s,others_cpu" > "$csv"
rm -f "$out/redone.csv"
if [ -x /usr/bin/time ] && /usr/bin/time -f %e -o /dev/null true 2> /dev/null; then
	timer=gnu
else
	timer=python
	command -v "$PYTHON" > /dev/null || die "neither GNU time (/usr/bin/time) nor $PYTHON found"
fi

# busy_s: CPU seconds the whole machine has been busy since boot (everything but idle and
# iowait, steal included). A run's others_cpu is the busy time during it less its own CPU time,
# over its wall time: what other processes (and the hypervisor) took from the machine meanwhile.
hz=$(getconf CLK_TCK 2> /dev/null || echo 100)
busy_s() { awk -v hz="$hz" '$1 == "cpu" { printf "%.2f\n", ($2 + $3 + $4 + $7 + $8 + $9) / hz; exit }' /proc/stat; }
# wait_quiet: before a test, while nothing of ours runs, wait until other processes use less
# than IDLE_CPU cores (sampled over 2 s), for up to 10 minutes.
idle_cpu=${IDLE_CPU:-0.25} redo_cpu=${REDO_CPU:-0.5}
wait_quiet() {
	local i b0 b1 use
	for i in $(seq 120); do
		b0=$(busy_s); sleep 2; b1=$(busy_s)
		use=$(awk -v a="$b0" -v b="$b1" 'BEGIN { printf "%.2f", (b - a) / 2 }')
		awk -v u="$use" -v m="$idle_cpu" 'BEGIN { exit !(u > m) }' || return 0
		[ $((i % 6)) = 1 ] && echo "   -- other processes use $use cores (above $idle_cpu), waiting"
		sleep 3
	done
	echo "   -- still busy after 10 minutes, going on"
}

# measure TIMEFILE LIBRARY COMMAND...: runs the command with LIBRARY preloaded (none: glibc) and
# its standard streams as given, writes "wall user sys maxrss_kb" into TIMEFILE, returns the
# exit status the way a shell reports it (128+n for signal n, 124 for the time limit).
measure() {
	local tf=$1 lib=$2; shift 2
	local pre=(env -u LD_PRELOAD)
	[ -z "$lib" ] || pre=(env LD_PRELOAD="$lib")
	if [ $timer = gnu ]; then
		/usr/bin/time -o "$tf" -f '%e %U %S %M' timeout -k 5 "$timeout_s" "${pre[@]}" "$@"
	else
		"$PYTHON" "$here/report.py" measure "$tf" "$timeout_s" "${pre[@]}" "$@"
	fi
}
status_of() {
	case $1 in
	0) echo ok ;;
	124|137) echo "timeout(${timeout_s}s)" ;;
	12[5-7]) echo "could-not-run($1)" ;;
	*) if [ "$1" -gt 128 ]; then echo "signal-$(kill -l $(($1 - 128)) 2> /dev/null || echo $(($1 - 128)))"; else echo "exit-$1"; fi ;;
	esac
}
# score KIND LOG: the relative time bench.sh derives from a fixed-duration test's output.
score() {
	case $1 in
	larson) sed -n 's/.* time: \([0-9.]*\).*/\1/p' "$2" | tail -n 1 ;;
	xmalloc) sed -n 's/^rtime: \([0-9.]*\).*/\1/p' "$2" | tail -n 1 ;;
	rptest) sed -n 's/.*\.\.\.\([0-9]*\) memory ops.*/\1/p' "$2" | tail -n 1 | awk '$1 > 0 { printf "%.4f\n", 2000000 / $1 }' ;;
	glibc-thread) sed -n 's/^\([0-9][0-9.]*\) iterations.*/\1/p' "$2" | head -n 1 | awk '$1 > 0 { printf "%.4f\n", 1000000000 / $1 }' ;;
	redis) tr '\r' '\n' < "$2" | sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -n 1 | awk '$1 > 0 { printf "%.4f\n", 2000000 / $1 }' ;;
	esac
}

# redis: the server runs under the allocator and is what is measured; the client
# (redis-benchmark, bench.sh's command) runs with the system malloc. bench.sh sends 100,000
# requests: about 0.3 s here, where client and server share 2 cores, and every allocator's
# rounds then spread from 3.4 to 5.8 s-equivalents. 1,000,000 (REDIS_REQUESTS) runs ~2.5 s and
# spreads ±15%; the time reported is scaled to the same 2,000,000 / requests-per-second.
redis_requests=${REDIS_REQUESTS:-1000000}
run_redis() {   # run_redis TIMEFILE LIBRARY LOG
	local tf=$1 lib=$2 log=$3 port=$((20000 + RANDOM % 20000)) pid rc i
	measure "$tf" "$lib" redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
		< /dev/null > "$log.server" 2>&1 &
	pid=$!
	for i in $(seq 100); do
		redis-cli -p "$port" ping > /dev/null 2>&1 && break
		kill -0 "$pid" 2> /dev/null || break
		sleep 0.1
	done
	env -u LD_PRELOAD timeout "$timeout_s" redis-benchmark -p "$port" -r 1000000 -n "$redis_requests" -q -P 16 \
		lpush a 1 2 3 4 5 lrange a 1 5 > "$log" 2>&1
	env -u LD_PRELOAD redis-cli -p "$port" flushall > /dev/null 2>&1
	env -u LD_PRELOAD redis-cli -p "$port" shutdown nosave > /dev/null 2>&1 || kill "$pid" 2> /dev/null
	wait "$pid"; rc=$?
	cat "$log.server" >> "$log"; rm -f "$log.server"
	return $rc
}

failures=0
run_one() {   # run_one TEST ALLOCATOR ROUND
	local t=$1 a=$2 r=$3 lib=${LIB[$2]} log tf rc st wall user sys rss cpu tm b0 b1 oth
	log=$out/logs/$t.$a.r$r.txt
	tf=$out/work/time.txt
	rm -f "$tf"
	test_def "$t"
	case $t in rocksdb) rm -rf "$out/work/rocksdb" ;; esac
	b0=$(busy_s)
	if [ "$kind" = redis ]; then
		run_redis "$tf" "$lib" "$log"; rc=$?
	else
		(cd "$out/work" && measure "$tf" "$lib" "${cmd[@]}" < "$input" > "$log" 2>&1); rc=$?
	fi
	b1=$(busy_s)
	st=$(status_of $rc)
	read -r wall user sys rss < <(tail -n 1 "$tf" 2> /dev/null)
	cpu=$(awk -v u="${user:-0}" -v s="${sys:-0}" 'BEGIN { printf "%.2f", u + s }')
	if [ "$kind" = wall ]; then
		tm=$wall
	else
		tm=$(score "$kind" "$log")
		[ -n "$tm" ] || [ "$st" != ok ] || st=no-result
	fi
	[ "$st" = ok ] || tm=
	oth=$(awk -v a="$b0" -v b="$b1" -v c="$cpu" -v w="${wall:-0}" \
		'BEGIN { o = (w > 0) ? (b - a - c) / w : 0; printf "%.2f", o < 0 ? 0 : o }')
	echo "$t,$a,$r,${wall:-},$cpu,${rss:-},$st,${tm:-},$oth" >> "$csv"
	printf '   %-15s %-14s wall %7ss  cpu %7ss  rss %9s KB  others %5s  %s%s\n' "$t" "$a" \
		"${wall:-?}" "$cpu" "${rss:-?}" "$oth" "$st" \
		"$([ "$kind" = wall ] || [ -z "$tm" ] || echo "  (relative time $tm)")"
	if [ "$st" != ok ]; then
		failures=$((failures + 1))
		echo "   !! $t failed under $a ($st); last lines of $log:"
		tail -n 5 "$log" | sed 's/^/      | /'
	fi
	case $t in rocksdb) rm -rf "$out/work/rocksdb" ;; esac
}

{
	echo "machine: $(nproc) cores, $(uname -srm), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "rounds: $rounds; N = $procs; timer: $timer"
	for a in $alloc_list; do echo "allocator $a: ${LIB[$a]:-(none)} (${DESC[$a]})"; done
	printf '%s' "$skipped" | sed 's/^/skipped /'
	printf '%s' "$notes" | sed 's/^/note /'
} > "$out/info.txt"

order=$alloc_list
reversed=$(for a in $alloc_list; do echo "$a"; done | tac | tr '\n' ' ')
for r in $(seq "$rounds"); do
	[ $((r % 2)) = 1 ] && order=$alloc_list || order=$reversed
	echo "== round $r/$rounds (order: $(echo $order))"
	for t in $run_tests; do
		for try in 1 2 3; do
			[ -z "$wait_idle" ] || wait_quiet
			mark=$(wc -l < "$csv")
			for a in $order; do run_one "$t" "$a" "$r"; done
			# With --wait-idle, a test whose runs all succeeded but during one of which other
			# processes kept more than REDO_CPU cores busy is run again (twice at most); the
			# first attempt's lines go to redone.csv. Not redis: its client counts as other.
			[ -n "$wait_idle" ] && [ "$t" != redis ] && [ "$try" -lt 3 ] || break
			worst=$(tail -n +$((mark + 1)) "$csv" |
				awk -F, '{ if ($7 != "ok") f = 1; if ($9 + 0 > m) m = $9 + 0 } END { if (!f) printf "%.2f", m }')
			[ -n "$worst" ] && awk -v w="$worst" -v m="$redo_cpu" 'BEGIN { exit !(w > m) }' || break
			echo "   -- other processes kept up to $worst cores busy during $t: running it again"
			[ -f "$out/redone.csv" ] || head -n 1 "$csv" > "$out/redone.csv"
			tail -n +$((mark + 1)) "$csv" >> "$out/redone.csv"
			head -n "$mark" "$csv" > "$csv.tmp" && mv "$csv.tmp" "$csv"
		done
	done
done
rm -rf "$out/work"

echo
"$PYTHON" "$here/report.py" summary "$csv" --ref "$ref" --info "$out/info.txt" \
	--md "$out/summary.md" --svg "$out/time.svg" --tests "$run_tests" --allocs "$alloc_list" \
	--redone "$out/redone.csv"
echo
echo "results: $csv, $out/summary.md, $out/time.svg, logs in $out/logs"
[ "$failures" = 0 ] || echo "$failures run(s) failed; see the summary's failure list"
exit 0

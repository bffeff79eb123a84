#!/bin/sh
# SPDX-License-Identifier: MIT
# The general-purpose malloc benchmark (part of make bench): every workload of workloads.c, plus
# redis-server under redis-benchmark and a slice of CPython's test suite, under glibc, jemalloc,
# mimalloc, tcmalloc (Debian's libjemalloc2, libmimalloc2.0, libtcmalloc-minimal4: those installed),
# a newer mimalloc when MIMALLOC_SO is given, and libmemoman-malloc, alternated, median of ROUNDS
# (default 5); wall time and peak RSS.
# Writes <build>/bench/malloc.csv and malloc.svg. Usage: bench/malloc/run.sh <cmake build folder>
set -eu
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
out=$build/bench
lib=/usr/lib/x86_64-linux-gnu
[ -d $lib ] || lib=/usr/lib
set -- -o "$out" -r "${ROUNDS:-5}" -a glibc=
for peer in jemalloc=libjemalloc.so.2 mimalloc=libmimalloc.so.2 tcmalloc=libtcmalloc_minimal.so.4; do
	name=${peer%%=*}
	file=$lib/${peer#*=}
	if [ -e "$file" ]; then
		set -- "$@" -a "$name=$file"
	else
		echo "($name not installed: apt-get install ${peer#*=} to compare with it)"
	fi
done
# A newer mimalloc built from its release in a scratch folder (bench/suite/README.md), when given:
# MIMALLOC_SO=<path to libmimalloc.so> [MIMALLOC_LABEL=<name>, default mimalloc-new].
if [ -n "${MIMALLOC_SO:-}" ]; then
	[ -e "$MIMALLOC_SO" ] || { echo "bench/malloc/run.sh: MIMALLOC_SO=$MIMALLOC_SO not found"; exit 1; }
	set -- "$@" -a "${MIMALLOC_LABEL:-mimalloc-new}=$MIMALLOC_SO"
fi
set -- "$@" -a "memoman=$build/libmemoman-malloc.so"
for w in ${WORKLOADS:-churn larson prodcons mixed realloc frag large falseshare}; do
	set -- "$@" -w "$w=$out/malloc_workloads $w > /dev/null"
done
if [ -z "${WORKLOADS:-}" ]; then
	if command -v redis-server > /dev/null && command -v redis-benchmark > /dev/null; then
		set -- "$@" -w "redis=sh $here/redis.sh"
	else
		echo "(redis-server not installed: the redis workload is skipped)"
	fi
	if /usr/bin/python3 -c "import test.libregrtest" 2>/dev/null; then
		set -- "$@" -w "cpython=PYTHONMALLOC=malloc /usr/bin/python3 -m test -q test_list test_dict test_set test_json test_re test_unicode test_pickle test_collections > /dev/null"
	else
		echo "(libpython3.11-testsuite not installed: the cpython workload is skipped)"
	fi
fi
"$out/malloc_run_bench" "$@" -c memoman -k glibc -k mimalloc ${MIMALLOC_SO:+-k "${MIMALLOC_LABEL:-mimalloc-new}"}

#!/bin/sh
# SPDX-License-Identifier: MIT
# make test-programs: real programs from Debian's packages, each run without and with
# LD_PRELOAD=libmemoman-malloc.so; the results must be the same. CPython (part of its own test
# suite, PYTHONMALLOC=malloc so that every object goes through the allocator), sqlite3 on a
# scripted database, git on a repository, lua, gcc compiling a file, and redis-server under
# redis-benchmark on loopback (Debian's redis-server links jemalloc: two allocators in one process).
# Usage: tests/programs/run.sh <path to libmemoman-malloc.so>
set -u
lib=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0

check() { # check <name> <file without> <file with>
	if cmp -s "$2" "$3"; then
		echo "ok    $1"
	else
		echo "FAIL  $1: outputs differ"
		diff "$2" "$3" | head -20
		fails=$((fails + 1))
	fi
}

# Runs a command twice (without, then with the library), output in $work/<name>.{plain,memoman}.
both() { # both <name> <command...>
	name=$1
	shift
	(cd "$work" && "$@") > "$work/$name.plain" 2>&1
	echo "exit $?" >> "$work/$name.plain"
	(cd "$work" && env LD_PRELOAD="$lib" "$@") > "$work/$name.memoman" 2>&1
	echo "exit $?" >> "$work/$name.memoman"
}

# ---- CPython: a slice of its own test suite -----------------------------------------------------
py=/usr/bin/python3
tests="test_list test_dict test_set test_tuple test_json test_re test_string test_bytes test_collections
 test_itertools test_functools test_heapq test_sort test_unicode test_array test_deque test_pickle test_struct
 test_textwrap test_weakref test_gc test_math test_long test_float test_fstring test_format test_class
 test_descr test_generators test_dataclasses test_enum test_decimal test_fractions test_statistics
 test_difflib test_csv test_zlib test_hashlib test_base64 test_datetime"
if [ -x $py ] && $py -c "import test.libregrtest" 2>/dev/null; then
	# shellcheck disable=SC2086
	both python env PYTHONMALLOC=malloc $py -m test -j2 $tests
	for f in "$work/python.plain" "$work/python.memoman"; do
		grep -E "^(Tests result|exit|[0-9]+ tests? (OK|failed))" "$f" > "$f.summary"
	done
	check "cpython ($(echo $tests | wc -w) test modules, PYTHONMALLOC=malloc)" "$work/python.plain.summary" "$work/python.memoman.summary"
	grep -q "Tests result: SUCCESS" "$work/python.memoman" || { echo "FAIL  cpython: not SUCCESS"; fails=$((fails + 1)); }
else
	echo "skip  cpython (install python3 and libpython3.11-testsuite)"
fi

# ---- sqlite3 ---------------------------------------------------------------------------------------------
if command -v sqlite3 > /dev/null; then
	both sqlite sqlite3 ":memory:" ".read $here/sqlite.sql"
	check sqlite3 "$work/sqlite.plain" "$work/sqlite.memoman"
else
	echo "skip  sqlite3"
fi

# ---- git ---------------------------------------------------------------------------------------------------
if command -v git > /dev/null; then
	for v in plain memoman; do
		pre=""
		[ $v = memoman ] && pre="$lib"
		(cd "$work" && LD_PRELOAD=$pre sh "$here/git.sh" "repo-$v") > "$work/git.$v" 2>&1
		echo "exit $?" >> "$work/git.$v"
	done
	check git "$work/git.plain" "$work/git.memoman"
else
	echo "skip  git"
fi

# ---- lua ---------------------------------------------------------------------------------------------------
lua=$(command -v lua5.4 || command -v lua || true)
if [ -n "$lua" ]; then
	both lua "$lua" "$here/script.lua"
	check lua "$work/lua.plain" "$work/lua.memoman"
else
	echo "skip  lua (install lua5.4)"
fi

# ---- gcc -------------------------------------------------------------------------------------------------------
if command -v gcc > /dev/null; then
	src=$(cd "$here/../.." && pwd)
	both gcc gcc -O2 -c -I"$src/include" -o out.o "$src/src/tlsf.c"
	cp "$work/out.o" "$work/gcc.o.memoman" 2>/dev/null
	(cd "$work" && gcc -O2 -c -I"$src/include" -o plain.o "$src/src/tlsf.c")
	check "gcc (exit and messages)" "$work/gcc.plain" "$work/gcc.memoman"
	check "gcc (the object file)" "$work/plain.o" "$work/gcc.o.memoman"
else
	echo "skip  gcc"
fi

# ---- redis-server under redis-benchmark ------------------------------------------------------------------------
if command -v redis-server > /dev/null && command -v redis-benchmark > /dev/null; then
	for v in plain memoman; do
		pre=""
		[ $v = memoman ] && pre="$lib"
		port=$((20000 + $$ % 20000))
		LD_PRELOAD=$pre redis-server --port $port --save '' --appendonly no --daemonize no \
			--bind 127.0.0.1 > "$work/redis-server.$v.log" 2>&1 &
		pid=$!
		for i in 1 2 3 4 5 6 7 8 9 10; do
			redis-cli -p $port ping > /dev/null 2>&1 && break
			sleep 0.3
		done
		redis-benchmark -p $port -q -n 20000 -c 20 -d 200 -t set,get,incr,lpush,rpop,sadd,hset,mset \
			> "$work/redis-bench.$v" 2>&1
		{
			grep -c "requests per second" "$work/redis-bench.$v"
			redis-cli -p $port set key value
			redis-cli -p $port get key
			redis-cli -p $port dbsize
			redis-cli -p $port info memory | grep -c used_memory
			redis-cli -p $port shutdown nosave
		} > "$work/redis.$v" 2>&1
		wait $pid
		echo "server exit $?" >> "$work/redis.$v"
	done
	check "redis-server (redis-benchmark, 8 commands x 20000)" "$work/redis.plain" "$work/redis.memoman"
else
	echo "skip  redis (install redis-server and redis-tools)"
fi

echo
if [ $fails -ne 0 ]; then
	echo "test-programs: $fails FAILED"
	exit 1
fi
echo "test-programs: all passed"

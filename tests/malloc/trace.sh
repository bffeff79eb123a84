#!/bin/sh
# SPDX-License-Identifier: MIT
# MEMOMAN_TRACE end to end: unmodified programs run under LD_PRELOAD=libmemoman-malloc.so with
# MEMOMAN_TRACE=<file>, each trace read by memoman-trace and replayed on the heap it suggests and
# on the one mm_heap_required_size guarantees, with no failed allocation; the C snippet it prints
# compiles and makes that heap. The programs: a project example (the audio loop demo, whose
# background threads allocate and free), this project's threaded malloc test (frees across
# threads: the trace's order must still be one a replay can follow), a shell that forks and
# executes others (each process its own file through %p), and, where installed, CPython on a small
# script (PYTHONMALLOC=malloc: every object through malloc) and sqlite3 on a scripted database.
# Then memoman-trace on bad input: an error naming the line, never a crash.
# Usage: trace.sh LIBMEMOMAN_MALLOC MEMOMAN_TRACE_TOOL AUDIO_LOOP THREADS_TEST SOURCE_DIR "CC [FLAGS]"
# (MEMOMAN_TRACE_PROGRAMS=0: not the system's programs, for a library of another architecture)
set -u
lib=$1 tool=$2 audio=$3 threads=$4 src=$5 cc=$6
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# check NAME TRACE MIN: memoman-trace reads it, both replays serve every allocation, at least MIN.
check() {
	if ! "$tool" ${FRAG:---no-frag} "$2" > "$dir/out" 2> "$dir/err"; then
		fail "$1: memoman-trace refused its trace: $(cat "$dir/err")"
		return
	fi
	for heap in suggested guaranteed; do
		line=$(grep "replay on the $heap heap:" "$dir/out")
		n=$(echo "$line" | sed -n 's/.*: \([0-9]*\) allocations, \([0-9]*\) failed/\1 \2/p')
		set -- "$1" "$2" "$3" $n
		if [ $# -lt 5 ] || [ "$5" != 0 ] || [ "$4" -lt "$3" ]; then
			fail "$1: $line (at least $3 allocations, none failed, expected)"
			return
		fi
	done
	echo "ok: $1: $4 allocations recorded, replayed on both heaps without a failure"
}

# A program under the recorder; its output must be the same as without it (SAME=0: its exit
# status only, for a program that prints timings).
record() { # record NAME TRACE command...
	name=$1 trace=$2
	shift 2
	"$@" < "${INPUT:-/dev/null}" > "$dir/plain.out" 2>&1
	rc_plain=$?
	MEMOMAN_TRACE=$trace LD_PRELOAD=$lib "$@" < "${INPUT:-/dev/null}" > "$dir/traced.out" 2>&1
	rc=$?
	if [ $rc != $rc_plain ] || { [ "${SAME:-1}" = 1 ] && ! cmp -s "$dir/plain.out" "$dir/traced.out"; }; then
		fail "$name: recorded, it exited $rc (else $rc_plain) or printed something else"
		diff "$dir/plain.out" "$dir/traced.out" | head -5
		return 1
	fi
}

SAME=0 record audio_loop "$dir/audio.trace" "$audio" --no-rt --no-lock 300 /dev/null &&
	FRAG="--frag-summary $dir/frag.csv" check audio_loop "$dir/audio.trace" 500
# Its fragmentation report: a row per allocator; the TLSF core on its smallest pool and the suggested
# heap serve the whole trace; every internal figure is at least 1 (a block holds what was asked).
rows=$(grep -c . "$dir/frag.csv" 2> /dev/null || echo 0)
if [ "$rows" != 4 ] || ! awk -F, '($2 == "tlsf-smallest" || $2 == "heap-suggested") && $4 != 0 { bad = 1 }
	$5 < 1 || $7 < $5 { bad = 1 } END { exit bad }' "$dir/frag.csv"; then
	fail "the fragmentation report of the audio trace: $(cat "$dir/frag.csv" 2> /dev/null)"
else
	echo "ok: the fragmentation report: $rows rows, the smallest pool and the suggested heap without a failure"
fi

if [ "${MEMOMAN_TRACE_PROGRAMS:-1}" = 0 ]; then
	echo "skip: the system's programs and the threaded test's trace (a 32-bit build: the library is not"
	echo "      of the system programs' architecture, and replaying a 120 MiB peak twice needs more"
	echo "      address space than a 32-bit memoman-trace has)"
	SYSTEM=0
else
	MEMOMAN_TRACE=$dir/threads.trace LD_PRELOAD=$lib "$threads" > /dev/null 2>&1 ||
		fail "test_malloc_threads failed when recorded"
	check test_malloc_threads "$dir/threads.trace" 100000
fi

# A shell that forks and executes: each process that executes writes its own file; the children of
# fork() that do not execute are not traced; every file is a whole trace.
if [ "${SYSTEM:-1}" = 1 ]; then
	MEMOMAN_TRACE=$dir/sh.%p LD_PRELOAD=$lib sh -c 'ls / > /dev/null; echo x | cat > /dev/null; (true); exit 0' ||
		fail "sh under the recorder"
	files=$(ls "$dir"/sh.* 2> /dev/null | wc -l)
	[ "$files" -ge 3 ] || fail "sh: $files trace files, at least 3 expected (sh, ls, cat)"
	for f in "$dir"/sh.*; do # (a process may allocate nothing: dash often does not)
		"$tool" --no-replay "$f" > /dev/null 2> "$dir/err" || grep -q "no allocation in the trace" "$dir/err" ||
			fail "$(basename "$f"): $(cat "$dir/err")"
	done
	echo "ok: sh, ls and cat: $files traces, each whole"
fi

if [ "${SYSTEM:-1}" = 1 ] && command -v python3 > /dev/null; then
	export PYTHONMALLOC=malloc
	record python3 "$dir/python.trace" python3 -c '
import json, re
d = {i: str(i) * 3 for i in range(20000)}
s = json.dumps(d)
print(len(s), len(re.findall(r"1+", s)), sorted(d.items())[-1])' && check python3 "$dir/python.trace" 100000
	unset PYTHONMALLOC
else
	echo "skip: python3 (not installed, or not of this build's architecture)"
fi
if [ "${SYSTEM:-1}" = 1 ] && command -v sqlite3 > /dev/null; then
	INPUT=$src/tests/programs/sqlite.sql record sqlite3 "$dir/sqlite.trace" sqlite3 :memory: &&
		check sqlite3 "$dir/sqlite.trace" 500000
else
	echo "skip: sqlite3 (not installed, or not of this build's architecture)"
fi

# A trace file that cannot be created: the program runs as it would, with a message.
if MEMOMAN_TRACE=$dir/missing/t LD_PRELOAD=$lib "$audio" --no-rt --no-lock 50 /dev/null > /dev/null 2> "$dir/err" &&
	grep -q "MEMOMAN_TRACE: cannot create the trace file; not tracing" "$dir/err"; then
	echo "ok: a trace file that cannot be created: a message, and the program runs"
else
	fail "MEMOMAN_TRACE with a path that cannot be created: $(cat "$dir/err")"
fi

# The snippet compiles, and the heap it describes is made from its buffer.
if "$tool" --snippet "$dir/audio.trace" > "$dir/snippet.h" 2> "$dir/err"; then
	cat > "$dir/snippet.c" << EOF
#include <memoman.h>
#include <stdio.h>
#include "snippet.h"
int main(void)
{
	mm_heap_t heap = mm_heap_create(heap_buffer, sizeof(heap_buffer), &heap_config);
	void *p = heap ? mm_heap_malloc(heap, 100) : NULL;
	printf("%s\n", p ? "snippet ok" : "snippet: no heap");
	return !p;
}
EOF
	if $cc -std=c11 -Wall -Werror -I"$src/include" -I"$dir" "$dir/snippet.c" $(ls "$src"/src/*.c) -o "$dir/snippet" &&
		"$dir/snippet"; then
		echo "ok: the C snippet compiles and makes its heap"
	else
		fail "the C snippet"
	fi
else
	fail "memoman-trace --snippet: $(cat "$dir/err")"
fi

# Bad input: exit status 1 and a message naming the line; never a signal.
bad() { # bad TEXT EXPECTED-MESSAGE
	printf "$1" > "$dir/bad.trace"
	"$tool" "$dir/bad.trace" > /dev/null 2> "$dir/err"
	rc=$?
	if [ $rc != 1 ] || ! grep -q "$2" "$dir/err"; then
		fail "bad input '$1': exit $rc, '$(cat "$dir/err")' (expected 1 and '$2')"
	fi
}
bad 'a 10 16\na 7f\n' 'bad.trace:2: malformed line: a size expected'
bad 'a 10 16\nf 11\n' 'bad.trace:2: a free of an id that is not live (id 11)'
bad 'a 10 16\na 10 32\n' 'bad.trace:2: an allocation of an id that is live'
# SIZE_MAX of the tool's target: 2^64 - 1, or 2^32 - 1 where that is out of range.
max=18446744073709551615
printf 'a 10 %s\n' $max > "$dir/bad.trace"
"$tool" "$dir/bad.trace" 2>&1 | grep -q "size out of range" && max=4294967295
bad 'a 10 99999999999999999999999\n' 'bad.trace:1: size out of range'
bad "a 10 $max\\na 20 $max\\n" 'bad.trace:2: live bytes above SIZE_MAX'
bad "a 10 $max\\n" 'bad.trace:1: mm_heap_suggest_from_trace refused'
bad 'a 123456789abcdef01 16\n' 'bad.trace:1: id out of range'
bad 'x 10 16\n' 'bad.trace:1: malformed line'
bad 'a 10 16 5\n' 'bad.trace:1: malformed line: unexpected text'
bad 'a 10 16\nf 10\nf 10\n' 'bad.trace:3: a free of an id that is not live'
bad 'a 10 16\na 2' 'bad.trace:2: malformed line'
bad 'a 10 1\0006\n' 'bad.trace:1: malformed line: a NUL byte'
bad '# nothing\n' 'no allocation in the trace'
echo "ok: bad input refused with the line named"

[ $fails = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "trace: all passed"

#!/bin/sh
# SPDX-License-Identifier: MIT
# Replays a committed corpus, then fuzzes for N seconds (default 60). New inputs go to a folder in
# the build tree, not into the committed corpus; a finding leaves crash-* there and fails the run.
# Usage: fuzz/run.sh path/to/fuzz_target [seconds] [corpus folder name under fuzz/, default corpus]
set -eu
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
corpus=$here/${3:-corpus}
work=$(dirname "$bin")/work-$(basename "$bin")
mkdir -p "$work/corpus"
echo "$(basename "$bin"): replaying $(ls "$corpus" | wc -l) corpus inputs"
"$bin" -runs=0 "$corpus" 2>&1 | tail -2
echo "fuzzing for ${seconds}s"
cd "$work"
"$bin" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	corpus "$corpus" > fuzz.log 2>&1 || { tail -40 fuzz.log; echo "fuzz: FINDING (see $work)"; exit 1; }
grep -E "stat::number_of_executed_units|stat::peak_rss_mb|cov:" fuzz.log | tail -4
echo "fuzz: no findings"

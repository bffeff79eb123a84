#!/bin/sh
# SPDX-License-Identifier: MIT
# make wcet: every real-time entry point's constructed worst paths (tests/bounds/bounds.c) run with
# cold caches and TLB, each call timed alone (bench/wcet/cold.h), beside glibc's malloc and, when the
# build was configured with TLSF31_DIR, TLSF 3.1. WCET_ROUNDS rounds (default 100; each measures a
# path at most 4 times). Writes <build>/wcet/wcet.csv, wcet.md and wcet.svg. x86-64 only.
# Usage: bench/wcet/run.sh <cmake build folder>   (needs python3 for the report)
set -eu
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
[ -x "$build/bench/wcet" ] || { echo "wcet: $build/bench/wcet missing (x86-64 only; make all)"; exit 1; }
mkdir -p "$build/wcet"
"$build/bench/wcet" --wcet "${WCET_ROUNDS:-100}" > "$build/wcet/wcet.csv"
python3 "$here/report.py" "$build/wcet/wcet.csv" "$build/wcet"

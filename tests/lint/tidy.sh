#!/bin/sh
# SPDX-License-Identifier: MIT
# make lint's clang-tidy: one run per source file, JOBS at a time (default 2); prints what it
# finds and fails if any file has a finding. Usage: tidy.sh CHECKS FILE...
set -u
checks=$1
shift
if [ "${TIDY_ONE:-}" = 1 ]; then # one file, in a child of the xargs below
	out=$(clang-tidy --quiet --warnings-as-errors='*' -checks="$checks" "$1" -- -std=c11 -Iinclude -D_GNU_SOURCE 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -Ev "warnings? generated" | grep -v '^$'
	exit $rc
fi
printf '%s\n' "$@" | TIDY_ONE=1 xargs -P "${JOBS:-2}" -n 1 sh "$0" "$checks" || exit 1

#!/bin/sh
# SPDX-License-Identifier: MIT
# knob_size.sh SIZE SMALL.a SPEED.a - passes when the TLSF core (tlsf.c's object) in SMALL.a, built
# with MM_SMALL_CODE=1, has less code than in SPEED.a, built with MM_SMALL_CODE=0 and the same flags.
set -u
size_tool=$1 small=$2 speed=$3
text() { "$size_tool" "$1" | awk '$6 ~ /tlsf\.c\.o$/ { print $1 }'; }
a=$(text "$small") b=$(text "$speed")
echo "tlsf.c code: MM_SMALL_CODE=1 $a bytes, MM_SMALL_CODE=0 $b bytes"
[ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ]

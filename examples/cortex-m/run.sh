#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh - builds memoman's bare-metal Cortex-M images and runs each under QEMU with semihosting.
#
#   ./run.sh              everything: both boards' self-tests, the trap checks, tests/test_*.c on the M4
#   ./run.sh --quick      the self-tests and trap checks only (no tests/test_*.c)
#
# Needs gcc-arm-none-eabi, libnewlib-arm-none-eabi and qemu-system-arm (Debian). As root it installs
# what is missing with apt-get; otherwise it says what to install and exits 77 (skipped).
# Exits 0 when every image built and passed, 1 otherwise. Environment: TIMEOUT (seconds per run,
# default 300), CM_JOBS (make -j, default 2), CM_BUILD (the build folder, default build; a path
# relative to this folder, or absolute). Not BUILD: a calling make exports its own BUILD.
set -u
cd "$(dirname "$0")" || exit 1

TIMEOUT=${TIMEOUT:-300}
JOBS=${CM_JOBS:-2}
BUILD=${CM_BUILD:-build}
QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1

# ---- Tools ---------------------------------------------------------------------------------------
pkgs="gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm"
missing=""
if command -v dpkg-query >/dev/null 2>&1; then
	for p in $pkgs; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
	done
else
	command -v arm-none-eabi-gcc >/dev/null 2>&1 || missing="$missing gcc-arm-none-eabi libnewlib-arm-none-eabi"
	command -v qemu-system-arm >/dev/null 2>&1 || missing="$missing qemu-system-arm"
fi
if [ -n "$missing" ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "== installing:$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >/dev/null 2>&1 || true
		# shellcheck disable=SC2086
		apt-get install -y -qq -o DPkg::Lock::Timeout=600 $missing >/dev/null || {
			echo "run.sh: apt-get install$missing failed" >&2
			exit 1
		}
	else
		echo "run.sh: skipped: needs$missing (as root: apt-get install -y$missing)" >&2
		exit 77
	fi
fi

# ---- Build ---------------------------------------------------------------------------------------
targets="core full"
[ "$QUICK" = 0 ] && targets="$targets tests"
echo "== building ($(arm-none-eabi-gcc --version | head -1); $(qemu-system-arm --version | head -1))"
# -k: an image that does not build is reported below, the others still run.
mkdir -p "$BUILD" || exit 1
# shellcheck disable=SC2086 # $targets is a list
if ! make -k -j"$JOBS" BUILD="$BUILD" $targets >"$BUILD/make.log" 2>&1; then
	echo "   some images did not build (errors from $BUILD/make.log):"
	grep -E "error|undefined reference" "$BUILD/make.log" | sort -u | head -20 | sed 's/^/     /'
fi

# ---- Run -----------------------------------------------------------------------------------------
failures=0
summary=""

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# run <name> <board> <elf> <expected status> <text the output must contain> [semihosting args]
run() {
	name=$1 board=$2 elf=$3 want=$4 must=$5 args=${6:-}
	log="$elf.log"
	echo
	echo "== $name: qemu-system-arm -M $board -kernel $elf${args:+ (args:$args)}"
	if [ ! -f "$elf" ]; then
		echo "   NOT BUILT"
		summary="$summary
  $(printf '%-38s %-9s' "$name" "NOT BUILT")"
		failures=$((failures + 1))
		return
	fi
	sh_config="enable=on,target=native"
	for a in $args; do sh_config="$sh_config,arg=$a"; done
	t0=$(now)
	timeout "$TIMEOUT" qemu-system-arm -M "$board" -semihosting-config "$sh_config" \
		-nographic -monitor none -serial null -kernel "$elf" >"$log" 2>&1
	status=$?
	t1=$(now)
	sed 's/^/   /' "$log"
	if [ "$status" = 124 ]; then
		verdict="TIMEOUT"
	elif [ "$status" = "$want" ] && grep -q -- "$must" "$log"; then
		verdict="ok"
	else
		verdict="FAILED"
	fi
	[ "$verdict" = ok ] || failures=$((failures + 1))
	echo "   -> exit status $status (expected $want), $(elapsed "$t0" "$t1") s: $verdict"
	summary="$summary
  $(printf '%-38s %-9s %6s s  exit %s' "$name" "$verdict" "$(elapsed "$t0" "$t1")" "$status")"
}

for b in mps2-an386 microbit; do
	run "$b selftest-core (TLSF only)" "$b" "$BUILD/$b/selftest-core.elf" 0 " 0 failed"
	run "$b selftest" "$b" "$BUILD/$b/selftest.elf" 0 " 0 failed"
done
# The trap is on: an unaligned word load on purpose must end in a HardFault (status 3).
run "mps2-an386 unaligned load traps" mps2-an386 "$BUILD/mps2-an386/selftest.elf" 3 "UNALIGNED" "selftest unaligned"
run "microbit unaligned load traps" microbit "$BUILD/microbit/selftest.elf" 3 "HardFault" "selftest unaligned"

if [ "$QUICK" = 0 ]; then
	tests=$(make -s -f Makefile print-tests 2>/dev/null)
	for t in $tests; do
		run "mps2-an386 tests/$t.c" mps2-an386 "$BUILD/mps2-an386/tests/$t.elf" 0 " 0 failed"
	done
fi

echo
echo "== sizes"
make -s BUILD="$BUILD" sizes
echo
echo "== summary"
echo "$summary" | sed '1d'
if [ "$failures" != 0 ]; then
	echo "$failures run(s) failed"
	exit 1
fi
echo "all passed"
exit 0

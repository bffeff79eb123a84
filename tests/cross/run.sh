#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/cross/run.sh [ARCH...] - builds libmemoman's test suite (the lower layer: no malloc layer,
# benchmarks or examples) with Debian's cross compilers and runs it under qemu-user, one build folder
# per target: $BUILD/cross-<arch> (BUILD defaults to build). ARCH: aarch64 armhf riscv64 s390x ppc32
# (default: all five). Installs what it needs with apt-get (quietly, only what is missing; root or
# sudo). JOBS (default 2) compile jobs and ctest jobs. CROSS_TESTS, if set, is a ctest -R regular
# expression: only the tests it matches run (CI's shorter run). Each target's time is printed.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
JOBS=${JOBS:-2}
[ $# -gt 0 ] || set -- aarch64 armhf riscv64 s390x ppc32

triple_of() {
	case $1 in
	aarch64) echo aarch64-linux-gnu ;;
	armhf) echo arm-linux-gnueabihf ;;
	riscv64) echo riscv64-linux-gnu ;;
	s390x) echo s390x-linux-gnu ;;
	ppc32) echo powerpc-linux-gnu ;;
	*) echo "tests/cross/run.sh: unknown target $1 (aarch64 armhf riscv64 s390x ppc32)" >&2; exit 2 ;;
	esac
}
libc_of() {
	case $1 in
	aarch64) echo libc6-dev-arm64-cross ;;
	armhf) echo libc6-dev-armhf-cross ;;
	riscv64) echo libc6-dev-riscv64-cross ;;
	s390x) echo libc6-dev-s390x-cross ;;
	ppc32) echo libc6-dev-powerpc-cross ;;
	esac
}

need="qemu-user cmake"
for arch; do
	t=$(triple_of "$arch")
	need="$need gcc-$t $(libc_of "$arch")"
done
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=""
for p in $need; do
	installed "$p" || missing="$missing $p"
done
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# Debian's gcc-multilib (make test-32) conflicts with every gcc-<triple> cross compiler: installing
# these removes it. If it was there, it is put back when this script ends (which removes the cross
# compilers again), so that make test-32 still works afterwards. MEMOMAN_CROSS_KEEP=1 keeps the
# cross compilers instead.
restore=""
if [ -n "$missing" ] && [ "${MEMOMAN_CROSS_KEEP:-0}" != 1 ] && installed gcc-multilib; then
	restore=gcc-multilib
fi
if [ -n "$missing" ]; then
	$SUDO apt-get update -qq >/dev/null 2>&1 || true
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -qq -o DPkg::Lock::Timeout=600 $missing >/dev/null
fi
if [ -n "$restore" ]; then
	trap '$SUDO apt-get install -y -qq -o DPkg::Lock::Timeout=600 $restore >/dev/null' EXIT
fi

status=0
summary=""
for arch; do
	t=$(triple_of "$arch")
	dir=$BUILD/cross-$arch
	start=$(date +%s)
	cxx=OFF
	command -v "$t-g++" >/dev/null 2>&1 && cxx=ON
	mkdir -p "$dir"
	echo "== $arch ($t, qemu-user; C++ header test $cxx)"
	if ! cmake -S . -B "$dir" -DCMAKE_TOOLCHAIN_FILE="$PWD/tests/cross/$arch.cmake" -DCMAKE_BUILD_TYPE=Release \
		-DMEMOMAN_BUILD_MALLOC=OFF -DMEMOMAN_BUILD_BENCH=OFF -DMEMOMAN_BUILD_EXAMPLES=OFF \
		-DMEMOMAN_TEST_CXX=$cxx >"$dir.configure.log" 2>&1; then
		cat "$dir.configure.log"
		exit 1
	fi
	cmake --build "$dir" -j "$JOBS" -- --no-print-directory -s
	result=passed
	if [ -n "${CROSS_TESTS:-}" ]; then
		(cd "$dir" && ctest --output-on-failure -j "$JOBS" -R "$CROSS_TESTS") || { result=FAILED; status=1; }
	else
		(cd "$dir" && ctest --output-on-failure -j "$JOBS") || { result=FAILED; status=1; }
	fi
	secs=$(($(date +%s) - start))
	summary="$summary$arch: $result in ${secs} s
"
done
printf '== test-cross\n%s' "$summary"
exit $status

#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh - the malloc tests (ctest -R test_malloc) built by Debian's cross compilers and run under
# qemu-user (all but test_malloc_rss and test_malloc_report, which need a real kernel: arm64-vm.sh),
# at several page sizes (qemu-user's -p: what getpagesize(), sysconf and AT_PAGESZ
# report, and the granularity of the guest's mmap, munmap and madvise):
#
#   tests/cross-malloc/run.sh [BUILD [ARCH:PAGESIZE ...]]
#       default: build  aarch64:4096 aarch64:16384 aarch64:65536 ppc64le:65536 riscv64:4096 armhf:4096
#
# ppc64le is Debian's 64 KiB-page target (its kernels use 64 KiB pages; qemu-ppc64le reports
# 4 KiB unless told). Installs gcc-<triple> and its C library with apt-get when missing (quietly);
# Debian's gcc-multilib (make test-32) conflicts with them: if it was installed it is put back at
# the end (MEMOMAN_CROSS_KEEP=1: not, as tests/cross/run.sh). Exit 0 all passed, 1 a failure, 77 cannot run (no root to install, no qemu-user).
set -eu
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- aarch64:4096 aarch64:16384 aarch64:65536 ppc64le:65536 riscv64:4096 armhf:4096
JOBS=${JOBS:-2}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
need=""
for spec; do
	case ${spec%%:*} in
	aarch64) need="$need gcc-aarch64-linux-gnu libc6-dev-arm64-cross" ;;
	ppc64le) need="$need gcc-powerpc64le-linux-gnu libc6-dev-ppc64el-cross" ;;
	armhf) need="$need gcc-arm-linux-gnueabihf libc6-dev-armhf-cross" ;;
	riscv64) need="$need gcc-riscv64-linux-gnu libc6-dev-riscv64-cross" ;;
	*) echo "unknown architecture: $spec" >&2; exit 2 ;;
	esac
done
command -v qemu-aarch64 >/dev/null 2>&1 || need="$need qemu-user"
missing=""
for p in $need; do
	case " $missing " in *" $p "*) continue ;; esac
	installed "$p" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	[ "$(id -u)" = 0 ] || { echo "cross-malloc: skipped: needs$missing" >&2; exit 77; }
	export DEBIAN_FRONTEND=noninteractive
	restore=""
	[ "${MEMOMAN_CROSS_KEEP:-0}" = 1 ] || ! installed gcc-multilib || restore=gcc-multilib
	# shellcheck disable=SC2086 # a list of packages
	apt-get install -y -qq -o DPkg::Lock::Timeout=300 $missing >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq -o DPkg::Lock::Timeout=300 $missing >/dev/null; } ||
		{ echo "cross-malloc: skipped: apt-get install$missing failed" >&2; exit 77; }
	[ -z "$restore" ] || trap 'apt-get install -y -qq -o DPkg::Lock::Timeout=300 gcc-multilib >/dev/null 2>&1' EXIT
fi

TARGETS="memoman_malloc_shared memoman_malloc_static mm_early"
for t in api threads random errors stats segmap trace_fork secure lifecycle; do
	TARGETS="$TARGETS test_malloc_$t"
done
status=0
summary=""
for spec; do
	arch=${spec%%:*} page=${spec#*:}
	dir=$BUILD/cross-malloc-$arch-$page
	start=$(date +%s)
	echo "== $arch, page size $page (qemu-user -p $page)"
	cmake -S . -B "$dir" -DCMAKE_TOOLCHAIN_FILE="$PWD/tests/cross-malloc/$arch.cmake" -DCMAKE_BUILD_TYPE=Release \
		-DMEMOMAN_CROSS_PAGESIZE="$page" -DMEMOMAN_BUILD_BENCH=OFF -DMEMOMAN_BUILD_EXAMPLES=OFF \
		-DMEMOMAN_TEST_CXX=OFF >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; exit 1; }
	# shellcheck disable=SC2086
	cmake --build "$dir" -j "$JOBS" --target $TARGETS -- --no-print-directory -s >"$dir.build.log" 2>&1 ||
		{ cat "$dir.build.log"; exit 1; }
	r=0
	(cd "$dir" && ctest -R test_malloc --output-on-failure -j "$JOBS") || r=$?
	[ "$r" = 0 ] || status=1
	summary="$summary
$arch page $page: $([ "$r" = 0 ] && echo passed || echo FAILED) in $(($(date +%s) - start)) s"
done
echo "== summary$summary"
exit $status

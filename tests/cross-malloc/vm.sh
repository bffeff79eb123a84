#!/bin/sh
# SPDX-License-Identifier: MIT
# vm.sh - the malloc tests on a real Linux kernel of another architecture, booted in qemu-system with
# an initramfs of the malloc tests, built static, and a tiny /init (vm_init.c) that runs them, prints
# each result and powers off:
#
#   arm64    Debian's arm64 kernel (48-bit virtual addresses with 4 KiB pages: mmap places memory
#            just below 2^48, which qemu-user never shows), -M virt, cortex-a57, 2 CPUs
#   ppc64el  Debian's powerpc64le kernel (64 KiB pages), -M pseries, POWER9, 2 CPUs
#
#   tests/cross-malloc/vm.sh ARCH [WORKDIR]   (default WORKDIR: build/ARCH-vm)
#   tests/cross-malloc/arm64-vm.sh [WORKDIR]  (`make test-arm64-vm`), ppc64el-vm.sh likewise
#
# It installs what it lacks with apt-get (the cross compiler and C library, qemu-system-*, cpio;
# quiet, and nothing when all is there) and adds the architecture to dpkg to download the kernel
# package (once: kept in WORKDIR). Installing a cross compiler removes Debian's gcc-multilib (they
# conflict): if it was installed it is put back at the end (MEMOMAN_CROSS_KEEP=1: not). Exit 0: every test passed; 1: a test
# failed or the VM did not finish; 77: cannot run here (not root and something missing, or
# Debian's mirror out of reach). MEMOMAN_VM_TIMEOUT: seconds the VM may run (default 1200);
# MEMOMAN_VM_TESTS: the tests to run (names as in tests/malloc/test_malloc_NAME.c).
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ARCH=${1:?usage: vm.sh arm64|ppc64el [WORKDIR]}
WORK=${2:-$ROOT/build/$ARCH-vm}
TIMEOUT=${MEMOMAN_VM_TIMEOUT:-1200}
TESTS=${MEMOMAN_VM_TESTS:-api errors random segmap stats rss threads} # tests/malloc/test_malloc_<name>.c
case $ARCH in
arm64)
	TRIPLE=aarch64-linux-gnu CROSS_PKGS="gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
	QEMU=qemu-system-aarch64 QEMU_PKG=qemu-system-arm KERNEL_META=linux-image-arm64 KERNEL_FILE=vmlinuz
	QEMU_ARGS="-M virt -cpu cortex-a57" CONSOLE=ttyAMA0
	;;
ppc64el)
	TRIPLE=powerpc64le-linux-gnu CROSS_PKGS="gcc-powerpc64le-linux-gnu libc6-dev-ppc64el-cross"
	QEMU=qemu-system-ppc64 QEMU_PKG=qemu-system-ppc KERNEL_META=linux-image-powerpc64le KERNEL_FILE=vmlinux
	QEMU_ARGS="-M pseries -cpu power9" CONSOLE=hvc0
	;;
*) echo "vm.sh: unknown architecture $ARCH (arm64, ppc64el)" >&2; exit 2 ;;
esac
CC=$TRIPLE-gcc

skip() {
	echo "vm-$ARCH: skipped: $*" >&2
	exit 77
}
is_root() { [ "$(id -u)" = 0 ]; }

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
t_start=$(date +%s)

# ---- Tools ----------------------------------------------------------------------------------------
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=""
command -v $CC >/dev/null 2>&1 || missing="$missing $CROSS_PKGS"
command -v $QEMU >/dev/null 2>&1 || missing="$missing $QEMU_PKG"
command -v cpio >/dev/null 2>&1 || missing="$missing cpio"
command -v gzip >/dev/null 2>&1 || missing="$missing gzip"
if [ -n "$missing" ]; then
	is_root || skip "needs$missing (and root to install them)"
	export DEBIAN_FRONTEND=noninteractive
	if [ "${MEMOMAN_CROSS_KEEP:-0}" != 1 ] && installed gcc-multilib; then
		trap 'apt-get install -y -qq -o DPkg::Lock::Timeout=300 gcc-multilib >/dev/null 2>&1' EXIT
	fi
	# shellcheck disable=SC2086 # a list of packages
	apt-get install -y -qq -o DPkg::Lock::Timeout=300 $missing >"$WORK/apt.log" 2>&1 ||
		{ apt-get update -qq >>"$WORK/apt.log" 2>&1;
			apt-get install -y -qq -o DPkg::Lock::Timeout=300 $missing >>"$WORK/apt.log" 2>&1; } ||
		skip "apt-get install$missing failed (see $WORK/apt.log)"
fi

# ---- Kernel: Debian's linux-image-*-ARCH -------------------------------------------------------
if [ ! -s "$WORK/kernel" ]; then
	if ! dpkg --print-foreign-architectures | grep -qx "$ARCH"; then
		is_root || skip "dpkg has no $ARCH architecture (root needed to add it)"
		dpkg --add-architecture "$ARCH"
	fi
	if ! apt-cache show "$KERNEL_META:$ARCH" >/dev/null 2>&1; then
		is_root || skip "no $ARCH package lists (root needed for apt-get update)"
		apt-get update -qq >"$WORK/apt.log" 2>&1 || true # a mirror out of sync for one list is not fatal
		apt-cache show "$KERNEL_META:$ARCH" >/dev/null 2>&1 ||
			skip "apt-get update failed: Debian's mirror out of reach? (see $WORK/apt.log)"
	fi
	# The exact package the metapackage depends on (linux-image-6.1.0-N-ARCH-FLAVOUR).
	pkg=$(apt-cache depends "$KERNEL_META:$ARCH" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*\).*/\1/p' | head -n 1)
	[ -n "$pkg" ] || skip "no kernel package for $ARCH known to apt"
	rm -rf "$WORK/dl" && mkdir -p "$WORK/dl"
	(cd "$WORK/dl" && apt-get download -qq "$pkg:$ARCH" >"$WORK/apt.log" 2>&1) ||
		skip "apt-get download $pkg failed: Debian's mirror out of reach?"
	dpkg-deb -x "$WORK"/dl/*.deb "$WORK/dl/root"
	cp "$WORK"/dl/root/boot/$KERNEL_FILE-* "$WORK/kernel"
	echo "$pkg" >"$WORK/kernel-package"
	rm -rf "$WORK/dl"
fi

# ---- The tests, static -----------------------------------------------------------------------------
t_build=$(date +%s)
OBJ="$WORK/obj"
RD="$WORK/initramfs"
rm -rf "$OBJ" "$RD"
mkdir -p "$OBJ" "$RD/tests"
# The malloc layer's knobs, as CMakeLists.txt sets them (MEMOMAN_MALLOC_KNOBS).
KNOBS="-DMM_ALIGNMENT=16 -DMM_MAX_POOLS=32"
LIBFLAGS="-std=c11 -O2 -DNDEBUG -D_GNU_SOURCE -fvisibility=hidden -fno-builtin-malloc -fno-builtin-calloc
	-fno-builtin-free -fno-builtin-realloc $KNOBS -I$ROOT/include"
for f in "$ROOT"/src/malloc/*.c "$ROOT"/src/malloc/os/posix.c "$ROOT"/src/tlsf.c "$ROOT"/src/tlsf_compat.c \
	"$ROOT"/src/observe.c "$ROOT"/src/fixed.c "$ROOT"/src/heap.c "$ROOT"/src/heap_config.c; do
	o="$OBJ/$(basename "$(dirname "$f")")_$(basename "$f" .c).o"
	# shellcheck disable=SC2086 # a list of flags
	$CC $LIBFLAGS -c "$f" -o "$o"
done
rm -f "$OBJ/libmemoman-malloc.a"
$TRIPLE-ar rcs "$OBJ/libmemoman-malloc.a" "$OBJ"/*.o
for t in $TESTS; do
	# shellcheck disable=SC2086 # a list of flags
	$CC -static -std=c11 -O2 -D_GNU_SOURCE -Wall -Wextra -Werror -fno-builtin $KNOBS -I"$ROOT/include" \
		"$ROOT/tests/malloc/test_malloc_$t.c" "$OBJ/libmemoman-malloc.a" -pthread -o "$RD/tests/test_malloc_$t"
done
$CC -static -O2 -Wall -Wextra "$ROOT/tests/cross-malloc/vm_init.c" -o "$RD/init"
(cd "$RD" && find . | cpio -o -H newc --quiet | gzip -1) >"$WORK/initrd.cpio.gz"

# ---- Boot ------------------------------------------------------------------------------------------
t_boot=$(date +%s)
echo "vm-$ARCH: $(cat "$WORK/kernel-package" 2>/dev/null || echo kernel), tests: $TESTS"
status=0
# shellcheck disable=SC2086
timeout "$TIMEOUT" $QEMU $QEMU_ARGS -smp 2 -m 1024 -nographic -no-reboot \
	-kernel "$WORK/kernel" -initrd "$WORK/initrd.cpio.gz" -append "console=$CONSOLE panic=-1 quiet" \
	</dev/null >"$WORK/console.log" 2>&1 || status=$?
t_end=$(date +%s)
# The test programs' lines and init's (the kernel's own messages are in the log).
tr -d '\r' <"$WORK/console.log" | grep -E '^(vm:|test_malloc|segment map|page size|mmap with|memoman:|.*CHECK failed)' || true
echo "vm-$ARCH: set-up $((t_build - t_start)) s, build $((t_boot - t_build)) s, VM $((t_end - t_boot)) s (log: $WORK/console.log)"
if [ "$status" != 0 ]; then
	echo "vm-$ARCH: $QEMU ended with status $status (124: timed out after $TIMEOUT s)" >&2
	exit 1
fi
tr -d '\r' <"$WORK/console.log" | grep -q '^vm: .* - all passed$' || exit 1
if [ "$ARCH" = arm64 ]; then
	tr -d '\r' <"$WORK/console.log" | grep -q '^vm: kernel .*above 2^47' ||
		{ echo "vm-arm64: the kernel's mmap stayed below 2^47: not the case this is for" >&2; exit 1; }
fi
exit 0

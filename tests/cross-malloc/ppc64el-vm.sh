#!/bin/sh
# SPDX-License-Identifier: MIT
# ppc64el-vm.sh [WORKDIR] - the malloc tests on Debian's powerpc64le kernel (64 KiB pages) in
# qemu-system-ppc64: see vm.sh.
exec "$(dirname "$0")/vm.sh" ppc64el "$@"

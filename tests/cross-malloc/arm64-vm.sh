#!/bin/sh
# SPDX-License-Identifier: MIT
# arm64-vm.sh [WORKDIR] - the malloc tests on Debian's arm64 kernel (48-bit addresses) in
# qemu-system-aarch64: see vm.sh. `make test-arm64-vm`.
exec "$(dirname "$0")/vm.sh" arm64 "$@"

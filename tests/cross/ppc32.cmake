# SPDX-License-Identifier: MIT
# ppc32.cmake: 32-bit PowerPC, big-endian (Debian powerpc): no lock-free 64-bit atomics
set(MEMOMAN_CROSS_TRIPLE powerpc-linux-gnu)
set(MEMOMAN_CROSS_PROCESSOR powerpc)
set(MEMOMAN_CROSS_QEMU qemu-ppc)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

# SPDX-License-Identifier: MIT
# ppc64le.cmake: 64-bit POWER, little-endian (Debian ppc64el): gcc-powerpc64le-linux-gnu, qemu-ppc64le
set(MEMOMAN_CROSS_TRIPLE powerpc64le-linux-gnu)
set(MEMOMAN_CROSS_PROCESSOR ppc64le)
set(MEMOMAN_CROSS_QEMU qemu-ppc64le)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

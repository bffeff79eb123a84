# SPDX-License-Identifier: MIT
# aarch64.cmake: 64-bit ARM, little-endian (Debian arm64): gcc-aarch64-linux-gnu, qemu-aarch64
set(MEMOMAN_CROSS_TRIPLE aarch64-linux-gnu)
set(MEMOMAN_CROSS_PROCESSOR aarch64)
set(MEMOMAN_CROSS_QEMU qemu-aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

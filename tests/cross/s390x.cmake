# SPDX-License-Identifier: MIT
# s390x.cmake: 64-bit IBM Z, big-endian (Debian s390x): max_align_t 8
set(MEMOMAN_CROSS_TRIPLE s390x-linux-gnu)
set(MEMOMAN_CROSS_PROCESSOR s390x)
set(MEMOMAN_CROSS_QEMU qemu-s390x)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

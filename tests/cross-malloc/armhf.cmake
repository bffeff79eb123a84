# SPDX-License-Identifier: MIT
# armhf.cmake: 32-bit ARMv7-A, hard float (Debian armhf): gcc-arm-linux-gnueabihf, qemu-arm
set(MEMOMAN_CROSS_TRIPLE arm-linux-gnueabihf)
set(MEMOMAN_CROSS_PROCESSOR arm)
set(MEMOMAN_CROSS_QEMU qemu-arm)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

# SPDX-License-Identifier: MIT
# riscv64.cmake: 64-bit RISC-V (Debian riscv64): gcc-riscv64-linux-gnu, qemu-riscv64
set(MEMOMAN_CROSS_TRIPLE riscv64-linux-gnu)
set(MEMOMAN_CROSS_PROCESSOR riscv64)
set(MEMOMAN_CROSS_QEMU qemu-riscv64)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

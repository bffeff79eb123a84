# SPDX-License-Identifier: MIT
# common.cmake - what the cross toolchain files of the malloc layer share (tests/cross-malloc/<arch>.cmake
# set MEMOMAN_CROSS_TRIPLE, MEMOMAN_CROSS_PROCESSOR and MEMOMAN_CROSS_QEMU, then include this).
# Debian's cross compilers (gcc-<triple>), their C libraries under /usr/<triple>, and qemu-user to run
# what they build: CMAKE_CROSSCOMPILING_EMULATOR makes ctest run each test program through qemu.
# -DMEMOMAN_CROSS_PAGESIZE=16384 (or 65536) runs them with that page size: qemu-user's -p, which is
# what getpagesize(), sysconf(_SC_PAGESIZE) and AT_PAGESZ then report, and the granularity of the
# guest's mmap, munmap and madvise.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${MEMOMAN_CROSS_PROCESSOR})
set(CMAKE_C_COMPILER ${MEMOMAN_CROSS_TRIPLE}-gcc)
set(CMAKE_FIND_ROOT_PATH /usr/${MEMOMAN_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(MEMOMAN_CROSS_PAGESIZE "" CACHE STRING "page size for qemu-user (-p), empty: its default")
if(MEMOMAN_CROSS_PAGESIZE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${MEMOMAN_CROSS_QEMU} -L /usr/${MEMOMAN_CROSS_TRIPLE} -p ${MEMOMAN_CROSS_PAGESIZE})
else()
  set(CMAKE_CROSSCOMPILING_EMULATOR ${MEMOMAN_CROSS_QEMU} -L /usr/${MEMOMAN_CROSS_TRIPLE})
endif()

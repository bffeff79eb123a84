# SPDX-License-Identifier: MIT
# common.cmake - the part every cross toolchain file shares (tests/cross/<arch>.cmake set
# MEMOMAN_CROSS_TRIPLE, MEMOMAN_CROSS_PROCESSOR and MEMOMAN_CROSS_QEMU, then include this).
# Debian's cross compilers (gcc-<triple>), their C libraries under /usr/<triple>, and qemu-user to run
# what they build: CMAKE_CROSSCOMPILING_EMULATOR makes ctest run every test program through qemu.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${MEMOMAN_CROSS_PROCESSOR})
set(CMAKE_C_COMPILER ${MEMOMAN_CROSS_TRIPLE}-gcc)
find_program(MEMOMAN_CROSS_CXX ${MEMOMAN_CROSS_TRIPLE}-g++)
if(MEMOMAN_CROSS_CXX)
  set(CMAKE_CXX_COMPILER ${MEMOMAN_CROSS_CXX})
endif()
set(CMAKE_FIND_ROOT_PATH /usr/${MEMOMAN_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_CROSSCOMPILING_EMULATOR ${MEMOMAN_CROSS_QEMU} -L /usr/${MEMOMAN_CROSS_TRIPLE})

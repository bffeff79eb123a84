# SPDX-License-Identifier: MIT
# cycles.cmake - the MEMOMAN_CYCLES option: a build of libmemoman alone configured with
# -DMEMOMAN_CYCLES=ON is installed; its memoman.pc Cflags and its CMake targets' compile definitions
# carry MM_CYCLES=1, and a program built with pkg-config's flags finds cycle tracking compiled in
# (cycles_on.c). Exit 77 (skipped) without pkg-config, after the CMake checks.
#   cmake -DSOURCE_DIR=... -DWORK_DIR=... -DC_COMPILER=... -DC_FLAGS=... -P cycles.cmake
cmake_minimum_required(VERSION 3.16) # script mode: the policies of this version
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build -DCMAKE_BUILD_TYPE=Release -DMEMOMAN_CYCLES=ON
    -DCMAKE_C_COMPILER=${C_COMPILER} "-DCMAKE_C_FLAGS=${C_FLAGS}" -DMEMOMAN_WERROR=ON
    -DMEMOMAN_BUILD_TESTS=OFF -DMEMOMAN_BUILD_EXAMPLES=OFF -DMEMOMAN_BUILD_BENCH=OFF -DMEMOMAN_BUILD_MALLOC=OFF)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build -j 2)
run(${CMAKE_COMMAND} --install ${WORK_DIR}/build --prefix ${prefix})

file(GLOB targets ${prefix}/lib*/cmake/memoman/memomanTargets.cmake ${prefix}/lib/*/cmake/memoman/memomanTargets.cmake)
file(READ "${targets}" text)
if(NOT text MATCHES "INTERFACE_COMPILE_DEFINITIONS \"MM_CYCLES=1\"")
  message(FATAL_ERROR "memoman::memoman does not carry MM_CYCLES=1 (${targets})")
endif()

find_program(PKG_CONFIG pkg-config)
if(NOT PKG_CONFIG)
  message("pkg-config not found: the program was not built")
  cmake_language(EXIT 77)
endif()
file(GLOB pcdir ${prefix}/lib*/pkgconfig ${prefix}/lib/*/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "${pcdir}")
execute_process(COMMAND ${PKG_CONFIG} --cflags --libs memoman OUTPUT_VARIABLE flags RESULT_VARIABLE rc
                OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0 OR NOT flags MATCHES "-DMM_CYCLES=1")
  message(FATAL_ERROR "pkg-config --cflags memoman does not say -DMM_CYCLES=1: ${flags}")
endif()
separate_arguments(flags UNIX_COMMAND "${flags}")
separate_arguments(cflags UNIX_COMMAND "${C_FLAGS}")
run(${C_COMPILER} ${cflags} ${SOURCE_DIR}/tests/install/cycles_on.c -o ${WORK_DIR}/cycles_on ${flags}
    -Wl,-rpath,${pcdir}/..)
run(${WORK_DIR}/cycles_on)
message("MEMOMAN_CYCLES=ON: in memoman.pc, in the CMake target, and compiled in")

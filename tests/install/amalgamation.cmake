# SPDX-License-Identifier: MIT
# amalgamation.cmake - the amalgamation (scripts/amalgamate.sh, built by the `amalgamation` target) is
# what it promises: a firmware engineer drops tlsf.c + tlsf.h into a project, compiles with a bare
# `cc` (no flag at all), and a program written for TLSF 3.1 works; memoman.h and tlsf.h (amalgamated
# or from the source tree) compile together under -std=c99 -pedantic -Werror.
#   cmake -DAMALGAMATION_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -DC_COMPILER=... -P amalgamation.cmake
cmake_minimum_required(VERSION 3.16) # script mode: the policies of this version
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR}/firmware)
set(fw ${WORK_DIR}/firmware)

# Only the two files, beside the program, in a folder of their own: nothing else of memoman is there.
file(COPY ${AMALGAMATION_DIR}/tlsf.c ${AMALGAMATION_DIR}/tlsf.h ${SOURCE_DIR}/tests/install/tlsf31_program.c
     DESTINATION ${fw})
run_in(${fw} ${C_COMPILER} tlsf.c tlsf31_program.c -o program)
run_in(${fw} ${fw}/program)

# No project #include is left in the amalgamated source but tlsf.h's.
file(STRINGS ${fw}/tlsf.c includes REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
if(NOT includes STREQUAL "#include \"tlsf.h\"")
  message(FATAL_ERROR "tlsf.c includes other project files: ${includes}")
endif()

# C99, pedantic, warnings as errors: memoman.h with tlsf.h, in both orders, from the amalgamation and
# from the source tree (include/ and the drop-in folder include/memoman-tlsf).
set(c99 -std=c99 -pedantic -Wall -Wextra -Werror -c ${SOURCE_DIR}/tests/install/both_headers_c99.c)
foreach(order "" -DMEMOMAN_TLSF_FIRST)
  run(${C_COMPILER} ${c99} ${order} -I${AMALGAMATION_DIR} -o ${WORK_DIR}/amalgamated.o)
  run(${C_COMPILER} ${c99} ${order} -I${SOURCE_DIR}/include -I${SOURCE_DIR}/include/memoman-tlsf
      -o ${WORK_DIR}/tree.o)
endforeach()
# And the amalgamated tlsf.c itself, strictly: libmemoman's sources are C11 (_Alignof, _Static_assert),
# so C11, pedantic, with warnings as errors.
run(${C_COMPILER} -std=c11 -pedantic -Wall -Wextra -Werror -c ${fw}/tlsf.c -o ${WORK_DIR}/strict.o)
message("amalgamation: tlsf.c + tlsf.h built with a bare cc and ran a TLSF 3.1 program")

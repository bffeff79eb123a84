# SPDX-License-Identifier: MIT
# packaging.cmake - the tests of packaging and integration (included at the end of tests/CMakeLists.txt):
#   amalgamation_dropin  tlsf.c + tlsf.h alone build with a bare cc and run a TLSF 3.1 program; memoman.h
#                        and tlsf.h compile together under -std=c99 -pedantic -Werror
#                        (tests/install/amalgamation.cmake)
#   exports_public_only  libmemoman.so exports exactly the functions of the public headers; both shared
#                        libraries have versioned SONAMEs (tests/install/exports.cmake)
#   tlsf_target          a TLSF 3.1 program built unchanged on the in-tree memoman::tlsf target
#   cycles_option        -DMEMOMAN_CYCLES=ON builds the library with cycle timing, and says so in
#                        memoman.pc and in the CMake target (tests/install/cycles.cmake)
# install_consumer (tests/CMakeLists.txt, tests/install/run.cmake) covers the installed package.

if(TARGET amalgamation)
  add_test(NAME amalgamation_dropin
           COMMAND ${CMAKE_COMMAND} -DAMALGAMATION_DIR=${MEMOMAN_AMALGAMATION_DIR}
                   -DSOURCE_DIR=${PROJECT_SOURCE_DIR} -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/amalgamation_test
                   -DC_COMPILER=${CMAKE_C_COMPILER} -P ${CMAKE_CURRENT_SOURCE_DIR}/install/amalgamation.cmake)
endif()

if(MEMOMAN_VERSION_SCRIPT)
  set(malloc_library "")
  if(MEMOMAN_BUILD_MALLOC)
    set(malloc_library $<TARGET_FILE:memoman_malloc_shared>)
  endif()
  add_test(NAME exports_public_only
           COMMAND ${CMAKE_COMMAND} -DLIBRARY=$<TARGET_FILE:memoman_shared> -DMALLOC_LIBRARY=${malloc_library}
                   -DC_COMPILER=${CMAKE_C_COMPILER} -DINCLUDE_DIR=${PROJECT_SOURCE_DIR}/include
                   "-DDEFINITIONS=${MEMOMAN_DEFINITIONS}" -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/install/exports.cmake)
  set_tests_properties(exports_public_only PROPERTIES SKIP_RETURN_CODE 77)
endif()

# The in-tree target, as a project that adds memoman with add_subdirectory would use it.
add_executable(test_tlsf_target ${CMAKE_CURRENT_SOURCE_DIR}/install/tlsf31_program.c)
target_link_libraries(test_tlsf_target PRIVATE memoman::tlsf_static)
target_compile_options(test_tlsf_target PRIVATE ${MEMOMAN_WARNINGS})
add_test(NAME tlsf_target COMMAND test_tlsf_target)

# A build of its own (libmemoman only), so it costs one library's compile.
add_test(NAME cycles_option
         COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${PROJECT_SOURCE_DIR} -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/cycles_test
                 -DC_COMPILER=${CMAKE_C_COMPILER} "-DC_FLAGS=${CMAKE_C_FLAGS}"
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/install/cycles.cmake)
set_tests_properties(cycles_option PROPERTIES SKIP_RETURN_CODE 77)

# SPDX-License-Identifier: MIT
# run.cmake - installs the build into a scratch prefix and uses it the ways the README tells a user to:
#   1. what is installed: headers (memoman-tlsf/ holding only tlsf.h), both libraries with versioned
#      SONAMEs, the three .pc files, the CMake package, the amalgamation;
#   2. find_package(memoman): a program per imported target (tests/install/CMakeLists.txt), each run;
#      the static ones must not need any memoman shared library, the shared ones must need the
#      versioned name (libmemoman.so.0);
#   3. pkg-config, shared: memoman, memoman-tlsf (a TLSF 3.1 program, unchanged), memoman-malloc,
#      run with an rpath to the install's libdir (what a user needs at run time, or LD_LIBRARY_PATH);
#      memoman.h + tlsf.h under -std=c99 -pedantic -Werror with memoman-tlsf's Cflags;
#   4. pkg-config, static: the -l flags of `pkg-config --static --libs` between -Wl,-Bstatic and
#      -Wl,-Bdynamic link every program with no memoman shared library NEEDED.
# cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -DC_COMPILER=... -DC_FLAGS=... -DMALLOC=ON|OFF
#       -P run.cmake. Exit 77 (skipped) when pkg-config is missing, after the CMake part passed.
cmake_minimum_required(VERSION 3.16) # script mode: the policies of this version
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
set(inst ${SOURCE_DIR}/tests/install)
if(C_FLAGS MATCHES "sanitize")
  set(MALLOC OFF) # a sanitizer brings its own malloc
endif()

# expect_needed(<file> <YES|NO> <library-regex>): the program needs (or does not need) such a library.
function(expect_needed file want regex)
  needed_libraries(libs ${file})
  set(found "")
  foreach(l ${libs})
    if(l MATCHES "${regex}")
      set(found ${l})
    endif()
  endforeach()
  if(want AND NOT found)
    message(FATAL_ERROR "${file} does not need ${regex} (NEEDED: ${libs})")
  elseif(NOT want AND found)
    message(FATAL_ERROR "${file} is meant to be static but needs ${found}")
  endif()
endfunction()

# ---- 1. What is installed ------------------------------------------------------------------------
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
file(GLOB libdir LIST_DIRECTORIES true ${prefix}/lib*/pkgconfig ${prefix}/lib/*/pkgconfig)
get_filename_component(libdir "${libdir}" DIRECTORY)
set(files include/memoman.h include/memoman/tlsf.h include/memoman/config.h include/memoman-tlsf/tlsf.h
    share/memoman/amalgamation/tlsf.c share/memoman/amalgamation/tlsf.h share/memoman/amalgamation/memoman.h)
list(TRANSFORM files PREPEND ${prefix}/)
list(APPEND files ${libdir}/libmemoman.a ${libdir}/libmemoman.so.0 ${libdir}/pkgconfig/memoman.pc
     ${libdir}/pkgconfig/memoman-tlsf.pc ${libdir}/cmake/memoman/memomanConfig.cmake)
if(MALLOC)
  list(APPEND files ${libdir}/libmemoman-malloc.a ${libdir}/libmemoman-malloc.so.0
       ${libdir}/pkgconfig/memoman-malloc.pc)
endif()
foreach(f ${files})
  if(NOT EXISTS ${f})
    message(FATAL_ERROR "not installed: ${f}")
  endif()
endforeach()
file(GLOB dropin RELATIVE ${prefix}/include/memoman-tlsf ${prefix}/include/memoman-tlsf/*)
if(NOT dropin STREQUAL "tlsf.h")
  message(FATAL_ERROR "include/memoman-tlsf must hold tlsf.h only (it goes on the include path): ${dropin}")
endif()
foreach(lib memoman memoman-malloc)
  if(EXISTS ${libdir}/lib${lib}.so.0)
    soname(so ${libdir}/lib${lib}.so.0)
    if(NOT so STREQUAL "lib${lib}.so.0")
      message(FATAL_ERROR "lib${lib}.so: SONAME '${so}', not lib${lib}.so.0")
    endif()
  endif()
endforeach()

# ---- 2. find_package(memoman) ----------------------------------------------------------------------
run(${CMAKE_COMMAND} -S ${inst} -B ${WORK_DIR}/consumer -DCMAKE_PREFIX_PATH=${prefix}
    -DCMAKE_C_COMPILER=${C_COMPILER} "-DCMAKE_C_FLAGS=${C_FLAGS}" -DMEMOMAN_TEST_MALLOC=${MALLOC})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer)
set(programs consumer_shared consumer_static consumer_tlsf consumer_tlsf_static)
if(MALLOC)
  list(APPEND programs consumer_malloc consumer_malloc_static)
endif()
foreach(p ${programs})
  set(exe ${WORK_DIR}/consumer/${p})
  run(${exe})
  if(p MATCHES "malloc")
    set(lib "^libmemoman-malloc\\.so")
  else()
    set(lib "^libmemoman\\.so")
  endif()
  if(p MATCHES "static")
    expect_needed(${exe} NO "^libmemoman")
  else()
    expect_needed(${exe} YES "${lib}\\.0$")
  endif()
endforeach()
message("find_package(memoman): ${programs} built and ran")

# ---- 3. and 4. pkg-config --------------------------------------------------------------------------
find_program(PKG_CONFIG pkg-config)
if(NOT PKG_CONFIG)
  message("pkg-config not found: the .pc files were installed but not tried")
  cmake_language(EXIT 77)
endif()
set(ENV{PKG_CONFIG_PATH} "${libdir}/pkgconfig")

# pkg(<out> args...): pkg-config's answer, as a list of arguments.
function(pkg out)
  execute_process(COMMAND ${PKG_CONFIG} ${ARGN} OUTPUT_VARIABLE flags RESULT_VARIABLE rc
                  ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config ${ARGN} failed: ${err}")
  endif()
  separate_arguments(flags UNIX_COMMAND "${flags}")
  set(${out} "${flags}" PARENT_SCOPE)
endfunction()

separate_arguments(cflags UNIX_COMMAND "${C_FLAGS}")
set(rpath -Wl,-rpath,${libdir})
set(pc_programs memoman:consumer.c memoman-tlsf:tlsf31_program.c)
if(MALLOC)
  list(APPEND pc_programs memoman-malloc:consumer_malloc.c)
  pkg(static_libs --static --libs memoman-malloc)
  if(NOT "-lpthread" IN_LIST static_libs)
    message(FATAL_ERROR "pkg-config --static --libs memoman-malloc lacks -lpthread: ${static_libs}")
  endif()
endif()
foreach(pair ${pc_programs})
  string(REPLACE ":" ";" pair "${pair}")
  list(GET pair 0 pc)
  list(GET pair 1 source)
  pkg(pc_cflags --cflags ${pc})
  pkg(pc_libs --libs ${pc})
  pkg(pc_static --static --libs ${pc})
  set(lib "^lib${pc}\\.so\\.0$")
  if(pc STREQUAL "memoman-tlsf")
    set(lib "^libmemoman\\.so\\.0$")
  endif()
  # Shared: the rpath is what lets it run from this prefix (else LD_LIBRARY_PATH=<libdir>).
  set(exe ${WORK_DIR}/pc_${pc})
  run(${C_COMPILER} ${cflags} ${inst}/${source} -o ${exe} ${pc_cflags} ${pc_libs} ${rpath})
  run(${exe})
  expect_needed(${exe} YES "${lib}")
  # Static: the archive, found by the same -l between -Bstatic and -Bdynamic; no rpath needed.
  set(exe ${WORK_DIR}/pc_${pc}_static)
  run(${C_COMPILER} ${cflags} ${inst}/${source} -o ${exe} ${pc_cflags} -Wl,-Bstatic ${pc_static}
      -Wl,-Bdynamic)
  run(${exe})
  expect_needed(${exe} NO "^libmemoman")
endforeach()

# A C99 program with memoman.h and tlsf.h, with what pkg-config memoman-tlsf gives.
pkg(tlsf_cflags --cflags memoman-tlsf)
foreach(order "" -DMEMOMAN_TLSF_FIRST)
  run(${C_COMPILER} ${cflags} -std=c99 -pedantic -Wall -Wextra -Werror ${order} ${tlsf_cflags}
      -c ${inst}/both_headers_c99.c -o ${WORK_DIR}/both_headers_c99.o)
endforeach()
message("pkg-config: memoman, memoman-tlsf, memoman-malloc shared and static, built and ran")

# SPDX-License-Identifier: MIT
# exports.cmake - libmemoman.so exports the public API and nothing else, under a versioned SONAME.
# The names declared by the public headers (memoman.h and what it includes, memoman/tlsf.h; found as
# cmake/exports.cmake finds them) must equal `nm -D --defined-only` of the library, both ways: a
# declared function missing from the exports, or an exported symbol no header declares (mm_tlsf_*,
# mm_heap_gate, ...), fails. libmemoman-malloc.so, when given, must have a versioned SONAME too.
#   cmake -DLIBRARY=libmemoman.so [-DMALLOC_LIBRARY=libmemoman-malloc.so] -DC_COMPILER=cc
#         -DINCLUDE_DIR=include "-DDEFINITIONS=..." -DSOURCE_DIR=... -P exports.cmake
cmake_minimum_required(VERSION 3.16) # script mode: the policies of this version
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
include(${SOURCE_DIR}/cmake/exports.cmake)

memoman_public_functions(declared "${C_COMPILER}" "${INCLUDE_DIR}" "${DEFINITIONS}")

find_program(NM nm)
if(NOT NM)
  message("nm not found: exports not checked")
  cmake_language(EXIT 77)
endif()
execute_process(COMMAND ${NM} -D --defined-only ${LIBRARY} OUTPUT_VARIABLE text RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nm -D --defined-only ${LIBRARY} failed")
endif()
# Lines are "<address> <type> <name>[@version]"; every defined dynamic symbol counts, data too.
string(REGEX MATCHALL "[0-9a-fA-F]+ [A-Za-z] [^\n]+" lines "${text}")
set(exported "")
foreach(l ${lines})
  string(REGEX REPLACE "^[0-9a-fA-F]+ [A-Za-z] ([^@]+).*$" "\\1" name "${l}")
  list(APPEND exported ${name})
endforeach()
list(SORT exported)

set(missing ${declared})
list(REMOVE_ITEM missing ${exported})
set(extra ${exported})
list(REMOVE_ITEM extra ${declared})
list(LENGTH declared n_declared)
list(LENGTH exported n_exported)
if(missing OR extra)
  message(FATAL_ERROR "libmemoman.so's exports differ from the public headers' functions "
          "(${n_declared} declared, ${n_exported} exported)\n"
          "declared but not exported: ${missing}\nexported but not declared: ${extra}")
endif()
message("exports: the ${n_declared} functions of the public headers, nothing else")

foreach(lib LIBRARY MALLOC_LIBRARY)
  if(${lib})
    soname(so ${${lib}})
    if(NOT so MATCHES "^lib[a-z-]+\\.so\\.[0-9]+$")
      message(FATAL_ERROR "${${lib}}: SONAME '${so}' is not versioned (libNAME.so.MAJOR)")
    endif()
    message("SONAME ${so}")
  endif()
endforeach()

# SPDX-License-Identifier: MIT
# common.cmake - helpers shared by the packaging test scripts of this folder (run with cmake -P).
#   run(cmd...)                  runs a command; fails the test with its output if it fails
#   run_in(dir cmd...)           the same in a working directory
#   needed_libraries(out file)   the DT_NEEDED entries of an ELF file (readelf -d), as a list
#   soname(out file)             its DT_SONAME, or "" if none

function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGV}")
    message(FATAL_ERROR "failed (${rc}): ${cmd}\n${out}\n${err}")
  endif()
endfunction()

function(run_in dir)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY ${dir} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "failed (${rc}) in ${dir}: ${cmd}\n${out}\n${err}")
  endif()
endfunction()

function(dynamic_entries out file kind)
  find_program(READELF readelf)
  if(NOT READELF)
    message("readelf not found: ${file}'s dynamic section not checked")
    set(${out} "" PARENT_SCOPE)
    return()
  endif()
  execute_process(COMMAND ${READELF} -d ${file} OUTPUT_VARIABLE text RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "readelf -d ${file} failed")
  endif()
  string(REGEX MATCHALL "\\(${kind}\\)[^\n]*\\[[^]\n]*\\]" lines "${text}")
  set(result "")
  foreach(l ${lines})
    string(REGEX REPLACE ".*\\[([^]]*)\\]$" "\\1" v "${l}")
    list(APPEND result ${v})
  endforeach()
  set(${out} ${result} PARENT_SCOPE)
endfunction()

function(needed_libraries out file)
  dynamic_entries(r ${file} NEEDED)
  set(${out} ${r} PARENT_SCOPE)
endfunction()

function(soname out file)
  dynamic_entries(r ${file} SONAME)
  set(${out} "${r}" PARENT_SCOPE)
endfunction()

# SPDX-License-Identifier: MIT
# The demo as a user runs it (tests/demo_run.sh): as an ordinary user with the default `ulimit -l`
# of 8 MiB (as root: setpriv to nobody; skipped without setpriv), and with --no-rt --no-lock. Each
# checks the exit status, the summary, the SVG and what the demo says about the options.
if(MEMOMAN_BUILD_EXAMPLES AND TARGET audio_loop AND CMAKE_SYSTEM_NAME STREQUAL "Linux")
  add_test(NAME demo_unprivileged
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/demo_run.sh unprivileged $<TARGET_FILE:audio_loop>)
  add_test(NAME demo_no_rt_no_lock
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/demo_run.sh direct $<TARGET_FILE:audio_loop> --no-rt --no-lock)
  set_tests_properties(demo_unprivileged demo_no_rt_no_lock PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
endif()

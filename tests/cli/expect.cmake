# Runs one `actatlas` command line and checks how it ends: the exit status, the error as
# one line (the last on stderr) matching a pattern, and (optionally) that an output path
# was not created. Unless PROGRESS is set, stderr must be that one line and stdout empty
# (a usage error is answered before any work starts); with PROGRESS, lines the command
# printed while working may come before it.
#   cmake -DCOMMAND="prog;arg;arg" -DEXPECT_RC=2 -DEXPECT_STDERR=regex [-DABSENT=path] [-DPROGRESS=1] -P expect.cmake
if(ABSENT)
  file(REMOVE_RECURSE "${ABSENT}")
endif()
execute_process(COMMAND ${COMMAND} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(STRIP "${err}" err)
if(NOT rc EQUAL EXPECT_RC)
  message(FATAL_ERROR "exit status ${rc}, expected ${EXPECT_RC}; stderr: ${err}")
endif()
string(REGEX REPLACE "^.*\n" "" last_line "${err}")
if(NOT last_line MATCHES "${EXPECT_STDERR}")
  message(FATAL_ERROR "the last line of stderr does not match '${EXPECT_STDERR}': ${err}")
endif()
if(NOT last_line MATCHES "^actatlas[ :]")
  message(FATAL_ERROR "the error line does not start with 'actatlas': ${last_line}")
endif()
if(NOT PROGRESS)
  if(NOT err STREQUAL last_line)
    message(FATAL_ERROR "stderr holds more than the error line:\n${err}")
  endif()
  if(NOT out STREQUAL "")
    message(FATAL_ERROR "stdout is not empty:\n${out}")
  endif()
endif()
if(ABSENT AND EXISTS "${ABSENT}")
  message(FATAL_ERROR "${ABSENT} was written although the command failed")
endif()
message(STATUS "ok: ${last_line}")

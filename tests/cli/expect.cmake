# Runs one `actatlas` command line and checks how it ends: the exit status, the error as
# one line (the last on stderr; progress lines may come before it) matching a pattern, and
# (optionally) that an output path was not created.
#   cmake -DCOMMAND="prog;arg;arg" -DEXPECT_RC=2 -DEXPECT_STDERR=regex [-DABSENT=path] -P expect.cmake
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
if(ABSENT AND EXISTS "${ABSENT}")
  message(FATAL_ERROR "${ABSENT} was written although the command failed")
endif()
message(STATUS "ok: ${last_line}")

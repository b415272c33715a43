# Runs EXE SUITE and checks its exit status (EXPECT) and output (REGEX):
#   cmake -DEXE=relabel_tests -DSUITE=topk_cpu -DEXPECT=77 -DREGEX=... -P expect_exit.cmake
execute_process(COMMAND ${EXE} ${SUITE} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
message("${out}")
if(NOT rc EQUAL EXPECT)
  message(FATAL_ERROR "${EXE} ${SUITE}: exit ${rc}, expected ${EXPECT}")
endif()
if(NOT out MATCHES "${REGEX}")
  message(FATAL_ERROR "${EXE} ${SUITE}: the output does not match '${REGEX}'")
endif()

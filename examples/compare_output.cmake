# Runs CMD with ARGS and fails unless its standard output equals the
# contents of EXPECT and it exits 0. Used by art_example_output_test.
separate_arguments(args UNIX_COMMAND "${ARGS}")
execute_process(COMMAND ${CMD} ${args} OUTPUT_VARIABLE out RESULT_VARIABLE rc
  TIMEOUT 50)
file(READ ${EXPECT} want)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${CMD} exited with ${rc}; output:\n${out}")
endif()
if(NOT out STREQUAL want)
  message(FATAL_ERROR "output differs.\n--- expected\n${want}\n--- got\n${out}")
endif()

# The timers example: a self-stopping interval, a cleared timeout and an
# unreferenced timer, compared line by line with the expected output.
art_example_output_test(NAME examples.timers
  EXPECT ${CMAKE_CURRENT_SOURCE_DIR}/expected/timers.txt)

# The event-order demo must print Node's order exactly.
art_example_output_test(NAME examples.event_order
  EXPECT ${CMAKE_CURRENT_SOURCE_DIR}/expected/event_order.txt)

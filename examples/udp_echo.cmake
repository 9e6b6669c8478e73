# Server and client in one loop on 127.0.0.1: five datagrams, five echoes,
# in order.
art_example_output_test(NAME examples.udp_echo
  EXPECT ${CMAKE_CURRENT_SOURCE_DIR}/expected/udp_echo.txt)

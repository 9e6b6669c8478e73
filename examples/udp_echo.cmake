# Server and client in one loop on 127.0.0.1: five datagrams, five echoes,
# in order.
art_example_output_test(NAME examples.udp_echo
  EXPECT ${CMAKE_CURRENT_SOURCE_DIR}/expected/udp_echo.txt)

# The server against a foreign client: socat (skipped if not installed).
add_test(NAME examples.udp_echo_socat
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/udp_echo_socat.sh
  $<TARGET_FILE:${EXAMPLE}>)
set_tests_properties(examples.udp_echo_socat PROPERTIES
  TIMEOUT 30 SKIP_RETURN_CODE 77 LABELS "examples")

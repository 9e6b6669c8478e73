# Resolves localhost (from /etc/hosts) and a numeric address, IPv4 only so
# that the output does not depend on whether the host lists ::1.
art_example_output_test(NAME examples.dns_lookup
  COMMAND "-4 localhost 127.0.0.1"
  EXPECT ${CMAKE_CURRENT_SOURCE_DIR}/expected/dns_lookup.txt)

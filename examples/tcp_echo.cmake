# tcp_echo: server and clients in one process on an ephemeral port, and the
# server and client modes as two processes talking over loopback (the server
# writes its port to a file and exits after the client's connection ends).
art_example_output_test(NAME examples.tcp_echo_self_test COMMAND --self-test
  EXPECT ${CMAKE_CURRENT_SOURCE_DIR}/expected/tcp_echo_self_test.txt)
add_test(NAME examples.tcp_echo_two_processes COMMAND sh -c [=[
  exe="$0"; dir=$(mktemp -d) || exit 1
  "$exe" server 0 --port-file "$dir/port" --connections 1 > "$dir/log" &
  pid=$!
  i=0; while [ ! -s "$dir/port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
  "$exe" client 127.0.0.1 "$(cat "$dir/port")" 500; rc=$?
  wait $pid; src=$?
  rm -rf "$dir"
  [ $rc -eq 0 ] && [ $src -eq 0 ]
]=] $<TARGET_FILE:${EXAMPLE}>)
set_tests_properties(examples.tcp_echo_two_processes PROPERTIES TIMEOUT 60
  LABELS examples)

# The self-test: the example connects to itself, sends itself SIGTERM, and
# checks that new connections are refused while the open one is served.
add_test(NAME examples.graceful_shutdown COMMAND ${EXAMPLE} --self-test)
# From outside: start the server, wait until it listens, SIGINT then must
# make it exit 0 on its own.
add_test(NAME examples.graceful_shutdown_sigint COMMAND sh -c "
  f=$(mktemp /tmp/art-graceful-XXXXXX)
  trap 'rm -f \"$f\"' EXIT
  \"$0\" 0 > \"$f\" &
  pid=$!
  for i in $(seq 100); do grep -q '^listening' \"$f\" && break; sleep 0.05; done
  kill -INT $pid
  wait $pid || { echo \"exit status $?\"; cat \"$f\"; exit 1; }
  cat \"$f\"
  grep -q '^received SIGINT, closing the server' \"$f\"
" $<TARGET_FILE:${EXAMPLE}>)
set_tests_properties(examples.graceful_shutdown
  examples.graceful_shutdown_sigint PROPERTIES TIMEOUT 60 LABELS "examples")

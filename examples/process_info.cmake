# Prints the process's figures; checks that each line is there and exit 0.
add_test(NAME examples.process_info COMMAND sh -c "
  set -e
  out=$(\"$0\")
  echo \"$out\"
  echo \"$out\" | grep -q '^memoryUsage()      { rss: [1-9][0-9]* }$'
  echo \"$out\" | grep -q '^cpuUsage(previous) { user: [0-9]*, system: [0-9]* }$'
  echo \"$out\" | grep -q '^uptime()           [0-9.]* s$'
  echo \"$out\" | grep -q '^execPath .*process_info$'
  echo \"$out\" | grep -q '^cpu 0: '
" $<TARGET_FILE:${EXAMPLE}>)
set_tests_properties(examples.process_info PROPERTIES TIMEOUT 60 LABELS "examples")

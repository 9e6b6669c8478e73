# Eight Fibonacci jobs on a 4-thread default pool while a timer ticks: the
# program must finish on its own, exit 0 and print the timer and pool
# statistics lines. The script checks both (a PASS_REGULAR_EXPRESSION alone
# would make ctest ignore the exit status, e.g. a leak reported by ASan).
add_test(NAME examples.threadpool COMMAND sh -c "
  set -e
  out=$(\"$0\" 8 30)
  printf '%s\\n' \"$out\"
  printf '%s\\n' \"$out\" | grep -Eq '^timer: [0-9]+ ticks'
  printf '%s\\n' \"$out\" | grep -Eq \\
    '^pool: threads=4 completed=8 canceled=0 queue_wait=[0-9.]+ms run=[0-9.]+ms'
" $<TARGET_FILE:${EXAMPLE}>)
set_tests_properties(examples.threadpool PROPERTIES
  TIMEOUT 60 LABELS "examples"
  ENVIRONMENT "ART_THREADPOOL_SIZE=4")

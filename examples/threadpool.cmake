# Eight Fibonacci jobs on a 4-thread default pool while a timer ticks: the
# program must finish on its own and print the pool statistics line.
add_test(NAME examples.threadpool COMMAND ${EXAMPLE} 8 30)
set_tests_properties(examples.threadpool PROPERTIES
  TIMEOUT 60 LABELS "examples"
  ENVIRONMENT "ART_THREADPOOL_SIZE=4"
  PASS_REGULAR_EXPRESSION "timer: [0-9]+ ticks.*pool: threads=4 completed=8 canceled=0 queue_wait=[0-9.]+ms run=[0-9.]+ms")

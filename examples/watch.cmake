# Watches a fresh folder, makes, changes, renames and removes files (one in
# a subfolder made after the watch started), and checks what watch printed.
# --count makes it stop by itself; a second run is stopped with SIGINT.
add_test(NAME examples.watch COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/watch_smoke.sh
  $<TARGET_FILE:${EXAMPLE}>)
set_tests_properties(examples.watch PROPERTIES TIMEOUT 60 LABELS "examples")

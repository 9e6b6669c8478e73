# Upper-cases a 64 MiB file of base64 text in 64 KiB chunks and compares
# the result with tr's.
add_test(NAME examples.file_transform COMMAND sh -c "
  set -e
  d=$(mktemp -d /tmp/art-transform-XXXXXX)
  trap 'rm -rf \"$d\"' EXIT
  head -c 50331648 /dev/urandom | base64 -w 100 > \"$d/in\"
  \"$0\" \"$d/in\" \"$d/out\"
  tr a-z A-Z < \"$d/in\" > \"$d/expect\"
  cmp \"$d/out\" \"$d/expect\"
  ! \"$0\" \"$d/none\" \"$d/out2\" 2>/dev/null
" $<TARGET_FILE:${EXAMPLE}>)
set_tests_properties(examples.file_transform PROPERTIES
  TIMEOUT 120 LABELS "examples"
  PASS_REGULAR_EXPRESSION "[0-9]+ bytes in [0-9.]+ s")

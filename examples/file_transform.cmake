# Upper-cases a 64 MiB file of base64 text in 64 KiB chunks, compares the
# result with tr's, and checks that memory stays constant: the example's max
# RSS (it prints "max RSS <n> KiB") must stay far below the file size.
# Measured: about 2 MiB in a plain build, 10 MiB under ASan, 19 MiB under
# TSan (its shadow memory), so the bound is 24 MiB, and 40 MiB under TSan;
# buffering the file would need more than 64 MiB in every build.
if(ART_SANITIZE STREQUAL "thread")
  set(art_rss_limit_kib 40960)
else()
  set(art_rss_limit_kib 24576)
endif()
add_test(NAME examples.file_transform COMMAND sh -c "
  set -e
  d=$(mktemp -d /tmp/art-transform-XXXXXX)
  trap 'rm -rf \"$d\"' EXIT
  head -c 50331648 /dev/urandom | base64 -w 100 > \"$d/in\"
  \"$0\" \"$d/in\" \"$d/out\" > \"$d/report\"
  cat \"$d/report\"
  tr a-z A-Z < \"$d/in\" > \"$d/expect\"
  cmp \"$d/out\" \"$d/expect\"
  ! \"$0\" \"$d/none\" \"$d/out2\" 2>/dev/null
  rss=$(sed -n 's/.*max RSS \\([0-9][0-9]*\\) KiB.*/\\1/p' \"$d/report\")
  grep -Eq '^[0-9]+ bytes in [0-9.]+ s' \"$d/report\"
  test -n \"$rss\"
  if [ \"$rss\" -gt \"$1\" ]; then
    echo \"max RSS $rss KiB exceeds $1 KiB: memory grows with the file\" >&2
    exit 1
  fi
" $<TARGET_FILE:${EXAMPLE}> ${art_rss_limit_kib})
# No PASS_REGULAR_EXPRESSION: it would make ctest ignore the exit status, so
# a failed cmp or RSS bound would pass; the script checks the report itself.
set_tests_properties(examples.file_transform PROPERTIES
  TIMEOUT 120 LABELS "examples")

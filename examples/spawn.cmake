# Lists an empty temporary directory, so that the output is fixed; ls's
# stderr is empty. Checks the streamed lines, the exit code, the execFile
# capture and the ENOENT of a missing program.
add_test(NAME examples.spawn COMMAND sh -c "
  set -e
  d=$(mktemp -d /tmp/art-spawn-XXXXXX)
  trap 'rm -rf \"$d\"' EXIT
  out=$(\"$0\" \"$d\")
  echo \"$out\"
  echo \"$out\" | grep -q '^spawned ls, pid [0-9]'
  echo \"$out\" | grep -q '^stdout: total [0-9]'
  echo \"$out\" | grep -q '^child exited with code 0$'
  echo \"$out\" | grep -q '^execFile: status ok, exit code 0$'
  echo \"$out\" | grep -qx \"execFile stdout: $d\"
  echo \"$out\" | grep -q '^spawn no-such-program: ENOENT$'
  \"$0\" /nonexistent-dir 2>&1 | grep -q '^child exited with code 2$'
" $<TARGET_FILE:${EXAMPLE}>)
set_tests_properties(examples.spawn PROPERTIES TIMEOUT 60 LABELS "examples")

# pipe_copy: 6 MiB of pseudo-random bytes through standard input as a pipe,
# as a regular file, and through a Unix socket to a second process; each copy
# must equal the input byte for byte.
add_test(NAME examples.pipe_copy COMMAND sh -c [=[
  exe="$0"; dir=$(mktemp -d) || exit 1
  trap 'rm -rf "$dir"' EXIT
  head -c 6291456 /dev/urandom > "$dir/in" || exit 1
  cat "$dir/in" | "$exe" "$dir/out1" || exit 1
  cmp "$dir/in" "$dir/out1" || exit 1
  "$exe" "$dir/out2" < "$dir/in" || exit 1
  cmp "$dir/in" "$dir/out2" || exit 1
  "$exe" --listen "$dir/sock" "$dir/out3" & pid=$!
  i=0; while [ ! -S "$dir/sock" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
  cat "$dir/in" | "$exe" "unix:$dir/sock" || exit 1
  wait $pid || exit 1
  cmp "$dir/in" "$dir/out3"
]=] $<TARGET_FILE:${EXAMPLE}>)
set_tests_properties(examples.pipe_copy PROPERTIES TIMEOUT 60 LABELS examples)

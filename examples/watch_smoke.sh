#!/bin/sh
# Smoke test of examples/watch.c (see watch.cmake). $1: the program.
set -e
prog=$1
d=$(mktemp -d /tmp/art-watch-XXXXXX)
trap 'rm -rf "$d"' EXIT
mkdir "$d/w"

# Waits until file $1 contains line $2 (up to 10 s).
wait_line() {
  i=0
  while ! grep -qx "$2" "$1" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 200 ]; then
      echo "missing '$2' in $1:"; cat "$1"; exit 1
    fi
    sleep 0.05
  done
}

"$prog" --recursive --count 6 "$d/w" > "$d/out" &
pid=$!
wait_line "$d/out" "watching $d/w"
printf hello > "$d/w/a.txt"
wait_line "$d/out" "change a.txt"
mv "$d/w/a.txt" "$d/w/b.txt"
wait_line "$d/out" "rename b.txt"
mkdir "$d/w/sub"
wait_line "$d/out" "rename sub"
rm "$d/w/b.txt"
wait "$pid" # six events: the program stops by itself
grep -qx "rename a.txt" "$d/out"

# Stopped with SIGINT: ends cleanly with status 0.
"$prog" "$d/w" > "$d/out2" &
pid=$!
wait_line "$d/out2" "watching $d/w"
kill -INT "$pid"
wait "$pid"
grep -qx "interrupted" "$d/out2"
echo "watch smoke test passed"

#!/bin/sh
# Counts the system calls the cluster example makes per connection, the
# primary and its workers together: strace -c -f on all of them while curl
# makes N connections one after another (a deterministic cost, where the
# rates of rate.py depend on the machine's load).
#
# Usage: syscalls.sh SERVER MODE [N]     (needs strace and curl)
set -e
srv=$1 mode=$2 n=${3:-200}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$srv" --workers 2 --mode "$mode" --port 0 --port-file "$dir/port" \
  >/dev/null 2>&1 &
spid=$!
i=0
while [ ! -s "$dir/port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
port=$(cat "$dir/port")
set -- -p "$spid"
for w in $(pgrep -P "$spid"); do set -- "$@" -p "$w"; done
strace -c -f -o "$dir/count" "$@" 2>/dev/null &
st=$!
sleep 0.5
i=0
while [ $i -lt "$n" ]; do
  curl -s -o /dev/null "http://127.0.0.1:$port/"
  i=$((i + 1))
done
sleep 0.3
kill -INT $st
wait $st || true
kill -TERM $spid
wait $spid
cat "$dir/count"
awk -v n="$n" -v mode="$mode" '$NF == "total" {
  printf "%s: %.1f system calls per connection\n", mode, $4 / n }' \
  "$dir/count"

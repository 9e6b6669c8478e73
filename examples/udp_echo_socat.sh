#!/bin/sh
# Runs "udp_echo server" and talks to it with socat, a client that shares no
# code with libasyncrt. Exits 77 (skipped) when socat is not installed.
exe=$1
command -v socat >/dev/null 2>&1 || exit 77
dir=$(mktemp -d) || exit 1
"$exe" server 0 >"$dir/out" &
pid=$!
port=
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
  port=$(sed -n 's/^listening on port //p' "$dir/out")
  [ -n "$port" ] && break
  sleep 0.1
done
reply=
if [ -n "$port" ]; then
  reply=$(printf 'ping from socat' | socat -t 1 - "UDP:127.0.0.1:$port")
fi
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
rm -rf "$dir"
if [ "$reply" != "ping from socat" ]; then
  echo "expected the echo of 'ping from socat', got '$reply' (port '$port')"
  exit 1
fi
echo "socat got its echo on port $port"

#!/usr/bin/env bash
# The HTTP example on several cores: GET /api/fast under wrk with 1, 2, ...
# workers in each --cluster mode, and how 100 new connections spread over
# the workers.
#
#   test/bench/scaling.sh [WORKERS...]      (default: 1 2)
#
# Environment: BUILD (default build/bench; built with -O2 if the server is
# missing), MODES (default: every mode the server's --help names),
# DURATION (s per run, default 5), ROUNDS (default 3), CONNS (wrk's
# connections, default 100), SPREAD (connections counted, default 100).
#
# wrk runs on the same cores as the server, so requests per second measure
# the machine as much as the server: the comparable figure is the server's
# CPU time per request (every thread and every worker process, from
# /proc), in microseconds. The spread is how many of SPREAD new
# connections each worker answered (/api/stats says which), with the
# largest share over the fair one (1.00: perfectly even).
set -euo pipefail
cd "$(dirname "$0")/../.."

build=${BUILD:-build/bench}
duration=${DURATION:-5}
rounds=${ROUNDS:-3}
conns=${CONNS:-100}
spread_n=${SPREAD:-100}
counts=("$@")
[ ${#counts[@]} -eq 0 ] && counts=(1 2)

if ! command -v wrk >/dev/null; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get install -y -qq wrk >/dev/null
fi
if [ ! -x "$build/examples/http/server" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release \
    "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG" -DART_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build" -j2 --target http_server >/dev/null
fi
server="$build/examples/http/server"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

if [ -z "${MODES:-}" ]; then
  MODES=""
  for m in threads reuseport roundrobin; do
    "$server" --help | grep -q "$m" && MODES="$MODES $m"
  done
fi

pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; }
trap cleanup EXIT

# start MODE N: the server on a free port; sets pid and port.
start() {
  local out
  out=$(mktemp)
  "$server" 0 --max-conns 20000 --workers "$2" --cluster "$1" >"$out" &
  pid=$!
  for _ in $(seq 200); do
    grep -q 'listening on' "$out" && break
    sleep 0.05
  done
  port=$(grep -o 'listening on http://[^ ]*' "$out" | sed 's/.*://')
  rm -f "$out"
  [ -n "$port" ] || { echo "scaling.sh: the server did not start" >&2; exit 1; }
}

stop() {
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=""
}

# CPU ticks of the server: its threads, and every process below it.
cpu_ticks() {
  local total=0 p
  for p in $pid $(pgrep -P "$pid" || true); do
    [ -r "/proc/$p/stat" ] || continue
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$total"
}

# One wrk run: prints "requests_per_s cpu_us_per_request".
measure() {
  local c0 c1 out reqs hz
  hz=$(getconf CLK_TCK)
  wrk -t1 -c"$conns" -d1s "http://127.0.0.1:$port/api/fast" >/dev/null
  c0=$(cpu_ticks)
  out=$(wrk -t1 -c"$conns" -d"${duration}s" "http://127.0.0.1:$port/api/fast")
  c1=$(cpu_ticks)
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  awk -v r="$reqs" -v d="$duration" -v t=$((c1 - c0)) -v hz="$hz" \
    'BEGIN { printf "%.0f %.2f\n", r / d, t / hz * 1e6 / r }'
}

# How SPREAD new connections land: "w0 w1 ... max/fair".
spread() {
  python3 - "$port" "$spread_n" "$1" <<'EOF'
import json, socket, sys
port, n, workers = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
seen = [0] * workers
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /api/stats HTTP/1.1\r\nHost: s\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    body = data.split(b"\r\n\r\n", 1)[1]
    seen[json.loads(body)["worker"]] += 1
print(" ".join(map(str, seen)), "%.2f" % (max(seen) / (n / workers)))
EOF
}

median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

printf '%-11s %7s %12s %14s   %s\n' mode workers "req/s" "CPU us/req" \
  "spread of $spread_n connections (max/fair)"
for mode in $MODES; do
  for n in "${counts[@]}"; do
    rps=() cpu=()
    for _ in $(seq "$rounds"); do
      start "$mode" "$n"
      read -r r c < <(measure)
      rps+=("$r") cpu+=("$c")
      stop
    done
    start "$mode" "$n"
    s=$(spread "$n")
    stop
    printf '%-11s %7s %12s %14s   %s\n' "$mode" "$n" \
      "$(printf '%s\n' "${rps[@]}" | median)" \
      "$(printf '%s\n' "${cpu[@]}" | median)" "$s"
  done
done

#!/usr/bin/env bash
# GET /api/fast under wrk: examples/http/server against Node.js's http module
# serving the same JSON (test/bench/http_node.js), in the same run, on
# loopback, keep-alive.
#
#   test/bench/http_wrk.sh [BUILD_DIR]     (default build/bench; built
#                                           with -O2 if the server is missing)
#
#   SERVERS="asyncrt-io_uring asyncrt-epoll" BIG_CONNS=0 test/bench/http_wrk.sh
#                                          the server on two backends
#
#   SERVERS="asyncrt-io_uring asyncrt-io_uring@../old/build/report" \
#     BIG_CONNS=0 test/bench/http_wrk.sh build/report
#                                          one backend, two builds
#
# Environment: SERVERS (two of asyncrt, asyncrt-BACKEND with BACKEND
# epoll, poll or io_uring, and node; an asyncrt name may end in @DIR to
# run DIR's server instead of BUILD_DIR's; default "asyncrt node": the
# ratios are the first's over the second's), DURATION (s per run, default
# 10),
# ROUNDS (default 3),
# CONNS (default 100), BIG_CONNS (default 10000; 0 skips that part),
# WARMUP (s of unmeasured load before each run, default 2),
# PIN=split to pin each server to CPU 0 and wrk to CPU 1 (default: the
# scheduler places them).
#
# Each round runs both servers one after the other (A B A B...); the figures
# are the medians. RSS is read from /proc three quarters into the load.
# Then RSS with CONNS and with BIG_CONNS connections, divided by the
# connections the server really had established (ss) at that moment.
set -euo pipefail
cd "$(dirname "$0")/../.."

build=${1:-build/bench}
duration=${DURATION:-10}
rounds=${ROUNDS:-3}
conns=${CONNS:-100}
big_conns=${BIG_CONNS:-10000}
warmup=${WARMUP:-2}
read -r -a servers <<<"${SERVERS:-asyncrt node}"
[ "${#servers[@]}" -eq 2 ] || { echo "http_wrk.sh: SERVERS names two" >&2; exit 2; }
srv_cpu=() wrk_cpu=()
if [ "${PIN:-}" = split ]; then
  srv_cpu=(taskset -c 0) wrk_cpu=(taskset -c 1)
fi

if ! command -v wrk >/dev/null; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get install -y -qq wrk >/dev/null
fi
case " ${servers[*]} " in
*" node "*) command -v node >/dev/null ||
  { echo "http_wrk.sh: node is needed" >&2; exit 1; } ;;
esac
if [ ! -x "$build/examples/http/server" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release \
    "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG" -DART_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build" -j2 --target http_server >/dev/null
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; }
trap cleanup EXIT

# start NAME: starts one server on a free port, sets pid and port.
start() {
  local out
  out=$(mktemp)
  if [ "${1%%-*}" = asyncrt ] || [ "${1%%@*}" = asyncrt ]; then
    local name=${1%%@*} dir=$build
    [ "$name" != "$1" ] && dir=${1#*@}
    local backend=${name#asyncrt}
    ART_BACKEND=${backend#-} "${srv_cpu[@]}" "$dir/examples/http/server" 0 \
      --max-conns 20000 >"$out" &
  else
    "${srv_cpu[@]}" node test/bench/http_node.js 0 >"$out" &
  fi
  pid=$!
  for _ in $(seq 100); do
    grep -q 'listening on' "$out" && break
    sleep 0.05
  done
  port=$(grep -o 'listening on http://[^ ]*' "$out" | sed 's/.*://')
  rm -f "$out"
}

stop() {
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=""
}

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }

# CPU time the server used so far (user + system, all threads), in clock
# ticks: on a shared machine, CPU per request is steadier than req/s.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }

# to_ms VALUE: wrk's "1.23ms", "850.00us", "1.02s" in ms.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); print v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); print v + 0 }
    else if (v ~ /s$/) { sub(/s$/, "", v); print v * 1000 } }'
}

# run NAME CONNS SECONDS: one wrk run; prints "req/s p50 p99 rss_kb
# cpu_us_per_request established": RSS and the server's established
# connections are sampled three quarters into the run.
run() {
  local out rss cpu0 cpu1 est
  start "$1"
  out=$(mktemp)
  if [ "$warmup" -gt 0 ]; then # JIT and caches warm, not measured
    "${wrk_cpu[@]}" wrk -t2 -c"$2" -d"$warmup"s \
      "http://127.0.0.1:$port/api/fast" >/dev/null
  fi
  cpu0=$(cpu_ticks)
  "${wrk_cpu[@]}" wrk -t2 -c"$2" -d"$3"s --latency \
    "http://127.0.0.1:$port/api/fast" >"$out" &
  local wrk_pid=$!
  sleep "$(calc "$3 * 3 / 4")"
  rss=$(rss_kb)
  est=$(ss -Htn state established "( sport = :$port )" | wc -l)
  wait $wrk_pid
  cpu1=$(cpu_ticks)
  echo "$(awk '/Requests\/sec/ {print $2}' "$out")" \
    "$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")" \
    "$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")" "$rss" \
    "$(awk -v t=$((cpu1 - cpu0)) -v hz="$(getconf CLK_TCK)" \
      '/requests in/ {printf "%.2f", t / hz * 1e6 / $1}' "$out")" "$est"
  grep -q 'Socket errors' "$out" && grep 'Socket errors' "$out" >&2
  rm -f "$out"
  stop
}

calc() { awk "BEGIN {print $1}"; }

median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

declare -A res
for r in $(seq "$rounds"); do
  for s in "${servers[@]}"; do
    line=$(run "$s" "$conns" "$duration")
    echo "round $r $s: req/s p50_ms p99_ms rss_kb cpu_us/req = $line"
    res[$s]+="$line"$'\n'
  done
done

echo
echo "wrk -t2 -c$conns -d${duration}s --latency http://127.0.0.1:PORT/api/fast" \
  "(PIN=${PIN:-none}), medians of $rounds:"
printf '%-10s %12s %10s %10s %10s %12s\n' server req/s p50_ms p99_ms \
  rss_MiB cpu_us/req
declare -A rps p99 cpu
for s in "${servers[@]}"; do
  col() { printf '%s' "${res[$s]}" | awk -v c="$1" 'NF {print $c}' | median; }
  printf '%-18s %12.0f %10.3f %10.3f %10.1f %12.2f\n' "$s" "$(col 1)" \
    "$(col 2)" "$(col 3)" "$(calc "$(col 4) / 1024")" "$(col 5)"
  rps[$s]=$(col 1) p99[$s]=$(col 3) cpu[$s]=$(col 5)
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
a=${servers[0]} b=${servers[1]}
echo "$a/$b: req/s x$(ratio "${rps[$a]}" "${rps[$b]}")," \
  "p99 x$(ratio "${p99[$a]}" "${p99[$b]}")," \
  "server CPU per request x$(ratio "${cpu[$a]}" "${cpu[$b]}")"

if [ "$big_conns" -gt 0 ]; then
  echo
  echo "RSS growth with connections (wrk -t2 -c$conns, then -c$big_conns," \
    "8 s each; RSS and established connections sampled at 6 s):"
  printf '%-10s %16s %16s %10s\n' server "rss@$conns" "rss@$big_conns" \
    "KiB/conn"
  for s in "${servers[@]}"; do
    read -r _ _ _ small _ nsmall < <(run "$s" "$conns" 8)
    read -r _ _ _ big _ nbig < <(run "$s" "$big_conns" 8)
    printf '%-10s %9.1f MiB/%-5s %9.1f MiB/%-5s %10.2f\n' "$s" \
      "$(calc "$small / 1024")" "$nsmall" \
      "$(calc "$big / 1024")" "$nbig" \
      "$(calc "($big - $small) / ($nbig - $nsmall)")"
  done
fi

#!/usr/bin/env bash
# Instructions per operation under callgrind, which counts the same on a
# loaded machine as on a quiet one. Each workload runs twice with different
# counts; the difference divided by the difference in operations removes
# start-up and tear-down, leaving the cost of one more operation.
#
#   test/bench/callgrind_per_op.sh <bench dir> [<bench dir> ...]
#
# A bench dir is a Release build's test/bench/ (bench_tcp_ping_pong and
# bench_timers). With two dirs (before and after a change) the ratios show
# what the change cost.
set -euo pipefail
command -v valgrind >/dev/null || { echo "valgrind is needed" >&2; exit 2; }

instr() { # instr <cmd...>: total instructions of the run
  local out
  out=$(mktemp)
  BENCH_ROUNDS=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    "$@" >/dev/null 2>"$out" || { cat "$out" >&2; rm -f "$out"; exit 1; }
  grep -o 'Collected : [0-9]*' "$out" | grep -o '[0-9]*$'
  rm -f "$out"
}

per_op() { # per_op <n1> <n2> <cmd1...> -- <cmd2...>
  local n1=$1 n2=$2
  shift 2
  local a=() b=()
  while [ "$1" != "--" ]; do a+=("$1"); shift; done
  shift
  b=("$@")
  local i1 i2
  i1=$(instr "${a[@]}")
  i2=$(instr "${b[@]}")
  echo $(((i2 - i1) / (n2 - n1)))
}

printf '%-44s %s\n' "build" "instructions per op"
for dir in "$@"; do
  pp=$(per_op 10000 20000 "$dir/bench_tcp_ping_pong" art 10000 -- \
    "$dir/bench_tcp_ping_pong" art 20000)
  tm=$(per_op 100000 200000 "$dir/bench_timers" art 100000 0 -- \
    "$dir/bench_timers" art 200000 0)
  printf '%-44s tcp_ping_pong round trip: %s; timer armed and fired: %s\n' \
    "$dir" "$pp" "$tm"
done

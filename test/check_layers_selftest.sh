#!/usr/bin/env bash
# Proves that test/check_layers.py fails when it should: a copy of src/ in
# which the core includes an area, an area calls up, two files call each
# other, or a callback skips the path must each be refused, and the
# untouched copy passed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fresh() {
  rm -rf "$tmp/src"
  cp -r "$root/src" "$tmp/src"
}

expect_fail() {
  local what=$1
  if python3 "$here/check_layers.py" "$tmp" >"$tmp/out" 2>&1; then
    echo "check_layers accepted: $what" >&2
    cat "$tmp/out" >&2
    exit 1
  fi
  grep -q "$2" "$tmp/out" || {
    echo "check_layers refused $what without saying '$2'" >&2
    cat "$tmp/out" >&2
    exit 1
  }
}

fresh
python3 "$here/check_layers.py" "$tmp" >/dev/null

fresh # the core names an area
printf '#include "pool/pool.h"\n' >>"$tmp/src/timer.c"
expect_fail "core including the pool" "a layer up"

fresh # a backend calls the core
printf 'static void up(void) { art__run_timers(0); }\n' >>"$tmp/src/backend/poll.c"
expect_fail "a backend calling the core" "a layer up"

fresh # two sibling areas
printf 'static void side(void) { art__work_cancel(0); art_fs_stat(0, 0, 0, 0); }\n' \
  >>"$tmp/src/net/tcp.c"
expect_fail "net calling fs" "sibling area"

fresh # two files of one layer call each other
printf 'static void back(void) { art_udp_recv_stop(0); }\n' >>"$tmp/src/net/udp_sock.c"
expect_fail "a circle in net" "circle"

fresh # a callback that skips the path
printf 'static void skip(art_loop_t *l) { art__callback_done(l); }\n' \
  >>"$tmp/src/timer.c"
expect_fail "a drain outside ART__CALLBACK" "ART__CALLBACK"
echo "check_layers_selftest: every violation refused"

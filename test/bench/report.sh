#!/usr/bin/env bash
# Regenerates docs/performance.md's summary table and docs/perf/*.svg from a
# fresh Release build measured against libuv in the same run (see
# test/bench/report.py for what runs and how it is drawn).
#
#   test/bench/report.sh [--quick] [--only bench_a,bench_b] [--rounds N]
#
# Installs libuv1-dev when missing (benchmarks only; the library never links
# it). A full run takes about 10 minutes on 2 cores; --quick about one.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! pkg-config --exists libuv 2>/dev/null; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get install -y -qq libuv1-dev >/dev/null
fi
cmake -S . -B build/report -DCMAKE_BUILD_TYPE=Release -DART_BUILD_BENCH=ON \
  -DART_BUILD_TESTS=OFF -DART_BUILD_EXAMPLES=ON >/dev/null
cmake --build build/report -j2 >/dev/null
exec python3 test/bench/report.py --build build/report "$@"

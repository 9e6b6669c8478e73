#!/usr/bin/env bash
# The one test command: installs what a fresh Debian/Ubuntu machine lacks,
# then builds and runs every suite three ways:
#   1. a normal build, against the epoll, poll(2) and io_uring backends;
#   2. AddressSanitizer + UndefinedBehaviorSanitizer (leak detection on),
#      against the three backends;
#   3. ThreadSanitizer, every suite on epoll, and the threaded ones (label
#      "threads") again on io_uring.
# Where the kernel refuses io_uring (Docker's default seccomp profile does)
# the io_uring passes are skipped with a note; the loops would fall back to
# epoll, which test_backend_uring.c covers.
# Before building, test/check_layers.py checks the layer rule of
# docs/design.md.
# Usage: test/run.sh [plain|asan|tsan]...   (default: all three)
#        test/run.sh deps   (only install what is missing)
#        test/run.sh stress (only when asked, never by default: the stress
#          programs of test/stress/README.md, built in build/stress as a
#          Release build with ART_BUILD_STRESS=ON, each run once at full
#          size with its own watchdog: a soak of 10,000 echo connections,
#          a server out of fds, an allocation-failure sweep, a soak under a
#          syscall-failure shim, attacks on the example HTTP server. About
#          two minutes; each prints key=value figures.)
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v cmake >/dev/null || need+=(cmake)
command -v cc >/dev/null || need+=(gcc)
# The abi.header_cxx11.* tests compile every public header as C++.
command -v c++ >/dev/null || need+=(g++)
command -v make >/dev/null || need+=(make)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v python3 >/dev/null || need+=(python3)
if ! pkg-config --exists cmocka 2>/dev/null; then need+=(libcmocka-dev); fi
# The conformance pairs (test/conformance/) and the HTTP parser's differential
# test compare with Node.js; without node they are skipped, not failed.
command -v node >/dev/null || need+=(nodejs)
# The example's dashboard test renders its page in headless Chromium.
command -v chromium >/dev/null || need+=(chromium)
# http.e2e_metrics_promtool checks /metrics with promtool (skipped without).
command -v promtool >/dev/null || need+=(prometheus)
# http.e2e_activated starts the example under systemd-socket-activate
# (skipped without it).
command -v systemd-socket-activate >/dev/null || need+=(systemd)
# docs.deploy reads docs/deploy.md's Kubernetes manifest with PyYAML.
python3 -c 'import yaml' 2>/dev/null || need+=(python3-yaml)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  echo "test/run.sh: installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

jobs=$(nproc)
modes=("$@")
if [ "${modes[*]}" = deps ]; then
  exit 0
fi
[ ${#modes[@]} -eq 0 ] && modes=(plain asan tsan)
fuzz_wanted=0

# The layers of docs/design.md: no file of src/ reaches up a layer, no two
# files call each other, every callback takes the one callback path.
python3 test/check_layers.py

build() {
  local dir=$1
  shift
  # Warnings fail the project's own builds; for a consumer they stay warnings.
  cmake -S . -B "$dir" -DART_BUILD_TESTS=ON -DART_BUILD_EXAMPLES=ON \
    -DART_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs" >/dev/null
}

# The stress programs, one after the other; every one runs even when an
# earlier one failed, and the mode fails if any did.
run_stress() {
  local dir=build/stress/test/stress failed=0
  cmake -S . -B build/stress -DCMAKE_BUILD_TYPE=Release -DART_BUILD_TESTS=OFF \
    -DART_BUILD_EXAMPLES=ON -DART_BUILD_STRESS=ON -DART_WERROR=ON >/dev/null
  cmake --build build/stress -j "$jobs" >/dev/null
  local runs=(
    "$dir/stress_soak 10000 32768 60"
    "$dir/stress_emfile 400 64 100"
    "$dir/stress_alloc_sweep 5000 60"
    "env LD_PRELOAD=$PWD/$dir/failshim.so ART_FAILSHIM_RATE=0.01 ART_FAILSHIM_SEED=1 $dir/stress_soak 1000 65536 60"
    "$dir/stress_http_attack 1500 64 12"
  )
  for cmd in "${runs[@]}"; do
    echo "== stress: ${cmd#"$dir/"}"
    $cmd || { echo "FAILED (exit $?): $cmd"; failed=1; }
  done
  return $failed
}

# True when this kernel lets the process set up an io_uring.
uring_ok() {
  python3 -c '
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
params = ctypes.create_string_buffer(120)
sys.exit(0 if libc.syscall(425, 4, params) >= 0 else 1)'
}

# Runs ctest with ART_BACKEND=io_uring, or says why not.
run_ctest_uring() {
  if uring_ok; then
    ART_BACKEND=io_uring "$@"
  else
    echo "== io_uring refused by this kernel: skipped ($*)"
  fi
}

run_ctest() {
  local dir=$1 what=$2
  shift 2
  echo "== $what"
  ctest --test-dir "$dir" --output-on-failure -j "$jobs" "$@"
}

# TSan needs the kernel's default mmap randomisation or less; setarch -R
# turns randomisation off for the run where the kernel uses more.
tsan_wrap=()
if [ "$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 28)" -gt 28 ]; then
  tsan_wrap=(setarch "$(uname -m)" -R)
fi

for mode in "${modes[@]}"; do
  case $mode in
  stress)
    run_stress
    continue
    ;;
  plain)
    build build/plain -DCMAKE_BUILD_TYPE=RelWithDebInfo -DART_BUILD_BENCH=ON
    run_ctest build/plain "plain build, epoll backend"
    ART_BACKEND=poll run_ctest build/plain "plain build, poll backend"
    run_ctest_uring run_ctest build/plain "plain build, io_uring backend"
    ;;
  asan)
    build build/asan -DCMAKE_BUILD_TYPE=Debug -DART_SANITIZE=address
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    run_ctest build/asan "ASan+UBSan build, epoll backend"
    ART_BACKEND=poll run_ctest build/asan "ASan+UBSan build, poll backend"
    run_ctest_uring run_ctest build/asan "ASan+UBSan build, io_uring backend"
    ;;
  tsan)
    build build/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DART_SANITIZE=thread
    export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
    # Every suite, not only the threaded ones (label "threads"): single-
    # threaded suites still meet the pool, signal handlers and child
    # processes, and the whole run costs about a minute.
    echo "== TSan build, all suites"
    "${tsan_wrap[@]}" ctest --test-dir build/tsan --output-on-failure -j "$jobs"
    echo "== TSan build, threaded suites, io_uring backend"
    run_ctest_uring "${tsan_wrap[@]}" ctest --test-dir build/tsan \
      --output-on-failure -j "$jobs" -L threads
    ;;
  *)
    echo "test/run.sh: unknown mode '$mode' (plain, asan, tsan or stress)" >&2
    exit 2
    ;;
  esac
  fuzz_wanted=1
done

# ---------------------------------------------------------------------------
# HTTP fuzzing, when clang is present: libFuzzer builds with ASan+UBSan of
# examples/http/fuzz_parser.c (the parser alone) and fuzz_conn.c (bytes
# through the server's connection code, routes, parser and the library, in
# process), from the seeds in examples/http/corpus. ART_FUZZ_SECONDS
# (default 45, 0 skips) is shared: each target gets half. Any crash fails
# the run. docs/fuzzing.md says how to run them for hours. Fuzzing goes with
# the test modes, not with stress alone.
fuzz_seconds=${ART_FUZZ_SECONDS:-45}
fuzz_flags=(-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
lib_sources=(src/*.c src/*/*.c)

# 0 when clang can link a libFuzzer target here at all.
fuzzer_links() {
  printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)'\
' { (void)d; (void)n; return 0; }\n' >build/fuzz/probe.c
  clang -fsanitize=fuzzer build/fuzz/probe.c -o build/fuzz/probe 2>/dev/null
}

# Builds both targets; 1 when one does not build.
build_fuzzers() {
  mkdir -p build/fuzz/corpus_parser build/fuzz/corpus_conn
  clang "${fuzz_flags[@]}" examples/http/fuzz_parser.c examples/http/parser.c \
    -o build/fuzz/fuzz_parser 2>build/fuzz/build.txt || return 1
  # server.c's main is renamed: libFuzzer brings its own.
  clang "${fuzz_flags[@]}" -D_GNU_SOURCE -Iinclude -Isrc \
    -Dmain=http_server_main -c examples/http/server.c \
    -o build/fuzz/server.o 2>>build/fuzz/build.txt || return 1
  clang "${fuzz_flags[@]}" -D_GNU_SOURCE -DART_BUILDING_LIBRARY -Iinclude -Isrc \
    examples/http/fuzz_conn.c examples/http/conn.c examples/http/routes.c \
    examples/http/file_routes.c examples/http/metrics.c \
    examples/http/dashboard.c examples/http/reqid.c examples/http/parser.c \
    build/fuzz/server.o \
    "${lib_sources[@]}" -lpthread -o build/fuzz/fuzz_conn \
    2>>build/fuzz/build.txt || return 1
}

# Runs one target for $2 seconds with its own growing corpus.
run_fuzzer() {
  local name=$1 seconds=$2
  echo "== HTTP fuzzing: $name, ${seconds}s"
  "build/fuzz/fuzz_$name" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="build/fuzz/$name-" "build/fuzz/corpus_$name" \
    examples/http/corpus 2>"build/fuzz/$name.log" ||
    { tail -40 "build/fuzz/$name.log"; exit 1; }
  grep -E '^Done|number_of_executed_units' "build/fuzz/$name.log" || true
}

if [ "$fuzz_wanted" = 1 ] && command -v clang >/dev/null &&
  [ "$fuzz_seconds" -gt 0 ]; then
  mkdir -p build/fuzz
  if ! fuzzer_links; then
    # The parser and the server are built and tested above (test_parser.c,
    # e2e.c); only libFuzzer is missing.
    echo "clang cannot link libFuzzer here (libclang-rt-dev?): skipped"
  elif ! build_fuzzers; then
    echo "test/run.sh: the fuzz targets do not build:" >&2
    tail -20 build/fuzz/build.txt >&2
    exit 1
  else
    run_fuzzer parser $(((fuzz_seconds + 1) / 2))
    run_fuzzer conn $((fuzz_seconds / 2 > 0 ? fuzz_seconds / 2 : 1))
  fi
fi

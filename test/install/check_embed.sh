#!/usr/bin/env bash
# Builds the project in test/install/embed, which pulls libasyncrt in from
# the source tree with add_subdirectory or FetchContent, and runs its
# program. Then installs that project and checks that nothing of libasyncrt
# was installed with it (a parent decides what it installs).
# Usage: check_embed.sh add_subdirectory|fetchcontent <source-dir>
#          <dir-of-this-script> <C compiler> [cmake -D options...]
set -euo pipefail
mode=$1
src=$2
here=$3
cc=$4
shift 4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake -S "$here/embed" -B "$tmp/build" -DART_EMBED="$mode" \
  -DASYNCRT_SOURCE_DIR="$src" -DCMAKE_C_COMPILER="$cc" "$@" >"$tmp/log" 2>&1 ||
  { cat "$tmp/log"; exit 1; }
cmake --build "$tmp/build" -j 2 >"$tmp/log" 2>&1 || { cat "$tmp/log"; exit 1; }
"$tmp/build/embed_consumer"

cmake --install "$tmp/build" --prefix "$tmp/prefix" >/dev/null
if [ -d "$tmp/prefix" ] && [ -n "$(find "$tmp/prefix" -type f)" ]; then
  echo "installing the parent installed libasyncrt files:"
  find "$tmp/prefix" -type f
  exit 1
fi
echo "embedded with $mode (${*:-default options}): built, ran, installed nothing"

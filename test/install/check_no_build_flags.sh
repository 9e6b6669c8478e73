#!/usr/bin/env bash
# The project's warnings and sanitizer flags are for its own code only: no
# library target carries them in its usage requirements, neither in the
# build tree (what add_subdirectory and FetchContent consumers link) nor in
# the installed CMake package and pkg-config file. Meaningful above all in
# sanitizer builds, where those flags exist.
# Usage: check_no_build_flags.sh <build-dir> <file listing the build tree's
#          interface properties>
set -euo pipefail
build=$1
interface=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pattern='-fsanitize|-W[a-z]|-fno-omit'

if grep -E -e "$pattern" "$interface"; then
  echo "a library target passes the project's flags on (above, from $interface)"
  exit 1
fi
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
found=$(grep -rlE -e "$pattern" "$tmp/prefix" --include='*.cmake' \
  --include='*.pc' || true)
if [ -n "$found" ]; then
  echo "installed package files carry the project's flags:"
  grep -rnE -e "$pattern" $found
  exit 1
fi
echo "no warning or sanitizer flag in the libraries' interface"

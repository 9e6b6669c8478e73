#!/usr/bin/env bash
# Installs the build tree into a temporary prefix and proves a consumer can
# use what was installed: with find_package(asyncrt CONFIG) (shared and
# static) and with pkg-config. Also checks the shared library's file name
# and soname: the soname carries the ABI version of the installed headers,
# the file name the ABI version and the release (docs/design.md, "ABI and
# versioning").
# Usage: check_install.sh <build-dir> <source-dir-of-this-script>
set -euo pipefail
build=$1
here=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(dirname "$(find "$prefix" -name 'libasyncrt.so' | head -n1)")
[ -n "$libdir" ] || { echo "libasyncrt.so not installed"; exit 1; }
for f in asyncrt.h asyncrt/core.h asyncrt/version.h asyncrt/fs.h; do
  [ -f "$prefix/include/$f" ] || { echo "missing include/$f"; exit 1; }
done
[ -f "$libdir/libasyncrt.a" ] || { echo "static library not installed"; exit 1; }

# Versioned shared object: libasyncrt.so -> .so.ABI -> .so.ABI.MAJOR.MINOR.PATCH
abi=$(sed -n 's/^#define ART_ABI_VERSION *\([0-9]*\)$/\1/p' \
  "$prefix/include/asyncrt/version.h")
[ -n "$abi" ] || { echo "no ART_ABI_VERSION in the installed version.h"; exit 1; }
export PKG_CONFIG_PATH=$libdir/pkgconfig
release=$(pkg-config --modversion asyncrt)
real=$(readlink -f "$libdir/libasyncrt.so")
if [ "$(basename "$real")" != "libasyncrt.so.$abi.$release" ]; then
  echo "the library file is $real, expected libasyncrt.so.$abi.$release"
  exit 1
fi
soname=$(readelf -d "$real" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libasyncrt.so.$abi" ] || { echo "bad soname '$soname'"; exit 1; }
[ -e "$libdir/$soname" ] || { echo "no $soname link installed"; exit 1; }
echo "soname $soname -> $(basename "$real")"

# CMake package.
cmake -S "$here/consumer" -B "$tmp/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
  >/dev/null
cmake --build "$tmp/cmake-build" >/dev/null
LD_LIBRARY_PATH=$libdir "$tmp/cmake-build/consumer_shared"
"$tmp/cmake-build/consumer_static"
if ldd "$tmp/cmake-build/consumer_static" | grep -q libasyncrt; then
  echo "consumer_static links the shared library"
  exit 1
fi

# pkg-config, from a compiler command line.
cc -o "$tmp/pc_consumer" "$here/consumer/main.c" \
  $(pkg-config --cflags --libs asyncrt)
LD_LIBRARY_PATH=$libdir "$tmp/pc_consumer"
echo "install check passed"

#!/usr/bin/env bash
# Installs the build tree into a temporary prefix and proves a consumer can
# use what was installed: with find_package(asyncrt CONFIG) (shared and
# static) and with pkg-config. Also checks the shared library's versioned
# file name and soname.
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
for f in asyncrt.h asyncrt/fs.h; do
  [ -f "$prefix/include/$f" ] || { echo "missing include/$f"; exit 1; }
done
[ -f "$libdir/libasyncrt.a" ] || { echo "static library not installed"; exit 1; }

# Versioned shared object: libasyncrt.so -> .so.MAJOR -> .so.MAJOR.MINOR.PATCH
real=$(readlink -f "$libdir/libasyncrt.so")
case $(basename "$real") in
libasyncrt.so.[0-9]*.[0-9]*.[0-9]*) ;;
*) echo "not a versioned file: $real"; exit 1 ;;
esac
soname=$(readelf -d "$real" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[[ $soname =~ ^libasyncrt\.so\.[0-9]+$ ]] || { echo "bad soname '$soname'"; exit 1; }
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
export PKG_CONFIG_PATH=$libdir/pkgconfig
[ "$(pkg-config --modversion asyncrt)" = "$(basename "$real" | sed 's/libasyncrt.so.//')" ]
cc -o "$tmp/pc_consumer" "$here/consumer/main.c" \
  $(pkg-config --cflags --libs asyncrt)
LD_LIBRARY_PATH=$libdir "$tmp/pc_consumer"
echo "install check passed"
